"""The calendar tables in DuckDB (:mod:`policy.sql.caltables`) hold exactly the rows
:func:`policy.sql.calendars.build_tables` computes, and equal calendars share one
computation of their rows (:func:`build_tables` remembers the last few).

The tables are read back whole: every value, every NULL (a day past the last interval,
a due candidate past the tables, the sentinel rows), the column names and types and the
row order, for calendars with holidays, a half-hour zone, a daylight-saving gap and
several business amounts, and for an empty lists column (a calendar no amount uses).
The one-row list tables (a statement built with ``calendars="lists"``) are made only
when asked for.
"""

from __future__ import annotations

import os

import duckdb
import pytest

from policy.io.atomic import drop_scratch, scratch_folder
from policy.model.calendar import make_calendar
from policy.sql.calendars import build_tables
from policy.sql.caltables import create_calendar_tables
from policy.sql.handoffs import list_table_columns

HOUR = 3_600_000_000
CALENDARS = {
    "chicago_holidays": dict(timezone="America/Chicago", workdays=["mon", "tue", "wed",
                                                                   "thu", "fri"],
                             start_minute="08:30", end_minute="17:30",
                             holidays=["2026-11-26", "2026-12-25"]),
    "kolkata": dict(timezone="Asia/Kolkata", workdays=["mon", "tue", "wed", "thu", "fri"],
                    start_minute="09:30", end_minute="18:00"),
    "new_york_gap_hour": dict(timezone="America/New_York", workdays=["sun", "mon"],
                              start_minute="01:30", end_minute="03:30"),
}


@pytest.fixture
def con():
    folder = scratch_folder("funnel-test-caltables-")
    connection = duckdb.connect()
    yield connection, folder
    connection.close()
    drop_scratch(folder)


def _table(connection, name):
    types = [(row[0], row[1]) for row in connection.execute(f'DESCRIBE "{name}"').fetchall()]
    return types, connection.execute(f'SELECT * FROM "{name}"').fetchall()


def test_duckdb_holds_the_rows_the_tables_were_built_from(con):
    connection, folder = con
    tables = {
        "a": build_tables(make_calendar(**CALENDARS["chicago_holidays"]), 2025, 2027,
                          [1, 4 * HOUR, 40 * HOUR, 900 * HOUR]),
        "b": build_tables(make_calendar(**CALENDARS["kolkata"]), 2026, 2026, [9 * HOUR]),
        "c": build_tables(make_calendar(**CALENDARS["new_york_gap_hour"]), 2026, 2027, []),
    }
    create_calendar_tables(connection, tables, folder)
    made = {r[0] for r in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert made == {f"cal{i}_{kind}" for i in range(3) for kind in ("days", "intervals")}
    create_calendar_tables(connection, tables, folder, lists=True)  # calendars="lists"
    for index, label in enumerate(sorted(tables)):
        tabs = tables[label].with_sentinels()
        for kind, rows, cols in (("days", tabs.days, tabs.day_columns),
                                 ("intervals", tabs.intervals, tabs.interval_columns)):
            types, got = _table(connection, f"cal{index}_{kind}")
            assert types == [(c, "BIGINT") for c in cols]
            assert got == [tuple(row) for row in rows]  # in order, NULLs kept
            assert any(None in row for row in got)  # the sentinel row at least
        types, got = _table(connection, f"cal{index}_days_lists")
        lists = list_table_columns(tables[label])
        assert types == [(c, "BIGINT[]") for c, _ in lists]
        assert got == [tuple(values for _, values in lists)]
    # a candidate past the tables is a NULL inside a list, not a missing item
    _, (row,) = _table(connection, "cal0_days_lists")
    assert None in row[0] or None in row[1] or None in row[2]
    # the CSV text is gone once read; the folder stays the caller's
    assert os.listdir(folder) == []


def test_tables_created_again_replace_the_earlier_ones(con):
    connection, folder = con
    cal = make_calendar(**CALENDARS["kolkata"])
    create_calendar_tables(connection, {"x": build_tables(cal, 2026, 2026, [HOUR])}, folder)
    wider = build_tables(cal, 2025, 2027, [HOUR, 2 * HOUR])
    create_calendar_tables(connection, {"x": wider}, folder)
    types, got = _table(connection, "cal0_intervals")
    assert got == [tuple(row) for row in wider.with_sentinels().intervals]
    assert len(types) == len(wider.interval_columns)


def test_equal_calendars_share_one_computation_of_their_rows():
    first = make_calendar(**CALENDARS["chicago_holidays"])
    again = make_calendar(**CALENDARS["chicago_holidays"])  # equal, not the same object
    assert first == again and first is not again
    tables = build_tables(first, 2026, 2027, [HOUR, 4 * HOUR])
    assert build_tables(again, 2026, 2027, (HOUR, 4 * HOUR)) is tables
    # anything that changes the rows gives other tables
    assert build_tables(first, 2026, 2027, [HOUR]) is not tables
    assert build_tables(first, 2025, 2027, [HOUR, 4 * HOUR]).days != tables.days
    other = make_calendar(**{**CALENDARS["chicago_holidays"], "holidays": ["2026-11-26"]})
    assert build_tables(other, 2026, 2027, [HOUR, 4 * HOUR]).intervals != tables.intervals


def test_an_amount_equal_to_an_integer_is_not_taken_for_it():
    cal = make_calendar(**CALENDARS["kolkata"])
    exact = build_tables(cal, 2026, 2026, [HOUR])
    as_float = build_tables(cal, 2026, 2026, [float(HOUR)])
    assert as_float is not exact
    assert type(as_float.amounts[0]) is float and type(exact.amounts[0]) is int


def test_the_kept_text_is_bounded_and_safe_to_build_on_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    from policy.sql import caltables

    cal = make_calendar(**CALENDARS["kolkata"])
    # more tables than are kept, asked for by four threads at once, each twice
    tables = [build_tables(cal, 2026, 2026, [k * HOUR]) for k in range(1, 13)]
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(caltables._text, tables + tables))
    assert len(caltables._TEXTS) <= caltables._TEXTS_KEPT
    for tabs, text in zip(tables + tables, texts, strict=True):
        assert text == caltables._text(tabs)  # the same text, kept or made again
        assert text.intervals.count("\n") == len(tabs.intervals) + 1  # the sentinel row
