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


def _worked(start: exp.Expression, o: exp.Expression, w: exp.Expression) -> exp.Expression:
    """The working time before ``start`` (cumulative), in the interval that opens at
    ``o`` after ``w`` of working time: ``w + max(0, start - o)``."""
    return exp.Add(this=w, expression=_case(
        [(exp.GT(this=start, expression=o), exp.Sub(this=start, expression=o.copy()))],
        _N(0)))


def _due(start: exp.Expression, worked: exp.Expression, amount: int,
         cands: list[tuple[exp.Expression, exp.Expression, exp.Expression]]
         ) -> exp.Expression:
    """The instant ``amount`` of working time after the start: at working time
    ``T = worked + amount``, in the first candidate interval (its opening, working time
    before it, working time at its close) whose close reaches ``T``
    (:func:`policy.sql.calendars.due_in_python`); the start itself for no time."""
    if amount == 0:
        return start
    target = exp.Paren(this=exp.Add(this=worked, expression=_N(amount)))
    return _case([(exp.LTE(this=target, expression=e),
                   exp.Add(this=o, expression=exp.Sub(this=target.copy(), expression=w)))
                  for o, w, e in cands])


def _by_route(i: int, h: dict, per_tag: dict[str, dict[str, exp.Expression]]
              ) -> list[exp.Expression]:
    """Handoff ``i``'s due columns (``_due{i}``, ``_esc{i}``): the chosen route picks
    the calendar, the handoff's own when no route with a calendar is chosen."""
    out = []
    last = h["labels"][-1]
    for tag, by_label in per_tag.items():
        # one branch per calendar, not per route (routes on one calendar share its
        # instant; those on the handoff's own calendar are the ELSE): a CASE's
        # branches are computed apart, however alike
        routes: dict[str, list[int]] = {}
        for k, lab in enumerate(h["labels"][:-1]):
            if lab in by_label and lab != last:
                routes.setdefault(lab, []).append(k)
        route = _col(f"_route{i}")
        choice = [(exp.EQ(this=route, expression=_N(ks[0])) if len(ks) == 1 else
                   exp.In(this=route, expressions=[_N(k) for k in ks]), by_label[lab])
                  for lab, ks in routes.items()]
        fallback = by_label.get(last, exp.null())
        out.append(exp.Paren(this=_case(choice, fallback) if choice else fallback)
                   .as_(f"_{tag}{i}", copy=False))
    return out


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
                li = labels.index(label)
                dd, ii = f"cd{i}_{li}", f"ci{i}_{li}"
                dname, iname = self._cal_names(li)
                tabs = self.cal_tables[label]
                day = self.d.floor_div(start, DAY_US)
                step = exp.Add(this=exp.Add(this=ref(dd, "i"), expression=_ge01(
                    start, ref(dd, "c1"))), expression=_ge01(start, ref(dd, "c2")))
                if self.opts.total_joins:
                    day = _within(day, tabs.days[0][0], tabs.days[-1][0], tabs.sentinel_day)
                    step = _within(step, 0, len(tabs.intervals) - 1, SENTINEL_INTERVAL)
                joins.append((exp.to_table(dname).as_(dd, copy=False), exp.EQ(
                    this=exp.column("d", table=dd), expression=day)))
                joins.append((exp.to_table(iname).as_(ii, copy=False), exp.EQ(
                    this=exp.column("i", table=ii), expression=step)))
                worked = _worked(start, ref(ii, "o"), ref(ii, "w"))
                for tag, amount in pairs:
                    a = tabs.amounts.index(amount) if amount else -1
                    per_tag.setdefault(tag, {})[label] = _due(
                        start, worked, amount, [tuple(ref(ii, f"a{a}_{x}{k}") for x in "owe")
                                                for k in range(1, tabs.candidates[a] + 1)]
                        if amount else [])
            extra += _by_route(i, h, per_tag)
        route_cols = [exp.Paren(this=h["route_index"]).as_(f"_route{i}", copy=False)
                      for i, h in enumerate(handoffs) if h.get("amounts")]
        self._add("g1", exp.select(exp.Star(), *route_cols).from_("g", copy=False))
        sel = exp.select(_star_of("g"), *extra).from_(exp.to_table("g1").as_("g", copy=False))
        for table, on in joins:
            sel = sel.join(table, on=on, join_type="left", copy=False)
        self._add("h", sel)
        self._due_columns(handoffs)

    def _handoff_lists(self, handoffs, labels: list[str]) -> None:
        """:meth:`_handoff_cte` without joins (``calendars="lists"``, DuckDB only): each
        calendar is one row of list columns (:func:`list_table_columns`), and a start's
        day and interval are list positions. DuckDB plans any hash join as a source
        without batch indexes, so its order-preserving COPY of a plan with one runs on
        one thread; a cross join with one row keeps the parallel, order-preserving
        ``Batch Copy To File``.

        A cross join copies the one row's lists out of its table for every chunk of
        2,048 rows, so the lists are few and each calendar is crossed once (``g1``),
        its lists carried up as columns (a projection passes them on by reference).
        DuckDB does not share work between the branches of a CASE, so every list
        position and every lookup a due instant needs is a column of its own step,
        computed once a row: ``g1`` (routes, day positions), ``g2`` (interval
        positions), ``g3`` (the interval's opening and working time, the first due
        candidate of each amount), ``g4`` (working time at the start), ``h`` (due
        instants: the candidates are consecutive intervals, read from the opening and
        cumulative-working-time lists)."""
        def pos(key: exp.Expression, low: int, high: int) -> exp.Expression:
            # 1-based list position of key in low..high, else NULL (DuckDB's
            # list_extract counts a negative position from the end)
            return _case([(exp.Between(this=key, low=_N(low), high=_N(high)),
                           exp.Add(this=exp.Sub(this=key, expression=_N(low)),
                                   expression=_N(1)))])

        def at(li: int, column: str, position: exp.Expression) -> exp.Expression:
            return exp.func("list_extract", _col(f"_c{li}_{column}"), position)

        def plus(column: str, k: int) -> exp.Expression:
            return exp.Add(this=_col(column), expression=_N(k))

        day_cols, step_cols, look_cols, worked_cols, extra = [], [], [], [], []
        used: dict[int, set[int]] = {}
        for i, h in enumerate(handoffs):
            amounts = h.get("amounts", {})
            if not amounts:
                continue
            start = h["start"]
            per_tag: dict[str, dict[str, exp.Expression]] = {}
            for label, pairs in amounts.items():
                li = labels.index(label)
                tabs = self.cal_tables[label]
                dk, ik, io, iw, wk = (f"_{x}{i}_{li}" for x in ("dk", "ik", "io", "iw", "wk"))
                day = self.d.floor_div(start, DAY_US)
                day_cols.append(exp.Paren(this=pos(day, tabs.days[0][0], tabs.days[-1][0]))
                                .as_(dk, copy=False))
                step = exp.Add(this=exp.Add(this=at(li, "d_i", _col(dk)), expression=_ge01(
                    start, at(li, "d_c1", _col(dk)))), expression=_ge01(
                    start, at(li, "d_c2", _col(dk))))
                step_cols.append(exp.Paren(this=pos(step, 0, len(tabs.intervals) - 1))
                                 .as_(ik, copy=False))
                look_cols += [at(li, "i_o", _col(ik)).as_(io, copy=False),
                              at(li, "i_w", _col(ik)).as_(iw, copy=False)]
                worked_cols.append(exp.Paren(this=_worked(start, _col(io), _col(iw)))
                                   .as_(wk, copy=False))
                used.setdefault(li, set())
                for tag, amount in pairs:
                    cands = []
                    if amount:
                        a = tabs.amounts.index(amount)
                        used[li].add(a)
                        first = f"_j{i}_{li}_{a}"
                        if first not in {c.alias for c in look_cols}:
                            look_cols.append(at(li, f"i_j{a}", _col(ik)).as_(first, copy=False))
                        # candidate k is interval j + k - 1: list position j + k
                        cands = [(at(li, "i_o", plus(first, k)), at(li, "i_w", plus(first, k)),
                                  at(li, "i_w", plus(first, k + 1)))
                                 for k in range(1, tabs.candidates[a] + 1)]
                    per_tag.setdefault(tag, {})[label] = _due(start, _col(wk), amount, cands)
            extra += _by_route(i, h, per_tag)
        route_cols = [exp.Paren(this=h["route_index"]).as_(f"_route{i}", copy=False)
                      for i, h in enumerate(handoffs) if h.get("amounts")]
        lists = [exp.column(column, table=f"cl{li}").as_(f"_c{li}_{column}", copy=False)
                 for li in sorted(used)
                 for column in ("d_i", "d_c1", "d_c2", "i_o", "i_w",
                                *(f"i_j{a}" for a in sorted(used[li])))]
        sel = exp.select(_star_of("g"), *route_cols, *day_cols, *lists).from_(
            exp.to_table("g").as_("g", copy=False))
        for li in sorted(used):
            sel = sel.join(exp.to_table(self._cal_names(li)[0] + "_lists").as_(
                f"cl{li}", copy=False), join_type="cross", copy=False)
        self._add("g1", sel)
        for name, cols, prev in (("g2", step_cols, "g1"), ("g3", look_cols, "g2"),
                                 ("g4", worked_cols, "g3"), ("h", extra, "g4")):
            self._add(name, exp.select(exp.Star(), *cols).from_(prev, copy=False))
        self._due_columns(handoffs)

    def _due_columns(self, handoffs) -> None:
        """The business-time due instants are now columns of step ``h``."""
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
    days table's ``i``, ``c1``, ``c2`` as ``d_*`` (position: day - first day + 1);
    each interval's opening ``i_o`` and the working time before it ``i_w`` (position:
    interval + 1; ``i_w`` has one more item, the working time at the last close); and
    for each amount ``a`` the interval of its first due candidate, ``i_j{a}`` (the
    candidates are that interval and the ones after it; past the last interval, the
    index after it, whose lookups are NULL)."""
    out = [(f"d_{c}", [row[k] for row in tabs.days])
           for k, c in enumerate(tabs.day_columns) if c != "d"]
    col = {c: k for k, c in enumerate(tabs.interval_columns)}
    rows = tabs.intervals
    out.append(("i_o", [row[col["o"]] for row in rows]))
    out.append(("i_w", [row[col["w"]] for row in rows] + (
        [rows[-1][col["w"]] + rows[-1][col["n"]]] if rows else [0])))
    index_of = {row[col["o"]]: row[col["i"]] for row in rows}  # openings are distinct
    for a in range(len(tabs.amounts)):
        first = col[f"a{a}_o1"]
        out.append((f"i_j{a}", [len(rows) if row[first] is None else index_of[row[first]]
                                for row in rows]))
    return out
