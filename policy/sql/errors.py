"""The SQL path's one error: a policy or schema it cannot print or run."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["SqlUnsupported", "refuse_lone_surrogates"]

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
