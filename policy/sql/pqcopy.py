"""The Parquet → Parquet ``COPY`` and its settings (``DuckEngine.parquet_to_parquet``).

DuckDB plans its order-preserving parallel copy (``Batch Copy To File``: each thread
decides whole row groups of the scan, the writer puts them back in scan order) only
when no operator of the plan is a source without batch indexes, which a hash join is
(:func:`_no_joins`); and that copy keeps the row groups a thread has decided in a
budget of a quarter of ``memory_limit`` until the ones before them are written
(:func:`copy_memory`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterator
from typing import Any

from policy.sql.quoting import sql_ident as _ident
from policy.sql.quoting import sql_string as _quote

__all__ = ["COLUMN_TYPES", "COPY_MEMORY_PER_THREAD_MB", "copy_memory", "null_branch_columns",
           "nullable", "parquet_copy"]

#: DuckDB's memory limit while Parquet is copied to Parquet, per DuckDB thread (never
#: below the engine's 1 GB). The order-keeping parallel copy (``Batch Copy To File``)
#: holds the row groups a thread has decided until the row groups before them are
#: written, in at most a quarter of ``memory_limit``; a thread that finds that budget
#: full waits. With 1 GB (256 MB for 34 output columns of ~123,000-row row groups:
#: about three row groups) each of the 2 threads slept 18% of the copy of 10M leads;
#: with 1.5 GB, under 1%, for 684 → 811 MiB of peak memory (bench/README.md, seventh
#: 2026-12-05 session).
COPY_MEMORY_PER_THREAD_MB = 768


#: The Parquet type of each kind of tabular column, as the python engine writes it
#: (:class:`policy.sql.parquet.ParquetWriter`).
COLUMN_TYPES = {"int": "BIGINT", "string": "VARCHAR", "bool": "BOOLEAN",
                "timestamp": "TIMESTAMP", "json": "VARCHAR", "list": "VARCHAR[]"}


def nullable(column: str, expr: str) -> str:
    """``expr``, a value of the column ``column`` that is NULL exactly when the column is
    (its cast, ``make_timestamp`` of it), as a column DuckDB writes to Parquet as
    OPTIONAL. DuckDB marks a column REQUIRED when its statistics say it holds no NULL,
    so the output's schema followed the leads (a file without a refused lead had
    ``stage`` as ``not null``, the next one not) and the engine (a Parquet input decided
    inside DuckDB, or rows written by Python); a CASE with a NULL branch makes every
    column nullable, in every file. The test is on the column itself, so ``expr`` is
    computed once a row, not once more for the test."""
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {expr} END"


def parquet_copy(query: str, path: str, columns: Any = None,
                 null_branch: Collection[str] = ()) -> str:
    """The COPY of a decision query to a Parquet file, in the query's row order.

    ``columns`` (the tabular layout's columns) casts each column to its type: a column
    the statement writes as a bare NULL (``policy_version`` without a `version` line,
    ``reason`` without a recycle rule, a handoff's SLA columns without an `sla`) was a
    Parquet column of type NULL, where the python engine's file has VARCHAR; and makes
    it :func:`nullable`, as the python engine's file has it, except the columns named in
    ``null_branch`` (:func:`null_branch_columns`): a CASE without ELSE is NULL in its own
    ELSE, so DuckDB writes it OPTIONAL without the wrapper, which cost a test and a copy
    of every value (of every list, for ``next_unmet``) on 27 of ``rules/``' 34 columns."""
    if columns is not None:
        def cell(name: str, kind: str) -> str:
            typed = f"CAST({_ident(name)} AS {COLUMN_TYPES[kind]})"
            return typed if name in null_branch else nullable(_ident(name), typed)

        cast = ", ".join(f"{cell(c.name, c.kind)} AS {_ident(c.name)}" for c in columns)
        query = f"SELECT {cast} FROM ({query})"
    return f"COPY ({query}) TO {_quote(path)} (FORMAT parquet, PRESERVE_ORDER true)"




def null_branch_columns(select: Any) -> frozenset[str]:
    """The output columns of ``select`` (a sqlglot SELECT) whose expression is a CASE
    without an ELSE: DuckDB's statistics of such a column hold its NULL branch, so it
    is written OPTIONAL (``tests/test_attack20_parquet_nullability.py``)."""
    from sqlglot import exp

    return frozenset(e.alias_or_name for e in select.expressions
                     if isinstance(e, exp.Alias) and isinstance(e.this, exp.Case)
                     and e.this.args.get("default") is None)


@contextlib.contextmanager
def _no_joins(con: Any) -> Iterator[None]:
    """DuckDB rewrites a long ``IN (…)`` list as a join against its values
    (the ``in_clause`` optimizer); any hash join in the plan makes an order-preserving
    COPY run on one thread (see :meth:`HandoffParts._handoff_lists`), so the Parquet
    path tests the list itself."""
    con.execute("SET disabled_optimizers = 'in_clause'")
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")


@contextlib.contextmanager
def copy_memory(con: Any, restore: str) -> Iterator[None]:
    """DuckDB's memory limit raised to :data:`COPY_MEMORY_PER_THREAD_MB` a thread (at
    least 1 GB, at most 80% of the machine's memory) for an order-keeping parallel
    COPY, then set back to ``restore``."""
    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    # never past DuckDB's own default, 80% of the machine's memory (many threads)
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    limit = max(1024, min(COPY_MEMORY_PER_THREAD_MB * threads, machine * 4 // 5))
    con.execute(f"SET memory_limit = '{limit}MB'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{restore}'")
