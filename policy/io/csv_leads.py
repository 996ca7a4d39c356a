"""CSV lead files: a header row of field paths, then one lead per row, each cell
typed by the schema (or by its look, without one). :func:`policy.io.leads.read_records`
describes the rules; this module applies them.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TextIO

import attrs

from policy.engine.decision import Problem
from policy.io.records import (
    LONE_SURROGATE,
    MAX_RECORD_CHARS,
    NOT_UTF8,
    SURROGATE,
    SURROGATE_ESCAPE,
    LeadFileError,
    Record,
    beyond_double,
    failed_record,
    has_beyond,
    surrogate_path,
    too_deep,
)
from policy.model.schema import LeadSchema, format_path

# -- CSV -------------------------------------------------------------------------------

_BAD = object()
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
#: JSON's number syntax (RFC 8259, section 6; spec section 9): no `+`, no leading zero,
#: digits on both sides of a point, no hex, `_`, `Infinity` or `NaN`; a JSON text may
#: have JSON's white space around it (space, tab, CR, LF), and so may the cell
_JSON_WS = " \t\r\n"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?").fullmatch
_HEADER_PART = re.compile(r"`((?:[^`]|``)*)`|([^.`]*)")


def _boolean(text: str) -> object:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return _BAD


def _integer(text: str) -> object:
    """A number whose value is whole (`5`, `5.0`, `1e2`: the validator's integer), as an int."""
    value = _number(text)
    if type(value) is float:
        return int(value) if value.is_integer() else _BAD
    return value


def _number(text: str) -> object:
    text = text.strip(_JSON_WS)
    if not _NUMBER(text):
        return _BAD
    try:
        if "." not in text and "e" not in text and "E" not in text:
            value = int(text)
            # beyond a double's range, as 1e400 (spec section 9): a number it cannot hold
            return _BAD if beyond_double(value) else value
        value = float(text)
    except ValueError:
        return _BAD
    return value if value not in (float("inf"), float("-inf")) else _BAD


def _json_of(kind: str) -> Callable[[str], object]:
    wanted = dict if kind == "object" else list
    opener = "{" if kind == "object" else "["

    def convert(text: str) -> object:
        text = text.strip()
        if not text.startswith(opener) or too_deep(text):
            return _BAD
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            return _BAD
        if type(value) is not wanted or has_beyond(value):  # `[1e400]`, as a number cell
            return _BAD
        if SURROGATE_ESCAPE(text):
            where = surrogate_path(value)
            if where is not None:  # `{"name": "\ud800"}`: refused as a JSON Lines line is
                return _LoneSurrogate(where)
        return value

    return convert


@attrs.frozen
class _LoneSurrogate:
    """A JSON cell whose ``\\u`` escape makes a lone surrogate, at ``where`` below the
    cell's field: valid JSON but not text, so the lead is refused there, with the
    message the JSON Lines reader gives (no engine can stage it as UTF-8 text)."""

    where: tuple[str | int, ...]


def _refuse_constant(name: str) -> None:
    raise ValueError(name)


def _string(text: str) -> object:
    return text


_CONVERTERS: tuple[tuple[str, Callable[[str], object]], ...] = (
    ("boolean", _boolean),
    ("integer", _integer),
    ("number", _number),
    ("object", _json_of("object")),
    ("array", _json_of("array")),
    ("string", _string),
)


@attrs.frozen
class _Column:
    index: int
    path: tuple[str, ...]
    convert: Callable[[str], object] | None  # None: the cell stays a string
    expected: str


#: How a schema-less cell is typed by its field's use in the policy (policy.io.csv_typing).
_BY_USE = {"number": (_number, "a number"),
           "boolean": (_boolean, "a boolean (true/false, yes/no, 1/0)")}


def _column(index: int, path: tuple[str, ...], schema: LeadSchema | None,
            kinds: Mapping[tuple[str, ...], str] | None = None) -> _Column:
    info = schema.lookup(path) if schema is not None else None
    if schema is None and kinds is not None and kinds.get(path) in _BY_USE:
        convert, expected = _BY_USE[kinds[path]]
        return _Column(index, path, convert, expected)
    types = info.types if info is not None else frozenset()
    steps = [(name, convert) for name, convert in _CONVERTERS if name in types]
    if not types & {"boolean", "integer", "number"} and ("string" in types or not steps):
        # Unknown fields, text fields and null-only fields keep the cell as written; so
        # do fields that allow a string besides objects or arrays (a cell is text first).
        return _Column(index, path, None, "string")
    expected = " or ".join(name for name, _ in steps)
    if len(steps) == 1:
        return _Column(index, path, steps[0][1], expected)
    converters = [convert for _, convert in steps]

    def convert(text: str) -> object:
        for step in converters:
            value = step(text)
            if value is not _BAD:
                return value
        return _BAD

    return _Column(index, path, convert, expected)


def _header_path(name: str, schema: LeadSchema | None) -> tuple[str, ...]:
    if schema is not None and schema.lookup((name,)) is not None:
        return (name,)
    parts: list[str] = []
    pos = 0
    while True:
        match = _HEADER_PART.match(name, pos)
        assert match is not None  # the pattern matches the empty string
        quoted, plain = match.groups()
        part = quoted.replace("``", "`") if quoted is not None else plain.strip()
        parts.append(part)
        pos = match.end()
        if pos >= len(name):
            break
        if name[pos] != ".":
            raise LeadFileError(f"CSV header {name!r}: a backtick must close before a dot")
        pos += 1
        if pos == len(name):
            parts.append("")
            break
    if any(part == "" for part in parts):
        raise LeadFileError(f"CSV header {name!r}: a field path has an empty part")
    return tuple(parts)


def _columns(header: list[str], schema: LeadSchema | None,
             kinds: Mapping[tuple[str, ...], str] | None = None) -> list[_Column]:
    columns: list[_Column] = []
    seen: dict[tuple[str, ...], str] = {}
    for index, cell in enumerate(header):
        name = cell.strip()
        if index == 0:
            name = name.removeprefix("\ufeff").strip()
        if not name:
            continue
        path = _header_path(name, schema)
        if path in seen:
            raise LeadFileError(f"CSV header: column {name!r} appears twice")
        seen[path] = name
        columns.append(_column(index, path, schema, kinds))
    for path, name in seen.items():
        for end in range(1, len(path)):
            if path[:end] in seen:
                raise LeadFileError(
                    f"CSV header: column {seen[path[:end]]!r} is a field, but column"
                    f" {name!r} makes it an object"
                )
    return columns


TOO_LONG = f"the record is longer than {MAX_RECORD_CHARS // (1024 * 1024)} MiB"


class _Bounded:
    """The lines of a stream, each cut to ``limit + 1`` characters (the rest of a longer
    line is skipped a chunk at a time, so a line of gigabytes never sits in memory);
    ``cut`` says a line was cut since the caller last cleared it."""

    def __init__(self, stream: TextIO, limit: int) -> None:
        self.readline = getattr(stream, "readline", None)
        self.lines = iter(stream)
        self.limit = limit
        self.cut = False
        #: a line read ahead (the header, to find its delimiter), handed out first
        self.pending: list[str] = []
        #: the stream has ended: the csv reader asks for a line past the end only while
        #: a record is open, so a row it returns after that ran to the end in a quote
        self.ended = False

    def __iter__(self) -> _Bounded:
        return self

    def __next__(self) -> str:
        if self.pending:
            return self.pending.pop()
        if self.readline is None:
            line = next(self.lines, "")
        else:
            line = self.readline(self.limit + 1)
        if not line:
            self.ended = True
            raise StopIteration
        if self.readline is None:
            return line
        if len(line) > self.limit and not line.endswith(("\n", "\r")):
            while True:
                rest = self.readline(1 << 16)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            self.cut = True
            line += "\n"
        return line


def read_csv(stream: TextIO, schema: LeadSchema | None,
             kinds: Mapping[tuple[str, ...], str] | None = None, delimiter: str | None = None,
             on_note: Callable[[str], None] | None = None) -> Iterator[Record]:
    """Records of a CSV file (see :func:`policy.io.leads.read_records`). ``kinds`` types
    the cells of a schema-less file by their field's use (:mod:`policy.io.csv_typing`);
    ``delimiter`` None reads a header that does not split on commas with ``;`` or tab
    (:func:`policy.io.sniff.choose_delimiter`), telling ``on_note``."""
    # A lead may carry a long text (notes, a pasted e-mail); the default limit is 128 KiB.
    # The bound is the record limit: a longer cell is an error record, and the lines are
    # read with a bound too, so a line of gigabytes never sits in memory whole.
    if csv.field_size_limit() != MAX_RECORD_CHARS:
        csv.field_size_limit(MAX_RECORD_CHARS)
    lines = _Bounded(stream, MAX_RECORD_CHARS)
    if delimiter is None:
        from policy.io.sniff import choose_delimiter

        first = next(lines, "")
        delimiter, note = choose_delimiter(first.lstrip("\ufeff").rstrip("\r\n"))
        if note and on_note is not None:
            on_note(note)
        if first:
            lines.pending.append(first)
        lines.cut = False
    reader = csv.reader(lines, delimiter=delimiter)
    columns: list[_Column] | None = None
    width = 0
    done = 0  # lines read so far; the next row starts on the line after
    while True:
        start = done + 1
        lines.cut = False
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            why = TOO_LONG if lines.cut else f"not valid CSV: {error}"
            yield failed_record(start, why)
            if reader.line_num <= done:
                return  # the reader is stuck; nothing after this can be read
            done = reader.line_num
            continue
        done = reader.line_num
        if lines.cut:  # a line past the record limit: never a lead with a cut cell
            yield failed_record(start, TOO_LONG)
            continue
        if lines.ended:  # a quote never closed: its cell took every line to the end
            where = f"a quoted cell runs from line {start} to the end of the file"
            if columns is None:
                raise LeadFileError(f"CSV header: {where}: is a closing quote missing?")
            yield failed_record(start, f"{where}: is a closing quote missing?")
            return
        if not row or all(not cell or cell.isspace() for cell in row):
            continue
        if any(not cell.isascii() and SURROGATE(cell) for cell in row):
            yield failed_record(start, NOT_UTF8)
            continue
        if columns is None:
            columns = _columns(row, schema, kinds)
            width = len(row)
            continue
        if len(row) != width:
            message = f"expected {width} cells, found {len(row)}"
            if reader.line_num > start and any("\n" in cell or "\r" in cell for cell in row):
                # the usual cause: a quote that opens a cell and is never closed
                message += (f" (a quoted cell runs from line {start} to line "
                            f"{reader.line_num}: is a closing quote missing?)")
            yield failed_record(start, message)
            continue
        yield _typed_row(start, row, columns)


def _typed_row(line: int, row: list[str], columns: list[_Column]) -> Record:
    lead: dict[str, Any] = {}
    problems: list[Problem] = []
    for column in columns:
        cell = row[column.index]
        if not cell or cell.isspace():
            continue
        value: object = cell
        if column.convert is not None:
            value = column.convert(cell)
            if type(value) is _LoneSurrogate:
                problems.append(Problem(format_path(column.path + value.where), LONE_SURROGATE))
                value = cell
            elif value is _BAD:
                value = cell
                problems.append(
                    Problem(
                        format_path(column.path),
                        f"expected {column.expected}, found {json.dumps(cell, ensure_ascii=False)}",
                    )
                )
        path = column.path
        target = lead
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    if problems:
        problems.sort()
        message = "; ".join(f"{p.path}: {p.message}" for p in problems)
        return Record(line, lead, message, tuple(problems))
    return Record(line, lead)
