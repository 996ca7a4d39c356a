"""What differs between SQL dialects: one small table per dialect (STYLE.md, "Several
backends, one meaning").

The compiler (:mod:`policy.sql.compiler`) builds one sqlglot expression tree and asks
the :class:`Dialect` of its target for the few pieces whose spelling or meaning
differs: exact integer division, dropping NULLs from an array, membership in an
array, the length of an array, a field of a structured column, the current instant in
µs, µs to the dialect's timestamp type. sqlglot prints everything else. Every entry is
an sqlglot expression, never SQL text of one dialect translated into another.

Traps this table exists for (found in a trial of the design): sqlglot prints
``NOT (x IS TRUE)`` as ``NOT (x)`` for Snowflake and Trino, so the compiler wraps every
atomic test as ``COALESCE(test, FALSE)`` instead and never relies on ``IS TRUE``;
BigQuery's ``LEAST`` is NULL when any argument is, so "earliest present" is a CASE
chain; ``EPOCH_US`` and ``UNIX_MICROS`` exist only in some dialects; Spark's ``LENGTH``
takes only strings (array lengths go through :meth:`Dialect.array_length`).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from sqlglot import exp

from policy.sql.casing import SIGMA, duckdb_lower

__all__ = ["DIALECTS", "Dialect", "dialect"]


def _lit(v: int) -> exp.Expression:
    return exp.Literal.number(v)


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


@attrs.frozen
class Dialect:
    """One dialect's entries. ``name`` is sqlglot's dialect name."""

    name: str
    #: the longest column name the dialect takes
    max_identifier: int = 128
    #: a nested field of a structured column: ``struct`` (dot access), ``variant``
    #: (Snowflake OBJECT/VARIANT), ``jsonb`` (Postgres ->>)
    nesting: str = "struct"
    #: runs here (DuckDB and Spark are run by the engines; the others are only printed)
    runnable: bool = False

    # -------------------------------------------------------------- arithmetic
    def int_div(self, a: exp.Expression, b: int) -> exp.Expression:
        """``a / b`` for a BIGINT ``a >= 0`` and a positive constant ``b``, as BIGINT
        (truncation and flooring agree there); the dialects disagree on what ``/`` of
        two integers means."""
        if self.name in ("duckdb", "spark", "bigquery", "postgres"):
            return exp.IntDiv(this=a, expression=_lit(b))
        if self.name == "trino":
            return exp.Div(this=a, expression=_lit(b), typed=True)  # BIGINT / BIGINT
        # Snowflake divides to a NUMBER with six decimals; the quotients here are far
        # enough from the next integer (b <= 146,097) for FLOOR to be exact.
        return exp.Cast(this=exp.Floor(this=exp.Div(this=a, expression=_lit(b))),
                        to=exp.DataType.build("BIGINT"))

    def floor_div(self, a: exp.Expression, b: int) -> exp.Expression:
        """⌊a / b⌋ for BIGINT ``a`` and a positive constant ``b``, negatives included."""
        rem = exp.Mod(this=exp.Paren(this=exp.Add(
            this=exp.Mod(this=a, expression=_lit(b)), expression=_lit(b))), expression=_lit(b))
        return self.int_div(exp.Paren(this=exp.Sub(this=a, expression=rem)), b)

    # -------------------------------------------------------------- arrays
    def array(self, items: Sequence[exp.Expression]) -> exp.Expression:
        return exp.Array(expressions=list(items))

    def compact(self, items: Sequence[exp.Expression]) -> exp.Expression:
        """An array of the non-NULL ``items``, in order (violation codes, unmet lines)."""
        x = exp.to_identifier("x")
        keep = exp.Not(this=exp.Is(this=exp.column("x"), expression=exp.null()))
        if not items:
            return self.empty_array()
        return exp.ArrayFilter(this=self.array(items),
                               expression=exp.Lambda(this=keep, expressions=[x]))

    def empty_array(self) -> exp.Expression:
        """An empty array of text (its element type spelled where a dialect needs it)."""
        if self.name in ("duckdb", "postgres", "trino", "spark"):
            return exp.Cast(this=exp.Array(expressions=[]),
                            to=exp.DataType.build("ARRAY<VARCHAR>", dialect="spark"))
        return exp.Array(expressions=[])

    def array_length(self, a: exp.Expression) -> exp.Expression:
        return exp.ArraySize(this=a)

    def array_has(self, a: exp.Expression, item: exp.Expression) -> exp.Expression:
        return exp.ArrayContains(this=a, expression=item)

    def lower_array(self, a: exp.Expression) -> exp.Expression:
        """Every element lower-cased (``contains`` on a list ignores case).

        DuckDB: inside a lambda, the final-sigma expression of :func:`duckdb_lower` is
        compiled again for every chunk of rows (about 1.4 ms each) even where no element
        holds a ``Σ``, which made this 14% of the Parquet statement's time for
        ``rules/`` (bench/README.md, seventh 2026-12-05 session); so the lists with a
        ``Σ`` are the only ones lower-cased with it, the others by ``LOWER`` after the
        ``İ`` rule (the same text: without a ``Σ`` the expression changes nothing)."""
        def each(body: exp.Expression) -> exp.Expression:
            return exp.Transform(this=a.copy(), expression=exp.Lambda(
                this=body, expressions=[exp.to_identifier("e")]))

        if self.name != "duckdb":
            return each(self.lower(exp.column("e")))
        has_sigma = _call("LIST_BOOL_OR", each(exp.GT(
            this=exp.StrPosition(this=exp.column("e"), substr=exp.Literal.string(SIGMA)),
            expression=exp.Literal.number(0))))
        return exp.Case(ifs=[exp.If(this=has_sigma, true=each(duckdb_lower(exp.column("e"))))],
                        default=each(duckdb_lower(exp.column("e"), sigma=False)))

    # -------------------------------------------------------------- text
    def lower(self, s: exp.Expression) -> exp.Expression:
        """``s`` lower-cased as the python engine's ``str.lower()`` does: a text
        literal here, in Python; DuckDB with the two special rules spelled out
        (:mod:`policy.sql.casing`); Spark's ``LOWER`` applies them itself; the printed
        warehouses use their own."""
        if isinstance(s, exp.Literal) and s.is_string:
            return exp.Literal.string(s.this.lower())
        if self.name == "duckdb":
            return duckdb_lower(s)
        return exp.Lower(this=s)

    # -------------------------------------------------------------- fields
    def field(self, column: str, keys: Sequence[str], kind: str) -> exp.Expression:
        """The value at ``column`` then ``keys`` (nested objects) as ``kind``
        (``DOUBLE``, ``VARCHAR``, ``BOOLEAN``, ``ARRAY``)."""
        col = exp.column(exp.to_identifier(column, quoted=True))
        if not keys:
            return col
        if self.nesting == "variant":
            path = ".".join(_variant_key(k) for k in keys)
            got = _call("GET_PATH", col, exp.Literal.string(path))
            return _cast(got, kind)
        if self.nesting == "jsonb":
            node = exp.JSONBExtractScalar(this=col, expression=exp.Literal.string(
                "{" + ",".join(_pg_key(k) for k in keys) + "}"))
            return _cast(node, kind)
        node: exp.Expression = col
        for key in keys:
            node = exp.Dot(this=node, expression=exp.to_identifier(key, quoted=True))
        return node

    # -------------------------------------------------------------- time
    def now_us(self) -> exp.Expression:
        """The instant the query runs, µs since the epoch."""
        now = exp.CurrentTimestamp()
        if self.name == "duckdb":
            return _call("EPOCH_US", now)
        if self.name == "spark":
            return _call("UNIX_MICROS", now)
        if self.name == "bigquery":
            return _call("UNIX_MICROS", now)
        if self.name == "snowflake":
            return _call("DATE_PART", exp.var("EPOCH_MICROSECOND"), now)
        if self.name == "postgres":
            return exp.Cast(this=exp.Mul(this=exp.Extract(this=exp.var("EPOCH"), expression=now),
                                         expression=_lit(1_000_000)),
                            to=exp.DataType.build("BIGINT"))
        # trino: µs between the epoch and now, as BIGINT
        return _call("DATE_DIFF", exp.Literal.string("microsecond"),
                     _call("FROM_UNIXTIME", _lit(0)), now)

    def timestamp_of(self, us: exp.Expression) -> exp.Expression:
        """µs since the epoch as the dialect's UTC timestamp type (output columns)."""
        if self.name == "duckdb":
            return _call("MAKE_TIMESTAMP", us)
        if self.name == "spark":
            return _call("TIMESTAMP_MICROS", us)
        if self.name == "bigquery":
            return _call("TIMESTAMP_MICROS", us)
        if self.name == "snowflake":
            return _call("TO_TIMESTAMP_NTZ", us, _lit(6))
        if self.name == "postgres":
            return exp.Add(this=exp.cast(exp.Literal.string("1970-01-01"), "TIMESTAMP"),
                           expression=exp.Mul(this=us, expression=exp.Interval(
                               this=exp.Literal.string("1"), unit=exp.var("MICROSECOND"))))
        return _call("FROM_UNIXTIME_NANOS", exp.Mul(this=us, expression=_lit(1000)))


def _cast(e: exp.Expression, kind: str) -> exp.Expression:
    if kind == "ARRAY":
        return e
    return exp.Cast(this=e, to=exp.DataType.build(kind))


def _variant_key(key: str) -> str:
    return '"' + key.replace('"', '""') + '"'


def _pg_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect("duckdb", max_identifier=255, runnable=True),
    "spark": Dialect("spark", max_identifier=255, runnable=True),
    "snowflake": Dialect("snowflake", max_identifier=255, nesting="variant"),
    "bigquery": Dialect("bigquery", max_identifier=300),
    "postgres": Dialect("postgres", max_identifier=63, nesting="jsonb"),
    "trino": Dialect("trino", max_identifier=255),
}


def dialect(name: str) -> Dialect:
    """The table of one dialect; ``ValueError`` naming the known ones for another."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(
            f"unknown SQL dialect `{name}`; expected one of {', '.join(DIALECTS)}") from None
