"""Pass ``calendar``: the time zone, work days, hours and holidays of each ``calendar``;
which calendar each handoff's business time counts on (v1.1: ``calendar NAME`` in a
handoff, ``on NAME`` / ``on default`` after a route), E104 for a name that is not a
calendar, E107 where none applies, W201 for a named calendar nothing uses.
"""

from __future__ import annotations

from collections.abc import Iterator

from policy.check.context import Context, did_you_mean, json_text
from policy.model.calendar import (
    MAX_BUSINESS_YEARS,
    WEEKDAYS,
    WorkCalendar,
    calendar_parts,
    holiday_problem,
    make_calendar,
    parse_time_of_day,
    work_calendars,
)
from policy.model.namespace import PolicyModel
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error, warning

# --------------------------------------------------------------------------- calendar


def _zone_problem(name: str) -> str | None:
    try:
        make_calendar(timezone=name, workdays=("mon",), start_minute=0, end_minute=60)
    except ValueError as exc:
        return str(exc)
    return None


def check_calendar(ctx: Context) -> Iterator[Diagnostic]:
    """E107 a bad calendar, and business durations without one or where none belongs;
    E104 a calendar name that names none; W201 a named calendar nothing uses."""
    model = ctx.model
    used: set[str] = set()
    # The calendar that counts the least working time bounds every business duration.
    counted = min(work_calendars(model).values(), key=lambda c: c.max_business_us,
                  default=None)
    for loc in ctx.decls():
        d = loc.decl
        if isinstance(d, n.Calendar):
            yield from _calendar(ctx, d)
        elif isinstance(d, n.Handoff):
            yield from _handoff_calendars(ctx, d, used)
            if counted is not None:
                for item in d.items:
                    dur = item.duration if isinstance(item, n.Sla) else (
                        item.after if isinstance(item, n.Escalate) else None)
                    if dur is not None and dur.unit.is_business:
                        yield from _too_long(ctx, dur, counted)
        elif isinstance(d, n.Score):
            for item in d.items:
                if isinstance(item, n.Decay) and item.half_life.unit.is_business:
                    yield error("E107", f"expected a plain duration after `half-life`, found "
                                f"`{item.half_life.unit.value}`", ctx.duration(item.half_life),
                                help="only `sla` and `escalate` count business time; write "
                                "the half-life in days or hours")
    for name, cal in model.calendars.items():
        if name not in used and cal.name is not None:
            yield warning("W201", f"the calendar `{name}` is never used", cal.name.span,
                          help=f"count a handoff's business time on it with `calendar {name}` "
                          f"in the handoff or `on {name}` after a route, or remove it",
                          kind="unused-calendar")


def _calendar_name(ctx: Context, ident: n.Ident, used: set[str],
                   what: str) -> Iterator[Diagnostic]:
    """E104 for a calendar name (``on X``, a handoff's ``calendar X``) that names none."""
    model = ctx.model
    name = ident.name
    if name == n.DEFAULT_CALENDAR:
        if model.calendar is None:
            yield error("E104", f"`{what} default` names the unnamed calendar, and this policy "
                        "has none", ident.span,
                        help="declare `calendar { timezone … workdays … hours … }`, or name "
                        + ("one of the calendars: " + ", ".join(f"`{c}`" for c in
                                                                 model.calendars)
                           if model.calendars else "a calendar"))
        return
    if name in model.calendars:
        used.add(name)
        return
    other = _kind_of(model, name)
    message = (f"`{name}` is a {other}, not a calendar" if other
               else f"unknown calendar `{name}`")
    yield error("E104", message, ident.span,
                help=did_you_mean(name, model.calendars)
                or ("the calendars are " + ", ".join(f"`{c}`" for c in model.calendars)
                    if model.calendars else
                    f"declare it: `calendar {name} {{ timezone … workdays … hours … }}`"))


def _kind_of(model: PolicyModel, name: str) -> str | None:
    for kind, names in (("team", model.teams), ("stage", model.stages),
                        ("state", model.states), ("define", model.defines),
                        ("score", model.scores)):
        if name in names:
            return kind
    return None


