"""The lead schema compiled to Python checks, for the engine's ``decide`` prologue.

jsonschema-rs costs about as much per lead as the rules: most of it is turning the
Python dict into Rust values. A schema made of the everyday keywords is cheaper checked
by straight-line Python in front of the rules, which then read the values the checks
have already read. These checks are **sound, not complete**: when they pass, the
compiled validator (:meth:`policy.engine.validate.LeadValidator.lead_check`) would pass
too; when they do not, or meet a value outside their shortcuts (an integral float for
``integer``, a tuple for ``array``, a non-ASCII string under ``maxLength``, an integer
beyond 2**53 next to a bound, a key that is not a string), ``decide`` returns None and
the lead takes the reference path, which validates it in full and lists its problems.

Covered keywords: ``type``, ``enum``, ``const``, ``required``, ``properties``,
``additionalProperties: false``, ``minimum``, ``maximum``, ``exclusiveMinimum``,
``exclusiveMaximum``, ``minLength``, ``maxLength``, ``pattern`` (one jsonschema-rs
check of that string alone, so the regular expression dialect is the validator's; an
ASCII string only),
``items`` (one schema), ``minItems``, ``maxItems``, and annotations. ``format`` is
covered where the validator itself ignores it: when the engine parses every timestamp
field itself (``LeadValidator.formats_on_fields``) or the schema has no ``date`` or
``date-time``. Any other keyword anywhere makes :func:`schema_checks` return None, and
``decide`` calls the compiled validator instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from policy.engine.linewriter import LineWriter

__all__ = ["SchemaChecks", "schema_checks"]

_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "default", "examples",
    "deprecated", "readOnly", "writeOnly", "format",
})
_COVERED = _ANNOTATIONS | {
    "type", "enum", "const", "required", "properties", "additionalProperties", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
    "items", "minItems", "maxItems",
}
_TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")
#: Integers within this bound compare with any bound exactly as floats would.
_EXACT = 2**53


class _Unsupported(Exception):
    """A keyword or value these checks do not cover."""


def schema_checks(document: Any, *, formats_ignored: bool) -> SchemaChecks | None:
    """The checks for a schema ``document``, or None when it uses anything they do not
    cover. ``formats_ignored``: the compiled validator ignores ``format`` (see the
    module docstring)."""
    try:
        _walk(document, formats_ignored, root=True)
    except _Unsupported:
        return None
    return SchemaChecks(document)


def _walk(schema: Any, formats_ignored: bool, *, root: bool = False) -> None:
    """Refuse (raise :class:`_Unsupported`) anything the writer below does not cover."""
    if schema is True:
        return
    if not isinstance(schema, Mapping):
        raise _Unsupported
    unknown = set(schema) - _COVERED
    if unknown or (not root and ("$schema" in schema or "$id" in schema)):
        raise _Unsupported
    if "format" in schema and not formats_ignored and schema["format"] in ("date", "date-time"):
        raise _Unsupported
    types = _types(schema)
    if root and "object" not in types:
        raise _Unsupported
    if schema.get("additionalProperties", False) is not False:
        raise _Unsupported
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in schema and not (_finite(schema[key]) and abs(schema[key]) <= _EXACT):
            raise _Unsupported
    for key in ("minLength", "maxLength", "minItems", "maxItems"):
        if key in schema and (type(schema[key]) is not int or schema[key] < 0):
            raise _Unsupported
    if "pattern" in schema and not isinstance(schema["pattern"], str):
        raise _Unsupported
    if "enum" in schema or "const" in schema:
        # a list of values and nothing else to check beside it (written as one test)
        if ("enum" in schema and not isinstance(schema["enum"], list)) \
                or ("enum" in schema and "const" in schema) \
                or set(schema) & (_COVERED - _ANNOTATIONS - {"type", "enum", "const"}):
            raise _Unsupported
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, Mapping) or not isinstance(required, list) \
            or not all(isinstance(k, str) for k in (*properties, *required)):
        raise _Unsupported
    if schema.get("additionalProperties", True) is False and not set(required) <= set(properties):
        raise _Unsupported  # a required key no property allows: nothing is valid
    for sub in properties.values():
        _walk(sub, formats_ignored)
    if "items" in schema:
        _walk(schema["items"], formats_ignored)


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _types(schema: Mapping) -> tuple[str, ...]:
    """The types a schema allows, by its ``type`` keyword (all of them without one)."""
    declared = schema.get("type", list(_TYPES))
    declared = [declared] if isinstance(declared, str) else declared
    if not isinstance(declared, list) or not all(t in _TYPES for t in declared):
        raise _Unsupported
    return tuple(t for t in _TYPES if t in declared)


class SchemaChecks:
    """The compiled checks of one schema; :meth:`write` puts them in ``decide``."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def field_types(self) -> dict[tuple[str, ...], frozenset[type]]:
        """The Python types each object field (by path from the lead) may hold once the
        checks have passed, ``type(None)`` for a missing one: what a second, typed
        compilation of the rules may rely on in ``decide``. A field whose value the
        checks do not pin down (no ``type``, an object or array value, a field below an
        array) is left out: the rules test it as they do any value."""
        found: dict[tuple[str, ...], frozenset[type]] = {}
        _field_types(self.document, (), found)
        return found

    def write(self, w: LineWriter, ex: Any) -> tuple[set[tuple], dict[str, str]]:
        """Write the checks of the lead (the local ``lead``, known to be a dict).

        Each value is read once, into the local the rules read it from when they do
        (``ex``'s raw field items). Returns those items' keys, which are then set on every
        path that reaches the rules, and the local of every top-level field (its value,
        None when absent), by name.
        """
        writer = _Writer(w, ex)
        # a required key is read by subscript (cheaper than ``get``); one that is absent
        # raises KeyError, the one exception the checks can meet
        with w.block("try:"):
            writer.object("lead", self.document, ())
        with w.block("except KeyError:"):
            w.line("return None")
        return writer.done, writer.top_level()


