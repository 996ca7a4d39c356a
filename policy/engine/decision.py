"""Decisions and error records (spec section 5): immutable values with one JSON form.

Both engines (:mod:`policy.engine.interpreter`, :mod:`policy.engine.compiler`) return
:class:`Decision` values built from these classes; the CLI and the library
render them with :meth:`Decision.to_dict` / :func:`dumps`. Key order is part
of the contract and fixed here: the same policy, lead and ``as_of`` always give
the same bytes.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NoReturn

import attrs

from policy.engine.timestamps import format_timestamp, to_datetime
from policy.render.escape import json_safe

__all__ = ["PolicyInfo", "Violation", "SlaResult", "HandoffResult", "NextStep", "TraceEvent",
           "Decision", "Problem", "LeadError", "dumps", "SLA_STATUSES"]


def _ts(us: int | None) -> str | None:
    return None if us is None else format_timestamp(us)


def _dt(us: int | None) -> datetime | None:
    return None if us is None else to_datetime(us)


# --------------------------------------------------------------------------- records

#: collections' C accessor of a namedtuple field (the type of any such field): reads one
#: slot of the tuple without a Python call, and refuses assignment.
_tuplegetter = type(namedtuple("_Probe", "x").x)
_new = tuple.__new__
_ALL = slice(None)


def _rebuild(cls: type, values: tuple) -> Any:
    """Unpickling: the record from its values (``tuple.__new__``, as the engines build it)."""
    return _new(cls, values)


def _rebuild_read_only(cls: type, values: tuple) -> Any:
    """Unpickling a decision whose scores were read-only: read-only again."""
    return _new(cls, values[:6] + (MappingProxyType(values[6]),) + values[7:])


def _not_a_sequence(self: Any, *args: Any) -> NoReturn:
    raise TypeError(f"a {type(self).__name__} is not a sequence: read its attributes, "
                    "or to_dict()")


class _Record(tuple):
    """An immutable value with named fields, built in one step: the decision types.

    The engines build several of these for every lead, so they are tuples underneath
    (``tuple.__new__(Decision, values)`` costs a fifth of an attrs frozen class's
    ``__init__``), read through C accessors. Beyond that they behave as the attrs
    classes they replace: keyword or positional construction, equality and hashing
    by type and fields, a ``Name(field=value, …)`` repr, no assignment. The tuple
    underneath stays private: iterating, indexing, ``len``, ``in``, ``+`` and ordering
    raise TypeError, so no caller comes to depend on the field order.
    """

    __slots__ = ()
    #: the attribute names, in storage order
    _fields: tuple[str, ...] = ()
    #: the fields equality and hashing look at (a slice of the storage)
    _compared: slice = _ALL

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            # not NotImplemented for a tuple: tuple's own == would then compare the values
            return False if isinstance(other, tuple) else NotImplemented
        cut = self._compared
        return _getitem(self, cut) == _getitem(other, cut)

    def __ne__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return True if isinstance(other, tuple) else NotImplemented
        cut = self._compared
        return _getitem(self, cut) != _getitem(other, cut)

    def __hash__(self) -> int:
        return hash((self.__class__.__name__, _getitem(self, self._compared)))

    def __repr__(self) -> str:
        values = _getitem(self, _ALL)
        inner = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, values,
                                                                     strict=True))
        return f"{self.__class__.__name__}({inner})"

    def __reduce__(self) -> tuple:
        return _rebuild, (self.__class__, _getitem(self, _ALL))

    def __bool__(self) -> bool:
        return True

    __iter__ = __len__ = __getitem__ = __contains__ = __reversed__ = _not_a_sequence
    __add__ = __radd__ = __mul__ = __rmul__ = count = index = _not_a_sequence  # type: ignore

    def __lt__(self, other: object) -> bool:
        # raise, not NotImplemented, or a tuple on the other side would compare the values
        raise TypeError(f"a {type(self).__name__} is not ordered")

    __le__ = __gt__ = __ge__ = __lt__


_getitem = tuple.__getitem__


def _record_fields(cls: type, *names: str, compared: int | None = None) -> None:
    """Give a record class its fields: one C accessor per name, in storage order;
    ``compared``: how many of the first fields equality looks at (all by default)."""
    for index, name in enumerate(names):
        setattr(cls, name, _tuplegetter(index, f"the {name} field"))
    cls._fields = names
    cls._compared = _ALL if compared is None else slice(0, compared)
    cls.__match_args__ = names


@attrs.frozen
class PolicyInfo:
    """Which policy decided: carried into every decision."""

    name: str | None
    version: str | None
    digest: str

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "digest": self.digest}


class Violation(_Record):
    """A rule the lead's record breaks (``invalid_rejection_reason``, ``missing_sla_start``)."""

    __slots__ = ()
    code: str
    message: str

    def __new__(cls, code: str, message: str) -> Violation:
        return _new(cls, (code, message))

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


