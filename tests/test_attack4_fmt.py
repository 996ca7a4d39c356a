"""`funnel fmt --diff` on policies whose comments hold control characters and other
line breaks than LF (session 14).

Before: the diff split its lines with ``str.splitlines``, which also breaks at a lone CR,
VT, FF, NEL, U+2028 … inside a comment, so the part after one came out as a line with no
``+``, ``-`` or space mark (a diff no tool reads), and it wrote the comment's raw ESC
and CR to the terminal or CI log (a comment could recolour the terminal or start a line
with ``::error``), as it wrote a file name with control characters.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

POLICY = '''policy p "P"
team m "@m"
funnel lead
stage lead owned by m {
  require email is present
}
'''

# a comment holding each character, on a line fmt changes (two spaces before `#`)
ODD = ["\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\x1c", "\x1b[31m", "\r::error::x"]
# what may not reach a terminal (CR only as part of a CRLF line end)
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]")


def _diff_lines(out: str) -> list[str]:
    assert out.endswith("\n")
    return out[:-1].split("\n")


@pytest.mark.parametrize("odd", ODD, ids=[f"U+{ord(c[0]):04X}" for c in ODD])
def test_a_control_character_in_a_comment_keeps_the_diff_one_line_per_line(tmp_path, odd):
    path = tmp_path / "p.funnel"
    path.write_bytes(POLICY.replace('"@m"', f'"@m" # a{odd}b').encode())
    result = CliRunner().invoke(main, ["fmt", "--diff", str(path)])
    assert result.exit_code == 1, result.output
    lines = _diff_lines(result.stdout)
    assert all(ln[:1] in (" ", "-", "+", "@", "\\") for ln in lines), lines
    assert not UNSAFE.search(result.stdout.replace("\r\n", "\n")), result.stdout
    changed = [ln for ln in lines if ln.startswith(("-team", "+team"))]
    assert len(changed) == 2 and all(ln.endswith("b") for ln in changed), lines
    assert path.read_bytes() == POLICY.replace('"@m"', f'"@m" # a{odd}b').encode()


def test_a_file_name_with_control_characters_is_escaped_in_the_diff(tmp_path):
    path = tmp_path / "a\x1b]0;x\x07.funnel"
    path.write_text(POLICY.replace('"@m"', '"@m" # c'))
    result = CliRunner().invoke(main, ["fmt", "--diff", str(path)])
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "a\\x1b]0;x\\x07.funnel" in result.stdout


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
def test_the_diff_of_a_crlf_file_applies_with_patch(tmp_path):
    (tmp_path / "a.funnel").write_bytes(POLICY.replace("\n", "\r\n").replace(
        '"@m"', '"@m" # crlf').encode())
    (tmp_path / "b.funnel").write_bytes(POLICY.replace("  ", "\t").encode())
    funnel = [sys.executable, "-m", "funnel_cli.main", "fmt"]
    diff = subprocess.run([*funnel, "--diff", "a.funnel", "b.funnel"], cwd=tmp_path,
                          capture_output=True, timeout=120)
    assert diff.returncode == 1, diff.stderr
    assert b"\r\n" in diff.stdout  # the removed lines keep their CRLF
    done = subprocess.run(["patch", "-p0"], input=diff.stdout, cwd=tmp_path,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run([*funnel, "--check", "a.funnel", "b.funnel"], cwd=tmp_path,
                           capture_output=True, timeout=120)
    assert check.returncode == 0, check.stdout
