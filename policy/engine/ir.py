"""The resolved, typed intermediate form (IR) every engine runs.

:func:`policy.engine.resolve.resolve` builds one :class:`Program` from a checked
:class:`~policy.model.namespace.PolicyModel`; the reference interpreter
(:mod:`policy.engine.interpreter`), the Python compiler (:mod:`policy.engine.compiler`)
and the SQL compiler all read it and nothing else of the model. What the IR settles, so
that no engine has to:

* **Names are resolved.** A name is a :class:`DefineRef`, a :class:`ScoreRef` or a
  :class:`Field`; never a bare path to look up.
* **Every expression carries its type** (:class:`Type`) and whether it may be missing
  (``nullable``). A field's type comes from the schema, else from how the policy uses
  it (compared with a number, given to ``days_since``, used as a condition, …), else
  :attr:`Type.ANY`. A field's ``type`` says what its value is *when the lead was
  validated against the schema*; the Python engines also run unvalidated leads of
  schema-less policies, so they trust only ``Field.ts`` (timestamps are parsed before
  any engine runs) and treat other field values as anything.
* **Constants are folded**: ``2 * 50`` is ``Const(100)``; a string compared with a
  timestamp (``mql_at >= "2026-11-01"``) is ``Const`` of the instant (µs since the
  epoch, or None when the text is no timestamp, which makes the comparison false).
* **Durations are microseconds** (:class:`Duration`); business durations keep their
  amount and unit because a business day is as long as its calendar's working day.
* **Calendars are resolved**: each :class:`Route` carries the calendar its handoff's
  business time counts on when that route is chosen, and :class:`Handoff.calendar` is
  the one used when no route is chosen (spec v1.1 section 2: the route's ``on NAME``,
  else the handoff's ``calendar NAME``, else the unnamed calendar).
* **Texts are printed once**: each rule's one-line text for traces (``rule``), and each
  gate line's ``unmet`` text for ``next.unmet``, by the canonical printer, so the
  engines never call the formatter.

Values at run time are those of :mod:`policy.engine.runtime`: None is missing,
timestamps are ``int`` µs, lists are Python lists. The IR itself is immutable: list
constants are tuples (:attr:`Const.value`; :attr:`Const.runtime` gives the list an
engine computes with) and mappings are read-only proxies. A ``Program`` holds no
per-lead state and no cache, so it is shared freely between threads.

Operators are named by their spelling, the keys of :data:`policy.engine.runtime.TESTS`
and :data:`~policy.engine.runtime.ARITHMETIC` (``"=="``, ``"not in"``, ``"+"``): the
runtime's table gives each its one meaning.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from policy.syntax.nodes import NOWHERE, Span, plain_key

if TYPE_CHECKING:  # pragma: no cover
    from policy.model.calendar import WorkCalendar

__all__ = [
    "And", "Arith", "Bounds", "Call", "Const", "Decay", "Define", "DefineRef", "Duration",
    "Escalate", "Expr", "Field", "GateLine", "Handoff", "ListOf", "Neg", "Not", "Or",
    "PointsIf", "PointsPer", "Present", "Program", "Recycle", "Reject", "Route", "Score",
    "ScoreRef", "Sla", "Stage", "Test", "Type", "walk",
]


class Type(enum.Enum):
    """The language's types (spec section 3); ``ANY`` when unknown or mixed."""

    BOOLEAN = "boolean"
    NUMBER = "number"
    TEXT = "text"
    LIST = "list"
    TIMESTAMP = "timestamp"
    OBJECT = "object"
    NULL = "null"
    ANY = "any"


def _span() -> Any:
    return attrs.field(default=NOWHERE, eq=False, repr=False, kw_only=True)


# --------------------------------------------------------------------------- expressions


class Expr:
    """Base of the IR's expressions: each has ``type`` and ``nullable``."""

    __slots__ = ()
    type: Type
    nullable: bool


@attrs.frozen
class Const(Expr):
    """A value known at load time: a literal, or a folded expression.

    A list is a tuple here (the IR is immutable); :attr:`runtime` is the value an
    engine computes with (a fresh list for a list).
    """

    value: Any
    type: Type
    nullable: bool = attrs.field(init=False)

    @nullable.default
    def _nullable(self) -> bool:
        return self.value is None

    @property
    def runtime(self) -> Any:
        return _thaw(self.value)


