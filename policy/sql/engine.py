"""The SQL engines' common half: compile once, decide batches of JSON text, and turn the
tabular rows back into :class:`~policy.engine.decision.Decision` and
:class:`~policy.engine.decision.LeadError` values, so ``funnel eval --engine duckdb|spark``
writes exactly what the python engine writes.

Records are read as text first (:func:`jsonl_batches`): line numbers stay physical, a
blank line yields no record, a line that is not UTF-8 or not JSON becomes an error row
in SQL. CSV and JSON-array files go through the python reader
(:mod:`policy.io.leads`), whose error records pass straight through and whose leads go
to SQL as JSON text. The rows the SQL cannot decide as the python engine does are
found by the tests of :mod:`policy.sql.fallback` (imported here for the engines).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from policy.engine import ir
from policy.engine.decision import (
    Decision,
    HandoffResult,
    LeadError,
    NextStep,
    Problem,
    SlaResult,
    Violation,
)
from policy.engine.runtime import invalid_reason_message
from policy.engine.tabular import layout
from policy.io.records import TOO_DEEP, too_deep
from policy.sql.fallback import NESTED, OUT_OF_RANGE, beyond_tables, python_decision

__all__ = ["BAD_UTF8", "OUT_OF_RANGE", "Rebuilder", "beyond_tables", "block_lines",
           "jsonl_batches", "jsonl_blocks", "python_decision", "record_batches",
           "sendable_texts"]

#: What a line that is not UTF-8 is handed to SQL as (the SQL reports it).
BAD_UTF8 = "\x00"
#: The text staged for a line longer than the python reader takes (16 MiB): not JSON
#: to SQL, the reader's own error record to :func:`explain_refusal`.
TOO_LONG = "\x02"
_BLOCK = 1 << 25


def jsonl_blocks(stream: BinaryIO, block_bytes: int = _BLOCK
                 ) -> Iterator[tuple[int, bytes, str | None]]:
    """(number of the block's first line, the block's bytes, its text or None when it
    is not UTF-8) for blocks of whole lines of a JSON Lines stream, a few MB at a time;
    a leading byte-order mark is dropped. The lines are the python reader's
    (:func:`policy.io.jsonl_blocks.jsonl_blocks`): they end at ``\\n``, a lone ``\\r``
    ends none, line numbers are physical, and a line longer than the reader takes is
    the one line :data:`TOO_LONG`, which becomes the python engine's error record."""
    from policy.io.jsonl_blocks import jsonl_blocks as cut

    first, parts, size = 0, [], 0
    for block in cut(stream):
        if block.too_long or (parts and size >= block_bytes):
            if parts:
                yield _joined(first, parts)
            first, parts, size = 0, [], 0
        if block.too_long:
            yield block.line, TOO_LONG.encode() + b"\n", TOO_LONG + "\n"
            continue
        data = block.data
        if block.first and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        if not parts:
            first = block.line
        parts.append(data)
        size += len(data)
    if parts:
        yield _joined(first, parts)


def _joined(first: int, parts: list[bytes]) -> tuple[int, bytes, str | None]:
    data = b"".join(parts)
    try:
        return first, data, data.decode("utf-8")
    except UnicodeDecodeError:
        return first, data, None


def block_lines(first: int, data: bytes, text: str | None) -> tuple[list[int], list[str]]:
    """The (line numbers, texts) of the non-blank lines of one block; a line that is
    not UTF-8 is :data:`BAD_UTF8`."""
    raw_lines = data.split(b"\n")
    if data.endswith(b"\n"):
        raw_lines.pop()
    decoded = None
    if text is not None:
        decoded = text.split("\n")
        if data.endswith(b"\n"):
            decoded.pop()
    lines, texts = [], []
    for i, raw in enumerate(raw_lines):
        if decoded is not None:
            line = decoded[i]
        else:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = BAD_UTF8
        if line.strip() == "" or line.isspace():
            continue
        lines.append(first + i)
        texts.append(line.rstrip("\r") if line != BAD_UTF8 else line)
    return lines, texts


def jsonl_batches(stream: BinaryIO, batch_bytes: int = _BLOCK
                  ) -> Iterator[tuple[list[int], list[str]]]:
    """(line numbers, texts) of the non-blank lines of a JSON Lines stream, a few MB at a
    time: memory holds one batch whatever the file's size."""
    for first, data, text in jsonl_blocks(stream, batch_bytes):
        lines, texts = block_lines(first, data, text)
        if lines:
            yield lines, texts


def record_batches(records: Iterable[Any], size: int = 20_000
                   ) -> Iterator[tuple[list[int], list[str], dict[int, Any]]]:
    """Batches of (line numbers, JSON texts, error records by line) from the python
    reader's records (CSV, JSON arrays): its error records pass through untouched."""
    lines: list[int] = []
    texts: list[str] = []
    errors: dict[int, Any] = {}
    for rec in records:
        if rec.error is not None:
            errors[rec.line] = rec
        else:
            lines.append(rec.line)
            texts.append(json.dumps(rec.value, ensure_ascii=False, allow_nan=True))
        if len(lines) + len(errors) >= size:
            yield lines, texts, errors
            lines, texts, errors = [], [], {}
    if lines or errors:
        yield lines, texts, errors


