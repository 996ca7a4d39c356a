"""``--local-tz`` in SQL: lead timestamps without an offset read in a named zone, without
any dialect's time-zone functions (spec v1.1 section 9; docs/warehouse.md).

The zone's rules are computed here, in Python, with the same ``zoneinfo`` zone
:func:`policy.engine.timestamps.parse_timestamp` reads, and emitted as one small table
keyed by the *local* year; the SQL then needs only integer arithmetic and one equi-join
per timestamp field.

Local time is a wall clock. At a transition from offset ``a`` to ``b`` (UTC instant
``t``), local times before ``t + max(a, b)`` read with ``a`` and later ones with ``b``:
in a fold (``a > b``) that makes a doubled time the earlier instant, and in a gap
(``b > a``) a missing time moves forward by the gap — exactly Python's ``fold=0``.
So each transition is one *boundary* in local time, and the table holds, per local
year ``k``: ``o0`` the offset (seconds) in force when the year begins, then for each
boundary in that year ``b1..bK`` (µs since the local year began) and the offset
``o1..oK`` from there on.

Rows run from the year before the zone's first transition to 2100; a year before that
reads the first row (the zone's local mean time), and a year after 2100 reads the row
of a year of the same kind (leap or not, and the weekday of 1 January) from 2104 to
2131, which the zone's recurring rule (its POSIX TZ string) treats alike: key
``10000 + 7 * leap + weekday``.

What runs before: the staging parts of :func:`policy.sql.checks.timestamp_parts`
(``tp``). What runs after: the compiler's ``tv`` step reads the instants this module's
columns give.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from sqlglot import exp

from policy.engine.timestamps import local_zone
from policy.sql.sqlparts import _case, _col, _values

__all__ = ["ZoneTable", "stage", "zone_table"]

_US = 1_000_000
_DAY_US = 86_400 * _US
_MIN_US = -62_135_596_800 * _US
_MAX_US = 253_402_300_799 * _US + 999_999
#: the scan for transitions: no zone of the tz database changes before 1800, and from
#: 2101 on every zone follows its recurring rule (the rows of 2104..2131 stand for them)
_SCAN_FROM, _LAST_TABLE_YEAR, _REP_FROM, _REP_TO = 1800, 2100, 2104, 2131
_TYPE_KEY = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _days_from_civil(y: int, m: int, d: int) -> int:
    return (datetime(y, m, d) - datetime(1970, 1, 1)).days


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _type_key(y: int) -> int:
    """The key of a year after 2100: leap or not, and the weekday of 1 January."""
    return _TYPE_KEY + 7 * _leap(y) + (_days_from_civil(y, 1, 1) + 4) % 7


class ZoneTable:
    """The rows of one zone's table (see the module docstring)."""

    def __init__(self, name: str, first_key: int, rows: list[tuple[int | None, ...]],
                 width: int):
        self.name = name
        #: the smallest year key; earlier years read this row
        self.first_key = first_key
        self.rows = rows
        #: K, the most boundaries in one year
        self.width = width

    @property
    def columns(self) -> tuple[str, ...]:
        cols = ["k", "o0"]
        for i in range(1, self.width + 1):
            cols += [f"b{i}", f"o{i}"]
        return tuple(cols)

    def offset_at(self, year: int, rel_us: int) -> int:
        """The offset (seconds) of local time ``rel_us`` into ``year``: the lookup the
        SQL does, in Python (the tests compare it with ``zoneinfo``)."""
        key = max(year, self.first_key) if year <= _LAST_TABLE_YEAR else _type_key(year)
        row = next(r for r in self.rows if r[0] == key)
        off = row[1]
        for i in range(self.width):
            b, o = row[2 + 2 * i], row[3 + 2 * i]
            if b is not None and rel_us >= b:
                off = o
        return off


def _offset(tz, us: int) -> int:
    return int((_EPOCH + timedelta(microseconds=us)).astimezone(tz).utcoffset()
               .total_seconds())


def _transitions(tz, first: int, last: int) -> list[tuple[int, int, int]]:
    """``(t, a, b)``: the UTC instants (µs) in the years ``first..last`` where the zone's
    offset changes from ``a`` to ``b`` seconds. A day-by-day scan, each change found to
    the microsecond by bisection (no zone changes its offset twice within a day)."""
    lo_us = _days_from_civil(first, 1, 1) * _DAY_US
    hi_us = _days_from_civil(last + 1, 1, 1) * _DAY_US
    out = []
    t, off = lo_us, _offset(tz, lo_us)
    while t < hi_us:
        nxt = min(t + _DAY_US, hi_us)
        off2 = _offset(tz, nxt)
        if off2 != off:
            a, b = t, nxt  # off at a, off2 at b: find the first instant with a new offset
            while b - a > 1:
                mid = (a + b) // 2
                if _offset(tz, mid) == off:
                    a = mid
                else:
                    b = mid
            new = _offset(tz, b)
            out.append((b, off, new))
            t, off = b, new
            continue
        t = nxt
    return out


