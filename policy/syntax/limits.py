"""Bounds on what one policy file may hold, checked before the parser sees it.

Policy files come from pull requests, so their size is not trusted. The parser's
regular expressions need memory in proportion to a token's length (a 10 MB string
literal took 1.4 GB), and Python refuses to convert integers of more than 4,300 digits,
so these limits are checked first, by a scan whose memory does not grow with a token:

- a file of at most `MAX_SOURCE_BYTES` (the loader checks the size before reading);
- a string literal of at most `MAX_LITERAL_CHARS` characters between its quotes;
- a number of at most `MAX_NUMBER_CHARS` characters (digits, underscores, a point).

Each breach is one E100 diagnostic at the offending token. Nothing runs before this
module; `policy.syntax.parser.parse` calls `scan` first.
"""

from __future__ import annotations

import re

from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error

__all__ = ["MAX_LITERAL_CHARS", "MAX_NUMBER_CHARS", "MAX_SOURCE_BYTES", "scan"]

#: The largest policy file read, and also the largest schema, `lines` list or lead file.
MAX_SOURCE_BYTES = 16 * 1024 * 1024
#: The longest string literal (characters between the quotes, escapes as written).
MAX_LITERAL_CHARS = 65_536
#: The longest number literal: room for any float written out in full (309 digits),
#: far below the 4,300 digits past which Python refuses to convert text to an integer.
MAX_NUMBER_CHARS = 1000

# Possessive quantifiers: the scan keeps no backtracking state, so its memory is fixed.
_LONG_LINE = re.compile(r"[^\n]{" + str(MAX_LITERAL_CHARS + 2) + r",}+")
_LONG_NUMBER = re.compile(r"[0-9][0-9_.]{" + str(MAX_NUMBER_CHARS) + r",}+")
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*+"?|#[^\n]*+|[^"#\n]++')


def _span(file: str, text: str, start: int, end: int) -> n.Span:
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return n.Span(file, line, column, line, column + min(end - start, 40), start, end)


def _line_of(text: str, pos: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, len(text) if end < 0 else end


def _token_at(text: str, pos: int) -> str:
    """What kind of token holds ``pos``: "string", "comment" or "code"."""
    start, end = _line_of(text, pos)
    for match in _TOKEN.finditer(text, start, end):
        if match.start() <= pos < match.end():
            first = text[match.start()]
            return "string" if first == '"' else "comment" if first == "#" else "code"
    return "code"


def scan(text: str, file: str) -> Diagnostic | None:
    """The first limit ``text`` breaks, as an E100 diagnostic; None when within bounds."""
    if len(text) > MAX_SOURCE_BYTES:
        return error(
            "E100",
            f"the file is larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB",
            _span(file, text, 0, 1),
            help="split the policy into several files, or keep long lists in `lines` files",
        )
    for long_line in _LONG_LINE.finditer(text):
        for match in _TOKEN.finditer(text, long_line.start(), long_line.end()):
            token = match.group(0)
            if token.startswith('"') and len(token) > MAX_LITERAL_CHARS + 2:
                return error(
                    "E100",
                    f"a string literal longer than {MAX_LITERAL_CHARS:,} characters",
                    _span(file, text, match.start(), match.end()),
                    help="policy text is for names, reasons and short lists; "
                         "keep long data in the leads",
                )
    for match in _LONG_NUMBER.finditer(text):
        if _token_at(text, match.start()) == "code":
            return error(
                "E100",
                f"a number longer than {MAX_NUMBER_CHARS} characters",
                _span(file, text, match.start(), match.end()),
                help="no score, count or amount needs that many digits",
            )
    return None
