"""Disagreements between the python engine and ``--engine duckdb`` found by the
thirteenth session's differential hunt (``hunt2``), each kept as the smallest case that
showed it, through ``funnel eval`` (the CLI path: the writers and the readers run).

Every engine gives the python engine's bytes on standard output, the same exit status,
and the same words on standard error (spec sections 9 and 10).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

AS_OF = "2026-12-01T15:30:00Z"

POLICY = """\
policy p "P"
version "1"
id lead_id
team marketing "@m"
funnel lead -> mql
stage lead "Lead" owned by marketing {
  require level == "vp"
}
stage mql "MQL" owned by marketing {
}
"""


def _folder(tmp_path: Path, text: str = POLICY) -> Path:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "policy.funnel").write_text(text, encoding="utf-8")
    return folder


def _eval(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, ["eval", *args])
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_an_unusable_csv_header_writes_no_output_in_any_engine(tmp_path, fmt):
    # the DuckDB engine opened its output (the CSV header line, or `[` of a JSON array)
    # before it read the leads' header, so standard output held it after the refusal
    folder = _folder(tmp_path)
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,level,level.x\nL1,vp,1\n", encoding="utf-8")
    runs = {engine: _eval(str(folder), str(leads), "--engine", engine, "--format", fmt,
                          "--as-of", AS_OF) for engine in ("python", "duckdb")}
    code, out, err = runs["python"]
    assert (code, out) == (2, "")
    assert "column 'level' is a field, but column 'level.x' makes it an object" in err
    assert runs["duckdb"] == runs["python"]


def test_an_unusable_csv_header_leaves_no_output_file(tmp_path):
    folder = _folder(tmp_path)
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,level,level.x\nL1,vp,1\n", encoding="utf-8")
    for engine in ("python", "duckdb"):
        target = tmp_path / f"{engine}.csv"
        code, _, _ = _eval(str(folder), str(leads), "--engine", engine, "-o", str(target),
                           "--as-of", AS_OF)
        assert code == 2 and not target.exists()
