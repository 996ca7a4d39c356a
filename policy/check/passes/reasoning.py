"""Pass ``reasoning``: routes, thresholds and gates that can never apply, with
:mod:`policy.check.reasoning`.
"""

from __future__ import annotations

from collections.abc import Iterator

from policy.check.bounds import ScoreRange
from policy.check.context import Context, json_text, number_text
from policy.check.valuesets import ValueSet
from policy.model.namespace import walk_expr
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, warning

# --------------------------------------------------------------------------- reasoning

_TRUE = n.Bool(True)


def _all(conds: list[n.Expr]) -> n.Expr:
    out: n.Expr | None = None
    for c in conds:
        out = c if out is None else n.Binary(n.BinOp.AND, out, c)
    return out if out is not None else _TRUE


def check_reasoning(ctx: Context) -> Iterator[Diagnostic]:
    """W203 thresholds no score reaches; W202 routes never chosen; W204 gates never passed."""
    flagged: set[int] = set()
    yield from _thresholds(ctx, flagged)
    for loc in ctx.decls():
        d = loc.decl
        if ctx.reported_within(d.span):
            continue
        if isinstance(d, n.Handoff):
            yield from _unreachable_routes(ctx, d, flagged)
        elif isinstance(d, n.Stage):
            yield from _closed_gate(ctx, d, flagged)


def _thresholds(ctx: Context, flagged: set[int]) -> Iterator[Diagnostic]:
    if not ctx.model.scores:
        return
    reasoner = ctx.reasoner()
    model = ctx.model

    def named(side: n.Expr) -> bool:  # a score, or a define that may alias one
        return isinstance(side, n.Ref) and len(side.path) == 1 and (
            side.path[0] in model.scores or side.path[0] in model.defines)

    for e in ctx.expressions():
        if not isinstance(e, n.Binary) or (
            e.op not in n.COMPARISONS and e.op not in (n.BinOp.IN, n.BinOp.NOT_IN)
        ) or not (named(e.left) or named(e.right)):
            continue
        atom = reasoner.score_atom(e)
        if atom is None:
            continue
        name, vs = atom
        if not reasoner.never_within(name, vs) or ctx.reported_within(e.span):
            continue
        flagged.add(id(e))
        r = reasoner.ranges[name]
        yield warning("W203", f"`{ctx.text(e.span)}` can never hold: `{name}` "
                      f"{_range_words(r)}", e.span,
                      help=_threshold_help(name, r, vs))


def _range_words(r: ScoreRange) -> str:
    lo, hi = r.low, r.high
    if lo == hi:
        return f"is always {number_text(lo)}"
    if lo == -float("inf"):
        return f"is at most {number_text(hi)}"
    if hi == float("inf"):
        return f"is at least {number_text(lo)}"
    return f"ranges from {number_text(lo)} to {number_text(hi)}"


def _threshold_help(name: str, r: ScoreRange, vs: ValueSet) -> str:
    above = all(iv[0] > r.high or (iv[0] == r.high and not iv[1]) for iv in vs.numbers)
    below = all(iv[2] < r.low or (iv[2] == r.low and not iv[3]) for iv in vs.numbers)
    if vs.numbers and above:
        by = "its `range`" if r.high_by == "range" else "the sum of its positive points"
        return f"the highest `{name}` can reach is {number_text(r.high)}, set by {by}"
    if vs.numbers and below:
        by = "its `range`" if r.low_by == "range" else "the sum of its negative points"
        return f"the lowest `{name}` can reach is {number_text(r.low)}, set by {by}"
    if vs.numbers:
        return "scores are whole numbers"
    return "a score is always a number"


def _mentions(ctx: Context, cond: n.Expr, flagged: set[int]) -> bool:
    """Whether ``cond`` uses a comparison already reported as W203 (through defines too)."""
    if not flagged:
        return False
    seen: set[str] = set()
    todo = [cond]
    while todo:
        for e in walk_expr(todo.pop()):
            if id(e) in flagged:
                return True
            if isinstance(e, n.Ref) and len(e.path) == 1 and e.path[0] not in seen:
                d = ctx.model.defines.get(e.path[0])
                if d is not None:
                    seen.add(e.path[0])
                    todo.append(d.value)
    return False