_record_fields(Violation, "code", "message")


#: SLA statuses, spec section 4.
SLA_STATUSES = ("met", "breached", "pending", "unknown")


class SlaResult(_Record):
    """``status`` is one of :data:`SLA_STATUSES`.

    ``start``, ``due`` and ``stop`` are aware UTC datetimes (or None), as a library
    caller expects; the engines keep µs since the epoch in ``start_us``, ``due_us`` and
    ``stop_us`` (the constructor takes those under the public names).
    """

    __slots__ = ()
    status: str
    start_us: int | None
    due_us: int | None
    stop_us: int | None

    def __new__(cls, status: str, start: int | None, due: int | None, stop: int | None
                ) -> SlaResult:
        return _new(cls, (status, start, due, stop))

    @property
    def start(self) -> datetime | None:
        return _dt(self.start_us)

    @property
    def due(self) -> datetime | None:
        return _dt(self.due_us)

    @property
    def stop(self) -> datetime | None:
        return _dt(self.stop_us)

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "start": _ts(self.start_us),
            "due": _ts(self.due_us),
            "stop": _ts(self.stop_us),
        }


_record_fields(SlaResult, "status", "start_us", "due_us", "stop_us")


class HandoffResult(_Record):
    """One handoff that applies to the lead (its stage was reached)."""

    __slots__ = ()
    stage: str
    team: str
    route: str | None
    sla: SlaResult | None
    escalate_to: str | None
    rejected: bool
    rejection_reason: Any

    def __new__(cls, stage: str, team: str, route: str | None, sla: SlaResult | None,
                escalate_to: str | None, rejected: bool, rejection_reason: Any
                ) -> HandoffResult:
        return _new(cls, (stage, team, route, sla, escalate_to, rejected, rejection_reason))

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "team": self.team,
            "route": self.route,
            "sla": None if self.sla is None else self.sla.to_dict(),
            "escalate_to": self.escalate_to,
            "rejected": self.rejected,
            "rejection_reason": self.rejection_reason,
        }


_record_fields(HandoffResult, "stage", "team", "route", "sla", "escalate_to", "rejected",
               "rejection_reason")


class NextStep(_Record):
    """The first stage after the reached one and what the lead still lacks there."""

    __slots__ = ()
    stage: str
    unmet: tuple[str, ...]

    def __new__(cls, stage: str, unmet: tuple[str, ...]) -> NextStep:
        return _new(cls, (stage, unmet))

    def to_dict(self) -> dict:
        return {"stage": self.stage, "unmet": list(self.unmet)}


_record_fields(NextStep, "stage", "unmet")


@attrs.frozen
class TraceEvent:
    """One rule evaluated (``explain``): what it is, where, the values it saw, its result.

    ``kind``: score, gate, keep, exclude, route, sla, escalate, reject, recycle,
    placement, next. ``rule``: the rule as ``fmt`` prints it. ``at``:
    ``file:line:col``. ``values``: the fields and names it read, in reading order.
    """

    kind: str
    rule: str
    at: str
    values: tuple[tuple[str, Any], ...]
    result: Any
    #: the score, stage or handoff the rule belongs to
    owner: str | None = None
    #: points added by a score rule (None for other kinds)
    points: float | None = None

    def to_dict(self) -> dict:
        d = {
            "kind": self.kind,
            "owner": self.owner,
            "rule": self.rule,
            "at": self.at,
            "values": {k: _jsonable(v) for k, v in self.values},
            "result": _jsonable(self.result),
        }
        if self.points is not None:
            d["points"] = self.points
        return d


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