class _Writer:
    def __init__(self, w: LineWriter, ex: Any, names: dict | None = None) -> None:
        self.w = w
        self.ex = ex
        self.done: set[tuple] = set()
        #: the local of each field path, the same in every branch that reads it
        self.names: dict[tuple[str, ...], str] = {} if names is None else names

    def top_level(self) -> dict[str, str]:
        return {path[0]: name for path, name in self.names.items() if len(path) == 1}

    def local(self, path: tuple[str, ...] | None) -> str:
        """The rules' local for the field at ``path``, or a fresh one (always for
        ``path`` None: inside an array item)."""
        if path is None:
            return self.ex.new_name("v")
        key = ("raw", path)
        name = self.ex._locals.get(key)
        if name is not None and key in self.ex._items:
            self.done.add(key)
        elif path in self.names:
            return self.names[path]
        else:
            name = self.ex.new_name("v")
        self.names[path] = name
        return name

    def shared_under(self, path: tuple[str, ...] | None, schema: Any) -> list[str]:
        """Every rules' local below ``path`` that :meth:`object` would set."""
        found: list[str] = []
        if path is None:
            return found
        for name, sub in (schema.get("properties", {}) if isinstance(schema, Mapping)
                          else {}).items():
            key = ("raw", (*path, name))
            if key in self.ex._items:
                found.append(self.ex._locals[key])
            found.extend(self.shared_under((*path, name), sub))
        return found

    # ------------------------------------------------------------------ objects
    def object(self, obj: str, schema: Mapping, path: tuple[str, ...] | None) -> None:
        """Checks of the dict ``obj`` against an object schema's own keywords (``path``
        None: an object inside an array, whose values the rules never read)."""
        w = self.w
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        for name in required - set(properties):
            with w.block(f"if {name!r} not in {obj}:"):
                w.line("return None")
        # Every key must be a string (the validator refuses the object otherwise): the
        # declared keys present are counted, and only an object with other keys too
        # has its keys looked at one by one.
        static = len(required)  # present on every path past their checks
        optional = [(name, sub) for name, sub in properties.items() if name not in required]
        for name, sub in properties.items():
            if name in required:
                self.property(obj, name, sub, None if path is None else (*path, name),
                              True, None)
        if not optional:
            self.keys(obj, schema, str(static))
            return
        if any(_optional_below(sub) for _, sub in optional):
            self.optional(obj, schema, path, optional, static)
            return
        # Every optional key present is the common case: as many keys as declared ones,
        # each read by subscript as a required one is (no `get`, no count, no look at the
        # keys: they are the declared strings). An absent key with an undeclared one in
        # its place raises KeyError: the reference path. Only where no optional value
        # holds an object with optional keys of its own, whose checks would be written
        # twice again.
        with w.block(f"if len({obj}) == {static + len(optional)}:"):
            for name, sub in optional:
                self.property(obj, name, sub, None if path is None else (*path, name),
                              True, None)
        with w.block("else:"):
            self.optional(obj, schema, path, optional, static)

    def optional(self, obj: str, schema: Mapping, path: tuple[str, ...] | None,
                 optional: list[tuple[str, Any]], static: int) -> None:
        """The optional properties read by ``get`` and counted, then the keys."""
        counter = self.ex.new_name("n")
        self.w.line(f"{counter} = {static}")
        for name, sub in optional:
            self.property(obj, name, sub, None if path is None else (*path, name),
                          False, counter)
        self.keys(obj, schema, counter)

    def keys(self, obj: str, schema: Mapping, count: str) -> None:
        """The count of keys present against ``count``, the declared ones present."""
        w = self.w
        if schema.get("additionalProperties", True) is False:
            # every key present is counted exactly when every key is a declared one
            with w.block(f"if len({obj}) != {count}:"):
                w.line("return None")
        else:
            key = self.ex.new_name("k")
            with w.block(f"if len({obj}) != {count}:"):
                with w.block(f"for {key} in {obj}:"):
                    with w.block(f"if type({key}) is not str:"):
                        w.line("return None")

    def property(self, obj: str, name: str, schema: Any, path: tuple[str, ...] | None,
                 required: bool, counter: str | None) -> None:
        w = self.w
        v = self.local(path)
        if required:
            w.line(f"{v} = {obj}[{name!r}]")  # KeyError when absent: see write
        else:
            w.line(f"{v} = {obj}.get({name!r})")
        if schema is True:
            if not required:
                with w.block(f"if {v} is not None or {name!r} in {obj}:"):
                    w.line(f"{counter} += 1")
            return
        if required and not _allows_null(schema):
            self.value(v, schema, path)  # None fails every test of the value
            return
        below = self.shared_under(path, schema)
        if required and not below:  # present (the subscript found it): null, or checked
            with w.block(f"if {v} is not None:"):
                self.value(v, schema, path)
            return
        with w.block(f"if {v} is None:"):
            if required:
                pass  # present (the subscript found it) and null
            elif not _allows_null(schema):
                with w.block(f"if {name!r} in {obj}:"):
                    w.line("return None")
            else:
                with w.block(f"if {name!r} in {obj}:"):
                    w.line(f"{counter} += 1")
            for local in below:
                w.line(f"{local} = None")
        with w.block("else:"):
            if not required:
                w.line(f"{counter} += 1")
            self.value(v, schema, path)

    # ------------------------------------------------------------------ values
    def value(self, v: str, schema: Mapping, path: tuple[str, ...] | None) -> None:
        """Checks of a value (``path``: a field the rules may read, None for an array
        item); None fails them all."""
        w = self.w
        types = [t for t in _types(schema) if t != "null"]
        if "integer" in types and "number" in types:
            types.remove("integer")
        members = _members(schema)
        if members is not None:
            self.members(v, members, types)
            return
        if not types:  # `"type": "null"`: null is let through before this, any value fails
            w.line("return None")
            return
        if types == ["boolean"]:  # two identity tests: cheaper than the type's
            with w.block(f"if {v} is not True and {v} is not False:"):
                w.line("return None")
            return
        if len(types) == 1:
            (t,) = types
            tests = [self.type_test(v, t, schema)]
            if t in ("integer", "number"):  # one test: the type, then the bounds
                tests += _bound_tests(v, schema)
            with w.block(f"if not ({' and '.join(tests)}):"):
                w.line("return None")
            if t not in ("integer", "number"):
                self.keywords(v, t, schema, path)
            return
        for i, t in enumerate(types):
            with w.block(f"{'if' if i == 0 else 'elif'} {self.type_test(v, t, schema)}:"):
                self.keywords(v, t, schema, path)
                if t != "object" and "object" in types:
                    # not an object: what the rules read below it is missing
                    for local in self.shared_under(path, schema):
                        w.line(f"{local} = None")
        with w.block("else:"):
            w.line("return None")

    def type_test(self, v: str, t: str, schema: Mapping) -> str:
        if t == "number":
            # finite: an int is always between the infinities, a NaN never; a bound the
            # schema tests (finite, see _walk) already keeps that side's infinity and NaN out
            inf = self.ex.const(math.inf, "INF")
            low = "minimum" in schema or "exclusiveMinimum" in schema
            high = "maximum" in schema or "exclusiveMaximum" in schema
            finite = (f"-{inf} < {v} < {inf}" if not (low or high)
                      else f"{v} < {inf}" if low and not high
                      else f"-{inf} < {v}" if high and not low else None)
            test = f"(type({v}) is float or type({v}) is int)"
            return test if finite is None else f"{test} and {finite}"
        return f"type({v}) is {_PY_TYPE[t]}"

    def keywords(self, v: str, t: str, schema: Mapping, path: tuple[str, ...] | None) -> None:
        w = self.w
        if t in ("integer", "number"):
            # bounds within ±2**53 (the walk refuses others): an integer beyond them is on
            # the same side of every bound however the validator rounds it
            tests = _bound_tests(v, schema)
            if tests:
                with w.block(f"if not ({' and '.join(tests)}):"):
                    w.line("return None")
        elif t == "string":
            test = _length_test(v, schema)
            if test is not None:
                with w.block(f"if not ({test}):"):
                    w.line("return None")
            if "pattern" in schema:
                # the validator raises for a string with surrogates: ASCII ones only
                check = self.ex.const(_pattern_check(schema["pattern"]), "PATTERN")
                with w.block(f"if not ({v}.isascii() and {check}({v})):"):
                    w.line("return None")
        elif t == "array":
            low, high = schema.get("minItems"), schema.get("maxItems")
            if low is not None:
                with w.block(f"if len({v}) < {low!r}:"):
                    w.line("return None")
            if high is not None:
                with w.block(f"if len({v}) > {high!r}:"):
                    w.line("return None")
            items = schema.get("items", True)
            if items is not True:
                item = self.ex.new_name("x")
                with w.block(f"for {item} in {v}:"):
                    if _allows_null(items):
                        with w.block(f"if {item} is not None:"):
                            self.value(item, items, None)
                    else:
                        self.value(item, items, None)
        elif t == "object":
            self.object(v, schema, path)

    def members(self, v: str, members: list[Any], types: list[str]) -> None:
        """``enum``/``const``: the value is one of the scalar members, of the same JSON
        type (``true`` is not ``1``); an object or array member is never matched here."""
        w = self.w
        strings = frozenset(m for m in members if type(m) is str)
        numbers = frozenset(m for m in members if type(m) in (int, float))
        booleans = [m for m in members if type(m) is bool]
        tests = []
        if strings and "string" in types:
            tests.append(f"(type({v}) is str and {v} in {self.ex.const(strings, 'ENUM')})")
        if numbers and ("number" in types or "integer" in types):
            kind = f"type({v}) in NUMBER_TYPES" if "number" in types else f"type({v}) is int"
            tests.append(f"({kind} and {v} in {self.ex.const(numbers, 'ENUM')})")
        if "boolean" in types:
            tests += [f"{v} is {m!r}" for m in booleans]
        with w.block(f"if not ({' or '.join(tests) or 'False'}):"):
            w.line("return None")


