"""A schema's ``pattern`` (ECMA-262, as the python engine's validator reads it) in
DuckDB's regular expressions (RE2) and in Spark's (``java.util.regex``).

Most of a pattern means the same in all three; these pieces do not, and are written out:

- ``\\s`` is ECMA's white space (tab, line feed, vertical tab, form feed, carriage
  return, space, no-break space, U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F,
  U+205F, U+3000 and U+FEFF); RE2's and Java's hold only ASCII ones. ``\\S`` is the rest;
- ``.`` matches anything but a line terminator (line feed, carriage return, U+2028,
  U+2029); RE2's ``.`` only stops at a line feed, Java's also at U+0085;
- ``\\uXXXX`` is a code point, which RE2 spells ``\\x{XXXX}`` (it refuses ``\\u``);
- Java only: ``$`` (outside a class) is the end of the text (Java's also matches before
  a final line terminator, so it is written ``\\z``); ``\\v`` is the vertical tab (Java's
  is a class of vertical space); inside a class ``[`` and ``&`` are themselves (Java
  reads ``[a[b]]`` as a union and ``&&`` as an intersection), so they are escaped.

Inside a class (``[...]``), ``\\s`` is the same list and ``.`` a dot; ``\\S`` stays
(``[\\s\\S]``, any character, is the same in all). RE2 has no lookaround and no
backreference: such a pattern raises ``ValueError`` (the SQL path refuses the schema by
name, as it refuses a keyword it does not check); Java has both, as ECMA does.
"""

from __future__ import annotations

import functools

__all__ = ["java_pattern", "re2_pattern", "re2_refusal"]

_SPACE = (r"\t\n\x{0B}\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}"
          r"\x{205F}\x{3000}\x{FEFF}")
_HEX = frozenset("0123456789abcdefABCDEF")
_LOOKAROUNDS = ("(?<=", "(?<!", "(?=", "(?!")


def re2_pattern(pattern: str) -> str:
    """``pattern`` (ECMA-262) as an RE2 pattern that matches the same texts."""
    return _translate(pattern, java=False)


@functools.lru_cache(maxsize=256)
def re2_refusal(pattern: str) -> str | None:
    """Why DuckDB cannot run ``pattern`` (an RE2 pattern from :func:`re2_pattern`), in
    RE2's words, or None when it can. Python's ``re`` (the schema's ``regex`` format)
    takes patterns RE2 does not (``\\Z``, ``(?#...)``, ``(?P=name)``, ``a++``, ``(?>...)``):
    DuckDB stopped the run with a traceback on them; the SQL path refuses them by name."""
    import duckdb

    try:
        duckdb.connect().execute("SELECT regexp_matches('', $1)", [pattern])
    except duckdb.Error as error:
        return str(error).removeprefix("Invalid Input Error: ")
    return None


def java_pattern(pattern: str) -> str:
    """``pattern`` (ECMA-262) as a ``java.util.regex`` pattern (Spark's ``RLIKE``, which
    searches, as ECMA does) that matches the same texts."""
    return _translate(pattern, java=True)


def _translate(pattern: str, *, java: bool) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e == "s":
                out.append(_SPACE if in_class else f"[{_SPACE}]")
            elif e == "S" and not in_class:
                out.append(f"[^{_SPACE}]")
            elif e == "u" and i + 6 <= n and set(pattern[i + 2:i + 6]) <= _HEX:
                out.append(r"\x{" + pattern[i + 2:i + 6] + "}")
                i += 6
                continue
            elif e == "v" and java:
                out.append(r"\x{0B}")
            elif e in "123456789k" and not in_class and not java:
                raise ValueError(f"a backreference (`\\{e}`)")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
                out.append(c)
            elif java and c in "[&":
                out.append("\\" + c)
            else:
                out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            # a `]` (after an optional `^`) first in a class is itself, in RE2 and Java as
            # in the python engine's reading
            j = i + 1
            if j < n and pattern[j] == "^":
                out.append("^")
                j += 1
            if j < n and pattern[j] == "]":
                out.append("]")
                j += 1
            i = j
            continue
        elif c == "(" and pattern.startswith(_LOOKAROUNDS, i) and not java:
            opener = next(o for o in _LOOKAROUNDS if pattern.startswith(o, i))
            raise ValueError(f"a lookaround (`{opener}`)")
        elif c == ".":
            out.append(r"[^\n\r\x{2028}\x{2029}]")
        elif c == "$" and java:
            out.append(r"\z")
        else:
            out.append(c)
        i += 1
    return "".join(out)
