"""`funnel fmt` through click's CliRunner: exit status, output, and what it writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

from policy.syntax import formatter

MESSY = 'policy  demo "Demo"\nversion "1"\nteam marketing "@m"   # owners\ndefine x=1+ (2*3)\n'
CLEAN = 'policy demo "Demo"\nversion "1"\n\nteam marketing "@m"  # owners\n\ndefine x = 1 + 2 * 3\n'
BROKEN = "define x = (1\n"


def run(*args: str, cwd: Path | None = None, stdin: str | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, ["fmt", *args], input=stdin, catch_exceptions=False)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, ["fmt", *args], input=stdin, catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """rules/{a,b}.funnel (a messy, b clean), a nested one, and a hidden one."""
    rules = tmp_path / "rules"
    (rules / "more").mkdir(parents=True)
    (rules / ".hidden").mkdir()
    (rules / "a.funnel").write_text(MESSY, "utf-8")
    (rules / "b.funnel").write_text(CLEAN, "utf-8")
    (rules / "more" / "c.funnel").write_text(MESSY, "utf-8")
    (rules / ".hidden" / "d.funnel").write_text(MESSY, "utf-8")
    (rules / "notes.txt").write_text(MESSY, "utf-8")
    return rules


def test_rewrites_in_place_and_exits_0(tree: Path):
    result = run(str(tree))
    assert result.exit_code == 0, result.output
    assert (tree / "a.funnel").read_text("utf-8") == CLEAN
    assert (tree / "more" / "c.funnel").read_text("utf-8") == CLEAN
    assert (tree / "b.funnel").read_text("utf-8") == CLEAN
    # hidden directories and other files are left alone
    assert (tree / ".hidden" / "d.funnel").read_text("utf-8") == MESSY
    assert (tree / "notes.txt").read_text("utf-8") == MESSY
    shown = result.stdout.splitlines()
    assert shown == [f"reformatted {tree / 'a.funnel'}",
                     f"reformatted {tree / 'more' / 'c.funnel'}"]
    assert result.stderr.strip() == "2 files reformatted, 1 file already formatted"


def test_a_second_run_changes_nothing(tree: Path):
    assert run(str(tree)).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in tree.rglob("*.funnel")}
    again = run("--check", str(tree))
    assert again.exit_code == 0
    assert again.stdout == ""
    assert {p: p.stat().st_mtime_ns for p in tree.rglob("*.funnel")} == before


def test_relative_paths_and_the_default_directory(tree: Path):
    result = run("--check", cwd=tree)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["a.funnel", os.path.join("more", "c.funnel")]


def test_check_lists_files_changes_nothing_exits_1(tree: Path):
    result = run("--check", str(tree / "a.funnel"), str(tree / "b.funnel"))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [str(tree / "a.funnel")]
    assert (tree / "a.funnel").read_text("utf-8") == MESSY
    assert "1 file would be reformatted, 1 file already formatted" in result.stderr


def test_check_passes_on_formatted_files(tree: Path):
    result = run("--check", str(tree / "b.funnel"))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_diff_prints_a_unified_diff_and_changes_nothing(tree: Path):
    target = tree / "a.funnel"
    result = run("--diff", str(target))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"--- {target}"
    assert lines[1] == f"+++ {target}"
    assert lines[2].startswith("@@ ")
    assert '-team marketing "@m"   # owners' in lines
    assert '+team marketing "@m"  # owners' in lines
    assert "+define x = 1 + 2 * 3" in lines
    assert target.read_text("utf-8") == MESSY


def test_diff_of_a_file_without_final_newline(tmp_path: Path):
    target = tmp_path / "x.funnel"
    target.write_text("define x = 1", "utf-8")
    result = run("--diff", str(target))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[3:] == [
        "-define x = 1", "\\ No newline at end of file", "+define x = 1"]


def test_diff_with_nothing_to_change_exits_0(tree: Path):
    result = run("--diff", str(tree / "b.funnel"))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_syntax_error_prints_the_diagnostic_and_exits_1(tree: Path):
    bad = tree / "bad.funnel"
    bad.write_text(BROKEN, "utf-8")
    result = run(str(tree))
    assert result.exit_code == 1
    assert f"{bad}:1:" in result.stderr
    assert "error[E100]" in result.stderr
    assert "1 | define x = (1" in result.stderr  # the source line under the message
    assert bad.read_text("utf-8") == BROKEN
    # the other files were still formatted
    assert (tree / "a.funnel").read_text("utf-8") == CLEAN
    assert "1 file could not be formatted" in result.stderr


def test_missing_path_exits_2_with_one_line(tree: Path):
    result = run(str(tree / "a.funnel"), str(tree / "nope.funnel"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"funnel: {tree / 'nope.funnel'}: no such file or directory"]
    # nothing was rewritten: paths are checked before any file is touched
    assert (tree / "a.funnel").read_text("utf-8") == MESSY


def test_directory_without_policy_files_exits_2(tmp_path: Path):
    result = run(str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"funnel: {tmp_path}: no *.funnel files in this directory"


def test_unreadable_file_exits_2(tmp_path: Path):
    target = tmp_path / "latin1.funnel"
    target.write_bytes('define x = "caf\xe9"\n'.encode("latin-1"))
    result = run(str(target))
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr
    assert target.read_bytes() == 'define x = "caf\xe9"\n'.encode("latin-1")


def test_refusal_leaves_the_file_alone_and_exits_1(tree: Path, monkeypatch):
    real = formatter.format_module
    monkeypatch.setattr(formatter, "format_module", lambda m: real(m).replace("# owners", ""))
    result = run(str(tree / "a.funnel"))
    assert result.exit_code == 1
    assert "error[E111]" in result.stderr
    assert "lose or move a comment" in result.stderr
    assert (tree / "a.funnel").read_text("utf-8") == MESSY


def test_keeps_the_file_mode(tree: Path):
    target = tree / "a.funnel"
    target.chmod(0o640)
    assert run(str(target)).exit_code == 0
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tree.iterdir() if p.name.endswith(".tmp")) == []


def test_stdin_to_stdout():
    result = run("-", stdin=MESSY)
    assert result.exit_code == 0
    assert result.stdout == CLEAN
    check = run("--check", "-", stdin=MESSY)
    assert check.exit_code == 1
    assert check.stdout == ""
    bad = run("-", stdin=BROKEN)
    assert bad.exit_code == 1
    assert "<stdin>:1:" in bad.stderr


def test_stdin_cannot_mix_with_paths(tree: Path):
    result = run("-", str(tree))
    assert result.exit_code == 2
    assert "cannot be combined" in result.stderr


def test_help_shows_an_example():
    result = CliRunner().invoke(main, ["fmt", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "funnel fmt --check rules" in result.output
    assert "--diff" in result.output
