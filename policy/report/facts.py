"""The report's input: one flat row of facts per input record (spec section 11).

The SQL of :mod:`policy.report.compute` computes every figure from a table named
``facts`` with the columns :func:`fact_columns` lists. This module fills that table from
the python engine's decisions: :class:`FactWriter` takes each record (a decision or an
error record, with the lead it came from) and writes one JSON line, which DuckDB then
reads with explicit column types. Nothing is aggregated here: this module only reads
what each decision and lead say, so the figures have one definition, in SQL.

Business time from an SLA's start to its stop is measured here, per lead, with the same
:class:`~policy.model.calendar.WorkCalendar` code the SLA itself is counted with, on the
calendar of the route that was chosen.

Must run after: loading the policy and :func:`policy.report.shape.report_shape`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from policy.engine import runtime as rt
from policy.engine.decision import Decision, LeadError
from policy.engine.timestamps import parse_timestamp
from policy.report.shape import Shape

__all__ = ["FactWriter", "fact_columns", "key_text"]

_OFF_LIST = "invalid_rejection_reason"


def key_text(value: Any) -> str | None:
    """A value as a report key: a string as it is, anything else as compact JSON text;
    None for a missing value (absent or null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return _clean(value)
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        text = str(value)
    return _clean(text)


def _clean(text: str) -> str:
    """Text that UTF-8 can hold: a lone surrogate (bytes that were not UTF-8, read with
    ``surrogateescape``) becomes U+FFFD, as a reader of the report would see it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "replace")
    return text


def fact_columns(shape: Shape) -> dict[str, str]:
    """Column name -> DuckDB type of the ``facts`` table, in order.

    Names are positional (``s0`` is the first score, ``h1_route`` the second handoff's
    route), so no text from the policy ever becomes SQL.
    """
    cols = {
        "line": "BIGINT", "refused": "BOOLEAN", "path": "VARCHAR", "bykey": "VARCHAR",
        "cohort": "BIGINT", "reached": "INTEGER", "placed": "INTEGER", "state": "VARCHAR",
        "reason": "VARCHAR",
    }
    for i in range(len(shape.scores)):
        cols[f"s{i}"] = "DOUBLE"
    for i, stage in enumerate(shape.stages):
        if stage.entered_at is not None:
            cols[f"e{i}"] = "BIGINT"
    for j in range(len(shape.handoffs)):
        cols.update({
            f"h{j}_applies": "BOOLEAN", f"h{j}_route": "VARCHAR", f"h{j}_status": "VARCHAR",
            f"h{j}_response": "BIGINT", f"h{j}_escalated": "BOOLEAN",
            f"h{j}_rejected": "BOOLEAN", f"h{j}_reason": "VARCHAR", f"h{j}_off_list": "BOOLEAN",
        })
    return cols


def _timestamp(value: Any, kind: str, tz: Any = None) -> int | None:
    """A lead's timestamp text as µs (no offset: in ``tz``, the policy's ``local_tz``,
    else UTC); anything that does not parse counts as missing."""
    if type(value) is not str:
        return None
    return parse_timestamp(value, kind=kind, tz=tz)


def _first_path(err: LeadError) -> str:
    """The first problem's path, problems sorted by path (section 11)."""
    return _clean(min((p.path for p in err.problems), default=""))


