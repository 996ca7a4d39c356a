"""``funnel eval --engine duckdb|spark``, and Parquet in or out for every engine: read
the input, decide with the chosen engine, write, and count (spec section 10).

:func:`run` is what the click command calls (it stays thin: options in, totals out);
the python engine's own path for text formats is :mod:`policy.io.batch`. The paths:

- DuckDB, Parquet to Parquet: the whole file stays inside DuckDB, one ``COPY``
  (:meth:`policy.sql.duck.DuckEngine.parquet_to_parquet`);
- DuckDB or Spark to JSON Lines, JSON or CSV: the engine writes each record's text
  itself (:mod:`policy.sql.records`, :mod:`policy.sql.output`);
- the table view, and Parquet from a text input: decisions rebuilt in Python
  (:class:`policy.sql.engine.Rebuilder`) and written by the python writers or
  :class:`policy.sql.duck.ParquetWriter`;
- the python engine with a Parquet input: DuckDB reads each row as a JSON object.

Usage problems (a Parquet file on standard input, an engine that cannot run the
policy) raise :class:`EngineUsageError` with the one line to show; so do Spark's
failures (a JVM that does not start, out of memory, a plan too deep: the words of
:mod:`policy.sql.spark_failures`, never a Java stack trace).
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from policy.engine.decision import LeadError
from policy.io.batch import Totals
from policy.sql.output import count

__all__ = ["ENGINES", "EngineUsageError", "run", "wants_engine"]

ENGINES = ("python", "duckdb", "spark")


class EngineUsageError(Exception):
    """What stops an engine run before it starts (exit status 2): one line; also a
    failure of Spark's during the run."""


def wants_engine(engine: str, leads: str, input_format: str | None, fmt: str) -> bool:
    """Whether :func:`run` runs the command (another engine, or Parquet involved)."""
    return engine != "python" or input_format == "parquet" or fmt == "parquet" or (
        leads.lower().endswith(".parquet"))


def run(pol: Any, *, engine: str, **kwargs: Any) -> Totals:
    """:func:`_run`, with a failure of Spark's (a Java or Py4J error, a JVM that did
    not start or ended) raised as :class:`EngineUsageError` in one line that says
    what to do."""
    from policy.sql.literal import literal_path, needs_alias

    leads, output = kwargs["leads"], kwargs.get("output")
    parquet_in = kwargs.get("input_format") == "parquet" or (
        kwargs.get("input_format") is None and leads.lower().endswith(".parquet"))
    if not ((parquet_in and needs_alias(leads)) or needs_alias(output)):
        return _run_engine(pol, engine=engine, **kwargs)
    # DuckDB reads a path as a glob pattern: b[1].parquet would be read as b1.parquet
    with literal_path(leads if parquet_in else "") as alias, \
            literal_path(output or "", "decided.parquet") as decided:
        kwargs["reads"] = {leads: alias or leads, output: decided or output}
        try:
            return _run_engine(pol, engine=engine, **kwargs)
        except EngineUsageError as exc:
            raise EngineUsageError(str(exc).replace(alias, leads)) from None


def _run_engine(pol: Any, *, engine: str, **kwargs: Any) -> Totals:
    from policy.sql.errors import SqlUnsupported, within_depth

    if engine != "spark":
        try:
            with within_depth():  # DuckDB's limits (depth, memory) in one line
                return _run(pol, engine=engine, **kwargs)
        except SqlUnsupported as exc:  # a statement built for the input (typed Parquet)
            raise EngineUsageError(f"--engine {engine} cannot run this policy on this "
                                   f"input: {exc}") from None
    from policy.sql.spark_failures import failure_message

    try:
        return _run(pol, engine=engine, **kwargs)
    except EngineUsageError:
        raise
    except SqlUnsupported as exc:
        raise EngineUsageError(f"--engine spark cannot run this policy on this input: "
                               f"{exc}") from None
    except Exception as exc:
        said = failure_message(exc)
        if said is None:
            raise
        raise EngineUsageError(f"--engine spark: {said}") from None


