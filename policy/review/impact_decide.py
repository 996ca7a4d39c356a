"""How ``funnel diff --leads`` decides each lead with both versions
(:mod:`policy.review.impact` tallies what the decisions say).

A JSON Lines block is read as ``funnel eval`` reads one (:func:`policy.io.batch.process`):
in a long file each line is decided from its bytes by both policies' typed line
deciders, and only a line either leaves to the ordinary path is read into a ``dict``
(once) and decided by :meth:`policy.Policy.evaluate_at`. Records of other formats
(JSON arrays, CSV) are decided by ``evaluate_at``, as ``evaluate_many`` decides them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from policy.engine.decision import LeadError
from policy.engine.timestamps import to_datetime

if TYPE_CHECKING:  # pragma: no cover
    from policy.api import Policy
    from policy.io.leads import Record

__all__ = ["LINE_DECIDER_BYTES", "decided_lines", "decided_pairs", "instant"]


#: A JSON Lines block at least this long is decided by both policies' line deciders
#: (as ``funnel eval`` does, :func:`policy.io.batch.process`): compiling them costs about
#: what they save on some thousands of leads, so a short file does without them.
LINE_DECIDER_BYTES = 1 << 19


def decided_pairs(base: Policy, head: Policy, records: Iterable[Record], at: int,
                  counter: Any) -> Iterator[tuple[int, Any, Any]]:
    """``(line, base's decision, head's)`` for each readable record (a LeadError where a
    version refuses the lead); an unreadable record is counted in ``counter``."""
    decide_a, decide_b = base.evaluate_at, head.evaluate_at
    for rec in records:
        if rec.error is not None:
            counter.unreadable += 1
            continue
        yield rec.line, _decided(decide_a, rec.value, at, rec.line), \
            _decided(decide_b, rec.value, at, rec.line)


def _decided(decide: Any, lead: Any, at: int, line: int) -> Any:
    try:
        return decide(lead, at)
    except LeadError as exc:
        return exc.with_line(line)  # as evaluate_many: a refusal, or numbers no arithmetic holds


def decided_lines(base: Policy, head: Policy, block: Any, at: int,
                  counter: Any) -> Iterator[tuple[int, Any, Any]]:
    """:func:`decided_pairs` of a JSON Lines block, each line read as ``funnel eval``
    reads it: both policies' line deciders (:attr:`policy.Policy.line_decider`) decide
    it from its bytes, and only a line either leaves to the ordinary path is read into a
    ``dict`` (once) and decided by :meth:`~policy.Policy.evaluate_at`; the decisions are
    the same either way (``tests/test_decide_json.py``)."""
    line_a = base.line_decider if len(block.data) >= LINE_DECIDER_BYTES else None
    line_b = head.line_decider if line_a is not None else None
    both = None
    if line_a is not None and line_b is not None:
        def both(piece: bytes, as_of: int) -> tuple[Any, Any] | None:
            a = line_a(piece, as_of)
            if a is None:
                return None
            b = line_b(piece, as_of)
            return None if b is None else (a, b)

    decide_a, decide_b = base.evaluate_at, head.evaluate_at
    for line, value in block.iter_leads(both, at):
        kind = type(value)
        if kind is tuple:  # both line deciders decided it
            yield line, value[0], value[1]
        elif kind is dict:
            yield line, _decided(decide_a, value, at, line), _decided(decide_b, value, at, line)
        elif value.error is not None:  # a Record: a line that is not a lead
            counter.unreadable += 1
        else:
            yield line, _decided(decide_a, value.value, at, line), \
                _decided(decide_b, value.value, at, line)


def instant(as_of: int | datetime) -> int:
    """``as_of`` in µs, as ``evaluate_many`` reads it (an int is the µs already, taken
    through a datetime as this module always did)."""
    from policy.api import as_of_instant

    return as_of_instant(as_of if isinstance(as_of, datetime) else to_datetime(as_of))
