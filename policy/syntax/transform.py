"""Lark's tree to the AST, part one: what every declaration is built from.

:class:`AstBuilder` is the base of the one transformer
(:class:`policy.syntax.declarations.ToAst` adds a method per declaration kind): spans,
names and field paths, expressions, and the JSON of a lead literal. Methods are named
after grammar rules and aliases. A mistake the grammar cannot see (a reserved word as a
name, a bad string escape) raises :class:`ParseProblem`, which
:func:`policy.syntax.parser.parse` turns into one E100. No Lark ``Tree`` or ``Token``
leaves the parser.
"""

from __future__ import annotations

import json
import math

import attrs
from lark import Token, Transformer

from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error
from policy.syntax.grammar import RESERVED, VALUE_TOKENS

__all__ = ["JSON_NULL", "AstBuilder", "JsonValue", "ParseProblem", "json_value",
           "number_token", "number_value", "token_span", "unquote", "value_children"]

_RESERVED_HELP = "reserved words cannot be names: " + ", ".join(f"`{w}`" for w in sorted(RESERVED))

#: Other spellings of the literals (`True`, `NULL`, `None`) -> the language's word.
_LITERAL_WORDS = {"true": "true", "false": "false", "null": "null", "none": "null"}


class ParseProblem(Exception):
    """Raised inside the transformer for a mistake the grammar cannot see."""

    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


def _edge_token(tree, *, reverse: bool) -> Token | None:
    """The first (or last) real token under a tree node; newlines do not count."""
    for c in reversed(tree.children) if reverse else tree.children:
        if c is None:
            continue
        if isinstance(c, Token):
            if c.type != "_NL":
                return c
            continue
        found = _edge_token(c, reverse=reverse)
        if found is not None:
            return found
    return None


def value_children(children: list) -> list:
    """Children that carry meaning: AST values and value tokens, no keywords."""
    return [
        c
        for c in children
        if not (isinstance(c, Token) and c.type not in VALUE_TOKENS)
    ]


def unquote(tok: Token, file: str) -> str:
    try:
        return json.loads(tok.value)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Invalid control character") and 0 <= exc.pos < len(tok.value):
            # a tab typed into the string: JSON wants it escaped (the message json gives,
            # "invalid control character at", named neither the character nor the fix)
            char = tok.value[exc.pos]
            escape = {"\t": "\\t", "\f": "\\f", "\b": "\\b"}.get(char,
                                                                  f"\\u{ord(char):04x}")
            name = "a tab" if char == "\t" else f"the control character U+{ord(char):04X}"
            at = tok.column + exc.pos
            span = n.Span(file, tok.line, at, tok.line, at + 1, tok.start_pos + exc.pos,
                          tok.start_pos + exc.pos + 1)
            raise ParseProblem(error(
                "E100", f"{name} inside a string", span,
                help=f"strings use JSON escapes: write it as `{escape}`")) from None
        raise ParseProblem(
            error("E100", f"bad string literal: {exc.msg.lower()}", token_span(tok, file))
        ) from None


def token_span(tok: Token, file: str) -> n.Span:
    return n.Span(file, tok.line, tok.column, tok.end_line, tok.end_column, tok.start_pos,
                  tok.end_pos)


def number_value(text: str) -> int | float:
    clean = text.replace("_", "")
    return float(clean) if "." in clean else int(clean)


def number_token(tok: Token, file: str) -> int | float:
    """The value of a number token; a number past a double's range (`limits` lets 1000
    digits through) is E100 here: arithmetic is IEEE double in every engine, so such a
    literal has no meaning there (the SQL has no literal for it, and the python engine
    would blame every lead for the policy's number)."""
    value = number_value(tok.value)
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        raise ParseProblem(error(
            "E100", "a number beyond a double's range (about 1.8e308)",
            token_span(tok, file),
            help="no score, count or amount needs a number that large"))
    return value


