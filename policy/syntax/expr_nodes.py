"""The AST, part one: positions, names and expressions (with durations).

Every node is a frozen attrs class; :class:`Span` and :class:`Comments` are declared
with ``eq=False`` so that two trees compare equal exactly when they mean the same thing
(:mod:`policy.syntax.nodes` says why). The statements that hold these expressions are
:mod:`policy.syntax.decl_nodes`; import both through :mod:`policy.syntax.nodes`.
"""

from __future__ import annotations

import enum
import re
from typing import Any

import attrs

__all__ = [
    "ARITHMETIC",
    "BinOp",
    "Binary",
    "Bool",
    "COMPARISONS",
    "Call",
    "Comments",
    "Duration",
    "Expr",
    "Ident",
    "ListExpr",
    "NOWHERE",
    "NO_COMMENTS",
    "Neg",
    "Not",
    "Null",
    "Number",
    "PRECEDENCE",
    "Presence",
    "RESERVED",
    "Ref",
    "Span",
    "String",
    "TESTS",
    "UNIT_SECONDS",
    "Unit",
    "comments_field",
    "plain_key",
    "span_field",
]


#: Reserved words: never a declared name, and a field key of that spelling is written in
#: backticks (spec section 1). Here, not in the parser, so that code far from parsing
#: (problem paths in decisions) spells keys as the language does without loading Lark.
RESERVED = frozenset(
    {"true", "false", "null", "none", "and", "or", "not", "in", "contains", "is"}
)


def plain_key(key: str, first: bool = True) -> bool:
    r"""Whether a field key stands bare in a path (``company``, ``Lead_Source__c``,
    ``año``; after a dot, ``first=False``, also ``2fa``); any other key is written in
    backticks (``\`annual revenue\```, ``\`not\```). The grammar's NAME and DIGIT_KEY:
    letters, digits and underscores of any script (``str.isalnum``), not starting with
    a digit unless after a dot, where no number can stand (spec section 1)."""
    return bool((_BARE if first else _AFTER_DOT)(key)) and key not in RESERVED \
        and key.lower() not in _LITERAL_SPELLINGS


_BARE = re.compile(r"[^\W\d]\w*").fullmatch
_AFTER_DOT = re.compile(r"\w+").fullmatch


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


def span_field() -> Any:
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


def comments_field() -> Any:
    return attrs.field(default=NO_COMMENTS, eq=False, repr=False, kw_only=True)


@attrs.frozen
class Ident:
    """A name as written, with its own span (for pinpoint diagnostics)."""

    name: str
    span: Span = span_field()

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
    span: Span = span_field()


@attrs.frozen
class String(Expr):
    """A string literal (already unescaped)."""

    value: str
    span: Span = span_field()


@attrs.frozen
class Bool(Expr):
    """``true`` or ``false``."""

    value: bool
    span: Span = span_field()


@attrs.frozen
class Null(Expr):
    """``null``."""

    span: Span = span_field()


@attrs.frozen
class ListExpr(Expr):
    """A list literal ``[a, b, c]``."""

    items: tuple[Expr, ...]
    span: Span = span_field()


@attrs.frozen
class Ref(Expr):
    """A name or a field path: ``fit``, ``company.employees``, ``x.`annual revenue```.

    Whether it names a define, a score or a lead field is decided by the checker
    (a declared name shadows a field of the same name).
    """

    path: tuple[str, ...]
    span: Span = span_field()

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@attrs.frozen
class Call(Expr):
    """A built-in function call: ``days_since(t)``, ``domain(email)``, …"""

    func: str
    args: tuple[Expr, ...]
    span: Span = span_field()


@attrs.frozen
class Not(Expr):
    """``not x``."""

    operand: Expr
    span: Span = span_field()


@attrs.frozen
class Neg(Expr):
    """Unary minus."""

    operand: Expr
    span: Span = span_field()


@attrs.frozen
class Binary(Expr):
    """``left OP right`` for every :class:`BinOp`."""

    op: BinOp
    left: Expr
    right: Expr
    span: Span = span_field()


@attrs.frozen
class Presence(Expr):
    """``x is present`` (``present=True``) or ``x is missing``."""

    operand: Expr
    present: bool
    span: Span = span_field()


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
    span: Span = span_field()
