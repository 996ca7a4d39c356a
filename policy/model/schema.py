"""Lead schemas: which fields a lead has, and what each holds.

A policy's ``schema "lead.schema.json"`` names a JSON Schema, draft 2020-12
(LANGUAGE.md §1). This module reads it once, refuses it with one clear line when it
cannot be used (``SchemaError``), and describes its fields for the checker (names and
types, "did you mean"), the CSV reader (how to type a cell) and the engine (which
fields are timestamps). Validating a lead against it is ``policy.engine.validate``.

The description is best-effort, for guidance; validation always uses the schema itself:

- fields are found through ``properties``, nested objects (also ``"type": ["object",
  "null"]``), local ``$ref`` (``#/$defs/...``, ``#/definitions/...`` or an ``$anchor``;
  each reference is expanded once per path, so recursive schemas end), ``allOf`` (all
  must hold: types intersect, properties merge) and ``anyOf``/``oneOf`` (one holds:
  types unite, so pydantic's ``anyOf: [{...}, {"type": "null"}]`` reads as nullable);
- a field's types come from ``type``, ``enum`` and ``const`` (``enum: ["vp", null]``
  gives ``{"string", "null"}``); no types means unknown, any value;
- only local references are allowed: a remote ``$ref`` is refused at load, because
  evaluation does no I/O (LANGUAGE.md §8).

Nothing runs before it; ``policy.engine.validate``, ``policy.io.leads`` and the checker use it.
"""

from __future__ import annotations

import json
import pathlib
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

import attrs

from policy.io.files import read_bounded
from policy.model.frozen import freeze
from policy.syntax.nodes import plain_key

__all__ = [
    "FieldInfo",
    "LeadSchema",
    "SchemaError",
    "format_path",
    "json_type_name",
    "load_schema",
    "parse_schema",
]

JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "null", "object", "array"})
"""The type names a `FieldInfo` can hold (JSON Schema's, with ``integer`` apart)."""

TIMESTAMP_FORMATS = frozenset({"date-time", "date"})
"""The schema formats that make a field a timestamp (LANGUAGE.md §3)."""

_DIALECT = "json-schema.org/draft/2020-12/schema"
_MAX_DEPTH = 32  # deeper paths are not described; validation still checks them
_MAX_SUBSCHEMAS = 100_000


class SchemaError(Exception):
    """A lead schema that cannot be used; ``message`` is one line a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen
class FieldInfo:
    """What the schema says about one field of a lead.

    ``path`` is the field's keys from the top of the lead (``("company",
    "employees")``); ``types`` the JSON types it may hold (empty: unknown, any);
    ``enum`` the allowed values when the schema lists them (``const`` gives one);
    ``format`` the schema's ``format`` (``"date-time"``, ``"date"``, ``"email"``, …);
    ``items_types`` the types of an array's items (empty: unknown); ``required``
    whether the object that holds the field requires it.
    """

    path: tuple[str, ...]
    types: frozenset[str] = frozenset()
    enum: tuple[Any, ...] | None = None
    format: str | None = None
    items_types: frozenset[str] = frozenset()
    required: bool = False

    @property
    def is_timestamp(self) -> bool:
        """Whether the field holds a timestamp: format ``date-time`` or ``date``."""
        return self.format in TIMESTAMP_FORMATS

    @property
    def dotted(self) -> str:
        """The field's path as the language writes it (``company.employees``)."""
        return format_path(self.path)


