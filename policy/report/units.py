"""The facts of one unit of a lead file (:func:`policy.io.batch.batches`), decided by the
python engine as ``funnel eval`` decides it: what each process of ``funnel report``
runs (:func:`policy.report.build.write_facts`).

A block of JSON Lines cut from a large file is decided as ``funnel eval`` decides it:
each line by the policy's typed line decider, which reads the line straight into a
struct and never builds the lead's dict; here the one that returns the Decision's fields
without building the Decision either (:attr:`policy.Policy.line_facts`). The facts of a
lead read only a few of its fields (``--by``, the cohort, each stage's ``entered at``):
:func:`lead_fields` reads just those from the line's bytes, into a struct of its own,
with the values :func:`policy.engine.runtime.get` finds in the lead's dict (a line it
cannot read so, say a ``company`` that is a number, is read into a dict). Any other
line (one the line decider leaves, a refused one) and any other unit are decided as
``funnel eval`` decides them there, from the lead's dict.

Must run after: loading the policy and making the :class:`~policy.report.facts.FactWriter`.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from policy.engine.decision import Decision, LeadError
from policy.io.jsonl_blocks import BLOCK_BYTES, JsonlBlock
from policy.io.leads import fast_decode
from policy.report.facts import FactWriter
from policy.report.rows import compile_function, field_reader, row_function

__all__ = ["big_block", "lead_fields", "unit_facts"]

def big_block(unit: Any) -> bool:
    """Whether the lines of ``unit`` are decided with the policy's line decider: only a
    block cut from a large file, as ``funnel eval`` does (compiling the decider costs
    about what it saves on ten thousand leads)."""
    return type(unit) is JsonlBlock and len(unit.data) >= BLOCK_BYTES // 2


def lead_fields(paths: tuple[tuple[str, ...], ...]
                ) -> Callable[[bytes], tuple[Any, ...]] | None:
    """``read(line)``: the values at ``paths`` in the JSON object of ``line`` (UTF-8
    bytes), as :func:`policy.engine.runtime.get` finds them in the object's dict (None
    for an absent or null value, or one below a null); raises for a line it cannot read
    so (:func:`policy.report.rows.field_reader`). None when one path runs through
    another (``company`` and ``company.industry``): those leads are read into dicts."""
    if not paths:
        return lambda line: ()
    reader = field_reader(paths)
    if reader is None:
        return None
    decode, exprs = reader
    source = f"def read(line):\n    s = decode(line)\n    return ({', '.join(exprs)},)\n"
    return compile_function(source, "read", {"decode": decode}, "lead fields")


def unit_facts(pol: Any, writer: FactWriter, unit: Any, at: int,
               fields: Callable[[bytes], tuple[Any, ...]] | None) -> None:
    """Decide every record of ``unit`` and add its facts to ``writer`` (``fields``:
    :func:`lead_fields` of the writer's paths, or None)."""
    collecting = gc.isenabled()
    gc.disable()  # as policy.io.batch.process: the unit's objects form no cycles
    try:
        if type(unit) is JsonlBlock:
            _block_facts(pol, writer, unit, at, fields)
        else:
            for line, record, lead in decide_records(pol, unit.records(), at):
                writer.write(line, record, lead)
    finally:
        if collecting:
            gc.enable()


def decide_records(pol: Any, records: Iterable[Any], at: int
                   ) -> Iterator[tuple[int, Decision | LeadError, Any]]:
    """(line, decision or error record, lead as read) for each record of
    :func:`policy.io.leads.read_records`, decided as ``funnel eval`` decides them
    (:func:`policy.engine.batch.decide_records`)."""
    from policy.engine.batch import decide_records as decide

    pending: deque[Any] = deque()

    def tap(items: Iterable[Any]) -> Iterator[Any]:
        for record in items:
            pending.append(record.value)
            yield record

    for line, result in decide(pol, tap(records), at):
        yield line, result, pending.popleft()


def _block_facts(pol: Any, writer: FactWriter, unit: JsonlBlock, at: int,
                 fields: Callable[[bytes], tuple[Any, ...]] | None) -> None:
    decider = line_function(pol, writer) if big_block(unit) else None
    row = writer.row_text if decider is not None and decider is pol.line_facts else None
    if decider is not None:
        def decide(piece: bytes, as_of: int) -> Any:
            d = decider(piece, as_of)
            return None if d is None else (d, piece)  # the line, for its lead's fields

        items = unit.iter_leads(decide, at)
    else:
        items = unit.iter_leads()
    evaluate, lead_id = pol.evaluate_at, pol.lead_id
    add, add_facts, add_line, values = writer.add, writer.add_facts, writer.add_line, \
        writer.lead_values
    for number, got in items:
        kind = type(got)
        if kind is tuple:  # decided by the line decider
            d, piece = got
            if row is not None:  # the facts of line_facts, by the row's own code
                text = row(number, d, piece)
                if text is not None:
                    add_line(text)
                    continue
            try:
                if fields is None:
                    raise ValueError
                found = fields(piece)
            except Exception:  # noqa: BLE001 - read as the dict path reads it
                found = values(_lead_of(unit, number, piece))
            if type(d) is tuple:
                add_facts(number, d, found)
            else:
                add(number, d, found)
        elif kind is dict:  # as policy.engine.batch.decide_leads
            try:
                record = evaluate(got, at)
            except LeadError as exc:
                record = exc.with_line(number)
            add(number, record, values(got))
        else:  # the error record of a line that could not be read
            add(number, LeadError(got.error, got.problems, lead=lead_id(got.value),
                                  line=number), values(got.value))


def line_function(pol: Any, writer: FactWriter) -> Callable[[bytes, int], Any] | None:
    """What decides a line of a large block: the policy's :attr:`~policy.Policy.line_facts`
    (the Decision's fields, no Decision built), else its line decider, else None."""
    facts = pol.line_facts
    if facts is not None and writer.bind_scores(facts.score_names):
        if writer.row_text is None:
            writer.row_text = row_function(writer)
        return facts
    return pol.line_decider


def _lead_of(unit: JsonlBlock, number: int, piece: bytes) -> Any:
    """The lead of one line as :meth:`JsonlBlock.iter_leads` reads it without a decider."""
    try:
        return fast_decode(piece)
    except Exception:  # noqa: BLE001 - the text path reads it
        record = unit._line_record(number, piece.decode("utf-8", "surrogateescape") + "\n")
        return None if record is None else record.value
