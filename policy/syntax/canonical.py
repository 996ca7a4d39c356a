"""The canonical printer: the texts a decision depends on, independent of ``fmt``'s layout.

Three things in a decision or its identity are policy text: the digest (spec section
5), the ``next.unmet`` texts of rules without a reason (section 4, step 6) and the
rule texts of a trace. They must not move when ``fmt`` changes how it lays a file
out (line widths, breaking long conditions, packing lists), so they are printed here,
on one line each, by rules of their own:

* an expression is printed with canonical spacing and the fewest parentheses that
  parse back to the same tree (:func:`expr_text`); numbers as the author spelled
  them (``50_000``) in ``unmet`` and trace texts, which a person reads next to the
  policy, and by value (``50000``) in the digest text;
* a statement is one line (:func:`rule_text`), a declaration block is its header
  line, its items, and ``}``, each on a line of its own (:func:`digest_text`);
* an exclude's ``unmet`` text is ``not X`` for a single name, path or call, else
  ``not (…)`` (:func:`unmet_text`).

Nothing here reads ``policy.syntax.formatter``'s layout code, so a change of how ``fmt``
breaks or packs lines cannot move a digest. ``fmt`` prints its atoms and one-line
expressions with this module's functions (:func:`quote`, :func:`path_text`,
:func:`number_text`, :func:`duration_text`, :func:`signed_text`, :func:`expr_at`), so the
two cannot spell a construct two ways.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from policy.syntax import nodes as n

if TYPE_CHECKING:  # pragma: no cover
    from policy.model.namespace import PolicyModel

__all__ = [
    "digest_text",
    "duration_text",
    "expr_at",
    "expr_text",
    "key_text",
    "lines_entries",
    "number_text",
    "operand_floors",
    "path_text",
    "policy_digest",
    "precedence",
    "quote",
    "rule_text",
    "signed_text",
    "stmt_text",
    "unmet_text",
]

_INF_TEXT = "1" + "0" * 309 + ".0"
_NUMBER = re.compile(r"[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SUM = n.PRECEDENCE[n.BinOp.ADD]
_NOT = n.PRECEDENCE["not"]
_UNARY = n.PRECEDENCE["neg"]
_LEFT_ASSOC = frozenset({n.BinOp.OR, n.BinOp.AND}) | n.ARITHMETIC
_SINGULAR = {
    n.Unit.MINUTES: "minute", n.Unit.HOURS: "hour", n.Unit.DAYS: "day", n.Unit.WEEKS: "week",
    n.Unit.BUSINESS_HOURS: "business hour", n.Unit.BUSINESS_DAYS: "business day",
}


# --------------------------------------------------------------------------- atoms


def quote(text: str) -> str:
    """A string literal: JSON escapes, non-ASCII kept as is; a lone surrogate (only a
    ``\\ud800`` escape makes one) stays escaped, so the text is always valid UTF-8."""
    out = json.dumps(text, ensure_ascii=False)
    if _SURROGATE.search(out):
        out = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
    return out


def key_text(key: str, first: bool = True) -> str:
    """One key of a field path: bare when it is a plain name (``nodes.plain_key``, the
    parser's own rule, so a printed text always parses back), else in backticks."""
    return key if n.plain_key(key, first) else f"`{key}`"


def path_text(path: Sequence[str]) -> str:
    """A field path: ``company.employees``, ``x.`annual revenue```."""
    return ".".join(key_text(k, i == 0) for i, k in enumerate(path))


def number_text(value: int | float) -> str:
    """A number by value: integers in decimal, floats positional with a digit after the
    point (``1e16`` is ``10000000000000000.0``): ``50_000`` and ``50000`` print alike."""
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


def _by_value(value: int | float, spelled: bool) -> str:
    """:func:`number_text`; for the digest (``spelled=False``) a whole number prints as an
    integer whichever way it was written, since numbers are hashed by value (spec
    section 5): ``100``, ``100.0`` and ``1_00.00`` are one value, one digest."""
    if not spelled and type(value) is float and value.is_integer():
        return str(int(value))
    return number_text(value)


def _spelled(value: int | float, text: str | None, spelled: bool) -> str:
    """The author's spelling when asked for and still true to the value, else by value."""
    if spelled and text is not None and _is_spelling(text, value):
        return text
    if not spelled and text is not None and isinstance(value, float) and math.isinf(value):
        return text.replace("_", "")
    return _by_value(value, spelled)


def _is_spelling(text: str, value: int | float) -> bool:
    if not _NUMBER.match(text):
        return False
    body = text.replace("_", "")
    parsed = float(body) if "." in body else int(body)
    return type(parsed) is type(value) and parsed == value


def signed_text(value: int | float, *, plus: bool, spelled: bool = True) -> str:
    """A signed number (points, range bounds, expected scores): ``+30``, ``-40``, ``0``."""
    sign = "-" if value < 0 else ("+" if plus else "")
    return sign + _by_value(abs(value), spelled)


def duration_text(d: n.Duration, *, spelled: bool = True) -> str:
    """``4 business hours``; an amount of exactly ``1`` takes the singular unit."""
    amount = _spelled(d.amount, d.text, spelled)
    return f"{amount} {_SINGULAR[d.unit] if amount == '1' else d.unit.value}"


# --------------------------------------------------------------------------- expressions


def precedence(e: n.Expr) -> int:
    """How tightly ``e`` binds: its operator's precedence (primaries bind tightest)."""
    if isinstance(e, n.Binary):
        return n.PRECEDENCE[e.op]
    if isinstance(e, n.Not):
        return _NOT
    if isinstance(e, n.Presence):
        return n.PRECEDENCE["is"]
    if isinstance(e, n.Neg):
        return _UNARY
    return n.PRECEDENCE["primary"]


def operand_floors(op: n.BinOp) -> tuple[int, int]:
    """How tightly each operand of ``op`` must bind to stand without parentheses
    (shared with ``fmt``, so both print the same parentheses)."""
    p = n.PRECEDENCE[op]
    if op in _LEFT_ASSOC:
        return p, p + 1
    return _SUM, _SUM  # comparisons and tests do not chain: both operands are sums


def expr_at(e: n.Expr, floor: int, sp: bool) -> str:
    """``e`` on one line, in parentheses when it binds less tightly than ``floor``."""
    text = _bare(e, sp)
    return f"({text})" if precedence(e) < floor else text


def _bare(e: n.Expr, sp: bool) -> str:
    if isinstance(e, n.Binary):
        lf, rf = operand_floors(e.op)
        return f"{expr_at(e.left, lf, sp)} {e.op.value} {expr_at(e.right, rf, sp)}"
    if isinstance(e, n.Not):
        return "not " + expr_at(e.operand, _NOT, sp)
    if isinstance(e, n.Presence):
        return f"{expr_at(e.operand, _SUM, sp)} is {'present' if e.present else 'missing'}"
    if isinstance(e, n.Neg):
        return "-" + expr_at(e.operand, _UNARY, sp)
    if isinstance(e, n.Number):
        return _spelled(e.value, e.text, sp)
    if isinstance(e, n.String):
        return quote(e.value)
    if isinstance(e, n.Bool):
        return "true" if e.value else "false"
    if isinstance(e, n.Null):
        return "null"
    if isinstance(e, n.ListExpr):
        return "[" + ", ".join(expr_at(i, 0, sp) for i in e.items) + "]"
    if isinstance(e, n.Ref):
        return path_text(e.path)
    if isinstance(e, n.Call):
        return f"{e.func}(" + ", ".join(expr_at(a, 0, sp) for a in e.args) + ")"
    raise TypeError(f"not an expression node: {type(e).__name__}")


def expr_text(expr: n.Expr, *, spelled: bool = True) -> str:
    """One expression on one line, the fewest parentheses that parse back to the same
    tree; numbers as the author spelled them, or by value with ``spelled=False``."""
    return expr_at(expr, 0, spelled)


# --------------------------------------------------------------------------- statements


def _desc(text: str | None) -> str:
    return "" if text is None else " " + quote(text)


def _names(idents: Iterable[n.Ident], sep: str = ", ") -> str:
    return sep.join(i.name for i in idents)


def _header(s: n.Stmt) -> str:
    if isinstance(s, n.Calendar):
        name = f" {s.name.name}" if s.name is not None else ""
        return f"calendar{name}{_desc(s.description)}"
    if isinstance(s, n.Score):
        return f"score {s.name.name}{_desc(s.description)} owned by {_names(s.owners)}"
    if isinstance(s, n.Stage):
        return f"stage {s.name.name}{_desc(s.description)} owned by {_names(s.owners)}"
    if isinstance(s, n.Handoff):
        return f"handoff {s.stage.name} to {s.team.name}"
    if isinstance(s, n.Example):
        return f"example {quote(s.name)}"
    raise TypeError(type(s).__name__)


def stmt_text(s: n.Stmt, *, spelled: bool = True) -> str:
    """A statement that is not a block, on one line, without comments."""
    sp = spelled
    e = lambda x, floor=0: expr_at(x, floor, sp)  # noqa: E731
    dur = lambda d: duration_text(d, spelled=sp)  # noqa: E731
    if isinstance(s, n.Define):
        if s.lines is not None:  # the entries are hashed on their own (policy_digest)
            return f"define {s.name.name}{_desc(s.description)} = lines {quote(s.lines.path)}"
        return f"define {s.name.name}{_desc(s.description)} = {e(s.value)}"
    if isinstance(s, n.PointsIf):
        return f"{signed_text(s.points, plus=True, spelled=sp)} if {e(s.condition)}"
    if isinstance(s, (n.Require, n.Exclude)):
        word = "require" if isinstance(s, n.Require) else "exclude"
        return f"{word} {e(s.condition)}{_desc(s.reason)}"
    if isinstance(s, n.KeepWhen):
        return f"keep when {e(s.condition)}"
    if isinstance(s, n.Route):
        on = f" on {s.calendar.name}" if s.calendar is not None else ""
        if s.condition is None:
            return f"route {quote(s.target)} otherwise{on}"
        return f"route {quote(s.target)} if {e(s.condition)}{on}"
    if isinstance(s, n.EnteredAt):
        return f"entered at {path_text(s.field.path)}"
    if isinstance(s, n.HandoffCalendar):
        return f"calendar {s.name.name}"
    if isinstance(s, n.Recycle):
        return (f"recycle {_names(s.stages)} to {s.state.name} if {e(s.condition)}"
                f"{_desc(s.reason)}")
    if isinstance(s, n.PolicyHeader):
        return f"policy {s.name.name} {quote(s.title)}"
    if isinstance(s, n.Version):
        return f"version {quote(s.label)}"
    if isinstance(s, n.SchemaRef):
        return f"schema {quote(s.path)}"
    if isinstance(s, n.IdField):
        return f"id {path_text(s.field.path)}"
    if isinstance(s, n.Team):
        return f"team {s.name.name} {quote(s.handle)}"
    if isinstance(s, n.Timezone):
        return f"timezone {quote(s.name)}"
    if isinstance(s, n.Workdays):
        return f"workdays {_names(s.days, ' ')}"
    if isinstance(s, n.Hours):
        return f"hours {s.start} to {s.end}"
    if isinstance(s, n.Holidays):
        return "holidays " + " ".join(quote(d) for d in s.dates)
    if isinstance(s, n.Funnel):
        return "funnel " + _names(s.stages, " -> ")
    if isinstance(s, n.PointsPer):
        text = f"{signed_text(s.points, plus=True, spelled=sp)} per {e(s.count, _SUM)}"
        return text if s.cap is None else text + f" up to {_by_value(s.cap, sp)}"
    if isinstance(s, n.Range):
        return (f"range {signed_text(s.low, plus=False, spelled=sp)} to "
                f"{signed_text(s.high, plus=False, spelled=sp)}")
    if isinstance(s, n.Decay):
        return f"decay half-life {dur(s.half_life)} since {path_text(s.since.path)}"
    if isinstance(s, n.State):
        return f"state {s.name.name}{_desc(s.description)} owned by {_names(s.owners)}"
    if isinstance(s, n.Sla):
        stops = ", ".join(path_text(r.path) for r in s.stops)
        return f"sla {dur(s.duration)} from {path_text(s.start.path)} until {stops}"
    if isinstance(s, n.Escalate):
        return f"escalate to {quote(s.target)} after {dur(s.after)}"
    if isinstance(s, n.Reject):
        return (f"reject to {s.state.name} with reason {path_text(s.field.path)} "
                f"in {e(s.reasons, _SUM)}")
    raise TypeError(f"no one-line text for {type(s).__name__}")


def rule_text(stmt: n.Stmt) -> str:
    """One rule as a trace shows it (``+30 if …``): the statement on one line, except
    that a gate line leaves out its reason (``explain`` shows it on its own) and a
    block is named by its header (``stage mql``)."""
    if isinstance(stmt, n.Score):
        return f"score {stmt.name.name}"
    if isinstance(stmt, n.Stage):
        return f"stage {stmt.name.name}"
    if isinstance(stmt, n.Handoff):
        return f"handoff {stmt.stage.name} to {stmt.team.name}"
    if isinstance(stmt, (n.Require, n.Exclude)) and stmt.reason is not None:
        stmt = attrs.evolve(stmt, reason=None)
    if isinstance(stmt, n.BLOCKS) or not isinstance(stmt, n.Stmt):
        raise TypeError(f"no rule text for {type(stmt).__name__}")
    return stmt_text(stmt)


def unmet_text(line: n.Require | n.Exclude) -> str:
    """What ``next.unmet`` lists for a gate line that blocks (spec section 4, step 6):
    its reason, or its condition; an exclude's as ``not X`` for a single name, path or
    call, else ``not (…)``."""
    if line.reason is not None:
        return line.reason
    text = expr_text(line.condition)
    if isinstance(line, n.Require):
        return text
    if isinstance(line.condition, (n.Ref, n.Call)):
        return "not " + text
    return f"not ({text})"


# --------------------------------------------------------------------------- the digest


def _decl_lines(d: n.Stmt) -> list[str]:
    if isinstance(d, n.BLOCKS):
        inner = [line for item in d.items for line in _decl_lines(item)]
        return [_header(d) + " {", *("  " + line for line in inner), "}"]
    return [stmt_text(d, spelled=False)]


def digest_text(modules: Iterable[n.Module]) -> str:
    """The text the digest hashes (spec section 5): every declaration but examples, in
    file-path then source order, one line per statement, numbers by value, no comments
    and no layout (a block's items each on a line, indented by two spaces)."""
    lines: list[str] = []
    for m in sorted(modules, key=lambda m: m.path):
        for d in m.decls:
            if not isinstance(d, n.Example):
                lines += _decl_lines(d)
    return "".join(line + "\n" for line in lines)


def lines_entries(modules: Iterable[n.Module]) -> list[tuple[str, tuple[str, ...]]]:
    """Every ``lines`` define's name and entries, in declaration order (file path, then
    source order), as the loader read them into the define's list."""
    out = []
    for m in sorted(modules, key=lambda m: m.path):
        for d in m.decls:
            if isinstance(d, n.Define) and d.lines is not None:
                items = d.value.items if isinstance(d.value, n.ListExpr) else ()
                out.append((d.name.name, tuple(
                    i.value for i in items if isinstance(i, n.String))))
    return out


def policy_digest(model: PolicyModel) -> str:
    """``sha256:`` + the SHA-256 of :func:`digest_text`, then the schema file's bytes, then
    each ``lines`` list's entries as a JSON array, in declaration order (spec section 5):
    a JSON array per list, not the file's bytes, so comments, blank lines and line
    endings in the file do not count, and an entry cannot slide from one list to the
    next."""
    h = hashlib.sha256(digest_text(model.modules).encode("utf-8"))
    if model.schema is not None:
        h.update(model.schema.raw)
    for _name, entries in lines_entries(model.modules):
        h.update(json.dumps(list(entries), ensure_ascii=False).encode("utf-8"))
    return "sha256:" + h.hexdigest()
