"""Run, the reference way: walk the AST of a checked policy and decide one lead.

:class:`Interpreter` evaluates spec section 4 step by step, straight from the
nodes of :class:`~policy.model.namespace.PolicyModel`: scores, gates, handoffs,
placement, next step. It is slow and obviously right on purpose: it is the
oracle the compiled engine (:mod:`policy.engine.compiler`) is tested against, and with
``trace=True`` it records a :class:`~policy.engine.decision.TraceEvent` for every rule
it evaluates, which is what ``explain`` prints.

What runs before it: :func:`policy.model.loader.load_model` (parse, schema, check; the
checker builds ``model.work_calendar``) and the lead preparation of
:mod:`policy.api` (validation, timestamp parsing into ``ts``). The lead it gets
is therefore a dict that passed validation, and ``ts`` holds one instant (or
None) per path of ``model.timestamp_order``.

Every value operation goes through :mod:`policy.engine.runtime`, the module the
compiled engine uses too, so the two engines cannot disagree on what ``==`` or a
missing value means; they can only disagree on the order of the steps, which is
what the equivalence tests look at.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from policy.engine import runtime as rt
from policy.engine.decision import (
    Decision,
    HandoffResult,
    NextStep,
    PolicyInfo,
    SlaResult,
    TraceEvent,
    Violation,
)
from policy.engine.timestamps import format_timestamp, parse_timestamp
from policy.model.calendar import WorkCalendar
from policy.model.namespace import PolicyModel, stmt_exprs, walk_expr
from policy.syntax import nodes as n

__all__ = [
    "LAST_INSTANT",
    "Interpreter",
    "duration_us",
    "invalid_reason_message",
    "missing_sla_start_message",
    "rule_text",
]

#: The last instant a decision can print (``9999-12-31T23:59:59.999999Z``). A due time
#: or escalation time past it cannot happen before any ``as_of``: it counts as never.
LAST_INSTANT = parse_timestamp("9999-12-31T23:59:59.999999Z")

_US_PER_SECOND = 1_000_000
_UNARY_CALLS: Mapping[str, Callable[[object], object]] = {
    "lower": rt.lower,
    "length": rt.length,
    "domain": rt.domain,
}
_TIME_CALLS: Mapping[str, Callable[[object, int], object]] = {
    "days_since": rt.days_since,
    "hours_since": rt.hours_since,
}
_BINARY: Mapping[n.BinOp, Callable[[object, object], object]] = {
    op: rt.OPERATORS[op.value] for op in n.BinOp if op.value in rt.OPERATORS
}


# --------------------------------------------------------------------------- messages


def missing_sla_start_message(stage: str, start: n.Ref) -> str:
    """The ``missing_sla_start`` violation's sentence (both engines use it)."""
    return f"the SLA of the {stage} handoff cannot start: `{start.dotted}` is missing"


def invalid_reason_message(reason: object, reasons: object) -> str:
    """The ``invalid_rejection_reason`` violation's sentence (both engines use it)."""
    agreed = ", ".join(_json(x) for x in reasons) if isinstance(reasons, list) else "none"
    return f"rejection reason {_json(reason)} is not one of the agreed reasons: {agreed}"


def _json(v: object) -> str:
    try:
        return json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(v)


# --------------------------------------------------------------------------- durations


def duration_us(duration: n.Duration, start: int, calendar: WorkCalendar | None) -> int | None:
    """The instant ``duration`` after ``start``; None when it falls past the year 9999.

    Business durations count working time on ``calendar`` (the one the handoff counts
    on for the chosen route, :meth:`PolicyModel.work_calendar_for`; a business day is
    one workday's nominal hours, also across a DST change); fixed ones are exact (a day
    is 86,400 s). Fractions of a microsecond are rounded to the nearest microsecond.
    """
    unit = duration.unit
    if unit.is_business:
        if calendar is None:
            # The checker refuses business durations without a calendar (E107).
            raise ValueError("business durations need a `calendar` (E107)")
        per = rt.US_PER_HOUR if unit is n.Unit.BUSINESS_HOURS else calendar.day_us
        try:
            due = calendar.add_business(start, _whole(duration.amount * per))
        except ValueError:
            return None  # no representable instant holds that much working time
    else:
        due = start + _whole(duration.amount * n.UNIT_SECONDS[unit] * _US_PER_SECOND)
    return due if due <= LAST_INSTANT else None


