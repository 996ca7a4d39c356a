"""`funnel eval --engine duckdb|spark`, and Parquet in and out for every engine.

Called by :mod:`cli.eval_cmd` when the engine is not python or a Parquet file is read
or written; it reads the input, decides with the chosen engine, writes with the same
writers (:mod:`policy.io.writers`) or Parquet (:class:`policy.sql.duck.ParquetWriter`),
and returns the totals. The python engine's own path stays in ``eval_cmd``.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import attrs

from .common import fail_usage, open_decisions

ENGINES = ("python", "duckdb", "spark")


@attrs.define
class Totals:
    total: int = 0
    refused: int = 0
    first_refusals: list = attrs.field(factory=list)


def wants_engine(engine: str, leads: str, input_format: str | None, fmt: str,
                 output: str | None) -> bool:
    """Whether this module runs the command (another engine, or Parquet involved)."""
    return engine != "python" or input_format == "parquet" or fmt == "parquet" or (
        leads.lower().endswith(".parquet"))


def run(pol: Any, *, engine: str, spark_master: str, leads: str, source: Any,
        input_format: str | None, at: int, fmt: str, output: str | None,
        progress: Any) -> Totals:
    """Decide every record of ``leads`` and write the output; the totals."""
    import policy

    LeadError, detect_format = policy.LeadError, policy.detect_format  # noqa: N806
    refusal_why = policy.refusal_why

    in_fmt = input_format or ("parquet" if leads.lower().endswith(".parquet")
                              else detect_format(None if leads == "-" else leads))
    if fmt == "parquet" and not output:
        fail_usage("--format parquet writes a file: give it with -o FILE.parquet")
    if in_fmt == "parquet" and leads == "-":
        fail_usage("Parquet cannot be read from standard input: give the file's path")
    runner = _runner(pol, engine, at, spark_master)
    totals = Totals()

    if (engine == "duckdb" and in_fmt == "parquet" and fmt == "parquet"):
        # The fast path: the whole file stays inside DuckDB.
        try:
            totals.total = runner.parquet_to_parquet(leads, output)
        except OSError as exc:
            fail_usage(f"{leads}: {exc}")
        _count_parquet_refusals(output, totals)
        return totals

    results = _decide(pol, runner, engine, in_fmt, leads, source, at, progress)
    if fmt == "parquet":
        lay = policy.tabular_layout(pol.model)
        pw = policy.ParquetWriter(pol, output)
        for line, record in results:
            _tally(totals, line, record, LeadError, refusal_why)
            pw.add(policy.tabular_row(record, lay, line=line, info=pol.info, as_of=at))
        pw.close()
        return totals
    target, out, writer = open_decisions(pol, fmt, output, at)
    writer.start()
    try:
        batch: list = []
        for line, record in results:
            _tally(totals, line, record, LeadError, refusal_why)
            batch.append((line, record))
            if len(batch) >= 2000:
                writer.write(writer.render(batch), len(batch))
                batch = []
        writer.write(writer.render(batch), len(batch))
        writer.close()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    finally:
        out.detach()  # flushed; the atomic writer closes and renames the file
        if target is not None:
            target.__exit__(*sys.exc_info())
    return totals


def _tally(totals: Totals, line: int, record: Any, error_cls: Any, why: Any) -> None:
    totals.total += 1
    if isinstance(record, error_cls):
        totals.refused += 1
        if len(totals.first_refusals) < 5:
            totals.first_refusals.append((line, why(record)))


def _count_parquet_refusals(path: str, totals: Totals) -> None:
    import duckdb

    con = duckdb.connect()
    q = "SELECT line, error, error_paths FROM read_parquet(?) WHERE error IS NOT NULL"
    rows = con.execute(q + " ORDER BY line", [path]).fetchall()
    totals.refused = len(rows)
    for line, error, paths in rows[:5]:
        totals.first_refusals.append((line, f"{paths[0]}: {error}" if paths and paths[0]
                                      else error))


def _runner(pol: Any, engine: str, at: int, spark_master: str) -> Any:
    import policy

    try:
        if engine == "duckdb":
            return policy.DuckEngine(pol, as_of=at)
        if engine == "spark":
            why = policy.spark_missing()
            if why:
                fail_usage(f"--engine spark: {why}")
            return policy.SparkEngine(pol, as_of=at, master=spark_master)
    except policy.SqlUnsupported as exc:
        fail_usage(f"--engine {engine} cannot run this policy: {exc}")
    return None


def _decide(pol: Any, runner: Any, engine: str, in_fmt: str, leads: str, source: Any,
            at: int, progress: Any) -> Iterator[tuple[int, Any]]:
    """(line, Decision or LeadError) for every record, in order."""
    import policy

    if in_fmt == "parquet":
        import duckdb

        con = duckdb.connect()
        try:
            if engine == "duckdb":  # staged and decided inside DuckDB, one query
                yield from runner.decide_parquet(leads)
                return
            batches = policy.parquet_batches(con, leads)
            for lines, texts in batches:
                yield from _decide_texts(pol, runner, lines, texts, at)
        except duckdb.Error as exc:
            fail_usage(f"{leads}: cannot read as Parquet: {str(exc).splitlines()[0]}")
        return
    stream = io.BufferedReader(source)
    if runner is not None and in_fmt == "jsonl":
        yield from runner.decide_jsonl(stream, progress=progress)
        return
    records = policy.read_records(policy.text_stream(stream), fmt=in_fmt,
                                  schema=pol.model.schema)
    if runner is not None:
        yield from runner.decide_records(records, progress=progress)
        return
    LeadError = policy.LeadError  # noqa: N806

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
    import policy

    try:
        return pol.run_prepared(lead, pol.prepare(lead), at)
    except policy.LeadError as exc:
        return exc.with_line(line)
