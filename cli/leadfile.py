"""Reading the leads a command is given: a path or standard input, the `--as-of` option,
and a progress bar over the bytes read.

Shared by ``eval``, ``explain`` and ``diff --leads``: whatever cannot be opened or is not
UTF-8 text at all exits with status 2 and one line (spec section 9).
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

import click

from .common import fail_usage

#: Inputs larger than this get a progress bar (on a terminal only).
PROGRESS_BYTES = 1 << 20


# --------------------------------------------------------------------------- options


def parse_as_of(ctx: click.Context | None, param: click.Parameter | None, value: str | None
                ) -> int | None:
    """``--as-of``: an ISO-8601 date or date-time; no offset means UTC. None: now."""
    if value is None:
        return None
    from policy import parse_timestamp

    us = parse_timestamp(value.strip(), kind="any")
    if us is None:
        # a well-formed time whose offset moves it past 9999 or before year 1 in UTC
        wall = re.sub(r"(?:[+-]\d\d(?::?\d\d)?|[Zz])$", "", value.strip())
        if (wall != value.strip() and len(wall) > 10
                and parse_timestamp(wall, kind="date-time") is not None):
            raise click.BadParameter(
                f"{value!r} is outside the instants a decision can hold "
                "(0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)")
        raise click.BadParameter(
            f"expected an ISO-8601 date or date-time such as 2026-11-02T15:00:00Z, "
            f"found {value!r}"
        )
    return us


def as_of_option(f: Callable) -> Callable:
    """The ``--as-of`` option of ``eval``, ``explain``, ``diff`` and ``report`` (``sql``'s
    default differs: the time its statement runs)."""
    return click.option(
        "--as-of", "as_of", metavar="TIME", callback=parse_as_of,
        help="Decide as of this instant (ISO-8601; no offset means UTC). Default: now.",
    )(f)


def parse_local_tz(ctx: click.Context | None, param: click.Parameter | None,
                   value: str | None) -> str | None:
    """``--local-tz``: an IANA zone name, checked here so a typo is a usage error (exit
    2) before any policy or lead is read."""
    if value is None:
        return None
    from policy import local_zone

    try:
        local_zone(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def local_tz_option(f: Callable) -> Callable:
    """The ``--local-tz`` option shared by ``eval``, ``explain``, ``diff`` and ``report``."""
    return click.option(
        "--local-tz", "local_tz", metavar="ZONE", callback=parse_local_tz,
        help="Read lead timestamps that have no offset (and dates) as local time in this "
             "IANA zone, e.g. America/New_York, instead of UTC. --as-of is not affected.",
    )(f)


def now_us() -> int:
    """The current instant, µs since the epoch (the default ``as_of``)."""
    import time

    return time.time_ns() // 1000


# --------------------------------------------------------------------------- input


class Source(io.RawIOBase):
    """A binary stream that first replays ``prefix`` (bytes already sniffed), then the
    rest of ``raw``, and counts the bytes handed out (for the progress bar)."""

    def __init__(self, raw: BinaryIO, prefix: bytes = b""):
        super().__init__()
        self.raw = raw
        #: the first bytes, as read before anything else (to sniff the format)
        self.head = bytes(prefix)
        self._prefix = memoryview(prefix)
        self.consumed = 0
        #: the regular file handed out, and the offset of its first byte handed out
        #: (None: not a plain regular file): see :meth:`input_fd`
        self._fd, self._base = _regular(raw, len(self.head))

    def input_fd(self) -> int | None:
        """The descriptor of the regular file whose bytes this hands out, in order
        from :meth:`tell` on, or None. The workers of ``funnel eval --jobs`` read a
        block's bytes from it themselves (``policy.io.jsonl_blocks``)."""
        return self._fd

    def tell(self) -> int:
        """The offset in the file of the next byte handed out (when :meth:`input_fd`)."""
        if self._base is None:
            raise io.UnsupportedOperation("tell")
        return self._base + self.consumed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
        elif type(self.raw) is io.BufferedReader:
            size = self.raw.readinto1(buffer)  # straight into the buffer, no copy
        else:
            data = self.raw.read(len(buffer))
            size = len(data or b"")
            buffer[:size] = data or b""
        self.consumed += size
        return size


def _regular(raw: Any, read: int) -> tuple[int | None, int | None]:
    """``(descriptor, offset)`` of the first of the ``read`` bytes already read from
    ``raw`` when it is a plain reader of a regular file (not a pipe, not decoded)."""
    if type(raw) is not io.BufferedReader:
        return None, None
    try:
        fd = raw.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, None
        base = raw.tell() - read
    except (OSError, ValueError):
        return None, None
    return (fd, base) if base >= 0 else (None, None)


