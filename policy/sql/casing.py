"""Lower-casing in SQL exactly as the python engine's ``str.lower()`` (spec section 3:
"ignores case" compares after Unicode lower-casing).

DuckDB's ``LOWER`` maps each character on its own (Unicode's simple mapping). Python's
``str.lower()`` agrees on every character but two rules of Unicode's SpecialCasing:

- ``İ`` (U+0130) becomes ``i`` followed by U+0307 (combining dot above), two characters;
- ``Σ`` (U+03A3) becomes the final ``ς`` when it ends a word: a cased letter comes before
  it (skipping case-ignorable characters) and none comes after it (skipping them again);
  elsewhere it becomes ``σ``.

:func:`duckdb_lower` spells both rules before ``LOWER``: the final sigmas are rewritten
with one regular expression (only in texts that hold a ``Σ``), then ``İ`` is replaced.
The expression's classes are Unicode's *cased* (Lu, Ll, Lt and the letters below) and
*case-ignorable* (Mn, Me, Cf, Lm, Sk and the word-internal punctuation below)
properties, which is how CPython decides the final sigma.
``tests/test_sql_casing.py`` derives both sets from the running Python's own
``str.lower()`` and checks every assigned character in DuckDB against it. Characters
that Unicode assigned after the Python's Unicode version (14.0 in Python 3.11) may still
differ: DuckDB's regular-expression tables are newer (docs/warehouse.md).

Spark's ``LOWER`` already applies both rules (Java's full case mapping); the warehouses
that are only printed keep their own ``LOWER``.
"""

from __future__ import annotations

from sqlglot import exp

__all__ = ["CASED_EXTRA", "IGNORABLE_EXTRA", "SIGMA", "duckdb_lower", "sigma_pattern"]

SIGMA = "\u03a3"
FINAL_SIGMA = "\u03c2"
DOTTED_I = "\u0130"

#: Cased characters outside the Lu, Ll and Lt categories (Unicode's Other_Lowercase
#: and Other_Uppercase letters that are not also case-ignorable): ª, º, Roman numerals,
#: circled and squared letters.
CASED_EXTRA: tuple[tuple[int, int], ...] = (
    (0xAA, 0xAA), (0xBA, 0xBA), (0x2160, 0x217F), (0x24B6, 0x24E9),
    (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189),
)
#: Case-ignorable characters outside the Mn, Me, Cf, Lm and Sk categories (Unicode's
#: MidLetter, MidNumLet and Single_Quote word-break classes): apostrophes, full stops,
#: colons and middle dots.
IGNORABLE_EXTRA: tuple[tuple[int, int], ...] = (
    (0x27, 0x27), (0x2E, 0x2E), (0x3A, 0x3A), (0xB7, 0xB7), (0x387, 0x387),
    (0x55F, 0x55F), (0x5F4, 0x5F4), (0x2018, 0x2019), (0x2024, 0x2024),
    (0x2027, 0x2027), (0xFE13, 0xFE13), (0xFE52, 0xFE52), (0xFE55, 0xFE55),
    (0xFF07, 0xFF07), (0xFF0E, 0xFF0E), (0xFF1A, 0xFF1A),
)


def _ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}"
                   for a, b in ranges)


def sigma_pattern() -> str:
    """An RE2 expression whose matches hold one final ``Σ``: group 1 is what comes
    before it (a cased character, then case-ignorable ones), group 2 what follows (more
    case-ignorable ones, then a character that is neither, or the end)."""
    cased = r"\p{Lu}\p{Ll}\p{Lt}" + _ranges(CASED_EXTRA)
    ignorable = r"\p{Mn}\p{Me}\p{Cf}\p{Lm}\p{Sk}" + _ranges(IGNORABLE_EXTRA)
    return (f"([{cased}][{ignorable}]*){SIGMA}"
            f"([{ignorable}]*(?:[^{cased}{ignorable}]|$))")


def duckdb_lower(s: exp.Expression, sigma: bool = True) -> exp.Expression:
    """``s`` lower-cased as python's ``str.lower()`` does, in DuckDB (``sigma=False``:
    for a text known to hold no ``Σ``, without the final-sigma rule)."""
    if not sigma:
        return exp.Lower(this=exp.Replace(this=s.copy(), expression=exp.Literal.string(DOTTED_I),
                                          replacement=exp.Literal.string("i\u0307")))
    has_sigma = exp.GT(this=exp.StrPosition(this=s.copy(), substr=exp.Literal.string(SIGMA)),
                       expression=exp.Literal.number(0))
    finals = exp.RegexpReplace(this=s.copy(), expression=exp.Literal.string(sigma_pattern()),
                               replacement=exp.Literal.string("\\1" + FINAL_SIGMA + "\\2"),
                               modifiers=exp.Literal.string("g"))
    marked = exp.Case(ifs=[exp.If(this=has_sigma, true=finals)], default=s.copy())
    dotted = exp.Replace(this=marked, expression=exp.Literal.string(DOTTED_I),
                         replacement=exp.Literal.string("i\u0307"))
    return exp.Lower(this=dotted)