class Decision(_Record):
    """What the policy decided for one lead at one instant (spec section 5).

    ``trace`` (the steps ``explain`` shows) takes no part in equality.
    """

    __slots__ = ()
    lead: Any
    policy: PolicyInfo
    #: µs since the epoch; :attr:`as_of` is the same instant as an aware UTC datetime
    as_of_us: int
    stage: str | None
    reached: str | None
    reason: Any
    scores: Mapping[str, int]
    next: NextStep | None
    handoffs: tuple[HandoffResult, ...]
    violations: tuple[Violation, ...]
    trace: tuple[TraceEvent, ...] | None

    def __new__(cls, lead: Any, policy: PolicyInfo, as_of: int, stage: str | None,
                reached: str | None, reason: Any, scores: Mapping[str, int],
                next: NextStep | None, handoffs: tuple[HandoffResult, ...],  # noqa: A002
                violations: tuple[Violation, ...],
                trace: tuple[TraceEvent, ...] | None = None) -> Decision:
        return _new(cls, (lead, policy, as_of, stage, reached, reason, scores, next, handoffs,
                          violations, trace))

    def to_dict(self) -> dict:
        d = {
            "lead": self.lead,
            "policy": self.policy.to_dict(),
            "as_of": format_timestamp(self.as_of_us),
            "stage": self.stage,
            "reached": self.reached,
            "reason": self.reason,
            "scores": dict(self.scores),
            "next": None if self.next is None else self.next.to_dict(),
            "handoffs": [h.to_dict() for h in self.handoffs],
            "violations": [v.to_dict() for v in self.violations],
        }
        if self.trace is not None:
            d["trace"] = [e.to_dict() for e in self.trace]
        return d

    @property
    def as_of(self) -> datetime:
        """The evaluation instant, an aware datetime in UTC."""
        return _dt(self.as_of_us)

    def __reduce__(self) -> tuple:
        # the engines give read-only scores (a mappingproxy), which pickle cannot take:
        # pickled as a dict and made read-only again, so a decision crosses a process
        # pool, a multiprocessing queue or copy.deepcopy as it is
        values = _getitem(self, _ALL)
        scores = values[6]
        if type(scores) is MappingProxyType:
            return _rebuild_read_only, (self.__class__, values[:6] + (dict(scores),)
                                        + values[7:])
        return _rebuild, (self.__class__, values)

    def handoff(self, stage: str | None = None) -> HandoffResult | None:
        """The handoff at ``stage``, or the deepest that applies (what examples look at)."""
        if stage is None:
            return self.handoffs[-1] if self.handoffs else None
        for h in self.handoffs:
            if h.stage == stage:
                return h
        return None


_record_fields(Decision, "lead", "policy", "as_of_us", "stage", "reached", "reason", "scores",
               "next", "handoffs", "violations", "trace", compared=10)


@attrs.frozen(order=True)
class Problem:
    """One reason a lead is refused.

    ``path`` names the failing field as the language writes it (``company.employees``;
    for a missing required field, that field: ``lead_id``; ``tags[2]`` for an array
    item; the empty string for the lead itself). ``message`` is one lowercase sentence:
    ``expected integer, found string "abc"``, ``required field is missing``.

    It lives here, not beside the validator, so that importing the decision types does
    not load jsonschema.
    """

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """The problem as it appears in an error record (LANGUAGE.md §5)."""
        return {"path": self.path, "message": self.message}


class LeadError(Exception):
    """A lead that is refused (spec section 4, step 1); renders as an error record.

    ``line`` is the record's line (JSONL, CSV) or 1-based index (JSON array, and
    ``evaluate_many``); None for a single ``evaluate`` call.
    """

    def __init__(
        self,
        message: str,
        problems: tuple[Problem, ...] | list[Problem] = (),
        *,
        lead: Any = None,
        line: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)
        self.lead = lead
        self.line = line

    def __str__(self) -> str:
        """The message and every problem, one per line: what ``print(err)`` and a
        traceback show (``Exception``'s default would show the message alone)."""
        head = self.message
        if self.lead is not None:
            head = f"lead {self.lead}: {head}"
        if self.line is not None:
            head = f"line {self.line}: {head}"
        lines = [head]
        lines += [f"  {p.path or '(the record)'}: {p.message}" for p in self.problems]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"LeadError({self.message!r}, problems={list(self.problems)!r}, "
                f"lead={self.lead!r}, line={self.line!r})")

    def with_line(self, line: int) -> LeadError:
        return LeadError(self.message, self.problems, lead=self.lead, line=line)

    def to_dict(self) -> dict:
        return {
            "lead": self.lead,
            "line": self.line,
            "error": {
                "message": self.message,
                "problems": [p.to_dict() for p in self.problems],
            },
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LeadError) and self.to_dict() == other.to_dict()

    __hash__ = Exception.__hash__


def dumps(record: Decision | LeadError | dict) -> str:
    """The canonical one-line JSON of a decision or an error record."""
    d = record if isinstance(record, dict) else record.to_dict()
    # U+2028/U+2029/U+0085 and lone surrogates as \u escapes: one record stays one line
    # for every line-based reader, and the text always encodes as UTF-8.
    return json_safe(json.dumps(d, ensure_ascii=False, separators=(", ", ": "), allow_nan=False))
