"""Timestamps: ISO-8601 text to and from instants.

The engine represents every instant as an ``int``: microseconds since the Unix epoch,
UTC. This module is the only place that turns text into such an instant and back, so
the rules for what a lead's timestamp may look like live here (LANGUAGE.md §3, §5):

- ``date-time``: ``YYYY-MM-DD``, a separator (``T``, ``t`` or a space, since
  spreadsheet exports write ``2026-11-02 15:00:00``), ``HH:MM`` with optional ``:SS``
  and an optional fraction (``.`` and any number of digits, truncated to
  microseconds; RFC 3339's point only, spec v1.1 section 3), then an optional offset:
  ``Z``/``z``, ``±HH:MM``, ``±HHMM`` or ``±HH``. **No offset means UTC**, so exports
  that drop the offset still work — unless the caller names a local time zone
  (``--local-tz``, ``local_tz=``, spec v1.1 section 9): then a time without an offset is
  a wall-clock time in that zone. A wall-clock time in a daylight-saving gap moves
  forward by the gap (02:30 on a spring-forward day in New York is 03:30 EDT); one in a
  fold is the earlier of its two instants (``fold=0``).
- ``date``: ``YYYY-MM-DD`` only, read as midnight UTC (midnight in the local zone when
  one is named).

Anything else is refused: week dates (``2026-W45-1``), compact forms (``20261102``),
hours without minutes (``2026-11-02T15``), hour ``24``, leap seconds (``23:59:60``) and
non-ASCII digits. Instants run from 0001-01-01 to 9999-12-31 in UTC.

Nothing here runs before it; everything that reads or prints a timestamp uses it.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

__all__ = [
    "EPOCH",
    "Z_FORM_LENGTH",
    "Z_FORM_MARKS",
    "format_timestamp",
    "from_datetime",
    "local_zone",
    "parse_timestamp",
    "to_datetime",
]

_UTC = UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_fromisoformat = datetime.fromisoformat
_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND
#: The instant 0 as an aware datetime.
EPOCH = _EPOCH
#: The form nearly every lead's timestamp has, ``2026-11-02T15:00:00Z``: its length and
#: the characters at positions 4, 7, 10, 13, 16 and 19 (``text[4::3]``). Every instant
#: of that form lies within the years 1 to 9999.
Z_FORM_LENGTH = 20
Z_FORM_MARKS = "--T::Z"
# The instants a `datetime` can hold in UTC; an offset can push a wall-clock time at
# the edge of year 1 or 9999 outside them, and such an instant could not be printed.
_MIN_US = -62_135_596_800 * _US_PER_SECOND
_MAX_US = 253_402_300_799 * _US_PER_SECOND + 999_999

# The shape check runs before `datetime.fromisoformat`, which accepts more than
# RFC 3339 users expect (week dates, compact dates, bare hours); `fromisoformat`
# then checks the ranges (month 13, February 30, hour 25).
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = (
    r"[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.][0-9]+)?)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?"
)
_SHAPES = {
    "date-time": re.compile(_DATE + _TIME).fullmatch,
    "date": re.compile(_DATE).fullmatch,
    "any": re.compile(_DATE + f"(?:{_TIME})?").fullmatch,
}


def parse_timestamp(text: str, *, kind: str = "date-time", tz: tzinfo | None = None
                    ) -> int | None:
    """Return the instant ``text`` names, in microseconds since the epoch (UTC).

    ``kind`` is ``"date-time"`` (date and time required, offset optional, no offset
    meaning UTC), ``"date"`` (``YYYY-MM-DD`` only, midnight UTC) or ``"any"`` (either).
    ``tz`` (a zone from :func:`local_zone`) reads a timestamp without an offset, and a
    date, as wall-clock time in that zone instead of UTC: in a gap it moves forward by
    the gap, in a fold it is the earlier instant.
    Returns ``None`` when ``text`` is not such a timestamp, including when it is not a
    string at all; never raises for bad input.

    >>> parse_timestamp("2026-11-02T15:00:00Z")
    1793631600000000
    >>> parse_timestamp("2026-11-02T16:00:00+01:00") == parse_timestamp("2026-11-02 15:00")
    True
    >>> parse_timestamp("yesterday") is None
    True
    """
    if type(text) is str and len(text) == Z_FORM_LENGTH and text[4::3] == Z_FORM_MARKS \
            and (kind == "date-time" or kind == "any") and text.isascii():
        # The form nearly every lead holds (`2026-11-02T15:00:00Z`: the characters at
        # 4, 7, 10, 13, 16 and 19 are `--T::Z`), without the shape's regular expression
        # (a third of the cost): `fromisoformat` refuses a non-digit at any other place,
        # as the expression would (tests/test_timestamps.py). Its offset is explicit, so
        # `tz` does not apply; it has no fraction, and every such instant lies between
        # 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, inside the range. The compiled
        # engine's `decide` inlines these same steps (policy.engine.compile_prepare).
        try:
            delta = _fromisoformat(text) - _EPOCH
        except ValueError:
            return None
        return (delta.days * 86_400 + delta.seconds) * _US_PER_SECOND
    shape = _SHAPES.get(kind)
    if shape is None:
        raise ValueError(f"unknown timestamp kind {kind!r}: expected 'date-time', 'date' or 'any'")
    if type(text) is not str:
        return None
    return _parse_shaped(text, shape, tz)


def _parse_shaped(text: str, shape: Any, tz: tzinfo | None = None) -> int | None:
    """:func:`parse_timestamp` by the shape's regular expression, then ``fromisoformat``."""
    if shape(text) is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        # Python 3.11 refuses the lower-case `t` and `z` that RFC 3339 allows.
        if text[-1] != "z" and text[10:11] != "t":
            return None
        try:
            moment = datetime.fromisoformat(text[:10] + text[10:].upper())
        except ValueError:
            return None
    if moment.tzinfo is None:
        delta = moment - _EPOCH_NAIVE
        if tz is not None:
            # fold=0 (a naive datetime's): the offset in force before a transition,
            # which is the earlier instant in a fold and moves a time in a gap forward
            # by the gap (PEP 495). Subtracting a timedelta builds no datetime, so the
            # edges of years 1 and 9999 cannot overflow here; and it is some 20 times
            # faster than attaching the zone and subtracting aware datetimes.
            delta -= tz.utcoffset(moment)
    else:
        delta = moment - _EPOCH
    us = (delta.days * 86_400 + delta.seconds) * _US_PER_SECOND + delta.microseconds
    return us if _MIN_US <= us <= _MAX_US else None


