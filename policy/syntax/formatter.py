"""Format: an AST back to text in the one canonical layout; the policy digest.

Runs after :mod:`policy.syntax.parser`: it prints a parsed :class:`~policy.syntax.nodes.Module`
(or a single expression) and never looks at the checker's findings, so a policy
with semantic errors still formats. The layout is documented in
``docs/formatting.md``; in short: 2-space indentation, one statement per line,
canonical spacing, minimal parentheses, every comment kept where it stood, lines
broken only after a define's ``=``, after ``and``/``or`` and inside a define's
list, and a lead's JSON filled onto aligned lines when it does not fit on one. This
module prints statements and modules; the parts of a statement (atoms, expressions, a
lead's JSON) are laid out by :mod:`policy.syntax.layout`.

:func:`format_source` is what ``funnel fmt`` runs: it parses, prints, re-parses
its own output and refuses (E111, the file left untouched) unless the new tree
equals the old one and every comment is still there, in the same order. That
check is what makes ``fmt`` safe to run over a whole repository.

:func:`policy_digest` and :func:`canonical_policy_text` are re-exported from
:mod:`policy.syntax.canonical`, which prints the digest text by rules of its own: a
change to this module's layout changes no digest and no decision.
"""


from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from policy.syntax import nodes as n
from policy.syntax.canonical import (
    digest_text,
    duration_text,
    expr_at,
    number_text,
    path_text,
    policy_digest,
    quote,
    signed_text,
)
from policy.syntax.canonical import lines_entries as canonical_lines_entries
from policy.syntax.diagnostics import Diagnostic, error
from policy.syntax.layout import INDENT, SHORT_ITEM, WIDTH, json_lines, lay_expr
from policy.syntax.parser import parse

if TYPE_CHECKING:  # pragma: no cover
    from policy.model.namespace import PolicyModel

_SUM = n.PRECEDENCE[n.BinOp.ADD]

#: Header lines (``policy``, ``version``, ``schema``, ``id``) stand together with
#: no blank line between them; every other declaration kind is its own group.
_HEADER = (n.PolicyHeader, n.Version, n.SchemaRef, n.IdField)


# --------------------------------------------------------------------------- statements


def _desc(text: str | None) -> str:
    return "" if text is None else " " + quote(text)


def _names(idents: Iterable[n.Ident], sep: str = ", ") -> str:
    return sep.join(i.name for i in idents)


def _kind(d: n.Stmt) -> str:
    return "header" if isinstance(d, _HEADER) else type(d).__name__


def _is_comment_line(text: str) -> bool:
    return text.startswith("#")


