"""Conditions, numbers and days in plain words, for the policy document
(``fit ≥ 45``, ``job_level is one of ["vp", "c-level"]``): built from the AST,
never by ``eval`` or string replacement on source text.
"""

from __future__ import annotations

from collections.abc import Sequence

from policy.syntax import nodes as n
from policy.syntax.canonical import number_text, path_text, quote

# --------------------------------------------------------------------------- plain words

_OPS = {
    n.BinOp.EQ: "=",
    n.BinOp.NE: "≠",
    n.BinOp.LT: "<",
    n.BinOp.LE: "≤",
    n.BinOp.GT: ">",
    n.BinOp.GE: "≥",
    n.BinOp.ADD: "+",
    n.BinOp.SUB: "−",
    n.BinOp.MUL: "×",
    n.BinOp.DIV: "÷",
    n.BinOp.IN: "is one of",
    n.BinOp.NOT_IN: "is not one of",
    n.BinOp.CONTAINS: "contains",
    n.BinOp.STARTS_WITH: "starts with",
    n.BinOp.ENDS_WITH: "ends with",
    n.BinOp.AND: "and",
    n.BinOp.OR: "or",
}

#: Built-in functions in words: ``days_since(t)`` reads "days since t".
_CALLS = {
    "days_since": "days since {}",
    "hours_since": "hours since {}",
    "lower": "lower-case {}",
    "length": "length of {}",
    "domain": "domain of {}",
}


def number_words(value: int | float) -> str:
    """A number for people: ``250,000,000``, ``0.5``."""
    if isinstance(value, int):
        return f"{value:,}"
    text = number_text(value)
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}.{frac}" if whole.isdigit() else text


def plain(expr: n.Expr, floor: int = 0) -> str:
    """An expression in plain words: ``fit ≥ 45 and country is one of ["US", "CA"]``.

    Operators become their mathematical signs or words, numbers get thousands
    separators, and parentheses appear only where precedence needs them.
    """
    if isinstance(expr, n.Number):
        return number_words(expr.value)
    if isinstance(expr, n.String):
        return quote(expr.value)
    if isinstance(expr, n.Bool):
        return "true" if expr.value else "false"
    if isinstance(expr, n.Null):
        return "null"
    if isinstance(expr, n.ListExpr):
        return "[" + ", ".join(plain(i) for i in expr.items) + "]"
    if isinstance(expr, n.Ref):
        return path_text(expr.path)
    if isinstance(expr, n.Call):
        args = ", ".join(plain(a, n.PRECEDENCE["primary"]) for a in expr.args)
        text = _CALLS.get(expr.func, expr.func + " of {}").format(args)
        return _wrap(text, n.PRECEDENCE["neg"], floor)
    if isinstance(expr, n.Not):
        return _wrap("not " + plain(expr.operand, n.PRECEDENCE["not"]), n.PRECEDENCE["not"],
                     floor)
    if isinstance(expr, n.Neg):
        return _wrap("−" + plain(expr.operand, n.PRECEDENCE["neg"]), n.PRECEDENCE["neg"], floor)
    if isinstance(expr, n.Presence):
        word = "is present" if expr.present else "is missing"
        own = n.PRECEDENCE["is"]
        return _wrap(f"{plain(expr.operand, own + 1)} {word}", own, floor)
    if isinstance(expr, n.Binary):
        own = n.PRECEDENCE[expr.op]
        op = _OPS[expr.op]
        if expr.op is n.BinOp.CONTAINS and isinstance(expr.right, n.ListExpr):
            op = "contains one of"
        # left-associative: the right operand of `a - (b - c)` keeps its parentheses
        left = plain(expr.left, own)
        right = plain(expr.right, own + 1)
        return _wrap(f"{left} {op} {right}", own, floor)
    raise TypeError(f"not an expression: {expr!r}")  # pragma: no cover


def _wrap(text: str, own: int, floor: int) -> str:
    return f"({text})" if own < floor else text


def points_words(value: int | float) -> str:
    sign = "−" if value < 0 else "+"
    return sign + number_words(abs(value))


_DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
              "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
_WEEK = list(_DAY_NAMES)


def days_words(days: Sequence[str]) -> str:
    """``mon tue wed thu fri`` → ``Monday to Friday``; other sets are listed."""
    known = [d for d in days if d in _DAY_NAMES]
    idx = sorted(_WEEK.index(d) for d in known)
    if len(idx) >= 3 and idx == list(range(idx[0], idx[-1] + 1)):
        return f"{_DAY_NAMES[_WEEK[idx[0]]]} to {_DAY_NAMES[_WEEK[idx[-1]]]}"
    return ", ".join(_DAY_NAMES.get(d, d) for d in days)
