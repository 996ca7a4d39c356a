"""The SQL path's one error: a policy or schema it cannot print or run."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["SqlUnsupported", "refuse_lone_surrogates", "refuse_nul", "out_of_memory", "too_deep",
           "within_depth"]

_LONE = re.compile("[\ud800-\udfff]")


class SqlUnsupported(ValueError):
    """A policy or schema the SQL path cannot print; the message says what and where."""


def refuse_lone_surrogates(tree: Any) -> None:
    """Raise :class:`SqlUnsupported` for a text in ``tree`` (a sqlglot expression) that
    holds a lone surrogate (``"\\ud800"`` in a policy string or a schema's ``enum``).

    The policy keeps such a string as data and the python engine compares with it (no
    lead equals it: a lead holding one is refused) and writes it as a ``\\u`` escape, but
    SQL text is UTF-8 and cannot hold it; DuckDB, PySpark and ``funnel sql`` failed with
    an encoding traceback. Replacing it (U+FFFD) would make a lead holding U+FFFD equal
    it, so the SQL path refuses the policy by name instead."""
    from sqlglot import exp

    for node in tree.find_all(exp.Literal, exp.Identifier):
        text = node.this
        if isinstance(text, str) and _LONE.search(text):
            shown = text.encode("ascii", "backslashreplace").decode("ascii")
            raise SqlUnsupported(f'the text "{shown}" holds a lone surrogate '
                                 f"(\\u{ord(_LONE.search(text).group()):04x}), which SQL "
                                 "text cannot hold (UTF-8)")


def refuse_nul(tree: Any, dialect: str) -> None:
    """Raise :class:`SqlUnsupported` for a text in ``tree`` that holds a NUL character
    (``"\\u0000"`` in a policy string, a `lines` entry or a schema's ``enum``) where the
    dialect's text cannot hold one: Postgres refuses NUL in text values and in a
    statement's text (libpq ends the statement there, inside the literal: "unterminated
    quoted string"), so the printed statement could not run at all."""
    if dialect != "postgres":
        return
    from sqlglot import exp

    for node in tree.find_all(exp.Literal, exp.Identifier):
        text = node.this
        if isinstance(text, str) and "\x00" in text:
            shown = json.dumps(text, ensure_ascii=False)  # the policy's own spelling
            raise SqlUnsupported(f"the text {shown} holds a NUL character (\\u0000), "
                                 "which Postgres text cannot hold")


def too_deep(exc: Exception) -> SqlUnsupported | None:
    """DuckDB's refusal of a statement that nests past its ``max_expression_depth``
    (1,000) as :class:`SqlUnsupported`, or None for any other error.

    A score's points are summed one rule at a time (``0.0 + a + b + …``, the order
    docs/decisions.md fixes), so a score of about a thousand rules nests that deep, as
    does a chain of as many ``and`` or ``or``. The limit is not raised: DuckDB's parser
    recurses on the C stack, and a few thousand levels more end the process."""
    found = re.search(r"Max expression depth limit of (\d+)", str(exc))
    if found is None:
        return None
    return SqlUnsupported(f"its statement nests deeper than DuckDB reads (max_expression_depth "
                          f"{found[1]}: a score of about {int(found[1]):,} rules, or as long a "
                          "chain of `and` or `or`); --engine python decides it")


def out_of_memory(exc: Exception) -> SqlUnsupported | None:
    """DuckDB running out of its ``memory_limit`` as :class:`SqlUnsupported`, or None.

    A run keeps DuckDB inside a fixed limit (``policy.sql.duck.MEMORY_LIMIT``); what it
    cannot spill, it cannot do. A policy that reads many hundreds of fields (each one a
    column of every row in flight) ran out on six leads and ended in a traceback."""
    if type(exc).__name__ != "OutOfMemoryException" or "duckdb" not in type(exc).__module__:
        return None
    said = str(exc).split("\n")[0].removeprefix("Out of Memory Error: ")
    return SqlUnsupported(f"DuckDB ran out of memory ({said}); a policy that reads many "
                          "hundreds of fields needs more than a run may take: --engine "
                          "python decides it")


@contextlib.contextmanager
def within_depth() -> Iterator[None]:
    """Run DuckDB statements, turning :func:`too_deep`'s and :func:`out_of_memory`'s
    errors into SqlUnsupported (one line for the user, never a traceback)."""
    try:
        yield
    except Exception as exc:
        deep = too_deep(exc) or out_of_memory(exc)
        if deep is None:
            raise
        raise deep from None
