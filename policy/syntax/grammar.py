"""The grammar, loaded once, and the post-lexer that gives the language its lines.

The grammar lives in ``grammar/funnel.lark`` (installed as ``policy/_grammar``) and is
loaded once, LALR, with the contextual lexer (:func:`lark_parser`).
:class:`LineJoiner` is the post-lexer (spec section 1): it drops a newline where a rule
continues and takes the comments out of the token stream, keeping them for
:func:`policy.syntax.parser.parse` to attach.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path

import attrs
from lark import Lark, Token
from lark.lark import PostLex

from policy.syntax import nodes as n

__all__ = ["CONTINUATION", "GRAMMAR_FILE", "RESERVED", "VALUE_TOKENS", "LineJoiner",
           "grammar_text", "lark_parser"]

GRAMMAR_FILE = "funnel.lark"

#: Reserved words: never a declared name (spec section 1).
RESERVED = n.RESERVED

#: A newline after one of these tokens does not end the rule (spec section 1).
CONTINUATION = frozenset(
    {"EQUAL", "COMP_OP", "PLUS", "MINUS", "STAR", "SLASH", "AND", "OR", "NOT", "IN", "_ARROW",
     "COMMA"}
)

#: Tokens whose text carries meaning; keywords and punctuation are dropped.
VALUE_TOKENS = frozenset(
    {"NAME", "STRING", "NUMBER", "JSON_NUMBER", "TIME", "QUOTED_KEY", "PLUS", "MINUS", "STAR",
     "SLASH", "COMP_OP", "NONE", "DEFAULT"}
)


def grammar_text() -> str:
    """The grammar, from the installed package or from a source checkout."""
    try:
        return resources.files("policy._grammar").joinpath(GRAMMAR_FILE).read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        here = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE
        return here.read_text("utf-8")


# --------------------------------------------------------------------------- post-lexer


class LineJoiner(PostLex):
    """Give the token stream its line structure and collect comments.

    Per-parse state lives in a thread-local, so one loaded parser serves many
    threads.
    """

    always_accept = ("_NL", "COMMENT")

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def state(self) -> _LexState:
        return self._local.state

    def begin(self, text: str) -> None:
        """Hand the post-lexer the text about to be parsed (to see what follows a keyword)."""
        self._local.text = text

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        st = self._local.state = _LexState()
        text = getattr(self._local, "text", "")
        prev = None  # type of the last significant token, "_NL" after a newline
        last: Token | None = None
        for tok in stream:
            t = tok.type
            if (
                st.glued is None
                and t not in VALUE_TOKENS
                and tok.value[-1:].isalpha()
                and tok.end_pos < len(text)
                and (text[tok.end_pos].isalnum() or text[tok.end_pos] == "_")
            ):
                # Where no name is allowed the lexer matches a keyword as a prefix of a
                # longer word (`keepwhen x`); remember it so the parse is refused.
                st.glued = tok
            if t == "COMMENT":
                st.comments.append(tok)
                if st.json_opened:
                    st.json_comment = st.json_comment or tok
                continue
            if t == "_NL":
                if prev is None or prev == "_NL" or prev in CONTINUATION:
                    continue
                if st.brackets or st.json_opened:
                    continue
                prev = "_NL"
                yield tok
                continue
            if t == "NAME" and prev == "EQUAL" and tok.value == "lines" and (
                    text[tok.end_pos:].lstrip(" \t\f").startswith('"')):
                # `define x = lines "f.txt"`: the one place a name followed by a string
                # is the list-file form; anywhere else `lines` is an ordinary name
                tok = Token.new_borrow_pos("LINES", tok.value, tok)
                t = "LINES"
            if t in ("LPAR", "LSQB"):
                st.brackets.append(tok)
            elif t in ("RPAR", "RSQB"):
                if st.brackets:
                    st.brackets.pop()
            elif t == "LBRACE":
                if prev == "LEAD" or st.json_opened:
                    st.json_opened.append(tok)
                else:
                    st.blocks.append(tok)
            elif t == "RBRACE":
                if st.json_opened:
                    st.json_opened.pop()
                elif st.blocks:
                    st.blocks.pop()
            prev = t
            last = tok
            yield tok
        if last is not None and prev != "_NL":
            yield Token.new_borrow_pos("_NL", "\n", last)


@attrs.define
class _LexState:
    comments: list[Token] = attrs.Factory(list)
    brackets: list[Token] = attrs.Factory(list)
    blocks: list[Token] = attrs.Factory(list)
    json_opened: list[Token] = attrs.Factory(list)
    json_comment: Token | None = None
    glued: Token | None = None


_JOINER = LineJoiner()


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        postlex=_JOINER,
        keep_all_tokens=True,
        maybe_placeholders=True,
        cache=_table_file(),  # a pickled parse table: loads 5x faster
    )


def _table_file() -> str | bool:
    """Where Lark keeps its pickled parse table: in the policy cache's folder
    (:func:`policy.model.cachedir.cache_dir`), never in the shared temporary folder, which
    every run would leave a file in and where another user could plant a pickle. False
    (no table kept) when caching is off, the folder cannot be made, or the file there is
    not this user's alone. Lark checks the table against the grammar's hash itself."""
    from policy.model.cachedir import cache_dir

    folder = cache_dir()
    if folder is None:
        return False
    table = folder / "grammar.lark-table"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        st = os.stat(table)
    except FileNotFoundError:
        return str(table)
    except OSError:
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return False
    return str(table)


def lark_parser() -> Lark:
    """The shared Lark instance (for the error catalog and tests)."""
    return _lark()

