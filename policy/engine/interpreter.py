"""Run, the reference way: walk the intermediate form and decide one lead.

:class:`Interpreter` evaluates spec section 4 step by step over a
:class:`~policy.engine.ir.Program` (:mod:`policy.engine.resolve` builds it from the
checked model): scores, gates, handoffs, placement, next step. It is slow and
obviously right on purpose: it is the oracle the compiled engine
(:mod:`policy.engine.compiler`) is tested against, and with ``trace=True`` it records
a :class:`~policy.engine.decision.TraceEvent` for every rule it evaluates, which is
what ``explain`` prints.

What runs before it: :func:`policy.model.loader.load_model` (parse, schema, check,
calendar), :func:`policy.engine.resolve.resolve`, and the lead preparation of
:mod:`policy.api` (validation, timestamp parsing into ``ts``). The lead it gets is
therefore a dict that passed validation, and ``ts`` holds one instant (or None) per
path of ``program.timestamp_order``.

Every value operation goes through :mod:`policy.engine.runtime`'s table, the module
the compiled engine uses too, so the two engines cannot disagree on what ``==`` or
a missing value means; they can only disagree on the order of the steps, which is
what the equivalence tests look at.
"""

from __future__ import annotations

import types
from typing import Any

from policy.engine import ir
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
from policy.syntax.nodes import NOWHERE

__all__ = ["LAST_INSTANT", "Interpreter", "invalid_reason_message", "rule_text"]

LAST_INSTANT = rt.LAST_INSTANT
invalid_reason_message = rt.invalid_reason_message


def rule_text(stmt) -> str:
    """One rule as a trace shows it (see :func:`policy.syntax.canonical.rule_text`)."""
    from policy.syntax.canonical import rule_text as text

    return text(stmt)


def _shown(value: object, is_instant: bool) -> object:
    """A value as a trace shows it: instants as timestamps, lists as lists."""
    if is_instant and type(value) is int:
        try:
            return format_timestamp(value)
        except ValueError:
            return value
    return value


def program_of(source) -> ir.Program:
    """A :class:`~policy.engine.ir.Program`, given one or a model to resolve."""
    if isinstance(source, ir.Program):
        return source
    from policy.engine.resolve import resolve

    return resolve(source)


# --------------------------------------------------------------------------- one run


class _Run:
    """The state of one evaluation: the lead, its instants, the scores so far and,
    when tracing, the names the current rule read and the events so far."""

    __slots__ = ("lead", "ts", "as_of", "scores", "reads", "events")

    def __init__(self, lead: dict, ts: tuple, as_of: int, trace: bool):
        self.lead = lead
        self.ts = ts
        self.as_of = as_of
        self.scores: dict[str, int] = {}
        self.reads: dict[str, object] | None = None
        self.events: list[TraceEvent] | None = [] if trace else None


class _Rule:
    """Where a trace event comes from: its text and position (for events that are not
    one IR rule: a placement, the next step)."""

    __slots__ = ("rule", "span")

    def __init__(self, rule: str, span) -> None:
        self.rule = rule
        self.span = span


_NOWHERE = _Rule("", NOWHERE)


