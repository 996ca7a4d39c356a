"""The batch pipeline of `funnel eval`: fast reading, fast writing, worker processes.

Every fast path here has a slow twin it must equal: msgspec against ``json.loads``, the
block reader against ``read_records``, the record encoder against ``dumps``, ``--jobs 2``
against ``--jobs 1``.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACME
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy
from policy.engine.decision import LeadError, dumps
from policy.engine.tabular import layout
from policy.engine.timestamps import from_datetime
from policy.io import batch
from policy.io.jsonl_blocks import jsonl_blocks
from policy.io.leads import fast_decode, read_records, text_stream
from policy.io.records import Record
from policy.io.writers import RecordEncoder, make_writer

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
LEADS = RULES / "leads.jsonl"
AT = datetime(2026, 12, 1, 16, tzinfo=UTC)
AT_US = from_datetime(AT)
sys.path.insert(0, str(RULES))
from generate_leads import generate  # noqa: E402


@pytest.fixture(scope="module")
def halyard() -> policy.Policy:
    return policy.load(RULES)


# --------------------------------------------------------------------------- reading


def _same(a: object, b: object) -> bool:
    """Equal and of the same types all the way down (1 is not 1.0, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))  # type: ignore[arg-type]
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=12,
)


@given(value=JSON, ascii=st.booleans(), spaced=st.booleans())
def test_msgspec_reads_what_it_accepts_exactly_as_json_loads(value, ascii, spaced):
    text = json.dumps(value, ensure_ascii=ascii, separators=(", ", ": ") if spaced else (",", ":"))
    try:
        fast = fast_decode(text)
    except Exception:  # noqa: BLE001 - refusing is allowed: the standard library reads it then
        return
    assert _same(fast, json.loads(text))


@pytest.mark.parametrize("text", [
    '{"a": 123456789012345678901234567890}', '{"a": -99999999999999999999}', '{"a": 1e400}',
    '{"a": "\\ud800"}', '{"a": NaN}', '{"a": 1, "a": 2}', "[" * 3000 + "]" * 3000,
    '{"a": ' + "9" * 5000 + "}",
])
def test_hard_lines_read_as_before(text):
    """Numbers past 64 bits are exact; what msgspec refuses reads as the standard library
    reads it (1e400 is infinity, a lone surrogate stays), or fails with its message."""
    fast = list(read_records(io.StringIO(text + "\n"), fmt="jsonl"))
    from policy.io.leads import jsonl_record_stdlib

    assert fast == [jsonl_record_stdlib(1, text + "\n")]


LINE = st.sampled_from([
    '{"a": 1}', '{"b": [1, 2.5, "x"]}', "", "   ", "\t", "not json", "[1]", '"s"', "{",
    '{"a": NaN}', '\ufeff{"a": 2}', '{"c": "é😀"}', '{"d": 1e400}', '{"e": "\\ud800"}',
    '{"f": 123456789012345678901234567890}', "\x0c", '{"g": "\\u2028"}',
    # blank to str.isspace but not to bytes.isspace; duplicate keys (the last wins)
    "\x1c", "\u00a0 \u2003", '{"a": 1, "a": 2}', '{"h": -Infinity}', ' {"i": 1e-400} ',
    '\ufeff\ufeff{"j": 1}', '{"k": "\\udc80x"}', '{"l": 18446744073709551616}',
])
END = st.sampled_from(["\n", "\r\n", "\r"])
#: lines of real leads (decided, refused by the schema), to mix with the odd ones
_LEAD_LINES = LEADS.read_text("utf-8").splitlines()[:400]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.tuples(LINE, END), max_size=12), bom=st.booleans(),
       last_open=st.booleans(), bad=st.booleans(), size=st.integers(1, 64))
