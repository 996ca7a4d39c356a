"""A decision record's canonical JSON text, fast: :class:`RecordEncoder` and its parts.

Every record is the canonical form of :func:`policy.engine.decision.dumps`:
``json.dumps(record.to_dict(), ensure_ascii=False, separators=(", ", ": "))`` with
U+2028, U+2029, U+0085 and lone surrogates escaped (one record, one line). The
:class:`RecordEncoder` (``funnel eval``'s JSON writers, :mod:`policy.io.writers`) writes
exactly those bytes faster: it encodes the parts every decision of a run shares
(``policy``, ``as_of``) once, and the strings that come from the policy (stage, team,
route, violation codes) once each; it falls back on the standard library for any value
it does not know (a trace, an error record, an object as a reason).
``tests/test_writers.py`` checks it against ``dumps`` on generated decisions.

:class:`TextParts` holds the caches and the pieces (a value, a next step, handoffs,
violations, the ``policy``/``as_of`` head) that the encoder and the text the compiled
``decide_text`` writes for a JSON line (:mod:`policy.engine.compile_struct`) both use,
so the two give the same bytes by construction.
"""

from __future__ import annotations

import json
from typing import Any

from policy.engine.decision import Decision, LeadError, PolicyInfo
from policy.engine.timestamps import format_timestamp
from policy.render.escape import json_safe

__all__ = ["RecordEncoder", "TextParts", "dumps_text", "value_text"]

#: How many distinct strings (stage, team, route names…) or composite parts are kept.
_CACHE = 4096
#: How many ``as_of`` heads are kept (a run has one; a library caller a few).
_HEADS = 64


def dumps_text(value: Any) -> str:
    """The canonical JSON of any value: the standard library's, as ``dumps`` writes it
    (U+2028, U+2029, U+0085 and lone surrogates as ``\\u`` escapes: one record, one line)."""
    return json_safe(json.dumps(value, ensure_ascii=False, separators=(", ", ": "),
                                allow_nan=False))


def string_text(text: str) -> str:
    # A printable string without quote or backslash needs no escape in JSON (with
    # ensure_ascii=False only control characters, '"' and '\\' are escaped, and no
    # control character is printable; U+2028, U+2029, U+0085 and surrogates are not
    # printable either); anything else goes to the standard library.
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return dumps_text(text)


def value_text(v: Any) -> str:
    """One JSON value (a lead's id, a reason, a score), as ``dumps_text`` writes it."""
    t = type(v)
    if t is str:
        return string_text(v)
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return int.__repr__(v)
    if t is float and v - v == 0.0:  # finite (json refuses NaN and infinities)
        return float.__repr__(v)
    return dumps_text(v)


class Texts(dict):
    """``texts[s]``: the JSON of a string (or None), encoded once and then looked up;
    any other value is encoded every time (``1``, ``1.0`` and ``True`` are equal keys
    but print otherwise). Bounded: it starts again past :data:`_CACHE` strings."""

    __slots__ = ()

    def __missing__(self, key: Any) -> str:
        text = value_text(key)
        if type(key) is str or key is None:
            if len(self) >= _CACHE:
                self.clear()
            self[key] = text
        return text


#: The end of a handoff that is neither escalated nor rejected (most of them).
_PLAIN_TAIL = ', "escalate_to": null, "rejected": false, "rejection_reason": null}'


