"""The resolved policy: every file's declarations gathered into one namespace.

Built by :func:`build_model` from parsed modules (and the lead schema, if any).
The checker runs its passes over it; the interpreter, the compiler, ``explain``,
``docs`` and ``diff`` read it. Building never fails: with duplicates the first
declaration wins and unknown references stay unresolved; reporting those is the
checker's job (:mod:`policy.check.checker`).

Name resolution (spec section 3): a one-part name that is a ``define`` or a
``score`` means that declaration; anything else is a lead field path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import attrs

from policy.model.frozen import freeze
from policy.syntax import nodes as n

if TYPE_CHECKING:  # pragma: no cover
    from policy.model.calendar import WorkCalendar
    from policy.model.schema import LeadSchema

#: The built-in functions (spec section 3): name -> number of arguments.
FUNCTIONS: Mapping[str, int] = {
    "days_since": 1,
    "hours_since": 1,
    "lower": 1,
    "length": 1,
    "domain": 1,
}
#: Functions whose argument is read as a timestamp.
TIME_FUNCTIONS = frozenset({"days_since", "hours_since"})


@attrs.frozen
class Located:
    """A declaration with the module (file) it came from."""

    module: n.Module
    decl: n.Decl


_MAPPING_FIELDS = ("teams", "defines", "scores", "stages", "states", "calendars",
                   "work_calendars", "entered_at")


@attrs.frozen(kw_only=True)
class PolicyModel:
    """One policy. Mappings keep declaration order (files by path, then source order)."""

    modules: tuple[n.Module, ...]
    header: n.PolicyHeader | None
    version: str | None
    schema_ref: Located | None
    schema: LeadSchema | None
    id_field: tuple[str, ...] | None
    teams: Mapping[str, n.Team]
    #: the unnamed (default) calendar
    calendar: n.Calendar | None
    #: the unnamed calendar as the engines count with it (set once the checker passed it)
    work_calendar: WorkCalendar | None
    funnel: tuple[str, ...]
    defines: Mapping[str, n.Define]
    scores: Mapping[str, n.Score]
    #: score names in an order where each score comes after the scores it uses
    score_order: tuple[str, ...]
    stages: Mapping[str, n.Stage]
    states: Mapping[str, n.State]
    #: in funnel order of their stage (unknown stages last, in declaration order)
    handoffs: tuple[n.Handoff, ...]
    recycles: tuple[n.Recycle, ...]
    examples: tuple[Located, ...]
    #: lead field paths read as timestamps (schema formats, ``days_since``
    #: arguments, ``sla`` and ``decay`` fields)
    timestamp_paths: frozenset[tuple[str, ...]]
    #: (v1.1) named calendars by name, in declaration order
    calendars: Mapping[str, n.Calendar] = attrs.field(factory=dict)
    #: (v1.1) every valid calendar as the engines count with it, by label: a named
    #: calendar's name, or ``default`` for the unnamed one (set once the checker passed it)
    work_calendars: Mapping[str, WorkCalendar] = attrs.field(factory=dict)
    #: (v1.1) ``entered at`` per stage: stage name -> field path (the report reads it;
    #: no decision does, so these paths are not timestamp paths of the engines)
    entered_at: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    #: the stages of the handoffs in declaration order (file path, then source order):
    #: the order of the handoff columns in the tabular form (spec section 9)
    handoff_columns: tuple[str, ...] = ()

    # ------------------------------------------------------------------ calendars
    def __attrs_post_init__(self) -> None:
        # Deeply immutable: the nodes are frozen, the sequences tuples, and the
        # mappings read-only (policy.model.frozen says why).
        for field in _MAPPING_FIELDS:
            object.__setattr__(self, field, freeze(getattr(self, field)))

    def calendar_label(self, handoff: n.Handoff, route: n.Route | None) -> str | None:
        """The calendar business time of ``handoff`` counts on when ``route`` was chosen
        (spec section 2): the route's ``on``, else the handoff's ``calendar`` line, else
        the unnamed calendar. A label (a calendar's name, or ``default`` for the unnamed
        one), or None when none applies: no calendar is declared for it (E107), or the
        name is unknown (E104).
        """
        label = route.calendar.name if route is not None and route.calendar is not None else None
        if label is None:
            line = next((i for i in handoff.items if isinstance(i, n.HandoffCalendar)), None)
            label = line.name.name if line is not None else None
        if label is None or label == n.DEFAULT_CALENDAR:
            return n.DEFAULT_CALENDAR if self.calendar is not None else None
        return label if label in self.calendars else None

    def work_calendar_for(self, handoff: n.Handoff, route: n.Route | None) -> WorkCalendar | None:
        """The :class:`WorkCalendar` of :meth:`calendar_label`, or None."""
        label = self.calendar_label(handoff, route)
        if label is None:
            return None
        if label == n.DEFAULT_CALENDAR and label not in self.work_calendars:
            return self.work_calendar
        return self.work_calendars.get(label)

    def handoff_at(self, stage: str) -> n.Handoff | None:
        """The handoff at a stage (there is at most one, E103)."""
        return next((h for h in self.handoffs if h.stage.name == stage), None)

    # ------------------------------------------------------------------ names
    def resolve(self, ref: n.Ref) -> tuple[str, object]:
        """``("define", Define)``, ``("score", Score)`` or ``("field", path)``."""
        if len(ref.path) == 1:
            name = ref.path[0]
            if name in self.defines:
                return ("define", self.defines[name])
            if name in self.scores:
                return ("score", self.scores[name])
        return ("field", ref.path)

    def is_timestamp(self, expr: n.Expr) -> bool:
        """Whether an expression is a timestamp-valued field (directly or through a define).

        Both engines use this to read a string literal compared with a timestamp
        (``mql_at >= "2026-11-01"``) as an instant, parsed once at load.
        """
        seen: set[str] = set()
        while isinstance(expr, n.Ref):
            kind, target = self.resolve(expr)
            if kind == "field":
                return expr.path in self.timestamp_paths
            if kind != "define" or target.name.name in seen:  # type: ignore[union-attr]
                return False
            seen.add(target.name.name)  # type: ignore[union-attr]
            expr = target.value  # type: ignore[union-attr]
        return False

    def text_literal(self, expr: n.Expr) -> n.String | None:
        """The string literal an expression is, itself or through defines
        (``define cutoff = "2026-11-01"``), else None.

        A define is a named value (spec section 2), so ``mql_at >= cutoff`` must read
        the text as an instant exactly as ``mql_at >= "2026-11-01"`` does.
        """
        seen: set[str] = set()
        while isinstance(expr, n.Ref):
            kind, target = self.resolve(expr)
            if kind != "define" or target.name.name in seen:  # type: ignore[union-attr]
                return None
            seen.add(target.name.name)  # type: ignore[union-attr]
            expr = target.value  # type: ignore[union-attr]
        return expr if isinstance(expr, n.String) else None

    @property
    def timestamp_order(self) -> tuple[tuple[str, ...], ...]:
        """The order in which prepared timestamp values are handed to the engines."""
        return tuple(sorted(self.timestamp_paths))

    def stage_index(self, name: str | None) -> int:
        """Position of a stage in the funnel; -1 for none or an unknown name."""
        try:
            return self.funnel.index(name) if name is not None else -1
        except ValueError:
            return -1

    def funnel_stages(self) -> Iterator[n.Stage]:
        """The declared stages in funnel order (stages missing a declaration skipped)."""
        for name in self.funnel:
            stage = self.stages.get(name)
            if stage is not None:
                yield stage

    def all_decls(self) -> Iterator[Located]:
        for m in self.modules:
            for d in m.decls:
                yield Located(m, d)

    def source_of(self, file: str) -> str | None:
        for m in self.modules:
            if m.path == file:
                return m.source
        return None


# --------------------------------------------------------------------------- walking


def walk_expr(expr: n.Expr | None) -> Iterator[n.Expr]:
    """Every sub-expression, parents first."""
    if expr is None:
        return
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, n.Binary):
            stack.append(e.right)
            stack.append(e.left)
        elif isinstance(e, (n.Not, n.Neg, n.Presence)):
            stack.append(e.operand)
        elif isinstance(e, n.Call):
            stack.extend(reversed(e.args))
        elif isinstance(e, n.ListExpr):
            stack.extend(reversed(e.items))


def stmt_exprs(stmt: n.Stmt) -> Iterator[n.Expr]:
    """The expressions a statement holds directly (not those of nested statements)."""
    if isinstance(stmt, n.Define):
        yield stmt.value
    elif isinstance(stmt, n.PointsIf):
        yield stmt.condition
    elif isinstance(stmt, n.PointsPer):
        yield stmt.count
    elif isinstance(stmt, n.Decay):
        yield stmt.since
    elif isinstance(stmt, (n.Require, n.Exclude, n.KeepWhen, n.Recycle)):
        yield stmt.condition
    elif isinstance(stmt, n.Route):
        if stmt.condition is not None:
            yield stmt.condition
    elif isinstance(stmt, n.Sla):
        yield stmt.start
        yield from stmt.stops
    elif isinstance(stmt, n.Reject):
        yield stmt.field
        yield stmt.reasons
    elif isinstance(stmt, (n.IdField, n.EnteredAt)):
        yield stmt.field


def children(stmt: n.Stmt) -> tuple[n.Stmt, ...]:
    """The statements inside a block (empty for a one-line declaration)."""
    return getattr(stmt, "items", ()) if isinstance(stmt, n.BLOCKS) else ()


def refs_in(stmt: n.Stmt) -> Iterator[n.Ref]:
    """Every name or field reference in a statement and its block."""
    for e in stmt_exprs(stmt):
        for sub in walk_expr(e):
            if isinstance(sub, n.Ref):
                yield sub
    for child in children(stmt):
        yield from refs_in(child)


# --------------------------------------------------------------------------- building


def define_refs(defines: Mapping[str, n.Define], name: str) -> Iterator[str]:
    """The defines the value of define ``name`` names, left to right (as an engine meets
    them), repeats included."""
    for e in walk_expr(defines[name].value):
        if type(e) is n.Ref and len(e.path) == 1 and e.path[0] in defines:
            yield e.path[0]


def define_order(defines: Mapping[str, n.Define]) -> list[str]:
    """Every define, each after the defines it uses (declaration order otherwise): the
    order a depth-first walk from the first declared finishes them in. Found without
    recursion, so a long chain (`define d1 = d2 + 1`, `define d2 = d3 + 1`, …) cannot
    meet Python's recursion limit; in a cycle (E108) the member reached first comes last.
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    for root in defines:
        if root in state:
            continue
        state[root] = 1
        work = [(root, define_refs(defines, root))]
        while work:
            name, refs = work[-1]
            dep = next(refs, None)
            if dep is None:
                work.pop()
                state[name] = 2
                order.append(name)
            elif dep not in state:
                state[dep] = 1
                work.append((dep, define_refs(defines, dep)))
    return order


