"""Lead checks in SQL: timestamps parsed by integer arithmetic, and the schema keywords
the SQL path supports (spec section 10), giving the same problem paths as Python.

:func:`timestamp_parts` and :func:`timestamp_value` are
:func:`policy.engine.timestamps.parse_timestamp` as SQL, in two staging steps: one
regular expression for the shape, then range checks (month, day of month, hour,
minute, second, offset) and days-from-civil arithmetic, so no dialect's own timestamp
parsing or time-zone rules take part.

:func:`schema_checks` walks the schema and returns, in the order the Python engine
sorts problems (by path), one ``(path, condition, message)`` per keyword and field;
a keyword outside :data:`SUPPORTED` (or :data:`ANNOTATIONS`) is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlglot import exp

from policy.model.schema import format_path
from policy.sql.dialects import Dialect
from policy.sql.values import SqlUnsupported, dbl

__all__ = ["ANNOTATIONS", "PARTS", "SUPPORTED", "quick_shapes", "quick_value",
           "schema_checks", "schema_kinds",
           "timestamp_parts",
           "timestamp_shape",
           "timestamp_value"]

SUPPORTED = frozenset({
    "type", "required", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "format", "properties",
})
ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly", "$anchor", "contentEncoding", "contentMediaType",
})

_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_TIME = (r"[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.]([0-9]+))?)?"
         r"(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?")
_PATTERNS = {
    "date-time": "^" + _DATE + _TIME + "$",
    "date": "^" + _DATE + "$",
    "any": "^" + _DATE + "(?:" + _TIME + ")?$",
}
_MIN_US = -62_135_596_800 * 1_000_000
_MAX_US = 253_402_300_799 * 1_000_000 + 999_999


def _n(v: int) -> exp.Expression:
    return exp.Literal.number(v)


def _int(text: exp.Expression) -> exp.Expression:
    """A group of digits as BIGINT; an unmatched group ('' or NULL) as 0."""
    return exp.Case(ifs=[exp.If(this=exp.Coalesce(
        this=exp.GT(this=exp.Length(this=text), expression=_n(0)),
        expressions=[exp.false()]), true=exp.cast(text, "BIGINT"))], default=_n(0))


def _and(parts: list[exp.Expression]) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.And(this=out, expression=p)
    return exp.Paren(this=out)


def _sub(s: exp.Expression, start: int, length: int) -> exp.Expression:
    return exp.Substring(this=s, start=_n(start), length=_n(length))


#: The parts of a timestamp :func:`timestamp_parts` computes, in order.
PARTS = ("ok", "y", "mo", "da", "hh", "mi", "ss", "fr", "sg", "oh", "om")


def timestamp_shape(s: exp.Expression, kind: str, d: Dialect | None = None
                    ) -> exp.Expression:
    """Whether the text ``s`` has the shape of a timestamp of ``kind`` (never NULL):
    the whole text matches, in the dialect's spelling of "the whole text"
    (:meth:`Dialect.whole_match`)."""
    pattern = _PATTERNS[kind]
    matched = (exp.RegexpLike(this=s, expression=exp.Literal.string(pattern)) if d is None
               else d.whole_match(s, pattern))
    return exp.Coalesce(this=matched, expressions=[exp.false()])


def timestamp_parts(s: exp.Expression, kind: str, ok: exp.Expression
                    ) -> list[tuple[str, exp.Expression]]:
    """The pieces of the text ``s`` (a first staging step): whether it has the shape of
    ``kind``, then year, month, day, hour, minute, second, microseconds, offset sign,
    offset hours and minutes, each a BIGINT (0 when absent). Positions are fixed by the
    shape, so only the fraction and the offset need a regular expression."""
    parts = [("ok", ok), ("y", _int(_sub(s, 1, 4))), ("mo", _int(_sub(s, 6, 2))),
             ("da", _int(_sub(s, 9, 2)))]
    if kind == "date":
        parts = [(name, e if name == "ok" else exp.Case(ifs=[exp.If(this=ok, true=e)],
                                                           default=_n(0)))
                 for name, e in parts]
        return parts + [(p, _n(0)) for p in ("hh", "mi", "ss", "fr", "oh", "om")] + [
            ("sg", exp.Literal.string(""))]
    # Once the shape matched, every part sits at a known place or is found by plain
    # string search (no regular expression per part: they were most of the reading
    # cost): after the minutes (position 17 on) a `+` or `-` can only start the offset,
    # a `Z`/`z` only end the text, and the fraction runs from position 21 to the offset.
    lit = exp.Literal.string
    has_sec = exp.EQ(this=_sub(s, 17, 1), expression=lit(":"))
    tail = exp.Substring(this=s, start=_n(17))
    plus = exp.StrPosition(this=tail, substr=lit("+"))
    minus = exp.StrPosition(this=tail, substr=lit("-"))
    at = exp.Paren(this=exp.Add(this=plus, expression=minus))  # in tail; 0: no sign
    ends_z = exp.In(this=exp.Substring(this=s, start=exp.Length(this=s), length=_n(1)),
                    expressions=[lit("Z"), lit("z")])
    off_len = exp.Case(ifs=[
        exp.If(this=exp.GT(this=at, expression=_n(0)), true=exp.Add(
            this=exp.Sub(this=exp.Length(this=tail), expression=at), expression=_n(1))),
        exp.If(this=ends_z, true=_n(1))], default=_n(0))
    frac_len = exp.Sub(this=exp.Sub(this=exp.Length(this=s), expression=_n(20)),
                       expression=exp.Paren(this=off_len))
    frac = exp.Case(ifs=[exp.If(this=exp.EQ(this=_sub(s, 20, 1), expression=lit(".")),
                                true=exp.Substring(this=s, start=_n(21), length=frac_len))],
                    default=lit(""))
    frac6 = exp.Substring(this=exp.Concat(expressions=[frac, lit("000000")]),
                          start=_n(1), length=_n(6))
    sign = exp.Case(ifs=[exp.If(this=exp.GT(this=plus, expression=_n(0)), true=lit("+")),
                         exp.If(this=exp.GT(this=minus, expression=_n(0)), true=lit("-"))],
                    default=lit(""))
    # "0" || digits: a BIGINT without a second copy of the text to test it for ''
    oh = exp.Case(ifs=[exp.If(this=exp.GT(this=at, expression=_n(0)), true=exp.Substring(
        this=tail, start=exp.Add(this=at, expression=_n(1)), length=_n(2)))], default=lit(""))
    om = exp.Case(ifs=[exp.If(this=exp.GT(this=at, expression=_n(0)), true=exp.Replace(
        this=exp.Substring(this=tail, start=exp.Add(this=at, expression=_n(3))),
        expression=lit(":"), replacement=lit("")))], default=lit(""))

    def digits(text: exp.Expression) -> exp.Expression:
        return exp.cast(exp.Concat(expressions=[lit("0"), text]), "BIGINT")

    return [(name, e if name == "ok" else exp.Case(
        ifs=[exp.If(this=ok, true=e)], default=lit("") if name == "sg" else _n(0)))
        for name, e in parts + [
        ("hh", _int(_sub(s, 12, 2))), ("mi", _int(_sub(s, 15, 2))),
        ("ss", exp.Case(ifs=[exp.If(this=exp.Coalesce(this=has_sec, expressions=[
            exp.false()]), true=_int(_sub(s, 18, 2)))], default=_n(0))),
        ("fr", exp.cast(frac6, "BIGINT")), ("sg", sign), ("oh", digits(oh)),
        ("om", digits(om)),
    ]]


def quick_shapes(shape: exp.Expression, fast: tuple | None, name: str
                 ) -> list[exp.Expression]:
    """The shape column ``{name}_shape`` of a timestamp field, and with ``fast`` (a
    source's ``quick_instant``: the test that the text has the common form, its
    instant) the column ``{name}_quick`` of that test: the shape then holds only for
    the other texts, so :func:`timestamp_parts` takes apart only those."""
    if fast is None:
        return [shape.as_(f"{name}_shape", copy=False)]
    other = exp.Case(ifs=[exp.If(this=fast[0].copy(), true=exp.false())], default=shape)
    return [fast[0].as_(f"{name}_quick", copy=False), other.as_(f"{name}_shape", copy=False)]


def quick_value(value: exp.Expression, fast: tuple | None, name: str) -> exp.Expression:
    """A timestamp field's instant: ``fast``'s where its test held (see
    :func:`quick_shapes`), else ``value``, :func:`timestamp_value` of the parts."""
    if fast is None:
        return value
    return exp.Case(ifs=[exp.If(this=exp.column(f"{name}_quick"), true=fast[1])],
                    default=value)


def timestamp_value(col, d: Dialect) -> exp.Expression:
    """The instant (BIGINT µs) from the parts :func:`timestamp_parts` staged (``col(name)``
    gives a part's column), or NULL: the same rules as
    :func:`~policy.engine.timestamps.parse_timestamp`."""
    y, mo, da, hh, mi, ss, fr, sg, oh, om = (col(p) for p in PARTS[1:])

    def mod(a, b):
        return exp.Mod(this=a, expression=_n(b))

    def eq0(a):
        return exp.EQ(this=a, expression=_n(0))

    leap = exp.Paren(this=exp.Or(
        this=exp.And(this=eq0(mod(y, 4)), expression=exp.NEQ(this=mod(y, 100),
                                                               expression=_n(0))),
        expression=eq0(mod(y, 400))))
    dim = exp.Case(ifs=[
        exp.If(this=exp.In(this=mo, expressions=[_n(4), _n(6), _n(9), _n(11)]), true=_n(30)),
        exp.If(this=exp.EQ(this=mo, expression=_n(2)),
               true=exp.Case(ifs=[exp.If(this=leap, true=_n(29))], default=_n(28))),
    ], default=_n(31))
    valid = _and([
        col("ok"), exp.GTE(this=y, expression=_n(1)),
        exp.Between(this=mo, low=_n(1), high=_n(12)),
        exp.GTE(this=da, expression=_n(1)), exp.LTE(this=da, expression=dim),
        exp.LTE(this=hh, expression=_n(23)), exp.LTE(this=mi, expression=_n(59)),
        exp.LTE(this=ss, expression=_n(59)),
        exp.LTE(this=oh, expression=_n(23)), exp.LTE(this=om, expression=_n(59)),
    ])
    # days from civil (H. Hinnant): every division is of a non-negative number.
    yy = exp.Paren(this=exp.Sub(this=y, expression=exp.Case(
        ifs=[exp.If(this=exp.LTE(this=mo, expression=_n(2)), true=_n(1))], default=_n(0))))
    era = d.int_div(yy, 400)
    yoe = exp.Paren(this=exp.Sub(this=yy, expression=exp.Mul(this=era, expression=_n(400))))
    mp = exp.Paren(this=exp.Add(this=mo, expression=exp.Case(
        ifs=[exp.If(this=exp.GT(this=mo, expression=_n(2)), true=_n(-3))], default=_n(9))))
    doy = exp.Add(this=d.int_div(exp.Paren(this=exp.Add(
        this=exp.Mul(this=_n(153), expression=mp), expression=_n(2))), 5),
        expression=exp.Sub(this=da, expression=_n(1)))
    doe = exp.Add(this=exp.Sub(this=exp.Add(
        this=exp.Mul(this=yoe, expression=_n(365)), expression=d.int_div(yoe, 4)),
        expression=d.int_div(yoe, 100)), expression=exp.Paren(this=doy))
    days = exp.Sub(this=exp.Add(this=exp.Mul(this=era, expression=_n(146097)),
                                expression=exp.Paren(this=doe)), expression=_n(719468))
    secs = exp.Add(this=exp.Add(this=exp.Add(
        this=exp.Mul(this=exp.Paren(this=days), expression=_n(86400)),
        expression=exp.Mul(this=hh, expression=_n(3600))),
        expression=exp.Mul(this=mi, expression=_n(60))), expression=ss)
    offset = exp.Add(this=exp.Mul(this=oh, expression=_n(3600)),
                     expression=exp.Mul(this=om, expression=_n(60)))
    signed = exp.Case(ifs=[exp.If(this=exp.EQ(this=sg, expression=exp.Literal.string("-")),
                                  true=exp.Neg(this=exp.Paren(this=offset)))], default=offset)
    secs = exp.Sub(this=secs, expression=exp.Paren(this=signed))
    us = exp.Add(this=exp.Mul(this=exp.Paren(this=secs), expression=_n(1_000_000)),
                 expression=fr)
    in_range = exp.Between(this=exp.Paren(this=us), low=_n(_MIN_US), high=_n(_MAX_US))
    return exp.Case(ifs=[exp.If(this=valid, true=exp.Case(ifs=[exp.If(this=in_range, true=us)]))])


# --------------------------------------------------------------------------- schema

#: The value of a schema path, as the staging step gives it.
Access = Callable[[tuple[str, ...], str], exp.Expression]


def _walk(node: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict]]:
    if node is True or node == {}:
        return
    if not isinstance(node, dict):
        raise SqlUnsupported(f"the schema at `{format_path(path) or '(the lead)'}` is not an "
                             "object; the SQL path checks object schemas only")
    for key in node:
        if key not in SUPPORTED and key not in ANNOTATIONS:
            raise SqlUnsupported(
                f"the schema keyword `{key}` (at `{format_path(path) or '(the lead)'}`) is "
                "not checked by the SQL path; it checks type, required, enum, const, "
                "minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, "
                "maxLength and the date-time and date formats")
    yield path, node
    props = node.get("properties") or {}
    for key, sub in props.items():
        yield from _walk(sub, (*path, key))


def schema_paths(document: dict) -> list[tuple[str, ...]]:
    """Every path the schema describes (the lead itself is ``()``)."""
    return [p for p, _ in _walk(document, ())]


def schema_kinds(document: dict) -> dict[tuple[str, ...], frozenset[str]]:
    """The JSON types (``string``, ``number``, ``integer``, ``boolean``, ``array``,
    ``object``; never ``null``) a value may have at each path whose schema says so by
    ``type``, ``enum`` or ``const``, plus the types its other keywords test (a
    ``minimum`` reads the value as a number even when ``type`` refuses it, and adds its
    own problem). A value of any other type is refused, and a refused lead's decision
    columns are never read, so a JSON source may leave out the slots of the other types:
    typing every value only as it can be is most of the JSON engines' reading cost."""
    out: dict[tuple[str, ...], frozenset[str]] = {}
    for path, node in _walk(document, ()):
        types = _types(node)
        values = node["enum"] if "enum" in node else [node["const"]] if "const" in node else None
        if types is None and not isinstance(values, list):
            continue  # any type is accepted
        kinds = set(types or ())
        if isinstance(values, list):
            kinds |= {_value_kind(v) for v in values if v is not None}
        for keyword, kind in _KEYWORD_KINDS.items():
            if keyword in node:
                kinds.add(kind)
        out[path] = frozenset(kinds - {"null"})
    return out


#: The type of value each keyword tests (its check reads the value as that type).
_KEYWORD_KINDS = {"minimum": "number", "maximum": "number", "exclusiveMinimum": "number",
                  "exclusiveMaximum": "number", "minLength": "string",
                  "maxLength": "string", "format": "string"}


def _value_kind(v: object) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def _types(node: dict) -> list[str] | None:
    t = node.get("type")
    if t is None:
        return None
    return [t] if isinstance(t, str) else list(t)


#: What a typed source knows of the value at a path: ``(kind, value, absent)``, the
#: JSON type of every value that is not null (``string``, ``integer``, ``number``,
#: ``boolean``, ``array``, ``object``), the typed value (NULL when null or absent), and
#: the condition under which the field is absent (None: never); None when not known.
Known = Callable[[tuple[str, ...]], "tuple[str, exp.Expression, exp.Expression | None] | None"]


def schema_checks(document: dict, ty: Access, val: Access, d: Dialect,
                  known: Known | None = None) -> list[tuple[str, exp.Expression, str]]:
    """``(path, failed, message)`` per check, sorted by path as Python sorts problems.

    ``ty(path, "ty")`` is the JSON type name of the value at ``path`` (``null``,
    ``boolean``, ``integer``, ``number``, ``string``, ``array``, ``object``; NULL when
    absent); ``val(path, kind)`` its value as ``n``, ``s``, ``b`` or ``ln``. ``known``
    (a typed source, e.g. Parquet columns): the type a path's values can only have, so
    a check that cannot fail is left out and the others test the typed value instead
    of the type name (most of a Parquet file's checks cannot fail: a VARCHAR column
    holds strings and nulls, nothing else).
    """
    out: list[tuple[str, exp.Expression, str]] = []
    for path, node in _walk(document, ()):
        t = _Type(path, ty, known)
        for name in node.get("required") or ():
            if not isinstance(name, str):
                continue
            sub = (*path, name)
            missing = _Type(sub, ty, known).absent()
            cond = missing if not path else _and2(t.is_("object"), missing)
            if cond is not False:
                out.append((format_path(sub), _sql(cond), "required field is missing"))
        if not path:
            continue  # the lead itself: an object, checked before the schema runs
        out += [(format_path(path), _sql(c), m)
                for c, m in _value_checks(node, path, t, val, d) if c is not False]
    out.sort(key=lambda x: x[0])
    return out


def _and2(a, b):
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    # sqlglot prints the tree as built: an OR under an AND needs its parentheses
    a, b = (exp.Paren(this=x) if isinstance(x, exp.Or) else x for x in (a, b))
    return exp.And(this=a, expression=b)


def _or2(a, b):
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    return exp.Or(this=a, expression=b)


def _not(a, paren: bool = True):
    if isinstance(a, bool):
        return not a
    return exp.Not(this=exp.Paren(this=a) if paren else a)


def _sql(c) -> exp.Expression:
    return c if isinstance(c, exp.Expression) else exp.Boolean(this=c)


class _Type:
    """Tests of the JSON type of the value at a path: on the type name the staging
    step gives (``ty``), or, when the source knows the type, on the typed value, with
    the tests that cannot hold answered before any row is read (a Python bool)."""

    def __init__(self, path, ty: Access, known: Known | None):
        self.path, self._ty = path, ty
        self.known = known(path) if known is not None else None
        if self.known is None:
            ty(path, "ty")  # registers the staging column now, in the order of the walk

    @property
    def t(self) -> exp.Expression:
        return self._ty(self.path, "ty")

    def absent(self):
        if self.known is None:
            return exp.Is(this=self.t, expression=exp.null())
        absent = self.known[2]
        return False if absent is None else absent

    def present(self):
        if self.known is None:
            return exp.Not(this=exp.Is(this=self.t, expression=exp.null()))
        return _not(self.absent())

    def is_(self, name: str):
        """The value is a ``name`` (``null`` included); ``number`` is also an integer."""
        if self.known is None:
            if name == "number":
                return exp.In(this=self.t, expressions=[exp.Literal.string("integer"),
                                                        exp.Literal.string("number")])
            return exp.EQ(this=self.t, expression=exp.Literal.string(name))
        kind, value, absent = self.known
        if name == "null":
            null = exp.Is(this=value, expression=exp.null())
            return null if absent is None else _and2(null, _not(absent))
        if name == kind or (name == "number" and kind == "integer"):
            return exp.Not(this=exp.Is(this=value, expression=exp.null()))
        return False

    def type_fails(self, types: list[str], n: exp.Expression):
        """A present value is of none of the JSON Schema ``types`` (an integer: also
        a number whose value is whole)."""
        if self.known is None:
            number = exp.EQ(this=self.t, expression=exp.Literal.string("number"))
            ok = [exp.Or(this=self.is_("integer"), expression=exp.And(
                this=number, expression=exp.EQ(this=n, expression=exp.Floor(
                    this=n)))) if name == "integer" else self.is_(name) for name in types]
            any_ok = ok[0]
            for o in ok[1:]:
                any_ok = exp.Or(this=any_ok, expression=o)
            return exp.And(this=self.present(),
                           expression=exp.Not(this=exp.Paren(this=any_ok)))
        kind, value = self.known[0], self.known[1]
        not_null = exp.Not(this=exp.Is(this=value, expression=exp.null()))
        if any(name == kind or (name == "number" and kind == "integer") for name in types):
            bad_value = False
        elif kind == "number" and "integer" in types:
            bad_value = _and2(not_null, exp.NEQ(this=n, expression=exp.Floor(this=n)))
        else:
            bad_value = not_null
        return _or2(bad_value, False if "null" in types else self.is_("null"))


def _value_checks(node: dict, path, t: _Type, val: Access, d: Dialect):
    present = t.present()
    num = val(path, "n")
    text = val(path, "s")
    is_num = t.is_("number")
    is_str = t.is_("string")
    types = _types(node)
    if types is not None:
        yield (t.type_fails(types, num), "expected " + " or ".join(types))
    for key, word in (("enum", "not one of the allowed values"),
                      ("const", "not the allowed value")):
        if key not in node:
            continue
        values = node[key] if key == "enum" else [node[key]]
        if not isinstance(values, list):
            raise SqlUnsupported(f"`{key}` at `{format_path(path)}` must be a list")
        hits = []
        for v in values:
            if v is None:
                hits.append(t.is_("null"))
            elif isinstance(v, bool):
                hits.append(_and2(t.is_("boolean"), exp.EQ(this=val(path, "b"),
                                                            expression=exp.Boolean(this=v))))
            elif isinstance(v, (int, float)):
                hits.append(_and2(is_num, exp.EQ(this=num, expression=dbl(v))))
            elif isinstance(v, str):
                hits.append(_and2(is_str, exp.EQ(this=text, expression=exp.Literal.string(v))))
            else:
                raise SqlUnsupported(f"`{key}` at `{format_path(path)}` lists an object or "
                                     "array; the SQL path compares only plain values")
        if t.known is not None and is_str is not False:
            # a typed text column: one IN list for the strings, not a test per value
            strings = [exp.Literal.string(v) for v in values if isinstance(v, str)]
            others = [h for v, h in zip(values, hits, strict=True) if not isinstance(v, str)]
            hits = others + ([exp.Coalesce(this=exp.In(this=text, expressions=strings),
                                           expressions=[exp.false()])] if strings else [])
        anyhit = False
        for h in hits:
            anyhit = _or2(anyhit, h)
        if not isinstance(anyhit, bool):
            anyhit = exp.Coalesce(this=exp.Paren(this=anyhit), expressions=[exp.false()])
        yield (_and2(present, _not(anyhit, paren=False)), word)
    bounds = (("minimum", exp.LT, "below the minimum"), ("maximum", exp.GT, "above the maximum"),
              ("exclusiveMinimum", exp.LTE, "not above the exclusive minimum"),
              ("exclusiveMaximum", exp.GTE, "not below the exclusive maximum"))
    for key, cls, word in bounds:
        if key in node:
            if not isinstance(node[key], (int, float)) or isinstance(node[key], bool):
                raise SqlUnsupported(f"`{key}` at `{format_path(path)}` is not a number")
            yield (_and2(is_num, cls(this=num, expression=dbl(node[key]))),
                   f"{word} {node[key]}")
    for key, cls in (("minLength", exp.LT), ("maxLength", exp.GT)):
        if key in node:
            yield (_and2(is_str, cls(this=exp.Length(this=text),
                                     expression=_n(int(node[key])))),
                   f"{key} {node[key]}")
    fmt = node.get("format")
    if fmt in ("date-time", "date"):
        parsed = val(path, "t:" + fmt) if is_str is not False else None
        yield (_and2(is_str, exp.Is(this=parsed, expression=exp.null())) if parsed is not None
               else False, f"not a valid {fmt}")
