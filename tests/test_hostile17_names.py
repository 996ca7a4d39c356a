"""File names and lead text on standard error: escaped like every other terminal text.

A policy folder, a leads file or an ``-o`` target is named by whoever made it: a pull
request can add ``policies/a<ESC>[2J<LF>::warning::…/`` and a CI loop runs ``funnel``
on every folder. The messages that name such a file (exit 2: it cannot be read, or
written) printed the name raw, so a line feed in it started a GitHub workflow command
in the log, and an escape sequence reached the terminal. So did the refusal summary of
``eval`` and ``explain`` for a lead whose text holds a bidi override or U+2028 (a
schema message quotes the value as JSON, which keeps them). Each case runs the real
``funnel`` in a process, and checks standard error byte-wise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

# Everything `policy.render.escape.terminal` writes as a visible escape (tab aside).
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                  "\u2028\u2029]")
HOSTILE = "a\x1b[31m\n::warning file=x::pwned\rb\u202ec\u2028d"

POLICY = '''policy hn "Hostile names"
schema "lead.schema.json"
id lead_id
team m "@m"
funnel lead -> mql
stage lead owned by m {
  require email is present
}
stage mql owned by m {
  require employees >= 10
}
example "one" {
  at "2026-11-02T15:00:00Z"
  lead {"lead_id": "A", "email": "a@b.co", "employees": 20}
  expect stage mql
}
'''

SCHEMA = {"type": "object", "required": ["lead_id"],
          "properties": {"lead_id": {"type": "string"}, "email": {"type": "string"},
                         "employees": {"type": "integer"}}}


def _funnel(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "funnel_cli.main", *argv],
                          capture_output=True, timeout=120, check=False)


def _assert_one_safe_line(proc: subprocess.CompletedProcess, status: int) -> str:
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == status, err
    assert "Traceback" not in err, err
    raw = _RAW.search(err)
    assert raw is None, f"raw {raw.group(0)!r} on stderr: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert not any(line.startswith("::") for line in lines), err
    return lines[0]


@pytest.fixture(scope="module")
def w(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("names")
    (root / "rules").mkdir()
    (root / "rules" / "p.funnel").write_text(POLICY)
    (root / "rules" / "lead.schema.json").write_text(json.dumps(SCHEMA))
    (root / "leads.jsonl").write_text('{"lead_id": "A", "email": "a@b.co", "employees": 20}\n')
    return root


def _cases(w: Path) -> dict[str, list[str]]:
    gone = str(w / HOSTILE)
    rules, leads = str(w / "rules"), str(w / "leads.jsonl")
    return {
        "check": ["check", gone],
        "check-github": ["check", gone, "--format", "github"],
        "test": ["test", gone],
        "fmt": ["fmt", "--check", gone],
        "docs": ["docs", gone],
        "sql": ["sql", gone],
        "eval-policy": ["eval", gone, leads],
        "eval-leads": ["eval", rules, gone],
        "explain-leads": ["explain", rules, gone + ":1"],
        "diff-base": ["diff", gone, rules],
        "diff-leads": ["diff", rules, rules, "--leads", gone],
        "report-leads": ["report", rules, gone],
        "eval-o": ["eval", rules, leads, "-o", gone + "/d.csv"],
        "docs-o": ["docs", rules, "-o", gone + "/d.md"],
        "test-o": ["test", rules, "--format", "junit", "-o", gone + "/t.xml"],
        "report-o": ["report", rules, leads, "-o", gone + "/r.html"],
    }


CASE_NAMES = list(_cases(Path("x")))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_a_hostile_file_name_is_one_escaped_line_on_stderr(w, case):
    line = _assert_one_safe_line(_funnel(*_cases(w)[case]), 2)
    # the name is there, escaped, not dropped
    assert "a\\x1b[31m\\x0a::warning file=x::pwned\\x0db\\u202ec\\u2028d" in line, line


@pytest.mark.parametrize("value", ["x\u202ey", "x\u2028y", "x\x85y", "x\u2066y"])
@pytest.mark.parametrize("command", ["eval", "explain"])
def test_a_refused_leads_text_is_escaped_in_the_summary_on_stderr(w, tmp_path, value,
                                                                   command):
    leads = tmp_path / "l.jsonl"
    leads.write_text(json.dumps({"lead_id": "A", "email": "a@b.co", "employees": value})
                     + "\n")
    argv = (["eval", str(w / "rules"), str(leads), "-o", str(tmp_path / "o.jsonl")]
            if command == "eval" else ["explain", str(w / "rules"), f"{leads}:1"])
    proc = _funnel(*argv)
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 1, err
    raw = _RAW.search(err)
    assert raw is None, f"raw {raw.group(0)!r} on stderr: {err!r}"
    assert f"\\u{ord(value[1]):04x}" in err or f"\\x{ord(value[1]):02x}" in err, err
