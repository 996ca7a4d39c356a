"""Syntax errors (E100) in words a person can act on.

:func:`policy.syntax.parser.parse` calls :func:`describe` when Lark gives up on a file.
Before it run only the lexer, the post-lexer (:class:`policy.syntax.grammar.LineJoiner`,
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

The catalog's entries live in :mod:`policy.syntax.mistakes_tokens` and
:mod:`policy.syntax.mistakes_rules`, what they see in
:mod:`policy.syntax.error_context`, and every use of Lark's internals in
:mod:`policy.syntax.lark_internals`. The parser hands its Lark instance in: this
module never imports the parser.

The module also keeps the transformer (and every later phase, which walks the
AST recursively) away from trees nested deeper than :data:`MAX_NESTING`:
:func:`too_deep`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput

from policy.syntax import lark_internals as li
from policy.syntax import mistakes_rules, mistakes_tokens
from policy.syntax.diagnostics import Diagnostic
from policy.syntax.error_context import (
    DECL_KEYWORDS,
    EXPR_EXTRA,
    EXPR_START,
    FIRST,
    JSON_VALUE,
    LAST,
    MATCHED,
    MAX_NESTING,
    OPENER_OF,
    OPERATORS,
    UNITS,
    WORDS,
    Context,
    Found,
    Mistake,
    e100,
    found_at,
    is_keyword,
    offset_span,
    word,
)

#: At most this many alternatives after "expected".
MAX_ALTERNATIVES = 5


# --------------------------------------------------------------------------- matching


#: The known mistakes, most specific first.
CATALOG: list[Mistake] = [*mistakes_tokens.ENTRIES, *mistakes_rules.ENTRIES]


def _candidates(exc: UnexpectedInput, lark: Lark) -> Iterator[Mistake]:
    """Catalog entries, best first: the sure ones, those ``match_examples`` picks, the rest."""
    yield from (m for m in CATALOG if m.order == FIRST)
    remaining = [m for m in CATALOG if m.order == MATCHED]
    if li.has_parser_state(exc):
        while remaining:
            label = li.best_example_match(lark, exc, [(m, m.examples) for m in remaining])
            if label is None:
                break
            remaining.remove(label)
            yield label
    yield from remaining
    yield from (m for m in CATALOG if m.order == LAST)


def classify(exc: UnexpectedInput, text: str, file: str, state,
             lark: Lark) -> tuple[str | None, Diagnostic]:
    """The catalog entry (by name) that explains ``exc``, or None, and its diagnostic.

    ``lark`` is the parser that failed (with its post-lexer): the catalog's
    snippets are parsed with it, so their parser states compare with ``exc``'s.
    """
    stack = li.value_stack(exc)
    ctx = Context(exc, text, file, state, found_at(exc, text, file, stack), li.accepts(exc),
                  stack, li.literals(lark))
    for mistake in _candidates(exc, lark):
        diag = mistake.check(ctx)
        if diag is not None:
            return mistake.name, diag
    return None, _expected_found(ctx)


def describe(exc: UnexpectedInput, text: str, file: str, state, lark: Lark) -> Diagnostic:
    """Turn Lark's ``UnexpectedInput`` into one E100 diagnostic a person can act on.

    ``state`` is the post-lexer's state of the failed parse: its ``blocks``,
    ``brackets`` and ``json_opened`` stacks hold the ``{``/``(``/``[`` tokens
    still open.
    """
    return classify(exc, text, file, state, lark)[1]

# --------------------------------------------------------------------------- the fallback


def _alternatives(accepts: frozenset[str], in_json: bool,
                  literals: Mapping[str, str]) -> list[str]:
    """The accepted terminals in words, grouped and most useful first."""
    left = set(accepts)
    order = {name: i for i, name in enumerate(literals)}
    first: list[str] = []
    middle: list[str] = []
    last: list[str] = []
    if len(DECL_KEYWORDS & left) >= 4:
        # between declarations; the grammar's optional leading newline and the end
        # of the file are true but no help
        left -= {"_NL", "$END"}
    if "_NL" in left:
        first.append(WORDS["_NL"])
        left.discard("_NL")
    if in_json and JSON_VALUE <= left:
        middle.append("a JSON value")
        left -= JSON_VALUE
    if EXPR_START <= left:
        middle.append("an expression")
        left -= EXPR_START | EXPR_EXTRA
    if {"NAME", "QUOTED_KEY"} <= left:
        middle.append("a field name")
        left -= {"NAME", "QUOTED_KEY"}
    decls = DECL_KEYWORDS & left
    if len(decls) >= 4:
        middle.append("a declaration (`stage`, `score`, `define`, …)")
        left -= DECL_KEYWORDS
    if {"MINUTES", "HOURS", "DAYS", "WEEKS"} <= left:
        middle.append("a unit (`minutes`, `hours`, `days`, `weeks`)")
        left -= set(UNITS)
    ops = [t for t in OPERATORS if t in left]
    if len(ops) >= 3:
        shown = ", ".join({"COMP_OP": "`==`"}.get(t, word(t, literals)) for t in ops[:3])
        last.append(f"an operator ({shown}, …)")
        left -= set(OPERATORS)
    for plural, single in (("HOURS", "HOUR"), ("DAYS", "DAY"), ("MINUTES", "MINUTE"),
                           ("WEEKS", "WEEK")):
        if plural in left:
            left.discard(single)

    def rank(t: str) -> tuple[int, int, str]:
        if is_keyword(t, literals):
            tier = 0
        elif t in ("EQUAL", "_ARROW", "COMMA", "COLON"):
            tier = 1  # what joins the parts of a declaration: usually the missing piece
        elif t in WORDS or t == "NONE":
            tier = 2
        elif t in ("RBRACE", "RPAR", "RSQB", "$END"):
            tier = 4
        else:
            tier = 3
        return (tier, order.get(t, 999), t)

    singles = [word(t, literals) for t in sorted(left, key=rank)]
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
    words = _alternatives(ctx.accepts, ctx.in_json, ctx.literals)
    if words:
        message = f"expected {_join(words)}, found {f.words}"
    else:
        message = f"unexpected {f.words}"
    help = None
    keywords = [ctx.literals[t] for t in ctx.accepts if ctx.is_keyword(t)]
    if f.kind == "NAME" or ctx.is_keyword(f.kind):
        close = difflib.get_close_matches(f.text, keywords, n=1, cutoff=0.7)
        if close and close[0] != f.text:
            help = f"did you mean `{close[0]}`?"
    if help is None and ctx.in_json:
        help = "lead literals are strict JSON (RFC 8259): double quotes, no trailing commas"
    if help is None and f.kind in OPENER_OF.values():
        opens = ctx.open_tokens()
        if opens:
            o = opens[-1]
            help = f"the `{o.value}` opened at line {o.line} is still open"
    return e100(message, f.span, help=help)


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
                span = offset_span(file, text, start, tok.end_pos if tok is not None else 0)
                return e100(f"{what} nests more than {MAX_NESTING} levels deep", span, help=help)
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