def _whole(us: float) -> int:
    return us if type(us) is int else round(us)


def half_life_us(duration: n.Duration) -> int:
    """A decay's half-life in microseconds: always a fixed duration, never business time."""
    if duration.unit.is_business:
        # The checker refuses business time in `decay` (spec section 3: only `sla`
        # and `escalate` accept it), so a checked policy never gets here.
        raise ValueError("a decay half-life is a fixed duration, not business time")
    return _whole(duration.amount * n.UNIT_SECONDS[duration.unit] * _US_PER_SECOND)


# --------------------------------------------------------------------------- rule text


def rule_text(stmt: n.Stmt) -> str:
    """One rule as a person reads it in the policy, on one line (``+30 if …``).

    The formatter prints it (so a rule reads as ``fmt`` writes it, on one line whatever
    its length), except that a gate line leaves out its reason, which ``explain`` shows
    on its own, and a block is named by its header (``stage mql``).
    """
    from policy.syntax.formatter import format_line

    if isinstance(stmt, n.Score):
        return f"score {stmt.name.name}"
    if isinstance(stmt, n.Stage):
        return f"stage {stmt.name.name}"
    if isinstance(stmt, n.Handoff):
        return f"handoff {stmt.stage.name} to {stmt.team.name}"
    if isinstance(stmt, (n.Require, n.Exclude)) and stmt.reason is not None:
        stmt = attrs.evolve(stmt, reason=None)
    if isinstance(stmt, n.BLOCKS) or not isinstance(stmt, n.Stmt):
        raise TypeError(f"no rule text for {type(stmt).__name__}")
    return format_line(stmt)


def _shown(value: object, is_instant: bool) -> object:
    """A value as a trace shows it: instants as timestamps, lists as lists."""
    if is_instant and type(value) is int:
        try:
            return format_timestamp(value)
        except ValueError:
            return value
    return value


# --------------------------------------------------------------------------- one run


class _Run:
    """The state of one evaluation: the lead, its instants, the scores so far and,
    when tracing, the names the current rule read and the events so far."""

    __slots__ = ("lead", "ts", "as_of", "scores", "reads", "events", "defining")

    def __init__(self, lead: dict, ts: tuple, as_of: int, trace: bool):
        self.lead = lead
        self.ts = ts
        self.as_of = as_of
        self.scores: dict[str, int] = {}
        self.reads: dict[str, object] | None = None
        self.events: list[TraceEvent] | None = [] if trace else None
        self.defining: set[str] = set()


