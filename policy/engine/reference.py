"""The reference ``jsonschema`` validator of :mod:`policy.engine.validate`, told the
compiled validator's (``jsonschema_rs``) rules where the two libraries differ, so that
:meth:`LeadValidator.problems` explains exactly the leads :meth:`LeadValidator.is_valid`
refuses:

- NaN and infinities fail every ``type``; a tuple is an array;
- ``pattern`` is ECMA-262 as JSON Schema says and ``jsonschema_rs`` reads it (``.``
  stops at every line terminator, ``$`` only at the end, ``\\d``, ``\\w`` and ``\\s``
  are ECMA's classes), not Python's ``re`` (whose ``.`` matches a carriage return,
  ``$`` matches before a final line feed, ``\\d`` any Unicode digit): each pattern is
  matched by ``jsonschema_rs`` itself, with ``re`` only for a pattern it cannot compile.
"""

from __future__ import annotations

import functools
import math
import numbers
import re
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import jsonschema

__all__ = ["format_checker", "pattern_matches", "reference_class"]


def format_checker(checks: dict[str, Any]) -> jsonschema.FormatChecker:
    """A format checker that enforces ``checks`` (format name -> test) and no other."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, check in checks.items():
        checker.checks(name)(check)
    return checker


def _is_number(checker: object, value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _is_integer(checker: object, value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or isinstance(value, float) and value.is_integer()


def _is_array(checker: object, value: object) -> bool:
    return isinstance(value, list | tuple)


@functools.lru_cache(maxsize=1)
def reference_class() -> Any:
    """The reference validator class, made on first use: importing jsonschema costs
    more than a short command's whole run, and only a refused lead needs it."""
    import jsonschema
    import jsonschema.validators

    # jsonschema_rs cannot hold NaN or infinities (they fail every `type`, `enum` and
    # `const`) and reads a tuple as an array; the reference validator is told the same.
    return jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        validators={"pattern": _pattern},
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
            {"number": _is_number, "integer": _is_integer, "array": _is_array}
        ),
    )


@functools.lru_cache(maxsize=256)
def _matcher(pattern: str) -> Any:
    """A test of a text against ``pattern`` as ``jsonschema_rs`` reads it."""
    import jsonschema_rs

    try:
        return jsonschema_rs.Draft202012Validator({"pattern": pattern}, offline=True).is_valid
    except Exception:  # noqa: BLE001 - a pattern the Rust engine refuses: Python's reading
        with warnings.catch_warnings():  # "possible nested set" of `[[`: not the user's
            warnings.simplefilter("ignore", FutureWarning)
            compiled = re.compile(pattern)
        return lambda text: compiled.search(text) is not None


def pattern_matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches the schema's ``pattern`` (anywhere in it, ECMA-262)."""
    return bool(_matcher(pattern)(text))


def _pattern(validator: Any, pattern: str, instance: object, schema: Any) -> Iterator[Any]:
    """The ``pattern`` keyword, as jsonschema's own but for the matching (see above)."""
    import jsonschema

    if validator.is_type(instance, "string") and not pattern_matches(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")
