"""Tests read only for their truth lose their ``COALESCE(test, FALSE)`` (DuckDB's
Parquet → Parquet statement).

The compiler wraps every atomic test as ``COALESCE(test, FALSE)``
(:mod:`policy.sql.values`) so that no SQL NULL reaches a ``NOT``. Where a test is only
asked whether it is true, NULL and FALSE are read alike and the wrapper is work for
nothing: a CASE's ``WHEN`` takes its branch only for TRUE, and ``AND``/``OR`` give TRUE
for the same operands whether a NULL among them is read as NULL or as FALSE (three-valued
logic: ``NULL AND x`` and ``NULL OR x`` are TRUE only when ``FALSE AND x`` and ``FALSE OR
x`` are). So in a ``WHEN`` condition, through ``AND``, ``OR``, parentheses and the test
of another such COALESCE, ``COALESCE(x, FALSE)`` is printed as ``x`` (never under a
``NOT``, a comparison, a function or a CASE's result, where NULL and FALSE differ). And
``COALESCE(COALESCE(x, FALSE), FALSE)`` anywhere is ``COALESCE(x, FALSE)``.

The statement's value in every row is the same; its cost is not: each COALESCE is a
vector operation on every row (bench/README.md, twenty-third session, perf23). Applied
to DuckDB's Parquet → Parquet statement only (:meth:`DuckEngine.parquet_query`), after
the compiler every dialect shares, so no other dialect's SQL changes.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

__all__ = ["drop_truth_coalesces", "flatten_cases"]


def _false_wrapper(node: exp.Expression) -> exp.Expression | None:
    """The test of ``node`` when it is ``COALESCE(test, FALSE)``, else None."""
    if isinstance(node, exp.Coalesce):
        rest = node.expressions
        if len(rest) == 1 and isinstance(rest[0], exp.Boolean) and rest[0].this is False:
            return node.this
    return None


def _truth(node: exp.Expression) -> exp.Expression:
    """``node``, read only for whether it is TRUE, without its FALSE wrappers. The
    ``AND``, ``OR`` and parentheses on the way are new nodes, never the old ones changed:
    the compiler puts one node in several places, some not read for their truth alone."""
    while (inner := _false_wrapper(node)) is not None:
        node = inner
    if isinstance(node, exp.Paren):
        return exp.Paren(this=_truth(node.this))
    if isinstance(node, (exp.And, exp.Or)):
        return type(node)(this=_truth(node.this), expression=_truth(node.expression))
    return node


def _simpler(node: Any) -> Any:
    """``node`` with nested FALSE wrappers made one (in place), or its test when that is
    never NULL; anything else as it is. Right in every context."""
    inner = _false_wrapper(node) if isinstance(node, exp.Expression) else None
    if inner is None:
        return node
    while (deeper := _false_wrapper(inner)) is not None:
        inner = deeper
    if _never_null(inner):
        return inner
    node.set("this", inner)
    return node


def _never_null(node: exp.Expression) -> bool:
    """Whether ``node`` is a boolean that is never NULL, whatever its columns hold: an
    ``IS [NOT] NULL`` test, TRUE or FALSE, ``COALESCE(x, FALSE)``, and ``NOT``, ``AND``,
    ``OR`` and parentheses of such."""
    if isinstance(node, (exp.Is, exp.Boolean)):
        return True
    if _false_wrapper(node) is not None:
        return True
    if isinstance(node, (exp.Not, exp.Paren)):
        return _never_null(node.this)
    if isinstance(node, (exp.And, exp.Or)):
        return _never_null(node.this) and _never_null(node.expression)
    return False


def drop_truth_coalesces(tree: exp.Expression) -> exp.Expression:
    """``tree`` with the wrappers described above taken off, in place (the tree is
    returned: it may be its own test)."""
    for case in list(tree.find_all(exp.Case)):
        if case.args.get("this") is not None:
            continue  # CASE x WHEN value: the WHENs are values, not tests
        for when in case.args.get("ifs") or []:
            when.set("this", _truth(when.this))
    # by each node's own arguments, not by parent links: a node put in several places
    # has one parent link
    for node in list(tree.walk()):
        for key, value in list(node.args.items()):
            if isinstance(value, list):
                new = [_simpler(v) for v in value]
                if any(a is not b for a, b in zip(new, value, strict=True)):
                    node.set(key, new)
            elif (new := _simpler(value)) is not value:
                node.set(key, new)
    return _simpler(tree)


def _searched(node: exp.Expression | None) -> exp.Case | None:
    """``node`` (inside parentheses) when it is a searched CASE (``CASE WHEN …``)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Case) and node.args.get("this") is None:
        return node
    return None


def flatten_cases(tree: exp.Expression) -> exp.Expression:
    """``tree`` with nested searched CASEs made one, in place, where the value is the
    same in every row:

    - ``CASE WHEN a THEN x ELSE CASE WHEN b THEN y [ELSE z] END END`` is ``CASE WHEN a
      THEN x WHEN b THEN y [ELSE z] END`` (the inner CASE runs exactly when no WHEN
      before it was TRUE);
    - ``CASE WHEN c THEN CASE WHEN b THEN y END END``, ``c`` never NULL (``_e IS NULL``
      around every output column), is ``CASE WHEN NOT (c) THEN NULL WHEN b THEN y END``
      (only without an inner ELSE: a column that is a CASE without ELSE keeps that
      form, :func:`policy.sql.pqcopy.null_branch_columns`).

    DuckDB merges each CASE's branches into its result vector (``FillSwitch``, 12% of
    the instructions of ``rules/``' Parquet statement): one CASE instead of two merges
    each row once (bench/README.md, twenty-third session, perf23)."""
    for case in reversed(list(tree.find_all(exp.Case))):  # the innermost first
        if case.args.get("this") is not None:
            continue
        ifs = case.args.get("ifs") or []
        inner = _searched(case.args.get("default"))
        if inner is not None:
            case.set("ifs", ifs + [i.copy() for i in inner.args.get("ifs") or []])
            default = inner.args.get("default")
            case.set("default", None if default is None else default.copy())
            ifs = case.args["ifs"]
        if case.args.get("default") is None and len(ifs) == 1 and _never_null(ifs[0].this):
            inner = _searched(ifs[0].args.get("true"))
            if inner is not None and inner.args.get("default") is None:
                cond = ifs[0].this.copy()
                case.set("ifs", [exp.If(this=exp.Not(this=exp.Paren(this=cond)),
                                        true=exp.null())]
                         + [i.copy() for i in inner.args.get("ifs") or []])
    return tree