def _constant(program: Any, expr: Any) -> object:
    """The value of the agreed reasons (a constant list, or a define of one), for the
    violation's message; None when it is not known without a lead."""
    while isinstance(expr, ir.DefineRef):
        expr = program.defines[expr.name].value
    if isinstance(expr, ir.Const):
        return expr.runtime
    if isinstance(expr, ir.ListOf):
        return [_constant(program, item) for item in expr.items]
    return None


class Rebuilder:
    """Tabular rows (with the engines' hidden columns) back to decisions and errors."""

    def __init__(self, pol: Any):
        self.pol = pol
        self.program = pol.program  # the intermediate form, as every engine reads it
        self.info = pol.info
        self.lay = layout(pol)
        self.names = self.lay.names
        self.handoffs = []
        for h in self.program.handoffs:
            reasons = (_constant(self.program, h.reject.reasons) if h.reject is not None
                       else None)
            self.handoffs.append((h, h.sla, reasons))

    def record(self, row: tuple, extra: tuple) -> tuple[int, Decision | LeadError]:
        """``row``: the tabular columns; ``extra``: messages, lead JSON, reason JSON,
        then each handoff's rejection reason JSON."""
        r = dict(zip(self.names, row, strict=True))
        msgs, lead_json, reason_json = extra[:3]
        rej_json = extra[3:3 + len(self.handoffs)]
        line = r["line"]
        lead = json.loads(lead_json) if lead_json is not None else None
        if r["error"] is not None:
            problems = [Problem(p, m) for p, m in zip(r["error_paths"], msgs or (), strict=False)]
            return line, LeadError(r["error"], problems, lead=lead, line=line)
        handoffs, violations = [], []
        for (h, sla, reasons), rj in zip(self.handoffs, rej_json, strict=True):
            p = f"handoff_{h.stage}_"
            if r[p + "team"] is None:
                continue
            result = None
            if sla is not None:
                status = r[p + "sla_status"]
                result = SlaResult(status, r[p + "sla_start"], r[p + "sla_due"], r[p + "sla_stop"])
            reason = json.loads(rj) if rj is not None else None
            handoffs.append(HandoffResult(
                stage=h.stage, team=r[p + "team"], route=r[p + "route"], sla=result,
                escalate_to=r[p + "escalate_to"], rejected=bool(r[p + "rejected"]),
                rejection_reason=reason))
            if result is not None and result.start is None:
                violations.append(Violation("missing_sla_start", sla.missing_start))
            elif result is not None and result.status == "unknown":
                violations.append(Violation(
                    OUT_OF_RANGE,
                    f"the business time of the {h.stage} handoff falls outside the "
                    "years of the SQL calendar tables"))
            if r[p + "rejected"] and "invalid_rejection_reason" in r["violations"]:
                from policy.engine import runtime as rt

                if not rt.member(reason, reasons):
                    violations.append(Violation("invalid_rejection_reason",
                                                invalid_reason_message(reason, reasons)))
        if NESTED in r["violations"]:  # the python engine decides the row again
            violations.append(Violation(NESTED, "a list inside a lead's list is compared"))
        scores = {s: r[f"score_{s}"] for s in self.program.score_names}
        nxt = None if r["next_stage"] is None else NextStep(r["next_stage"],
                                                           tuple(r["next_unmet"] or ()))
        reason = json.loads(reason_json) if reason_json is not None else None
        return line, Decision(
            lead=lead, policy=self.info, as_of=r["as_of"], stage=r["stage"],
            reached=r["reached"], reason=reason, scores=scores, next=nxt,
            handoffs=tuple(handoffs), violations=tuple(violations))

    @property
    def width(self) -> int:
        return len(self.names)


# --------------------------------------------------------------------------- batches

# Tokens an engine's JSON reader may accept and RFC 8259 does not, and the numbers it
# reads as infinite where python refuses the lead (a three-digit exponent, or 210
# digits in a row: with a two-digit exponent at most, a number needs that many to pass
# a double's 1.8e308). A false alarm only costs one python parse of that line.
_LENIENT = re.compile(r"NaN|Infinity|,\s*[\]}]|/[/*]|[eE]\+?[0-9]{3}|[0-9]{210}|'").search
_NOT_JSON = "\x01"


def sendable_texts(texts: list[str]) -> list[str]:
    """The texts as the SQL must be handed them: a line the engine's lenient JSON reader
    would take but RFC 8259 does not is marked so that the SQL refuses it (what
    :meth:`BatchEngine.decide` sends; ``funnel report`` sends the same)."""
    sent = list(texts)
    for i, text in enumerate(sent):
        if (text != BAD_UTF8 and (_LENIENT(text) or too_deep(text))
                and reader_refuses(text)):
            sent[i] = _NOT_JSON + text
    return sent


