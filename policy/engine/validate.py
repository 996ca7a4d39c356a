"""Lead validation: is a lead what the policy's schema says it is (LANGUAGE.md §4 step 1)?

`LeadValidator` is built once per policy from its `LeadSchema`, after
``policy.model.schema`` has loaded and checked it. It has two paths that give the same answer:

- `LeadValidator.is_valid` is the hot path, run on every lead: a compiled
  ``jsonschema_rs`` validator (about a microsecond a lead).
- `LeadValidator.problems` is the slow path, run only for a lead that failed: the
  reference ``jsonschema`` validator, whose errors become `Problem` values — one
  readable sentence per failing field, sorted — for the error record of §5.

Both apply the same rules. Of the schema's formats only ``date-time`` and ``date`` are
enforced, with `policy.engine.timestamps.parse_timestamp` (so a date-time without an offset is
valid and read as UTC, §3, or in the policy's ``local_tz``: the same values are valid);
other formats (``email``, ``uri``, …) are annotations, as draft 2020-12 makes them by
default. A lead must be a JSON object whatever the schema
says; numbers must be finite. A value only a lead built in Python holds (a ``Decimal``, a
``tuple``, a nested ``OrderedDict``, an ``IntEnum``) where the schema describes a field is
refused by both paths with its field named (`policy.engine.plain_values`): jsonschema-rs
would read it as a JSON value the engines, which test types exactly, do not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from policy.engine.decision import Problem  # defined beside the decisions: no jsonschema there
from policy.engine.plain_values import odd_values
from policy.engine.reference import format_checker, reference_class
from policy.engine.timestamps import parse_timestamp
from policy.model.schema import LeadSchema, format_path, json_type_name

if TYPE_CHECKING:  # pragma: no cover
    import jsonschema
    import jsonschema.exceptions

__all__ = ["LeadValidator", "Problem"]


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or parse_timestamp(value) is not None


def _is_date(value: object) -> bool:
    return not isinstance(value, str) or parse_timestamp(value, kind="date") is not None


def _any_value(value: object) -> bool:
    return True


_FORMAT_CHECKS = {"date-time": _is_date_time, "date": _is_date}


def _format_checks(tz: Any) -> dict[str, Any]:
    """The format checks for timestamps read in ``tz`` (None: UTC). A zone changes
    which values are valid only at the edges of years 1 and 9999 (an instant past
    them), so the validator accepts exactly what the engine's preparation parses."""
    if tz is None:
        return _FORMAT_CHECKS
    return {
        "date-time": lambda v: not isinstance(v, str) or parse_timestamp(v, tz=tz) is not None,
        "date": lambda v: not isinstance(v, str)
        or parse_timestamp(v, kind="date", tz=tz) is not None,
    }


