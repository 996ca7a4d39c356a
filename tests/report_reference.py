"""An independent count of every figure of the funnel report, in plain Python.

The report computes its figures in SQL (``policy/report/compute.py``); the tests check
each one against this module, written from spec section 11 without reusing any of the
report's code: decisions come straight from ``Policy.evaluate_many``, timestamps are
read with ``datetime.fromisoformat``, percentiles are nearest-rank by their textbook
definition. Business time is the one thing taken from the engine: section 11 says it is
counted with the SLA's own calendar code, so that is what the reference calls.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from policy.engine import runtime as rt
from policy.engine.decision import Decision, LeadError

US_HOUR = 3_600_000_000


def nearest_rank(values: list, q: Fraction) -> Any:
    """The value at rank ceil(q * n) of the sorted values; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(q * len(ordered))
    return ordered[max(rank, 1) - 1]


def key_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def reason_key(value: Any) -> str:
    """A reason as the report keys it: ``(none)`` only when there is none (an empty
    text is the key ``""``)."""
    return "(none)" if value is None else key_of(value)


def instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def period_of(t: datetime | None, period: str) -> str:
    if t is None:
        return "(missing)"
    if period == "week":
        year, week, _ = t.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if period == "month":
        return f"{t.year:04d}-{t.month:02d}"
    return f"{t.year:04d}-Q{(t.month - 1) // 3 + 1}"


def ratio(a, b):
    return a / b if b else None


