"""The policy as one SQL statement (spec section 10): one sqlglot tree, printed per dialect.

:func:`build` walks a loaded policy's intermediate form once
(:class:`~policy.engine.ir.Program`, the one the interpreter and the Python compiler
run: names resolved, constants folded, durations in µs, each handoff's calendars
chosen) and returns a ``SELECT`` (a chain of CTEs) that decides every row of a source
in the tabular form of section 9 (:mod:`policy.engine.tabular`): staging (each field's
slots, the lead's checks), scores in dependency order, gates and the reached stage,
handoffs (route, SLA with business time from the calendar tables of
:mod:`policy.sql.calendars`, escalation, rejection), placement, next step, violations.
Every meaning is the runtime's (:mod:`policy.engine.runtime`, :mod:`policy.sql.values`);
every difference between dialects is in :mod:`policy.sql.dialects`. Beyond the IR it
reads only the schema (the checks of :mod:`policy.sql.checks`) and the policy's info.
"""

from __future__ import annotations

import json

import attrs
from sqlglot import exp

from policy.engine import ir
from policy.engine.tabular import HANDOFF_FIELDS
from policy.sql.calendars import CalendarTables
from policy.sql.checks import (
    quick_shapes,
    quick_value,
    schema_checks,
    schema_paths,
    timestamp_parts,
    timestamp_shape,
    timestamp_value,
)
from policy.sql.dialects import Dialect
from policy.sql.errors import SqlUnsupported, refuse_lone_surrogates, refuse_nul
from policy.sql.handoffs import HandoffParts, default_years
from policy.sql.quoting import spark_unsubstituted
from policy.sql.sqlparts import (
    _and_all,
    _case,
    _col,
    _isnull,
    _notnull,
    _or_all,
    decay_factor,
    half_away,
    handoff_values,
    typed,
    unscorable,
)
from policy.sql.values import Compiler, Val, dbl, nan_when

__all__ = ["Options", "build", "default_years"]

_S = exp.Literal.string
_SEP = "\x1f"  # between a problem's path and its message in the engines' hidden column
_INSTANTS = ("sla_start", "sla_due", "sla_stop")  # handoff columns that are instants


def _N(v: int) -> exp.Expression:  # noqa: N802 - a literal constructor
    return exp.Literal.number(v)


@attrs.frozen(kw_only=True)
class Options:
    """How to print: the source, the instant, the calendar years, what to output."""

    #: ``table`` (funnel sql), or ``json`` (the engines read JSON text)
    source: str = "table"
    table: str = "leads"
    flat: str | None = None
    as_of: int | None = None
    years: tuple[int, int] | None = None
    #: ``inline`` (VALUES in the statement), ``named`` (tables the engine created), or
    #: ``lists`` (DuckDB: one-row tables of list columns, cross joined, no join at all;
    #: :meth:`policy.sql.handoffs.HandoffParts._handoff_lists`)
    calendars: str = "inline"
    #: instants as the dialect's TIMESTAMP (``native``) or BIGINT µs (``us``)
    instants: str = "native"
    #: the engines' hidden columns (JSON text of values, problem messages, and a
    #: refused record's text)
    hidden: bool = False
    #: ``ORDER BY line`` (JSON sources); DuckDB's engine keeps its staging table's
    #: insertion order instead (``preserve_insertion_order``), which needs no sort
    ordered: bool = True
    #: every row joins exactly one row of each calendar table (a start that is NULL or
    #: outside the tables finds a sentinel row of NULL cells): DuckDB's LEFT hash join
    #: emits a chunk's unmatched rows after its matched ones, so only a join in which
    #: every row matches keeps the input's order (the DuckDB engine's Parquet path
    #: relies on that to write in input order without a sort)
    total_joins: bool = False
    #: the IANA zone lead timestamps without an offset are read in (None: UTC);
    #: :mod:`policy.sql.localtz`
    local_tz: str | None = None
    #: more output columns, each (name, field path, slot): a slot of the source
    #: (``ty``, ``s``, ``j``…) or ``t:KIND``, the field read as an instant (µs) of that
    #: kind; read in the statement's one parse of each lead (the report's fields)
    carry: tuple[tuple[str, tuple[str, ...], str], ...] = ()