def _local_years(trans: list[tuple[int, int, int]]) -> dict[int, list[tuple[int, int]]]:
    """Boundaries by local year: ``{year: [(µs into the year, offset after)]}``."""
    by_year: dict[int, list[tuple[int, int]]] = {}
    for t, a, b in trans:
        boundary = t + max(a, b) * _US  # local wall-clock µs
        day = boundary // _DAY_US
        year = (datetime(1970, 1, 1) + timedelta(days=day)).year
        rel = boundary - _days_from_civil(year, 1, 1) * _DAY_US
        by_year.setdefault(year, []).append((rel, b))
    return by_year


@functools.lru_cache(maxsize=16)
def zone_table(name: str) -> ZoneTable:
    """The table of the zone ``name`` (``ValueError`` for an unknown zone)."""
    tz = local_zone(name)
    trans = _transitions(tz, _SCAN_FROM, _LAST_TABLE_YEAR)
    initial = trans[0][1] if trans else _offset(tz, _days_from_civil(_SCAN_FROM, 1, 1)
                                                * _DAY_US)
    by_year = _local_years(trans)
    first_key = (min(by_year) if by_year else _LAST_TABLE_YEAR) - 1
    raw: list[tuple[int, int, list[tuple[int, int]]]] = []
    off = initial
    for year in range(first_key, _LAST_TABLE_YEAR + 1):
        items = by_year.get(year, [])
        raw.append((year, off, items))
        if items:
            off = items[-1][1]
    rep_trans = _transitions(tz, _REP_FROM - 1, _REP_TO)
    rep = _local_years(rep_trans)
    off = rep_trans[0][1] if rep_trans else _offset(
        tz, _days_from_civil(_REP_FROM - 1, 1, 1) * _DAY_US)
    off = next((items[-1][1] for year, items in sorted(rep.items()) if year < _REP_FROM
                and items), off)
    seen: set[int] = set()
    for year in range(_REP_FROM, _REP_TO + 1):
        items = rep.get(year, [])
        key = _type_key(year)
        if key not in seen:
            seen.add(key)
            raw.append((key, off, items))
        if items:
            off = items[-1][1]
    width = max((len(items) for _, _, items in raw), default=0)
    rows = []
    for key, o0, items in raw:
        row: list[int | None] = [key, o0]
        for i in range(width):
            row += list(items[i]) if i < len(items) else [None, None]
        rows.append(tuple(row))
    return ZoneTable(name, first_key, rows, width)


# --------------------------------------------------------------------------- SQL

def _n(v: int) -> exp.Expression:
    return exp.Literal.number(v)


def _days_before_month(mo: exp.Expression, leap: exp.Expression) -> exp.Expression:
    cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    base = exp.Case(ifs=[exp.If(this=exp.EQ(this=mo, expression=_n(m + 1)), true=_n(c))
                         for m, c in enumerate(cum)], default=_n(0))
    extra = _case([(exp.And(this=exp.GT(this=mo, expression=_n(2)), expression=leap),
                    _n(1))], _n(0))
    return exp.Paren(this=exp.Add(this=base, expression=extra))


def _leap_sql(y: exp.Expression) -> exp.Expression:
    def eq0(a):
        return exp.EQ(this=a, expression=_n(0))
    return exp.Paren(this=exp.Or(
        this=exp.And(this=eq0(exp.Mod(this=y, expression=_n(4))),
                     expression=exp.NEQ(this=exp.Mod(this=y, expression=_n(100)),
                                        expression=_n(0))),
        expression=eq0(exp.Mod(this=y, expression=_n(400)))))


def _key_sql(y: exp.Expression, d, first_key: int) -> exp.Expression:
    """The table key of local year ``y`` (see :func:`_type_key`)."""
    yy = exp.Paren(this=exp.Sub(this=y, expression=_n(1)))
    era = d.int_div(yy, 400)
    yoe = exp.Paren(this=exp.Sub(this=yy, expression=exp.Mul(this=era, expression=_n(400))))
    doe = exp.Add(this=exp.Sub(this=exp.Add(this=exp.Mul(this=yoe, expression=_n(365)),
                                            expression=d.int_div(yoe, 4)),
                               expression=d.int_div(yoe, 100)), expression=_n(306))
    days = exp.Sub(this=exp.Add(this=exp.Mul(this=era, expression=_n(146097)),
                                expression=exp.Paren(this=doe)), expression=_n(719468))
    dow = exp.Mod(this=exp.Paren(this=exp.Add(this=days, expression=_n(4))), expression=_n(7))
    typed = exp.Add(this=exp.Add(this=_n(_TYPE_KEY), expression=_case(
        [(_leap_sql(y), _n(7))], _n(0))), expression=exp.Paren(this=dow))
    return _case([(exp.LT(this=y, expression=_n(first_key)), _n(first_key)),
                  (exp.LTE(this=y, expression=_n(_LAST_TABLE_YEAR)), y)], typed)