class _Printer:
    """Prints statements. ``source`` (the module's text, when known) is read only
    to recover blank lines between comments, which the AST does not record.
    """

    def __init__(self, source: str | None, *, spelled: bool = True, comments: bool = True,
                 author_blanks: bool = True, width: int = WIDTH):
        self.src = source.split("\n") if source else None
        self.width = width
        self.sp = spelled
        self.comments = comments
        self.author_blanks = author_blanks

    # ---------------------------------------------------------------- blank-line recovery
    def _run(self, lo: int, hi: int) -> tuple[list[tuple[str, bool]], bool] | None:
        """Own-line comments on source lines ``lo < line < hi`` (1-based), each with
        whether a blank line stands right above it; and whether one stands above ``hi``.
        None when another line (code) stands in between or the lines are unknown.
        """
        src = self.src
        if src is None or lo < 0 or hi > len(src) + 1 or hi <= lo:
            return None
        found: list[tuple[str, bool]] = []
        blank = False
        for ln in range(lo + 1, hi):
            text = src[ln - 1].strip()
            if not text:
                blank = True
            elif _is_comment_line(text):
                found.append((text, blank))
                blank = False
            else:
                return None
        return found, blank

    def _leading_gaps(self, s: n.Stmt) -> list[bool]:
        """For each leading comment: is it followed by a blank line?"""
        lead = s.comments.leading
        gaps = [False] * len(lead)
        if self.src is None or not lead or not 1 <= s.span.line <= len(self.src):
            return gaps
        lo = s.span.line - 1
        while lo >= 1:
            text = self.src[lo - 1].strip()
            if text and not _is_comment_line(text):
                break
            lo -= 1
        run = self._run(lo, s.span.line)
        if run is None:
            return gaps
        found, blank_at_end = run
        if not found or tuple(t for t, _ in found) != lead[: len(found)]:
            return gaps
        for i in range(len(found)):
            gaps[i] = found[i + 1][1] if i + 1 < len(found) else blank_at_end
        return gaps

    def _run_flags(self, texts: Sequence[str], lo: int, hi: int) -> list[bool]:
        """For comments standing alone between lines lo and hi: a blank line above each?"""
        flags = [False] * len(texts)
        run = self._run(lo, hi)
        if run is None:
            return flags
        found, _ = run
        if tuple(t for t, _ in found) != tuple(texts[: len(found)]):
            return flags
        for i, (_, blank) in enumerate(found):
            flags[i] = blank
        return flags

    # ---------------------------------------------------------------- assembly
    def decls(self, decls: Sequence[n.Stmt], trailing: Sequence[str] = ()) -> str:
        out: list[str] = []
        prev: n.Stmt | None = None
        for d in decls:
            if prev is not None and self._blank_between(prev, d):
                out.append("")
            out += self.stmt(d, "")
            prev = d
        if self.comments and trailing:
            lo = prev.span.end_line if prev is not None else 0
            flags = self._run_flags(trailing, lo, len(self.src) + 1 if self.src else 0)
            for flag, text in zip(flags, trailing, strict=True):
                if flag and out:
                    out.append("")
                out.append(text)
        return "\n".join(out) + "\n" if out else ""

    def _blank_between(self, prev: n.Stmt, d: n.Stmt) -> bool:
        return (
            isinstance(prev, n.BLOCKS)
            or isinstance(d, n.BLOCKS)
            or _kind(prev) != _kind(d)
            or (self.author_blanks and d.blank_before)
        )

    def stmt(self, s: n.Stmt, ind: str) -> list[str]:
        """A statement's lines with its comments: leading above, trailing after."""
        if isinstance(s, n.BLOCKS):
            code = self._block(s, ind)
        else:
            code = self._line(s, ind)
        if not self.comments or not s.comments:
            return code
        c = s.comments
        out: list[str] = []
        for text, gap in zip(c.leading, self._leading_gaps(s), strict=True):
            out.append(ind + text)
            if gap:
                out.append("")
        if c.trailing:
            # a block's trailing comment sits on its `{` line; others after the last line
            at = 0 if isinstance(s, n.BLOCKS) else len(code) - 1
            code[at] += "  " + c.trailing
        return out + code

    # ---------------------------------------------------------------- blocks
    def _block(self, s: n.Stmt, ind: str) -> list[str]:
        if isinstance(s, n.Calendar):
            head = "calendar"
            if s.name is not None:
                head += f" {s.name.name}"
            head += _desc(s.description)
        elif isinstance(s, n.Score):
            head = f"score {s.name.name}{_desc(s.description)} owned by {_names(s.owners)}"
        elif isinstance(s, n.Stage):
            head = f"stage {s.name.name}{_desc(s.description)} owned by {_names(s.owners)}"
        elif isinstance(s, n.Handoff):
            head = f"handoff {s.stage.name} to {s.team.name}"
        elif isinstance(s, n.Example):
            head = f"example {quote(s.name)}"
        else:  # pragma: no cover - BLOCKS lists exactly the classes above
            raise TypeError(type(s).__name__)
        lines = [f"{ind}{head} {{"]
        inner = ind + INDENT
        for i, item in enumerate(s.items):
            if i and self.author_blanks and item.blank_before:
                lines.append("")
            lines += self.stmt(item, inner)
        dangling = s.comments.dangling if self.comments else ()
        if dangling:
            lo = s.items[-1].span.end_line if s.items else s.span.line
            flags = self._run_flags(dangling, lo, s.span.end_line)
            for flag, text in zip(flags, dangling, strict=True):
                if flag and s.items:
                    lines.append("")
                lines.append(inner + text)
        lines.append(ind + "}")
        return lines

    # ---------------------------------------------------------------- one-line statements
    def _cond(self, ind: str, prefix: str, cond: n.Expr, suffix: str = "") -> list[str]:
        return lay_expr(cond, 0, ind + prefix, ind + INDENT, suffix, self.sp, self.width)

    def _line(self, s: n.Stmt, ind: str) -> list[str]:
        sp = self.sp
        e = lambda x, floor=0: expr_at(x, floor, sp)  # noqa: E731
        dur = lambda d: duration_text(d, spelled=sp)  # noqa: E731
        if isinstance(s, n.Define):
            return self._define(s, ind)
        if isinstance(s, n.PointsIf):
            return self._cond(ind, f"{signed_text(s.points, plus=True)} if ", s.condition)
        if isinstance(s, (n.Require, n.Exclude)):
            word = "require" if isinstance(s, n.Require) else "exclude"
            return self._cond(ind, f"{word} ", s.condition, _desc(s.reason))
        if isinstance(s, n.KeepWhen):
            return self._cond(ind, "keep when ", s.condition)
        if isinstance(s, n.Route):
            on = f" on {s.calendar.name}" if s.calendar is not None else ""
            if s.condition is None:
                return [f"{ind}route {quote(s.target)} otherwise{on}"]
            return self._cond(ind, f"route {quote(s.target)} if ", s.condition, on)
        if isinstance(s, n.Recycle):
            head = f"recycle {_names(s.stages)} to {s.state.name} if "
            return self._cond(ind, head, s.condition, _desc(s.reason))
        if isinstance(s, n.LeadLiteral):
            return json_lines(s.data, ind + "lead ", ind, "", self.width)
        if isinstance(s, n.PolicyHeader):
            text = f"policy {s.name.name} {quote(s.title)}"
        elif isinstance(s, n.Version):
            text = f"version {quote(s.label)}"
        elif isinstance(s, n.SchemaRef):
            text = f"schema {quote(s.path)}"
        elif isinstance(s, n.IdField):
            text = f"id {path_text(s.field.path)}"
        elif isinstance(s, n.Team):
            text = f"team {s.name.name} {quote(s.handle)}"
        elif isinstance(s, n.Timezone):
            text = f"timezone {quote(s.name)}"
        elif isinstance(s, n.Workdays):
            text = f"workdays {_names(s.days, ' ')}"
        elif isinstance(s, n.Hours):
            text = f"hours {s.start} to {s.end}"
        elif isinstance(s, n.Holidays):
            text = "holidays " + " ".join(quote(d) for d in s.dates)
        elif isinstance(s, n.Funnel):
            text = "funnel " + _names(s.stages, " -> ")
        elif isinstance(s, n.PointsPer):
            text = f"{signed_text(s.points, plus=True)} per {e(s.count, _SUM)}"
            if s.cap is not None:
                text += f" up to {number_text(s.cap)}"
        elif isinstance(s, n.Range):
            text = f"range {signed_text(s.low, plus=False)} to {signed_text(s.high, plus=False)}"
        elif isinstance(s, n.Decay):
            text = f"decay half-life {dur(s.half_life)} since {path_text(s.since.path)}"
        elif isinstance(s, n.State):
            text = f"state {s.name.name}{_desc(s.description)} owned by {_names(s.owners)}"
        elif isinstance(s, n.Sla):
            stops = ", ".join(path_text(r.path) for r in s.stops)
            text = f"sla {dur(s.duration)} from {path_text(s.start.path)} until {stops}"
        elif isinstance(s, n.EnteredAt):
            text = f"entered at {path_text(s.field.path)}"
        elif isinstance(s, n.HandoffCalendar):
            text = f"calendar {s.name.name}"
        elif isinstance(s, n.Escalate):
            text = f"escalate to {quote(s.target)} after {dur(s.after)}"
        elif isinstance(s, n.Reject):
            text = (f"reject to {s.state.name} with reason {path_text(s.field.path)} "
                    f"in {e(s.reasons, _SUM)}")
        elif isinstance(s, n.At):
            text = f"at {quote(s.timestamp)}"
        elif isinstance(s, n.LeadFile):
            text = f"lead file {quote(s.path)}"
        elif isinstance(s, n.Expect):
            text = _expect(s)
        else:
            raise TypeError(f"not a statement node: {type(s).__name__}")
        return [ind + text]

    def _define(self, s: n.Define, ind: str) -> list[str]:
        head = f"{ind}define {s.name.name}{_desc(s.description)} ="
        if s.lines is not None:  # the entries live in the file, which fmt never touches
            return [f"{head} lines {quote(s.lines.path)}"]
        value = s.value
        flat = f"{head} {expr_at(value, 0, self.sp)}"
        if len(flat) <= self.width:
            return [flat]
        inner = ind + INDENT
        if isinstance(value, n.ListExpr) and value.items:
            items = [expr_at(i, 0, self.sp) + "," for i in value.items]
            return [head + " [", *self._list_lines(items, inner), ind + "]"]
        return [head, *lay_expr(value, 0, inner, inner, "", self.sp, self.width)]

    def _list_lines(self, items: list[str], inner: str) -> list[str]:
        """A long list's items, each followed by a comma (so that adding an item
        touches one line in review): one per line, except that short items (country
        codes, numbers; rustfmt's rule) are packed as many to a line as fit.
        """
        if any(len(i) > SHORT_ITEM + 1 for i in items):
            return [inner + i for i in items]
        lines: list[str] = []
        row: list[str] = []
        for item in items:
            if row and len(inner) + len(" ".join([*row, item])) > self.width:
                lines.append(inner + " ".join(row))
                row = []
            row.append(item)
        lines.append(inner + " ".join(row))
        return lines


