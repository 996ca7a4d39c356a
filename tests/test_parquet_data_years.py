"""The Parquet → Parquet path builds calendar tables for the years its file needs.

``DuckEngine.parquet_to_parquet`` crosses every chunk of rows with its calendars' tables
as lists, and building them is most of the engine's start-up, so it builds them for the
years from the earliest SLA start to the latest due instant (``caltables.data_years``)
rather than the 37 default ones. The decisions must not move: every file here is
decided by the python engine too, and by DuckDB on the default years.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.engine.timestamps import parse_timestamp
from policy.sql.caltables import data_years
from policy.sql.duck import DuckEngine

duckdb = pytest.importorskip("duckdb")

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
AS_OF = "2026-12-01T16:00:00Z"


def _sample(path: Path, **moved: str) -> Path:
    """rules/leads.jsonl as JSON Lines, each lead with a start moved (``moved``: field →
    timestamp) where it has one."""
    leads = []
    for text in (RULES / "leads.jsonl").read_text(encoding="utf-8").splitlines():
        lead = json.loads(text)
        leads.append(dict(lead, **{k: v for k, v in moved.items() if k in lead}))
    path.write_text("".join(json.dumps(lead) + "\n" for lead in leads), encoding="utf-8")
    return path


def _parquet(jsonl: Path, target: Path, cast: str = "") -> Path:
    """``jsonl`` as Parquet, its timestamps typed by DuckDB's reader (or ``cast``: a
    ``REPLACE`` list)."""
    select = f"SELECT * {cast} FROM read_json('{jsonl}')"
    duckdb.sql(f"COPY ({select}) TO '{target}' (FORMAT parquet)")
    return target


def _decide(rules: Path, source: Path, target: Path, years=None) -> tuple[int, int]:
    """Decide ``source`` into ``target`` with DuckDB; the years of its list tables."""
    pol = policy.load(rules)
    engine = DuckEngine(pol, as_of=parse_timestamp(AS_OF), years=years, json=False)
    try:
        engine.parquet_to_parquet(str(source), str(target))
        return engine._list_years
    finally:
        engine.close()


def _python(rules: Path, source: Path, target: Path) -> None:
    result = CliRunner().invoke(main, ["eval", str(rules), str(source), "--as-of", AS_OF,
                                       "-o", str(target)])
    # rules/leads.jsonl holds five leads the schema refuses: exit status 1, said so
    assert result.exit_code == 0 or "leads refused" in result.output, result.output
    assert target.exists()


def _rows(path: Path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY line").fetchall()


def test_the_tables_hold_the_years_of_the_starts_not_the_default_ones(tmp_path):
    source = _parquet(RULES / "leads.jsonl", tmp_path / "leads.parquet")
    types = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{source}'").fetchall()}
    assert types["mql_at"].startswith("TIMESTAMP") and types["sql_at"].startswith("TIMESTAMP")
    lo, hi = duckdb.sql(f"SELECT least(min(year(mql_at AT TIME ZONE 'UTC')), "
                        f"min(year(sql_at AT TIME ZONE 'UTC'))), greatest(max(year(mql_at "
                        f"AT TIME ZONE 'UTC')), max(year(sql_at AT TIME ZONE 'UTC'))) "
                        f"FROM '{source}'").fetchall()[0]
    narrow = _decide(RULES, source, tmp_path / "narrow.parquet")
    default = DuckEngine(policy.load(RULES), as_of=parse_timestamp(AS_OF), json=False)
    wide = default.years
    default.close()
    # from the year before the earliest start to the year after the due instant of the
    # longest duration counted from the end of the latest start's year (2 business days
    # into the next year): far fewer years than the default 37
    assert narrow == (lo - 1, hi + 2)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]
    assert _decide(RULES, source, tmp_path / "wide.parquet", wide) == wide
    # the same file, byte for byte, as on the default years; the same rows as Python's
    assert (tmp_path / "narrow.parquet").read_bytes() == (tmp_path / "wide.parquet").read_bytes()
    _python(RULES, source, tmp_path / "py.parquet")
    assert _rows(tmp_path / "narrow.parquet") == _rows(tmp_path / "py.parquet")


@pytest.fixture()
def long_slas(tmp_path) -> Path:
    """rules/ with SLAs far longer than a year (600 business days; escalations after
    900 business hours)."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    text = (folder / "handoffs.funnel").read_text(encoding="utf-8")
    for old, new in (("sla 2 business hours", "sla 600 business days"),
                     ("after 4 business hours", "after 900 business hours"),
                     ("sla 2 business days", "sla 600 business days")):
        assert old in text
        text = text.replace(old, new)
    (folder / "handoffs.funnel").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("when", ["2026-12-31T23:59:59Z", "2019-01-01T00:00:00Z"])