def test_blocks_read_the_records_read_records_reads(lines, bom, last_open, bad, size):
    text = "".join(line + end for line, end in lines)
    if last_open and lines:
        text = text[: -len(lines[-1][1])]
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8", "surrogatepass")
    if bad and lines:
        data = data.replace(b"x", b"\xff", 1)
    expected = list(read_records(text_stream(io.BytesIO(data)), fmt="jsonl"))
    blocks = list(jsonl_blocks(io.BytesIO(data), size))
    assert [r for block in blocks for r in block.records()] == expected
    assert b"".join(block.data for block in blocks) == data
    # the leads the batch path decides: the same lines, a dict for each lead read
    leads = [(n, v.value if type(v) is Record else v) for block in blocks
             for n, v in block.leads()]
    assert leads == [(r.line, r.value) for r in expected]
    # a dict exactly for a record read without an error (a number past a double's
    # range, which msgspec refuses, is a lead the engine refuses with its reason)
    assert [type(v) is dict for block in blocks for _, v in block.leads()] == [
        r.error is None for r in expected]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=30) | st.binary(max_size=30), max_size=8),
       st.integers(1, 64))
def test_blocks_of_any_bytes_read_as_read_records_reads(lines, size):
    data = b"\n".join(x if type(x) is bytes else x.encode("utf-8", "surrogatepass")
                      for x in lines)
    expected = list(read_records(text_stream(io.BytesIO(data)), fmt="jsonl"))
    blocks = list(jsonl_blocks(io.BytesIO(data), size))
    assert [r for block in blocks for r in block.records()] == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE | st.sampled_from(_LEAD_LINES), max_size=20),
       fmt=st.sampled_from(["jsonl", "json"]), size=st.integers(1, 4096))
def test_deciding_each_lead_as_it_is_read_gives_what_rendering_a_block_gives(
        halyard, lines, fmt, size):
    """`process` reads, decides and encodes each lead of a JSON Lines block in turn
    (`decide_encode`): the payload, the counts and the first refusals equal those of
    deciding the block's leads first and rendering them after."""
    from policy.engine.batch import decide_leads

    data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass")
    writer = make_writer(fmt, None, info=halyard.info, as_of_us=AT_US,
                         score_names=tuple(halyard.model.scores))
    for block in jsonl_blocks(io.BytesIO(data), size):
        done = batch.process(halyard, writer, block, AT_US)
        results = decide_leads(halyard, block.leads(), AT_US)
        refused = [(n, r) for n, r in results if type(r) is LeadError]
        assert done.payload == writer.render(results)
        assert (done.count, done.refused) == (len(results), len(refused))
        assert done.first_refusals == tuple(
            (n, batch.refusal_why(r)) for n, r in refused[:batch.SUMMARY_LIMIT])


# --------------------------------------------------------------------------- writing


def test_the_encoder_writes_the_bytes_dumps_writes(halyard):
    encoder = RecordEncoder(halyard.info, AT_US)
    other = RecordEncoder(halyard.info, AT_US + 1)  # a decision of another instant
    checked = 0
    for lead in generate(3000, seed=11):
        try:
            record = halyard.evaluate(lead, as_of=AT)
        except LeadError as err:
            record = err.with_line(7)
        assert encoder.encode(record) == dumps(record)
        assert other.encode(record) == dumps(record)
        checked += 1
    assert checked == 3000


TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['a"b', "back\\slash", "tab\there", "\x00\x1f\x7f", "\u2028\u00a0", "é😀", ""])


@settings(max_examples=200, deadline=None)
@given(reason=TEXT | st.none(), email=TEXT, title=TEXT, employees=st.integers(0, 10**6),
       lead_id=TEXT | st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_the_encoder_escapes_what_leads_carry(halyard, reason, email, title, employees,
                                             lead_id):
    lead = next(iter(generate(1, seed=5)))
    lead.update(lead_id=lead_id, email=email, title=title, rejection_reason=reason,
                mql_at="2026-11-30T10:00:00Z", rejected_at="2026-11-30T12:00:00Z")
    lead["company"] = {**(lead.get("company") or {}), "employees": employees}
    try:
        record = halyard.evaluate(lead, as_of=AT)
    except LeadError as err:
        record = err.with_line(1)
    assert RecordEncoder(halyard.info, AT_US).encode(record) == dumps(record)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(
    st.dictionaries(st.sampled_from(["fit", "intent", "x"]),
                    st.integers(-2, 2) | st.sampled_from([1.0, True, False, 0.0, -0.0, 2.5])),
    st.sampled_from([None, "mql", "sal"]), TEXT | st.none() | st.integers(0, 1) | st.just(True),
    st.booleans(), st.sampled_from([None, "ae"])), min_size=1, max_size=6))
