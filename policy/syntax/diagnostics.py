"""Diagnostics: errors and warnings as values, and how they are shown.

Every phase (parse, check, load) returns :class:`Diagnostic` values; they turn
into an exception only at the API edge (:class:`PolicyError`). Rendering is
separate from the value: :func:`render` gives the ``path:line:col`` form with the
source line and a caret, :func:`to_json` a stable dict, :func:`to_github` a
workflow annotation.

Codes are stable; each is documented in docs/diagnostics.md.
"""

from __future__ import annotations

import enum
import functools
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence

import attrs

from policy.render.escape import terminal
from policy.syntax.nodes import NOWHERE, Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


#: Stop collecting after this many errors (OPA's habit): past it, more noise than help.
MAX_ERRORS = 10

CODES: dict[str, str] = {
    "E100": "syntax error",
    "E101": "unknown name or field",
    "E102": "type mismatch",
    "E103": "a name or a once-only line declared twice; the funnel line and the stages disagree",
    "E104": "unknown team, stage or state",
    "E105": "owning team changes with no handoff",
    "E106": "routes without a final `otherwise`, or lines after it",
    "E107": "bad calendar or business durations without one",
    "E108": "policy header missing or repeated; a cycle among defines and scores",
    "E109": "an example names an unknown stage, score, route or state",
    "E110": "a file the policy names (schema, `lines` list, lead file) that cannot be used",
    "E111": "`fmt` refused: its output would not parse back to the same policy and comments",
    "E112": "a line a block may hold once appears twice, or `escalate` without `sla`",
    "E113": "a declared name that is not lowercase snake_case",
    "W201": "a define or a named calendar that nothing uses",
    "W202": "a route that can never be chosen",
    "W203": "a threshold no score can reach",
    "W204": "a gate that can never pass",
    "W205": "a policy name that shadows a schema field",
    "W206": "an entry repeated in a `lines` list",
    "W207": "owners change at a jointly owned boundary with no handoff",
    "W208": "a value the schema's `enum` for that field never allows",
    "W209": "an example without an `at` time (it runs at the current time)",
    "W210": "a day or a holiday listed twice in one calendar",
    "W211": "a `reject` line whose list of agreed reasons is empty",
}


#: What each code can mean, as a stable word a script can match on (the ``kind`` of
#: ``check --format json``): the first is the code's default. The codes follow the spec's
#: table (LANGUAGE.md §6), where some codes cover several mistakes; the kind tells them
#: apart (docs/diagnostics.md, "Kinds").
KINDS: dict[str, tuple[str, ...]] = {
    "E100": ("syntax",),
    "E101": ("unknown-name",),
    "E102": ("type-mismatch",),
    "E103": ("duplicate", "funnel-mismatch", "reserved-name"),
    "E104": ("unknown-reference",),
    "E105": ("missing-handoff",),
    "E106": ("no-otherwise", "after-otherwise"),
    "E107": ("calendar",),
    "E108": ("header", "cycle", "expansion"),
    "E109": ("example",),
    "E110": ("file",),
    "E111": ("fmt-refused",),
    "E112": ("repeated-line", "escalate-without-sla"),
    "E113": ("naming",),
    "W201": ("unused-define", "unused-calendar"),
    "W202": ("unreachable-route",),
    "W203": ("unreachable-threshold",),
    "W204": ("impossible-gate",),
    "W205": ("shadowed-field",),
    "W206": ("repeated-entry",),
    "W207": ("joint-boundary",),
    "W208": ("enum-value",),
    "W209": ("example-time",),
    "W210": ("repeated-day", "repeated-holiday"),
    "W211": ("no-reasons",),
}


def _default_kind(diag: Diagnostic) -> str:
    return KINDS.get(diag.code, ("other",))[0]


def _known_kind(diag: Diagnostic, attribute: attrs.Attribute, kind: str) -> None:
    if diag.code in KINDS and kind not in KINDS[diag.code]:
        raise ValueError(f"{diag.code} has no kind {kind!r}: one of {KINDS[diag.code]}")


@attrs.frozen
class Diagnostic:
    """One finding. ``message`` is lowercase, one line; ``help`` is optional advice;
    ``kind`` which of its code's meanings this is (:data:`KINDS`)."""

    code: str
    severity: Severity
    message: str
    span: Span = NOWHERE
    help: str | None = None
    kind: str = attrs.field(default=attrs.Factory(_default_kind, takes_self=True),
                            validator=_known_kind, kw_only=True)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        s = self.span
        return (s.file, s.line, s.column, self.code, self.message)


def error(code: str, message: str, span: Span = NOWHERE, help: str | None = None, *,
          kind: str | None = None) -> Diagnostic:
    if kind is None:
        return Diagnostic(code, Severity.ERROR, message, span, help)
    return Diagnostic(code, Severity.ERROR, message, span, help, kind=kind)


def warning(code: str, message: str, span: Span = NOWHERE, help: str | None = None, *,
            kind: str | None = None) -> Diagnostic:
    if kind is None:
        return Diagnostic(code, Severity.WARNING, message, span, help)
    return Diagnostic(code, Severity.WARNING, message, span, help, kind=kind)


