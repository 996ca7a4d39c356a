"""Business-time arithmetic for `sla` and `escalate` durations (spec sections 2 and 4).

A `WorkCalendar` says when work happens: its working hours on its workdays that are not
holidays, all in one IANA time zone. `add_business` answers "when is this much working
time used up?" and `business_between` answers "how much working time lies between these
two instants?". Nothing has to run before this module. The loader builds the model's
calendars from its ``calendar { … }`` blocks with :func:`work_calendar` and
:func:`work_calendars` (after the checker has reported what is wrong with them: a block
the checker refuses builds no calendar); `make_calendar` refuses a bad zone, day or hour
with a `ValueError`. The engines and `explain` call the two methods.

Instants are ``int`` microseconds since the Unix epoch, UTC, as everywhere in the engine,
so the arithmetic is exact and deterministic.

How local working hours become real instants:

- Each local date with working hours has one working interval, ``[open, close)``, whose
  ends are that date's opening and closing wall-clock times converted to UTC. The real
  time inside the interval is what counts, so a day whose hours span a DST change has
  more or less working time than `WorkCalendar.day_us`: hours ``00:00`` to ``24:00``
  give 23 real hours on the spring-forward date and 25 on the fall-back date.
- ``24:00`` is the next local midnight.
- A wall-clock time maps to the first instant at which the local clock reads that time
  or later. For an ambiguous time (the repeated hour when clocks go back) that is its
  first occurrence, i.e. ``fold=0``. For a nonexistent time (the hour skipped when clocks
  go forward) that is the instant just after the gap: in New York, 02:30 on 2026-03-08
  becomes 03:00 EDT. The mapping never runs backwards, so intervals never overlap.
- "A business day" is nominal: one workday's worth of working hours (`day_us`), even
  though a particular day may hold a little more or less real time.

Speed: long spans are counted in closed form, not walked. Whole weeks hold
``len(workdays) × day_us`` of working time except on *exceptional* dates: holidays,
and the few dates around a change of UTC offset (found once per year of the zone by
sampling its offset every day, and cached). So working time over any run of whole
dates is a count of workdays, times the nominal day, corrected on the exceptional
dates only, which are computed exactly as above. `add_business` walks at most a few
days at each end and jumps the weeks between; `business_between` does the same. The
interval bounds of the dates that are walked are kept in a bounded per-calendar dict.

`MAX_BUSINESS_YEARS` bounds what a policy may ask for: the checker refuses (E107) a
business duration longer than that many years of the calendar's working time.
"""

from __future__ import annotations

import bisect
import datetime
import functools
import json
import os
import re
import types
import zoneinfo
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from policy.syntax import nodes as n

if TYPE_CHECKING:  # pragma: no cover - the model holds calendars: no import at run time
    from policy.model.namespace import PolicyModel

__all__ = [
    "WEEKDAYS",
    "WorkCalendar",
    "make_calendar",
    "parse_time_of_day",
]

