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
