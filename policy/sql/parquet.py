"""Parquet columns read by their own types (``funnel eval --engine duckdb``, Parquet in).

The python engine reads a Parquet row as the JSON object DuckDB's ``to_json`` makes of
it, so a ``VARCHAR`` cell is a string, an integer cell an integer, a ``DOUBLE`` a
number, a ``BOOLEAN`` a boolean, a ``STRUCT`` an object, a ``NULL`` a present null and
an absent column an absent field. :class:`ParquetSource` gives the SQL compiler the
same values straight from the typed columns, without turning every row into JSON text
and parsing it again (the cost that made Parquet → Parquet slow): a ``TIMESTAMP`` cell
is its instant directly (the text ``to_json`` gives it, ``2026-11-03 14:05:00``, is
read by the python engine as that instant in UTC). A column of any other type (lists
of numbers, maps, blobs…) is read as its ``to_json`` text, exactly as the JSON source
reads it.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from sqlglot import exp

from policy.io.atomic import drop_scratch, scratch_folder
from policy.sql.dialects import Dialect
from policy.sql.pqcopy import nullable
from policy.sql.quoting import sql_ident as _ident
from policy.sql.quoting import sql_string as _quote
from policy.sql.sources import DuckJson, _call, _case, _duck_path, _lam

__all__ = ["LINE", "ParquetSource", "ParquetWriter", "atomic_target", "finite", "json_select",
           "parquet_batches", "parquet_types", "parse_type", "row_fields", "unreadable_names"]

#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, and a day, in µs
_FIRST_US = -62_135_596_800_000_000
_LAST_US = 253_402_300_799_999_999
_DAY_US = 86_400_000_000

#: the row number's column in the relation (a name no export uses)
LINE = "__funnel_line"

_S = exp.Literal.string
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT"}
_NUMBERS = {"FLOAT", "DOUBLE"}
#: read as their instant; the other timestamp types (ns, ms, s) are read as their text
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}


def parse_type(text: str):
    """A DuckDB type name as ``(name, fields)``: ``fields`` the (key, type) pairs of a
    STRUCT, the element type of a list (``name`` ``LIST``), else None."""
    text = text.strip()
    if text.endswith("[]"):
        return ("LIST", parse_type(text[:-2]))
    if text.upper().startswith("STRUCT(") and text.endswith(")"):
        return ("STRUCT", _struct_fields(text[7:-1]))
    return (text.upper(), None)


def _struct_fields(body: str) -> list[tuple[str, tuple]]:
    out, depth, start, quoted = [], 0, 0, False
    parts = []
    for i, ch in enumerate(body):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    for part in parts:
        part = part.strip()
        if part.startswith('"'):
            end = part.index('"', 1)
            while end + 1 < len(part) and part[end + 1] == '"':  # "" inside a name
                end = part.index('"', end + 2)
            key, rest = part[1:end].replace('""', '"'), part[end + 1:]
        else:
            key, _, rest = part.partition(" ")
        out.append((key, parse_type(rest)))
    return out


class ParquetSource:
    """The columns of ``relation`` (a view over ``read_parquet``), typed by ``columns``
    (name -> DuckDB type text, from ``DESCRIBE``)."""

    json_text = False

    def __init__(self, d: Dialect, relation: str, columns: dict[str, str]):
        self.d = d
        self.relation = relation
        self.types = {name: parse_type(t) for name, t in columns.items()}
        self.json = DuckJson(d, relation=relation)

    # The value at a path: (expression, type, the conditions under which it is absent)
    def _at(self, path: tuple[str, ...]):
        if path[0] not in self.types:
            return None
        node: exp.Expression = exp.column(exp.to_identifier(path[0], quoted=True))
        ty = self.types[path[0]]
        absent: list[exp.Expression] = []
        for depth, key in enumerate(path[1:], 1):
            if ty[0] != "STRUCT" and _kind(ty) is None:
                # a column read as JSON (a file whose values there are of mixed kinds, a
                # MAP): the keys below it are read from its JSON, absent where it has none
                node = _call("JSON_EXTRACT", _call("TO_JSON", node),
                             _S(_duck_path(path[depth:])))
                absent.append(exp.Is(this=node, expression=exp.null()))
                return node, ("JSON", None), absent
            if ty[0] != "STRUCT":
                return None  # a key below a value that is not an object: absent
            fields = dict(ty[1])
            if key not in fields:
                return None
            absent.append(exp.Is(this=node, expression=exp.null()))
            node = exp.Dot(this=node, expression=exp.to_identifier(key, quoted=True))
            ty = fields[key]
        return node, ty, absent

    def base(self, paths: Sequence[tuple[str, ...]]) -> exp.Select:
        cols: list[exp.Expression] = [exp.column(LINE).as_("line", copy=False)]
        for k, path in enumerate(paths):
            found = self._at(path) if path else None
            if found is None:
                cols.append(exp.null().as_(f"v{k}", copy=False))
                continue
            node, ty, absent = found
            # NaN and the infinities read as null, in every engine (finite())
            node = finite(node, ty)
            if _kind(ty) is None:  # read as JSON, as the JSON source would
                node = exp.Coalesce(this=_call("TO_JSON", node),
                                    expressions=[exp.cast(_S("null"), "JSON")])
            if absent:
                node = _case([(_or(absent), exp.null())], node)
                cols.append(exp.Paren(this=node).as_(f"v{k}", copy=False))
                cols.append(_or(absent).as_(f"a{k}", copy=False))
            else:
                cols.append(exp.Paren(this=node).as_(f"v{k}", copy=False))
        return exp.select(*cols).from_(self.relation, copy=False)

    def slot(self, path: tuple[str, ...], slot: str, k: int) -> exp.Expression | None:
        if not path:
            return _S("object") if slot == "ty" else None
        found = self._at(path)
        if found is None:  # an absent field: every slot NULL
            return exp.null() if slot in ("ty", "j") else None
        _, ty, absent = found
        kind = _kind(ty)
        if kind is None:
            got = self.json.slot(path, slot, k)
            return _python_number_text(got) if slot == "j" and got is not None else got
        v = exp.column(f"v{k}")
        is_null = exp.Is(this=v, expression=exp.null())
        if slot == "ty":
            out = _case([(is_null, _S("null"))], _S(_JSON_KIND.get(kind, kind)))
            if absent:
                out = _case([(exp.column(f"a{k}"), exp.null())], out)
            return out
        if slot == "j":
            if kind == "number":
                # to_json writes 1e-7 and 1e22 where the python engine writes Python's
                # repr (1e-07, 1e+22); DuckDB's text of a DOUBLE is that repr
                return exp.cast(exp.cast(v, "DOUBLE"), "VARCHAR")
            return exp.cast(_call("TO_JSON", v), "VARCHAR")
        if kind == "string":
            return v if slot == "s" else None
        if kind in ("integer", "number"):
            return exp.cast(v, "DOUBLE") if slot == "n" else None
        if kind == "boolean":
            return v if slot == "b" else None
        if kind == "timestamp":
            return exp.cast(v, "VARCHAR") if slot == "s" else None
        if kind == "object":
            # an object has no text, number or boolean, and no list (these as the JSON
            # source gives them: NULL); the list slots let `==` against another value
            # that may be an object or a list mark the row for the python engine, which
            # compares them as Python does (dict == dict), as the JSON source's rows are
            if slot == "l":
                return exp.cast(exp.null(), "VARCHAR[]")
            if slot == "ln":
                return exp.cast(exp.null(), "BIGINT")
            if slot == "lnest":
                return exp.cast(exp.null(), "BOOLEAN")
            return None
        if kind == "array":  # a list of text
            if slot == "ln":
                return exp.ArraySize(this=v)
            if slot == "lnest":  # texts only: no element is a list or an object
                return _case([(exp.Not(this=is_null), exp.false())])
            if slot == "l":
                return exp.ArrayFilter(this=v, expression=_lam("e", exp.Not(
                    this=exp.Is(this=exp.column("e"), expression=exp.null()))))
        return None

    def known(self, path: tuple[str, ...], k: int):
        """What the column's type says of the value at ``path`` (see
        :data:`policy.sql.checks.Known`): its JSON type when not null, the typed value
        (column ``v{k}``) and the absent flag (column ``a{k}``, below a STRUCT); None
        for an absent field or a column read as JSON text."""
        found = self._at(path) if path else None
        if found is None:
            return None
        _, ty, absent = found
        kind = _kind(ty)
        if kind is None:
            return None
        return (_JSON_KIND.get(kind, kind), exp.column(f"v{k}"),
                exp.column(f"a{k}") if absent else None)

    def instant(self, path: tuple[str, ...], kind: str, k: int) -> exp.Expression | None:
        """A ``TIMESTAMP`` column's instant (µs), as the python engine reads its text;
        None: read the text (other types, and `date` fields, whose text this is not)."""
        found = self._at(path)
        if found is None or _kind(found[1]) != "timestamp" or kind == "date":
            return None
        v = exp.column(f"v{k}")
        us = _call("EPOCH_US", v)
        year = _call("YEAR", v)
        # the text of a year outside 1..9999 (or BC) is not a timestamp to the engine;
        # an instant two days inside those years is in them whatever the session's
        # time zone, and comparing it costs less than taking its year apart
        inside = exp.Between(this=us, low=exp.Literal.number(_FIRST_US + 2 * _DAY_US),
                             high=exp.Literal.number(_LAST_US - 2 * _DAY_US))
        return _case([(inside, us),
                      (exp.Between(this=year, low=exp.Literal.number(1),
                                   high=exp.Literal.number(9999)), us)])


def _python_number_text(text: exp.Expression) -> exp.Expression:
    """The JSON text of a value with a number written as the python engine writes it
    (the text of a JSON column keeps DuckDB's spelling: ``1e-7``, ``1e22``, ``-0``;
    Python writes ``1e-07``, ``1e+22``, ``0``, which DuckDB's text of a DOUBLE is)."""
    integer = _call("REGEXP_FULL_MATCH", text.copy(), _S("-?[0-9]+"))
    number = _call("REGEXP_FULL_MATCH", text.copy(),
                   _S("-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?"))
    return _case([(integer, _case([(exp.EQ(this=text.copy(), expression=_S("-0")), _S("0"))],
                                  text.copy())),
                  (number, exp.cast(exp.cast(text.copy(), "DOUBLE"), "VARCHAR"))], text)


def _holds_double(ty) -> bool:
    name, sub = ty
    if name in _NUMBERS:
        return True
    if name == "LIST":
        return sub is not None and _holds_double(sub)
    if name == "STRUCT":
        return any(_holds_double(t) for _, t in sub)
    return False


def finite(node: exp.Expression, ty, depth: int = 0) -> exp.Expression:
    """``node`` (of DuckDB type ``ty``, :func:`parse_type`) with every NaN or infinite
    FLOAT or DOUBLE in it, at the top, in a STRUCT or in a list, read as null.

    JSON has no such number (``to_json`` writes a bare ``NaN``), and pandas writes a
    missing float as NaN, so a Parquet cell holding one is a null in every engine: the
    typed columns here, and the JSON text of a row (:func:`policy.sql.duck.parquet_batches`)
    that the python engine reads. Doubles inside a MAP are kept as they are."""
    name, sub = ty
    if name in _NUMBERS:
        return _case([(_or([_call("ISNAN", node), _call("ISINF", node)]), exp.null())], node)
    if not _holds_double(ty):
        return node
    if name == "LIST":
        var = f"x{depth}"
        return exp.Transform(this=node, expression=_lam(var, finite(exp.column(var), sub,
                                                                    depth + 1)))
    pack = _call("STRUCT_PACK", *(
        exp.PropertyEQ(this=exp.to_identifier(key, quoted=True),
                       expression=finite(exp.Dot(this=node.copy(),
                                                 expression=exp.to_identifier(key, quoted=True)),
                                         t, depth))
        for key, t in sub))
    return _case([(exp.Is(this=node.copy(), expression=exp.null()), exp.null())], pack)


def _kind(ty) -> str | None:
    name, sub = ty
    if name == "VARCHAR":
        return "string"
    if name in _INTEGERS:
        return "integer"
    if name in _NUMBERS:
        return "number"
    if name == "BOOLEAN":
        return "boolean"
    if name in _TIMESTAMPS:
        return "timestamp"
    if name == "LIST" and sub is not None and sub[0] == "VARCHAR":
        return "array"
    if name == "STRUCT":
        return "object"
    return None


#: the JSON type name of a kind read from a typed column
_JSON_KIND = {"timestamp": "string"}


def _or(parts: list[exp.Expression]) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.Or(this=out, expression=p)
    return exp.Paren(this=out)


class ParquetWriter:
    """Writes tabular rows to a Parquet file through DuckDB: rows collect in a table of
    an on-disk temporary database (so memory stays bounded), then one ``COPY``."""

    def __init__(self, pol: Any, target: str):
        import duckdb

        from policy.engine.tabular import layout
        self.lay = layout(pol)
        self.target = target
        self._dir = scratch_folder("funnel-parquet-")
        self.con = duckdb.connect(os.path.join(self._dir, "rows.duckdb"))
        # the folder goes when the writer does, also when close() is never reached
        self._finalizer = weakref.finalize(self, _drop_rows, self.con, self._dir)
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
        import duckdb

        try:
            self.con.execute(f"INSERT INTO rows SELECT {select}", [list(c) for c in columns])
        except duckdb.InvalidInputException:
            # half a surrogate pair (a lead's "\ud800") has no UTF-8: U+FFFD, as the
            # CSV writer writes it (docs/security.md)
            self.con.execute(f"INSERT INTO rows SELECT {select}",
                             [[_utf8(v) for v in c] for c in columns])
        self._pending = []

    def close(self) -> None:
        self._flush()
        cols = []
        for c in self.lay.columns:
            name = _ident(c.name)
            value = f"make_timestamp({name})" if c.kind == "timestamp" else name
            cols.append(f"{nullable(name, value)} AS {name}")  # one schema, whatever the rows
        import duckdb

        try:
            with atomic_target(self.target) as path:
                self.con.execute(f"COPY (SELECT {', '.join(cols)} FROM rows) TO "
                                 f"{_quote(path)} (FORMAT parquet)")
        except duckdb.IOException as exc:
            # a full disk, or `-o /dev/full`: the caller's "cannot write", not a traceback
            raise write_error(exc) from None
        finally:
            self._finalizer()


class CannotWrite(OSError):
    """The output Parquet file could not be written (a full disk, ``-o /dev/full``)."""


def write_error(exc: Exception) -> CannotWrite:
    """DuckDB's IO error writing the output as :class:`CannotWrite` with its errno
    (DuckDB puts it in a JSON tail: ``…: {"exception_type":"IO",…,"errno":"28"}``), else
    with DuckDB's first line."""
    import os
    import re

    found = re.search(r'"errno"\s*:\s*"?(\d+)', str(exc))
    if found:
        code = int(found.group(1))
        return CannotWrite(code, os.strerror(code))
    return CannotWrite(str(exc).split("\n")[0])


def copy_error(exc: Exception, path: str) -> Exception:
    """A DuckDB error of a ``COPY … TO path`` as an OSError: :class:`CannotWrite` when
    DuckDB could not write ``path`` (the output), else DuckDB's first line (the input);
    a statement too deep for DuckDB as :class:`~policy.sql.errors.SqlUnsupported`."""
    import duckdb

    from policy.sql.errors import too_deep

    deep = too_deep(exc)
    if deep is not None:
        return deep

    if isinstance(exc, duckdb.IOException) and path in str(exc):
        return write_error(exc)
    return OSError(str(exc).splitlines()[0])


def _drop_rows(con: Any, folder: str) -> None:
    con.close()
    drop_scratch(folder)


def _utf8(value: Any) -> Any:
    from policy.render.escape import no_surrogates

    if isinstance(value, str):
        return no_surrogates(value)
    if isinstance(value, list):
        return [_utf8(v) for v in value]
    return value




@contextlib.contextmanager
def atomic_target(target: str) -> Iterator[str]:
    """A path beside ``target`` for DuckDB to write, renamed onto ``target`` when the
    block ends normally (as :func:`policy.io.atomic.atomic_open` does for the python
    writers): a failed or interrupted run leaves the old file, never a torn one. A
    target that exists and is not a regular file (``/dev/null``) is written in place."""
    import tempfile

    from policy.io.atomic import _PENDING, _make_pending, refuse_folder_path

    refuse_folder_path(target)
    real = os.path.realpath(target)
    if os.path.exists(real) and not os.path.isfile(real):
        yield real
        return
    directory, name = os.path.split(real)
    # listed as pending, so Ctrl-C (which ends the process at once) removes it too; a
    # plain name, as DuckDB reads the file back by it (policy/sql/literal.py)
    plain = "".join("_" if ch in "*?[]{}" else ch for ch in name)
    fd, tmp = _make_pending(tempfile, directory or ".", f".{plain}.")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _PENDING.discard(tmp)


# --------------------------------------------------------------------------- rows as JSON



def parquet_types(con: Any, path: str) -> list[tuple[str, str]]:
    """(column, DuckDB type text) of a Parquet file, in order.

    Raises ``duckdb.InvalidInputException`` (read as "cannot read as Parquet: …" by
    every caller) for names DuckDB cannot read as written (:func:`unreadable_names`)."""
    why = unreadable_names(con.execute(
        f"SELECT name, num_children FROM parquet_schema({_quote(path)})").fetchall())
    if why is not None:
        import duckdb

        raise duckdb.InvalidInputException(why)
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})").fetchall()
    return [(r[0], r[1]) for r in rows]


