"""Escaping for every output format: text from a policy or a lead is never trusted.

Policy files come from pull requests and leads from web forms, so any string the tool
writes may hold a carriage return, an escape sequence, a lone surrogate, a formula or
markup. Every writer passes such strings through the function for its format here, so a
string shows as text and never becomes structure (a heading, a table cell, an XML
element, a spreadsheet formula, a terminal command, a second JSON line).

Nothing runs before this module; it has no dependencies inside the package. The rules:

- **Terminal text** (`terminal`): C0 and C1 control characters (except tab and, where
  allowed, line feed), DEL, bidirectional overrides and lone surrogates become visible
  escapes such as ``\\x1b`` or ``\\u202e``: a terminal never sees ESC, CR or BEL.
- **Markdown** (`md_text`, `md_code`): every line break CommonMark knows (LF, CR, CRLF)
  and the Unicode ones become a space; other control characters become visible escapes;
  characters Markdown reads as markup are backslash-escaped; code spans get a fence longer
  than any backtick run inside; a ``|`` in a table cell is escaped.
- **HTML** (`html_text`): `html.escape` plus control characters as visible escapes (HTML
  forbids most C0 characters).
- **XML 1.0** (`xml_text`, `xml_attr`): characters outside XML 1.0's ``Char`` production
  (most C0 controls, lone surrogates, U+FFFE, U+FFFF) become visible escapes, so the
  document always parses.
- **CSV** (`csv_text`): a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR is
  prefixed with ``'`` so spreadsheets show it as text instead of running it (the OWASP
  advice for CSV injection); line breaks stay inside the quoted cell, written as LF.
- **JSON** (`json_safe`): U+2028, U+2029 and U+0085 are written as ``\\u`` escapes (some
  line-based readers split on them), and so are lone surrogates (which no UTF-8 encoder
  accepts; JSON's own escape keeps them readable).
"""

from __future__ import annotations

import re

__all__ = [
    "csv_text",
    "html_text",
    "json_safe",
    "md_code",
    "md_no_links",
    "md_text",
    "no_surrogates",
    "terminal",
    "term_cut",
    "term_pad",
    "term_width",
    "visible",
    "xml_attr",
    "xml_chars",
    "xml_text",
]