class Interpreter:
    """The reference engine: ``run(lead, ts, as_of)`` walks the AST and returns a Decision.

    Build one per loaded policy. It holds no state between runs, so one instance is
    safe to share between threads.
    """

    def __init__(self, model: PolicyModel, info: PolicyInfo):
        self.model = model
        self.info = info
        self._ts_index = {path: i for i, path in enumerate(model.timestamp_order)}
        self._instants = _literal_instants(model)
        self._rule_texts: dict[int, str] = {}

    # ------------------------------------------------------------------ public
    def run(self, lead: dict, ts: tuple, as_of: int, *, trace: bool = False) -> Decision:
        """Decide one prepared lead at ``as_of`` (µs). With ``trace``, keep every step."""
        model = self.model
        r = _Run(lead, ts, as_of, trace)

        for name in model.score_order:
            r.scores[name] = self._score(model.scores[name], r)
        scores = types.MappingProxyType({name: r.scores[name] for name in model.scores})

        reached = self._reached(r)

        handoffs: list[HandoffResult] = []
        violations: list[Violation] = []
        rejected_by: tuple[n.Handoff, HandoffResult] | None = None
        reached_at = model.stage_index(reached)
        for handoff in model.handoffs:
            at = model.stage_index(handoff.stage.name)
            if at < 0 or reached_at < at:
                continue
            result = self._handoff(handoff, r, violations)
            handoffs.append(result)
            if result.rejected:
                rejected_by = (handoff, result)  # funnel order: the last is the deepest

        stage, reason = self._place(reached, rejected_by, r)
        next_step = self._next(reached, r)
        return Decision(
            lead=rt.get(lead, model.id_field) if model.id_field else None,
            policy=self.info,
            as_of=as_of,
            stage=stage,
            reached=reached,
            reason=reason,
            scores=scores,
            next=next_step,
            handoffs=tuple(handoffs),
            violations=tuple(violations),
            trace=None if r.events is None else tuple(r.events),
        )

    # ------------------------------------------------------------------ expressions
    def eval(self, expr: n.Expr, r: _Run) -> object:
        """The value of an expression for the lead of run ``r``."""
        t = type(expr)
        if t is n.Ref:
            return self._ref(expr, r)
        if t is n.Binary:
            op = expr.op
            if op is n.BinOp.AND:
                return rt.truthy(self.eval(expr.left, r)) and rt.truthy(self.eval(expr.right, r))
            if op is n.BinOp.OR:
                return rt.truthy(self.eval(expr.left, r)) or rt.truthy(self.eval(expr.right, r))
            return _BINARY[op](self.eval(expr.left, r), self.eval(expr.right, r))
        if t is n.Number or t is n.Bool:
            return expr.value
        if t is n.String:
            return self._instants.get(id(expr), expr.value)
        if t is n.Null:
            return None
        if t is n.Not:
            return not rt.truthy(self.eval(expr.operand, r))
        if t is n.Presence:
            return (self.eval(expr.operand, r) is not None) is expr.present
        if t is n.Neg:
            return rt.neg(self.eval(expr.operand, r))
        if t is n.ListExpr:
            return [self.eval(item, r) for item in expr.items]
        if t is n.Call:
            args = [self.eval(a, r) for a in expr.args]
            if len(args) != 1:
                return None  # the checker refuses other arities
            if expr.func in _TIME_CALLS:
                return _TIME_CALLS[expr.func](args[0], r.as_of)
            fn = _UNARY_CALLS.get(expr.func)
            return None if fn is None else fn(args[0])
        raise TypeError(f"not an expression: {type(expr).__name__}")

    def holds(self, expr: n.Expr, r: _Run) -> bool:
        """Whether a condition holds: its value is exactly boolean ``true``."""
        return rt.truthy(self.eval(expr, r))

    def _ref(self, ref: n.Ref, r: _Run) -> object:
        kind, target = self.model.resolve(ref)
        if kind == "define":
            name = ref.path[0]
            if name in r.defining:
                return None  # a cycle among defines (the checker reports E108)
            reads, r.reads = r.reads, None  # a rule reads the define, not its insides
            r.defining.add(name)
            try:
                value = self.eval(target.value, r)  # type: ignore[union-attr]
            finally:
                r.defining.discard(name)
                r.reads = reads
            if reads is not None:
                reads.setdefault(name, _shown(value, self.model.is_timestamp(ref)))
            return value
        if kind == "score":
            value = r.scores.get(ref.path[0])
        else:
            index = self._ts_index.get(ref.path)
            value = rt.get(r.lead, ref.path) if index is None else r.ts[index]
            if r.reads is not None:
                r.reads.setdefault(ref.dotted, _shown(value, index is not None))
            return value
        if r.reads is not None:
            r.reads.setdefault(ref.dotted, value)
        return value

    # ------------------------------------------------------------------ tracing
    def _text(self, stmt: n.Stmt) -> str:
        key = id(stmt)
        text = self._rule_texts.get(key)
        if text is None:
            text = self._rule_texts[key] = rule_text(stmt)
        return text

    def _emit(self, r: _Run, kind: str, stmt: n.Stmt, owner: str | None, result: Any,
              points: float | None = None, values: tuple = (), rule: str | None = None) -> None:
        """Record one event (only called when tracing); takes the names read so far."""
        read = tuple((r.reads or {}).items()) + values
        r.reads = None
        r.events.append(TraceEvent(  # type: ignore[union-attr]
            kind=kind,
            rule=rule if rule is not None else self._text(stmt),
            at=str(stmt.span),
            values=read,
            result=result,
            owner=owner,
            points=points,
        ))

    # ------------------------------------------------------------------ scores
    def _score(self, score: n.Score, r: _Run) -> int:
        name = score.name.name
        tracing = r.events is not None
        total: float = 0
        decay: n.Decay | None = None
        bounds: n.Range | None = None
        for item in score.items:
            if isinstance(item, n.PointsIf):
                if tracing:
                    r.reads = {}  # collect what this rule reads
                holds = self.holds(item.condition, r)
                gained = item.points if holds else 0
                total += gained
                if tracing:
                    self._emit(r, "score", item, name, holds, points=gained)
            elif isinstance(item, n.PointsPer):
                if tracing:
                    r.reads = {}  # collect what this rule reads
                count = self.eval(item.count, r)
                gained = rt.per_points(item.points, count, item.cap)
                total += gained
                if tracing:
                    self._emit(r, "score", item, name, gained, points=gained)
            elif isinstance(item, n.Decay):
                decay = decay or item
            elif isinstance(item, n.Range):
                bounds = bounds or item
        summed = total
        if decay is not None:
            if tracing:
                r.reads = {}  # collect what this rule reads
            since = self.eval(decay.since, r)
            factor = rt.decay_factor(since, r.as_of, half_life_us(decay.half_life))
            total = total * factor
            if tracing:
                self._emit(r, "decay", decay, name, factor, points=total - summed)
        value = rt.round_half_away(total)
        rounded = value
        if bounds is not None:
            value = rt.clamp(value, bounds.low, bounds.high)
        if tracing:
            steps: tuple = (("sum", summed),)
            if decay is not None:
                steps += (("decayed", total),)
            steps += (("rounded", rounded),)
            if bounds is not None:
                steps += (("range", [bounds.low, bounds.high]),)
            self._emit(r, "total", bounds or score, name, value, values=steps,
                       rule=self._text(bounds) if bounds is not None else f"score {name}")
        return value

    # ------------------------------------------------------------------ gates
    def _gate(self, stage: n.Stage, r: _Run) -> bool:
        """Whether a stage's gate passes: no exclude holds, and every require or the keep."""
        name = stage.name.name
        tracing = r.events is not None
        requires_hold = True
        excluded = False
        keep: bool | None = None
        for item in stage.items:
            if isinstance(item, n.EnteredAt):
                continue  # changes no decision
            if tracing:
                r.reads = {}  # collect what this rule reads
            holds = self.holds(item.condition, r)
            if isinstance(item, n.Require):
                requires_hold = requires_hold and holds
                kind = "gate"
            elif isinstance(item, n.Exclude):
                excluded = excluded or holds
                kind = "exclude"
            else:
                keep = holds if keep is None else keep  # at most one; the checker says so
                kind = "keep"
            if tracing:
                self._emit(r, kind, item, name, holds)
        passes = not excluded and (requires_hold or keep is True)
        if tracing:
            why = ("an exclude holds" if excluded else "every require holds" if requires_hold
                   else "kept by `keep when`" if keep else "a require fails")
            self._emit(r, "stage", stage, name, passes, values=(("because", why),))
        return passes

    def _reached(self, r: _Run) -> str | None:
        reached = None
        for stage in self.model.funnel_stages():
            if not self._gate(stage, r):
                break
            reached = stage.name.name
        return reached

    # ------------------------------------------------------------------ handoffs
    def _handoff(self, h: n.Handoff, r: _Run, violations: list[Violation]) -> HandoffResult:
        model = self.model
        stage = h.stage.name
        tracing = r.events is not None
        route: str | None = None
        sla: SlaResult | None = None
        escalate_to: str | None = None
        rejected = False
        reason: object = None
        routed = False
        chosen: n.Route | None = None
        start: int | None = None
        stop: int | None = None

        for item in h.items:
            if isinstance(item, n.Route):
                if routed:
                    continue
                if tracing:
                    r.reads = {}  # collect what this rule reads
                holds = item.condition is None or self.holds(item.condition, r)
                if holds:
                    route, routed, chosen = item.target, True, item
                if tracing:
                    self._emit(r, "route", item, stage, holds)
        if tracing and not routed:
            self._emit(r, "route", h, stage, None, rule="no route holds")

        # business time counts on the chosen route's calendar, else the handoff's, else
        # the unnamed one (spec section 2)
        calendar = model.work_calendar_for(h, chosen)
        sla_line = _first(h.items, n.Sla)
        if sla_line is not None:
            if tracing:
                r.reads = {}  # collect what this rule reads
            start = _instant(self.eval(sla_line.start, r))
            stops = [s for s in (_instant(self.eval(x, r)) for x in sla_line.stops)
                     if s is not None]
            stop = min(stops) if stops else None
            if start is None:
                sla = SlaResult("unknown", None, None, stop)
                violations.append(Violation(
                    "missing_sla_start", missing_sla_start_message(stage, sla_line.start)))
            else:
                due = duration_us(sla_line.duration, start, calendar)
                if stop is not None:
                    status = "met" if due is None or stop <= due else "breached"
                else:
                    status = "breached" if due is not None and r.as_of > due else "pending"
                sla = SlaResult(status, start, due, stop)
            if tracing:
                self._emit(r, "sla", sla_line, stage, sla.to_dict(),
                           values=_calendar_value(model, h, chosen, sla_line.duration))

        escalate = _first(h.items, n.Escalate)
        if escalate is not None:
            if tracing:
                r.reads = {}  # collect what this rule reads
            when = None
            # Escalation counts from the SLA's start; without an `sla` line it never fires.
            if sla_line is not None and start is not None and stop is None:
                when = duration_us(escalate.after, start, calendar)
                if when is not None and r.as_of > when:
                    escalate_to = escalate.target
            if tracing:
                values: tuple = ()
                if sla_line is not None:
                    values = ((sla_line.start.dotted, _shown(start, True)),
                              ("stop", _shown(stop, True)))
                    if when is not None:
                        values += (("escalates after", _shown(when, True)),)
                values += _calendar_value(model, h, chosen, escalate.after)
                self._emit(r, "escalate", escalate, stage, escalate_to, values=values)

        reject = _first(h.items, n.Reject)
        if reject is not None:
            if tracing:
                r.reads = {}  # collect what this rule reads
            kind, _ = model.resolve(reject.field)
            # The reason is reported as the lead holds it (a timestamp stays text).
            reason = (rt.get(r.lead, reject.field.path) if kind == "field"
                      else self.eval(reject.field, r))
            if tracing and r.reads is not None:
                r.reads.setdefault(reject.field.dotted, reason)
            rejected = reason is not None
            valid: bool | None = None
            if rejected:
                reasons = self.eval(reject.reasons, r)
                valid = rt.member(reason, reasons)
                if not valid:
                    violations.append(Violation(
                        "invalid_rejection_reason", invalid_reason_message(reason, reasons)))
            else:
                reason = None
            if tracing:
                self._emit(r, "reject", reject, stage,
                           {"rejected": rejected, "agreed_reason": valid})

        return HandoffResult(
            stage=stage,
            team=h.team.name,
            route=route,
            sla=sla,
            escalate_to=escalate_to,
            rejected=rejected,
            rejection_reason=reason,
        )

    # ------------------------------------------------------------------ placement
    def _place(self, reached: str | None, rejected_by, r: _Run) -> tuple[str | None, object]:
        tracing = r.events is not None
        if rejected_by is not None:
            handoff, result = rejected_by
            reject = _first(handoff.items, n.Reject)
            state = reject.state.name  # type: ignore[union-attr]
            if tracing:
                self._emit(r, "placement", reject, None, state,
                           rule=f"rejected at the {handoff.stage.name} handoff",
                           values=(("reached", reached), ("reason", result.rejection_reason)))
            return state, result.rejection_reason
        if reached is not None:
            for rule in self.model.recycles:
                if reached not in {s.name for s in rule.stages}:
                    continue
                if tracing:
                    r.reads = {}  # collect what this rule reads
                holds = self.holds(rule.condition, r)
                if tracing:
                    self._emit(r, "recycle", rule, None, holds)
                if holds:
                    if tracing:
                        self._emit(r, "placement", rule, None, rule.state.name,
                                   rule=f"recycled to {rule.state.name}",
                                   values=(("reached", reached), ("reason", rule.reason)))
                    return rule.state.name, rule.reason
        if tracing:
            where = self.model.stages.get(reached) if reached is not None else None
            self._emit(r, "placement", where or _NOWHERE_STMT, None, reached,
                       rule=f"at stage {reached}" if reached else "no stage reached",
                       values=(("reached", reached),))
        return reached, None

    # ------------------------------------------------------------------ next step
    def _next(self, reached: str | None, r: _Run) -> NextStep | None:
        funnel = self.model.funnel
        index = self.model.stage_index(reached) + 1
        if index >= len(funnel) or not funnel:
            return None
        name = funnel[index]
        stage = self.model.stages.get(name)
        unmet: list[str] = []
        if stage is not None:
            from policy.syntax.formatter import (
                format_unmet,  # written alongside; imported when needed
            )

            reads, r.reads = r.reads, None  # the gate events already show these values
            # while `keep when` holds, failing requires do not block the gate (spec 4.6)
            keep = _first(stage.items, n.KeepWhen)
            kept = keep is not None and self.holds(keep.condition, r)
            for item in stage.items:
                if (isinstance(item, n.Require) and not kept
                        and not self.holds(item.condition, r)):
                    unmet.append(format_unmet(item))
                elif isinstance(item, n.Exclude) and self.holds(item.condition, r):
                    unmet.append(format_unmet(item))
            r.reads = reads
        if r.events is not None:
            self._emit(r, "next", stage or _NOWHERE_STMT, name, list(unmet),
                       rule=f"next stage {name}")
        return NextStep(name, tuple(unmet))


