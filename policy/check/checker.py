"""Check: the static checks of LANGUAGE.md §6, as a table of named passes.

The loader runs this phase after parsing every file, reading the schema and building
the :class:`~policy.model.namespace.PolicyModel`
(:func:`policy.model.loader.load_model`); it then sorts
the diagnostics by location and keeps at most ten errors. Each pass in :data:`PASSES`
reads the model and returns :class:`~policy.syntax.diagnostics.Diagnostic` values with the
span of the offending word; none of them raises, whatever tree the parser produced,
and each is linear in the size of the policy (suggestions and the reasoning behind the
warnings only run where there is something to say).

The passes, in order: ``declarations`` (the header, names declared twice, name style),
``names`` (unknown names, fields and functions; names that shadow fields), ``owners``
(teams, stages and states that blocks point to), ``funnel`` (the funnel line against the
stages, team boundaries, handoff and block structure), ``calendar``, ``types``
(:mod:`policy.check.types`), ``cycles`` (among defines and scores), ``examples``, ``usage``
(defines nothing uses) and ``reasoning`` (routes, thresholds and gates that can never
apply, with :mod:`policy.check.reasoning`).

:func:`work_calendar` turns a valid ``calendar { … }`` into the
:class:`~policy.model.calendar.WorkCalendar` the engines use.
"""

from __future__ import annotations

import bisect
import datetime
import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import attrs

from policy.check.reasoning import Reasoner, ScoreRange, ValueSet
from policy.check.types import TypeEnv, check_types
from policy.engine.timestamps import parse_timestamp
from policy.model.calendar import WEEKDAYS, WorkCalendar, make_calendar, parse_time_of_day
from policy.model.namespace import (
    FUNCTIONS,
    Located,
    PolicyModel,
    children,
    refs_in,
    stmt_exprs,
    walk_expr,
)
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error, warning

__all__ = [
    "EMITS",
    "PASSES",
    "Context",
    "Pass",
    "SLA_STATUSES",
    "VIOLATION_CODES",
    "check_policy",
    "did_you_mean",
    "work_calendar",
]

#: The codes this phase reports (E110 comes from here for lead files, from the loader for
#: schemas); the others in :data:`policy.syntax.diagnostics.CODES` belong to other phases.
EMITS = (
    "E101", "E102", "E103", "E104", "E105", "E106", "E107", "E108", "E109", "E110", "E112",
    "E113", "W201", "W202", "W203", "W204", "W205", "W206", "W207",
)
#: The statuses ``expect sla`` may name (LANGUAGE.md §4).
SLA_STATUSES = ("met", "breached", "pending", "unknown")
#: The violation codes the engine emits (LANGUAGE.md §5).
VIOLATION_CODES = ("invalid_rejection_reason", "missing_sla_start")

_SNAKE = re.compile(r"[a-z][a-z0-9_]*").fullmatch
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
_DURATION = re.compile(r"[0-9][0-9_.]*\s+(?:business\s+)?(?:minute|hour|day|week)s?\b")
_TS_HELP = 'write an ISO-8601 date-time, such as "2026-11-02T15:00:00Z"'


# --------------------------------------------------------------------------- helpers


def did_you_mean(word: str, candidates: Iterable[str], limit: int = 3, *,
                 quoted: bool = False) -> str | None:
    """``did you mean `a` or `b`?`` for the known names closest to ``word``, or None.

    ``quoted`` shows the candidates as strings (``"sdr-pool"``) rather than names.
    """
    pool = sorted(set(candidates) - {word})
    close = difflib.get_close_matches(word, pool, n=limit, cutoff=0.6)
    if not close:
        return None
    names = [_q(c) if quoted else f"`{c}`" for c in close]
    shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"did you mean {shown}?"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _snake(name: str) -> str:
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    return s if s and s[0].isalpha() else f"x_{s}" if s else "name"


