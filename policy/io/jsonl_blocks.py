"""JSON Lines in blocks of whole lines: cut cheaply in one process, decoded in any.

``funnel eval`` reads a JSON Lines file as :class:`JsonlBlock` values
(:func:`jsonl_blocks`): bytes ending at a line end, with the number of their first
line. Cutting costs a ``rfind`` and three ``count`` calls per block, so the process that
reads the file never decodes it; :meth:`JsonlBlock.records` decodes a block, in whichever
process decides it, into exactly the records :func:`policy.io.leads.read_records` gives
for those lines (same line numbers, same error records).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO

import attrs

from policy.io.leads import (
    MAX_RECORD_CHARS,
    TOO_LONG_MESSAGE,
    beyond_record,
    fast_decode,
    jsonl_record,
    object_or_error,
)
from policy.io.records import (
    MAX_NESTING,
    TOO_DEEP,
    Record,
    failed_record,
    has_beyond,
    long_digit_run,
    too_deep,
)

__all__ = ["BLOCK_BYTES", "JsonlBlock", "ReadFailed", "jsonl_blocks"]

#: About how many bytes a block holds: about 1,700 leads of `rules/`. Each block is one
#: task for a worker process (``--jobs``), and every task costs the main process a few
#: milliseconds of the pool's threads whatever its size: at 256 KiB that was a fifth of
#: the work, at 1 MiB it is a twentieth (bench/README.md, issue 13).
BLOCK_BYTES = 1 << 20


class ReadFailed(Exception):
    """The leads stream failed half-way (an I/O error, not a bad record); here, not in
    :mod:`policy.io.batch` which raises it too, so that the workers of ``--jobs``
    (:mod:`policy.io.workers`) raise it without importing the module that imports them."""


def jsonl_blocks(binary: BinaryIO | IO[bytes], size: int = BLOCK_BYTES) -> Iterator[JsonlBlock]:
    """Cut a JSON Lines byte stream into blocks of whole lines, in order.

    Each block is about ``size`` bytes (a longer line makes a longer block). Lines end
    at ``\\n`` (or ``\\r\\n``; a lone ``\\r`` is white space inside a line, as JSON Lines
    has it), as `read_records` counts them; I/O errors of ``binary`` propagate.
    """
    # read1: a pipe gives what it has, so a slow producer's leads are not held back
    read = getattr(binary, "read1", binary.read)
    line = 1
    first = True
    rest = b""
    # Where each block lies in a regular file (-1 elsewhere): a worker of --jobs reads
    # the block from the file itself, and the main process never copies it again.
    fd, at = _regular_file(binary)
    while True:
        data = read(size)
        if not data:
            if rest:
                yield JsonlBlock(rest, line, first, fd=fd, offset=at)
            return
        cut = data.rfind(b"\n") + 1
        if not cut:
            rest = rest + data
            if len(rest) > MAX_RECORD_CHARS:
                # A line of gigabytes (or /dev/zero): one error record, then skip to the
                # next line end with constant memory.
                yield JsonlBlock(b"", line, first, too_long=True)
                first = False
                rest = _skip_line(read, size, rest)
                line += 1
                at = fd = -1  # (the skipped bytes are not counted: no ranges from here)
                if rest is None:
                    return
            continue
        # One copy of the block (not `rest + data`, then a slice of that): the main
        # process of --jobs cuts every block, and its time is the speed-up's limit.
        if rest:
            block = b"".join((rest, memoryview(data)[:cut]))
        else:
            block = data if cut == len(data) else data[:cut]
        rest = data[cut:]
        yield JsonlBlock(block, line, first, fd=fd, offset=at)
        if at >= 0:
            at += len(block)
        line += _count_lines(block)
        first = False


def _regular_file(binary: Any) -> tuple[int, int]:
    """``(descriptor, offset)`` of the regular file whose bytes ``binary`` gives from
    here on, at the offset of the next byte it gives; ``(-1, -1)`` for a pipe, a
    terminal, a stream that decodes what it reads, or anything else. ``binary`` tells
    through ``input_fd()`` (the command's counting reader, ``cli.leadfile.Source``) or
    ``fileno()``, and ``tell()``."""
    try:
        raw = getattr(binary, "raw", None)
        fd = raw.input_fd() if hasattr(raw, "input_fd") else binary.fileno()
        if fd is None or fd < 0 or not stat.S_ISREG(os.fstat(fd).st_mode):
            return -1, -1
        at = binary.tell()
    except (OSError, ValueError, AttributeError, TypeError):
        return -1, -1
    return (fd, at) if type(at) is int and at >= 0 else (-1, -1)


def _skip_line(read, size: int, data: bytes) -> bytes | None:
    """The bytes after the end of the current line, or None at the end of the file."""
    while True:
        end = data.find(b"\n")
        if end >= 0:
            return data[end + 1:]
        data = read(size)
        if not data:
            return None


def _count_lines(block: bytes) -> int:
    """Lines in ``block`` (which ends with ``\\n``): a lone ``\\r`` ends no line."""
    return _newlines(block)


def _newlines(block: bytes) -> int:
    """``block.count(b"\\n")``, faster for lines of leads. ``bytes.count`` of one byte
    compares every byte in a plain loop; ``replace`` finds each line end with ``memchr``
    and copies the bytes between them, all in C: a block of `rules/` leads is counted
    in half the time of a ``find`` loop from line end to line end in Python (0.05
    against 0.105 µs a lead), and in under a third of ``count``'s. The main process of
    ``--jobs`` counts every block (to number the next block's lines), so its time is
    the speed-up's limit (bench/README.md, fourth and sixth sessions). Short lines (a
    sample averages under 256 bytes) are counted by ``count``, which is then the
    cheaper."""
    if block.count(b"\n", 0, 1 << 13) > 32:  # the first 8 KiB: a glance, not a count
        return block.count(b"\n")
    return len(block) - len(block.replace(b"\n", b""))


@attrs.frozen
class JsonlBlock:
    """Whole lines of a JSON Lines file: ``data`` (bytes), the number of its first line,
    and whether it starts the file (where a byte order mark may stand)."""

    data: bytes
    line: int
    first: bool = False
    #: a single line longer than `MAX_RECORD_CHARS`, skipped: one error record
    too_long: bool = False
    #: the regular file the block was read from, and the block's offset in it (-1 when
    #: not from one): what a worker of ``--jobs`` reads in place of a copy of ``data``
    fd: int = attrs.field(default=-1, eq=False, repr=False)
    offset: int = attrs.field(default=-1, eq=False, repr=False)

    @property
    def size(self) -> int:
        """Bytes in the block (for progress)."""
        return len(self.data)

    def records(self) -> list[Record]:
        """The records of the block, as `read_records` gives them for these lines."""
        return list(self.iter_records())

    def iter_records(self) -> Iterator[Record]:
        """:meth:`records`, each read as it is asked for (see :meth:`iter_leads`)."""
        for number, value in self.iter_leads():
            yield value if type(value) is Record else Record(number, value)

    def leads(self) -> list[tuple[int, dict | Record]]:
        """``(line, lead)`` for each record of the block, in order: the lead as a
        ``dict``, or the error :class:`Record` of a line that could not be read.

        The same records as :meth:`records` without a `Record` made for every lead.
        """
        return list(self.iter_leads())

    def iter_leads(self, decide: Callable[[bytes, int], Any] | None = None,
                   as_of_us: int = 0) -> Iterator[tuple[int, Any]]:
        """:meth:`leads`, one at a time: ``funnel eval`` decides and encodes each lead
        as soon as it is read, so that only one lead, not a block's thousand, is live
        at a time (they stay in the processor's caches: bench/README.md, fifth
        session). This runs once per lead of the file (``funnel eval``'s reading).

        With ``decide`` (a policy's :attr:`~policy.Policy.line_decider`), a line it
        decides at ``as_of_us`` yields its decision in place of the lead: the lead's
        dict is never built (bench/README.md, sixth session). When it leaves more than
        a quarter of a block's lines to the dict path (leads with keys the schema does
        not declare, say), the rest of the block is read without it. A line that may
        hold an integer beyond a double's range (309 digits in a row) takes the dict
        path, which refuses the lead when it does (spec section 9)."""
        if self.too_long:
            yield self.line, failed_record(self.line, TOO_LONG_MESSAGE)
            return
        data = self.data
        if self.first and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # utf-8-sig, as `text_stream` reads
        # Lines as bytes: msgspec reads UTF-8 bytes as it reads the same text, and
        # refuses bytes that are not UTF-8; only a line it refuses (not JSON, bad
        # bytes, a blank line, a value past its range) is decoded to text and read as
        # `read_records` reads it.
        pieces = data.split(b"\n")
        ends_line = not pieces[-1]
        if ends_line:
            pieces.pop()
        number = self.line - 1
        decode = fast_decode
        last = len(pieces) - 1
        missed = 0
        shallow = 2 * MAX_NESTING
        # 309 digits in a row in some line of the block (rare): only then is each line
        # looked at (a block of `rules/` leads costs about 0.1 µs a line)
        maybe_big = long_digit_run(data)
        for i, piece in enumerate(pieces):
            number += 1
            deep = len(piece) > shallow and too_deep(piece)
            big = maybe_big and long_digit_run(piece)
            if decide is not None and not deep and not big:
                try:
                    decision = decide(piece, as_of_us)
                except ArithmeticError:  # the dict path refuses the lead, and says why
                    decision = None
                if decision is not None:
                    yield number, decision
                    continue
                missed += 1
                if missed >= 16 and missed * 4 > i:
                    decide = None
            try:
                if deep:  # msgspec may read it: the text path refuses it, as read_records
                    raise ValueError(TOO_DEEP)
                value = decode(piece)
            except Exception:  # noqa: BLE001 - the text path reads it and explains
                line = piece.decode("utf-8", "surrogateescape")
                record = self._line_record(number, line + "\n" if ends_line or i < last
                                           else line)
                if record is not None:  # a value msgspec refuses may still be a lead
                    yield number, (record.value if record.error is None else record)
                continue
            if type(value) is dict:
                yield number, (beyond_record(number, value) if big and has_beyond(value)
                               else value)
            else:
                yield number, object_or_error(number, value)

    def _line_record(self, number: int, line: str) -> Record | None:
        """The record of one line of text (with its line end), None for a blank line."""
        if number == 1 and self.first and line.startswith("\ufeff"):
            line = line[1:]
        if not line or line.isspace():
            return None
        return jsonl_record(number, line)