class LeadValidator:
    """Validates leads against one `LeadSchema`; build once per policy, share freely.

    ``is_valid(lead)`` is fast; ``problems(lead)`` explains. For every lead,
    ``is_valid(lead)`` is true exactly when ``problems(lead)`` is empty. Both are safe
    to call from several threads, and neither raises for a bad lead.
    """

    def __init__(self, schema: LeadSchema, *, tz: Any = None) -> None:
        self.schema = schema
        self._reference_validator: Any = None
        # Imported here, not with the module: a policy without a schema never needs it
        # (and it imports email and socket: a few ms of every command's start).
        import jsonschema_rs

        checks = _format_checks(tz)
        self._checks = checks
        formats: dict[str, Any] = {name: _any_value for name in _format_names(schema.document)}
        formats.update(checks)
        try:
            fast = jsonschema_rs.Draft202012Validator(
                schema.document,
                formats=formats,
                validate_formats=True,
                ignore_unknown_formats=True,
                offline=True,
            )
        except Exception:  # noqa: BLE001 - e.g. a `pattern` the Rust regex engine refuses
            fast = None
        self._fast = fast
        structural = None
        if fast is not None and timestamps_on_fields(schema.document):
            try:
                structural = jsonschema_rs.Draft202012Validator(
                    schema.document, validate_formats=False, offline=True
                )
            except Exception:  # noqa: BLE001 - same refusals as above
                structural = None
        self._structural = structural

    @property
    def compiled(self) -> bool:
        """Whether jsonschema-rs compiled the schema (it refuses a few regular
        expressions; the reference validator then decides every lead)."""
        return self._fast is not None

    @property
    def formats_on_fields(self) -> bool:
        """True when every date/date-time format of the schema stands on a field path
        (see :func:`timestamps_on_fields`), so a caller that parses those fields itself
        may use :meth:`is_valid_structure` and skip the per-string format callbacks."""
        return self._structural is not None

    def is_valid_structure(self, lead: object) -> bool:
        """Like :meth:`is_valid`, without checking date/date-time strings.

        Only for callers that parse every timestamp field themselves (the engine's
        lead preparation does): the format callbacks are most of a lead's validation
        time, and the engine has to parse those strings anyway.
        """
        structural = self._structural
        if structural is None:
            return self.is_valid(lead)
        if not isinstance(lead, dict):
            return False
        try:
            return structural.is_valid(lead) and not odd_values(self.schema.document, lead)
        except Exception:  # noqa: BLE001 - values no JSON document holds
            return False

    def lead_check(self) -> Any:
        """The fastest check of a lead (a ``dict``) the engine's preparation can use:
        the compiled validator's own ``is_valid``, structure-only when
        :attr:`formats_on_fields`. It may raise for a value no JSON document holds (a
        set, a NaN): the caller counts that as invalid."""
        if self._structural is not None:
            check = self._structural.is_valid
        elif self._fast is not None:
            check = self._fast.is_valid
        else:
            return self.is_valid
        document = self.schema.document

        def lead_check(lead: dict) -> bool:
            return check(lead) and not odd_values(document, lead)

        return lead_check

    def is_valid(self, lead: object) -> bool:
        """Whether ``lead`` is a JSON object that satisfies the schema."""
        if not isinstance(lead, dict):
            return False
        fast = self._fast
        if fast is None:
            return not self.problems(lead)
        try:
            return fast.is_valid(lead) and not odd_values(self.schema.document, lead)
        except Exception:  # noqa: BLE001
            # A value no JSON document holds (a set, a datetime, a non-string key).
            return False

    def problems(self, lead: object) -> list[Problem]:
        """Every reason ``lead`` fails the schema, sorted by path, then message.

        Empty when the lead is valid. The compiled validator's errors give the list when
        every one of them is of a keyword whose sentence needs nothing more than the
        error itself (:data:`_FAST_KEYWORDS`, outside ``$ref``, ``anyOf``, ``oneOf``,
        ``not`` and conditionals); otherwise the reference validator explains, as it
        says more (which branch of a choice came closest). Both give the same sentences
        for those keywords (``tests/test_validate.py`` checks it), at a tenth of the cost.
        """
        odd = odd_values(self.schema.document, lead) if isinstance(lead, dict) else None
        if odd:  # what the schema refuses, by field, and each value it would have read
            found = {p for p in self.reference_problems(lead)  # not "not JSON" at the top
                     if p.path or ("JSON" not in p.message and "validated" not in p.message)}
            named = {p.path for p in found}
            return sorted({*found, *(p for p in odd if p.path not in named)})
        if isinstance(lead, dict) and self._fast is not None:
            fast = self.fast_problems(lead)
            if fast:
                return fast
        return self.reference_problems(lead)

    def fast_problems(self, lead: dict) -> list[Problem] | None:
        """The problem list from the compiled validator, or None when it cannot tell
        it as the reference validator would (see :meth:`problems`)."""
        document = self.schema.document
        found: set[Problem] = set()
        try:
            for error in self._fast.iter_errors(lead):  # type: ignore[union-attr]
                where = error.schema_path
                if not where or where[-1] not in _FAST_KEYWORDS \
                        or not _FAST_PATH.isdisjoint(where):
                    return None
                schema: Any = document
                for step in where[:-1]:
                    schema = schema[step]
                if not isinstance(schema, dict):
                    return None
                # The failing value as the caller holds it (the compiled validator's copy
                # has been through serde: NaN becomes null, a tuple a list).
                instance: Any = lead
                for step in error.instance_path:
                    instance = instance[step]
                found.update(_explain(_FastError(error, where[-1], schema, instance)))
        except Exception:  # noqa: BLE001 - a path that does not resolve, a value not JSON
            return None
        return sorted(found)

    @property
    def _reference(self) -> Any:
        """The reference ``jsonschema`` validator, built on first use."""
        if self._reference_validator is None:
            self._reference_validator = reference_class()(
                _forbid_with_paths(self.schema.document),
                format_checker=format_checker(self._checks)
            )
        return self._reference_validator

    def reference_problems(self, lead: object) -> list[Problem]:
        """:meth:`problems` as the reference ``jsonschema`` validator finds them."""
        if not isinstance(lead, dict):
            return [Problem("", f"expected a JSON object, found {json_type_name(lead)}")]
        found: set[Problem] = set()
        try:
            for error in self._reference.iter_errors(lead):
                found.update(_explain(error))
        except RecursionError:
            found.add(Problem("", "nested too deeply to validate"))
        except Exception as error:  # noqa: BLE001 - bad values must not become tracebacks
            found.update(_non_json(lead, ()))
            if not found:
                found.add(Problem("", f"cannot be validated: {error}"))
        if not found and self._fast is not None:
            # The two engines differ in corners (regular expression dialects, values no
            # JSON holds); `is_valid` uses the fast one, so its verdict must be explained.
            try:
                if not self._fast.is_valid(lead):
                    for fast_error in self._fast.iter_errors(lead):
                        where = format_path(fast_error.instance_path)
                        found.add(Problem(where, _sentence(fast_error.message)))
                    if not found:
                        found.add(Problem("", "does not match the schema"))
            except Exception as error:  # noqa: BLE001
                found.update(_non_json(lead, ()))
                if not found:
                    found.add(Problem("", f"holds a value that is not JSON: {error}"))
        return sorted(found)