def reader_refuses(text: str) -> bool:
    """Whether the python reader makes this line an error record by itself: it is not
    an RFC 8259 JSON object, or it holds a number beyond a double's range (spec
    section 9), which DuckDB and Spark read as infinite. Marked as not JSON, such a
    line is refused by the SQL, and :func:`explain_refusal` gives the reader's words."""
    from policy.io.leads import jsonl_record_stdlib

    return not jsonl_record_stdlib(0, text).ok


def python_json_error(text: str) -> str | None:
    """The python reader's message for a line that is not an RFC 8259 JSON text (None:
    it is one)."""
    from policy.io.leads import _Decoder

    if too_deep(text):
        return TOO_DEEP
    decoder = _Decoder()
    try:
        decoder.decode(text)
    except json.JSONDecodeError as error:
        column = error.colno if error.lineno == 1 else len(text.rstrip("\r\n")) + 1
        return f"not valid JSON: {error.msg} at column {column}"
    except (ValueError, RecursionError) as error:
        from policy.io.leads import _decode_failure

        return f"not valid JSON: {_decode_failure(error)}"
    constant = decoder.take_constant()
    if constant is not None:
        return f"not valid JSON: {constant} is not a JSON number"
    return None


def explain_refusal(pol: Any, record: LeadError, text: str) -> LeadError:
    """The python engine's own words for a lead the SQL refused (refusals are rare, so
    this costs nothing): the same message and problems, byte for byte, whenever the
    python reader and validator refuse the record too; else the SQL's shorter words."""
    if text == TOO_LONG:
        from policy.io.leads import TOO_LONG_MESSAGE

        return LeadError(TOO_LONG_MESSAGE, [_whole(TOO_LONG_MESSAGE)], lead=None,
                         line=record.line)
    line = record.line
    if record.message == "not valid JSON":
        message = python_json_error(text)
        if message is None:  # JSON to python, refused by its reader (a lone surrogate)
            from policy.io.leads import jsonl_record

            rec = jsonl_record(line, text)
            if rec.error is not None:
                return LeadError(rec.error, rec.problems, lead=pol.lead_id(rec.value),
                                 line=line)
            message = "not valid JSON"
        return LeadError(message, [_whole(message)], lead=None, line=line)
    if text == BAD_UTF8:
        return record
    try:
        lead = json.loads(text)
        pol.prepare(lead)
    except LeadError as exc:
        if _same_paths([p.path for p in exc.problems], [p.path for p in record.problems]):
            return exc.with_line(line)
    except (ValueError, RecursionError):
        pass
    return record


def _same_paths(python: list[str], sql: list[str]) -> bool:
    """Whether the python validator's problem paths are the SQL's: equal, or where the
    SQL names an array whose items have the wrong type, python's paths of those items
    (``company.tech_stack`` then ``company.tech_stack[1]``, ``…[2]``)."""
    if python == sql:
        return True

    def owner(path: str) -> str | None:
        if path in sql:
            return path
        return next((q for q in sql if path.startswith(q + "[")), None)

    owners = [owner(p) for p in python]
    return None not in owners and set(owners) == set(sql)


def _whole(message: str) -> Problem:
    return Problem("", message)


class BatchEngine:
    """What the SQL engines share: a batch of JSON texts in, decisions out. A subclass
    sets ``pol``, ``rebuild`` (a :class:`Rebuilder`) and ``width``, and implements
    :meth:`rows`."""

    def rows(self, lines: list[int], texts: list[str]) -> list[tuple]:
        raise NotImplementedError

    # ------------------------------------------------------------------ batches
    def decide(self, lines: list[int], texts: list[str]) -> list[tuple[int, Any]]:
        """Decide one batch of JSON texts: (line, Decision or LeadError) in line order."""
        if not lines:
            return []
        rows = self.rows(lines, sendable_texts(texts))
        out = []
        by_line = None
        w = self.width
        for row in rows:
            line, record = self.rebuild.record(row[:w], row[w:])
            if isinstance(record, LeadError) or beyond_tables(record):
                if by_line is None:
                    by_line = dict(zip(lines, texts, strict=True))
                record = (explain_refusal(self.pol, record, by_line[line])
                          if isinstance(record, LeadError)
                          else python_decision(self.pol, line, by_line[line], self.as_of))
            out.append((line, record))
        return out

    def decide_jsonl(self, stream: BinaryIO, progress=None) -> Iterator[tuple[int, Any]]:
        """Every record of a JSON Lines stream, in order."""
        for lines, texts in jsonl_batches(stream):
            yield from self.decide(lines, texts)
            if progress is not None:
                progress()

    def decide_records(self, records, progress=None) -> Iterator[tuple[int, Any]]:
        """Records from the python reader (CSV, JSON arrays): errors pass through."""
        pol = self.pol
        for lines, texts, errors in record_batches(records):
            decided = dict(self.decide(lines, texts))
            for line in sorted([*decided, *errors]):
                if line in decided:
                    yield line, decided[line]
                else:
                    rec = errors[line]
                    yield line, LeadError(rec.error, rec.problems, lead=pol.lead_id(rec.value),
                                          line=line)
            if progress is not None:
                progress()

