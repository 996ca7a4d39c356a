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
  `read_records` for headers and cell types; the CSV reader is
  :mod:`policy.io.csv_leads`, the record type :mod:`policy.io.records`.

A CSV header that cannot be used (a repeated column, a column that is both a field and
an object, an empty path segment) raises `LeadFileError` when the first record is
requested: there is no row that could carry the error.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, BinaryIO, TextIO

import msgspec

from policy.engine.decision import Problem
from policy.io.bom import UTF8_SIG as _UTF8_SIG
from policy.io.records import (
    LONE_SURROGATE,
    MAX_NESTING,
    MAX_RECORD_CHARS,
    NOT_UTF8,
    SURROGATE,
    SURROGATE_ESCAPE,
    TOO_DEEP,
    LeadFileError,
    Record,
    beyond_paths,
    failed_record,
    has_beyond,
    long_digit_run,
    plain_json_errors,
    surrogate_path,
    too_deep,
)
from policy.model.schema import LeadSchema, format_path, json_type_name

__all__ = [
    "FORMATS",
    "LeadFileError",
    "Record",
    "parsed_lead_record",
    "detect_format",
    "input_format_of",
    "read_records",
    "text_stream",
]

FORMATS = ("jsonl", "json", "csv")
"""The input formats `read_records` accepts."""

_CHUNK = 1 << 16
#: A reusable msgspec decoder (see `jsonl_record`).
fast_decode = msgspec.json.Decoder().decode

#: Text no longer than this cannot nest deeper than `MAX_NESTING` (the callers' quick test).
_SHALLOW = 2 * MAX_NESTING

TOO_LONG_MESSAGE = f"the record is longer than {MAX_RECORD_CHARS // (1024 * 1024)} MiB"


def detect_format(filename: str | os.PathLike[str] | None) -> str:
    """The format a file's name implies: ``.jsonl``/``.ndjson`` → ``"jsonl"``,
    ``.json`` → ``"json"``, ``.csv`` → ``"csv"`` (any case); anything else, ``"-"``
    or ``None`` (standard input) → ``"jsonl"``.
    """
    if filename is None:
        return "jsonl"
    suffix = os.path.splitext(os.fspath(filename))[1].lower()
    return {".json": "json", ".csv": "csv"}.get(suffix, "jsonl")


def input_format_of(name: str | None, head: bytes) -> str:
    """A lead file's format (spec section 9): by its extension when that names one
    (:func:`detect_format`), else by its first bytes ``head``
    (:func:`policy.io.sniff.sniff_format`: an ``export.txt`` that holds CSV is CSV), else
    JSON Lines. Standard input (``None`` or ``"-"``) is JSON Lines."""
    if name is None or name == "-":
        return "jsonl"
    if os.path.splitext(name)[1].lower() in (".jsonl", ".ndjson", ".json", ".csv"):
        return detect_format(name)
    from policy.io.sniff import sniff_format

    return sniff_format(head) or "jsonl"


def text_stream(binary: BinaryIO | IO[bytes]) -> TextIO:
    """Wrap a binary stream the way `read_records` expects (see the module docstring).

    UTF-8 with an optional byte order mark, ``errors="surrogateescape"`` (bad bytes
    become error records) and ``newline=""`` (the CSV reader sees line endings as
    written). Closing the wrapper closes ``binary``.
    """
    return io.TextIOWrapper(binary, encoding=_UTF8_SIG, errors="surrogateescape",  # type: ignore[arg-type]
                            newline="")