def _order_scores(
    scores: Mapping[str, n.Score], defines: Mapping[str, n.Define]
) -> tuple[str, ...]:
    """Scores in dependency order (through defines too); cycles broken by declaration order."""
    # The scores each define reaches, through the defines it uses: each define once, after
    # those it uses, so neither a long chain of defines nor one that uses another twice at
    # every step (`define d1 = d2 + d2`, …: twice the work per define before) costs more
    # than the policy's size. In a cycle (E108, which the checker reports) a define does
    # not see what the member still being walked reaches.
    reach: dict[str, frozenset[str]] = {}

    def deps_of_expr(e) -> set[str]:
        out: set[str] = set()
        for sub in walk_expr(e):
            if isinstance(sub, n.Ref) and len(sub.path) == 1:
                name = sub.path[0]
                if name in defines:
                    out |= reach.get(name, frozenset())
                elif name in scores:
                    out.add(name)
        return out

    for name in define_order(defines):
        reach[name] = frozenset(deps_of_expr(defines[name].value))
    deps: dict[str, set[str]] = {}
    for name, score in scores.items():
        d: set[str] = set()
        for ref in refs_in(score):
            d |= deps_of_expr(ref)
        deps[name] = d - {name}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) is not None:
            return  # done, or on the stack (a cycle: the checker reports it)
        state[name] = 1
        for dep in sorted(deps[name], key=list(scores).index):
            visit(dep)
        state[name] = 2
        order.append(name)

    for name in scores:
        visit(name)
    return tuple(order)


