"""Every figure of the funnel report, computed in one place: SQL over the ``facts`` table.

:func:`compute` runs a handful of DuckDB queries over a table named ``facts`` (one row
per input record, columns from :func:`policy.report.facts.fact_columns`) and assembles
the report as a plain dict with the JSON keys of spec section 11. The python engine's
decisions reach that table through :class:`policy.report.facts.FactWriter`; any other
engine only has to produce the same table.

Definitions (section 11, and ``docs/report.md``):

- medians and p90 are nearest-rank percentiles: the value at rank ``ceil(q * n)`` of the
  ``n`` values sorted ascending, written here in integers as ``(n + 1) // 2`` and
  ``(9 * n + 9) // 10``; a percentile of no values is null;
- a ratio whose divisor is 0 is null;
- ``--by`` groups: the 20 most common keys over all records, ties broken by key, the rest
  under ``(other)``; a missing value is ``(missing)``;
- cohort periods are UTC: ISO weeks (``2026-W05``), months (``2026-11``), quarters
  (``2026-Q4``); no cohort value is ``(missing)``;
- score bins are ``[10k, 10k + 10)``, and the top bin of a ``range`` includes its maximum.

Must run after: the ``facts`` table exists in the connection.
"""

from __future__ import annotations

import math
from typing import Any

from policy.report.shape import Shape

__all__ = ["OTHER", "MISSING", "NONE", "TOP_KEYS", "TOP_PATHS", "compute", "empty_group"]

#: ``--by`` keeps this many keys; the rest are :data:`OTHER`.
TOP_KEYS = 20
#: ``refused.paths`` keeps this many paths.
TOP_PATHS = 10
OTHER = "(other)"
MISSING = "(missing)"
NONE = "(none)"
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 86_400_000_000
_STATUSES = ("met", "breached", "pending", "unknown")
_PERIODS = {
    "week": ("lpad(CAST(isoyear(t) AS VARCHAR), 4, '0') || '-W' || "
             "lpad(CAST(week(t) AS VARCHAR), 2, '0')"),
    "month": "strftime(t, '%Y-%m')",
    "quarter": "lpad(CAST(year(t) AS VARCHAR), 4, '0') || '-Q' || CAST(quarter(t) AS VARCHAR)",
}


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _num(x: float | int | None) -> int | float | None:
    """A bound or threshold as JSON shows it: whole numbers without ``.0``."""
    if x is None:
        return None
    return int(x) if float(x).is_integer() else float(x)


def _percentiles(column: str) -> str:
    """SQL aggregates ``n`` (the values of ``column`` that are not null) and ``l`` (them,
    sorted); :data:`_PICK` then takes the nearest-rank median and p90 from ``l``."""
    return (f"count({column}) AS n, "
            f"list_sort(list({column}) FILTER (WHERE {column} IS NOT NULL)) AS l")


_PICK = ("n, CASE WHEN n > 0 THEN l[(n + 1) // 2] END AS median, "
         "CASE WHEN n > 0 THEN l[(9 * n + 9) // 10] END AS p90")


