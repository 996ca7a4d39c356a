"""Every use of Lark's internals, in one place.

The syntax-error catalog (:mod:`policy.syntax.syntax_errors`) reads more of
Lark than its public API gives: the LALR parser state at a failure, the value
stack still unreduced, the terminals' fixed texts and
``UnexpectedInput.match_examples``. Those are not promised across Lark
releases, so they sit here, and ``pyproject.toml`` pins Lark to the versions
the tests have run against (1.3.x). A Lark upgrade that breaks one of these
shows up in ``tests/test_syntax_errors.py``; fix it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from functools import lru_cache

from lark import Lark, Token
from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_parser_state import ParserState

#: Never shown as expected: the lexer lists them as allowed everywhere.
HIDDEN = frozenset({"COMMENT"})


@lru_cache(maxsize=4)
def literals(lark: Lark) -> dict[str, str]:
    """Terminal name -> its fixed text (`if`, `{`, `half-life`), in grammar order."""
    out = {}
    for t in lark.terminals:
        if type(t.pattern).__name__ == "PatternStr":
            out[t.name] = t.pattern.value
    return out


def value_stack(exc: UnexpectedInput) -> tuple:
    """The LALR value stack at the failure: tokens and trees the parser has not reduced."""
    return tuple(getattr(getattr(exc, "state", None), "value_stack", ()) or ())


def has_parser_state(exc: UnexpectedInput) -> bool:
    """True when the failure carries the LALR state (the parser failed, not the lexer alone)."""
    return getattr(exc, "state", None) is not None


def accepts(exc: UnexpectedInput) -> frozenset[str]:
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
        return frozenset(out - HIDDEN)
    raw = getattr(exc, "accepts", None) or getattr(exc, "expected", None) or getattr(
        exc, "allowed", None) or ()
    return frozenset(t for t in raw if t not in HIDDEN and not t.startswith("__IGNORE"))


# How each catalog snippet fails, parsed once. Keyed by snippet text: the catalog is
# fixed and there is one grammar, so the dict stops growing after the first error;
# a racing thread at worst parses a snippet twice and stores an equal value.
_parsed: dict[str, UnexpectedInput | None] = {}


def failure(lark: Lark, snippet: str) -> UnexpectedInput | None:
    """How a catalog snippet fails (parsed once, then remembered)."""
    if snippet not in _parsed:
        try:
            lark.parse(snippet)
        except UnexpectedInput as exc:
            _parsed[snippet] = exc
        else:
            _parsed[snippet] = None
    return _parsed[snippet]


def _comparable(lark: Lark, exc: UnexpectedInput, snippet: str) -> bool:
    """False for a snippet ``match_examples`` would skip for its different ``accepts``.

    We drop those ourselves: on that path lark 1.3.1 logs the parser state with
    ``%d`` and raises TypeError, since an LALR state is a ParserState, not an int.
    """
    ut = failure(lark, snippet)
    if ut is None:
        return False
    if isinstance(exc, UnexpectedToken) and isinstance(ut, UnexpectedToken):
        return not (ut.state == exc.state and ut.accepts != exc.accepts)
    return True


def best_example_match(lark: Lark, exc: UnexpectedInput,
                       entries: Sequence[tuple[object, Sequence[str]]]) -> object | None:
    """The label whose snippets fail in the same parser state as ``exc``, or None.

    Lark's ``UnexpectedInput.match_examples`` with ``use_accepts=True``.
    """
    def parse(snippet: str):
        exc = failure(lark, snippet)
        if exc is not None:
            raise exc.with_traceback(None)  # a fresh traceback each time: no growing chain
        return None

    catalog = [(label, [x for x in xs if _comparable(lark, exc, x)]) for label, xs in entries]
    return exc.match_examples(parse, [(label, xs) for label, xs in catalog if xs],
                              use_accepts=True)


__all__ = ["HIDDEN", "accepts", "best_example_match", "failure", "has_parser_state",
           "literals", "value_stack"]