class Context:
    """What the passes share: the model, sources for spans, types, names, a reasoner."""

    def __init__(self, model: PolicyModel) -> None:
        self.model = model
        self.sources = {m.path: m.source for m in model.modules}
        self.types = TypeEnv(model)
        self._reasoners: dict[bool, Reasoner] = {}
        #: what the passes found so far (the warnings that reason about conditions stay
        #: quiet where an error was already reported: one mistake, one message)
        self.found: list[Diagnostic] = []
        self._decls: list[Located] | None = None
        self._stmts: list[n.Stmt] | None = None
        self._exprs: list[n.Expr] | None = None
        self._reported: tuple[int, dict[str, list[int]]] | None = None
        #: names declared in the one namespace: name -> its kind (for a name declared
        #: twice, E103, the first of team, define, score, stage, state)
        self.kinds: dict[str, str] = {}
        for kind, table in (
            ("team", model.teams),
            ("define", model.defines),
            ("score", model.scores),
            ("stage", model.stages),
            ("state", model.states),
        ):
            for name in table:
                self.kinds.setdefault(name, kind)

    def reasoner(self, *, score_ranges: bool = True) -> Reasoner:
        """The policy's :class:`~policy.check.reasoning.Reasoner` (one per setting, shared)."""
        r = self._reasoners.get(score_ranges)
        if r is None:
            r = self._reasoners[score_ranges] = Reasoner(
                self.model, use_score_ranges=score_ranges
            )
        return r

    def decls(self) -> list[Located]:
        """Every declaration with its file (files by path, then source order)."""
        if self._decls is None:
            self._decls = list(self.model.all_decls())
        return self._decls

    def statements(self) -> list[n.Stmt]:
        """Every declaration and every line inside a block."""
        if self._stmts is None:
            self._stmts = [s for loc in self.decls() for s in (loc.decl, *children(loc.decl))]
        return self._stmts

    def expressions(self) -> list[n.Expr]:
        """Every expression and sub-expression of the policy, walked once."""
        if self._exprs is None:
            self._exprs = [
                e for stmt in self.statements() for root in stmt_exprs(stmt)
                for e in walk_expr(root)
            ]
        return self._exprs

    # ------------------------------------------------------------------ spans
    def span_at(self, file: str, offset: int, length: int) -> n.Span:
        """The span of ``length`` characters at ``offset`` in ``file``."""
        src = self.sources.get(file, "")
        line = src.count("\n", 0, offset) + 1
        col = offset - (src.rfind("\n", 0, offset) + 1) + 1
        return n.Span(file, line, col, line, col + length, offset, offset + length)

    def find(self, span: n.Span, needle: str, *, last: bool = False) -> n.Span:
        """The span of ``needle`` inside ``span`` (its first or last occurrence), or ``span``."""
        src = self.sources.get(span.file)
        if not src or not needle or span.end <= span.start:
            return span
        text = src[span.start : span.end]
        i = text.rfind(needle) if last else text.find(needle)
        if i < 0:
            return span
        return self.span_at(span.file, span.start + i, len(needle))

    def line_of(self, span: n.Span) -> n.Span:
        """``span`` stretched to the end of its last line (some statement spans stop
        before their last value)."""
        src = self.sources.get(span.file)
        if not src or not span.line:
            return span
        end = src.find("\n", span.end)
        end = len(src) if end < 0 else end
        return attrs.evolve(span, end=end)

    def find_word(self, span: n.Span, word: str, *, last: bool = False) -> n.Span:
        """Like :meth:`find`, but only a whole word (not part of a longer name)."""
        src = self.sources.get(span.file)
        if not src or not word or span.end <= span.start:
            return span
        pattern = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])")
        hits = list(pattern.finditer(src, span.start, span.end))
        if not hits:
            return span
        m = hits[-1] if last else hits[0]
        return self.span_at(span.file, m.start(), len(word))

    def duration(self, dur: n.Duration) -> n.Span:
        """A duration's span, through its unit (the parser's may stop before the unit)."""
        src = self.sources.get(dur.span.file)
        if not src or not dur.span.line:
            return dur.span
        m = _DURATION.match(src, dur.span.start)
        return self.span_at(dur.span.file, m.start(), m.end() - m.start()) if m else dur.span

    def keyword(self, stmt: n.Stmt, word: str) -> n.Span:
        """The span of the keyword that opens a statement."""
        s = stmt.span
        if not s.line:
            return s
        return n.Span(s.file, s.line, s.column, s.line, s.column + len(word), s.start,
                      s.start + len(word))

    def text(self, span: n.Span, limit: int = 60) -> str:
        """The source text of a span, on one line (for messages)."""
        src = self.sources.get(span.file)
        if not src or span.end <= span.start:
            return "this condition"
        text = " ".join(src[span.start : span.end].split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def reported_within(self, span: n.Span) -> bool:
        """Whether an error, or a value outside an enum (W206), found so far lies inside
        ``span``: the reasoning warnings would only repeat it."""
        if self._reported is None or self._reported[0] != len(self.found):
            starts: dict[str, list[int]] = {}
            for d in self.found:
                if d.is_error or d.code == "W206":
                    starts.setdefault(d.span.file, []).append(d.span.start)
            for offsets in starts.values():
                offsets.sort()
            self._reported = (len(self.found), starts)
        offsets = self._reported[1].get(span.file)
        if not offsets:
            return False
        i = bisect.bisect_left(offsets, span.start)
        return i < len(offsets) and offsets[i] < span.end

    @staticmethod
    def where(span: n.Span) -> str:
        """``file:line:col``, as help lines cite another place."""
        return f"{span.file}:{span.line}:{span.column}" if span.line else span.file

    # ------------------------------------------------------------------ names
    def expect_name(self, ident: n.Ident, want: str, code: str, context: str) -> Diagnostic | None:
        """A diagnostic when ``ident`` does not name a ``want`` (team, stage or state)."""
        table = {"team": self.model.teams, "stage": self.model.stages,
                 "state": self.model.states}[want]
        name = ident.name
        if name in table:
            return None
        help = did_you_mean(name, table)
        if help is None:
            help = _declare_help(want, name) if not table else (
                f"the {want}s are " + ", ".join(f"`{t}`" for t in list(table)[:8])
                + (", …" if len(table) > 8 else "")
            )
        other = self.kinds.get(name)
        if other is not None:
            return error(code, f"expected a {want} {context}, found the {other} `{name}`",
                         ident.span, help=help)
        return error(code, f"unknown {want} `{name}`", ident.span, help=help)


def _declare_help(kind: str, name: str) -> str:
    return {
        "team": f'declare it: `team {name} "@org/handle"`',
        "stage": f'declare it: `stage {name} "…" owned by TEAM {{ … }}`',
        "state": f'declare it: `state {name} "…" owned by TEAM`',
    }[kind]


@attrs.frozen
class Pass:
    """One named pass of the checker."""

    name: str
    run: Callable[[Context], Iterable[Diagnostic]]


# --------------------------------------------------------------------------- declarations

_SINGLE = {
    n.Version: "version",
    n.SchemaRef: "schema",
    n.IdField: "id",
    n.Funnel: "funnel",
    n.Calendar: "calendar",
}


def _declared_name(decl: n.Decl) -> tuple[str, n.Ident] | None:
    if isinstance(decl, n.Team):
        return "team", decl.name
    if isinstance(decl, n.Define):
        return "define", decl.name
    if isinstance(decl, n.Score):
        return "score", decl.name
    if isinstance(decl, n.Stage):
        return "stage", decl.name
    if isinstance(decl, n.State):
        return "state", decl.name
    return None


def check_declarations(ctx: Context) -> Iterator[Diagnostic]:
    """E108 the header; E103 names declared twice; E113 names that are not snake_case."""
    model = ctx.model
    headers = [loc.decl for loc in ctx.decls() if isinstance(loc.decl, n.PolicyHeader)]
    if not headers and model.modules:
        first = model.modules[0]
        end = min(1, len(first.source))
        yield error("E108", "no `policy` header in this policy",
                    n.Span(first.path, 1, 1, 1, 1 + end, 0, end),
                    help='add one line such as `policy acme_b2b "Acme B2B inbound funnel"` '
                    "to exactly one file")
    for extra in headers[1:]:
        yield error("E108", "expected one `policy` header, found a second",
                    ctx.keyword(extra, "policy"),
                    help=f"the first is at {ctx.where(headers[0].span)}; a policy has "
                    "exactly one header")
    for header in headers:
        yield from _name_style(header.name, "policy")

    firsts: dict[type, n.Stmt] = {}
    names: dict[str, tuple[str, n.Ident]] = {}
    examples: dict[str, n.Example] = {}
    for loc in ctx.decls():
        d = loc.decl
        word = _SINGLE.get(type(d))
        if word is not None:
            if type(d) in firsts:
                yield error("E103", f"expected one `{word}` line, found a second",
                            ctx.keyword(d, word),
                            help=f"the first is at {ctx.where(firsts[type(d)].span)}")
            else:
                firsts[type(d)] = d
            continue
        if isinstance(d, n.Example):
            if d.name in examples:
                yield error("E103", f"two examples are named {_q(d.name)}",
                            ctx.find(d.span, _q(d.name)),
                            help=f"the first is at {ctx.where(examples[d.name].span)}; "
                            "give each example its own name")
            else:
                examples[d.name] = d
            continue
        named = _declared_name(d)
        if named is None:
            continue
        kind, ident = named
        yield from _name_style(ident, kind)
        if ident.name in names:
            first_kind, first = names[ident.name]
            what = (f"`{ident.name}` is declared twice" if first_kind == kind
                    else f"`{ident.name}` is declared twice: as a {first_kind} and as a {kind}")
            yield error("E103", what, ident.span,
                        help=f"the first is at {ctx.where(first.span)}; teams, defines, "
                        "scores, stages and states share one namespace")
        else:
            names[ident.name] = (kind, ident)


def _name_style(ident: n.Ident, kind: str) -> Iterator[Diagnostic]:
    if not _SNAKE(ident.name):
        yield error("E113", f"expected a lowercase snake_case {kind} name, found "
                    f"`{ident.name}`", ident.span, help=f"rename it `{_snake(ident.name)}`")


# --------------------------------------------------------------------------- names


def check_names(ctx: Context) -> Iterator[Diagnostic]:
    """E101 unknown fields (with a schema), names and functions; W205 shadowed fields."""
    model = ctx.model
    schema = model.schema
    fields = schema.fields if schema is not None else {}
    parents = {p[:-1] for p in fields if len(p) > 1}
    # an object the schema does not describe key by key: any key below it may exist
    open_objects = {
        p for p, info in fields.items()
        if p not in parents and (not info.types or "object" in info.types)
    }

    def known(path: tuple[str, ...]) -> bool:
        return path in fields or any(path[:i] in open_objects for i in range(1, len(path)))

    suggestions: dict[str, str | None] = {}
    for e in ctx.expressions():
        if isinstance(e, n.Call) and e.func not in FUNCTIONS:
            yield error("E101", f"unknown function `{e.func}`",
                        n.Span(e.span.file, e.span.line, e.span.column, e.span.line,
                               e.span.column + len(e.func), e.span.start,
                               e.span.start + len(e.func)),
                        help=did_you_mean(e.func, FUNCTIONS)
                        or "the functions are " + ", ".join(f"`{f}`" for f in FUNCTIONS))
        elif (isinstance(e, n.Ref) and schema is not None and e.path
              and ctx.model.resolve(e)[0] == "field" and not known(e.path)):
            dotted = e.dotted
            if dotted not in suggestions:
                suggestions[dotted] = _field_help(ctx, e, fields)
            what = "name" if len(e.path) == 1 else "field"
            yield error("E101", f"unknown {what} `{dotted}`", e.span,
                        help=suggestions[dotted])

    if schema is not None:
        for table, kind in ((model.defines, "define"), (model.scores, "score")):
            for name, decl in table.items():
                if (name,) in fields:
                    yield warning("W205", f"the {kind} `{name}` shadows the lead field "
                                  f"`{name}`", decl.name.span,
                                  help=f"in this policy `{name}` means the {kind}, never the "
                                  f"field; rename the {kind}")


def _field_help(ctx: Context, ref: n.Ref, fields) -> str:
    model = ctx.model
    name = ref.dotted
    kind = ctx.kinds.get(name)
    if kind in ("team", "stage", "state"):
        return f"`{name}` is a {kind}; conditions use defines, scores and lead fields"
    if len(ref.path) == 1:
        pool = [*model.defines, *model.scores, *(p[0] for p in fields if len(p) == 1)]
        hint = did_you_mean(name, pool)
    else:
        # a path of the same depth first: `company.employes` is not `company`
        hint = did_you_mean(name, (".".join(p) for p in fields if len(p) == len(ref.path)))
        hint = hint or did_you_mean(name, (".".join(p) for p in fields))
    if hint:
        return hint
    source = model.schema_ref.decl.path if model.schema_ref is not None else "the schema"
    if len(ref.path) == 1:
        return (f"not a define, a score or a field of {_q(source)}; declare it, "
                "or add the field to the schema")
    return f"{_q(source)} describes no such field; add it to the schema, or fix the path"


# --------------------------------------------------------------------------- owners


def check_owners(ctx: Context) -> Iterator[Diagnostic]:
    """E104 an unknown team, stage or state in `owned by`, `handoff`, `recycle`, `reject`."""
    found: list[Diagnostic | None] = []
    for loc in ctx.decls():
        d = loc.decl
        if isinstance(d, n.Score | n.Stage | n.State):
            for owner in d.owners:
                found.append(ctx.expect_name(owner, "team", "E104", "after `owned by`"))
        elif isinstance(d, n.Handoff):
            found.append(ctx.expect_name(d.stage, "stage", "E104", "after `handoff`"))
            found.append(ctx.expect_name(d.team, "team", "E104", "after `to`"))
            for item in d.items:
                if isinstance(item, n.Reject):
                    found.append(ctx.expect_name(item.state, "state", "E104",
                                                 "after `reject to`"))
        elif isinstance(d, n.Recycle):
            for stage in d.stages:
                found.append(ctx.expect_name(stage, "stage", "E104", "after `recycle`"))
            found.append(ctx.expect_name(d.state, "state", "E104", "after `to`"))
    yield from (f for f in found if f is not None)


# --------------------------------------------------------------------------- funnel


def check_funnel(ctx: Context) -> Iterator[Diagnostic]:
    """E103 the funnel line against the stages; E105 team boundaries without a handoff;
    E103 two handoffs at one stage; E106 routes; E112 lines a block may hold once."""
    model = ctx.model
    funnel = next((loc.decl for loc in ctx.decls() if isinstance(loc.decl, n.Funnel)), None)
    listed: dict[str, n.Ident] = {}
    if funnel is not None:
        unlisted = [s for s in model.stages if s not in {i.name for i in funnel.stages}]
        for ident in funnel.stages:
            name = ident.name
            if name in listed:
                yield error("E103", f"`{name}` appears twice in the funnel", ident.span,
                            help=f"the first is at {ctx.where(listed[name].span)}; each stage "
                            "has one place in the funnel")
                continue
            listed[name] = ident
            if name in model.stages:
                continue
            other = ctx.kinds.get(name)
            if other is not None:
                yield error("E103", f"expected a stage in the funnel, found the {other} "
                            f"`{name}`", ident.span,
                            help="the funnel lists stages in order; states are placements "
                            "off the funnel" if other == "state" else "the funnel lists stages")
            else:
                yield error("E103", f"`{name}` is in the funnel but no stage declares it",
                            ident.span, help=did_you_mean(name, unlisted)
                            or _declare_help("stage", name))
    for loc in ctx.decls():
        d = loc.decl
        if isinstance(d, n.Stage) and d.name.name not in listed and model.stages.get(
            d.name.name
        ) is d:
            yield error("E103", f"stage `{d.name.name}` is not in the funnel", d.name.span,
                        help="add it to the `funnel` line, at its place in the order"
                        if funnel is not None else
                        "add a line `funnel a -> b -> …` that lists the stages in order")

    # E105: consecutive stages owned by different teams need a handoff at the first
    handoff_at = {h.stage.name for h in model.handoffs}
    if funnel is not None:
        order = list(listed.values())
        for a, b in zip(order, order[1:], strict=False):
            sa, sb = model.stages.get(a.name), model.stages.get(b.name)
            if sa is None or sb is None or a.name in handoff_at:
                continue
            oa = [o.name for o in sa.owners]
            ob = [o.name for o in sb.owners]
            if any(o not in model.teams for o in (*oa, *ob)):
                continue  # an unknown owner is E104; comparing would only add noise
            if set(oa) != set(ob):
                span = n.Span(a.span.file, a.span.line, a.span.column, b.span.end_line,
                              b.span.end_column, a.span.start, b.span.end)
                to = next((t for t in ob if t not in oa), ob[0] if ob else "TEAM")
                message = (f"the owners change from {_names(oa)} to {_names(ob)} "
                           f"between `{a.name}` and `{b.name}`, with no handoff")
                advice = f"add `handoff {a.name} to {to} {{ … }}` to say how leads cross"
                if set(oa).isdisjoint(ob):
                    # no team carries the lead across: the owning team changes
                    yield error("E105", message, span, help=advice)
                else:
                    # a team that owns both stages carries the lead over; still worth a look
                    yield warning("W207", message, span, help=advice + ", if a team takes "
                                  "the lead over here")

    yield from _blocks(ctx)


def _names(names: list[str]) -> str:
    shown = [f"`{x}`" for x in names]
    if len(shown) < 2:
        return shown[0] if shown else "no team"
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _once(ctx: Context, items: Iterable[n.Stmt], kinds: dict[type, str],
          where: str) -> Iterator[Diagnostic]:
    """E112 for every second line of a kind a block may hold once."""
    first: dict[type, n.Stmt] = {}
    for item in items:
        word = kinds.get(type(item))
        if word is None:
            continue
        if type(item) in first:
            yield error("E112", f"expected one `{word}` line in {where}, found a second",
                        ctx.keyword(item, word.split()[0]),
                        help=f"the first is at {ctx.where(first[type(item)].span)}")
        else:
            first[type(item)] = item


def _blocks(ctx: Context) -> Iterator[Diagnostic]:
    seen_handoffs: dict[str, n.Handoff] = {}
    for loc in ctx.decls():
        d = loc.decl
        if isinstance(d, n.Handoff):
            stage = d.stage.name
            if stage in seen_handoffs:
                yield error("E103", f"expected one handoff at `{stage}`, found a second",
                            d.stage.span,
                            help=f"the first is at {ctx.where(seen_handoffs[stage].span)}; "
                            "merge them")
            else:
                seen_handoffs[stage] = d
            yield from _routes(ctx, d)
            yield from _once(ctx, d.items, {n.Sla: "sla", n.Escalate: "escalate",
                                            n.Reject: "reject"}, f"handoff `{stage}`")
            if not any(isinstance(i, n.Sla) for i in d.items):
                for item in d.items:
                    if isinstance(item, n.Escalate):
                        yield error("E112", "expected an `sla` line before `escalate`, found "
                                    "none", ctx.keyword(item, "escalate"),
                                    help="escalation counts from the SLA's start while it has "
                                    "no stop; add `sla D from FIELD until FIELD`")
        elif isinstance(d, n.Stage):
            yield from _once(ctx, d.items, {n.KeepWhen: "keep when"},
                             f"stage `{d.name.name}`")
        elif isinstance(d, n.Score):
            yield from _once(ctx, d.items, {n.Range: "range", n.Decay: "decay"},
                             f"score `{d.name.name}`")
            for item in d.items:
                if isinstance(item, n.Range):
                    yield from _range(ctx, item)
        elif isinstance(d, n.Calendar):
            yield from _once(ctx, d.items, {n.Timezone: "timezone", n.Workdays: "workdays",
                                            n.Hours: "hours"}, "the calendar")


def _routes(ctx: Context, h: n.Handoff) -> Iterator[Diagnostic]:
    routes = [i for i in h.items if isinstance(i, n.Route)]
    if not routes:
        return
    otherwise = next((r for r in routes if r.condition is None), None)
    if otherwise is None:
        last = routes[-1]
        yield error("E106", f"the routes of handoff `{h.stage.name}` end without `otherwise`",
                    last.span, help='add a last route such as `route "pool" otherwise`, so '
                    "every lead handed over has a route")
        return
    for r in routes[routes.index(otherwise) + 1 :]:
        yield error("E106", f"expected no route after `otherwise`, found route {_q(r.target)}",
                    r.span, help="`otherwise` takes every lead left: make it the last route")


_RANGE = re.compile(r"range\s+(-?\s*[0-9][0-9_.]*)\s+to\s+(-?\s*[0-9][0-9_.]*)")


def _range(ctx: Context, r: n.Range) -> Iterator[Diagnostic]:
    src = ctx.sources.get(r.span.file, "")
    # the whole line: the parser's span for `range` may stop before the last number
    end = src.find("\n", r.span.start)
    m = _RANGE.match(src, r.span.start, len(src) if end < 0 else end) if r.span.line else None

    def span(group: int) -> n.Span:
        if m is None:
            return r.span
        return ctx.span_at(r.span.file, m.start(group), m.end(group) - m.start(group))

    def shown(group: int, value: int | float) -> str:
        return " ".join(m.group(group).split()) if m is not None else _num(value)

    for group, value in ((1, r.low), (2, r.high)):
        if isinstance(value, float) and not value.is_integer():
            yield error("E102", f"expected a whole number, found `{shown(group, value)}`",
                        span(group),
                        help="scores are whole numbers, and so are the ends of their range")
    if r.low > r.high:
        low, high = shown(1, r.low), shown(2, r.high)
        yield error("E102", f"expected `range LOW to HIGH` with LOW at most HIGH, found "
                    f"{low} to {high}", span(0), help=f"write `range {high} to {low}`")


def _num(x: int | float) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


# --------------------------------------------------------------------------- calendar


def _calendar_parts(cal: n.Calendar) -> tuple[list, list, list, list]:
    zones = [i for i in cal.items if isinstance(i, n.Timezone)]
    days = [i for i in cal.items if isinstance(i, n.Workdays)]
    hours = [i for i in cal.items if isinstance(i, n.Hours)]
    holidays = [i for i in cal.items if isinstance(i, n.Holidays)]
    return zones, days, hours, holidays


def _zone_problem(name: str) -> str | None:
    try:
        make_calendar(timezone=name, workdays=("mon",), start_minute=0, end_minute=60)
    except ValueError as exc:
        return str(exc)
    return None


def _holiday_problem(text: str) -> str | None:
    if not _DATE(text):
        return f'expected a holiday as "YYYY-MM-DD", found {_q(text)}'
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return f"expected a real date, found {_q(text)}"
    return None


def check_calendar(ctx: Context) -> Iterator[Diagnostic]:
    """E107 a bad calendar, and business durations without one or where none belongs."""
    model = ctx.model
    for loc in ctx.decls():
        d = loc.decl
        if isinstance(d, n.Calendar):
            yield from _calendar(ctx, d)
        elif isinstance(d, n.Handoff):
            for item in d.items:
                dur = item.duration if isinstance(item, n.Sla) else (
                    item.after if isinstance(item, n.Escalate) else None)
                if dur is not None and dur.unit.is_business and model.calendar is None:
                    yield error("E107", f"expected a `calendar` for `{dur.unit.value}`, found "
                                "none", ctx.duration(dur),
                                help="business time counts working hours only: add "
                                "`calendar { timezone … workdays … hours … }`, or use "
                                "plain `hours`")
        elif isinstance(d, n.Score):
            for item in d.items:
                if isinstance(item, n.Decay) and item.half_life.unit.is_business:
                    yield error("E107", f"expected a plain duration after `half-life`, found "
                                f"`{item.half_life.unit.value}`", ctx.duration(item.half_life),
                                help="only `sla` and `escalate` count business time; write "
                                "the half-life in days or hours")


def _calendar(ctx: Context, cal: n.Calendar) -> Iterator[Diagnostic]:
    zones, days, hours, holidays = _calendar_parts(cal)
    head = ctx.keyword(cal, "calendar")
    for word, items, example in (("timezone", zones, 'timezone "America/New_York"'),
                                 ("workdays", days, "workdays mon tue wed thu fri"),
                                 ("hours", hours, "hours 09:00 to 17:00")):
        if not items:
            yield error("E107", f"expected a `{word}` line in the calendar, found none", head,
                        help=f"add `{example}`")
    for z in zones:
        problem = _zone_problem(z.name)
        if problem:
            if problem.startswith("unknown time zone"):
                problem = f"unknown time zone {_q(z.name)}"
            yield error("E107", problem, ctx.find(z.span, _q(z.name)),
                        help=did_you_mean(z.name, _zone_names(), limit=1, quoted=True)
                        or "time zones are IANA names such as \"America/New_York\"")
    for w in days:
        for day in w.days:
            if day.name not in WEEKDAYS:
                yield error("E107", f"unknown day `{day.name}`", day.span,
                            help=did_you_mean(day.name, WEEKDAYS)
                            or "days are " + " ".join(WEEKDAYS))
    for h in hours:
        start, end = parse_time_of_day(h.start), parse_time_of_day(h.end)
        for text, value, last in ((h.start, start, False), (h.end, end, True)):
            if value is None:
                yield error("E107", f"expected a time from 00:00 to 24:00, found `{text}`",
                            ctx.find(h.span, text, last=last),
                            help="times of day are `HH:MM`, 24-hour")
        if start is not None and end is not None and start >= end:
            yield error("E107", f"expected the opening time before the closing time, found "
                        f"{h.start} to {h.end}", h.span,
                        help="working hours run within one day; `24:00` is midnight at the end")
    for hol in holidays:
        for text in hol.dates:
            problem = _holiday_problem(text)
            if problem:
                yield error("E107", problem, ctx.find(hol.span, _q(text)),
                            help="write holidays as dates, such as \"2026-12-25\"")


_ZONES: list[str] = []


def _zone_names() -> list[str]:
    if not _ZONES:
        import zoneinfo

        try:
            _ZONES.extend(sorted(zoneinfo.available_timezones()))
        except Exception:  # noqa: BLE001 - tzdata missing: no suggestions, never a crash
            pass
    return _ZONES


def work_calendar(model: PolicyModel) -> WorkCalendar | None:
    """The calendar the engines count business time with, or None (none, or invalid)."""
    cal = model.calendar
    if cal is None:
        return None
    zones, days, hours, holidays = _calendar_parts(cal)
    if not zones or not days or not hours:
        return None
    dates = [text for h in holidays for text in h.dates]
    if any(_holiday_problem(t) for t in dates):
        return None
    try:
        return make_calendar(
            timezone=zones[0].name,
            workdays=[d.name for w in days[:1] for d in w.days],
            start_minute=hours[0].start,
            end_minute=hours[0].end,
            holidays=dates,
        )
    except ValueError:
        return None


# --------------------------------------------------------------------------- types


def check_types_pass(ctx: Context) -> Iterator[Diagnostic]:
    """E102 type mismatches and W206 values outside an `enum` (:mod:`policy.check.types`)."""
    return iter(check_types(ctx.model, ctx.types, locate_duration=ctx.duration))


# --------------------------------------------------------------------------- cycles


def _dependencies(ctx: Context) -> dict[str, list[tuple[str, n.Span]]]:
    """For each define and score: the defines and scores it uses, with where, in order."""
    model = ctx.model
    graph: dict[str, list[tuple[str, n.Span]]] = {}

    def edges(refs: Iterable[n.Ref]) -> list[tuple[str, n.Span]]:
        out: dict[str, n.Span] = {}
        for ref in refs:
            if len(ref.path) == 1:
                name = ref.path[0]
                if (name in model.defines or name in model.scores) and name not in out:
                    out[name] = ref.span
        return list(out.items())

    for name, d in model.defines.items():
        graph[name] = edges(r for r in walk_expr(d.value) if isinstance(r, n.Ref))
    for name, s in model.scores.items():
        if name not in graph:
            graph[name] = edges(refs_in(s))
    return graph


def check_cycles(ctx: Context) -> Iterator[Diagnostic]:
    """E108 a cycle among defines and scores, direct or indirect, with its path."""
    graph = _dependencies(ctx)
    for component in _strong_components(graph):
        members = set(component)
        start = component[0]
        if len(component) == 1 and not any(t == start for t, _ in graph[start]):
            continue
        path = _cycle_path(graph, start, members)
        first_edge = next(span for t, span in graph[start] if t == path[1])
        shown = " -> ".join(f"`{p}`" for p in path)
        yield error("E108", f"`{start}` depends on itself: {shown}", first_edge,
                    help="a define or score cannot use itself, directly or through others; "
                    "break the cycle")


def _strong_components(graph: dict[str, list[tuple[str, n.Span]]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; each component lists its nodes in declaration order."""
    order = {name: i for i, name in enumerate(graph)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            edges = graph[node]
            if i < len(edges):
                work.append((node, i + 1))
                nxt = edges[i][0]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp, key=order.__getitem__))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    out.sort(key=lambda c: order[c[0]])
    return out


def _cycle_path(graph, start: str, members: set[str]) -> list[str]:
    """The shortest path from ``start`` back to itself inside one component."""
    prev: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for nxt, _ in graph[node]:
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return [start, start]  # unreachable for a real component; keeps the pass total


# --------------------------------------------------------------------------- examples


def check_examples(ctx: Context) -> Iterator[Diagnostic]:
    """E109 examples that name what does not exist, or lack a lead or a time; E110 a lead
    file that cannot be read."""
    model = ctx.model
    routes: dict[str, set[str]] = {}
    targets: dict[str, set[str]] = {}
    slas: set[str] = set()
    for h in model.handoffs:
        routes.setdefault(h.stage.name, set()).update(
            i.target for i in h.items if isinstance(i, n.Route))
        targets.setdefault(h.stage.name, set()).update(
            i.target for i in h.items if isinstance(i, n.Escalate))
        if any(isinstance(i, n.Sla) for i in h.items):
            slas.add(h.stage.name)
    all_routes = set().union(*routes.values()) if routes else set()
    all_targets = set().union(*targets.values()) if targets else set()
    for loc in model.examples:
        ex = loc.decl
        yield from _example(ctx, loc.module, ex, routes, all_routes, targets, all_targets, slas)


def _example(ctx, module, ex: n.Example, routes, all_routes, targets, all_targets,
             slas) -> Iterator[Diagnostic]:
    model = ctx.model
    name_span = ctx.find(ex.span, _q(ex.name))
    leads = [i for i in ex.items if isinstance(i, n.LeadLiteral | n.LeadFile)]
    ats = [i for i in ex.items if isinstance(i, n.At)]
    if not leads:
        yield error("E109", f"example {_q(ex.name)} has no `lead`", name_span,
                    help='add `lead { … }` with the lead as JSON, or `lead file "lead.json"`')
    for extra in leads[1:]:
        yield error("E109", "expected one `lead` in an example, found a second",
                    ctx.keyword(extra, "lead"),
                    help=f"the first is at {ctx.where(leads[0].span)}; write one example "
                    "per lead")
    if not ats:
        yield error("E109", f"example {_q(ex.name)} has no `at` time", name_span,
                    help='add `at "2026-11-02T15:00:00Z"`: the instant the lead is evaluated at')
    for extra in ats[1:]:
        yield error("E109", "expected one `at` in an example, found a second",
                    ctx.keyword(extra, "at"), help=f"the first is at {ctx.where(ats[0].span)}")
    for at in ats[:1]:
        if parse_timestamp(at.timestamp, kind="any") is None:
            yield error("E109", f"expected a timestamp after `at`, found {_q(at.timestamp)}",
                        ctx.find(at.span, _q(at.timestamp)), help=_TS_HELP)
    for lf in leads:
        if isinstance(lf, n.LeadFile):
            yield from _lead_file(ctx, module, lf)
    for item in ex.items:
        if isinstance(item, n.Expect):
            yield from _expect(ctx, item, routes, all_routes, targets, all_targets, slas,
                               model)


def _lead_file(ctx: Context, module: n.Module, lf: n.LeadFile) -> Iterator[Diagnostic]:
    path = Path(module.path).parent / lf.path
    span = ctx.find(lf.span, _q(lf.path))
    problem = None
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "it is a directory"
    except OSError as exc:
        problem = exc.strerror or str(exc)
    except UnicodeDecodeError:
        problem = "it is not UTF-8 text"
    except json.JSONDecodeError as exc:
        msg = exc.msg[:1].lower() + exc.msg[1:]
        problem = f"not valid JSON at line {exc.lineno} column {exc.colno}: {msg}"
    except ValueError as exc:  # e.g. a number with more digits than Python reads
        problem = f"not valid JSON: {exc}"
    except RecursionError:
        problem = "not valid JSON: nested too deeply"
    else:
        if not isinstance(data, dict):
            from policy.model.schema import json_type_name

            problem = f"expected a JSON object, found {_article(json_type_name(data))}"
    if problem is not None:
        yield error("E110", f"lead file {_q(lf.path)} cannot be used: {problem}", span,
                    help=f"the path is relative to {module.path}; the file holds one lead "
                    "as a JSON object")


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _expect(ctx: Context, e: n.Expect, routes, all_routes, targets, all_targets, slas,
            model: PolicyModel) -> Iterator[Diagnostic]:
    kind = e.kind
    if e.at is not None:
        if e.at.name not in model.stages:
            d = ctx.expect_name(e.at, "stage", "E109", "after `at`")
            if d is not None:
                yield d
            return
        if e.at.name not in routes:
            yield error("E109", f"expected a stage with a handoff after `at`, found "
                        f"`{e.at.name}`", e.at.span,
                        help="the handoffs are at " + _names(list(routes)) if routes
                        else "this policy has no handoff")
            return
    if kind in (n.ExpectKind.STAGE, n.ExpectKind.REACHED) and e.value is not None:
        name = e.value
        span = ctx.find_word(ctx.line_of(e.span), name, last=True)
        if kind is n.ExpectKind.REACHED and name not in model.stages:
            other = ctx.kinds.get(name)
            msg = (f"expected a stage after `expect reached`, found the {other} `{name}`"
                   if other else f"unknown stage `{name}`")
            yield error("E109", msg, span, help=did_you_mean(name, model.stages)
                        or "`reached` names the deepest funnel stage whose gate passed")
        elif name not in model.stages and name not in model.states:
            other = ctx.kinds.get(name)
            msg = (f"expected a stage or a state after `expect stage`, found the {other} "
                   f"`{name}`" if other else f"unknown stage or state `{name}`")
            yield error("E109", msg, span,
                        help=did_you_mean(name, [*model.stages, *model.states])
                        or "`expect stage` names where the lead is placed, or `none`")
    elif kind is n.ExpectKind.SCORE and e.subject is not None:
        if e.subject.name not in model.scores:
            other = ctx.kinds.get(e.subject.name)
            msg = (f"expected a score after `expect score`, found the {other} "
                   f"`{e.subject.name}`" if other else f"unknown score `{e.subject.name}`")
            help = did_you_mean(e.subject.name, model.scores) or (
                "the scores are " + _names(list(model.scores)) if model.scores
                else "this policy has no scores")
            yield error("E109", msg, e.subject.span, help=help)
        elif isinstance(e.value, float) and not e.value.is_integer():
            yield error("E109", f"expected a whole number, found `{e.value}`",
                        ctx.find(ctx.line_of(e.span), str(e.value).lstrip("-"), last=True),
                        help="scores are rounded to whole numbers")
    elif kind in (n.ExpectKind.ROUTE, n.ExpectKind.ESCALATE) and e.value is not None:
        word = "route" if kind is n.ExpectKind.ROUTE else "escalation target"
        table, everything = (routes, all_routes) if kind is n.ExpectKind.ROUTE else (
            targets, all_targets)
        known = table.get(e.at.name, set()) if e.at is not None else everything
        if e.value not in known:
            where = f" at `{e.at.name}`" if e.at is not None else ""
            hint = did_you_mean(e.value, known, quoted=True)
            if hint is None:
                hint = (f"the {word}s{where} are " + ", ".join(_q(r) for r in sorted(known))
                        if known else f"no handoff{where} names any {word}")
            yield error("E109", f"unknown {word} {_q(e.value)}{where}",
                        ctx.find(ctx.line_of(e.span), _q(e.value)), help=hint)
    elif kind is n.ExpectKind.SLA:
        span = ctx.find_word(ctx.line_of(e.span), str(e.value))
        if e.value not in SLA_STATUSES:
            yield error("E109", f"unknown SLA status `{e.value}`", span,
                        help=did_you_mean(str(e.value), SLA_STATUSES)
                        or "the statuses are " + ", ".join(f"`{s}`" for s in SLA_STATUSES))
        elif not (slas if e.at is None else slas & {e.at.name}):
            where = f" at `{e.at.name}`" if e.at is not None else ""
            yield error("E109", f"expected a handoff with an `sla`{where}, found none", span,
                        help="`expect sla` reads the SLA of the handoff concerned")
    elif kind is n.ExpectKind.VIOLATION:
        if e.value not in VIOLATION_CODES:
            yield error("E109", f"unknown violation `{e.value}`",
                        ctx.find_word(ctx.line_of(e.span), str(e.value), last=True),
                        help=did_you_mean(str(e.value), VIOLATION_CODES)
                        or "the engine reports " + ", ".join(f"`{c}`" for c in VIOLATION_CODES))


# --------------------------------------------------------------------------- usage


def check_usage(ctx: Context) -> Iterator[Diagnostic]:
    """W201 a define that nothing uses (directly, or through defines that are used)."""
    model = ctx.model
    if not model.defines:
        return
    users: dict[str, set[str]] = {name: set() for name in model.defines}
    used: set[str] = set()
    for loc in ctx.decls():
        d = loc.decl
        is_define = isinstance(d, n.Define) and model.defines.get(d.name.name) is d
        for ref in refs_in(d):
            if len(ref.path) != 1 or ref.path[0] not in model.defines:
                continue
            if is_define:
                users[ref.path[0]].add(d.name.name)  # type: ignore[union-attr]
            else:
                used.add(ref.path[0])
    # what the used defines use is used too
    uses: dict[str, set[str]] = {}
    for target, sources in users.items():
        for s in sources:
            uses.setdefault(s, set()).add(target)
    todo = list(used)
    while todo:
        name = todo.pop()
        for target in uses.get(name, ()):
            if target not in used:
                used.add(target)
                todo.append(target)
    for name, d in model.defines.items():
        if name in used:
            continue
        if users[name] - {name}:
            msg = f"the define `{name}` is only used by defines that are never used"
        else:
            msg = f"the define `{name}` is never used"
        yield warning("W201", msg, d.name.span,
                      help="use it in a score, stage, handoff or recycle rule, or remove it")


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
        return f"is always {_num(lo)}"
    if lo == -float("inf"):
        return f"is at most {_num(hi)}"
    if hi == float("inf"):
        return f"is at least {_num(lo)}"
    return f"ranges from {_num(lo)} to {_num(hi)}"


def _threshold_help(name: str, r: ScoreRange, vs: ValueSet) -> str:
    above = all(iv[0] > r.high or (iv[0] == r.high and not iv[1]) for iv in vs.numbers)
    below = all(iv[2] < r.low or (iv[2] == r.low and not iv[3]) for iv in vs.numbers)
    if vs.numbers and above:
        by = "its `range`" if r.high_by == "range" else "the sum of its positive points"
        return f"the highest `{name}` can reach is {_num(r.high)}, set by {by}"
    if vs.numbers and below:
        by = "its `range`" if r.low_by == "range" else "the sum of its negative points"
        return f"the lowest `{name}` can reach is {_num(r.low)}, set by {by}"
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
                yield warning("W202", f"route {_q(r.target)} can never be chosen: the routes "
                              "above it take every lead", r.span,
                              help="remove it, or narrow the routes above it")
            return  # routes after `otherwise` are E106
        cond = r.condition
        if not reasoner.satisfiable(cond):
            if not _because_of_threshold(ctx, cond, flagged, unsat=True):
                yield warning("W202", f"route {_q(r.target)} can never be chosen: its "
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
                    msg = (f"route {_q(r.target)} can never be chosen: route "
                           f"{_q(single.target)} (line {single.span.line}) takes every lead "
                           "it matches")
                else:
                    msg = (f"route {_q(r.target)} can never be chosen: the routes above it "
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


# --------------------------------------------------------------------------- the table

#: The checker's passes, in the order they run.
PASSES: tuple[Pass, ...] = (
    Pass("declarations", check_declarations),
    Pass("names", check_names),
    Pass("owners", check_owners),
    Pass("funnel", check_funnel),
    Pass("calendar", check_calendar),
    Pass("types", check_types_pass),
    Pass("cycles", check_cycles),
    Pass("examples", check_examples),
    Pass("usage", check_usage),
    Pass("reasoning", check_reasoning),
)


def check_policy(model: PolicyModel) -> list[Diagnostic]:
    """Run every pass over ``model``; the diagnostics come unsorted (the loader sorts them)."""
    ctx = Context(model)
    for p in PASSES:
        ctx.found.extend(p.run(ctx))
    return ctx.found
