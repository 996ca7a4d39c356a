"""`funnel init DIR` prints a `cd` to paste: it must reach DIR whatever its name.

A folder whose name starts with `-` was printed as `cd -rf`, which the shell reads as
options (`cd: -r: invalid option`), and `cd -` goes back to the previous folder instead
of into one named `-`.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("name", ["-rf", "-", "--", "-P x"])
def test_the_printed_cd_enters_a_folder_named_like_an_option(tmp_path, name):
    proc = subprocess.run([sys.executable, "-m", "funnel_cli.main", "init", "--", name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / name / "rules" / "policy.funnel").is_file()
    line = next(x.strip() for x in proc.stdout.splitlines() if x.strip().startswith("cd "))
    cd = line.split(" && ")[0]
    # from a folder with a different OLDPWD, so `cd -` cannot pass by luck
    got = subprocess.run(["bash", "-c", f"cd / && cd {os.fspath(tmp_path)!r} && {cd} && pwd"],
                         capture_output=True, text=True, check=False)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == str(tmp_path / name)
