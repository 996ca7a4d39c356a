"""Business-time arithmetic: golden cases worked out by hand, DST edges, and properties.

Every expected instant below was computed by hand from the local wall time and the UTC
offset in force on that date (New York: EDT is UTC-4 until 2026-11-01 02:00 and from
2026-03-08 02:00, EST is UTC-5 otherwise; London: BST is UTC+1 until 2026-10-25 02:00).
"""

from __future__ import annotations

import concurrent.futures
import datetime
import zoneinfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.model.calendar import WEEKDAYS, WorkCalendar, make_calendar, parse_time_of_day

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
US = datetime.timedelta(microseconds=1)
MINUTE = 60_000_000
HOUR = 60 * MINUTE


def at(text: str) -> int:
    """An ISO-8601 instant with an offset, as µs since the epoch."""
    return (datetime.datetime.fromisoformat(text) - EPOCH) // US


def iso(instant: int) -> str:
    """Readable form for assertion messages."""
    return (EPOCH + instant * US).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# The spec's calendar (section 2).
ACME = make_calendar(
    timezone="America/New_York",
    workdays=["mon", "tue", "wed", "thu", "fri"],
    start_minute="09:00",
    end_minute="17:00",
    holidays=["2026-11-26", "2026-12-25", "2027-01-01"],
)
# Every hour of every day counts, so business time equals real time.
ROUND_THE_CLOCK = make_calendar(
    timezone="America/New_York",
    workdays=range(7),
    start_minute=0,
    end_minute=1440,
    holidays=(),
)
LONDON = make_calendar(
    timezone="Europe/London",
    workdays=["mon", "tue", "wed", "thu", "fri"],
    start_minute="09:00",
    end_minute="17:30",
    holidays=[datetime.date(2026, 12, 25)],
)


# --- golden cases -----------------------------------------------------------------------

ACME_CASES = [
    # The spec's own cases.
    # Wed 15:30 EST: 1.5 h Wed, Thu 26 is Thanksgiving, 2.5 h Fri from 09:00 EST (14:00Z).
    ("spec: holiday", "2026-11-25T20:30:00Z", 4 * HOUR, "2026-11-27T16:30:00Z"),
    # Fri 16:00 EDT: 1 h Fri, weekend (DST ends Sun), 3 h Mon from 09:00 EST (14:00Z).
    ("spec: weekend and DST end", "2026-10-30T20:00:00Z", 4 * HOUR, "2026-11-02T17:00:00Z"),
    ("spec: at opening", "2026-11-02T14:00:00Z", 4 * HOUR, "2026-11-02T18:00:00Z"),
    # Mon 2026-11-30 10:00 EST + 2 h.
    ("within one day", "2026-11-30T15:00:00Z", 2 * HOUR, "2026-11-30T17:00:00Z"),
    # Tue 16:00 EST: 1 h Tue, 2 h Wed from 09:00 EST.
    ("crossing a night", "2026-12-01T21:00:00Z", 3 * HOUR, "2026-12-02T16:00:00Z"),
    # Fri 2026-12-04 15:00 EST: 2 h Fri, 3 h Mon 2026-12-07.
    ("crossing a weekend", "2026-12-04T20:00:00Z", 5 * HOUR, "2026-12-07T17:00:00Z"),
    # Thu 2026-12-31 16:00 EST: 1 h Thu, Fri 2027-01-01 holiday, weekend, 1 h Mon 01-04.
    ("holiday then weekend", "2026-12-31T21:00:00Z", 2 * HOUR, "2027-01-04T15:00:00Z"),
    # Mon 07:00 EST: counting starts at 09:00.
    ("before opening", "2026-11-30T12:00:00Z", 1 * HOUR, "2026-11-30T15:00:00Z"),
    # Mon 18:00 EST: counting starts Tue 09:00.
    ("after closing", "2026-11-30T23:00:00Z", 1 * HOUR, "2026-12-01T15:00:00Z"),
    # Mon 17:00 EST exactly: nothing left that day.
    ("at closing", "2026-11-30T22:00:00Z", 1 * HOUR, "2026-12-01T15:00:00Z"),
    # Sat 12:00 EST: counting starts Mon 09:00.
    ("on a Saturday", "2026-11-28T17:00:00Z", 1 * HOUR, "2026-11-30T15:00:00Z"),
    # Local Tue 2026-12-01 22:00 EST is already Wed in UTC; counts from Wed 09:00.
    ("late evening, next UTC day", "2026-12-02T03:00:00Z", 1 * HOUR, "2026-12-02T15:00:00Z"),
    # Mon 13:00 EST + 4 h ends exactly at 17:00: closing time, not next morning.
    ("used up at closing", "2026-11-30T18:00:00Z", 4 * HOUR, "2026-11-30T22:00:00Z"),
    # Mon 09:00 EST + a full day ends at 17:00 the same day.
    ("one business day", "2026-11-30T14:00:00Z", 8 * HOUR, "2026-11-30T22:00:00Z"),
    # Wed 2026-12-23 10:00 EST + 16 h: 7 h Wed, 8 h Thu, Fri 25 holiday, weekend, 1 h Mon.
    ("two business days", "2026-12-23T15:00:00Z", 16 * HOUR, "2026-12-28T15:00:00Z"),
    # Fri 2026-03-06 16:00 EST: 1 h Fri, DST starts Sun, 3 h Mon from 09:00 EDT (13:00Z).
    ("across DST start", "2026-03-06T21:00:00Z", 4 * HOUR, "2026-03-09T16:00:00Z"),
    # Sub-second precision survives: Mon 09:00:00.000001 EST + 1 µs.
    ("microseconds", "2026-11-30T14:00:00.000001Z", 1, "2026-11-30T14:00:00.000002Z"),
]