def _thaw(v: Any) -> Any:
    return [_thaw(x) for x in v] if type(v) is tuple else v


@attrs.frozen
class Field(Expr):
    """A lead field. ``ts`` is its index in the prepared timestamps tuple when the field
    is read as a timestamp (then its value is ``ts[i]``, an ``int`` or None), else None
    (then its value is the lead's own, ``runtime.get(lead, path)``)."""

    path: tuple[str, ...]
    type: Type
    ts: int | None
    nullable: bool = True

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    @property
    def written(self) -> str:
        """The path as the language writes it, a key that needs them in backticks
        (``x.`a b```), so the key ``a.b`` and the nested ``a`` → ``b`` stay apart."""
        return written_path(self.path)


@attrs.frozen
class ScoreRef(Expr):
    """A score's value: an integer, computed before anything that reads it."""

    name: str
    type: Type = Type.NUMBER
    nullable: bool = False


@attrs.frozen
class DefineRef(Expr):
    """A define's value (:attr:`Program.defines` holds its expression). Kept as a name,
    not inlined, so a trace can show ``enterprise = true`` and an engine can compute a
    define once per lead."""

    name: str
    type: Type
    nullable: bool


@attrs.frozen
class ListOf(Expr):
    """A list literal with items that are not all constants."""

    items: tuple[Expr, ...]
    type: Type = Type.LIST
    nullable: bool = False


@attrs.frozen
class Not(Expr):
    """``not x``: true unless ``x`` is boolean true."""

    operand: Expr
    type: Type = Type.BOOLEAN
    nullable: bool = False


@attrs.frozen
class And(Expr):
    left: Expr
    right: Expr
    type: Type = Type.BOOLEAN
    nullable: bool = False


@attrs.frozen
class Or(Expr):
    left: Expr
    right: Expr
    type: Type = Type.BOOLEAN
    nullable: bool = False


@attrs.frozen
class Present(Expr):
    """``x is present`` (``present`` true) or ``x is missing``."""

    operand: Expr
    present: bool
    type: Type = Type.BOOLEAN
    nullable: bool = False


@attrs.frozen
class Neg(Expr):
    """Unary minus: missing unless a number."""

    operand: Expr
    type: Type = Type.NUMBER
    nullable: bool = True


@attrs.frozen
class Test(Expr):
    """A comparison, membership or text test: ``runtime.TESTS[op](left, right)``."""

    op: str
    left: Expr
    right: Expr
    type: Type = Type.BOOLEAN
    nullable: bool = False
    #: a comparison of two timestamps: exact µs (``runtime.ts_test``), never as doubles
    exact: bool = attrs.field(default=False, kw_only=True)


@attrs.frozen
class Arith(Expr):
    """``+ - * /``: ``runtime.ARITHMETIC[op](left, right)``; missing unless both are numbers
    (and the divisor is not zero). May raise ``OverflowError`` on huge numbers."""

    op: str
    left: Expr
    right: Expr
    type: Type = Type.NUMBER
    nullable: bool = True


@attrs.frozen
class Call(Expr):
    """A built-in function (``lower``, ``length``, ``domain``, ``days_since``,
    ``hours_since``). Any other name or arity (which the checker refuses) is missing,
    after its arguments are evaluated."""

    func: str
    args: tuple[Expr, ...]
    type: Type
    nullable: bool = True


def walk(expr: Expr | None):
    """Every sub-expression of ``expr``, parents first (defines are not entered)."""
    if expr is None:
        return
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, (Test, Arith, And, Or)):
            stack.append(e.right)
            stack.append(e.left)
        elif isinstance(e, (Not, Neg, Present)):
            stack.append(e.operand)
        elif isinstance(e, (Call, ListOf)):
            stack.extend(reversed(e.args if isinstance(e, Call) else e.items))


# --------------------------------------------------------------------------- rules