def open_leads(leads: str) -> tuple[Source, int | None, str]:
    """Open LEADS (a path or ``-``) for reading bytes: (stream, size or None, shown name).

    Exits with status 2 and one line when it cannot be opened, or when its first
    bytes are not UTF-8 text at all (a spreadsheet, an archive, UTF-16). A stray bad
    byte further on becomes an error record of the record that holds it.
    """
    if leads == "-":
        raw: BinaryIO = sys.stdin.buffer
        size, shown = None, "standard input"
    else:
        try:
            raw = open(leads, "rb")  # noqa: SIM115 - closed by the caller
            size = os.fstat(raw.fileno()).st_size
        except IsADirectoryError:
            fail_usage(f"{leads}: is a directory, not a file of leads")
        except OSError as exc:
            fail_usage(f"{leads}: cannot read: {exc.strerror or exc}")
        shown = leads
    try:
        head = raw.read(1 << 16) or b""
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) and _utf16_text(head):
            # Excel's "Unicode text" export: UTF-16 with a byte-order mark, read as UTF-8
            raw, head = _Utf16(raw, head), b""
            head = raw.read(1 << 16) or b""
    except OSError as exc:
        _close(raw, leads)
        fail_usage(f"{shown}: cannot read: {exc.strerror or exc}")
    problem = sniff_problem(head)
    if problem is not None:
        _close(raw, leads)
        if head.startswith(_PARQUET):
            fail_usage(_parquet_here(leads, shown))
        fail_usage(f"{shown}: {problem}; export the leads as UTF-8 JSON Lines, JSON or CSV")
    return Source(raw, head), size, shown


#: The first bytes of a Parquet file.
_PARQUET = b"PAR1"


def _parquet_here(leads: str, shown: str) -> str:
    """What to say of a Parquet file where text was expected. It was "not UTF-8 text
    (byte 5); export the leads as UTF-8 JSON Lines, JSON or CSV", which sent a user
    with a Parquet export, that `eval` and `report` read, to export it again."""
    ctx = click.get_current_context(silent=True)
    command = ctx.info_name if ctx is not None else None
    if command in ("eval", "report"):
        if leads == "-":
            return "Parquet cannot be read from standard input: give the file's path"
        return f"{shown}: a Parquet file: give --input-format parquet, or name it *.parquet"
    return (f"{shown}: a Parquet file: `funnel {command or 'explain'}` reads leads from "
            "JSON Lines, JSON or CSV")


_UNDECODED = re.compile("[\udc80-\udcff]+").finditer  # a run of bad bytes counts once
_NULS = re.compile("\x00+").finditer  # and so does a run of NUL bytes


def sniff_problem(head: bytes) -> str | None:
    """Why the first bytes of a leads file show it is not text at all, or None.

    Three or more runs of NUL bytes or of bytes that are not UTF-8, or four NULs in a row
    (a spreadsheet, an archive, UTF-16, /dev/zero, another encoding) refuse the file; one
    or two stray ones do not: the record that holds one becomes an error record (a NUL is
    a control character no JSON text holds raw), as beyond the first 64 KiB.
    """
    text = head.decode("utf-8", "surrogateescape")
    bad = [m.start() for m in _UNDECODED(text)]
    if text and "\udc80" <= text[-1] <= "\udcff":
        # a multi-byte character cut by the end of the sniffed block is fine
        while bad and bad[-1] >= len(text) - 3:
            bad.pop()
    runs = list(_NULS(text))
    nul = [m.start() for m in runs]
    if len(nul) + len(bad) >= 3 or any(m.end() - m.start() >= 4 for m in runs):
        # the byte offset of the first sign (characters before it may be multi-byte)
        first = min(nul[:1] + bad[:1])
        what = "binary, not text" if nul and first == nul[0] else "not UTF-8 text"
        return f"{what} (byte {len(text[:first].encode('utf-8', 'surrogateescape'))})"
    return None


def _utf16_text(head: bytes) -> bool:
    """Whether bytes behind a UTF-16 byte-order mark read as text (mostly ASCII, as a
    spreadsheet export is), not as a binary file that happens to start like one."""
    text = head[: len(head) - len(head) % 2].decode("utf-16", "replace").lstrip("\ufeff")
    return bool(text) and sum(c.isascii() for c in text) * 2 >= len(text)


class _Utf16(io.RawIOBase):
    """A UTF-16 stream (with its byte-order mark) handed out as UTF-8 bytes."""

    def __init__(self, raw: Any, head: bytes) -> None:
        import codecs

        super().__init__()
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        self._pending = self._decoder.decode(head).encode("utf-8", "surrogateescape")
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        while not self._eof and (size < 0 or len(self._pending) < size):
            chunk = self._raw.read(1 << 16)
            self._eof = not chunk
            self._pending += self._decoder.decode(chunk or b"", final=self._eof).encode(
                "utf-8", "surrogateescape")
        if size < 0:
            size = len(self._pending)
        out, self._pending = self._pending[:size], self._pending[size:]
        return out

    def close(self) -> None:
        self._raw.close()
        super().close()


def _close(raw: BinaryIO, leads: str) -> None:
    if leads != "-":
        raw.close()


class Bar:
    """click's progress bar over bytes read, drawn on standard error."""

    def __init__(self, size: int):
        self._bar = click.progressbar(length=size, label="deciding", file=sys.stderr,
                                      show_pos=False, show_percent=True)
        self._bar.__enter__()
        self.length = size
        self.pos = 0

    def update(self, step: int) -> None:
        if step > 0:
            self._bar.update(step)
            self.pos += step

    def render_finish(self) -> None:
        self._bar.__exit__(None, None, None)


def progress_bar(size: int | None, *, to_file: bool) -> Bar | None:
    """A progress bar only for a large file, only when standard error is a terminal,
    and only when the records do not go to that same terminal (never in pipes, files
    or tests)."""
    if size is None or size < PROGRESS_BYTES:
        return None
    if not _isatty(sys.stderr) or (not to_file and _isatty(sys.stdout)):
        return None
    return Bar(size)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
