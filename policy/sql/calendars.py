"""Business time in SQL without time-zone functions: calendars as small tables.

The engine's own calendar code (:class:`policy.model.calendar.WorkCalendar`) computes,
in Python, every working interval ``[open, close)`` (UTC µs) of the years the SQL must
cover. They become two tables per calendar, so the SQL needs only integer arithmetic
and equi-joins:

- **days** — one row per UTC day ``d`` (µs // 86,400,000,000): ``i`` the index of the
  first working interval that closes after the day begins, ``c1`` and ``c2`` the closing
  instants of intervals ``i`` and ``i + 1``. A UTC day holds at most two closings (a
  local date overlaps at most two UTC days), so the interval that holds or follows an
  instant ``t`` of day ``d`` is ``i + (t >= c1) + (t >= c2)``.
- **intervals** — one row per working interval ``i`` (zero-length ones, which a DST gap
  can make, are left out: they hold no working time): ``o`` its opening, ``w`` the
  working time before it (cumulative), ``n`` its length; and for every business
  amount ``A`` the policy uses, the candidates ``k = 1..K`` among which the due instant
  of a start inside or before interval ``i`` falls: ``A_o_k`` (opening), ``A_w_k``
  (working time before) and ``A_e_k`` (working time at its close).

For a start ``t``: ``W = w + max(0, t - o)`` is the working time before ``t``; the due
instant of ``A`` is at working time ``T = W + A``, in the first candidate whose ``e``
reaches ``T``, at ``o_k + (T - w_k)``: the earliest instant at which that much working
time has passed, exactly as :meth:`WorkCalendar.add_business` answers. A start or a due
instant outside the tables' years gives NULL, which the compiler reports as the SLA
status ``unknown`` with the violation ``calendar_out_of_range``.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence

import attrs

from policy.model.calendar import WorkCalendar

__all__ = ["DAY_US", "FIRST_YEAR", "LAST_YEAR", "SENTINEL_INTERVAL", "CalendarTables",
           "build_tables", "engine_years"]

DAY_US = 86_400_000_000
#: The key of the interval row of NULL cells that a statement built with
#: ``total_joins`` adds (:meth:`CalendarTables.with_sentinels`); no interval index is
#: negative.
SENTINEL_INTERVAL = -1
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
#: The years calendar tables can span: the tables reach a day past each end, and the
#: wall-clock rules need a date on either side of that (years 1 and 9999 have none).
FIRST_YEAR, LAST_YEAR = 2, 9998


def engine_years(year: int) -> tuple[int, int]:
    """The years of the calendar tables an engine run at an ``as_of`` of ``year`` builds:
    from 2000 (or ten years earlier) to ten years later, at most a century, inside
    FIRST_YEAR..LAST_YEAR (an `--as-of` of 0001 or 9999 once asked for year -9 or
    10009: a traceback; 2000..9998 would be 8,000 years of tables). Business time
    outside them is decided by the python engine."""
    last = min(LAST_YEAR, max(year + 10, FIRST_YEAR))
    first = max(FIRST_YEAR, min(year - 10, 2000), last - 100)
    return first, last


@attrs.frozen
class CalendarTables:
    """The rows of one calendar's two tables for the years ``first..last``."""

    first_year: int
    last_year: int
    #: (d, i, c1, c2): c1/c2 None past the last interval
    days: tuple[tuple[int, int | None, int | None, int | None], ...]
    #: amounts (µs) in column order, and the number of candidates for each
    amounts: tuple[int, ...]
    candidates: tuple[int, ...]
    #: (i, o, w, n, then per amount k candidates of (o_k, w_k, e_k))
    intervals: tuple[tuple[int | None, ...], ...]

    @property
    def sentinel_day(self) -> int:
        """The key of the day row of NULL cells :meth:`with_sentinels` adds: the day
        before the first (the keys stay one dense range, which DuckDB joins fastest)."""
        return self.days[0][0] - 1

    def with_sentinels(self) -> CalendarTables:
        """The tables with one more row each, of NULL cells, at the keys
        :attr:`sentinel_day` and :data:`SENTINEL_INTERVAL`: a statement built with
        ``total_joins`` looks a start that is NULL or outside the tables up there,
        so every row finds exactly one row of each table."""
        days = ((self.sentinel_day, None, None, None), *self.days)
        width = len(self.interval_columns)
        intervals = ((SENTINEL_INTERVAL, *([None] * (width - 1))), *self.intervals)
        return attrs.evolve(self, days=days, intervals=intervals)

    @property
    def day_columns(self) -> tuple[str, ...]:
        return ("d", "i", "c1", "c2")

    @property
    def interval_columns(self) -> tuple[str, ...]:
        cols = ["i", "o", "w", "n"]
        for a, count in enumerate(self.candidates):
            for k in range(1, count + 1):
                cols += [f"a{a}_o{k}", f"a{a}_w{k}", f"a{a}_e{k}"]
        return tuple(cols)


