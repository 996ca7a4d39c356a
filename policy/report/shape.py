"""What the funnel report needs to know about a policy (spec section 11), read once.

:func:`report_shape` turns a checked :class:`~policy.model.namespace.PolicyModel` into a
small frozen :class:`Shape`: the stages in funnel order with their ``entered at`` field,
the off-funnel states, every handoff with its routes, the calendar each route counts
business time on and its agreed rejection reasons, and every score with its ``range``
and the thresholds the stage gates compare it with. The fact builders
(:mod:`policy.report.facts`) and the SQL (:mod:`policy.report.compute`) read nothing
else from the model, so a change in the model's layout touches this module only.

Must run after: loading and checking (:func:`policy.model.loader.load_model`).
"""

from __future__ import annotations

import math
from typing import Any

import attrs

from policy.engine import runtime as rt
from policy.model.calendar import WorkCalendar
from policy.model.namespace import PolicyModel, walk_expr
from policy.render.escape import no_surrogates
from policy.syntax import nodes as n

__all__ = ["HandoffShape", "RouteShape", "ScoreShape", "Shape", "StageShape", "parse_field_path",
           "report_shape"]

_COMPARISONS = n.COMPARISONS


@attrs.frozen
class StageShape:
    name: str
    #: the ``entered at`` field path, or None when the stage declares none
    entered_at: tuple[str, ...] | None
    #: how that field's text is read: ``date``, ``date-time`` or ``any`` (no schema format)
    entered_kind: str = "any"


@attrs.frozen
class RouteShape:
    name: str
    #: the calendar this route's business time counts on; None when no calendar applies
    calendar: WorkCalendar | None = attrs.field(eq=False)
    calendar_name: str | None = None


@attrs.frozen
class HandoffShape:
    stage: str
    team: str
    routes: tuple[RouteShape, ...]
    has_sla: bool
    #: the handoff's own calendar (``calendar NAME`` line, else the unnamed one)
    calendar: WorkCalendar | None = attrs.field(eq=False)
    #: the agreed rejection reasons, or None when the handoff has no ``reject`` line
    #: (or its list is not a constant the report can read)
    agreed: tuple[Any, ...] | None = None
    reject_to: str | None = None

    def route_calendar(self, route: str | None) -> WorkCalendar | None:
        if route is not None:
            route = no_surrogates(route)  # as the route's name (:func:`_handoff`)
        for r in self.routes:
            if r.name == route:
                return r.calendar
        return self.calendar


@attrs.frozen
class ScoreShape:
    name: str
    #: the ``range`` bounds, or None without a ``range`` line
    low: int | float | None
    high: int | float | None
    #: the numbers the stage gates compare this score with, ascending
    thresholds: tuple[int | float, ...]


@attrs.frozen
class Shape:
    name: str | None
    version: str | None
    digest: str
    stages: tuple[StageShape, ...]
    states: tuple[str, ...]
    handoffs: tuple[HandoffShape, ...]
    scores: tuple[ScoreShape, ...]
    #: the first stage's ``entered at``: the default cohort field
    default_cohort: tuple[str, ...] | None

    def stage_index(self, name: str | None) -> int:
        for i, s in enumerate(self.stages):
            if s.name == name:
                return i
        return -1

    @property
    def velocity_pairs(self) -> tuple[tuple[int, int], ...]:
        """Neighbouring stages in the funnel that both declare ``entered at``."""
        return tuple((i, i + 1) for i in range(len(self.stages) - 1)
                     if self.stages[i].entered_at and self.stages[i + 1].entered_at)


# --------------------------------------------------------------------------- field paths


def parse_field_path(text: str) -> tuple[str, ...] | None:
    """A field path as the language writes it (``company.industry``, ``a.`odd key```),
    or None when the text is not one."""
    parts: list[str] = []
    i, size = 0, len(text)
    while True:
        if i < size and text[i] == "`":
            end = text.find("`", i + 1)
            if end <= i + 1:
                return None
            parts.append(text[i + 1:end])
            i = end + 1
        else:
            j = i
            while j < size and (text[j].isalnum() or text[j] == "_"):
                j += 1
            if j == i:
                return None
            parts.append(text[i:j])
            i = j
        if i == size:
            return tuple(parts)
        if text[i] != ".":
            return None
        i += 1


