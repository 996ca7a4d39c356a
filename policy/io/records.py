"""What a lead reader yields: a :class:`Record` (a lead, or why it could not be
read) per input record, and :class:`LeadFileError` for a file that cannot be read
at all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from policy.engine.decision import Problem

#: A lone surrogate: text that came from bytes which are not UTF-8.
SURROGATE = re.compile("[\ud800-\udfff]").search
NOT_UTF8 = "not valid UTF-8 (the file has bytes that are not UTF-8 text)"
#: A JSON escape that may make a lone surrogate (`"\ud800"`): valid JSON, but not text.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]").search
#: The problem of a lead whose JSON text makes a lone surrogate with a ``\u`` escape.
LONE_SURROGATE = "not valid Unicode: a \\u escape makes a lone surrogate"

MAX_RECORD_CHARS = 16 * 1024 * 1024
"""The longest record read (a JSON Lines line, a JSON array element, a CSV row or cell):
a longer one is an error record, and reading goes on after it with constant memory."""

MAX_NESTING = 500
"""The deepest nesting of objects and lists a record may have (the record itself is level
1): a deeper one is an error record (:data:`TOO_DEEP`) in every engine and every input
format. Python's JSON reader gives up near its recursion limit, which depends on how deep
the reading code already is, and DuckDB and Spark read any depth: a fixed limit well
below the first keeps every engine's decision the same."""

TOO_DEEP = "not valid JSON: nested too deeply"

# Strings (where brackets do not count) and the brackets themselves, for `too_deep`.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def too_deep(text: str | bytes) -> bool:
    """Whether the JSON ``text`` nests objects and lists more than :data:`MAX_NESTING`
    levels deep. Cheap for what most records are: it needs more than that many opening
    brackets before it looks closer."""
    if len(text) <= MAX_NESTING * 2:
        return False
    if isinstance(text, bytes):
        if text.count(b"[") + text.count(b"{") <= MAX_NESTING:
            return False
        text = text.decode("utf-8", "surrogateescape")
    elif text.count("[") + text.count("{") <= MAX_NESTING:
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        else:
            depth -= 1
    return False


#: The largest integer a double holds (it rounds to the largest double, 1.797…e308): from
#: 2**1024 - 2**970 on, ``float()`` rounds to infinity and raises OverflowError. Such an
#: integer is a number beyond a double's range (spec section 9), as ``1e400`` is.
MAX_FINITE_INT = 2**1024 - 2**970 - 1
#: The fewest digits of an integer beyond a double's range (MAX_FINITE_INT has 309).
BEYOND_DIGITS = 309

# `long_digit_run`: a run of BEYOND_DIGITS digits covers an index that is a multiple of
# _STEP (any step up to 309 would do); only from a sampled digit is the run measured.
_STEP = 300
_HALF = BEYOND_DIGITS // 2  # such a run through `at` holds at - _HALF or at + _HALF
_DIGITS = frozenset("0123456789") | frozenset(b"0123456789")
_RUN = re.compile("[0-9]*").match
_RUN_BYTES = re.compile(b"[0-9]*").match
_DIGIT = re.compile("[0-9]").finditer
_DIGIT_BYTES = re.compile(b"[0-9]").finditer