def test_the_encoder_caches_only_what_prints_the_same(halyard, records):
    """One encoder, decisions that share parts: a score of 1, 1.0 or True (equal as keys,
    printed apart), a reason of any type, rejected or escalated handoffs."""
    from policy.engine.decision import Decision, HandoffResult, NextStep, SlaResult

    encoder = RecordEncoder(halyard.info, AT_US)
    for scores, stage, reason, rejected, escalate in records:
        sla = SlaResult("met", start=AT_US - 10**6, due=None, stop=AT_US + 1)
        handoff = HandoffResult("mql", "sdr", "velocity", sla, escalate, rejected, reason)
        record = Decision(lead="L-1", policy=halyard.info, as_of=AT_US, stage=stage,
                          reached=stage, reason=reason, scores=scores,
                          next=NextStep("sal", ("no owner",)) if stage else None,
                          handoffs=(handoff,) if stage else (), violations=())
        assert encoder.encode(record) == dumps(record)


def test_render_only_writers_and_traces(halyard):
    leads = list(generate(50, seed=3))
    results = [(i, halyard.trace(lead, as_of=AT)) for i, lead in enumerate(leads, 1)
               if halyard.lead_id(lead) and "created_at" in lead]
    writer = make_writer("jsonl", None, info=halyard.info, as_of_us=AT_US,
                         score_names=tuple(halyard.model.scores))
    assert writer.render(results) == "".join(dumps(r) + "\n" for _, r in results)
    with pytest.raises(ValueError, match="unknown output format"):
        make_writer("xml", None, info=halyard.info, as_of_us=AT_US, score_names=())


# --------------------------------------------------------------------------- --jobs


def _eval(*args: object):
    return CliRunner().invoke(main, ["eval", *map(str, args)])


@pytest.fixture
def small_units(monkeypatch):
    """Units of a few leads, so that 1,000 leads make many units and workers start."""
    monkeypatch.setattr(batch, "BLOCK_BYTES", 16 * 1024)
    monkeypatch.setattr(batch, "BATCH_RECORDS", 40)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "table"])
def test_jobs_2_writes_the_bytes_of_jobs_1(small_units, fmt, tmp_path):
    one = _eval(RULES, LEADS, "--as-of", AT.isoformat(), "--format", fmt, "--jobs", 1)
    two = _eval(RULES, LEADS, "--as-of", AT.isoformat(), "--format", fmt, "--jobs", 2)
    assert one.exit_code == two.exit_code == 1  # the sample holds refused leads
    assert one.stdout_bytes == two.stdout_bytes
    assert one.stderr == two.stderr
    if fmt == "jsonl":
        halyard = policy.load(RULES)
        lines = LEADS.read_text("utf-8").splitlines()
        assert one.stdout.splitlines() == [
            dumps(r) for r in halyard.evaluate_many((json.loads(x) for x in lines), as_of=AT)
        ]


def test_jobs_with_json_input_explain_and_the_acme_policy(small_units, tmp_path):
    lines = [json.loads(x) for x in LEADS.read_text("utf-8").splitlines()[:200]]
    array = tmp_path / "leads.json"
    array.write_text(json.dumps(lines), "utf-8")
    runs = [_eval(RULES, array, "--as-of", AT.isoformat(), "--explain", "--jobs", n)
            for n in (1, 3)]
    assert runs[0].stdout_bytes == runs[1].stdout_bytes
    assert runs[0].stdout.count("\n") == 200
    if ACME.is_dir():
        acme = [_eval(ACME, array, "--as-of", AT.isoformat(), "--format", "csv", "--jobs", n)
                for n in (1, 2)]
        assert acme[0].stdout_bytes == acme[1].stdout_bytes