class AstBuilder(Transformer):
    """Lark tree -> AST: the shared helpers, names, expressions and JSON values."""

    def __init__(self, file: str):
        super().__init__(visit_tokens=False)
        self.file = file

    # helpers ------------------------------------------------------------------------
    def _call_userfunc(self, tree, new_children=None):
        # Remember the rule being built: its span is that of its first and last
        # token in the *original* tree, so values that carry no position (a reason
        # string, a unit, a sign) still count towards it.
        self._tree = tree
        return super()._call_userfunc(tree, new_children)

    def _span(self, children: list) -> n.Span:
        first = _edge_token(self._tree, reverse=False)
        last = _edge_token(self._tree, reverse=True)
        if first is None or last is None:
            return n.Span(self.file, 0, 0, 0, 0)
        return n.Span(self.file, first.line, first.column, last.end_line, last.end_column,
                      first.start_pos, last.end_pos)

    def _str(self, tok: Token) -> str:
        return unquote(tok, self.file)

    # names --------------------------------------------------------------------------
    def ident(self, c):
        tok = c[0]
        if tok.value in RESERVED:
            raise ParseProblem(error("E100", f"`{tok.value}` is a reserved word, not a name",
                                 token_span(tok, self.file), help=_RESERVED_HELP))
        return n.Ident(tok.value, span=token_span(tok, self.file))

    def field_path(self, c):
        keys = []
        for tok in c:
            if not isinstance(tok, Token) or tok.type == "DOT":
                continue
            if tok.type == "QUOTED_KEY":
                keys.append(tok.value[1:-1])
            else:
                if tok.value in RESERVED:
                    raise ParseProblem(
                        error(
                            "E100",
                            f"`{tok.value}` is a reserved word",
                            token_span(tok, self.file),
                            help=f"write a field of that name in backticks: `{tok.value}`",
                        )
                    )
                if len(c) == 1 and tok.value.lower() in _LITERAL_WORDS:
                    # `True`, `FALSE`, `None`: a spreadsheet's or Python's spelling of a
                    # literal would silently read a field that no lead has
                    word = _LITERAL_WORDS[tok.value.lower()]
                    raise ParseProblem(error(
                        "E100", f"`{tok.value}` is not a value of the language",
                        token_span(tok, self.file),
                        help=f"write `{word}` (lower case); a field named `{tok.value}` is "
                             f"written in backticks: `` `{tok.value}` ``"))
                keys.append(tok.value)
        return n.Ref(tuple(keys), span=self._span(c))

    def description(self, c):
        v = value_children(c)
        return self._str(v[0]) if v else None

    reason = description

    def owners(self, c):
        return tuple(x for x in c if isinstance(x, n.Ident))
    # JSON ---------------------------------------------------------------------------
    def json_object(self, c):
        out: dict = {}
        for pair in c:
            if isinstance(pair, tuple):
                out[pair[0]] = pair[1]
        return JsonValue(out, self._span(c))

    def json_pair(self, c):
        key, _colon, value = c
        return (self._str(key), json_value(value))

    def json_array(self, c):
        # None here is Lark's placeholder for the items of an empty `[]`; a JSON
        # `null` arrives as JSON_NULL, so `[]` and `[null]` stay apart
        return JsonValue([json_value(x) for x in c if x is not None and not isinstance(x, Token)],
                     self._span(c))

    def json_string(self, c):
        return self._str(c[0])

    def json_number(self, c):
        return json.loads(c[0].value)

    def json_true(self, c):
        return True

    def json_false(self, c):
        return False

    def json_null(self, c):
        return JSON_NULL

    # expressions --------------------------------------------------------------------
    def _bin(self, op, c):
        left, right = c[0], c[-1]
        return n.Binary(op, left, right, span=self._span(c))

    def or_(self, c):
        return self._bin(n.BinOp.OR, c)

    def and_(self, c):
        return self._bin(n.BinOp.AND, c)

    def not_(self, c):
        return n.Not(c[-1], span=self._span(c))

    def comparison(self, c):
        left, op, right = c
        return n.Binary(n.BinOp(op.value), left, right, span=self._span(c))

    def in_(self, c):
        return self._bin(n.BinOp.IN, c)

    def not_in(self, c):
        return self._bin(n.BinOp.NOT_IN, c)

    def contains(self, c):
        return self._bin(n.BinOp.CONTAINS, c)

    def starts_with(self, c):
        return self._bin(n.BinOp.STARTS_WITH, c)

    def ends_with(self, c):
        return self._bin(n.BinOp.ENDS_WITH, c)

    def is_present(self, c):
        return n.Presence(c[0], True, span=self._span(c))

    def is_missing(self, c):
        return n.Presence(c[0], False, span=self._span(c))

    def arith(self, c):
        left, op, right = c
        return n.Binary(n.BinOp(op.value), left, right, span=self._span(c))

    def neg(self, c):
        return n.Neg(c[-1], span=self._span(c))

    def number(self, c):
        tok = c[0]
        return n.Number(number_token(tok, self.file), text=tok.value,
                        span=token_span(tok, self.file))

    def string(self, c):
        return n.String(self._str(c[0]), span=token_span(c[0], self.file))

    def true(self, c):
        return n.Bool(True, span=self._span(c))

    def false(self, c):
        return n.Bool(False, span=self._span(c))

    def null(self, c):
        return n.Null(span=self._span(c))

    def primary(self, c):
        # only `( expr )` reaches here: the other alternatives are aliased or inlined
        return c[1]

    def list(self, c):
        items = tuple(x for x in c if isinstance(x, n.Expr))
        return n.ListExpr(items, span=self._span(c))

    def call(self, c):
        name = c[0]
        args = tuple(x for x in c[1:] if isinstance(x, n.Expr))
        return n.Call(name.value, args, span=self._span(c))

    def start(self, c):
        return [x for x in c if isinstance(x, n.Stmt)]


@attrs.frozen
class JsonValue:
    value: object
    span: n.Span


#: A JSON ``null`` while the lead's JSON is being built (None is Lark's placeholder).
JSON_NULL = object()


def json_value(v: object) -> object:
    if isinstance(v, JsonValue):
        return v.value
    return None if v is JSON_NULL else v

