"""Lists kept in files: ``define NAME = lines "file.txt"`` (spec section 2, v1.1).

:func:`read_entries` turns a file's bytes into entries by the spec's rules; the
loader (:mod:`policy.model.loader`) calls :func:`fill_lines` after parsing and before
the model is built, so every later phase sees the define as an ordinary list of
string literals. Nothing here touches the lead.

The rules: the file is UTF-8 (a byte-order mark is dropped); a line ends at LF or
CRLF; each line is trimmed of surrounding white space (Python's ``str.strip``, so a
stray CR or a no-break space at either end goes too); blank lines, and lines that
then start with ``#``, are skipped; every other line is one entry, kept exactly as
written (``in`` is case-sensitive). A repeated entry is W206 at the repeat, naming the
line of the first; the list keeps its first occurrence only, since membership is all
that a list of strings is used for.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from policy.io.files import read_bounded
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error, warning

__all__ = ["LinesRead", "read_entries", "fill_lines", "lines_paths"]


@attrs.frozen
class LinesRead:
    """A file's entries with the line each came from (1-based), and its repeats."""

    entries: tuple[str, ...]
    lines: tuple[int, ...]
    #: (line of the repeat, its column, the entry, line of the first occurrence)
    repeats: tuple[tuple[int, int, str, int], ...]


def read_entries(text: str) -> LinesRead:
    """The entries of a ``lines`` file's text (already decoded)."""
    text = text.removeprefix("\ufeff")
    entries: list[str] = []
    lines: list[int] = []
    first: dict[str, int] = {}
    repeats: list[tuple[int, int, str, int]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry in first:
            column = len(raw) - len(raw.lstrip()) + 1
            repeats.append((number, column, entry, first[entry]))
            continue
        first[entry] = number
        entries.append(entry)
        lines.append(number)
    return LinesRead(tuple(entries), tuple(lines), tuple(repeats))


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def lines_paths(module: n.Module) -> list[tuple[n.Define, Path]]:
    """Each ``lines`` define of a module with the path of its file."""
    base = Path(module.path).parent
    return [(d, base / d.lines.path) for d in module.decls
            if isinstance(d, n.Define) and d.lines is not None]


def _read(path: Path) -> tuple[str | None, str | None]:
    """The file's text, or None and why it cannot be used."""
    try:
        data = read_bounded(path)
    except IsADirectoryError:
        return None, "it is a directory"
    except FileNotFoundError:
        return None, "no such file"
    except OSError as exc:
        return None, f"cannot read it: {exc.strerror or exc}"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, f"not UTF-8 text (byte {exc.start}, line {line})"


def fill_lines(
    module: n.Module, diags: list[Diagnostic], sources: dict[str, str]
) -> n.Module:
    """The module with every ``lines`` define's entries read in (E110, W206 into ``diags``).

    An unreadable file leaves the list empty (the E110 stops the policy from loading).
    The file's text joins ``sources`` so that a W206 shows the offending line.
    """
    found = lines_paths(module)
    if not found:
        return module
    replaced: dict[int, n.Define] = {}
    for define, path in found:
        text, why = _read(path)
        assert define.lines is not None
        if text is None:
            diags.append(error(
                "E110", f'list file "{define.lines.path}" of `{define.name.name}` cannot be '
                        f"used: {why}", define.lines.span,
                help=f"the path is relative to the file that names it: {_display(path)}"))
            continue
        shown = _display(path)
        sources.setdefault(shown, text.removeprefix("\ufeff"))
        read = read_entries(text)
        items = tuple(
            n.String(entry, span=n.Span(shown, line, 1, line, len(entry) + 1))
            for entry, line in zip(read.entries, read.lines, strict=True))
        for line, column, entry, first in read.repeats:
            span = n.Span(shown, line, column, line, column + len(entry))
            diags.append(warning(
                "W206", f"`{entry}` is already in the list `{define.name.name}` (line {first})",
                span, help="delete the repeated line; a list holds each entry once"))
        replaced[id(define)] = attrs.evolve(
            define, value=n.ListExpr(items, span=define.lines.span))
    decls = tuple(replaced.get(id(d), d) for d in module.decls)
    return attrs.evolve(module, decls=decls)
