"""Business time outside the years of SQL's calendar tables.

DuckDB and Spark count business time on calendar tables of a span of years (by default
ten before the ``as_of`` year, or 2000, to ten after). The python engine counts it in
any year, so a lead whose SLA starts in 1985 or 2045 would get SLA status ``unknown``
and the violation ``calendar_out_of_range`` from SQL but a real status from Python.
``funnel eval --engine duckdb`` must not disagree: such rows are decided again by the
python engine (text outputs, batches), and the Parquet → Parquet path, where no row
leaves DuckDB, widens the tables to those rows' years and writes the file again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.engine.timestamps import parse_timestamp
from policy.sql.duck import DuckEngine

duckdb = pytest.importorskip("duckdb")

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
AS_OF = "2026-12-01T00:00:00Z"
YEARS = ("1985", "1999", "2045", "2150")


def _leads() -> list[dict]:
    """Sample leads that reach the MQL handoff, their ``mql_at`` moved to other years
    (no stop, so the status depends on the due time)."""
    out = []
    for text in (RULES / "leads.jsonl").read_text(encoding="utf-8").splitlines():
        lead = json.loads(text)
        if "mql_at" not in lead:
            continue
        for year in YEARS:
            moved = dict(lead, mql_at=year + lead["mql_at"][4:])
            moved.pop("accepted_at", None)
            moved.pop("rejected_at", None)
            out.append(moved)
        if len(out) >= 24:
            return out
    raise AssertionError("rules/leads.jsonl has too few leads with mql_at")


@pytest.fixture(scope="module")
def leads_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("years") / "leads.jsonl"
    path.write_text("".join(json.dumps(lead) + "\n" for lead in _leads()), encoding="utf-8")
    return path


def _eval(*args: str) -> None:
    result = CliRunner().invoke(main, ["eval", str(RULES), *args, "--as-of", AS_OF])
    assert result.exit_code == 0, result.output


def test_the_python_engine_decides_these_leads_in_every_year(leads_file):
    """The premise: Python gives real statuses, and SQL's default tables miss them."""
    pol = policy.load(RULES)
    engine = DuckEngine(pol, as_of=parse_timestamp(AS_OF))
    try:
        first, last = engine.years
        assert first > 1999 or last < 2045
        texts = leads_file.read_text(encoding="utf-8").splitlines()
        decided = engine.decide(list(range(1, len(texts) + 1)), texts)
    finally:
        engine.close()
    statuses = {h.sla.status for _, d in decided for h in d.handoffs if h.sla}
    assert statuses and "unknown" not in statuses
    assert not any(v.code == "calendar_out_of_range" for _, d in decided for v in d.violations)


@pytest.mark.parametrize("suffix", ["jsonl", "json", "csv"])
def test_text_outputs_equal_the_python_engine(tmp_path, leads_file, suffix):
    py, dk = tmp_path / f"py.{suffix}", tmp_path / f"dk.{suffix}"
    _eval(str(leads_file), "-o", str(py))
    _eval(str(leads_file), "--engine", "duckdb", "-o", str(dk))
    assert py.read_bytes() == dk.read_bytes()
    assert b"calendar_out_of_range" not in dk.read_bytes()


def _rows(path: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY line").fetchall()


def _parquet_statuses_as_python(tmp_path: Path, leads: Path) -> set[str]:
    """Decide ``leads`` into Parquet with both engines; the files hold the same rows,
    none out of the tables' range. Returns the MQL handoff's SLA statuses."""
    py, dk = tmp_path / "py.parquet", tmp_path / "dk.parquet"
    _eval(str(leads), "-o", str(py))
    _eval(str(leads), "--engine", "duckdb", "-o", str(dk))
    rows = _rows(dk)
    assert rows == _rows(py)
    assert all("calendar_out_of_range" not in row[-3] for row in rows)
    return {r[0] for r in duckdb.sql(
        f"SELECT handoff_mql_sla_status FROM read_parquet('{dk}')").fetchall()}


def test_parquet_outputs_equal_the_python_engine(tmp_path, leads_file):
    source = tmp_path / "leads.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{leads_file}')) TO '{source}' "
               "(FORMAT parquet)")
    for leads in (leads_file, source):
        assert "breached" in _parquet_statuses_as_python(tmp_path, leads)


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_parquet_to_text_outputs_equal_the_python_engine(tmp_path, leads_file, suffix):
    """Parquet in, text out: DuckDB reads the typed columns and hands the rows beyond
    its tables to the python engine as their JSON text (rebuilt for just those rows)."""
    source = tmp_path / "leads.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{leads_file}')) TO '{source}' "
               "(FORMAT parquet)")
    py, dk = tmp_path / f"py.{suffix}", tmp_path / f"dk.{suffix}"
    _eval(str(source), "-o", str(py))
    _eval(str(source), "--engine", "duckdb", "-o", str(dk))
    assert py.read_bytes() == dk.read_bytes()
    assert b"calendar_out_of_range" not in dk.read_bytes() and b"breached" in dk.read_bytes()


def test_slas_started_at_the_end_of_time_equal_the_python_engine(tmp_path):
    """An SLA started in 9998 or 9999 is due past the widest tables the Parquet →
    Parquet path can build (they end with the year 9998; the python engine counts to
    the last instant of 9999 and past it the due time is never): those rows are decided
    by the python engine. They came out `unknown` with `calendar_out_of_range`."""
    out = []
    for lead in _leads()[:8]:
        for when in ("9998-12-31T12:00:00Z", "9999-06-01T12:00:00Z", "9999-12-31T23:00:00Z"):
            moved = dict(lead, mql_at=when)
            out.append(moved)
            out.append(dict(moved, accepted_at="2026-11-30T10:00:00Z"))
    text = tmp_path / "leads.jsonl"
    text.write_text("".join(json.dumps(lead) + "\n" for lead in out), encoding="utf-8")
    source = tmp_path / "leads.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{text}')) TO '{source}' (FORMAT parquet)")
    assert {"met", "pending"} <= _parquet_statuses_as_python(tmp_path, source)
