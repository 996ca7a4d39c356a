"""A schema's ``pattern`` (ECMA-262, as the python engine's validator reads it) in
DuckDB's regular expressions (RE2).

Most of a pattern means the same in both; three pieces do not, and are written out:

- ``\\s`` is ECMA's white space (tab, line feed, vertical tab, form feed, carriage
  return, space, no-break space, U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F,
  U+205F, U+3000 and U+FEFF); RE2's holds only ``[\\t\\n\\f\\r ]``. ``\\S`` is the rest;
- ``.`` matches anything but a line terminator (line feed, carriage return, U+2028,
  U+2029); RE2's ``.`` only stops at a line feed;
- ``\\uXXXX`` is a code point, which RE2 spells ``\\x{XXXX}`` (it refuses ``\\u``).

Inside a class (``[...]``), ``\\s`` is the same list and ``.`` a dot; ``\\S`` stays
(``[\\s\\S]``, any character, is the same in both). RE2 has no lookaround and no
backreference: such a pattern raises ``ValueError`` (the SQL path refuses the schema by
name, as it refuses a keyword it does not check).
"""

from __future__ import annotations

__all__ = ["re2_pattern"]

_SPACE = (r"\t\n\x{0B}\f\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}"
          r"\x{205F}\x{3000}\x{FEFF}")
_HEX = frozenset("0123456789abcdefABCDEF")


def re2_pattern(pattern: str) -> str:
    """``pattern`` (ECMA-262) as an RE2 pattern that matches the same texts."""
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
            elif e in "123456789k" and not in_class:
                raise ValueError(f"a backreference (`\\{e}`)")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            # a `]` (after an optional `^`) first in a class is itself, in RE2 as here
            j = i + 1
            if j < n and pattern[j] == "^":
                out.append("^")
                j += 1
            if j < n and pattern[j] == "]":
                out.append("]")
                j += 1
            i = j
            continue
        elif c == "(" and pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            opener = next(o for o in ("(?<=", "(?<!", "(?=", "(?!") if pattern.startswith(o, i))
            raise ValueError(f"a lookaround (`{opener}`)")
        elif c == ".":
            out.append(r"[^\n\r\x{2028}\x{2029}]")
        else:
            out.append(c)
        i += 1
    return "".join(out)
