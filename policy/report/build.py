"""Build the funnel report (spec section 11): decide the leads, write facts, run the SQL.

:func:`build_report` is what ``funnel report`` and library callers use. It decides each
record with the python engine (or takes decisions already made), writes one row of
facts per record (:mod:`policy.report.facts`) to a temporary JSON Lines file, loads it
into an in-memory DuckDB with explicit column types and computes every figure there
(:mod:`policy.report.compute`). The result is a plain dict with the keys of section 11,
ready for :mod:`policy.report.render`.

Must run after: loading the policy (:func:`policy.load`).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import IO, Any

from policy.engine.decision import Decision, LeadError
from policy.engine.timestamps import format_timestamp
from policy.io.atomic import scratch
from policy.report.compute import compute
from policy.report.facts import FactWriter, fact_columns
from policy.report.shape import Shape, parse_field_path, report_shape

__all__ = ["PERIODS", "REPORT_EXTENSIONS", "ReportUsageError", "build_report", "decide_records",
           "field_option", "render_report", "report_for", "report_for_parquet",
           "report_format_for", "report_with_duckdb",
           "write_facts"]

PERIODS = ("week", "month", "quarter")
#: DuckDB's memory limit for ``--engine duckdb``: the facts live in a database file in a
#: temporary directory, so memory stays near this bound whatever the number of leads.
DUCKDB_MEMORY = "1GB"


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


def decide_records(pol: Any, records: Iterable[Any], at: int
                   ) -> Iterator[tuple[int, Decision | LeadError, Any]]:
    """(line, decision or error record, lead as read) for each record of
    :func:`policy.io.leads.read_records`, decided as ``funnel eval`` decides them
    (:func:`policy.engine.batch.decide_records`)."""
    from policy.engine.batch import decide_records as decide

    pending: deque[Any] = deque()

    def tap(items: Iterable[Any]) -> Iterator[Any]:
        for record in items:
            pending.append(record.value)
            yield record

    for line, result in decide(pol, tap(records), at):
        yield line, result, pending.popleft()


def duckdb_engine_available() -> bool:
    """Whether this installation has the DuckDB engine (:mod:`policy.sql.duck`)."""
    import importlib.util

    try:
        return importlib.util.find_spec("policy.sql.duck") is not None
    except ModuleNotFoundError:
        return False


# --------------------------------------------------------------------------- workers

#: What a worker process renders facts with (set before the pool forks).
_STATE: dict[str, Any] = {}


def _facts_of(unit: Any) -> str:
    s = _STATE
    return s["writer"].render_all(decide_records(s["pol"], unit.records(), s["at"]))


def write_facts(pol: Any, units: Iterator[Any], writer: FactWriter, out: IO[str], at: int, *,
                jobs: int = 1) -> None:
    """Decide every unit of :func:`policy.io.batch.batches` and write its facts to ``out``,
    in ``jobs`` forked worker processes when there is more than one unit (the order of
    the facts does not matter: every figure is an aggregate)."""
    import multiprocessing

    def put(chunk: str) -> None:
        if chunk:
            writer.longest = max(writer.longest, max(map(len, chunk.split("\n"))))
            out.write(chunk)

    first = next(units, None)
    if first is None:
        return
    second = next(units, None) if jobs > 1 else None
    _STATE.update(pol=pol, writer=writer, at=at)
    try:
        if second is None or "fork" not in multiprocessing.get_all_start_methods():
            for unit in _chain(first, second, units):
                put(_facts_of(unit))
            return
        # the workers of eval's pool do the same first (policy.io.workers): ignore
        # Ctrl-C, end on SIGTERM, end with the main process. Without it a Ctrl-C could
        # leave workers the pool had just forked again waiting for tasks for good.
        from policy.io.workers import worker_signals

        pool = multiprocessing.get_context("fork").Pool(jobs, initializer=worker_signals)
        try:
            pending: deque[Any] = deque()
            for unit in _chain(first, second, units):
                pending.append(pool.apply_async(_facts_of, (unit,)))
                while len(pending) >= 2 * jobs:
                    put(pending.popleft().get())
            while pending:
                put(pending.popleft().get())
            pool.close()
            pool.join()
        finally:
            pool.terminate()  # also on an error: no worker outlives the run
            pool.join()
    finally:
        _STATE.clear()


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
        path = os.path.join(tmp, "facts.jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            writer = FactWriter(shape, out, by=by, cohort=cohort_path,
                                tz=getattr(pol, "tz", None))
            if units is not None:
                write_facts(pol, units, writer, out, as_of, jobs=jobs)
            else:
                writer.write_all(decided or ())
                writer.flush()
        return figures_from_facts(shape, path, as_of=as_of, by=by is not None,
                                  by_text=by_text, cohort_path=cohort_path,
                                  cohort_text=cohort_text, period=period,
                                  longest=writer.longest)


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


def figures_from_facts(shape: Shape, facts_path: str, *, as_of: int, by: bool,
                       by_text: str | None, cohort_path: tuple[str, ...] | None,
                       cohort_text: str | None, period: str, longest: int = 0
                       ) -> dict[str, Any]:
    """Load a facts file into DuckDB and compute the report (``longest``: the longest
    line of the file, in characters)."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        cols = fact_columns(shape)
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"
        con.execute(
            "CREATE TABLE facts AS SELECT * FROM read_json(?, format = 'newline_delimited', "
            f"columns = {spec}, maximum_object_size = {max(1 << 20, 4 * longest + 64)})",
            [facts_path])
        figures, groups = compute(con, shape, by=by, cohort=cohort_path is not None,
                                  period=period)
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
    options = _options(as_of, by, cohort, period)
    if engine == "duckdb":
        return report_with_duckdb(pol, lambda facts: facts.add_parquet(path), **options)
    return build_report(pol, _parquet_decided(pol, path, as_of), **options)


def _parquet_decided(pol: Any, path: str, at: int
                     ) -> Iterator[tuple[int, Decision | LeadError, Any]]:
    """(line, decision or error record, lead) for every row of a Parquet file, decided
    by the python engine as ``funnel eval`` decides it."""
    import duckdb

    from policy.sql.duck import parquet_batches
    from policy.sql.fallback import python_decision

    con = duckdb.connect()
    try:
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