def _timestamp_paths(modules, schema, defines, scores) -> frozenset[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()
    if schema is not None:
        for path, info in schema.fields.items():
            if getattr(info, "is_timestamp", False):
                paths.add(tuple(path))

    def field_path(e) -> tuple[str, ...] | None:
        if isinstance(e, n.Ref) and not (
            len(e.path) == 1 and (e.path[0] in defines or e.path[0] in scores)
        ):
            return e.path
        return None

    for m in modules:
        for d in m.decls:
            for stmt in (d, *children(d)):
                if isinstance(stmt, n.Sla):
                    for r in (stmt.start, *stmt.stops):
                        paths.add(r.path)
                elif isinstance(stmt, n.Decay):
                    paths.add(stmt.since.path)
                for e in stmt_exprs(stmt):
                    for sub in walk_expr(e):
                        if isinstance(sub, n.Call) and sub.func in TIME_FUNCTIONS and sub.args:
                            p = field_path(sub.args[0])
                            if p is not None:
                                paths.add(p)
    return frozenset(paths)


def build_model(
    modules: tuple[n.Module, ...] | list[n.Module],
    *,
    schema: LeadSchema | None = None,
    work_calendar: WorkCalendar | None = None,
) -> PolicyModel:
    """Gather the declarations of every module (sorted by path) into one model.

    The model also builds the calendars the engines count business time with, from
    each valid ``calendar { … }`` block (:func:`policy.model.calendar.work_calendars`;
    an invalid block, which the checker reports, builds none). ``work_calendar``
    overrides the unnamed one.
    """
    # zoneinfo and tzdata load only when a model is built, not when the types are imported
    from policy.model.calendar import work_calendars

    modules = tuple(sorted(modules, key=lambda m: m.path))
    header = version = schema_ref = id_field = calendar = funnel = None
    teams: dict[str, n.Team] = {}
    calendars: dict[str, n.Calendar] = {}
    entered_at: dict[str, tuple[str, ...]] = {}
    defines: dict[str, n.Define] = {}
    scores: dict[str, n.Score] = {}
    stages: dict[str, n.Stage] = {}
    states: dict[str, n.State] = {}
    handoffs: list[n.Handoff] = []
    recycles: list[n.Recycle] = []
    examples: list[Located] = []
    for m in modules:
        for d in m.decls:
            if isinstance(d, n.PolicyHeader):
                header = header or d
            elif isinstance(d, n.Version):
                version = version if version is not None else d.label
            elif isinstance(d, n.SchemaRef):
                schema_ref = schema_ref or Located(m, d)
            elif isinstance(d, n.IdField):
                id_field = id_field or d.field.path
            elif isinstance(d, n.Team):
                teams.setdefault(d.name.name, d)
            elif isinstance(d, n.Calendar):
                if d.name is not None:
                    calendars.setdefault(d.name.name, d)
                else:
                    calendar = calendar or d
            elif isinstance(d, n.Funnel):
                funnel = funnel or d
            elif isinstance(d, n.Define):
                defines.setdefault(d.name.name, d)
            elif isinstance(d, n.Score):
                scores.setdefault(d.name.name, d)
            elif isinstance(d, n.Stage):
                stages.setdefault(d.name.name, d)
                line = next((i for i in d.items if isinstance(i, n.EnteredAt)), None)
                if line is not None and stages[d.name.name] is d:
                    entered_at[d.name.name] = line.field.path
            elif isinstance(d, n.State):
                states.setdefault(d.name.name, d)
            elif isinstance(d, n.Handoff):
                handoffs.append(d)
            elif isinstance(d, n.Recycle):
                recycles.append(d)
            elif isinstance(d, n.Example):
                examples.append(Located(m, d))
    declared = tuple(h.stage.name for h in handoffs)
    order = tuple(s.name for s in funnel.stages) if funnel else ()
    handoffs.sort(key=lambda h: order.index(h.stage.name) if h.stage.name in order else len(order))
    model = PolicyModel(
        modules=modules,
        header=header,
        version=version,
        schema_ref=schema_ref,
        schema=schema,
        id_field=id_field,
        teams=teams,
        calendar=calendar,
        work_calendar=work_calendar,
        funnel=order,
        defines=defines,
        scores=scores,
        score_order=_order_scores(scores, defines),
        stages=stages,
        states=states,
        handoffs=tuple(handoffs),
        handoff_columns=declared,
        recycles=tuple(recycles),
        examples=tuple(examples),
        timestamp_paths=_timestamp_paths(modules, schema, defines, scores),
        calendars=calendars,
        entered_at=entered_at,
    )
    built = work_calendars(model)
    if work_calendar is None:
        work_calendar = built.get(n.DEFAULT_CALENDAR)
    return attrs.evolve(model, work_calendar=work_calendar, work_calendars=built)
