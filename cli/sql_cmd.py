"""`funnel sql`: print the policy as SQL for a warehouse (spec section 10).

Thin: load the policy, call :func:`policy.sql.to_sql`, write the statement. Exit
status: 0 printed; 1 the policy has errors or the SQL path cannot run it (a schema
keyword it does not check, a column name too long for the dialect); 2 bad usage.
"""

from __future__ import annotations

import re
import sys

import click

from .common import OK, PROBLEMS, fail_usage, load_policy, refuse_input_as_output, say
from .leadfile import local_tz_option, parse_as_of
from .output import emit, output_option

DIALECTS = ("duckdb", "spark", "snowflake", "bigquery", "postgres", "trino")


def _years(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    m = re.fullmatch(r"\s*([0-9]{4})\s*\.\.\s*([0-9]{4})\s*", value)
    if m is None:
        raise click.BadParameter(f"expected two years as A..B such as 2021..2028, found {value!r}")
    first, last = int(m.group(1)), int(m.group(2))
    if first > last or first < 1:
        raise click.BadParameter(f"expected the first year before the last, found {value!r}")
    return first, last


@click.command("sql")
@click.argument("path", type=click.Path())
@click.option("--dialect", type=click.Choice(DIALECTS), default="duckdb", show_default=True,
              help="The SQL dialect to print.")
@click.option("--table", default="leads", show_default=True, metavar="NAME",
              help="The leads table to read (`schema.table` allowed).")
@click.option("--view", default=None, metavar="NAME",
              help="Print CREATE OR REPLACE VIEW NAME AS … instead of a query.")
@click.option("--flat", default=None, metavar="SEP",
              help="Read `company.employees` from the column `company` + SEP + `employees` "
                   "(flattened exports) instead of a structured column.")
@click.option("--years", callback=_years, default=None, metavar="A..B",
              help="The years the calendar tables cover. Default: five years before to two "
                   "after this year.")
@click.option("--as-of", "as_of", metavar="TIME", callback=parse_as_of,
              help="Decide as of this instant (ISO-8601; no offset means UTC), fixed in "
                   "the SQL. Default: the time the statement runs (CURRENT_TIMESTAMP), "
                   "not the time it is printed.")
@local_tz_option
@output_option()
def sql(path: str, dialect: str, table: str, view: str | None, flat: str | None,
        years: tuple[int, int] | None, as_of: int | None, output: str | None,
        local_tz: str | None = None) -> None:
    """Print the policy at PATH as one SQL statement that decides every row of a leads
    table, in the tabular form (one row per lead: scores, stage, handoffs, violations,
    errors).

    \b
    Examples:
      funnel sql rules --dialect snowflake --table crm.leads --view lead_decisions
      funnel sql rules --dialect bigquery --flat __ --as-of 2026-12-01T00:00:00Z
      funnel sql rules --dialect duckdb | duckdb leads.duckdb
      funnel sql rules --dialect snowflake --local-tz America/New_York

    Exit status: 0 printed; 1 the policy has errors or cannot run as SQL; 2 bad usage.
    """
    from policy import SqlUnsupported, to_sql
    from policy import sql_check_arguments as check_arguments

    if flat is not None and flat == "":
        fail_usage("--flat needs a separator, such as __")
    try:
        check_arguments(table=table, view=view, years=years)
    except SqlUnsupported as exc:
        fail_usage(str(exc))
    refuse_input_as_output(output, policy=path)
    pol = load_policy(path, local_tz=local_tz)
    try:
        text = to_sql(pol, dialect=dialect, table=table, view=view, flat=flat, as_of=as_of,
                      years=years)
    except SqlUnsupported as exc:
        say(f"error: {path}: the SQL path cannot print this policy: {exc}")
        sys.exit(PROBLEMS)
    emit(text, output)  # atomically; a full disk or a closed pipe as every command
    sys.exit(OK)
