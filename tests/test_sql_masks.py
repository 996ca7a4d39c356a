"""The DuckDB list of texts kept by tests, looked up by the tests' bits
(:mod:`policy.sql.masks`): the same list as ``LIST_WHERE`` (and as ``LIST_FILTER`` of
the ``CASE`` items other dialects print) for every combination of true, false and
NULL tests; more texts than :data:`LOOKUP_MAX` stay ``LIST_WHERE``."""

from __future__ import annotations

import itertools

import duckdb
import pytest
from sqlglot import exp

from policy.sql.dialects import dialect
from policy.sql.masks import LOOKUP_MAX, masked_lookup

D = dialect("duckdb")
#: repeated texts (a violation code per handoff) and texts SQL must quote
TEXTS = ["missing_sla_start", "it's", "", "missing_sla_start", "é\u0301", "x, y", "[z]"]


def _items(n: int) -> list[exp.Expression]:
    return [exp.Case(ifs=[exp.If(this=exp.column(f"t{k}"), true=exp.Literal.string(TEXTS[k]))])
            for k in range(n)]


@pytest.mark.parametrize("n", range(1, LOOKUP_MAX + 1))
def test_lookup_is_list_where_for_every_combination_of_tests(n: int) -> None:
    items = _items(n)
    looked = D.compact(items).sql(dialect="duckdb")
    assert looked.startswith("LIST_EXTRACT(") and "LIST_WHERE" not in looked
    where = ("LIST_WHERE([" + ", ".join(exp.Literal.string(t).sql("duckdb") for t in TEXTS[:n])
             + "], [" + ", ".join(f"COALESCE(t{k}, FALSE)" for k in range(n)) + "])")
    listed = ", ".join(i.sql(dialect="duckdb") for i in items)
    combos = list(itertools.product((True, False, None), repeat=n))
    rows = duckdb.connect().execute(
        f"SELECT {looked}, {where}, list_filter([{listed}], lambda x: x IS NOT NULL), "
        f"typeof({looked}) FROM (SELECT " + ", ".join(
            f"CAST(unnest(${k + 1}) AS BOOLEAN) AS t{k}" for k in range(n)) + ")",
        [[c[k] for c in combos] for k in range(n)]).fetchall()
    assert len(rows) == 3 ** n
    for combo, (got, want, filtered, kind) in zip(combos, rows, strict=True):
        expected = [TEXTS[k] for k in range(n) if combo[k]]
        assert got == want == filtered == expected, combo
        assert kind == "VARCHAR[]"


def test_more_texts_stay_list_where_and_other_dialects_filter() -> None:
    many = _items(LOOKUP_MAX + 1)
    assert D.compact(many).sql(dialect="duckdb").startswith("LIST_WHERE(")
    assert masked_lookup([]) is None
    assert "LIST_EXTRACT" not in dialect("spark").compact(_items(2)).sql(dialect="spark")