_NONE = type(None)
#: The Python types a JSON type's compiled test lets through (`integer`: ``int`` only,
#: an integral float goes the reference way; `number`: finite ``int`` and ``float``).
_PY_TYPES = {"null": (_NONE,), "boolean": (bool,), "object": (dict,), "array": (list,),
             "integer": (int,), "number": (int, float), "string": (str,)}


def _field_types(schema: Mapping, path: tuple[str, ...],
                 found: dict[tuple[str, ...], frozenset[type]]) -> None:
    """The types of the properties of the object ``schema`` (see
    :meth:`SchemaChecks.field_types`), as :class:`_Writer` checks them."""
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        if sub is True:
            continue
        held = set(_value_types(sub))
        if name not in required:
            held.add(_NONE)  # absent: the local holds None
        sub_path = (*path, name)
        found[sub_path] = frozenset(held)
        if dict in held and _members(sub) is None:
            # below an object that may be missing or another value, a field may be missing
            below: dict[tuple[str, ...], frozenset[type]] = {}
            _field_types(sub, sub_path, below)
            for key, types in below.items():
                found[key] = types if held == {dict} else types | {_NONE}


def _value_types(schema: Mapping) -> tuple[type, ...]:
    """The Python types a value passing :meth:`_Writer.value` (or null) may have."""
    types = _types(schema)
    members = _members(schema)
    if members is None:
        return tuple(t for name in types for t in _PY_TYPES[name])
    held: list[type] = []  # as _Writer.members tests them
    if "string" in types and any(type(m) is str for m in members):
        held.append(str)
    if any(type(m) in (int, float) for m in members):
        if "number" in types:
            held += [int, float]
        elif "integer" in types:
            held.append(int)
    if "boolean" in types and any(type(m) is bool for m in members):
        held.append(bool)
    if _allows_null(schema):
        held.append(_NONE)
    return tuple(held)


