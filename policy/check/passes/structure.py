"""Pass ``funnel``: the funnel line against the stages, team boundaries, and the
structure of handoff, stage and score blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from policy.check.context import (
    Context,
    declare_help,
    did_you_mean,
    json_text,
    name_list,
    number_text,
)
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error, warning

# --------------------------------------------------------------------------- funnel


def check_funnel(ctx: Context) -> Iterator[Diagnostic]:
    """E103 the funnel line against the stages (kind ``funnel-mismatch``); E105 team
    boundaries without a handoff; E103 two handoffs at one stage; E106 routes; E112 lines
    a block may hold once; W211 a `reject` line with no agreed reasons."""
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
                            "has one place in the funnel", kind="funnel-mismatch")
                continue
            listed[name] = ident
            if name in model.stages:
                continue
            other = ctx.kinds.get(name)
            if other is not None:
                yield error("E103", f"expected a stage in the funnel, found the {other} "
                            f"`{name}`", ident.span,
                            help="the funnel lists stages in order; states are placements "
                            "off the funnel" if other == "state" else "the funnel lists stages",
                            kind="funnel-mismatch")
            else:
                yield error("E103", f"`{name}` is in the funnel but no stage declares it",
                            ident.span, help=did_you_mean(name, unlisted)
                            or declare_help("stage", name), kind="funnel-mismatch")
    for loc in ctx.decls():
        d = loc.decl
        if isinstance(d, n.Stage) and d.name.name not in listed and model.stages.get(
            d.name.name
        ) is d:
            yield error("E103", f"stage `{d.name.name}` is not in the funnel", d.name.span,
                        help="add it to the `funnel` line, at its place in the order"
                        if funnel is not None else
                        "add a line `funnel a -> b -> …` that lists the stages in order",
                        kind="funnel-mismatch")

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
                message = (f"the owners change from {name_list(oa)} to {name_list(ob)} "
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
                                            n.Reject: "reject", n.HandoffCalendar: "calendar"},
                             f"handoff `{stage}`")
            yield from _empty_reasons(ctx, d)
            if not any(isinstance(i, n.Sla) for i in d.items):
                for item in d.items:
                    if isinstance(item, n.Escalate):
                        yield error("E112", "expected an `sla` line before `escalate`, found "
                                    "none", ctx.keyword(item, "escalate"),
                                    help="escalation counts from the SLA's start while it has "
                                    "no stop; add `sla D from FIELD until FIELD`",
                                    kind="escalate-without-sla")
        elif isinstance(d, n.Stage):
            yield from _once(ctx, d.items, {n.KeepWhen: "keep when"},
                             f"stage `{d.name.name}`")
            yield from _entered_twice(ctx, d)
        elif isinstance(d, n.Score):
            yield from _once(ctx, d.items, {n.Range: "range", n.Decay: "decay"},
                             f"score `{d.name.name}`")
            for item in d.items:
                if isinstance(item, n.Range):
                    yield from _range(ctx, item)
        elif isinstance(d, n.Calendar):
            yield from _once(ctx, d.items, {n.Timezone: "timezone", n.Workdays: "workdays",
                                            n.Hours: "hours"},
                             "the calendar" if d.name is None else f"calendar `{d.name.name}`")


def _empty_reasons(ctx: Context, handoff: n.Handoff) -> Iterator[Diagnostic]:
    """W211 (kind ``no-reasons``): `reject … in [..]` names "the agreed reasons (the list
    is required)" (spec section 4); an empty list agrees on none, so every rejection is
    off the list. Written in place, through a define or as an empty `lines` file. A
    warning, not an error: the handoff still works, and a policy may mean it (every
    rejection reported as `invalid_rejection_reason` until sales agrees on reasons)."""
    for item in handoff.items:
        if not isinstance(item, n.Reject):
            continue
        reasons, seen = item.reasons, set()
        while isinstance(reasons, n.Ref) and reasons.dotted not in seen:
            seen.add(reasons.dotted)
            kind, decl = ctx.model.resolve(reasons)
            if kind != "define" or not isinstance(decl, n.Define):
                break
            reasons = decl.value
        if isinstance(reasons, n.ListExpr) and not reasons.items:
            found = ("an empty list" if reasons is item.reasons
                     else f"`{item.reasons.dotted}`, an empty list")
            yield warning("W211", "expected at least one agreed rejection reason after `in`, "
                        f"found {found}", item.reasons.span,
                        help="list the reasons sales may give (`in [\"bad fit\", "
                        "\"no budget\"]`): a rejection with any other reason still "
                        "rejects, with the violation `invalid_rejection_reason`",
                        kind="no-reasons")


def _entered_twice(ctx: Context, stage: n.Stage) -> Iterator[Diagnostic]:
    """E103 (spec section 2, v1.1): a stage records its entry time in one field."""
    lines = [i for i in stage.items if isinstance(i, n.EnteredAt)]
    for extra in lines[1:]:
        yield error("E103", f"expected one `entered at` line in stage `{stage.name.name}`, "
                    "found a second", ctx.keyword(extra, "entered"),
                    help=f"the first is at {ctx.where(lines[0].span)}; a stage has one "
                    "entry time")


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
        found = json_text(r.target)
        yield error("E106", f"expected no route after `otherwise`, found route {found}", r.span,
                    help="`otherwise` takes every lead left: make it the last route",
                    kind="after-otherwise")


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
        return " ".join(m.group(group).split()) if m is not None else number_text(value)

    for group, value in ((1, r.low), (2, r.high)):
        if isinstance(value, float) and not value.is_integer():
            yield error("E102", f"expected a whole number, found `{shown(group, value)}`",
                        span(group),
                        help="scores are whole numbers, and so are the ends of their range")
    if r.low > r.high:
        low, high = shown(1, r.low), shown(2, r.high)
        yield error("E102", f"expected `range LOW to HIGH` with LOW at most HIGH, found "
                    f"{low} to {high}", span(0), help=f"write `range {high} to {low}`")