@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [case[1:] for case in ACME_CASES],
    ids=[case[0] for case in ACME_CASES],
)
def test_add_business_golden(start: str, amount: int, due: str) -> None:
    result = ACME.add_business(at(start), amount)
    assert result == at(due), iso(result)
    assert ACME.business_between(at(start), result) == amount


def test_day_us_is_nominal_working_hours() -> None:
    assert ACME.day_us == 8 * HOUR
    assert LONDON.day_us == 8 * HOUR + 30 * MINUTE
    assert ROUND_THE_CLOCK.day_us == 24 * HOUR


def test_business_days_use_day_us() -> None:
    # Wed 2026-12-23 10:00 EST, as in the "two business days" case.
    assert ACME.add_business(at("2026-12-23T15:00:00Z"), 2 * ACME.day_us) == at(
        "2026-12-28T15:00:00Z"
    )


@pytest.mark.parametrize(
    "start",
    ["2026-11-30T15:00:00Z", "2026-11-28T17:00:00Z", "2026-11-30T23:00:00Z"],
    ids=["working", "weekend", "after closing"],
)
def test_amount_zero_is_the_start_itself(start: str) -> None:
    assert ACME.add_business(at(start), 0) == at(start)


def test_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        ACME.add_business(at("2026-11-30T15:00:00Z"), -1)


def test_business_between_golden() -> None:
    between = ACME.business_between
    # Fri 2026-10-30 (8 h, EDT) and Mon 2026-11-02 (8 h, EST).
    assert between(at("2026-10-30T00:00:00Z"), at("2026-11-03T00:00:00Z")) == 16 * HOUR
    # Wed 15:30 to Fri 11:30 local, Thanksgiving in between.
    assert between(at("2026-11-25T20:30:00Z"), at("2026-11-27T16:30:00Z")) == 4 * HOUR
    # Entirely outside working hours.
    assert between(at("2026-11-28T00:00:00Z"), at("2026-11-30T14:00:00Z")) == 0
    # Empty and reversed ranges.
    assert between(at("2026-11-30T15:00:00Z"), at("2026-11-30T15:00:00Z")) == 0
    assert between(at("2026-11-30T16:00:00Z"), at("2026-11-30T15:00:00Z")) == 0