def _ordered(counts: dict[str, int]) -> dict[str, int]:
    """Count maps in a meaningful order: most common first, ties by key."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _bins(score_low: float | None, score_high: float | None, seen: list[float]
          ) -> list[float]:
    """The lower edges of a score's bins: the whole ``range``, or what was seen."""
    if score_low is not None and score_high is not None:
        first = math.floor(score_low / 10) * 10
        last = _top_bin(score_low, score_high)
    elif seen:
        first, last = min(seen), max(seen)
    else:
        return []
    return [first + 10 * k for k in range(int((last - first) // 10) + 1)]


def _top_bin(low: float, high: float) -> float:
    """The lower edge of the bin that holds a range's maximum (it includes it): the bin
    below a maximum on a bin edge, unless that is below the range (``range 10 to 10``
    is the one bin [10, 20))."""
    edge = math.floor(high / 10) * 10
    return max(edge - 10 if edge == high else edge, math.floor(low / 10) * 10)


# --------------------------------------------------------------------------- the report


def empty_group(shape: Shape, cohorts: bool) -> dict[str, Any]:
    """One group's figures for no records at all: a report of zeros."""
    return _assemble(shape, {}, cohorts)


def compute(con: Any, shape: Shape, *, by: bool, cohort: bool, period: str = "month",
            handoffs: str = "facts") -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The whole report's figures, and with ``by`` the figures per ``--by`` key.

    ``handoffs``: the table that holds the handoff columns (``bykey`` and ``h{j}_…``),
    ``facts`` itself, or a table of just the decided records a handoff applies to (the
    python engine's: every other record's handoff columns are null).

    Returns ``(figures, by_groups)``; ``by_groups`` maps each key (most common first,
    :data:`OTHER` last) to its figures and is empty without ``by``.
    """
    if period not in _PERIODS:
        raise ValueError(f"period must be one of {', '.join(_PERIODS)}, not {period!r}")
    names = {0: None}
    if by:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _keys AS SELECT key, n, "
            "row_number() OVER (ORDER BY n DESC, key) AS rn FROM ("
            f"SELECT coalesce(bykey, '{MISSING}') AS key, count(*) AS n FROM facts GROUP BY ALL)")
        for key, rn in con.execute("SELECT key, rn FROM _keys WHERE rn <= ? ORDER BY rn",
                                   [TOP_KEYS]).fetchall():
            names[rn] = key
        if con.execute("SELECT count(*) FROM _keys WHERE rn > ?", [TOP_KEYS]).fetchone()[0]:
            names[TOP_KEYS + 1] = OTHER
        # each row once, with its key's group: every query groups by both that group and
        # nothing (the whole report, group 0) in one pass (:class:`_Groups`)
        for view, table in (("g", "facts"), ("gh", handoffs)):
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT least(k.rn, {TOP_KEYS + 1}) "
                f"AS gid, f.* FROM {table} f JOIN _keys k "
                f"ON k.key = coalesce(f.bykey, '{MISSING}')")
    else:
        for view, table in (("g", "facts"), ("gh", handoffs)):
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT 0 AS gid, * FROM {table}")
    raw: dict[int, dict[str, Any]] = {gid: {} for gid in names}
    q = _Groups(by, own_handoffs=handoffs != "facts")
    for step in (_counts, _paths, _funnel, _states, _handoffs, _velocity, _scores):
        step(con, shape, raw, q)
    if cohort:
        _cohorts(con, shape, raw, q, period)
    groups = {gid: _assemble(shape, raw[gid], cohort) for gid in names}
    figures = groups.pop(0)
    return figures, {names[gid]: groups[gid] for gid in sorted(groups)}


class _Groups:
    """How a figure's query groups its rows: by the view ``g``'s ``gid`` and the query's
    own keys. With ``--by`` (``g`` holds each row once, ``gid`` its key's group, from 1)
    the query also groups by its own keys alone, in the same pass (``GROUPING SETS``):
    those rows are the whole report's, and :attr:`gid` reads them as group 0."""

    #: the group of a result row (0: the whole report)
    gid = "coalesce(gid, 0) AS gid"

    def __init__(self, by: bool, own_handoffs: bool = False):
        self.by = by
        #: whether the handoff columns are in a table of their own (the view ``gh``)
        self.own_handoffs = own_handoffs

    def by_(self, *keys: str) -> str:
        """The ``GROUP BY`` clause (without the words) for ``keys`` in each group."""
        both = ", ".join(("gid", *keys))
        if not self.by:
            return both
        return f"GROUPING SETS (({both}), ({', '.join(keys)}))"


# --------------------------------------------------------------------------- queries


def _counts(con, shape, raw, q) -> None:
    rows = con.execute(
        f"SELECT {q.gid}, count(*), count(*) FILTER (WHERE NOT refused), "
        f"count(*) FILTER (WHERE refused) FROM g GROUP BY {q.by_()}").fetchall()
    for gid, leads, decided, refused in rows:
        raw[gid]["counts"] = (leads, decided, refused)


def _paths(con, shape, raw, q) -> None:
    path = "coalesce(path, '')"
    rows = con.execute(
        "SELECT gid, path, n FROM (SELECT gid, path, n, "
        "row_number() OVER (PARTITION BY gid ORDER BY n DESC, path) AS rn FROM ("
        f"SELECT {q.gid}, {path} AS path, count(*) AS n FROM g WHERE refused "
        f"GROUP BY {q.by_(path)})) WHERE rn <= ? ORDER BY gid, rn",
        [TOP_PATHS]).fetchall()
    for gid, path, count in rows:
        raw[gid].setdefault("paths", {})[path] = count


def _funnel(con, shape, raw, q) -> None:
    stages = range(len(shape.stages))
    parts = [f"count(*) FILTER (WHERE reached >= {i})" for i in stages]
    parts += [f"count(*) FILTER (WHERE placed = {i})" for i in stages]
    applies = [f"count(*) FILTER (WHERE h{j}_applies)" for j in range(len(shape.handoffs))]
    if not q.own_handoffs:
        parts += applies
    if parts:
        rows = con.execute(f"SELECT {q.gid}, {', '.join(parts)} FROM g WHERE NOT refused "
                           f"GROUP BY {q.by_()}").fetchall()
        k = len(shape.stages)
        for gid, *values in rows:
            raw[gid]["reached"] = values[:k]
            raw[gid]["placed"] = values[k:2 * k]
            if not q.own_handoffs:
                raw[gid]["applies"] = values[2 * k:]
    if q.own_handoffs and applies:  # its rows are all decided records'
        rows = con.execute(f"SELECT {q.gid}, {', '.join(applies)} FROM gh "
                           f"GROUP BY {q.by_()}").fetchall()
        for gid, *values in rows:
            raw[gid]["applies"] = values


def _states(con, shape, raw, q) -> None:
    rows = con.execute(f"SELECT {q.gid}, state, reason, count(*) FROM g "
                       f"WHERE state IS NOT NULL GROUP BY {q.by_('state', 'reason')}"
                       ).fetchall()
    for gid, state, reason, count in rows:
        reasons = raw[gid].setdefault("states", {}).setdefault(state, {})
        key = NONE if reason is None else reason
        reasons[key] = reasons.get(key, 0) + count


def _handoffs(con, shape, raw, q) -> None:
    for j in range(len(shape.handoffs)):
        p = f"h{j}_"
        rows = _route_rows(con, p, q)
        for gid, route, leads, met, breached, pending, unknown, escalated, n, med, p90 in rows:
            raw[gid].setdefault("routes", {})[(j, route)] = {
                "leads": leads, "sla": (met, breached, pending, unknown),
                "escalated": escalated, "response": (n, med, p90)}
        rows = con.execute(
            f"SELECT {q.gid}, {p}reason, coalesce({p}off_list, false), count(*) FROM gh "
            f"WHERE {p}rejected GROUP BY {q.by_(p + 'reason', f'coalesce({p}off_list, false)')}"
        ).fetchall()
        for gid, reason, off, count in rows:
            rej = raw[gid].setdefault("rejections", {}).setdefault(j, ({}, {}))
            key = NONE if reason is None else reason
            rej[0][key] = rej[0].get(key, 0) + count
            if off:
                rej[1][key] = rej[1].get(key, 0) + count


def _route_rows(con, p: str, q) -> list[tuple]:
    status = ", ".join(f"count(*) FILTER (WHERE {p}status = '{s}') AS {s}" for s in _STATUSES)
    return con.execute(
        f"SELECT gid, route, leads, {', '.join(_STATUSES)}, escalated, {_PICK} FROM ("
        f"SELECT {q.gid}, {p}route AS route, count(*) AS leads, {status}, "
        f"count(*) FILTER (WHERE {p}escalated) AS escalated, {_percentiles(p + 'response')} "
        f"FROM gh WHERE {p}applies GROUP BY {q.by_(p + 'route')})").fetchall()


def _velocity(con, shape, raw, q) -> None:
    for a, b in shape.velocity_pairs:
        rows = con.execute(
            f"SELECT gid, negative, {_PICK} FROM (SELECT {q.gid}, "
            "count(*) FILTER (WHERE d < 0) AS negative, "
            "count(*) FILTER (WHERE d >= 0) AS n, list_sort(list(d) FILTER (WHERE d >= 0)) AS l "
            f"FROM (SELECT gid, e{b} - e{a} AS d FROM g WHERE NOT refused "
            f"AND e{a} IS NOT NULL AND e{b} IS NOT NULL) GROUP BY {q.by_()})").fetchall()
        for gid, negative, n, med, p90 in rows:
            raw[gid].setdefault("velocity", {})[(a, b)] = (n, negative, med, p90)


def _cohorts(con, shape, raw, q, period: str) -> None:
    stages = range(len(shape.stages))
    parts = "".join(f", count(*) FILTER (WHERE reached >= {i})" for i in stages)
    # grouped by the period (null: no cohort value), shown as MISSING: no period's text
    # is MISSING's
    rows = con.execute(
        f"SELECT {q.gid}, coalesce(period, ?) AS p, count(*){parts} FROM ("
        f"SELECT *, {_PERIODS[period]} AS period FROM ("
        "SELECT *, make_timestamp(cohort) AS t FROM g WHERE NOT refused)) "
        f"GROUP BY {q.by_('period')}", [MISSING]).fetchall()
    for gid, key, leads, *reached in rows:
        raw[gid].setdefault("cohorts", {})[key] = (leads, reached)


def _scores(con, shape, raw, q) -> None:
    for i, score in enumerate(shape.scores):
        col = f"s{i}"
        if score.high is not None:
            top = _top_bin(score.high if score.low is None else score.low, score.high)
            expr = f"CASE WHEN {col} >= ? THEN ? ELSE floor({col} / 10) * 10 END"
            params = [top, top]
        else:
            expr, params = f"floor({col} / 10) * 10", []
        rows = con.execute(
            f"SELECT {q.gid}, {expr} AS bin, count(*) FROM g WHERE NOT refused "
            f"AND {col} IS NOT NULL GROUP BY {q.by_('bin')}", params).fetchall()
        for gid, edge, count in rows:
            raw[gid].setdefault("bins", {}).setdefault(i, {})[float(edge)] = count
        for gid in raw:
            # each group is a report of its own: a score without a range is binned
            # from the lowest to the highest value seen in that group
            seen = sorted(raw[gid].get("bins", {}).get(i, {}))
            raw[gid].setdefault("edges", {})[i] = _bins(score.low, score.high, seen)


# --------------------------------------------------------------------------- assembling


def _assemble(shape: Shape, r: dict[str, Any], cohort: bool) -> dict[str, Any]:
    leads, decided, refused = r.get("counts", (0, 0, 0))
    reached = r.get("reached") or [0] * len(shape.stages)
    placed = r.get("placed") or [0] * len(shape.stages)
    applies = r.get("applies") or [0] * len(shape.handoffs)
    funnel = {}
    for i, stage in enumerate(shape.stages):
        funnel[stage.name] = {
            "reached": reached[i],
            "conversion": None if i == 0 else _ratio(reached[i], reached[i - 1]),
            "cumulative": _ratio(reached[i], decided),
            "placed": placed[i],
        }
    states_raw = r.get("states", {})
    states = {}
    for name in shape.states:
        reasons = states_raw.get(name, {})
        states[name] = {"count": sum(reasons.values()), "reasons": _ordered(reasons)}
    handoffs = []
    routes_raw = r.get("routes", {})
    for j, h in enumerate(shape.handoffs):
        # a handoff without routes counts its leads under (none): a key in every report
        # (and every `by` group), as a declared route is, so dashboards can rely on it
        names = [x.name for x in h.routes] or [None]
        names += sorted((route for (jj, route) in routes_raw if jj == j and route not in names),
                        key=lambda x: (x is None, x or ""))
        routes = {}
        for route in names:
            got = routes_raw.get((j, route), {})
            met, breached, pending, unknown = got.get("sla", (0, 0, 0, 0))
            n, med, p90 = got.get("response", (0, None, None))
            calendar = h.route_calendar(route)
            response = None
            if h.has_sla and calendar is not None:
                response = {"median": None if med is None else med / _US_PER_HOUR,
                            "p90": None if p90 is None else p90 / _US_PER_HOUR}
            routes[NONE if route is None else route] = {
                "leads": got.get("leads", 0),
                "sla": {"met": met, "breached": breached, "pending": pending,
                        "unknown": unknown},
                "compliance": _ratio(met, met + breached),
                "response_business_hours": response,
                "escalated": got.get("escalated", 0),
            }
        reasons, off = r.get("rejections", {}).get(j, ({}, {}))
        count = sum(reasons.values())
        handoffs.append({
            "stage": h.stage, "team": h.team, "applies": applies[j], "routes": routes,
            "rejections": {"count": count, "rate": _ratio(count, applies[j]),
                           "reasons": _ordered(reasons), "off_list": _ordered(off)},
        })
    velocity = []
    for a, b in shape.velocity_pairs:
        n, negative, med, p90 = r.get("velocity", {}).get((a, b), (0, 0, None, None))
        velocity.append({
            "from": shape.stages[a].name, "to": shape.stages[b].name, "leads": n,
            "negative": negative,
            "median_days": None if med is None else med / _US_PER_DAY,
            "p90_days": None if p90 is None else p90 / _US_PER_DAY,
        })
    cohorts = None
    if cohort:
        cohorts = {}
        found = r.get("cohorts", {})
        for key in sorted(found, key=lambda k: (k == MISSING, k)):
            count, per_stage = found[key]
            cohorts[key] = {"leads": count, "reached": {
                s.name: per_stage[i] for i, s in enumerate(shape.stages)}}
    scores = {}
    for i, score in enumerate(shape.scores):
        counts = r.get("bins", {}).get(i, {})
        edges = r.get("edges", {}).get(i)
        if edges is None:
            edges = _bins(score.low, score.high, [])
        hist = []
        for edge in edges:
            hist.append({"from": _num(edge), "to": _num(edge + 10),
                         "count": counts.get(float(edge), 0)})
        scores[score.name] = {
            "range": None if score.high is None else {"low": _num(score.low),
                                                      "high": _num(score.high)},
            "histogram": hist, "thresholds": [_num(t) for t in score.thresholds]}
    return {
        "leads": leads, "decided": decided,
        "refused": {"count": refused, "paths": dict(r.get("paths", {}))},
        "funnel": funnel, "states": states, "handoffs": handoffs, "velocity": velocity,
        "cohorts": cohorts, "scores": scores,
    }
