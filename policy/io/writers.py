"""Decision files: write decisions and error records as JSON Lines, JSON, CSV or a table.

``funnel eval`` writes its output here (LANGUAGE.md §9); so can any caller that decides
many leads (:mod:`policy.engine.batch`). Writing is split in two so that worker
processes can do the expensive half:

- :meth:`Writer.render` turns a batch of ``(line, Decision | LeadError)`` pairs into a
  *payload* (text for JSON Lines, JSON and CSV; rows of cells for the table). It is pure:
  the same batch always gives the same payload, wherever it runs.
- :meth:`Writer.write` appends payloads to the output, in order, and :meth:`Writer.close`
  ends the document (the closing ``]`` of a JSON array, a table's last rows).

So the bytes written do not depend on how the input was cut into batches, nor on how
many processes rendered them.

**JSON.** Every record is the canonical form of :func:`policy.engine.decision.dumps`:
``json.dumps(record.to_dict(), ensure_ascii=False, separators=(", ", ": "))``, written
faster by :class:`~policy.engine.record_text.RecordEncoder` (the same bytes; the
compiled ``decide_text`` of a JSON line writes them with the same parts).

**Text that is not Unicode.** A lead read from ``"\\ud800"`` (a JSON escape of half a
surrogate pair) holds a string no UTF-8 file can hold. The output is opened with
``errors="backslashreplace"``, so such a character is written as the escape ``\\ud800``:
valid JSON that reads back to the same string, and the six characters ``\\ud800`` in CSV
and table cells.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

from policy.engine.decision import LeadError, PolicyInfo
from policy.engine.record_text import RecordEncoder
from policy.render.escape import csv_text, json_safe, term_cut, term_pad, term_width, terminal

if TYPE_CHECKING:
    from policy.engine import tabular

__all__ = ["OUTPUT_EXTENSIONS", "OUTPUT_FORMATS", "OutputStream", "RecordEncoder", "Writer",
           "decision_writer", "encoded", "error_text", "make_writer", "open_output_stream",
           "output_format_for", "refusal_summary"]

#: The output formats of ``funnel eval``.
OUTPUT_FORMATS = ("jsonl", "json", "csv", "table")
#: Output file extensions and the format each means (``-o decisions.csv`` writes CSV);
#: ``parquet`` is written by :class:`policy.sql.duck.ParquetWriter`, not here.
OUTPUT_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
                     ".txt": "table", ".parquet": "parquet"}
#: Table rows read before the column widths are fixed (the rest stream through).
TABLE_SAMPLE = 100

Results = Sequence[tuple[int, Any]]


def output_format_for(output: str | None) -> str:
    """The output format a file name implies by its extension (any case); JSON Lines for
    another extension or for standard output (``None``)."""
    if not output:
        return "jsonl"
    return OUTPUT_EXTENSIONS.get(os.path.splitext(output)[1].lower(), "jsonl")


class OutputStream(io.TextIOWrapper):
    """The text stream :func:`open_output_stream` makes: UTF-8, no newline translation,
    so a payload a worker process already encoded (``bytes``) can go straight to the
    binary stream below it (:meth:`Writer.write`)."""


def open_output_stream(binary: IO[bytes]) -> io.TextIOWrapper:
    """A UTF-8 text stream over ``binary`` as the writers expect it (see the module
    docstring on text that is not Unicode)."""
    return OutputStream(binary, encoding="utf-8", errors="backslashreplace",  # type: ignore[arg-type]
                        newline="", write_through=False)


def encoded(payload: Any) -> Any:
    """A text payload as UTF-8 bytes (what a worker process sends back: the main process
    then only copies bytes, it neither decodes nor encodes them). A payload that is not
    text, or holds text no UTF-8 can (half a surrogate pair), is returned as it is: the
    output stream escapes it as it always does."""
    if type(payload) is str:
        try:
            return payload.encode("utf-8")
        except UnicodeEncodeError:
            return payload
    return payload


# --------------------------------------------------------------------------- flat rows


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json_safe(json.dumps(v, ensure_ascii=False))


def error_text(err: Any) -> str:
    """An error record in one line: its message, then each problem (``path: message``)."""
    parts = [f"{p.path}: {p.message}" if p.path else p.message for p in err.problems]
    parts = [p for p in parts if p != err.message]
    return "; ".join([err.message, *parts])


def refusal_summary(refused: Sequence[tuple[int, str]], count: int, total: int) -> str:
    """``3 of 1000 leads refused: line 17 (lead_id: expected string, found number), …``

    ``refused``: the first refusals as (line, why) pairs, ``why`` from :func:`refusal_why`.
    """
    named = [f"line {line} ({why})" for line, why in refused]
    more = ", …" if count > len(refused) else ""
    noun = "lead" if total == 1 else "leads"
    return f"{count} of {total} {noun} refused: {', '.join(named)}{more}"


def refusal_why(err: LeadError) -> str:
    """Why a lead was refused, in a few words: its first problem, or the message."""
    first = err.problems[0] if err.problems else None
    if first is None:
        return err.message
    return f"{first.path}: {first.message}" if first.path else first.message


# --------------------------------------------------------------------------- writers


class Writer:
    """Writes one output format; see the module docstring for render/write/close.

    A writer made with ``out=None`` only renders (what a worker process needs).
    """

    fmt = ""

    def __init__(self, out: IO[str] | None, encoder: RecordEncoder,
                 score_names: tuple[str, ...], layout: tabular.Layout | None = None) -> None:
        self.out = out
        self.encoder = encoder
        self.scores = score_names
        self.layout = layout
        self.count = 0

    def start(self) -> None:
        """Write what comes before the first record."""

    def render(self, results: Results) -> Any:
        raise NotImplementedError

    #: For the formats whose records are each one JSON text (JSON Lines, JSON): the
    #: payload of a batch from the texts of its records (``encoder.encode`` of each),
    #: what :meth:`render` gives for the same records. None for the other formats.
    join: Callable[[list[str]], str] | None = None

    def write(self, payload: Any, count: int) -> None:
        """Append a rendered batch of ``count`` records."""
        if count:
            self._put(payload)
            self.count += count

    def _put(self, text: Any) -> None:
        """Write text, or UTF-8 bytes from :func:`encoded` (straight to the binary
        stream below an :class:`OutputStream`, decoded for any other text stream), or
        a worker's output still in its memory file (:class:`policy.io.workers.FileRange`:
        sent by the kernel to the stream's file or pipe when it has one)."""
        out = self.out
        if type(text) is not str and type(text) is not bytes:
            if type(out) is OutputStream:
                out.flush()
                try:
                    fd = out.buffer.fileno()
                except (OSError, AttributeError, ValueError):  # io.BytesIO, a test's stream
                    fd = -1
                if fd < 0 or not text.send_to(fd):
                    out.buffer.write(text.read())
                return
            text = text.read()
        if type(text) is bytes:
            if type(out) is OutputStream:
                out.flush()
                out.buffer.write(text)
                return
            text = text.decode("utf-8")
        out.write(text)  # type: ignore[union-attr]

    def close(self) -> None:
        """Write what comes after the last record and flush."""
        self.out.flush()  # type: ignore[union-attr]