def _run(pol: Any, *, engine: str, leads: str, source: Any, input_format: str | None,
         at: int, fmt: str, output: str | None, open_writer: Callable[[], Any],
         progress: Callable[[], None] | None = None,
         spark_master: str = "local[*]", delimiter: str | None = None,
         on_note: Callable[[str], None] | None = None,
         reads: dict[str | None, str | None] | None = None) -> Totals:
    """Decide every record of ``leads`` (``source``: its binary stream, None for
    Parquet) with ``engine`` at ``at`` (µs) and write ``fmt`` to ``output`` (Parquet)
    or to the writer ``open_writer()`` returns (it is started and closed here). The
    totals of the run. A CSV input is read as the python engine reads it
    (:func:`_csv_records`): ``delimiter`` (None: sniffed, said to ``on_note``) and
    cells typed by the schema, or by the policy's use of each field. ``reads``: the path
    DuckDB reads for ``leads`` and ``output`` where it differs (:func:`run`)."""
    from policy.io.leads import input_format_of
    from policy.sql.records import FORMATS

    in_fmt = input_format or ("parquet" if leads.lower().endswith(".parquet")
                              else input_format_of(leads, getattr(source, "head", b"")))
    if fmt == "parquet" and not output:
        raise EngineUsageError("--format parquet writes a file: give it with -o FILE.parquet")
    if in_fmt == "parquet" and leads == "-":
        raise EngineUsageError("Parquet cannot be read from standard input: give the "
                               "file's path")
    # the Parquet input as DuckDB reads it (a link when its name is a glob pattern), and
    # the decided file as it is read back; the output is written to its own path
    if reads:
        leads, decided = reads.get(leads) or leads, reads.get(output) or output
    else:
        decided = output
    parquet_only = engine == "duckdb" and in_fmt == "parquet" and fmt == "parquet"
    # neither that path nor Parquet into text (its columns read by their types,
    # DuckEngine.stage_parquet_typed) reads JSON text: the engine builds the JSON
    # statement only if it must (column names that differ only in case)
    typed = engine == "duckdb" and in_fmt == "parquet" and fmt in (*FORMATS, "parquet")
    runner = _runner(pol, engine, at, spark_master, json=not typed)
    totals = Totals()
    if parquet_only:
        from policy.sql.parquet import CannotWrite

        try:
            totals.total = runner.parquet_to_parquet(leads, output)
        except CannotWrite:
            raise  # the caller's "cannot write", naming the output
        except OSError as exc:
            raise EngineUsageError(f"{leads}: {exc}") from None
        if not runner.rows_for_python(decided):
            _count_parquet_refusals(runner.pol, leads, decided, totals)  # type: ignore[arg-type]
            return totals
        # a lead's list holding a list or an object, compared (fallback.NESTED), or an
        # SLA whose business time no calendar table can hold (started in the years
        # 9998-9999): no row leaves DuckDB on that path, so the file is decided again by
        # the path below, which has the python engine decide those rows
        runner, totals = _runner(pol, engine, at, spark_master), Totals()
    records = None
    if in_fmt != "parquet" and (in_fmt != "jsonl" or runner is None):
        # the first record is read before the output is opened, as the python engine
        # does: an unusable CSV header wrote the CSV header or `[` of the output first
        records = _csv_records(pol, io.BufferedReader(source), in_fmt, (delimiter, on_note))
    if fmt in FORMATS and getattr(runner, "writes_records", False):
        writer = open_writer()
        writer.start()
        _write_by_sql(runner, in_fmt, leads, source, fmt, writer, totals, progress, records)
        writer.close()
        return totals
    results = _decide(pol, runner, engine, in_fmt, leads, source, at, progress, records)
    if fmt == "parquet":
        from policy.engine.tabular import layout, row
        from policy.sql.duck import ParquetWriter

        lay = layout(pol)
        pw = ParquetWriter(pol, output)  # type: ignore[arg-type]
        for line, record in results:
            count(totals, line, record)
            pw.add(row(record, lay, line=line, info=pol.info, as_of=at))
        pw.close()
        return totals
    writer = open_writer()
    writer.start()
    batch: list = []
    for line, record in results:
        count(totals, line, record)
        batch.append((line, record))
        if len(batch) >= 2000:
            writer.write(writer.render(batch), len(batch))
            batch = []
    writer.write(writer.render(batch), len(batch))
    writer.close()
    return totals


def _csv_records(pol: Any, stream: Any, in_fmt: str, csv: tuple) -> Any:
    """The records of a CSV or JSON-array input, read exactly as the python engine's
    ``policy_batches`` reads them: before, this path typed no schema-less CSV cell
    (``"11" > 10`` was false here and true there) and ignored ``--delimiter``."""
    from policy.io.csv_typing import csv_kinds
    from policy.io.leads import read_records, text_stream

    delimiter, on_note = csv
    records = read_records(text_stream(stream), fmt=in_fmt, schema=pol.model.schema,
                           kinds=csv_kinds(pol.model, in_fmt), delimiter=delimiter,
                           on_note=on_note)
    first = next(records, None)  # raises LeadFileError for an unusable CSV header now
    return iter(()) if first is None else itertools.chain((first,), records)


