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
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from policy.engine.decision import Decision, LeadError
from policy.engine.timestamps import format_timestamp
from policy.report.compute import compute
from policy.report.facts import FactWriter, fact_columns
from policy.report.shape import Shape, parse_field_path, report_shape

__all__ = ["PERIODS", "ReportUsageError", "build_report", "decide_records", "field_option"]

PERIODS = ("week", "month", "quarter")


class ReportUsageError(Exception):
    """Bad report options (an unknown ``--by`` field): exit status 2 in the CLI."""


def field_option(pol: Any, text: str | None, option: str) -> tuple[str, ...] | None:
    """The field path ``--by``/``--cohort`` names; raises :class:`ReportUsageError` when
    it is not a field path or, with a schema, a field the schema does not know."""
    if text is None:
        return None
    path = parse_field_path(text.strip())
    if path is None:
        raise ReportUsageError(f"{option} {text!r}: expected a field path such as "
                               "`source` or `company.industry`")
    schema = pol.model.schema
    if schema is not None and schema.lookup(path) is None:
        raise ReportUsageError(f"{option} {text!r}: the lead schema has no such field")
    return path


def decide_records(pol: Any, records: Iterable[Any], at: int
                   ) -> Iterator[tuple[int, Decision | LeadError, Any]]:
    """(line, decision or error record, lead as read) for each record of
    :func:`policy.io.leads.read_records`, decided by the python engine."""
    run, prepare, lead_id = pol.run_prepared, pol.prepare, pol.lead_id
    for record in records:
        if record.error is not None:
            yield record.line, LeadError(record.error, record.problems,
                                         lead=lead_id(record.value), line=record.line), \
                record.value
            continue
        lead = record.value
        try:
            yield record.line, run(lead, prepare(lead), at), lead
        except LeadError as exc:
            yield record.line, exc.with_line(record.line), lead


def build_report(pol: Any, decided: Iterable[tuple[int, Decision | LeadError, Any]], *,
                 as_of: int, by: tuple[str, ...] | None = None,
                 cohort: tuple[str, ...] | None = None, period: str = "month",
                 by_text: str | None = None, cohort_text: str | None = None
                 ) -> dict[str, Any]:
    """The report over ``decided`` (from :func:`decide_records`), as section 11's dict."""
    if period not in PERIODS:
        raise ReportUsageError(f"--period must be one of {', '.join(PERIODS)}")
    info = pol.info
    shape = report_shape(pol.model, name=info.name, version=info.version, digest=info.digest)
    cohort_path = cohort if cohort is not None else shape.default_cohort
    with tempfile.TemporaryDirectory(prefix="funnel-report-") as tmp:
        path = os.path.join(tmp, "facts.jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            writer = FactWriter(shape, out, by=by, cohort=cohort_path)
            writer.write_all(decided)
            writer.flush()
        return figures_from_facts(shape, path, as_of=as_of, by=by is not None,
                                  by_text=by_text, cohort_path=cohort_path,
                                  cohort_text=cohort_text, period=period)


def figures_from_facts(shape: Shape, facts_path: str, *, as_of: int, by: bool,
                       by_text: str | None, cohort_path: tuple[str, ...] | None,
                       cohort_text: str | None, period: str) -> dict[str, Any]:
    """Load a facts file into DuckDB and compute the report."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        cols = fact_columns(shape)
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"
        con.execute(
            "CREATE TABLE facts AS SELECT * FROM read_json(?, format = 'newline_delimited', "
            f"columns = {spec}, maximum_object_size = 1048576)", [facts_path])
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