# --- time zones and DST -----------------------------------------------------------------


def test_new_york_hours_follow_the_local_clock_across_dst() -> None:
    between = ACME.business_between
    # 09:00 to 17:00 is 13:00Z-21:00Z under EDT and 14:00Z-22:00Z under EST.
    assert between(at("2026-10-30T12:00:00Z"), at("2026-10-30T13:00:00Z")) == 0
    assert between(at("2026-10-30T13:00:00Z"), at("2026-10-30T21:00:00Z")) == 8 * HOUR
    assert between(at("2026-11-02T13:00:00Z"), at("2026-11-02T14:00:00Z")) == 0
    assert between(at("2026-11-02T14:00:00Z"), at("2026-11-02T22:00:00Z")) == 8 * HOUR
    assert between(at("2026-03-06T14:00:00Z"), at("2026-03-06T22:00:00Z")) == 8 * HOUR
    assert between(at("2026-03-09T13:00:00Z"), at("2026-03-09T21:00:00Z")) == 8 * HOUR


@pytest.mark.parametrize(
    ("local_midnight", "next_local_midnight", "hours"),
    [
        ("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", 23),  # spring forward
        ("2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 25),  # fall back
        ("2026-11-02T05:00:00Z", "2026-11-03T05:00:00Z", 24),
    ],
)
def test_round_the_clock_days_have_their_real_length(
    local_midnight: str, next_local_midnight: str, hours: int
) -> None:
    start, end = at(local_midnight), at(next_local_midnight)
    assert ROUND_THE_CLOCK.business_between(start, end) == hours * HOUR
    # With every hour working, business time is real time: a "business day" from local
    # midnight ends at 01:00 after a 23-hour day and at 23:00 after a 25-hour day.
    assert ROUND_THE_CLOCK.add_business(start, ROUND_THE_CLOCK.day_us) == start + 24 * HOUR
    assert ROUND_THE_CLOCK.add_business(start, hours * HOUR) == end


def test_london_across_dst_end() -> None:
    # Fri 2026-10-23 16:00 BST (15:00Z): 1.5 h Fri, 2.5 h Mon 10-26 from 09:00 GMT.
    assert LONDON.add_business(at("2026-10-23T15:00:00Z"), 4 * HOUR) == at("2026-10-26T11:30:00Z")
    # Fri 2026-03-27 17:00 GMT: 0.5 h Fri, 3.5 h Mon 03-30 from 09:00 BST (08:00Z).
    assert LONDON.add_business(at("2026-03-27T17:00:00Z"), 4 * HOUR) == at("2026-03-30T11:30:00Z")


def test_opening_in_a_spring_forward_gap_opens_when_the_gap_ends() -> None:
    calendar = make_calendar(
        timezone="America/New_York",
        workdays=range(7),
        start_minute="02:30",
        end_minute="10:00",
        holidays=(),
    )
    # 02:30 does not exist on 2026-03-08; work starts at 03:00 EDT (07:00Z), ends 14:00Z.
    day = (at("2026-03-08T05:00:00Z"), at("2026-03-09T04:00:00Z"))
    assert calendar.business_between(*day) == 7 * HOUR
    assert calendar.add_business(day[0], 1) == at("2026-03-08T07:00:00.000001Z")


def test_opening_in_a_repeated_hour_uses_the_first_occurrence() -> None:
    calendar = make_calendar(
        timezone="America/New_York",
        workdays=range(7),
        start_minute="01:30",
        end_minute="17:00",
        holidays=(),
    )
    # 01:30 happens twice on 2026-11-01; the first is EDT (05:30Z). 17:00 EST is 22:00Z.
    day = (at("2026-11-01T04:00:00Z"), at("2026-11-02T05:00:00Z"))
    assert calendar.business_between(*day) == 16 * HOUR + 30 * MINUTE
    assert calendar.add_business(day[0], 1) == at("2026-11-01T05:30:00.000001Z")


def test_half_hour_dst_gap() -> None:
    # Lord Howe Island moves from +10:30 to +11 at 02:00 on 2026-10-04 (15:30Z the day
    # before): 02:15 does not exist, so 02:15-03:00 holds only the 30 minutes 02:30-03:00.
    calendar = make_calendar(
        timezone="Australia/Lord_Howe",
        workdays=range(7),
        start_minute="02:15",
        end_minute="03:00",
        holidays=(),
    )
    assert calendar.add_business(at("2026-10-03T15:00:00Z"), 30 * MINUTE) == at(
        "2026-10-03T16:00:00Z"
    )


def test_a_local_date_that_never_happened_has_no_working_time() -> None:
    # Samoa skipped 2011-12-30 when it moved from UTC-10 to UTC+14.
    calendar = make_calendar(
        timezone="Pacific/Apia",
        workdays=range(7),
        start_minute="09:00",
        end_minute="17:00",
        holidays=(),
    )
    # Thu 12-29 09:00-17:00 at -10 is 19:00Z-03:00Z; the next is Sat 12-31 at +14.
    assert calendar.business_between(at("2011-12-30T03:00:00Z"), at("2011-12-30T19:00:00Z")) == 0
    assert calendar.add_business(at("2011-12-30T02:00:00Z"), 2 * HOUR) == at("2011-12-30T20:00:00Z")


def test_utc_calendar_with_24_00_closing() -> None:
    calendar = make_calendar(
        timezone="UTC", workdays=["sat"], start_minute="12:00", end_minute="24:00", holidays=()
    )
    # Sat 2026-11-28 12:00Z to Sun 00:00Z, then the next Saturday.
    assert calendar.add_business(at("2026-11-28T00:00:00Z"), 12 * HOUR) == at(
        "2026-11-29T00:00:00Z"
    )
    assert calendar.add_business(at("2026-11-28T00:00:00Z"), 13 * HOUR) == at(
        "2026-12-05T13:00:00Z"
    )


# --- properties -------------------------------------------------------------------------

CALENDARS = st.sampled_from([ACME, ROUND_THE_CLOCK, LONDON])
# 2025-01-01 to 2028-01-01, at µs resolution: several DST changes of both zones.
INSTANTS = st.integers(at("2025-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z"))
AMOUNTS = st.integers(1, 30 * 24 * HOUR)


@given(CALENDARS, INSTANTS, AMOUNTS)
def test_business_between_inverts_add_business(
    calendar: WorkCalendar, start: int, amount: int
) -> None:
    due = calendar.add_business(start, amount)
    assert due >= start + amount  # working time never runs faster than real time
    assert calendar.business_between(start, due) == amount
    # ... and `due` is the earliest such instant.
    assert calendar.business_between(start, due - 1) == amount - 1


@given(CALENDARS, INSTANTS, AMOUNTS, AMOUNTS)
def test_add_business_is_monotonic_in_amount(
    calendar: WorkCalendar, start: int, first: int, second: int
) -> None:
    low, high = sorted((first, second))
    assert calendar.add_business(start, low) <= calendar.add_business(start, high)


@given(CALENDARS, INSTANTS, INSTANTS, AMOUNTS)
def test_add_business_is_monotonic_in_start(
    calendar: WorkCalendar, first: int, second: int, amount: int
) -> None:
    early, late = sorted((first, second))
    assert calendar.add_business(early, amount) <= calendar.add_business(late, amount)


@given(CALENDARS, INSTANTS, INSTANTS, INSTANTS)
def test_business_between_is_additive(
    calendar: WorkCalendar, first: int, second: int, third: int
) -> None:
    a, b, c = sorted((first, second, third))
    between = calendar.business_between
    assert between(a, b) + between(b, c) == between(a, c)
    assert 0 <= between(a, c) <= c - a


def _working_minutes(calendar: WorkCalendar, start: int, minutes: int) -> int:
    """Slow oracle: a minute works when the local clock at its start shows working time.

    For hours that do not open or close inside a DST gap or repeated hour (true of all
    three calendars here) this is exactly the interval model of `policy.model.calendar`.
    """
    zone = zoneinfo.ZoneInfo(calendar.timezone)
    count = 0
    for index in range(minutes):
        local = (EPOCH + (start + index * MINUTE) * US).astimezone(zone)
        minute_of_day = local.hour * 60 + local.minute
        if (
            local.weekday() in calendar.workdays
            and local.date() not in calendar.holidays
            and calendar.start_minute <= minute_of_day < calendar.end_minute
        ):
            count += 1
    return count


# Starts near each DST change of 2026 (both zones) and near the spec's holidays.
NEAR_EDGES = st.sampled_from(
    [
        at(text)
        for text in (
            "2026-03-06T00:00:00Z",
            "2026-03-27T00:00:00Z",
            "2026-10-23T00:00:00Z",
            "2026-10-30T00:00:00Z",
            "2026-11-24T00:00:00Z",
            "2026-12-31T00:00:00Z",
        )
    ]
)


@settings(max_examples=40, deadline=None)
@given(CALENDARS, NEAR_EDGES, st.integers(0, 4 * 24 * 60), st.integers(0, 4 * 24 * 60))
def test_business_between_agrees_with_a_minute_by_minute_count(
    calendar: WorkCalendar, base: int, offset: int, minutes: int
) -> None:
    start = base + offset * MINUTE
    expected = _working_minutes(calendar, start, minutes) * MINUTE
    assert calendar.business_between(start, start + minutes * MINUTE) == expected


# --- make_calendar, WorkCalendar and parse_time_of_day -----------------------------------


def test_make_calendar_normalises_its_inputs() -> None:
    calendar = make_calendar(
        timezone="America/New_York",
        workdays=["mon", 1, "wed", "thu", "fri"],
        start_minute=540,
        end_minute="17:00",
        holidays=[datetime.date(2026, 11, 26), "2026-12-25", "2027-01-01"],
    )
    assert calendar == ACME
    assert hash(calendar) == hash(ACME)
    assert calendar.workdays == frozenset({0, 1, 2, 3, 4})
    assert calendar.start_minute == 540 and calendar.end_minute == 1020


def test_weekdays() -> None:
    assert dict(WEEKDAYS) == {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


BASE = {
    "timezone": "America/New_York",
    "workdays": ["mon"],
    "start_minute": "09:00",
    "end_minute": "17:00",
    "holidays": (),
}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"timezone": "America/New_Yrok"}, r"unknown time zone `America/New_Yrok`"),
        ({"timezone": "america/new_york"}, r"unknown time zone"),
        ({"timezone": ""}, r"unknown time zone"),
        ({"timezone": "/etc/localtime"}, r"unknown time zone"),
        ({"timezone": "../zoneinfo/UTC"}, r"unknown time zone"),
        ({"timezone": "localtime"}, r"depends on the machine"),
        ({"timezone": 5}, r"expected a time zone name"),
        ({"workdays": []}, r"at least one workday"),
        ({"workdays": ["mon", "funday"]}, r"unknown weekday `funday`; expected one of mon, "),
        ({"workdays": ["Mon"]}, r"unknown weekday `Mon`"),
        ({"workdays": [7]}, r"expected a weekday"),
        ({"workdays": [True]}, r"expected a weekday"),
        ({"start_minute": "9:00"}, r"opening time as HH:MM .* found `9:00`"),
        ({"end_minute": "24:01"}, r"closing time as HH:MM .* found `24:01`"),
        ({"end_minute": "25:00"}, r"closing time"),
        ({"end_minute": 1441}, r"closing time from 00:00 to 24:00, found 1441"),
        ({"start_minute": -1}, r"opening time"),
        ({"start_minute": None}, r"opening time"),
        ({"start_minute": "17:00", "end_minute": "09:00"}, r"found 17:00 to 09:00"),
        ({"start_minute": "09:00", "end_minute": "09:00"}, r"before closing"),
        ({"start_minute": "24:00", "end_minute": "24:00"}, r"before closing"),
        ({"holidays": ["2026-02-30"]}, r"not a real date"),
        ({"holidays": ["26-11-2026"]}, r"YYYY-MM-DD"),
        ({"holidays": ["20261126"]}, r"YYYY-MM-DD"),
        ({"holidays": [datetime.datetime(2026, 11, 26)]}, r"expected a holiday date"),
        ({"holidays": [20261126]}, r"expected a holiday date"),
    ],
)
def test_make_calendar_refuses_bad_input(override: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_calendar(**{**BASE, **override})


def test_constructor_checks_like_make_calendar() -> None:
    with pytest.raises(ValueError, match="at least one workday"):
        WorkCalendar("UTC", frozenset(), 540, 1020, frozenset())
    with pytest.raises(ValueError, match="expected a weekday number"):
        WorkCalendar("UTC", frozenset({"mon"}), 540, 1020, frozenset())
    with pytest.raises(ValueError, match="before closing"):
        attrs.evolve(ACME, end_minute=540)
    with pytest.raises(ValueError, match="unknown time zone"):
        attrs.evolve(ACME, timezone="Mars/Olympus_Mons")


def test_calendar_is_frozen_and_compares_by_value() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ACME.start_minute = 0  # type: ignore[misc]
    fresh = attrs.evolve(ACME)
    assert fresh == ACME  # the private cache takes no part in equality
    assert {ACME: 1}[fresh] == 1
    assert "_bounds" not in repr(ACME)


def test_holidays_covering_every_workday_for_decades_raise() -> None:
    sundays = frozenset(
        datetime.date(2026, 11, 29) + datetime.timedelta(weeks=week) for week in range(52 * 21)
    )
    calendar = make_calendar(
        timezone="UTC", workdays=["sun"], start_minute=0, end_minute=1440, holidays=sundays
    )
    with pytest.raises(ValueError, match="no working time"):
        calendar.add_business(at("2026-11-28T00:00:00Z"), HOUR)
    # Counting what there is stays fine.
    assert calendar.business_between(at("2026-11-28T00:00:00Z"), at("2027-01-01T00:00:00Z")) == 0


def test_instants_beyond_the_date_range_raise_value_error() -> None:
    with pytest.raises(ValueError, match="supported range"):
        ACME.add_business(at("9999-12-31T12:00:00Z"), 400 * HOUR)


def test_shared_between_threads() -> None:
    calendar = attrs.evolve(ACME)  # a cold cache, filled concurrently
    starts = [at("2026-01-01T00:00:00Z") + hour * HOUR for hour in range(0, 24 * 400, 7)]
    expected = [ACME.add_business(start, 4 * HOUR) for start in starts]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda start: calendar.add_business(start, 4 * HOUR), starts))
    assert results == expected


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("00:00", 0),
        ("09:00", 540),
        ("17:30", 1050),
        ("23:59", 1439),
        ("24:00", 1440),
        ("24:01", None),
        ("25:00", None),
        ("9:00", None),
        ("09:60", None),
        ("0900", None),
        ("09:00 ", None),
        (" 09:00", None),
        ("09:00\n", None),
        ("", None),
        ("٠٩:٠٠", None),  # Arabic-Indic digits are not HH:MM
        ("-1:00", None),
    ],
)
def test_parse_time_of_day(text: str, minutes: int | None) -> None:
    assert parse_time_of_day(text) == minutes