def _write_by_sql(runner: Any, in_fmt: str, leads: str, source: Any, fmt: str,
                  writer: Any, totals: Totals, progress: Any, records: Any = None) -> None:
    """Stage the input in the engine, then let it write the records."""

    by_python: dict[int, str] = {}
    errors: dict[int, Any] = {}
    relation = "decided"
    if in_fmt == "parquet":
        typed = getattr(runner, "stage_parquet_typed", None)
        if typed is not None:
            try:
                relation = _parquet(lambda: typed(leads), leads)
            except OSError as exc:
                raise EngineUsageError(f"{leads}: {exc}") from None
        else:
            _parquet(lambda: runner.stage_parquet(leads), leads)
    elif in_fmt == "jsonl":
        by_python = runner.stage_jsonl(io.BufferedReader(source), progress=progress)
    else:
        errors = runner.stage_records(records, progress=progress)
    if relation == "decided":
        runner.write_stage(fmt, writer, totals, by_python, errors)
    else:
        runner.write_stage(fmt, writer, totals, by_python, errors, relation=relation)


def _parquet(stage: Callable[[], Any], leads: str) -> Any:
    import duckdb

    try:
        return stage()
    except duckdb.Error as exc:
        raise EngineUsageError(f"{leads}: cannot read as Parquet: "
                               f"{str(exc).splitlines()[0]}") from None


def _count_parquet_refusals(pol: Any, source: str, path: str, totals: Totals) -> None:
    """The refused rows of the decided Parquet file ``path``, for the summary: the first
    few in the python engine's words (their rows of ``source`` read again as the python
    engine reads them: the file holds only each refusal's message and paths)."""
    import duckdb

    from policy.engine.decision import Problem
    from policy.io.batch import SUMMARY_LIMIT
    from policy.io.writers import refusal_why
    from policy.sql.engine import explain_refusal
    from policy.sql.parquet import json_select, parquet_types

    con = duckdb.connect()
    q = "SELECT line, error, error_paths FROM read_parquet(?) WHERE error IS NOT NULL"
    rows = con.execute(q + " ORDER BY line", [path]).fetchall()
    first = rows[:SUMMARY_LIMIT]
    texts = dict(con.execute(json_select(source, parquet_types(con, source),
                                         [r[0] for r in first])).fetchall()) if first else {}
    con.close()
    totals.refused = len(rows)
    for line, error, paths in first:
        record = LeadError(error, [Problem(p, error) for p in paths or ()], line=line)
        if line in texts:
            record = explain_refusal(pol, record, texts[line])
        totals.first_refusals.append((line, refusal_why(record)))


def _runner(pol: Any, engine: str, at: int, spark_master: str, json: bool = True) -> Any:
    from policy.sql.errors import SqlUnsupported

    try:
        if engine == "duckdb":
            from policy.sql.duck import DuckEngine

            return DuckEngine(pol, as_of=at, json=json)
        if engine == "spark":
            from policy.sql.spark import SparkEngine, spark_missing

            why = spark_missing()
            if why:
                raise EngineUsageError(f"--engine spark: {why}")
            return SparkEngine(pol, as_of=at, master=spark_master)
    except SqlUnsupported as exc:
        raise EngineUsageError(f"--engine {engine} cannot run this policy: {exc}") from None
    return None


def _decide(pol: Any, runner: Any, engine: str, in_fmt: str, leads: str, source: Any,
            at: int, progress: Any, records: Any = None) -> Iterator[tuple[int, Any]]:
    """(line, Decision or LeadError) for every record, in order."""
    if in_fmt == "parquet":
        import duckdb

        from policy.sql.duck import parquet_batches

        con = duckdb.connect()
        try:
            if engine == "duckdb":  # staged and decided inside DuckDB, one query
                yield from runner.decide_parquet(leads)
                return
            if engine == "spark":  # each row's text is a lead, as json.loads reads it
                runner.texts_are_leads = True
            for lines, texts in parquet_batches(con, leads):
                yield from _decide_texts(pol, runner, lines, texts, at)
        except duckdb.Error as exc:
            raise EngineUsageError(f"{leads}: cannot read as Parquet: "
                                   f"{str(exc).splitlines()[0]}") from None
        finally:
            con.close()
        return
    if runner is not None and in_fmt == "jsonl":
        yield from runner.decide_jsonl(io.BufferedReader(source), progress=progress)
        return
    if runner is not None:
        yield from runner.decide_records(records, progress=progress)
        return
    for rec in records:
        if rec.error is not None:
            yield rec.line, LeadError(rec.error, rec.problems, lead=pol.lead_id(rec.value),
                                      line=rec.line)
            continue
        yield rec.line, _python(pol, rec.value, rec.line, at)


def _decide_texts(pol: Any, runner: Any, lines: list[int], texts: list[str], at: int):
    if runner is not None:
        yield from runner.decide(lines, texts)
        return
    for line, text in zip(lines, texts, strict=True):
        yield line, _python(pol, json.loads(text), line, at)


def _python(pol: Any, lead: Any, line: int, at: int) -> Any:
    try:
        return pol.run_prepared(lead, pol.prepare(lead), at)
    except LeadError as exc:
        return exc.with_line(line)
