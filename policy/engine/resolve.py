"""Resolve: a checked policy model -> the typed intermediate form (:mod:`policy.engine.ir`).

:func:`resolve` runs after :func:`policy.model.loader.load_model` (parse, schema, check,
calendar) and before any engine. It binds every name (a define, a score, or a lead
field: spec section 3), gives every expression its type, folds constants with the
runtime's own operator table (so a folded value means what the engines would compute),
reads string literals compared with timestamps as instants, turns durations into
microseconds, picks each handoff's calendar, and prints each rule's trace text and
each gate line's ``next.unmet`` text with the canonical printer
(:mod:`policy.syntax.canonical`).

It works on unchecked models too (the tests feed it arbitrary parsed policies) and
gives them the meaning the reference interpreter always gave: an unknown function is
missing, a stage not in the funnel is never reached. It refuses only what no engine
can run, a cycle among defines and scores (E108), with :class:`ResolveError`.
"""

from __future__ import annotations

import types as pytypes
from collections.abc import Iterator

from policy.engine import ir
from policy.engine import runtime as rt
from policy.engine.timestamps import parse_timestamp
from policy.model.namespace import (
    TIME_FUNCTIONS,
    PolicyModel,
    children,
    define_order,
    stmt_exprs,
    walk_expr,
)
from policy.syntax import canonical
from policy.syntax import nodes as n

__all__ = ["ResolveError", "missing_sla_start_message", "resolve"]

T = ir.Type

_SCHEMA_TYPES = {"string": T.TEXT, "number": T.NUMBER, "integer": T.NUMBER,
                 "boolean": T.BOOLEAN, "array": T.LIST, "object": T.OBJECT, "null": T.NULL}
_FUNC_TYPES = {"days_since": T.NUMBER, "hours_since": T.NUMBER, "length": T.NUMBER,
               "lower": T.TEXT, "domain": T.TEXT}
_TEXT_ARGS = frozenset({"lower", "domain"})


class ResolveError(Exception):
    """A model no engine can run: a cycle among defines and scores (the checker's E108)."""


def missing_sla_start_message(stage: str, start: n.Ref) -> str:
    """The ``missing_sla_start`` violation's sentence."""
    return f"the SLA of the {stage} handoff cannot start: `{start.dotted}` is missing"


def resolve(model: PolicyModel) -> ir.Program:
    """The :class:`~policy.engine.ir.Program` of a model; raises :class:`ResolveError` for
    a cycle among defines and scores."""
    return _Resolver(model).program()


# --------------------------------------------------------------------------- field types


