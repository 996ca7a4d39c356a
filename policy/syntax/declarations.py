"""Lark's tree to the AST, part two: one method per declaration kind.

:class:`ToAst` extends :class:`policy.syntax.transform.AstBuilder` (names, expressions,
JSON) with the header, teams, calendars, the funnel, defines, scores, stages, states,
handoffs, recycles and examples, in the grammar's order.
"""

from __future__ import annotations

from lark import Token

from policy.syntax import nodes as n
from policy.syntax.diagnostics import error
from policy.syntax.transform import (
    AstBuilder,
    ParseProblem,
    number_token,
    token_span,
    value_children,
)

__all__ = ["ToAst"]


class ToAst(AstBuilder):
    """Lark tree -> AST. Methods are named after grammar rules and aliases."""


    # header -------------------------------------------------------------------------
    def policy_decl(self, c):
        name, title = value_children(c)
        return n.PolicyHeader(name=name, title=self._str(title), span=self._span(c))

    def version_decl(self, c):
        return n.Version(label=self._str(value_children(c)[0]), span=self._span(c))

    def schema_decl(self, c):
        return n.SchemaRef(path=self._str(value_children(c)[0]), span=self._span(c))

    def id_decl(self, c):
        return n.IdField(field=value_children(c)[0], span=self._span(c))

    def team_decl(self, c):
        name, handle = value_children(c)
        return n.Team(name=name, handle=self._str(handle), span=self._span(c))

    # calendar -----------------------------------------------------------------------
    def calendar_decl(self, c):
        name, desc, *items = value_children(c)
        if name is not None and name.name == n.DEFAULT_CALENDAR:
            raise ParseProblem(error(
                "E103", "`default` cannot name a calendar", name.span,
                help="`on default` means the unnamed calendar: write `calendar { … }` for it, "
                     "or pick another name", kind="reserved-name"))
        return n.Calendar(items=tuple(items), name=name, description=desc, span=self._span(c))

    def cal_timezone(self, c):
        return n.Timezone(name=self._str(value_children(c)[0]), span=self._span(c))

    def cal_workdays(self, c):
        return n.Workdays(days=tuple(value_children(c)), span=self._span(c))

    def cal_hours(self, c):
        a, b = value_children(c)
        return n.Hours(start=a.value, end=b.value, span=self._span(c))

    def cal_holidays(self, c):
        return n.Holidays(dates=tuple(self._str(t) for t in value_children(c)), span=self._span(c))

    # funnel, define -----------------------------------------------------------------
    def funnel_decl(self, c):
        return n.Funnel(stages=tuple(value_children(c)), span=self._span(c))

    def define_decl(self, c):
        name, desc, value = value_children(c)
        return n.Define(name=name, description=desc, value=value, span=self._span(c))

    def define_lines(self, c):
        name, desc, path = value_children(c)
        span = token_span(path, self.file)
        lines = n.LinesFile(self._str(path), span=span)
        return n.Define(name=name, description=desc, value=n.ListExpr((), span=span),
                        lines=lines, span=self._span(c))

    # scores -------------------------------------------------------------------------
    def score_decl(self, c):
        name, desc, owners, *items = value_children(c)
        return n.Score(name=name, description=desc, owners=owners, items=tuple(items),
                       span=self._span(c))

    def signed_points(self, c):
        sign, num = c
        value = number_token(num, self.file)
        return (-value if sign.type == "MINUS" else value, sign)

    def signed_number(self, c):
        v = value_children(c)
        value = number_token(v[-1], self.file)
        return (-value if len(v) == 2 else value, v[0])

    def cap(self, c):
        v = value_children(c)
        return number_token(v[0], self.file) if v and v[0] is not None else None

    def score_if(self, c):
        (points, _), cond = value_children(c)
        return n.PointsIf(points=points, condition=cond, span=self._span(c))

    def score_per(self, c):
        (points, _), count, cap = value_children(c)
        return n.PointsPer(points=points, count=count, cap=cap, span=self._span(c))

    def score_range(self, c):
        (lo, _), (hi, _) = value_children(c)
        return n.Range(low=lo, high=hi, span=self._span(c))

    def score_decay(self, c):
        dur, since = value_children(c)
        return n.Decay(half_life=dur, since=since, span=self._span(c))

    # durations ----------------------------------------------------------------------
    _UNITS = {
        "minute": n.Unit.MINUTES, "minutes": n.Unit.MINUTES,
        "hour": n.Unit.HOURS, "hours": n.Unit.HOURS,
        "day": n.Unit.DAYS, "days": n.Unit.DAYS,
        "week": n.Unit.WEEKS, "weeks": n.Unit.WEEKS,
    }

    def time_unit(self, c):
        return self._UNITS[c[0].value]

    def business_unit(self, c):
        return n.Unit.BUSINESS_HOURS if c[0].value.startswith("hour") else n.Unit.BUSINESS_DAYS

    def duration(self, c):
        num, unit = value_children(c)
        return n.Duration(number_token(num, self.file), unit, text=num.value, span=self._span(c))

    business_duration = duration

    # stages, states -----------------------------------------------------------------
    def stage_decl(self, c):
        name, desc, owners, *items = value_children(c)
        return n.Stage(name=name, description=desc, owners=owners, items=tuple(items),
                       span=self._span(c))

    def require(self, c):
        cond, reason = value_children(c)
        return n.Require(condition=cond, reason=reason, span=self._span(c))

    def exclude(self, c):
        cond, reason = value_children(c)
        return n.Exclude(condition=cond, reason=reason, span=self._span(c))

    def keep_when(self, c):
        return n.KeepWhen(condition=value_children(c)[0], span=self._span(c))

    def entered_at(self, c):
        return n.EnteredAt(field=value_children(c)[0], span=self._span(c))

    def state_decl(self, c):
        name, desc, owners = value_children(c)
        return n.State(name=name, description=desc, owners=owners, span=self._span(c))

    # handoffs -----------------------------------------------------------------------
    def handoff_decl(self, c):
        stage, team, *items = value_children(c)
        return n.Handoff(stage=stage, team=team, items=tuple(items), span=self._span(c))

    def route_if(self, c):
        target, cond, cal = value_children(c)
        return n.Route(target=self._str(target), condition=cond, calendar=cal,
                       span=self._span(c))

    def route_otherwise(self, c):
        target, cal = value_children(c)
        return n.Route(target=self._str(target), condition=None, calendar=cal,
                       span=self._span(c))

    def route_calendar(self, c):
        v = value_children(c)
        if not v or v[0] is None:
            return None
        if isinstance(v[0], Token):  # DEFAULT
            return n.Ident(n.DEFAULT_CALENDAR, span=token_span(v[0], self.file))
        return v[0]

    def handoff_calendar(self, c):
        return n.HandoffCalendar(name=value_children(c)[0], span=self._span(c))

    def field_list(self, c):
        return tuple(x for x in c if isinstance(x, n.Ref))

    def sla(self, c):
        dur, start, stops = value_children(c)
        return n.Sla(duration=dur, start=start, stops=stops, span=self._span(c))

    def escalate(self, c):
        target, dur = value_children(c)
        return n.Escalate(target=self._str(target), after=dur, span=self._span(c))

    def reject(self, c):
        state, field, reasons = value_children(c)
        return n.Reject(state=state, field=field, reasons=reasons, span=self._span(c))

    def recycle_decl(self, c):
        v = value_children(c)
        *stages, state, cond, reason = v
        return n.Recycle(stages=tuple(stages), state=state, condition=cond, reason=reason,
                         span=self._span(c))

    # examples -----------------------------------------------------------------------
    def example_decl(self, c):
        name, *items = value_children(c)
        return n.Example(name=self._str(name), items=tuple(items), span=self._span(c))

    def ex_at(self, c):
        return n.At(timestamp=self._str(value_children(c)[0]), span=self._span(c))

    def ex_lead(self, c):
        obj = value_children(c)[0]
        return n.LeadLiteral(data=obj.value, span=self._span(c))

    def ex_lead_file(self, c):
        return n.LeadFile(path=self._str(value_children(c)[0]), span=self._span(c))

    def ident_or_none(self, c):
        v = c[0]
        return None if isinstance(v, Token) and v.type == "NONE" else v

    def string_or_none(self, c):
        v = c[0]
        return None if v.type == "NONE" else self._str(v)

    def at_stage(self, c):
        v = [x for x in c if isinstance(x, n.Ident)]
        return v[0] if v else None

    def _expect(self, kind, c, **kw):
        return n.Expect(kind=kind, span=self._span(c), **kw)

    def expect_stage(self, c):
        v = value_children(c)
        return self._expect(n.ExpectKind.STAGE, c, value=v[0].name if v[0] else None)

    def expect_reached(self, c):
        v = value_children(c)
        return self._expect(n.ExpectKind.REACHED, c, value=v[0].name if v[0] else None)

    def expect_score(self, c):
        name, (value, _) = value_children(c)
        return self._expect(n.ExpectKind.SCORE, c, subject=name, value=value)

    def expect_route(self, c):
        value, at = self._two(c)
        return self._expect(n.ExpectKind.ROUTE, c, value=value, at=at)

    def _two(self, c):
        # (string_or_none result, at_stage result): both already transformed; the
        # first may be None (for `none`), so pick by position among non-keyword kids.
        kids = [x for x in c if not isinstance(x, Token)]
        return kids[0], kids[1]

    def expect_sla(self, c):
        status, at = self._two(c)
        return self._expect(n.ExpectKind.SLA, c, value=status.name, at=at)

    def expect_escalate(self, c):
        value, at = self._two(c)
        return self._expect(n.ExpectKind.ESCALATE, c, value=value, at=at)

    def expect_reason(self, c):
        kids = [x for x in c if not isinstance(x, Token)]
        return self._expect(n.ExpectKind.REASON, c, value=kids[0])

    def expect_violation(self, c):
        return self._expect(n.ExpectKind.VIOLATION, c, value=value_children(c)[0].name)

    def expect_error(self, c):
        return self._expect(n.ExpectKind.ERROR, c)
