"""A Parquet path is read as the file it names, never as a glob pattern.

DuckDB's ``read_parquet`` takes a path as a pattern, so until the twenty-second session
``funnel eval rules 'b[1].parquet'`` decided the leads of ``b1.parquet`` instead, with
every engine, silently (and ``funnel report`` reported on them); a decided Parquet file
named so was counted from another file too (policy/sql/literal.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

ROOT = Path(__file__).resolve().parents[1]
RULES = str(ROOT / "rules")
AT = "2026-12-01T16:00:00Z"


def _parquet(folder: Path, name: str, count: int) -> Path:
    lines = (ROOT / "rules" / "leads.jsonl").read_text("utf-8").splitlines()[:count]
    src = folder / f"src{count}.jsonl"
    src.write_text("\n".join(lines) + "\n", "utf-8")
    target = folder / name
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json('{src}')) TO 'out.tmp.parquet' (FORMAT parquet)"
                .replace("out.tmp.parquet", str(folder / f"tmp{count}.parquet")))
    con.close()
    (folder / f"tmp{count}.parquet").rename(target)
    return target


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("glob")
    _parquet(folder, "b[1].parquet", 3)
    _parquet(folder, "b1.parquet", 10)  # what the pattern b[1].parquet matches
    _parquet(folder, "*.parquet", 4)  # a name that matches every file
    return folder


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize(("name", "count"), [("b[1].parquet", 3), ("*.parquet", 4)])
def test_eval_reads_the_file_the_path_names(files, engine, name, count):
    run = CliRunner().invoke(main, ["eval", RULES, str(files / name), "--as-of", AT,
                                    "--engine", engine])
    records = [json.loads(x) for x in run.stdout.splitlines()]
    assert run.exit_code in (0, 1) and len(records) == count, run.output


def test_parquet_to_parquet_writes_and_counts_the_named_files(files, tmp_path):
    out = tmp_path / "o[1].parquet"
    _parquet(tmp_path, "o1.parquet", 10)  # a decoy the output's name matches as a pattern
    run = CliRunner().invoke(main, ["eval", RULES, str(files / "b[1].parquet"), "--as-of", AT,
                                    "--engine", "duckdb", "-o", str(out)])
    assert run.exit_code in (0, 1), run.output
    con = duckdb.connect()
    decoy = con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path / 'o1.parquet'}')")
    assert decoy.fetchone() == (10,)  # untouched
    con.close()
    back = CliRunner().invoke(main, ["eval", RULES, str(out), "--as-of", AT])
    assert len(back.stdout.splitlines()) == 3, back.output


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_report_reads_the_file_the_path_names(files, engine):
    run = CliRunner().invoke(main, ["report", RULES, str(files / "b[1].parquet"), "--as-of",
                                    AT, "--engine", engine, "--format", "json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["leads"] == 3


def test_an_unreadable_file_is_named_as_given(files, tmp_path):
    bad = tmp_path / "bad[1].parquet"
    bad.write_bytes(b"not parquet")
    run = CliRunner().invoke(main, ["eval", RULES, str(bad), "--as-of", AT])
    assert run.exit_code == 2 and str(bad) in run.output and "funnel-path-" not in run.output
