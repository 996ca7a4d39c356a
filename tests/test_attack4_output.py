"""Output that cannot be written, per engine and format (session 14).

Before: `funnel eval -o /dev/full` ended in a traceback for JSON Lines (python and
DuckDB engines: the last bytes are written when the file is closed, in a ``finally``
no ``except`` covered) and for Parquet (DuckDB's IOException from its ``COPY``; from
Parquet to Parquet the message named the input file, in DuckDB's JSON). And a full
temporary folder (DuckDB's staging database, the report's facts, the Parquet writer's
rows) ended every engine run and `report` in a traceback. Now each is one line, exit 2,
and nothing is left in the temporary folder.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

POLICY = '''policy o "Output"
version "1"
id lead_id

team m "@m"

funnel lead -> mql

score fit owned by m {
  +20 if employees >= 100
}

stage lead owned by m {
  require email is present
}

stage mql owned by m {
  require fit >= 10
}
'''

AS_OF = "2026-11-03T00:00:00Z"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("output")
    (root / "p").mkdir()
    (root / "p" / "policy.funnel").write_text(POLICY)
    leads = [{"lead_id": f"L-{i:05d}", "email": f"x{i}@y.z", "employees": i % 300}
             for i in range(3000)]
    (root / "leads.jsonl").write_text("".join(json.dumps(x) + "\n" for x in leads))
    (root / "one.jsonl").write_text(json.dumps(leads[0]) + "\n")
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json_auto('{root / 'one.jsonl'}')) TO "
                f"'{root / 'one.parquet'}' (FORMAT parquet)")
    con.close()
    return root


def _funnel(args: list[str], *, limit: int | None = None, tmpdir: Path | None = None
            ) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    if limit is not None:
        # under the file-size limit Python's bytecode writes are cut short and land as
        # truncated .pyc files in the run's shared bytecode folder (tests/conftest.py),
        # which the next `funnel` reads: "marshal data too short"
        env["PYTHONDONTWRITEBYTECODE"] = "1"

    def limited() -> None:  # a file-size limit: every write past it fails with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "funnel_cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=300,
                          preexec_fn=limited if limit is not None else None)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("leads, extra", [
    ("one.jsonl", []),
    ("one.jsonl", ["--engine", "duckdb"]),
    ("one.jsonl", ["--format", "parquet"]),
    ("one.jsonl", ["--format", "parquet", "--engine", "duckdb"]),
    ("one.parquet", ["--format", "parquet", "--engine", "duckdb"]),
])
def test_an_output_device_that_is_full_is_one_line_exit_2(folder, leads, extra):
    done = _funnel(["eval", str(folder / "p"), str(folder / leads), "--as-of", AS_OF,
                    "-o", "/dev/full", *extra])
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr == "funnel: /dev/full: cannot write: No space left on device\n"


@pytest.mark.parametrize("args", [
    ["eval", "{p}", "{leads}", "-o", "{out}/d.jsonl", "--engine", "duckdb"],
    ["eval", "{p}", "{leads}", "-o", "{out}/d.parquet"],
    ["report", "{p}", "{leads}", "-o", "{out}/r.md"],
    ["report", "{p}", "{leads}", "-o", "{out}/r.md", "--engine", "duckdb"],
], ids=["eval-duckdb", "eval-parquet", "report", "report-duckdb"])
def test_a_full_temporary_folder_is_one_line_exit_2(folder, tmp_path, args):
    tmpdir, out = tmp_path / "tmp", tmp_path / "out"
    tmpdir.mkdir()
    out.mkdir()
    argv = [a.format(p=folder / "p", leads=folder / "leads.jsonl", out=out) for a in args]
    done = _funnel([*argv, "--as-of", AS_OF], limit=20 * 1024, tmpdir=tmpdir)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"funnel: cannot write a working file in {tmpdir}: File too large; free space "
        "there, or set TMPDIR to a folder with room"]
    assert list(tmpdir.iterdir()) == [] and list(out.iterdir()) == []


@pytest.mark.parametrize("args, victim", [
    (["eval", "{p}", "{leads}", "-o", "{leads}"], "leads"),
    (["eval", "{p}", "{leads}", "-o", "{leads}", "--engine", "duckdb"], "leads"),
    (["eval", "{p}", "{link}", "-o", "{leads}"], "leads"),  # the same file by a link
    (["report", "{p}", "{leads}", "-o", "{leads}"], "leads"),
    (["diff", "{p}", "{p}", "--leads", "{leads}", "-o", "{leads}"], "leads"),
    (["docs", "{p}", "-o", "{policy}"], "policy"),
    (["docs", "{policy}", "-o", "{policy}"], "policy"),
    (["sql", "{p}", "-o", "{policy}"], "policy"),
    (["test", "{p}", "-o", "{policy}"], "policy"),
    (["diff", "{p}", "{p}", "-o", "{policy}"], "policy"),
])
def test_an_output_that_is_an_input_of_the_command_is_refused(tmp_path, args, victim):
    from click.testing import CliRunner
    from funnel_cli.main import main

    (tmp_path / "p").mkdir()
    policy_file = tmp_path / "p" / "policy.funnel"
    policy_file.write_text(POLICY)
    leads = tmp_path / "leads.jsonl"
    leads.write_text('{"lead_id": "L-1", "email": "a@b.c", "employees": 500}\n')
    os.symlink(leads, tmp_path / "link.jsonl")
    before = {p: p.read_bytes() for p in (policy_file, leads)}
    argv = [a.format(p=tmp_path / "p", leads=leads, link=tmp_path / "link.jsonl",
                     policy=policy_file) for a in args]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    target = leads if victim == "leads" else policy_file
    assert f"funnel: {target}: cannot write: it is " in result.output
    assert {p: p.read_bytes() for p in before} == before


def test_sql_years_past_a_century_are_refused_not_printed_for_hours(folder):
    # before: `--years 1000..9999` printed calendar tables for 9,000 years (about
    # 0.3 s and 120 KB of SQL a year: hours, and tens of gigabytes)
    done = subprocess.run([sys.executable, "-m", "funnel_cli.main", "sql", str(folder / "p"),
                           "--years", "1000..9999"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("funnel: --years 1000..9999 covers 9,000 years, more than "
                                  "the 100 the printed SQL holds")
    from policy.sql import SqlUnsupported, check_arguments

    check_arguments(years=(2000, 2099))
    with pytest.raises(SqlUnsupported):
        check_arguments(years=(2000, 2100))
