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

from sqlglot import exp

__all__ = ["drop_truth_coalesces"]


def _false_wrapper(node: exp.Expression) -> exp.Expression | None:
    """The test of ``node`` when it is ``COALESCE(test, FALSE)``, else None."""
    if isinstance(node, exp.Coalesce):
        rest = node.expressions
        if len(rest) == 1 and isinstance(rest[0], exp.Boolean) and rest[0].this is False:
            return node.this
    return None


def _truth(node: exp.Expression) -> exp.Expression:
    """``node``, read only for whether it is TRUE, without its FALSE wrappers."""
    while (inner := _false_wrapper(node)) is not None:
        node = inner
    if isinstance(node, exp.Paren):
        node.set("this", _truth(node.this))
    elif isinstance(node, (exp.And, exp.Or)):
        node.set("this", _truth(node.this))
        node.set("expression", _truth(node.expression))
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
    """``tree`` with the wrappers described above taken off, in place."""
    for case in list(tree.find_all(exp.Case)):
        if case.args.get("this") is not None:
            continue  # CASE x WHEN value: the WHENs are values, not tests
        for when in case.args.get("ifs") or []:
            when.set("this", _truth(when.this))
    for node in list(tree.find_all(exp.Coalesce)):
        inner = _false_wrapper(node)
        if inner is not None:
            while (deeper := _false_wrapper(inner)) is not None:
                inner = deeper
            if _never_null(inner):
                if node is tree:
                    tree = inner.pop()
                else:
                    node.replace(inner)
            else:
                node.set("this", inner)
    return tree
