"""Decision files written by the SQL engines without rebuilding decisions in Python.

The engine's query (:func:`policy.sql.records.record_query`) hands back, in input
order, each record's finished text (JSON Lines, JSON or CSV, the python writers'
bytes) or, for the few rows it cannot print exactly, the row's tabular columns;
:func:`write_rows` copies the texts to the output in large runs and has exactly those
rows rebuilt (:class:`policy.sql.engine.Rebuilder`) and written by the python writer
(:mod:`policy.io.writers`), which also writes what comes before and after the records
(CSV's header, a JSON array's brackets and commas). Memory holds one chunk of rows.

The records are counted in a :class:`policy.io.batch.Totals` (the refusals' first
five for the command's summary line), as the python engine's run counts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from policy.engine.decision import LeadError
from policy.io.batch import SUMMARY_LIMIT, Totals
from policy.io.writers import encoded, refusal_why

__all__ = ["count", "fetch_chunks", "write_rows"]


def count(totals: Totals, line: int, record: Any) -> None:
    """Count one record (a decision or a :class:`LeadError`) in ``totals``."""
    totals.total += 1
    if isinstance(record, LeadError):
        totals.refused += 1
        if len(totals.first_refusals) < SUMMARY_LIMIT:
            totals.first_refusals.append((line, refusal_why(record)))


def write_rows(chunks: Iterable[list[tuple]], writer: Any, totals: Totals, *,
               python: Any, special: dict[int, Any] | None = None,
               inserted: dict[int, Any] | None = None) -> None:
    """Write the rows of ``chunks`` (lists of ``(line, text bytes or None, payload)``,
    in line order) with ``writer``.

    ``python(line, payload)`` gives the record of a row without text; ``special``:
    lines whose record ``python(line, None)`` gives whatever the SQL says (the python
    engine decides them); ``inserted``: records by line that the SQL never saw (the
    python reader's refusals), written in line order among the others.
    """
    sep = b",\n" if writer.fmt == "json" else b""
    special = special or {}
    pending = sorted(inserted or ())
    at = 0
    last = 0
    for rows in chunks:
        if not rows:
            continue
        lines = [r[0] for r in rows]
        if lines[0] <= last or lines != sorted(lines):
            raise RuntimeError("the engine returned the decisions out of input order")
        last = lines[-1]
        outs = [r[1] for r in rows]
        if (None not in outs and special.keys().isdisjoint(lines)
                and (at >= len(pending) or pending[at] > last)):
            writer.write(sep.join(outs), len(outs))
            totals.total += len(outs)
            continue
        run: list[bytes] = []
        for line, out, payload in rows:
            while at < len(pending) and pending[at] < line:
                _flush(writer, run, sep, totals)
                _one(writer, pending[at], inserted[pending[at]], totals)  # type: ignore[index]
                at += 1
            if out is not None and line not in special:
                run.append(out)
                continue
            _flush(writer, run, sep, totals)
            _one(writer, line, python(line, None if line in special else payload), totals)
        _flush(writer, run, sep, totals)
    _flush(writer, [], sep, totals)
    for line in pending[at:]:
        _one(writer, line, inserted[line], totals)  # type: ignore[index]


def _flush(writer: Any, run: list[bytes], sep: bytes, totals: Totals) -> None:
    if run:
        writer.write(sep.join(run), len(run))
        totals.total += len(run)
        run.clear()


def _one(writer: Any, line: int, record: Any, totals: Totals) -> None:
    count(totals, line, record)
    writer.write(encoded(writer.render([(line, record)])), 1)


def fetch_chunks(cursor: Any, size: int = 20_000) -> Iterator[list[tuple]]:
    """The rows of an executed DuckDB cursor, ``size`` at a time."""
    while True:
        rows = cursor.fetchmany(size)
        if not rows:
            return
        yield rows