class JsonLinesWriter(Writer):
    """One record per line."""

    fmt = "jsonl"

    def render(self, results: Results) -> str:
        encode = self.encoder.encode
        return "".join([encode(record) + "\n" for _, record in results])

    @staticmethod
    def join(texts: list[str]) -> str:  # type: ignore[override]
        if not texts:
            return ""
        texts.append("")  # the last record's newline (one join, no copy per record)
        return "\n".join(texts)


class JsonWriter(Writer):
    """One JSON array, one record per line."""

    fmt = "json"

    def start(self) -> None:
        self.out.write("[")  # type: ignore[union-attr]

    def render(self, results: Results) -> str:
        encode = self.encoder.encode
        return ",\n".join([encode(record) for _, record in results])

    @staticmethod
    def join(texts: list[str]) -> str:  # type: ignore[override]
        return ",\n".join(texts)

    def write(self, payload: Any, count: int) -> None:
        if count:
            self._put("\n" if not self.count else ",\n")
            self._put(payload)
            self.count += count

    def close(self) -> None:
        self.out.write("\n]\n" if self.count else "]\n")  # type: ignore[union-attr]
        super().close()


class CsvWriter(Writer):
    """The tabular form of spec section 9 (:mod:`policy.engine.tabular`): ``line``,
    ``lead``, the policy, ``as_of``, placement, every score, the next step, every
    handoff's team, route, SLA status/start/due/stop, escalation and rejection, then
    violations and the error. Lists are JSON text; instants ``YYYY-MM-DDTHH:MM:SSZ``."""

    fmt = "csv"

    def header(self) -> list[str]:
        return list(self.layout.names)

    def start(self) -> None:
        csv.writer(self.out, lineterminator="\n").writerow(self.header())

    def row(self, line: int, record: Any) -> list[str]:
        from policy.engine import tabular

        values = tabular.row(record, self.layout, line=line, info=self.encoder.info,
                             as_of=self.encoder.as_of_us)
        cells = tabular.text_row(values, self.layout)
        # text from a lead or a policy never starts a spreadsheet formula (numbers,
        # instants and JSON lists are left as they are)
        return [csv_text(t) if c.kind in ("string", "json") and isinstance(v, str) else t
                for c, v, t in zip(self.layout.columns, values, cells, strict=True)]

    def render(self, results: Results) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(
            [self.row(line, record) for line, record in results])
        return buffer.getvalue()


def table_columns(lay: tabular.Layout) -> list[tuple[str, str]]:
    """The table view's subset of the tabular form: (heading, column name or a derived
    key). ``line`` and ``lead`` first, never cut; then the placement, the scores, each
    handoff's route, SLA status and escalation, and notes (reason, violations, error)."""
    cols = [("line", "line"), ("lead", "lead"), ("stage", "@stage")]
    cols += [(s, f"score_{s}") for s in lay.scores]
    for st in lay.handoff_stages:
        cols += [(f"{st} route", f"handoff_{st}_route"), (f"{st} sla", f"handoff_{st}_sla_status"),
                 (f"{st} escalate", f"handoff_{st}_escalate_to")]
    cols.append(("notes", "@notes"))
    return cols