def read_records(stream: TextIO, *, fmt: str, schema: LeadSchema | None = None,
                 kinds: Mapping[tuple[str, ...], str] | None = None,
                 delimiter: str | None = None,
                 on_note: Callable[[str], None] | None = None) -> Iterator[Record]:
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
    For a column the schema does not describe, every cell is a string, even ``12`` or
    ``true``. Without a schema, ``kinds`` (:func:`policy.io.csv_typing.field_kinds`)
    types a cell by how the policy uses its field: a number, a boolean, or text; a cell
    that does not fit refuses the lead. ``delimiter`` (default: a comma, or ``;`` or tab
    when the header splits into one column on commas, said to ``on_note``). A row with
    another number of cells than the header is an error (``expected 12 cells, found
    11``); a row whose cells are all empty is skipped like a blank line; columns with an
    empty header are ignored.

    Raises `LeadFileError` for an unusable CSV header and ``ValueError`` for an
    unknown ``fmt``; I/O errors of ``stream`` propagate.
    """
    if fmt == "jsonl":
        return _read_jsonl(stream)
    if fmt == "json":
        return _JsonReader(stream).records()
    if fmt == "csv":
        from policy.io.csv_leads import read_csv  # only CSV needs it (start-up)

        return read_csv(stream, schema, kinds, delimiter, on_note)
    raise ValueError(f"unknown lead format {fmt!r}: expected one of {', '.join(FORMATS)}")


# -- JSON ------------------------------------------------------------------------------


class _Decoder:
    """A strict RFC 8259 decoder: ``NaN`` and ``Infinity`` are refused, not read."""

    def __init__(self) -> None:
        self.constant: str | None = None
        self.overflow = False
        decoder = json.JSONDecoder(parse_constant=self._constant, parse_float=self._float)
        self.decode, self.raw_decode = map(plain_json_errors, (decoder.decode, decoder.raw_decode))

    def _constant(self, name: str) -> None:
        # Refusing by raising would lose the place in a JSON array; note it instead.
        self.constant = self.constant or name

    def _float(self, text: str) -> float:
        # A fraction or exponent beyond a double's range reads as an infinity, which
        # refuses the lead (spec section 9); which field holds it is found afterwards.
        value = float(text)
        if value in (math.inf, -math.inf):
            self.overflow = True
        return value

    def take_constant(self) -> str | None:
        name, self.constant = self.constant, None
        return name

    def take_overflow(self) -> bool:
        overflow, self.overflow = self.overflow, False
        return overflow


#: The error of a record holding a number beyond a double's range (spec section 9).
BEYOND_DOUBLE = "a number is beyond a double's range"


def object_or_error(line: int, value: object, text: str = "", start: int = 0,
                     end: int | None = None, overflow: bool = False) -> Record:
    """The record of a value read from JSON text: a lead, or why not. ``overflow``:
    the decoder met a fraction or exponent beyond a double's range in it; an integer
    beyond that range is looked for here, in ``text[start:end]`` (for a line msgspec
    read, :func:`jsonl_record` looks)."""
    if type(value) is dict:
        if overflow or (text and long_digit_run(text, start, end) and has_beyond(value)):
            return beyond_record(line, value)
        if SURROGATE_ESCAPE(text, start, len(text) if end is None else end):
            return _lone_surrogate_refused(line, value)
        return Record(line, value)
    return failed_record(line, f"expected a JSON object, found {json_type_name(value)}", value)


def beyond_record(line: int, value: dict) -> Record:
    """The error record of a lead holding numbers beyond a double's range: one problem
    at each (spec section 9)."""
    problems = tuple(Problem(format_path(where), f"{BEYOND_DOUBLE} (about ±1.8e308)")
                     for where in beyond_paths(value))
    return Record(line, value, BEYOND_DOUBLE, problems)


def _lone_surrogate_refused(line: int, value: dict) -> Record:
    where = surrogate_path(value)
    if where is None:
        return Record(line, value)
    return Record(line, value, LONE_SURROGATE, (Problem(format_path(where), LONE_SURROGATE),))


def parsed_lead_record(value: dict) -> Record:
    """The record of a JSON object parsed elsewhere (an example's ``lead { … }``), refused
    as `funnel eval` refuses a line holding the same JSON: a number beyond a double's
    range (a fraction or exponent is infinite once parsed, an integer is an int past
    it) or a ``\\u`` escape that makes a lone surrogate."""
    if beyond_paths(value):
        return beyond_record(1, value)
    return _lone_surrogate_refused(1, value)


def _read_jsonl(stream: TextIO) -> Iterator[Record]:
    for number, line in enumerate(_bounded_lines(stream), 1):
        if line is None:
            yield failed_record(number, TOO_LONG_MESSAGE)
            continue
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        if not line or line.isspace():
            continue
        yield jsonl_record(number, line)


def jsonl_record(number: int, line: str) -> Record:
    """The record of one JSON Lines line (not blank), read fast when it is plain JSON.

    msgspec reads JSON about three times as fast as the standard library, and what it
    accepts it reads exactly as ``json.loads`` does (integers of any size included;
    ``tests/test_batch.py`` checks it). What it refuses, the standard library reads
    (:func:`jsonl_record_stdlib`), so no line is lost and every message stays the same.
    An integer beyond a double's range (309 digits or more) refuses the lead, as
    ``1e400`` does: :func:`~policy.io.records.long_digit_run` tells the few lines that
    may hold one, cheaply, and only their values are looked at.
    """
    try:
        value = fast_decode(line)
    except Exception:  # noqa: BLE001 - anything msgspec refuses, the standard library reads
        return jsonl_record_stdlib(number, line)
    if len(line) > _SHALLOW and too_deep(line):
        return failed_record(number, TOO_DEEP)
    if type(value) is dict:
        if long_digit_run(line) and has_beyond(value):
            return beyond_record(number, value)
        return Record(number, value)
    return object_or_error(number, value)


def jsonl_record_stdlib(number: int, line: str) -> Record:
    """The record of one line by the standard library: exact messages for what is not
    JSON, and the values msgspec refuses to read (numbers past a float's range, lone
    surrogate escapes, more than 4,300 digits, deep nesting)."""
    if not line.isascii() and SURROGATE(line):
        return failed_record(number, NOT_UTF8)
    if too_deep(line):
        return failed_record(number, TOO_DEEP)
    decoder = _Decoder()
    try:  # without the line break, which SQL engines never see ("\n" in an open string)
        value = decoder.decode(line.rstrip("\r\n"))
    except json.JSONDecodeError as error:
        # An error at the very end is reported past the newline; point at the end.
        column = error.colno if error.lineno == 1 else len(line.rstrip("\r\n")) + 1
        return failed_record(number, f"not valid JSON: {error.msg} at column {column}")
    except (ValueError, RecursionError) as error:
        return failed_record(number, f"not valid JSON: {_decode_failure(error)}")
    constant = decoder.take_constant()
    if constant is not None:
        return failed_record(number, f"not valid JSON: {constant} is not a JSON number")
    return object_or_error(number, value, line, overflow=decoder.take_overflow())


def _bounded_lines(stream: TextIO) -> Iterator[str | None]:
    """The lines of ``stream``, None for one longer than `MAX_RECORD_CHARS`: a line of
    gigabytes (or /dev/zero) is skipped a chunk at a time instead of filling memory.
    Any iterable of lines works too (without the bound)."""
    readline = getattr(stream, "readline", None)
    if readline is None:
        yield from stream
        return
    while True:
        line = readline(MAX_RECORD_CHARS + 1)
        if not line:
            return
        # Lines end at LF (CRLF is LF after white space); a lone CR is not a line end
        # (JSON Lines, and `lines` files, spec section 2), but the text stream's
        # readline stops at one: what follows belongs to the same line.
        while line.endswith("\r") and len(line) <= MAX_RECORD_CHARS:
            more = readline(MAX_RECORD_CHARS + 1 - len(line))
            if not more:
                break
            line += more
        if len(line) > MAX_RECORD_CHARS and not line.endswith("\n"):
            while True:  # skip the rest of the line
                rest = readline(_CHUNK)
                if not rest or rest.endswith("\n"):
                    break
            yield None
        else:
            yield line


def _decode_failure(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return TOO_DEEP.removeprefix("not valid JSON: ")
    if "integer string conversion" in str(error):
        return "a number has more than 4300 digits"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


class _TooLong(Exception):
    """An element longer than `MAX_RECORD_CHARS`."""


_STRING_STOP = re.compile(r'["\\]')
_VALUE_STOP = re.compile(r'["\[\]{},]')


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
            # what an earlier, failed or cut-short attempt noted does not count
            self.decoder.take_constant()
            self.decoder.take_overflow()
            try:
                value, end = self.decoder.raw_decode(self.buf, start)
            except (ValueError, RecursionError):
                if len(self.buf) - start > MAX_RECORD_CHARS:
                    raise _TooLong from None
                # Perhaps the value runs on past what is buffered: read on and retry.
                if self.more():
                    continue
                raise
            # A number at the end of the buffer may go on in the next chunk.
            if end == len(self.buf) and self.more():
                continue
            if end - start > _SHALLOW and too_deep(self.buf[start:end]):
                raise RecursionError  # as when Python's own limit is met
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
                yield failed_record(index + 1, "not valid JSON: the array is not closed with ']'")
                return
            try:
                value, start, end = self.decode_value()
            except json.JSONDecodeError as error:
                message = f"not valid JSON: {error.msg} at {self.where(error.pos)}"
                yield failed_record(index + 1, message)
                return
            except (_TooLong, ValueError, RecursionError) as error:
                # Well-formed but beyond what is read (nested too deeply, a number of
                # thousands of digits, too long): this element is an error record and
                # the next one is read, so no lead after it is lost.
                message = (TOO_LONG_MESSAGE if isinstance(error, _TooLong)
                           else f"not valid JSON: {_decode_failure(error)}")
                if not self.skip_value():
                    yield failed_record(index + 1, message)
                    return
                index += 1
                yield failed_record(index, message)
                value = start = end = None
            if value is not None or start is not None:
                index += 1
                self.pos = end
                constant = self.decoder.take_constant()
                if constant is not None:
                    yield failed_record(index, f"not valid JSON: {constant} is not a JSON number")
                elif not self.buf[start:end].isascii() and SURROGATE(self.buf, start, end):
                    yield failed_record(index, NOT_UTF8)
                else:
                    yield object_or_error(index, value, self.buf, start, end,
                                          overflow=self.decoder.take_overflow())
            char = self.skip_space()
            if char == ",":
                self.pos += 1
                if self.skip_space() == "]":
                    yield failed_record(
                        index + 1,
                        f"not valid JSON: a ',' before ']' at {self.where(self.pos)}",
                    )
                    return
                continue
            if char == "]":
                self.pos += 1
                break
            if not char:
                yield failed_record(index + 1, "not valid JSON: the array is not closed with ']'")
            else:
                yield failed_record(
                    index + 1,
                    f"not valid JSON: Expecting ',' delimiter at {self.where(self.pos)}",
                )
            return
        if self.skip_space():
            yield failed_record(
                index + 1, f"not valid JSON: extra data after ']' at {self.where(self.pos)}"
            )

    def skip_value(self) -> bool:
        """Move ``pos`` past the JSON value that starts there, reading on as needed,
        without decoding it: brackets are counted iteratively and strings skipped.
        Memory stays at a chunk or two. False when the file ends inside the value."""
        depth = 0
        in_string = False
        i = self.pos
        while True:
            buf = self.buf
            while i < len(buf):
                if in_string:
                    match = _STRING_STOP.search(buf, i)
                    if match is None:
                        i = len(buf)
                        break
                    i = match.start()
                    if buf[i] == "\\":
                        if i + 1 >= len(buf):
                            break  # the escaped character is in the next chunk
                        i += 2
                        continue
                    in_string = False
                    i += 1
                    continue
                match = _VALUE_STOP.search(buf, i)
                if match is None:
                    i = len(buf)
                    break
                i = match.start()
                char = buf[i]
                if char == '"':
                    in_string = True
                elif char in "[{":
                    depth += 1
                elif char in "]}":
                    if depth == 0:
                        self.pos = i  # the array's own `]`: the value ended before it
                        return True
                    depth -= 1
                    if depth == 0:
                        self.pos = i + 1
                        return True
                elif depth == 0:  # a `,` after a scalar
                    self.pos = i
                    return True
                i += 1
            self.pos = i  # what was skipped is dropped from the buffer by more()
            if not self.more():
                return False
            i = self.pos  # 0: more() moved the text from `i` on to the buffer's start

    def whole_document(self) -> Record:
        """A top level that is not an array: one lead object, or one error at line 1."""
        while self.more():
            if len(self.buf) - self.pos > MAX_RECORD_CHARS:
                return failed_record(1, TOO_LONG_MESSAGE)
        text = self.buf[self.pos :]
        if not text.isascii() and SURROGATE(text):
            return failed_record(1, NOT_UTF8)
        if too_deep(text):
            return failed_record(1, TOO_DEEP)
        try:
            value = self.decoder.decode(text)
        except json.JSONDecodeError as error:
            where = self.where(self.pos + error.pos)
            return failed_record(1, f"not valid JSON: {error.msg} at {where}")
        except (ValueError, RecursionError) as error:
            return failed_record(1, f"not valid JSON: {_decode_failure(error)}")
        constant = self.decoder.take_constant()
        if constant is not None:
            return failed_record(1, f"not valid JSON: {constant} is not a JSON number")
        if type(value) is dict:
            return object_or_error(1, value, text, overflow=self.decoder.take_overflow())
        return failed_record(
            1, f"expected a JSON array of lead objects, found {json_type_name(value)}", value
        )
