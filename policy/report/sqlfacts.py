"""The report's ``facts`` table built inside DuckDB, from the DuckDB engine's tabular rows.

With ``funnel report --engine duckdb`` the leads are read and decided by the same code as
``funnel eval --engine duckdb`` (:class:`policy.sql.duck.DuckEngine`): the records are
staged once in DuckDB's staging table (blocks of JSON Lines split into lines by DuckDB,
the lines the python reader says are not JSON marked, the python reader's records of CSV
and JSON files as JSON text), and :meth:`SqlFacts.finish` runs one ``INSERT … SELECT``
over the whole staging table: the engine's decision relation (``decided``, the tabular
form of section 9 with the engine's hidden columns, here without its ``ORDER BY``: the
facts are aggregated, never listed), with the lead fields the report needs carried as
more columns of the same statement (``Options.carry`` of :mod:`policy.sql.compiler`:
read in its one parse of each lead, no second pass over the text and no join), gives
the rows of the ``facts`` table that :mod:`policy.report.compute` reads, the same
columns with the same meaning as :class:`policy.report.facts.FactWriter` writes from the
python engine's decisions. What the statement reads from the lead:

- the ``--by`` field: a string as it is; any other value as JSON text, turned into its
  report key (compact JSON of the value, as Python prints it) by :meth:`SqlFacts.finish`
  once per distinct value, so numbers print exactly as on the python path;
- the cohort field and every stage's ``entered at`` field, read as instants (µs) by the
  warehouse's own timestamp arithmetic (:mod:`policy.sql.checks`), the same rules as
  :func:`policy.engine.timestamps.parse_timestamp`;
- the business time from each SLA's start to its stop, on the route's calendar, from
  working-interval tables built by the warehouse's calendar code
  (:func:`policy.sql.calendars.build_tables`, itself the SLA's
  :class:`~policy.model.calendar.WorkCalendar`): ``W(t) = w + max(0, t - o)`` for the
  interval that holds or follows ``t``, and the response is ``W(stop) - W(start)``
  (0 when the stop is not after the start).

The leads the SQL cannot decide as the python engine does are found by the tests eval
uses (:mod:`policy.sql.fallback`) and decided by the python engine, one by one; they get
the facts :class:`~policy.report.facts.FactWriter` writes for them on the python path:
a line with a key repeated in an object the policy or the report reads, or with half a
surrogate pair (both found while staging, and left out of the statement), and a lead
whose decision carries ``calendar_out_of_range`` or whose response time the tables
cannot count (its start or stop has no working-time position), and a lead the schema
refuses (the python validator's problem paths: an array's item as ``tags[1]``, where the
SQL names the array): marked ``pyfix`` by the statement, then deleted and replaced.
Every other row stays in SQL.

Rejection and placement reasons arrive as JSON text; :meth:`SqlFacts.finish` maps each
distinct one to its key and, for rejections, to whether it is off the agreed list (the
engine's own membership test, :func:`policy.engine.runtime.member`), and updates the
table. Nothing is aggregated here: every figure stays in :mod:`policy.report.compute`.

Must run after: loading the policy and :func:`policy.report.shape.report_shape`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from policy.report.facts import FactWriter, fact_columns, first_path, key_text
from policy.report.shape import Shape
from policy.sql.errors import within_depth
from policy.sql.quoting import sql_ident as _ident
from policy.sql.quoting import sql_string as _q

__all__ = ["SqlFacts"]

_DAY_US = 86_400_000_000
#: leads the python engine decides, per batch of facts inserted
_PYTHON_BATCH = 10_000
#: the staged lines marked as not JSON (``chr(1)`` first, :func:`policy.sql.engine.
#: sendable_texts`), without the mark: the ones that are JSON go to the python engine
_REFUSED_JSON = "SELECT line, txt[2:] FROM src WHERE starts_with(txt, chr(1))"




class SqlFacts:
    """Stages records in the DuckDB engine, then (:meth:`finish`) decides them all and
    fills the table ``facts``.

    ``by``/``cohort``: the field paths (or None). ``memory_limit``/``temp_directory``:
    DuckDB's settings; ``database``: a file for the table of facts, so that with a memory
    limit it lives on disk instead of growing in memory (None: in memory); ``years``:
    the calendar tables' years (the engine's default: :class:`DuckEngine`). Leads the
    SQL cannot decide as the python engine does (:mod:`policy.sql.fallback`) are decided
    by the python engine, and their facts are the python path's; :attr:`by_python`
    counts them.
    """

    def __init__(self, pol: Any, shape: Shape, *, as_of: int, by: tuple[str, ...] | None,
                 cohort: tuple[str, ...] | None, memory_limit: str | None = None,
                 temp_directory: str | None = None, threads: int | None = None,
                 database: str | None = None, years: tuple[int, int] | None = None):
        from policy.sql.duck import DuckEngine

        self.pol = pol
        self.shape = shape
        self.by = by
        self.cohort = cohort
        # the fields the report reads come with the engine's decisions (read in its one
        # parse of each lead); a key repeated in one of their objects sends the line to
        # the python engine, as the policy's do. No sort: facts are only aggregated.
        # The statement over staged JSON text (about 1.3 s of CPU to compile and plan
        # for rules/) is built when a record is staged as text (:meth:`_json`): a Parquet
        # file read by its column types never needs it.
        self.engine = DuckEngine(pol, as_of=as_of, memory_limit=memory_limit,
                                 temp_directory=temp_directory, threads=threads, years=years,
                                 carry=self._carry(), ordered=False, json=False)
        self.con = self.engine.con
        # no progress bar on standard output, where the report may go
        # (policy.report.build.QUIET)
        self.con.execute("SET enable_progress_bar = false")
        self._staging = False
        self.as_of = as_of
        cols = fact_columns(shape)
        self._columns = list(cols)
        # pyfix: the row's business time leaves the SQL calendar tables, so the python
        # engine decides that lead (policy.sql.fallback); such rows are replaced
        extra = {"byraw": "VARCHAR", "reason_raw": "VARCHAR", "pyfix": "BOOLEAN"}
        for j in range(len(shape.handoffs)):
            # the rejection reason's JSON text, and whether the decision has the
            # violation invalid_rejection_reason (used only when the list is unreadable)
            extra.update({f"h{j}_rraw": "VARCHAR", f"h{j}_viol": "BOOLEAN"})
        spec = ", ".join(f"{_ident(k)} {v}" for k, v in {**cols, **extra}.items())
        if database is not None:
            # A table in a database file: DuckDB compresses it and evicts its blocks to
            # the file under memory_limit (a table of an in-memory database cannot be).
            self.con.execute(f"ATTACH {_q(database)} AS rf")
            self.con.execute(f"CREATE TABLE rf.facts ({spec})")
            self.con.execute("CREATE TEMP VIEW facts AS SELECT * FROM rf.facts")
            self.table = "rf.facts"
        else:
            self.con.execute(f"CREATE TEMP TABLE facts ({spec})")
            self.table = "facts"
        # the order of the rows of facts does not matter: every figure is an aggregate
        self.con.execute("SET preserve_insertion_order = false")
        self._calendars = self._calendar_tables()
        self._insert = self._statement("decided")
        #: the query of some rows of a Parquet file as JSON text (``line``, ``txt``; ``$1``
        #: their line numbers), once :meth:`add_parquet` read it by its column types: the
        #: python engine's input
        self._parquet_json: str | None = None
        self._writer: FactWriter | None = None
        #: how many records the python engine decided (leads the SQL cannot decide alike)
        self.by_python = 0

    # ------------------------------------------------------------------ input
    def add_texts(self, lines: list[int], texts: list[str]) -> None:
        """Stage one batch of records as JSON text (line numbers ascending, above every
        line staged before)."""
        if lines:
            self._json()
            self.con.execute("INSERT INTO src SELECT unnest($1), unnest($2)", [lines, texts])

    def add_errors(self, errors: Iterable[Any]) -> None:
        """Records the python reader already refused (CSV, JSON arrays): each with
        ``line``, ``value`` and ``problems``."""
        rows = []
        for rec in errors:
            key = key_text(_get(rec.value, self.by)) if self.by is not None else None
            rows.append((rec.line, first_path(rec), key))
        if rows:
            cols = [list(c) for c in zip(*rows, strict=True)]
            self.con.execute(f"INSERT INTO {self.table} (line, refused, path, bykey) "
                             "SELECT unnest($1), true, unnest($2), unnest($3)", cols)

    def add_records(self, records: Iterable[Any]) -> None:
        """Records of :func:`policy.io.leads.read_records` (CSV, JSON arrays)."""
        from policy.sql.engine import record_batches

        for lines, texts, errors in record_batches(records):
            self.add_texts(lines, texts)
            self.add_errors(errors.values())

    def add_units(self, units: Iterable[Any]) -> None:
        """The units of :func:`policy.io.batch.batches`: blocks of JSON Lines are staged
        as :meth:`add_jsonl` stages a stream (their bytes, in order, are the file's),
        batches of read records (CSV, JSON arrays) as :meth:`add_records` takes them."""
        units = iter(units)
        first = next(units, None)
        if first is None:
            return
        if getattr(first, "data", None) is None:
            for unit in (first, *units):
                self.add_records(unit.records())
            return
        stream = _UnitStream(first, units)
        self.add_jsonl(stream)
        self.add_errors(stream.too_long)

    def add_parquet(self, path: str) -> None:
        """Every row of a Parquet file (the only input of this run), read as ``funnel eval
        --engine duckdb`` reads Parquet into Parquet: by the columns' types inside
        DuckDB (:class:`policy.sql.parquet.ParquetSource`), no row turned into JSON text;
        the decision statement is built over that source with the same carried fields.
        Columns whose names differ only in case are one name to SQL: such a file is
        staged as JSON text instead (:meth:`policy.sql.duck.DuckEngine.stage_parquet`).
        Raises :class:`OSError` for a file DuckDB cannot read as Parquet."""
        import duckdb

        from policy.sql.compiler import Options, build
        from policy.sql.dialects import dialect
        from policy.sql.duck import _parquet_types, _quote
        from policy.sql.parquet import LINE, ParquetSource, row_fields

        con = self.con
        try:
            described = _parquet_types(con, path)
        except duckdb.Error as exc:
            raise OSError("cannot read as Parquet: " + str(exc).splitlines()[0]) from None
        names = [name for name, _ in described]
        if len({n.lower() for n in names}) != len(names) or LINE in names:
            self._json()
            try:
                self.engine.stage_parquet(path)
            except duckdb.Error as exc:
                raise OSError("cannot read as Parquet: " + str(exc).splitlines()[0]) from None
            return
        d = dialect("duckdb")
        con.execute(f"CREATE OR REPLACE TEMP VIEW parquet_src AS SELECT file_row_number + 1 "
                    f"AS {LINE}, * EXCLUDE (file_row_number) FROM read_parquet({_quote(path)}, "
                    "file_row_number = true)")
        opts = Options(source="json", as_of=self.as_of, years=self.engine.years,
                       calendars="named", instants="us", hidden=True,
                       local_tz=getattr(self.pol, "local_tz", None), ordered=False,
                       carry=self._carry())
        stmt = build(self.pol, d, opts, source=ParquetSource(d, "parquet_src", dict(described)))
        # the same calendars as the JSON statement's, under the names this one reads
        self.engine._calendar_tables(stmt)
        # no copy of the tree (it is not read again): the copy cost more than printing
        decided = stmt.sql(dialect="duckdb", copy=False)
        with within_depth():
            con.execute(f"CREATE OR REPLACE TEMP VIEW decided_pq AS {decided}")
        self._insert = self._statement("decided_pq")
        # the JSON text of just the rows :meth:`finish` asks for (``$1``: their line
        # numbers), the filter on the file's row number before any row is serialised:
        # filtering the text of every row was 4.6 s of CPU at 1M leads
        self._parquet_json = (
            f"SELECT file_row_number + 1 AS line, CAST(to_json(struct_pack("
            f"{row_fields(described)})) AS VARCHAR) AS txt FROM read_parquet({_quote(path)}, "
            "file_row_number = true) WHERE file_row_number + 1 IN "
            "(SELECT unnest($1::BIGINT[]))")

    def add_jsonl(self, stream: Any) -> None:
        """Every record of a JSON Lines byte stream, staged a few MB at a time (as
        :meth:`policy.sql.duck.DuckEngine.stage_jsonl` stages it)."""
        from policy.sql.engine import jsonl_blocks

        self._json()
        for first, data, text in jsonl_blocks(stream):
            self.engine.stage_block(first, data, text)

    def _json(self) -> None:
        """The staging table ``src`` and the statement that decides its JSON text (the
        view ``decided``), once."""
        if not self._staging:
            self._staging = True
            self.engine._json_statement(self.pol, self.as_of, False, self._carry())

    # ------------------------------------------------------------------ deciding
    def finish(self) -> None:
        """Decide every staged record and fill ``facts``: one statement over the staging
        table, then the python engine for the leads SQL cannot decide alike; then turn
        the JSON text of non-string keys and of reasons into report keys (once per
        distinct value), and mark off-list rejection reasons."""
        from policy.sql.engine import python_json_error
        from policy.sql.staging import SURROGATES

        con = self.con
        by_python: dict[int, str] = {}
        if self._parquet_json is None:  # the records are staged as JSON text
            self._json()
            by_python = self.engine.find_suspects()
            # DuckDB's JSON reader refuses half a surrogate pair that Python reads
            for line, txt in con.execute(SURROGATES).fetchall():
                by_python.setdefault(line, txt)
            # JSON that the python reader refuses (a number beyond a double's range) is
            # staged as not JSON, whose problem path is the record's (''); the python
            # engine names the field (`n`, `x.y`, `n[0]`), as eval's explain_refusal does
            for line, txt in con.execute(_REFUSED_JSON).fetchall():
                if python_json_error(txt) is None:
                    by_python.setdefault(line, txt)
            if by_python:
                con.execute("DELETE FROM src WHERE line IN (SELECT unnest($1::BIGINT[]))",
                            [sorted(by_python)])
        con.execute(self._insert)
        # Business time the tables cannot count: the python engine's figures. DuckDB
        # skips the row groups whose `pyfix` holds only NULL by their statistics.
        beyond = [r[0] for r in con.execute(
            f"DELETE FROM {self.table} WHERE pyfix RETURNING line").fetchall()]
        if by_python:  # the suspect lines: a few
            self._by_python(sorted(by_python.items()))
        if beyond:
            # the lead's text: the staged line, or the Parquet row as JSON text (one scan
            # of the file). The rows stream in batches, so memory does not grow with the
            # number of leads (0.5% of the sample's leads come here: their schema paths);
            # a cursor, as the batches' facts are inserted meanwhile.
            texts = ("SELECT line, txt FROM src WHERE line IN (SELECT unnest($1::BIGINT[]))"
                     if self._parquet_json is None else self._parquet_json)
            cur = con.cursor()
            try:
                # a cursor is a connection of its own, with DuckDB's defaults: no progress
                # bar on standard output (policy.report.build.QUIET)
                cur.execute("SET enable_progress_bar = false")
                cur.execute(texts, [beyond])
                while rows := cur.fetchmany(_PYTHON_BATCH):
                    self._by_python(rows)
            finally:
                cur.close()
        self._map("byraw", {"bykey": key_text})
        self._map("reason_raw", {"reason": key_text})
        for j, h in enumerate(self.shape.handoffs):
            targets: dict[str, Any] = {f"h{j}_reason": key_text}
            if h.agreed is not None:
                targets[f"h{j}_off_list"] = _OffList(list(h.agreed))
            self._map(f"h{j}_rraw", targets)
            if h.agreed is None:  # a list the report cannot read: the decision's violation
                con.execute(f"UPDATE {self.table} SET h{j}_off_list = h{j}_viol "
                            f"WHERE h{j}_rejected")
        con.execute("DROP TABLE IF EXISTS _jmap")

    def _by_python(self, items: list[tuple[int, str]]) -> None:
        """Decide these lines with the python engine and add the facts the python
        path writes for them (:class:`policy.report.facts.FactWriter`)."""
        from policy.sql.fallback import python_decision

        if self._writer is None:
            self._writer = FactWriter(self.shape, None, by=self.by, cohort=self.cohort,
                                      tz=getattr(self.pol, "tz", None))
        rows = []
        for line, text in items:
            record, lead = python_decision(self.pol, line, text, self.as_of, with_lead=True)
            rows.append(self._writer.row(line, record, lead))
        self.by_python += len(rows)
        names = list(self._columns)
        # a list the report cannot read: finish() takes off_list from h{j}_viol
        names += [f"h{j}_viol" for j in range(len(self.shape.handoffs))]
        for row in rows:
            for j in range(len(self.shape.handoffs)):
                row[f"h{j}_viol"] = row.get(f"h{j}_off_list")
        data = [[row.get(name) for row in rows] for name in names]
        types = {**fact_columns(self.shape), **{n: "BOOLEAN" for n in names[len(self._columns):]}}
        select = ", ".join(f"CAST(unnest(${k + 1}) AS {types[name]}) AS {_ident(name)}"
                           for k, name in enumerate(names))
        self.con.execute(f"INSERT INTO {self.table} BY NAME SELECT {select}", data)

    def _map(self, raw: str, targets: dict) -> None:
        con = self.con
        values = [r[0] for r in con.execute(
            f"SELECT DISTINCT {raw} FROM facts WHERE {raw} IS NOT NULL").fetchall()]
        if not values:
            return
        columns: list[list] = [values]
        for fn in targets.values():
            columns.append([fn(json.loads(v)) for v in values])
        names = ["raw", *(f"v{i}" for i in range(len(targets)))]
        select = ", ".join(f"unnest(${i + 1}) AS {n}" for i, n in enumerate(names))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _jmap AS SELECT {select}", columns)
        sets = ", ".join(f"{col} = m.v{i}" for i, col in enumerate(targets))
        con.execute(f"UPDATE {self.table} SET {sets} FROM _jmap m WHERE {raw} = m.raw")

    # ------------------------------------------------------------------ calendars
    def _calendar_tables(self) -> dict[tuple[int, str | None], int]:
        """(handoff, route) -> calendar number, and the tables ``_rdays``/``_rivs`` of
        every calendar a response time is counted on."""
        from policy.sql.calendars import build_tables

        numbers: dict[int, int] = {}
        tables = []
        found: dict[tuple[int, str | None], int] = {}
        for j, h in enumerate(self.shape.handoffs):
            if not h.has_sla:
                continue
            for route in [*(r.name for r in h.routes), None]:
                cal = h.route_calendar(route) if route is not None else h.calendar
                if cal is None:
                    continue
                if id(cal) not in numbers:
                    numbers[id(cal)] = len(tables)
                    tables.append(build_tables(cal, *self.engine.years, ()))
                found[(j, route)] = numbers[id(cal)]
        days, ivs = [], []
        for c, tab in enumerate(tables):
            days += [(c, d, i, c1, c2) for d, i, c1, c2 in tab.days if i is not None]
            ivs += [(c, row[0], row[1], row[2]) for row in tab.intervals]
        for name, rows, cols in (("_rdays", days, ("c", "d", "i", "c1", "c2")),
                                 ("_rivs", ivs, ("c", "i", "o", "w"))):
            data = [list(x) for x in zip(*rows, strict=True)] if rows else [[] for _ in cols]
            select = ", ".join(f"CAST(unnest(${k + 1}) AS BIGINT) AS {n}"
                               for k, n in enumerate(cols))
            self.con.execute(f"CREATE TEMP TABLE {name} AS SELECT {select}", data)
        return found

    # ------------------------------------------------------------------ the statement
    def _carry(self) -> tuple[tuple[str, tuple[str, ...], str], ...]:
        """The lead fields the report reads, as columns the engine's statement adds to
        its decisions (read in the statement's one parse of each lead): the ``--by``
        field's JSON type and text, the cohort field and each ``entered at`` field as
        instants (µs), by the warehouse's own timestamp arithmetic."""
        out: list[tuple[str, tuple[str, ...], str]] = []
        if self.by is not None:
            out += [("_r_by_ty", self.by, "ty"), ("_r_by_j", self.by, "j")]
        if self.cohort is not None:
            out.append(("_r_coh", self.cohort, "t:any"))
        for i, st in enumerate(self.shape.stages):
            if st.entered_at is not None:
                out.append((f"_r_e{i}", st.entered_at, f"t:{st.entered_kind}"))
        return tuple(out)

    def _statement(self, relation: str) -> str:
        shape = self.shape
        ok = "x.error IS NULL"
        stage_case = " ".join(f"WHEN {_q(s.name)} THEN {i}" for i, s in enumerate(shape.stages))

        def index_of(col: str, default: str) -> str:
            return f"CASE {col} {stage_case} ELSE {default} END" if shape.stages else default

        funnel = ", ".join(_q(s.name) for s in shape.stages) or "NULL"
        sel = [
            "x.line AS line", "x.error IS NOT NULL AS refused",
            f"CASE WHEN NOT {ok} THEN coalesce(list_min(x.error_paths), '') END AS path",
            f"CASE WHEN {ok} THEN {index_of('x.reached', '-1')} END AS reached",
            f"CASE WHEN {ok} THEN {index_of('x.stage', 'NULL')} END AS placed",
            f"CASE WHEN {ok} AND x.stage NOT IN ({funnel}) THEN x.stage END AS state",
            f"CASE WHEN {ok} AND x.stage NOT IN ({funnel}) AND "
            "json_type(x._reason_json) = 'VARCHAR' THEN json_extract_string(x._reason_json, '$') "
            "END AS reason",
            f"CASE WHEN {ok} AND x.stage NOT IN ({funnel}) AND "
            "json_type(x._reason_json) <> 'VARCHAR' THEN x._reason_json END AS reason_raw",
        ]
        if self.by is not None:
            # a string's text is between its quotes unless it holds an escape (as the
            # engine's own string slot reads it)
            j = "x._r_by_j"
            sel += [f"CASE WHEN x._r_by_ty = 'string' THEN (CASE WHEN contains({j}, chr(92)) "
                    f"THEN json_extract_string({j}, '$') ELSE substring({j}, 2, length({j}) - 2) "
                    "END) END AS bykey",
                    "CASE WHEN x._r_by_ty NOT IN ('string', 'null') THEN x._r_by_j END AS byraw"]
        if self.cohort is not None:
            sel.append(f"CASE WHEN {ok} THEN x._r_coh END AS cohort")
        for i, score in enumerate(shape.scores):
            sel.append(f"CAST(x.{_ident('score_' + score.name)} AS DOUBLE) AS s{i}")
        for i, st in enumerate(shape.stages):
            if st.entered_at is not None:
                sel.append(f"CASE WHEN {ok} THEN x._r_e{i} END AS e{i}")
        joins: list[str] = []
        misses: list[str] = []
        for j, h in enumerate(shape.handoffs):
            def c(field: str, stage=h.stage) -> str:
                return "x." + _ident(f"handoff_{stage}_{field}")

            applies = f"{c('team')} IS NOT NULL"
            sel += [
                f"CASE WHEN {applies} THEN true END AS h{j}_applies",
                f"CASE WHEN {applies} THEN {c('route')} END AS h{j}_route",
                f"CASE WHEN {applies} THEN {c('sla_status')} END AS h{j}_status",
                f"CASE WHEN {applies} THEN {c('escalate_to')} IS NOT NULL END AS h{j}_escalated",
                f"CASE WHEN {applies} THEN coalesce({c('rejected')}, false) END AS h{j}_rejected",
                f"CASE WHEN {applies} AND {c('rejected')} THEN x._rj{j} END AS h{j}_rraw",
                f"CASE WHEN {applies} AND {c('rejected')} THEN list_contains(x.violations, "
                f"'invalid_rejection_reason') END AS h{j}_viol",
            ]
            response, more, miss = self._response(j, c)
            sel.append(f"CASE WHEN {applies} THEN {response} END AS h{j}_response")
            joins += more
            if miss is not None:
                misses.append(miss)
        from policy.sql.fallback import beyond_tables_sql

        # the python engine decides a lead whose business time the SQL tables cannot
        # count: the decision's own mark (as eval), or a response time whose start or
        # stop has no working-time position in the report's tables
        beyond = " OR ".join([beyond_tables_sql("x.violations"), *misses])
        # and a lead the schema refuses: the python validator names the problem paths
        # (an array's items as `tags[1]` where the SQL names `tags`), as eval's
        # explain_refusal does; a record that is not JSON has the path '' in both
        sel.append(f"CASE WHEN ({ok} AND ({beyond})) OR (NOT {ok} AND "
                   "coalesce(list_min(x.error_paths), '') <> '') THEN true END AS pyfix")
        body = f"SELECT {', '.join(sel)} FROM (SELECT * FROM {relation}) x {' '.join(joins)}"
        return f"INSERT INTO {self.table} BY NAME {body}"

    def _response(self, j: int, c) -> tuple[str, list[str], str | None]:
        """The business time from start to stop of handoff ``j`` (an expression), the
        joins it needs, and the condition under which the tables cannot count it (None:
        never)."""
        found = {route: num for (jj, route), num in self._calendars.items() if jj == j}
        if not found:
            return "NULL", [], None
        h = self.shape.handoffs[j]
        cases = " ".join(f"WHEN {_q(r.name)} THEN {found[r.name]}" for r in h.routes
                         if r.name in found)
        default = found.get(None, "NULL")
        cal = f"(CASE {c('route')} {cases} ELSE {default} END)" if cases else str(default)
        start, stop = c("sla_start"), c("sla_stop")
        joins = []
        w = {}
        for tag, t in (("a", start), ("b", stop)):
            dd, iv = f"_d{tag}{j}", f"_i{tag}{j}"
            pos = (f"{dd}.i + coalesce(({t}) >= {dd}.c1, false)::BIGINT "
                   f"+ coalesce(({t}) >= {dd}.c2, false)::BIGINT")
            joins.append(f"LEFT JOIN _rdays {dd} ON {dd}.c = {cal} AND "
                         f"{dd}.d = ({t}) // {_DAY_US}")
            joins.append(f"LEFT JOIN _rivs {iv} ON {iv}.c = {cal} AND {iv}.i = {pos}")
            w[tag] = f"({iv}.w + greatest(0, ({t}) - {iv}.o))"
        expr = (f"CASE WHEN {start} IS NULL OR {stop} IS NULL OR {cal} IS NULL THEN NULL "
                f"WHEN {stop} <= {start} THEN 0 ELSE {w['b']} - {w['a']} END")
        # an instant outside the tables (or past their last working interval) finds no
        # interval row: the python engine counts that response
        miss = (f"coalesce({stop} > {start} AND {cal} IS NOT NULL AND "
                f"(_ia{j}.w IS NULL OR _ib{j}.w IS NULL), false)")
        return expr, joins, miss


class _UnitStream:
    """The bytes of JSON Lines units (:class:`policy.io.jsonl_blocks.JsonlBlock`), in
    order, as a stream :func:`policy.sql.engine.jsonl_blocks` reads. A line too long to
    read is one blank line here (the numbering of the lines after it stays) and its error
    record is kept in :attr:`too_long`, numbered as this stream numbers it."""

    def __init__(self, first: Any, rest: Iterator[Any]):
        self._rest = rest
        self._first: Any = first
        self._buffer = b""
        self._newlines = 0
        self.too_long: list[Any] = []

    def _next(self) -> bytes | None:
        unit = self._first if self._first is not None else next(self._rest, None)
        self._first = None
        if unit is None:
            return None
        if unit.too_long:
            rec = unit.records()[0]
            self.too_long.append(_Refused(self._newlines + 1, rec.value, rec.problems))
            data = b"\n"
        else:
            data = unit.data
        self._newlines += data.count(b"\n")
        return data

    def read(self, size: int = -1) -> bytes:
        parts = [self._buffer]
        have = len(self._buffer)
        while size < 0 or have < size:
            data = self._next()
            if data is None:
                break
            parts.append(data)
            have += len(data)
        joined = b"".join(parts)
        if size < 0:
            self._buffer = b""
            return joined
        self._buffer = joined[size:]
        return joined[:size]


class _Refused:
    """An error record with the line this module numbers it by."""

    def __init__(self, line: int, value: Any, problems: Any):
        self.line, self.value, self.problems = line, value, problems


def _get(value: Any, path: tuple[str, ...]) -> Any:
    from policy.engine import runtime as rt

    return rt.get(value, path) if type(value) is dict else None


class _OffList:
    """Whether a rejection reason is off the agreed list (the engine's membership test,
    which folds case as the language does)."""

    def __init__(self, agreed: list):
        self.agreed = agreed

    def __call__(self, value: Any) -> bool:
        from policy.engine import runtime as rt

        return not rt.member(value, self.agreed)