@attrs.frozen(eq=False)
class LeadSchema:
    """A loaded lead schema and the description of its fields.

    ``document`` is the parsed JSON; ``raw`` the file's bytes, unchanged (the policy
    digest hashes them, LANGUAGE.md §5); ``source`` names the file in messages;
    ``fields`` maps every described path to its `FieldInfo`, in document order;
    ``required`` the top-level required names, in document order. Two schemas are
    equal when their bytes are.
    """

    document: Mapping[str, Any]
    raw: bytes
    fields: Mapping[tuple[str, ...], FieldInfo]
    required: tuple[str, ...] = ()
    source: str = "<schema>"
    _closed: frozenset[tuple[str, ...]] = attrs.field(default=frozenset(), alias="closed")

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "fields", freeze(self.fields))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LeadSchema) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def lookup(self, path: Sequence[str]) -> FieldInfo | None:
        """The field at ``path`` (a tuple of keys), or ``None`` when the schema has none."""
        return self.fields.get(tuple(path))

    def known_paths(self) -> tuple[tuple[str, ...], ...]:
        """Every described field path, in document order (parents before children)."""
        return tuple(self.fields)

    def timestamp_fields(self) -> tuple[FieldInfo, ...]:
        """The fields whose format is ``date-time`` or ``date``, in document order."""
        return tuple(info for info in self.fields.values() if info.is_timestamp)

    def allows_additional(self, path: Sequence[str] = ()) -> bool:
        """Whether the object at ``path`` (``()``: the lead) may hold keys the schema
        does not name. False only where the schema closes it with
        ``"additionalProperties": false`` or ``"unevaluatedProperties": false`` and
        no ``patternProperties``; True for paths it does not describe.
        """
        return tuple(path) not in self._closed


def load_schema(path: pathlib.Path) -> LeadSchema:
    """Read and check the lead schema at ``path``.

    Raises `SchemaError` with one line: the file is missing or unreadable, is not
    UTF-8, is not valid JSON (with ``line:col``), is not a JSON object, declares
    another ``$schema`` dialect than 2020-12, is not a valid JSON Schema (with the
    failing keyword's location), or has a ``$ref`` that is remote or points nowhere.
    """
    path = pathlib.Path(path)
    try:
        raw = read_bounded(path)
    except FileNotFoundError:
        raise SchemaError(f"{path}: schema file not found") from None
    except IsADirectoryError:
        raise SchemaError(f"{path}: is a directory, not a schema file") from None
    except OSError as error:
        raise SchemaError(f"{path}: cannot read the schema: {error.strerror or error}") from None
    except ValueError as error:  # a NUL in the path
        raise SchemaError(f"{path}: cannot read the schema: {error}") from None
    return parse_schema(raw, source=str(path))


def parse_schema(raw: bytes, *, source: str = "<schema>") -> LeadSchema:
    """Check and describe a lead schema given as bytes (a file, or a git blob).

    ``source`` names it in messages. Raises `SchemaError` as `load_schema` does.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SchemaError(f"{source}: not UTF-8 (byte {error.start + 1})") from None
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise SchemaError(
            f"{source}:{error.lineno}:{error.colno}: not valid JSON: "
            f"{error.msg.removesuffix(' at')}"
        ) from None
    except (ValueError, RecursionError) as error:
        raise SchemaError(f"{source}: not valid JSON: {_short(error)}") from None
    if not isinstance(document, dict):
        raise SchemaError(
            f"{source}: a lead schema must be a JSON object, found {json_type_name(document)}"
        )
    dialect = document.get("$schema")
    if dialect is not None and _dialect_key(dialect) != _DIALECT:
        raise SchemaError(
            f"{source}: declares $schema {json.dumps(dialect)}; lead schemas are draft 2020-12:"
            f' set "$schema" to "https://{_DIALECT}" or remove it'
        )
    import jsonschema  # only when a schema is read, not when a cached policy is used
    import jsonschema.exceptions

    try:
        with warnings.catch_warnings():
            # the `regex` format compiles each pattern with Python's re, which warns
            # (FutureWarning) of `[[` and `&&` in a class: ECMA reads them as characters,
            # and the warning would reach the user's terminal
            warnings.simplefilter("ignore", FutureWarning)
            jsonschema.Draft202012Validator.check_schema(document)
    except jsonschema.exceptions.SchemaError as error:
        where = _pointer(error.path)
        raise SchemaError(
            f"{source}: not a valid JSON Schema: at {where}: {_short(error.message)}"
        ) from None
    except RecursionError:
        raise SchemaError(f"{source}: not a valid JSON Schema: nested too deeply") from None
    _check_references(document, source)

    root = _Describer(document).describe(document, ())
    fields: dict[tuple[str, ...], FieldInfo] = {}
    closed: set[tuple[str, ...]] = set()
    _collect(root, (), fields, closed)
    return LeadSchema(
        document=document,
        raw=raw,
        fields=MappingProxyType(fields),
        required=root.required,
        source=source,
        closed=frozenset(closed),
    )




def format_path(path: Iterable[str | int]) -> str:
    """Write a path to a value in a lead the way the language does.

    Keys join with dots; a key that is not letters, digits and underscores is put in
    backticks (``company.`annual revenue```); an array index is written ``[2]``. The
    empty path (the lead itself) is the empty string.
    """
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
            continue
        # the language's own spelling (spec 3, v1.1): bare when the key could be written
        # so in a policy, else in backticks (a reserved word like `not` included)
        text = part if plain_key(part, not out) else "`" + part.replace("`", "``") + "`"
        out.append("." + text if out else text)
    return "".join(out)


def json_type_name(value: object) -> str:
    """The JSON name of a Python value's type: ``object``, ``array``, ``string``, …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


