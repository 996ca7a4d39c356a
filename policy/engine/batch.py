"""Deciding many leads at one instant: the batch path behind ``funnel eval``, ``diff --leads``.

:func:`decide_records` takes the records of a lead file (:class:`policy.io.leads.Record`:
a line number and a lead, or why the line could not be read) and gives one
``(line, Decision | LeadError)`` pair per record, in input order. A record that could
not be read becomes an error record with the lead's id when one can be found; a lead the
policy refuses becomes its :class:`LeadError` with the record's line. Nothing raises for
a bad lead.

It uses the policy's own entry points (:meth:`policy.Policy.evaluate_at`: the compiled
engine's ``decide``, with :meth:`~policy.Policy.prepare` and the engine for the leads it
leaves to them; :meth:`policy.Policy.run_prepared` for a trace), so a decision made here
is the decision ``Policy.evaluate`` makes, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from policy.engine.decision import Decision, LeadError

__all__ = ["decide_batch", "decide_encode", "decide_leads", "decide_records"]


def decide_records(pol: Any, records: Iterable[Any], as_of_us: int, *, trace: bool = False
                   ) -> Iterator[tuple[int, Decision | LeadError]]:
    """``(line, Decision or LeadError)`` for each record, lazily, in order.

    ``pol`` is a loaded :class:`policy.Policy`; ``as_of_us`` the instant, µs since the
    epoch; ``trace`` records every rule (the interpreter decides, as for ``explain``).
    Errors of the ``records`` iterator itself (an I/O error) propagate.
    """
    run, prepare, lead_id = pol.run_prepared, pol.prepare, pol.lead_id
    evaluate = pol.evaluate_at
    for record in records:
        if record.error is not None:
            yield record.line, LeadError(record.error, record.problems,
                                         lead=lead_id(record.value), line=record.line)
            continue
        lead = record.value
        try:
            if trace:
                yield record.line, run(lead, prepare(lead), as_of_us, trace=True)
            else:
                yield record.line, evaluate(lead, as_of_us)
        except LeadError as exc:
            yield record.line, exc.with_line(record.line)


def decide_leads(pol: Any, items: Iterable[tuple[int, Any]], as_of_us: int
                 ) -> list[tuple[int, Decision | LeadError]]:
    """:func:`decide_records` without the trace, for ``(line, lead)`` pairs where the
    lead is a ``dict`` or the error record of a line that could not be read
    (:meth:`policy.io.jsonl_blocks.JsonlBlock.leads`): the same results, as a list,
    without a record object per lead (``funnel eval`` runs this once per lead)."""
    evaluate, lead_id = pol.evaluate_at, pol.lead_id
    out: list[tuple[int, Decision | LeadError]] = []
    append = out.append
    for line, lead in items:
        if type(lead) is not dict:
            append((line, LeadError(lead.error, lead.problems, lead=lead_id(lead.value),
                                    line=line)))
            continue
        try:
            append((line, evaluate(lead, as_of_us)))
        except LeadError as exc:
            append((line, exc.with_line(line)))
    return out


def decide_encode(pol: Any, items: Iterable[tuple[int, Any]], as_of_us: int,
                  encode: Callable[[Decision | LeadError], str], keep: int
                  ) -> tuple[list[str], int, list[tuple[int, LeadError]]]:
    """:func:`decide_leads`, each result encoded by ``encode`` as soon as it is made:
    ``(texts, refusals, the first keep refusals as (line, LeadError))``.

    The same results as ``[encode(r) for _, r in decide_leads(...)]``, but a lead and
    its decision live only while they are encoded: deciding a block's thousand leads
    first and encoding them after walked three megabyte-sized lists, out of the
    processor's caches (a fifth of ``funnel eval``'s time; bench/README.md, fifth
    session). ``items`` as for :func:`decide_leads`, typically a generator that reads
    each line as it is asked for (:meth:`policy.io.jsonl_blocks.JsonlBlock.iter_leads`);
    an item may also be a lead's :class:`Decision` already made, which is encoded, or
    its record's text already encoded, which is kept.
    """
    evaluate, lead_id = pol.evaluate_at, pol.lead_id
    texts: list[str] = []
    append = texts.append
    first: list[tuple[int, LeadError]] = []
    refused = 0
    for line, lead in items:
        if type(lead) is str:  # decided and encoded as it was read (Policy.line_encoder)
            append(lead)
            continue
        if type(lead) is Decision:  # decided as it was read (JsonlBlock.iter_leads)
            append(encode(lead))
            continue
        if type(lead) is dict:
            try:
                append(encode(evaluate(lead, as_of_us)))
                continue
            except LeadError as exc:
                err = exc.with_line(line)
        else:
            err = LeadError(lead.error, lead.problems, lead=lead_id(lead.value), line=line)
        append(encode(err))
        refused += 1
        if len(first) < keep:
            first.append((line, err))
    return texts, refused, first


def decide_batch(pol: Any, records: Iterable[Any], as_of_us: int, *, trace: bool = False
                 ) -> list[tuple[int, Decision | LeadError]]:
    """:func:`decide_records` for a batch held in memory, as a list."""
    return list(decide_records(pol, records, as_of_us, trace=trace))