class _Build(HandoffParts):
    def __init__(self, program: ir.Program, schema, info, d: Dialect, opts: Options, source):
        self.program, self.schema, self.info = program, schema, info
        self.d, self.opts, self.src = d, opts, source
        #: the timestamp fields, by path (a rejection reason reads one as the lead holds it)
        self.ts_paths = frozenset(program.timestamp_order)
        self.paths: list[tuple[str, ...]] = []
        self.slots: dict[tuple[tuple[str, ...], str], str] = {}
        self.tsreg: dict[tuple[tuple[str, ...], str], str] = {}
        self.as_of = _N(opts.as_of) if opts.as_of is not None else d.now_us()
        self.cte: list[tuple[str, exp.Select]] = []
        self.cal_tables: dict[str, CalendarTables] = {}
        #: defines computed once each, in dependency order: (name, [(column, sql)])
        self.defines: list[tuple[str, list[tuple[str, exp.Expression]]]] = []
        self.comp = Compiler(program, d, field=self.field,
                             score=lambda name: _col(f"sc_{name}"), as_of=self.as_of,
                             materialize=self._materialize)

    # ------------------------------------------------------------------ defines
    def _materialize(self, name: str, v: Val) -> Val:
        """A define that reads lead fields becomes columns of its own step, computed
        once however many rules use it (a list literal or a constant stays inline, as
        do defines that read a score: scores come later)."""
        if v.items is not None:
            return v
        exprs = [*v.slots.values(), *([v.p] if v.p is not None else [])]
        cols = [c.name for e in exprs for c in e.find_all(exp.Column)]
        if not cols or any(c.startswith("sc_") for c in cols):
            return v
        k = len(self.defines)
        out = [(f"d{k}_{slot}", e) for slot, e in v.slots.items()]
        if v.p is not None:
            out.append((f"d{k}_p", v.p))
        self.defines.append((name, out))
        return Val({slot: _col(f"d{k}_{slot}") for slot in v.slots},
                   p=_col(f"d{k}_p") if v.p is not None else None, more=v.more, nan=v.nan)

    # ------------------------------------------------------------------ fields
    def path_index(self, path: tuple[str, ...]) -> int:
        if path not in self.paths:
            self.paths.append(path)
        return self.paths.index(path)

    def slot(self, path: tuple[str, ...], slot: str) -> exp.Expression | None:
        """The staging column of one slot of a field (registered on first use); None
        when the source says the field never has that kind. ``t:KIND`` is the field's
        text read as a timestamp of that kind."""
        if slot.startswith("t:"):
            return self.ts(path, slot[2:])
        k = self.path_index(path)
        key = (path, slot)
        if key not in self.slots:
            if self.src.slot(path, slot, k) is None:
                return None
            self.slots[key] = f"f{k}_{slot.replace(':', '_').replace(',', '_')}"
        return _col(self.slots[key])

    def ts(self, path: tuple[str, ...], kind: str) -> exp.Expression:
        """The column of a field's text read as an instant (µs) of ``kind``, or NULL."""
        if self.slot(path, "s") is None:
            return exp.null()
        key = (path, kind)
        if key not in self.tsreg:
            self.tsreg[key] = f"f{self.path_index(path)}_{kind.replace('-', '')}"
        return _col(self.tsreg[key] + "_t")

    def present(self, path: tuple[str, ...]) -> exp.Expression:
        known = getattr(self.src, "known", None)
        found = known(path, self.path_index(path)) if known is not None else None
        if found is not None:  # a typed column: NULL when null or absent
            return exp.Not(this=exp.Is(this=found[1], expression=exp.null()))
        ty = self.slot(path, "ty")
        return exp.Coalesce(this=exp.NEQ(this=ty, expression=_S("null")),
                            expressions=[exp.false()])

    def field(self, f: ir.Field) -> Val:
        """A lead field's value: its instant when the IR reads it as a timestamp, else
        one slot per kind it may hold (a timestamp field that a rejection reason reads
        as the lead holds it: text, number or boolean)."""
        path = f.path
        if f.ts is not None:
            t = self.ts(path, self.program.timestamp_kind(f.ts))
            return Val({"t": t}, p=_notnull(t))
        kinds = ("n", "s", "b") if path in self.ts_paths else ("n", "s", "b", "l", "ln")
        slots = {k: c for k in kinds if (c := self.slot(path, k)) is not None}
        more = (lambda k: self.slot(path, k)) if "ln" in slots else None  # lnum, lbool, lnest
        return Val(slots, p=self.present(path), more=more)

    # ------------------------------------------------------------------ building
    def build(self) -> exp.Select:
        program = self.program
        # Compile every part first: that registers the fields and slots staging needs.
        score_exprs = [(s.name, self._score(s)) for s in program.scores]
        gates = [(st.name, self._gate(st)) for st in program.stages]
        handoffs = [self._handoff(h) for h in program.handoffs]
        recycles = [(r, self.comp.cond(r.condition)) for r in program.recycles]
        next_cols = self._next()
        lead = self._lead_id()
        problems = self._checks()
        carried = [(name, self.slot(path, slot)) for name, path, slot in self.opts.carry]
        tbad = [(p, exp.And(this=self.present(p), expression=_isnull(
            self.ts(p, program.timestamp_kind(i))))) for i, p in enumerate(program.timestamp_order)]

        self._stage(problems, tbad)
        prev = "stg"
        for k, (_, cols) in enumerate(self.defines):
            self._add(f"df{k}", exp.select(exp.Star(), *(exp.Paren(this=e).as_(c, copy=False)
                                                         for c, e in cols)).from_(prev, copy=False))
            prev = f"df{k}"
        # A score in three steps, each reading the column of the one before (as one
        # expression, rounding and bounds repeated the sum nine times; DuckDB summed it)
        for i, (name, (total, rounded, bounded)) in enumerate(score_exprs):
            steps = [(f"_st{i}", total), (f"_sr{i}", rounded(_col(f"_st{i}"))),
                     (f"sc_{name}", bounded(_col(f"_sr{i}")))]
            for j, (column, e) in enumerate(steps):
                self._add(f"s{i}{'abc'[j]}", exp.select(exp.Star(), e.as_(column, copy=False))
                          .from_(prev, copy=False))
                prev = f"s{i}{'abc'[j]}"
        self._refusal = ("_err", "_paths", "_msgs")
        if score_exprs:  # a score past a 64-bit integer refuses the lead (sqlparts)
            self._add("unsc", unscorable([n for n, _ in score_exprs], prev, self.d,
                                         self.opts.hidden))
            prev, self._refusal = "unsc", ("_e", "_p", "_m")
        self._gates(gates, prev)
        self._handoff_cte(handoffs)
        carried_cols = [(e if e is not None else exp.null()).as_(name, copy=False)
                        for name, e in carried]
        return self._final(handoffs, recycles, next_cols, lead, score_exprs, carried_cols)

    def _add(self, name: str, select: exp.Select) -> None:
        self.cte.append((name, select))

    # ------------------------------------------------------------------ staging
    def _checks(self):
        schema = self.schema
        if schema is None:
            return []
        for path in schema_paths(dict(schema.document)):
            self.path_index(path) if path else None

        def ty(path, _):
            return self.slot(path, "ty")

        def val(path, slot):
            e = self.slot(path, slot)
            return e if e is not None else exp.null()

        known = getattr(self.src, "known", None)
        return schema_checks(dict(schema.document), ty, val, self.d,
                             known=None if known is None else
                             (lambda path: known(path, self.path_index(path))))

    def _stage(self, problems, tbad) -> None:
        d = self.d
        self._add("src0", self.src.base(self.paths))
        slot_cols = [exp.Paren(this=self.src.slot(path, slot, self.path_index(path)))
                     .as_(name, copy=False)
                     for (path, slot), name in self.slots.items()]
        self._add("sl", exp.select(exp.Star(), *slot_cols).from_("src0", copy=False))
        shapes, parts, values = [], [], []
        # a typed column's instant (Parquet TIMESTAMP), except under --local-tz, where
        # its text (no offset) is local time and is read as such
        direct = getattr(self.src, "instant", None) if self.opts.local_tz is None else None
        quick = getattr(self.src, "quick_instant", None) if self.opts.local_tz is None else None
        for (path, kind), name in self.tsreg.items():
            t = direct(path, kind, self.path_index(path)) if direct is not None else None
            if t is not None:  # a typed column's instant: nothing to parse
                values.append(t.as_(f"{name}_t", copy=False))
                continue
            s = self.slot(path, "s")
            fast = quick(s, kind) if quick is not None else None  # the common form's
            shapes += quick_shapes(timestamp_shape(s, kind, self.d), fast, name)
            parts += [e.as_(f"{name}_{p}", copy=False) for p, e in
                      timestamp_parts(s, kind, _col(f"{name}_shape"))]
            values.append(quick_value(timestamp_value(lambda p, name=name: _col(f"{name}_{p}"),
                                                      d), fast, name).as_(f"{name}_t", copy=False))
        self._add("ts0", exp.select(exp.Star(), *shapes).from_("sl", copy=False))
        self._add("tp", exp.select(exp.Star(), *parts).from_("ts0", copy=False))
        values_from = "tp"
        if self.opts.local_tz is not None:  # --local-tz: naive text read in that zone
            from policy.sql.localtz import stage

            values_from, values = stage(self, self.opts.local_tz, values)
        self._add("tv", exp.select(exp.Star(), *values).from_(values_from, copy=False))
        # Each check once, as a column: the refusal, its paths and its messages read
        # them (inlining them three times made the statement several times longer).
        from policy.model.schema import format_path

        false = exp.false()
        checks: list[exp.Expression] = [exp.Star()]
        kcols = []
        for i, (_, cond, _) in enumerate(problems):
            checks.append(exp.Coalesce(this=exp.Paren(this=cond), expressions=[false])
                          .as_(f"_k{i}", copy=False))
            kcols.append(_col(f"_k{i}"))
        qcols = []
        for j, (path, cond) in enumerate(tbad):
            checks.append(exp.Coalesce(this=exp.Paren(this=cond), expressions=[false])
                          .as_(f"_q{j}", copy=False))
            qcols.append((format_path(path), _col(f"_q{j}")))
        # read in the next CTE: Postgres, BigQuery, Trino see no alias of the same list
        anys = [exp.Star(), _or_all(kcols).as_("_anys", copy=False),
                _or_all([c for _, c in qcols]).as_("_anyt", copy=False)]
        any_schema, any_ts = _col("_anys"), _col("_anyt")
        msg_pairs = []
        path_items: list[exp.Expression] = []
        msg_items: list[exp.Expression] = []
        utf8_msg = "not valid UTF-8 (the file has bytes that are not UTF-8 text)"
        if self.src.json_text:
            kind = self.src.doc_kind()
            checks.append(exp.Paren(this=kind).as_("_kind", copy=False))
            not_json = _isnull(_col("_kind"))
            anys.append(exp.Coalesce(this=exp.Paren(this=exp.Or(
                this=not_json, expression=exp.NEQ(this=_col("_kind"), expression=_S("object")))),
                expressions=[exp.true()]).as_("_whole", copy=False))
            whole = _col("_whole")
            bad_utf8 = exp.EQ(this=exp.column("txt"), expression=_S("\x00"))
            found = exp.Concat(expressions=[_S("expected a JSON object, found "), _col("_kind")])
            msg_pairs += [(bad_utf8, _S(utf8_msg)), (not_json, _S("not valid JSON")),
                          (whole, found)]
            path_items.append(_case([(whole, _S(""))]))
            msg_items.append(_case([(bad_utf8, _S(utf8_msg)), (not_json, _S("not valid JSON")),
                                    (whole, found)]))
            gate: exp.Expression = exp.Not(this=whole)
            refused = exp.Or(this=whole, expression=exp.Or(this=any_schema, expression=any_ts))
        else:
            gate = exp.true()
            refused = exp.Or(this=any_schema, expression=any_ts)
        self._add("ck", exp.select(*checks).from_("tv", copy=False))
        self._add("ck1", exp.select(*anys).from_("ck", copy=False))
        msg_pairs += [(any_schema, _S("the lead does not match the schema")),
                      (any_ts, _S("a timestamp field does not parse"))]
        for (path, _, message), k in zip(problems, kcols, strict=True):
            hit = exp.And(this=gate, expression=k)
            path_items.append(_case([(hit, _S(path))]))
            msg_items.append(_case([(hit, _S(message))]))
        ts_gate = exp.And(this=gate, expression=exp.Not(this=any_schema))
        for path, q in qcols:
            hit = exp.And(this=ts_gate, expression=q)
            path_items.append(_case([(hit, _S(path))]))
            msg_items.append(_case([(hit, _S("not a valid timestamp"))]))
        # the lists are built only for refused leads (rare)
        cols: list[exp.Expression] = [exp.Star(), exp.Paren(this=_case(msg_pairs))
                                      .as_("_err", copy=False)]
        cols.append(_case([(refused, d.compact(path_items))], d.empty_array())
                    .as_("_paths", copy=False))
        if self.opts.hidden:
            cols.append(_case([(refused, d.compact(msg_items))], d.empty_array())
                        .as_("_msgs", copy=False))
        self._add("stg", exp.select(*cols).from_("ck1", copy=False))

    # ------------------------------------------------------------------ scores
    def _score(self, score: ir.Score):
        """The score's sum (decay applied), and how to round it and bound it."""
        total: exp.Expression = dbl(0)
        for item in score.items:
            if isinstance(item, ir.PointsIf):
                term = _case([(self.comp.cond(item.condition), dbl(item.points))], dbl(0))
                total = exp.Add(this=total, expression=term)
            else:
                count = self.comp.value(item.count)
                c = count.get("n")
                if c is None:
                    continue
                gained = exp.Mul(this=dbl(abs(item.points)), expression=c)
                if item.cap is not None:
                    gained = _case([(exp.GT(this=gained, expression=dbl(item.cap)),
                                     dbl(item.cap))], gained)
                if item.points < 0:
                    gained = exp.Neg(this=exp.Paren(this=gained))
                whens = [(exp.Coalesce(this=exp.GT(this=c, expression=dbl(0)), expressions=[
                    exp.false()]), gained)] + ([nan_when(count)] if count.nan else [])
                term = _case(whens, dbl(0))  # a NaN count gains NaN: runtime.per_points
                total = exp.Add(this=total, expression=term)
        decay, bounds = score.decay, score.bounds
        if decay is not None:
            since = self.comp.value(decay.since).get("t")
            if since is not None:
                hl = decay.half_life_us
                if hl is None:  # the checker refuses a business half-life
                    raise SqlUnsupported("a half-life in business time has no SQL form")
                elapsed = exp.cast(exp.Paren(this=exp.Sub(this=self.as_of, expression=since)),
                                   "DOUBLE")
                factor = decay_factor(elapsed, hl)
                applies = exp.Coalesce(this=exp.LTE(this=since, expression=self.as_of),
                                       expressions=[exp.false()])
                total = exp.Mul(this=exp.Paren(this=total),
                                expression=_case([(applies, factor)], dbl(1)))

        rounded = half_away  # halves away from zero, explicitly (sqlparts)

        def bounded(value: exp.Expression) -> exp.Expression:
            if bounds is None:
                return value
            lo, hi = _N(int(bounds.low)), _N(int(bounds.high))
            return _case([(exp.LT(this=value, expression=lo), lo),
                          (exp.GT(this=value, expression=hi), hi)], value)

        return total, rounded, bounded

    # ------------------------------------------------------------------ gates
    def _gate(self, stage: ir.Stage) -> exp.Expression:
        requires, excludes, keep = [], [], None
        for line in stage.lines:
            c = self.comp.cond(line.condition)
            if line.kind == "require":
                requires.append(c)
            elif line.kind == "exclude":
                excludes.append(c)
            elif keep is None:
                keep = c
        ok = _and_all(requires)
        if keep is not None:
            ok = exp.Or(this=ok, expression=keep)
        return _and_all([exp.Not(this=exp.Paren(this=_or_all(excludes))), exp.Paren(this=ok)])

    def _gates(self, gates, prev) -> None:
        pairs = []
        last = None
        for name, cond in gates:
            pairs.append((exp.Not(this=exp.Paren(this=cond)), _N(self._index(last))))
            last = name
        ri = _case(pairs, _N(self._index(last))) if gates else _N(-1)
        self._add("g", exp.select(exp.Star(), exp.Paren(this=ri).as_("_ri", copy=False))
                  .from_(prev, copy=False))

    def _index(self, name) -> int:
        return self.program.stage_index(name)

    # ------------------------------------------------------------------ next, lead
    def _next(self):
        """The next stage and its ``next.unmet`` texts (the IR's, printed once by the
        canonical printer, as the Python engines list them)."""
        funnel = self.program.funnel
        stage_pairs, unmet_pairs = [], []
        for k, name in enumerate(funnel):
            when = exp.EQ(this=_col("_ri"), expression=_N(k - 1))
            stage_pairs.append((when, _S(name)))
            st = self.program.stage(name)
            items = []
            if st is not None:
                keep = next((line for line in st.lines if line.kind == "keep"), None)
                kept = self.comp.cond(keep.condition) if keep is not None else exp.false()
                for line in st.lines:
                    if line.kind == "require":
                        # while `keep when` holds, failing requires do not block the gate
                        fails = exp.And(this=exp.Not(this=exp.Paren(this=kept)),
                                        expression=exp.Not(this=exp.Paren(
                                            this=self.comp.cond(line.condition))))
                        items.append(_case([(fails, _S(line.unmet))]))
                    elif line.kind == "exclude":
                        items.append(_case([(self.comp.cond(line.condition),
                                             _S(line.unmet))]))
            unmet_pairs.append((when, self.d.compact(items)))
        return _case(stage_pairs), _case(unmet_pairs)

    def _lead_id(self):
        idf = self.program.id_field
        if not idf:
            return exp.null(), exp.null()
        j = self.slot(idf, "j")
        s = self.slot(idf, "s")
        # an id that is JSON null is no lead id: NULL, as the python engine's row has
        j_cell = _case([(exp.NEQ(this=j, expression=_S("null")), j)])
        cell = _case([(_notnull(s), s)], j_cell) if s is not None else j_cell
        return cell, j

    # ------------------------------------------------------------------ output
    def _final(self, handoffs, recycles, next_cols, lead, score_exprs,
               carried=()) -> exp.Select:
        d, program, opts = self.d, self.program, self.opts
        err, paths, msgs = self._refusal
        ok = _isnull(_col(err))

        def dec(e):
            return _case([(ok, e)])

        def inst(e):
            return d.timestamp_of(e) if opts.instants == "native" else e

        info = self.info
        ri = _col("_ri")
        cols: list[exp.Expression] = [
            _col("line").as_("line", copy=False),
            exp.Paren(this=typed(lead[0], "json")).as_("lead", copy=False),
            _S(info.name or "").as_("policy_name", copy=False) if info.name else exp.null().as_(
                "policy_name", copy=False),
            typed(_S(info.version) if info.version is not None else exp.null(), "string").as_(
                "policy_version", copy=False),
            _S(info.digest).as_("policy_digest", copy=False),
            inst(self.as_of).as_("as_of", copy=False)]
        # placement: the deepest rejection, else the first recycle, else reached
        applies = {id(h): exp.GTE(this=ri, expression=_N(h["at"])) if h["at"] >= 0
                   else exp.false() for h in handoffs}
        place, why, why_json = [], [], []
        for h in reversed(handoffs):
            if "rej_p" in h:
                c = exp.And(this=applies[id(h)], expression=h["rej_p"])
                place.append((c, _S(h["rej_state"])))
                why.append((c, h["rej_cell"]))
                why_json.append((c, h["rej_json"]))
        for r, cond in recycles:
            if not r.stages:
                continue
            c = exp.And(this=exp.In(this=ri, expressions=[_N(i) for i in sorted(r.stages)]),
                        expression=cond)
            place.append((c, _S(r.state)))
            reason = _S(r.reason) if r.reason is not None else exp.null()
            why.append((c, reason))
            why_json.append((c, _S(json.dumps(r.reason, ensure_ascii=False))
                             if r.reason is not None else exp.null()))
        reached = _case([(exp.EQ(this=ri, expression=_N(i)), _S(name))
                         for i, name in enumerate(program.funnel)])
        cols += [dec(_case(place, reached)).as_("stage", copy=False),
                 dec(reached).as_("reached", copy=False),
                 dec(typed(_case(why), "json")).as_("reason", copy=False)]
        cols += [dec(_col(f"sc_{s}")).as_(f"score_{s}", copy=False)
                 for s in program.score_names]
        cols += [dec(next_cols[0]).as_("next_stage", copy=False),
                 dec(next_cols[1]).as_("next_unmet", copy=False)]
        viol = []
        hidden = []
        beyond: list[exp.Expression] = []  # business time outside the calendar tables
        blocks = {}  # the handoff columns go in declaration order (spec section 9)
        for i, h in enumerate(handoffs):
            p = f"handoff_{h['stage']}_"
            app = applies[id(h)]
            vals = handoff_values(h, self.as_of)
            blocks[h["stage"]] = [
                dec(_case([(app, inst(vals[field]) if field in _INSTANTS else
                            vals[field] if kind == "timestamp" else typed(vals[field], kind))])
                    ).as_(p + field, copy=False) for field, kind in HANDOFF_FIELDS]
            viol += [_case([(exp.And(this=app, expression=c), _S(code))])
                     for code, c in vals["violations"]]
            beyond += [exp.And(this=app, expression=c) for code, c in vals["violations"]
                       if code == "calendar_out_of_range"]
            hidden.append(dec(_case([(app, vals["rej_json"])])).as_(f"_rj{i}", copy=False))
        for stage in getattr(program, "handoff_columns", ()) or blocks:
            cols += blocks[stage]
        viol, beyond = viol + self.comp.marks(), beyond + self.comp.nested  # values._nested
        cols += [_case([(ok, d.compact(viol))], d.empty_array()).as_("violations", copy=False),
                 _col(err).as_("error", copy=False),
                 _case([(ok, d.empty_array())], _col(paths)).as_("error_paths", copy=False)]
        # the carried columns come before the refused text, which the engines read
        # as the last column
        if opts.hidden:
            cols += [_col(msgs).as_("_msgs", copy=False),
                     exp.Paren(this=lead[1]).as_("_lead_json", copy=False),
                     dec(_case(why_json)).as_("_reason_json", copy=False), *hidden,
                     *carried]
            if self.src.json_text:
                # the text of a refused lead (to explain it), and of a lead the python
                # engine decides again (policy.sql.engine.beyond_tables)
                keep = exp.or_(exp.Not(this=ok), *beyond, copy=False)
                cols.append(_case([(keep, exp.column("txt"))]).as_("_txt", copy=False))
        if not opts.hidden:
            cols += carried
        final = exp.select(*cols).from_("h", copy=False)
        if opts.source == "json" and opts.ordered:
            final = final.order_by(_col("line"), copy=False)
        # MATERIALIZED: Postgres' planner folded the steps into one tree for minutes
        fence = True if self.d.name == "postgres" else None
        for name, sel in [*self._calendar_ctes(), *self.cte]:
            final = final.with_(name, as_=sel, materialized=fence, copy=False)
        return final