def split_errors(diags: Iterable[Diagnostic], limit: int | None = MAX_ERRORS,
                 ) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """Sort by location and drop repeats: (every warning and the first ``limit`` errors,
    the errors past the cap). ``limit=None`` keeps every error."""
    out: list[Diagnostic] = []
    past: list[Diagnostic] = []
    errors = 0
    seen: set[Diagnostic] = set()
    for d in sorted(diags, key=Diagnostic.sort_key):
        if d in seen:
            continue
        seen.add(d)
        if d.is_error:
            errors += 1
            if limit is not None and errors > limit:
                past.append(d)
                continue
        out.append(d)
    return out, past


def cap_errors(diags: Iterable[Diagnostic],
               limit: int = MAX_ERRORS) -> tuple[list[Diagnostic], int]:
    """Sort by location and drop repeats; keep every warning but at most ``limit`` errors.

    Returns what is kept and how many errors were left out, so that every report can
    say so (:func:`omitted_line`) rather than stop silently at the cap.
    """
    kept, past = split_errors(diags, limit)
    return kept, len(past)


def sort_and_cap(diags: Iterable[Diagnostic], limit: int = MAX_ERRORS) -> list[Diagnostic]:
    """:func:`cap_errors` without the count."""
    return cap_errors(diags, limit)[0]


def omitted_line(omitted: int) -> str:
    """The line that stands for the errors past the cap: ``… and 5 more errors``."""
    return f"… and {omitted} more error{'s' if omitted != 1 else ''}"


class PolicyError(Exception):
    """A policy that cannot be loaded; ``diagnostics`` holds every reason (spec section 8:
    "raises policy.PolicyError with all diagnostics"), sorted by place.

    :meth:`render` shows the first :data:`MAX_ERRORS` errors, as ``funnel check`` does,
    and ``omitted`` says how many more it leaves out. The ``omitted`` argument counts
    errors a caller could not pass in ``diagnostics`` at all (none, from the loader).
    """

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None,
                 omitted: int = 0):
        self.diagnostics, _ = split_errors(diagnostics, None)
        self.sources = dict(sources or {})
        self._shown, cut = cap_errors(self.diagnostics)
        self.omitted = cut + omitted
        self._omitted_given = omitted
        first = next((d for d in self.diagnostics if d.is_error), None)
        if first is None:
            summary = "policy could not be loaded"
        elif first.span.line:
            summary = f"{first.span}: {first.message}"
        else:  # not located in a file (a path that cannot be read)
            summary = first.message
        more = len([d for d in self.diagnostics if d.is_error]) - 1 + omitted
        if more > 0:
            summary += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(summary)

    def render(self, *, color: bool = False) -> str:
        return render_all(self._shown, self.sources, color=color, omitted=self.omitted)

    def __reduce__(self) -> tuple:
        # as it was built: an Exception pickles its message as the only argument, which
        # this __init__ read as the diagnostics (`'str' object has no attribute 'span'`),
        # so a policy that failed to load in a worker process could not be reported
        return self.__class__, (self.diagnostics, self.sources, self._omitted_given)


# --------------------------------------------------------------------------- rendering


