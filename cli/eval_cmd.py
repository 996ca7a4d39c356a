"""`funnel eval`: decide every lead of a file and write one output record per input record.

Thin: parse the arguments, load the policy (:func:`cli.common.load_policy`), open the
leads (:mod:`cli.leadfile`) and the output, and hand them to the library's batch
pipeline (``policy.lead_batches`` and ``policy.decide_batches``: read in units, decide,
render with ``policy.decision_writer``, write in input order, in ``--jobs`` processes).
Memory stays bounded however long the input (spec section 9). Exit status: 0 every lead got a
decision; 1 a lead was refused, or the policy has errors; 2 bad usage or a leads file
that cannot be read at all.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any, NoReturn

import click

import policy

from .common import (
    OK,
    PROBLEMS,
    fail_usage,
    load_policy,
    open_decisions,
    refuse_input_as_output,
    say,
)
from .leadfile import as_of_option, local_tz_option, now_us, open_leads, progress_bar
from .output import output_option, silence_stdout

#: The output formats (the library's writers and Parquet, named here so that `--help`
#: does not import the engine).
OUTPUT_FORMATS = ("jsonl", "json", "csv", "table", "parquet")


@click.command("eval")
@click.argument("path", type=click.Path())
@click.argument("leads", default="-", required=False)
@click.option("--delimiter", default=None, metavar="CHAR",
              help="CSV cell separator (`,`, `;`, `\\t` for tab), for CSV input only (standard "
                   "input needs --input-format csv). Default: a comma, or `;` or tab when "
                   "the header does not split on commas (said on stderr).")
@click.option("--input-format", type=click.Choice(["jsonl", "json", "csv", "parquet"]),
              default=None,
              help="Format of LEADS. Default: by its extension (.jsonl, .json, .csv, "
                   ".parquet); JSON Lines for standard input.")
@as_of_option
@local_tz_option
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default=None,
              help="jsonl: one decision per line; json: one array; csv: the tabular form "
                   "(one column per score and handoff field); table: aligned columns for a "
                   "person; parquet: the tabular form as Parquet (needs -o). Default: by "
                   "the extension of -o FILE (.jsonl, .json, .csv, .txt for table, "
                   ".parquet), else jsonl.")
@click.option("--explain", is_flag=True,
              help="Add each decision's trace (every rule evaluated, with the values it "
                   "saw) to jsonl or json output.")
@output_option()
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Decide in N worker processes (output and its order do not change); "
                   "python engine, no Parquet in or out (DuckDB and Spark use their own threads). "
                   "Default: the machine's cores; a short input is decided in one.")
@click.option("--engine", type=click.Choice(["python", "duckdb", "spark"]), default="python",
              show_default=True,
              help="python: the library; duckdb: the policy's SQL in embedded DuckDB; "
                   "spark: the same SQL on Apache Spark (the [spark] extra; Java 17).")
@click.option("--spark-master", default="local[*]", show_default=True, metavar="URL",
              help="The Spark master for --engine spark.")
def eval_(path: str, leads: str, delimiter: str | None, input_format: str | None,
          as_of: int | None, fmt: str | None, explain: bool, output: str | None,
          jobs: int | None, engine: str = "python", spark_master: str = "local[*]",
          local_tz: str | None = None) -> None:
    """Decide every lead in LEADS with the policy at PATH.

    LEADS is JSON Lines, a JSON array, CSV or Parquet (by extension); `-` or nothing
    reads standard input (not Parquet). Every input record yields exactly one output
    record, in input order: a decision, or an error record with the record's line
    number (a lead the schema refuses, a line that is not JSON). CSV cells are typed by
    the schema, an `a.b` header nests, an empty cell is missing.

    \b
    Examples:
      funnel eval rules leads.jsonl --as-of 2026-11-02T15:00:00Z
      funnel eval rules leads.csv --format table
      crm-export | funnel eval rules - --format csv -o decisions.csv
      funnel eval rules big.jsonl --jobs 4 -o decisions.jsonl
      funnel eval rules leads.parquet --engine duckdb -o decisions.parquet

    Exit status: 0 every lead got a decision; 1 a lead was refused or the policy has
    errors; 2 bad usage or LEADS cannot be read.
    """
    if fmt is None:
        fmt = policy.output_format_for(output)
    if explain and fmt not in ("jsonl", "json"):
        raise click.UsageError(
            "--explain adds the trace to JSON output: use --format jsonl or json "
            "(or `funnel explain` for one lead)"
        )
    if explain and engine != "python":
        raise click.UsageError("--explain needs the python engine: the trace stays in Python")
    if explain and (input_format == "parquet" or (
            input_format is None and leads.lower().endswith(".parquet"))):
        # the Parquet path decides without a trace: the flag was taken and the trace
        # silently left out of every record
        raise click.UsageError("--explain reads the leads as text: give them as JSON Lines, "
                               "JSON or CSV (Parquet rows are decided without a trace)")
    delimiter = _delimiter(delimiter)
    _delimiter_applies(delimiter, leads, input_format)
    refuse_input_as_output(output, policy=path, leads=leads)
    if output is not None and fmt == "parquet":
        _writable_folder(output)
    pol = load_policy(path, local_tz=local_tz)
    at = now_us() if as_of is None else as_of
    if policy.wants_engine(engine, leads, input_format, fmt):
        _run_engine(pol, engine, spark_master, leads, input_format, at, fmt, output,
                    delimiter)
    source, size, shown = open_leads(leads)
    try:
        in_fmt = input_format or policy.input_format_of(leads, source.head)
        totals = _run(pol, path, source, size, shown, leads, in_fmt, at, fmt, explain,
                      output, jobs, delimiter)
    finally:
        if leads != "-":
            source.raw.close()
    if totals.refused:
        say(policy.refusal_summary(totals.first_refusals, totals.refused, totals.total))
        hint = policy.format_hint(in_fmt, source.head, totals.refused, totals.total)
        if hint:
            say(f"funnel: hint: {shown} {hint}")
    sys.exit(PROBLEMS if totals.refused else OK)


#: The input formats an extension names for certain (others are guessed from the bytes).
_BY_EXTENSION = {".jsonl": "JSON Lines", ".ndjson": "JSON Lines", ".json": "JSON",
                 ".parquet": "Parquet"}
_FORMAT_NAMES = {"jsonl": "JSON Lines", "json": "JSON", "parquet": "Parquet"}


def _delimiter_applies(delimiter: str | None, leads: str, input_format: str | None) -> None:
    """Exit 2 when ``--delimiter`` is given for an input that is not read as CSV: it
    was taken and ignored (`crm-export | funnel eval rules - --delimiter ';'` read the
    CSV as JSON Lines and refused every line). A file whose extension names no format
    is read by its bytes, so the option stays for it."""
    if delimiter is not None and input_format != "csv":
        if input_format is not None:
            fail_usage(f"--delimiter is for CSV input, and --input-format says "
                       f"{_FORMAT_NAMES[input_format]}")
        if leads == "-":
            fail_usage("--delimiter is for CSV input, and standard input is read as JSON "
                       "Lines unless --input-format says otherwise: add --input-format csv")
        named = _BY_EXTENSION.get(os.path.splitext(leads)[1].lower())
        if named is not None:
            fail_usage(f"--delimiter is for CSV input, and {leads} is read as {named} by its "
                       "extension: give --input-format csv if it holds CSV")


def _writable_folder(output: str) -> None:
    """Exit 2 when ``output``'s folder is missing or not writable. A Parquet file is
    opened only when the decisions are written, after every lead is decided: without
    this a wrong ``-o`` folder would cost the whole run (the text formats open their
    file first)."""
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        fail_usage(f"{output}: cannot write: No such file or directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        fail_usage(f"{output}: cannot write: Permission denied")


def _delimiter(value: str | None) -> str | None:
    """``--delimiter``: one character; ``\\t`` and ``tab`` name the tab."""
    if value is None:
        return None
    value = {"\\t": "\t", "tab": "\t"}.get(value, value)
    if len(value) != 1 or value in "\"\r\n":
        raise click.BadParameter(f"{value!r}: give one character (`;`, `\\t`)",
                                 param_hint="--delimiter")
    return value


def _run(pol: Any, path: str, source: Any, size: int | None, shown: str, leads: str,
         in_fmt: str, at: int, fmt: str, explain: bool, output: str | None,
         jobs: int | None, delimiter: str | None = None) -> Any:
    """Read, decide and write every record; the totals."""
    units = policy.lead_batches(
        pol, io.BufferedReader(source), in_fmt, position=lambda: source.consumed,
        delimiter=delimiter,
        on_note=lambda note: say(f"funnel: {shown}: {note}"))
    try:
        # The first unit is read before the output is opened: a file that cannot be
        # read at all (an unusable CSV header) leaves no output file behind.
        first = next(units, None)
    except policy.LeadFileError as exc:
        fail_usage(f"{shown}: {exc.message}")
    except policy.ReadFailed as exc:
        fail_usage(f"{shown}: cannot read: {exc.args[0]}")

    target, out, writer = open_decisions(pol, fmt, output, at)
    bar = progress_bar(size, to_file=output is not None) if leads != "-" else None
    try:
        totals = policy.decide_batches(
            pol, _chain(first, units), writer, at, trace=explain,
            jobs=policy.default_jobs() if jobs is None else jobs,
            progress=bar.update if bar is not None else None, policy_path=path)
        if bar is not None:
            bar.update(bar.length - bar.pos)
    except policy.ReadFailed as exc:
        fail_usage(f"{shown}: cannot read: {exc.args[0]}")
    except OSError as exc:
        _write_failed(exc, output)
    finally:
        if bar is not None:
            bar.render_finish()
        _close_output(target, out, output)
    return totals


def _close_output(target: Any, out: Any, output: str | None) -> None:
    """Flush the decisions and close the ``-o`` file (renamed into place), from a
    ``finally``. Bytes still buffered are written here: on a device that fails them
    (``-o /dev/full``) the OSError came out of the ``finally`` as a traceback. With no
    other exception under way it is one line, exit 2; with one, that one goes on."""
    failing = sys.exc_info()
    try:
        try:
            out.detach()  # flushed; the atomic writer closes and renames the file
        finally:
            if target is not None:
                target.__exit__(*sys.exc_info())
    except OSError as exc:
        if failing[0] is None:
            _write_failed(exc, output)


def _write_failed(exc: OSError, output: str | None) -> NoReturn:
    """The decisions could not be written: the reader of standard output went away
    (`| head`): stop quietly, as Python's docs advise; else one line, exit 2."""
    if isinstance(exc, BrokenPipeError):
        silence_stdout()
        sys.exit(PROBLEMS)
    fail_usage(f"{output or 'standard output'}: cannot write: {exc.strerror or exc}")


