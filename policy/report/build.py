"""Build the funnel report (spec section 11): decide the leads, write facts, run the SQL.

:func:`build_report` is what ``funnel report`` and library callers use. It decides each
record with the python engine (or takes decisions already made; :mod:`policy.report.units`
decides a unit of a lead file), writes one row of facts per record
(:mod:`policy.report.facts`) to temporary CSV files, one per process, loads them into an
in-memory DuckDB with explicit column types and computes every figure there
(:mod:`policy.report.compute`). The result is a plain dict with the keys of section 11,
ready for :mod:`policy.report.render`.

Must run after: loading the policy (:func:`policy.load`).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from policy.engine.decision import Decision, LeadError
from policy.engine.timestamps import format_timestamp
from policy.io.atomic import scratch
from policy.report.compute import compute
from policy.report.facts import FactWriter, fact_columns, facts_select
from policy.report.shape import Shape, parse_field_path, report_shape
from policy.report.units import decide_records

__all__ = ["PERIODS", "REPORT_EXTENSIONS", "ReportUsageError", "build_report", "decide_records",
           "field_option", "render_report", "report_for", "report_for_parquet",
           "report_format_for", "report_with_duckdb",
           "write_facts"]

PERIODS = ("week", "month", "quarter")
#: DuckDB's memory limit for ``--engine duckdb``: the facts live in a database file in a
#: temporary directory, so memory stays near this bound whatever the number of leads.
DUCKDB_MEMORY = "1GB"
#: Run first on every connection of the report: no progress bar, which DuckDB prints to
#: standard output (into a report written there) when a query runs long
QUIET = "SET enable_progress_bar = false"


class ReportUsageError(Exception):
    """Bad report options (an unknown ``--by`` field): exit status 2 in the CLI."""


def field_option(pol: Any, text: str | None, option: str) -> tuple[str, ...] | None:
    """The field path ``--by``/``--cohort`` names; raises :class:`ReportUsageError` when
    it is not a field path or, with a schema, a field the schema does not know, or a
    ``--cohort`` field the schema does not make a timestamp."""
    if text is None:
        return None
    path = parse_field_path(text.strip())
    if path is None:
        raise ReportUsageError(f"{option} {text!r}: expected a field path such as "
                               "`source` or `company.industry`")
    schema = pol.model.schema
    info = schema.lookup(path) if schema is not None else None
    if schema is not None and info is None:
        raise ReportUsageError(f"{option} {text!r}: the lead schema has no such field")
    if (option == "--cohort" and info is not None
            and not (info.is_timestamp and (not info.types or "string" in info.types))):
        # every lead would be under (missing), silently
        raise ReportUsageError(f"{option} {text!r}: the lead schema does not make it a "
                               "timestamp (a string with format date-time or date)")
    return path


def duckdb_engine_available() -> bool:
    """Whether this installation has the DuckDB engine (:mod:`policy.sql.duck`)."""
    import importlib.util

    try:
        return importlib.util.find_spec("policy.sql.duck") is not None
    except ModuleNotFoundError:
        return False


# --------------------------------------------------------------------------- workers

#: What a process deciding units writes facts with (set before the workers fork).
_STATE: dict[str, Any] = {}


def _facts_of(unit: Any) -> tuple[bytes, int, int, int]:
    """Decide one unit and append its facts to this process's own CSV file in the
    report's temporary directory (opened on its first unit); ``(b"", records, 0,
    longest text)`` as :class:`policy.io.workers.ForkedWorkers` takes a result."""
    from policy.report.units import unit_facts

    s = _STATE
    writer: FactWriter = s["writer"]
    if s.get("pid") != os.getpid():
        s["pid"] = os.getpid()
        open_facts(writer, s["directory"], str(os.getpid()))
        writer.count = 0
    before = writer.count
    unit_facts(s["pol"], writer, unit, s["at"], s["fields"])
    writer.flush()
    writer.out.flush()  # a forked worker ends with os._exit: nothing is left buffered
    writer.handoffs_out.flush()
    return b"", writer.count - before, 0, writer.longest


def open_facts(writer: FactWriter, directory: str, tag: str) -> None:
    """Make ``writer`` write to files of its own in ``directory``: ``facts-TAG.csv``
    (a row per record) and ``handoffs-TAG.csv`` (a row per record a handoff applies to)."""
    writer.open(*(open(os.path.join(directory, f"{kind}-{tag}.csv"), "w",  # noqa: SIM115
                       encoding="utf-8", newline="") for kind in ("facts", "handoffs")))


def close_facts(writer: FactWriter) -> None:
    writer.flush()
    writer.out.close()
    writer.handoffs_out.close()


def facts_files(directory: str, kind: str = "facts") -> list[str]:
    """The files of facts (``kind``: or of ``handoffs``) :func:`open_facts` made in
    ``directory``, in a fixed order."""
    return sorted(os.path.join(directory, name) for name in os.listdir(directory)
                  if name.startswith(kind + "-") and name.endswith(".csv"))


def write_facts(pol: Any, units: Iterator[Any], writer: FactWriter, directory: str, at: int,
                *, jobs: int = 1) -> None:
    """Decide every unit of :func:`policy.io.batch.batches` and write its facts to CSV
    files in ``directory`` (:func:`facts_files`), one per process: in ``jobs`` forked
    worker processes when there is more than one unit, each writing its own file (the
    order of the facts does not matter: every figure is an aggregate), so that no fact
    passes through this process. ``writer.longest`` is the longest text of them all."""
    import gc
    import multiprocessing

    from policy.io import workers
    from policy.report.units import big_block, lead_fields, line_function

    first = next(units, None)
    if first is None:
        return
    second = next(units, None) if jobs > 1 else None
    if big_block(second if second is not None else first):
        line_function(pol, writer)  # compiled once here, before the workers fork
    _STATE.update(pol=pol, writer=writer, at=at, directory=directory,
                  fields=lead_fields(writer.paths))
    # what is alive now lives as long as the run: the collector need not walk it, and
    # forked workers share its pages (policy.io.batch.run)
    gc.freeze()
    try:
        if second is None or "fork" not in multiprocessing.get_all_start_methods():
            for unit in _chain(first, second, units):
                _facts_of(unit)
        elif workers.available():
            with workers.ForkedWorkers(jobs, _facts_of) as pool:
                for _size, _payload, _count, _refused, longest in pool.ordered(
                        _chain(first, second, units)):
                    writer.longest = max(writer.longest, longest)
        else:
            _pool_facts(_chain(first, second, units), writer, jobs)
    finally:
        gc.unfreeze()
        if _STATE.get("pid") == os.getpid():
            close_facts(writer)
        _STATE.clear()


def _pool_facts(units: Iterator[Any], writer: FactWriter, jobs: int) -> None:
    """:func:`write_facts` in a ``multiprocessing`` pool (no memory files here)."""
    import multiprocessing

    # the workers of eval's pool do the same first (policy.io.workers): ignore Ctrl-C,
    # end on SIGTERM, end with the main process. Without it a Ctrl-C could leave
    # workers the pool had just forked again waiting for tasks for good.
    from policy.io.workers import worker_signals

    pool = multiprocessing.get_context("fork").Pool(jobs, initializer=worker_signals)
    try:
        pending: deque[Any] = deque()
        for unit in units:
            pending.append(pool.apply_async(_facts_of, (unit,)))
            while len(pending) >= 2 * jobs:
                writer.longest = max(writer.longest, pending.popleft().get()[3])
        while pending:
            writer.longest = max(writer.longest, pending.popleft().get()[3])
        pool.close()
        pool.join()
    finally:
        pool.terminate()  # also on an error: no worker outlives the run
        pool.join()


def _chain(first: Any, second: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    if second is not None:
        yield second
    yield from rest


def build_report(pol: Any, decided: Iterable[tuple[int, Decision | LeadError, Any]] | None = None,
                 *, as_of: int, by: tuple[str, ...] | None = None,
                 cohort: tuple[str, ...] | None = None, period: str = "month",
                 by_text: str | None = None, cohort_text: str | None = None,
                 units: Iterator[Any] | None = None, jobs: int = 1) -> dict[str, Any]:
    """The report as section 11's dict, over ``decided`` (from :func:`decide_records`) or
    over the ``units`` of a lead file (:func:`policy.io.batch.batches`), decided in
    ``jobs`` processes."""
    if period not in PERIODS:
        raise ReportUsageError(f"--period must be one of {', '.join(PERIODS)}")
    info = pol.info
    shape = report_shape(pol.model, name=info.name, version=info.version, digest=info.digest)
    cohort_path = cohort if cohort is not None else shape.default_cohort
    with scratch("funnel-report-") as tmp:
        writer = FactWriter(shape, None, by=by, cohort=cohort_path,
                            tz=getattr(pol, "tz", None))
        if units is not None:
            write_facts(pol, units, writer, tmp, as_of, jobs=jobs)
        else:
            open_facts(writer, tmp, "0")
            try:
                writer.write_all(decided or ())
            finally:
                close_facts(writer)
        return figures_from_facts(shape, tmp, as_of=as_of, by=by is not None,
                                  by_text=by_text, cohort_path=cohort_path,
                                  cohort_text=cohort_text, period=period,
                                  longest=writer.longest, temp_directory=tmp)


def report_with_duckdb(pol: Any, feed: Any, *, as_of: int, by: tuple[str, ...] | None = None,
                       cohort: tuple[str, ...] | None = None, period: str = "month",
                       by_text: str | None = None, cohort_text: str | None = None,
                       memory_limit: str | None = DUCKDB_MEMORY,
                       years: tuple[int, int] | None = None) -> dict[str, Any]:
    """The report with the DuckDB engine: ``feed(facts)`` hands the records to a
    :class:`policy.report.sqlfacts.SqlFacts` (``add_jsonl``, ``add_records``,
    ``add_texts``); the decisions and their facts never leave DuckDB, and the figures are
    computed there by the same SQL as on the python engine's path (``years``: the SQL
    calendar tables' years, the engine's default when None). Raises
    :class:`policy.sql.SqlUnsupported` for a policy the SQL path cannot run."""
    from policy.report.sqlfacts import SqlFacts

    if period not in PERIODS:
        raise ReportUsageError(f"--period must be one of {', '.join(PERIODS)}")
    info = pol.info
    shape = report_shape(pol.model, name=info.name, version=info.version, digest=info.digest)
    cohort_path = cohort if cohort is not None else shape.default_cohort
    with scratch("funnel-report-") as tmp:
        facts = SqlFacts(pol, shape, as_of=as_of, by=by, cohort=cohort_path,
                         memory_limit=memory_limit, temp_directory=tmp,
                         database=os.path.join(tmp, "facts.duckdb"), years=years)
        try:
            feed(facts)
            facts.finish()
            figures, groups = compute(facts.con, shape, by=by is not None,
                                      cohort=cohort_path is not None, period=period)
        finally:
            facts.con.close()
    return assemble(shape, figures, groups, as_of=as_of, by_text=by_text,
                    cohort_path=cohort_path, cohort_text=cohort_text, period=period)


def figures_from_facts(shape: Shape, directory: str, *, as_of: int, by: bool,
                       by_text: str | None, cohort_path: tuple[str, ...] | None,
                       cohort_text: str | None, period: str, longest: int = 0,
                       temp_directory: str | None = None) -> dict[str, Any]:
    """Load the files of facts and of handoffs :class:`FactWriter` wrote in ``directory``
    (:func:`open_facts`) into DuckDB's tables ``facts`` and ``handoffs`` and compute the
    report (``longest``: the longest text in them, in characters). With a
    ``temp_directory``, DuckDB keeps to :data:`DUCKDB_MEMORY` and spills the rest of the
    facts there (memory stays bounded whatever the number of leads)."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute(QUIET)
        con.execute("SET TimeZone = 'UTC'")
        if temp_directory is not None:
            con.execute("SET temp_directory = ?", [temp_directory])
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        cols = fact_columns(shape)
        names = list(cols)
        first = next((i for i, name in enumerate(names) if name.startswith("h")), len(names))
        for table, columns in (("facts", names[:first]),
                               ("handoffs", ["bykey", *names[first:]])):
            typed = {name: cols[name] for name in columns}
            con.execute(f"CREATE TABLE {table} ("
                        + ", ".join(f"{k} {v}" for k, v in typed.items()) + ")")
            paths = [p for p in facts_files(directory, table) if os.path.getsize(p)]
            if not paths:
                continue
            spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in typed.items()) + "}"
            # a row holds at most every text column's text, each quoted (quotes doubled)
            bound = max(1 << 21, len(typed) * (2 * longest + 3) + 64 * len(typed))
            source = ("read_csv(?, columns = " + spec + ", header = false, "
                      "auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
                      f"new_line = '\\n', strict_mode = true, max_line_size = {bound})")
            con.execute(f"INSERT INTO {table} " + facts_select(typed, source), [paths])
        figures, groups = compute(con, shape, by=by, cohort=cohort_path is not None,
                                  period=period, handoffs="handoffs")
    finally:
        con.close()
    return assemble(shape, figures, groups, as_of=as_of, by_text=by_text,
                    cohort_path=cohort_path, cohort_text=cohort_text, period=period)


