"""The AST, part two: statements (declarations and the lines inside their blocks) and
the :class:`Module` of one file.

Statement nodes carry a :class:`~policy.syntax.expr_nodes.Span` and
:class:`~policy.syntax.expr_nodes.Comments`, both ``eq=False``; they hold the
expressions of :mod:`policy.syntax.expr_nodes`. Import both through
:mod:`policy.syntax.nodes`.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from policy.syntax.expr_nodes import (
    Comments,
    Duration,
    Expr,
    Ident,
    Ref,
    Span,
    comments_field,
    span_field,
)

__all__ = [
    "At",
    "BLOCKS",
    "Calendar",
    "CalendarItem",
    "DEFAULT_CALENDAR",
    "Decay",
    "Decl",
    "Define",
    "EnteredAt",
    "Escalate",
    "Example",
    "ExampleItem",
    "Exclude",
    "Expect",
    "ExpectKind",
    "Funnel",
    "Handoff",
    "HandoffCalendar",
    "HandoffItem",
    "Holidays",
    "Hours",
    "IdField",
    "KeepWhen",
    "LeadFile",
    "LeadLiteral",
    "LinesFile",
    "Module",
    "PointsIf",
    "PointsPer",
    "PolicyHeader",
    "Range",
    "Recycle",
    "Reject",
    "Require",
    "Route",
    "SchemaRef",
    "Score",
    "ScoreItem",
    "Sla",
    "Stage",
    "StageItem",
    "State",
    "Stmt",
    "Team",
    "Timezone",
    "Version",
    "Workdays",
]


# --------------------------------------------------------------------------- statements


@attrs.frozen
class Stmt:
    """Base of every statement (a declaration or a line inside a block)."""

    span: Span = span_field()
    comments: Comments = comments_field()
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
    span: Span = span_field()


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