def _handoff_calendars(ctx: Context, h: n.Handoff, used: set[str]) -> Iterator[Diagnostic]:
    model = ctx.model
    lines = [i for i in h.items if isinstance(i, n.HandoffCalendar)]
    for line in lines:
        yield from _calendar_name(ctx, line.name, used, "calendar")
    routes = [i for i in h.items if isinstance(i, n.Route)]
    for r in routes:
        if r.calendar is not None:
            yield from _calendar_name(ctx, r.calendar, used, "on")
    own = lines[0].name.name if lines else None

    def missing(route: n.Route | None) -> bool:
        """No calendar applies for this route (an unknown name is E104, not this)."""
        name = route.calendar.name if route is not None and route.calendar is not None else own
        # a name that names nothing (`on default` included) is E104 already
        return name is None and model.calendar is None

    uncovered = [r for r in routes if missing(r)] if routes else (
        [None] if missing(None) else [])
    if not uncovered:
        return
    for item in h.items:
        dur = item.duration if isinstance(item, n.Sla) else (
            item.after if isinstance(item, n.Escalate) else None)
        if dur is None or not dur.unit.is_business:
            continue
        if not model.calendar and not model.calendars:
            yield error("E107", f"expected a `calendar` for `{dur.unit.value}`, found "
                        "none", ctx.duration(dur),
                        help="business time counts working hours only: add "
                        "`calendar { timezone … workdays … hours … }`, or use "
                        "plain `hours`")
            continue
        named = [r for r in uncovered if r is not None]
        shown = [json_text(r.target) for r in named]
        whom = (f"route {shown[0]}" if len(shown) == 1
                else "routes " + ", ".join(shown[:-1]) + " and " + shown[-1]) if named \
            else f"handoff `{h.stage.name}`"
        yield error("E107", f"expected a calendar for `{dur.unit.value}` on {whom}, found "
                    "none", ctx.duration(dur),
                    help="business time counts on the chosen route's `on NAME`, else the "
                    "handoff's `calendar NAME` line, else the unnamed `calendar { … }`: "
                    "give it one of those")


def _too_long(ctx: Context, dur: n.Duration, cal: WorkCalendar) -> Iterator[Diagnostic]:
    """E107 for a business duration longer than the calendar counts (`MAX_BUSINESS_YEARS`
    of its working time): due dates past the year 9999, or hours of work per lead."""
    hours = dur.unit is n.Unit.BUSINESS_HOURS
    per = 3_600_000_000 if hours else cal.day_us
    if dur.amount * per <= cal.max_business_us:
        return
    limit = cal.max_business_us // per
    unit = "business hours" if hours else "business days"
    yield error("E107", f"expected at most {limit:,} {unit} ({MAX_BUSINESS_YEARS} years of "
                f"this calendar's working time), found {dur.text or dur.amount} {unit}",
                ctx.duration(dur),
                help="an SLA or escalation that long never comes due; state a real one")


def _calendar(ctx: Context, cal: n.Calendar) -> Iterator[Diagnostic]:
    zones, days, hours, holidays = calendar_parts(cal)
    head = ctx.keyword(cal, "calendar")
    which = "the calendar" if cal.name is None else f"calendar `{cal.name.name}`"
    for word, items, example in (("timezone", zones, 'timezone "America/New_York"'),
                                 ("workdays", days, "workdays mon tue wed thu fri"),
                                 ("hours", hours, "hours 09:00 to 17:00")):
        if not items:
            yield error("E107", f"expected a `{word}` line in {which}, found none", head,
                        help=f"add `{example}`")
    for z in zones:
        problem = _zone_problem(z.name)
        if problem:
            if problem.startswith("unknown time zone"):
                problem = f"unknown time zone {json_text(z.name)}"
            yield error("E107", problem, ctx.find(z.span, json_text(z.name)),
                        help=did_you_mean(z.name, _zone_names(), limit=1, quoted=True)
                        or "time zones are IANA names such as \"America/New_York\"")
    seen_days: set[str] = set()
    for w in days:
        for day in w.days:
            if day.name not in WEEKDAYS:
                yield error("E107", f"unknown day `{day.name}`", day.span,
                            help=did_you_mean(day.name, WEEKDAYS)
                            or "days are " + " ".join(WEEKDAYS))
            elif day.name in seen_days:
                yield warning("W210", f"`{day.name}` is already a workday of {which}",
                              day.span, help=f"remove the second `{day.name}`",
                              kind="repeated-day")
            seen_days.add(day.name)
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
    seen_dates: set[str] = set()
    for hol in holidays:
        for k, text in enumerate(hol.dates):
            problem = holiday_problem(text)
            if problem:
                yield error("E107", problem, ctx.find(hol.span, json_text(text)),
                            help="write holidays as dates, such as \"2026-12-25\"")
            elif text in seen_dates:
                yield warning("W210", f"{json_text(text)} is already a holiday of {which}",
                              ctx.find(hol.span, json_text(text), last=text in hol.dates[:k]),
                              help="remove the second one", kind="repeated-holiday")
            seen_dates.add(text)


_ZONES: list[str] = []


def _zone_names() -> list[str]:
    if not _ZONES:
        import zoneinfo

        try:
            _ZONES.extend(sorted(zoneinfo.available_timezones()))
        except Exception:  # noqa: BLE001 - tzdata missing: no suggestions, never a crash
            pass
    return _ZONES
