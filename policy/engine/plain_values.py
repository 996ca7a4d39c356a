"""Values the schema types that a lead built in Python holds and no JSON document does.

Only a dict handed to the library (:meth:`policy.Policy.evaluate`) can hold them: every
lead reader gives ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``.
The engines test those types exactly (a ``Decimal`` is not a number to them, a ``tuple``
not a list, a nested ``OrderedDict`` not an object), but the compiled schema validator
(jsonschema-rs) reads a ``Decimal`` as a number, a ``tuple`` as an array, a ``dict``
subclass as an object and an ``IntEnum`` as an integer. So a lead whose `employees` is
``Decimal(150)`` passed the schema and was decided as if it had no employees, silently.

:func:`odd_values` names each such value at a place the schema describes (``properties``
and ``items``, at any depth): the validator refuses the lead with one problem per value,
naming its field, as the compiled engine's own schema checks (which test exact types)
already send such a lead to the validator. A value the schema does not describe is the
caller's to give: the engines read it by its exact type, as without a schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from numbers import Number
from typing import Any

from policy.engine.decision import Problem
from policy.model.schema import format_path

__all__ = ["odd_values"]

_PLAIN = frozenset({str, int, float, bool, type(None)})


def odd_values(schema: Any, lead: dict) -> list[Problem]:
    """One problem per value at a place ``schema`` describes whose type is not exactly
    one reading JSON gives; empty for a lead of plain values."""
    found: list[Problem] = []
    _inside(schema, lead, (), found)
    return found


def _inside(schema: Any, value: Any, path: tuple, found: list[Problem]) -> None:
    if not isinstance(schema, dict):
        return
    if type(value) is dict:
        properties = schema.get("properties")
        if isinstance(properties, dict):
            for key, sub in properties.items():
                if key in value:
                    _value(sub, value[key], (*path, key), found)
    elif type(value) is list:
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                _value(items, item, (*path, index), found)


def _value(schema: Any, value: Any, path: tuple, found: list[Problem]) -> None:
    t = type(value)
    if t in _PLAIN:
        return
    if t is dict or t is list:
        _inside(schema, value, path, found)
        return
    found.append(Problem(format_path(path), f"not a JSON value: {t.__name__} "
                                            f"(give {_instead(value)})"))


def _instead(value: Any) -> str:
    """What to give instead, in the caller's terms."""
    if isinstance(value, bool | Number):
        return "an int or a float"
    if isinstance(value, str | bytes | bytearray):
        return "a str"
    if isinstance(value, date):
        return "the timestamp as ISO 8601 text"
    if isinstance(value, Mapping):
        return "a dict"
    return "a list" if hasattr(value, "__iter__") else "a JSON value"
