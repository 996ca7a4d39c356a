"""The handoffs of a policy as SQL: route, SLA with business time, escalation, rejection.

A mixin of the compiler's builder (:mod:`policy.sql.compiler`): :meth:`_handoff`
compiles one handoff's parts, :meth:`_handoff_cte` joins each handoff's calendar tables
(:mod:`policy.sql.calendars`) by its SLA start and computes the due instants with
integer arithmetic only.
"""

from __future__ import annotations

import datetime

from sqlglot import exp

from policy.engine import ir
from policy.engine import runtime as rt
from policy.sql.calendars import DAY_US, SENTINEL_INTERVAL, build_tables
from policy.sql.sqlparts import (
    _case,
    _col,
    _ge01,
    _min_present,
    _notnull,
    _presentv,
    _star_of,
    _values,
)
from policy.sql.values import SqlUnsupported, Val

__all__ = ["HandoffParts", "default_years", "list_table_columns"]

_S = exp.Literal.string


def _N(v: int) -> exp.Expression:  # noqa: N802 - a literal constructor
    return exp.Literal.number(v)


def _within(key: exp.Expression, low: int, high: int, sentinel: int) -> exp.Expression:
    """``key`` when it names a row of the table (``low..high``), else the key of the
    sentinel row (NULL cells): every row then finds exactly one row of each calendar
    table (see :attr:`policy.sql.compiler.Options.total_joins`)."""
    return _case([(exp.Between(this=key, low=_N(low), high=_N(high)), key)], _N(sentinel))


def default_years(today: datetime.date | None = None) -> tuple[int, int]:
    """Five years before to two after the current year (spec section 10)."""
    year = (today or datetime.date.today()).year
    return (year - 5, year + 2)


