"""Where the lead values come from: a table's columns, or JSON text read by an engine.

A source turns a lead field path into the slots of :mod:`policy.sql.values` (``n``,
``s``, ``b``, ``l``, ``ln``, plus ``ty``, the JSON type name validation needs, and
``j``, the value as JSON text the engines use to rebuild a decision's ``lead`` and
rejection reason). The compiler asks for slots over a staging row whose columns are
``v0``, ``v1``… (one per path, JSON sources) or the table's own columns.

- :class:`policy.sql.table.TableSource` (``funnel sql``): a lead field is a column.
- :class:`DuckJson` / :class:`SparkJson` (the engines): each record is JSON text,
  parsed once per row; every value keeps its run-time kind, as in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from policy.sql.dialects import Dialect
from policy.sql.values import SqlUnsupported

__all__ = ["DuckJson", "SparkJson"]

_S = exp.Literal.string


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _case(pairs, default=None) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in pairs], default=default)


def _lam(var: str, body: exp.Expression) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(var)])


def _n(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


#: ``ORD`` of the first character of a JSON value as DuckDB's ``->`` writes it (minified,
#: no leading space): the value's JSON type without parsing it again. Anything else
#: that is not NULL is a number (digits, ``-``; ``NaN``/``Infinity`` never get this
#: far: the python reader refuses those lines first).
_QUOTE, _BRACE, _BRACKET, _T, _F, _NUL = 34, 123, 91, 116, 102, 110


def _wants(kinds: dict | None, path: tuple[str, ...], slot: str) -> bool:
    """Whether a JSON source must type the value at ``path`` as ``slot`` (see
    :func:`policy.sql.checks.schema_kinds`: the schema refuses the other types)."""
    if kinds is None or path not in kinds:
        return True
    allowed = kinds[path]
    need = {"n": ("number", "integer"), "s": ("string",), "b": ("boolean",),
            "l": ("array",), "ln": ("array",), "lnum": ("array",), "lbool": ("array",),
            "lnest": ("array",)}.get(slot)
    return need is None or any(k in allowed for k in need)


class DuckJson:
    """JSON text in the column ``txt`` of ``src``, read with DuckDB's JSON functions.

    The record is parsed once (one ``JSON_EXTRACT`` with the list of every path read,
    which also says whether the text is JSON; see :meth:`base`); each value comes back
    as minified JSON text whose first character is its type (``c{k}``, one integer per value), so no
    value is parsed again to be typed. Only strings are unescaped (and only the ones
    holding a backslash by the JSON reader), numbers cast, arrays read.
    """

    json_text = True

    def __init__(self, d: Dialect, relation: str = "src"):
        self.d = d
        self.relation = relation
        #: the paths the statement reads (set by :meth:`base`)
        self.paths: list[tuple[str, ...]] | None = None
        #: the JSON types the schema lets each path hold (:meth:`narrow`)
        self.kinds: dict | None = None
        #: the indexes whose type code ``c{k}`` :meth:`base` staged
        self.codes: set[int] = set()

    def narrow(self, kinds: dict) -> None:
        """Type each value only as the kinds the schema allows at its path (the lead is
        refused otherwise); paths not in ``kinds`` keep every kind."""
        self.kinds = dict(kinds)

    def base(self, paths: Sequence[tuple[str, ...]]) -> exp.Select:
        self.paths = list(paths)
        txt = exp.column("txt")
        ok = _call("JSON_VALID", txt)
        doc_type = _case([(ok, _call("JSON_TYPE", txt))])
        sel = exp.select(exp.column("line"), txt,
                         exp.Paren(this=doc_type).as_("_doctype", copy=False))
        read = [(i, p) for i, p in enumerate(paths) if p]  # () is the record itself
        if read:
            # One parse of each line: the extraction itself says whether the text is
            # JSON (TRY: NULL when it is not; a row that fails makes DuckDB retry its
            # chunk row by row, and such lines are rare), and a line that is JSON and
            # begins with "{" is an object; only other lines (a leading space, an
            # array, a string...) are parsed again for their type. The values of a
            # document that is not an object are NULL (no `$."key"` path finds one).
            lst = exp.Array(expressions=[_S(_duck_path(p)) for _, p in read])
            vals = exp.column("_vals")
            doc_type = _case([(exp.Is(this=vals, expression=exp.null()), exp.null()),
                              (_call("PREFIX", txt, _S("{")), _S("OBJECT"))],
                             _call("JSON_TYPE", txt))
            inner = exp.select(exp.column("line"), txt, _call(
                "TRY", _call("JSON_EXTRACT", txt, lst)).as_("_vals", copy=False)).from_(
                self.relation)
            cols = [exp.column("line"), exp.column("txt"),
                    exp.Paren(this=doc_type).as_("_doctype", copy=False)]
            for at, (i, _) in enumerate(read):
                # 0-based: sqlglot adds the dialect's offset
                v = exp.Bracket(this=exp.column("_vals"), expressions=[exp.Literal.number(at)])
                cols += [v.as_(f"v{i}"), _call("ORD", v.copy()).as_(f"c{i}", copy=False)]
                self.codes.add(i)
            return exp.select(*cols).from_(inner.subquery("r0"), copy=False)
        return sel.from_(self.relation, copy=False)

    def doc_kind(self) -> exp.Expression:
        """The record's JSON type, as the Python reader names it (NULL: not JSON)."""
        return _duck_type(exp.column("_doctype"))

    def quick_instant(self, s: exp.Expression, kind: str
                      ) -> tuple[exp.Expression, exp.Expression] | None:
        """(whether the text ``s`` has the form nearly every lead's timestamp has,
        ``2026-11-02T15:00:00Z``; its instant in µs) for the compiler, which takes the
        text apart by the general rules only when it has another form
        (:func:`policy.sql.checks.timestamp_parts`). DuckDB's own ``TIMESTAMP`` cast
        reads that form as :func:`~policy.engine.timestamps.parse_timestamp` does
        (NULL where it refuses: February 30, minute 60…) except the year 0 and the
        hour 24, which DuckDB takes and the python engine refuses: those texts are left
        to the general rules (tests/test_sql_timestamps.py). A ``date`` is never this
        form."""
        if kind == "date":
            return None
        glob = exp.Glob(this=s.copy(), expression=_S(_Z_FORM_GLOB))
        # the year 0 and the hour 24: text comparisons of digits (GLOB checked them)
        year0 = exp.EQ(this=exp.Substring(this=s.copy(), start=exp.Literal.number(1),
                                          length=exp.Literal.number(4)), expression=_S("0000"))
        hour = exp.Substring(this=s.copy(), start=exp.Literal.number(12),
                             length=exp.Literal.number(2))
        cond = exp.Coalesce(this=exp.And(this=glob, expression=exp.And(
            this=exp.Not(this=year0), expression=exp.LT(this=hour, expression=_S("24")))),
            expressions=[exp.false()])
        # the whole text: DuckDB reads the `Z` as UTC
        value = _call("EPOCH_US", exp.TryCast(this=s.copy(), to=exp.DataType.build("TIMESTAMP")))
        return cond, value

    def slot(self, path: tuple[str, ...], slot: str, k: int) -> exp.Expression | None:
        if not path:  # the record: an object once the record is decided at all
            return self.doc_kind() if slot == "ty" else exp.column("txt") if slot == "j" \
                else None
        if not _wants(self.kinds, path, slot):
            return None
        v = exp.column(f"v{k}")
        # a JSON column of another source (Parquet) has no staged code
        c = exp.column(f"c{k}") if k in self.codes else _call("ORD", exp.cast(v, "VARCHAR"))

        def is_(*codes: int) -> exp.Expression:
            if len(codes) == 1:
                return exp.EQ(this=c, expression=exp.Literal.number(codes[0]))
            return exp.In(this=c, expressions=[exp.Literal.number(x) for x in codes])

        if slot == "ty":
            # every number is "number": the checks test integers by value (n = floor(n)),
            # as the python validator does
            return _case([(is_(_QUOTE), _S("string")), (is_(_NUL), _S("null")),
                          (is_(_T, _F), _S("boolean")), (is_(_BRACKET), _S("array")),
                          (is_(_BRACE), _S("object")),
                          (exp.Not(this=exp.Is(this=c, expression=exp.null())),
                           _case([(_overflows(v), _S("infinite"))], _S("number")))])
        if slot == "n":
            return _case([(exp.Not(this=is_(_QUOTE, _NUL, _T, _F, _BRACKET, _BRACE)),
                           exp.cast(v, "DOUBLE"))])
        if slot == "s":
            # the text between the quotes is the string unless it holds an escape
            plain = exp.Substring(this=exp.cast(v, "VARCHAR"), start=exp.Literal.number(2),
                                  length=exp.Sub(this=exp.Length(this=exp.cast(v, "VARCHAR")),
                                                 expression=exp.Literal.number(2)))
            escaped = _call("CONTAINS", exp.cast(v, "VARCHAR"), _S("\\"))
            return _case([(is_(_QUOTE), _case([(escaped, _call("JSON_EXTRACT_STRING", v,
                                                                _S("$")))], plain))])
        if slot == "b":
            return _case([(is_(_T), exp.true()), (is_(_F), exp.false())])
        if slot == "j":
            return exp.cast(v, "VARCHAR")
        elems = _call("JSON_EXTRACT", v, _S("$[*]"))
        is_arr = is_(_BRACKET)
        if slot == "ln":
            return _case([(is_arr, _call("JSON_ARRAY_LENGTH", v))])
        if slot == "l":
            strings = exp.ArrayFilter(this=elems, expression=_lam("e", exp.EQ(
                this=_call("JSON_TYPE", exp.column("e")), expression=_S("VARCHAR"))))
            return _case([(is_arr, exp.Transform(this=strings, expression=_lam(
                "e", _call("JSON_EXTRACT_STRING", exp.column("e"), _S("$")))))])
        if slot in _ELEMENTS:  # the numbers (as doubles) or booleans among the elements
            types, to = _ELEMENTS[slot]
            picked = exp.ArrayFilter(this=elems, expression=_lam("e", exp.In(
                this=_call("JSON_TYPE", exp.column("e")), expressions=[_S(t) for t in types])))
            return _case([(is_arr, exp.Transform(this=picked, expression=_lam(
                "e", exp.cast(exp.column("e"), to))))])
        if slot == "lnest":  # whether an element is a list or an object
            nested = exp.In(this=_call("JSON_TYPE", exp.column("e")),
                            expressions=[_S("ARRAY"), _S("OBJECT")])
            return _case([(is_arr, _call("LIST_BOOL_OR", exp.Transform(
                this=elems, expression=_lam("e", nested))))])
        return None


