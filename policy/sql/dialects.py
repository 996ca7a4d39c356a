"""What differs between SQL dialects: one small table per dialect (STYLE.md, "Several
backends, one meaning").

The compiler (:mod:`policy.sql.compiler`) builds one sqlglot expression tree and asks
the :class:`Dialect` of its target for the few pieces whose spelling or meaning
differs: exact integer division, dropping NULLs from an array, membership in an
array, the length of an array, a field of a structured column, the current instant in
µs, µs to the dialect's timestamp type, regular expressions (a whole match, a search, a
JSON Schema ``pattern`` in the dialect's syntax). sqlglot prints everything else. Every
entry is an sqlglot expression, never SQL text of one dialect translated into another.

Traps this table exists for (found in a trial of the design): sqlglot prints
``NOT (x IS TRUE)`` as ``NOT (x)`` for Snowflake and Trino, so the compiler wraps every
atomic test as ``COALESCE(test, FALSE)`` instead and never relies on ``IS TRUE``;
BigQuery's ``LEAST`` is NULL when any argument is, so "earliest present" is a CASE
chain; ``EPOCH_US`` and ``UNIX_MICROS`` exist only in some dialects; Spark's ``LENGTH``
takes only strings (array lengths go through :meth:`Dialect.array_length`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs
from sqlglot import exp

from policy.sql.casing import SIGMA, duckdb_lower
from policy.sql.masks import masked_lookup

__all__ = ["DIALECTS", "Dialect", "dialect", "sigma_free"]


def _lit(v: int) -> exp.Expression:
    return exp.Literal.number(v)


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def sigma_free(texts: Sequence[exp.Expression]) -> bool:
    """Whether every one of ``texts`` is a text literal that holds neither ``σ`` nor
    ``ς`` once lower-cased (:meth:`Dialect.lower_array`'s ``sigma=False``)."""
    return all(isinstance(t, exp.Literal) and t.is_string
               and not {"\u03c3", "\u03c2"} & set(t.this.lower()) for t in texts)


@attrs.frozen
class Dialect:
    """One dialect's entries. ``name`` is sqlglot's dialect name."""

    name: str
    #: the longest column name the dialect takes, in characters (``bytes_limit``: in
    #: UTF-8 bytes, as Postgres counts: a longer name is cut, silently, to that many)
    max_identifier: int = 128
    bytes_limit: bool = False
    #: a nested field of a structured column: ``struct`` (dot access), ``variant``
    #: (Snowflake OBJECT/VARIANT), ``jsonb`` (Postgres ->>)
    nesting: str = "struct"
    #: runs here (DuckDB and Spark are run by the engines; the others are only printed)
    runnable: bool = False

    def too_long(self, name: str) -> str | None:
        """Why the column name ``name`` is too long for the dialect (the end of the
        message: ``longer than postgres allows (63 bytes)``), or None."""
        size = len(name.encode("utf-8", "surrogatepass")) if self.bytes_limit else len(name)
        if size <= self.max_identifier:
            return None
        unit = "bytes of UTF-8" if self.bytes_limit else "characters"
        return f"longer than {self.name} allows ({self.max_identifier} {unit})"

    def unusable(self, name: str) -> str | None:
        """Why ``name`` cannot name a column or a struct field that the dialect's
        statement reads as exactly that name (the end of a sentence that starts with
        the name: ``is longer than postgres allows (63 bytes)``), or None. BigQuery
        reads a dot in a backticked name as a path (`` `a.b` `` is the field ``b`` of a
        column ``a``, and its column names cannot hold one), so a field key holding a
        dot read another field there."""
        long = self.too_long(name)
        if long is not None:
            return f"is {long}"
        if self.name == "bigquery" and "." in name:
            return ("holds a dot, which BigQuery reads as a path (`a.b` is the field b of "
                    "a column a; its column names cannot hold a dot)")
        return None

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

    def not_nan(self, r: exp.Expression) -> exp.Expression:
        """An arithmetic result, NULL where it is NaN, in the dialects whose ``=`` and
        ``<`` put NaN equal to itself and above every number (DuckDB, Spark, Postgres,
        Snowflake; ``NULLIF`` compares with that ``=``): the caller keeps its presence.
        BigQuery and Trino compare NaN as IEEE does, as Python does: kept there."""
        if self.name in ("bigquery", "trino"):
            return r
        return exp.Nullif(this=r, expression=exp.cast(exp.Literal.string("NaN"), "DOUBLE"))

    # -------------------------------------------------------------- arrays
    def array(self, items: Sequence[exp.Expression]) -> exp.Expression:
        return exp.Array(expressions=list(items))

    def compact(self, items: Sequence[exp.Expression]) -> exp.Expression:
        """An array of the non-NULL ``items``, in order (violation codes, unmet lines).

        DuckDB, when every item is ``CASE WHEN test THEN 'text' END``: ``LIST_WHERE``
        of the constant texts masked by the tests, where ``LIST_FILTER`` of a list
        built for every row ran a lambda over each item; the Parquet statement spent
        about a quarter of its time building ``next_unmet``, ``violations`` and
        ``error_paths`` so (bench/README.md, ninth session)."""
        x = exp.to_identifier("x")
        keep = exp.Not(this=exp.Is(this=exp.column("x"), expression=exp.null()))
        if not items:
            return self.empty_array()
        masked = [_text_when(i) for i in items] if self.name == "duckdb" else [None]
        if all(m is not None for m in masked):
            looked = masked_lookup(masked)  # a few texts: the list picked by bits
            if looked is not None:
                return looked
            return _call("LIST_WHERE", exp.Array(expressions=[m[1] for m in masked]),
                         exp.Array(expressions=[exp.Coalesce(this=m[0], expressions=[
                             exp.false()]) for m in masked]))
        return exp.ArrayFilter(this=self.array(items),
                               expression=exp.Lambda(this=keep, expressions=[x]))

    def empty_array(self) -> exp.Expression:
        """An empty array of text (its element type spelled where a dialect needs it)."""
        if self.name in ("duckdb", "postgres", "trino", "spark"):
            return exp.Cast(this=exp.Array(expressions=[]),
                            to=exp.DataType.build("ARRAY<VARCHAR>", dialect="spark"))
        return exp.Array(expressions=[])

    def array_length(self, a: exp.Expression) -> exp.Expression:
        """The number of items of ``a`` (NULL when ``a`` is NULL). Postgres: sqlglot
        prints ``ARRAY_LENGTH(a, 1)``, which is NULL for an empty array, so `length` of
        `[]` was missing there; ``CARDINALITY`` is 0 (twentieth session). Spark: sqlglot
        prints ``SIZE(a)``, which is -1 for a NULL array wherever
        ``spark.sql.legacy.sizeOfNull`` is on (Spark 3's default; the engine's own
        session turns it off, a cluster running the printed SQL may not), so a missing
        list had length -1; ``ARRAY_SIZE`` (Spark 3.3 and later) is NULL for NULL
        whatever the setting."""
        if self.name == "postgres":
            return _call("CARDINALITY", a)
        if self.name == "spark":
            return _call("ARRAY_SIZE", a)
        return exp.ArraySize(this=a)

    def array_has(self, a: exp.Expression, item: exp.Expression) -> exp.Expression:
        return exp.ArrayContains(this=a, expression=item)

    def array_overlap(self, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        """Whether the arrays ``a`` and ``b`` share an element (neither holds NULL)."""
        if self.name in ("duckdb", "postgres"):
            return exp.ArrayOverlaps(this=a, expression=b)
        if self.name == "bigquery":  # no function of its own: the elements of a in b
            kept = exp.ArrayFilter(this=a, expression=exp.Lambda(
                this=self.array_has(b, exp.column("o")), expressions=[exp.to_identifier("o")]))
            return exp.GT(this=self.array_length(kept), expression=_lit(0))
        return _call("ARRAYS_OVERLAP", a, b)

    def lower_array(self, a: exp.Expression, sigma: bool = True) -> exp.Expression:
        """Every element lower-cased (``contains`` on a list ignores case).

        ``sigma=False`` (DuckDB): the final-sigma rule is left out, for a list only
        compared with texts that hold neither ``σ`` nor ``ς`` (:func:`sigma_free`): the
        two lowerings differ only where an element holds a ``Σ``, which lowers to ``σ``
        or ``ς`` either way, so such an element equals none of those texts in both, and
        every other element is lowered alike. It saves testing every element for a
        ``Σ`` (about 60 ns a lead for ``rules/``' tech stack; bench/README.md,
        twenty-third session, perf23).

        DuckDB: inside a lambda, the final-sigma expression of :func:`duckdb_lower` is
        compiled again for every chunk of rows (about 1.4 ms each) even where no element
        holds a ``Σ``, which made this 14% of the Parquet statement's time for
        ``rules/`` (bench/README.md, seventh 2026-12-05 session); so the lists with a
        ``Σ`` are the only ones lower-cased with it, the others by ``LOWER`` after the
        ``İ`` rule (the same text: without a ``Σ`` the expression changes nothing)."""
        def each(body: exp.Expression) -> exp.Expression:
            if self.name in ("postgres", "bigquery"):  # no lambdas: a subquery per row
                return exp.Array(expressions=[exp.select(body).from_(exp.Unnest(
                    expressions=[a.copy()], alias=exp.TableAlias(
                        this=exp.to_identifier("_l"), columns=[exp.to_identifier("e")])))])
            return exp.Transform(this=a.copy(), expression=exp.Lambda(
                this=body, expressions=[exp.to_identifier("e")]))

        if self.name != "duckdb":
            return each(self.lower(exp.column("e")))
        if not sigma:
            return each(duckdb_lower(exp.column("e"), sigma=False))
        has_sigma = _call("LIST_BOOL_OR", each(exp.GT(
            this=exp.StrPosition(this=exp.column("e"), substr=exp.Literal.string(SIGMA)),
            expression=exp.Literal.number(0))))
        return exp.Case(ifs=[exp.If(this=has_sigma, true=each(duckdb_lower(exp.column("e"))))],
                        default=each(duckdb_lower(exp.column("e"), sigma=False)))

    # -------------------------------------------------------------- text
    def text_in(self, s: exp.Expression, texts: Sequence[exp.Literal]) -> exp.Expression:
        """``s IN (texts)`` (NULL when ``s`` is NULL; the caller makes it FALSE).

        DuckDB tests an ``IN`` list against every item in turn (a 316-domain list: 0.44
        µs a row); the Parquet statement keeps the lists (a hash join would make the
        order-keeping copy run on one thread, :mod:`policy.sql.pqcopy`). So a long
        list of texts is cut into buckets by a key of the text's length in bytes and
        first code point (:func:`text_bucket`, the same in Python and SQL) and only
        the text's own bucket is searched: 0.07 µs a row."""
        buckets = _text_buckets(texts) if self.name == "duckdb" else None
        if buckets is None:
            return exp.In(this=s, expressions=list(texts))
        table = exp.Array(expressions=[exp.Array(expressions=b) for b in buckets])
        key = exp.Add(this=exp.Mul(this=_call("STRLEN", s.copy()), expression=_lit(31)),
                      expression=exp.Add(this=_call("ORD", s.copy()), expression=_lit(1)))
        pick = exp.Add(this=exp.Mod(this=exp.Paren(this=key), expression=_lit(len(buckets))),
                       expression=_lit(1))
        return exp.ArrayContains(this=exp.Bracket(
            this=exp.cast(table, exp.DataType.build("VARCHAR[][]", dialect="duckdb")),
            expressions=[pick]), expression=s)

    def after_last(self, s: exp.Expression, sep: str) -> exp.Expression:
        """The text after the last ``sep`` in ``s`` (all of it without one)."""
        if self.name in ("duckdb", "postgres"):  # a regular expression cost DuckDB 3x
            # as much; Postgres has no REGEXP_EXTRACT (SPLIT_PART's -1: Postgres 14+)
            return _call("SPLIT_PART", s, exp.Literal.string(sep), _lit(-1))
        return exp.RegexpExtract(this=s, expression=exp.Literal.string(
            f"{re.escape(sep)}([^{re.escape(sep)}]*)$"), group=_lit(1))

    def regexp_search(self, s: exp.Expression, pattern: str) -> exp.Expression:
        """Whether ``pattern`` (a regular expression of our own) matches anywhere in
        ``s``. Snowflake's ``REGEXP_LIKE`` (like its ``RLIKE``)
        anchors a pattern at both ends, so `^a` matched only the text `a` and `[Zz]$`
        only `Z`; its ``REGEXP_INSTR`` searches, 0 when nothing matches."""
        if self.name == "snowflake":
            return exp.GT(this=_call("REGEXP_INSTR", s, exp.Literal.string(pattern)),
                          expression=_lit(0))
        return exp.RegexpLike(this=s, expression=exp.Literal.string(pattern))

    def whole_match(self, s: exp.Expression, pattern: str) -> exp.Expression:
        """Whether all of ``s`` matches ``pattern``, a regular expression of our own
        written ``^…$`` that groups with ``(?:…)`` (the timestamp shapes). ``^``/``$``
        anchor at the text's very ends in RE2 (DuckDB, BigQuery), Postgres and
        Snowflake, but in Java's syntax, which Spark and Trino use, ``$`` also matches
        before a final line terminator (``\\n``, ``\\r\\n``, U+2028…):
        ``"2026-01-01T00:00:00Z\\n"`` had a timestamp's shape there and was decided,
        where the python engine refuses it; those two get ``\\A``/``\\z``. Snowflake
        documents POSIX ERE, which has no non-capturing ``(?:…)`` (``(?`` is a
        repetition with no operand there); the shapes are only matched, never taken
        apart by group, so Snowflake's pattern uses plain groups, which match the same
        texts."""
        if self.name in ("spark", "trino"):
            pattern = "\\A" + pattern[1:-1] + "\\z"
        elif self.name == "snowflake":
            pattern = pattern.replace("(?:", "(")
        return exp.RegexpLike(this=s, expression=exp.Literal.string(pattern))

    def affix(self, sym: str, s: exp.Expression, x: exp.Expression) -> exp.Expression:
        """``s starts with x`` / ``s ends with x`` (``sym``); Postgres has no
        ``ENDS_WITH``: ``RIGHT(s, LENGTH(x)) = x``."""
        if sym == "starts with":
            return exp.StartsWith(this=s, expression=x)
        if self.name == "postgres":
            return exp.EQ(this=_call("RIGHT", s, exp.Length(this=x.copy())), expression=x)
        return exp.EndsWith(this=s, expression=x)

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
            return _jsonb(col, keys, kind)
        node: exp.Expression = col
        for key in keys:
            node = exp.Dot(this=node, expression=exp.to_identifier(key, quoted=True))
        return node

    def json_type(self, column: str, keys: Sequence[str]) -> exp.Expression | None:
        """The JSON kind of the value at ``column`` then ``keys`` (``string``, ``number``,
        ``boolean``, ``array``, ``object``, ``null``; NULL when absent) where the dialect
        keeps it (Postgres JSONB), else None (the schema's kind is taken on trust)."""
        if self.nesting != "jsonb":
            return None
        col = exp.column(exp.to_identifier(column, quoted=True))
        if keys:
            col = exp.JSONBExtract(this=col, expression=exp.Literal.string(
                "{" + ",".join(_pg_key(k) for k in keys) + "}"))
        return _call("JSONB_TYPEOF", col)

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
        # trino: ms between the epoch and now, times 1,000, as BIGINT. Trino's DATE_DIFF
        # has no `microsecond` unit (millisecond is its finest: "'microsecond' is not a
        # valid TIMESTAMP field"), and its CURRENT_TIMESTAMP holds milliseconds, so
        # nothing finer is lost
        return exp.Paren(this=exp.Mul(
            this=_call("DATE_DIFF", exp.Literal.string("millisecond"),
                       _call("FROM_UNIXTIME", _lit(0)), now),
            expression=_lit(1000)))

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
            # whole days, then the µs of the day: Postgres multiplies an interval by a
            # double, exact only below 2^53 (µs since the epoch pass it in 2255); the
            # instants are NUMERIC (its DIV), so the day is cut with DIV and MOD
            def times(n: exp.Expression, unit: str) -> exp.Expression:
                return exp.Mul(this=n, expression=exp.Interval(
                    this=exp.Literal.string("1"), unit=exp.var(unit)))

            days = exp.IntDiv(this=us.copy(), expression=_lit(86_400_000_000))
            rest = _call("MOD", us.copy(), _lit(86_400_000_000))
            return exp.Add(this=exp.Add(
                this=exp.cast(exp.Literal.string("1970-01-01"), "TIMESTAMP"),
                expression=times(days, "DAY")), expression=times(rest, "MICROSECOND"))
        return _call("FROM_UNIXTIME_NANOS", exp.Mul(this=us, expression=_lit(1000)))


#: lists of texts this long or longer are searched by bucket (:meth:`Dialect.text_in`)
BUCKETED_IN = 32


def text_bucket(text: str, buckets: int) -> int:
    """The bucket of ``text`` among ``buckets``, as DuckDB computes it in
    :meth:`Dialect.text_in`: ``(strlen(s) * 31 + ord(s) + 1) % buckets`` (``strlen``
    counts UTF-8 bytes; ``ord`` is the first code point, -1 for the empty text)."""
    first = ord(text[0]) if text else -1
    return (len(text.encode("utf-8")) * 31 + first + 1) % buckets


def _text_buckets(texts: Sequence[exp.Expression]) -> list[list[exp.Expression]] | None:
    """``texts`` (string literals) in buckets, or None: a short list, or a text that
    is not UTF-8 (half a surrogate pair)."""
    if len(texts) < BUCKETED_IN or not all(
            isinstance(t, exp.Literal) and t.is_string for t in texts):
        return None
    size = 1 << max(4, (len(texts) // 2 - 1).bit_length())
    out: list[list[exp.Expression]] = [[] for _ in range(size)]
    try:
        for t in texts:
            out[text_bucket(t.this, size)].append(t.copy())
    except UnicodeEncodeError:
        return None
    return out


def _text_when(item: exp.Expression) -> tuple[exp.Expression, exp.Expression] | None:
    """(test, text) of ``CASE WHEN test THEN 'text' END``, else None."""
    if not isinstance(item, exp.Case) or item.args.get("default") is not None \
            or item.this is not None or len(item.args.get("ifs") or []) != 1:
        return None
    when = item.args["ifs"][0]
    text = when.args.get("true")
    if not (isinstance(text, exp.Literal) and text.is_string):
        return None
    return when.this, text


def _cast(e: exp.Expression, kind: str) -> exp.Expression:
    if kind == "ARRAY":
        return e
    return exp.Cast(this=e, to=exp.DataType.build(kind))


def _jsonb(col: exp.Expression, keys: Sequence[str], kind: str) -> exp.Expression:
    """A nested field of a Postgres JSONB column as ``kind``: a value of another JSON kind
    is NULL (a cast would stop the whole query), and an array its elements as text[]."""
    path = exp.Literal.string("{" + ",".join(_pg_key(k) for k in keys) + "}")
    text = exp.JSONBExtractScalar(this=col, expression=path)
    node = exp.JSONBExtract(this=col.copy(), expression=path.copy())
    if kind == "JSON":  # the value's JSON text, whatever its kind
        return _cast(node, "VARCHAR")
    want = {"DOUBLE": "number", "BOOLEAN": "boolean", "ARRAY": "array",
            "VARCHAR": "string"}[kind]
    test = exp.EQ(this=_call("JSONB_TYPEOF", node), expression=exp.Literal.string(want))
    if kind == "ARRAY":
        elements = exp.select(exp.column("e")).from_(exp.Table(
            this=_call("JSONB_ARRAY_ELEMENTS_TEXT", node.copy()),
            alias=exp.TableAlias(this=exp.to_identifier("_j"),
                                 columns=[exp.to_identifier("e")])))
        value: exp.Expression = exp.Array(expressions=[elements])
    else:
        value = _cast(text, kind)
    return exp.Case(ifs=[exp.If(this=test, true=value)])


def _variant_key(key: str) -> str:
    return '"' + key.replace('"', '""') + '"'


def _pg_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect("duckdb", max_identifier=255, runnable=True),
    "spark": Dialect("spark", max_identifier=255, runnable=True),
    "snowflake": Dialect("snowflake", max_identifier=255, nesting="variant"),
    "bigquery": Dialect("bigquery", max_identifier=300),
    "postgres": Dialect("postgres", max_identifier=63, bytes_limit=True, nesting="jsonb"),
    "trino": Dialect("trino", max_identifier=255),
}


def dialect(name: str) -> Dialect:
    """The table of one dialect; ``ValueError`` naming the known ones for another."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(
            f"unknown SQL dialect `{name}`; expected one of {', '.join(DIALECTS)}") from None
