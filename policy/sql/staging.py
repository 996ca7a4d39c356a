"""The SQL that stages a JSON Lines file's text in DuckDB, and finds the staged lines
the python reader must judge (:class:`policy.sql.duck.DuckEngine`, and the report's
DuckDB facts): blank lines dropped, lines split by DuckDB itself, and the lines that use
what DuckDB's JSON reader accepts beyond RFC 8259, hold half a surrogate pair, nest
deeper than the python reader reads or repeat a key."""

from __future__ import annotations

from policy.io.records import MAX_NESTING
from policy.sql.fallback import repeated_keys

__all__ = ["BLANK", "DEEP", "LENIENT_RE2", "STAGE_BLOCK", "SURROGATES", "suspect_query"]

#: Python's ``str.isspace`` characters, for "a line of white space only is no record".
BLANK = ("[\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\x{1680}\\x{2000}-\\x{200a}"
          "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]*")

#: One block of JSON Lines text into the staging table: DuckDB splits the lines
#: (``$1`` the block's first line number, ``$2`` its text), drops blank ones and a
#: line's trailing ``\r`` (``rtrim`` only on a line that ends in one: it copies every
#: line it is handed, which was 40% of the staging's CPU time).
STAGE_BLOCK = f"""INSERT INTO src
SELECT line, txt
FROM (SELECT $1::BIGINT + i - 1 AS line,
             CASE WHEN suffix(t, chr(13)) THEN rtrim(t, chr(13)) ELSE t END AS txt
      FROM (SELECT unnest(l) AS t, generate_subscripts(l, 1) AS i
            FROM (SELECT string_split($2::VARCHAR, chr(10)) AS l)))
WHERE NOT regexp_full_match(txt, '{BLANK}')"""

#: The staged lines that might use what DuckDB's JSON reader accepts beyond RFC 8259
#: (``NaN``, ``Infinity``, trailing commas, comments, huge exponents, single quotes):
#: found by DuckDB in parallel, then read by the python reader, which decides.
LENIENT_RE2 = r"'NaN|Infinity|,\s*[\]}]|/[/*]|[eE]\+?[0-9]{3}|[0-9]{210}|'''"


#: Staged lines with a ``\\uD800``-``\\uDFFF`` escape (DuckDB refuses half a surrogate
#: pair, which the python reader takes): the python engine decides them. Both halves: a
#: low one (``\\udc00``) alone was left to DuckDB, which refused the line as not JSON.
SURROGATES = ("SELECT line, txt FROM src WHERE regexp_matches(txt, '\\\\u[dD][89a-fA-F]') "
               "AND txt NOT LIKE chr(1) || '%' AND txt <> chr(0)")


#: Staged lines that may nest deeper than the python reader reads (MAX_NESTING): more
#: opening brackets than that (DuckDB reads any depth; the python reader refuses them).
DEEP = (f"(length(txt) > {2 * MAX_NESTING} AND length(txt) - length(replace(replace("
         f"txt, '[', ''), '{{', '')) > {MAX_NESTING})")


def suspect_query(objects: list[tuple[str, ...]]) -> str:
    """The query of the staged lines the python reader must look at: those of
    :data:`LENIENT_RE2`, and (column ``repeated``) those with a key repeated in the
    record or in one of the ``objects`` the policy reads below it
    (:func:`policy.sql.fallback.repeated_keys`, the one test eval and report share)."""
    return (f"SELECT line, txt, repeated FROM (SELECT line, txt, "
            f"(regexp_matches(txt, {LENIENT_RE2}) OR {DEEP}) AS lenient, "
            f"{repeated_keys(objects)} AS repeated FROM src) "
            f"WHERE lenient OR repeated")