class HandoffParts:
    """The handoff half of the compiler's builder (it sets ``program``, ``comp``,
    ``opts``, ``d``, ``cal_tables`` and calls :meth:`_add`)."""

    # ------------------------------------------------------------------ handoffs
    def _handoff(self, h: ir.Handoff) -> dict:
        comp = self.comp
        out: dict = {"at": h.index, "stage": h.stage, "team": h.team}
        routes, index = [], []
        for k, item in enumerate(h.routes):
            cond = exp.true() if item.condition is None else comp.cond(item.condition)
            routes.append((cond, _S(item.target)))
            index.append((cond, _N(k)))
        out["route"] = _case(routes)
        out["route_index"] = _case(index, _N(-1))
        # the calendar each choice counts business time on, as the IR resolved it (spec
        # section 2): each route's, and the handoff's when no route is chosen
        out["labels"] = [r.calendar_label for r in h.routes] + [h.calendar_label]
        out["calendars"] = {}
        for label, cal in [*((r.calendar_label, r.calendar) for r in h.routes),
                           (h.calendar_label, h.calendar)]:
            if label is not None and label not in out["calendars"]:
                out["calendars"][label] = cal
        sla, esc, rej = h.sla, h.escalate, h.reject
        out["sla"] = sla
        if sla is not None:
            out["start"] = comp.value(sla.start).get("t") or exp.null()
            stops = [comp.value(s).get("t") for s in sla.stops]
            out["stop"] = _min_present([s for s in stops if s is not None])
            out["due"] = self._after(sla.duration, out, "due")
            out["esc"] = self._after(esc.after, out, "esc") if esc is not None else None
        out["esc_target"] = esc.target if esc is not None else None
        if rej is not None:
            # a timestamp field is read as the lead holds it here (the IR says so)
            reason = comp.value(rej.reason)
            out["rej_p"] = _presentv(reason)
            out["rej_cell"], out["rej_json"] = self._cell(rej.reason, reason)
            out["rej_valid"] = comp.member(reason, comp.value(rej.reasons))
            out["rej_state"] = rej.state
        return out

    def _cell(self, e: ir.Expr, v: Val):
        """A value as a ``json`` cell (text as is, others as JSON text) and as JSON."""
        if isinstance(e, ir.Field):
            j = self.slot(e.path, "j")
            s = self.slot(e.path, "s")
            cell = _case([(_notnull(s), s)], j) if s is not None else j
            return cell, j
        return v.get("s") or exp.null(), exp.null()

    def _after(self, dur: ir.Duration, h: dict, tag: str):
        """The instant ``dur`` after the SLA start: (expression, is-business)."""
        start = h["start"]
        if not dur.is_business:
            t = exp.Add(this=start, expression=_N(dur.fixed_us))
            return (_case([(exp.LTE(this=t, expression=_N(rt.LAST_INSTANT)), t)]), False)
        if not h["calendars"]:
            raise SqlUnsupported("business durations need a `calendar`")
        for label, cal in h["calendars"].items():
            amount = rt.working_us(dur.amount, dur.unit, cal)
            h.setdefault("amounts", {}).setdefault(label, []).append((tag, amount))
        return (None, True)  # filled in by the joins

    def _handoff_cte(self, handoffs) -> None:
        """Join each handoff's calendars (per label) and compute its due instants."""
        years = self.opts.years or default_years()
        wanted: dict[str, set] = {}
        cals = {}
        for h in handoffs:
            for label, pairs in h.get("amounts", {}).items():
                wanted.setdefault(label, set()).update(a for _, a in pairs if a > 0)
                cals[label] = h["calendars"][label]
        for label in sorted(wanted):
            self.cal_tables[label] = build_tables(cals[label], years[0], years[1],
                                                  sorted(wanted[label]))
        labels = sorted(wanted)
        if self.opts.calendars == "lists":
            self._handoff_lists(handoffs, labels)
            return

        def ref(alias: str, field: str) -> exp.Expression:
            return exp.column(field, table=alias)

        extra, joins = [], []
        for i, h in enumerate(handoffs):
            amounts = h.get("amounts", {})
            if not amounts:
                continue
            start = h["start"]
            per_tag: dict[str, dict[str, exp.Expression]] = {}
            for label, pairs in amounts.items():
                li = labels.index(label) if label in labels else -1
                dd, ii = f"cd{i}_{li}", f"ci{i}_{li}"
                if li >= 0:
                    dname, iname = self._cal_names(li)
                    day = self.d.floor_div(start, DAY_US)
                    step = exp.Add(this=exp.Add(this=ref(dd, "i"), expression=_ge01(
                        start, ref(dd, "c1"))), expression=_ge01(start, ref(dd, "c2")))
                    if self.opts.total_joins:
                        tabs = self.cal_tables[label]
                        day = _within(day, tabs.days[0][0], tabs.days[-1][0], tabs.sentinel_day)
                        step = _within(step, 0, len(tabs.intervals) - 1, SENTINEL_INTERVAL)
                    joins.append((exp.to_table(dname).as_(dd, copy=False), exp.EQ(
                        this=exp.column("d", table=dd), expression=day)))
                    joins.append((exp.to_table(iname).as_(ii, copy=False), exp.EQ(
                        this=exp.column("i", table=ii), expression=step)))
                for tag, amount in pairs:
                    if amount == 0:
                        per_tag.setdefault(tag, {})[label] = start
                        continue
                    tabs = self.cal_tables[label]
                    a = tabs.amounts.index(amount)
                    worked = exp.Add(this=ref(ii, "w"), expression=_case(
                        [(exp.GT(this=start, expression=ref(ii, "o")),
                          exp.Sub(this=start, expression=ref(ii, "o")))], _N(0)))
                    target = exp.Paren(this=exp.Add(this=worked, expression=_N(amount)))
                    pairs_k = []
                    for k in range(1, tabs.candidates[a] + 1):
                        o, w, e = (ref(ii, f"a{a}_{x}{k}") for x in "owe")
                        pairs_k.append((exp.LTE(this=target, expression=e), exp.Add(
                            this=o, expression=exp.Sub(this=target, expression=w))))
                    per_tag.setdefault(tag, {})[label] = _case(pairs_k)
            for tag, by_label in per_tag.items():
                # the chosen route picks the calendar
                choice = [(exp.EQ(this=_col(f"_route{i}"), expression=_N(k)), by_label[lab])
                          for k, lab in enumerate(h["labels"][:-1]) if lab in by_label]
                fallback = by_label.get(h["labels"][-1], exp.null())
                extra.append(exp.Paren(this=_case(choice, fallback)).as_(f"_{tag}{i}", copy=False))
        route_cols = [exp.Paren(this=h["route_index"]).as_(f"_route{i}", copy=False)
                      for i, h in enumerate(handoffs) if h.get("amounts")]
        self._add("g1", exp.select(exp.Star(), *route_cols).from_("g", copy=False))
        sel = exp.select(_star_of("g"), *extra).from_(exp.to_table("g1").as_("g", copy=False))
        for table, on in joins:
            sel = sel.join(table, on=on, join_type="left", copy=False)
        self._add("h", sel)
        for i, h in enumerate(handoffs):
            if h.get("sla") is None:
                continue
            for tag in ("due", "esc"):
                val = h.get(tag)
                if val is not None and val[1]:
                    h[tag] = (_col(f"_{tag}{i}"), True)

    def _handoff_lists(self, handoffs, labels: list[str]) -> None:
        """:meth:`_handoff_cte` without joins (``calendars="lists"``, DuckDB only): each
        calendar is one row of list columns (:func:`list_table_columns`), cross joined,
        and a start's day and interval are list positions. DuckDB plans any hash join
        as a source without batch indexes, so its order-preserving COPY of a plan with
        one runs on one thread; a cross join with one row keeps the parallel,
        order-preserving ``Batch Copy To File``, and the lists are referenced, not
        copied, per chunk. Three steps, so the day and the interval positions are
        computed once each: ``g1`` (routes, day positions), ``g2`` (interval
        positions), ``h`` (due instants)."""
        def pos(key: exp.Expression, low: int, high: int) -> exp.Expression:
            # 1-based list position of key in low..high, else NULL (DuckDB's
            # list_extract counts a negative position from the end)
            return _case([(exp.Between(this=key, low=_N(low), high=_N(high)),
                           exp.Add(this=exp.Sub(this=key, expression=_N(low)),
                                   expression=_N(1)))])

        def at(li: int, column: str, position: str) -> exp.Expression:
            return exp.func("list_extract", exp.column(column, table=f"cl{li}"),
                            _col(position))

        day_cols, step_cols, extra = [], [], []
        used: set[int] = set()
        for i, h in enumerate(handoffs):
            amounts = h.get("amounts", {})
            if not amounts:
                continue
            start = h["start"]
            per_tag: dict[str, dict[str, exp.Expression]] = {}
            for label, pairs in amounts.items():
                li = labels.index(label) if label in labels else -1
                dk, ik = f"_dk{i}_{li}", f"_ik{i}_{li}"
                if li >= 0:
                    used.add(li)
                    tabs = self.cal_tables[label]
                    day = self.d.floor_div(start, DAY_US)
                    day_cols.append(exp.Paren(this=pos(day, tabs.days[0][0], tabs.days[-1][0]))
                                    .as_(dk, copy=False))
                    step = exp.Add(this=exp.Add(this=at(li, "d_i", dk), expression=_ge01(
                        start, at(li, "d_c1", dk))), expression=_ge01(start, at(li, "d_c2", dk)))
                    step_cols.append(exp.Paren(this=pos(step, 0, len(tabs.intervals) - 1))
                                     .as_(ik, copy=False))
                for tag, amount in pairs:
                    if amount == 0:
                        per_tag.setdefault(tag, {})[label] = start
                        continue
                    tabs = self.cal_tables[label]
                    a = tabs.amounts.index(amount)
                    o0 = at(li, "i_o", ik)
                    worked = exp.Add(this=at(li, "i_w", ik), expression=_case(
                        [(exp.GT(this=start, expression=o0),
                          exp.Sub(this=start, expression=o0.copy()))], _N(0)))
                    target = exp.Paren(this=exp.Add(this=worked, expression=_N(amount)))
                    pairs_k = []
                    for k in range(1, tabs.candidates[a] + 1):
                        o, w, e = (at(li, f"i_a{a}_{x}{k}", ik) for x in "owe")
                        pairs_k.append((exp.LTE(this=target, expression=e), exp.Add(
                            this=o, expression=exp.Sub(this=target, expression=w))))
                    per_tag.setdefault(tag, {})[label] = _case(pairs_k)
            for tag, by_label in per_tag.items():
                choice = [(exp.EQ(this=_col(f"_route{i}"), expression=_N(k)), by_label[lab])
                          for k, lab in enumerate(h["labels"][:-1]) if lab in by_label]
                fallback = by_label.get(h["labels"][-1], exp.null())
                extra.append(exp.Paren(this=_case(choice, fallback)).as_(f"_{tag}{i}", copy=False))
        route_cols = [exp.Paren(this=h["route_index"]).as_(f"_route{i}", copy=False)
                      for i, h in enumerate(handoffs) if h.get("amounts")]

        def crossed(sel: exp.Select) -> exp.Select:
            for li in sorted(used):
                sel = sel.join(exp.to_table(self._cal_names(li)[0] + "_lists").as_(
                    f"cl{li}", copy=False), join_type="cross", copy=False)
            return sel

        self._add("g1", exp.select(exp.Star(), *route_cols, *day_cols).from_("g", copy=False))
        self._add("g2", crossed(exp.select(_star_of("g"), *step_cols).from_(
            exp.to_table("g1").as_("g", copy=False))))
        self._add("h", crossed(exp.select(_star_of("g"), *extra).from_(
            exp.to_table("g2").as_("g", copy=False))))
        for i, h in enumerate(handoffs):
            if h.get("sla") is None:
                continue
            for tag in ("due", "esc"):
                val = h.get(tag)
                if val is not None and val[1]:
                    h[tag] = (_col(f"_{tag}{i}"), True)

    def _cal_names(self, index: int) -> tuple[str, str]:
        return (f"cal{index}_days", f"cal{index}_intervals")


    def _calendar_ctes(self):
        if self.opts.calendars != "inline":
            return []
        out = []
        for index, label in enumerate(sorted(self.cal_tables)):
            tabs = self.cal_tables[label]
            dname, iname = self._cal_names(index)
            out.append((dname, _values(tabs.days, tabs.day_columns)))
            out.append((iname, _values(tabs.intervals, tabs.interval_columns)))
        return out


def list_table_columns(tabs) -> list[tuple[str, list]]:
    """The one row of a calendar's ``calendars="lists"`` table, as (column, list): the
    days table's ``i``, ``c1``, ``c2`` as ``d_*`` (position: day - first day + 1) and
    every column of the intervals table but ``i`` as ``i_*`` (position: i + 1)."""
    out = [(f"d_{c}", [row[k] for row in tabs.days])
           for k, c in enumerate(tabs.day_columns) if c != "d"]
    out += [(f"i_{c}", [row[k] for row in tabs.intervals])
            for k, c in enumerate(tabs.interval_columns) if c != "i"]
    return out