def unreadable_names(schema: Sequence[tuple[str, int | None]]) -> str | None:
    """Why the names of a Parquet schema (``parquet_schema``'s (name, num_children)
    rows: depth first, the root first) cannot be read as written, or None.

    DuckDB's names are case-insensitive (ASCII letters only): of two columns, or two
    fields of one struct, whose names differ only in case, it renames the second
    (``email`` beside ``Email`` became ``email_1``), so the lead silently lost that
    field; a name written twice exactly (pyarrow writes it) is said to appear twice.
    And ``file_row_number``, the column DuckDB numbers the rows by, cannot
    also be a column of the file. Both are refused, by name."""
    fold = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    # (the dotted path of the group, the names seen in it, children still to come)
    stack: list[tuple[str, dict[str, str], int]] = [("", {}, int(schema[0][1] or 0))]
    for name, children in schema[1:]:
        while stack and stack[-1][2] == 0:
            stack.pop()
        if not stack:
            break
        prefix, seen, left = stack[-1]
        stack[-1] = (prefix, seen, left - 1)
        key = name.translate(fold)
        if not prefix and key == "file_row_number":
            return (f"the column `{name}` has the name of the column DuckDB numbers the "
                    "rows by; rename it")
        if key in seen and seen[key] == name:  # pyarrow writes a name twice as asked
            return f"the column `{prefix}{name}` appears twice; rename one of them"
        if key in seen:
            return (f"the columns `{prefix}{seen[key]}` and `{prefix}{name}` differ only "
                    "in case, which DuckDB reads as one name (it would rename the second "
                    "and the lead would lose it); rename one of them")
        seen[key] = name
        if children:
            stack.append((f"{prefix}{name}.", {}, int(children)))
    return None


