"""Markdown atoms: escaping text and code spans so that policy strings cannot open
headings, links, tables or HTML. Shared by ``funnel docs`` and ``funnel diff``.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- markdown atoms

_MD_SPECIAL = re.compile(r"([\\`*\[\]<|~&])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: what would open a heading, a list, a quote or a setext underline at a line's start
_MD_LINE_START = re.compile(r"^(?:[#+=>-]|[0-9]+(?=[.)]))")


def md_escape(text: str, *, line_start: bool = False) -> str:
    """Text that Markdown shows literally: no emphasis, link, HTML, or table break.

    An underscore inside a word (``demo_requested``) is left alone, as GitHub does not
    read it as emphasis; one that could open or close emphasis is escaped. With
    ``line_start``, text that would open a heading or a list there is escaped too.
    """
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text.replace("\n", " "))
    head = _MD_LINE_START.match(text) if line_start else None
    if head is None:
        return text
    k = head.end()
    # a digit cannot be escaped: escape the `.` or `)` after the number instead
    return (text[:k] + "\\" + text[k:]) if text[0].isdigit() else "\\" + text


def md_code(text: str | None, *, in_table: bool = False) -> str:
    """An inline code span holding ``text`` exactly (line breaks become spaces).

    The fence is one backtick longer than the longest run inside (CommonMark). In a
    table cell (``in_table``) a ``|`` is escaped, because GitHub splits cells before
    it reads code spans (and shows the ``|`` without its backslash there).
    """
    text = re.sub(r"\n\s*", " ", text or "")  # a wrapped line reads as one
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span
