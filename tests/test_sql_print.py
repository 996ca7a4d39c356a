"""`funnel sql` and `Policy.sql`: golden SQL per dialect, parsed back by sqlglot in that
dialect; the printed DuckDB SQL run over a table decides as the python engine; what
the SQL path refuses, by name.

Set ``UPDATE_GOLDEN=1`` to rewrite the snapshots after an intended change (and read the
diff: it is the SQL a warehouse will run).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import sqlglot
from click.testing import CliRunner
from engine_runs import assert_table_rows
from engine_strategies import load_text, policies
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from sqlglot import exp

import policy
from policy.api import Policy
from policy.engine import ir, tabular
from policy.engine.timestamps import parse_timestamp
from policy.sql import DIALECTS, SqlUnsupported, to_sql

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "sql"
RULES = REPO / "rules"
AS_OF = "2026-12-01T16:00:00Z"
AS_OF_US = parse_timestamp(AS_OF)


@pytest.fixture(scope="module")
def small():
    return policy.load(GOLDEN / "small.funnel")


@pytest.fixture(scope="module")
def small_printed(small):
    """``small`` printed for 2026 at ``AS_OF`` in a dialect, and sqlglot's parse of it in
    that dialect, once per dialect: the golden test and the alias test read the very
    same text (printing and parsing it again was 1-3 CPU-s a dialect). The trees are
    only read."""
    done: dict[str, tuple[str, exp.Expression]] = {}

    def get(dialect: str) -> tuple[str, exp.Expression]:
        if dialect not in done:
            text = to_sql(small, dialect=dialect, as_of=AS_OF_US, years=(2026, 2026))
            done[dialect] = (text, sqlglot.parse_one(text, read=dialect))
        return done[dialect]

    return get


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery", "postgres", "trino"])
def test_golden_sql_per_dialect_parses_back_in_that_dialect(small, small_printed, dialect):
    text, tree = small_printed(dialect)
    path = GOLDEN / f"small.{dialect}.sql"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    assert isinstance(tree, exp.Select)
    assert [e.alias_or_name for e in tree.expressions] == list(tabular.layout(small).names)


def test_snowflakes_own_patterns_are_posix_ere(small_printed):
    """Snowflake documents POSIX ERE: ``(?:…)`` is no group there. The timestamp shapes
    (``small`` has date-time fields) use plain groups; every regular expression the
    statement holds must be free of ``(?``."""
    _, tree = small_printed("snowflake")
    patterns = [node.expression.this for node in tree.find_all(exp.RegexpLike, exp.RegexpILike)
                if isinstance(node.expression, exp.Literal)]
    assert any("[0-9]{4}" in p for p in patterns), patterns  # the shapes are there
    assert not [p for p in patterns if "(?" in p]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_prints_a_view_that_parses_back(small, dialect):
    text = small.sql(dialect=dialect, table="crm.leads", view="lead_decisions",
                     years=(2026, 2026))
    tree = sqlglot.parse_one(text, read=dialect)
    assert isinstance(tree, exp.Create)
    assert "crm" in text and "lead_decisions" in text


def test_printed_duckdb_sql_over_a_table_decides_as_python(small, tmp_path):
    leads = [
        {"lead_id": "a", "email": "dana@BigCo.com", "job_level": "vp", "visits": 3,
         "unsubscribed": False, "competitor": False, "mql_at": "2026-11-30T14:00:00Z",
         "last_activity_at": "2026-11-20T10:00:00Z", "company": {"employees": 5000},
         "accepted_at": None, "rejected_at": None, "rejection_reason": None},
        {"lead_id": "b", "email": "sam@gmail.com", "job_level": "ic", "visits": 30,
         "unsubscribed": None, "competitor": True, "mql_at": None,
         "last_activity_at": "2026-01-01T00:00:00Z", "company": {"employees": 10},
         "accepted_at": None, "rejected_at": None, "rejection_reason": None},
        {"lead_id": "c", "email": None, "job_level": "c-level", "visits": None,
         "unsubscribed": True, "competitor": None, "mql_at": "2026-11-26T15:00:00Z",
         "last_activity_at": None, "company": {"employees": None},
         "accepted_at": "2026-11-30T20:00:00Z", "rejected_at": None,
         "rejection_reason": "maybe"},
        {"lead_id": "d", "email": "x@y.z", "job_level": None, "visits": 2.5,
         "unsubscribed": False, "competitor": False, "mql_at": "not a time",
         "last_activity_at": None, "company": None, "accepted_at": None,
         "rejected_at": None, "rejection_reason": None},
    ]
    path = tmp_path / "leads.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in leads))
    con = duckdb.connect()
    con.execute("CREATE TABLE leads AS SELECT * FROM read_json(?, format='newline_delimited', "
                "columns={lead_id: 'VARCHAR', email: 'VARCHAR', job_level: 'VARCHAR', "
                "visits: 'DOUBLE', unsubscribed: 'BOOLEAN', competitor: 'BOOLEAN', "
                "mql_at: 'VARCHAR', last_activity_at: 'VARCHAR', "
                "company: 'STRUCT(employees DOUBLE)', accepted_at: 'VARCHAR', "
                "rejected_at: 'VARCHAR', rejection_reason: 'VARCHAR'})", [str(path)])
    text = to_sql(small, dialect="duckdb", as_of=AS_OF_US, years=(2025, 2027))
    # a query over a table promises no row order (like any SQL without ORDER BY)
    assert_table_rows(small, leads, con.execute(text).fetchall(), AS_OF_US)


def _lateral_aliases(text: str, dialect: str) -> set[str]:
    """Aliases a SELECT list reads in the same list (``SELECT a AS x, x + 1 AS y``):
    DuckDB, Spark and Snowflake take them; Postgres, BigQuery and Trino do not."""
    return _tree_lateral_aliases(sqlglot.parse_one(text, read=dialect))


def _tree_lateral_aliases(tree: exp.Expression) -> set[str]:
    """`_lateral_aliases` of SQL already parsed by sqlglot in its dialect."""
    found = set()
    for sel in tree.find_all(exp.Select):
        names = {e.alias for e in sel.expressions if isinstance(e, exp.Alias)}
        for e in sel.expressions:
            for col in e.find_all(exp.Column):
                if not col.table and col.name in names and col.name != e.alias_or_name \
                        and col.find_ancestor(exp.Select) is sel:
                    found.add(col.name)
    return found


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_select_list_reads_its_own_aliases(small_printed, dialect):
    assert _tree_lateral_aliases(small_printed(dialect)[1]) == set()
    text = to_sql(policy.load(RULES), dialect=dialect, as_of=AS_OF_US, years=(2026, 2026))
    assert _lateral_aliases(text, dialect) == set()


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=policies())
def test_no_select_list_reads_its_own_aliases_on_generated_policies(text):
    pol = Policy(load_text(text))
    for dialect in ("postgres", "bigquery", "trino"):
        printed = to_sql(pol, dialect=dialect, as_of=AS_OF_US, years=(2026, 2026))
        assert _lateral_aliases(printed, dialect) == set()


def test_flat_columns_read_nested_fields(small):
    text = to_sql(small, dialect="duckdb", flat="__", as_of=AS_OF_US, years=(2026, 2026))
    assert '"company__employees"' in text
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, email VARCHAR, job_level VARCHAR, "
                "visits DOUBLE, unsubscribed BOOLEAN, competitor BOOLEAN, mql_at VARCHAR, "
                "last_activity_at VARCHAR, company__employees DOUBLE, accepted_at VARCHAR, "
                "rejected_at VARCHAR, rejection_reason VARCHAR)")
    con.execute("INSERT INTO leads VALUES ('a', 'a@bigco.com', 'vp', 1, false, false, "
                "'2026-11-30T14:00:00Z', NULL, 5000, NULL, NULL, NULL)")
    row = dict(zip(tabular.layout(small).names, con.execute(text).fetchone(), strict=True))
    assert row["handoff_mql_route"] == "enterprise" and row["stage"] == "mql"


def test_a_schema_keyword_the_sql_path_does_not_check_is_refused_by_name(tmp_path):
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nschema "s.json"\nteam t "@t"\nfunnel a\n'
        'stage a "A" owned by t {\n  require x > 1\n}\n')
    (tmp_path / "s.json").write_text(json.dumps({
        "type": "object", "properties": {"x": {"type": "number"}},
        "additionalProperties": False}))
    runner = CliRunner()
    out = runner.invoke(main, ["sql", str(tmp_path)])
    assert out.exit_code == 1 and "additionalProperties" in out.stderr
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"x": 2}\n')
    ev = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", "duckdb"])
    assert ev.exit_code == 2 and "additionalProperties" in ev.stderr
    py = runner.invoke(main, ["eval", str(tmp_path), str(leads)])
    assert py.exit_code == 0  # the python engine still takes it


def test_column_names_longer_than_the_dialect_allows_are_refused(tmp_path):
    long = "s" * 70
    (tmp_path / "p.funnel").write_text(
        f'policy p "P"\nteam t "@t"\nfunnel a\nscore {long} "L" owned by t {{\n'
        f'  +1 if x > 1\n}}\nstage a "A" owned by t {{\n  require {long} > 0\n}}\n')
    pol = policy.load(tmp_path)
    with pytest.raises(SqlUnsupported, match="longer than postgres allows"):
        to_sql(pol, dialect="postgres")
    assert "score_" + long in to_sql(pol, dialect="duckdb", years=(2026, 2026))


def test_postgres_counts_a_column_names_length_in_bytes(tmp_path):
    # Postgres cuts a name past 63 bytes (not characters) without an error, so a field
    # of 40 `ü` (80 bytes) was printed and read a cut name; now it is refused as well
    name = "ü" * 40
    (tmp_path / "p.funnel").write_text(
        f'policy p "P"\nteam t "@t"\nfunnel a\nstage a "A" owned by t {{\n'
        f'  require `{name}` is present\n}}\n')
    pol = policy.load(tmp_path)
    with pytest.raises(SqlUnsupported, match=r"longer than postgres allows \(63 bytes"):
        to_sql(pol, dialect="postgres")
    assert name in to_sql(pol, dialect="snowflake", years=(2026, 2026))  # 255 characters
    (tmp_path / "p.funnel").write_text(
        (tmp_path / "p.funnel").read_text().replace(name, "ü" * 31))  # 62 bytes
    assert "ü" * 31 in to_sql(policy.load(tmp_path), dialect="postgres", years=(2026, 2026))


def test_funnel_sql_cli(tmp_path):
    runner = CliRunner()
    out = runner.invoke(main, ["sql", str(GOLDEN / "small.funnel"), "--dialect", "spark",
                               "--years", "2026..2026", "--view", "decisions"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("-- funnel-policy: small_sql 1 sha256:")
    sqlglot.parse_one(out.stdout, read="spark")
    bad = runner.invoke(main, ["sql", str(GOLDEN / "small.funnel"), "--years", "2027..2026"])
    assert bad.exit_code == 2
    # a name that is not plain SQL is bad usage (exit 2), as --years out of order is
    for option in ("--table", "--view"):
        bad = runner.invoke(main, ["sql", str(GOLDEN / "small.funnel"), option, "x; drop"])
        assert bad.exit_code == 2 and "plain SQL name" in bad.stderr
        assert "Traceback" not in bad.output
    missing = runner.invoke(main, ["sql", str(tmp_path / "nope")])
    assert missing.exit_code == 2


def test_a_schema_less_table_types_columns_by_the_intermediate_forms_field_types(tmp_path):
    """Without a schema a column's type is the field's type in the IR (the one every
    engine sees): compared with `true` it is BOOLEAN, compared with a negative number (a
    constant the resolver folds) DOUBLE; such columns used to be read as text, so the
    tests never held."""
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nteam m "@m"\nfunnel lead\nscore fit owned by m {\n'
        '  +10 if vip == true\n  +5 if balance > -2.5\n}\n'
        'stage lead owned by m {\n  require fit >= 15\n}\n', encoding="utf-8")
    pol = policy.load(tmp_path / "p.funnel")
    assert dict(pol.program.field_types) == {("vip",): ir.Type.BOOLEAN,
                                             ("balance",): ir.Type.NUMBER}
    text = to_sql(pol, dialect="duckdb", as_of=AS_OF_US, years=(2026, 2026))
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (vip BOOLEAN, balance DOUBLE)")
    con.execute("INSERT INTO leads VALUES (true, 0), (true, -3), (false, 1), (NULL, NULL)")
    names = tabular.layout(pol).names
    got = [dict(zip(names, r, strict=True)) for r in con.execute(text).fetchall()]
    as_of = datetime(2026, 12, 1, 16, tzinfo=UTC)
    want = [pol.evaluate({"vip": v, "balance": b}, as_of=as_of)
            for v, b in ((True, 0), (True, -3), (False, 1), (None, None))]
    assert sorted((r["score_fit"], r["stage"]) for r in got) == sorted(
        (d.scores["fit"], d.stage) for d in want)
    assert sorted(r["score_fit"] for r in got) == [0, 5, 10, 15]


def test_a_number_past_a_doubles_range_in_the_policy_is_refused_not_a_traceback(tmp_path):
    big = "1" + "0" * 400
    (tmp_path / "p.funnel").write_text(
        f'policy p "P"\nteam t "@t"\nfunnel a\nstage a "A" owned by t {{\n'
        f'  require x < {big}\n}}\n')
    # arithmetic is IEEE double in every engine: such a literal is E100 at the number
    # (it was "has no SQL literal" here while the python engine decided with it)
    runner = CliRunner()
    out = runner.invoke(main, ["sql", str(tmp_path)])
    assert out.exit_code == 1 and "error[E100]" in out.stderr
    assert "beyond a double's range" in out.stderr
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"x": 2}\n')
    for engine in ("duckdb", "python"):
        ev = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", engine])
        assert ev.exit_code == 1 and "beyond a double's range" in ev.stderr
