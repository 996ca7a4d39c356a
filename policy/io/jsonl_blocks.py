"""JSON Lines in blocks of whole lines: cut cheaply in one process, decoded in any.

``funnel eval`` reads a JSON Lines file as :class:`JsonlBlock` values
(:func:`jsonl_blocks`): bytes ending at a line end, with the number of their first
line. Cutting costs a ``rfind`` and three ``count`` calls per block, so the process that
reads the file never decodes it; :meth:`JsonlBlock.records` decodes a block, in whichever
process decides it, into exactly the records :func:`policy.io.leads.read_records` gives
for those lines (same line numbers, same error records).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, BinaryIO

import attrs

from policy.io.leads import (
    MAX_RECORD_CHARS,
    TOO_LONG_MESSAGE,
    fast_decode,
    jsonl_record_stdlib,
    object_or_error,
)
from policy.io.records import Record, failed_record

__all__ = ["BLOCK_BYTES", "JsonlBlock", "jsonl_blocks"]

#: About how many bytes a block holds: about 1,700 leads of `rules/`. Each block is one
#: task for a worker process (``--jobs``), and every task costs the main process a few
#: milliseconds of the pool's threads whatever its size: at 256 KiB that was a fifth of
#: the work, at 1 MiB it is a twentieth (bench/README.md, issue 13).
BLOCK_BYTES = 1 << 20


def jsonl_blocks(binary: BinaryIO | IO[bytes], size: int = BLOCK_BYTES) -> Iterator[JsonlBlock]:
    """Cut a JSON Lines byte stream into blocks of whole lines, in order.

    Each block is about ``size`` bytes (a longer line makes a longer block). Lines end
    at ``\\n``, ``\\r\\n`` or ``\\r``, as `read_records` counts them; I/O errors of
    ``binary`` propagate.
    """
    # read1: a pipe gives what it has, so a slow producer's leads are not held back
    read = getattr(binary, "read1", binary.read)
    line = 1
    first = True
    rest = b""
    while True:
        data = read(size)
        if not data:
            if rest:
                yield JsonlBlock(rest, line, first)
            return
        data = rest + data if rest else data
        cut = data.rfind(b"\n") + 1
        if not cut:
            rest = data
            if len(rest) > MAX_RECORD_CHARS:
                # A line of gigabytes (or /dev/zero): one error record, then skip to the
                # next line end with constant memory.
                yield JsonlBlock(b"", line, first, too_long=True)
                first = False
                rest = _skip_line(read, size, rest)
                line += 1
                if rest is None:
                    return
            continue
        block, rest = data[:cut], data[cut:]
        yield JsonlBlock(block, line, first)
        line += _count_lines(block)
        first = False


def _skip_line(read, size: int, data: bytes) -> bytes | None:
    """The bytes after the end of the current line, or None at the end of the file."""
    while True:
        ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
        if ends:
            end = min(ends)
            if data[end:end + 2] == b"\r\n":
                end += 1
            return data[end + 1:]
        data = read(size)
        if not data:
            return None


def _count_lines(block: bytes) -> int:
    """Lines in ``block`` (which ends with ``\\n``) as universal newlines count them."""
    lines = block.count(b"\n")
    cr = block.count(b"\r")
    if cr:
        lines += cr - block.count(b"\r\n")
    return lines


@attrs.frozen
class JsonlBlock:
    """Whole lines of a JSON Lines file: ``data`` (bytes), the number of its first line,
    and whether it starts the file (where a byte order mark may stand)."""

    data: bytes
    line: int
    first: bool = False
    #: a single line longer than `MAX_RECORD_CHARS`, skipped: one error record
    too_long: bool = False

    @property
    def size(self) -> int:
        """Bytes in the block (for progress)."""
        return len(self.data)

    def records(self) -> list[Record]:
        """The records of the block, as `read_records` gives them for these lines."""
        if self.too_long:
            return [failed_record(self.line, TOO_LONG_MESSAGE)]
        data = self.data
        if self.first and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # utf-8-sig, as `text_stream` reads
        text = data.decode("utf-8", "surrogateescape")
        if "\r" in text:
            lines = list(io.StringIO(text, newline=""))  # \r and \r\n end lines too
        else:
            lines = [piece + "\n" for piece in text.split("\n")]
            last = lines.pop()
            if last != "\n":  # the file's last line, without a line end
                lines.append(last[:-1])
        out = []
        number = self.line - 1
        decode = fast_decode
        for line in lines:
            number += 1
            if number == 1 and self.first and line.startswith("\ufeff"):
                line = line[1:]
            if not line or line.isspace():
                continue
            # policy.io.leads.jsonl_record, inlined: this runs once per lead of the file.
            try:
                value = decode(line)
            except Exception:  # noqa: BLE001 - the standard library reads it and explains
                out.append(jsonl_record_stdlib(number, line))
                continue
            out.append(Record(number, value) if type(value) is dict
                       else object_or_error(number, value))
        return out