# --------------------------------------------------------------------------- building


def report_shape(model: PolicyModel, *, name: str | None, version: str | None,
                 digest: str) -> Shape:
    """The :class:`Shape` of a checked model (``name``/``version``/``digest``: its info)."""
    stages = tuple(_stage(model, model.stages[s]) for s in model.funnel if s in model.stages)
    from policy.check.reasoning import Reasoner

    reasoner = Reasoner(model)
    handoffs = tuple(_handoff(model, h, reasoner) for h in model.handoffs)
    scores = tuple(_score(model, reasoner, s) for s in model.scores.values())
    first = stages[0].entered_at if stages else None
    return Shape(name=name, version=version, digest=digest, stages=stages,
                 states=tuple(model.states), handoffs=handoffs, scores=scores,
                 default_cohort=first)


def _stage(model: PolicyModel, stage: n.Stage) -> StageShape:
    field = model.entered_at.get(stage.name.name)
    kind = "any"
    if field is not None and model.schema is not None:
        info = model.schema.lookup(field)
        if info is not None and info.format in ("date", "date-time"):
            kind = info.format
    return StageShape(stage.name.name, field, kind)


def _handoff(model: PolicyModel, h: n.Handoff, reasoner: Any) -> HandoffShape:
    routes: list[RouteShape] = []
    has_sla = False
    agreed = reject_to = None
    for item in h.items:
        if isinstance(item, n.Route):
            # a lone surrogate (`route "r\\ud800"`) as U+FFFD: the report's figures are
            # computed in DuckDB, whose text is UTF-8, so its keys show it so
            routes.append(RouteShape(no_surrogates(item.target), model.work_calendar_for(h, item),
                                     model.calendar_label(h, item)))
        elif isinstance(item, n.Sla):
            has_sla = True
        elif isinstance(item, n.Reject):
            reject_to = item.state.name
            value = reasoner.const(item.reasons)
            agreed = tuple(value) if isinstance(value, list) else None
    return HandoffShape(stage=h.stage.name, team=h.team.name, routes=tuple(routes),
                        has_sla=has_sla, calendar=model.work_calendar_for(h, None),
                        agreed=agreed, reject_to=reject_to)


def _score(model: PolicyModel, reasoner: Any, score: n.Score) -> ScoreShape:
    low = high = None
    for item in score.items:
        if isinstance(item, n.Range):
            low, high = item.low, item.high
            break
    name = score.name.name
    found: set[int | float] = set()
    for stage in model.funnel_stages():
        for item in stage.items:
            cond = getattr(item, "condition", None)
            if isinstance(item, (n.Require, n.Exclude, n.KeepWhen)) and cond is not None:
                _thresholds(model, reasoner, cond, name, found, set())
    return ScoreShape(name, low, high, tuple(sorted(found)))


def _thresholds(model, reasoner, cond, score: str, found: set, seen: set) -> None:
    """Collect the numbers ``score`` is compared with in ``cond``, through defines."""
    for e in walk_expr(cond):
        if isinstance(e, n.Ref) and len(e.path) == 1:
            kind, target = model.resolve(e)
            if kind == "define" and e.path[0] not in seen:
                seen.add(e.path[0])
                _thresholds(model, reasoner, target.value, score, found, seen)
        if not isinstance(e, n.Binary) or e.op not in _COMPARISONS:
            continue
        for side, other in ((e.left, e.right), (e.right, e.left)):
            if _is_score(model, side, score, set()):
                value = reasoner.const(other)
                if rt.is_number(value) and math.isfinite(value):
                    found.add(int(value) if float(value).is_integer() else float(value))


def _is_score(model, e, score: str, seen: set) -> bool:
    """Whether ``e`` is the score itself, or a define that names it."""
    if not isinstance(e, n.Ref) or len(e.path) != 1:
        return False
    kind, target = model.resolve(e)
    if kind == "score":
        return e.path[0] == score
    if kind == "define" and e.path[0] not in seen:
        seen.add(e.path[0])
        return _is_score(model, target.value, score, seen)
    return False
