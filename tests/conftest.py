"""Shared test set-up: where the spec's conformance policy lives, and Hypothesis profiles.

**The conformance folder.** The spec's shared conformance policy sits beside the
repository (``../shared/spec/conformance/acme``), not inside it; ``FUNNEL_CONFORMANCE``
may point elsewhere. Tests that need it use :data:`ACME` with :data:`needs_acme` (a
``skipif`` mark) or the :func:`acme_dir` fixture, so every such skip says the same thing.

**Hypothesis profiles.** ``dev`` (the default) is Hypothesis's own defaults: random
examples, fresh each run, so local runs keep exploring. ``ci`` is derandomized (the same
examples every run, so a red build is reproducible and never flaky), draws more examples
where a test does not set its own count, and has no per-example deadline (CI machines are
shared and slow). ``CI=true`` (set by GitHub Actions and by ``.ci/run``) selects ``ci``;
``HYPOTHESIS_PROFILE`` names either profile explicitly.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Commands cache loaded policies (policy.model.cache). The suite runs with a cache of its
# own, fresh for each run, so every CLI test also checks that a cached load is never
# stale, and nothing is left in the user's cache. The process that makes it (pytest's
# controller; xdist workers inherit the variable) removes it when it exits, so no run
# leaves a directory behind in the temporary folder.
if "FUNNEL_CACHE_DIR" not in os.environ:
    os.environ["FUNNEL_CACHE_DIR"] = tempfile.mkdtemp(prefix="funnel-test-cache-")
    atexit.register(shutil.rmtree, os.environ["FUNNEL_CACHE_DIR"], ignore_errors=True)

# Bytecode. With PYTHONDONTWRITEBYTECODE set (the shared machine sets it for every
# process), each `funnel` a test starts as a subprocess compiled the package's 149
# modules from source again: 0.08-0.15 CPU-s a start. The suite's processes (the
# xdist workers and every subprocess inherit the variables) then keep their bytecode
# in a folder of the run's own (PYTHONPYCACHEPREFIX), removed when the run ends, so
# nothing is written into the checkout either way.
if os.environ.get("PYTHONDONTWRITEBYTECODE"):
    if not os.environ.get("PYTHONPYCACHEPREFIX"):  # else the caller's chosen folder
        os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="funnel-test-pycache-")
        atexit.register(shutil.rmtree, os.environ["PYTHONPYCACHEPREFIX"], ignore_errors=True)
    del os.environ["PYTHONDONTWRITEBYTECODE"]

# The Spark JVMs. Each JVM the suite starts (one per xdist worker that runs a Spark
# test, and one per `funnel eval --engine spark` a test runs as a subprocess) decides a
# few thousand leads at most, and spent most of its CPU in the JIT's optimising
# compiler (C2) on code it then ran for seconds: a fresh `funnel eval --engine spark` of
# one lead took 45 s, nearly all of it JVM CPU; with the quick compiler alone
# (`-XX:TieredStopAtLevel=1`) 21.5 s, and tests/test_sql_spark.py 155 -> 111 s. The
# compiler tier changes how fast the JVM runs Spark's code, never what it computes, so
# every decision and every byte the tests compare is the same; the product keeps the
# JVM's defaults (a large input runs long enough for C2 to pay). `SPARK_SUBMIT_OPTS`
# reaches the driver JVM that PySpark's launcher starts (in-process and in `funnel`
# subprocesses, which inherit it), without the "Picked up ..." line `JAVA_TOOL_OPTIONS`
# writes; a value the caller set is kept.
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1")

#: The spec's conformance policy (policy, examples and schema).
ACME = Path(os.environ.get("FUNNEL_CONFORMANCE")
            or ROOT.parent / "shared" / "spec" / "conformance" / "acme")
#: The one reason every test gives when the conformance folder is absent.
NO_ACME = f"the shared conformance folder is absent ({ACME}; set FUNNEL_CONFORMANCE)"
#: Mark for a test (or ``pytestmark`` for a module) that needs the conformance folder.
needs_acme = pytest.mark.skipif(not ACME.is_dir(), reason=NO_ACME)


@pytest.fixture(scope="session")
def acme_dir() -> Path:
    """The conformance folder; skips the test (with :data:`NO_ACME`) when it is absent."""
    if not ACME.is_dir():
        pytest.skip(NO_ACME)
    return ACME


# both from Hypothesis's own defaults, never from whatever profile is loaded already
settings.register_profile("dev", settings.get_profile("default"))
settings.register_profile("ci", settings.get_profile("default"), derandomize=True,
                          database=None, deadline=None, max_examples=200, print_blob=True)


def _profile() -> str:
    chosen = os.environ.get("HYPOTHESIS_PROFILE")
    if chosen:
        return chosen
    return "ci" if os.environ.get("CI", "").lower() in ("true", "1", "yes") else "dev"


settings.load_profile(_profile())

#: ``FUNNEL_LONG=1``: every generated differential that draws fewer examples since the
#: twenty-third session draws its count from before (docs/testing.md, "Long
#: differential runs"); the count knobs of a module (``ENGINE_EXAMPLES``, ...) still
#: win where set.
LONG = os.environ.get("FUNNEL_LONG", "").lower() in ("1", "true", "yes")


def examples(ci: int, long: int) -> int:
    """Examples for a generated differential: ``ci`` in a normal run (CI's and the
    README's command), ``long`` (the count before the twenty-third session's cut) with
    ``FUNNEL_LONG=1``."""
    return long if LONG else ci


# --------------------------------------------------------------------------- run order

#: The modules that take longest, slowest first: their wall time in a run of the
#: README's command without coverage (``CI=true``, ``-n 2 --dist loadfile``, the
#: conformance folder present) in the twenty-fourth session, the Spark JVMs already on
#: the quick compiler (above). It was ordered from coverage runs before, where the
#: tracer weighs the Python-heavy files more than the DuckDB and Spark ones.
#: ``-n 2 --dist loadfile`` gives each worker one file at a time in the order
#: collected; xdist's default order (most tests first) started these few-test files
#: last, so one worker still ran the slowest of them minutes after the other had
#: finished. Started first, longest first, the files at the tail are short ones and the
#: two workers end within seconds of each other. Order only: every test still runs.
SLOW_FIRST: tuple[str, ...] = (
    "test_sql_spark.py", "test_sql_engine.py", "test_sql_spark_generated.py",
    "test_report_fallback.py", "test_sql_records.py", "test_spec_audit19w.py",
    "test_generators.py", "test_sql_print.py", "test_sql_schemas.py",
    "test_sql_spark_wide.py", "test_attack_warehouse.py", "test_report_duckdb.py",
    "test_local_tz.py", "test_fuzz_hostile.py", "test_sql_list_kinds.py",
    "test_sql_postgres.py", "test_inlined_forms.py", "test_attack.py", "test_sql_years.py",
    "test_equivalence.py", "test_report_parquet.py", "test_spec_audit18.py",
    "test_sql_casing.py", "test_formatter.py", "test_parquet_data_years.py",
    "test_hostile_input.py", "test_decide_json.py", "test_temp_hygiene.py",
    "test_gen18_generators.py", "test_sql_table.py",
)


def pytest_configure(config: pytest.Config) -> None:
    # keep the order below: xdist would sort the files again by their count of tests
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of :data:`SLOW_FIRST` first, in its order; then the others, most tests
    first (xdist's own order). Stable: the tests of a module keep their order."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item.path.name] = counts.get(item.path.name, 0) + 1
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), -counts[item.path.name]))


@pytest.fixture(scope="module")
def pg():
    """A connection to a throwaway PostgreSQL server (:mod:`pg_server`), one per test
    module; the test is skipped where the server binaries or psycopg are missing."""
    from pg_server import PgServer, pg_missing

    if pg_missing() is not None:
        pytest.skip(f"Postgres tier: {pg_missing()}")
    import psycopg

    with PgServer() as conninfo, psycopg.connect(conninfo, autocommit=True) as con:
        yield con