def assemble(shape: Shape, figures: dict, groups: dict, *, as_of: int, by_text: str | None,
             cohort_path: tuple[str, ...] | None, cohort_text: str | None, period: str
             ) -> dict[str, Any]:
    from policy.model.schema import format_path

    report: dict[str, Any] = {
        "policy": {"name": shape.name, "version": shape.version, "digest": shape.digest},
        "as_of": format_timestamp(as_of),
        "by_field": by_text,
        "cohort_field": (cohort_text if cohort_text is not None else
                         format_path(cohort_path) if cohort_path is not None else None),
        "period": period,
    }
    report.update(figures)
    if by_text is not None:
        report["by"] = groups
    return report


#: Report file extensions and the format each means (``-o report.html`` writes HTML).
REPORT_EXTENSIONS = {".html": "html", ".htm": "html", ".md": "markdown",
                     ".markdown": "markdown", ".json": "json"}


def report_format_for(output: str | None) -> str:
    """The report format a file name implies by its extension; Markdown otherwise."""
    ext = os.path.splitext(output)[1].lower() if output else ""
    return REPORT_EXTENSIONS.get(ext, "markdown")


def report_for(pol: Any, units: Iterator[Any], *, as_of: int, engine: str = "python",
               jobs: int | None = None, by: tuple[str, ...] | None = None,
               cohort: tuple[str, ...] | None = None, period: str = "month") -> dict[str, Any]:
    """The report over the ``units`` of a lead file (:func:`policy.io.batch.batches`),
    decided by ``engine`` (``python`` in ``jobs`` processes, default one per core, or
    ``duckdb``); ``by`` and ``cohort`` are field paths (:func:`field_option`)."""
    options = _options(as_of, by, cohort, period)
    if engine == "duckdb":
        from policy.sql.errors import within_depth

        with within_depth():  # DuckDB's limits (depth, memory) as SqlUnsupported
            return report_with_duckdb(pol, lambda facts: facts.add_units(units), **options)
    if jobs is None:
        from policy.io.batch import default_jobs

        jobs = default_jobs()
    return build_report(pol, units=units, jobs=jobs, **options)


