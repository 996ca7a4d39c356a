"""Every JSON document the commands write keeps U+2028, U+2029 and U+0085 as escapes.

`eval`'s JSON Lines and `report --format json` wrote them as ``\\u2028`` (docs/security.md:
"so one record is always one line for every line-based reader"), but `check --format
json`, `test --format json` and `diff --format json` wrote them raw when a policy string
held one: a diagnostic quoting it, an example's name, a changed line. A log shipper or
``grep`` that splits on them broke one diagnostic into two lines, and a JavaScript
before ES2019 that embeds the JSON in a script cannot parse it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

BREAKS = ["\u2028", "\u2029", "\x85"]

POLICY = '''policy hj "JSON"
schema "lead.schema.json"
id lead_id
team m "@m"
funnel lead -> mql
stage lead owned by m {
  require email is present
}
stage mql "MQL{c}" owned by m {
  require job_level == "v{c}p" "not a v{c}p"
}
example "a v{c}p" {
  at "2026-11-02T15:00:00Z"
  lead {"lead_id": "A", "email": "a@b.co", "job_level": "vp"}
  expect stage mql
}
'''
SCHEMA = {"type": "object", "required": ["lead_id"],
          "properties": {"lead_id": {"type": "string"}, "email": {"type": "string"},
                         "job_level": {"enum": ["vp", "ic"]}}}


def _policy(folder: Path, char: str) -> Path:
    folder.mkdir()
    escaped = json.dumps(char)[1:-1]  # the policy's string escape: \u2028
    (folder / "p.funnel").write_text(POLICY.replace("{c}", escaped))
    (folder / "lead.schema.json").write_text(json.dumps(SCHEMA))
    return folder


def _assert_escaped(out: bytes, char: str) -> object:
    text = out.decode("utf-8")
    assert char not in text, f"raw {char!r} in {text!r}"
    data = json.loads(text)
    assert char in json.dumps(data, ensure_ascii=False), "the character was dropped"
    return data


@pytest.mark.parametrize("char", BREAKS, ids=["u2028", "u2029", "nel"])
def test_check_json_escapes_line_separators(tmp_path, char):
    rules = _policy(tmp_path / "rules", char)
    result = CliRunner().invoke(main, ["check", str(rules), "--format", "json"])
    data = _assert_escaped(result.stdout_bytes, char)
    assert any(d["code"] == "W208" for d in data["diagnostics"]), data


@pytest.mark.parametrize("char", BREAKS, ids=["u2028", "u2029", "nel"])
def test_test_json_escapes_line_separators(tmp_path, char):
    rules = _policy(tmp_path / "rules", char)
    result = CliRunner().invoke(main, ["test", str(rules), "--format", "json"])
    assert result.exit_code == 1, result.output  # the example fails: not a v?p
    _assert_escaped(result.stdout_bytes, char)


@pytest.mark.parametrize("char", BREAKS, ids=["u2028", "u2029", "nel"])
def test_diff_json_escapes_line_separators(tmp_path, char):
    base = _policy(tmp_path / "base", "x")
    head = _policy(tmp_path / "head", char)
    result = CliRunner().invoke(main, ["diff", str(base), str(head), "--format", "json"])
    assert result.exit_code == 0, result.output
    _assert_escaped(result.stdout_bytes, char)
