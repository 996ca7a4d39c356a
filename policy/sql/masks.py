"""A list of constant texts kept by tests, looked up by the tests' bits (DuckDB).

``LIST_WHERE(['a', 'b', 'c'], [t1, t2, t3])`` builds a list of the tests for every row
and then the list of the texts kept, about 60 ns a row in DuckDB, for each of the
``next_unmet`` and ``violations`` of every lead. With a few texts every result is
known in advance: the tests read as the bits of a number (``t1`` 1, ``t2`` 2, ``t3``
4: ``CASE WHEN t THEN bit ELSE 0 END``, a NULL test is a false one, as ``LIST_WHERE``
with ``COALESCE(t, FALSE)`` reads it) pick one of the ``2^n`` lists written out in the
statement. The same lists, in the same order (bench/README.md, eleventh session).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

__all__ = ["LOOKUP_MAX", "masked_lookup"]

#: at most this many texts are looked up (2^6 = 64 lists written out); more are
#: kept by ``LIST_WHERE``
LOOKUP_MAX = 6


def masked_lookup(pairs: Sequence[tuple[exp.Expression, exp.Expression]]
                  ) -> exp.Expression | None:
    """The texts of ``pairs`` (test, text literal) whose test holds, in order, as a
    DuckDB list picked from the ``2^n`` possible ones; None for more than
    :data:`LOOKUP_MAX` texts."""
    if not pairs or len(pairs) > LOOKUP_MAX:
        return None
    texts = [text for _, text in pairs]
    table = exp.Array(expressions=[
        exp.Array(expressions=[t.copy() for k, t in enumerate(texts) if mask >> k & 1])
        for mask in range(1 << len(texts))])
    index: exp.Expression = exp.Literal.number(1)
    for k, (test, _) in enumerate(pairs):
        bit = exp.Case(ifs=[exp.If(this=test.copy(), true=exp.Literal.number(1 << k))],
                       default=exp.Literal.number(0))
        index = exp.Add(this=index, expression=bit)
    # LIST_EXTRACT, 1-based, not a bracket: sqlglot shifts a bracket's integer index
    return exp.Anonymous(this="LIST_EXTRACT", expressions=[
        exp.cast(table, exp.DataType.build("VARCHAR[][]", dialect="duckdb")), index])