def build(pol, d: Dialect, opts: Options, source=None) -> exp.Select:
    """The statement that decides every row of the source (see the module docstring).

    ``pol`` is a loaded :class:`policy.Policy`: its intermediate form (``pol.program``)
    is compiled, its schema (``pol.model.schema``) checked, its ``info`` printed."""
    from policy.sql.sources import DuckJson, SparkJson
    from policy.sql.table import TableSource, field_kinds

    if source is None:
        if opts.source == "json":
            source = DuckJson(d) if d.name == "duckdb" else SparkJson(d)
        else:
            kinds = field_kinds(pol.program, pol.model.schema, any_scalar=d.name == "duckdb")
            source = TableSource(d, opts.table, kinds, opts.flat, pol.program.timestamp_order)
    schema = pol.model.schema
    if schema is not None and hasattr(source, "narrow"):
        from policy.sql.checks import schema_kinds

        kinds = schema_kinds(dict(schema.document))
        kinds.pop(tuple(pol.program.id_field or ()), None)  # the lead id keeps its text
        source.narrow(kinds)
    b = _Build(pol.program, pol.model.schema, pol.info, d, opts, source)
    stmt = b.build()
    refuse_lone_surrogates(stmt)  # before any engine or printer meets it
    refuse_nul(stmt, d.name)
    if d.name == "spark":
        spark_unsubstituted(stmt)
    stmt.meta["calendar_tables"] = b.cal_tables
    return stmt