def _field_types(model: PolicyModel) -> dict[tuple[str, ...], ir.Type]:
    """Each field's type: the schema's when it gives exactly one, else the one type the
    policy's own uses agree on (compared with a number, tested as text, used as a
    condition, …), else ANY."""
    votes: dict[tuple[str, ...], set[ir.Type]] = {}

    def field_of(e: n.Expr) -> tuple[str, ...] | None:
        if isinstance(e, n.Ref) and model.resolve(e)[0] == "field":
            return e.path
        return None

    def vote(e: n.Expr, t: ir.Type) -> None:
        path = field_of(e)
        if path is not None:
            votes.setdefault(path, set()).add(t)

    def literal_type(e: n.Expr, seen: frozenset[str] = frozenset()) -> ir.Type | None:
        """The type of ``e`` when it is known without the lead: a literal, arithmetic, a
        function's result, a score, or a define of one of those."""
        if isinstance(e, n.Number):
            return T.NUMBER
        if isinstance(e, n.String):
            return T.TEXT
        if isinstance(e, n.Bool):
            return T.BOOLEAN
        if isinstance(e, n.ListExpr) and e.items:
            kinds = {literal_type(i, seen) for i in e.items}
            return kinds.pop() if len(kinds) == 1 else None
        if isinstance(e, (n.Neg, n.Binary)) and (isinstance(e, n.Neg) or e.op in n.ARITHMETIC):
            return T.NUMBER
        if isinstance(e, n.Call):
            return _FUNC_TYPES.get(e.func)
        if isinstance(e, n.Ref):
            kind, _ = model.resolve(e)
            if kind == "score":
                return T.NUMBER
            if kind == "define" and e.path[0] not in seen:
                # through defines (a cycle among them, E108, ends the search)
                return literal_type(model.defines[e.path[0]].value, seen | {e.path[0]})
        return None

    def condition(e: n.Expr) -> None:
        vote(e, T.BOOLEAN)

    for located in model.all_decls():
        decl = located.decl
        if isinstance(decl, n.Example):
            continue
        for stmt in (decl, *children(decl)):
            if isinstance(stmt, (n.PointsIf, n.Require, n.Exclude, n.KeepWhen, n.Recycle)):
                condition(stmt.condition)
            elif isinstance(stmt, n.Route) and stmt.condition is not None:
                condition(stmt.condition)
            elif isinstance(stmt, n.PointsPer):
                vote(stmt.count, T.NUMBER)
            elif isinstance(stmt, n.Reject):
                t = literal_type(stmt.reasons)  # the agreed reasons' type
                if t is not None and t is not T.LIST:
                    vote(stmt.field, t)
            for e in stmt_exprs(stmt):
                for sub in walk_expr(e):
                    if isinstance(sub, n.Binary):
                        if sub.op in (n.BinOp.AND, n.BinOp.OR):
                            condition(sub.left)
                            condition(sub.right)
                        elif sub.op in n.ARITHMETIC:
                            vote(sub.left, T.NUMBER)
                            vote(sub.right, T.NUMBER)
                        elif sub.op in n.COMPARISONS:
                            for a, b in ((sub.left, sub.right), (sub.right, sub.left)):
                                t = literal_type(b)
                                if t is not None and t is not T.LIST:
                                    vote(a, t)
                        elif sub.op in (n.BinOp.IN, n.BinOp.NOT_IN):
                            t = literal_type(sub.right)
                            if t is not None and t is not T.LIST:
                                vote(sub.left, t)
                        elif sub.op in (n.BinOp.STARTS_WITH, n.BinOp.ENDS_WITH):
                            vote(sub.left, T.TEXT)
                    elif isinstance(sub, n.Not):
                        condition(sub.operand)
                    elif isinstance(sub, n.Call) and sub.func in _TEXT_ARGS and sub.args:
                        vote(sub.args[0], T.TEXT)
    found: dict[tuple[str, ...], ir.Type] = {}
    for path, kinds in votes.items():
        found[path] = kinds.pop() if len(kinds) == 1 else T.ANY
    schema = model.schema
    if schema is not None:
        for path, info in schema.fields.items():
            kinds = {_SCHEMA_TYPES.get(t, T.ANY) for t in info.types} - {T.NULL}
            if len(kinds) == 1:
                found[tuple(path)] = kinds.pop()
            elif path in found or kinds:
                found[tuple(path)] = T.ANY
    return found


def _timestamp_kind(model: PolicyModel, path: tuple[str, ...]) -> str:
    """How a timestamp field is read: the schema's ``date`` or ``date-time`` format,
    else ``any`` (a date or a date-time)."""
    info = model.schema.lookup(path) if model.schema is not None else None
    fmt = info.format if info is not None else None
    return fmt if fmt in ("date", "date-time") else "any"


# --------------------------------------------------------------------------- resolving


def _freeze(v: object) -> object:
    return tuple(_freeze(x) for x in v) if type(v) is list else v


def _type_of_value(v: object) -> ir.Type:
    t = type(v)
    if v is None:
        return T.NULL
    if t is bool:
        return T.BOOLEAN
    if t is int or t is float:
        return T.NUMBER
    if t is str:
        return T.TEXT
    if t is list or t is tuple:
        return T.LIST
    return T.ANY


def _const(value: object, typ: ir.Type | None = None) -> ir.Const:
    return ir.Const(_freeze(value), typ if typ is not None else _type_of_value(value))


def _instant(value: object) -> object:
    """A list item looked up with a timestamp: text that parses is that instant."""
    if type(value) is str:
        t = parse_timestamp(value, kind="any")
        if t is not None:
            return t
    return value


def _fixed_us(d: n.Duration) -> int | None:
    if d.unit.is_business:
        return None
    return rt.whole_us(d.amount * n.UNIT_SECONDS[d.unit] * 1_000_000)


def _duration(d: n.Duration) -> ir.Duration:
    return ir.Duration(d.amount, d.unit.value, _fixed_us(d))


