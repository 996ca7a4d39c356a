"""Lead fields as the columns of a warehouse table (``funnel sql``, ``Policy.sql``).

:class:`TableSource` gives the slots of :mod:`policy.sql.values` (see
:mod:`policy.sql.sources`) from a table's own columns: a lead field is a column; a
nested field is the dialect's structured access (STRUCT, OBJECT/VARIANT, JSONB) or,
with ``flat``, the column ``company`` + SEP + ``employees`` (an object is then there
when a column below it is not NULL, as the python CSV reader nests ``a.b`` headers).
The kind of a column comes from the schema, else from the type the intermediate form
gives the field (:func:`field_kinds`). A NULL column is a missing field.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from policy.engine import ir
from policy.sql.dialects import Dialect
from policy.sql.sources import _S, _call, _case, _n
from policy.sql.values import SqlUnsupported
from policy.syntax.canonical import path_text

__all__ = ["TableSource", "field_kinds"]


class TableSource:
    """Lead fields as columns of ``table``; kinds from ``kinds`` (path -> kind set)."""

    json_text = False

    def __init__(self, d: Dialect, table: str, kinds: dict, flat: str | None,
                 timestamps: Sequence[tuple[str, ...]] = ()):
        self.d = d
        self.table = table
        self.kinds = kinds
        self.flat = flat
        #: the timestamp fields: DuckDB reads a native TIMESTAMP/DATE column's text
        self.timestamps = frozenset(timestamps)
        #: the paths the statement reads (set by :meth:`base`, before any slot is built)
        self.paths: tuple[tuple[str, ...], ...] = ()
        self._flat_names: dict[str, tuple[str, ...]] = {}

    def base(self, paths: Sequence[tuple[str, ...]]) -> exp.Select:
        self.paths = tuple(paths)
        parts = [_n(p) for p in self.table.split(".")]
        t = exp.Table(this=parts[-1], db=parts[-2] if len(parts) > 1 else None,
                      catalog=parts[-3] if len(parts) > 2 else None)
        line = exp.cast(exp.null(), "BIGINT").as_("line", copy=False)
        return exp.select(line, exp.Star()).from_(t, copy=False)

    def column(self, path: tuple[str, ...], kind: str) -> exp.Expression:
        if self.flat is not None:
            name = self.flat.join(path)
            why = self.d.unusable(name)
            if why is not None:
                raise SqlUnsupported(f"the column `{name}` {why}")
            # two fields joined into one name (`a.b_c` and `a_b.c` with `--flat _`)
            # would read one column for both, deciding a field from another's value
            other = self._flat_names.setdefault(name, path)
            if other != path:
                raise SqlUnsupported(
                    f"the fields {path_text(other)} and {path_text(path)} are both read "
                    f"from the column `{name}` with `--flat {self.flat}`; choose a "
                    "separator that no key holds")
            return exp.column(exp.to_identifier(name, quoted=True))
        for key in path:
            why = self.d.unusable(key)
            if why is not None:
                raise SqlUnsupported(f"the column `{key}` {why}")
        return self.d.field(path[0], path[1:], kind)

    def slot(self, path: tuple[str, ...], slot: str, k: int) -> exp.Expression | None:
        out = self._slot(path, slot, k)
        if self.d.name != "duckdb" or not path or slot not in ("ty", "n", "s", "b") or \
                self._flat_below(path):
            return out
        # DuckDB knows each column's type (TYPEOF, folded to a constant when the
        # statement is planned): a value is read only where its column holds that kind,
        # as the python engine reads the row's JSON (a BOOLEAN is no number, an
        # integer no condition, a DATE text), so a column of another type than the
        # schema says refuses the lead at its field instead of being cast
        return _duck_typed(self.column(path, "VARCHAR"), slot, out)

    def _slot(self, path: tuple[str, ...], slot: str, k: int) -> exp.Expression | None:
        if not path:  # the row itself: a lead is an object
            return _S("object") if slot == "ty" else None
        kinds = self.kinds.get(path, {"string"})
        below = self._flat_below(path)
        if below:  # --flat: no column holds an object; it is there when a field below is
            if slot != "ty":
                return None
            return _case([(exp.or_(*[exp.Not(this=exp.Is(this=c, expression=exp.null()))
                                     for c in below]), _S("object"))])
        if slot == "ty":
            kind = _main_kind(kinds)
            if self.flat is None and (len(path) > 1 or kind == "object"):
                self.column(path, "VARCHAR")  # the names' lengths checked
                typed = self.d.json_type(path[0], path[1:])
                if typed is not None:  # the value's own JSON kind (Postgres JSONB)
                    return typed
            col = self.column(path, _SQL_KIND.get(kind, "VARCHAR"))
            if kind == "integer":  # a DOUBLE column's -2.5 is a number, as python reads it
                n = exp.cast(col.copy(), "DOUBLE")
                return _case([(exp.Is(this=col, expression=exp.null()), exp.null()),
                              (exp.EQ(this=n, expression=exp.Floor(this=n.copy())),
                               _S("integer"))], _S("number"))
            return _case([(exp.Is(this=col, expression=exp.null()), exp.null())], _S(kind))
        # a nested JSONB value keeps its own JSON kind (Postgres): a field the schema
        # gives no type is read as whatever it holds, as the python engine reads it (a
        # number compared as a number, not only as text); a value of another kind is
        # NULL there (:func:`policy.sql.dialects._jsonb`)
        untyped = (path not in self.kinds and self.flat is None and len(path) > 1
                   and self.d.nesting == "jsonb")
        if slot in ("n", "s", "b") and self._one_kind(path, kinds):
            # (session 21) outside DuckDB a column's kind is taken on trust: the schema's
            # first (`"type": ["string", "integer"]` is a text column, and `ty` says
            # "string" for every value), so the other kinds' slots are not read; Postgres
            # stopped the whole statement casting a text column's "L1" to a number
            main = _main_kind(kinds)
            if slot != {"number": "n", "integer": "n", "boolean": "b"}.get(main, "s"):
                return None
        if slot == "n":
            if kinds & {"number", "integer"} or untyped:
                return exp.cast(self.column(path, "DOUBLE"), "DOUBLE")
            return None
        if slot == "s":
            if "string" not in kinds:
                return None
            col = self.column(path, "VARCHAR")
            return _duck_text(col) if path in self.timestamps and self.d.name == "duckdb" else col
        if slot == "b":
            return self.column(path, "BOOLEAN") if "boolean" in kinds or untyped else None
        if slot in ("l", "ln", "lnum", "lbool"):
            # an ARRAY of text (the SQL path takes no `items` keyword to say otherwise)
            if "array" not in kinds or slot not in ("ln", "l"):
                return None
            col = self.column(path, "ARRAY")
            return self.d.array_length(col) if slot == "ln" else col
        if slot == "j":
            kind = "JSON" if self.d.nesting == "jsonb" and len(path) > 1 and \
                self.flat is None else "VARCHAR"
            return exp.cast(self.column(path, kind), "VARCHAR")
        return None


    def _one_kind(self, path: tuple[str, ...], kinds: set) -> bool:
        """Whether ``path`` is read as one kind, its column's, which the statement takes
        on trust (`ty` is the schema's first kind): not in DuckDB, which reads each
        column's own type, nor in a Postgres JSONB value, which keeps its JSON kind."""
        if self.d.name == "duckdb":
            return False
        nested = self.flat is None and (len(path) > 1 or _main_kind(kinds) == "object")
        return not (nested and self.d.nesting == "jsonb")

    def _flat_below(self, path: tuple[str, ...]) -> list[exp.Expression]:
        """With ``flat``, the columns of the fields below ``path`` (those the statement
        reads or the schema names), as the python CSV reader nests ``a.b`` headers: an
        object is there when one of its cells is; without ``flat``, none."""
        if self.flat is None:
            return []
        known = {*self.kinds, *self.paths, *self.timestamps}
        below = sorted(p for p in known if len(p) > len(path) and p[:len(path)] == path)
        leaves = [p for p in below if not any(len(q) > len(p) and q[:len(p)] == p
                                              for q in below)]
        return [self.column(p, "VARCHAR") for p in leaves]


#: DuckDB's names of the types whose values are JSON numbers (and ``DECIMAL(p,s)``)
_DUCK_NUMBERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                 "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "VARINT")


def _duck_typed(col: exp.Expression, slot: str, out: exp.Expression | None
                ) -> exp.Expression | None:
    """The ``slot`` of a DuckDB column as the python engine reads the JSON ``to_json``
    makes of the row: ``ty`` the value's JSON kind from the column's type (a NaN or
    infinite FLOAT/DOUBLE is null, as from Parquet); ``n`` only from a number column,
    ``b`` from a BOOLEAN one, ``s`` from a column whose JSON is a string (VARCHAR, DATE,
    TIME, the TIMESTAMPs, UUID, INTERVAL, BLOB, ENUM…). A ``JSON`` column keeps ``out``
    (the kind of its values varies by row). DuckDB folds the type tests away."""
    if out is None:
        return None
    ty = _call("TYPEOF", col.copy())
    is_json = exp.EQ(this=ty.copy(), expression=_S("JSON"))
    number = exp.or_(exp.In(this=ty.copy(), expressions=[_S(t) for t in _DUCK_NUMBERS]),
                     exp.Like(this=ty.copy(), expression=_S("DECIMAL(%")))
    as_double = exp.TryCast(this=col.copy(), to=exp.DataType.build("DOUBLE"))
    finite = exp.not_(exp.or_(_call("ISNAN", as_double), _call("ISINF", as_double.copy())))
    boolean = exp.EQ(this=ty.copy(), expression=_S("BOOLEAN"))
    listed = exp.or_(*[exp.Like(this=ty.copy(), expression=_S(p)) for p in ("%[]", "%]")])
    keyed = exp.or_(*[exp.Like(this=ty.copy(), expression=_S(p)) for p in (
        "STRUCT(%", "MAP(%", "UNION(%")])
    if slot == "ty":
        return _case([(is_json, out), (exp.Is(this=col.copy(), expression=exp.null()),
                                        exp.null()),
                      (number, _case([(finite, _S("number"))])),
                      (boolean, _S("boolean")), (listed, _S("array")),
                      (keyed, _S("object"))], _S("string"))
    if slot == "n":
        return _case([(is_json, out), (exp.and_(number, finite), as_double)])
    if slot == "b":
        return _case([(is_json, exp.TryCast(this=out, to=exp.DataType.build("BOOLEAN"))),
                      (boolean, exp.TryCast(this=col.copy(),
                                            to=exp.DataType.build("BOOLEAN")))])
    # text: a list or an object read as text would be tested as its SQL text (`contains`
    # on a list is a membership test): refused with a message naming the column
    name = ".".join(i.name for i in col.find_all(exp.Identifier))
    return _case([(is_json, exp.cast(out, "VARCHAR")),
                  (exp.or_(number, boolean), exp.null()),
                  (exp.or_(listed, keyed), exp.cast(_call("ERROR", _S(
                      f"the column {name} holds a list or an object where the policy reads "
                      "text: give the field's schema a type")), "VARCHAR"))],
                 exp.cast(out, "VARCHAR"))


def _duck_text(col: exp.Expression) -> exp.Expression:
    """A timestamp field's text whatever the column's type, so the statement binds over
    native columns too: a VARCHAR is itself (DuckDB folds the CASE away), and any other
    type its text, which the statement then parses as it parses a text column —
    ``TIMESTAMP`` and ``TIMESTAMP_NS`` (no offset: UTC, or ``--local-tz``) and ``DATE``
    as DuckDB writes them, and a ``TIMESTAMP WITH TIME ZONE`` its UTC instant to the
    microsecond (its own text is in the session's zone, whose offset may have seconds)."""
    instant = exp.TryCast(this=col.copy(), to=exp.DataType.build("TIMESTAMPTZ"))
    tz = _call("STRFTIME", _call("TIMEZONE", _S("UTC"), instant), _S("%Y-%m-%dT%H:%M:%S.%fZ"))
    return _case([(exp.EQ(this=_call("TYPEOF", col.copy()),
                          expression=_S("TIMESTAMP WITH TIME ZONE")), tz)],
                 exp.cast(col, "VARCHAR"))


_SQL_KIND = {"number": "DOUBLE", "integer": "DOUBLE", "string": "VARCHAR",
             "boolean": "BOOLEAN", "array": "ARRAY", "object": "VARCHAR"}


def _main_kind(kinds: set) -> str:
    for k in ("string", "number", "integer", "boolean", "array", "object"):
        if k in kinds:
            return k
    return "string"


#: the JSON kind a table column holds for a field the IR typed without the schema
_KIND_OF_TYPE = {ir.Type.NUMBER: "number", ir.Type.BOOLEAN: "boolean",
                 ir.Type.TEXT: "string", ir.Type.LIST: "array"}


def field_kinds(program: ir.Program, schema, any_scalar: bool = False) -> dict:
    """Each field's JSON kinds for a table source: the schema's types (a field may have
    several), else the type the intermediate form gives the field from how the policy
    uses it (:attr:`ir.Program.field_types`: compared with a number, a number; used as
    a condition, a boolean); anything else is read as text. With ``any_scalar`` (DuckDB,
    whose statement reads each column by its own type), a schema node that gives no
    ``type`` (``{"minimum": 1}``) may be a text, a number or a boolean: read as text, a
    numeric column's bounds were never checked and ``x == 3`` was false for 3."""
    kinds: dict = {}
    if schema is not None:
        for path, info in schema.fields.items():
            types = set(info.types) - {"null"}
            if info.enum and not types:
                types = {"string" if isinstance(v, str) else "number" if isinstance(
                    v, (int, float)) and not isinstance(v, bool) else "boolean"
                    for v in info.enum if v is not None}
            if not types and any_scalar:  # no `type`: any kind its column holds
                types = {"string", "number", "boolean"}
            kinds[tuple(path)] = types or {"string"}
        # a node with `properties` or `required` but no `type` describes an object: its
        # column is a STRUCT, and the checks below it (`required`) test that it is one
        for path in _untyped_objects(schema.document, ()):
            info = schema.fields.get(path)
            if info is not None and not info.types and not info.enum:
                kinds[path] = {"object"}
    for path, typ in program.field_types.items():
        kind = _KIND_OF_TYPE.get(typ)
        if kind is not None and path not in kinds:
            kinds[path] = {kind}
        elif any_scalar and path not in kinds:  # used as a number and as text: either
            kinds[path] = {"string", "number", "boolean"}
    return kinds


def _untyped_objects(node: object, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The paths below the lead whose schema node has ``properties`` or ``required`` and
    no ``type``, ``enum`` or ``const``: objects to a table, whatever the node allows."""
    if not isinstance(node, dict):
        return []
    out = []
    if path and ("properties" in node or "required" in node) and not (
            {"type", "enum", "const"} & node.keys()):
        out.append(path)
    for key, sub in (node.get("properties") or {}).items():
        out += _untyped_objects(sub, (*path, key))
    return out
