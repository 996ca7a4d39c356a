"""Lead files: read JSON Lines, a JSON array or CSV into records, one at a time.

``funnel eval`` and ``funnel diff --leads`` read their leads here (LANGUAGE.md §9).
`read_records` yields exactly one `Record` per input record, in input order, and
holds one record in memory at a time. A record that cannot be read is a `Record` with
an ``error``, never an exception, so one bad line never stops a run. When CSV cells
are typed by a schema, ``policy.model.schema`` has loaded it first.

**Opening the file.** Open it in binary and wrap it with `text_stream` (also for
standard input: ``text_stream(sys.stdin.buffer)``). That reads UTF-8, drops a byte
order mark, keeps line endings for the CSV reader, and turns bytes that are not UTF-8
into an error record for the record that holds them ("not valid UTF-8") instead of
an exception halfway through the file. A stream opened some other way works, but a
decoding error then surfaces as the stream's own exception.

**Formats.**

- *JSON Lines* (``.jsonl``, ``.ndjson``; the default): one JSON object per line;
  ``line`` is the 1-based line number. Blank lines are not records. A line that is
  not valid JSON (``NaN`` and ``Infinity`` included) or not an object is an error
  record, and the next line goes on.
- *JSON* (``.json``): an array of objects, read element by element; ``line`` is the
  element's 1-based index. A file holding a single object is read as one lead (line
  1). A file that is empty or only whitespace holds no leads. A top level that is
  neither is one error record at line 1. A syntax error ends the file: it becomes an
  error record at the index of the element where it occurred (with line and column
  in the message), after the records read before it. Memory holds one element,
  except that a syntax error may make the reader take in the rest of the file to
  tell a broken element from one that continues.
- *CSV* (``.csv``): a header row, then one lead per row; ``line`` is the line where
  the row starts (the header is line 1; a quoted cell may span lines). See
  `read_records` for headers and cell types.

A CSV header that cannot be used (a repeated column, a column that is both a field and
an object, an empty path segment) raises `LeadFileError` when the first record is
requested: there is no row that could carry the error.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO, TextIO

import attrs

from policy.engine.validate import Problem
from policy.model.schema import LeadSchema, format_path, json_type_name

__all__ = [
    "FORMATS",
    "LeadFileError",
    "Record",
    "detect_format",
    "read_records",
    "text_stream",
]

FORMATS = ("jsonl", "json", "csv")
"""The input formats `read_records` accepts."""

_CHUNK = 1 << 16
_SURROGATE = re.compile("[\ud800-\udfff]").search
_NOT_UTF8 = "not valid UTF-8 (the file has bytes that are not UTF-8 text)"


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


def _failed(line: int, message: str, value: object | None = None) -> Record:
    return Record(line, value, message, (Problem("", message),))


def detect_format(filename: str | os.PathLike[str] | None) -> str:
    """The format a file's name implies: ``.jsonl``/``.ndjson`` → ``"jsonl"``,
    ``.json`` → ``"json"``, ``.csv`` → ``"csv"`` (any case); anything else, ``"-"``
    or ``None`` (standard input) → ``"jsonl"``.
    """
    if filename is None:
        return "jsonl"
    suffix = os.path.splitext(os.fspath(filename))[1].lower()
    return {".json": "json", ".csv": "csv"}.get(suffix, "jsonl")


def text_stream(binary: BinaryIO | IO[bytes]) -> TextIO:
    """Wrap a binary stream the way `read_records` expects (see the module docstring).

    UTF-8 with an optional byte order mark, ``errors="surrogateescape"`` (bad bytes
    become error records) and ``newline=""`` (the CSV reader sees line endings as
    written). Closing the wrapper closes ``binary``.
    """
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")  # type: ignore[arg-type]


def read_records(stream: TextIO, *, fmt: str, schema: LeadSchema | None = None) -> Iterator[Record]:
    """Yield one `Record` per input record of ``stream``, in order.

    ``fmt`` is ``"jsonl"``, ``"json"`` or ``"csv"`` (see `detect_format`). ``schema``
    types CSV cells; JSON input is taken as it is (validation is ``policy.engine.validate``).

    CSV: the first row is the header. A header ``a.b`` nests: ``{"a": {"b": …}}``
    (a key with a dot is written in backticks: ``company.`d.b.a```; a header the
    schema knows as one top-level key, dots and all, stays one key). An empty or
    whitespace-only cell is missing: its key is absent, never null. With a schema,
    a cell is typed by its field's types, trying boolean (``true``/``false``,
    ``yes``/``no``, ``1``/``0``, any case), integer (``12``, ``-3``; ``12.0`` too),
    number (``1.5``, ``2e6``), then JSON for an object or array field, then string,
    in that order, keeping the first that fits; a cell none fits makes the record an
    error naming the field (``company.employees: expected integer, found "abc"``).
    Without a schema, or for a column the schema does not describe, every cell is a
    string, even ``12`` or ``true``. A row with another number of cells than the
    header is an error (``expected 12 cells, found 11``); a row whose cells are all
    empty is skipped like a blank line; columns with an empty header are ignored.

    Raises `LeadFileError` for an unusable CSV header and ``ValueError`` for an
    unknown ``fmt``; I/O errors of ``stream`` propagate.
    """
    if fmt == "jsonl":
        return _read_jsonl(stream)
    if fmt == "json":
        return _JsonReader(stream).records()
    if fmt == "csv":
        return _read_csv(stream, schema)
    raise ValueError(f"unknown lead format {fmt!r}: expected one of {', '.join(FORMATS)}")


# -- JSON ------------------------------------------------------------------------------


class _Decoder:
    """A strict RFC 8259 decoder: ``NaN`` and ``Infinity`` are refused, not read."""

    def __init__(self) -> None:
        self.constant: str | None = None
        decoder = json.JSONDecoder(parse_constant=self._constant)
        self.decode = decoder.decode
        self.raw_decode = decoder.raw_decode

    def _constant(self, name: str) -> None:
        # Refusing by raising would lose the place in a JSON array; note it instead.
        self.constant = self.constant or name

    def take_constant(self) -> str | None:
        name, self.constant = self.constant, None
        return name


def _object_or_error(line: int, value: object) -> Record:
    if type(value) is dict:
        return Record(line, value)
    return _failed(line, f"expected a JSON object, found {json_type_name(value)}", value)


def _read_jsonl(stream: TextIO) -> Iterator[Record]:
    decoder = _Decoder()
    decode = decoder.decode
    for number, line in enumerate(stream, 1):
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line or line.isspace():
            continue
        if not line.isascii() and _SURROGATE(line):
            yield _failed(number, _NOT_UTF8)
            continue
        try:
            value = decode(line)
        except json.JSONDecodeError as error:
            # An error at the very end is reported past the newline; point at the end.
            column = error.colno if error.lineno == 1 else len(line.rstrip("\r\n")) + 1
            yield _failed(number, f"not valid JSON: {error.msg} at column {column}")
            continue
        except (ValueError, RecursionError) as error:
            yield _failed(number, f"not valid JSON: {_decode_failure(error)}")
            continue
        constant = decoder.take_constant()
        if constant is not None:
            yield _failed(number, f"not valid JSON: {constant} is not a JSON number")
            continue
        yield _object_or_error(number, value)


def _decode_failure(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if "integer string conversion" in str(error):
        return "a number has more than 4300 digits"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


class _JsonReader:
    """Reads a JSON array element by element from a text stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.decoder = _Decoder()
        self.buf = ""
        self.pos = 0
        self.eof = False
        # Where buf[0] sits in the file: its line, and its column offset on that line.
        self.base_line = 1
        self.base_col = 0

    def more(self) -> bool:
        """Read more text, dropping what was consumed; False at the end of the file."""
        if self.eof:
            return False
        # Read at least as much as is pending, so a long element costs linear time.
        chunk = self.stream.read(max(_CHUNK, len(self.buf) - self.pos))
        if not chunk:
            self.eof = True
            return False
        if self.pos:
            done = self.buf[: self.pos]
            newlines = done.count("\n")
            if newlines:
                self.base_line += newlines
                self.base_col = len(done) - done.rfind("\n") - 1
            else:
                self.base_col += len(done)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        elif not self.buf and self.base_line == 1 and self.base_col == 0:
            chunk = chunk.removeprefix("\ufeff")
        self.buf += chunk
        return True

    def where(self, pos: int) -> str:
        before = self.buf.rfind("\n", 0, pos)
        line = self.base_line + self.buf.count("\n", 0, pos)
        column = pos - before if before >= 0 else self.base_col + pos + 1
        return f"line {line} column {column}"

    def skip_space(self) -> str:
        """The next character that is not whitespace, or '' at the end of the file."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self.more():
                return ""

    def decode_value(self) -> tuple[Any, int, int]:
        """Decode the value at ``pos``: (value, start, end) in ``buf``; raises ValueError."""
        while True:
            start = self.pos
            try:
                value, end = self.decoder.raw_decode(self.buf, start)
            except (ValueError, RecursionError):
                # Perhaps the value runs on past what is buffered: read on and retry.
                if self.more():
                    self.decoder.take_constant()
                    continue
                raise
            # A number at the end of the buffer may go on in the next chunk.
            if end == len(self.buf) and self.more():
                self.decoder.take_constant()
                continue
            return value, start, end

    def records(self) -> Iterator[Record]:
        first = self.skip_space()
        if not first:
            return
        if first != "[":
            yield self.whole_document()
            return
        self.pos += 1
        index = 0
        while True:
            char = self.skip_space()
            if char == "]" and index == 0:
                self.pos += 1
                break
            if not char:
                yield _failed(index + 1, "not valid JSON: the array is not closed with ']'")
                return
            try:
                value, start, end = self.decode_value()
            except json.JSONDecodeError as error:
                message = f"not valid JSON: {error.msg} at {self.where(error.pos)}"
                yield _failed(index + 1, message)
                return
            except (ValueError, RecursionError) as error:
                yield _failed(index + 1, f"not valid JSON: {_decode_failure(error)}")
                return
            index += 1
            self.pos = end
            constant = self.decoder.take_constant()
            if constant is not None:
                yield _failed(index, f"not valid JSON: {constant} is not a JSON number")
            elif not self.buf[start:end].isascii() and _SURROGATE(self.buf, start, end):
                yield _failed(index, _NOT_UTF8)
            else:
                yield _object_or_error(index, value)
            char = self.skip_space()
            if char == ",":
                self.pos += 1
                if self.skip_space() == "]":
                    yield _failed(
                        index + 1,
                        f"not valid JSON: a ',' before ']' at {self.where(self.pos)}",
                    )
                    return
                continue
            if char == "]":
                self.pos += 1
                break
            if not char:
                yield _failed(index + 1, "not valid JSON: the array is not closed with ']'")
            else:
                yield _failed(
                    index + 1,
                    f"not valid JSON: Expecting ',' delimiter at {self.where(self.pos)}",
                )
            return
        if self.skip_space():
            yield _failed(
                index + 1, f"not valid JSON: extra data after ']' at {self.where(self.pos)}"
            )

    def whole_document(self) -> Record:
        """A top level that is not an array: one lead object, or one error at line 1."""
        while self.more():
            pass
        text = self.buf[self.pos :]
        if not text.isascii() and _SURROGATE(text):
            return _failed(1, _NOT_UTF8)
        try:
            value = self.decoder.decode(text)
        except json.JSONDecodeError as error:
            return _failed(1, f"not valid JSON: {error.msg} at {self.where(self.pos + error.pos)}")
        except (ValueError, RecursionError) as error:
            return _failed(1, f"not valid JSON: {_decode_failure(error)}")
        constant = self.decoder.take_constant()
        if constant is not None:
            return _failed(1, f"not valid JSON: {constant} is not a JSON number")
        if type(value) is dict:
            return Record(1, value)
        return _failed(
            1, f"expected a JSON array of lead objects, found {json_type_name(value)}", value
        )


# -- CSV -------------------------------------------------------------------------------

_BAD = object()
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?").fullmatch
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?").fullmatch
_HEADER_PART = re.compile(r"`((?:[^`]|``)*)`|([^.`]*)")


def _boolean(text: str) -> object:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return _BAD


def _integer(text: str) -> object:
    text = text.strip()
    if not _INTEGER(text):
        return _BAD
    try:
        return int(text.split(".", 1)[0])
    except ValueError:  # more digits than Python converts
        return _BAD


def _number(text: str) -> object:
    text = text.strip()
    if not _NUMBER(text):
        return _BAD
    try:
        if "." not in text and "e" not in text and "E" not in text:
            return int(text)
        value = float(text)
    except ValueError:
        return _BAD
    return value if value not in (float("inf"), float("-inf")) else _BAD


def _json_of(kind: str) -> Callable[[str], object]:
    wanted = dict if kind == "object" else list
    opener = "{" if kind == "object" else "["

    def convert(text: str) -> object:
        text = text.strip()
        if not text.startswith(opener):
            return _BAD
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            return _BAD
        return value if type(value) is wanted else _BAD

    return convert


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


def _column(index: int, path: tuple[str, ...], schema: LeadSchema | None) -> _Column:
    info = schema.lookup(path) if schema is not None else None
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


def _columns(header: list[str], schema: LeadSchema | None) -> list[_Column]:
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
        columns.append(_column(index, path, schema))
    for path, name in seen.items():
        for end in range(1, len(path)):
            if path[:end] in seen:
                raise LeadFileError(
                    f"CSV header: column {seen[path[:end]]!r} is a field, but column"
                    f" {name!r} makes it an object"
                )
    return columns


def _read_csv(stream: TextIO, schema: LeadSchema | None) -> Iterator[Record]:
    # A lead may carry a long text (notes, a pasted e-mail); the default limit is 128 KiB.
    if csv.field_size_limit() < 2**31 - 1:
        csv.field_size_limit(2**31 - 1)
    reader = csv.reader(stream)
    columns: list[_Column] | None = None
    width = 0
    done = 0  # lines read so far; the next row starts on the line after
    while True:
        start = done + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield _failed(start, f"not valid CSV: {error}")
            if reader.line_num <= done:
                return  # the reader is stuck; nothing after this can be read
            done = reader.line_num
            continue
        done = reader.line_num
        if not row or all(not cell or cell.isspace() for cell in row):
            continue
        if any(not cell.isascii() and _SURROGATE(cell) for cell in row):
            yield _failed(start, _NOT_UTF8)
            continue
        if columns is None:
            columns = _columns(row, schema)
            width = len(row)
            continue
        if len(row) != width:
            yield _failed(start, f"expected {width} cells, found {len(row)}")
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
            if value is _BAD:
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
