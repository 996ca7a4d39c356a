"""`funnel report`: the closed-loop funnel report (spec section 11).

Thin: parse the arguments, load the policy, read the leads, hand them to
``policy.report_for`` and write its rendering (``policy.render_report``). Exit status: 0 once
the report is written (refused leads are part of it); 1 a policy with errors; 2 bad
usage (an unknown ``--by`` field) or input that cannot be read.
"""

from __future__ import annotations

import io
import os
import sys

import click

import policy

from .common import OK, fail_usage, load_policy, refuse_input_as_output
from .leadfile import as_of_option, local_tz_option, now_us, open_leads
from .output import emit, output_option

FORMATS = ("html", "markdown", "json")


def _engines() -> list[str]:
    return ["python", "duckdb"] if policy.report_duckdb_available() else ["python"]


ENGINES = _engines()


@click.command("report")
@click.argument("path", type=click.Path())
@click.argument("leads")
@as_of_option
@local_tz_option
@click.option("--engine", type=click.Choice(ENGINES), default="python", show_default=True,
              help="Which engine decides the leads (as `funnel eval --engine`); the figures "
                   "are computed in DuckDB either way, and with duckdb the decisions never "
                   "leave it.")
@click.option("--by", "by", metavar="FIELD", default=None,
              help="Every figure also per value of FIELD (lead source, country, campaign): "
                   "the 20 most common values, the rest as (other).")
@click.option("--cohort", "cohort", metavar="FIELD", default=None,
              help="Timestamp field that puts a lead in a cohort. Default: the first "
                   "stage's `entered at` field.")
@click.option("--period", type=click.Choice(["week", "month", "quarter"]), default="month",
              show_default=True, help="Cohort period (UTC; weeks are ISO weeks).")
@click.option("--input-format", type=click.Choice(["jsonl", "json", "csv", "parquet"]),
              default=None,
              help="Format of LEADS. Default: by its extension (.jsonl, .json, .csv, "
                   ".parquet); JSON Lines for standard input.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="html: one self-contained page with charts; markdown: the tables; "
                   "json: every figure. Default: from -o's extension, else markdown.")
@output_option()
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes that decide the leads (python engine). Default: one "
                   "per core.")
def report(path: str, leads: str, as_of: int | None, engine: str, by: str | None,
           cohort: str | None, period: str, input_format: str | None, fmt: str | None,
           output: str | None, jobs: int | None, local_tz: str | None = None) -> None:
    """How the funnel the policy at PATH agreed on performs on the leads in LEADS.

    Reach and conversion per stage, off-funnel states and their reasons, SLA
    compliance and response times per route, rejection reasons (off-list ones
    counted), velocity between stages, cohorts and score histograms.

    \b
    Examples:
      funnel report rules rules/leads.jsonl -o report.html
      funnel report rules rules/leads.jsonl --by source --format markdown
      funnel report rules leads.csv --cohort created_at --period week --format json
      funnel report rules leads.parquet --engine duckdb --by source -o report.html

    Exit status: 0 the report was written (refused leads are counted in it); 1 the
    policy has errors; 2 bad usage or LEADS cannot be read.
    """
    if fmt is None:
        fmt = policy.report_format_for(output)
    refuse_input_as_output(output, policy=path, leads=leads)
    pol = load_policy(path, local_tz=local_tz)
    try:
        by_path = policy.report_field_option(pol, by, "--by")
        cohort_path = policy.report_field_option(pol, cohort, "--cohort")
    except policy.ReportUsageError as exc:
        fail_usage(str(exc))
    at = now_us() if as_of is None else as_of
    if input_format == "parquet" or (input_format is None and
                                     leads.lower().endswith(".parquet")):
        data = _parquet_report(pol, leads, at, engine, by_path, cohort_path, period)
    else:
        data = _report(pol, leads, at, engine, jobs, by_path, cohort_path, period,
                       input_format)
    text = policy.render_report(data, fmt)
    emit(text, output)  # atomically; a full disk or a closed pipe as every command
    sys.exit(OK)


def _parquet_report(pol, leads: str, at: int, engine: str, by_path, cohort_path, period: str):
    """The report over a Parquet file (read by path: DuckDB reads its columns)."""
    if leads == "-":
        fail_usage("Parquet cannot be read from standard input: give the file's path")
    if not os.path.isfile(leads):
        fail_usage(f"{leads}: cannot read: no such file" if not os.path.exists(leads)
                   else f"{leads}: is a directory, not a file of leads")
    try:
        return policy.report_for_parquet(pol, leads, as_of=at, engine=engine, by=by_path,
                                         cohort=cohort_path, period=period)
    except OSError as exc:
        fail_usage(f"{leads}: {exc}")
    except policy.SqlUnsupported as exc:
        fail_usage(f"--engine {engine} cannot run this policy: {exc}")


def _report(pol, leads: str, at: int, engine: str, jobs, by_path, cohort_path, period: str,
            input_format: str | None):
    """The report over JSON Lines, a JSON array or CSV (a path or standard input)."""
    source, _size, shown = open_leads(leads)
    try:
        in_fmt = input_format or policy.input_format_of(leads, source.head)
        units = policy.lead_batches(pol, io.BufferedReader(source), in_fmt)
        try:
            data = policy.report_for(pol, units, as_of=at, engine=engine, jobs=jobs,
                                     by=by_path, cohort=cohort_path, period=period)
        except policy.LeadFileError as exc:
            fail_usage(f"{shown}: {exc.message}")
        except policy.ReadFailed as exc:
            fail_usage(f"{shown}: cannot read: {exc.args[0]}")
        except policy.SqlUnsupported as exc:
            fail_usage(f"--engine {engine} cannot run this policy: {exc}")
    finally:
        if leads != "-":
            source.raw.close()
    return data