# -- explaining errors ---------------------------------------------------------------

#: Keywords whose sentence (`_explain`) needs only the failing keyword, its value, the
#: instance and the schema object holding it, all of which a compiled error gives.
_FAST_KEYWORDS = frozenset({
    "type", "required", "enum", "const", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems",
    "maxItems", "minProperties", "maxProperties", "additionalProperties",
    "dependentRequired",
})
#: Schema path steps under which the reference validator's account differs or needs
#: context: a reference (the path then leaves the document), choices, conditionals.
_FAST_PATH = frozenset({
    "$ref", "$dynamicRef", "anyOf", "oneOf", "not", "if", "then", "else",
    "dependentSchemas", "unevaluatedProperties", "unevaluatedItems", "contains",
    "propertyNames", "patternProperties", "prefixItems",
})


class _FastError:
    """A compiled validator's error, shaped as `_explain` reads a jsonschema error."""

    __slots__ = ("validator", "validator_value", "instance", "absolute_path", "schema",
                 "message", "context")

    def __init__(self, error: Any, keyword: str, schema: dict, instance: Any) -> None:
        self.validator = keyword
        self.validator_value = schema[keyword]
        self.instance = instance
        self.absolute_path = error.instance_path
        self.schema = schema
        self.message = error.message
        self.context = ()



def _explain(error: jsonschema.exceptions.ValidationError) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    at = format_path(path)

    if keyword == "required":
        for name in value:
            if isinstance(instance, dict) and name not in instance:
                yield Problem(format_path((*path, name)), "required field is missing")
    elif keyword == "dependentRequired":
        for trigger, needed in value.items():
            if trigger in instance:
                for name in needed:
                    if name not in instance:
                        yield Problem(
                            format_path((*path, name)),
                            f"required when {_code(format_path((*path, trigger)))} is present",
                        )
    elif keyword == "additionalProperties" and value is False:
        extras = _extra_keys(instance, error.schema)
        for name in extras:
            yield Problem(format_path((*path, name)), "not a field the schema allows")
        if not extras:
            yield Problem(at, _sentence(error.message))
    elif keyword in ("anyOf", "oneOf"):
        yield from _explain_choice(error)
    else:
        yield Problem(at, _message(error))


