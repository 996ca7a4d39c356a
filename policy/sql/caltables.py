"""The calendar tables of a statement, created in an engine's DuckDB connection.

A statement built with ``calendars="named"`` or ``"lists"`` reads, per calendar ``k``
(labels in sorted order), the temporary tables ``cal{k}_days`` and ``cal{k}_intervals``
(:class:`policy.sql.calendars.CalendarTables` with its sentinel rows) and the one-row
table ``cal{k}_days_lists`` (:func:`policy.sql.handoffs.list_table_columns`).

How the rows get into DuckDB is the costly part of an engine's start-up: for the 37
years of a default run, ``rules/``'s two calendars are 26,000 day rows and 19,000
interval rows of up to 28 columns. Handed over as Python lists (one list parameter per
column), DuckDB converted them item by item: about 0.38 CPU-s, a third of the engine's
start-up. Here the day and interval rows are written as CSV text to the engine's
scratch folder and read by DuckDB's CSV reader, and each column of the lists table is
one text parameter (``[1,2,NULL]``) cast to ``BIGINT[]``: the same tables (values,
NULLs, types and row order), in about half the time. The CSV files are removed once
read. The text of the last few tables is kept (:data:`_TEXTS`): a process that
builds engines again and again pays only DuckDB's reading.
``tests/test_sql_caltables.py`` checks the tables against the rows they come from.
"""

from __future__ import annotations

import collections
import datetime
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from policy.sql.calendars import DAY_US, FIRST_YEAR, LAST_YEAR
from policy.sql.fallback import OUT_OF_RANGE
from policy.sql.handoffs import list_table_columns
from policy.sql.parquet import parquet_types
from policy.sql.quoting import sql_ident, sql_string

__all__ = ["WIDEST_TABLES", "create_calendar_tables", "data_years", "widened_years"]

#: The most years of calendar tables the Parquet → Parquet path widens to for rows whose
#: business time falls outside the engine's years (``DuckEngine.parquet_to_parquet``); a
#: file that needs more is decided again with the python engine deciding those rows
#: (building the tables for the years 2016 to 9998 took minutes).
WIDEST_TABLES = 200
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


def create_calendar_tables(con: Any, tables: Mapping[str, Any], folder: str, *,
                           lists: bool = False) -> None:
    """(Re)create the calendar tables of ``tables`` (a statement's
    ``meta["calendar_tables"]``: label → :class:`~policy.sql.calendars.CalendarTables`)
    in the DuckDB connection ``con``: the day and interval tables a statement built with
    ``calendars="named"`` joins, or (``lists``) the one-row tables of one built with
    ``calendars="lists"``. ``folder`` holds the CSV files while they are read."""
    for index, label in enumerate(sorted(tables)):
        text = _text(tables[label])
        if lists:
            select = ", ".join(f"CAST(${i + 1} AS BIGINT[]) AS {sql_ident(c)}"
                               for i, c in enumerate(text.list_columns))
            con.execute(f'CREATE OR REPLACE TEMP TABLE "cal{index}_days_lists" AS '
                        f"SELECT {select}", list(text.lists))
            continue
        _create_from_csv(con, f"cal{index}_days", text.days, text.day_columns, folder)
        _create_from_csv(con, f"cal{index}_intervals", text.intervals,
                         text.interval_columns, folder)


@attrs.frozen
class _Text:
    """One calendar's tables as the text DuckDB reads: the day and interval rows (with
    the sentinel rows a statement built with total_joins looks up) as CSV, and each
    column of the lists table as a list's text."""

    days: str
    day_columns: tuple[str, ...]
    intervals: str
    interval_columns: tuple[str, ...]
    list_columns: tuple[str, ...]
    lists: tuple[str, ...]


#: The text of the last few calendar tables, by the tables' identity: writing it is
#: half the cost of creating the tables, and :func:`policy.sql.calendars.build_tables`
#: hands the same object out again for the same calendar and years. Each entry holds
#: its tables, so no identity is reused while it is here.
_TEXTS: collections.OrderedDict[int, tuple[Any, _Text]] = collections.OrderedDict()
_TEXTS_KEPT = 8


_TEXTS_LOCK = threading.Lock()  # engines may be built on several threads


def _text(tables: Any) -> _Text:
    with _TEXTS_LOCK:
        found = _TEXTS.get(id(tables))
        if found is not None and found[0] is tables:
            _TEXTS.move_to_end(id(tables))
            return found[1]
    tabs = tables.with_sentinels()
    lists = list_table_columns(tables)
    text = _Text("".join(map(_csv_line, tabs.days)), tabs.day_columns,
                 "".join(map(_csv_line, tabs.intervals)), tabs.interval_columns,
                 tuple(c for c, _ in lists), tuple(_list_text(v) for _, v in lists))
    with _TEXTS_LOCK:
        _TEXTS[id(tables)] = (tables, text)
        while len(_TEXTS) > _TEXTS_KEPT:
            _TEXTS.popitem(last=False)
    return text