WEEKDAYS: types.MappingProxyType[str, int] = types.MappingProxyType(
    {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
)
"""The day names the language accepts, mapped to `datetime.date.weekday` numbers."""

_MINUTE_US = 60_000_000
_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_EPOCH = datetime.datetime(1970, 1, 1)  # naive UTC
_ONE_US = datetime.timedelta(microseconds=1)
_UTC = datetime.UTC

# A calendar whose holidays swallow every workday would make the day loop run until the
# date range ends; no real calendar goes this long without a working minute.
_MAX_IDLE_DAYS = 20 * 366

# Enough for about 180 years of distinct dates; past that we compute without storing so
# that a long-running process fed wild timestamps cannot grow the cache without bound.
_CACHE_LIMIT = 1 << 16

# These keys resolve to whatever the host machine is set to, so a policy naming them
# would decide differently on different machines.
_MACHINE_DEPENDENT_ZONES = frozenset({"localtime", "posixrules"})

_TIME_OF_DAY = re.compile(r"(?:([01][0-9]|2[0-3]):([0-5][0-9])|24:00)")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_MISSING = object()

MAX_BUSINESS_YEARS = 100
"""The longest business duration a policy may state, in years of the calendar's nominal
working time (52 weeks a year); the checker refuses longer ones with E107."""

_MAX_ORDINAL = datetime.date.max.toordinal()
_WEEKS_A_YEAR = 52


def parse_time_of_day(text: str) -> int | None:
    """Read a time of day written ``HH:MM`` (24-hour, ``00:00`` to ``24:00``).

    Returns minutes after local midnight (``"09:00"`` gives 540, ``"24:00"`` gives 1440),
    or None when the text is not such a time (``"9:00"``, ``"24:01"``, ``"25:00"``).
    """
    if not isinstance(text, str):
        return None
    match = _TIME_OF_DAY.fullmatch(text)
    if match is None:
        return None
    if match.group(1) is None:
        return 1440
    return int(match.group(1)) * 60 + int(match.group(2))


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _tzdata_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone from the `tzdata` package, whatever the host's own database says.

    `zoneinfo.ZoneInfo` prefers the system's files, so two machines with different tz
    database versions could decide one lead differently; the spec promises the same
    decision for the same policy, lead and instant, so the pinned `tzdata` wins.
    """
    parts = name.split("/")
    if not all(p and p not in (".", "..") for p in parts):
        return None
    try:
        folder = _tzdata_folder()
        if folder is not None:  # the usual install: a folder of zone files
            with open(os.path.join(folder, *parts), "rb") as f:
                return zoneinfo.ZoneInfo.from_file(f, key=name)
        from importlib import resources  # a zipped install (costs a short command ~5 ms)

        with resources.files("tzdata.zoneinfo").joinpath(*parts).open("rb") as f:
            return zoneinfo.ZoneInfo.from_file(f, key=name)
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
            OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def _tzdata_folder() -> str | None:
    """The folder of `tzdata`'s zone files when it is installed as plain files, found
    without importing `importlib.resources` (a policy with a calendar reads a zone at
    every start, from the policy cache too)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("tzdata.zoneinfo")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        if os.path.isdir(folder):
            return folder
    return None


def _load_zone(name: object) -> zoneinfo.ZoneInfo:
    if not isinstance(name, str):
        raise ValueError(f"expected a time zone name, found {name!r}")
    if name in _MACHINE_DEPENDENT_ZONES:
        raise ValueError(
            f"time zone `{name}` depends on the machine; name a zone such as `America/New_York`"
        )
    pinned = _tzdata_zone(name)
    if pinned is not None:
        return pinned
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # ZoneInfo raises KeyError for unknown keys and ValueError for malformed ones
        # (absolute paths, `..`); to a policy author both are simply unknown.
        raise ValueError(
            f"unknown time zone `{name}`; expected an IANA name such as `America/New_York`"
        ) from None


def _wall_to_us(zone: zoneinfo.ZoneInfo, wall: datetime.datetime) -> int:
    """The first instant (UTC µs) at which the clock in `zone` reads `wall` or later."""
    first = wall.replace(tzinfo=zone)  # fold=0: the earlier reading of an ambiguous time
    utc = wall - first.utcoffset()
    if (utc.replace(tzinfo=_UTC).astimezone(zone).replace(tzinfo=None)) == wall:
        return (utc - _EPOCH) // _ONE_US
    # `wall` falls in a gap. With fold=0 zoneinfo applies the offset from before the
    # transition, which lands after the gap; with fold=1 the offset from after it, which
    # lands before. The transition itself is the first instant showing `wall` or later:
    # find it by bisection (runs once per gap date, then the result is cached).
    lo = (wall - first.replace(fold=1).utcoffset() - _EPOCH) // _ONE_US
    hi = (utc - _EPOCH) // _ONE_US
    if lo > hi:  # defensive: never seen in tzdata, but keep the search well-formed
        lo, hi = hi, lo
    while lo < hi:
        mid = (lo + hi) // 2
        local = (_EPOCH + datetime.timedelta(microseconds=mid)).replace(tzinfo=_UTC)
        if local.astimezone(zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _check_minute(minute: object, what: str) -> int:
    if isinstance(minute, bool) or not isinstance(minute, int) or not 0 <= minute <= 1440:
        raise ValueError(f"expected a {what} time from 00:00 to 24:00, found {minute!r}")
    return minute


@attrs.frozen
class WorkCalendar:
    """When work happens: `start_minute`..`end_minute` local time on `workdays` that are
    not `holidays`, in `timezone`.

    Build one with `make_calendar`, which also accepts day names and ``HH:MM`` text; the
    constructor takes normalised values and checks them the same way. A calendar is
    immutable and safe to share between threads: its only mutable part is a private cache
    of per-date interval bounds, written with single atomic dict stores of immutable
    values.
    """

    timezone: str
    workdays: frozenset[int] = attrs.field(converter=frozenset)
    start_minute: int
    end_minute: int
    holidays: frozenset[datetime.date] = attrs.field(converter=frozenset, factory=frozenset)

    _zone: zoneinfo.ZoneInfo = attrs.field(init=False, repr=False, eq=False)
    _bounds: dict[int, tuple[int, int] | None] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )
    _holiday_ordinals: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)
    _shift_dates: dict[int, frozenset[int]] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_zone", _load_zone(self.timezone))
        if not self.workdays:
            raise ValueError("a calendar needs at least one workday")
        for day in self.workdays:
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(
                    f"expected a weekday number from 0 (mon) to 6 (sun), found {day!r}"
                )
        start = _check_minute(self.start_minute, "opening")
        end = _check_minute(self.end_minute, "closing")
        if start >= end:
            raise ValueError(
                f"opening time must be before closing time, found {_hhmm(start)} to {_hhmm(end)}"
            )
        for holiday in self.holidays:
            # `datetime` is a subclass of `date`; a holiday is a whole local date.
            if type(holiday) is not datetime.date:
                raise ValueError(f"expected a holiday date, found {holiday!r}")
        object.__setattr__(self, "_holiday_ordinals",
                           tuple(sorted(h.toordinal() for h in self.holidays)))

    @property
    def week_us(self) -> int:
        """A week's nominal working time: workdays × one business day."""
        return len(self.workdays) * self.day_us

    @property
    def max_business_us(self) -> int:
        """The longest business duration a policy may state (`MAX_BUSINESS_YEARS`)."""
        return MAX_BUSINESS_YEARS * _WEEKS_A_YEAR * self.week_us

    def _shifts_in_year(self, year: int) -> frozenset[int]:
        """Local dates (ordinals) of ``year`` near a change of the zone's UTC offset:
        the only dates whose working interval may differ from the nominal day."""
        found = self._shift_dates.get(year)
        if found is not None:
            return found
        zone = self._zone
        first = datetime.date(year, 1, 1).toordinal()
        last = datetime.date(year, 12, 31).toordinal()
        dates: set[int] = set()
        previous = None
        for ordinal in range(max(first - 1, 1), last + 1):
            # offset at UTC midnight of this date (C code: about a microsecond each)
            moment = datetime.datetime.fromordinal(ordinal).replace(tzinfo=_UTC)
            try:
                offset = moment.astimezone(zone).utcoffset()
            except OverflowError:
                offset = previous
            if previous is not None and offset != previous:
                dates.update(range(ordinal - 2, ordinal + 2))
            previous = offset
        result = frozenset(d for d in dates if first <= d <= last)
        self._shift_dates[year] = result
        return result

    def _exceptional(self, lo: int, hi: int) -> set[int]:
        """Holidays and offset-change dates among the local dates ``lo`` .. ``hi - 1``."""
        holidays = self._holiday_ordinals
        out = set(holidays[bisect.bisect_left(holidays, lo):bisect.bisect_left(holidays, hi)])
        first_year = datetime.date.fromordinal(lo).year
        last_year = datetime.date.fromordinal(hi - 1).year
        for year in range(first_year, last_year + 1):
            out.update(d for d in self._shifts_in_year(year) if lo <= d < hi)
        return out

    def _whole_days_us(self, lo: int, hi: int) -> int:
        """The working time of the local dates ``lo`` .. ``hi - 1``, whole, in closed form:
        workdays × the nominal day, corrected on the exceptional dates."""
        if hi <= lo:
            return 0
        if lo < 1 or hi - 1 > _MAX_ORDINAL:
            raise ValueError("instant is outside the supported range of dates")
        weeks, rest = divmod(hi - lo, 7)
        workdays = self.workdays
        count = weeks * len(workdays)
        count += sum(1 for k in range(rest) if (lo + weeks * 7 + k + 6) % 7 in workdays)
        total = count * self.day_us
        cache = self._bounds
        for ordinal in self._exceptional(lo, hi):
            if (ordinal + 6) % 7 not in workdays:
                continue  # not a workday: it counted nothing and holds nothing
            bounds = cache.get(ordinal, _MISSING)
            if bounds is _MISSING:
                bounds = self._compute_bounds(ordinal)
            total += (bounds[1] - bounds[0] if bounds is not None else 0) - self.day_us
        return total

    @property
    def day_us(self) -> int:
        """One business day: a workday's nominal working hours, in microseconds."""
        return (self.end_minute - self.start_minute) * _MINUTE_US

    def _compute_bounds(self, ordinal: int) -> tuple[int, int] | None:
        """The working interval of one local date (by ordinal), or None if it has none."""
        try:
            date = datetime.date.fromordinal(ordinal)
        except (ValueError, OverflowError):
            raise ValueError("instant is outside the supported range of dates") from None
        if date.weekday() not in self.workdays or date in self.holidays:
            bounds = None
        else:
            midnight = datetime.datetime(date.year, date.month, date.day)
            try:
                # Naive arithmetic on purpose: it yields the wall time, and 24:00 rolls
                # over to the next local midnight.
                opening = midnight + datetime.timedelta(minutes=self.start_minute)
                closing = midnight + datetime.timedelta(minutes=self.end_minute)
                bounds = (_wall_to_us(self._zone, opening), _wall_to_us(self._zone, closing))
            except OverflowError:
                raise ValueError("instant is outside the supported range of dates") from None
        if len(self._bounds) < _CACHE_LIMIT:
            self._bounds[ordinal] = bounds
        return bounds

    def add_business(self, start_us: int, amount_us: int) -> int:
        """The earliest instant at which `amount_us` of working time has passed since
        `start_us`.

        A start outside working hours counts from the next opening; an amount used up
        exactly at closing time gives the closing instant; an amount of 0 gives `start_us`.
        Raises ValueError for a negative amount, or when no working time is found.
        """
        if amount_us <= 0:
            if amount_us == 0:
                return start_us
            raise ValueError(f"expected a non-negative amount of working time, found {amount_us}")
        cache = self._bounds
        # A local date is within one day of the UTC date (offsets are under 24 hours), so
        # starting one date early can never miss the interval that holds `start_us`
        # (but never before the first date there is: 0001-01-01).
        ordinal = max(start_us // _DAY_US + _EPOCH_ORDINAL - 1, 1)
        first = ordinal
        idle_limit = ordinal + _MAX_IDLE_DAYS
        now = start_us
        remaining = amount_us
        week_us = self.week_us
        while True:
            if remaining > 2 * week_us and ordinal >= first + 3:
                # Every date from here on lies wholly after the start: jump whole weeks
                # in closed form, keeping a little over a week to walk at the end.
                weeks = remaining // week_us - 1
                if ordinal + 7 * weeks > _MAX_ORDINAL:
                    raise ValueError("instant is outside the supported range of dates")
                span = self._whole_days_us(ordinal, ordinal + 7 * weeks)
                while span >= remaining and weeks > 0:  # offset changes can add time
                    weeks //= 2
                    span = self._whole_days_us(ordinal, ordinal + 7 * weeks)
                if weeks > 0:
                    remaining -= span
                    ordinal += 7 * weeks
                    if span:
                        idle_limit = ordinal + _MAX_IDLE_DAYS
                    elif ordinal > idle_limit:
                        raise ValueError(f"calendar has no working time in the "
                                         f"{_MAX_IDLE_DAYS} days after the start")
                    continue
            bounds = cache.get(ordinal, _MISSING)
            if bounds is _MISSING:
                bounds = self._compute_bounds(ordinal)
            ordinal += 1
            if bounds is None or bounds[1] <= now:
                if ordinal > idle_limit:
                    raise ValueError(
                        f"calendar has no working time in the {_MAX_IDLE_DAYS} days after the start"
                    )
                continue
            opening, closing = bounds
            if opening > now:
                now = opening
            available = closing - now
            if remaining <= available:
                return now + remaining
            remaining -= available
            now = closing
            if available:
                idle_limit = ordinal + _MAX_IDLE_DAYS

    def business_between(self, a_us: int, b_us: int) -> int:
        """The working time, in microseconds, inside ``[a_us, b_us)``; 0 when b <= a."""
        if b_us <= a_us:
            return 0
        cache = self._bounds
        ordinal = max(a_us // _DAY_US + _EPOCH_ORDINAL - 1, 1)
        last = min((b_us - 1) // _DAY_US + _EPOCH_ORDINAL + 1, _MAX_ORDINAL)
        total = 0
        # The dates from the fourth on to the fourth from last lie wholly inside
        # [a_us, b_us): count them in closed form and walk only the ends.
        middle = (ordinal + 4, last - 3)
        if middle[1] - middle[0] > 14:
            total += self._whole_days_us(*middle)
        else:
            middle = (last + 1, last + 1)
        while ordinal <= last:
            if ordinal == middle[0]:
                ordinal = middle[1]
                continue
            bounds = cache.get(ordinal, _MISSING)
            if bounds is _MISSING:
                bounds = self._compute_bounds(ordinal)
            ordinal += 1
            if bounds is not None:
                low = bounds[0] if bounds[0] > a_us else a_us
                high = bounds[1] if bounds[1] < b_us else b_us
                if high > low:
                    total += high - low
        return total


def _weekday(day: object) -> int:
    if isinstance(day, str):
        number = WEEKDAYS.get(day)
        if number is None:
            raise ValueError(f"unknown weekday `{day}`; expected one of {', '.join(WEEKDAYS)}")
        return number
    if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
        raise ValueError(f"expected a weekday (`mon` .. `sun`), found {day!r}")
    return day


def _time(value: object, what: str) -> int:
    if isinstance(value, str):
        minute = parse_time_of_day(value)
        if minute is None:
            raise ValueError(
                f"expected a {what} time as HH:MM from 00:00 to 24:00, found `{value}`"
            )
        return minute
    return _check_minute(value, what)


def _holiday(value: object) -> datetime.date:
    if isinstance(value, str):
        # fromisoformat alone would also take "20261126" and week dates; the language
        # writes holidays as "YYYY-MM-DD" only.
        if _ISO_DATE.fullmatch(value) is None:
            raise ValueError(f'expected a holiday as "YYYY-MM-DD", found "{value}"')
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f'holiday "{value}" is not a real date') from None
    if type(value) is not datetime.date:
        raise ValueError(f"expected a holiday date, found {value!r}")
    return value


def make_calendar(
    *,
    timezone: str,
    workdays: Iterable[str | int],
    start_minute: int | str,
    end_minute: int | str,
    holidays: Iterable[datetime.date | str] = (),
) -> WorkCalendar:
    """Build a `WorkCalendar` from what a `calendar { … }` block says.

    `workdays` are day names (``"mon"``) or numbers (0 = Monday); the hours are minutes
    after midnight or ``HH:MM`` text; holidays are dates or ``"YYYY-MM-DD"`` text.
    Raises ValueError, with a message fit for a diagnostic, for an unknown time zone, an
    unknown day, no workdays at all, a bad hour, opening not before closing, or a bad date.
    """
    if isinstance(workdays, str):
        # A lone string would otherwise be iterated letter by letter.
        workdays = [workdays]
    if isinstance(holidays, str):
        holidays = [holidays]
    return WorkCalendar(
        timezone=timezone,
        workdays=frozenset(_weekday(day) for day in workdays),
        start_minute=_time(start_minute, "opening"),
        end_minute=_time(end_minute, "closing"),
        holidays=frozenset(_holiday(day) for day in holidays),
    )


# --------------------------------------------------------------------------- from the policy

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch


def calendar_parts(cal: n.Calendar) -> tuple[list, list, list, list]:
    """The `timezone`, `workdays`, `hours` and `holidays` lines of one calendar block."""
    zones = [i for i in cal.items if isinstance(i, n.Timezone)]
    days = [i for i in cal.items if isinstance(i, n.Workdays)]
    hours = [i for i in cal.items if isinstance(i, n.Hours)]
    holidays = [i for i in cal.items if isinstance(i, n.Holidays)]
    return zones, days, hours, holidays


def holiday_problem(text: str) -> str | None:
    """Why ``text`` is not a holiday date (``"YYYY-MM-DD"``, a real date), or None."""
    if not _DATE(text):
        return f'expected a holiday as "YYYY-MM-DD", found {json.dumps(text, ensure_ascii=False)}'
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return f"expected a real date, found {json.dumps(text, ensure_ascii=False)}"
    return None


def work_calendar(model: PolicyModel) -> WorkCalendar | None:
    """The unnamed calendar as the engines count with it, or None (none, or invalid)."""
    return _work(model.calendar)


def work_calendars(model: PolicyModel) -> dict[str, WorkCalendar]:
    """Every valid calendar as the engines count with it, by label (``default`` for the
    unnamed one, else its name)."""
    out: dict[str, WorkCalendar] = {}
    for label, cal in ((n.DEFAULT_CALENDAR, model.calendar), *model.calendars.items()):
        work = _work(cal)
        if work is not None:
            out[label] = work
    return out


def _work(cal: n.Calendar | None) -> WorkCalendar | None:
    if cal is None:
        return None
    zones, days, hours, holidays = calendar_parts(cal)
    if not zones or not days or not hours:
        return None
    dates = [text for h in holidays for text in h.dates]
    if any(holiday_problem(t) for t in dates):
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