@attrs.frozen
class Define:
    """``define NAME = value``; ``may_raise`` when computing it may raise (arithmetic,
    directly or through other defines), so an engine computes it only where needed."""

    name: str
    value: Expr
    type: Type
    nullable: bool
    may_raise: bool
    span: Span = _span()


@attrs.frozen
class PointsIf:
    """``±N if C``."""

    points: int | float
    condition: Expr
    rule: str
    span: Span = _span()


@attrs.frozen
class PointsPer:
    """``±N per F up to M`` (``cap`` None: no cap)."""

    points: int | float
    count: Expr
    cap: int | float | None
    rule: str
    span: Span = _span()


@attrs.frozen
class Decay:
    """``decay half-life D since T``. ``half_life_us`` is None for a business duration,
    which the checker refuses; an engine then fails for every lead (an engine fault)."""

    half_life_us: int | None
    since: Expr
    rule: str
    span: Span = _span()


@attrs.frozen
class Bounds:
    """``range LO to HI``."""

    low: int | float
    high: int | float
    rule: str
    span: Span = _span()


@attrs.frozen
class Score:
    """A scoring model. ``items``: the ``+N if`` and ``per`` lines in order; the first
    ``decay`` and ``range`` lines (the checker refuses a second)."""

    name: str
    items: tuple[PointsIf | PointsPer, ...]
    decay: Decay | None
    bounds: Bounds | None
    span: Span = _span()

    @property
    def rule(self) -> str:
        return f"score {self.name}"


@attrs.frozen
class GateLine:
    """One line of a stage's gate: ``kind`` is ``"require"``, ``"exclude"`` or ``"keep"``.

    ``unmet`` is what ``next.unmet`` lists when this line blocks the gate (the reason,
    or the condition printed canonically, ``not …`` for an exclude); None for ``keep``.
    """

    kind: str
    condition: Expr
    reason: str | None
    unmet: str | None
    rule: str
    span: Span = _span()


def written_path(path: tuple[str, ...]) -> str:
    """A field path as the language writes it: ``company.employees``, ``x.`a b```."""
    return ".".join(k if plain_key(k) else f"`{k}`" for k in path)


@attrs.frozen
class EnteredAt:
    """(v1.1) ``entered at FIELD``: where the CRM records the stage's entry time. No
    decision reads it; ``explain`` shows it."""

    path: tuple[str, ...]
    rule: str
    span: Span = _span()


@attrs.frozen
class Stage:
    """A declared funnel stage: its position in the funnel and its gate, in source order."""

    name: str
    index: int
    lines: tuple[GateLine, ...]
    span: Span = _span()
    entered: EnteredAt | None = None

    @property
    def rule(self) -> str:
        return f"stage {self.name}"


@attrs.frozen
class Duration:
    """A duration: ``fixed_us`` for a fixed one (a day is 86,400 s); else a business
    duration of ``amount`` ``unit`` (``"business hours"`` or ``"business days"``)."""

    amount: int | float
    unit: str
    fixed_us: int | None

    @property
    def is_business(self) -> bool:
        return self.fixed_us is None


@attrs.frozen
class Route:
    """``route "T" if C [on NAME]`` (``condition`` None: ``otherwise``). ``calendar``:
    where the handoff's business time counts when this route is chosen: the route's
    ``on``, else the handoff's ``calendar`` line, else the unnamed calendar (None: no
    calendar to count on). ``calendar_label`` names it (``default`` for the unnamed one;
    a key of :attr:`Program.calendars`)."""

    target: str
    condition: Expr | None
    calendar: WorkCalendar | None = attrs.field(eq=False)
    calendar_label: str | None
    rule: str
    span: Span = _span()


@attrs.frozen
class Sla:
    """``sla D from START until STOP, …``; ``missing_start`` is the violation's message."""

    duration: Duration
    start: Expr
    stops: tuple[Expr, ...]
    missing_start: str
    rule: str
    span: Span = _span()


@attrs.frozen
class Escalate:
    """``escalate to "T" after D`` (counted from the SLA's start)."""

    target: str
    after: Duration
    rule: str
    span: Span = _span()


