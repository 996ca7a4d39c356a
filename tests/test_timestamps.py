"""Timestamps: what parses, to which instant, and how instants print."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.engine.timestamps import (
    format_timestamp,
    from_datetime,
    local_zone,
    parse_timestamp,
    to_datetime,
)

T = 1_793_631_600_000_000  # 2026-11-02T15:00:00Z
S = 1_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T15:00:00Z", T),
        ("2026-11-02T15:00:00z", T),
        ("2026-11-02t15:00:00Z", T),
        ("2026-11-02T15:00:00+00:00", T),
        ("2026-11-02T15:00:00-00:00", T),
        ("2026-11-02T16:00:00+01:00", T),
        ("2026-11-02T16:00:00+0100", T),
        ("2026-11-02T16:00:00+01", T),
        ("2026-11-02T10:00:00-05:00", T),
        # no offset: UTC (exports that drop the offset still work)
        ("2026-11-02T15:00:00", T),
        # a space instead of T, as spreadsheets write it
        ("2026-11-02 15:00:00", T),
        ("2026-11-02 15:00", T),
        ("2026-11-02T15:00Z", T),
        ("2026-11-02T15:00:00.5Z", T + S // 2),
        ("2026-11-02T15:00:00.25Z", T + S // 4),
        ("2026-11-02T16:30+01:30", T),  # seconds optional with an offset too
        ("2026-11-02 16:00:00.9999999+0100", T + 999_999),  # any length, truncated
        ("2026-11-02T15:00:00.000001Z", T + 1),
        # more than six fraction digits are cut to microseconds, not rounded
        ("2026-11-02T15:00:00.1234569Z", T + 123_456),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999999Z", -1),
        ("0001-01-01T00:00:00Z", -62_135_596_800 * S),
        ("9999-12-31T23:59:59.999999Z", 253_402_300_800 * S - 1),
    ],
)
def test_date_time_parses(text: str, expected: int) -> None:
    assert parse_timestamp(text) == expected
    assert parse_timestamp(text, kind="any") == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-11-02",  # a date is not a date-time
        "2026-11-02T15",  # an hour alone
        "2026-11-02T1500",
        "2026-11-02T150000",  # compact time
        "20261102T150000Z",  # compact date
        "20261102",
        "2026-W45-1",  # week date
        "2026-W45-1T15:00:00",
        "2026-306",  # ordinal date
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-02T24:00:00Z",
        "2026-11-02T23:59:60Z",  # leap second
        "2026-11-02T15:00:00+01:00:30",
        "2026-11-02T15:00:00.Z",
        "2026-11-02T15:00:00,25Z",  # RFC 3339 writes the fraction after a point only
        "2026-11-02T15:00.5Z",  # a fraction needs seconds
        "2026-11-02T24:00Z",
        "2026-11-02T15:00:00+24:00",  # no such offset
        "2026-11-02T15:00:00UTC",
        "2026-11-02T15:00:00 +01:00",
        "2026-11-02T15:00:00 Z",
        " 2026-11-02T15:00:00Z",
        "2026-11-02T15:00:00Z ",
        "2026-11-02T15:00:00ZZ",
        "２０２６-11-02T15:00:00Z",  # non-ASCII digits
        "0000-12-31T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
    ],
)
def test_date_time_refuses(text: str) -> None:
    assert parse_timestamp(text) is None


def test_date_kind() -> None:
    assert parse_timestamp("2026-11-02", kind="date") == T - 15 * 3600 * S
    assert parse_timestamp("2026-11-02", kind="any") == T - 15 * 3600 * S
    assert parse_timestamp("2026-11-02T15:00:00Z", kind="date") is None
    assert parse_timestamp("2026-02-29", kind="date") is None
    assert parse_timestamp("2028-02-29", kind="date") is not None
    assert parse_timestamp("20261102", kind="date") is None


@pytest.mark.parametrize("value", [None, 12, 1.5, b"2026-11-02", ["2026-11-02"]])
def test_non_strings_do_not_parse(value: object) -> None:
    assert parse_timestamp(value) is None  # type: ignore[arg-type]


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown timestamp kind"):
        parse_timestamp("2026-11-02", kind="time")


@pytest.mark.parametrize(
    ("us", "text"),
    [
        (T, "2026-11-02T15:00:00Z"),
        (T + 1, "2026-11-02T15:00:00.000001Z"),
        (T + S // 2, "2026-11-02T15:00:00.500000Z"),
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (-62_135_596_800 * S, "0001-01-01T00:00:00Z"),
    ],
)
def test_format(us: int, text: str) -> None:
    assert format_timestamp(us) == text
    assert parse_timestamp(text) == us


def test_format_out_of_range() -> None:
    with pytest.raises(ValueError, match="outside the years 1 to 9999"):
        format_timestamp(253_402_300_800 * S)
    with pytest.raises(ValueError):
        to_datetime(-62_135_596_800 * S - 1)


def test_datetime_conversions() -> None:
    moment = to_datetime(T + 7)
    assert moment == datetime(2026, 11, 2, 15, 0, 0, 7, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)
    assert from_datetime(moment) == T + 7
    new_york = timezone(timedelta(hours=-5))
    assert from_datetime(datetime(2026, 11, 2, 10, tzinfo=new_york)) == T


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="as_of must carry a time zone"):
        from_datetime(datetime(2026, 11, 2, 15))


_AWARE = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    ),
)


@given(_AWARE)
def test_isoformat_round_trip(moment: datetime) -> None:
    us = from_datetime(moment)
    assert parse_timestamp(moment.isoformat()) == us
    assert parse_timestamp(format_timestamp(us)) == us
    assert to_datetime(us) == moment


@given(st.integers(min_value=-62_135_596_800 * S, max_value=253_402_300_800 * S - 1))
def test_format_parse_round_trip(us: int) -> None:
    text = format_timestamp(us)
    assert parse_timestamp(text) == us
    assert text.endswith("Z") and ("." in text) == (us % S != 0)


@given(st.text(alphabet="0123456789-:T Zz+.,tW", max_size=40) | st.text(max_size=40))
def test_never_raises(text: str) -> None:
    for kind in ("date-time", "date", "any"):
        result = parse_timestamp(text, kind=kind)
        assert result is None or isinstance(result, int)


def _by_shape(text: str, kind: str, tz=None) -> int | None:
    """The reference: the shape's regular expression, then `fromisoformat`."""
    from policy.engine import timestamps as T

    return T._parse_shaped(text, T._SHAPES[kind], tz)


