"""Code generation for handoffs: routes, the SLA, the escalation and the rejection.

A part of the compiled engine (:mod:`policy.engine.compiler` puts the sections
together): :class:`HandoffCompiler` writes the body of one ``if ri >= N:`` block per
handoff, as the interpreter's ``_handoff`` decides it (spec section 4, step 4). Business
time counts on the chosen route's calendar; when the routes of a handoff do not all
count on the same calendar, the local ``cal`` holds the chosen one at run time.
"""

from __future__ import annotations

from policy.engine import ir
from policy.engine import runtime as rt
from policy.engine.codegen import (
    ANY,
    CONST,
    TS,
    ExprCompiler,
    LineWriter,
    _construct,
    _is_plain_name,
    _nothing,
    _shorten,
    _Val,
)
from policy.engine.decision import HandoffResult, SlaResult, Violation

__all__ = ["HandoffCompiler"]


class HandoffCompiler(ExprCompiler):
    """Compiles one handoff; the compiler's other sections come from its subclass."""

    # the path codes of kept decisions (compile_placement overrides these)
    def path_route(self) -> list[str]:
        return []

    def path_handoff_done(self) -> None:
        return None

    def rule_comment(self, w: LineWriter, rule) -> None:
        span = rule.span
        w.comment(f"{span.file}:{span.line}  {_shorten(rule.rule)}")

    def handoff(self, w: LineWriter, h: ir.Handoff, first: bool = False) -> None:
        """``hs`` gains the handoff's result (``first``: ``hs`` is empty before it)."""
        # Without an SLA or a rejection, the result depends on the route alone: one
        # constant per route, made at compile time.
        constant = h.sla is None and h.reject is None

        def result(target: str | None) -> str:
            value = HandoffResult(h.stage, h.team, target, None, None, False, None)
            return f"hs {'=' if first else '+='} {self.const((value,), 'HANDOFF')}"

        # route: the first that holds; its calendar counts the handoff's business time
        calendars = {id(r.calendar) for r in h.routes} | {id(h.calendar)}
        per_route = len(calendars) > 1 and self.business_time(h) and not constant
        keyword_ = "if"
        for route in h.routes:
            self.rule_comment(w, route)
            test = "True" if route.condition is None else self.cond(self.expr(route.condition))
            if test == "False":
                continue
            chosen = ([result(route.target), *self.path_route()] if constant
                      else [f"route = {self.const(route.target)}"])
            if per_route:
                chosen.append(f"cal = {self.const(route.calendar, 'CAL')}")
            if test == "True":
                if keyword_ == "if":
                    for text in chosen:
                        w.line(text)
                else:
                    with w.block("else:"):
                        for text in chosen:
                            w.line(text)
                keyword_ = "done"
                break
            with w.block(f"{keyword_} {test}:"):
                for text in chosen:
                    w.line(text)
            keyword_ = "elif"
        if keyword_ != "done":
            with (w.block("else:") if keyword_ == "elif" else _nothing()):
                for text in ([result(None), *self.path_route()] if constant
                             else ["route = None"]):
                    w.line(text)
                if per_route:
                    w.line(f"cal = {self.const(h.calendar, 'CAL')}")
        if constant:
            self.path_handoff_done()
            if h.escalate is not None:
                self.rule_comment(w, h.escalate)
                w.comment("no `sla` line: the escalation has no start to count from")
            return
        # without calendars that differ by route, every route counts on the handoff's
        calendar = h.calendar
        self.sla_and_escalation(w, h, calendar, per_route)
        # rejection
        reject = h.reject
        if reject is None:
            rejected, reason = "False", "None"
        else:
            self.rule_comment(w, reject)
            w.line(f"rej = {self.materialize(self.expr(reject.reason))}")
            with w.block("if rej is not None:"):
                reasons = self.expr(reject.reasons)
                agreed = self.cond(self.membership(True, _Val("rej", ANY, simple=True), reasons))
                if agreed != "True":
                    if reasons.kind != CONST:
                        # a define computed per run: give it a name so it is computed once
                        w.line(f"agreed = {self.materialize(reasons)}")
                        agreed = "member(rej, agreed)"
                        reasons = _Val("agreed", ANY, simple=True)
                    with w.block(f"if not {agreed}:"):
                        violation = _construct(
                            Violation, code="'invalid_rejection_reason'",
                            message=f"invalid_reason_message(rej, {reasons.code})")
                        w.line(f"vs += ({violation},)")
                w.line(f"rej_state = {self.const(reject.state)}")
                w.line("rej_reason = rej")
            rejected, reason = "rej is not None", "rej"
        result = _construct(HandoffResult, stage=repr(h.stage), team=self.const(h.team),
                            route="route", sla="sla", escalate_to="esc", rejected=rejected,
                            rejection_reason=reason)
        w.line(f"hs += ({result},)")

    @staticmethod
    def business_time(h: ir.Handoff) -> bool:
        return any(d is not None and d.is_business for d in (
            h.sla.duration if h.sla else None, h.escalate.after if h.escalate else None))

    def sla_and_escalation(self, w: LineWriter, h: ir.Handoff, calendar, per_route: bool
                           ) -> None:
        sla, escalate = h.sla, h.escalate
        if sla is None:
            w.line("sla = None")
            w.line("esc = None")
            if escalate is not None:
                self.rule_comment(w, escalate)
                w.comment("no `sla` line: the escalation has no start to count from")
            return
        self.rule_comment(w, sla)
        w.line(f"start = {self.instant(self.expr(sla.start))}")
        for i, ref in enumerate(sla.stops):
            value = self.instant(self.expr(ref))
            if i == 0:
                w.line(f"stop = {value}")
                continue
            name = value
            if not _is_plain_name(value):
                name = self.new_name("stop")
                w.line(f"{name} = {value}")
            with w.block(f"if {name} is not None and (stop is None or {name} < stop):"):
                w.line(f"stop = {name}")
        w.line("esc = None")
        missing = Violation("missing_sla_start", sla.missing_start)
        with w.block("if start is None:"):
            w.line("sla = " + _construct(SlaResult, status="'unknown'", start="None",
                                         due="None", stop="stop"))
            w.line(f"vs += ({self.const(missing, 'MISSING_START')},)")
        with w.block("else:"):
            self.duration_line(w, "due", sla.duration, calendar, per_route)
            with w.block("if stop is not None:"):
                w.line("status = 'met' if due is None or stop <= due else 'breached'")
            with w.block("else:"):
                w.line("status = 'breached' if due is not None and as_of > due else 'pending'")
                if escalate is not None:
                    self.rule_comment(w, escalate)
                    self.duration_line(w, "when", escalate.after, calendar, per_route)
                    with w.block("if when is not None and as_of > when:"):
                        w.line(f"esc = {self.const(escalate.target)}")
            w.line("sla = " + _construct(SlaResult, status="status", start="start",
                                         due="due", stop="stop"))

    def instant(self, v: _Val) -> str:
        """The interpreter's ``_instant``: an int, else None."""
        if v.kind == CONST:
            return self.const(v.const if type(v.const) is int else None)
        if v.kind == TS:
            return self.materialize(v)
        if v.simple:
            return f"({v.code} if type({v.code}) is int else None)"
        name = self.new_name("value")
        return f"({name} if type({name} := {self.materialize(v)}) is int else None)"

    def duration_line(self, w: LineWriter, target: str, d: ir.Duration, calendar,
                      per_route: bool) -> None:
        """``target = start + d`` (None past the year 9999), by the runtime's functions."""
        if d.fixed_us is not None:
            w.line(f"{target} = add_fixed(start, {self.const(d.fixed_us)})")
        elif per_route:
            amount, unit = self.const(d.amount), self.const(d.unit)
            w.line(f"{target} = add_working(cal, start, working_us({amount}, {unit}, cal))")
        elif calendar is None:
            w.line("raise EngineFault('business durations need a `calendar` (E107)')")
        else:
            us = rt.working_us(d.amount, d.unit, calendar)
            w.line(f"{target} = add_working({self.const(calendar, 'CAL')}, start, "
                   f"{self.const(us)})")