def _run_engine(pol: Any, engine: str, spark_master: str, leads: str,
                input_format: str | None, at: int, fmt: str, output: str | None,
                delimiter: str | None = None) -> None:
    """Another engine, or Parquet in or out (``policy.run_engine``); exits."""
    if leads.lower().endswith(".parquet") or input_format == "parquet":
        if leads == "-":  # said as `funnel report` says it (it was "-: no such file")
            fail_usage("Parquet cannot be read from standard input: give the file's path")
        if not os.path.isfile(leads):
            fail_usage(f"{leads}: no such file")
        source, size, bar, shown = None, None, None, leads
    else:
        source, size, shown = open_leads(leads)
        bar = progress_bar(size, to_file=output is not None) if leads != "-" else None
    opened: list = []

    def open_writer() -> Any:
        # opened only when the run writes text: a Parquet run names its own file
        opened.extend(open_decisions(pol, fmt, output, at))
        return opened[2]

    try:
        totals = policy.run_engine(
            pol, engine=engine, spark_master=spark_master, leads=leads, source=source,
            input_format=input_format, at=at, fmt=fmt, output=output,
            open_writer=open_writer, delimiter=delimiter,
            on_note=lambda note: say(f"funnel: {shown}: {note}"),
            progress=(lambda: bar.update(source.consumed - bar.pos))
            if bar is not None else None)
    except policy.EngineUsageError as exc:
        fail_usage(str(exc))
    except policy.LeadFileError as exc:  # an unusable CSV header, as the python engine says
        fail_usage(f"{shown}: {exc.message}")
    except policy.ReadFailed as exc:
        fail_usage(f"{shown}: cannot read: {exc.args[0]}")
    except OSError as exc:  # the output (reading errors are ReadFailed, above)
        _write_failed(exc, output)
    finally:
        if opened:
            target, out, _writer = opened
            _close_output(target, out, output)
        if bar is not None:
            bar.render_finish()
        if source is not None and leads != "-":
            source.raw.close()
    if totals.refused:
        say(policy.refusal_summary(totals.first_refusals, totals.refused, totals.total))
        if source is not None:  # a text input: the python engine's hint (spec section 9)
            in_fmt = input_format or policy.input_format_of(leads, source.head)
            hint = policy.format_hint(in_fmt, source.head, totals.refused, totals.total)
            if hint:
                say(f"funnel: hint: {shown} {hint}")
    sys.exit(PROBLEMS if totals.refused else OK)


def _chain(first: Any, rest: Any) -> Any:
    if first is None:
        return
    yield first
    yield from rest
