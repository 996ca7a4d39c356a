"""A file of leads in, a file of decisions out: in batches, in one process or several.

The pipeline of ``funnel eval`` (LANGUAGE.md §9) as a library:

1. :func:`batches` cuts the input into units of work, in order: blocks of whole lines
   for JSON Lines (:func:`policy.io.jsonl_blocks.jsonl_blocks`: the bytes are cut here, decoded
   by whoever decides them), batches of read records for JSON and CSV.
2. :func:`process` decides one unit (:func:`policy.engine.batch.decide_records`) and
   renders it (:meth:`policy.io.writers.Writer.render`): a :class:`Done` with the
   rendered text, the count of records and refusals, and the first refusals.
3. :func:`run` writes the units' results in input order, running :func:`process`
   in this process (``jobs=1``) or in ``jobs`` worker processes: on Linux forked ones
   fed and drained through shared memory files (:mod:`policy.io.workers`), elsewhere a
   ``multiprocessing`` pool fed through pipes.

Whatever ``jobs`` is, the output bytes are the same: each unit is rendered by the same
code, and written in input order. Memory stays bounded: at most ``2 × jobs`` units are
in flight. Worker processes ignore SIGINT; when the main process stops for any reason
(Ctrl-C included) every worker is terminated before :func:`run` returns or raises.
"""

from __future__ import annotations

import gc
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, Any

import attrs

from policy.engine.batch import decide_encode, decide_leads, decide_records
from policy.io.jsonl_blocks import BLOCK_BYTES, JsonlBlock, ReadFailed, jsonl_blocks
from policy.io.leads import read_records, text_stream
from policy.io.writers import Writer, encoded, make_writer, refusal_why

__all__ = ["Done", "ReadFailed", "RecordBatch", "Totals", "batches", "default_jobs",
           "policy_batches", "process", "run"]

#: Records per unit for JSON and CSV input (JSON Lines is cut by bytes).
BATCH_RECORDS = 500
#: Refusals kept for the summary.
SUMMARY_LIMIT = 5


@attrs.frozen
class RecordBatch:
    """Records already read (JSON, CSV), and the bytes they took (for progress)."""

    items: tuple[Any, ...]
    size: int = 0

    def records(self) -> tuple[Any, ...]:
        return self.items


@attrs.frozen
class Done:
    """One decided and rendered unit."""

    payload: Any
    count: int
    refused: int
    first_refusals: tuple[tuple[int, str], ...]
    size: int


@attrs.define
class Totals:
    """What a run decided: records, refusals, and the first refusals (line, why)."""

    total: int = 0
    refused: int = 0
    first_refusals: list[tuple[int, str]] = attrs.Factory(list)

    def add(self, done: Done) -> None:
        self.total += done.count
        self.refused += done.refused
        room = SUMMARY_LIMIT - len(self.first_refusals)
        if room > 0:
            self.first_refusals.extend(done.first_refusals[:room])