def _none_or(value: str | None, *, quoted: bool) -> str:
    if value is None:
        return "none"
    return quote(value) if quoted else value


def _expect(s: n.Expect) -> str:
    k = s.kind
    at = f" at {s.at.name}" if s.at is not None else ""
    if k in (n.ExpectKind.STAGE, n.ExpectKind.REACHED):
        return f"expect {k.value} {_none_or(s.value, quoted=False)}"
    if k is n.ExpectKind.SCORE:
        assert s.subject is not None
        return f"expect score {s.subject.name} {signed_text(s.value, plus=False)}"
    if k in (n.ExpectKind.ROUTE, n.ExpectKind.ESCALATE):
        return f"expect {k.value} {_none_or(s.value, quoted=True)}{at}"
    if k is n.ExpectKind.SLA:
        return f"expect sla {s.value}{at}"
    if k is n.ExpectKind.REASON:
        return f"expect reason {_none_or(s.value, quoted=True)}"
    if k is n.ExpectKind.VIOLATION:
        return f"expect violation {s.value}"
    return "expect error"


# --------------------------------------------------------------------------- modules


def format_line(stmt: n.Stmt) -> str:
    """One statement that is not a block on a single line, without its comments
    (``+30 if job_level == "vp"``, ``sla 4 business hours from mql_at until accepted_at``),
    for traces, reports and ``explain``.
    """
    if isinstance(stmt, n.BLOCKS):
        raise TypeError(f"a block has no one-line form: {type(stmt).__name__}")
    return _Printer(None, comments=False, width=sys.maxsize)._line(stmt, "")[0]