def _create_from_csv(con: Any, name: str, csv: str, cols: Sequence[str],
                     folder: str) -> None:
    """The temporary table ``name`` of BIGINT columns ``cols`` holding the rows of
    ``csv`` (one line a row, an empty cell NULL), in order."""
    path = os.path.join(folder, f"{name}.csv")
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write(csv)
    try:
        spec = ", ".join(f"{sql_string(c)}: 'BIGINT'" for c in cols)
        # no header, no quotes, an empty cell is NULL; one thread keeps the file's order
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM read_csv('
            f"{sql_string(path)}, header = false, auto_detect = false, delim = ',', "
            f"quote = '', escape = '', nullstr = '', parallel = false, "
            f"columns = {{{spec}}})")
    finally:
        os.unlink(path)


def _csv_line(row: Iterable[int | None]) -> str:
    return ",".join("" if v is None else str(v) for v in row) + "\n"


def _list_text(values: Iterable[int | None]) -> str:
    """DuckDB's text of a list of integers (``[1,NULL,3]``), cast to ``BIGINT[]``."""
    return "[" + ",".join("NULL" if v is None else str(v) for v in values) + "]"


def widened_years(con: Any, path: str, years: tuple[int, int], attempt: int
                  ) -> tuple[int, int] | None:
    """Years of calendar tables that hold the business time of the rows of the decision
    file ``path`` that carry ``calendar_out_of_range``, or None when there are none: the
    earliest SLA start's year, and ``10 × 2^attempt`` years past the latest, so a long
    SLA counted from there fits too. ``years`` itself when the tables cannot grow (they
    end at the years 2 and 9998: an SLA started near the end of year 9999)."""
    file = f"read_parquet({sql_string(path)})"
    starts = [name for name, _ in parquet_types(con, path) if name.endswith("_sla_start")]
    if not starts:
        return None
    lo = ", ".join(f"min(year({c}))" for c in starts)
    hi = ", ".join(f"max(year({c}))" for c in starts)
    row = con.execute(f"SELECT least({lo}), greatest({hi}) FROM {file} "
                      f"WHERE list_contains(violations, '{OUT_OF_RANGE}')").fetchone()
    if row is None or row[0] is None:
        return None
    first = max(FIRST_YEAR, min(years[0], row[0] - 1))
    last = min(LAST_YEAR, max(years[1], row[1] + 10 * 2 ** attempt))
    return (first, last)


#: The DuckDB types of a Parquet column whose smallest and largest instant DuckDB reads
#: as the SLA's start reads it (UTC µs): :data:`policy.sql.parquet._TIMESTAMPS`.
_INSTANT_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")


def data_years(con: Any, relation: str, columns: Mapping[str, str], program: Any,
               default: tuple[int, int]) -> tuple[int, int]:
    """The years of calendar tables that hold the business time of every row of
    ``relation`` (a Parquet file's view; ``columns``: its column → DuckDB type), else
    ``default`` (the engine's years).

    The Parquet → Parquet path crosses every row with its calendars' tables as lists,
    so their length is paid per chunk, and building them is most of the engine's
    start-up: 37 years by default, where a day's leads start their SLAs in one or two.
    The tables here reach from the year before the earliest SLA start to the year after
    the due instant of the longest business duration counted from the first instant
    after the latest start, on every calendar of the policy (a due instant never comes
    before a later start's). Each SLA's start must be a top-level column DuckDB types
    as an instant (its min and max come from the file's statistics), else the default.
    A row still outside them gets ``calendar_out_of_range`` and the file is decided
    again on wider tables (:func:`widened_years`), as with the default years; a span
    wider than :data:`WIDEST_TABLES` keeps the default, and with it that path."""
    from policy.engine import ir
    from policy.engine.runtime import working_us
    from policy.engine.timestamps import to_datetime

    starts, durations = set(), []
    for h in program.handoffs:
        if h.sla is None:
            continue
        found = [d for d in (h.sla.duration, h.escalate.after if h.escalate else None)
                 if d is not None and d.is_business]
        if not found:
            continue
        durations += found
        start = h.sla.start
        if not isinstance(start, ir.Field) or len(start.path) != 1 or start.ts is None:
            return default
        column = start.path[0]
        if column not in columns:
            continue  # never present: no business time to count
        if columns[column] not in _INSTANT_TYPES:
            return default
        starts.add(column)
    calendars = [c for c in program.calendars.values() if c is not None]
    if not durations or not calendars:
        return default  # no calendar tables at all
    if not starts:
        return default
    lo = ", ".join(f"epoch_us(min({sql_ident(c)}))" for c in sorted(starts))
    hi = ", ".join(f"epoch_us(max({sql_ident(c)}))" for c in sorted(starts))
    first_us, last_us = con.execute(f"SELECT least({lo}), greatest({hi}) FROM {relation}"
                                    ).fetchone()
    if first_us is None or last_us is None:
        return default  # no row has a start (or one is infinite, which reads as none)
    try:
        first = to_datetime(first_us).year - 1
        after = to_datetime(last_us).year + 1
        # the first instant of the year after the latest start, UTC
        edge = (datetime.date(after, 1, 1).toordinal() - _EPOCH_ORDINAL) * DAY_US
        last = after
        for cal in calendars:
            for d in durations:
                last = max(last, to_datetime(
                    cal.add_business(edge, working_us(d.amount, d.unit, cal))).year + 1)
    except (ValueError, OverflowError, ArithmeticError):
        return default  # an instant or due past the years Python can write
    first, last = max(FIRST_YEAR, first), min(LAST_YEAR, last)
    if first > last or last - first > WIDEST_TABLES:
        return default
    return (first, last)