def _intervals(cal: WorkCalendar, first: int, last: int) -> list[tuple[int, int]]:
    """The calendar's working intervals on local dates of the years (plus a day at
    each end, so UTC days at the edges are covered), in time order."""
    start = datetime.date(first, 1, 1).toordinal() - 1
    stop = datetime.date(last, 12, 31).toordinal() + 1
    out = []
    for ordinal in range(start, stop + 1):
        bounds = cal._compute_bounds(ordinal)  # the engine's own wall-clock rules
        if bounds is not None and bounds[1] > bounds[0]:
            out.append(bounds)
    return out


def build_tables(cal: WorkCalendar, first_year: int, last_year: int,
                 amounts: Sequence[int]) -> CalendarTables:
    """The day and interval tables of ``cal`` for the UTC days of the years, with due
    candidates for each business amount in ``amounts`` (µs, positive).

    The same tables again for an equal calendar, years and amounts (the calendar is
    frozen and its tables a function of those): building them is a quarter of a DuckDB
    engine's start-up (about 0.15 CPU-s a calendar for the 37 years of a default run),
    and a process that builds engines again and again (``funnel report`` per period,
    a server, the test suite) mostly asks for the same few calendars."""
    amounts = tuple(amounts)
    if all(type(a) is int for a in (first_year, last_year, *amounts)):
        return _built(cal, first_year, last_year, amounts)
    return _built.__wrapped__(cal, first_year, last_year, amounts)  # 1.0 == 1 as a key


@functools.lru_cache(maxsize=8)
def _built(cal: WorkCalendar, first_year: int, last_year: int,
           amounts: tuple[int, ...]) -> CalendarTables:
    ivs = _intervals(cal, first_year, last_year)
    opens = [o for o, _ in ivs]
    closes = [c for _, c in ivs]
    cum = [0]
    for o, c in ivs:
        cum.append(cum[-1] + (c - o))
    total = len(ivs)

    day0 = (datetime.date(first_year, 1, 1).toordinal() - _EPOCH_ORDINAL)
    day1 = (datetime.date(last_year, 12, 31).toordinal() - _EPOCH_ORDINAL)
    days = []
    i = 0
    for d in range(day0, day1 + 1):
        begin = d * DAY_US
        while i < total and closes[i] <= begin:
            i += 1
        c1 = closes[i] if i < total else None
        c2 = closes[i + 1] if i + 1 < total else None
        days.append((d, i if i < total else None, c1, c2))

    per_amount: list[list[list[tuple[int, int, int] | None]]] = []
    counts = []
    for amount in amounts:
        rows = []
        need = 1
        j = 0
        for i in range(total):
            low = cum[i] + amount  # T when the start is at or before the opening
            high = cum[i + 1] + amount  # T when the start is just before the close
            while j < total and cum[j + 1] < low:
                j += 1
            cands = []
            k = j
            while k < total:
                cands.append((opens[k], cum[k], cum[k + 1]))
                if cum[k + 1] >= high:
                    break
                k += 1
            else:
                cands.append(None)  # past the last interval: out of range
            rows.append(cands)
            need = max(need, len(cands))
        per_amount.append(rows)
        counts.append(need)
    intervals = []
    for i in range(total):
        row: list[int | None] = [i, opens[i], cum[i], closes[i] - opens[i]]
        for a in range(len(amounts)):
            cands = per_amount[a][i]
            for k in range(counts[a]):
                cand = cands[k] if k < len(cands) else None
                row += list(cand) if cand is not None else [None, None, None]
        intervals.append(tuple(row))
    return CalendarTables(first_year, last_year, tuple(days), amounts, tuple(counts),
                          tuple(intervals))


def due_in_python(tables: CalendarTables, start: int, amount_index: int) -> int | None:
    """The due instant the SQL computes, computed from the tables in Python: what the
    fuzz test compares with :meth:`WorkCalendar.add_business` (and a readable
    statement of the SQL's arithmetic)."""
    d = start // DAY_US
    day0 = tables.days[0][0]
    if not 0 <= d - day0 < len(tables.days):
        return None
    _, i, c1, c2 = tables.days[d - day0]
    if i is None:
        return None
    i += (c1 is not None and start >= c1) + (c2 is not None and start >= c2)
    if i >= len(tables.intervals):
        return None
    row = tables.intervals[i]
    o, w = row[1], row[2]
    target = w + max(0, start - o) + tables.amounts[amount_index]
    base = 4 + 3 * sum(tables.candidates[:amount_index])
    for k in range(tables.candidates[amount_index]):
        ok, wk, ek = row[base + 3 * k: base + 3 * k + 3]
        if ek is None:
            return None
        if target <= ek:
            return ok + (target - wk)
    return None
