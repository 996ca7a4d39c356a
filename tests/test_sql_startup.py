"""What a DuckDB engine builds before it decides, and that what it leaves out changes no
output (``policy/sql/duck.py``; the cost of each part is in bench/README.md).

- A Parquet input written as JSON Lines, CSV or JSON is decided from its typed columns
  (``DuckEngine.stage_parquet_typed``): the statement over JSON text, a third of the
  engine's start-up, is built only when the file is read as JSON text after all (a
  column the typed reading cannot take, such as one named as the engine's row number).
- The one-row list tables of the calendars are made only for a statement that reads
  them (Parquet → Parquet); a JSON text input makes the joined tables alone.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.sql.duck import DuckEngine
from policy.sql.parquet import LINE

RULES = Path(__file__).resolve().parents[1] / "rules"
AS_OF_TEXT = "2026-12-01T16:00:00Z"


@pytest.fixture
def built(monkeypatch):
    """The JSON statements built while the test runs (each engine's ``sql`` text)."""
    made = []
    original = DuckEngine._json_statement

    def counted(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self.sql)

    monkeypatch.setattr(DuckEngine, "_json_statement", counted)
    return made


def _parquet(tmp_path, extra: str = "") -> str:
    path = tmp_path / "leads.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT *{extra} FROM read_json(?, format='newline_delimited', "
        f"sample_size=-1) LIMIT 60) TO ? (FORMAT parquet)",
        [str(RULES / "leads.jsonl"), str(path)])
    return str(path)


def _both(tmp_path, leads: str, fmt: str) -> tuple[bytes, bytes]:
    out = []
    for engine in ("python", "duckdb"):
        target = tmp_path / f"out-{engine}.{fmt}"
        result = CliRunner().invoke(main, ["eval", str(RULES), leads, "--as-of", AS_OF_TEXT,
                                           "--engine", engine, "--format", fmt,
                                           "-o", str(target)])
        assert result.exit_code in (0, 1), result.output
        out.append(target.read_bytes())
    return out[0], out[1]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_parquet_into_text_builds_no_json_statement(tmp_path, built, fmt):
    python, duck = _both(tmp_path, _parquet(tmp_path), fmt)
    assert built == []
    assert duck == python and python.count(b"L-") >= 60


def test_parquet_read_as_json_text_builds_it_when_it_must(tmp_path, built):
    # a column named as the engine's row number: the rows are read as JSON objects
    leads = _parquet(tmp_path, f", 1 AS {LINE}")
    python, duck = _both(tmp_path, leads, "jsonl")
    assert len(built) == 1 and "src" in built[0]
    assert duck == python and python.count(b"\n") == 60


def test_json_text_input_makes_the_joined_calendar_tables_alone():
    pol = policy.load(RULES)
    engine = DuckEngine(pol, as_of=1_764_604_800_000_000)
    try:
        tables = {r[0] for r in engine.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    finally:
        engine.close()
    assert tables == {"cal0_days", "cal0_intervals", "cal1_days", "cal1_intervals"}