# --------------------------------------------------------------------------- helpers


def _calendar_value(model: PolicyModel, h: n.Handoff, chosen: n.Route | None,
                    duration: n.Duration) -> tuple:
    """``(("calendar", label),)`` for a business duration, so that ``explain`` names the
    calendar the time was counted on; nothing for a fixed duration."""
    if not duration.unit.is_business:
        return ()
    return (("calendar", model.calendar_label(h, chosen)),)

_NOWHERE_STMT = n.Stmt()


def _first(items, cls):
    for item in items:
        if isinstance(item, cls):
            return item
    return None


def _instant(v: object) -> int | None:
    return v if type(v) is int else None


def _literal_instants(model: PolicyModel) -> dict[int, int | None]:
    """String literals compared with a timestamp, read once as instants (by node id).

    ``mql_at >= "2026-11-01"`` compares instants: the text is parsed here, at load,
    with either a date or a date-time allowed (None when it does not parse, which
    makes the comparison false, like any comparison with a missing value).
    """
    found: dict[int, int | None] = {}
    for located in model.all_decls():
        for stmt in (located.decl, *getattr(located.decl, "items", ())):
            if isinstance(stmt, n.Example):
                continue
            for expr in stmt_exprs(stmt):
                for e in walk_expr(expr):
                    if not (isinstance(e, n.Binary) and e.op in n.COMPARISONS):
                        continue
                    for lit, other in ((e.left, e.right), (e.right, e.left)):
                        if isinstance(lit, n.String) and model.is_timestamp(other):
                            found[id(lit)] = parse_timestamp(lit.value, kind="any")
    return found