def default_jobs() -> int:
    """The machine's cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def batches(binary: IO[bytes], fmt: str, *, schema: Any = None,
            position: Callable[[], int] | None = None, kinds: Any = None,
            delimiter: str | None = None,
            on_note: Callable[[str], None] | None = None) -> Iterator[Any]:
    """The units of work of a lead file open in binary, in order (see the module docstring).

    Raises :class:`policy.io.leads.LeadFileError` for an unusable CSV header (when the
    first unit is requested) and :class:`ReadFailed` when the stream fails half-way.
    ``position`` (bytes read so far) sizes the units of JSON and CSV for progress.
    """
    try:
        if fmt == "jsonl":
            yield from jsonl_blocks(binary, BLOCK_BYTES)
            return
        records = read_records(text_stream(binary), fmt=fmt, schema=schema, kinds=kinds,
                               delimiter=delimiter, on_note=on_note)
        where = position or (lambda: 0)
        seen = where()
        batch: list[Any] = []
        for record in records:
            batch.append(record)
            if len(batch) >= BATCH_RECORDS:
                now = where()
                yield RecordBatch(tuple(batch), now - seen)
                seen, batch = now, []
        if batch:
            yield RecordBatch(tuple(batch), where() - seen)
    except OSError as exc:
        raise ReadFailed(exc.strerror or str(exc)) from None


def policy_batches(pol: Any, binary: IO[bytes], fmt: str, *,
                   position: Callable[[], int] | None = None, delimiter: str | None = None,
                   on_note: Callable[[str], None] | None = None) -> Iterator[Any]:
    """:func:`batches` of a lead file for the loaded policy ``pol``: CSV cells are typed
    by its schema, or, when it has none, by how its rules use each field
    (:func:`policy.io.csv_typing.field_kinds`, spec section 9)."""
    model = pol.model
    kinds = None
    if model.schema is None and fmt == "csv":
        from policy.io.csv_typing import csv_kinds  # only CSV cells are typed (start-up)

        kinds = csv_kinds(model, fmt)
    return batches(binary, fmt, schema=model.schema, position=position, kinds=kinds,
                   delimiter=delimiter, on_note=on_note)


def process(pol: Any, writer: Writer, unit: JsonlBlock | RecordBatch, as_of_us: int,
            trace: bool = False) -> Done:
    """Decide and render one unit (in this process or a worker)."""
    from policy.engine.decision import LeadError

    # No cyclic collection while a unit is decided: its leads, decisions and text are
    # freed by reference counting as they go (none forms a cycle), but the collector
    # would still walk the unit's thousand live leads some thirty times (a quarter of
    # the time of `funnel eval`, bench/README.md). It runs again between units, so
    # whatever cycle a unit did leave is collected then.
    collecting = gc.isenabled()
    gc.disable()
    try:
        join = writer.join
        if type(unit) is JsonlBlock and not trace and join is not None:
            # JSON out: each lead read, decided and encoded in turn (decide_encode)
            # each line the policy's line decider decides is never read into a dict
            leads = unit.iter_leads(pol.line_encoder if _big(unit) else None, as_of_us)
            texts, refusals, kept = decide_encode(pol, leads, as_of_us,
                                                  writer.encoder.encode, SUMMARY_LIMIT)
            count = len(texts)
            payload = join(texts)
        else:
            if type(unit) is JsonlBlock and not trace:
                results = decide_leads(pol, unit.iter_leads(), as_of_us)
            else:
                results = list(decide_records(pol, unit.records(), as_of_us, trace=trace))
            kept = [(line, r) for line, r in results if type(r) is LeadError]
            count, refusals = len(results), len(kept)
            payload = writer.render(results)
        first = tuple((line, refusal_why(r)) for line, r in kept[:SUMMARY_LIMIT])
    finally:
        if collecting:
            gc.enable()
    return Done(payload, count, refusals, first, unit.size)


def _big(unit: JsonlBlock) -> bool:
    """Whether :func:`process` decides the lines of ``unit`` with the policy's typed
    line decider: only in a block cut from a large file (compiling the decider costs
    about what it saves on ten thousand leads: a one-lead command does without it)."""
    return len(unit.data) >= BLOCK_BYTES // 2


def run(pol: Any, units: Iterator[Any], writer: Writer, as_of_us: int, *, trace: bool = False,
        jobs: int = 1, progress: Callable[[int], None] | None = None,
        policy_path: str | None = None) -> Totals:
    """Decide every unit and write it with ``writer``, in input order; the totals.

    ``jobs`` > 1 decides in that many worker processes, once the input proves longer
    than one unit. ``progress(bytes)`` is called as each unit is written. Workers are
    forked where the platform allows (they share the loaded policy); elsewhere they load
    ``policy_path`` again.
    """
    totals = Totals()
    writer.start()
    first = next(units, None)
    if first is None:
        writer.close()
        return totals
    second = next(units, None) if jobs > 1 else None
    if type(second) is JsonlBlock and _big(second) and not trace and writer.join is not None:
        # Compiled once here, before the workers fork, not once in each of them after:
        # they share it, and neither spends its first 35 ms on it (bench/README.md,
        # seventh session).
        pol.line_encoder  # noqa: B018 - a lazy property: asked for to compile it
    # Everything alive now (the loaded policy, the modules) lives as long as the run:
    # the collector need not walk it again and again between units (in one process it
    # did so at every full collection; bench/README.md, fifth session), and forked
    # workers share those pages until something writes to them, which the collector's
    # passes would do to every page (and so copy it). Frozen objects are skipped.
    gc.freeze()
    try:
        if second is None:
            _serial(pol, _chain(first, None, units), writer, as_of_us, trace, totals,
                    progress)
        else:
            _parallel(pol, _chain(first, second, units), writer, as_of_us, trace, totals,
                      progress, jobs, policy_path)
    finally:
        gc.unfreeze()
    writer.close()
    return totals


def _chain(first: Any, second: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    if second is not None:
        yield second
    yield from rest


def _serial(pol: Any, units: Iterator[Any], writer: Writer, as_of_us: int, trace: bool,
            totals: Totals, progress: Callable[[int], None] | None) -> None:
    for unit in units:
        done = process(pol, writer, unit, as_of_us, trace)
        _written(done, writer, totals, progress)


def _written(done: Done, writer: Writer, totals: Totals,
             progress: Callable[[int], None] | None) -> None:
    writer.write(done.payload, done.count)
    totals.add(done)
    if progress is not None:
        progress(done.size)


# --------------------------------------------------------------------------- workers

#: What a worker process decides with: (policy, render-only writer, as_of, trace).
_STATE: dict[str, Any] = {}


def _init_worker(state: dict[str, Any] | None) -> None:
    from policy.io.workers import worker_signals

    worker_signals()
    if state is not None:  # spawned: load the policy again
        from policy.api import load

        pol = load(state["path"], engine=state["engine"], local_tz=state.get("local_tz"))
        from policy.engine.tabular import layout

        _STATE.update(pol=pol, writer=make_writer(
            state["fmt"], None, info=pol.info, as_of_us=state["as_of"],
            score_names=tuple(pol.model.scores), layout=layout(pol)),
            as_of=state["as_of"], trace=state["trace"])


def _work(unit: Any) -> Done:
    s = _STATE
    done = process(s["pol"], s["writer"], unit, s["as_of"], s["trace"])
    # The worker encodes its text: the main process, which every unit passes through,
    # then only copies bytes to the output (on 2 cores its time is the speed-up's limit).
    return attrs.evolve(done, payload=encoded(done.payload))


def _pool_class() -> Any:
    """The standard pool, except that its worker-maintaining thread is not woken by
    every result: it waits on the results pipe too (CPython's choice), and while a
    unit's output (a megabyte) streams through that pipe the pipe stays readable, so the
    thread spun, checking on the workers, and took the main process's GIL from the
    thread that reads the results. It still wakes when a worker exits, when the pool's
    state changes and when the last task is done (the worker sentinels and the change
    notifier). Made here, not at import: ``multiprocessing.pool`` is for --jobs only."""
    import multiprocessing.pool

    class Pool(multiprocessing.pool.Pool):
        def _get_sentinels(self) -> list[Any]:
            return [self._change_notifier._reader]  # type: ignore[attr-defined]

    return Pool


def _forked(pol: Any, units: Iterator[Any], writer: Writer, render_only: Writer,
            as_of_us: int, trace: bool, totals: Totals,
            progress: Callable[[int], None] | None, jobs: int) -> None:
    """:func:`_parallel` on Linux: :class:`policy.io.workers.ForkedWorkers` (the units
    and their output through shared memory files, not pickled through pipes)."""
    from policy.io.workers import ForkedWorkers

    def work(unit: Any) -> tuple[Any, int, int, Any]:
        done = process(pol, render_only, unit, as_of_us, trace)
        return encoded(done.payload), done.count, done.refused, done.first_refusals

    output = _shared_output(writer)
    # (the objects alive before the fork are frozen: see run)
    with ForkedWorkers(jobs, work, output=output) as pool:
        for size, payload, count, refused, first in pool.ordered(units):
            done = Done(payload, count, refused, first, size)
            if payload is None:  # its worker wrote it
                if count:
                    writer.count += count
                totals.add(done)
                if progress is not None:
                    progress(size)
                continue
            _written(done, writer, totals, progress)
            if output is not None:
                writer.out.flush()  # before the next unit's worker writes after it


def _shared_output(writer: Writer) -> tuple[int, Callable[[int], bytes]] | None:
    """``(descriptor, separator)`` when the workers can write their units' output
    themselves (:meth:`policy.io.workers.ForkedWorkers._place`): the writer's output
    has a descriptor, and a unit written is its payload after a separator that depends
    only on the records before it (JSON Lines and CSV: nothing; a JSON array: a comma
    after the first record). The table waits to size its columns: not the table. What
    the writer has buffered (a CSV header, a JSON array's bracket) is flushed first."""
    from policy.io.writers import CsvWriter, JsonLinesWriter, JsonWriter, OutputStream

    kind = type(writer)
    if kind is JsonWriter:
        def separator(before: int) -> bytes:
            return b",\n" if before else b"\n"
    elif kind is JsonLinesWriter or kind is CsvWriter:
        def separator(before: int) -> bytes:
            return b""
    else:
        return None
    out = writer.out
    if type(out) is not OutputStream:
        return None
    try:
        out.flush()
        fd = out.buffer.fileno()
    except (OSError, AttributeError, ValueError):  # io.BytesIO, a test's stream
        return None
    return fd, separator


def _parallel(pol: Any, units: Iterator[Any], writer: Writer, as_of_us: int, trace: bool,
              totals: Totals, progress: Callable[[int], None] | None, jobs: int,
              policy_path: str | None) -> None:
    import multiprocessing

    render_only = make_writer(writer.fmt, None, info=pol.info, as_of_us=as_of_us,
                              score_names=writer.scores, layout=writer.layout)
    from policy.io import workers

    if workers.available():
        _forked(pol, units, writer, render_only, as_of_us, trace, totals, progress, jobs)
        return
    if "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin":
        context = multiprocessing.get_context("fork")
        # A forked worker inherits this module's state: the loaded policy, compiled once.
        _STATE.update(pol=pol, writer=render_only, as_of=as_of_us, trace=trace)
        init_state = None
    else:  # pragma: no cover - exercised only where fork is unavailable
        if policy_path is None:
            raise ValueError("worker processes need the policy's path on this platform")
        context = multiprocessing.get_context("spawn")
        init_state = {"path": policy_path, "engine": pol.engine, "fmt": writer.fmt,
                      "local_tz": getattr(pol, "local_tz", None),
                      "as_of": as_of_us, "trace": trace}
    pool = _pool_class()(jobs, initializer=_init_worker, initargs=(init_state,),
                         context=context)
    try:
        pending: deque[Any] = deque()
        for unit in units:
            pending.append(pool.apply_async(_work, (unit,)))
            while len(pending) >= 2 * jobs:
                _written(pending.popleft().get(), writer, totals, progress)
        while pending:
            _written(pending.popleft().get(), writer, totals, progress)
        pool.close()
        pool.join()
    finally:
        # Also on Ctrl-C, a broken pipe or a read error: no worker outlives the run.
        pool.terminate()
        pool.join()
        _STATE.clear()
