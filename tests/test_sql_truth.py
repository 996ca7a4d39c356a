"""DuckDB's Parquet → Parquet statement drops ``COALESCE(test, FALSE)`` where only a
test's truth is read (:mod:`policy.sql.truth`), and the tech stack's lowering skips the
final-sigma rule where no needle can tell it apart (``Dialect.lower_array``)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

import policy
from policy.sql.dialects import dialect, sigma_free
from policy.sql.truth import drop_truth_coalesces, flatten_cases

ROOT = Path(__file__).resolve().parents[1]
VALUES = (True, False, None)


def _rewrite(sql: str) -> str:
    return flatten_cases(drop_truth_coalesces(sqlglot.parse_one(sql, read="duckdb"))
                         ).sql("duckdb")


@pytest.mark.parametrize(("before", "after"), [
    ("CASE WHEN COALESCE(x > 1, FALSE) THEN 1 END", "CASE WHEN x > 1 THEN 1 END"),
    ("CASE WHEN COALESCE(a, FALSE) AND (COALESCE(b, FALSE) OR c) THEN 1 END",
     "CASE WHEN a AND (b OR c) THEN 1 END"),
    ("CASE WHEN COALESCE(COALESCE(a, FALSE) OR b, FALSE) THEN 1 END",
     "CASE WHEN a OR b THEN 1 END"),
    # under NOT, in a value, in a comparison or a simple CASE's values: NULL is not FALSE
    ("CASE WHEN NOT COALESCE(a, FALSE) THEN 1 END", "CASE WHEN NOT COALESCE(a, FALSE) THEN 1 END"),
    ("CASE WHEN a THEN COALESCE(b, FALSE) END", "CASE WHEN a THEN COALESCE(b, FALSE) END"),
    ("CASE WHEN COALESCE(a, FALSE) = b THEN 1 END", "CASE WHEN COALESCE(a, FALSE) = b THEN 1 END"),
    ("CASE a WHEN COALESCE(b, FALSE) THEN 1 END", "CASE a WHEN COALESCE(b, FALSE) THEN 1 END"),
    ("COALESCE(a, TRUE)", "COALESCE(a, TRUE)"),
    # nested wrappers are one; a test that is never NULL needs none
    ("COALESCE(COALESCE(a, FALSE), FALSE)", "COALESCE(a, FALSE)"),
    ("COALESCE(NOT x IS NULL AND y IS NULL, FALSE)", "NOT x IS NULL AND y IS NULL"),
    ("COALESCE(NOT x IS NULL AND y > 1, FALSE)", "COALESCE(NOT x IS NULL AND y > 1, FALSE)"),
])
def test_wrappers_dropped_only_where_null_reads_as_false(before, after):
    assert _rewrite(before) == after


def _expr(rng: random.Random, depth: int) -> str:
    atoms = ["a", "b", "c", "x > 1", "x IS NULL", "TRUE", "FALSE", "NULL::BOOLEAN"]
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(atoms)
    sub = lambda: _expr(rng, depth - 1)  # noqa: E731
    sure = lambda: rng.choice(["x IS NULL", "NOT (a IS NULL)", f"COALESCE({sub()}, FALSE)"])  # noqa: E731
    return rng.choice([
        lambda: f"CASE WHEN {sure()} THEN CASE WHEN {sub()} THEN {sub()} WHEN {sub()} "
                f"THEN {sub()} END END",
        lambda: f"CASE WHEN {sub()} THEN {sub()} ELSE CASE WHEN {sub()} THEN {sub()} "
                f"ELSE {sub()} END END",
        lambda: f"CASE WHEN {sub()} THEN {sub()} ELSE (CASE WHEN {sub()} THEN {sub()} END) END",
        lambda: f"COALESCE({sub()}, FALSE)",
        lambda: f"({sub()} AND {sub()})",
        lambda: f"({sub()} OR {sub()})",
        lambda: f"NOT ({sub()})",
        lambda: f"CASE WHEN {sub()} THEN {sub()} ELSE {sub()} END",
        lambda: f"CASE WHEN {sub()} THEN {sub()} WHEN {sub()} THEN {sub()} END",
        lambda: f"COALESCE(({sub()}) = ({sub()}), FALSE)",
    ])()


def test_the_rewritten_expressions_have_the_same_value_in_every_row():
    # 400 random boolean expressions over three-valued columns, each row of
    # {TRUE, FALSE, NULL}^3 x {NULL, 0, 5}: the same value (NULL included) before and after
    rng = random.Random(23)
    exprs = [_expr(rng, 4) for _ in range(400)]
    rewritten = [_rewrite(e) for e in exprs]
    # the rewrites did something
    assert sum(e.count("COALESCE") for e in rewritten) < \
        sum(e.count("COALESCE") for e in exprs) * 0.8
    assert sum(e.count("CASE") for e in rewritten) < sum(e.count("CASE") for e in exprs) * 0.9
    rows = [(*abc, x) for abc in itertools.product(VALUES, repeat=3) for x in (None, 0, 5)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a BOOLEAN, b BOOLEAN, c BOOLEAN, x INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    for old, new in zip(exprs, rewritten, strict=True):
        got = con.execute(f"SELECT count(*) FROM t WHERE ({old}) IS DISTINCT FROM ({new})"
                          ).fetchone()[0]
        assert got == 0, (old, new)


@pytest.mark.parametrize(("before", "after"), [
    ("CASE WHEN a THEN 1 ELSE CASE WHEN b THEN 2 ELSE 3 END END",
     "CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END"),
    ("CASE WHEN x IS NULL THEN CASE WHEN b THEN 2 END END",
     "CASE WHEN NOT (x IS NULL) THEN NULL WHEN b THEN 2 END"),
    # a test that may be NULL, an inner ELSE, a simple CASE: kept
    ("CASE WHEN a THEN CASE WHEN b THEN 2 END END", "CASE WHEN a THEN CASE WHEN b THEN 2 END END"),
    ("CASE WHEN x IS NULL THEN CASE WHEN b THEN 2 ELSE 3 END END",
     "CASE WHEN x IS NULL THEN CASE WHEN b THEN 2 ELSE 3 END END"),
    ("CASE WHEN a THEN 1 ELSE CASE x WHEN 1 THEN 2 END END",
     "CASE WHEN a THEN 1 ELSE CASE x WHEN 1 THEN 2 END END"),
])
def test_nested_cases_made_one_where_the_value_is_the_same(before, after):
    assert _rewrite(before) == after


def test_a_node_in_two_places_is_rewritten_for_each_place():
    # the compiler reuses nodes: a test under a WHEN and, the same node, under NOT
    # (where NULL is not FALSE), and a CASE whose value sits in a WHEN and a THEN
    test = sqlglot.parse_one("COALESCE(a, FALSE) AND COALESCE(b, FALSE)", read="duckdb")
    inner = sqlglot.parse_one("CASE WHEN COALESCE(c, FALSE) THEN 1 ELSE 0 END", read="duckdb")
    x = exp.Add(this=exp.column("x"), expression=inner)
    tree = exp.select(
        exp.Case(ifs=[exp.If(this=test, true=exp.Literal.number(1))]).as_("t", copy=False),
        exp.Not(this=exp.Paren(this=test)).as_("n", copy=False),
        exp.Case(ifs=[exp.If(
            this=exp.Between(this=x, low=exp.Literal.number(0), high=exp.Literal.number(5)),
            true=exp.Add(this=x, expression=exp.Literal.number(1)))]).as_("v", copy=False),
        copy=False).from_("t", copy=False)
    before = tree.sql("duckdb")
    after = flatten_cases(drop_truth_coalesces(tree)).sql("duckdb")
    assert "NOT (COALESCE(a, FALSE) AND COALESCE(b, FALSE))" in after
    assert "COALESCE(c" not in after
    rows = [(*abc, x) for abc in itertools.product(VALUES, repeat=3) for x in (None, 0, 5)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a BOOLEAN, b BOOLEAN, c BOOLEAN, x INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    assert con.execute(before).fetchall() == con.execute(after).fetchall()


def test_sigma_free_needles():
    s = exp.Literal.string
    assert sigma_free([s("snowflake"), s("BigQuery")])
    assert not sigma_free([s("snowflake"), s("οδος")])  # a final sigma
    assert not sigma_free([s("ΟΔΟΣ")])  # lower-cases to a sigma
    assert not sigma_free([exp.column("x")])  # not a literal


@pytest.mark.parametrize("needle", ["snowflake", "databricks", "i̇stanbul", "ok", "ας"])
def test_lowering_without_the_sigma_rule_finds_what_python_finds(needle):
    # elements with capital sigmas (final and not), a dotted capital I and the Kelvin
    # sign: the list lowered without the final-sigma rule holds a sigma-free needle
    # exactly when python's lower() of some element is the needle
    lists = [["SNOWFLAKE"], ["SnowflakeΣ"], ["ΣNOWFLAKE", "x"], ["İSTANBUL"], ["ISTANBUL"],
             ["OK"], ["O\u212a"], ["Σ"], ["ΑΣ"], ["ΑΣ", "Σ"], [], ["databricks", "Snowflake"]]
    d = dialect("duckdb")
    plain = d.lower_array(exp.column("l"), sigma=False).sql("duckdb")
    full = d.lower_array(exp.column("l")).sql("duckdb")
    con = duckdb.connect()
    got = con.execute(f"SELECT list_contains({plain}, ?), list_contains({full}, ?) "
                      "FROM (SELECT unnest(?::VARCHAR[][]) AS l)",
                      [needle, needle, lists]).fetchall()
    want = [any(e.lower() == needle for e in lst) for lst in lists]
    assert any(want)
    assert [f for _, f in got] == want  # the full rule is python's
    if sigma_free([exp.Literal.string(needle)]):
        assert [p for p, _ in got] == want
    else:  # "ας": the shortcut would be wrong, so it is not taken for such a needle
        assert [p for p, _ in got] != want


def test_the_example_policys_parquet_statement_has_neither(tmp_path):
    from policy.sql.duck import DuckEngine

    leads = tmp_path / "leads.parquet"
    duckdb.connect().execute(
        "COPY (SELECT * FROM read_json(?, format='newline_delimited', sample_size=-1)) "
        "TO ? (FORMAT parquet)", [str(ROOT / "rules" / "leads.jsonl"), str(leads)])
    engine = DuckEngine(policy.load(ROOT / "rules"),
                        as_of=policy.parse_timestamp("2026-12-01T16:00:00Z"))
    try:
        engine.parquet_to_parquet(str(leads), str(tmp_path / "out.parquet"))
        sql = engine._parquet_sql
    finally:
        engine.close()
    assert "COALESCE(COALESCE(" not in sql
    assert "CASE WHEN COALESCE(" not in sql
    # the tech stack is compared with sigma-free texts only: no element tested for a sigma
    assert "company" in sql and "LIST_TRANSFORM" in sql and "LIST_BOOL_OR" not in sql
