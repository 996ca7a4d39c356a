"""What a lead file holds, judged by its first bytes (spec section 9, "Lead input,
precisely"): the format of a file whose name does not say (``export.txt``), the hint
when most records fail in the format chosen, and the delimiter of a CSV header.

Pure functions over bytes and text; the command line (:mod:`funnel_cli.leadfile`,
:func:`policy.io.leads.input_format_of`, ``funnel eval``) calls them before reading and
after the summary.
"""

from __future__ import annotations

import csv
import io

__all__ = ["DELIMITERS", "UTF16_BOMS", "choose_delimiter", "format_hint", "looks_like",
           "sniff_format"]

#: The delimiters tried when a header does not split on a comma.
DELIMITERS = (";", "\t")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def _first_line(head: bytes) -> str:
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def looks_like(head: bytes) -> str | None:
    """``jsonl``, ``json`` or ``csv`` when the first bytes plainly are that; else None.

    A first line that starts with ``{`` is JSON Lines (or one JSON object), ``[`` a JSON
    array; a first line that a comma, semicolon or tab splits into two or more cells,
    none of them starting with ``{``, is CSV.
    """
    line = _first_line(head).strip()
    if not line:
        return None
    if line.startswith("{"):
        return "jsonl"
    if line.startswith("["):
        return "json"
    for delimiter in (",", *DELIMITERS):
        if len(_split(line, delimiter)) >= 2:
            return "csv"
    return None


def sniff_format(head: bytes) -> str | None:
    """The format a file whose extension names none holds (None: no clear answer)."""
    return looks_like(head)


def format_hint(in_fmt: str, head: bytes, refused: int, total: int) -> str | None:
    """``looks like CSV: use --input-format csv`` when most of ``total`` records were
    refused in ``in_fmt`` and the first bytes plainly are another format; else None."""
    if total == 0 or refused * 2 <= total:
        return None
    seen = looks_like(head)
    if seen is None or seen == in_fmt or {seen, in_fmt} == {"jsonl", "json"} and in_fmt == "json":
        return None
    name = {"csv": "CSV", "jsonl": "JSON Lines", "json": "a JSON array"}[seen]
    return f"looks like {name}: use --input-format {seen}"


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    except csv.Error:
        return []


def choose_delimiter(header: str) -> tuple[str, str | None]:
    """The delimiter of a CSV file from its header line, and a note when it is not the
    comma: a header that splits into one column on ``,`` is read with whichever of ``;``
    and tab splits it into more columns (the most; ``;`` on a tie)."""
    if len(_split(header, ",")) > 1:
        return ",", None
    best, cells = ",", 1
    for delimiter in DELIMITERS:
        n = len(_split(header, delimiter))
        if n > cells:
            best, cells = delimiter, n
    if best == ",":
        return ",", None
    return best, (f"the header splits into {cells} columns on {_NAMES[best]}s, not commas: "
                  f"reading it as {_NAMES[best]}-separated (--delimiter to choose)")
