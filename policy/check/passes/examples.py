"""Passes ``examples`` (examples, lead files and their expectations) and ``usage``
(defines nothing uses).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from policy.check.context import (
    SLA_STATUSES,
    TS_HELP,
    VIOLATION_CODES,
    Context,
    did_you_mean,
    json_text,
    name_list,
)
from policy.engine.timestamps import parse_timestamp
from policy.io.files import read_bounded
from policy.model.namespace import PolicyModel, refs_in
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error, warning

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
    name_span = ctx.find(ex.span, json_text(ex.name))
    leads = [i for i in ex.items if isinstance(i, n.LeadLiteral | n.LeadFile)]
    ats = [i for i in ex.items if isinstance(i, n.At)]
    if not leads:
        yield error("E109", f"example {json_text(ex.name)} has no `lead`", name_span,
                    help='add `lead { … }` with the lead as JSON, or `lead file "lead.json"`')
    for extra in leads[1:]:
        yield error("E109", "expected one `lead` in an example, found a second",
                    ctx.keyword(extra, "lead"),
                    help=f"the first is at {ctx.where(leads[0].span)}; write one example "
                    "per lead")
    if not ats:
        # the spec makes `as_of` default to the current time where a caller gives none;
        # a time-dependent result can then change from run to run, hence the warning
        yield warning("W209", f"example {json_text(ex.name)} has no `at` time: it runs at "
                      "the current time", name_span,
                      help='add `at "2026-11-02T15:00:00Z"` so that a result that depends '
                      "on time does not change from one run to the next")
    for extra in ats[1:]:
        yield error("E109", "expected one `at` in an example, found a second",
                    ctx.keyword(extra, "at"), help=f"the first is at {ctx.where(ats[0].span)}")
    for at in ats[:1]:
        if parse_timestamp(at.timestamp, kind="any") is None:
            yield error("E109", f"expected a timestamp after `at`, found {json_text(at.timestamp)}",
                        ctx.find(at.span, json_text(at.timestamp)), help=TS_HELP)
    for lf in leads:
        if isinstance(lf, n.LeadFile):
            yield from _lead_file(ctx, module, lf)
    for item in ex.items:
        if isinstance(item, n.Expect):
            yield from _expect(ctx, item, routes, all_routes, targets, all_targets, slas,
                               model)


def _lead_file(ctx: Context, module: n.Module, lf: n.LeadFile) -> Iterator[Diagnostic]:
    path = Path(module.path).parent / lf.path
    span = ctx.find(lf.span, json_text(lf.path))
    problem = None
    try:
        # strict JSON (RFC 8259): NaN and Infinity are not JSON numbers (as in eval)
        data = json.loads(read_bounded(path).decode("utf-8-sig"), parse_constant=_not_json)
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
        yield error("E110", f"lead file {json_text(lf.path)} cannot be used: {problem}", span,
                    help=f"the path is relative to {module.path}; the file holds one lead "
                    "as a JSON object")


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


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
                        help="the handoffs are at " + name_list(list(routes)) if routes
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
                "the scores are " + name_list(list(model.scores)) if model.scores
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
                hint = (f"the {word}s{where} are " + ", ".join(json_text(r) for r in sorted(known))
                        if known else f"no handoff{where} names any {word}")
            yield error("E109", f"unknown {word} {json_text(e.value)}{where}",
                        ctx.find(ctx.line_of(e.span), json_text(e.value)), help=hint)
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
