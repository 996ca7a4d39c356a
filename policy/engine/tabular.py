"""The tabular form of a decision (spec section 9, "Tabular decisions"): one flat row
per input record, shared by CSV, Parquet, the table view and the SQL engines.

:func:`columns` lists a policy's columns, in order, each with a :class:`Column` kind;
:func:`row` turns a :class:`~policy.engine.decision.Decision` or a
:class:`~policy.engine.decision.LeadError` into a tuple in that order. Values stay
values here (instants as µs since the epoch, lists as tuples, a lead id as the lead
held it); a writer turns them into text with :func:`cell_text` (CSV, table view) or
into typed columns (Parquet, SQL). Nothing has to run before this module but loading
the policy (the columns depend on its scores and handoffs only).

Choices the spec leaves open, written down in ``docs/decisions.md``:

- the ``policy_*`` and ``as_of`` columns are filled on error rows too (every row of one
  run carries them, which is what a warehouse table of decisions wants);
- list columns are never null on a decision: ``violations`` and ``error_paths`` are
  empty lists when there is nothing to list; ``next_unmet`` is null exactly when
  ``next_stage`` is (the reached stage is the last). On an error row ``violations`` is
  the empty list, ``next_unmet`` is null and ``error_paths`` lists every problem's path
  in the error record's order (the empty string for the record itself);
- ``reason``, ``lead`` and ``rejection_reason`` hold whatever JSON value the lead or
  the policy gave (kind ``json``); CSV writes a string as it is and anything else as
  JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import attrs

from policy.engine.decision import Decision, LeadError
from policy.engine.timestamps import format_timestamp

__all__ = [
    "HANDOFF_FIELDS",
    "KINDS",
    "Column",
    "Layout",
    "cell_text",
    "columns",
    "layout",
    "row",
    "row_dict",
    "text_row",
]

#: Column kinds: ``int`` (64-bit), ``string``, ``bool``, ``timestamp`` (µs since the
#: epoch, UTC), ``json`` (any JSON value: a lead id, a reason), ``list`` (of strings).
KINDS = ("int", "string", "bool", "timestamp", "json", "list")

#: The columns of each handoff, after its ``handoff_<stage>_`` prefix, in order.
HANDOFF_FIELDS: tuple[tuple[str, str], ...] = (
    ("team", "string"),
    ("route", "string"),
    ("sla_status", "string"),
    ("sla_start", "timestamp"),
    ("sla_due", "timestamp"),
    ("sla_stop", "timestamp"),
    ("escalate_to", "string"),
    ("rejected", "bool"),
    ("rejection_reason", "json"),
)

_HEAD: tuple[tuple[str, str], ...] = (
    ("line", "int"),
    ("lead", "json"),
    ("policy_name", "string"),
    ("policy_version", "string"),
    ("policy_digest", "string"),
    ("as_of", "timestamp"),
    ("stage", "string"),
    ("reached", "string"),
    ("reason", "json"),
)
_TAIL: tuple[tuple[str, str], ...] = (
    ("violations", "list"),
    ("error", "string"),
    ("error_paths", "list"),
)


@attrs.frozen
class Column:
    """One column of the tabular form: its name and its kind (one of :data:`KINDS`)."""

    name: str
    kind: str


@attrs.frozen
class Layout:
    """The columns of one policy: the scores and the handoff stages that shape them."""

    scores: tuple[str, ...]
    handoff_stages: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def layout(model: Any) -> Layout:
    """The tabular layout of a policy: a loaded ``Policy`` (read from its intermediate
    form, ``program``), a :class:`~policy.model.namespace.PolicyModel`, or anything with
    a ``model`` attribute holding one.

    Scores and handoffs come in declaration order (spec section 9: "then for every
    handoff, in declaration order"), even where a decision lists its handoffs in funnel
    order.
    """
    program = getattr(model, "program", None)  # a loaded Policy: its intermediate form
    if program is not None:
        scores = program.score_names
        stages = (getattr(program, "handoff_columns", ())
                  or tuple(h.stage for h in program.handoffs))
    else:
        model = getattr(model, "model", model)
        scores = tuple(model.scores)
        stages = (getattr(model, "handoff_columns", ())
                  or tuple(h.stage.name for h in model.handoffs))
    cols = [Column(name, kind) for name, kind in _HEAD]
    cols += [Column(f"score_{s}", "int") for s in scores]
    cols += [Column("next_stage", "string"), Column("next_unmet", "list")]
    for stage in stages:
        cols += [Column(f"handoff_{stage}_{field}", kind) for field, kind in HANDOFF_FIELDS]
    cols += [Column(name, kind) for name, kind in _TAIL]
    return Layout(scores, stages, tuple(cols))


def columns(model: Any) -> tuple[Column, ...]:
    """The columns of a policy's tabular form, in order (see :func:`layout`)."""
    return layout(model).columns


def row(record: Decision | LeadError, lay: Layout, *, line: int | None = None,
        info: Any = None, as_of: int | None = None) -> tuple:
    """One record as a row of ``lay``'s columns.

    ``line`` defaults to the error record's own line (a decision carries none).
    ``info`` (a :class:`~policy.engine.decision.PolicyInfo`) and ``as_of`` (µs) fill the
    policy and ``as_of`` columns of an error row; a decision brings its own.
    """
    if isinstance(record, LeadError):
        if line is None:
            line = record.line
        name = version = digest = None
        if info is not None:
            name, version, digest = info.name, info.version, info.digest
        out: list[Any] = [line, record.lead, name, version, digest, as_of, None, None, None]
        out += [None] * len(lay.scores)
        out += [None, None]
        out += [None] * (len(lay.handoff_stages) * len(HANDOFF_FIELDS))
        out += [(), record.message, tuple(p.path for p in record.problems)]
        return tuple(out)
    d = record
    out = [line, d.lead, d.policy.name, d.policy.version, d.policy.digest, d.as_of_us,
           d.stage, d.reached, d.reason]
    out += [d.scores.get(s) for s in lay.scores]
    if d.next is None:
        out += [None, None]
    else:
        out += [d.next.stage, tuple(d.next.unmet)]
    by_stage = {h.stage: h for h in d.handoffs}
    for stage in lay.handoff_stages:
        h = by_stage.get(stage)
        if h is None:
            out += [None] * len(HANDOFF_FIELDS)
            continue
        sla = h.sla
        out += [h.team, h.route,
                None if sla is None else sla.status,
                None if sla is None else sla.start_us,
                None if sla is None else sla.due_us,
                None if sla is None else sla.stop_us,
                h.escalate_to, h.rejected, h.rejection_reason]
    out += [tuple(v.code for v in d.violations), None, ()]
    return tuple(out)


def row_dict(record: Decision | LeadError, lay: Layout, **kw: Any) -> dict[str, Any]:
    """:func:`row` as a mapping from column name to value."""
    return dict(zip(lay.names, row(record, lay, **kw), strict=True))


def cell_text(kind: str, value: Any) -> str:
    """A value as one CSV cell: empty for null; instants as the canonical
    ``YYYY-MM-DDTHH:MM:SSZ``; lists as a JSON array; a ``json`` value that is a string
    as it is, anything else as JSON text; booleans ``true``/``false``."""
    if value is None:
        return ""
    if kind == "timestamp":
        return format_timestamp(value)
    if kind == "list":
        return json.dumps(list(value), ensure_ascii=False)
    if kind in ("string", "json") and isinstance(value, str):
        return value
    if kind == "int" and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def text_row(values: Iterable[Any], lay: Layout) -> list[str]:
    """A whole row as CSV cells (see :func:`cell_text`)."""
    return [cell_text(c.kind, v) for c, v in zip(lay.columns, values, strict=True)]
