"""Lines that are not JSON, as `eval`, `explain` and `check` word them (spec sections 5
and 9): the same message from every engine, and one that reads.

Before: the python engine decoded a JSON Lines line together with its line break, so a
line whose string is never closed was "Invalid control character" (the break inside the
string) where DuckDB, which never sees the break, said "Unterminated string": the two
engines wrote different error records for the same line. And the standard library's
messages that end in "at" ("Unterminated string starting at") were followed by the
readers' own "at column 24", which made "at at".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

AS_OF = "2026-12-01T16:00:00Z"
POLICY = '''policy p "P"
id lead_id
team m "@m"
funnel lead
stage lead owned by m {
  require email is present
}
'''
OPEN = '{"lead_id":"a","email":"x'  # the string is never closed: column 24 opens it


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "p.funnel").write_text(POLICY)
    return tmp_path / "p"


def _run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_string_left_open_at_the_line_break_is_the_same_error_in_every_engine(
        folder, tmp_path, engine):
    leads = tmp_path / "l.jsonl"
    leads.write_bytes((f"{OPEN}\n{OPEN}\r\n" + '{"lead_id":"c","email":"x\ty"}\n'
                       + OPEN).encode())
    result = _run("eval", folder, leads, "--as-of", AS_OF, "--engine", engine)
    assert result.exit_code == 1, result.output
    messages = [json.loads(line)["error"]["message"] for line in result.stdout.splitlines()]
    opened = "not valid JSON: Unterminated string starting at column 24"
    assert messages[:2] == [opened, opened]
    assert messages[2] == "not valid JSON: Invalid control character at column 26"
    assert messages[3] == opened


def test_explain_names_the_line_that_is_not_json_in_the_same_words(folder, tmp_path):
    leads = tmp_path / "l.jsonl"
    leads.write_text(f'{{"lead_id":"ok","email":"x"}}\n{OPEN}\n')
    result = _run("explain", folder, f"{leads}:2", "--as-of", AS_OF)
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "line 2: not valid JSON: Unterminated string starting at column 24")


def test_a_json_array_cut_inside_a_string_says_where_once(folder, tmp_path):
    leads = tmp_path / "l.json"
    leads.write_text('[{"lead_id":"a","email":"x"},\n {"lead_id":"b\n')
    result = _run("eval", folder, leads, "--as-of", AS_OF)
    message = json.loads(result.stdout.splitlines()[-1])["error"]["message"]
    assert " at at " not in message
    assert message.startswith("not valid JSON: Invalid control character at line 2")


def test_a_schema_that_is_not_json_does_not_end_in_at(tmp_path):
    (tmp_path / "p.funnel").write_text(POLICY.replace('id lead_id', 'id lead_id\nschema "s.json"'))
    (tmp_path / "s.json").write_text('{"type": "object", "properties": {"b": "x')
    result = _run("check", tmp_path)
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if "E110" in x)
    assert "not valid JSON: Unterminated string starting (at 1:" in line, line


def test_explain_lists_a_csv_rows_bad_cells_once(folder, tmp_path):
    # Before: a CSV row's message is its cells' problems joined ("clicks: …; visits: …"),
    # and explain printed that line and then every problem again under it.
    leads = tmp_path / "l.csv"
    leads.write_text("lead_id,email,visits,clicks\nb,,zz,qq\n")
    (folder / "p.funnel").write_text(POLICY.replace(
        "require email is present", "require visits + clicks > 1"))
    result = _run("explain", folder, f"{leads}:2", "--as-of", AS_OF)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"funnel: {leads}, line 2: the lead is refused:",
        '  clicks: expected a number, found "qq"',
        '  visits: expected a number, found "zz"']
