"""`funnel report` on Parquet leads: the warehouse-scale input.

A Parquet row is the lead ``to_json`` makes of it (as ``funnel eval`` reads Parquet). With
``--engine duckdb`` the report reads the columns by their types inside DuckDB (the fast
path of ``eval`` from Parquet to Parquet), with ``--engine python`` each row's JSON text;
both must give the report of the same leads written as JSON Lines, byte for byte, and
the figures of the independent plain-Python count (``tests/report_reference.py``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import report_reference as ref
from click.testing import CliRunner
from funnel_cli.main import main
from test_report import AS_OF, AS_OF_TEXT, RULES, TINY, TINY_THRESHOLDS, assert_figures, tiny_leads

import policy
from policy.engine.timestamps import from_datetime
from policy.report.build import duckdb_engine_available, report_for_parquet

pytestmark = pytest.mark.skipif(not duckdb_engine_available(),
                                reason="no DuckDB engine in this installation")

duckdb = pytest.importorskip("duckdb")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def report(policy_path, leads, engine: str, *options) -> str:
    result = run("report", policy_path, leads, "--as-of", AS_OF_TEXT, "--format", "json",
                 "--engine", engine, "--jobs", "1", *options)
    assert result.exit_code == 0, result.output
    return result.stdout


def to_parquet(leads: list, tmp_path: Path, name: str = "leads") -> tuple[Path, Path]:
    """The leads as a Parquet file (DuckDB infers the column types, as a warehouse export
    has them) and the same rows as JSON Lines (each row as ``to_json`` makes it: the
    leads every reader of the Parquet file sees)."""
    from policy.sql.duck import parquet_batches

    src = tmp_path / f"{name}.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")
    pq = tmp_path / f"{name}.parquet"
    same = tmp_path / f"{name}-rows.jsonl"
    con = duckdb.connect()
    try:
        con.execute("COPY (SELECT * FROM read_json(?, format = 'newline_delimited', "
                    "sample_size = -1)) TO ? (FORMAT parquet)", [str(src), str(pq)])
        with open(same, "w", encoding="utf-8", newline="\n") as f:
            for _lines, texts in parquet_batches(con, str(pq)):
                f.write("".join(t + "\n" for t in texts))
    finally:
        con.close()
    return pq, same


def _sample(count: int, seed: int) -> list:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_pq_generate", RULES / "generate_leads.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return list(gen.generate(count, seed))


@pytest.mark.parametrize("options", [("--by", "source"),
                                     ("--by", "company.industry", "--period", "week")])
def test_the_sample_story_in_parquet_gives_the_jsonl_report(tmp_path, options):
    leads = _sample(3000, 3)
    pq, rows = to_parquet(leads, tmp_path)
    from_parquet = report(RULES, pq, "duckdb", *options)
    # the same leads as JSON Lines, decided by either engine; and the Parquet rows'
    # JSON text decided by the python engine
    assert from_parquet == report(RULES, rows, "python", *options)
    assert from_parquet == report(RULES, rows, "duckdb", *options)
    assert from_parquet == report(RULES, pq, "python", *options)
    # a null and an absent optional field are one to this policy: the generator's own
    # JSON Lines give the same report too
    assert from_parquet == report(RULES, tmp_path / "leads.jsonl", "duckdb", *options)
    data = json.loads(from_parquet)
    assert data["leads"] == 3000 and data["refused"]["count"] == 15
    assert data["handoffs"][0]["routes"]["emea-sdr"]["sla"]["breached"] > 0


def test_tiny_policy_parquet_matches_the_independent_count(tmp_path):
    """Leads the schema refuses (their paths come from the python validator, which reads
    the Parquet row's JSON text), mixed types in one column (read as JSON by DuckDB),
    and business time past the calendar tables' years (the python engine counts it)."""
    pol = policy.load(TINY)
    leads = tiny_leads(260, 9)
    for i, lead in enumerate(leads):
        if isinstance(lead, dict) and i % 31 == 0 and lead.get("mql_at"):
            far = datetime(2071, 3, 2, 9, tzinfo=UTC) + timedelta(hours=i)
            lead["mql_at"] = far.isoformat()
    leads = [x for x in leads if isinstance(x, dict)]
    pq, rows = to_parquet(leads, tmp_path)
    got = report_for_parquet(pol, str(pq), as_of=from_datetime(AS_OF),
                             engine="duckdb", by=("source",), cohort=("mql_at",),
                             period="week")
    items = ref.decide(pol, [json.loads(t) for t in rows.read_text().splitlines()], AS_OF)
    assert_figures(got, ref.figures(pol, items, cohort=("mql_at",), period="week",
                                    thresholds=TINY_THRESHOLDS))
    assert got["refused"]["count"] > 0
    opts = ("--by", "source", "--cohort", "mql_at", "--period", "week")
    duck = report(TINY, pq, "duckdb", *opts)
    assert duck == report(TINY, pq, "python", *opts) == report(TINY, rows, "python", *opts)


def test_column_names_that_differ_in_case_are_read_as_json_text(tmp_path):
    pol = policy.load(TINY)
    leads = [x for x in tiny_leads(80, 2) if isinstance(x, dict)]
    pq, rows = to_parquet(leads, tmp_path)
    # a column named as the engine's own row number: the rows are read as JSON text
    odd = tmp_path / "odd.parquet"
    con = duckdb.connect()
    con.execute("COPY (SELECT *, 1 AS __funnel_line FROM read_parquet(?)) TO ? "
                "(FORMAT parquet)", [str(pq), str(odd)])
    con.close()
    at = from_datetime(AS_OF)
    typed = report_for_parquet(pol, str(pq), as_of=at, engine="duckdb", by=("source",))
    as_text = report_for_parquet(pol, str(odd), as_of=at, engine="duckdb", by=("source",))
    assert typed == as_text
    assert as_text == report_for_parquet(pol, str(odd), as_of=at, engine="python",
                                         by=("source",))


def test_parquet_input_errors_are_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet\n", encoding="utf-8")
    for engine in ("duckdb", "python"):
        result = run("report", TINY, bad, "--as-of", AS_OF_TEXT, "--engine", engine)
        assert result.exit_code == 2
        assert f"{bad}: cannot read as Parquet" in result.output
        assert "Traceback" not in result.output
    missing = run("report", TINY, tmp_path / "none.parquet", "--as-of", AS_OF_TEXT)
    assert missing.exit_code == 2 and "none.parquet: cannot read" in missing.output
    stdin = run("report", TINY, "-", "--input-format", "parquet", "--as-of", AS_OF_TEXT)
    assert stdin.exit_code == 2 and "standard input" in stdin.output
    # --input-format parquet reads a file whatever its name
    leads = [x for x in tiny_leads(40, 1) if isinstance(x, dict)]
    pq, _ = to_parquet(leads, tmp_path)
    renamed = tmp_path / "export.bin"
    pq.rename(renamed)
    result = run("report", TINY, renamed, "--input-format", "parquet", "--as-of", AS_OF_TEXT,
                 "--format", "json", "--engine", "duckdb")
    assert result.exit_code == 0 and json.loads(result.stdout)["leads"] == len(leads)


def _operators(node) -> list[dict]:
    """Every operator of a DuckDB JSON profile, depth first."""
    found = []
    for child in (node.get("operator") or node.get("children") or []):
        found.append(child)
        found += _operators(child)
    return found


def test_typed_parquet_serialises_only_the_rows_the_python_engine_decides(tmp_path):
    """From Parquet read by its column types, the statement over staged JSON text is never
    built (nothing is staged), and the JSON text the python engine decides (a refused
    lead, business time past the tables) is made for the rows asked for only: turning
    every row of the file into JSON text and then filtering was 4.6 s of CPU at 1M
    leads, most of the report's own cost (issue 11)."""
    from policy.report.shape import report_shape
    from policy.report.sqlfacts import SqlFacts
    from policy.sql.duck import parquet_batches

    pol = policy.load(TINY)
    leads = [x for x in tiny_leads(120, 4) if isinstance(x, dict)]
    pq, _ = to_parquet(leads, tmp_path)
    shape = report_shape(pol.model, name="tiny", version="1", digest="sha256:0")
    facts = SqlFacts(pol, shape, as_of=from_datetime(AS_OF), by=None, cohort=None)
    try:
        facts.add_parquet(str(pq))
        con = facts.con
        assert con.execute("SELECT count(*) FROM duckdb_tables() "
                           "WHERE table_name = 'src'").fetchone()[0] == 0
        wanted = [3, 40, len(leads)]
        profile = tmp_path / "profile.json"
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{profile}'")
        got = con.execute(facts._parquet_json, [wanted]).fetchall()
        con.execute("PRAGMA disable_profiling")
    finally:
        facts.con.close()
    every = dict(pair for lines, texts in parquet_batches(duckdb.connect(), str(pq))
                 for pair in zip(lines, texts, strict=True))
    assert sorted(got) == [(line, every[line]) for line in wanted]
    # the operator that makes the text sees the rows asked for, not the whole file
    makers = [op for op in _operators(json.loads(profile.read_text()))
              if "txt" in (op.get("extra_info") or {}).get("Projections", [])]
    assert makers
    assert all(op.get("intermediate_rows", op.get("operator_cardinality")) == len(wanted)
               for op in makers), [op.get("intermediate_rows") for op in makers]
