"""Parse: policy text -> :class:`policy.syntax.nodes.Module` plus diagnostics.

The phase, in order:

* :mod:`policy.syntax.grammar`: the grammar, loaded once, and :class:`LineJoiner`, the
  post-lexer that gives the language its line structure (spec section 1) and keeps the
  comments aside.
* :class:`policy.syntax.declarations.ToAst` (on :class:`policy.syntax.transform.AstBuilder`),
  the one transformer from Lark's tree to the AST.
* here: the limits checked before parsing, syntax-error reporting (E100, with the catalog
  of known mistakes in :mod:`policy.syntax.syntax_errors`) and comment attachment.

Nothing runs before this phase; :mod:`policy.check.checker` runs after it.
"""

from __future__ import annotations

import attrs
from lark import Token, UnexpectedInput
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken, VisitError

from policy.syntax import nodes as n
from policy.syntax.declarations import ToAst
from policy.syntax.diagnostics import Diagnostic, error
from policy.syntax.grammar import (
    _JOINER,
    CONTINUATION,
    RESERVED,
    LineJoiner,
    _lark,
    grammar_text,
    lark_parser,
)
from policy.syntax.syntax_errors import describe, too_deep
from policy.syntax.transform import ParseProblem, token_span

# --------------------------------------------------------------------------- comments


def _is_block(stmt: n.Stmt) -> bool:
    return isinstance(stmt, n.BLOCKS)


def _attach(stmts: list[n.Stmt], comments: list[Token], own_line: dict[int, bool],
            blank_lines: set[int]) -> tuple[list[n.Stmt], list[Token]]:
    """Hand each comment to the statement it belongs to; return the rest (after the last)."""
    inside: list[list[Token]] = [[] for _ in stmts]
    leading: list[list[Token]] = [[] for _ in stmts]
    after: list[Token] = []
    i = 0
    for c in comments:
        while i < len(stmts) and stmts[i].span.end_line < c.line:
            i += 1
        if i == len(stmts):
            after.append(c)
        elif stmts[i].span.line <= c.line:
            inside[i].append(c)
        else:
            leading[i].append(c)
    out = []
    for k, s in enumerate(stmts):
        lead = [t.value.rstrip() for t in leading[k]]
        trailing = None
        dangling: tuple[str, ...] = ()
        changes: dict = {}
        if _is_block(s):
            rest = []
            for c in inside[k]:
                if c.line == s.span.line and not own_line[id(c)]:
                    trailing = c.value.rstrip()
                else:
                    rest.append(c)
            items, left = _attach(list(s.items), rest, own_line, blank_lines)
            changes["items"] = tuple(items)
            dangling = tuple(t.value.rstrip() for t in left)
        else:
            for c in inside[k]:
                if c.line == s.span.end_line and not own_line[id(c)] and trailing is None:
                    trailing = c.value.rstrip()
                else:
                    lead.append(c.value.rstrip())
        first_line = leading[k][0].line if leading[k] else s.span.line
        changes["blank_before"] = (first_line - 1) in blank_lines
        if lead or trailing or dangling:
            changes["comments"] = n.Comments(tuple(lead), trailing, dangling)
        out.append(attrs.evolve(s, **changes))
    return out, after


# --------------------------------------------------------------------------- entry point


@attrs.frozen
class ParseResult:
    """A parsed file: the module (None after a syntax error) and its diagnostics."""

    module: n.Module | None
    diagnostics: tuple[Diagnostic, ...]


def parse(text: str, file: str = "<string>") -> ParseResult:
    """Parse one file's text. Never raises for bad input: errors come back as E100."""
    from policy.syntax.limits import scan as scan_limits

    if text.startswith("\ufeff"):
        text = text[1:]
    too_big = scan_limits(text, file)
    if too_big is not None:
        return ParseResult(None, (too_big,))
    if "\x00" in text:
        pos = text.index("\x00")
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return ParseResult(None, (error("E100", "the file holds a NUL byte: is it a text file?",
                                        n.Span(file, line, col, line, col + 1, pos, pos + 1)),))
    parser = _lark()
    _JOINER.begin(text)
    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        return ParseResult(None, (describe(exc, text, file, _JOINER.state, parser),))
    except RecursionError:
        return ParseResult(None, (error("E100", "expression nested too deeply",
                                        n.Span(file, 1, 1, 1, 2)),))
    # Every later phase walks the tree recursively: refuse depths that would overflow.
    deep = too_deep(tree, file, text)
    if deep is not None:
        return ParseResult(None, (deep,))
    glued = _JOINER.state.glued
    if glued is not None:
        end = glued.end_pos
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        word = text[glued.start_pos:end]
        span = n.Span(file, glued.line, glued.column, glued.line,
                      glued.column + len(word), glued.start_pos, end)
        return ParseResult(None, (error(
            "E100", f"expected `{glued.value}`, found `{word}`", span,
            help=f"put a space after `{glued.value}`"),))
    json_comment = _JOINER.state.json_comment
    if json_comment is not None:
        return ParseResult(None, (error(
            "E100", "a comment cannot stand inside a lead's JSON object",
            token_span(json_comment, file),
            help="JSON has no comments; put the comment above the `lead` line"),))
    comments = list(_JOINER.state.comments)
    try:
        stmts = ToAst(file).transform(tree)
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, ParseProblem):
            return ParseResult(None, (inner.diag,))
        raise
    lines = text.split("\n")
    blank = {i + 1 for i, ln in enumerate(lines) if not ln.strip()}
    own_line = {}
    for c in comments:
        line_text = lines[c.line - 1]
        own_line[id(c)] = not line_text[: c.column - 1].strip()
    decls, after = _attach(stmts, comments, own_line, blank)
    module = n.Module(
        path=file,
        decls=tuple(decls),
        trailing=tuple(t.value.rstrip() for t in after),
        source=text,
    )
    return ParseResult(module, ())


__all__ = ["CONTINUATION", "RESERVED", "LineJoiner", "ParseResult", "UnexpectedCharacters",
           "UnexpectedEOF", "UnexpectedToken", "grammar_text", "lark_parser", "parse"]
