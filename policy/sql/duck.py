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

import os
import tempfile
from collections.abc import Iterator
from typing import Any

from policy.engine.tabular import layout
from policy.sql.compiler import Options, build, default_years
from policy.sql.dialects import dialect
from policy.sql.engine import BatchEngine, Rebuilder

__all__ = ["DuckEngine", "duckdb_available"]



def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


class DuckEngine(BatchEngine):
    """Decides leads with DuckDB; build one per run (it owns a connection)."""

    def __init__(self, pol: Any, *, as_of: int, years: tuple[int, int] | None = None,
                 threads: int | None = None, memory_limit: str | None = None,
                 temp_directory: str | None = None):
        import duckdb

        self.pol = pol
        self.as_of = as_of
        year = _year(as_of)
        self.years = years or (min(year - 10, 2000), year + 10)
        config = {"preserve_insertion_order": True}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        if temp_directory:
            config["temp_directory"] = temp_directory
        self.con = duckdb.connect(config=config)
        d = dialect("duckdb")
        opts = Options(source="json", as_of=as_of, years=self.years, calendars="named",
                       instants="us", hidden=True, local_tz=getattr(pol, "local_tz", None))
        stmt = build(pol.model, pol.info, d, opts)
        self.sql = stmt.sql(dialect="duckdb")
        self._native = None
        for index, label in enumerate(sorted(stmt.meta["calendar_tables"])):
            tabs = stmt.meta["calendar_tables"][label]
            for name, rows, cols in ((f"cal{index}_days", tabs.days, tabs.day_columns),
                                     (f"cal{index}_intervals", tabs.intervals,
                                      tabs.interval_columns)):
                columns = [list(c) for c in zip(*rows, strict=True)] if rows else [
                    [] for _ in cols]
                select = ", ".join(f"CAST(unnest(${i + 1}) AS BIGINT) AS {_ident(c)}"
                                   for i, c in enumerate(cols))
                self.con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT {select}', columns)
        self.con.execute("CREATE TEMP TABLE src (line BIGINT, txt VARCHAR)")
        self.con.execute(f"CREATE TEMP VIEW decided AS {self.sql}")
        self.rebuild = Rebuilder(pol)
        self.width = len(layout(pol.model).columns)

    def rows(self, lines: list[int], texts: list[str]) -> list[tuple]:
        """The tabular rows (with the hidden columns) of one batch, in line order."""
        con = self.con
        con.execute("DELETE FROM src")
        con.execute("INSERT INTO src SELECT unnest($1), unnest($2)", [lines, texts])
        return con.execute("SELECT * FROM decided").fetchall()

    # ------------------------------------------------------------------ parquet
    def parquet_rows(self, path: str) -> Iterator[tuple[list[int], list[str]]]:
        """Batches of (row number, the row as JSON text) of a Parquet file."""
        return parquet_batches(self.con, path)

    def parquet_to_parquet(self, source: str, target: str) -> int:
        """Decide a Parquet file into a Parquet file inside DuckDB (the fast path: no
        row leaves DuckDB). Returns the number of rows."""
        import duckdb

        from policy.sql.sources import DuckJson

        d = dialect("duckdb")
        stmt = build(self.pol.model, self.pol.info, d,
                     Options(source="json", as_of=self.as_of, years=self.years,
                             calendars="named", instants="native", hidden=False,
                             local_tz=getattr(self.pol, "local_tz", None)),
                     source=DuckJson(d, relation="parquet_src"))
        try:
            cols = _parquet_columns(self.con, source)
        except duckdb.Error as exc:
            raise OSError("cannot read as Parquet: " + str(exc).splitlines()[0]) from None
        src = _parquet_json_select(source, cols)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW parquet_src AS {src}")
        query = stmt.sql(dialect="duckdb")
        try:
            self.con.execute(f"COPY ({query}) TO {_quote(target)} (FORMAT parquet)")
        except duckdb.Error as exc:
            raise OSError(str(exc).splitlines()[0]) from None
        return self.con.execute(f"SELECT count(*) FROM read_parquet({_quote(target)})"
                                ).fetchone()[0]


def _year(us: int) -> int:
    from policy.engine.timestamps import to_datetime

    return to_datetime(us).year


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet_columns(con, path: str) -> list[str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})").fetchall()
    return [r[0] for r in rows]


def _parquet_json_select(path: str, cols: list[str]) -> str:
    fields = ", ".join(f"{_ident(c)} := {_ident(c)}" for c in cols)
    return (f"SELECT file_row_number + 1 AS line, CAST(to_json(struct_pack({fields})) AS "
            f"VARCHAR) AS txt FROM read_parquet({_quote(path)}, file_row_number = true)")


def parquet_batches(con, path: str, size: int = 50_000
                    ) -> Iterator[tuple[list[int], list[str]]]:
    """Batches of (row number from 1, the row as a JSON object's text) of a Parquet file."""
    cols = _parquet_columns(con, path)
    cur = con.cursor()
    cur.execute(_parquet_json_select(path, cols))
    while True:
        rows = cur.fetchmany(size)
        if not rows:
            return
        yield [r[0] for r in rows], [r[1] for r in rows]


class ParquetWriter:
    """Writes tabular rows to a Parquet file through DuckDB: rows collect in a table of
    an on-disk temporary database (so memory stays bounded), then one ``COPY``."""

    def __init__(self, pol: Any, target: str):
        import duckdb

        self.lay = layout(pol.model)
        self.target = target
        self._dir = tempfile.TemporaryDirectory(prefix="funnel-parquet-")
        self.con = duckdb.connect(os.path.join(self._dir.name, "rows.duckdb"))
        types = {"int": "BIGINT", "string": "VARCHAR", "bool": "BOOLEAN",
                 "timestamp": "BIGINT", "json": "VARCHAR", "list": "VARCHAR[]"}
        cols = ", ".join(f"{_ident(c.name)} {types[c.kind]}" for c in self.lay.columns)
        self.con.execute(f"CREATE TABLE rows ({cols})")
        self._pending: list[tuple] = []

    def add(self, values: tuple) -> None:
        from policy.engine.tabular import cell_text

        row = tuple(cell_text("json", v) if c.kind == "json" and v is not None else
                    (list(v) if c.kind == "list" and v is not None else v)
                    for c, v in zip(self.lay.columns, values, strict=True))
        self._pending.append(row)
        if len(self._pending) >= 20_000:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        columns = list(zip(*self._pending, strict=True))
        names = [c.name for c in self.lay.columns]
        select = ", ".join(f"unnest(${i + 1}) AS {_ident(n)}" for i, n in enumerate(names))
        self.con.execute(f"INSERT INTO rows SELECT {select}", [list(c) for c in columns])
        self._pending = []

    def close(self) -> None:
        self._flush()
        cols = []
        for c in self.lay.columns:
            name = _ident(c.name)
            cols.append(f"make_timestamp({name}) AS {name}" if c.kind == "timestamp"
                        else name)
        self.con.execute(f"COPY (SELECT {', '.join(cols)} FROM rows) TO "
                         f"{_quote(self.target)} (FORMAT parquet)")
        self.con.close()
        self._dir.cleanup()


__all__ += ["ParquetWriter", "parquet_batches", "default_years"]