_CANONICAL_ALPHABET = "0123456789-:TZ tz+.,W/\u0661\u00b2"


@settings(max_examples=500)
@given(st.lists(st.tuples(st.integers(0, 19), st.sampled_from(_CANONICAL_ALPHABET)),
                max_size=3), st.sampled_from(["date-time", "any", "date"]))
def test_the_fast_path_for_the_common_form_agrees_with_the_shape(changes, kind) -> None:
    # `YYYY-MM-DDTHH:MM:SSZ` skips the regular expression: any character changed
    # anywhere must still be refused exactly when the expression (or the calendar) says.
    chars = list("2026-11-02T15:07:09Z")
    for at, ch in changes:
        chars[at] = ch
    text = "".join(chars)
    assert parse_timestamp(text, kind=kind) == _by_shape(text, kind)
    zone = local_zone("America/New_York")  # --local-tz: the fast form's `Z` is explicit
    assert parse_timestamp(text, kind=kind, tz=zone) == _by_shape(text, kind, zone)


def _formatted_by_fields(us: int) -> str:
    """The reference for `format_timestamp`: the fields of the aware datetime."""
    from policy.engine.timestamps import to_datetime

    m = to_datetime(us)
    text = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    return text + (f".{m.microsecond:06d}" if m.microsecond else "") + "Z"


@settings(max_examples=500)
@given(st.integers(-62_135_596_800_000_000, 253_402_300_799_999_999)
       | st.sampled_from([0, -1, 1, 999_999, 1_000_000, -62_135_596_800_000_000]))
def test_format_timestamp_prints_the_fields(us: int) -> None:
    # isoformat of a naive datetime (one call) against the fields printed one by one
    assert format_timestamp(us) == _formatted_by_fields(us)
    assert parse_timestamp(format_timestamp(us)) == us


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 19), st.sampled_from(_CANONICAL_ALPHABET)),
                max_size=3))
def test_preparing_a_lead_reads_timestamps_as_parse_timestamp_does(changes) -> None:
    # Policy.prepare inlines the common form: the same instant, or the same refusal
    import policy

    pol = _rules_policy()
    chars = list("2026-11-02T15:07:09Z")
    for at, ch in changes:
        chars[at] = ch
    text = "".join(chars)
    lead = {"lead_id": "L-1", "email": "a@b.co", "created_at": "2026-11-01T10:00:00Z",
            "last_activity_at": text}
    index = [p for p, _, _ in pol._plan].index(("last_activity_at",))
    expected = parse_timestamp(text, kind=pol._plan[index][2])
    try:
        got = pol.prepare(lead)[index]
    except policy.LeadError:
        got = None
    assert got == expected


@functools.lru_cache(maxsize=1)
def _rules_policy():
    import policy

    return policy.load(Path(__file__).resolve().parent.parent / "rules")