def test_progress_counts_every_workers_bytes(halyard, small_units):
    data = LEADS.read_bytes()
    seen: list[int] = []
    out = io.StringIO()
    writer = make_writer("csv", out, info=halyard.info, as_of_us=AT_US,
                         score_names=tuple(halyard.model.scores), layout=layout(halyard))
    totals = batch.run(halyard, batch.batches(io.BytesIO(data), "jsonl"), writer, AT_US,
                       jobs=2, progress=seen.append)
    assert sum(seen) == len(data) and len(seen) > 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert totals.total == len(rows) == 1000
    refused = [int(row["line"]) for row in rows if row["error"]]
    assert totals.refused == len(refused) == 5
    assert [line for line, _ in totals.first_refusals] == refused


def test_an_interrupt_stops_every_worker(halyard, small_units):
    blocks = list(batch.batches(io.BytesIO(LEADS.read_bytes()), "jsonl"))

    def units():
        yield from blocks[:6]
        raise KeyboardInterrupt

    writer = make_writer("jsonl", io.StringIO(), info=halyard.info, as_of_us=AT_US,
                         score_names=())
    with pytest.raises(KeyboardInterrupt):
        batch.run(halyard, units(), writer, AT_US, jobs=2)
    assert multiprocessing.active_children() == []


def test_as_of_is_converted_once_per_instant_object():
    from datetime import timedelta, timezone

    from policy.api import as_of_instant

    first = datetime(2026, 12, 1, 16, tzinfo=UTC)
    later = datetime(2026, 12, 1, 17, 30, tzinfo=timezone(timedelta(hours=1)))
    assert as_of_instant(first) == as_of_instant(first) == from_datetime(first)
    assert as_of_instant(later) == from_datetime(later) == from_datetime(first) + 1_800_000_000
    assert as_of_instant(first) == from_datetime(first)
    with pytest.raises(TypeError):
        as_of_instant("2026-12-01")  # type: ignore[arg-type]


def test_a_number_past_a_double_is_refused_with_its_reason(tmp_path):
    """msgspec refuses ``1E+309``; the standard library reads it as infinity, and the
    reader refuses the lead naming the field (spec section 9: a number beyond a
    double's range refuses the lead), with the lead's id."""
    from click.testing import CliRunner
    from funnel_cli.main import main

    leads = tmp_path / "big.jsonl"
    leads.write_text('{"lead_id": "A", "created_at": "2026-01-01T00:00:00Z", '
                     '"email": "a@b.com", "webinars_attended": 1E+309}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(RULES), str(leads),
                                       "--as-of", "2026-12-01T00:00:00Z"])
    assert result.exit_code == 1
    error = json.loads(result.stdout.splitlines()[0])["error"]
    assert error["message"] == "a number is beyond a double's range"
    assert [p["path"] for p in error["problems"]] == ["webinars_attended"]
    assert json.loads(result.stdout.splitlines()[0])["lead"] == "A"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=700).map(lambda b: b.replace(b"\n", b"")), max_size=300),
       st.booleans())
def test_newlines_are_counted_as_bytes_count_counts_them(lines, short):
    """The memchr count of a block's line ends, on long lines and on short ones (where
    it hands over to ``bytes.count``)."""
    from policy.io.jsonl_blocks import _newlines

    block = b"\n".join(line[:3] if short else line for line in lines) + b"\n"
    assert _newlines(block) == block.count(b"\n")
    assert _newlines(block[:-1]) == block[:-1].count(b"\n")
    assert _newlines(b"\n" * 70_000) == 70_000