@functools.lru_cache(maxsize=64)
def local_zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``America/New_York``) for reading local timestamps.

    Raises ``ValueError`` with one readable sentence for a name that is not a zone.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name such as "
                         "America/New_York or Europe/London")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name such as "
                         "America/New_York or Europe/London") from None


def format_timestamp(us: int) -> str:
    """Print an instant as ``YYYY-MM-DDTHH:MM:SSZ`` (LANGUAGE.md §5).

    Six fraction digits (``.ffffff``) appear only when the instant has a fraction of a
    second. Raises ``ValueError`` for an instant outside the years 1 to 9999.

    >>> format_timestamp(1793631600000000)
    '2026-11-02T15:00:00Z'
    >>> format_timestamp(1793631600000001)
    '2026-11-02T15:00:00.000001Z'
    """
    # Decision records print several instants each (the SLA's start, due and stop), most
    # of them different: the date is looked up by its day (a file's instants fall on a
    # few thousand days) and the time of day is arithmetic, a quarter of the cost of
    # building a datetime and printing it.
    days, rest = divmod(us, _US_PER_DAY)
    date = _DAYS.get(days)
    if date is None:
        date = _day_text(days, us)
    seconds, fraction = divmod(rest, _US_PER_SECOND)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    two = _TWO  # `{n:02d}` parses its format at every call: a table is cheaper
    if fraction:
        return f"{date}{two[hours]}:{two[minutes]}:{two[seconds]}.{fraction:06d}Z"
    return f"{date}{two[hours]}:{two[minutes]}:{two[seconds]}Z"


#: `YYYY-MM-DDT` by days since the epoch, filled as instants are printed.
_DAYS: dict[int, str] = {}
#: "00" to "59"
_TWO = tuple(f"{n:02d}" for n in range(60))


def _day_text(days: int, us: int) -> str:
    try:
        text = (_EPOCH_NAIVE + timedelta(days)).date().isoformat() + "T"
    except OverflowError:
        raise ValueError(f"instant {us} is outside the years 1 to 9999") from None
    if len(_DAYS) >= 65_536:  # bounded, whatever a long run prints
        _DAYS.clear()
    _DAYS[days] = text
    return text


def to_datetime(us: int) -> datetime:
    """Return the instant ``us`` as an aware ``datetime`` in UTC.

    Raises ``ValueError`` for an instant outside the years 1 to 9999.
    """
    days, rest = divmod(us, _US_PER_DAY)
    try:
        return _EPOCH + timedelta(days=days, microseconds=rest)
    except OverflowError:
        raise ValueError(f"instant {us} is outside the years 1 to 9999") from None


def from_datetime(dt: datetime) -> int:
    """Return an aware ``datetime`` as microseconds since the epoch (UTC).

    A naive ``datetime`` is refused with ``ValueError("as_of must carry a time zone")``:
    the engine never guesses the local time zone (LANGUAGE.md §5). So is one whose
    instant in UTC is outside the years 1 to 9999, as ``--as-of`` refuses it.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("as_of must carry a time zone")
    delta = dt - _EPOCH
    us = (delta.days * 86_400 + delta.seconds) * _US_PER_SECOND + delta.microseconds
    if not _MIN_US <= us <= _MAX_US:
        # an offset past the edge of year 1 or 9999 (`datetime.max` at -23:00): the
        # decision was made, and its `as_of`, `to_dict()` and `explain` then raised
        raise ValueError(f"as_of {dt.isoformat()} is outside the instants a decision can "
                         "hold (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)")
    return us
