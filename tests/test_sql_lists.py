"""DuckDB spellings of list membership, list compaction and an e-mail's domain
(:mod:`policy.sql.dialects`): each gives what the plain form gives, row for row."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from policy.engine import runtime as rt
from policy.sql.dialects import BUCKETED_IN, dialect, text_bucket

D = dialect("duckdb")
TEXTS = ["gmail.com", "hotmail.fr", "hotmail.de", "", "é", "e\u0301", "😀x", "ß.de", "İ",
         "a b", "it's", "x\ny", "\u0000z"] + [f"mail{i}.example" for i in range(40)]
PROBES = TEXTS + ["GMAIL.COM", "gmail.co", "hotmail.f", "e", "😀", "ss.de", None, "mail40.example",
                  "mail1.exampl"]


def _sql(e: exp.Expression) -> str:
    return e.sql(dialect="duckdb")


def _lit(s: str) -> exp.Expression:
    return exp.Literal.string(s)


def test_text_bucket_is_duckdbs() -> None:
    con = duckdb.connect()
    for n in (16, 64, 256):
        got = con.execute(f"SELECT s, (strlen(s) * 31 + ord(s) + 1) % {n} FROM unnest(?) t(s)",
                          [TEXTS]).fetchall()
        assert got and all(k == text_bucket(s, n) for s, k in got)


def test_a_long_text_list_is_searched_by_bucket_and_answers_as_in() -> None:
    con = duckdb.connect()
    texts = [_lit(t) for t in TEXTS]
    assert len(texts) >= BUCKETED_IN
    bucketed = D.text_in(exp.column("s"), texts)
    assert not isinstance(bucketed, exp.In)  # the old spelling: an IN of 53 items
    plain = exp.In(this=exp.column("s"), expressions=texts)
    rows = con.execute(f"SELECT s, {_sql(bucketed)}, {_sql(plain)} FROM unnest(?) t(s)",
                       [PROBES]).fetchall()
    assert len(rows) == len(PROBES)
    assert all(a == b for _, a, b in rows), [r for r in rows if r[1] != r[2]]
    assert sum(1 for _, a, _ in rows if a) == len(TEXTS)


def test_short_lists_and_other_dialects_keep_in() -> None:
    few = [_lit(t) for t in TEXTS[:BUCKETED_IN - 1]]
    assert isinstance(D.text_in(exp.column("s"), few), exp.In)
    many = [_lit(t) for t in TEXTS]
    assert isinstance(dialect("postgres").text_in(exp.column("s"), many), exp.In)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=6), min_size=BUCKETED_IN, max_size=80, unique=True),
       st.lists(st.text(max_size=6), max_size=20))
def test_bucketed_membership_on_generated_texts(items, probes) -> None:
    items = [t for t in items if "\x00" not in t and not any(0xD800 <= ord(c) < 0xE000 for c in t)]
    probes = [t for t in probes if "\x00" not in t
              and not any(0xD800 <= ord(c) < 0xE000 for c in t)] + items[:5]
    if len(items) < BUCKETED_IN:
        return
    texts = [_lit(t) for t in items]
    got = duckdb.connect().execute(
        f"SELECT s, COALESCE({_sql(D.text_in(exp.column('s'), texts))}, FALSE) "
        "FROM unnest(?) t(s)", [probes]).fetchall()
    assert [(s, s in items) for s in probes] == got


def test_compact_of_texts_under_tests_is_a_lookup_and_keeps_order() -> None:
    con = duckdb.connect()
    items = [exp.Case(ifs=[exp.If(this=exp.column(c), true=_lit(t))])
             for c, t in (("a", "first"), ("b", "second"), ("c", "third"))]
    new = _sql(D.compact(items))
    assert new.startswith("LIST_EXTRACT(")  # a few texts: tests/test_sql_masks.py
    old = _sql(dialect("spark").compact(items))  # LIST_FILTER of the items (FILTER)
    listed = ", ".join(_sql(i) for i in items)
    rows = con.execute(
        f"SELECT {new}, list_filter([{listed}], lambda x: x IS NOT NULL) "
        "FROM (VALUES (true, NULL, true), (NULL, NULL, NULL), (false, true, false), "
        "(true, true, true)) t(a, b, c)").fetchall()
    assert rows == [(["first", "third"],) * 2, ([],) * 2, (["second"],) * 2,
                    (["first", "second", "third"],) * 2]
    assert old  # printed for Spark as before


def test_compact_with_an_item_that_is_not_a_text_under_a_test_filters() -> None:
    items = [exp.Case(ifs=[exp.If(this=exp.column("a"), true=exp.column("v"))])]
    assert "LIST_WHERE" not in _sql(D.compact(items))


@pytest.mark.parametrize("email", ["a@b.com", "a@b@C.Com", "no-at", "", "a@", "@", "x\n@y\nz",
                                   "@@", "İ@İX.com", "é@É.fr"])
def test_domain_is_the_text_after_the_last_at(email) -> None:
    con = duckdb.connect()
    part = _sql(D.after_last(exp.column("s"), "@"))
    regex = _sql(dialect("postgres").after_last(exp.column("s"), "@"))
    got, want = con.execute(f"SELECT {part}, {regex} FROM (SELECT ? AS s)", [email]).fetchone()
    if "@" in email:
        assert got == want == email.rsplit("@", 1)[1]
        assert rt.domain(email) == email.rsplit("@", 1)[1].lower()