@attrs.frozen
class Reject:
    """``reject to STATE with reason FIELD in [..]``. ``reason`` is read as the lead
    holds it (a timestamp stays text: a :class:`Field` with ``ts`` None)."""

    state: str
    reason: Expr
    reasons: Expr
    #: the name the reason field is shown by in a trace (``rejection_reason``)
    reason_name: str
    rule: str
    span: Span = _span()


@attrs.frozen
class Handoff:
    """``handoff STAGE to TEAM``; applies when the reached stage's index is ``index`` or
    more (``index`` -1: a stage not in the funnel, never applies)."""

    stage: str
    team: str
    index: int
    routes: tuple[Route, ...]
    sla: Sla | None
    escalate: Escalate | None
    reject: Reject | None
    #: where business time counts when no route is chosen: the handoff's ``calendar``
    #: line, else the unnamed calendar
    calendar: WorkCalendar | None = attrs.field(eq=False)
    calendar_label: str | None
    span: Span = _span()

    @property
    def rule(self) -> str:
        return f"handoff {self.stage} to {self.team}"


@attrs.frozen
class Recycle:
    """``recycle S, … to STATE if C "reason"``; ``stages`` as funnel indices."""

    stages: frozenset[int]
    state: str
    condition: Expr
    reason: str | None
    rule: str
    span: Span = _span()


# --------------------------------------------------------------------------- the program


@attrs.frozen(kw_only=True)
class Program:
    """One policy, resolved: everything an engine needs to decide a lead.

    ``scores`` are in evaluation order (each after the scores it reads);
    ``score_names`` in declaration order (the order of ``decision.scores``).
    ``stages`` are the declared funnel stages in funnel order; ``funnel`` every name
    the ``funnel`` line lists (a name without a declaration, which the checker refuses,
    has no gate to pass: the engines skip it).
    ``timestamp_order`` is the order of the prepared timestamps tuple ``ts``, and
    ``timestamp_kinds`` says how each is read.
    ``calendars`` maps each valid calendar's label (a named calendar's name, ``default``
    for the unnamed one; also None for the unnamed one, which may be None when there is
    none) to its :class:`~policy.model.calendar.WorkCalendar`.
    """

    name: str | None
    version: str | None
    id_field: tuple[str, ...] | None
    funnel: tuple[str, ...]
    defines: Mapping[str, Define]
    scores: tuple[Score, ...]
    score_names: tuple[str, ...]
    stages: tuple[Stage, ...]
    handoffs: tuple[Handoff, ...]
    recycles: tuple[Recycle, ...]
    timestamp_order: tuple[tuple[str, ...], ...]
    calendars: Mapping[str | None, WorkCalendar | None] = attrs.field(eq=False)
    #: how each path of ``timestamp_order`` is read (its schema's ``format``): ``date``
    #: takes only dates, ``date-time`` needs a time, ``any`` takes either (a field only
    #: ``days_since`` or an ``sla`` reads). Empty (a program built by hand): all ``any``.
    timestamp_kinds: tuple[str, ...] = ()
    #: the type of each field the schema declares or the policy's uses agree on (the
    #: ``type`` its :class:`Field` nodes carry); a field absent here is :attr:`Type.ANY`.
    #: A backend that must fix a column's type before it reads a lead (the SQL
    #: compiler over a table) reads it here.
    field_types: Mapping[tuple[str, ...], Type] = attrs.field(
        factory=lambda: MappingProxyType({}))
    #: the stages of the handoffs in declaration order, the order of the handoff
    #: columns in the tabular form (spec section 9); empty: the order of ``handoffs``
    handoff_columns: tuple[str, ...] = ()

    def timestamp_kind(self, index: int) -> str:
        """How the ``index``-th timestamp path is read: ``date``, ``date-time`` or ``any``."""
        return self.timestamp_kinds[index] if self.timestamp_kinds else "any"

    def stage(self, name: str | None) -> Stage | None:
        """The declared stage called ``name``, or None."""
        for s in self.stages:
            if s.name == name:
                return s
        return None

    def stage_index(self, name: str | None) -> int:
        """Position of a stage in the funnel; -1 for none or an unknown name."""
        try:
            return self.funnel.index(name) if name is not None else -1
        except ValueError:
            return -1