class FactWriter:
    """Writes one JSON line of facts per record to ``out``.

    ``by``: the ``--by`` field path (or None); ``cohort``: the cohort field path (or
    None); both are read from the lead as written.
    """

    def __init__(self, shape: Shape, out: IO[str] | None, *, by: tuple[str, ...] | None,
                 cohort: tuple[str, ...] | None, tz: Any = None):
        self.shape = shape
        self.tz = tz
        self.out = out
        self.by = by
        self.cohort = cohort
        self.count = 0
        #: the longest line written, in characters (DuckDB's reader needs a bound)
        self.longest = 0
        self._stage_index = {s.name: i for i, s in enumerate(shape.stages)}
        self._states = frozenset(shape.states)
        self._entered = [(f"e{i}", s.entered_at, s.entered_kind)
                         for i, s in enumerate(shape.stages) if s.entered_at is not None]
        self._scores = [(f"s{i}", s.name) for i, s in enumerate(shape.scores)]
        self._handoffs = {h.stage: (j, h) for j, h in enumerate(shape.handoffs)}
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                       allow_nan=False).encode
        self._buffer: list[str] = []

    def write(self, line: int, record: Decision | LeadError, lead: Any) -> None:
        """One record: ``lead`` is the parsed input (a dict, or whatever was read)."""
        text = self.render(line, record, lead)
        self.longest = max(self.longest, len(text))
        self._buffer.append(text)
        self.count += 1
        if len(self._buffer) >= 4096:
            self.flush()

    def render_all(self, items: Iterable[tuple[int, Decision | LeadError, Any]]) -> str:
        """The JSON lines of many records, as one text (what a worker process returns)."""
        lines = [self.render(line, record, lead) for line, record, lead in items]
        return "\n".join(lines) + "\n" if lines else ""

    def render(self, line: int, record: Decision | LeadError, lead: Any) -> str:
        """The facts of one record as one JSON line (without its line end)."""
        return self._dumps(self.row(line, record, lead))

    def row(self, line: int, record: Decision | LeadError, lead: Any) -> dict[str, Any]:
        """The facts of one record: column name -> value (absent columns are null)."""
        row: dict[str, Any] = {"line": line}
        is_lead = type(lead) is dict
        if self.by is not None:
            row["bykey"] = key_text(rt.get(lead, self.by)) if is_lead else None
        if isinstance(record, LeadError):
            row["refused"] = True
            row["path"] = _first_path(record)
        else:
            row["refused"] = False
            self._decision(row, record, lead if is_lead else {})
        return row

    def write_all(self, items: Iterable[tuple[int, Decision | LeadError, Any]]) -> None:
        for line, record, lead in items:
            self.write(line, record, lead)

    def flush(self) -> None:
        if self._buffer:
            self.out.write("\n".join(self._buffer) + "\n")
            self._buffer.clear()

    def _decision(self, row: dict, d: Decision, lead: dict) -> None:
        index = self._stage_index
        row["reached"] = index.get(d.reached, -1)
        if d.stage in index:
            row["placed"] = index[d.stage]
        elif d.stage is not None:
            row["state"] = d.stage
            row["reason"] = key_text(d.reason)
        if self.cohort is not None:
            row["cohort"] = _timestamp(rt.get(lead, self.cohort), "any", self.tz)
        for col, name in self._scores:
            row[col] = d.scores.get(name)
        for col, path, kind in self._entered:
            row[col] = _timestamp(rt.get(lead, path), kind, self.tz)
        off_list_messages = None
        for h in d.handoffs:
            found = self._handoffs.get(h.stage)
            if found is None:
                continue
            j, shape = found
            p = f"h{j}_"
            row[p + "applies"] = True
            row[p + "route"] = h.route
            sla = h.sla
            if sla is not None:
                row[p + "status"] = sla.status
                if sla.start_us is not None and sla.stop_us is not None:
                    calendar = shape.route_calendar(h.route)
                    if calendar is not None:
                        try:
                            row[p + "response"] = calendar.business_between(sla.start_us,
                                                                        sla.stop_us)
                        except ValueError:
                            pass  # an instant outside the calendar's dates: no figure
            row[p + "escalated"] = h.escalate_to is not None
            row[p + "rejected"] = h.rejected
            if h.rejected:
                row[p + "reason"] = key_text(h.rejection_reason)
                if shape.agreed is not None:
                    off = not rt.member(h.rejection_reason, list(shape.agreed))
                else:  # a list the report cannot read: trust the decision's violations
                    if off_list_messages is None:
                        off_list_messages = [v.message for v in d.violations
                                             if v.code == _OFF_LIST]
                    shown = json.dumps(h.rejection_reason, ensure_ascii=False)
                    off = any(m.startswith(f"rejection reason {shown} ")
                              for m in off_list_messages)
                row[p + "off_list"] = off