def format_module(module: n.Module) -> str:
    """The whole file in the canonical layout, every comment where it stood.

    Leading comments stand above their statement, a trailing comment two spaces
    after it (a block's on its ``{`` line), a block's dangling comments before
    its ``}``, the file's last comments at the end. The empty module is ``""``;
    any other output ends with exactly one newline.
    """
    return _Printer(module.source or None).decls(module.decls, module.trailing)


def all_comments(module: n.Module) -> tuple[str, ...]:
    """Every comment of a module, in the order ``fmt`` prints them."""
    out: list[str] = []

    def walk(s: n.Stmt) -> None:
        c = s.comments
        out.extend(c.leading)
        if c.trailing:
            out.append(c.trailing)
        if isinstance(s, n.BLOCKS):
            for item in s.items:
                walk(item)
        out.extend(c.dangling)

    for d in module.decls:
        walk(d)
    out.extend(module.trailing)
    return tuple(out)


@attrs.frozen
class FormatResult:
    """What :func:`format_source` made of one file.

    ``text`` is the formatted file, or None when it could not be formatted (a
    syntax error, or the safety check refused); ``diagnostics`` says why;
    ``changed`` is true when ``text`` differs from the input.
    """

    text: str | None
    diagnostics: tuple[Diagnostic, ...] = ()
    changed: bool = False


