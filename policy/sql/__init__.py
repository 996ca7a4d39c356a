"""The warehouse path (spec section 10): the policy as SQL, and the engines that run it.

:func:`to_sql` prints the statement that decides every row of a leads table in the
tabular form of section 9, for one dialect (``Policy.sql`` and ``funnel sql`` call
it). The pieces: :mod:`policy.sql.compiler` (the one sqlglot tree),
:mod:`policy.sql.values` (expressions), :mod:`policy.sql.checks` (timestamps and schema
keywords), :mod:`policy.sql.calendars` (business time as tables),
:mod:`policy.sql.dialects` (what differs per dialect), :mod:`policy.sql.sources` (table
columns or JSON text); the engines: :mod:`policy.sql.duck` and :mod:`policy.sql.spark`.
sqlglot is imported only when SQL is asked for.
"""

from __future__ import annotations

import re
from typing import Any

from policy.sql.errors import SqlUnsupported

__all__ = ["DIALECTS", "SqlUnsupported", "check_arguments", "to_sql"]

DIALECTS = ("duckdb", "spark", "snowflake", "bigquery", "postgres", "trino")

#: What each dialect printed here cannot match exactly; said in the SQL as a comment.
NOTES = {
    "duckdb": ("LOWER is preceded by Python's two special rules (İ to i + U+0307, a "
               "word-final Σ to ς): letters Unicode assigned after 14.0 may still differ",),
    "spark": ("LOWER follows Spark's Unicode tables, with Python's special rules (İ, final "
              "Σ); it also lower-cases the 55 letters Unicode 16 added, which Python 3.11 "
              "does not",),
    "snowflake": ("not run by the test suite: only parsed back by sqlglot",
                  "LOWER follows Snowflake's Unicode rules (Python's İ and final Σ may "
                  "differ); text comparisons use the column's collation (binary by default)",),
    "bigquery": ("not run by the test suite: only parsed back by sqlglot",
                 "LOWER follows BigQuery's Unicode rules (Python's İ and final Σ may differ)"),
    "postgres": ("run with jit = off (SET jit = off, or ALTER ROLE ... SET jit = off): "
                 "Postgres' JIT compiles this statement for minutes; needs Postgres 14+",
                 "text ordering (<, >) follows the database collation; use a C collation "
                 "for Python's code-point order", "nested fields are JSONB (->>)",
                 "LOWER follows the database's locale (Python's İ and final Σ may differ)"),
    "trino": ("not run by the test suite: only parsed back by sqlglot",
              "LOWER follows Trino's Unicode rules (Python's İ and final Σ may differ)"),
}


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")


#: The most years `--years` (``years=``) may cover. The statement holds each calendar's
#: working intervals for every day of them (about 120 KB of SQL a year, printed at about
#: 0.3 s a year): `--years 1000..9999` would have printed for hours and needed tens of
#: gigabytes; the default covers 8 years.
MAX_YEARS = 100


def check_arguments(*, table: str = "leads", view: str | None = None,
                    years: tuple[int, int] | None = None, flat: str | None = None) -> None:
    """Refuse a table or view name that is not a plain SQL name, years out of order and
    an empty ``flat`` separator, before any policy is read (``funnel sql`` reports these
    as bad usage, exit 2). Raises :class:`SqlUnsupported`."""
    if flat == "":  # `company.employees` and a field `companyemployees`: one column
        raise SqlUnsupported("flat needs a separator, such as __")
    if years is not None and not (isinstance(years, tuple | list) and len(years) == 2
                                  and all(type(y) is int for y in years)):
        raise SqlUnsupported(f"years must be two years, (first, last), not {years!r}")
    for what, name in (("table", table), ("view", view)):
        if name is not None and not (isinstance(name, str) and _NAME.fullmatch(name)):
            raise SqlUnsupported(f"the {what} name `{name}` is not a plain SQL name "
                                 "(letters, digits, underscores, at most two dots)")
    if years is not None and years[0] > years[1]:
        raise SqlUnsupported(f"--years {years[0]}..{years[1]}: the first year is after the last")
    if years is not None and years[1] - years[0] + 1 > MAX_YEARS:
        raise SqlUnsupported(
            f"--years {years[0]}..{years[1]} covers {years[1] - years[0] + 1:,} years, more "
            f"than the {MAX_YEARS} the printed SQL holds (its calendar tables take about "
            "120 KB a year): cover the years your leads' business time falls in")


