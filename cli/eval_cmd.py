"""`funnel eval`: decide every lead of a file and write one output record per input record.

Thin: parse the arguments, load the policy (:func:`cli.common.load_policy`), read
records with :func:`policy.io.leads.read_records`, decide each with the loaded
:class:`policy.Policy`, and write each result as soon as it is known, so memory
stays constant however long the input (spec section 9). Exit status: 0 every lead
got a decision; 1 a lead was refused, or the policy has errors; 2 bad usage or a
leads file that cannot be read at all.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO

import click

from .common import OK, PROBLEMS, fail_usage, load_policy

OUTPUT_FORMATS = ("jsonl", "json", "csv", "table")
#: Inputs larger than this get a progress bar (on a terminal only).
PROGRESS_BYTES = 1 << 20
#: Refused leads named in the summary on standard error.
SUMMARY_LIMIT = 5
#: Table rows read before the column widths are fixed (the rest stream through).
TABLE_SAMPLE = 100


# --------------------------------------------------------------------------- options


def parse_as_of(ctx: click.Context | None, param: click.Parameter | None, value: str | None
                ) -> int | None:
    """``--as-of``: an ISO-8601 date or date-time; no offset means UTC. None: now."""
    if value is None:
        return None
    from policy.engine.timestamps import parse_timestamp

    us = parse_timestamp(value.strip(), kind="any")
    if us is None:
        raise click.BadParameter(
            f"expected an ISO-8601 date or date-time such as 2026-11-02T15:00:00Z, "
            f"found {value!r}"
        )
    return us


def as_of_option(f: Callable) -> Callable:
    """The ``--as-of`` option shared by ``eval`` and ``explain``."""
    return click.option(
        "--as-of", "as_of", metavar="TIME", callback=parse_as_of,
        help="Decide as of this instant (ISO-8601; no offset means UTC). Default: now.",
    )(f)


def now_us() -> int:
    """The current instant, µs since the epoch (the default ``as_of``)."""
    import time

    return time.time_ns() // 1000


# --------------------------------------------------------------------------- input


class _Source(io.RawIOBase):
    """A binary stream that first replays ``prefix`` (bytes already sniffed), then the
    rest of ``raw``, and counts the bytes handed out (for the progress bar)."""

    def __init__(self, raw: BinaryIO, prefix: bytes = b""):
        super().__init__()
        self.raw = raw
        self._prefix = memoryview(prefix)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
        else:
            data = self.raw.read(len(buffer))
            size = len(data or b"")
            buffer[:size] = data or b""
        self.consumed += size
        return size


def open_leads(leads: str) -> tuple[_Source, int | None, str]:
    """Open LEADS (a path or ``-``) for reading bytes: (stream, size or None, shown name).

    Exits with status 2 and one line when it cannot be opened, or when its first
    bytes are not UTF-8 text at all (a spreadsheet, an archive, UTF-16). A stray bad
    byte further on becomes an error record of the record that holds it.
    """
    if leads == "-":
        raw: BinaryIO = sys.stdin.buffer
        size, shown = None, "standard input"
    else:
        try:
            raw = open(leads, "rb")  # noqa: SIM115 - closed by the caller
            size = os.fstat(raw.fileno()).st_size
        except IsADirectoryError:
            fail_usage(f"{leads}: is a directory, not a file of leads")
        except OSError as exc:
            fail_usage(f"{leads}: cannot read: {exc.strerror or exc}")
        shown = leads
    try:
        head = raw.read(1 << 16) or b""
        head.decode("utf-8")
    except OSError as exc:
        _close(raw, leads)
        fail_usage(f"{shown}: cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sniffed block is fine.
        if not (exc.reason == "unexpected end of data" and exc.start >= len(head) - 3):
            _close(raw, leads)
            fail_usage(f"{shown}: not UTF-8 text (byte {exc.start}); "
                       "export the leads as UTF-8 JSON Lines, JSON or CSV")
    return _Source(raw, head), size, shown


def _close(raw: BinaryIO, leads: str) -> None:
    if leads != "-":
        raw.close()


# --------------------------------------------------------------------------- output


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


def error_text(err: Any) -> str:
    """An error record in one line: its message, then each problem (``path: message``)."""
    parts = [f"{p.path}: {p.message}" if p.path else p.message for p in err.problems]
    parts = [p for p in parts if p != err.message]
    return "; ".join([err.message, *parts])


def _flat(line: int, record: Any, score_names: tuple[str, ...]) -> list[str]:
    """One flat row: line, lead, stage, reached, reason, scores…, route, sla_status,
    escalate_to, violations, error (of the deepest handoff that applies)."""
    from policy.engine.decision import LeadError

    if isinstance(record, LeadError):
        return [str(line), _cell(record.lead), "", "", "", *("" for _ in score_names),
                "", "", "", "", error_text(record)]
    h = record.handoff()
    return [
        str(line), _cell(record.lead), _cell(record.stage), _cell(record.reached),
        _cell(record.reason), *(_cell(record.scores.get(s)) for s in score_names),
        _cell(h.route if h else None), _cell(h.sla.status if h and h.sla else None),
        _cell(h.escalate_to if h else None), ";".join(v.code for v in record.violations), "",
    ]


class _Writer:
    """Writes records to ``out`` in one format, as they come."""

    def __init__(self, out: IO[str], fmt: str, score_names: tuple[str, ...]):
        from policy.engine.decision import dumps  # the engine's modules load only when used

        self._dumps = dumps
        self.out = out
        self.fmt = fmt
        self.scores = score_names
        self.count = 0
        self.header = ["line", "lead", "stage", "reached", "reason", *score_names,
                       "route", "sla_status", "escalate_to", "violations", "error"]
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        self._pending: list[list[str]] | None = [] if fmt == "table" else None
        self._widths: list[int] | None = None
        if self._csv is not None:
            self._csv.writerow(self.header)
        elif fmt == "json":
            out.write("[")

    def write(self, line: int, record: Any) -> None:
        fmt = self.fmt
        if fmt == "jsonl":
            self.out.write(self._dumps(record) + "\n")
        elif fmt == "json":
            self.out.write(("\n" if not self.count else ",\n") + self._dumps(record))
        elif fmt == "csv":
            self._csv.writerow(_flat(line, record, self.scores))  # type: ignore[union-attr]
        else:
            row = self._table_row(line, record)
            if self._pending is not None:
                self._pending.append(row)
                if len(self._pending) >= TABLE_SAMPLE:
                    self._flush_table()
            else:
                self._emit_row(row)
        self.count += 1

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        elif self.fmt == "table":
            self._flush_table()
        self.out.flush()

    # -- table: widths from the first rows, then streamed with those widths
    def _table_row(self, line: int, record: Any) -> list[str]:
        from policy.engine.decision import LeadError

        if isinstance(record, LeadError):
            return [str(line), _cell(record.lead), "refused", *("" for _ in self.scores),
                    "", "", "", error_text(record)]
        h = record.handoff()
        notes = [v.code for v in record.violations]
        if record.reason is not None:
            notes.insert(0, f"reason: {_cell(record.reason)}")
        stage = _cell(record.stage) or "none"
        if record.stage != record.reached:
            stage += f" (reached {record.reached or 'none'})"
        return [str(line), _cell(record.lead), stage,
                *(_cell(record.scores.get(s)) for s in self.scores),
                _cell(h.route if h else None), _cell(h.sla.status if h and h.sla else None),
                _cell(h.escalate_to if h else None), "; ".join(notes)]

    def _table_header(self) -> list[str]:
        return ["line", "lead", "stage", *self.scores, "route", "sla", "escalate", "notes"]

    def _flush_table(self) -> None:
        if self._pending is None:
            return
        rows, self._pending = self._pending, None
        head = self._table_header()
        caps = [8, 24, 32, *(8 for _ in self.scores), 20, 9, 18, 60]
        self._widths = [
            min(cap, max(len(head[i]), *(len(r[i]) for r in rows))) if rows else len(head[i])
            for i, cap in enumerate(caps)
        ]
        self._emit_row(head)
        self._emit_row(["-" * w for w in self._widths])
        for row in rows:
            self._emit_row(row)

    def _emit_row(self, row: list[str]) -> None:
        widths = self._widths or [len(c) for c in row]
        cells = []
        last = len(row) - 1
        for i, (text, width) in enumerate(zip(row, widths, strict=True)):
            if len(text) > width and i != last:
                text = text[: width - 1] + "…"
            cells.append(text if i == last else text.ljust(width))
        self.out.write("  ".join(cells).rstrip() + "\n")


# --------------------------------------------------------------------------- command


@click.command("eval")
@click.argument("path", type=click.Path())
@click.argument("leads", default="-", required=False)
@click.option("--input-format", type=click.Choice(["jsonl", "json", "csv"]), default=None,
              help="Format of LEADS. Default: by its extension (.jsonl, .json, .csv); "
                   "JSON Lines for standard input.")
@as_of_option
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="jsonl",
              show_default=True,
              help="jsonl: one decision per line; json: one array; csv: flat columns; "
                   "table: aligned columns for a person.")
@click.option("--explain", is_flag=True,
              help="Add each decision's trace (every rule evaluated, with the values it "
                   "saw) to jsonl or json output.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write to FILE instead of standard output.")
def eval_(path: str, leads: str, input_format: str | None, as_of: int | None, fmt: str,
          explain: bool, output: str | None) -> None:
    """Decide every lead in LEADS with the policy at PATH.

    LEADS is JSON Lines, a JSON array or CSV (by extension); `-` or nothing reads
    standard input. Every input record yields exactly one output record, in input
    order: a decision, or an error record with the record's line number (a lead the
    schema refuses, a line that is not JSON). CSV cells are typed by the schema, an
    `a.b` header nests, an empty cell is missing.

    \b
    Examples:
      funnel eval rules leads.jsonl --as-of 2026-11-02T15:00:00Z
      funnel eval rules leads.csv --format table
      crm-export | funnel eval rules - --format csv -o decisions.csv

    Exit status: 0 every lead got a decision; 1 a lead was refused or the policy has
    errors; 2 bad usage or LEADS cannot be read.
    """
    if explain and fmt not in ("jsonl", "json"):
        raise click.UsageError(
            "--explain adds the trace to JSON output: use --format jsonl or json "
            "(or `funnel explain` for one lead)"
        )
    pol = load_policy(path)
    at = now_us() if as_of is None else as_of
    source, size, shown = open_leads(leads)
    try:
        refused, refused_count, total = _run(
            pol, source, size, shown, leads, input_format, at, fmt, explain, output)
    finally:
        if leads != "-":
            source.raw.close()
    if refused_count:
        click.echo(_summary(refused, refused_count, total), err=True)
    sys.exit(PROBLEMS if refused_count else OK)


def _run(pol: Any, source: _Source, size: int | None, shown: str, leads: str,
         input_format: str | None, at: int, fmt: str, explain: bool, output: str | None
         ) -> tuple[list[tuple[int, Any]], int, int]:
    """Read, decide and write every record; (first refusals, refused, total)."""
    from policy.engine.decision import LeadError
    from policy.io.leads import LeadFileError, detect_format, read_records, text_stream

    in_fmt = input_format or detect_format(None if leads == "-" else leads)
    stream = text_stream(io.BufferedReader(source))  # type: ignore[arg-type]
    records = read_records(stream, fmt=in_fmt, schema=pol.model.schema)
    try:
        first = next(records, None)
    except LeadFileError as exc:
        fail_usage(f"{shown}: {exc.message}")
    except OSError as exc:
        fail_usage(f"{shown}: cannot read: {exc.strerror or exc}")

    try:
        sys.stdout.flush()
        # Decisions are UTF-8 JSON or CSV whatever the terminal's locale says.
        out = (open(output, "w", encoding="utf-8", newline="") if output
               else io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline=""))
    except OSError as exc:
        fail_usage(f"{output}: cannot write: {exc.strerror or exc}")
    writer = _Writer(out, fmt, tuple(pol.model.scores))
    bar = _progress(size, to_file=output is not None) if leads != "-" else None
    refused: list[tuple[int, Any]] = []
    refused_count = total = 0
    try:
        for line, result in _decide(pol, _chain(first, records), at, explain):
            total += 1
            if isinstance(result, LeadError):
                refused_count += 1
                if len(refused) < SUMMARY_LIMIT:
                    refused.append((line, result))
            writer.write(line, result)
            if bar is not None and total % 256 == 0:
                bar.update(source.consumed - bar.pos)
        writer.close()
        if bar is not None:
            bar.update(bar.length - bar.pos)
    except _ReadFailed as exc:
        fail_usage(f"{shown}: cannot read: {exc.args[0]}")
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Python's docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(PROBLEMS)
    except OSError as exc:
        fail_usage(f"{output or 'standard output'}: cannot write: {exc.strerror or exc}")
    finally:
        if bar is not None:
            bar.render_finish()
        if output:
            out.close()
        else:
            out.detach()  # standard output stays open for whoever owns it
    return refused, refused_count, total


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is None:
        return
    yield first
    yield from rest


class _ReadFailed(Exception):
    """The leads stream failed half-way (an I/O error, not a bad record)."""


def _decide(pol: Any, records: Iterator[Any], at: int, trace: bool) -> Iterator[tuple[int, Any]]:
    """(line, Decision or LeadError) for each record, in order."""
    from policy.engine.decision import LeadError

    run, prepare, lead_id = pol.run_prepared, pol.prepare, pol.lead_id
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except OSError as exc:
            raise _ReadFailed(exc.strerror or str(exc)) from None
        if record.error is not None:
            yield record.line, LeadError(record.error, record.problems,
                                         lead=lead_id(record.value), line=record.line)
            continue
        lead = record.value
        try:
            yield record.line, run(lead, prepare(lead), at, trace=trace)
        except LeadError as exc:
            yield record.line, exc.with_line(record.line)


def _summary(refused: list[tuple[int, Any]], count: int, total: int) -> str:
    """``3 of 1000 leads refused: line 17 (lead_id: expected string, found number), …``"""
    named = []
    for line, err in refused:
        first = err.problems[0] if err.problems else None
        why = (f"{first.path}: {first.message}" if first and first.path
               else first.message if first else err.message)
        named.append(f"line {line} ({why})")
    more = ", …" if count > len(refused) else ""
    noun = "lead" if total == 1 else "leads"
    return f"{count} of {total} {noun} refused: {', '.join(named)}{more}"


class _Bar:
    """click's progress bar over bytes read, drawn on standard error."""

    def __init__(self, size: int):
        self._bar = click.progressbar(length=size, label="deciding", file=sys.stderr,
                                      show_pos=False, show_percent=True)
        self._bar.__enter__()
        self.length = size
        self.pos = 0

    def update(self, step: int) -> None:
        if step > 0:
            self._bar.update(step)
            self.pos += step

    def render_finish(self) -> None:
        self._bar.__exit__(None, None, None)


def _progress(size: int | None, *, to_file: bool) -> _Bar | None:
    """A progress bar only for a large file, only when standard error is a terminal,
    and only when the records do not go to that same terminal (never in pipes, files
    or tests)."""
    if size is None or size < PROGRESS_BYTES:
        return None
    if not _isatty(sys.stderr) or (not to_file and _isatty(sys.stdout)):
        return None
    return _Bar(size)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