class TextParts:
    """The pieces of a record's text, with their caches (one set per encoder or per
    compiled ``decide_text``; not shared between threads' runs, which only makes them
    miss: every method gives the same text whatever the caches hold)."""

    __slots__ = ("names", "known", "heads")

    def __init__(self) -> None:
        #: strings the policy supplies (stage, team, code…), by themselves
        self.names = Texts()
        #: composite parts (placement, scores, next steps, handoff heads), by tagged keys
        self.known: dict[Any, str] = {}
        #: the ``, "policy": …, "as_of": …, "stage": `` of each (info, as_of) pair
        self.heads: dict[tuple[PolicyInfo, int], str] = {}

    def remember(self, key: Any, text: str) -> str:
        known = self.known
        if len(known) >= _CACHE:
            known.clear()
        known[key] = text
        return text

    def head(self, info: PolicyInfo, as_of_us: int) -> str:
        """What follows the lead's id, up to the stage: the policy and the instant."""
        key = (info, as_of_us)
        text = self.heads.get(key)
        if text is None:
            if len(self.heads) >= _HEADS:
                self.heads.clear()
            text = self.heads[key] = (
                f', "policy": {dumps_text(info.to_dict())}, '
                f'"as_of": {dumps_text(format_timestamp(as_of_us))}, "stage": ')
        return text

    def next_step(self, nxt: Any) -> str:
        """The ``next`` value: null, or ``{"stage": …, "unmet": […]}``."""
        if nxt is None:
            return "null"
        key = ("n", nxt.stage, nxt.unmet)
        try:
            text = self.known.get(key)
        except TypeError:  # unmet given as a list
            text, key = None, None
        if text is None:
            names = self.names
            unmet = ", ".join([names[u] for u in nxt.unmet])
            text = f'{{"stage": {names[nxt.stage]}, "unmet": [{unmet}]}}'
            if key is not None:
                self.remember(key, text)
        return text

    def handoffs(self, handoffs: Any) -> str:
        """The ``handoffs`` array (``[]`` when there are none)."""
        names, known = self.names, self.known
        out = []
        for h in handoffs:
            key = ("h", h.stage, h.team, h.route)
            head = known.get(key)
            if head is None:
                head = self.remember(key, f'{{"stage": {names[h.stage]}, "team": '
                                          f'{names[h.team]}, "route": {names[h.route]}, "sla": ')
            sla = h.sla
            if sla is None:
                sla_text = "null"
            else:
                start, due, stop = sla.start_us, sla.due_us, sla.stop_us
                sla_text = (
                    f'{{"status": {names[sla.status]}, '
                    f'"start": {"null" if start is None else _quoted_instant(start)}, '
                    f'"due": {"null" if due is None else _quoted_instant(due)}, '
                    f'"stop": {"null" if stop is None else _quoted_instant(stop)}}}'
                )
            escalate, rejected, why = h.escalate_to, h.rejected, h.rejection_reason
            if escalate is None and rejected is False and why is None:
                tail = _PLAIN_TAIL
            else:
                tail = (f', "escalate_to": {names[escalate]}, '
                        f'"rejected": {value_text(rejected)}, '
                        f'"rejection_reason": {value_text(why)}}}')
            out.append(head + sla_text + tail)
        return f"[{', '.join(out)}]"

    def violations(self, violations: Any) -> str:
        """The ``violations`` array (``[]`` when there are none)."""
        names = self.names
        return "[" + ", ".join([
            f'{{"code": {names[v.code]}, "message": {names[v.message]}}}' for v in violations
        ]) + "]"


def _quoted_instant(us: int) -> str:
    return f'"{format_timestamp(us)}"'


class RecordEncoder:
    """The canonical one-line JSON of decisions and error records, fast.

    Built once per run with the policy's :class:`PolicyInfo` and the ``as_of`` instant
    (µs) of the run. ``encode(record)`` equals :func:`policy.engine.decision.dumps`
    for every record, whatever its policy and instant; those of the run are merely
    faster.
    """

    def __init__(self, info: PolicyInfo, as_of_us: int) -> None:
        self._info = info
        self._as_of = as_of_us
        self._parts = parts = TextParts()
        self._head = parts.head(info, as_of_us)

    @property
    def info(self) -> PolicyInfo:
        """The policy every record of the run is decided by (fills error rows)."""
        return self._info

    @property
    def as_of_us(self) -> int:
        """The run's instant, µs since the epoch (fills error rows)."""
        return self._as_of

    def encode(self, record: Decision | LeadError) -> str:
        """One record as one line of JSON (no newline)."""
        if type(record) is not Decision or record.trace is not None:
            return dumps_text(record.to_dict())
        d = record
        parts = self._parts
        names, known = parts.names, parts.known
        # The parts that repeat from lead to lead are encoded once each and looked up by
        # the values they show (as keys of `known`, tagged so that kinds never meet):
        # stage and reached, the scores, the next step. Only the lead's id, a reason,
        # and handoffs and violations when there are any are encoded every time.
        if d.policy is self._info and d.as_of_us == self._as_of:
            head = self._head
        else:
            head = parts.head(d.policy, d.as_of_us)
        lead = d.lead
        if type(lead) is str and lead.isprintable() and '"' not in lead and "\\" not in lead:
            lead_text = f'"{lead}"'  # string_text, inlined: every record has one
        else:
            lead_text = value_text(lead)
        key = ("p", d.stage, d.reached)
        placed = known.get(key)
        if placed is None:
            placed = parts.remember(
                key, f'{names[d.stage]}, "reached": {names[d.reached]}, "reason": ')
        reason = d.reason
        # Scores are looked up by their (name, value) pairs, and only when every value is
        # an int: 1.0 and True are equal to 1 as keys, but print otherwise. (The mapping
        # is read once: each call through a mappingproxy costs as much as the look-up.)
        items = tuple(d.scores.items())
        scores = known.get(items)
        for _, x in items:
            if type(x) is not int:
                scores = items = None
                break
        if scores is None:
            scores = ", ".join([f"{names[k]}: {value_text(x)}" for k, x in d.scores.items()])
            if items is not None:
                parts.remember(items, scores)
        return (
            f'{{"lead": {lead_text}{head}{placed}'
            f'{"null" if reason is None else value_text(reason)}, "scores": {{{scores}}}, '
            f'"next": {parts.next_step(d.next)}, "handoffs": '
            f'{parts.handoffs(d.handoffs) if d.handoffs else "[]"}, "violations": '
            f'{parts.violations(d.violations) if d.violations else "[]"}}}'
        )