def _because_of_threshold(ctx: Context, cond: n.Expr, flagged: set[int], *,
                          unsat: bool) -> bool:
    """A finding that holds only because of score bounds, already reported as W203."""
    if not _mentions(ctx, cond, flagged):
        return False
    loose = ctx.reasoner(score_ranges=False)
    return loose.satisfiable(cond) if unsat else True


def _unreachable_routes(ctx: Context, h: n.Handoff, flagged: set[int]) -> Iterator[Diagnostic]:
    reasoner = ctx.reasoner()
    earlier: list[n.Route] = []
    for r in (i for i in h.items if isinstance(i, n.Route)):
        if r.condition is None:
            conds = [e.condition for e in earlier if e.condition is not None]
            if conds and reasoner.implies_any(_TRUE, conds):
                yield warning("W202", f"route {json_text(r.target)} can never be chosen: "
                              "the routes above it take every lead", r.span,
                              help="remove it, or narrow the routes above it")
            return  # routes after `otherwise` are E106
        cond = r.condition
        if not reasoner.satisfiable(cond):
            if not _because_of_threshold(ctx, cond, flagged, unsat=True):
                yield warning("W202", f"route {json_text(r.target)} can never be chosen: its "
                              "condition never holds", cond.span,
                              help="no lead meets it; fix the condition or remove the route")
        elif earlier:
            conds = [e.condition for e in earlier if e.condition is not None]
            if reasoner.implies_any(cond, conds) and not _because_of_threshold(
                ctx, _all([cond, *conds]), flagged, unsat=False
            ):
                single = next((e for e in earlier if e.condition is not None
                               and reasoner.implies(cond, e.condition)), None)
                if single is not None:
                    msg = (f"route {json_text(r.target)} can never be chosen: route "
                           f"{json_text(single.target)} (line {single.span.line}) takes every lead "
                           "it matches")
                else:
                    msg = (f"route {json_text(r.target)} can never be chosen: the routes above it "
                           "take every lead it matches")
                yield warning("W202", msg, cond.span,
                              help="routes are tried in order; move it up, or narrow the "
                              "earlier condition")
        earlier.append(r)


def _closed_gate(ctx: Context, stage: n.Stage, flagged: set[int]) -> Iterator[Diagnostic]:
    reasoner = ctx.reasoner()
    requires = [i for i in stage.items if isinstance(i, n.Require)]
    excludes = [i for i in stage.items if isinstance(i, n.Exclude)]
    keep = next((i for i in stage.items if isinstance(i, n.KeepWhen)), None)
    if not requires and not excludes:
        return
    req = _all([r.condition for r in requires])
    entry = req if keep is None else n.Binary(n.BinOp.OR, req, keep.condition)
    gate = _all([entry, *(n.Not(x.condition) for x in excludes)])
    if reasoner.satisfiable(gate) or _because_of_threshold(ctx, gate, flagged, unsat=True):
        return
    name = stage.name.name
    head = f"the gate of `{name}` can never pass"
    for x in excludes:
        if reasoner.valid(x.condition):
            yield warning("W204", f"{head}: this `exclude` holds for every lead",
                          x.condition.span, help="narrow the condition, or remove the line")
            return
    if not reasoner.satisfiable(req):
        for r in requires:
            if not reasoner.satisfiable(r.condition):
                yield warning("W204", f"{head}: this `require` never holds", r.condition.span,
                              help="no lead meets it; fix the condition or remove the line")
                return
        for j, rj in enumerate(requires):
            for ri in requires[:j]:
                if not reasoner.satisfiable(n.Binary(n.BinOp.AND, ri.condition, rj.condition)):
                    yield warning("W204", f"{head}: this `require` contradicts the one on line "
                                  f"{ri.span.line}", rj.condition.span,
                                  help=f"no lead meets both `{ctx.text(ri.condition.span)}` "
                                  f"and `{ctx.text(rj.condition.span)}`")
                    return
        yield warning("W204", f"{head}: no lead meets all of its `require` lines together",
                      stage.name.span, help="the lines contradict each other; relax one of them")
        return
    yield warning("W204", f"{head}: every lead that meets its `require` lines is excluded",
                  stage.name.span, help="an `exclude` covers every lead the `require` lines let "
                  "in; narrow it")
