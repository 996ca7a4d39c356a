"""Syntax errors (E100) in words a person can act on.

:func:`policy.syntax.parser.parse` calls :func:`describe` when Lark gives up on a file.
Before it run only the lexer, the post-lexer (:class:`policy.syntax.parser.LineJoiner`,
whose state says which ``{``, ``(`` and ``[`` are still open) and the LALR
parser, whose state at the failure this module reads. The method is Lark's
``examples/advanced/error_reporting_lalr.py``:

1. :data:`CATALOG` lists known mistakes, each with broken snippets that show it
   and a check that confirms it against the token actually found and the tokens
   the parser would accept there.
2. :meth:`UnexpectedInput.match_examples` (``use_accepts=True``) ranks the entries
   whose snippets fail in the same parser state first; their checks run in that
   order. A parser state is shared by many inputs, so a state match alone is a
   guess: the check has the last word.
3. Then every other entry's check runs, in catalog order. Because the checks look
   at tokens rather than states, they also hold at nesting depths no snippet
   shows. (A few entries whose check is proof on its own run before step 2; the
   catch-all for stray characters runs last.)
4. Failing all that: "expected X, found Y", the accepted tokens in words.

The module also keeps the transformer (and every later phase, which walks the
AST recursively) away from trees nested deeper than :data:`MAX_NESTING`:
:func:`too_deep`.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from copy import copy
from functools import lru_cache

import attrs
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_parser_state import ParserState

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

_OPENER = {"LBRACE": "{", "LPAR": "(", "LSQB": "["}
_CLOSER_OF = {"LBRACE": "RBRACE", "LPAR": "RPAR", "LSQB": "RSQB"}
_OPENER_OF = {v: k for k, v in _CLOSER_OF.items()}

_UNITS = ("MINUTES", "MINUTE", "HOURS", "HOUR", "DAYS", "DAY", "WEEKS", "WEEK")
_BUSINESS_UNITS = frozenset({"HOURS", "HOUR", "DAYS", "DAY"})
#: Continuation operators, in the order we show them as examples.
_OPERATORS = ("COMP_OP", "AND", "OR", "IN", "CONTAINS", "STARTS", "ENDS", "IS", "PLUS", "MINUS",
              "STAR", "SLASH", "NOT")
_EXPR_START = frozenset({"NAME", "NUMBER", "STRING", "LSQB", "LPAR"})
_EXPR_EXTRA = frozenset({"QUOTED_KEY", "MINUS", "NOT", "TRUE", "FALSE", "NULL"})
_JSON_VALUE = frozenset({"LBRACE", "LSQB", "STRING", "JSON_NUMBER", "TRUE", "FALSE", "NULL"})
_VALUE_TOKENS = frozenset({"STRING", "NAME", "NUMBER", "JSON_NUMBER", "QUOTED_KEY", "TIME",
                           "TRUE", "FALSE", "NULL"})

#: Terminals in words, for the "expected" side; keywords and punctuation are shown
#: as written, in backticks.
_WORDS = {
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

#: Never shown: the lexer lists them as allowed everywhere.
_HIDDEN = frozenset({"COMMENT"})

#: At most this many alternatives after "expected".
MAX_ALTERNATIVES = 5


@lru_cache(maxsize=1)
def _literals() -> dict[str, str]:
    """Terminal name -> its fixed text (`if`, `{`, `half-life`), from the loaded grammar."""
    from policy.syntax.parser import lark_parser

    out = {}
    for t in lark_parser().terminals:
        if type(t.pattern).__name__ == "PatternStr":
            out[t.name] = t.pattern.value
    return out


def _keyword_order() -> dict[str, int]:
    return {name: i for i, name in enumerate(_literals())}


def _word(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    lit = _literals().get(terminal)
    return f"`{lit}`" if lit is not None else terminal.lower()


def _is_keyword(terminal: str) -> bool:
    lit = _literals().get(terminal)
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
            return f"the string {_clip(self.text, quote=True)}"
        if self.kind == "QUOTED_KEY":
            return f"the field name {_clip(self.text)}"
        if self.kind == "CHAR":
            return _char_words(self.text)
        return f"`{_clip(self.text)}`"


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

    def span(self, start: int, end: int) -> n.Span:
        return _offset_span(self.file, self.text, start, end)

    def tok_span(self, tok: Token) -> n.Span:
        return _offset_span(self.file, self.text, tok.start_pos, tok.end_pos)

    @property
    def in_json(self) -> bool:
        return bool(getattr(self.state, "json_opened", None))

    def last_token(self) -> Token | None:
        """The last token the parser took before the failure."""
        for item in reversed(self.stack):
            tok = _last_leaf(item)
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
            if t.type in _OPENER:
                opened.append(t)
            elif t.type in _OPENER_OF and opened and opened[-1].type == _OPENER_OF[t.type]:
                opened.pop()
        return opened


def _offset_span(file: str, text: str, start: int, end: int) -> n.Span:
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    end_line = text.count("\n", 0, end) + 1
    end_col = end - (text.rfind("\n", 0, end) + 1) + 1
    return n.Span(file, line, col, end_line, end_col, start, end)


def _last_leaf(item) -> Token | None:
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


def _clip(text: str, *, quote: bool = False, limit: int = 32) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 2] + ("…\"" if quote else "…")


def _char_words(ch: str) -> str:
    if ch.isprintable() and not ch.isspace() and ch != "`":
        return f"`{ch}`"
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name.lower()})" if name else "")


def _accepts(exc: UnexpectedInput) -> frozenset[str]:
    """The terminals the parser would take at the failure.

    Worked out from the parser state (as Lark's ``InteractiveParser.accepts`` does),
    because an error raised by the contextual lexer carries only the lexer's looser
    set, which lists the end of the line everywhere.
    """
    pstate = getattr(exc, "state", None)
    if isinstance(pstate, ParserState):
        conf = copy(pstate.parse_conf)
        conf.callbacks = {}  # feed without building trees
        out = set()
        for t in pstate.parse_conf.states[pstate.position]:
            if not t.isupper():
                continue
            trial = ParserState(conf, pstate.lexer, list(pstate.state_stack),
                                list(pstate.value_stack))
            try:
                trial.feed_token(Token(t, ""), is_end=(t == "$END"))
            except (UnexpectedToken, AssertionError, KeyError):
                continue
            out.add(t)
        return frozenset(out - _HIDDEN)
    raw = getattr(exc, "accepts", None) or getattr(exc, "expected", None) or getattr(
        exc, "allowed", None) or ()
    return frozenset(t for t in raw if t not in _HIDDEN and not t.startswith("__IGNORE"))


def _found(exc: UnexpectedInput, text: str, file: str, stack: tuple) -> Found:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = text[pos] if pos < len(text) else ""
        return Found("CHAR", ch, _offset_span(file, text, pos, pos + 1))
    tok = getattr(exc, "token", None)
    if isinstance(exc, UnexpectedEOF) or tok is None or tok.type == "$END":
        end = _end_of_code(stack, tok, len(text))
        return Found("$END", "", _offset_span(file, text, end, end), at_eof=True)
    if tok.type == "_NL":
        # The post-lexer adds a final newline when the file lacks one; it borrows
        # the last token's position, so it does not stand on a newline.
        real = tok.start_pos is not None and text[tok.start_pos: tok.start_pos + 1] in ("\n", "\r")
        end = _end_of_code(stack, tok, tok.start_pos or 0)
        return Found("_NL", "", _offset_span(file, text, end, end), at_eof=not real)
    start = tok.start_pos if tok.start_pos is not None else len(text)
    end = tok.end_pos if tok.end_pos is not None else start + len(tok.value)
    return Found(tok.type, str(tok.value), _offset_span(file, text, start, end))


def _end_of_code(stack: tuple, tok: Token | None, default: int) -> int:
    """Just after the last token taken: where a missing token belongs."""
    for item in reversed(stack):
        last = _last_leaf(item)
        if last is not None:
            return last.end_pos
    if tok is not None and tok.end_pos is not None and tok.type != "_NL":
        return tok.end_pos
    return default


# --------------------------------------------------------------------------- the catalog


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


#: The known mistakes, most specific first.
CATALOG: list[Mistake] = []


def _mistake(name: str, *examples: str, order: int = MATCHED):
    def register(check: Callable[[Context], Diagnostic | None]):
        CATALOG.append(Mistake(name, examples, check, order))
        return check

    return register


_TEAM = 'team marketing "@acme/marketing"\n'


def _e(message: str, span: n.Span, help: str | None = None) -> Diagnostic:
    return error("E100", message, span, help)


@_mistake(
    "unterminated-string",
    'policy acme "Acme funnel\n',
    'define free = ["gmail.com", "yahoo.com]\n',
    'example "x" {\n  at "2026-11-02T15:00:00Z\n}\n',
)
def _unterminated_string(ctx: Context) -> Diagnostic | None:
    if ctx.found.kind != "CHAR" or ctx.found.text != '"':
        return None
    start = ctx.found.span.start
    eol = ctx.text.find("\n", start)
    eol = len(ctx.text) if eol < 0 else eol
    if ctx.text[eol - 1: eol] == "\r":
        eol -= 1
    body = ctx.text[start + 1: eol]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            break  # the string ends on this line: something inside it is wrong
        if ch == "\\":
            esc = body[i: i + 2]
            if esc[1:] and esc[1] in '"\\/bfnrt':
                i += 2
                continue
            if re.match(r"\\u[0-9a-fA-F]{4}", body[i: i + 6]):
                i += 6
                continue
            width = 2 if len(esc) == 2 else 1
            at = start + 1 + i
            return _e(f"bad escape `{esc}` in a string", ctx.span(at, at + width),
                      help="strings use JSON escapes: `\\\"`, `\\\\`, `\\n`, `\\t`, `\\u00e9`")
        i += 1
    else:
        return _e("unterminated string", ctx.span(start, eol),
                  help='close it with `"` on the same line; a string cannot span lines')
    return None


@_mistake(
    "unterminated-backtick",
    "define big = company.`annual revenue >= 1000\n",
)
def _unterminated_backtick(ctx: Context) -> Diagnostic | None:
    if ctx.found.kind != "CHAR" or ctx.found.text != "`":
        return None
    start = ctx.found.span.start
    eol = ctx.text.find("\n", start)
    eol = len(ctx.text) if eol < 0 else eol
    return _e("unterminated field name in backticks", ctx.span(start, eol),
              help="close it with `` ` `` on the same line: `` `annual revenue` ``")


@_mistake(
    "single-quotes",
    "example \"x\" {\n  lead {'lead_id': 'L-1'}\n}\n",
    "define free = ['gmail.com']\n",
)
def _single_quotes(ctx: Context) -> Diagnostic | None:
    if ctx.found.kind != "CHAR" or ctx.found.text != "'":
        return None
    start = ctx.found.span.start
    m = re.match(r"'([^'\n\"\\]*)'", ctx.text[start:])
    end = start + (m.end() if m else 1)
    suggestion = f': "{m.group(1)}"' if m else ""
    message = f"expected a string in double quotes, found `{_clip(ctx.text[start:end])}`"
    if ctx.in_json:
        return _e(message, ctx.span(start, end),
                  help="lead literals are strict JSON: keys and strings use double quotes"
                  + suggestion)
    return _e(message, ctx.span(start, end), help="strings use double quotes" + suggestion)


_LOGIC = {
    "!": ("`not`", "to negate a condition: `not unsubscribed`"),
    "&": ("`and`", "to require both conditions: `a and b`"),
    "|": ("`or`", "to accept either condition: `a or b`"),
}


@_mistake(
    "c-style-logic",
    'stage mql owned by marketing {\n  require !unsubscribed\n}\n',
    'stage mql owned by marketing {\n  require fit >= 40 && demo_requested\n}\n',
    'stage mql owned by marketing {\n  require fit >= 40 || demo_requested\n}\n',
)
def _c_style_logic(ctx: Context) -> Diagnostic | None:
    ch = ctx.found.text
    if ctx.found.kind != "CHAR" or ch not in _LOGIC:
        return None
    start = ctx.found.span.start
    doubled = ch != "!" and ctx.text[start + 1: start + 2] == ch
    op = ch * 2 if doubled else ch
    word, how = _LOGIC[ch]
    return _e(f"unexpected `{op}`", ctx.span(start, start + len(op)),
              help=f"write {word} {how}")


_CHAR_HELP = {
    ";": "a rule ends at the end of its line: remove the `;`",
    "\r": "a lone carriage return ends no line here: save the file with `\\n` line endings",
    "\u201c": 'use straight double quotes: "…"',
    "\u201d": 'use straight double quotes: "…"',
    "\u201e": 'use straight double quotes: "…"',
    "\u2018": 'use straight double quotes: "…"',
    "\u2019": 'use straight double quotes: "…"',
    "\u2013": "use a plain `-`",
    "\u2014": "use a plain `-`",
    "\u2192": "write the arrow as `->`",
    "\u2265": "write `>=`",
    "\u2264": "write `<=`",
    "\u2260": "write `!=`",
}


@_mistake(
    "stray-character",
    "team sales @acme/sales\n",
    "define price = $50\n",
    "define x = 1;\n",
    order=LAST,
)
def _stray_character(ctx: Context) -> Diagnostic | None:
    ch = ctx.found.text
    if ctx.found.kind != "CHAR":
        return None
    help = _CHAR_HELP.get(ch)
    if help is None and ch == "@" and "STRING" in ctx.accepts:
        help = 'a team handle is a string: "@acme/sales"'
    elif help is None and (not ch.isprintable() or ch in "\u00a0\u200b\ufeff"):
        help = "remove the invisible character, or replace it with a plain space"
    elif help is None and ch.isalpha():
        help = ("names use ASCII letters, digits and `_`; write any other field key in "
                "backticks: `` `prénom` ``")
    elif help is None and ch == "\ufffd":
        help = "the file held bytes that are not UTF-8 text"
    return _e(f"unexpected character {_char_words(ch)}", ctx.found.span, help=help)


@_mistake(
    "unclosed",
    "stage mql owned by marketing {\n  require fit >= 40\n",
    _TEAM + "stage mql owned by marketing {\n  require fit >= 40\n\nstage sal owned by sales {\n"
    "  require accepted_at is present\n}\n",
    "define x = lower(email\n",
    'define x = ["a", "b"\n',
    'define x = ["a", "b"\ndefine y = 1\n',
    'example "x" {\n  lead {"lead_id": "L-1"\n  expect stage mql\n}\n',
)
def _unclosed(ctx: Context) -> Diagnostic | None:
    st = ctx.state
    tops = [s[-1] for s in (getattr(st, "blocks", ()), getattr(st, "brackets", ()),
                            getattr(st, "json_opened", ())) if s]
    if not tops:
        return None
    opened = max(tops, key=lambda t: t.start_pos)
    json = opened in getattr(st, "json_opened", ())
    closer = _CLOSER_OF.get(opened.type)
    if closer is None:
        return None
    f = ctx.found
    ch = opened.value
    close = {"{": "}", "(": ")", "[": "]"}[ch]
    if f.at_eof:
        if json:
            help = f"a lead's JSON object continues until its `{close}`: add it"
        elif opened.type == "LBRACE":
            help = "end the block with `}` on a line of its own"
        else:
            help = f"a rule continues onto the next line while a `{ch}` is open: add the `{close}`"
        return _e(f"unclosed `{ch}` opened at line {opened.line}", ctx.tok_span(opened), help=help)
    later = f.span.line > opened.line
    starts_line = f.kind in DECL_KEYWORDS or (
        f.kind in ITEM_KEYWORDS and (json or opened.type != "LBRACE"))
    closes_block = f.kind == "RBRACE" and opened.type != "LBRACE"
    if later and (starts_line or closes_block) and closer in ctx.accepts:
        where = f"`{f.text}` on line {f.span.line}"
        if opened.type == "LBRACE" and not json:
            help = f"{where} starts a new declaration: add `}}` before it"
        else:
            help = f"{where} is outside the `{ch}`: add the `{close}` before it"
        return _e(f"unclosed `{ch}` opened at line {opened.line}", ctx.tok_span(opened), help=help)
    return None


@_mistake(
    "unmatched-closer",
    _TEAM + "stage mql owned by marketing {\n  require fit >= 40\n}\n}\n",
    "define x = lower(email))\n",
)
def _unmatched_closer(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    opener = _OPENER_OF.get(f.kind)
    if opener is None or f.kind in ctx.accepts:
        return None
    opens = ctx.open_tokens()
    if any(t.type == opener for t in opens):
        return None
    if opens and _CLOSER_OF[opens[-1].type] in ctx.accepts:
        o = opens[-1]
        close = _literals()[_CLOSER_OF[o.type]]
        return _e(f"expected `{close}` to close the `{o.value}` opened at line {o.line}, "
                  f"found `{f.text}`", f.span)
    return _e(f"unmatched `{f.text}`", f.span,
              help=f"no `{_OPENER[opener]}` is open here for it to close; remove it")


@_mistake(
    "closing-brace-on-rule-line",
    _TEAM + "stage mql owned by marketing {\n  require fit >= 40 }\n",
    _TEAM + "stage mql owned by marketing { require fit >= 40 }\n",
)
def _closing_brace_on_rule_line(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "RBRACE" or "_NL" not in ctx.accepts or "RBRACE" in ctx.accepts:
        return None
    if not any(t.type == "LBRACE" for t in ctx.open_tokens()):
        return None
    return _e("expected the end of the line, found `}`", f.span,
              help="a block's rules each take a line: put the closing `}` on a line of its own")


@_mistake(
    "assign-for-compare",
    _TEAM + "stage mql owned by marketing {\n  require fit = 40\n}\n",
    'define vp = job_level = "vp"\n',
    _TEAM + 'score fit owned by marketing {\n  +10 if job_level = "director"\n}\n',
    _TEAM + 'stage mql owned by marketing {\n  require fit >= 40 and country = "US"\n}\n',
    _TEAM + "stage mql owned by marketing {\n  require fit => 40\n}\n",
    _TEAM + "stage mql owned by marketing {\n  require fit =< 40\n}\n",
)
def _assign_for_compare(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "EQUAL" or "COMP_OP" not in ctx.accepts:
        return None
    after = ctx.text[f.span.end: f.span.end + 1]
    if after in ("<", ">"):
        flipped = after + "="
        meaning = "at least" if after == ">" else "at most"
        return _e(f"expected a comparison, found `={after}`",
                  ctx.span(f.span.start, f.span.end + 1),
                  help=f'write `{flipped}` for "{meaning}"')
    return _e("expected a comparison, found `=`", f.span, help="use `==` to compare")


def _snake(value: str) -> str | None:
    s = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
    return s if s and not s[0].isdigit() else None


@_mistake(
    "quoted-name",
    _TEAM + 'handoff "mql" to sales {\n  route "sdr" otherwise\n}\n',
    _TEAM + 'stage "mql" owned by marketing {\n  require fit >= 40\n}\n',
    _TEAM + 'stage mql owned by "marketing" {\n  require fit >= 40\n}\n',
    'funnel "lead" -> mql\n',
    'example "x" {\n  expect stage "mql"\n}\n',
    'example "x" {\n  at "2026-11-02T15:00:00Z"\n  expect stage "mql"\n}\n',
)
def _quoted_name(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "STRING" or "NAME" not in ctx.accepts or "STRING" in ctx.accepts:
        return None
    try:
        value = json.loads(f.text)
    except ValueError:
        value = f.text.strip('"')
    if re.fullmatch(r"[a-z_][a-z0-9_]*", value):
        help = f"names are written without quotes: `{value}`"
    elif (s := _snake(value)) is not None:
        help = f"names are lowercase snake_case, written without quotes: `{s}`"
    else:
        help = "names are lowercase snake_case, written without quotes"
    return _e("expected a name, found a string", f.span, help=help)


@_mistake(
    "route-without-condition",
    _TEAM + 'handoff mql to sales {\n  route "sdr-pool" else\n}\n',
    _TEAM + 'handoff mql to sales {\n  route "sdr-pool"\n}\n',
    _TEAM + 'handoff mql to sales {\n  route "ae" if enterprise\n  route "sdr-pool"\n}\n',
)
def _route_without_condition(ctx: Context) -> Diagnostic | None:
    if not {"IF", "OTHERWISE"} <= ctx.accepts or len(ctx.accepts) != 2:
        return None
    last = ctx.last_token()
    target = last.value if last is not None and last.type == "STRING" else '"team"'
    f = ctx.found
    if f.text == "else":
        help = f"write `otherwise` for the route taken when no other applies: " \
               f"`route {target} otherwise`"
    else:
        help = f"write `route {target} if CONDITION`, or `route {target} otherwise` " \
               f"for the last route"
    return _e(f"expected `if` or `otherwise` after the route, found {f.words}", f.span, help=help)


def _team_in(text: str) -> str:
    m = re.search(r"(?m)^[ \t]*team[ \t]+([a-z_][a-z0-9_]*)", text)
    return m.group(1) if m else "TEAM"


@_mistake(
    "missing-owned-by",
    "stage mql {\n  require fit >= 40\n}\n",
    'stage mql "Marketing qualified" {\n  require fit >= 40\n}\n',
    "score fit {\n  +10 if demo_requested\n}\n",
    'state nurture "Back with marketing"\n',
    "state nurture\n",
)
def _missing_owned_by(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if "OWNED" not in ctx.accepts or f.kind == "OWNED":
        return None
    kw = next((t for t in reversed(ctx.stack)
               if isinstance(t, Token) and t.type in ("STAGE", "SCORE", "STATE")), None)
    kind = kw.value if kw is not None else "block"
    name = "NAME"
    if kw is not None:
        idx = ctx.stack.index(kw)
        ident = ctx.stack[idx + 1] if idx + 1 < len(ctx.stack) else None
        tok = _last_leaf(ident) if ident is not None else None
        name = tok.value if tok is not None else name
    example = f"{kind} {name} owned by {_team_in(ctx.text)}" + (" {" if kind != "state" else "")
    help = f"every {kind} names the teams that own it (declared with `team`): `{example}`"
    if f.kind == "NAME" and difflib.get_close_matches(f.text, ["owned"], n=1, cutoff=0.6):
        help = f"did you mean `owned by`? {help}"
    return _e(f"expected `owned by`, found {f.words}", f.span, help=help)


@_mistake(
    "two-rules-on-one-line",
    _TEAM + "score fit owned by marketing {\n  +10 if vp +5 if director\n}\n",
    _TEAM + "score fit owned by marketing {\n  +10 if vp -5 if intern\n}\n",
    _TEAM + "stage mql owned by marketing {\n  require fit >= 40 require email is present\n}\n",
    'team marketing "@acme/marketing" team sales "@acme/sales"\n',
)
def _two_rules_on_one_line(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    stack = ctx.stack
    if (f.kind in ("IF", "PER") and len(stack) >= 2 and isinstance(stack[-1], Token)
            and stack[-1].type == "NUMBER" and isinstance(stack[-2], Token)
            and stack[-2].type in ("PLUS", "MINUS")
            and any(isinstance(t, Token) and t.type == "SCORE" for t in stack)):
        sign, num = stack[-2], stack[-1]
        rule = f"{sign.value}{num.value} {f.text} …"
        return _e("two rules on one line", ctx.span(sign.start_pos, num.end_pos),
                  help=f"a rule ends at the end of its line: start `{rule}` on a line of its own")
    if "_NL" in ctx.accepts and (f.kind in ITEM_KEYWORDS or f.kind in DECL_KEYWORDS):
        what = "declarations" if f.kind in DECL_KEYWORDS else "rules"
        return _e(f"two {what} on one line", f.span,
                  help=f"start `{f.text}` on a line of its own")
    return None


_BLOCK_SHAPE = {
    "stage": "stage NAME owned by TEAM { … }",
    "score": "score NAME owned by TEAM { … }",
    "handoff": "handoff STAGE to TEAM { … }",
    "example": 'example "name" { … }',
    "calendar": "calendar { … }",
}


@_mistake(
    "rule-outside-block",
    "require fit >= 40\n",
    'team marketing "@acme/marketing"\n+10 if demo_requested\n',
    _TEAM + "stage mql owned by marketing {\n  require fit >= 40\n}\n  exclude competitor\n",
)
def _rule_outside_block(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if len(DECL_KEYWORDS & ctx.accepts) < 4:
        return None
    if f.kind in ITEM_KEYWORDS:
        block, rule = ITEM_KEYWORDS[f.kind], f"`{f.text}` rules"
    elif f.kind in ("PLUS", "MINUS"):
        block, rule = "score", f"points (`{f.text}10 if …`)"
    else:
        return None
    return _e(f"expected a declaration, found {f.words}", f.span,
              help=f"{rule} belong inside a `{_BLOCK_SHAPE[block]}` block; "
                   f"is a `}}` above closing the block too early?")


@_mistake(
    "missing-comma",
    'define free = ["gmail.com" "yahoo.com"]\n',
    _TEAM + "score fit owned by marketing sales {\n  +10 if vp\n}\n",
    'recycle sal sql to nurture if days_since(last_activity_at) > 30\n',
    'example "x" {\n  lead {"lead_id": "L-1" "email": "a@b.com"}\n}\n',
)
def _missing_comma(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if "COMMA" not in ctx.accepts or f.kind not in _VALUE_TOKENS:
        return None
    prev = ctx.last_token()
    if (prev is not None and prev.type == "JSON_NUMBER" and f.kind == "JSON_NUMBER"
            and prev.end_pos == f.span.start and prev.value.lstrip("-") == "0"):
        return _e("a JSON number cannot start with `0`", ctx.span(prev.start_pos, f.span.end),
                  help=f"lead literals are strict JSON: write `{int(f.text)}`, or a string "
                       f"if the zeros matter: \"0{f.text}\"")
    openers = ctx.open_tokens()
    inner = openers[-1] if openers else None
    if ctx.in_json and inner is not None and inner.type == "LBRACE":
        what, help_tail = "fields", "lead literals are strict JSON: separate fields with `,`"
    elif ctx.in_json:
        what, help_tail = "items", "lead literals are strict JSON: separate items with `,`"
    elif inner is not None and inner.type == "LSQB":
        what, help_tail = "list items", None
    elif inner is not None and inner.type == "LPAR":
        what, help_tail = "arguments", None
    else:
        what, help_tail = "names", None
    if help_tail is None:
        if prev is not None and len(prev.value) + len(f.text) <= 48:
            help_tail = f"separate {what} with commas: `{prev.value}, {f.text}`"
        else:
            help_tail = f"separate {what} with commas"
    return _e(f"expected `,` between {what}, found {f.words}", f.span, help=help_tail)


@_mistake(
    "unquoted-string",
    _TEAM + "handoff mql to sales {\n  route enterprise_ae if enterprise\n}\n",
    "policy acme acme_funnel\n",
    'example "x" {\n  lead {lead_id: "L-1"}\n}\n',
)
def _unquoted_string(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    # only where a string is the one thing that fits: elsewhere the word may be a
    # missing `=`, operator or keyword rather than a string without its quotes
    if f.kind != "NAME" or ctx.accepts - {"RBRACE"} != {"STRING"}:
        return None
    help = f'write it in double quotes: "{f.text}"'
    if ctx.in_json:
        help = f'lead literals are strict JSON: keys and strings use double quotes: "{f.text}"'
    return _e(f"expected a string in double quotes, found {f.words}", f.span, help=help)


@_mistake(
    "unsigned-points",
    _TEAM + "score fit owned by marketing {\n  10 if demo_requested\n}\n",
)
def _unsigned_points(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    # the contextual lexer's fallback may read a stray number as JSON_NUMBER
    if f.kind not in ("NUMBER", "JSON_NUMBER") or not {"PLUS", "MINUS", "RANGE"} <= ctx.accepts:
        return None
    return _e(f"expected `+` or `-` before the points, found {f.words}", f.span,
              help=f"points carry a sign: `+{f.text} if …` adds them, `-{f.text} if …` "
                   "takes them away")


@_mistake(
    "business-unit",
    _TEAM + "handoff mql to sales {\n  sla 30 business minutes from mql_at until accepted_at\n}\n",
    _TEAM + "handoff mql to sales {\n  escalate to \"managers\" after 1 business week\n}\n",
)
def _business_unit(ctx: Context) -> Diagnostic | None:
    if not ctx.accepts or not ctx.accepts <= _BUSINESS_UNITS:
        return None
    f = ctx.found
    return _e(f"expected `hours` or `days` after `business`, found {f.words}", f.span,
              help="business time counts working hours or workdays: `4 business hours`, "
                   "`2 business days`")


@_mistake(
    "duration-unit",
    _TEAM + "handoff mql to sales {\n  sla 4 bizness hours from mql_at until accepted_at\n}\n",
    _TEAM + "handoff mql to sales {\n  sla 4 hrs from mql_at until accepted_at\n}\n",
    _TEAM + "score e owned by marketing {\n  decay half-life 30 since last_activity_at\n}\n",
)
def _duration_unit(ctx: Context) -> Diagnostic | None:
    if not {"MINUTES", "HOURS", "DAYS", "WEEKS"} <= ctx.accepts:
        return None
    f = ctx.found
    units = ["minutes", "hours", "days", "weeks"]
    choices = units + (["business"] if "BUSINESS" in ctx.accepts else [])
    close = difflib.get_close_matches(f.text.lower(), choices, n=1, cutoff=0.6) \
        if f.kind == "NAME" else []
    if close:
        help = f"did you mean `{close[0]}`?"
    else:
        help = "a duration is a number and a unit: `30 days`, `4 business hours`"
    what = "a unit (`minutes`, `hours`, `days`, `weeks`" + (
        " or `business`)" if "BUSINESS" in ctx.accepts else ")")
    return _e(f"expected {what}, found {f.words}", f.span, help=help)


_TIMEISH = re.compile(r"[0-9]{1,2}(?:[:.][0-9]{1,2})?(?:[ \t]*[aApP]\.?[mM]\.?)?")


@_mistake(
    "time-of-day",
    "calendar {\n  hours 9:00 to 17:00\n}\n",
    "calendar {\n  hours 09:00 to 5pm\n}\n",
    "calendar {\n  timezone \"America/New_York\"\n  hours 9 to 17\n}\n",
)
def _time_of_day(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if "TIME" not in ctx.accepts or f.kind in ("_NL", "$END", "CHAR"):
        return None
    m = _TIMEISH.match(ctx.text, f.span.start)
    if m is None:
        return None
    shown = m.group(0)
    suggestion = _as_hhmm(shown)
    help = "write times as `HH:MM`, 24-hour, with two-digit hours"
    if suggestion is not None:
        help += f": `{suggestion}`"
    return _e(f"expected a time of day (`HH:MM`), found `{shown}`",
              ctx.span(m.start(), m.end()), help=help)


def _as_hhmm(text: str) -> str | None:
    m = re.fullmatch(r"([0-9]{1,2})(?:[:.]([0-9]{2}))?[ \t]*(?:([aApP])\.?[mM]\.?)?", text)
    if m is None:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    half = (m.group(3) or "").lower()
    if half and not 1 <= hour <= 12:
        return None
    if half == "p" and hour != 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    return f"{hour:02d}:{minute:02d}"


@_mistake(
    "half-life",
    _TEAM + "score e owned by marketing {\n  decay half life 30 days since last_activity_at\n}\n",
    _TEAM + "score e owned by marketing {\n  decay halflife 30 days since last_activity_at\n}\n",
)
def _half_life(ctx: Context) -> Diagnostic | None:
    if ctx.accepts != frozenset({_terminal_for("half-life")}):
        return None
    f = ctx.found
    return _e(f"expected `half-life`, found {f.words}", f.span,
              help="write `half-life` with a hyphen: `decay half-life 30 days since "
                   "last_activity_at`")


def _terminal_for(literal: str) -> str:
    for name, lit in _literals().items():
        if lit == literal:
            return name
    return literal


@_mistake(
    "json-trailing-comma",
    'example "x" {\n  lead {"lead_id": "L-1",}\n}\n',
    'example "x" {\n  lead {"lead_id": "L-1", "tags": ["a", "b",]}\n}\n',
)
def _json_trailing_comma(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if not ctx.in_json or f.kind not in ("RBRACE", "RSQB"):
        return None
    last = ctx.last_token()
    if last is None or last.type != "COMMA":
        return None
    return _e("a trailing comma is not allowed in JSON", ctx.tok_span(last),
              help=f"lead literals are strict JSON: remove the `,` before `{f.text}`")


@_mistake(
    "operator-starts-line",
    "define enterprise =\n  company.employees >= 1000\n  or company.annual_revenue >= 50_000_000\n",
    _TEAM + "stage mql owned by marketing {\n  require fit >= 40\n    and demo_requested\n}\n",
)
def _operator_starts_line(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    # (`not` at the start of a line is more often a rule missing its keyword)
    if (f.kind not in _OPERATORS or f.kind == "NOT" or f.kind in ctx.accepts
            or "COMP_OP" in ctx.accepts):
        return None
    line_start = ctx.text.rfind("\n", 0, f.span.start) + 1
    if ctx.text[line_start: f.span.start].strip():
        return None
    prev = ctx.last_token()
    if prev is None or prev.end_line is None or prev.end_line >= f.span.line:
        return None
    return _e(f"a rule cannot continue with {f.words} on a new line", f.span,
              help=f"a rule ends at the end of its line; to continue it, end line "
                   f"{prev.end_line} with `{f.text}` instead")


@_mistake(
    "keyword-prefix",
    _TEAM + "stage mql owned by marketing {\n  requires fit >= 40\n}\n",
    "stages mql owned by marketing {\n}\n",
    'policypolicy acme "Acme"\n',
    order=FIRST,
)
def _keyword_prefix(ctx: Context) -> Diagnostic | None:
    # Where no name may stand, the contextual lexer reads `requires` as the keyword
    # `require` and a name `s`: find such a keyword glued to the word after it.
    line = ctx.found.span.line
    leaves: list[Token] = []
    for item in reversed(ctx.stack):
        got = _leaves(item)
        if got and got[-1].line is not None and got[-1].line < line:
            break
        leaves[:0] = got
    for kw, nxt in zip(leaves, leaves[1:], strict=False):
        if (kw.line == line and _is_keyword(kw.type) and nxt.start_pos == kw.end_pos
                and re.match(r"[A-Za-z0-9_]", str(nxt.value))):
            word = kw.value + re.match(r"[A-Za-z0-9_]*", str(nxt.value)).group(0)
            return _e(f"expected `{kw.value}`, found `{word}`",
                      ctx.span(kw.start_pos, kw.start_pos + len(word)))
    return None


def _leaves(item) -> list[Token]:
    out: list[Token] = []
    todo = [item]
    while todo:
        x = todo.pop()
        if isinstance(x, Token):
            if x.start_pos is not None and x.type != "_NL":
                out.append(x)
        elif isinstance(x, Tree):
            todo.extend(reversed(x.children))
    return out


@_mistake(
    "comma-in-calendar-list",
    "calendar {\n  workdays mon, tue, wed\n}\n",
    'calendar {\n  holidays "2026-11-26", "2026-12-25"\n}\n',
)
def _comma_in_calendar_list(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "COMMA" or "COMMA" in ctx.accepts:
        return None
    kw = next((t for t in reversed(ctx.stack) if isinstance(t, Token)
               and t.type in ("WORKDAYS", "HOLIDAYS")), None)
    if kw is None:
        return None
    example = "workdays mon tue wed" if kw.type == "WORKDAYS" else \
        'holidays "2026-11-26" "2026-12-25"'
    return _e("expected the end of the line or another item, found `,`", f.span,
              help=f"`{kw.value}` lists its items with spaces, without commas: `{example}`")


@_mistake(
    "non-ascii-name",
    "définir x = 1\n",
    "define prénom_ok = true\n",
)
def _non_ascii_name(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind == "CHAR":
        at = f.span.start
    elif f.text[:1].isalpha() or f.text[:1] == "_":
        at = f.span.end
    else:
        return None
    ch = ctx.text[at: at + 1]
    if not ch or ch.isascii() or not (ch.isalpha() or unicodedata.category(ch) == "Mn"):
        return None
    start = at
    while start > 0 and (ctx.text[start - 1].isalnum() or ctx.text[start - 1] == "_"):
        start -= 1
    end = at
    while end < len(ctx.text) and (ctx.text[end].isalnum() or ctx.text[end] == "_"
                                   or unicodedata.category(ctx.text[end]) == "Mn"):
        end += 1
    word = ctx.text[start:end]
    return _e(f"unexpected character `{ch}` in `{word}`", ctx.span(at, at + 1),
              help="names use ASCII letters, digits and `_`; a lead field with other "
                   f"characters is written in backticks: `` `{word}` ``")


# --------------------------------------------------------------------------- matching


_parsed: dict[str, UnexpectedInput | None] = {}


def _failure(snippet: str) -> UnexpectedInput | None:
    """How a catalog snippet fails (parsed once, then remembered)."""
    from policy.syntax.parser import lark_parser

    if snippet not in _parsed:
        try:
            lark_parser().parse(snippet)
        except UnexpectedInput as exc:
            _parsed[snippet] = exc
        else:
            _parsed[snippet] = None
    return _parsed[snippet]


def _parse_example(snippet: str):
    """``parser.parse`` for catalog snippets, for ``match_examples``: raises the failure."""
    exc = _failure(snippet)
    if exc is not None:
        raise exc.with_traceback(None)  # a fresh traceback each time: no growing chain
    return None


def _comparable(exc: UnexpectedInput, snippet: str) -> bool:
    """False for a snippet ``match_examples`` would skip for its different ``accepts``.

    We drop those ourselves: on that path lark 1.3.1 logs the parser state with
    ``%d`` and raises TypeError, since an LALR state is a ParserState, not an int.
    """
    ut = _failure(snippet)
    if ut is None:
        return False
    if isinstance(exc, UnexpectedToken) and isinstance(ut, UnexpectedToken):
        return not (ut.state == exc.state and ut.accepts != exc.accepts)
    return True


def _candidates(exc: UnexpectedInput) -> Iterator[Mistake]:
    """Catalog entries, best first: the sure ones, those ``match_examples`` picks, the rest."""
    yield from (m for m in CATALOG if m.order == FIRST)
    remaining = [m for m in CATALOG if m.order == MATCHED]
    if getattr(exc, "state", None) is not None:
        while remaining:
            catalog = [(m, [x for x in m.examples if _comparable(exc, x)]) for m in remaining]
            label = exc.match_examples(
                _parse_example, [(m, xs) for m, xs in catalog if xs], use_accepts=True
            )
            if label is None:
                break
            remaining.remove(label)
            yield label
    yield from remaining
    yield from (m for m in CATALOG if m.order == LAST)


def classify(exc: UnexpectedInput, text: str, file: str, state) -> tuple[str | None, Diagnostic]:
    """The catalog entry (by name) that explains ``exc``, or None, and its diagnostic."""
    stack = tuple(getattr(getattr(exc, "state", None), "value_stack", ()) or ())
    ctx = Context(exc, text, file, state, _found(exc, text, file, stack), _accepts(exc), stack)
    for mistake in _candidates(exc):
        diag = mistake.check(ctx)
        if diag is not None:
            return mistake.name, diag
    return None, _expected_found(ctx)


def describe(exc: UnexpectedInput, text: str, file: str, state) -> Diagnostic:
    """Turn Lark's ``UnexpectedInput`` into one E100 diagnostic a person can act on.

    ``state`` is the post-lexer's state of the failed parse: its ``blocks``,
    ``brackets`` and ``json_opened`` stacks hold the ``{``/``(``/``[`` tokens
    still open.
    """
    return classify(exc, text, file, state)[1]


# --------------------------------------------------------------------------- the fallback


def _alternatives(accepts: frozenset[str], in_json: bool) -> list[str]:
    """The accepted terminals in words, grouped and most useful first."""
    left = set(accepts)
    order = _keyword_order()
    first: list[str] = []
    middle: list[str] = []
    last: list[str] = []
    if len(DECL_KEYWORDS & left) >= 4:
        # between declarations; the grammar's optional leading newline and the end
        # of the file are true but no help
        left -= {"_NL", "$END"}
    if "_NL" in left:
        first.append(_WORDS["_NL"])
        left.discard("_NL")
    if in_json and _JSON_VALUE <= left:
        middle.append("a JSON value")
        left -= _JSON_VALUE
    if _EXPR_START <= left:
        middle.append("an expression")
        left -= _EXPR_START | _EXPR_EXTRA
    if {"NAME", "QUOTED_KEY"} <= left:
        middle.append("a field name")
        left -= {"NAME", "QUOTED_KEY"}
    decls = DECL_KEYWORDS & left
    if len(decls) >= 4:
        middle.append("a declaration (`stage`, `score`, `define`, …)")
        left -= DECL_KEYWORDS
    if {"MINUTES", "HOURS", "DAYS", "WEEKS"} <= left:
        middle.append("a unit (`minutes`, `hours`, `days`, `weeks`)")
        left -= set(_UNITS)
    ops = [t for t in _OPERATORS if t in left]
    if len(ops) >= 3:
        shown = ", ".join({"COMP_OP": "`==`"}.get(t, _word(t)) for t in ops[:3])
        last.append(f"an operator ({shown}, …)")
        left -= set(_OPERATORS)
    for plural, single in (("HOURS", "HOUR"), ("DAYS", "DAY"), ("MINUTES", "MINUTE"),
                           ("WEEKS", "WEEK")):
        if plural in left:
            left.discard(single)

    def rank(t: str) -> tuple[int, int, str]:
        if _is_keyword(t):
            tier = 0
        elif t in ("EQUAL", "_ARROW", "COMMA", "COLON"):
            tier = 1  # what joins the parts of a declaration: usually the missing piece
        elif t in _WORDS or t == "NONE":
            tier = 2
        elif t in ("RBRACE", "RPAR", "RSQB", "$END"):
            tier = 4
        else:
            tier = 3
        return (tier, order.get(t, 999), t)

    singles = [_word(t) for t in sorted(left, key=rank)]
    closers = [w for w in singles if w in ("`}`", "`)`", "`]`", "the end of the file")]
    singles = [w for w in singles if w not in closers]
    # the single most specific token leads; then the groups, the rest, the closers,
    # and the operators, which fit almost anywhere in an expression and say least
    return first + singles[:1] + middle + singles[1:] + closers + last


def _join(words: list[str]) -> str:
    if len(words) > MAX_ALTERNATIVES:
        return ", ".join(words[:MAX_ALTERNATIVES]) + ", …"
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _expected_found(ctx: Context) -> Diagnostic:
    f = ctx.found
    words = _alternatives(ctx.accepts, ctx.in_json)
    if words:
        message = f"expected {_join(words)}, found {f.words}"
    else:
        message = f"unexpected {f.words}"
    help = None
    keywords = [_literals()[t] for t in ctx.accepts if _is_keyword(t)]
    if f.kind == "NAME" or _is_keyword(f.kind):
        close = difflib.get_close_matches(f.text, keywords, n=1, cutoff=0.7)
        if close and close[0] != f.text:
            help = f"did you mean `{close[0]}`?"
    if help is None and ctx.in_json:
        help = "lead literals are strict JSON (RFC 8259): double quotes, no trailing commas"
    if help is None and f.kind in _OPENER_OF.values():
        opens = ctx.open_tokens()
        if opens:
            o = opens[-1]
            help = f"the `{o.value}` opened at line {o.line} is still open"
    return _e(message, f.span, help=help)


# --------------------------------------------------------------------------- nesting

#: Rules that nest: the levels :data:`MAX_NESTING` counts.
_NESTING_RULES = frozenset({
    "or_", "and_", "not_", "comparison", "in_", "not_in", "contains", "starts_with",
    "ends_with", "is_present", "is_missing", "arith", "neg", "primary", "list", "call",
    "json_object", "json_array",
})


def too_deep(tree: Tree, file: str, text: str) -> Diagnostic | None:
    """E100 when an expression or a lead's JSON nests deeper than :data:`MAX_NESTING`.

    Runs on the parse tree before the transformer, iteratively, so a hostile file
    cannot exhaust the stack here either.
    """
    todo: list[tuple[object, int]] = [(tree, 0)]
    while todo:
        node, depth = todo.pop()
        if not isinstance(node, Tree):
            continue
        if node.data in _NESTING_RULES:
            depth += 1
            if depth > MAX_NESTING:
                tok = _first_leaf(node)
                json_ = node.data.startswith("json")
                what = "the lead's JSON" if json_ else "the expression"
                help = ("flatten the lead, or read it from a file with `lead file \"…\"`" if json_
                        else "name the parts with `define` and combine the names")
                start = tok.start_pos if tok is not None else 0
                span = _offset_span(file, text, start, tok.end_pos if tok is not None else 0)
                return _e(f"{what} nests more than {MAX_NESTING} levels deep", span, help=help)
        todo.extend((c, depth) for c in node.children)
    return None


def _first_leaf(item) -> Token | None:
    todo = [item]
    while todo:
        x = todo.pop()
        if isinstance(x, Token):
            if x.type != "_NL" and x.start_pos is not None:
                return x
        elif isinstance(x, Tree):
            todo.extend(reversed(x.children))
    return None


__all__ = ["CATALOG", "FIRST", "LAST", "MATCHED", "MAX_ALTERNATIVES", "MAX_NESTING", "Context",
           "Found", "Mistake", "classify", "describe", "too_deep"]