# C0 controls but tab and LF, DEL, C1 controls, bidi embeddings/overrides/isolates (which
# can make text read differently from its bytes), U+2028/U+2029, lone surrogates.
_UNSAFE_WITH_LF = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ud800-\udfff]"
)
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ud800-\udfff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Every line break a Markdown or HTML reader, or a line-based tool, may honour.
_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
# XML 1.0 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF];
# C1 controls are allowed but "discouraged", and no reader needs them: escape them too.
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_JSON_UNSAFE = re.compile("[\u2028\u2029\x85\ud800-\udfff]")
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_MD_SPECIAL = re.compile(r"([\\`*\[\]<|~&])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LINE_START = re.compile(r"^(?:[#+=>-]|[0-9]+(?=[.)]))")
# GitHub-flavoured Markdown links a URL (`https://`, `ftp://`), a `www.` name and an e-mail
# address with no markup at all, and GitHub makes `@name` and `@org/team` a mention that
# notifies them. A `\` before the `:` or the `.` stops the first two; a zero-width space
# after `@` (`&#8203;`, which shows nothing) stops the e-mail link (`\@` does not) and the
# mention.
_MD_SCHEME = re.compile(r"(?<=[A-Za-z0-9])(?=://)")
_MD_WWW = re.compile(r"(?<![A-Za-z0-9])([Ww][Ww][Ww])(?=\.)")
_MD_AT = re.compile(r"@(?=[A-Za-z0-9])")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every unsafe character (controls, line breaks, bidi overrides, lone
    surrogates) written as a visible escape such as ``\\r`` → ``\\x0d``."""
    return _UNSAFE.sub(_escape_char, text)


def terminal(text: str, *, newlines: bool = False) -> str:
    """Text safe to print on a terminal or in a CI log: no escape sequences, no CR, no
    bell, no bidi override. Line feeds are kept when ``newlines`` (multi-line text)."""
    pattern = _UNSAFE_WITH_LF if newlines else _UNSAFE
    if text.isascii() and text.isprintable():
        return text
    return pattern.sub(_escape_char, text)


def no_surrogates(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, so it always encodes as UTF-8."""
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def one_line(text: str) -> str:
    """Every line break (LF, CR, CRLF, VT, FF, NEL, U+2028, U+2029) as one space."""
    return _BREAKS.sub(" ", text)


def md_text(text: str, *, line_start: bool = False) -> str:
    """Text that Markdown shows literally, on one line: no emphasis, link, image, HTML,
    heading or table break.

    An underscore inside a word (``demo_requested``) is left alone, as GitHub does not
    read it as emphasis; one that could open or close emphasis is escaped. With
    ``line_start``, text that would open a heading or a list there is escaped too.
    """
    text = visible(one_line(text))
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    text = md_no_links(text)
    indent = ""
    if line_start:
        # white space at a line start is indentation (four spaces or a tab: a code
        # block; before `#`, `-`, `>`: still a heading, a list, a quote): write it as
        # character references, which are text
        rest = text.lstrip(" \t")
        indent = "".join("&#9;" if c == "\t" else "&#32;" for c in text[: len(text) - len(rest)])
        text = rest
    # a tab elsewhere is one too where it matters (`*<TAB>x*` is a list item)
    text = text.replace("\t", "&#9;")
    head = _MD_LINE_START.match(text) if line_start else None
    if head is None:
        return indent + text
    k = head.end()
    # a digit cannot be escaped: escape the `.` or `)` after the number instead
    return indent + ((text[:k] + "\\" + text[k:]) if text[0].isdigit() else "\\" + text)


def md_no_links(text: str) -> str:
    """Markdown text (already escaped) in which GitHub finds no autolink and no mention:
    ``https\\://``, ``www\\.``, ``@&#8203;name``. Each shows as written."""
    if "://" not in text and "www" not in text.lower() and "@" not in text:
        return text
    text = _MD_WWW.sub(r"\1\\", _MD_SCHEME.sub(r"\\", text))
    return _MD_AT.sub("@&#8203;", text)


def md_code(text: str | None, *, in_table: bool = False) -> str:
    """An inline code span holding ``text`` (line breaks become spaces, control
    characters visible escapes).

    The fence is one backtick longer than the longest run inside (CommonMark). In a
    table cell (``in_table``) a ``|`` is escaped, because GitHub splits cells before
    it reads code spans (and shows the ``|`` without its backslash there).
    """
    text = visible(re.sub(r"[ \t]*(?:\r\n|[\r\n\x0b\x0c\x85\u2028\u2029])\s*", " ", text or ""))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span


def html_text(text: str) -> str:
    """Text for an HTML element or a quoted attribute: markup escaped, control
    characters (which HTML forbids) and lone surrogates as visible escapes."""
    import html  # only HTML output needs it (start-up)

    return html.escape(terminal(text, newlines=True), quote=True)


def xml_chars(text: str) -> str:
    """``text`` with every character XML 1.0 does not allow (C0 controls but tab/LF/CR,
    lone surrogates, U+FFFE/U+FFFF) and every C1 control as a visible escape; markup
    is left to the caller (or to a library that escapes it, as vl-convert does)."""
    return _NOT_XML.sub(_escape_char, text)


def xml_text(text: str) -> str:
    """Character data for XML 1.0: ``&``, ``<``, ``>`` escaped and every character XML
    does not allow (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) shown
    as a visible escape."""
    text = xml_chars(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(text: str) -> str:
    """A double-quoted XML 1.0 attribute value, quotes included. Tab, LF and CR are
    written as character references so a reader's attribute normalisation keeps them."""
    text = xml_text(text).replace('"', "&quot;")
    text = text.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
    return f'"{text}"'


def csv_text(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``=``, ``+``, ``-``, ``@``, tab
    or CR (a formula to Excel, LibreOffice and Google Sheets) gets a ``'`` in front.
    Only for text cells: numbers are written as numbers."""
    text = no_surrogates(text)
    formula = text.startswith(_CSV_FORMULA)  # before a CR becomes LF below
    if "\r" in text:
        # A bare CR does not make Python's writer quote the cell (its line ending is
        # LF), and readers would split the row there: write line breaks as LF.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if formula else text


def json_safe(encoded: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with U+2028, U+2029,
    U+0085 and lone surrogates written as ``\\u`` escapes. They can only occur inside
    strings, where the escape means the same character."""
    if encoded.isascii():
        return encoded
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", encoded)


def term_width(text: str) -> int:
    """The columns ``text`` (already :func:`terminal`-safe) takes in a terminal: two for
    an East Asian wide or fullwidth character (CJK, most emoji), none for a combining
    mark or a format character (U+0301, a zero-width space), one for the rest."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _char_width(c: str) -> int:
    import unicodedata

    if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def term_cut(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns, with ``…`` where it was cut."""
    if term_width(text) <= width:
        return text
    used, out = 0, []
    for c in text:
        w = _char_width(c)
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def term_pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` columns (on the left with ``right``)."""
    pad = " " * max(0, width - term_width(text))
    return pad + text if right else text + pad
