"""Timestamps read in SQL (:mod:`policy.sql.checks`) as :func:`parse_timestamp` reads them:
the same instant or the same refusal, for every kind, on generated text around the
edges (offsets, fractions, leap days, hour 24, lower-case separators, junk)."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from policy.engine.timestamps import parse_timestamp
from policy.sql.checks import timestamp_parts, timestamp_shape, timestamp_value
from policy.sql.dialects import dialect

_D = dialect("duckdb")


def _sql(kind: str) -> str:
    s = exp.column("s")
    shape = timestamp_shape(s, kind).sql("duckdb")
    parts = ", ".join(f"{e.sql('duckdb')} AS p_{name}"
                      for name, e in timestamp_parts(s, kind, exp.column("ok")))
    value = timestamp_value(lambda p: exp.column(f"p_{p}"), _D).sql("duckdb")
    return (f"SELECT {value} FROM (SELECT *, {parts} FROM (SELECT s, {shape} AS ok "
            "FROM (SELECT unnest($1) AS s, generate_subscripts($1, 1) AS i) ORDER BY i))")


_CON = duckdb.connect()
_QUERIES = {kind: _sql(kind) for kind in ("date-time", "date", "any")}

_digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
_year = st.sampled_from(["0000", "0001", "1969", "1970", "2024", "2026", "9999"])
_texts = st.builds(
    lambda y, mo, d, sep, h, mi, sec, frac, off: f"{y}-{mo}-{d}{sep}{h}:{mi}{sec}{frac}{off}",
    _year, st.sampled_from(["01", "02", "12", "13", "00"]),
    st.sampled_from(["01", "28", "29", "30", "31", "32"]),
    st.sampled_from(["T", "t", " ", "_"]), st.sampled_from(["00", "09", "23", "24"]), _digits,
    st.sampled_from(["", ":00", ":59", ":60", ":5"]),
    st.sampled_from(["", ".1", ".123456789", ",5", "."]),
    st.sampled_from(["", "Z", "z", "+05:30", "-0800", "+01", "+24:00", "-00:61", "+5"]),
)
_any_text = st.one_of(_texts, _texts.map(lambda t: t[:10]), st.text(max_size=12),
                      _texts.map(lambda t: t + "\n"), _texts.map(lambda t: " " + t))


@settings(max_examples=60, deadline=None)
@given(st.lists(_any_text, min_size=1, max_size=40))
def test_sql_reads_timestamps_exactly_as_python(texts):
    for kind, query in _QUERIES.items():
        got = [r[0] for r in _CON.execute(query, [texts]).fetchall()]
        want = [parse_timestamp(t, kind=kind) for t in texts]
        assert got == want, [(t, g, w) for t, g, w in zip(texts, got, want, strict=True)
                             if g != w]


_TS_POLICY = '''policy p "t"
schema "s.json"
id lead_id
team m "@m"
team s "@s"
calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
funnel lead -> mql
score eng owned by m {
  +10 if days_since(last_at) < 10
  +5 if created_at > mql_at
  +1 per hours_since(seen_at) up to 50
  decay half-life 30 days since last_at
}
stage lead owned by m {
  require created_at is present
}
stage mql owned by m {
  require mql_at is present
}
handoff mql to s {
  route "x" otherwise
  sla 4 business hours from mql_at until accepted_at
}
'''
_TS_SCHEMA = {"type": "object", "properties": {
    "lead_id": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
    "mql_at": {"type": ["string", "null"], "format": "date-time"},
    "accepted_at": {"type": ["string", "null"], "format": "date-time"},
    "last_at": {"type": ["string", "null"], "format": "date"},
    "seen_at": {"type": ["string", "null"]}}}


def test_printed_duckdb_sql_reads_native_timestamp_columns_as_text_of_the_same_instants(
        tmp_path):
    # `funnel sql` over TIMESTAMP / TIMESTAMPTZ / DATE columns failed to bind
    # (regexp_matches(DATE, …)); they now decide as text columns of the same instants,
    # whatever the session's time zone (a TIMESTAMPTZ's own text is in that zone, with
    # an offset in seconds before 1900: Amsterdam's +00:19:32).
    import json
    from datetime import UTC, datetime

    import policy

    (tmp_path / "p.funnel").write_text(_TS_POLICY, encoding="utf-8")
    (tmp_path / "s.json").write_text(json.dumps(_TS_SCHEMA), encoding="utf-8")
    pol = policy.load(tmp_path)
    sql = pol.sql(dialect="duckdb", table="leads", as_of=datetime(2026, 12, 1, tzinfo=UTC),
                  years=(2026, 2027))
    rows = [("a", "2026-11-01T10:00:00Z", "2026-11-02T15:00:00.123456-05:00",
             "2026-11-03T09:00:00Z", "2026-11-25", "1850-01-01T00:00:00Z"),
            ("b", "2026-11-01T10:00:00.5Z", None, None, "2026-11-24", "2026-11-30T23:00:00Z"),
            ("c", "2026-11-05T10:00:00Z", "2026-11-02T10:00:00Z", "2026-11-02T16:59:59.999999Z",
             None, None)]
    for zone in ("UTC", "Australia/Lord_Howe", "Europe/Amsterdam"):
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{zone}'")
        con.execute("CREATE TABLE leads (lead_id VARCHAR, created_at VARCHAR, mql_at VARCHAR, "
                    "accepted_at VARCHAR, last_at VARCHAR, seen_at VARCHAR)")
        con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?)", rows)
        text = sorted(con.execute(sql).fetchall())
        assert [r[6] for r in text] == ["mql", "lead", "mql"] and all(r[-2] is None for r in text)
        con.execute("ALTER TABLE leads RENAME TO texts")
        con.execute("CREATE TABLE leads AS SELECT lead_id, created_at::TIMESTAMPTZ AS created_at, "
                    "mql_at::TIMESTAMPTZ AS mql_at, "
                    "timezone('UTC', accepted_at::TIMESTAMPTZ)::TIMESTAMP_NS AS accepted_at, "
                    "last_at::DATE AS last_at, seen_at::TIMESTAMPTZ AS seen_at FROM texts")
        assert sorted(con.execute(sql).fetchall()) == text, zone


def _z_forms() -> list[str]:
    """Texts of the form ``YYYY-MM-DDTHH:MM:SSZ`` around every edge (the year 0, leap
    and non-leap Februaries of 1900, 2000 and 2023, hour 24, minute and second 60) and a
    few that are not quite it (a sign, a space or a letter in a digit's place)."""
    import itertools

    texts = [f"{y}-{mo}-{d}T{h}:{mi}:{sec}Z" for y, mo, d, h, mi, sec in itertools.product(
        ["0000", "0001", "1900", "2000", "2023", "2024", "9999"],
        ["00", "01", "02", "04", "12", "13"], ["00", "01", "28", "29", "30", "31", "32"],
        ["00", "23", "24", "99"], ["00", "59", "60"], ["00", "59", "60", "61"])]
    return texts + ["+026-01-01T00:00:00Z", "2026-01-01T00:00:0 Z", "2026-0a-01T00:00:00Z",
                    "2026-01-01t00:00:00Z", "2026-01-01T00:00:00z", " 2026-01-01T00:00:0Z",
                    "2026-01-01T00:00:00Z ", "٢٠٢٦-01-01T00:00:00Z"]


def test_the_json_sources_quick_instant_reads_the_z_form_as_python():
    """``DuckJson.quick_instant``: wherever its condition holds, its instant is the
    python engine's (or both refuse); the texts it leaves to the general rules (year 0,
    hour 24, anything not exactly the form) are read by those, tested above."""
    from policy.sql.sources import DuckJson

    src = DuckJson(_D)
    texts = _z_forms()
    assert src.quick_instant(exp.column("s"), "date") is None
    for kind in ("date-time", "any"):
        cond, value = src.quick_instant(exp.column("s"), kind)
        rows = _CON.execute(f"SELECT s, {cond.sql('duckdb')}, {value.sql('duckdb')} "
                            "FROM (SELECT unnest($1) AS s, generate_subscripts($1, 1) AS i) "
                            "ORDER BY i", [texts]).fetchall()
        taken = [(s, got) for s, ok, got in rows if ok]
        assert len(taken) > len(texts) // 3
        wrong = [(s, got, parse_timestamp(s, kind=kind)) for s, got in taken
                 if got != parse_timestamp(s, kind=kind)]
        assert wrong == []
        left = {s for s, ok, _ in rows if not ok}
        assert {"0000-01-01T00:00:00Z", "2024-01-01T24:00:00Z", "+026-01-01T00:00:00Z",
                "2026-01-01t00:00:00Z"} <= left
