"""Records written by SQL (policy.sql.records, policy.sql.output): DuckDB builds each
decision's JSON Lines, JSON or CSV text itself, and the bytes equal the python engine's
for every format: the sample leads, the acme conformance leads, generated policies,
and leads full of hostile strings, odd numbers, nested values and refusals."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACME, examples, needs_acme
from engine_strategies import AS_OFS, leads, leads_for, load_text, policies
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy
from policy.api import Policy
from policy.engine.timestamps import parse_timestamp
from policy.io.batch import Totals
from policy.sql.duck import DuckEngine
from policy.sql.records import record_query

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
AS_OF_TEXT = "2026-12-01T16:00:00Z"
FORMATS = ("jsonl", "json", "csv")


def python_bytes(pol: Policy, data: bytes, fmt: str, as_of: int) -> bytes:
    """What ``funnel eval`` writes with the python engine (its own batch pipeline)."""
    buf = io.BytesIO()
    out = policy.open_output_stream(buf)
    writer = policy.decision_writer(pol, fmt, out, as_of)
    units = policy.lead_batches(pol, io.BufferedReader(io.BytesIO(data)), "jsonl")
    policy.decide_batches(pol, units, writer, as_of, jobs=1)
    out.flush()
    return buf.getvalue()


def sql_bytes(engine: DuckEngine, pol: Policy, data: bytes, fmt: str) -> bytes:
    """What DuckDB writes (:func:`python_rows` then says how many rows Python wrote)."""
    buf = io.BytesIO()
    out = policy.open_output_stream(buf)
    writer = policy.decision_writer(pol, fmt, out, engine.as_of)
    writer.start()
    by_python = engine.stage_jsonl(io.BytesIO(data))
    engine.write_stage(fmt, writer, Totals(), by_python)
    writer.close()
    return buf.getvalue()


def python_rows(engine: DuckEngine, pol: Policy, fmt: str) -> int:
    """How many rows of the staged batch Python had to write in ``fmt``: a second run of
    the whole query (about a CPU second under coverage), so only where it is asserted."""
    cols = [r[0] for r in engine.con.execute("DESCRIBE SELECT * FROM decided").fetchall()]
    query = record_query(pol, fmt, dialect="duckdb", as_of_us=engine.as_of,
                         relation="decided", columns=cols)
    return engine.con.execute(f"SELECT count(py) FROM ({query})").fetchone()[0]


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_leads_through_the_cli_give_the_python_bytes(tmp_path, fmt):
    runner = CliRunner()
    args = ["eval", str(RULES), str(RULES / "leads.jsonl"), "--as-of", AS_OF_TEXT,
            "--format", fmt]
    py = runner.invoke(main, [*args, "-o", str(tmp_path / "py")])
    duck = runner.invoke(main, [*args, "--engine", "duckdb", "-o", str(tmp_path / "duck")])
    assert py.exit_code == duck.exit_code == 1, duck.output  # it holds refused leads
    assert py.stderr == duck.stderr
    assert (tmp_path / "duck").read_bytes() == (tmp_path / "py").read_bytes()


def test_sql_writes_every_sample_decision_that_is_not_refused():
    pol = policy.load(RULES)
    as_of = parse_timestamp(AS_OF_TEXT)
    engine = DuckEngine(pol, as_of=as_of)
    data = (RULES / "leads.jsonl").read_bytes()
    sql_bytes(engine, pol, data, "jsonl")
    by_python = python_rows(engine, pol, "jsonl")
    records = python_bytes(pol, data, "jsonl", as_of).splitlines()
    refused = sum(1 for line in records if b'"error": {' in line)
    invalid = sum(1 for line in records if b'"code": "invalid_rejection_reason"' in line)
    assert refused > 0
    assert by_python == refused + invalid


@needs_acme
@pytest.mark.parametrize("fmt", FORMATS)
def test_acme_conformance_leads_give_the_python_bytes(tmp_path, fmt):
    from test_sql_engine import _acme_examples

    leads_file = tmp_path / "acme.jsonl"
    leads_file.write_text("".join(json.dumps(lead) + "\n" for _, _, lead in _acme_examples())
                          + "\n{not json}\n[1, 2]\n", encoding="utf-8")
    runner = CliRunner()
    for at in sorted({at for _, at, _ in _acme_examples()})[:3]:
        args = ["eval", str(ACME), str(leads_file), "--as-of", at, "--format", fmt]
        py = runner.invoke(main, [*args, "-o", str(tmp_path / "py")])
        duck = runner.invoke(main, [*args, "--engine", "duckdb", "-o", str(tmp_path / "dk")])
        assert py.exit_code == duck.exit_code
        assert (tmp_path / "dk").read_bytes() == (tmp_path / "py").read_bytes(), at


@needs_acme
def test_csv_and_json_array_inputs_interleave_the_readers_refusals(tmp_path):
    rows = ["lead_id,created_at,email,company.employees",
            "A-1,2026-11-01T10:00:00Z,a@b.com,12",
            "A-2,not a time,a@b.com,12",
            "=HYPERLINK(1),2026-11-01T10:00:00Z,\"x,y\",eleven",
            "A-4,2026-11-01T10:00:00Z,c@d.com,3"]
    (tmp_path / "in.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    runner = CliRunner()
    for fmt in FORMATS:
        args = ["eval", str(ACME), str(tmp_path / "in.csv"), "--as-of", AS_OF_TEXT,
                "--format", fmt]
        py = runner.invoke(main, [*args, "-o", str(tmp_path / "py")])
        duck = runner.invoke(main, [*args, "--engine", "duckdb", "-o", str(tmp_path / "dk")])
        assert py.exit_code == duck.exit_code == 1
        assert py.stderr == duck.stderr
        assert (tmp_path / "dk").read_bytes() == (tmp_path / "py").read_bytes(), fmt


# --------------------------------------------------------------------------- hostile

#: Characters every escape rule meets: quotes, backslashes, every C0 control, DEL, C1
#: NEL, the Unicode line separators, bidi overrides, non-BMP, markup, CSV formulas.
HOSTILE = st.lists(st.sampled_from(
    ['"', "\\", "/", "'", ",", "\n", "\r", "\t", "\x00", "\x01", "\x08", "\x0b", "\x0c",
     "\x1b", "\x1f", "\x7f", "\x85", "\u2028", "\u2029", "\u202e", "é", "漢", "😀",
     "\U0010ffff", "</script>", "=", "+", "-", "@", "a", " ", "\\u0041", "\ud800"]),
    max_size=8).map("".join)
NUMBERS = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=False,
                                                          allow_infinity=False),
                    st.sampled_from([0, -0.0, 1e20, 1e-7, 2**63, 2**64 - 1, 10**18]))
VALUES = st.recursive(st.one_of(st.none(), st.booleans(), NUMBERS, HOSTILE),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(HOSTILE, inner, max_size=3)),
                      max_leaves=6)
TIMES = st.sampled_from(["2026-11-30T14:00:00Z", "2026-11-30T14:00:00.250Z",
                         "2026-12-01T15:59:59.999999+00:00", "2026-11-02T09:00:00-05:00",
                         "2001-01-01T00:00:00.000001Z", "2026-11-31T00:00:00Z", "soon"])


@st.composite
def hostile_lead(draw, *, schema: bool):
    lead = {"lead_id": draw(HOSTILE) if schema else draw(VALUES),
            "created_at": draw(TIMES), "email": draw(HOSTILE) + "@x.com",
            "job_level": draw(st.sampled_from(["vp", "c-level", "director", "ic", None])),
            "country": draw(st.sampled_from(["US", "GB", "FR", "ZZ"])),
            "company": {"employees": draw(st.sampled_from([5, 300, 5000, None]))},
            "demo_requested": draw(st.booleans()),
            "webinars_attended": draw(st.integers(0, 5)),
            "last_activity_at": draw(TIMES), "mql_at": draw(TIMES)}
    if draw(st.booleans()):
        lead["accepted_at"] = draw(TIMES)
    if draw(st.booleans()):
        lead["rejected_at"] = draw(TIMES)
        lead["rejection_reason"] = draw(st.one_of(
            st.sampled_from(["bad fit", "no budget", "duplicate"]), HOSTILE,
            VALUES if not schema else HOSTILE))
    if draw(st.integers(0, 5)) == 0:  # refused by the schema when there is one
        lead["company"]["employees"] = draw(st.one_of(HOSTILE, NUMBERS))
    return lead


def _jsonl(batch: list, ascii_flags: list[bool]) -> bytes:
    lines = []
    for lead, ascii_only in zip(batch, ascii_flags, strict=True):
        # raw text where UTF-8 can hold it, \\u escapes (lone surrogates too) elsewhere
        text = json.dumps(lead, ensure_ascii=ascii_only)
        try:
            lines.append(text.encode("utf-8"))
        except UnicodeEncodeError:
            lines.append(json.dumps(lead).encode("utf-8"))
    return b"\n".join(lines) + b"\n"


_POLICIES: dict = {}


def _acme_policy(tmp_root: Path, schema: bool) -> tuple[Policy, dict]:
    if schema not in _POLICIES:
        folder = tmp_root / ("with" if schema else "without")
        folder.mkdir()
        text = (ACME / "acme.funnel").read_text("utf-8")
        if schema:
            shutil.copy(ACME / "lead.schema.json", folder / "lead.schema.json")
        else:
            text = "\n".join(t for t in text.splitlines() if not t.startswith("schema "))
        (folder / "acme.funnel").write_text(text, encoding="utf-8")
        _POLICIES[schema] = (policy.load(folder), {})
    return _POLICIES[schema]


@needs_acme
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_strings_numbers_and_nesting_give_the_python_bytes(tmp_path_factory, data):
    schema = data.draw(st.booleans())
    pol, engines = _acme_policy(tmp_path_factory.getbasetemp(), schema)
    as_of = data.draw(st.sampled_from(AS_OFS))
    if as_of not in engines:
        engines[as_of] = DuckEngine(pol, as_of=as_of)
    batch = data.draw(st.lists(hostile_lead(schema=schema), min_size=1, max_size=12))
    flags = data.draw(st.lists(st.booleans(), min_size=len(batch), max_size=len(batch)))
    raw = _jsonl(batch, flags)
    fmt = data.draw(st.sampled_from(FORMATS))
    got = sql_bytes(engines[as_of], pol, raw, fmt)
    assert got == python_bytes(pol, raw, fmt, as_of)


@needs_acme
def test_hostile_strings_are_written_by_sql_not_by_python(tmp_path):
    """The escapes are SQL's own: decisions whose lead id and rejection reason hold every
    hostile character are written without the python fallback."""
    pol, _ = _acme_policy(tmp_path, False)
    as_of = parse_timestamp(AS_OF_TEXT)
    engine = DuckEngine(pol, as_of=as_of, years=(2025, 2027))
    nasty = '"\\/\n\r\t\x00\x01\x08\x0b\x0c\x1b\x1f\x7f\x85\u2028\u2029\u202eé😀</script>=,'
    batch = [{"lead_id": nasty + str(i), "created_at": "2026-11-30T14:00:00Z",
              "email": "a@b.com", "mql_at": "2026-11-30T14:00:00.5Z",
              "rejected_at": "2026-11-30T15:00:00Z",
              "rejection_reason": "bad fit" if i % 2 else "no budget",
              "company": {"employees": 5000}, "job_level": "vp", "demo_requested": True}
             for i in range(4)]
    for ascii_only in (False, True):
        raw = _jsonl(batch, [ascii_only] * len(batch))
        for fmt in FORMATS:
            got = sql_bytes(engine, pol, raw, fmt)
            by_python = python_rows(engine, pol, fmt)
            assert got == python_bytes(pol, raw, fmt, as_of), fmt
            assert by_python == 0, fmt


# --------------------------------------------------------------------------- generated


@settings(max_examples=examples(8, 15), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=policies(), data=st.data())
def test_generated_policies_give_the_python_bytes(text, data):
    pol = Policy(load_text(text))
    as_of = data.draw(st.sampled_from(AS_OFS))
    engine = DuckEngine(pol, as_of=as_of, years=(2025, 2027))
    batch = data.draw(st.lists(st.one_of(leads(), leads_for(pol.model)), min_size=1,
                               max_size=25))
    raw = b"".join(json.dumps(x).encode() + b"\n" for x in batch)
    for fmt in FORMATS:
        got = sql_bytes(engine, pol, raw, fmt)
        assert got == python_bytes(pol, raw, fmt, as_of), fmt
    engine.close()