def report_for_parquet(pol: Any, path: str, *, as_of: int, engine: str = "python",
                       by: tuple[str, ...] | None = None,
                       cohort: tuple[str, ...] | None = None, period: str = "month"
                       ) -> dict[str, Any]:
    """The report over the rows of a Parquet file (each row the lead ``to_json`` makes of
    it, numbered from 1, as ``funnel eval`` reads it). With ``duckdb`` the rows are read
    by their column types inside DuckDB (:meth:`policy.report.sqlfacts.SqlFacts.add_parquet`,
    the fast path of ``eval`` from Parquet); with ``python`` each row's JSON text is
    decided by the python engine. Raises :class:`OSError` for a file DuckDB cannot read
    as Parquet."""
    from policy.sql.literal import literal_path

    options = _options(as_of, by, cohort, period)
    # DuckDB reads a path as a glob pattern: b[1].parquet would be read as b1.parquet
    with literal_path(path) as read:
        try:
            if engine == "duckdb":
                from policy.sql.errors import within_depth

                with within_depth():
                    return report_with_duckdb(pol, lambda facts: facts.add_parquet(read),
                                              **options)
            return build_report(pol, _parquet_decided(pol, read, as_of), **options)
        except OSError as exc:
            raise OSError(str(exc).replace(read, path)) from None