#: DuckDB's JSON_TYPE names of the numbers and the booleans in a list, and their SQL type
_ELEMENTS = {"lnum": (("BIGINT", "UBIGINT", "HUGEINT", "DOUBLE"), "DOUBLE"),
             "lbool": (("BOOLEAN",), "BOOLEAN")}


#: ``YYYY-MM-DDTHH:MM:SSZ``, digits where the digits go (a GLOB: no regular expression)
_Z_FORM_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z"


def _overflows(v: exp.Expression) -> exp.Expression:
    """Whether a JSON number's text is a fraction or exponent beyond a double's range:
    Python reads it as an infinite float, which fails every ``type``, ``enum`` and
    ``const`` (an integer's text is a Python int of any size, so it never does; a line
    holding one past a double's range never gets here in ``--engine duckdb`` and
    ``spark``: the suspect scan hands it to the python reader, which refuses it). Only
    texts with an exponent or of more than 308 characters can overflow; the cast runs
    on those alone."""
    text = exp.cast(v, "VARCHAR")
    has_exp = exp.Or(this=_call("CONTAINS", text, _S("e")),
                     expression=_call("CONTAINS", text, _S("E")))
    fraction = exp.Or(this=has_exp, expression=_call("CONTAINS", text, _S(".")))
    return exp.And(this=exp.Paren(this=exp.Or(
        this=exp.GT(this=exp.Length(this=text), expression=exp.Literal.number(308)),
        expression=has_exp)), expression=exp.And(this=exp.Paren(this=fraction), expression=_call(
            "ISINF", exp.cast(v, "DOUBLE"))))


