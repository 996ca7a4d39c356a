"""`funnel fmt`: rewrite policy files in the one canonical layout, comments kept.

The layout and the safety check live in :mod:`policy.syntax.formatter`; this command
finds the files, reads and writes them, prints diffs and chooses the exit status.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import click

from policy import (
    MAX_FILE_BYTES,
    FormatResult,
    InputError,
    atomic_write,
    display_path,
    format_source,
    is_policy_file,
    use_color,
)
from policy import POLICY_SUFFIX as SUFFIX
from policy import read_policy_text as read_text
from policy import render_diagnostics as render_all
from policy import terminal_text as terminal

from .common import OK, PROBLEMS, USAGE, fail_usage, say
from .output import stdout_write

STDIN = "-"


def funnel_files(path: Path) -> list[Path]:
    """The ``*.funnel`` files under a directory, sorted, hidden files and directories skipped."""
    found: list[Path] = []
    for root, dirs, files in os.walk(path):
        # `.git`, `.venv` and the like never hold the policy and can be large
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += (Path(root) / f for f in sorted(files) if is_policy_file(f))
    return found


def _targets(paths: tuple[str, ...]) -> list[Path]:
    """Every file to format, each once, in argument order; exit 2 on a bad path."""
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            fail_usage(f"{raw}: no such file or directory")
        if p.is_dir():
            files = funnel_files(p)
            if not files:
                fail_usage(f"{raw}: no *{SUFFIX} files in this directory")
        else:
            files = [p]
        for f in files:
            # realpath, not Path.resolve: a symbolic-link loop must reach the reader
            # (one line, exit 2), not raise here
            key = Path(os.path.realpath(f))
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def unified_diff(before: str, after: str, name: str) -> str:
    """A unified diff from ``before`` to ``after``, ready for ``patch -p0``.

    Lines are split at LF only (a CRLF line keeps its CR, as ``patch`` wants): a policy
    line ends there, and ``str.splitlines`` also split at a CR, VT, FF, U+2028 … inside a
    comment or a string, which gave the diff lines with no ``+``/``-``/`` `` mark. The
    diff goes to a terminal or a CI log, so every other control character (a comment's
    ``\x1b[…`` or lone CR), like the file name, is written as a visible escape
    (:func:`policy.terminal_text`); a hunk that holds one does not apply with ``patch``.
    """
    a = _lines(before)
    b = _lines(after)
    lines = []
    for line in difflib.unified_diff(a, b, fromfile=terminal(name), tofile=terminal(name)):
        end = "\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else ""
        line = terminal(line[: len(line) - len(end)]) + end
        if not end:
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return "".join(lines)


def _lines(text: str) -> list[str]:
    """``text`` split after each LF, line ends kept."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    return [*out, parts[-1]] if parts[-1] else out


def _write(path: Path, text: str) -> None:
    """Replace the file in one step, so an interrupted run never leaves half a file."""
    atomic_write(path, text, newline="\n")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _show_problems(result: FormatResult, name: str, text: str) -> None:
    color = use_color(sys.stderr)
    click.echo(render_all(result.diagnostics, {name: text}, color=color), err=True)


def _stdin(check: bool, diff: bool) -> int:
    try:
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    except OSError as exc:  # closed (`<&-`), or a read error
        fail_usage(f"standard input: cannot read: {exc.strerror or exc}")
    if len(data) > MAX_FILE_BYTES:
        fail_usage(f"standard input: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail_usage(f"standard input: not UTF-8 text (byte {exc.start}); is it a policy file?")
    text = text[1:] if text.startswith("\ufeff") else text
    result = format_source(text, "<stdin>")
    if result.text is None:
        _show_problems(result, "<stdin>", text)
        return PROBLEMS
    if diff:
        stdout_write(unified_diff(text, result.text, "<stdin>"))
    elif not check:
        stdout_write(result.text)
    if check or diff:
        # as for files, the verdict on stderr (standard output stays empty with --check):
        # `fmt --check -` said nothing at all, only its exit status told
        click.echo("standard input would be reformatted" if result.changed
                   else "standard input already formatted", err=True)
    return PROBLEMS if (check or diff) and result.changed else OK


@click.command("fmt")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--check", is_flag=True,
              help="Change nothing; list the files that would change (exit 1 if any).")
@click.option("--diff", is_flag=True,
              help="Change nothing; print a unified diff of the changes (exit 1 if any).")
def fmt(paths: tuple[str, ...], check: bool, diff: bool) -> None:
    """Rewrite policy files in the one canonical layout, every comment kept.

    PATH is a *.funnel file or a directory (its *.funnel files, sub-directories
    included, hidden ones skipped); the default is the current directory. `-`
    reads standard input and writes the result to standard output.

    Before a file is rewritten, its new text is parsed again: unless it means
    exactly the same policy and keeps every comment, the file is left alone and
    the refusal is reported (error E111).

    \b
    Examples:
      funnel fmt rules
      funnel fmt --check rules          # in CI: exit 1 when a file is not formatted
      funnel fmt --diff rules/acme.funnel
      cat rules/acme.funnel | funnel fmt -

    Exit status: 0 done (or, with --check/--diff, nothing to change); 1 a file
    would change (--check, --diff), has a syntax error, or was refused; 2 a path
    that does not exist or cannot be read or written.
    """
    if STDIN in paths:
        if len(paths) > 1:
            fail_usage("`-` (standard input) cannot be combined with other paths")
        sys.exit(_stdin(check, diff))
    files = _targets(paths or (".",))
    status = OK
    changed = unchanged = failed = 0
    for path in files:
        name = display_path(path)
        try:
            text = read_text(path)
        except InputError as exc:
            say(f"funnel: {exc}")
            status = USAGE
            continue
        result = format_source(text, name)
        if result.text is None:
            _show_problems(result, name, text)
            failed += 1
            status = max(status, PROBLEMS)
            continue
        if not result.changed:
            unchanged += 1
            continue
        if diff:
            stdout_write(unified_diff(text, result.text, name))
        elif check:
            stdout_write(terminal(name) + "\n")
        else:
            try:
                _write(path, result.text)
            except OSError as exc:
                click.echo(f"funnel: {terminal(name)}: cannot write: {exc.strerror or exc}",
                           err=True)
                status = USAGE
                failed += 1  # not "reformatted": the file on disk is unchanged
                continue
            stdout_write(f"reformatted {terminal(name)}\n")
        changed += 1
    if check or diff:
        parts = [f"{_plural(changed, 'file')} would be reformatted"] if changed else []
        if changed:
            status = max(status, PROBLEMS)
    else:
        parts = [f"{_plural(changed, 'file')} reformatted"] if changed else []
    if unchanged:
        parts.append(f"{_plural(unchanged, 'file')} already formatted")
    if failed:
        parts.append(f"{_plural(failed, 'file')} could not be formatted")
    if parts:
        click.echo(", ".join(parts), err=True)
    sys.exit(status)
