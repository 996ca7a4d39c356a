"""Rows the SQL engines cannot decide as the python engine does, found in SQL.

The SQL decides every row exactly as the python engine does (spec section 10) except two
kinds of input, which this module finds so that a caller decides just those rows with
the python engine and keeps SQL for every other:

- **a key repeated in one JSON object** (``{"a": 1, "a": 2}``): the python reader keeps
  the last (spec section 9), DuckDB's JSON functions the first.
  :func:`repeated_keys` is the test, in SQL over the column ``txt``, for the record and
  every object below it that the SQL reads (:func:`read_objects`).
- **business time outside the calendar tables' years**: the SQL counts working time
  with tables of a fixed range of years (:mod:`policy.sql.calendars`) and gives SLA
  status ``unknown`` with ``calendar_out_of_range`` beyond it, or (an escalation instant
  past the tables' end) no escalation; the python engine computes the figure.
  :func:`calendar_reach` gives, per handoff, the instants between which the tables
  answer; :func:`beyond_tables` is the test over a decision's tabular columns. The
  bounds are conservative: a start a little before the end of the tables may be sent to
  the python engine needlessly, never the other way round.

:func:`python_decision` decides one such line as ``funnel eval`` decides it with the
python engine. ``funnel report --engine duckdb`` (:mod:`policy.report.sqlfacts`) uses
all three; the eval side of :mod:`policy.sql.duck` can call them the same way.

Must run after: loading the policy (the model's calendars).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs

from policy.engine import runtime as rt
from policy.model.namespace import PolicyModel, refs_in
from policy.syntax import nodes as n

__all__ = ["Reach", "beyond_tables", "calendar_reach", "python_decision", "read_objects",
           "repeated_keys"]


# --------------------------------------------------------------------------- repeated keys


def read_objects(model: PolicyModel, extra: Iterable[tuple[str, ...]] = ()
                 ) -> list[tuple[str, ...]]:
    """The objects (paths, the record itself excluded) the SQL reads a key of: every
    proper prefix of a field the policy reads, its schema describes or ``extra`` names
    (a report's ``--by`` field, say)."""
    from policy.sql.checks import schema_paths

    paths: set[tuple[str, ...]] = set(model.timestamp_paths) | set(extra)
    if model.id_field:
        paths.add(tuple(model.id_field))
    for located in model.all_decls():
        for ref in refs_in(located.decl):
            if model.resolve(ref)[0] == "field":
                paths.add(ref.path)
    if model.schema is not None:
        paths.update(p for p in schema_paths(dict(model.schema.document)) if p)
    return sorted({p[:i] for p in paths for i in range(1, len(p))})


def repeated_keys(objects: Iterable[tuple[str, ...]], column: str = "txt") -> str:
    """A DuckDB condition: the JSON text in ``column`` repeats a key in the record or in
    one of ``objects`` (false for text DuckDB cannot read as JSON)."""
    from policy.sql.sources import _duck_path

    # One parse of the text for all the objects (json_keys takes a list of paths), and
    # list_unique counts distinct keys without building a list: about twice as fast as
    # a json_keys call per object and test. try(): text DuckDB cannot read as JSON.
    where = ", ".join("'" + _duck_path(p).replace("'", "''") + "'" for p in [(), *objects])
    return (f"coalesce(try(list_bool_or(list_transform(json_keys({column}, [{where}]), "
            "lambda k: len(k) <> list_unique(k)))), false)")


# --------------------------------------------------------------------------- calendars


@attrs.frozen
class Reach:
    """Where the calendar tables answer for one handoff's SLA (µs, UTC): an instant in
    ``[low, high)`` has a working-time position; a start in ``[low, start_high)`` also
    has its due and escalation instants inside the tables, on every calendar the
    handoff may count on. ``business``: the SLA or escalation counts business time."""

    stage: str
    low: int
    start_high: int
    high: int
    business: bool


def calendar_reach(model: PolicyModel, years: tuple[int, int]) -> list[Reach]:
    """A :class:`Reach` per handoff with an SLA and a calendar, for tables of ``years``
    (first, last) as :func:`policy.sql.calendars.build_tables` makes them."""
    out = []
    tables: dict[int, tuple[int, int, list[tuple[int, int, int]]]] = {}
    for h in model.handoffs:
        sla = next((i for i in h.items if isinstance(i, n.Sla)), None)
        if sla is None:
            continue
        esc = next((i for i in h.items if isinstance(i, n.Escalate)), None)
        durations = [d for d in (sla.duration, esc.after if esc is not None else None)
                     if d is not None and d.unit.is_business]
        routes = [i for i in h.items if isinstance(i, n.Route)]
        cals = {id(c): c for c in (model.work_calendar_for(h, r) for r in [*routes, None])
                if c is not None}
        if not cals:
            continue
        low, start_high, high = None, None, None
        for key, cal in cals.items():
            if key not in tables:
                tables[key] = _extent(cal, years)
            first, last, ivs = tables[key]
            ends = [_latest_start(ivs, rt.working_us(d.amount, d.unit.value, cal), last)
                    for d in durations]
            low = first if low is None else max(low, first)
            high = last if high is None else min(high, last)
            for end in ends:
                start_high = end if start_high is None else min(start_high, end)
        start_high = high if start_high is None else min(start_high, high)
        out.append(Reach(h.stage.name, low, start_high, high, bool(durations)))
    return out


def _extent(cal: Any, years: tuple[int, int]) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(first instant the day table holds, the first instant past the last working
    interval or the day table, the intervals as (opening, working time before, length))."""
    from policy.sql.calendars import DAY_US, build_tables

    tabs = build_tables(cal, years[0], years[1], ())
    days = [d for d, i, _c1, _c2 in tabs.days if i is not None]
    ivs = [(row[1], row[2], row[3]) for row in tabs.intervals]
    if not days or not ivs:  # no working time at all: the tables answer nothing
        return 0, 0, []
    o, w, length = ivs[-1]
    return days[0] * DAY_US, min(o + length, (days[-1] + 1) * DAY_US), ivs


def _latest_start(ivs: list[tuple[int, int, int]], amount: int, last: int) -> int:
    """An instant before which every start's due instant ``amount`` of working time
    later lies inside the intervals: the instant at which ``total - amount`` has
    passed (0 when none does)."""
    if not ivs:
        return 0
    o, w, length = ivs[-1]
    target = w + length - amount
    if target < 0:
        return 0
    for o, w, length in ivs:
        if w + length >= target:
            return min(o + (target - w), last)
    return last


def beyond_tables(reaches: Iterable[Reach], column: Callable[[str, str], str], *,
                  response: bool = False) -> str | None:
    """A SQL condition over one decision's tabular columns (``column(stage, name)`` is
    the expression of ``handoff_<stage>_<name>``): some handoff's business time leaves
    the tables, so that the python engine must decide the row. ``response``: also when
    the business time from SLA start to stop (the report's response time) does. None
    when no handoff can."""
    tests = []
    for r in reaches:
        start, stop = column(r.stage, "sla_start"), column(r.stage, "sla_stop")
        status = column(r.stage, "sla_status")
        if r.business:
            # the SQL's own verdict, and the instants whose due or escalation may not fit
            tests.append(f"({status} = 'unknown' AND {start} IS NOT NULL)")
            tests.append(f"({start} < {r.low} OR {start} >= {r.start_high})")
        if response:
            tests.append(f"({stop} > {start} AND ({start} < {r.low} OR {start} >= {r.high} "
                         f"OR {stop} < {r.low} OR {stop} >= {r.high}))")
    if not tests:
        return None
    return "coalesce(" + " OR ".join(tests) + ", false)"


# --------------------------------------------------------------------------- deciding


def python_decision(pol: Any, line: int, text: str, as_of: int) -> tuple[Any, Any]:
    """One JSON Lines line decided by the python engine, as ``funnel eval`` decides it:
    (the decision or error record, the lead as the python reader read it)."""
    from policy.engine.decision import LeadError
    from policy.io.leads import jsonl_record

    rec = jsonl_record(line, text)
    if rec.error is not None:
        return LeadError(rec.error, rec.problems, lead=pol.lead_id(rec.value),
                         line=line), rec.value
    try:
        return pol.run_prepared(rec.value, pol.prepare(rec.value), as_of), rec.value
    except LeadError as exc:
        return exc.with_line(line), rec.value