def stage(b, zone: str, values: list[exp.Expression]) -> tuple[str, list[exp.Expression]]:
    """Add the CTEs that read naive timestamps in ``zone`` to the compiler ``b`` (its
    ``_add``, ``tsreg``, ``slot``, ``d``), after ``tp``. ``values`` are the compiler's
    ``{name}_t`` expressions (the text read as UTC); returns the CTE the ``tv`` step
    selects from and the expressions it selects: the instants read in ``zone``."""
    table = zone_table(zone)
    d = b.d
    cols = table.columns
    b._add("tzo", _values(table.rows, cols))
    zone_cols: list[exp.Expression] = []
    joins = []
    for i, ((path, kind), name) in enumerate(b.tsreg.items()):
        def part(p, name=name):
            return exp.column(exp.to_identifier(f"{name}_{p}", quoted=True), table="tp")
        y, mo, da, hh, mi, ss, fr = (part(p) for p in ("y", "mo", "da", "hh", "mi", "ss",
                                                        "fr"))
        alias = f"tz{i}"
        joins.append((alias, exp.EQ(this=exp.column("k", table=alias),
                                    expression=_key_sql(y, d, table.first_key))))
        doy = exp.Sub(this=exp.Add(this=_days_before_month(mo, _leap_sql(y)), expression=da),
                      expression=_n(1))
        secs = exp.Add(this=exp.Add(this=exp.Add(
            this=exp.Mul(this=exp.Paren(this=doy), expression=_n(86400)),
            expression=exp.Mul(this=hh, expression=_n(3600))),
            expression=exp.Mul(this=mi, expression=_n(60))), expression=ss)
        rel = exp.Add(this=exp.Mul(this=exp.Paren(this=secs), expression=_n(_US)),
                      expression=fr)
        pairs = []
        for k in range(table.width, 0, -1):
            pairs.append((exp.Coalesce(this=exp.GTE(this=rel, expression=exp.column(
                f"b{k}", table=alias)), expressions=[exp.false()]),
                exp.column(f"o{k}", table=alias)))
        zone_cols.append(_case(pairs, exp.column("o0", table=alias)).as_(
            f"{name}_zo", copy=False))
        if kind == "date":
            naive = exp.true()
        else:
            s = b.slot(path, "s")
            s = exp.column(s.this.copy(), table="tp") if isinstance(s, exp.Column) else s
            ends_z = exp.Coalesce(this=d.regexp_search(s, "[Zz]$"),
                                  expressions=[exp.false()])
            naive = exp.And(this=exp.EQ(this=part("sg"), expression=exp.Literal.string("")),
                            expression=exp.Not(this=ends_z))
        zone_cols.append(exp.Coalesce(this=exp.Paren(this=naive), expressions=[
            exp.false()]).as_(f"{name}_zn", copy=False))
    sel = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("tp")), *zone_cols
                     ).from_("tp", copy=False)
    for alias, on in joins:
        sel = sel.join(exp.to_table("tzo").as_(alias, copy=False), on=on, join_type="left",
                       copy=False)
    b._add("tpz", sel)
    # the instant as UTC (``_u``), then moved by the zone's offset when it had none
    utc = [v.this.as_(f"{v.alias}_u".replace("_t_u", "_u"), copy=False) for v in values]
    b._add("tvu", exp.select(exp.Star(), *utc).from_("tpz", copy=False))
    out = []
    for (_, name) in b.tsreg.items():
        u = _col(f"{name}_u")
        # BIGINT first: an offset column of one row's small numbers is an INT32 to
        # DuckDB, and 3,600 s x 10^6 overflows it (a fixed zone such as Etc/GMT+12)
        zo = exp.cast(_col(f"{name}_zo"), "BIGINT")
        moved = exp.Sub(this=u, expression=exp.Mul(this=zo, expression=_n(_US)))
        in_range = exp.Between(this=exp.Paren(this=moved), low=_n(_MIN_US), high=_n(_MAX_US))
        out.append(_case([(_col(f"{name}_zn"), _case([(in_range, moved)]))], u).as_(
            f"{name}_t", copy=False))
    return "tvu", out