def _file_span(file: str) -> n.Span:
    return n.Span(file, 1, 1, 1, 2, 0, 0)


_REFUSED_HELP = ("this is a bug in `funnel fmt`, not in the policy; the file was left as it "
                 "was: please report it with the file attached")


def _refusal(original: n.Module, formatted: str, file: str) -> Diagnostic | None:
    """Why ``formatted`` must not replace the file, or None when it is safe."""
    again = parse(formatted, file)
    if again.module is None:
        why = again.diagnostics[0].message if again.diagnostics else "no reason given"
        return error("E111", f"`fmt` refused to rewrite this file: its output does not parse "
                             f"({why})", _file_span(file), help=_REFUSED_HELP)
    new = again.module
    if new != original:
        span = _file_span(file)
        for old_d, new_d in zip(original.decls, new.decls, strict=False):
            if old_d != new_d:
                span = old_d.span
                break
        return error("E111", "`fmt` refused to rewrite this file: its output would change "
                             "the meaning of this declaration", span, help=_REFUSED_HELP)
    if all_comments(new) != all_comments(original):
        span = _file_span(file)
        for old_d, new_d in zip(original.decls, new.decls, strict=True):
            probe_old = n.Module(path=file, decls=(old_d,))
            probe_new = n.Module(path=file, decls=(new_d,))
            if all_comments(probe_old) != all_comments(probe_new):
                span = old_d.span
                break
        return error("E111", "`fmt` refused to rewrite this file: its output would lose or "
                             "move a comment", span, help=_REFUSED_HELP)
    return None


def format_source(text: str, file: str = "<string>") -> FormatResult:
    """Parse, format, and check the result before handing it back.

    The output is re-parsed; unless it gives the same tree and the same comments
    in the same order, the result is refused (``text`` None, an E111 error).
    A syntax error in the input comes back as its E100 diagnostic.
    """
    parsed = parse(text, file)
    if parsed.module is None:
        return FormatResult(None, parsed.diagnostics, False)
    formatted = format_module(parsed.module)
    problem = _refusal(parsed.module, formatted, file)
    if problem is not None:
        return FormatResult(None, (problem,), False)
    return FormatResult(formatted, (), formatted != text)


# --------------------------------------------------------------------------- digest


def canonical_policy_text(model: PolicyModel) -> str:
    """The text the digest hashes: :func:`policy.syntax.canonical.digest_text`, printed by
    the canonical printer, not by this module's layout, so a change of layout here
    changes no digest."""
    return digest_text(model.modules)


def lines_entries(model: PolicyModel) -> list[tuple[str, tuple[str, ...]]]:
    """Every ``lines`` define's name and entries (:func:`policy.syntax.canonical.lines_entries`)."""
    return canonical_lines_entries(model.modules)


__all__ = [
    "WIDTH",
    "FormatResult",
    "all_comments",
    "canonical_policy_text",
    "format_line",
    "format_module",
    "format_source",
    "lines_entries",
    "policy_digest",
    "quote",
]
