"""The abstract syntax tree of the funnel policy language.

Produced by :mod:`policy.syntax.parser`; walked by the checker, the formatter, the
interpreter, the compiler, ``explain``, ``docs`` and the semantic ``diff``.

Every node is a frozen attrs class. Children are tuples. Each node carries a
:class:`Span` and statement nodes carry their :class:`Comments`; both are
declared with ``eq=False``, so two trees compare equal exactly when they mean
the same thing, whatever their layout or comments (Cedar's habit). That makes
the formatter's round-trip check and the semantic diff one comparison each.

Names that point somewhere (a stage in ``funnel``, an owner, a handoff's team)
are :class:`Ident` values so a diagnostic can underline the very word.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

#: Reserved words: never a declared name, and a field key of that spelling is written in
#: backticks (spec section 1). Here, not in the parser, so that code far from parsing
#: (problem paths in decisions) spells keys as the language does without loading Lark.
RESERVED = frozenset(
    {"true", "false", "null", "none", "and", "or", "not", "in", "contains", "is"}
)


def plain_key(key: str) -> bool:
    r"""Whether a field key stands bare in a path (``company``, ``Lead_Source__c``); any
    other key is written in backticks (``\`annual revenue\```, ``\`not\```)."""
    return bool(key) and (key[0].isascii() and (key[0].isalpha() or key[0] == "_")) and all(
        c.isascii() and (c.isalnum() or c == "_") for c in key) and key not in RESERVED \
        and key.lower() not in _LITERAL_SPELLINGS


#: Keys that read as a literal in another case (`True`, `NULL`, `None`): the parser refuses
#: them bare as a field (a likely typo for `true`), so they are written in backticks.
_LITERAL_SPELLINGS = frozenset({"true", "false", "null", "none"})


# --------------------------------------------------------------------------- positions


@attrs.frozen
class Span:
    """Where a node stands: 1-based lines and columns; ``end_column`` is exclusive.

    ``start`` and ``end`` are character offsets into the file's text.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NOWHERE = Span("<generated>", 0, 0, 0, 0)


def _span() -> Any:
    return attrs.field(default=NOWHERE, eq=False, repr=False, kw_only=True)


@attrs.frozen
class Comments:
    """Comments attached to one statement.

    ``leading``: whole-line comments just above it (and comments found inside a
    statement that spans several lines, which the formatter puts above it);
    ``trailing``: the comment at the end of its line; ``dangling``: for a block,
    the comments after its last item, just before the ``}``. Texts keep their ``#``.
    """

    leading: tuple[str, ...] = ()
    trailing: str | None = None
    dangling: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.leading or self.trailing or self.dangling)

    def all(self) -> tuple[str, ...]:
        """Every comment, in source order."""
        tail = (self.trailing,) if self.trailing else ()
        return self.leading + tail + self.dangling


NO_COMMENTS = Comments()


def _comments() -> Any:
    return attrs.field(default=NO_COMMENTS, eq=False, repr=False, kw_only=True)


@attrs.frozen
class Ident:
    """A name as written, with its own span (for pinpoint diagnostics)."""

    name: str
    span: Span = _span()

    def __str__(self) -> str:
        return self.name


# --------------------------------------------------------------------------- expressions


class BinOp(enum.Enum):
    """Binary operators, with their spelling as ``value``."""

    OR = "or"
    AND = "and"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"
    NOT_IN = "not in"
    CONTAINS = "contains"
    STARTS_WITH = "starts with"
    ENDS_WITH = "ends with"
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"


COMPARISONS = frozenset(
    {BinOp.EQ, BinOp.NE, BinOp.LT, BinOp.LE, BinOp.GT, BinOp.GE}
)
TESTS = COMPARISONS | {BinOp.IN, BinOp.NOT_IN, BinOp.CONTAINS, BinOp.STARTS_WITH, BinOp.ENDS_WITH}
ARITHMETIC = frozenset({BinOp.ADD, BinOp.SUB, BinOp.MUL, BinOp.DIV})

#: Binding strength, loosest first (spec section 3). ``not`` sits between ``and``
#: and the comparisons; unary minus binds tighter than ``*``.
PRECEDENCE: dict[object, int] = {
    BinOp.OR: 1,
    BinOp.AND: 2,
    "not": 3,
    **{op: 4 for op in TESTS},
    "is": 4,
    BinOp.ADD: 5,
    BinOp.SUB: 5,
    BinOp.MUL: 6,
    BinOp.DIV: 6,
    "neg": 7,
    "primary": 8,
}


class Expr:
    """Base class of expression nodes."""

    __slots__ = ()


@attrs.frozen
class Number(Expr):
    """A number literal. ``text`` keeps the author's spelling (``50_000_000``)."""

    value: int | float
    text: str | None = attrs.field(default=None, eq=False, kw_only=True)
    span: Span = _span()


@attrs.frozen
class String(Expr):
    """A string literal (already unescaped)."""

    value: str
    span: Span = _span()


@attrs.frozen
class Bool(Expr):
    """``true`` or ``false``."""

    value: bool
    span: Span = _span()


@attrs.frozen
class Null(Expr):
    """``null``."""

    span: Span = _span()


@attrs.frozen
class ListExpr(Expr):
    """A list literal ``[a, b, c]``."""

    items: tuple[Expr, ...]
    span: Span = _span()


@attrs.frozen
class Ref(Expr):
    """A name or a field path: ``fit``, ``company.employees``, ``x.`annual revenue```.

    Whether it names a define, a score or a lead field is decided by the checker
    (a declared name shadows a field of the same name).
    """

    path: tuple[str, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@attrs.frozen
class Call(Expr):
    """A built-in function call: ``days_since(t)``, ``domain(email)``, …"""

    func: str
    args: tuple[Expr, ...]
    span: Span = _span()


@attrs.frozen
class Not(Expr):
    """``not x``."""

    operand: Expr
    span: Span = _span()


@attrs.frozen
class Neg(Expr):
    """Unary minus."""

    operand: Expr
    span: Span = _span()


@attrs.frozen
class Binary(Expr):
    """``left OP right`` for every :class:`BinOp`."""

    op: BinOp
    left: Expr
    right: Expr
    span: Span = _span()


@attrs.frozen
class Presence(Expr):
    """``x is present`` (``present=True``) or ``x is missing``."""

    operand: Expr
    present: bool
    span: Span = _span()


# --------------------------------------------------------------------------- durations


class Unit(enum.Enum):
    """Duration units; ``value`` is the canonical (plural) spelling."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    BUSINESS_HOURS = "business hours"
    BUSINESS_DAYS = "business days"

    @property
    def is_business(self) -> bool:
        return self in (Unit.BUSINESS_HOURS, Unit.BUSINESS_DAYS)


#: Seconds in one unit, for the fixed-length units (a day is 86,400 seconds).
UNIT_SECONDS = {Unit.MINUTES: 60, Unit.HOURS: 3600, Unit.DAYS: 86400, Unit.WEEKS: 604800}


@attrs.frozen
class Duration:
    """``4 business hours``, ``30 days``. ``text`` keeps the number's spelling."""

    amount: int | float
    unit: Unit
    text: str | None = attrs.field(default=None, eq=False, kw_only=True)
    span: Span = _span()


# --------------------------------------------------------------------------- statements


@attrs.frozen
class Stmt:
    """Base of every statement (a declaration or a line inside a block)."""

    span: Span = _span()
    comments: Comments = _comments()
    #: the author left a blank line above this statement (layout only; the
    #: formatter keeps one such blank line)
    blank_before: bool = attrs.field(default=False, eq=False, repr=False, kw_only=True)


# header ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PolicyHeader(Stmt):
    """``policy NAME "title"``."""

    name: Ident
    title: str


@attrs.frozen(kw_only=True)
class Version(Stmt):
    """``version "2026.11.1"``."""

    label: str


@attrs.frozen(kw_only=True)
class SchemaRef(Stmt):
    """``schema "lead.schema.json"``, relative to the file that names it."""

    path: str


@attrs.frozen(kw_only=True)
class IdField(Stmt):
    """``id lead_id``."""

    field: Ref


@attrs.frozen(kw_only=True)
class Team(Stmt):
    """``team NAME "handle"``."""

    name: Ident
    handle: str


# calendar ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Timezone(Stmt):
    name: str


@attrs.frozen(kw_only=True)
class Workdays(Stmt):
    days: tuple[Ident, ...]


@attrs.frozen(kw_only=True)
class Hours(Stmt):
    """``hours 09:00 to 17:00``; times as written (``HH:MM``)."""

    start: str
    end: str


@attrs.frozen(kw_only=True)
class Holidays(Stmt):
    """``holidays "2026-11-26" …``; the dates as written."""

    dates: tuple[str, ...]


CalendarItem = Timezone | Workdays | Hours | Holidays


@attrs.frozen(kw_only=True)
class Calendar(Stmt):
    """``calendar [NAME] ["desc"] { … }``; ``name`` is None for the unnamed (default) one."""

    items: tuple[CalendarItem, ...]
    name: Ident | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        """How diagnostics and documents call it: ``emea``, or ``default`` when unnamed."""
        return self.name.name if self.name is not None else DEFAULT_CALENDAR


#: The word for the unnamed calendar in ``on default`` (it can never name a calendar).
DEFAULT_CALENDAR = "default"


# funnel, define ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Funnel(Stmt):
    """``funnel a -> b -> c``."""

    stages: tuple[Ident, ...]


@attrs.frozen
class LinesFile:
    """``lines "path"``: a list kept in a text file, relative to the declaring file."""

    path: str
    span: Span = _span()


@attrs.frozen(kw_only=True)
class Define(Stmt):
    """``define NAME ["desc"] = EXPR`` or ``define NAME ["desc"] = lines "path"``.

    For a ``lines`` define, ``lines`` names the file and ``value`` is the list of its
    entries as string literals: empty as parsed, filled in by the loader
    (:mod:`policy.model.loader`) once the file is read. Every later phase therefore
    sees an ordinary list, and two models whose files hold different entries differ.
    """

    name: Ident
    description: str | None
    value: Expr
    lines: LinesFile | None = None


# scores ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PointsIf(Stmt):
    """``+N if C`` / ``-N if C``; ``points`` carries the sign."""

    points: int | float
    condition: Expr


@attrs.frozen(kw_only=True)
class PointsPer(Stmt):
    """``+N per F [up to M]``; ``points`` carries the sign, ``cap`` is M or None."""

    points: int | float
    count: Expr
    cap: int | float | None


@attrs.frozen(kw_only=True)
class Range(Stmt):
    """``range LO to HI``."""

    low: int | float
    high: int | float


@attrs.frozen(kw_only=True)
class Decay(Stmt):
    """``decay half-life D since T``."""

    half_life: Duration
    since: Ref


ScoreItem = PointsIf | PointsPer | Range | Decay


@attrs.frozen(kw_only=True)
class Score(Stmt):
    name: Ident
    description: str | None
    owners: tuple[Ident, ...]
    items: tuple[ScoreItem, ...]


# stages, states ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Require(Stmt):
    condition: Expr
    reason: str | None


@attrs.frozen(kw_only=True)
class Exclude(Stmt):
    condition: Expr
    reason: str | None


@attrs.frozen(kw_only=True)
class KeepWhen(Stmt):
    condition: Expr


@attrs.frozen(kw_only=True)
class EnteredAt(Stmt):
    """``entered at FIELD`` (v1.1): where the CRM records when a lead entered the stage.

    It changes no decision; the report and ``explain``/``docs`` read it.
    """

    field: Ref


StageItem = Require | Exclude | KeepWhen | EnteredAt


@attrs.frozen(kw_only=True)
class Stage(Stmt):
    name: Ident
    description: str | None
    owners: tuple[Ident, ...]
    items: tuple[StageItem, ...]


@attrs.frozen(kw_only=True)
class State(Stmt):
    name: Ident
    description: str | None
    owners: tuple[Ident, ...]


# handoffs, recycling -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Route(Stmt):
    """``route "R" if C [on CAL]``; ``condition`` is None for ``otherwise``.

    ``calendar`` is the ``on`` name: a calendar's name, ``default`` (the unnamed
    calendar, :data:`DEFAULT_CALENDAR`), or None when the route has no ``on``.
    """

    target: str
    condition: Expr | None
    calendar: Ident | None = None


@attrs.frozen(kw_only=True)
class Sla(Stmt):
    """``sla D from F until G[, H…]``."""

    duration: Duration
    start: Ref
    stops: tuple[Ref, ...]


@attrs.frozen(kw_only=True)
class Escalate(Stmt):
    """``escalate to "X" after D``."""

    target: str
    after: Duration


@attrs.frozen(kw_only=True)
class Reject(Stmt):
    """``reject to STATE with reason FIELD in LIST``; ``reasons`` is a list or a define."""

    state: Ident
    field: Ref
    reasons: Expr


@attrs.frozen(kw_only=True)
class HandoffCalendar(Stmt):
    """``calendar NAME`` inside a handoff (v1.1): the calendar its routes count on by default."""

    name: Ident


HandoffItem = Route | Sla | Escalate | Reject | HandoffCalendar


@attrs.frozen(kw_only=True)
class Handoff(Stmt):
    """``handoff STAGE to TEAM { … }``."""

    stage: Ident
    team: Ident
    items: tuple[HandoffItem, ...]


@attrs.frozen(kw_only=True)
class Recycle(Stmt):
    """``recycle S[, S] to STATE if EXPR ["reason"]``."""

    stages: tuple[Ident, ...]
    state: Ident
    condition: Expr
    reason: str | None


# examples ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class At(Stmt):
    """``at "2026-11-02T15:00:00Z"``."""

    timestamp: str


@attrs.frozen(kw_only=True)
class LeadLiteral(Stmt):
    """``lead { … }``: the parsed JSON object (key order kept)."""

    data: dict


@attrs.frozen(kw_only=True)
class LeadFile(Stmt):
    """``lead file "x.json"``, relative to the file that names it."""

    path: str


class ExpectKind(enum.Enum):
    STAGE = "stage"
    REACHED = "reached"
    SCORE = "score"
    ROUTE = "route"
    SLA = "sla"
    ESCALATE = "escalate"
    REASON = "reason"
    VIOLATION = "violation"
    ERROR = "error"


@attrs.frozen(kw_only=True)
class Expect(Stmt):
    """One expectation.

    ``subject``: the score name for ``score``, else None. ``value``: the expected
    stage/state name, score (a number), route, SLA status, escalation target,
    reason or violation code; None stands for ``none`` (and for ``error``).
    ``at``: the handoff stage named with ``at STAGE``, or None.
    """

    kind: ExpectKind
    subject: Ident | None = None
    value: Any = None
    at: Ident | None = None


ExampleItem = At | LeadLiteral | LeadFile | Expect


@attrs.frozen(kw_only=True)
class Example(Stmt):
    name: str
    items: tuple[ExampleItem, ...]


Decl = (
    PolicyHeader
    | Version
    | SchemaRef
    | IdField
    | Team
    | Calendar
    | Funnel
    | Define
    | Score
    | Stage
    | State
    | Handoff
    | Recycle
    | Example
)

#: Declarations that open a ``{ … }`` block; the formatter separates them by blank lines.
BLOCKS = (Calendar, Score, Stage, Handoff, Example)


# --------------------------------------------------------------------------- files


@attrs.frozen(kw_only=True)
class Module:
    """One ``.funnel`` file. ``path`` is as given to the loader (display form)."""

    path: str
    decls: tuple[Decl, ...]
    #: comments after the last declaration
    trailing: tuple[str, ...] = attrs.field(default=(), eq=False)
    #: the file's text, for diagnostics (source lines) and span slicing
    source: str = attrs.field(default="", eq=False, repr=False)