#: Reserved words of the dialects whose sqlglot printer does not quote them (it quotes
#: DuckDB's, BigQuery's and Trino's): `CREATE VIEW order AS` is a syntax error there.
_RESERVED = {
    "postgres": frozenset("""all analyse analyze and any array as asc asymmetric authorization
        binary both case cast check collate collation column concurrently constraint create
        cross current_catalog current_date current_role current_schema current_time
        current_timestamp current_user default deferrable desc distinct do else end except
        false fetch for foreign freeze from full grant group having ilike in initially inner
        intersect into is isnull join lateral leading left like limit localtime
        localtimestamp natural not notnull null offset on only or order outer overlaps
        placing primary references returning right select session_user similar some
        symmetric system_user table tablesample then to trailing true union unique user
        using variadic verbose when where window with""".split()),
    "snowflake": frozenset("""account all alter and any as between by case cast check column
        connect connection constraint create cross current current_date current_time
        current_timestamp current_user database delete distinct drop else exists false
        following for from full grant group gscluster having ilike in increment inner insert
        intersect into is issue join lateral left like localtime localtimestamp minus
        natural not null of on or order organization qualify regexp revoke right rlike row
        rows sample schema select set some start table tablesample then to trigger true
        try_cast union unique update using values view when whenever where with""".split()),
    "spark": frozenset("""all and any anti as authorization both case cast check collate
        column constraint create cross current_date current_time current_timestamp
        current_user distinct else end escape except false fetch filter for foreign from
        full grant group having in inner intersect into is join lateral leading left minus
        natural not null offset on only or order outer overlaps primary references right
        select semi session_user some table then time to trailing union unique unknown user
        using values when where with""".split()),
}


def _view_name(view: str, dialect: str) -> Any:
    """``--view NAME`` as a sqlglot table: each part as typed (so the warehouse folds its
    case as it folds any unquoted name), quoted only where it is a reserved word of the
    dialect or would not read back as itself (`--view order`, `--view crm.values`)."""
    import sqlglot
    from sqlglot import exp

    parts = []
    for part in view.split("."):
        ident = exp.to_identifier(part)
        if part.lower() in _RESERVED.get(dialect, ()):
            ident = exp.to_identifier(part, quoted=True)
        else:
            try:
                back = sqlglot.parse_one(f"CREATE VIEW {ident.sql(dialect)} AS SELECT 1",
                                         read=dialect)
                same = isinstance(back, exp.Create) and back.this.name == part
            except sqlglot.errors.ParseError:
                same = False
            if not same:
                ident = exp.to_identifier(part, quoted=True)
        parts.append(ident)
    return exp.Table(this=parts[-1], db=parts[-2] if len(parts) > 1 else None,
                     catalog=parts[-3] if len(parts) > 2 else None)


def to_sql(pol: Any, *, dialect: str = "duckdb", table: str = "leads", view: str | None = None,
           flat: str | None = None, as_of: int | None = None,
           years: tuple[int, int] | None = None, pretty: bool = True) -> str:
    """The policy as one SQL statement for ``dialect`` (spec section 10).

    ``pol`` is a loaded :class:`policy.Policy`. ``table`` (``leads``, or a dotted
    ``schema.table``) is read; with ``view`` the statement is ``CREATE VIEW view AS …``;
    ``flat`` reads ``company.employees`` from the column ``company`` + ``flat`` +
    ``employees``; ``as_of`` (µs) fixes the instant, else the query uses the time it
    runs; ``years`` (first, last) bounds the calendar tables (default five years
    before to two after the current year). Raises :class:`SqlUnsupported`.
    """
    from policy.sql.compiler import Options, build
    from policy.sql.dialects import dialect as get_dialect

    if dialect not in DIALECTS:
        raise SqlUnsupported(f"unknown SQL dialect `{dialect}`; expected one of "
                             f"{', '.join(DIALECTS)}")
    check_arguments(table=table, view=view, years=years, flat=flat)
    d = get_dialect(dialect)
    local_tz = getattr(pol, "local_tz", None)  # Policy(local_tz=...): see policy.sql.localtz
    opts = Options(source="table", table=table, flat=flat, as_of=as_of, years=years,
                   calendars="inline", instants="native", local_tz=local_tz)
    stmt = build(pol, d, opts)
    passes = 0
    if dialect == "spark":  # fewer steps for Spark's analyser (policy.sql.layers)
        from policy.sql.layers import analyser_passes, merge_steps

        stmt = merge_steps(stmt)
        passes = analyser_passes(stmt)
    from policy.engine.tabular import columns

    for col in columns(pol):
        why = d.too_long(col.name)
        if why is not None:
            raise SqlUnsupported(f"the column `{col.name}` is {why}; shorten the score or "
                                 "stage name")
    from sqlglot import exp

    if view is not None:
        stmt = exp.Create(this=_view_name(view, dialect), kind="VIEW", expression=stmt,
                          replace=True)
    text = stmt.sql(dialect=dialect, pretty=pretty)
    info = pol.info
    from policy.render.escape import terminal

    # the version label is free text: a line break in it would end the comment and make
    # the rest of the label a statement of its own (`version "1\nDROP TABLE leads;"`)
    version = terminal(info.version or "")
    head = [f"-- funnel-policy: {info.name or '(unnamed)'} {version} {info.digest}",
            f"-- dialect: {dialect}; reads `{table}`; one row per lead in the tabular form "
            "(docs/warehouse.md)"]
    head += [f"-- note: {note}" for note in NOTES[dialect]]
    if passes > 100:
        head.append(f"-- note: a deep statement: run it with spark.sql.analyzer.maxIterations "
                    f"at least {passes} (SET spark.sql.analyzer.maxIterations = {passes})")
    if local_tz is not None:
        head.append(f"-- timestamps without an offset are read as {local_tz} local time")
    return "\n".join(head) + "\n" + text + ";\n"