class _Resolver:
    def __init__(self, model: PolicyModel) -> None:
        self.model = model
        self.ts_index = {path: i for i, path in enumerate(model.timestamp_order)}
        self.field_types = _field_types(model)
        self.defines: dict[str, ir.Define] = {}
        self.define_scores: dict[str, frozenset[str]] = {}
        self.resolving: list[str] = []
        self.computed: set[str] | None = None  # scores computed so far, inside a score

    # ------------------------------------------------------------------ program
    def program(self) -> ir.Program:
        model = self.model
        # each define after those it uses, so resolving one never recurses into another:
        # a long chain of defines would meet Python's recursion limit (the insertion order
        # of ``self.defines`` is the one the recursive walk gave)
        for name in define_order(model.defines):
            self.define(name)
        scores = []
        self.computed = set()
        for name in model.score_order:
            scores.append(self.score(model.scores[name]))
            self.computed.add(name)
        self.computed = None
        stages = tuple(self.stage(s) for s in model.funnel_stages())
        seen: set[str] = set()
        for s in stages:
            if s.name in seen:
                raise ResolveError(f"stage `{s.name}` is listed twice in the funnel")
            seen.add(s.name)
        calendars = {None: model.work_calendar}
        calendars.update(model.work_calendars)
        calendars = pytypes.MappingProxyType(calendars)
        return ir.Program(
            name=model.header.name.name if model.header is not None else None,
            version=model.version,
            id_field=model.id_field,
            funnel=model.funnel,
            defines=pytypes.MappingProxyType(dict(self.defines)),
            scores=tuple(scores),
            score_names=tuple(model.scores),
            stages=stages,
            handoffs=tuple(self.handoff(h) for h in model.handoffs),
            handoff_columns=model.handoff_columns,
            recycles=tuple(self.recycle(r) for r in model.recycles),
            timestamp_order=model.timestamp_order,
            calendars=calendars,
            timestamp_kinds=tuple(_timestamp_kind(model, p) for p in model.timestamp_order),
            field_types=pytypes.MappingProxyType(dict(self.field_types)),
        )

    # ------------------------------------------------------------------ names
    def define(self, name: str) -> ir.Define:
        found = self.defines.get(name)
        if found is not None:
            return found
        if name in self.resolving:
            cycle = " -> ".join([*self.resolving[self.resolving.index(name):], name])
            raise ResolveError(f"a cycle among defines: {cycle}")
        decl = self.model.defines[name]
        self.resolving.append(name)
        saved, self.computed = self.computed, None  # a define's scores are checked at use
        try:
            value = self.expr(decl.value)
        finally:
            self.resolving.pop()
            self.computed = saved
        may_raise = any(isinstance(e, ir.Arith) or
                        (isinstance(e, ir.DefineRef) and self.defines[e.name].may_raise)
                        for e in ir.walk(value))
        scores = set()
        for e in ir.walk(value):
            if isinstance(e, ir.ScoreRef):
                scores.add(e.name)
            elif isinstance(e, ir.DefineRef):
                scores |= self.define_scores[e.name]
        self.define_scores[name] = frozenset(scores)
        found = self.defines[name] = ir.Define(name, value, value.type, value.nullable,
                                               may_raise, span=decl.span)
        return found

    def ref(self, ref: n.Ref) -> ir.Expr:
        kind, _ = self.model.resolve(ref)
        if kind == "define":
            d = self.define(ref.path[0])
            self.check_scores(self.define_scores[d.name])
            return ir.DefineRef(d.name, d.type, d.nullable)
        if kind == "score":
            self.check_scores({ref.path[0]})
            return ir.ScoreRef(ref.path[0])
        return self.field(ref.path)

    def check_scores(self, names) -> None:
        if self.computed is not None:
            late = sorted(set(names) - self.computed)
            if late:
                raise ResolveError(f"a cycle among defines and scores reaches `{late[0]}`")

    def field(self, path: tuple[str, ...]) -> ir.Field:
        index = self.ts_index.get(path)
        if index is not None:
            return ir.Field(path, T.TIMESTAMP, index)
        typ = self.field_types.get(path, T.ANY)
        return ir.Field(path, T.ANY if typ is T.TIMESTAMP else typ, None)

    # ------------------------------------------------------------------ expressions
    def expr(self, e: n.Expr) -> ir.Expr:
        t = type(e)
        if t is n.Ref:
            return self.ref(e)
        if t is n.Number or t is n.Bool or t is n.String:
            return _const(e.value)
        if t is n.Null:
            return _const(None)
        if t is n.ListExpr:
            items = tuple(self.expr(x) for x in e.items)
            if all(type(x) is ir.Const for x in items):
                if any(x.value is None for x in items):
                    # a `null` item is a missing value: the list is missing, and a test
                    # that touches it is false (spec section 3; runtime.list_of)
                    return _const(None)
                return ir.Const(tuple(x.value for x in items), T.LIST)
            return ir.ListOf(items)
        if t is n.Not:
            inner = self.expr(e.operand)
            if type(inner) is ir.Const:
                return _const(not rt.truthy(inner.value))
            return ir.Not(inner)
        if t is n.Presence:
            inner = self.expr(e.operand)
            if type(inner) is ir.Const:
                return _const((inner.value is not None) is e.present)
            return ir.Present(inner, e.present)
        if t is n.Neg:
            inner = self.expr(e.operand)
            if type(inner) is ir.Const:
                return _const(rt.neg(inner.value))
            return ir.Neg(inner)
        if t is n.Call:
            return self.call(e)
        if t is n.Binary:
            return self.binary(e)
        raise TypeError(f"not an expression: {t.__name__}")

    def call(self, e: n.Call) -> ir.Expr:
        args = tuple(self.expr(a) for a in e.args)
        known = e.func in _FUNC_TYPES and len(args) == 1
        if not known:
            # the checker refuses it; missing, after evaluating the arguments
            if not any(self.may_raise(a) for a in args):
                return _const(None)
            return ir.Call(e.func, args, T.ANY)
        (arg,) = args
        if type(arg) is ir.Const:
            if e.func in TIME_FUNCTIONS:
                if type(arg.value) is not int:
                    return _const(None, T.NUMBER)
            else:
                return _const(rt.FUNCTIONS[e.func](arg.runtime), _FUNC_TYPES[e.func])
        return ir.Call(e.func, args, _FUNC_TYPES[e.func])

    def may_raise(self, e: ir.Expr) -> bool:
        return any(isinstance(x, ir.Arith) or
                   (isinstance(x, ir.DefineRef) and self.defines[x.name].may_raise)
                   for x in ir.walk(e))

    def operand(self, e: n.Expr, other: n.Expr, op: n.BinOp) -> ir.Expr:
        """A comparison's operand: text compared with a timestamp is read as an instant."""
        if op in n.COMPARISONS and self.model.is_timestamp(other):
            # a literal, or a define that holds one (a define is a named value)
            text = self.model.text_literal(e)
            if text is not None:
                return ir.Const(parse_timestamp(text.value, kind="any"), T.TIMESTAMP)
        return self.expr(e)

    def members(self, e: ir.Expr) -> ir.Expr:
        """The list a timestamp is looked for in (`in`, `not in`): its text items read as
        instants, as `==` reads text compared with a timestamp (and as the checker
        reasons about it); an item that does not parse stays text, never equal."""
        value = e
        while type(value) is ir.DefineRef:  # a defined list, or a define naming one
            value = self.defines[value.name].value
        if type(value) is ir.Const and type(value.value) is tuple:
            return ir.Const(tuple(_instant(x) for x in value.value), T.LIST)
        if type(value) is ir.ListOf:
            return ir.ListOf(tuple(self._instant_item(x) for x in value.items))
        return e

    def _instant_item(self, x: ir.Expr) -> ir.Expr:
        """An item of a list a timestamp is looked for in: text that parses (written in
        the list, or held by a define named there) is that instant; anything else as is."""
        value = x
        while type(value) is ir.DefineRef:
            value = self.defines[value.name].value
        if (type(value) is ir.Const and type(value.value) is str
                and parse_timestamp(value.value, kind="any") is not None):
            return ir.Const(_instant(value.value), T.TIMESTAMP)
        return x

    def binary(self, e: n.Binary) -> ir.Expr:
        op = e.op
        a = self.operand(e.left, e.right, op)
        b = self.operand(e.right, e.left, op)
        if op in (n.BinOp.IN, n.BinOp.NOT_IN) and self.model.is_timestamp(e.left):
            b = self.members(b)
        both = type(a) is ir.Const and type(b) is ir.Const
        if op is n.BinOp.AND or op is n.BinOp.OR:
            if both:
                x, y = rt.truthy(a.value), rt.truthy(b.value)
                return _const((x and y) if op is n.BinOp.AND else (x or y))
            return ir.And(a, b) if op is n.BinOp.AND else ir.Or(a, b)
        fn = rt.OPERATORS[op.value]
        if both:
            try:
                return _const(fn(a.runtime, b.runtime))
            except (ArithmeticError, ValueError):
                pass  # e.g. an overflow: left to run time, where every engine meets it
        if op in n.ARITHMETIC:
            return ir.Arith(op.value, a, b)
        exact = op in n.COMPARISONS and a.type is T.TIMESTAMP and b.type is T.TIMESTAMP
        return ir.Test(op.value, a, b, exact=exact)

    # ------------------------------------------------------------------ rules
    def score(self, s: n.Score) -> ir.Score:
        items: list[ir.PointsIf | ir.PointsPer] = []
        decay = bounds = None
        for item in s.items:
            if isinstance(item, n.PointsIf):
                items.append(ir.PointsIf(item.points, self.expr(item.condition),
                                         canonical.rule_text(item), span=item.span))
            elif isinstance(item, n.PointsPer):
                items.append(ir.PointsPer(item.points, self.expr(item.count), item.cap,
                                          canonical.rule_text(item), span=item.span))
            elif isinstance(item, n.Decay) and decay is None:
                decay = ir.Decay(_fixed_us(item.half_life), self.expr(item.since),
                                 canonical.rule_text(item), span=item.span)
            elif isinstance(item, n.Range) and bounds is None:
                bounds = ir.Bounds(item.low, item.high, canonical.rule_text(item),
                                   span=item.span)
        return ir.Score(s.name.name, tuple(items), decay, bounds, span=s.span)

    def stage(self, s: n.Stage) -> ir.Stage:
        lines = []
        for item in s.items:
            if isinstance(item, n.Require):
                kind, unmet = "require", canonical.unmet_text(item)
            elif isinstance(item, n.Exclude):
                kind, unmet = "exclude", canonical.unmet_text(item)
            elif isinstance(item, n.KeepWhen):
                kind, unmet = "keep", None
            else:
                continue  # `entered at` changes no decision
            lines.append(ir.GateLine(kind, self.expr(item.condition),
                                     getattr(item, "reason", None), unmet,
                                     canonical.rule_text(item), span=item.span))
        entered = next((i for i in s.items if isinstance(i, n.EnteredAt)), None)
        return ir.Stage(s.name.name, self.model.stage_index(s.name.name), tuple(lines),
                        span=s.span, entered=None if entered is None else ir.EnteredAt(
                            entered.field.path, canonical.rule_text(entered),
                            span=entered.span))

    def handoff(self, h: n.Handoff) -> ir.Handoff:
        model = self.model
        stage = h.stage.name
        routes = []
        sla = escalate = reject = None
        for item in h.items:
            if isinstance(item, n.Route):
                cond = None if item.condition is None else self.expr(item.condition)
                # business time counts on the chosen route's calendar, else the
                # handoff's, else the unnamed one (spec section 2)
                routes.append(ir.Route(item.target, cond, model.work_calendar_for(h, item),
                                       model.calendar_label(h, item),
                                       canonical.rule_text(item), span=item.span))
            elif isinstance(item, n.Sla) and sla is None:
                sla = ir.Sla(_duration(item.duration), self.expr(item.start),
                             tuple(self.expr(x) for x in item.stops),
                             missing_sla_start_message(stage, item.start),
                             canonical.rule_text(item), span=item.span)
            elif isinstance(item, n.Escalate) and escalate is None:
                escalate = ir.Escalate(item.target, _duration(item.after),
                                       canonical.rule_text(item), span=item.span)
            elif isinstance(item, n.Reject) and reject is None:
                kind, _ = self.model.resolve(item.field)
                reason = self.expr(item.field)
                if kind == "field":
                    # the reason is reported as the lead holds it (a timestamp stays text)
                    f = self.field(item.field.path)
                    reason = ir.Field(f.path, T.TEXT if f.ts is not None else f.type, None)
                reject = ir.Reject(item.state.name, reason, self.expr(item.reasons),
                                   item.field.dotted, canonical.rule_text(item),
                                   span=item.span)
        return ir.Handoff(stage, h.team.name, model.stage_index(stage), tuple(routes),
                          sla, escalate, reject, model.work_calendar_for(h, None),
                          model.calendar_label(h, None), span=h.span)

    def recycle(self, r: n.Recycle) -> ir.Recycle:
        indices = frozenset(self.model.stage_index(s.name) for s in r.stages) - {-1}
        return ir.Recycle(indices, r.state.name, self.expr(r.condition), r.reason,
                          canonical.rule_text(r), span=r.span)


def iter_exprs(program: ir.Program) -> Iterator[ir.Expr]:
    """Every top-level expression of a program (defines, rules), for analyses and tests."""
    for d in program.defines.values():
        yield d.value
    for s in program.scores:
        for item in s.items:
            yield item.condition if isinstance(item, ir.PointsIf) else item.count
        if s.decay is not None:
            yield s.decay.since
    for st in program.stages:
        for line in st.lines:
            yield line.condition
    for h in program.handoffs:
        for route in h.routes:
            if route.condition is not None:
                yield route.condition
        if h.sla is not None:
            yield h.sla.start
            yield from h.sla.stops
        if h.reject is not None:
            yield h.reject.reason
            yield h.reject.reasons
    for r in program.recycles:
        yield r.condition