def _bound_tests(v: str, schema: Mapping) -> list[str]:
    return [f"{v} {op} {schema[key]!r}" for key, op in _BOUNDS if key in schema]


_BOUNDS = (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
           ("exclusiveMaximum", "<"))
_PY_TYPE = {"boolean": "bool", "object": "dict", "array": "list", "integer": "int",
            "string": "str"}


def _optional_below(schema: Any) -> bool:
    """Whether a value of ``schema`` may be an object with optional properties (at any
    depth, items of arrays too)."""
    if not isinstance(schema, Mapping):
        return False
    properties = schema.get("properties", {})
    if set(properties) - set(schema.get("required", [])):
        return True
    return any(_optional_below(sub) for sub in properties.values()) \
        or _optional_below(schema.get("items"))


def _allows_null(schema: Any) -> bool:
    if schema is True:
        return True
    members = _members(schema)
    return "null" in _types(schema) and (members is None or None in members)


def _members(schema: Mapping) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    return list(schema["enum"]) if "enum" in schema else None


#: Each pattern's check, made once per process; and each check's pattern by ``id`` (the
#: first table keeps every check alive, so no ``id`` is reused): the engine cache
#: (:mod:`policy.engine.engine_cache`) stores a check as its pattern, since the
#: validator itself cannot be pickled.
_PATTERN_CHECKS: dict[str, Any] = {}
_PATTERN_OF: dict[int, str] = {}