#: The table columns that are never cut, whatever their length (to paste into explain).
_UNCUT = {"line", "lead"}


class TableWriter(Writer):
    """Aligned columns for a person: widths from the first rows, then streamed. The line
    and the lead id are never cut: a longer one widens its column from that row on."""

    fmt = "table"

    def __init__(self, out: IO[str] | None, encoder: RecordEncoder,
                 score_names: tuple[str, ...], layout: tabular.Layout | None = None) -> None:
        super().__init__(out, encoder, score_names, layout)
        self._pending: list[list[str]] | None = []
        self._widths: list[int] | None = None
        self._cols = table_columns(self.layout)

    def row(self, line: int, record: Any) -> list[str]:
        from policy.engine import tabular

        values = tabular.row_dict(record, self.layout, line=line, info=self.encoder.info,
                                  as_of=self.encoder.as_of_us)
        if isinstance(record, LeadError):
            stage, notes = "refused", error_text(record)
        else:
            stage = _cell(record.stage) or "none"
            if record.stage != record.reached:
                stage += f" (reached {record.reached or 'none'})"
            parts = [v.code for v in record.violations]
            if record.reason is not None:
                parts.insert(0, f"reason: {_cell(record.reason)}")
            notes = "; ".join(parts)
        derived = {"@stage": stage, "@notes": notes}
        kinds = {c.name: c.kind for c in self.layout.columns}
        # a person's terminal: escape sequences, CR and bidi overrides made visible
        return [terminal(derived[key] if key in derived
                         else tabular.cell_text(kinds[key], values[key]))
                for _, key in self._cols]

    def render(self, results: Results) -> list[list[str]]:
        return [self.row(line, record) for line, record in results]

    def write(self, payload: Any, count: int) -> None:
        for row in payload:
            if self._pending is not None:
                self._pending.append(row)
                if len(self._pending) >= TABLE_SAMPLE:
                    self._flush()
            else:
                self._emit(row)
        self.count += count

    def close(self) -> None:
        self._flush()
        super().close()

    def _flush(self) -> None:
        if self._pending is None:
            return
        rows, self._pending = self._pending, None
        head = [h for h, _ in self._cols]
        caps = [10**9 if key in _UNCUT else 8 if key.startswith("score_") else
                60 if key == "@notes" else 32 if key == "@stage" else 20
                for _, key in self._cols]
        # widths in terminal columns: a CJK character takes two, a combining mark none
        self._widths = [
            min(cap, max(term_width(head[i]), *(term_width(r[i]) for r in rows))) if rows
            else term_width(head[i])
            for i, cap in enumerate(caps)
        ]
        self._emit(head)
        self._emit(["-" * w for w in self._widths])
        for row in rows:
            self._emit(row)

    def _emit(self, row: list[str]) -> None:
        widths = self._widths or [term_width(c) for c in row]
        cells = []
        last = len(row) - 1
        for i, (text, width) in enumerate(zip(row, widths, strict=True)):
            if self._cols[i][1] in _UNCUT:
                if term_width(text) > width:
                    widths[i] = term_width(text)  # never cut: widens from here on
                cells.append(term_pad(text, widths[i], right=i == 0))
                continue
            if i != last:
                text = term_pad(term_cut(text, width), width)
            cells.append(text)
        self.out.write("  ".join(cells).rstrip() + "\n")  # type: ignore[union-attr]


_WRITERS: dict[str, type[Writer]] = {
    w.fmt: w for w in (JsonLinesWriter, JsonWriter, CsvWriter, TableWriter)
}


def make_writer(fmt: str, out: IO[str] | None, *, info: PolicyInfo, as_of_us: int,
                score_names: tuple[str, ...],
                layout: tabular.Layout | None = None) -> Writer:
    """The writer for ``fmt`` (one of :data:`OUTPUT_FORMATS`); ``out=None`` renders only.

    CSV and the table view need the policy's tabular ``layout``
    (:func:`policy.engine.tabular.layout`): its scores and handoffs shape the columns.
    """
    try:
        cls = _WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r}: expected one of "
                         f"{', '.join(OUTPUT_FORMATS)}") from None
    if layout is None and fmt in ("csv", "table"):
        raise ValueError(f"the {fmt} writer needs the policy's tabular layout")
    return cls(out, RecordEncoder(info, as_of_us), score_names, layout)


def decision_writer(pol: Any, fmt: str, out: IO[str] | None, as_of_us: int) -> Writer:
    """:func:`make_writer` for the decisions of the loaded policy ``pol`` (a
    :class:`policy.Policy`): its identity, its scores and its tabular layout."""
    layout = None
    if fmt in ("csv", "table"):
        # only the flat formats need the layout (JSON never imports it: start-up)
        from policy.engine.tabular import layout as tabular_layout

        layout = tabular_layout(pol)
    return make_writer(fmt, out, info=pol.info, as_of_us=as_of_us,
                       score_names=tuple(pol.model.scores), layout=layout)