def _explain_choice(error: jsonschema.exceptions.ValidationError) -> Iterator[Problem]:
    """`anyOf`/`oneOf`: report the branch that came closest, or the types they allow.

    A branch that fails only on `type`, at the value itself, did not apply (the value is
    not of its kind), so it says nothing useful about what is wrong.
    """
    depth = len(error.absolute_path)
    branches: dict[int, list[jsonschema.exceptions.ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    applicable = [
        (len(subs), index)
        for index, subs in branches.items()
        if any(s.validator != "type" or len(s.absolute_path) > depth for s in subs)
    ]
    at = format_path(error.absolute_path)
    if applicable:
        _, index = min(applicable)
        for sub in branches[index]:
            yield from _explain(sub)
    elif branches:
        allowed: list[str] = []
        for subs in branches.values():
            for sub in subs:
                allowed.extend(_as_list(sub.validator_value))
        yield Problem(at, f"expected {_or_list(allowed)}, found {_found(error.instance)}")
    elif error.validator == "oneOf":
        yield Problem(at, "matches more than one of the allowed forms, expected exactly one")
    else:
        yield Problem(at, _sentence(error.message))


def _message(error: jsonschema.exceptions.ValidationError) -> str:
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    if keyword == "type":
        return f"expected {_or_list(_as_list(value))}, found {_found(instance)}"
    if keyword == "enum":
        return f"must be one of {_values(value)}, found {_show(instance)}"
    if keyword == "const":
        return f"must be {_show(value)}, found {_show(instance)}"
    if keyword == "format":
        return f"not a valid {value}: {_show(instance)}"
    if keyword == "minimum":
        return f"must be at least {_show(value)}, found {_show(instance)}"
    if keyword == "maximum":
        return f"must be at most {_show(value)}, found {_show(instance)}"
    if keyword == "exclusiveMinimum":
        return f"must be greater than {_show(value)}, found {_show(instance)}"
    if keyword == "exclusiveMaximum":
        return f"must be less than {_show(value)}, found {_show(instance)}"
    if keyword == "multipleOf":
        return f"must be a multiple of {_show(value)}, found {_show(instance)}"
    if keyword == "minLength":
        return f"must be at least {_count(value, 'character')} long, found {len(instance)}"
    if keyword == "maxLength":
        return f"must be at most {_count(value, 'character')} long, found {len(instance)}"
    if keyword == "pattern":
        return f"must match the pattern {_show(value)}, found {_show(instance)}"
    if keyword == "minItems":
        return f"must hold at least {_count(value, 'item')}, found {len(instance)}"
    if keyword == "maxItems":
        return f"must hold at most {_count(value, 'item')}, found {len(instance)}"
    if keyword == "uniqueItems":
        return "must not repeat an item"
    if keyword == "minProperties":
        return f"must hold at least {_count(value, 'field')}, found {len(instance)}"
    if keyword == "maxProperties":
        return f"must hold at most {_count(value, 'field')}, found {len(instance)}"
    if keyword in ("contains", "minContains", "maxContains"):
        return "does not hold the items the schema asks for"
    if keyword is None or keyword == "not" and value == {}:  # a `false` schema
        return "not allowed by the schema"
    if keyword == "not":
        return f"{_found(instance)} is not allowed here"
    return _sentence(error.message)


def _extra_keys(instance: object, schema: object) -> list[str]:
    if not isinstance(instance, dict) or not isinstance(schema, dict):
        return []
    named = schema.get("properties") or {}
    patterns = list(schema.get("patternProperties") or {})
    return [
        key for key in instance if key not in named and not any(re.search(p, key) for p in patterns)
    ]


def _non_json(value: object, path: tuple[str | int, ...]) -> Iterator[Problem]:
    """Values no JSON document can hold (only reached for leads built in Python)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                yield Problem(format_path(path), f"has a key that is not a string: {key!r}")
            else:
                yield from _non_json(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _non_json(item, (*path, index))
    elif value is not None and not isinstance(value, str | int | float):
        yield Problem(format_path(path), f"not a JSON value: {type(value).__name__}")


_SUBSCHEMA = (
    "additionalProperties",
    "items",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_FORBIDDEN = {"not": {}}


def _forbid_with_paths(schema: object, under: str = "") -> object:
    """A copy of ``schema`` where a ``false`` subschema for a property or an item is
    ``{"not": {}}``: the same meaning, but jsonschema then reports the failing path
    (for a bare ``false`` it reports the parent object's).
    """
    if schema is False and under in ("properties", "patternProperties", "prefixItems", "items"):
        return _FORBIDDEN
    if not isinstance(schema, dict):
        return schema
    copy = dict(schema)
    for key in _SUBSCHEMA:
        if key in copy:
            copy[key] = _forbid_with_paths(copy[key], key)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(copy.get(key), dict):
            copy[key] = {k: _forbid_with_paths(v, key) for k, v in copy[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(copy.get(key), list):
            copy[key] = [_forbid_with_paths(v, key) for v in copy[key]]
    return copy


#: Keywords under which a subschema does not describe a plain field path; a format
#: there is not one `LeadSchema.fields` knows, so the engine cannot parse it itself.
_NOT_A_FIELD = frozenset({
    "items", "prefixItems", "additionalItems", "contains", "unevaluatedItems",
    "additionalProperties", "patternProperties", "unevaluatedProperties", "propertyNames",
    "dependentSchemas", "not", "if", "then", "else", "anyOf", "oneOf",
})


def timestamps_on_fields(document: object) -> bool:
    """Whether every ``date``/``date-time`` format in the schema sits on a field path.

    Conservative: a format (or any ``$ref``, which might lead to one) under a keyword
    of :data:`_NOT_A_FIELD` makes it False.
    """
    stack: list[tuple[object, bool]] = [(document, False)]
    while stack:
        node, hidden = stack.pop()
        if isinstance(node, dict):
            if hidden and (node.get("format") in _FORMAT_CHECKS or "$ref" in node
                           or "$dynamicRef" in node):
                return False
            for key, value in node.items():
                stack.append((value, hidden or key in _NOT_A_FIELD))
        elif isinstance(node, list):
            stack.extend((item, hidden) for item in node)
    return True


def _format_names(document: object) -> set[str]:
    names: set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("format"), str):
                names.add(node["format"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


# -- words ----------------------------------------------------------------------------

_SHOWN_LENGTH = 60
_SHOWN_VALUES = 8


def _show(value: object) -> str:
    """A value as JSON, cut short when long: ``"abc"``, ``12``, ``null``."""
    if isinstance(value, str) and len(value) > _SHOWN_LENGTH:
        value = value[: _SHOWN_LENGTH - 1] + "…"
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _SHOWN_LENGTH + 2 else text[: _SHOWN_LENGTH + 1] + "…"


def _found(value: object) -> str:
    """What was found, with its type: ``string "abc"``, ``integer 3``, ``object``."""
    kind = json_type_name(value)
    if value is None:
        return "null"
    if kind in ("object", "array"):
        return kind
    if kind in ("string", "integer", "number", "boolean"):
        return f"{kind} {_show(value)}"
    return f"{kind} value"


def _values(values: Iterable[object]) -> str:
    shown = [_show(v) for v in values]
    if len(shown) > _SHOWN_VALUES:
        shown = [*shown[:_SHOWN_VALUES], "…"]
    return ", ".join(shown)


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _or_list(words: Iterable[str]) -> str:
    unique = list(dict.fromkeys(words))
    if len(unique) <= 1:
        return "".join(unique)
    return ", ".join(unique[:-1]) + " or " + unique[-1]


def _code(path: str) -> str:
    return path if path.startswith("`") and path.endswith("`") else f"`{path}`"


def _count(n: object, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _sentence(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "does not match the schema"
    line = line[0].lower() + line[1:]
    return line if len(line) <= 200 else line[:199] + "…"