def use_color(stream) -> bool:
    """Colour only on a terminal and only when NO_COLOR is unset (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


_STYLE = {"error": "\x1b[1;31m", "warning": "\x1b[1;33m", "bold": "\x1b[1m", "blue": "\x1b[1;34m"}
_RESET = "\x1b[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLE[style]}{text}{_RESET}" if color else text


_PICTURES = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟, the Unicode control pictures
    return "\u2421" if code == 0x7F else "\ufffd"


@functools.lru_cache(maxsize=8)
def _line_starts(source: str) -> tuple[int, ...]:
    # Computed once per source text, not once per diagnostic: a policy of many
    # megabytes with thousands of diagnostics must not be split thousands of times.
    starts = [0]
    find = source.find
    at = find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = find("\n", at + 1)
    return tuple(starts)


def _source_line(source: str, number: int) -> str | None:
    """Line ``number`` (1-based) of ``source`` without its line ending; spans count
    lines by \\n only (not form feeds or \\u2028), and so does this."""
    starts = _line_starts(source)
    if number > len(starts):
        return None
    start = starts[number - 1]
    end = starts[number] - 1 if number < len(starts) else len(source)
    return source[start:end].removesuffix("\r")


#: The most characters of a source line a diagnostic shows.
_SHOWN = 200


def _cells(text: str) -> int:
    """The terminal cells ``text`` takes: two for a wide (East Asian wide or full-width)
    character such as 日 or 😀, none for a combining mark or a format character (a
    zero-width joiner), one for the rest, so that the caret lands under its span."""
    if text.isascii():
        return len(text)
    cells = 0
    for c in text:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        cells += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return cells


def render(diag: Diagnostic, source: str | None, *, color: bool = False) -> str:
    """``path:line:col: severity[CODE]: message``, the source line, a caret, help."""
    s = diag.span
    sev = diag.severity.value
    where = f"{s.file}:{s.line}:{s.column}" if s.line else s.file
    # A policy's text may hold escape sequences or a bare CR (which a CI runner could
    # read as a workflow command): nothing from it reaches the terminal raw.
    head = f"{terminal(where)}: {_paint(f'{sev}[{diag.code}]', sev, color)}: "
    head += terminal(diag.message)
    lines = [head]
    if source is not None and s.line >= 1:
        text = _source_line(source, s.line)
        if text is not None:
            start = max(s.column - 1, 0)
            if len(text) > _SHOWN:
                # a line of megabytes (a generated list, a hostile literal): show a
                # window around the column, not the whole line
                first = max(0, min(start - _SHOWN // 4, len(text) - _SHOWN))
                text = ("…" if first else "") + text[first:first + _SHOWN] + (
                    "…" if first + _SHOWN < len(text) else "")
                start = start - first + (1 if first else 0)
            # one picture per control character keeps the caret under its column
            text = _PICTURES.sub(_picture, text.expandtabs(1))
            gutter = f"{s.line:>4} | "
            lines.append(gutter + text)
            if s.end_line == s.line and s.end_column > s.column:
                width = s.end_column - s.column
            else:
                width = max(len(text.rstrip()) - start, 1)
            width = max(1, min(width, max(len(text) - start, 1)))
            # padded and drawn by terminal cells: a wide character before or inside the
            # span takes two, a combining mark none
            width = max(1, _cells(text[start:start + width]))
            marker = "^" + "~" * (width - 1) if width > 1 else "^"
            lines.append(" " * (len(gutter) - 2) + "| " + " " * _cells(text[:start])
                         + _paint(marker, sev, color))
    if diag.help:
        lines.append(f"  = {_paint('help', 'bold', color)}: {terminal(diag.help)}")
    return "\n".join(lines)


def render_all(diags: Iterable[Diagnostic], sources: dict[str, str], *, color: bool = False,
               omitted: int = 0) -> str:
    """Every diagnostic in the text form; past the cap, a last line says how many more."""
    parts = [render(d, sources.get(d.span.file), color=color) for d in diags]
    if omitted > 0:
        parts.append(omitted_line(omitted))
    return "\n".join(parts)


def summary_line(diags: Sequence[Diagnostic]) -> str:
    e = sum(1 for d in diags if d.is_error)
    w = len(diags) - e
    parts = []
    if e:
        parts.append(f"{e} error{'s' if e != 1 else ''}")
    if w:
        parts.append(f"{w} warning{'s' if w != 1 else ''}")
    return ", ".join(parts)


def to_json(diag: Diagnostic) -> dict:
    s = diag.span
    return {
        "code": diag.code,
        "kind": diag.kind,
        "severity": diag.severity.value,
        "message": diag.message,
        "file": s.file,
        "line": s.line,
        "column": s.column,
        "end_line": s.end_line,
        "end_column": s.end_column,
        "help": diag.help,
    }


_GH_BREAK = re.compile("([\r\n])")


def _gh_escape(text: str, *, prop: bool = False) -> str:
    """Text for a workflow command: CR and LF percent-encoded (GitHub decodes them), and
    every other control character, bidi override and line separator written as a
    visible escape (:func:`policy.render.escape.terminal`), as in the text format: a
    policy string holding ``\\u202e`` or ``\\u001b[31m`` (a W208 message quotes it), or a
    file name holding ESC, reached the CI log and the pull request raw."""
    text = "".join(part if part in "\r\n" else terminal(part) for part in _GH_BREAK.split(text))
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def to_github(diag: Diagnostic, root: str | None = None) -> str:
    """A GitHub Actions workflow command: shows inline on the pull request's diff.

    GitHub places an annotation by the file's path from the repository root, so with
    ``root`` (the repository's top folder) a path under it is written relative to it.
    """
    s = diag.span
    level = "error" if diag.is_error else "warning"
    props = [f"file={_gh_escape(repo_relative(s.file, root), prop=True)}"]
    if s.line:
        props += [f"line={s.line}", f"col={s.column}"]
        if s.end_line:
            props += [f"endLine={s.end_line}"]
            if s.end_line == s.line and s.end_column:
                props += [f"endColumn={s.end_column}"]
    props.append(f"title={_gh_escape(diag.code, prop=True)}")
    message = diag.message + (f"\nhelp: {diag.help}" if diag.help else "")
    return f"::{level} {','.join(props)}::{_gh_escape(message)}"


def github_omitted(omitted: int) -> str:
    """The workflow command that says how many errors past the cap were left out.

    A notice, not an error: it points at no line, and the step fails on the errors shown.
    """
    message = (f"{omitted_line(omitted)} (funnel check shows the first {MAX_ERRORS}; "
               "fix them and run it again)")
    return f"::notice title=funnel check::{_gh_escape(message)}"


def repo_relative(file: str, root: str | None) -> str:
    """``file`` relative to ``root`` with ``/`` separators; unchanged when outside it."""
    if not root or not file:
        return file
    import os

    full = os.path.abspath(file)
    top = os.path.abspath(root)
    try:
        if os.path.commonpath([full, top]) != top:
            return file
    except ValueError:  # different drives
        return file
    return os.path.relpath(full, top).replace(os.sep, "/")
