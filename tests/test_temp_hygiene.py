"""Nothing is left in the temporary folder: not by the test suite, and not by a command,
whether it ends normally, on an error or on Ctrl-C (SIGINT), with every engine.

Before, a full run left ~5,000 ``decide-*`` folders (cached Hypothesis helpers that
called ``mkdtemp``), ~600 ``kept-*``, one ``funnel-test-cache-*`` per run and Lark's
pickled parse table; a Ctrl-C left the DuckDB engine's ``funnel-duckdb-*``, the Parquet
writer's ``funnel-parquet-*``, a report's ``funnel-report-*``, PySpark's gateway folder
and, during Spark's start, a JVM that ran on for good.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from policy.io.atomic import discard_pending, drop_scratch, scratch, scratch_folder

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"


def _env(tmp: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FUNNEL_NO_CACHE",)}
    env.update(TMPDIR=str(tmp), **more)
    return env


# --------------------------------------------------------------------------- the suite


@pytest.mark.parametrize("module, helper, schema", [
    ("test_decide", "_policy", "_STRING_LIMITS"),
    ("test_decide_json", "_text_policy", None),
    ("test_kept_decisions", "_policy", "SCHEMA"),
])
def test_the_cached_policy_helpers_leave_no_folder(module, helper, schema, tmp_path,
                                                   monkeypatch):
    import importlib
    import json
    import tempfile

    made = importlib.import_module(module)
    args = () if schema is None else (json.dumps(getattr(made, schema)),)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pol = getattr(made, helper).__wrapped__(*args)
    assert len(list(pol.evaluate_many([{}]))) == 1  # loaded whole: no folder needed after
    assert list(tmp_path.iterdir()) == []


def test_a_test_run_removes_its_policy_cache(tmp_path):
    (tmp_path / "t").mkdir()
    env = _env(tmp_path / "t")
    env.pop("FUNNEL_CACHE_DIR", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--basetemp", str(tmp_path / "base"), "tests/test_conftest.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list((tmp_path / "t").iterdir()) == []


# --------------------------------------------------------------------------- the product


def test_the_parse_table_is_kept_in_the_cache_folder_not_the_temporary_one(tmp_path):
    code = "from policy.syntax.grammar import lark_parser; lark_parser()"
    (tmp_path / "t").mkdir()
    for extra in ({"FUNNEL_CACHE_DIR": str(tmp_path / "cache")}, {"FUNNEL_NO_CACHE": "1"}):
        env = _env(tmp_path / "t")
        env.update(extra)
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
        assert list((tmp_path / "t").iterdir()) == []
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["grammar.lark-table"]


def test_a_parse_table_others_may_write_is_not_read(tmp_path, monkeypatch):
    from policy.syntax.grammar import _table_file

    monkeypatch.setenv("FUNNEL_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FUNNEL_NO_CACHE", raising=False)
    assert _table_file() == str(tmp_path / "grammar.lark-table")  # none yet: Lark writes it
    (tmp_path / "grammar.lark-table").write_bytes(b"planted")
    os.chmod(tmp_path / "grammar.lark-table", 0o666)
    assert _table_file() is False
    monkeypatch.setenv("FUNNEL_NO_CACHE", "1")
    assert _table_file() is False


def test_scratch_folders_are_listed_until_dropped_and_discarded_on_an_interrupt(
        tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch("a-") as kept:
        Path(kept, "x").write_text("x")
    made = scratch_folder("b-")
    Path(made, "y").mkdir()
    other = scratch_folder("c-")
    drop_scratch(other)
    assert [p.name for p in tmp_path.iterdir()] == [Path(made).name]
    discard_pending()  # what Ctrl-C's handler runs before the process ends
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def many_leads(tmp_path_factory) -> Path:
    """Enough leads that every command below is still running when it is interrupted."""
    lines = (RULES / "leads.jsonl").read_text("utf-8").splitlines(keepends=True)
    path = tmp_path_factory.mktemp("many") / "many.jsonl"
    path.write_text("".join(lines) * 150, "utf-8")
    return path


def _children(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2:].split()[1]) == pid:
                found.append(int(name))
    return found


def _interrupt_once(args: list[str], tmp_path: Path, prefix: str) -> tuple[str, list[int]]:
    """Run ``funnel ARGS`` with its own temporary folder, SIGINT it as soon as a folder
    named ``prefix*`` is there, and return its stderr and the child processes it had."""
    tmp = tmp_path / "t"
    tmp.mkdir()
    env = _env(tmp, FUNNEL_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-m", "funnel_cli.main", *args], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not any(
            p.name.startswith(prefix) for p in tmp.iterdir()):
        time.sleep(0.02)
    assert proc.poll() is None, "the command ended before it could be interrupted"
    children = _children(proc.pid) if Path("/proc").is_dir() else []
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        # before: `report`'s pool forked workers again as the interrupt ended the old
        # ones; they waited for tasks for good, holding the command's stderr open
        proc.kill()
        proc.stderr.close()  # the outliving process holds the pipe: do not wait for it
        proc.wait()
        pytest.fail("a process of the interrupted command outlived it")
    assert proc.returncode == 130, err
    return err.decode(), children


@pytest.mark.parametrize("args, prefix", [
    (["eval", "rules", "{leads}", "-o", "{out}/o.parquet"], "funnel-parquet-"),
    (["eval", "rules", "{leads}", "--engine", "duckdb", "-o", "{out}/o.parquet"],
     "funnel-duckdb-"),
    (["report", "rules", "{leads}", "--engine", "duckdb", "-o", "{out}/r.html"],
     "funnel-report-"),
    (["report", "rules", "{leads}", "-o", "{out}/r.html"], "funnel-report-"),
])
def test_ctrl_c_leaves_nothing_in_the_temporary_folder(args, prefix, many_leads, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    args = [a.format(leads=many_leads, out=out) for a in args]
    err, _ = _interrupt_once(args, tmp_path, prefix)
    assert err.strip().splitlines() == ["funnel: interrupted"]
    assert list((tmp_path / "t").iterdir()) == []
    assert list(out.iterdir()) == []  # no torn output, no temporary file beside it


def test_ctrl_c_while_spark_starts_ends_its_jvm_and_leaves_nothing(many_leads, tmp_path):
    from policy.sql.spark import spark_missing

    if spark_missing() is not None:
        pytest.skip(f"Spark tier: {spark_missing()}")
    if not Path("/proc").is_dir():
        pytest.skip("child processes are found in /proc")
    out = tmp_path / "out"
    out.mkdir()
    err, children = _interrupt_once(
        ["eval", "rules", str(many_leads), "--engine", "spark", "-o", str(out / "o.parquet")],
        tmp_path, "funnel-spark-start-")
    assert "Traceback" not in err and err.rstrip().endswith("funnel: interrupted")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
        time.sleep(0.1)
    assert not [c for c in children if Path(f"/proc/{c}").exists()], "the JVM runs on"
    assert list((tmp_path / "t").iterdir()) == []
    assert list(out.iterdir()) == []


def test_an_error_leaves_nothing_in_the_temporary_folder(tmp_path):
    tmp = tmp_path / "t"
    tmp.mkdir()
    env = _env(tmp, FUNNEL_CACHE_DIR=str(tmp_path / "cache"))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"lead_id": "a"}\n\xff\n')
    for args in (["eval", "rules", str(bad), "--engine", "duckdb", "-o",
                  str(tmp_path / "x.parquet")],
                 ["eval", "rules", str(bad), "--input-format", "parquet"],
                 ["report", "rules", str(bad), "--engine", "duckdb", "--by", "no_such"],
                 ["diff", "HEAD", "rules", "--leads", str(tmp_path / "none.jsonl")]):
        proc = subprocess.run([sys.executable, "-m", "funnel_cli.main", *args], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, (args, proc)
        assert list(tmp.iterdir()) == [], args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "cache", "t",
                                                          "x.parquet"]
