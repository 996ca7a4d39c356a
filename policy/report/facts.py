"""The report's input: one flat row of facts per input record (spec section 11).

The SQL of :mod:`policy.report.compute` computes every figure from a table named
``facts`` with the columns :func:`fact_columns` lists. This module fills that table from
the python engine's decisions: :class:`FactWriter` takes each record (a decision or an
error record, with the values of the few lead fields the facts read) and writes one CSV
row, which DuckDB then reads with explicit column types (:func:`facts_select`). The
handoff columns (``h{j}_…``, null but for the records a handoff applies to, a sixth of
the leads of ``rules/``) go to a file of their own, a row only for those records, with
the ``--by`` key: DuckDB loads two narrow tables (``facts`` and ``handoffs``) in about
two thirds of the time of one wide one (bench/README.md, tenth session). Nothing is
aggregated here: this module only reads what each decision and lead say, so the figures
have one definition, in SQL.

Business time from an SLA's start to its stop is measured here, per lead, with the same
:class:`~policy.model.calendar.WorkCalendar` code the SLA itself is counted with, on the
calendar of the route that was chosen.

Must run after: loading the policy and :func:`policy.report.shape.report_shape`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import IO, Any

from policy.engine import runtime as rt
from policy.engine.decision import Decision, LeadError
from policy.engine.timestamps import EPOCH, Z_FORM_LENGTH, Z_FORM_MARKS, parse_timestamp
from policy.render.escape import no_surrogates
from policy.report.shape import Shape

__all__ = ["FactWriter", "fact_columns", "facts_select", "key_text"]

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
        cols.update({f"h{j}_{name}": kind for name, kind in _HANDOFF_COLUMNS})
    return cols


#: each handoff's columns, in order (:meth:`FactWriter.add_handoffs` writes them so)
_HANDOFF_COLUMNS = (("applies", "BOOLEAN"), ("route", "VARCHAR"), ("status", "VARCHAR"),
                    ("response", "BIGINT"), ("escalated", "BOOLEAN"), ("rejected", "BOOLEAN"),
                    ("reason", "VARCHAR"), ("off_list", "BOOLEAN"))


_fromisoformat = datetime.fromisoformat


def first_path(err: Any) -> str:
    """The first problem's path, problems sorted by path (section 11), as UTF-8 can hold
    it (a key that makes a lone surrogate: U+FFFD). ``err``: anything with ``problems``
    (a :class:`LeadError`, a refused :class:`~policy.io.records.Record`)."""
    return _clean(min((p.path for p in err.problems), default=""))


class FactWriter:
    """Writes one CSV row of facts per record to ``out`` (see :func:`facts_select`).

    ``by``: the ``--by`` field path (or None); ``cohort``: the cohort field path (or
    None); both are read from the lead as written. :attr:`paths` are the lead's fields a
    row reads (``--by``, the cohort, each stage's ``entered at``): :meth:`values` takes
    their values, so that a caller may read them without the whole lead.
    """

    def __init__(self, shape: Shape, out: IO[str] | None, *, by: tuple[str, ...] | None,
                 cohort: tuple[str, ...] | None, tz: Any = None,
                 handoffs_out: IO[str] | None = None):
        self.shape = shape
        self.tz = tz
        self.out = out
        self.handoffs_out = handoffs_out
        self.by = by
        self.cohort = cohort
        self.count = 0
        #: the longest text written in a column, in characters (the CSV reader's bound)
        self.longest = 0
        cols = fact_columns(shape)
        self.columns = tuple(cols)
        at = {name: i for i, name in enumerate(self.columns)}
        self._at = at
        self._width = len(self.columns)
        self._text_columns = tuple(i for i, t in enumerate(cols.values()) if t == "VARCHAR")
        paths: list[tuple[str, ...]] = []
        if by is not None:
            paths.append(by)
        if cohort is not None:
            paths.append(cohort)
        self._entered = []
        for i, s in enumerate(shape.stages):
            if s.entered_at is not None:
                self._entered.append((at[f"e{i}"], len(paths), s.entered_kind))
                paths.append(s.entered_at)
        #: the lead's fields :meth:`values` reads, in the order it takes their values
        self.paths = tuple(paths)
        self._cohort_at = 1 if by is not None else 0
        self._none = (None,) * len(paths)
        self._stage_index = {s.name: i for i, s in enumerate(shape.stages)}
        self._scores = [(at[f"s{i}"], s.name) for i, s in enumerate(shape.scores)]
        self._handoffs = {h.stage: (at[f"h{j}_applies"], h) for j, h in enumerate(shape.handoffs)}
        #: a handoff's stage -> (its place among the handoffs, its shape); and the
        #: fields of a handoff that does not apply (:meth:`add_handoffs`)
        self._handoff_at = {h.stage: (j, h) for j, h in enumerate(shape.handoffs)}
        self._no_handoff = ("," * len(_HANDOFF_COLUMNS),) * len(shape.handoffs)
        self._score_at: list[tuple[int, int]] = []
        self._keys: dict[str, str | None] = {}
        #: a ``--by`` key's text -> its CSV field (:meth:`key_field`)
        self._key_fields: dict[str, str] = {}
        #: a text -> its CSV field (:meth:`text_field`)
        self._fields: dict[str, str] = {}
        self._is_text = tuple(t == "VARCHAR" for t in cols.values())
        self._first_handoff = next((i for i, name in enumerate(self.columns)
                                    if name.startswith("h")), self._width)
        #: the columns of the file of facts, and of the file of handoffs (whose rows are
        #: only those of the records a handoff applies to: :meth:`handoff_line`)
        self.main_columns = self.columns[:self._first_handoff]
        self.handoff_columns = ("bykey", *self.columns[self._first_handoff:])
        self._applies = tuple(p for p, _ in self._handoffs.values())
        #: CSV lines not yet written to :attr:`out`, and to :attr:`handoffs_out`
        self._lines: list[str] = []
        self._hands: list[str] = []
        #: the row function of :mod:`policy.report.rows`, once made for this writer
        self.row_text: Any = None

    def open(self, out: IO[str], handoffs_out: IO[str]) -> None:
        """Write the rows to ``out`` and ``handoffs_out`` from now on (what was added
        before is flushed)."""
        if self.out is not None:
            self.flush()
        self.out = out
        self.handoffs_out = handoffs_out

    def lead_values(self, lead: Any) -> tuple[Any, ...]:
        """The values of :attr:`paths` in ``lead`` (all None when it is not an object)."""
        if type(lead) is not dict:
            return self._none
        get = rt.get
        return tuple([get(lead, p) for p in self.paths])

    def write(self, line: int, record: Decision | LeadError, lead: Any) -> None:
        """One record: ``lead`` is the parsed input (a dict, or whatever was read)."""
        self.add(line, record, self.lead_values(lead))

    def add(self, line: int, record: Decision | LeadError, got: tuple[Any, ...]) -> None:
        """One record, with the values of its lead's :attr:`paths` (:meth:`lead_values`)."""
        self._add_values(self.values(line, record, got))

    def _add_values(self, values: list[Any]) -> None:
        hand = self.handoff_line(values)
        if hand is not None:
            self._hands.append(hand)
        self.add_line(self.line_text(values))

    def add_line(self, text: str) -> None:
        """One record's CSV line (:meth:`line_text`, or :mod:`policy.report.rows`)."""
        self._lines.append(text)
        self.count += 1
        if len(self._lines) >= 4096:
            self.flush()

    def write_all(self, items: Iterable[tuple[int, Decision | LeadError, Any]]) -> None:
        for line, record, lead in items:
            self.write(line, record, lead)

    def flush(self) -> None:
        if self._lines:
            self.out.write("".join(self._lines))
            self._lines.clear()
        if self._hands:
            self.handoffs_out.write("".join(self._hands))
            self._hands.clear()

    def row(self, line: int, record: Decision | LeadError, lead: Any) -> dict[str, Any]:
        """The facts of one record: column name -> value (None: null)."""
        return dict(zip(self.columns, self.values(line, record, self.lead_values(lead)),
                        strict=True))

    def csv_row(self, values: list[Any]) -> list[Any]:
        """``values`` with each text as :func:`facts_select` reads it back (:meth:`mark`)."""
        for i in self._text_columns:
            if values[i] is not None:
                values[i] = self.mark(values[i])
        return values

    def mark(self, text: str) -> str:
        """A text as :func:`facts_select` reads it back: an ``s`` before text without a
        control character or other unprintable one, else a ``j`` before its JSON string
        (so a CSV field never holds a line break, and an empty text is not an empty
        field, which is null)."""
        t = ("s" + text if text.isprintable()  # a lone surrogate (policy text): U+FFFD
             else "j" + json.dumps(no_surrogates(text), ensure_ascii=False))
        if len(t) > self.longest:
            self.longest = len(t)
        return t

    def text_field(self, text: str) -> str:
        """A text column's CSV field: its :meth:`mark`, quoted as ``csv.writer`` quotes
        it when it holds a comma or a quote (the mark leaves no line break)."""
        field = self._fields.get(text)
        if field is None:
            marked = self.mark(text)
            field = ('"' + marked.replace('"', '""') + '"'
                     if "," in marked or '"' in marked else marked)
            if len(self._fields) >= 4096:
                self._fields.clear()
            self._fields[text] = field
        return field

    def line_text(self, values: list[Any]) -> str:
        """The line of the file of facts for ``values`` (:meth:`values`), with its
        ``\\n``: what ``csv.writer`` writes for their :attr:`main_columns` of
        :meth:`csv_row` (tests/test_report_rows.py)."""
        return self._fields_text(values, 0, self._first_handoff) + "\n"

    def handoff_line(self, values: list[Any]) -> str | None:
        """The line of the file of handoffs for ``values``, its :attr:`handoff_columns`
        (the ``--by`` key, then each handoff's columns); None when no handoff applies."""
        if not any(values[p] for p in self._applies):
            return None
        key = values[3]
        return ("" if key is None else self.text_field(key)) + "," + self._fields_text(
            values, self._first_handoff, self._width) + "\n"

    def _fields_text(self, values: list[Any], first: int, end: int) -> str:
        """The CSV fields of ``values[first:end]``, between commas."""
        out = []
        is_text = self._is_text
        for i in range(first, end):
            value = values[i]
            if value is None:
                out.append("")
            elif is_text[i]:
                out.append(self.text_field(value))
            else:
                out.append(str(value))  # as csv.writer: a number's repr, True, False
        return ",".join(out)

    def key_field(self, value: Any) -> str:
        """The CSV field of :func:`key_text` of ``value`` (empty for None)."""
        if type(value) is str:
            field = self._key_fields.get(value)
            if field is None:
                if len(self._key_fields) >= 4096:
                    self._key_fields.clear()
                field = self._key_fields[value] = self.text_field(key_text(value))
            return field
        text = key_text(value)
        return "" if text is None else self.text_field(text)

    def instant_field(self, value: Any, kind: str) -> str:
        """The CSV field of the instant a lead's field names, read as ``kind``
        (:func:`~policy.engine.timestamps.parse_timestamp`); empty when it names none."""
        if type(value) is not str:
            return ""
        found = parse_timestamp(value, kind=kind, tz=self.tz)
        return "" if found is None else str(found)

    def values(self, line: int, record: Decision | LeadError, got: tuple[Any, ...]
               ) -> list[Any]:
        """The facts of one record, in the order of :func:`fact_columns` (None: null);
        ``got``: the values of its lead's :attr:`paths`."""
        v = self._start(line, got)
        if type(record) is LeadError:
            v[1] = True
            v[2] = first_path(record)
            return v
        scores = record.scores
        for i, name in self._scores:
            v[i] = scores.get(name)
        return self._decided(v, record.stage, record.reached, record.reason,
                             record.handoffs, record.violations, got)

    def _start(self, line: int, got: tuple[Any, ...]) -> list[Any]:
        """A row's line and ``--by`` key, every other column null."""
        v: list[Any] = [None] * self._width
        v[0] = line
        if self.by is not None:
            key = got[0]
            if type(key) is str:
                keys = self._keys
                text = keys.get(key)
                if text is None:
                    if len(keys) >= 4096:
                        keys.clear()
                    text = keys[key] = key_text(key)
                v[3] = text
            else:
                v[3] = key_text(key)
        return v

    def bind_scores(self, names: tuple[str, ...]) -> bool:
        """Read the scores of :meth:`add_facts` in the order ``names``; False when a
        score of the report is not among them (then do not call it)."""
        try:
            self._score_at = [(i, names.index(name)) for i, name in self._scores]
        except ValueError:
            return False
        return True

    def add_facts(self, line: int, facts: tuple, got: tuple[Any, ...]) -> None:
        """:meth:`add` for a decision given as the tuple of its fields
        :attr:`policy.Policy.line_facts` returns (after :meth:`bind_scores`)."""
        stage, reached, reason, scores, handoffs, violations = facts
        v = self._start(line, got)
        for i, k in self._score_at:
            v[i] = scores[k]
        self._add_values(self._decided(v, stage, reached, reason, handoffs, violations, got))

    def _decided(self, v: list[Any], stage: Any, reached: Any, reason: Any, handoffs: Any,
                 violations: Any, got: tuple[Any, ...]) -> list[Any]:
        """The facts of a decision (its scores already in ``v``)."""
        v[1] = False
        index = self._stage_index
        v[5] = index.get(reached, -1)
        if stage in index:
            v[6] = index[stage]
        elif stage is not None:
            v[7] = stage
            v[8] = key_text(reason)
        if self.cohort is not None:
            value = got[self._cohort_at]
            if type(value) is str:
                if len(value) == Z_FORM_LENGTH and value[4::3] == Z_FORM_MARKS \
                        and value.isascii():  # as below
                    try:
                        delta = _fromisoformat(value) - EPOCH
                        v[4] = (delta.days * 86_400 + delta.seconds) * 1_000_000
                    except ValueError:
                        pass
                else:
                    v[4] = parse_timestamp(value, kind="any", tz=self.tz)
        for i, k, kind in self._entered:
            value = got[k]
            if type(value) is str:
                if len(value) == Z_FORM_LENGTH and value[4::3] == Z_FORM_MARKS \
                        and kind != "date" and value.isascii():
                    # parse_timestamp's own first step, inlined (a lead has a few)
                    try:
                        delta = _fromisoformat(value) - EPOCH
                    except ValueError:
                        continue
                    v[i] = (delta.days * 86_400 + delta.seconds) * 1_000_000
                else:
                    v[i] = parse_timestamp(value, kind=kind, tz=self.tz)
        if handoffs:
            self._handoff_values(v, handoffs, violations)
        return v

    def _handoff_values(self, v: list[Any], handoffs: Any, violations: Any) -> None:
        for h in handoffs:
            found = self._handoffs.get(h.stage)
            if found is None:
                continue
            p, shape = found  # the column of h{j}_applies; the others follow it
            v[p] = True
            v[p + 1] = h.route
            sla = h.sla
            if sla is not None:
                v[p + 2] = sla.status
                v[p + 3] = _response(shape, h.route, sla)
            v[p + 4] = h.escalate_to is not None
            v[p + 5] = h.rejected
            if h.rejected:
                v[p + 6] = key_text(h.rejection_reason)
                v[p + 7] = _off_list(shape, h.rejection_reason, violations)

    def add_handoffs(self, key: str, handoffs: Any, violations: Any) -> None:
        """The line of the file of handoffs of a decision's ``handoffs`` (``key``: its
        ``--by`` key's CSV field), if one applies: the text :meth:`handoff_line` writes
        for what :meth:`_handoff_values` puts there."""
        parts = list(self._no_handoff)
        text = self.text_field
        applies = False
        for h in handoffs:
            found = self._handoff_at.get(h.stage)
            if found is None:
                continue
            applies = True
            j, shape = found
            route, sla, rejected = h.route, h.sla, h.rejected
            status = response = reason = off = ""
            if sla is not None:
                if sla.status is not None:
                    status = text(sla.status)
                got = _response(shape, route, sla)
                if got is not None:
                    response = str(got)
            if rejected:
                reason = self.key_field(h.rejection_reason)
                off = str(_off_list(shape, h.rejection_reason, violations))
            parts[j] = (f",True,{'' if route is None else text(route)},{status},{response},"
                        f"{h.escalate_to is not None},{'' if rejected is None else rejected},"
                        f"{reason},{off}")
        if applies:
            self._hands.append(key + "".join(parts) + "\n")


def _response(shape: Any, route: Any, sla: Any) -> int | None:
    """The business time of an SLA from its start to its stop, in µs, on the route's
    calendar; None without one or outside the calendar's dates."""
    if sla.start_us is None or sla.stop_us is None:
        return None
    calendar = shape.route_calendar(route)
    if calendar is None:
        return None
    try:
        return calendar.business_between(sla.start_us, sla.stop_us)
    except ValueError:
        return None  # an instant outside the calendar's dates: no figure


def _off_list(shape: Any, reason: Any, violations: Any) -> bool:
    """Whether a rejection reason is off the handoff's agreed list."""
    if shape.agreed is not None:
        return not rt.member(reason, list(shape.agreed))
    # a list the report cannot read: trust the decision's violations
    shown = json.dumps(reason, ensure_ascii=False)
    return any(x.message.startswith(f"rejection reason {shown} ") for x in violations
               if x.code == _OFF_LIST)


def facts_select(columns: dict[str, str], source: str) -> str:
    """``SELECT`` the ``columns`` (name -> type, of :func:`fact_columns`), typed, from
    ``source`` (a table expression over a CSV file :class:`FactWriter` writes: its text
    columns as written, with their ``s`` or ``j`` mark)."""
    out = []
    for name, kind in columns.items():
        if kind == "VARCHAR":
            out.append(f"CASE WHEN substr({name}, 1, 1) = 's' THEN substr({name}, 2) "
                       f"ELSE json_extract_string(substr({name}, 2), '$') END AS {name}")
        else:
            out.append(name)
    return f"SELECT {', '.join(out)} FROM {source}"
