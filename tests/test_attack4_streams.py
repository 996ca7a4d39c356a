"""A standard stream closed when the command starts (`funnel docs rules >&-`,
`funnel fmt - <&-`), session 14.

Before: Python leaves ``sys.stdout`` (``sys.stdin``) None then, and every command that
wrote (read) it ended in an AttributeError traceback, exit 1, where docs/security.md
promises one line and exit 2 for standard output that cannot be written, "a closed
descriptor" named among the causes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

POLICY = '''policy s "S"
team m "@m"
funnel lead
stage lead owned by m {
  require email is present
}
'''


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("streams")
    (root / "p.funnel").write_text(POLICY)
    (root / "one.jsonl").write_text('{"email": "a@b.c"}\n')
    return root


@pytest.mark.parametrize("args", [
    ["docs", "{p}"], ["sql", "{p}"], ["test", "{p}"], ["eval", "{p}", "{leads}"],
    ["eval", "{p}", "{leads}", "--engine", "duckdb"], ["fmt", "--diff", "{p}"],
    ["explain", "{p}", "{leads}:1"], ["report", "{p}", "{leads}"],
])
def test_a_closed_standard_output_is_one_line_exit_2(folder, args):
    argv = [a.format(p=folder / "p.funnel", leads=folder / "one.jsonl") for a in args]
    done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m",
                           "funnel_cli.main", *argv], stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "funnel: standard output: cannot write: Bad file descriptor")


@pytest.mark.parametrize("args", [
    ["eval", "{p}", "-"], ["fmt", "-"], ["explain", "{p}", "-"], ["report", "{p}", "-"],
])
def test_a_closed_standard_input_is_one_line_exit_2(folder, args):
    argv = [a.format(p=folder / "p.funnel") for a in args]
    done = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", sys.executable, "-m",
                           "funnel_cli.main", *argv], capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "funnel: standard input: cannot read: Bad file descriptor")


def test_a_command_that_writes_nothing_there_is_not_disturbed(folder, tmp_path):
    done = subprocess.run(["sh", "-c", 'exec "$@" >&- <&-', "sh", sys.executable, "-m",
                           "funnel_cli.main", "eval", str(folder / "p.funnel"),
                           str(folder / "one.jsonl"), "-o", str(tmp_path / "d.jsonl")],
                          stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d.jsonl").read_text().count("\n") == 1