def test_a_due_years_after_the_latest_start_is_inside_the_tables(tmp_path, long_slas, when):
    """The tables reach past the due instant of the longest business duration counted
    from the end of the latest start's year: no row is out of their range (the file is
    written once), and the decisions are Python's."""
    jsonl = _sample(tmp_path / "leads.jsonl", mql_at=when, sql_at=when)
    source = _parquet(jsonl, tmp_path / "leads.parquet")
    pol = policy.load(long_slas)
    engine = DuckEngine(pol, as_of=parse_timestamp(AS_OF), json=False)
    try:
        engine.parquet_view(str(source))
        years = data_years(engine.con, "parquet_src", engine._parquet_columns,
                           pol.program, engine.years)
    finally:
        engine.close()
    start = int(when[:4])
    assert years[0] == start - 1 and years[1] >= start + 2  # 600 working days: > 2 years
    assert _decide(long_slas, source, tmp_path / "dk.parquet") == years
    rows = _rows(tmp_path / "dk.parquet")
    assert not any("calendar_out_of_range" in row[-3] for row in rows)
    assert {r[0] for r in duckdb.sql(
        f"SELECT handoff_mql_sla_status FROM '{tmp_path / 'dk.parquet'}'").fetchall()} - {None}
    _python(long_slas, source, tmp_path / "py.parquet")
    assert rows == _rows(tmp_path / "py.parquet")


def test_starts_not_typed_as_instants_keep_the_default_years(tmp_path):
    """A start column of text (parsed row by row), or missing from the file while
    another is typed: the text column's years are not known without reading every row,
    so the default years stay (and the rows past them go the widening path)."""
    source = _parquet(RULES / "leads.jsonl", tmp_path / "text.parquet",
                      "REPLACE (CAST(mql_at AS VARCHAR) AS mql_at)")
    pol = policy.load(RULES)
    default = DuckEngine(pol, as_of=parse_timestamp(AS_OF), json=False)
    wide = default.years
    default.close()
    assert _decide(RULES, source, tmp_path / "dk.parquet") == wide
    _python(RULES, source, tmp_path / "py.parquet")
    assert _rows(tmp_path / "dk.parquet") == _rows(tmp_path / "py.parquet")


def test_a_file_without_sql_at_takes_the_years_of_mql_at(tmp_path):
    """A start column the file does not have is never present: only the other counts."""
    source = _parquet(RULES / "leads.jsonl", tmp_path / "leads.parquet",
                      "EXCLUDE (sql_at)")
    lo, hi = duckdb.sql(f"SELECT min(year(mql_at AT TIME ZONE 'UTC')), "
                        f"max(year(mql_at AT TIME ZONE 'UTC')) FROM '{source}'").fetchall()[0]
    assert _decide(RULES, source, tmp_path / "dk.parquet") == (lo - 1, hi + 2)
    _python(RULES, source, tmp_path / "py.parquet")
    assert _rows(tmp_path / "dk.parquet") == _rows(tmp_path / "py.parquet")
