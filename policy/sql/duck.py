"""``funnel eval --engine duckdb``: the policy's SQL run inside embedded DuckDB.

:class:`DuckEngine` compiles the policy once (:mod:`policy.sql.compiler`, JSON source,
instants as µs, the hidden columns that rebuild decisions), creates the calendar
tables once, then decides batches of JSON text: each batch is handed to DuckDB as two
list parameters and decided by the one statement. Memory holds a batch (a few MB)
whatever the input's size; output order is input order (``ORDER BY line`` inside a
batch, batches in file order).

DuckDB's JSON reader is more lenient than RFC 8259 (``NaN``, ``Infinity``, trailing
commas, comments), so a line that might use one of those is first read by the python
reader, which decides whether it is JSON, and every "not valid JSON" message is the
python reader's own. Parquet is read by DuckDB (each row as a JSON object) and written
by DuckDB (``COPY … (FORMAT parquet)``).
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator
from typing import Any, BinaryIO

from sqlglot import exp

from policy.engine.decision import LeadError
from policy.engine.tabular import layout
from policy.io.atomic import drop_scratch, scratch_folder
from policy.sql.calendars import engine_years
from policy.sql.caltables import WIDEST_TABLES, create_calendar_tables, data_years
from policy.sql.caltables import widened_years as _widen
from policy.sql.compiler import Options, build, default_years
from policy.sql.dialects import dialect
from policy.sql.engine import (
    _LENIENT,
    _NOT_JSON,
    BAD_UTF8,
    BatchEngine,
    Rebuilder,
    beyond_tables,
    block_lines,
    explain_refusal,
    jsonl_blocks,
    python_decision,
    reader_refuses,
    record_batches,
)
from policy.sql.errors import within_depth
from policy.sql.fallback import key_objects
from policy.sql.parquet import (
    LINE,
    ParquetSource,
    ParquetWriter,
    atomic_target,
    copy_error,
    parquet_batches,
    row_fields,
)
from policy.sql.parquet import json_select as _parquet_json_select
from policy.sql.parquet import parquet_types as _parquet_types
from policy.sql.pqcopy import (
    COPY_MEMORY_PER_THREAD_MB,
    DEFAULT_ROW_GROUP,
    _no_joins,
    copy_memory,
    input_row_groups,
    layout_threads,
    null_branch_columns,
    parquet_copy,
    row_group_size,
)
from policy.sql.quoting import sql_ident as _ident
from policy.sql.quoting import sql_string as _quote
from policy.sql.sources import DuckJson
from policy.sql.staging import STAGE_BLOCK, SURROGATES, suspect_query
from policy.sql.truth import drop_truth_coalesces, flatten_cases

__all__ = ["DuckEngine", "duckdb_available"]



def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


#: DuckDB's memory cap for the engine. DuckDB's own default is 80% of the machine's
#: memory; the engine holds little (one block of input text, the calendar tables, the
#: rows in flight), and what does not fit (the staged input of a large file) spills to
#: a temporary directory, so a fixed cap keeps ``funnel eval`` a good neighbour.
MEMORY_LIMIT = "1GB"


class DuckEngine(BatchEngine):
    """Decides leads with DuckDB; build one per run (it owns a connection and a
    temporary directory; :meth:`close` removes both, as does garbage collection)."""

    def __init__(self, pol: Any, *, as_of: int, years: tuple[int, int] | None = None,
                 threads: int | None = None, memory_limit: str | None = None,
                 temp_directory: str | None = None,
                 carry: tuple[tuple[str, tuple[str, ...], str], ...] = (),
                 ordered: bool = True, json: bool = True):
        import duckdb

        self.pol = pol
        self.as_of = as_of
        self.years = years or engine_years(_year(as_of))
        #: the caller chose the years: the Parquet → Parquet path keeps them (else it
        #: takes the years its file's SLA starts need, caltables.data_years)
        self._years_given = years is not None
        self._tmp = scratch_folder("funnel-duckdb-")
        # Output order is input order: the query ends in ORDER BY line, because
        # DuckDB's parallel hash joins (the calendar tables, long `in` lists) do not
        # keep a table's insertion order (the engine also checks the order it reads).
        # ordered=False: a caller that only aggregates (the report) skips that sort;
        # carry: more columns of lead fields it reads (policy.sql.compiler.Options)
        config = {"preserve_insertion_order": True,
                  "memory_limit": memory_limit or MEMORY_LIMIT,
                  "temp_directory": temp_directory or self._tmp}
        if threads:
            config["threads"] = threads
        #: the memory limit a caller chose (None: MEMORY_LIMIT, raised for the
        #: Parquet → Parquet copy, COPY_MEMORY_PER_THREAD_MB)
        self._memory_limit = memory_limit
        # An on-disk database in the temporary directory: the staged input of a large
        # file lives on disk, not in memory.
        self.con = duckdb.connect(os.path.join(self._tmp, "stage.duckdb"), config=config)
        self._finalizer = weakref.finalize(self, _remove, self.con, self._tmp)
        # The staged text is read once: compressing it costs more than it saves.
        self.con.execute("PRAGMA force_compression='uncompressed'")
        # A join that caches its small output chunks may hand them on with the rows of
        # a later row group, out of input order; the Parquet path writes without a
        # sort, trusting the order (see parquet_to_parquet).
        self.con.execute("SET enable_caching_operators = false")
        #: the years of the calendar tables created (None: none yet), of the joined
        #: ones and of the one-row list tables (calendars="lists", Parquet → Parquet)
        self._table_years: tuple[int, int] | None = None
        self._list_years: tuple[int, int] | None = None
        #: the JSON statement's text (None: not built; see _need_json)
        self.sql: str | None = None
        self._json_args = (ordered, carry)
        self.rebuild = Rebuilder(pol)
        self.width = len(layout(pol).columns)
        self._extra = 3 + len(self.rebuild.handoffs)
        if json:
            self._json_statement(pol, as_of, ordered, carry)

    def _need_json(self) -> None:
        """Build the JSON statement of an engine made with ``json=False``, which a
        typed Parquet input turns out to need after all (column names that differ
        only in case are read as JSON text)."""
        if self.sql is None:
            self._json_statement(self.pol, self.as_of, *self._json_args)

    def _json_statement(self, pol: Any, as_of: int, ordered: bool,
                        carry: tuple[tuple[str, tuple[str, ...], str], ...]) -> None:
        """The statement that decides staged JSON text (the view ``decided``); its
        compiling and planning (about 1.3 s of CPU for ``rules/``) is left out with
        ``json=False``, for an engine that decides a Parquet file by its column types
        (into Parquet, or into text: :meth:`stage_parquet_typed`)."""
        d = dialect("duckdb")
        opts = Options(source="json", as_of=as_of, years=self.years, calendars="named",
                       instants="us", hidden=True, local_tz=getattr(pol, "local_tz", None),
                       ordered=ordered, carry=carry)
        source = DuckJson(d, relation="src")
        stmt = build(pol, d, opts, source=source)
        # no copy of the tree (read only for its meta below): the same text, and the
        # copy was a fifth of the engine's start-up
        self.sql = stmt.sql(dialect="duckdb", copy=False)
        self._calendar_tables(stmt, self.years)
        self.con.execute("CREATE TABLE src (line BIGINT, txt VARCHAR)")
        with within_depth():
            self.con.execute(f"CREATE TEMP VIEW decided AS {self.sql}")
        # the paths read include the carried fields: a repeated key in one of their
        # objects matters as in the policy's
        self._suspect = suspect_query(key_objects(source.paths or []))

    def _calendar_tables(self, stmt: Any, years: tuple[int, int] | None = None, *,
                         lists: bool = False) -> None:
        """(Re)create the calendar tables a statement built with ``calendars="named"``
        (``lists``: ``"lists"``) reads (its years are those of its :class:`Options`,
        ``years`` when known)."""
        create_calendar_tables(self.con, stmt.meta["calendar_tables"], self._tmp,
                               lists=lists)
        if lists:
            self._list_years = years
        else:
            self._table_years = years

    def close(self) -> None:
        """Close the connection and remove the temporary directory."""
        self._finalizer()

    def rows(self, lines: list[int], texts: list[str]) -> list[tuple]:
        """The tabular rows (with the hidden columns) of one batch, in line order."""
        con = self.con
        con.execute("DELETE FROM src")
        con.execute("INSERT INTO src SELECT unnest($1), unnest($2)", [lines, texts])
        return con.execute("SELECT * FROM decided").fetchall()

    # ------------------------------------------------------------------ whole inputs
    def decide_jsonl(self, stream: BinaryIO, progress=None) -> Iterator[tuple[int, Any]]:
        """Every record of a JSON Lines stream, in order: the whole stream is staged
        in DuckDB first (block by block, split into lines by DuckDB), then decided by
        one query, which DuckDB plans once and runs on every core."""
        yield from self._decide_stage(self.stage_jsonl(stream, progress))

    def stage_jsonl(self, stream: BinaryIO, progress=None) -> dict[int, str]:
        """Stage a JSON Lines stream (see :meth:`decide_jsonl`); the lines the python
        engine must decide (a key repeated in one object), by line."""
        self.con.execute("DELETE FROM src")
        for first, data, text in jsonl_blocks(stream):
            self.stage_block(first, data, text)
            if progress is not None:
                progress()
        return self.find_suspects()

    def stage_block(self, first: int, data: bytes, text: str | None) -> None:
        """Append one block of whole lines (:func:`policy.sql.engine.jsonl_blocks`) to
        the staging table: DuckDB splits it into lines."""
        if text is None:  # bytes that are not UTF-8: the python split says where
            lines, texts = block_lines(first, data, text)
            self.con.execute("INSERT INTO src SELECT unnest($1), unnest($2)",
                             [lines, [_mark(t) for t in texts]])
        else:
            self.con.execute(STAGE_BLOCK, [first, text])

    def find_suspects(self) -> dict[int, str]:
        """After staging: mark the staged lines the python reader says are not JSON
        (so the SQL refuses them), and return the lines with a key repeated in one
        object (the python engine decides those), by line."""
        con = self.con
        bad, by_python = [], {}
        for line, txt, repeated in con.execute(self._suspect).fetchall():
            if txt == BAD_UTF8 or txt.startswith(_NOT_JSON):
                continue
            if reader_refuses(txt):
                bad.append(line)
            elif repeated:
                by_python[line] = txt
        if bad:
            con.execute("UPDATE src SET txt = chr(1) || txt WHERE line IN "
                        "(SELECT unnest($1::BIGINT[]))", [bad])
        return by_python

    def decide_records(self, records, progress=None) -> Iterator[tuple[int, Any]]:
        """Records from the python reader (CSV, JSON arrays): its error records pass
        through; the others are staged as JSON text and decided by one query."""
        errors = self.stage_records(records, progress)
        pending = sorted(errors)
        at = 0
        pol = self.pol
        for line, record in self._decide_stage():
            while at < len(pending) and pending[at] < line:
                yield self._error(pol, errors[pending[at]])
                at += 1
            yield line, record
        for line in pending[at:]:
            yield self._error(pol, errors[line])

    def stage_records(self, records, progress=None) -> dict[int, Any]:
        """Stage the python reader's records (see :meth:`decide_records`); its error
        records, by line."""
        con = self.con
        con.execute("DELETE FROM src")
        errors: dict[int, Any] = {}
        for lines, texts, errs in record_batches(records):
            errors.update(errs)
            if lines:
                con.execute("INSERT INTO src SELECT unnest($1), unnest($2)",
                            [lines, [_mark(t) for t in texts]])
            if progress is not None:
                progress()
        return errors

    @staticmethod
    def _error(pol, rec) -> tuple[int, Any]:
        from policy.engine.decision import LeadError

        return rec.line, LeadError(rec.error, rec.problems, lead=pol.lead_id(rec.value),
                                   line=rec.line)

    def _decide_stage(self, by_python: dict[int, str] | None = None, size: int = 10_000
                      ) -> Iterator[tuple[int, Any]]:
        """Decide the staging table with one query, streaming the rows in order; the
        lines of ``by_python`` (a key repeated in one object) are decided by the python
        engine, whose reader keeps the last of the repeated keys (spec section 9)."""
        con = self.con
        con.execute("SELECT * FROM decided")
        w, extra, pol, rebuild = self.width, self._extra, self.pol, self.rebuild
        last = 0
        while True:
            rows = con.fetchmany(size)
            if not rows:
                return
            for row in rows:
                line, record = rebuild.record(row[:w], row[w:w + extra])
                if line <= last:
                    raise RuntimeError("DuckDB returned the decisions out of input order")
                last = line
                if by_python and line in by_python:
                    record = python_decision(pol, line, by_python.pop(line), self.as_of)
                elif beyond_tables(record):
                    record = python_decision(pol, line, row[-1], self.as_of)
                elif isinstance(record, LeadError):
                    text = row[-1]
                    if text.startswith(_NOT_JSON):
                        text = text[1:]
                    record = explain_refusal(pol, record, text)
                yield line, record

    # ------------------------------------------------------------------ output
    #: :meth:`write_stage` writes the records of any staged input
    writes_records = True

    def write_stage(self, fmt: str, writer: Any, totals: Any,
                    by_python: dict[int, str] | None = None,
                    errors: dict[int, Any] | None = None, *,
                    relation: str = "decided") -> None:
        """Decide the staged records and write them with ``writer`` (``fmt``: one of
        :data:`policy.sql.records.FORMATS`): DuckDB builds each record's text
        (:mod:`policy.sql.records`), Python writes only the rows it must
        (:func:`policy.sql.output.write_rows`). ``by_python``: lines the python engine
        decides; ``errors``: the python reader's error records by line; ``relation``:
        the decisions to write (``decided_pq``: see :meth:`stage_parquet_typed`)."""
        from policy.sql.output import fetch_chunks, write_rows
        from policy.sql.records import record_query

        con = self.con
        special = dict(by_python or {})
        # DuckDB's JSON reader refuses half a surrogate pair that Python reads
        for line, txt in con.execute(SURROGATES).fetchall():
            special.setdefault(line, txt)
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        query = record_query(self.pol, fmt, dialect="duckdb", as_of_us=self.as_of,
                             relation=relation, columns=columns)
        pol, rebuild, w, extra = self.pol, self.rebuild, self.width, self._extra

        def python(line: int, payload: Any) -> Any:
            if payload is None:
                return python_decision(pol, line, special[line], self.as_of)
            values = list(payload.values())
            _, record = rebuild.record(tuple(values[:w]), tuple(values[w:w + extra]))
            if beyond_tables(record):
                return python_decision(pol, line, values[-1], self.as_of)
            if isinstance(record, LeadError):
                text = values[-1]
                record = explain_refusal(pol, record, text[1:] if text.startswith(_NOT_JSON)
                                         else text)
            return record

        inserted = {line: self._error(pol, rec)[1] for line, rec in (errors or {}).items()}
        con.execute(query)
        write_rows(fetch_chunks(con), writer, totals, python=python, special=special,
                   inserted=inserted)

    # ------------------------------------------------------------------ parquet
    def decide_parquet(self, path: str) -> Iterator[tuple[int, Any]]:
        """Every row of a Parquet file (each as the JSON object ``to_json`` makes of
        it, as the python engine reads it), in order, decided by one query."""
        self.stage_parquet(path)
        yield from self._decide_stage()

    def stage_parquet(self, path: str) -> None:
        """Stage every row of a Parquet file as JSON text (see :meth:`decide_parquet`)."""
        con = self.con
        con.execute("DELETE FROM src")
        con.execute("INSERT INTO src " + _parquet_json_select(path, _parquet_types(con, path)))

    def stage_parquet_typed(self, path: str) -> str:
        """Prepare :meth:`write_stage` for a Parquet file read by its column types
        (:class:`policy.sql.parquet.ParquetSource`, as Parquet → Parquet reads it)
        rather than each row turned into JSON text and parsed again: the name of the
        relation of its decisions, ``decided_pq``; ``decided`` when the file is staged
        as JSON text after all (column names that differ only in case). The row's JSON
        text, the python engine's input, is built for the rows Python writes (a refused
        lead, business time beyond the calendar tables): the same text
        :meth:`stage_parquet` stages."""
        src = self.parquet_view(path)
        described = _parquet_types(self.con, path)
        if not isinstance(src, ParquetSource):
            self._need_json()
            self.stage_parquet(path)
            return "decided"
        if self.sql is None:  # no JSON statement: what write_stage reads besides
            self.con.execute("CREATE TABLE IF NOT EXISTS src (line BIGINT, txt VARCHAR)")
        self.con.execute("DELETE FROM src")
        d = dialect("duckdb")
        opts = Options(source="json", as_of=self.as_of, years=self.years, calendars="named",
                       instants="us", hidden=True, local_tz=getattr(self.pol, "local_tz", None),
                       ordered=True)
        stmt = build(self.pol, d, opts, source=_ParquetText(d, "parquet_src", dict(described)))
        if self._table_years != self.years:
            self._calendar_tables(stmt, self.years)
        # The row's JSON text only for the rows that carry one (``_txt`` holds their
        # line number here): serialising every row, and carrying its text through the
        # statement, cost more than the decision itself. The decisions come in line
        # order and the view of the file is in file order, so a positional join pairs
        # each decision with its row (checked: a pair of other rows stops the run).
        fields = row_fields(described, table="p")
        with within_depth():
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW decided_pq AS SELECT d.* REPLACE (CASE "
                f"WHEN d.line IS DISTINCT FROM p.{_ident(LINE)} THEN error('the decisions and the "
                f"rows of the Parquet file are out of step') WHEN d._txt IS NOT NULL THEN "
                f"CAST(to_json(struct_pack({fields})) AS VARCHAR) END AS _txt) "
                f"FROM ({stmt.sql(dialect='duckdb', copy=False)}) d POSITIONAL JOIN parquet_src p")
        return "decided_pq"

    def _copy_memory(self) -> Any:
        """The memory limit of the Parquet → Parquet COPY: a caller's own, or
        :data:`COPY_MEMORY_PER_THREAD_MB` a thread (:func:`copy_memory`)."""
        if self._memory_limit:
            return contextlib.nullcontext()
        return copy_memory(self.con, MEMORY_LIMIT)

    def parquet_rows(self, path: str) -> Iterator[tuple[list[int], list[str]]]:
        """Batches of (row number, the row as JSON text) of a Parquet file."""
        return parquet_batches(self.con, path)

    def parquet_to_parquet(self, source: str, target: str) -> int:
        """Decide a Parquet file into a Parquet file inside DuckDB (the fast path: no
        row leaves DuckDB; columns are read by their types, :mod:`policy.sql.parquet`).
        Returns the number of rows."""
        import duckdb

        src = self.parquet_view(source)
        years = self.years
        if not self._years_given and isinstance(src, ParquetSource):
            years = data_years(self.con, "parquet_src", self._parquet_columns,
                               self.pol.program, self.years)
        #: rows whose business time the widest tables could not hold (see rows_for_python)
        self._beyond_tables = False
        # where the output's row groups end: a function of the input's row groups, not
        # of thread timing (pqcopy.row_group_size; None: one thread). A statement that
        # ends in ORDER BY line (--local-tz, parquet_query) is copied from the sort,
        # whose batches are not the input's row groups: DuckDB's default size, 122,880
        # rows, as before (4 runs each on 2 and 3 threads of the input of
        # tests/test_parquet_layout.py gave one file)
        ordered = getattr(self.pol, "local_tz", None) is not None
        size = DEFAULT_ROW_GROUP if ordered else row_group_size(input_row_groups(self.con,
                                                                                 source))
        with atomic_target(target) as path:
            for attempt in range(1, 5):
                try:
                    with _no_joins(self.con), self._copy_memory(), \
                            layout_threads(self.con, size):
                        self.con.execute(parquet_copy(self.parquet_query(src, years), path,
                                                      layout(self.pol).columns,
                                                      self._null_branch, size))
                except duckdb.Error as exc:
                    raise copy_error(exc, path) from None
                # No row leaves DuckDB here, so business time beyond the calendar
                # tables' years is not handed to the python engine: the tables are
                # widened to the years of those rows' SLA starts and the file written
                # again (never, for leads inside the default years).
                wider = _widen(self.con, path, years, attempt)
                if wider is None:
                    break
                if wider == tuple(years) or wider[1] - wider[0] > WIDEST_TABLES:
                    # the tables cannot grow (an SLA started late in 9999) or would span
                    # centuries: the python engine decides those rows (rows_for_python)
                    self._beyond_tables = True
                    break
                years = wider
            else:
                self._beyond_tables = True  # still out of range after the last attempt
            return self.con.execute(f"SELECT count(*) FROM read_parquet({_quote(path)})"
                                    ).fetchone()[0]

    def rows_for_python(self, path: str) -> bool:
        """Whether the decision file ``path`` holds a row the python engine must decide:
        one marked (:data:`policy.sql.fallback.NESTED`; only a statement that can mark
        one is looked at), or one whose business time even the widest calendar tables
        could not hold (an SLA started in the last years the tables reach, 9998 and
        9999: ``calendar_out_of_range``, which the python engine never gives)."""
        from policy.sql.fallback import NESTED

        if getattr(self, "_beyond_tables", False):
            return True
        if NESTED not in getattr(self, "_parquet_sql", ""):
            return False
        return self.con.execute(f"SELECT count(*) FROM read_parquet({_quote(path)}) WHERE "
                                f"list_contains(violations, '{NESTED}')").fetchone()[0] > 0

    def parquet_view(self, source: str) -> Any:
        """Create the view ``parquet_src`` of a Parquet file (its rows numbered from 1)
        and return the source the compiler reads it through."""
        import duckdb

        from policy.sql.parquet import LINE, ParquetSource

        d = dialect("duckdb")
        try:
            described = _parquet_types(self.con, source)
        except duckdb.Error as exc:
            raise OSError("cannot read as Parquet: " + str(exc).splitlines()[0]) from None
        names = [name for name, _ in described]
        self._parquet_columns = dict(described)
        if len({n.lower() for n in names}) == len(names) and LINE not in names:
            src = ParquetSource(d, "parquet_src", dict(described))
            view = (f"SELECT file_row_number + 1 AS {LINE}, * EXCLUDE (file_row_number) "
                    f"FROM read_parquet({_quote(source)}, file_row_number = true)")
        else:
            # columns that differ only in case are one name to SQL: read the rows as
            # JSON objects, whose keys keep their case
            src = DuckJson(d, relation="parquet_src")
            view = _parquet_json_select(source, described)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW parquet_src AS {view}")
        return src

    def parquet_query(self, src: Any, years: tuple[int, int]) -> str:
        """The decision query of :meth:`parquet_to_parquet` for calendar tables of
        ``years`` (created when they are not the engine's).

        No ORDER BY and no join: DuckDB's order-preserving parallel COPY (``Batch Copy
        To File``: each thread decides its own row groups, the writer puts them back
        in scan order) is planned only when every source of the plan has batch
        indexes, and a hash join is a source without them, which made the COPY run on
        one thread (CPU time = wall time on 2 cores). So the calendars are list
        columns of one-row tables (``calendars="lists"``) and long ``IN`` lists stay
        lists (:func:`_no_joins`); `tests/test_sql_engine.py` checks the plan."""
        local_tz = getattr(self.pol, "local_tz", None)
        # --local-tz joins each timestamp field with the zone's offsets (`tzo`), and
        # with a join in the plan DuckDB's COPY did not keep the scan's order (rows came
        # out reversed): that statement is ordered by line, at the cost of a sort
        opts = Options(source="json", as_of=self.as_of, years=years, calendars="lists",
                       instants="native", hidden=False, local_tz=local_tz,
                       ordered=local_tz is not None)
        stmt = flatten_cases(drop_truth_coalesces(build(self.pol, dialect("duckdb"), opts,
                                                           source=src)))
        if years != self._list_years:
            self._calendar_tables(stmt, years, lists=True)
        self._parquet_sql = stmt.sql(dialect="duckdb", copy=False)
        #: its columns DuckDB writes OPTIONAL as they are (pqcopy.parquet_copy)
        self._null_branch = null_branch_columns(stmt)
        return self._parquet_sql


class _ParquetText(ParquetSource):
    """:class:`ParquetSource` read as the JSON source is (``json_text``: the statement
    keeps ``_txt`` for the rows Python writes), with the row's line number in place of
    its text, which :meth:`DuckEngine.stage_parquet_typed` puts back for those rows.
    A row is an object."""

    json_text = True

    def base(self, paths):
        # the line number stands for the text (see DuckEngine.stage_parquet_typed)
        return super().base(paths).select(
            exp.cast(exp.column(LINE), "VARCHAR").as_("txt"), copy=False)

    def doc_kind(self) -> exp.Expression:
        return exp.Literal.string("object")

    def slot(self, path: tuple[str, ...], slot: str, k: int) -> exp.Expression | None:
        if not path and slot == "j":
            return exp.column("txt")
        return super().slot(path, slot, k)


def _remove(con, path: str) -> None:
    con.close()
    drop_scratch(path)


def _mark(text: str) -> str:
    """A line the python reader says is not JSON gets a mark DuckDB's lenient reader
    cannot take for JSON (``NaN``, trailing commas and comments are JSON to DuckDB)."""
    if text != BAD_UTF8 and _LENIENT(text) and reader_refuses(text):
        return _NOT_JSON + text
    return text


def _year(us: int) -> int:
    from policy.engine.timestamps import to_datetime

    return to_datetime(us).year




__all__ += ["ParquetWriter", "atomic_target", "parquet_batches", "default_years",
            "COPY_MEMORY_PER_THREAD_MB", "copy_memory", "parquet_copy"]