def row_fields(cols: Sequence[tuple[str, str]], table: str | None = None) -> str:
    """``name := value, ...`` of ``struct_pack`` for the columns ``cols`` (name, type) of
    a row, its NaN and infinite doubles null (:func:`finite`)."""
    out = []
    for name, ty in cols:
        col = exp.column(exp.to_identifier(name, quoted=True),
                         table=exp.to_identifier(table) if table else None)
        out.append(f"{exp.to_identifier(name, quoted=True).sql('duckdb')} := "
                   f"{finite(col, parse_type(ty)).sql('duckdb')}")
    return ", ".join(out)


def json_select(path: str, cols: Sequence[tuple[str, str]],
                lines: Sequence[int] | None = None) -> str:
    """Each row as the JSON text of an object (the python engine's lead): ``line``,
    ``txt``; with ``lines``, only those rows (numbered from 1), whose text alone is built
    (a filter outside this query would build every row's first)."""
    where = "" if lines is None else (
        " WHERE file_row_number IN (" + ", ".join(str(int(n) - 1) for n in lines) + ")"
        if lines else " WHERE false")
    return (f"SELECT file_row_number + 1 AS line, CAST(to_json(struct_pack("
            f"{row_fields(cols)})) AS VARCHAR) AS txt FROM read_parquet({_quote(path)}, "
            f"file_row_number = true){where}")


def parquet_batches(con: Any, path: str, size: int = 50_000
                    ) -> Iterator[tuple[list[int], list[str]]]:
    """Batches of (row number from 1, the row as a JSON object's text) of a Parquet file."""
    cur = con.cursor()
    cur.execute(json_select(path, parquet_types(con, path)))
    while True:
        rows = cur.fetchmany(size)
        if not rows:
            return
        yield [r[0] for r in rows], [r[1] for r in rows]