# -- checking ----------------------------------------------------------------------


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _short(error: object) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _dialect_key(uri: object) -> str:
    if not isinstance(uri, str):
        return ""
    key = uri.strip().rstrip("#")
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            return key[len(scheme) :]
    return key


def _pointer(parts: Iterable[object]) -> str:
    pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return pointer or "the top level"


def _walk_dicts(node: object, where: tuple[object, ...] = ()) -> Iterator[tuple[dict, tuple]]:
    if isinstance(node, dict):
        yield node, where
        for key, value in node.items():
            yield from _walk_dicts(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_dicts(value, (*where, index))


def _check_references(document: dict, source: str) -> None:
    for node, where in _walk_dicts(document):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        at = _pointer((*where, "$ref"))
        if not ref.startswith("#"):
            raise SchemaError(
                f"{source}: at {at}: $ref {json.dumps(ref)} is not local; only references"
                ' inside the schema file ("#/$defs/name") are supported'
            )
        if _resolve(document, ref) is _MISSING:
            raise SchemaError(f"{source}: at {at}: $ref {json.dumps(ref)} points nowhere")


_MISSING = object()


def _resolve(document: dict, ref: str) -> Any:
    """The subschema a local ``$ref`` names, or ``_MISSING``."""
    fragment = unquote(ref[1:])
    if not fragment:
        return document
    if not fragment.startswith("/"):
        for node, _ in _walk_dicts(document):
            if node.get("$anchor") == fragment or node.get("$dynamicAnchor") == fragment:
                return node
        return _MISSING
    node: Any = document
    for token in fragment[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


# -- describing --------------------------------------------------------------------


@attrs.define
class _Shape:
    """What one subschema says, after `$ref`, `allOf` and `anyOf` are folded in."""

    types: frozenset[str] | None = None  # None: unknown
    enum: tuple[Any, ...] | None = None
    format: str | None = None
    properties: dict[str, _Shape] = attrs.Factory(dict)
    required: tuple[str, ...] = ()
    closed: bool = False
    items: _Shape | None = None


def _types_and(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    if b is None:
        return a
    both = a & b
    # "integer" is a kind of "number": {"number"} and {"integer"} leave "integer".
    if ("integer" in a and "number" in b) or ("number" in a and "integer" in b):
        both |= {"integer"}
    return both


def _enum_and(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None:
        return b
    if b is None:
        return a
    return tuple(v for v in a if any(_same(v, w) for w in b))


def _same(a: object, b: object) -> bool:
    # JSON equality: booleans are not numbers, 1 and 1.0 are the same number.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _and(a: _Shape, b: _Shape) -> _Shape:
    properties = dict(a.properties)
    for name, shape in b.properties.items():
        properties[name] = _and(properties[name], shape) if name in properties else shape
    items = b.items if a.items is None else a.items if b.items is None else _and(a.items, b.items)
    return _Shape(
        types=_types_and(a.types, b.types),
        enum=_enum_and(a.enum, b.enum),
        format=a.format or b.format,
        properties=properties,
        required=tuple(dict.fromkeys(a.required + b.required)),
        closed=a.closed or b.closed,
        items=items,
    )


def _or(shapes: list[_Shape]) -> _Shape:
    """One of ``shapes`` holds. Branches that only allow null add null and nothing else."""
    if not shapes:
        return _Shape()
    if any(s.types is None for s in shapes):
        types = None
    else:
        types = frozenset().union(*(s.types for s in shapes))  # type: ignore[arg-type]
    valued = [s for s in shapes if s.types is None or s.types - {"null"}]
    nulls = len(valued) < len(shapes)

    enum = None
    if valued and all(s.enum is not None for s in valued):
        enum = tuple(v for s in valued for v in s.enum)  # type: ignore[union-attr]
        if nulls and None not in enum:
            enum += (None,)

    formats = {s.format for s in valued if s.types is None or "string" in s.types}
    format_ = formats.pop() if len(formats) == 1 else None

    objects = [s for s in valued if s.types is None or "object" in s.types]
    properties: dict[str, _Shape] = {}
    for shape in objects:
        for name, child in shape.properties.items():
            properties[name] = _or([properties[name], child]) if name in properties else child
    required = tuple(
        name
        for name in (objects[0].required if objects else ())
        if all(name in s.required for s in objects)
    )
    closed = bool(objects) and all(s.closed for s in objects)

    arrays = [s for s in valued if s.types is None or "array" in s.types]
    items = None
    if arrays and all(s.items is not None for s in arrays):
        items = _or([s.items for s in arrays])  # type: ignore[misc]
    return _Shape(types, enum, format_, properties, required, closed, items)


def _enum_types(values: Iterable[object]) -> frozenset[str]:
    return frozenset(json_type_name(v) for v in values) & JSON_TYPES


class _Describer:
    def __init__(self, document: dict) -> None:
        self.document = document
        # References that fan out (each definition using the next twice) could make the
        # description exponential; past this many subschemas, the rest is "unknown".
        self.budget = _MAX_SUBSCHEMAS

    def describe(self, node: object, refs: tuple[str, ...], depth: int = 0) -> _Shape:
        self.budget -= 1
        if not isinstance(node, dict) or depth > _MAX_DEPTH or self.budget < 0:
            return _Shape()
        shape = self._own(node, refs, depth)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in refs:
            target = _resolve(self.document, ref) if ref.startswith("#") else _MISSING
            if target is not _MISSING:
                shape = _and(shape, self.describe(target, (*refs, ref), depth))
        for member in _list(node.get("allOf")):
            shape = _and(shape, self.describe(member, refs, depth))
        for key in ("anyOf", "oneOf"):
            members = _list(node.get(key))
            if members:
                shape = _and(shape, _or([self.describe(m, refs, depth) for m in members]))
        return shape

    def _own(self, node: dict, refs: tuple[str, ...], depth: int) -> _Shape:
        types: frozenset[str] | None = None
        declared = node.get("type")
        if isinstance(declared, str):
            types = frozenset({declared}) & JSON_TYPES
        elif isinstance(declared, list):
            types = frozenset(t for t in declared if isinstance(t, str)) & JSON_TYPES

        enum: tuple[Any, ...] | None = None
        if "const" in node:
            enum = (node["const"],)
        elif isinstance(node.get("enum"), list):
            enum = tuple(node["enum"])
        if enum is not None:
            types = _types_and(types, _enum_types(enum))

        format_ = node.get("format") if isinstance(node.get("format"), str) else None

        properties: dict[str, _Shape] = {}
        if isinstance(node.get("properties"), dict):
            for name, child in node["properties"].items():
                properties[name] = self.describe(child, refs, depth + 1)
        required = tuple(
            dict.fromkeys(n for n in _list(node.get("required")) if isinstance(n, str))
        )
        closed = (
            node.get("additionalProperties") is False or node.get("unevaluatedProperties") is False
        ) and not node.get("patternProperties")

        items = None
        if isinstance(node.get("items"), dict):
            items = self.describe(node["items"], refs, depth + 1)
        return _Shape(types, enum, format_, properties, required, closed, items)


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _collect(
    shape: _Shape,
    prefix: tuple[str, ...],
    fields: dict[tuple[str, ...], FieldInfo],
    closed: set[tuple[str, ...]],
) -> None:
    if shape.closed:
        closed.add(prefix)
    for name, child in shape.properties.items():
        path = (*prefix, name)
        fields[path] = FieldInfo(
            path=path,
            types=child.types if child.types is not None else frozenset(),
            enum=child.enum,
            format=child.format,
            items_types=(
                child.items.types
                if child.items is not None and child.items.types is not None
                else frozenset()
            ),
            required=name in shape.required,
        )
        _collect(child, path, fields, closed)