def _duck_type(jt: exp.Expression) -> exp.Expression:
    return _case([
        (exp.EQ(this=jt, expression=_S("VARCHAR")), _S("string")),
        (exp.In(this=jt, expressions=[_S("BIGINT"), _S("UBIGINT"), _S("HUGEINT")]),
         _S("integer")),
        (exp.EQ(this=jt, expression=_S("DOUBLE")), _S("number")),
        (exp.EQ(this=jt, expression=_S("BOOLEAN")), _S("boolean")),
        (exp.EQ(this=jt, expression=_S("NULL")), _S("null")),
        (exp.EQ(this=jt, expression=_S("ARRAY")), _S("array")),
        (exp.EQ(this=jt, expression=_S("OBJECT")), _S("object")),
    ])


def _duck_path(path: tuple[str, ...]) -> str:
    return "$" + "".join('."' + k.replace("\\", "\\\\").replace('"', '\\"') + '"' for k in path)


class SparkJson:
    """JSON text in the column ``txt`` of ``src``, parsed to a VARIANT (Spark 4).

    Where Spark interprets this statement (code generation off, or a stage whose
    generated code is too large), expressions share no work: an expression written ten
    times is evaluated ten times a row. So the record is parsed once, its own type
    (``SCHEMA_OF_VARIANT``, a walk of the whole record) taken once, and each value's
    type once, each in its own projection whose column the next one reads (Spark keeps
    a projection apart when its expensive columns are read more than once). Typing a
    value inline in every slot (and the record in every path) cost about 330 walks of
    the record and 2,000 of values a lead on ``rules/``.
    """

    json_text = True

    def __init__(self, d: Dialect, relation: str = "src"):
        self.d = d
        self.relation = relation

    def base(self, paths: Sequence[tuple[str, ...]]) -> exp.Select:
        keep = [exp.column("line"), exp.column("txt")]
        # Spark's parser stops after the first value and ignores what follows it
        # (`{"a": 1} x`, `{"a": 1}{"b": 2}`, `{"a": 1}}`), which the python reader
        # refuses ("Extra data"): the text is parsed as `[text,0]`, and only a parse
        # that ends in that 0 as the second and last item holds the record
        wrapped = exp.select(*keep, _call("TRY_PARSE_JSON", exp.func(
            "CONCAT", _S("["), exp.column("txt"), _S(",0]"))).as_("_w", copy=False)
        ).from_(self.relation, copy=False)
        w = exp.column("_w")
        whole = exp.and_(
            exp.Is(this=_call("TRY_VARIANT_GET", w, _S("$[2]"), _S("variant")),
                   expression=exp.null()),
            exp.EQ(this=_call("TRY_VARIANT_GET", w, _S("$[1]"), _S("int")),
                   expression=exp.Literal.number(0)))
        parsed = exp.select(*keep, _case([(whole, _call("VARIANT_GET", w, _S("$[0]"),
                                                        _S("variant")))])
                            .as_("_doc", copy=False)).from_(wrapped.subquery("rw"),
                                                            copy=False)
        typed = exp.select(*keep, exp.column("_doc"),
                           _call("SCHEMA_OF_VARIANT", exp.column("_doc"))
                           .as_("_doctype", copy=False)).from_(parsed.subquery("r0"),
                                                                copy=False)
        is_obj = exp.Coalesce(this=exp.StartsWith(this=exp.column("_doctype"),
                                                  expression=_S("OBJECT")),
                              expressions=[exp.false()])
        keep.append(exp.column("_doctype"))
        values = exp.select(*keep, *(
            _case([(is_obj.copy(), _call("VARIANT_GET", exp.column("_doc"),
                                         _S(_spark_path(p)), _S("variant")))])
            .as_(f"v{i}", copy=False) for i, p in enumerate(paths)))
        values = values.from_(typed.subquery("r1"), copy=False)
        vs = [exp.column(f"v{i}") for i in range(len(paths))]
        schemas = exp.select(*keep, *vs, *(
            _call("SCHEMA_OF_VARIANT", exp.column(f"v{i}")).as_(f"_sv{i}", copy=False)
            for i in range(len(paths)))).from_(values.subquery("r2"), copy=False)
        return exp.select(*keep, *vs, *(
            _spark_type(exp.column(f"_sv{i}")).as_(f"_ty{i}", copy=False)
            for i in range(len(paths)))).from_(schemas.subquery("r3"), copy=False)

    def doc_kind(self) -> exp.Expression:
        return _spark_type(exp.column("_doctype"))

    def slot(self, path: tuple[str, ...], slot: str, k: int) -> exp.Expression | None:
        v = exp.column(f"v{k}")
        ty = exp.column(f"_ty{k}")
        if slot == "ty":
            return ty
        if slot == "n":
            return _case([(exp.In(this=ty, expressions=[_S("integer"), _S("number")]),
                           _call("VARIANT_GET", v, _S("$"), _S("double")))])
        if slot == "s":
            return _case([(exp.EQ(this=ty, expression=_S("string")),
                           _call("VARIANT_GET", v, _S("$"), _S("string")))])
        if slot == "b":
            return _case([(exp.EQ(this=ty, expression=_S("boolean")),
                           _call("VARIANT_GET", v, _S("$"), _S("boolean")))])
        if slot == "j":
            # A VARIANT keeps no difference between 1.0 and 1 (DECIMAL(1,0), written
            # 1), nor -0.0's sign, and writes an overflowing number as the string
            # "Infinity": a number that is not a BIGINT is given as a double's text
            # (always with "." or "E", or Infinity), which the engines' fallbacks read
            # as a float and send, with the lead's own text, to the python engine.
            return _case([(exp.EQ(this=ty, expression=_S("number")),
                           exp.cast(_call("VARIANT_GET", v, _S("$"), _S("double")),
                                    "STRING"))], _call("TO_JSON", v))
        arr = _call("VARIANT_GET", v, _S("$"), _S("array<variant>"))
        is_arr = exp.EQ(this=ty, expression=_S("array"))
        # an item's type, as the raw name SCHEMA_OF_VARIANT gives (once per item)
        item = _call("SCHEMA_OF_VARIANT", exp.column("e"))
        if slot == "ln":
            return _case([(is_arr, exp.ArraySize(this=arr))])
        if slot == "l":
            strings = exp.ArrayFilter(this=arr, expression=_lam("e", exp.EQ(
                this=item, expression=_S("STRING"))))
            return _case([(is_arr, exp.Transform(this=strings, expression=_lam(
                "e", _call("VARIANT_GET", exp.column("e"), _S("$"), _S("string")))))])
        if slot in ("lnum", "lbool"):  # the numbers (as doubles) or booleans among them
            kinds, to = ({"number", "integer"}, "double") if slot == "lnum" else (
                {"boolean"}, "boolean")
            picked = exp.ArrayFilter(this=arr, expression=_lam("e", _spark_kind_in(item, kinds)))
            return _case([(is_arr, exp.Transform(this=picked, expression=_lam(
                "e", _call("VARIANT_GET", exp.column("e"), _S("$"), _S(to)))))])
        if slot == "lnest":  # whether an element is a list or an object
            nested = _spark_kind_in(item, {"array", "object"})
            return _case([(is_arr, exp.GT(this=exp.ArraySize(this=exp.ArrayFilter(
                this=arr, expression=_lam("e", nested))), expression=exp.Literal.number(0)))])
        return None