def long_digit_run(text: str | bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether ``text[start:end]`` holds :data:`BEYOND_DIGITS` digits in a row, as an
    integer beyond a double's range is written (the run may also stand in a string,
    where it is no number: the caller looks at the values read). Exact, and cheap for
    what most records are: it looks at every 300th character, and from one that is a
    digit (with a digit 154 places before or after it) measures the run it stands in:
    forward to its end, then whether the digits still missing stand before it. About
    0.4 µs a line of `rules/` leads, 0.1 µs a line for a block of them (a regular
    expression over the line cost 2.8 µs)."""
    if end is None:
        end = len(text)
    if end - start < BEYOND_DIGITS:
        return False
    sampled = text[start:end:_STEP]
    if _DIGITS.isdisjoint(sampled):
        return False
    is_bytes = type(text) is bytes
    run = _RUN_BYTES if is_bytes else _RUN
    if len(sampled) > 16:  # a block: only the sampled digits, found in C
        spots = (m.start() for m in (_DIGIT_BYTES if is_bytes else _DIGIT)(sampled))
    else:
        spots = (i for i, char in enumerate(sampled) if char in _DIGITS)
    for i in spots:
        at = start + i * _STEP
        if not ((at + _HALF < end and text[at + _HALF] in _DIGITS)
                or (at - _HALF >= start and text[at - _HALF] in _DIGITS)):
            continue
        need = BEYOND_DIGITS - (run(text, at, end).end() - at)  # digits before `at`
        if need <= 0:
            return True
        if at - need >= start:
            before = text[at - need:at]
            if before.isdigit() and before.isascii():
                return True
    return False


def beyond_double(value: object) -> bool:
    """Whether ``value`` (an int) is beyond a double's range: ``float(value)`` overflows."""
    return type(value) is int and not -MAX_FINITE_INT <= value <= MAX_FINITE_INT


_INFINITIES = (math.inf, -math.inf)


def nodes(value: object) -> Iterator[tuple[tuple[str | int, ...], object]]:
    """Every value in a lead read from JSON with its path, in document order.
    Iterative, so a deeply nested lead cannot exhaust the stack."""
    stack: list[tuple[object, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, where = stack.pop()
        yield where, item
        if type(item) is dict:
            stack.extend((child, (*where, key)) for key, child in reversed(item.items()))
        elif type(item) is list:
            stack.extend((child, (*where, i)) for i, child in reversed(list(enumerate(item))))


def surrogate_path(value: object) -> tuple[str | int, ...] | None:
    """The path of the first string (key or value) holding a lone surrogate, if any."""
    for where, item in nodes(value):
        if type(item) is str:
            if not item.isascii() and SURROGATE(item):
                return where
        elif type(item) is dict:
            for key in item:
                if not key.isascii() and SURROGATE(key):
                    return (*where, key)
    return None


def beyond_paths(value: dict) -> list[tuple[str | int, ...]]:
    """The paths of the numbers beyond a double's range in a lead read from JSON: the
    infinite floats (JSON itself has no infinity: each was a fraction or exponent
    beyond the range) and the ints past it."""
    return [where for where, item in nodes(value)
            if (type(item) is float and item in _INFINITIES) or beyond_double(item)]


def has_beyond(value: object) -> bool:
    """Whether ``value`` (read from JSON) holds a number beyond a double's range: an int
    past it, or an infinite float (a fraction or exponent past it)."""
    return any(beyond_double(item) or (type(item) is float and item in _INFINITIES)
               for _, item in nodes(value))


class LeadFileError(Exception):
    """A lead file that cannot be read at all (exit status 2); ``message`` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen
class Record:
    """One input record: a lead, or why it could not be read.

    ``line`` is the record's 1-based line (JSON Lines), starting line (CSV; the header
    is line 1) or index (JSON array). ``value`` is the parsed lead, a ``dict`` when
    ``error`` is ``None``; on an error record it is what could be read (a CSV row with
    the bad cells left as text, a value that is not an object) or ``None``, so a caller
    may still find the lead's id. ``problems`` details ``error`` by field, as in an
    error record's ``problems`` (LANGUAGE.md §5): one per bad CSV cell, or a single
    problem with the empty path for an error about the whole record.
    """

    line: int
    value: object | None = None
    error: str | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the record was read: ``value`` is a lead (a ``dict``)."""
        return self.error is None


def failed_record(line: int, message: str, value: object | None = None) -> Record:
    return Record(line, value, message, (Problem("", message),))


def plain_json_errors(decode: Callable[..., Any]) -> Callable[..., Any]:
    """``decode`` (a ``json.JSONDecoder`` method) with messages that read on: the
    standard library's "Unterminated string starting at" and "Invalid control character
    at" lose their last word, since every reader follows the message with the place
    ("… at column 14"), which made "at at"."""
    def run(*args: Any) -> Any:
        try:
            return decode(*args)
        except json.JSONDecodeError as error:
            error.msg = error.msg.removesuffix(" at")
            raise
    return run
