"""How ``funnel fmt`` lays out the parts of a statement: expressions broken after
``and``/``or`` to fit :data:`WIDTH`, and a lead's JSON (on one line, or filled onto
aligned lines).

:mod:`policy.syntax.formatter` puts these parts into statements and modules. Everything
printed on one line (strings, keys, paths, numbers, durations, an expression with the
fewest parentheses) is the canonical printer's (:mod:`policy.syntax.canonical`), the one
that also prints the digest and the ``next.unmet`` texts: so ``fmt`` and the decision's
texts cannot spell a construct two ways. The layout choices (widths, breaks) are this
module's.
"""

from __future__ import annotations

import json
import math

from policy.syntax import nodes as n
from policy.syntax.canonical import expr_at, operand_floors, precedence, quote

__all__ = ["INDENT", "SHORT_ITEM", "WIDTH", "json_lines", "lay_expr"]

#: Statements longer than this are broken where the language allows it.
WIDTH = 100
INDENT = "  "
#: A long list whose items are all at most this wide is packed several to a line.
SHORT_ITEM = 10

_OR, _AND = n.BinOp.OR, n.BinOp.AND


def _operands(e: n.Binary) -> list[n.Expr]:
    op = e.op
    out: list[n.Expr] = [e.right]
    left = e.left
    while isinstance(left, n.Binary) and left.op is op:
        out.append(left.right)
        left = left.left
    out.append(left)
    out.reverse()
    return out


def lay_expr(e: n.Expr, floor: int, first: str, cont: str, suffix: str, sp: bool,
         width: int = WIDTH) -> list[str]:
    """Lines for ``e``: the first starts with ``first``, later ones with ``cont``,
    the last ends with ``suffix``. A chain of ``and``/``or`` that does not fit
    breaks after each operator, one operand per line (a line ending in
    ``and``/``or`` continues, spec section 1); an operand that still does not
    fit breaks the same way, two spaces deeper.
    """
    flat = first + expr_at(e, floor, sp) + suffix
    if len(flat) <= width or not (isinstance(e, n.Binary) and e.op in (_OR, _AND)):
        return [flat]
    if precedence(e) < floor:  # a parenthesised chain: lines continue inside `( )` too
        first, suffix = first + "(", ")" + suffix
    parts = _operands(e)
    _, rf = operand_floors(e.op)
    lines: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        lines += lay_expr(part, rf, first if i == 0 else cont, cont + INDENT,
                      suffix if last else f" {e.op.value}", sp, width)
    return lines


# --------------------------------------------------------------------------- lead JSON


def _json_scalar(v: object) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):  # only `1e999`-like input makes one; keep it JSON
            return "-1e999" if v < 0 else "1e999"
        return json.dumps(v)
    raise TypeError(f"not a JSON value: {type(v).__name__}")


def _json_inline(v: object) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{quote(k)}: {_json_inline(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_json_inline(x) for x in v) + "]"
    return _json_scalar(v)


def _json_filled(v: dict | list, first: str, suffix: str, width: int) -> list[str] | None:
    """Members filled onto as few lines as fit, continuation lines aligned under the first
    member (the layout of spec section 7's example), or None when one member alone does
    not fit. A CRM export pasted as one line stays a few lines, not one per key."""
    if isinstance(v, dict):
        parts = [f"{quote(k)}: {_json_inline(x)}" for k, x in v.items()]
        opening, closing = "{", "}"
    else:
        parts = [_json_inline(x) for x in v]
        opening, closing = "[", "]"
    align = " " * (len(first) + 1)
    lines: list[str] = []
    line = first + opening
    for i, part in enumerate(parts):
        tail = "," if i < len(parts) - 1 else closing + suffix
        if line.endswith((opening, ",")) and line != first + opening:
            candidate = line + " " + part + tail
        else:
            candidate = line + part + tail
        if len(candidate) <= width:
            line = candidate
            continue
        if line == first + opening:
            return None  # the first member alone is too long
        lines.append(line)
        line = align + part + tail
        if len(line) > width:
            return None
    lines.append(line)
    return lines


def json_lines(v: object, first: str, indent: str, suffix: str,
                width: int = WIDTH) -> list[str]:
    """JSON on one line when it fits; else members filled onto aligned lines; else (a
    member too long for a line) one member per line, recursively."""
    flat = first + _json_inline(v) + suffix
    if len(flat) <= width or not (isinstance(v, (dict, list)) and v):
        return [flat]
    filled = _json_filled(v, first, suffix, width)
    if filled is not None:
        return filled
    inner = indent + INDENT
    if isinstance(v, dict):
        entries = [(inner + quote(k) + ": ", x) for k, x in v.items()]
        opening, closing = "{", "}"
    else:
        entries = [(inner, x) for x in v]
        opening, closing = "[", "]"
    lines = [first + opening]
    for i, (head, x) in enumerate(entries):
        lines += json_lines(x, head, inner, "," if i < len(entries) - 1 else "", width)
    lines.append(indent + closing + suffix)
    return lines