#: the raw type names SCHEMA_OF_VARIANT gives for each JSON kind (the exact ones; the
#: prefixed ones are in _SPARK_PREFIXES), as :func:`_spark_type` maps them
_SPARK_NAMES = {"string": ("STRING",), "integer": ("BIGINT", "INT", "SMALLINT", "TINYINT"),
                "number": ("DOUBLE", "FLOAT"), "boolean": ("BOOLEAN",), "null": ("VOID",)}
_SPARK_PREFIXES = {"number": ("DECIMAL",), "array": ("ARRAY",), "object": ("OBJECT",)}


def _spark_kind_in(jt: exp.Expression, kinds: set[str]) -> exp.Expression:
    """Whether the raw type name ``jt`` is one of ``kinds`` (:func:`_spark_type`'s
    names), as one IN and a STARTSWITH per prefix: ``jt`` is read once or twice
    rather than once per branch of :func:`_spark_type`'s CASE."""
    names = sorted(n for k in kinds for n in _SPARK_NAMES.get(k, ()))
    prefixes = sorted(n for k in kinds for n in _SPARK_PREFIXES.get(k, ()))
    tests: list[exp.Expression] = []
    if names:
        tests.append(exp.In(this=jt, expressions=[_S(n) for n in names]))
    tests += [exp.StartsWith(this=jt.copy(), expression=_S(pre)) for pre in prefixes]
    if not tests:
        return exp.false()
    out = tests[0]
    for t in tests[1:]:
        out = exp.Or(this=out, expression=t)
    return out


