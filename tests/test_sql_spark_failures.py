"""Spark's failures as one line (``funnel eval --engine spark``, docs/warehouse.md).

A JVM that does not start, a Java OutOfMemoryError or StackOverflowError, a JVM that
ends during the run, the analyser's iteration limit: each reached the user as a Python
traceback with a Java stack trace. Now each is one ``funnel: --engine spark: ...`` line
that says what to do, exit status 2. The JVM-not-found case runs for real (a fresh
process, no JVM starts); the Java errors are mapped from the exceptions PySpark and
Py4J raise, built here, so no test needs a 2 GB run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy.sql.spark as spark_module
from policy.sql.spark_failures import (
    MEMORY_SETTING,
    SparkFailed,
    driver_memory,
    failure_message,
)

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "golden" / "sql" / "small.funnel"
LEAD = '{"lead_id": "L1", "email": "a@BigCo.com", "visits": 7}\n'

needs_pyspark = pytest.mark.skipif(spark_module.spark_missing() is not None,
                                   reason=f"Spark tier: {spark_module.spark_missing()}")


class _GoneClient:
    """A Py4J gateway client whose JVM is gone: every command fails."""

    def send_command(self, *_args):
        raise ConnectionRefusedError("the JVM is gone")


class _JavaThrowable:
    """What Py4J hands Python for a Java exception: its words through ``toString``."""

    _target_id = "o42"
    _gateway_client = _GoneClient()

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


def _java_error(text: str) -> Exception:
    from py4j.protocol import Py4JJavaError

    return Py4JJavaError("An error occurred while calling o41.parquet.\n",
                         _JavaThrowable(text))


def _eval(tmp_path, **env) -> tuple[int, str, str]:
    leads = tmp_path / "leads.jsonl"
    leads.write_text(LEAD, encoding="utf-8")
    res = CliRunner().invoke(main, ["eval", str(SMALL), str(leads), "--engine", "spark",
                                    "--as-of", "2026-12-01T16:00:00Z"], env=env)
    return res.exit_code, res.stdout, res.stderr


@needs_pyspark
@pytest.mark.parametrize("java, words", [
    ("java.lang.OutOfMemoryError: Java heap space", "Spark ran out of memory"),
    ("org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in "
     "stage 2.0 failed 1 times, most recent failure: java.lang.OutOfMemoryError: GC "
     "overhead limit exceeded", "Spark ran out of memory"),
    ("java.lang.StackOverflowError", "too deep for Spark's planner"),
])
def test_a_java_error_is_one_line_that_says_what_to_do(java, words):
    said = failure_message(_java_error(java))
    assert said is not None and "\n" not in said
    assert words in said
    if "memory" in words:
        assert f"{MEMORY_SETTING} (now 2g" in said and "--engine duckdb" in said
    else:
        assert "--engine duckdb" in said


@needs_pyspark
def test_a_jvm_that_ended_during_the_run_says_so():
    from py4j.protocol import Py4JError, Py4JNetworkError

    for exc in (Py4JNetworkError("Answer from Java side is empty"),
                Py4JError("An error occurred while calling o7.sql. Trace:\n"
                          "py4j.Py4JException: Error while sending or receiving")):
        said = failure_message(exc)
        assert said.startswith("Spark's JVM ended during the run"), said
        assert MEMORY_SETTING in said


@needs_pyspark
def test_the_analysers_iteration_limit_and_other_spark_errors_are_one_line():
    from pyspark.errors import AnalysisException

    said = failure_message(AnalysisException(
        message="Max iterations (100) reached for batch Resolution, please set "
                "'spark.sql.analyzer.maxIterations' to a larger value.\nmore"))
    assert said.startswith("the policy is too deep for Spark's analyser (Max iterations "
                           "(100) reached for batch Resolution"), said
    said = failure_message(_java_error("java.lang.IllegalStateException: no\n\tat x.y(z)"))
    assert said == "Spark failed: java.lang.IllegalStateException: no"


def test_errors_that_are_not_sparks_are_left_alone():
    assert failure_message(ValueError("x")) is None
    assert failure_message(BrokenPipeError()) is None  # the reader went away: quiet stop
    assert failure_message(OSError(28, "No space left on device")) is None


def test_the_driver_memory_setting(monkeypatch):
    monkeypatch.delenv(MEMORY_SETTING, raising=False)
    assert driver_memory() == "2g"
    assert spark_module._settings("local[*]")["spark.driver.memory"] == "2g"
    for value in ("6g", "6144m", "8G"):
        monkeypatch.setenv(MEMORY_SETTING, value)
        assert spark_module._settings("local[*]")["spark.driver.memory"] == value
    for value in ("lots", "6 g", "0", "-1g", "2gb"):
        monkeypatch.setenv(MEMORY_SETTING, value)
        with pytest.raises(SparkFailed, match="is not a memory size"):
            driver_memory()


@needs_pyspark
def test_eval_says_a_bad_memory_setting_in_one_line(tmp_path):
    code, out, err = _eval(tmp_path, **{MEMORY_SETTING: "lots"})
    assert (code, out) == (2, "")
    assert err == (f"funnel: --engine spark: {MEMORY_SETTING}='lots' is not a memory size: "
                   "give a number with k, m, g or t, such as 4g\n")


@needs_pyspark
def test_eval_says_a_java_error_of_the_run_in_one_line(tmp_path, monkeypatch):
    """What ``funnel eval`` prints when Spark fails (the engine is replaced by one that
    fails as Spark does when its heap runs out: no JVM starts here)."""

    class OutOfMemory:
        def __init__(self, *_args, **_kwargs):
            raise _java_error("java.lang.OutOfMemoryError: Java heap space")

    monkeypatch.setattr(spark_module, "SparkEngine", OutOfMemory)
    code, out, err = _eval(tmp_path)
    assert (code, out) == (2, "")
    assert err.startswith("funnel: --engine spark: Spark ran out of memory "
                          "(java.lang.OutOfMemoryError): raise the driver's memory with "
                          f"{MEMORY_SETTING} (now 2g; e.g. {MEMORY_SETTING}=6g)")
    assert err.count("\n") == 1 and "Traceback" not in err


@needs_pyspark
def test_a_jvm_that_does_not_start_is_one_line(tmp_path):
    """In a fresh process (no JVM runs there yet): JAVA_HOME names no Java. Before, a
    PySparkRuntimeError traceback ("[JAVA_GATEWAY_EXITED] Java gateway process exited
    before sending its port number"), exit status 1, and not a word of why."""
    leads = tmp_path / "leads.jsonl"
    leads.write_text(LEAD, encoding="utf-8")
    missing = tmp_path / "no-java"
    proc = subprocess.run(
        [sys.executable, "-m", "funnel_cli.main", "eval", str(SMALL), str(leads),
         "--as-of", "2026-12-01T16:00:00Z", "--engine", "spark"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**_env(), "JAVA_HOME": str(missing)})
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        f"funnel: --engine spark: Spark's JVM did not start ({missing}/bin/java: No such "
        f"file or directory): Spark needs Java 17 (JAVA_HOME={missing}); install it, or "
        "set JAVA_HOME to a Java 17 installation\n")


@needs_pyspark
def test_a_heap_the_jvm_refuses_is_one_line(tmp_path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text(LEAD, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "funnel_cli.main", "eval", str(SMALL), str(leads),
         "--as-of", "2026-12-01T16:00:00Z", "--engine", "spark"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**_env(), MEMORY_SETTING: "1k"})
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        "funnel: --engine spark: Spark's JVM did not start (Error occurred during "
        "initialization of VM: Too small maximum heap): check "
        f"{MEMORY_SETTING}=1k (a heap such as 4g)\n")


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items()
            if k not in (MEMORY_SETTING, "PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET")}
