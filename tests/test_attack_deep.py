"""Leads nested deeper than the readers take (policy.io.records.MAX_NESTING): one limit
for every engine, input format and reading path.

Before: the python reader refused a record where Python's JSON reader met its recursion
limit, which depends on how deep the calling code already is (about 990 levels from
``funnel eval``, fewer from a worker or the report), while DuckDB and Spark read any depth
and decided the lead. The same line was an error record in one engine and a decision in
the other, and a line 600 levels deep was decided or refused depending on the path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from test_attack import AS_OF, TINY  # the same tiny policy

from policy.io.records import MAX_NESTING, TOO_DEEP, too_deep


def _lead(lead_id: str, depth: int) -> str:
    """A lead whose field ``x`` nests lists so that the record is ``depth`` levels deep."""
    inner = depth - 1
    return (f'{{"lead_id": "{lead_id}", "email": "a@b", "employees": 500, '
            f'"x": {"[" * inner}{"]" * inner}}}')


DEPTHS = {"ok": 3, "limit": MAX_NESTING, "over": MAX_NESTING + 1, "600": 600,
          "1500": 1500, "tail": 3}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "p.funnel").write_text(TINY)
    lines = [_lead(name, depth) for name, depth in DEPTHS.items()]
    (tmp_path / "leads.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "leads.json").write_text("[" + ",\n".join(lines) + "]")
    return tmp_path


def _decided(stdout: str) -> list[bool]:
    return ["error" not in json.loads(line) for line in stdout.splitlines()]


WANT = [True, True, False, False, False, True]


@pytest.mark.parametrize("name", ["leads.jsonl", "leads.json"])
@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_lead_deeper_than_the_limit_is_refused_by_every_engine(folder, name, engine):
    result = CliRunner().invoke(main, ["eval", str(folder), str(folder / name),
                                       "--as-of", AS_OF, "--engine", engine])
    assert result.exit_code == 1, result.output
    assert _decided(result.stdout) == WANT
    refused = [json.loads(line) for line in result.stdout.splitlines()][2:5]
    assert {r["error"]["message"] for r in refused} == {TOO_DEEP}
    assert [r["line"] for r in refused] == [3, 4, 5]


def test_the_worker_processes_refuse_what_one_process_refuses(folder, tmp_path):
    # the typed line decider reads a long block's lines from their bytes: it decided a
    # line 600 deep that the text path refused
    head = (folder / "leads.jsonl").read_text()
    filler = "".join(_lead(f"f{i}", 2) + "\n" for i in range(12_000))  # past 1 MiB
    (tmp_path / "big.jsonl").write_text(filler + head + filler)
    out = []
    for jobs in ("1", "2"):
        result = CliRunner().invoke(main, ["eval", str(folder), str(tmp_path / "big.jsonl"),
                                           "--as-of", AS_OF, "--jobs", jobs, "--format",
                                           "csv"])
        assert result.exit_code == 1, result.output
        out.append(result.stdout)
    assert out[0] == out[1]
    rows = out[0].splitlines()[12_001:12_007]
    assert [TOO_DEEP in row for row in rows] == [not w for w in WANT]


def test_the_report_counts_them_refused_in_both_engines(folder):
    reports = []
    for engine in ("python", "duckdb"):
        result = CliRunner().invoke(main, ["report", str(folder), str(folder / "leads.jsonl"),
                                           "--as-of", AS_OF, "--engine", engine,
                                           "--format", "json"])
        assert result.exit_code == 0, result.output
        reports.append(json.loads(result.stdout))
    assert reports[0] == reports[1]
    assert reports[0]["refused"]["count"] == 3


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_csv_cell_deeper_than_the_limit_does_not_fit(tmp_path, engine):
    (tmp_path / "p.funnel").write_text(TINY.replace('id lead_id', 'id lead_id\nschema "s.json"'))
    (tmp_path / "s.json").write_text(json.dumps({"type": "object", "properties": {
        "lead_id": {"type": "string"}, "email": {"type": "string"},
        "employees": {"type": "integer"}, "x": {"type": "array"}}}))
    rows = ["lead_id,email,employees,x"] + [
        f'{d},a@b,500,"{"[" * d}{"]" * d}"' for d in (2, MAX_NESTING, MAX_NESTING + 1, 700)]
    (tmp_path / "l.csv").write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(main, ["eval", str(tmp_path), str(tmp_path / "l.csv"),
                                       "--as-of", AS_OF, "--engine", engine])
    assert result.exit_code == 1, result.output
    # the limit is on each JSON text read: here the cell's
    assert _decided(result.stdout) == [True, True, False, False]


def test_the_depth_test_does_not_count_brackets_in_strings():
    assert not too_deep('{"a": "' + "[" * 5000 + '"}')
    assert not too_deep('{"a": "\\"' + "{" * 5000 + '"}')
    assert not too_deep("[" + "[], " * 5000 + "[]]")  # wide, not deep
    assert too_deep(b"[" * 501 + b"]" * 501)
    assert not too_deep(b"[" * 500 + b"]" * 500)