def _spark_type(jt: exp.Expression) -> exp.Expression:
    def starts(prefix):
        return exp.StartsWith(this=jt, expression=_S(prefix))

    return _case([
        (exp.EQ(this=jt, expression=_S("STRING")), _S("string")),
        (exp.In(this=jt, expressions=[_S("BIGINT"), _S("INT"), _S("SMALLINT"), _S("TINYINT")]),
         _S("integer")),
        (exp.Or(this=exp.In(this=jt, expressions=[_S("DOUBLE"), _S("FLOAT")]),
                expression=starts("DECIMAL")), _S("number")),
        (exp.EQ(this=jt, expression=_S("BOOLEAN")), _S("boolean")),
        (exp.EQ(this=jt, expression=_S("VOID")), _S("null")),
        (starts("ARRAY"), _S("array")),
        (starts("OBJECT"), _S("object")),
    ])


def _spark_path(path: tuple[str, ...]) -> str:
    """A VARIANT_GET path. Spark's path syntax has no escapes (``['name']`` or
    ``["name"]``, the name taken as written): a key holding ``'`` takes double quotes,
    and a backslash is itself. A key holding both quotes cannot be written."""
    parts = []
    for k in path:
        if "'" not in k:
            parts.append(f"['{k}']")
        elif '"' not in k:
            parts.append(f'["{k}"]')
        else:
            raise SqlUnsupported(f"Spark cannot read the field key `{k}`: its JSON paths "
                                 "have no way to write a key with both ' and \"")
    return "$" + "".join(parts)
