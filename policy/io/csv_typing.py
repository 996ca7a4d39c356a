"""How a policy uses each lead field, for typing the cells of a CSV without a schema
(spec section 9, "Lead input, precisely").

A CSV cell is text. With a schema, :mod:`policy.io.csv_leads` types it by the schema.
Without one, a cell would stay text and ``require `Number of Employees` >= 50`` would
compare ``"120" >= 50``: silently false for every lead. So each field gets the kind its
use in the policy asks for, the first that applies:

1. ``number``: compared with a number (a literal, a score, arithmetic), looked up in a
   list of numbers (``band in [1, 2]``, ``not in``, a defined list; membership is ``==``
   with each item, so it compares the field with numbers), computed with (``+ - * /``,
   unary minus), or counted by ``per``;
2. ``timestamp``: read as a timestamp (``days_since``, ``hours_since``, an ``sla``'s
   ``from``/``until``, a ``decay … since``); the cell stays text and the engine reads
   it as a timestamp, refusing the lead when it does not parse;
3. ``boolean``: used bare as a condition (``require vip``, ``+10 if demo_requested``,
   an operand of ``and``/``or``/``not``, directly or through a ``define``);
4. otherwise text.

Runs on a loaded :class:`~policy.model.namespace.PolicyModel`; nothing in the policy
changes.
"""

from __future__ import annotations

from collections.abc import Iterator

from policy.model.namespace import PolicyModel, children, stmt_exprs, walk_expr
from policy.syntax import nodes as n

__all__ = ["csv_kinds", "field_kinds"]

Path = tuple[str, ...]
_ORDER = ("number", "timestamp", "boolean")


def field_kinds(model: PolicyModel) -> dict[Path, str]:
    """Field path -> ``number``, ``timestamp`` or ``boolean``; fields used otherwise are
    absent (text)."""
    found: dict[Path, set[str]] = {}

    def mark(path: Path | None, kind: str) -> None:
        if path is not None:
            found.setdefault(path, set()).add(kind)

    def field(e: n.Expr) -> Path | None:
        if isinstance(e, n.Ref):
            kind, target = model.resolve(e)
            if kind == "field":
                return target  # type: ignore[return-value]
        return None

    def numeric(e: n.Expr, seen: frozenset[str] = frozenset()) -> bool:
        """Whether an expression is a number (so a field compared with it is one)."""
        if isinstance(e, (n.Number, n.Neg)):
            return True
        if isinstance(e, n.Binary) and e.op in n.ARITHMETIC:
            return True
        if isinstance(e, n.Call) and e.func in ("days_since", "hours_since", "length"):
            return True
        if isinstance(e, n.Ref):
            kind, target = model.resolve(e)
            if kind == "score":
                return True
            if kind == "define" and target.name.name not in seen:  # type: ignore[union-attr]
                return numeric(target.value, seen | {target.name.name})  # type: ignore[union-attr]
        return False

    def numbers(e: n.Expr, seen: frozenset[str] = frozenset()) -> bool:
        """Whether an expression is a non-empty list of numbers (a literal or a define):
        a field looked up in one is compared with numbers. A list that mixes numbers
        and text types nothing (a text cell may match its text items)."""
        if isinstance(e, n.ListExpr):
            return bool(e.items) and all(numeric(item) for item in e.items)
        if isinstance(e, n.Ref):
            kind, target = model.resolve(e)
            if kind == "define" and target.name.name not in seen:  # type: ignore[union-attr]
                return numbers(target.value, seen | {target.name.name})  # type: ignore[union-attr]
        return False

    def condition(e: n.Expr, seen: frozenset[str] = frozenset()) -> None:
        """Fields used bare where a condition is expected."""
        if isinstance(e, n.Binary) and e.op in (n.BinOp.AND, n.BinOp.OR):
            condition(e.left, seen)
            condition(e.right, seen)
        elif isinstance(e, n.Not):
            condition(e.operand, seen)
        elif isinstance(e, n.Ref):
            kind, target = model.resolve(e)
            if kind == "field":
                mark(target, "boolean")  # type: ignore[arg-type]
            elif kind == "define" and target.name.name not in seen:  # type: ignore[union-attr]
                condition(target.value, seen | {target.name.name})  # type: ignore[union-attr]

    for stmt in _statements(model):
        for e in stmt_exprs(stmt):
            for sub in walk_expr(e):
                if isinstance(sub, n.Binary) and sub.op in n.ARITHMETIC:
                    mark(field(sub.left), "number")
                    mark(field(sub.right), "number")
                elif isinstance(sub, n.Binary) and sub.op in n.COMPARISONS:
                    if numeric(sub.right):
                        mark(field(sub.left), "number")
                    if numeric(sub.left):
                        mark(field(sub.right), "number")
                elif isinstance(sub, n.Binary) and sub.op in (n.BinOp.IN, n.BinOp.NOT_IN):
                    if numbers(sub.right):
                        mark(field(sub.left), "number")
                elif isinstance(sub, n.Neg):
                    mark(field(sub.operand), "number")
        if isinstance(stmt, n.PointsPer):
            mark(field(stmt.count), "number")
        if isinstance(stmt, (n.Require, n.Exclude, n.KeepWhen, n.Recycle, n.PointsIf)):
            condition(stmt.condition)
        elif isinstance(stmt, n.Route) and stmt.condition is not None:
            condition(stmt.condition)
    for path in model.timestamp_paths:
        mark(path, "timestamp")
    return {path: next(k for k in _ORDER if k in kinds) for path, kinds in found.items()}


def _statements(model: PolicyModel) -> Iterator[n.Stmt]:
    for located in model.all_decls():
        decl = located.decl
        if isinstance(decl, n.Example):
            continue
        stack = [decl]
        while stack:
            stmt = stack.pop()
            yield stmt
            stack.extend(children(stmt))


def csv_kinds(model: PolicyModel, fmt: str) -> dict[Path, str] | None:
    """The ``kinds`` that :func:`policy.io.leads.read_records` takes for a lead file of
    format ``fmt`` read for the policy ``model``: :func:`field_kinds` for a CSV file and a
    policy without a schema, else None. Every command that reads leads (``eval`` with
    any engine and output, ``explain``, ``diff --leads``, ``report``) calls this, so a
    CSV cell is typed alike wherever it is read."""
    if fmt != "csv" or model.schema is not None:
        return None
    return field_kinds(model)
