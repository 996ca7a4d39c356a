"""The Parquet → Parquet ``COPY`` and its settings (``DuckEngine.parquet_to_parquet``).

DuckDB plans its order-preserving parallel copy (``Batch Copy To File``: each thread
decides whole row groups of the scan, the writer puts them back in scan order) only
when no operator of the plan is a source without batch indexes, which a hash join is
(:func:`_no_joins`); that copy keeps the row groups a thread has decided in a
budget of a quarter of ``memory_limit`` until the ones before them are written
(:func:`copy_memory`); and where its row groups end is made a function of the input
alone by the row group size it is given (:func:`row_group_size`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterator
from typing import Any

from policy.sql.quoting import sql_ident as _ident
from policy.sql.quoting import sql_string as _quote

__all__ = ["COLUMN_TYPES", "COPY_MEMORY_PER_THREAD_MB", "DEFAULT_ROW_GROUP", "copy_memory",
           "input_row_groups", "layout_threads", "null_branch_columns", "nullable",
           "parquet_copy", "row_group_size", "same_layout"]

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
                 null_branch: Collection[str] = (), row_group: int | None = None) -> str:
    """The COPY of a decision query to a Parquet file, in the query's row order.

    ``columns`` (the tabular layout's columns) casts each column to its type: a column
    the statement writes as a bare NULL (``policy_version`` without a `version` line,
    ``reason`` without a recycle rule, a handoff's SLA columns without an `sla`) was a
    Parquet column of type NULL, where the python engine's file has VARCHAR; and makes
    it :func:`nullable`, as the python engine's file has it, except the columns named in
    ``null_branch`` (:func:`null_branch_columns`): a CASE without ELSE is NULL in its own
    ELSE, so DuckDB writes it OPTIONAL without the wrapper, which cost a test and a copy
    of every value (of every list, for ``next_unmet``) on 27 of ``rules/``' 34 columns.

    ``row_group``: DuckDB's ``ROW_GROUP_SIZE`` (:func:`row_group_size`; None: DuckDB's
    default, 122,880 rows)."""
    if columns is not None:
        def cell(name: str, kind: str) -> str:
            typed = f"CAST({_ident(name)} AS {COLUMN_TYPES[kind]})"
            return typed if name in null_branch else nullable(_ident(name), typed)

        cast = ", ".join(f"{cell(c.name, c.kind)} AS {_ident(c.name)}" for c in columns)
        query = f"SELECT {cast} FROM ({query})"
    size = "" if row_group is None else f", ROW_GROUP_SIZE {int(row_group)}"
    return f"COPY ({query}) TO {_quote(path)} (FORMAT parquet, PRESERVE_ORDER true{size})"




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


# -- Where the order-keeping copy's row groups end -----------------------------------
#
# DuckDB's order-keeping parallel COPY (``PhysicalBatchCopyToFile``, the operator
# ``EXPLAIN`` calls ``BATCH_COPY_TO_FILE``) receives the rows of each input *batch*
# (for ``read_parquet``: one row group of the input file, read in chunks of 2,048 rows
# and a last, partial chunk) and cuts them into output row groups of ``ROW_GROUP_SIZE``
# rows in ``RepartitionBatches`` (src/execution/operator/persistent/
# physical_batch_copy_to_file.cpp, DuckDB main of 2026-08-20, lines 448-555: the
# finished batches below the lowest batch still being decided are concatenated, chunk
# by chunk, and a row group is cut as soon as it holds ``ROW_GROUP_SIZE`` rows or more;
# what is left over is kept for the next pass). A *pass* runs whenever a thread
# finishes a batch and enough rows are waiting, so where passes start and end depends
# on which threads finished when. The cut points would not care, except at a pass's
# two ends: a leftover that the operator finds "the right size" is written as a row
# group of its own (``CorrectSizeForBatch``, lines 417-446 and 545-553: with no byte
# limit, a leftover of at most ``ROW_GROUP_SIZE / 2048`` rows, 60 for the default:
# 10M leads showed row groups of 10, 20, 40 and 60 rows in some runs and not in
# others), and a pass that starts with no leftover may hand a batch of about the
# right size on whole (``IsAcceptable``, src/function/copy_function.cpp lines 108-124)
# where a longer pass would have cut it. DuckDB 2.0.1 did this (87 and 89 row groups
# for the same 10M leads); ``SET threads = 1`` makes the passes the same in every run,
# at twice the wall time.
#
# So the engine chooses ``ROW_GROUP_SIZE`` from the input's row groups (their sizes are
# in the file's footer): one for which, at *every* boundary between two input row
# groups, cutting the rows there gives the same row groups as not cutting. Then it does
# not matter where the passes end, and the output's layout is a function of the input
# and the row group size alone. :func:`same_layout` is that test, with a margin of two
# chunks around each special case so that it holds for every variant of those rules
# in DuckDB's history (v1.4-v1.5: "within one chunk of the size", main: the checks
# above).

#: DuckDB's chunk (vector) size: the rows of a batch come in chunks of this many rows
#: and a last, partial one.
_CHUNK = 2048
#: DuckDB's default Parquet row group size: the search for a size starts here.
DEFAULT_ROW_GROUP = 122_880
#: no row group size is tried below or above these (the copy holds whole row groups
#: in memory, COPY_MEMORY_PER_THREAD_MB)
_SIZES = (DEFAULT_ROW_GROUP // 2, DEFAULT_ROW_GROUP * 2)
#: how far a leftover keeps from a whole row group, where DuckDB's special cases begin
_MARGIN = 2 * _CHUNK
#: the largest input row group copied as one output row group (pyarrow's default)
_OWN = 1 << 20
#: how many batches the search for a size may look at, in all (about a second)
_WORK = 2_000_000


def input_row_groups(con: Any, path: str) -> list[int]:
    """The row counts of the row groups of the Parquet file ``path``, in file order
    (from its footer: no row is read), without the empty ones (they make no batch)."""
    # by file too: DuckDB expands glob characters in a path as read_parquet does
    rows = con.execute(
        "SELECT any_value(row_group_num_rows) FROM parquet_metadata(?) "
        "GROUP BY file_name, row_group_id ORDER BY file_name, row_group_id", [path]).fetchall()
    return [n for (n,) in rows if n]


def same_layout(batches: list[int], size: int, work: list[int] | None = None) -> bool:
    """Whether DuckDB's order-keeping copy of input batches of ``batches`` rows, at a
    row group size of ``size``, writes the same row groups wherever its passes end
    (see the comment above): at each boundary between two batches, what is left over
    of the rows before it is nothing, or more than twice the "few rows" DuckDB writes
    on their own (``size // 2048``) and two chunks (``_MARGIN``) short of a whole row
    group; and a batch that starts afresh is either two chunks short of a row group or
    more (so it is the start of the next one) or ends one exactly at its last chunk (so
    it is one row group, cut or handed on whole)."""
    left = 0  # rows left over since the last cut
    last = len(batches) - 1
    few = 2 * (size // _CHUNK)
    for i, rows in enumerate(batches):
        if work is not None:
            work[0] += 1
        end_chunk = rows % _CHUNK or _CHUNK
        if left == 0 and not (rows < size - _MARGIN or rows - end_chunk < size <= rows):
            return False
        full, part = divmod(rows, _CHUNK)
        while full:  # whole chunks: a cut each time the leftover reaches the size
            need = -(-(size - left) // _CHUNK)
            if need > full:
                left += full * _CHUNK
                break
            full -= need
            left = 0
        if part:
            left += part
            if left >= size:
                left = 0
        if i < last and left and not (few < left < size - _MARGIN):
            return False
    return True


def row_group_size(batches: list[int]) -> int | None:
    """The ``ROW_GROUP_SIZE`` that makes the order-keeping copy of input row groups of
    ``batches`` rows write the same file in every run (:func:`same_layout`): the
    input's own row groups when they are all within a chunk of one size (each is then
    an output row group; up to 1,048,576 rows, pyarrow's default), else the size
    nearest DuckDB's default that passes the test, within half and twice the default.
    None: no size does (row groups of a few thousand rows: a leftover cannot keep clear
    of a whole row group), and the caller copies on one thread."""
    if len(batches) <= 1:
        return DEFAULT_ROW_GROUP  # one batch: one pass, one way to cut it
    body = batches[:-1]
    own = min(body)
    if _SIZES[0] <= own <= _OWN and same_layout(batches, own):
        return own
    if max(body) <= _MARGIN:
        # a cut is made inside a batch of more than _MARGIN rows (the leftover before
        # it is two chunks short of a row group or more): with none, only a file of
        # less than one row group passes, at any size
        return DEFAULT_ROW_GROUP if same_layout(batches, DEFAULT_ROW_GROUP) else None
    low, high = _SIZES
    work = [0]  # batches looked at: the search gives up past _WORK (then one thread)
    for step in range(0, max(DEFAULT_ROW_GROUP - low, high - DEFAULT_ROW_GROUP) + 1):
        for size in (DEFAULT_ROW_GROUP - step, DEFAULT_ROW_GROUP + step):
            if low <= size <= high and same_layout(batches, size, work):
                return size
        if work[0] > _WORK:
            break
    return None


@contextlib.contextmanager
def layout_threads(con: Any, size: int | None) -> Iterator[None]:
    """The COPY on one thread when no row group size makes its layout the same in every
    run (``size`` None, :func:`row_group_size`), then DuckDB's threads set back."""
    if size is not None:
        yield
        return
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")
