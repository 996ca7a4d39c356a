"""The line writer the compiled engine's source is written through (STYLE.md, rule 9).

It owns indentation and refuses anything that could start a second line, so generated
code cannot be given a line by a policy's text: comments are cleaned of every character
that could end one.
"""

from __future__ import annotations

import linecache
import re
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LineWriter", "pseudo_filename", "register_source"]

_SAFE_NAME = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)


def pseudo_filename(name: str | None, digest: str) -> str:
    """The pseudo-filename of a policy's generated source: its name and digest, when
    they are plain (``<funnel-policy halyard_inbound fdbec04e>``)."""
    name = name or "policy"
    if not _SAFE_NAME.fullmatch(name):
        name = "policy"
    digest = digest.rpartition(":")[2][:8]
    if not re.fullmatch(r"[0-9a-fA-F]{1,8}", digest):
        digest = "00000000"
    return f"<funnel-policy {name} {digest}>"


def register_source(source: str, base: str) -> str:
    """Put ``source`` in :mod:`linecache` under ``base`` (or ``base`` plus ``-N`` when
    another source holds that name), so tracebacks can show its lines."""
    lines = source.splitlines(True)
    filename, count = base, 1
    while True:
        cached = linecache.cache.get(filename)
        if cached is None or cached[2] == lines:
            # mtime None: linecache.checkcache never evicts an entry with no file behind it
            linecache.cache[filename] = (len(source), None, lines, filename)
            return filename
        count += 1
        filename = f"{base[:-1]}-{count}>"


def _clean_comment(text: str) -> str:
    """Comment text that cannot end the line: every character that is not printable
    (newlines, ``\\u2028``, ``\\x85``, form feeds: anything ``str.splitlines`` or the
    tokenizer could break at) is written as an escape; letters of any script stay."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


class LineWriter:
    """Python source, one line at a time; indentation is handled here, not by callers.

    >>> w = LineWriter()
    >>> with w.block("if x:"):
    ...     w.line("y = 1")
    >>> w.text()
    'if x:\\n    y = 1\\n'
    """

    INDENT = "    "

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._level = 0

    def line(self, text: str = "") -> None:
        """Add one line of code at the current indentation (an empty line when no text)."""
        if "\n" in text or "\r" in text:
            raise ValueError("one line at a time")
        self._lines.append(self.INDENT * self._level + text if text else "")

    def comment(self, text: str) -> None:
        """Add a ``#`` comment; any character that could end the line is escaped."""
        self.line("# " + _clean_comment(text))

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """A compound statement: ``header`` (ending in ``:``) and an indented body."""
        self.line(header)
        self._level += 1
        mark = len(self._lines)
        try:
            yield
        finally:
            if len(self._lines) == mark:
                self.line("pass")
            self._level -= 1

    def extend(self, other: LineWriter) -> None:
        """Add another writer's lines, indented to the current level."""
        pad = self.INDENT * self._level
        self._lines.extend(pad + ln if ln else "" for ln in other._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def text(self) -> str:
        """The source written so far, one ``\\n`` after every line."""
        return "".join(ln + "\n" for ln in self._lines)