def _parquet_decided(pol: Any, path: str, at: int
                     ) -> Iterator[tuple[int, Decision | LeadError, Any]]:
    """(line, decision or error record, lead) for every row of a Parquet file, decided
    by the python engine as ``funnel eval`` decides it."""
    import duckdb

    from policy.sql.duck import parquet_batches
    from policy.sql.fallback import python_decision

    con = duckdb.connect()
    try:
        con.execute(QUIET)
        try:
            for lines, texts in parquet_batches(con, path):
                for line, text in zip(lines, texts, strict=True):
                    record, lead = python_decision(pol, line, text, at, with_lead=True)
                    yield line, record, lead
        except duckdb.Error as exc:
            raise OSError("cannot read as Parquet: " + str(exc).splitlines()[0]) from None
    finally:
        con.close()


def render_report(data: dict[str, Any], fmt: str) -> str:
    """The report ``data`` (:func:`build_report`) as ``json``, ``markdown`` or ``html``."""
    if fmt == "json":
        from policy.report.render import to_json

        return to_json(data)
    if fmt == "markdown":
        from policy.report.markdown import to_markdown

        return to_markdown(data)
    if fmt == "html":
        from policy.report.html import to_html

        return to_html(data)
    raise ValueError(f"unknown report format {fmt!r}: expected json, markdown or html")


def _options(as_of: int, by: tuple[str, ...] | None, cohort: tuple[str, ...] | None,
             period: str) -> dict[str, Any]:
    """The options every report build takes, with the field paths written out."""
    from policy.model.schema import format_path

    return {"as_of": as_of, "by": by, "cohort": cohort, "period": period,
            "by_text": format_path(by) if by else None,
            "cohort_text": format_path(cohort) if cohort else None}