class Interpreter:
    """The reference engine: ``run(lead, ts, as_of)`` walks the IR and returns a Decision.

    Build one per loaded policy, from its :class:`~policy.engine.ir.Program` (or from a
    model, which is resolved here). It holds no state between runs and no cache, so
    one instance is safe to share between threads.
    """

    def __init__(self, program, info: PolicyInfo, *, tz=None):
        self.program = program_of(program)
        #: the zone timestamps without an offset are read in (``local_tz``); None: UTC
        self.tz = tz
        self.info = info

    # ------------------------------------------------------------------ public
    def run(self, lead: dict, ts: tuple, as_of: int, *, trace: bool = False) -> Decision:
        """Decide one prepared lead at ``as_of`` (µs). With ``trace``, keep every step."""
        p = self.program
        r = _Run(lead, ts, as_of, trace)

        for score in p.scores:
            r.scores[score.name] = self._score(score, r)
        scores = types.MappingProxyType({name: r.scores[name] for name in p.score_names})

        reached = self._reached(r)

        handoffs: list[HandoffResult] = []
        violations: list[Violation] = []
        rejected_by: tuple[ir.Handoff, HandoffResult] | None = None
        reached_at = p.stage_index(reached)
        for handoff in p.handoffs:
            if handoff.index < 0 or reached_at < handoff.index:
                continue
            result = self._handoff(handoff, r, violations)
            handoffs.append(result)
            if result.rejected:
                rejected_by = (handoff, result)  # funnel order: the last is the deepest

        stage, reason = self._place(reached, rejected_by, r)
        next_step = self._next(reached, r)
        return Decision(
            lead=rt.get(lead, p.id_field) if p.id_field else None,
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
    def eval(self, e: ir.Expr, r: _Run) -> object:
        """The value of an expression for the lead of run ``r``."""
        t = type(e)
        if t is ir.Const:
            return e.runtime
        if t is ir.Field:
            value = rt.get(r.lead, e.path) if e.ts is None else r.ts[e.ts]
            if r.reads is not None:
                r.reads.setdefault(e.written, _shown(value, e.ts is not None))
            return value
        if t is ir.ScoreRef:
            value = r.scores.get(e.name)
            if r.reads is not None:
                r.reads.setdefault(e.name, value)
            return value
        if t is ir.DefineRef:
            reads, r.reads = r.reads, None  # a rule reads the define, not its insides
            try:
                value = self.eval(self.program.defines[e.name].value, r)
            finally:
                r.reads = reads
            if reads is not None:
                reads.setdefault(e.name, _shown(value, e.type is ir.Type.TIMESTAMP))
            return value
        if t is ir.Test:
            if e.exact:
                return rt.ts_test(e.op, self.eval(e.left, r), self.eval(e.right, r))
            return rt.TESTS[e.op](self.eval(e.left, r), self.eval(e.right, r))
        if t is ir.Arith:
            return rt.ARITHMETIC[e.op](self.eval(e.left, r), self.eval(e.right, r))
        if t is ir.And:
            return rt.truthy(self.eval(e.left, r)) and rt.truthy(self.eval(e.right, r))
        if t is ir.Or:
            return rt.truthy(self.eval(e.left, r)) or rt.truthy(self.eval(e.right, r))
        if t is ir.Not:
            return not rt.truthy(self.eval(e.operand, r))
        if t is ir.Present:
            return (self.eval(e.operand, r) is not None) is e.present
        if t is ir.Neg:
            return rt.neg(self.eval(e.operand, r))
        if t is ir.ListOf:
            return rt.list_of(*[self.eval(item, r) for item in e.items])
        if t is ir.Call:
            args = [self.eval(a, r) for a in e.args]
            if len(args) != 1:
                return None  # the checker refuses other arities
            if e.func in rt.TIME_FUNCTIONS:
                return rt.TIME_FUNCTIONS[e.func](args[0], r.as_of)
            fn = rt.FUNCTIONS.get(e.func)
            return None if fn is None else fn(args[0])
        raise TypeError(f"not an expression: {t.__name__}")

    def holds(self, e: ir.Expr, r: _Run) -> bool:
        """Whether a condition holds: its value is exactly boolean ``true``."""
        return rt.truthy(self.eval(e, r))

    # ------------------------------------------------------------------ tracing
    def _emit(self, r: _Run, kind: str, where, owner: str | None, result: Any,
              points: float | None = None, values: tuple = (), rule: str | None = None) -> None:
        """Record one event (only called when tracing); takes the names read so far."""
        read = tuple((r.reads or {}).items()) + values
        r.reads = None
        r.events.append(TraceEvent(  # type: ignore[union-attr]
            kind=kind,
            rule=rule if rule is not None else where.rule,
            at=str(where.span),
            values=read,
            result=result,
            owner=owner,
            points=points,
        ))

    # ------------------------------------------------------------------ scores
    def _score(self, score: ir.Score, r: _Run) -> int:
        name = score.name
        tracing = r.events is not None
        total: float = 0
        for item in score.items:
            if tracing:
                r.reads = {}  # collect what this rule reads
            if type(item) is ir.PointsIf:
                holds = self.holds(item.condition, r)
                gained = item.points if holds else 0
                total = rt.add(total, gained)  # as doubles, as SQL sums (spec section 10)
                if tracing:
                    self._emit(r, "score", item, name, holds, points=gained)
            else:
                count = self.eval(item.count, r)
                gained = rt.per_points(item.points, count, item.cap)
                total = rt.add(total, gained)
                if tracing:
                    self._emit(r, "score", item, name, gained, points=gained)
        summed = total
        decay = score.decay
        if decay is not None:
            if tracing:
                r.reads = {}  # collect what this rule reads
            since = self.eval(decay.since, r)
            factor = rt.half_life_factor(since, r.as_of, decay.half_life_us)
            total = total * factor
            if tracing:
                self._emit(r, "decay", decay, name, factor, points=total - summed)
        value = rt.round_half_away(total)
        rounded = value
        bounds = score.bounds
        if bounds is not None:
            value = rt.clamp(value, bounds.low, bounds.high)
        if tracing:
            steps: tuple = (("sum", summed),)
            if decay is not None:
                steps += (("decayed", total),)
            steps += (("rounded", rounded),)
            if bounds is not None:
                steps += (("range", [bounds.low, bounds.high]),)
            self._emit(r, "total", bounds or score, name, value, values=steps)
        return value

    # ------------------------------------------------------------------ gates
    def _gate(self, stage: ir.Stage, r: _Run) -> bool:
        """Whether a stage's gate passes: no exclude holds, and every require or the keep."""
        tracing = r.events is not None
        requires_hold = True
        excluded = False
        keep: bool | None = None
        if tracing and stage.entered is not None:
            # no decision reads it; `explain` shows it (unparseable counts as missing)
            raw = rt.get(r.lead, stage.entered.path)
            when = parse_timestamp(raw, kind="any", tz=self.tz) if type(raw) is str else None
            self._emit(r, "entered", stage.entered, stage.name,
                       None if when is None else format_timestamp(when),
                       values=((ir.written_path(stage.entered.path), raw),))
        for line in stage.lines:
            if tracing:
                r.reads = {}  # collect what this rule reads
            holds = self.holds(line.condition, r)
            if line.kind == "require":
                requires_hold = requires_hold and holds
                kind = "gate"
            elif line.kind == "exclude":
                excluded = excluded or holds
                kind = "exclude"
            else:
                keep = holds if keep is None else keep  # at most one; the checker says so
                kind = "keep"
            if tracing:
                self._emit(r, kind, line, stage.name, holds)
        passes = not excluded and (requires_hold or keep is True)
        if tracing:
            why = ("an exclude holds" if excluded else "every require holds" if requires_hold
                   else "kept by `keep when`" if keep else "a require fails")
            self._emit(r, "stage", stage, stage.name, passes, values=(("because", why),))
        return passes

    def _reached(self, r: _Run) -> str | None:
        reached = None
        for stage in self.program.stages:
            if not self._gate(stage, r):
                break
            reached = stage.name
        return reached

    # ------------------------------------------------------------------ handoffs
    def _handoff(self, h: ir.Handoff, r: _Run, violations: list[Violation]) -> HandoffResult:
        stage = h.stage
        tracing = r.events is not None
        route: str | None = None
        calendar, label = h.calendar, h.calendar_label
        sla: SlaResult | None = None
        escalate_to: str | None = None
        rejected = False
        reason: object = None
        start: int | None = None
        stop: int | None = None

        for item in h.routes:
            if tracing:
                r.reads = {}  # collect what this rule reads
            holds = item.condition is None or self.holds(item.condition, r)
            if holds:
                route, calendar, label = item.target, item.calendar, item.calendar_label
            if tracing:
                self._emit(r, "route", item, stage, holds)
            if holds:
                break
        if tracing and route is None:
            self._emit(r, "route", h, stage, None, rule="no route holds")

        sla_line = h.sla
        if sla_line is not None:
            if tracing:
                r.reads = {}  # collect what this rule reads
            start = _instant(self.eval(sla_line.start, r))
            stops = [s for s in (_instant(self.eval(x, r)) for x in sla_line.stops)
                     if s is not None]
            stop = min(stops) if stops else None
            if start is None:
                sla = SlaResult("unknown", None, None, stop)
                violations.append(Violation("missing_sla_start", sla_line.missing_start))
            else:
                due = rt.add_duration(start, sla_line.duration, calendar)
                if stop is not None:
                    status = "met" if due is None or stop <= due else "breached"
                else:
                    status = "breached" if due is not None and r.as_of > due else "pending"
                sla = SlaResult(status, start, due, stop)
            if tracing:
                self._emit(r, "sla", sla_line, stage, sla.to_dict(),
                           values=_calendar_value(label, sla_line.duration))

        escalate = h.escalate
        if escalate is not None:
            if tracing:
                r.reads = {}  # collect what this rule reads
            when = None
            # Escalation counts from the SLA's start; without an `sla` line it never fires.
            if sla_line is not None and start is not None and stop is None:
                when = rt.add_duration(start, escalate.after, calendar)
                if when is not None and r.as_of > when:
                    escalate_to = escalate.target
            if tracing:
                values: tuple = ()
                if sla_line is not None:
                    values = ((_name(sla_line.start), _shown(start, True)),
                              ("stop", _shown(stop, True)))
                    if when is not None:
                        values += (("escalates after", _shown(when, True)),)
                values += _calendar_value(label, escalate.after)
                self._emit(r, "escalate", escalate, stage, escalate_to, values=values)

        reject = h.reject
        if reject is not None:
            if tracing:
                r.reads = {}  # collect what this rule reads
            reason = self.eval(reject.reason, r)
            if tracing and r.reads is not None:
                r.reads.setdefault(reject.reason_name, reason)
            rejected = reason is not None
            valid: bool | None = None
            if rejected:
                reasons = self.eval(reject.reasons, r)
                valid = rt.member(reason, reasons)
                if not valid:
                    violations.append(Violation(
                        "invalid_rejection_reason", rt.invalid_reason_message(reason, reasons)))
            else:
                reason = None
            if tracing:
                self._emit(r, "reject", reject, stage,
                           {"rejected": rejected, "agreed_reason": valid})

        return HandoffResult(
            stage=stage,
            team=h.team,
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
            state = handoff.reject.state
            if tracing:
                self._emit(r, "placement", handoff.reject, None, state,
                           rule=f"rejected at the {handoff.stage} handoff",
                           values=(("reached", reached), ("reason", result.rejection_reason)))
            return state, result.rejection_reason
        if reached is not None:
            at = self.program.stage_index(reached)
            for rule in self.program.recycles:
                if at not in rule.stages:
                    continue
                if tracing:
                    r.reads = {}  # collect what this rule reads
                holds = self.holds(rule.condition, r)
                if tracing:
                    self._emit(r, "recycle", rule, None, holds)
                if holds:
                    if tracing:
                        self._emit(r, "placement", rule, None, rule.state,
                                   rule=f"recycled to {rule.state}",
                                   values=(("reached", reached), ("reason", rule.reason)))
                    return rule.state, rule.reason
        if tracing:
            where = self.program.stage(reached) if reached is not None else None
            self._emit(r, "placement", where or _NOWHERE, None, reached,
                       rule=f"at stage {reached}" if reached else "no stage reached",
                       values=(("reached", reached),))
        return reached, None

    # ------------------------------------------------------------------ next step
    def _next(self, reached: str | None, r: _Run) -> NextStep | None:
        """The first stage after the reached one and what blocks its gate (spec section
        4, step 6): the excludes that hold and, unless its ``keep when`` holds, the
        requires that fail, in source order."""
        funnel = self.program.funnel
        index = self.program.stage_index(reached) + 1
        if index >= len(funnel) or not funnel:
            return None
        name = funnel[index]
        stage = self.program.stage(name)
        unmet: list[str] = []
        if stage is not None:
            reads, r.reads = r.reads, None  # the gate events already show these values
            keep = next((line for line in stage.lines if line.kind == "keep"), None)
            kept = keep is not None and self.holds(keep.condition, r)
            for line in stage.lines:
                if line.kind == "require":
                    if not kept and not self.holds(line.condition, r):
                        unmet.append(line.unmet)
                elif line.kind == "exclude" and self.holds(line.condition, r):
                    unmet.append(line.unmet)
            r.reads = reads
        if r.events is not None:
            self._emit(r, "next", stage or _NOWHERE, name, list(unmet),
                       rule=f"next stage {name}")
        return NextStep(name, tuple(unmet))


# --------------------------------------------------------------------------- helpers


def _calendar_value(label: str | None, duration: ir.Duration) -> tuple:
    """``(("calendar", label),)`` for a business duration, so that ``explain`` names the
    calendar the time was counted on; nothing for a fixed duration."""
    return (("calendar", label),) if duration.is_business else ()


def _instant(v: object) -> int | None:
    return v if type(v) is int else None


def _name(e: ir.Expr) -> str:
    """How a trace names the value an SLA starts from."""
    if type(e) is ir.Field:
        return e.written
    if type(e) in (ir.DefineRef, ir.ScoreRef):
        return e.name
    return "start"