def _pattern_check(pattern: str) -> Any:
    """The compiled validator's own check of one string against ``pattern``."""
    check = _PATTERN_CHECKS.get(pattern)
    if check is None:
        try:
            made = jsonschema_rs.Draft202012Validator({"pattern": pattern}).is_valid
        except Exception:  # noqa: BLE001 - a pattern it refuses: never vouch for the string
            return _never
        check = _PATTERN_CHECKS.setdefault(pattern, made)  # one check, whoever raced
        _PATTERN_OF[id(check)] = pattern
    return check


def pattern_of(check: Any) -> str | None:
    """The pattern :func:`_pattern_check` made ``check`` for, or None for any other object."""
    pattern = _PATTERN_OF.get(id(check))
    return pattern if pattern is not None and _PATTERN_CHECKS.get(pattern) is check else None


def _never(value: Any) -> bool:
    return False


def _length_test(v: str, schema: Mapping[str, Any]) -> str | None:
    """The test of ``minLength``/``maxLength`` on the string ``v``, or None. len counts
    code points, the validator characters of the UTF-8 text, and it raises for a string
    with surrogates (never ASCII ones): the fast test holds for ASCII text only."""
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is None and high is None:
        return None
    test = f"{v}.isascii()"
    if low is not None:
        test += f" and len({v}) >= {low!r}"
    if high is not None:
        test += f" and len({v}) <= {high!r}"
    return test
