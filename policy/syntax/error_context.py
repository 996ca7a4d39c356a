"""What a catalog check sees of one syntax error, and the words it speaks in.

:mod:`policy.syntax.syntax_errors` builds a :class:`Context` for every failed
parse and runs the catalog's checks (:mod:`policy.syntax.mistakes_tokens`,
:mod:`policy.syntax.mistakes_rules`) on it. This module holds what they share:
the vocabulary of terminals, :class:`Found` (the offending input),
:class:`Context`, :class:`Mistake` (one catalog entry) and small span helpers.
It reads no Lark internals (:mod:`policy.syntax.lark_internals` does) and does
not import the parser.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping

import attrs
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error

#: Expressions and lead JSON nest at most this deep: each operator, parenthesis,
#: `not`, unary minus, list, call, JSON object and JSON array is one level. Every
#: phase after the parser walks the AST recursively; the bound keeps them all
#: clear of Python's recursion limit, far above what a readable policy needs.
MAX_NESTING = 100

# --------------------------------------------------------------------------- vocabulary

#: Terminals that open a declaration at the top level of a file.
DECL_KEYWORDS = frozenset({
    "POLICY", "VERSION", "SCHEMA", "ID", "TEAM", "CALENDAR", "FUNNEL", "DEFINE", "SCORE",
    "STAGE", "STATE", "HANDOFF", "RECYCLE", "EXAMPLE",
})

#: Terminals that open a rule inside a block, with the block each belongs to.
ITEM_KEYWORDS = {
    "REQUIRE": "stage", "EXCLUDE": "stage", "KEEP": "stage",
    "RANGE": "score", "DECAY": "score",
    "ROUTE": "handoff", "SLA": "handoff", "ESCALATE": "handoff", "REJECT": "handoff",
    "EXPECT": "example",
    "TIMEZONE": "calendar", "WORKDAYS": "calendar", "HOLIDAYS": "calendar",
}

OPENER = {"LBRACE": "{", "LPAR": "(", "LSQB": "["}
CLOSER_OF = {"LBRACE": "RBRACE", "LPAR": "RPAR", "LSQB": "RSQB"}
OPENER_OF = {v: k for k, v in CLOSER_OF.items()}

UNITS = ("MINUTES", "MINUTE", "HOURS", "HOUR", "DAYS", "DAY", "WEEKS", "WEEK")
BUSINESS_UNITS = frozenset({"HOURS", "HOUR", "DAYS", "DAY"})
#: Continuation operators, in the order we show them as examples.
OPERATORS = ("COMP_OP", "AND", "OR", "IN", "CONTAINS", "STARTS", "ENDS", "IS", "PLUS", "MINUS",
              "STAR", "SLASH", "NOT")
EXPR_START = frozenset({"NAME", "NUMBER", "STRING", "LSQB", "LPAR"})
EXPR_EXTRA = frozenset({"QUOTED_KEY", "MINUS", "NOT", "TRUE", "FALSE", "NULL"})
JSON_VALUE = frozenset({"LBRACE", "LSQB", "STRING", "JSON_NUMBER", "TRUE", "FALSE", "NULL"})
VALUE_TOKENS = frozenset({"STRING", "NAME", "NUMBER", "JSON_NUMBER", "QUOTED_KEY", "TIME",
                           "TRUE", "FALSE", "NULL"})

#: Terminals in words, for the "expected" side; keywords and punctuation are shown
#: as written, in backticks.
WORDS = {
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "NAME": "a name",
    "STRING": "a string in double quotes",
    "NUMBER": "a number",
    "JSON_NUMBER": "a number",
    "TIME": "a time of day (`HH:MM`)",
    "QUOTED_KEY": "a field name in backticks",
    "COMP_OP": "a comparison (`==`, `>=`, …)",
}


def word(terminal: str, literals: Mapping[str, str]) -> str:
    """A terminal in words, for the "expected" side of a message."""
    if terminal in WORDS:
        return WORDS[terminal]
    lit = literals.get(terminal)
    return f"`{lit}`" if lit is not None else terminal.lower()


def is_keyword(terminal: str, literals: Mapping[str, str]) -> bool:
    lit = literals.get(terminal)
    return lit is not None and lit[:1].isalpha()


# --------------------------------------------------------------------------- the facts

@attrs.frozen
class Found:
    """The offending input: a token, the end of a line or file, or a character.

    ``kind`` is the terminal name, ``"$END"`` at the end of the file, or
    ``"CHAR"`` for a character no token starts with. ``span`` covers the token;
    at the end of a line it is empty and stands just after the last token.
    """

    kind: str
    text: str
    span: n.Span
    at_eof: bool = False

    @property
    def words(self) -> str:
        """The found side of "expected X, found Y"."""
        if self.kind == "$END":
            return "the end of the file"
        if self.kind == "_NL":
            return "the end of the line"
        if self.kind == "STRING":
            return f"the string {clip(self.text, quote=True)}"
        if self.kind == "QUOTED_KEY":
            return f"the field name {clip(self.text)}"
        if self.kind == "CHAR":
            return char_words(self.text)
        return f"`{clip(self.text)}`"


@attrs.frozen
class Context:
    """Everything a catalog check may look at for one syntax error."""

    exc: UnexpectedInput
    text: str
    file: str
    state: object  # the post-lexer's _LexState: blocks, brackets, json_opened, comments
    found: Found
    accepts: frozenset[str]
    stack: tuple  # the LALR value stack at the failure: tokens and trees still unreduced
    #: terminal name -> fixed text (`if`, `{`), from the grammar the parser loaded
    literals: Mapping[str, str] = attrs.field(factory=dict)

    def word(self, terminal: str) -> str:
        """A terminal in words: `if` for keywords and punctuation, "a name" for NAME."""
        return word(terminal, self.literals)

    def is_keyword(self, terminal: str) -> bool:
        return is_keyword(terminal, self.literals)

    def terminal_for(self, literal: str) -> str:
        """The terminal whose fixed text is ``literal`` (``half-life`` -> its name)."""
        for name, lit in self.literals.items():
            if lit == literal:
                return name
        raise KeyError(literal)

    def span(self, start: int, end: int) -> n.Span:
        return offset_span(self.file, self.text, start, end)

    def tok_span(self, tok: Token) -> n.Span:
        return offset_span(self.file, self.text, tok.start_pos, tok.end_pos)

    @property
    def in_json(self) -> bool:
        return bool(getattr(self.state, "json_opened", None))

    def last_token(self) -> Token | None:
        """The last token the parser took before the failure."""
        for item in reversed(self.stack):
            tok = last_leaf(item)
            if tok is not None:
                return tok
        return None

    def open_tokens(self) -> list[Token]:
        """Openers (`{`, `(`, `[`) the parser has shifted and that no closer matched yet.

        A closed block may still sit on the stack unreduced (LALR reduces it on the
        next token), so closers are matched against openers here.
        """
        opened: list[Token] = []
        for t in self.stack:
            if not isinstance(t, Token):
                continue
            if t.type in OPENER:
                opened.append(t)
            elif t.type in OPENER_OF and opened and opened[-1].type == OPENER_OF[t.type]:
                opened.pop()
        return opened


def offset_span(file: str, text: str, start: int, end: int) -> n.Span:
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    end_line = text.count("\n", 0, end) + 1
    end_col = end - (text.rfind("\n", 0, end) + 1) + 1
    return n.Span(file, line, col, end_line, end_col, start, end)


def last_leaf(item) -> Token | None:
    """The rightmost real token under ``item`` (iteratively: trees may be deep)."""
    todo = [item]
    while todo:
        x = todo.pop()
        if isinstance(x, Token):
            if x.type != "_NL" and x.start_pos is not None and x.end_pos is not None:
                return x
        elif isinstance(x, Tree):
            todo.extend(x.children)  # popped from the end: rightmost child first
    return None


def clip(text: str, *, quote: bool = False, limit: int = 32) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 2] + ("…\"" if quote else "…")


def char_words(ch: str) -> str:
    if ch.isprintable() and not ch.isspace() and ch != "`":
        return f"`{ch}`"
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name.lower()})" if name else "")


def found_at(exc: UnexpectedInput, text: str, file: str, stack: tuple) -> Found:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = text[pos] if pos < len(text) else ""
        return Found("CHAR", ch, offset_span(file, text, pos, pos + 1))
    tok = getattr(exc, "token", None)
    if isinstance(exc, UnexpectedEOF) or tok is None or tok.type == "$END":
        end = _end_of_code(stack, tok, len(text))
        return Found("$END", "", offset_span(file, text, end, end), at_eof=True)
    if tok.type == "_NL":
        # The post-lexer adds a final newline when the file lacks one; it borrows
        # the last token's position, so it does not stand on a newline.
        real = tok.start_pos is not None and text[tok.start_pos: tok.start_pos + 1] in ("\n", "\r")
        end = _end_of_code(stack, tok, tok.start_pos or 0)
        return Found("_NL", "", offset_span(file, text, end, end), at_eof=not real)
    start = tok.start_pos if tok.start_pos is not None else len(text)
    end = tok.end_pos if tok.end_pos is not None else start + len(tok.value)
    return Found(tok.type, str(tok.value), offset_span(file, text, start, end))


def _end_of_code(stack: tuple, tok: Token | None, default: int) -> int:
    """Just after the last token taken: where a missing token belongs."""
    for item in reversed(stack):
        last = last_leaf(item)
        if last is not None:
            return last.end_pos
    if tok is not None and tok.end_pos is not None and tok.type != "_NL":
        return tok.end_pos
    return default


# --------------------------------------------------------------------------- catalog entries


@attrs.frozen
class Mistake:
    """A known mistake: snippets that show it, and the check that explains it.

    ``check`` returns the diagnostic when the mistake fits the error at hand,
    else None. ``name`` is stable; tests and docs refer to entries by it.
    """

    name: str
    examples: tuple[str, ...]
    check: Callable[[Context], Diagnostic | None]
    #: When to try it: ``FIRST`` (its check is proof enough: before any state match),
    #: ``MATCHED`` (ordered by ``match_examples``) or ``LAST`` (a catch-all).
    order: int = 1


FIRST, MATCHED, LAST = 0, 1, 2


def registrar(entries: list[Mistake]):
    """A decorator that appends a check to ``entries``, in the order of definition."""

    def mistake(name: str, *examples: str, order: int = MATCHED):
        def register(check: Callable[[Context], Diagnostic | None]):
            entries.append(Mistake(name, examples, check, order))
            return check

        return register

    return mistake


TEAM = 'team marketing "@acme/marketing"\n'


def e100(message: str, span: n.Span, help: str | None = None) -> Diagnostic:
    return error("E100", message, span, help)