def ordered(counter: Counter) -> dict:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def same_value(a: Any, b: Any) -> bool:
    """``==`` of the language: numbers by value, text exactly, nothing else alike."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if number(a) and number(b):
        return a == b
    return type(a) is str and type(b) is str and a == b


def agreed_reasons(model, expr) -> list | None:
    """The reasons a ``reject`` line agrees on: a list literal, or a define (``lines``
    included) naming one; None when they are not constant."""
    kind = type(expr).__name__
    if kind == "ListExpr":
        if all(type(e).__name__ in ("String", "Number") for e in expr.items):
            return [e.value for e in expr.items]
        return None
    if kind == "Ref" and len(expr.path) == 1:
        what, target = model.resolve(expr)
        if what == "define":
            if isinstance(target.value, list):
                return list(target.value)
            return agreed_reasons(model, target.value)
    return None


def decide(pol, leads: list, as_of: datetime) -> list[tuple[int, Any, Any]]:
    return [(i + 1, r, lead) for i, (r, lead) in
            enumerate(zip(pol.evaluate_many(leads, as_of=as_of), leads, strict=True))]


def figures(pol, items: list, *, entered: dict[str, tuple[str, ...]] | None = None,
            cohort: tuple[str, ...] | None = None, period: str = "month",
            thresholds: dict[str, list] | None = None) -> dict:
    """Every figure of section 11 for ``items`` ((line, Decision or LeadError, lead))."""
    model = pol.model
    stages = list(model.funnel)
    decisions = [(r, lead) for _, r, lead in items if isinstance(r, Decision)]
    refused = [r for _, r, _ in items if isinstance(r, LeadError)]
    out: dict[str, Any] = {"leads": len(items), "decided": len(decisions)}
    paths = Counter(min((p.path for p in r.problems), default="") for r in refused)
    out["refused"] = {"count": len(refused),
                      "paths": dict(list(ordered(paths).items())[:10])}

    def depth(d):
        return stages.index(d.reached) if d.reached in stages else -1

    funnel = {}
    for i, s in enumerate(stages):
        reached = sum(1 for d, _ in decisions if depth(d) >= i)
        before = sum(1 for d, _ in decisions if depth(d) >= i - 1) if i else None
        funnel[s] = {"reached": reached,
                     "conversion": None if i == 0 else ratio(reached, before),
                     "cumulative": ratio(reached, len(decisions)),
                     "placed": sum(1 for d, _ in decisions if d.stage == s)}
    out["funnel"] = funnel

    states = {}
    for state in model.states:
        reasons = Counter(reason_key(d.reason) for d, _ in decisions
                          if d.stage == state)
        states[state] = {"count": sum(reasons.values()), "reasons": ordered(reasons)}
    out["states"] = states

    handoffs = []
    for h in model.handoffs:
        results = [(d, x) for d, _ in decisions for x in d.handoffs if x.stage == h.stage.name]
        routes_declared = [item for item in h.items if type(item).__name__ == "Route"]
        has_sla = any(type(item).__name__ == "Sla" for item in h.items)
        routes = {}
        if not routes_declared:  # docs/report.md: a handoff without routes counts under (none)
            routes_declared = [None]
        for node in routes_declared:
            route = None if node is None else node.target
            calendar = model.work_calendar_for(h, node)
            mine = [x for _, x in results if x.route == route]
            status = Counter(x.sla.status for x in mine if x.sla is not None)
            met, breached = status["met"], status["breached"]
            hours = [calendar.business_between(x.sla.start_us, x.sla.stop_us) / US_HOUR
                     for x in mine if calendar is not None and x.sla is not None
                     and x.sla.start is not None and x.sla.stop is not None]
            response = None
            if has_sla and calendar is not None:
                response = {"median": nearest_rank(hours, Fraction(1, 2)),
                            "p90": nearest_rank(hours, Fraction(9, 10))}
            routes["(none)" if route is None else route] = {
                "leads": len(mine),
                "sla": {s: status[s] for s in ("met", "breached", "pending", "unknown")},
                "compliance": ratio(met, met + breached),
                "response_business_hours": response,
                "escalated": sum(1 for x in mine if x.escalate_to is not None),
            }
        rejected = [(d, x) for d, x in results if x.rejected]
        reasons = Counter(reason_key(x.rejection_reason) for _, x in rejected)
        agreed = next((agreed_reasons(model, item.reasons) for item in h.items
                       if type(item).__name__ == "Reject"), None)
        # off the list: the lead carries the violation, and the reason is not on *this*
        # handoff's list (two handoffs may reject with the same field and other lists)
        off = Counter(reason_key(x.rejection_reason) for d, x in rejected if any(
            v.code == "invalid_rejection_reason" for v in d.violations)
            and (agreed is None or not any(same_value(x.rejection_reason, a)
                                           for a in agreed)))
        handoffs.append({
            "stage": h.stage.name, "team": h.team.name, "applies": len(results),
            "routes": routes,
            "rejections": {"count": len(rejected), "rate": ratio(len(rejected), len(results)),
                           "reasons": ordered(reasons), "off_list": ordered(off)},
        })
    out["handoffs"] = handoffs

    velocity = []
    entered = dict(model.entered_at) if entered is None else entered
    for a, b in zip(stages, stages[1:], strict=False):
        if a not in entered or b not in entered:
            continue
        spans, negative = [], 0
        for _, lead in decisions:
            t1, t2 = instant(rt.get(lead, entered[a])), instant(rt.get(lead, entered[b]))
            if t1 is None or t2 is None:
                continue
            if t2 < t1:
                negative += 1
            else:
                spans.append((t2 - t1).total_seconds() / 86400)
        velocity.append({"from": a, "to": b, "leads": len(spans), "negative": negative,
                         "median_days": nearest_rank(spans, Fraction(1, 2)),
                         "p90_days": nearest_rank(spans, Fraction(9, 10))})
    out["velocity"] = velocity

    if cohort is None and stages and stages[0] in entered:
        cohort = entered[stages[0]]
    if cohort is None:
        out["cohorts"] = None
    else:
        groups: dict[str, list] = {}
        for d, lead in decisions:
            groups.setdefault(period_of(instant(rt.get(lead, cohort)), period), []).append(d)
        out["cohorts"] = {
            k: {"leads": len(groups[k]),
                "reached": {s: sum(1 for d in groups[k] if depth(d) >= i)
                            for i, s in enumerate(stages)}}
            for k in sorted(groups, key=lambda k: (k == "(missing)", k))}

    scores = {}
    for name, score in model.scores.items():
        rng = next(((x.low, x.high) for x in score.items if type(x).__name__ == "Range"), None)
        values = [d.scores[name] for d, _ in decisions]
        if rng is not None:
            low, high = rng
            first = math.floor(low / 10) * 10
            # the top bin holds the maximum: the bin below a maximum on an edge, unless
            # the range has no such bin (`range 10 to 10` is the one bin [10, 20))
            top = max(high - 10 if high % 10 == 0 else math.floor(high / 10) * 10, first)
        elif values:
            first = math.floor(min(values) / 10) * 10
            top = math.floor(max(values) / 10) * 10
        else:
            first, top = 0, -10
        bins = Counter(min(math.floor(v / 10) * 10, top) if rng else math.floor(v / 10) * 10
                       for v in values)
        scores[name] = {
            "range": None if rng is None else {"low": rng[0], "high": rng[1]},
            "histogram": [{"from": e, "to": e + 10, "count": bins[e]}
                          for e in range(first, top + 1, 10)],
            "thresholds": (thresholds or {}).get(name, []),
        }
    out["scores"] = scores
    return out


def by_groups(items: list, path: tuple[str, ...]) -> dict[str, list]:
    """``--by``: the 20 most common keys (ties by key), the rest ``(other)``."""
    def key(lead):
        v = rt.get(lead, path) if isinstance(lead, dict) else None
        k = key_of(v)
        return "(missing)" if k is None else k

    counts = Counter(key(lead) for _, _, lead in items)
    top = [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]]
    groups: dict[str, list] = {k: [] for k in top}
    for item in items:
        k = key(item[2])
        groups.setdefault(k if k in top else "(other)", []).append(item)
    return groups
