"""Field names from a policy that a dialect's statement would read as another field.

- BigQuery reads a dot inside a backticked name as a path: `` `a.b` `` is the field ``b``
  of a column ``a`` (and a BigQuery column name cannot hold a dot), so the policy's field
  `` `a.b` `` (a key with a dot, as CRM exports write `utm.source`) was read from
  another column's struct field. Spark, DuckDB, Postgres, Snowflake and Trino take the
  quoted name whole.
- ``--flat SEP`` joins a path's keys with SEP: ``a.b_c`` and ``a_b.c`` are both the column
  ``a_b_c`` with ``--flat _``, so both fields were decided from one column's value.

Both are now refused by name, as a name longer than the dialect allows is (spec section
10), rather than printed as SQL that decides otherwise than the python engine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.engine.timestamps import parse_timestamp
from policy.sql import SqlUnsupported, to_sql

DOTS = '''policy dots "Dots"
id lead_id
team t "@t"
funnel lead
score s owned by t {
  +1 if `utm.source` == "x"
  +2 if o.`a.b` == "x"
}
stage lead owned by t {
}
'''

FLAT = '''policy flat "Flat"
id lead_id
team t "@t"
funnel lead
score s owned by t {
  +1 if a.b_c == "x"
  +2 if a_b.c == "x"
  +4 if a_b_c == "x"
}
stage lead owned by t {
}
'''


def _policy(tmp_path, text):
    (tmp_path / "p.funnel").write_text(text, encoding="utf-8")
    return policy.load(tmp_path)


def test_bigquery_refuses_a_key_with_a_dot_by_name(tmp_path):
    pol = _policy(tmp_path, DOTS)
    with pytest.raises(SqlUnsupported, match=r"^the column `utm\.source` holds a dot, which "
                                             r"BigQuery reads as a path"):
        to_sql(pol, dialect="bigquery")
    res = CliRunner().invoke(main, ["sql", str(tmp_path), "--dialect", "bigquery"])
    assert res.exit_code == 1 and res.stdout == ""
    assert res.stderr == (f"error: {tmp_path}: the SQL path cannot print this policy: the "
                          "column `utm.source` holds a dot, which BigQuery reads as a path "
                          "(`a.b` is the field b of a column a; its column names cannot "
                          "hold a dot)\n")
    # a nested key too: `o`.`a.b` is the field b of o's field a there
    pol = _policy(tmp_path, DOTS.replace('  +1 if `utm.source` == "x"\n', ""))
    with pytest.raises(SqlUnsupported, match=r"^the column `a\.b` holds a dot"):
        to_sql(pol, dialect="bigquery")
    # the dialects that read a quoted name whole print it
    pol = _policy(tmp_path, DOTS)
    for dialect in ("duckdb", "spark", "snowflake", "postgres", "trino"):
        assert "utm.source" in to_sql(pol, dialect=dialect), dialect


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "snowflake", "bigquery", "postgres",
                                     "trino"])
def test_flat_refuses_two_fields_joined_into_one_column(tmp_path, dialect):
    pol = _policy(tmp_path, FLAT)
    with pytest.raises(SqlUnsupported, match=r"^the fields a\.b_c and a_b\.c are both read "
                                             r"from the column `a_b_c` with `--flat _`"):
        to_sql(pol, dialect=dialect, flat="_")


def test_flat_with_a_separator_no_key_holds_decides_as_python(tmp_path):
    pol = _policy(tmp_path, FLAT)
    res = CliRunner().invoke(main, ["sql", str(tmp_path), "--flat", "_"])
    assert res.exit_code == 1 and "are both read from the column `a_b_c`" in res.stderr
    as_of = parse_timestamp("2026-12-01T16:00:00Z")
    sql = to_sql(pol, dialect="duckdb", flat="__", as_of=as_of)
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, a__b_c VARCHAR, a_b__c VARCHAR, "
                "a_b_c VARCHAR)")
    rows = [("L1", "x", None, None), ("L2", None, "x", None), ("L3", None, None, "x")]
    con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?)", rows)
    got = dict(con.execute(f"SELECT lead, score_s FROM ({sql.rstrip().rstrip(';')})"
                           ).fetchall())
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=as_of)
    leads = {"L1": {"a": {"b_c": "x"}}, "L2": {"a_b": {"c": "x"}}, "L3": {"a_b_c": "x"}}
    want = {k: pol.evaluate({"lead_id": k, **v}, as_of=at).scores["s"] for k, v in leads.items()}
    assert want == {"L1": 1, "L2": 2, "L3": 4}
    assert got == want
