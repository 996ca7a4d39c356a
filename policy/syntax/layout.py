"""How ``funnel fmt`` lays out the parts of a statement: atoms (strings, keys, paths,
numbers, durations), expressions (minimal parentheses, broken after ``and``/``or`` to
fit :data:`WIDTH`) and a lead's JSON (on one line, or filled onto aligned lines).

:mod:`policy.syntax.formatter` puts these parts into statements and modules. The
precedence rules come from the canonical printer (:mod:`policy.syntax.canonical`), so
both print the same parentheses; the layout choices (widths, breaks) are this module's.
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections.abc import Sequence

from policy.syntax import nodes as n
from policy.syntax.canonical import operand_floors, precedence

__all__ = ["INDENT", "SHORT_ITEM", "WIDTH", "canonical_number", "expr_at", "format_duration",
           "format_expr", "format_key", "format_path", "format_unmet", "json_lines", "lay_expr",
           "quote", "signed_text"]

#: Statements longer than this are broken where the language allows it.
WIDTH = 100
INDENT = "  "
#: A long list whose items are all at most this wide is packed several to a line.
SHORT_ITEM = 10

_NUMBER = re.compile(r"[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")

_OR, _AND = n.BinOp.OR, n.BinOp.AND
_SUM = n.PRECEDENCE[n.BinOp.ADD]
_NOT = n.PRECEDENCE["not"]
_UNARY = n.PRECEDENCE["neg"]

#: A literal that parses to float infinity (no finite float is above 1.8e308);
#: only a 309-digit number in the source can make one.
_INF_TEXT = "1" + "0" * 309 + ".0"

#: Singular spellings, used for an amount of exactly ``1`` (``1 business day``).
_SINGULAR = {
    n.Unit.MINUTES: "minute",
    n.Unit.HOURS: "hour",
    n.Unit.DAYS: "day",
    n.Unit.WEEKS: "week",
    n.Unit.BUSINESS_HOURS: "business hour",
    n.Unit.BUSINESS_DAYS: "business day",
}



# --------------------------------------------------------------------------- atoms


def quote(text: str) -> str:
    """A string literal: JSON escapes, non-ASCII kept as is.

    A lone surrogate (only a ``\\ud800`` escape can make one) stays escaped, so
    the file can always be written as UTF-8.
    """
    out = json.dumps(text, ensure_ascii=False)
    if _SURROGATE.search(out):
        out = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
    return out


def format_key(key: str, first: bool = True) -> str:
    """One key of a field path: bare when it is a plain name, else in backticks."""
    if n.plain_key(key, first):
        return key
    return f"`{key}`"


def format_path(path: Sequence[str]) -> str:
    """A field path: ``company.employees``, ``x.`annual revenue```."""
    return ".".join(format_key(k, i == 0) for i, k in enumerate(path))


def _parse_number(text: str) -> int | float:
    clean = text.replace("_", "")
    return float(clean) if "." in clean else int(clean)


def canonical_number(value: int | float) -> str:
    """A number the way ``fmt`` writes it when the author's spelling is unknown.

    Integers in decimal; floats in positional notation with at least one digit
    after the point (the grammar has no exponent), e.g. ``1e16`` → ``10000000000000000.0``.
    """
    if isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return ("-" if value < 0 else "") + _INF_TEXT
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(decimal.Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


def _number(value: int | float, text: str | None, spelled: bool) -> str:
    if (
        spelled
        and text is not None
        and _NUMBER.match(text)
        and type(_parse_number(text)) is type(value)
        and _parse_number(text) == value
    ):
        return text
    if not spelled and text is not None and isinstance(value, float) and math.isinf(value):
        return text.replace("_", "")
    return canonical_number(value)


def signed_text(value: int | float, *, plus: bool) -> str:
    """A signed number (points, range bounds, expected scores): ``+30``, ``-40``, ``0``."""
    sign = "-" if value < 0 else ("+" if plus else "")
    return sign + canonical_number(abs(value))


def format_duration(d: n.Duration, *, spelled: bool = True) -> str:
    """``4 business hours``; an amount of exactly ``1`` takes the singular unit."""
    amount = _number(d.amount, d.text, spelled)
    unit = _SINGULAR[d.unit] if amount == "1" else d.unit.value
    return f"{amount} {unit}"


# --------------------------------------------------------------------------- expressions


def expr_at(e: n.Expr, floor: int, sp: bool) -> str:
    text = _bare(e, sp)
    return f"({text})" if precedence(e) < floor else text


def _bare(e: n.Expr, sp: bool) -> str:
    if isinstance(e, n.Binary):
        lf, rf = operand_floors(e.op)
        return f"{expr_at(e.left, lf, sp)} {e.op.value} {expr_at(e.right, rf, sp)}"
    if isinstance(e, n.Not):
        return "not " + expr_at(e.operand, _NOT, sp)
    if isinstance(e, n.Presence):
        word = "present" if e.present else "missing"
        return f"{expr_at(e.operand, _SUM, sp)} is {word}"
    if isinstance(e, n.Neg):
        return "-" + expr_at(e.operand, _UNARY, sp)
    if isinstance(e, n.Number):
        return _number(e.value, e.text, sp)
    if isinstance(e, n.String):
        return quote(e.value)
    if isinstance(e, n.Bool):
        return "true" if e.value else "false"
    if isinstance(e, n.Null):
        return "null"
    if isinstance(e, n.ListExpr):
        return "[" + ", ".join(expr_at(i, 0, sp) for i in e.items) + "]"
    if isinstance(e, n.Ref):
        return format_path(e.path)
    if isinstance(e, n.Call):
        return f"{e.func}(" + ", ".join(expr_at(a, 0, sp) for a in e.args) + ")"
    raise TypeError(f"not an expression node: {type(e).__name__}")


def format_expr(expr: n.Expr) -> str:
    """One expression on one line: canonical spacing, the fewest parentheses
    that parse back to the same tree, numbers as the author spelled them.

    This is the text ``next.unmet`` shows for a rule without a reason string.
    """
    return expr_at(expr, 0, True)


def format_unmet(item: n.Require | n.Exclude) -> str:
    """How ``next.unmet`` names a gate line (spec section 4, step 6): its reason string,
    or else its condition as ``fmt`` prints it; an ``exclude`` prefixed with ``not ``
    and in parentheses unless it is a single name, path or call
    (``not do_not_contact``, ``not (competitor or partner)``).
    """
    if item.reason is not None:
        return item.reason
    text = format_expr(item.condition)
    if isinstance(item, n.Require):
        return text
    if isinstance(item.condition, (n.Ref, n.Call)):
        return "not " + text
    return f"not ({text})"


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
