"""Rows the SQL engines cannot decide as the python engine does: the one test of each
kind, shared by ``funnel eval --engine duckdb|spark`` and ``funnel report --engine duckdb``.

The SQL decides every row exactly as the python engine does (spec section 10) except two
kinds of input; a caller finds them with the tests below and decides just those rows
with the python engine (:func:`python_decision`), keeping SQL for every other:

- **a key repeated in one JSON object** (``{"a": 1, "a": 2}``): the python reader keeps
  the last (spec section 9), DuckDB's JSON functions the first. :func:`repeated_keys` is
  the test, a DuckDB condition over the JSON text, for the record and each object below
  it that the SQL reads (:func:`key_objects` of the paths read). The eval staging
  (:mod:`policy.sql.duck`) runs it once over the staged lines; the report adds the
  fields it reads itself (``--by``, the cohort, ``entered at``) to the same query.
- **business time outside the calendar tables' years**: the SQL counts working time with
  tables of a fixed range of years (:mod:`policy.sql.calendars`). Where a handoff's due
  or escalation instant is past what the tables hold, the decision's SQL gives SLA
  status ``unknown`` with the violation :data:`OUT_OF_RANGE` (:mod:`policy.sql.sqlparts`);
  the python engine computes those instants in any year. :func:`beyond_tables` is that
  test over a rebuilt decision, :func:`beyond_tables_sql` the same test over a decided
  row in SQL (the eval writers, the report). The violation is the one mark: no other
  bound of the tables is worked out anywhere else.

Must run after: loading the policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policy.sql.values import NESTED

__all__ = ["NESTED", "OUT_OF_RANGE", "PYTHON_DECIDES", "beyond_tables", "beyond_tables_sql",
           "key_objects", "python_decision", "repeated_keys"]

#: The violation SQL adds where a handoff's business time falls outside the years of
#: its calendar tables. The python engine counts business time in any year, so a row
#: that carries it is decided again by the python engine (:func:`python_decision`):
#: the engines never disagree, whatever the years of the leads.
OUT_OF_RANGE = "calendar_out_of_range"

#: The marks of rows the python engine decides again: :data:`OUT_OF_RANGE`, and
#: :data:`policy.sql.values.NESTED` (a lead's list holds a list or an object, compared
#: with a value that may be one too, which the python engine compares by ``==``).
PYTHON_DECIDES = (OUT_OF_RANGE, NESTED)


# --------------------------------------------------------------------------- calendars


def beyond_tables(record: Any) -> bool:
    """Whether SQL's decision ``record`` counted business time outside its calendar
    tables, or compared a list inside a lead's list (a
    :class:`~policy.engine.decision.Decision` with a mark of :data:`PYTHON_DECIDES`)."""
    from policy.engine.decision import Decision

    return isinstance(record, Decision) and any(
        v.code in PYTHON_DECIDES for v in record.violations)


def beyond_tables_sql(violations: str = "violations", *, dialect: str = "duckdb") -> str:
    """:func:`beyond_tables` as a condition over a decided row's ``violations`` list (an
    expression of ``dialect``, ``duckdb`` or ``spark``)."""
    codes = ", ".join(f"'{c}'" for c in PYTHON_DECIDES)
    if dialect == "spark":
        return f"arrays_overlap({violations}, array({codes}))"
    return f"list_has_any({violations}, [{codes}])"


# --------------------------------------------------------------------------- repeated keys


def key_objects(paths: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The objects (paths, the record itself excluded) whose keys the SQL reads when it
    reads ``paths``: every proper prefix of each."""
    return sorted({p[:i] for p in paths for i in range(1, len(p))})


def repeated_keys(objects: Iterable[tuple[str, ...]], column: str = "txt") -> str:
    """A DuckDB condition: the JSON text in ``column`` repeats a key in the record or in
    one of ``objects`` (false for text DuckDB cannot read as JSON)."""
    from policy.sql.sources import _duck_path

    # One parse of the text for all the objects (json_keys takes a list of paths), and
    # list_unique counts distinct keys without building a list: about twice as fast as
    # a json_keys call per object, or list_distinct. try(): text DuckDB cannot read.
    where = ", ".join("'" + _duck_path(p).replace("'", "''") + "'" for p in [(), *objects])
    return (f"coalesce(try(list_bool_or(list_transform(json_keys({column}, [{where}]), "
            "lambda k: len(k) <> list_unique(k)))), false)")


# --------------------------------------------------------------------------- deciding


def python_decision(pol: Any, line: int, text: str, as_of: int, *,
                    with_lead: bool = False) -> Any:
    """One line (JSON text) decided by the python engine, as ``funnel eval`` decides it:
    the decision or error record; with ``with_lead``, (it, the lead as the python reader
    read it)."""
    from policy.engine.decision import LeadError
    from policy.io.leads import jsonl_record

    rec = jsonl_record(line, text)
    if rec.error is not None:
        record: Any = LeadError(rec.error, rec.problems, lead=pol.lead_id(rec.value),
                                line=line)
    else:
        try:
            record = pol.run_prepared(rec.value, pol.prepare(rec.value), as_of)
        except LeadError as exc:
            record = exc.with_line(line)
    return (record, rec.value) if with_lead else record
