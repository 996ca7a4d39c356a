"""The python engine's facts as CSV, one file per worker (issue 11).

``funnel report`` with the python engine decides a large JSON Lines file as ``eval``
does (the typed line decider, no lead dict), reads the few fields the facts need straight
from each line (:func:`policy.report.units.lead_fields`), and each worker writes its own
CSV file of facts, which DuckDB reads. These tests pin what that path must keep: texts
that CSV and DuckDB's reader treat specially (commas, quotes, line breaks, a lone
carriage return, NUL, U+2028, an empty text, texts that start like the reader's marks)
come back exactly, the report is the DuckDB engine's byte for byte with one worker and
with two, and no fact passes through the main process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_report import AS_OF, AS_OF_TEXT, TINY, tiny_leads

import policy
from policy.engine import runtime as rt
from policy.engine.timestamps import from_datetime
from policy.io.batch import policy_batches
from policy.report.build import facts_files, field_option, write_facts
from policy.report.facts import FactWriter
from policy.report.shape import report_shape
from policy.report.units import lead_fields

#: ``--by`` values and rejection reasons a CSV file or its reader could get wrong
HOSTILE = ["a,b", 'say "hi"', "line\nbreak", "cr\rx", "\r", "crlf\r\nx", "nul\x00here",
           "\x00", "sep\u2028x", "nel\x85", "del\x7f", "", "s", 'j"x"', "NULL", '"', ",",
           "\ufeffbom", "\u202eevil"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def hostile_leads(path: Path, count: int = 600) -> Path:
    """The tiny policy's leads, their sources and rejection reasons made hostile."""
    leads = tiny_leads(count, seed=11)
    for i, lead in enumerate(leads):
        if isinstance(lead, dict):
            lead["source"] = HOSTILE[i % len(HOSTILE)]
            if lead.get("rejection_reason") is not None and i % 3 == 0:
                lead["rejection_reason"] = HOSTILE[(i // 3) % len(HOSTILE)]
    with open(path, "wb") as f:
        for lead in leads:
            f.write(json.dumps(lead, ensure_ascii=False).encode() + b"\n")
        f.write(b'{"lead_id": "bad-bytes", "source": "caf\xe9"}\n')  # not UTF-8
    return path


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 8 KiB (not 1 MiB), each decided with the line decider as a large
    file's are: many units, so that two workers share them."""
    monkeypatch.setattr("policy.io.batch.BLOCK_BYTES", 8192)
    monkeypatch.setattr("policy.report.units.BLOCK_BYTES", 8192)


@pytest.mark.parametrize("options", [("--by", "source"),
                                     ("--by", "source", "--cohort", "mql_at",
                                      "--period", "week"),
                                     ()])
def test_hostile_texts_come_back_exactly_with_one_worker_and_two(tmp_path, small_blocks,
                                                                 options):
    leads = hostile_leads(tmp_path / "leads.jsonl")
    outs = {}
    for engine, jobs in (("python", "1"), ("python", "2"), ("duckdb", "1")):
        result = run("report", TINY, leads, "--as-of", AS_OF_TEXT, "--format", "json",
                     "--engine", engine, "--jobs", jobs, *options)
        assert result.exit_code == 0, result.output
        outs[engine, jobs] = result.stdout
    assert outs["python", "1"] == outs["python", "2"] == outs["duckdb", "1"]
    data = json.loads(outs["python", "2"])
    assert data["leads"] == 601
    if options:
        # every hostile value is its own group, under its own exact text (19 groups: no
        # (other)); the line that is not UTF-8 is refused, its source not read
        keys = set(data["by"])
        assert set(HOSTILE) <= keys, set(HOSTILE) - keys
    reasons = {r for h in data["handoffs"] for r in h["rejections"]["reasons"]}
    assert len(set(HOSTILE) & reasons) >= 3, reasons  # rejection reasons: texts too


def test_the_facts_never_pass_through_the_main_process(tmp_path, small_blocks):
    pol = policy.load(TINY)
    leads = hostile_leads(tmp_path / "leads.jsonl", count=1500)
    shape = report_shape(pol.model, name=pol.info.name, version=pol.info.version,
                         digest=pol.info.digest)
    writer = FactWriter(shape, None, by=("source",), cohort=shape.default_cohort)
    facts = tmp_path / "facts"
    facts.mkdir()
    with open(leads, "rb") as binary:
        write_facts(pol, policy_batches(pol, binary, "jsonl"), writer, str(facts),
                    from_datetime(AS_OF), jobs=2)
    files = facts_files(str(facts))
    assert files, "no facts written"
    # each file is a worker's own (named by its process id), none the main process's
    assert all(not f.endswith(f"facts-{os.getpid()}.csv") for f in files)
    rows = sum(Path(f).read_bytes().count(b"\n") - _breaks_in_texts(Path(f)) for f in files)
    assert rows == 1501
    assert writer.longest >= len("s" + "quote")  # the workers' longest text came back


def _breaks_in_texts(path: Path) -> int:
    """Line ends inside quoted CSV fields (a text with a line break)."""
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        records = list(csv.reader(f))
    return path.read_bytes().count(b"\n") - len(records)


def test_the_csv_row_marks_each_text_and_keeps_null_apart_from_empty():
    pol = policy.load(TINY)
    shape = report_shape(pol.model, name=pol.info.name, version=pol.info.version,
                         digest=pol.info.digest)
    writer = FactWriter(shape, None, by=("source",), cohort=None)
    at = writer.columns.index("bykey")
    row = writer.csv_row([None] * len(writer.columns))
    assert row[at] is None
    for text, want in (("", "s"), ("web", "sweb"), ("cr\rx", 'j"cr\\rx"'),
                       ("sep\u2028x", 'j"sep\u2028x"'), ("nul\x00", 'j"nul\\u0000"')):
        values = [None] * len(writer.columns)
        values[at] = text
        assert writer.csv_row(values)[at] == want


def test_lead_fields_refuse_paths_through_each_other():
    assert lead_fields((("company",), ("company", "industry"))) is None
    assert lead_fields((("company", "industry"), ("company",))) is None
    assert lead_fields(())(b'{"a": 1}') == ()


_json = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                     | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(["a", "b", "c", "é"]), inner, max_size=3),
                     max_leaves=12)
_paths = st.lists(st.lists(st.sampled_from(["a", "b", "c", "é"]), min_size=1, max_size=3)
                  .map(tuple), min_size=1, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "é", "x"]), _json, max_size=5), _paths)
def test_lead_fields_find_what_runtime_get_finds_in_the_dict(lead, paths):
    read = lead_fields(tuple(paths))
    if read is None:  # one path runs through another: those leads are read as dicts
        return
    line = msgspec.json.encode(lead)
    try:
        got = read(line)
    except msgspec.ValidationError:  # e.g. a number on the way: read into a dict instead
        return
    assert got == tuple(rt.get(msgspec.json.decode(line), p) for p in paths)


def test_a_by_field_below_a_value_of_another_kind_is_read_from_the_dict(tmp_path,
                                                                        small_blocks):
    """``--by tags`` on leads whose ``tags`` is a list: the struct reads it as any
    value; on the rules' schema ``company.industry`` below a null ``company`` is None."""
    pol = policy.load(TINY)
    assert field_option(pol, "tags", "--by") == ("tags",)
    leads = tiny_leads(400, seed=3)
    for i, lead in enumerate(leads):
        if isinstance(lead, dict):
            lead["tags"] = [i % 3, "x"] if i % 2 else None
    path = tmp_path / "leads.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")
    outs = []
    for engine in ("python", "duckdb"):
        result = run("report", TINY, path, "--as-of", AS_OF_TEXT, "--format", "json",
                     "--engine", engine, "--jobs", "2", "--by", "tags")
        assert result.exit_code == 0, result.output
        outs.append(result.stdout)
    assert outs[0] == outs[1]
    assert '"[0,\\"x\\"]"' in outs[0] or "[0,\\\"x\\\"]" in outs[0]


def test_bench_report_keeps_the_rows_a_run_does_not_replace():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "bench_report.py"
    spec = importlib.util.spec_from_file_location("_bench_report", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    old = [{"leads": 10, "engine": "duckdb", "input": "jsonl", "report_s": 1},
           {"leads": 10, "engine": "python", "input": "jsonl", "report_s": 2},
           {"leads": 5, "engine": "duckdb", "input": "jsonl", "report_s": 3}]
    old[0]["parquet"] = {"input": "parquet"}
    new = [{"leads": 10, "engine": "python", "input": "jsonl", "report_s": 4},
           {"leads": 10, "engine": "duckdb", "input": "jsonl", "report_s": 5}]
    got = bench.merged_rows(old, new)
    # a row with a --parquet row is kept beside a new one without
    assert [(r["leads"], r["engine"], r["report_s"]) for r in got] == [
        (5, "duckdb", 3), (10, "duckdb", 1), (10, "duckdb", 5), (10, "python", 4)]


def test_line_facts_are_the_fields_of_the_line_deciders_decision():
    """``Policy.line_facts`` (what the report decides a line of a large block with)
    returns the Decision's fields without the Decision: the same as the line decider's."""
    from policy.engine.timestamps import parse_timestamp

    pol = policy.load(Path(__file__).resolve().parents[1] / "rules")
    facts, decide = pol.line_facts, pol.line_decider
    names = facts.score_names
    at = parse_timestamp("2026-12-01T16:00:00Z")
    seen = 0
    lines = (Path(__file__).resolve().parents[1] / "rules" / "leads.jsonl").read_bytes()
    for line in lines.splitlines():
        d = decide(line, at)
        got = facts(line, at)
        assert (d is None) == (got is None)
        if d is None:
            continue
        seen += 1
        assert got == (d.stage, d.reached, d.reason, tuple(d.scores[n] for n in names),
                       d.handoffs, d.violations)
    assert seen > 900


def test_no_progress_bar_reaches_a_report_on_standard_output(tmp_path, monkeypatch):
    """DuckDB prints a progress bar to standard output (the process's own, where a report
    may go) when a query runs longer than two seconds, on a connection that has not
    turned it off (``SET enable_progress_bar = false``): every connection of the report
    and every cursor, with either engine, turns it off before it reads or writes a row."""
    import duckdb

    connect = duckdb.connect
    seen = []

    class Watched:
        def __init__(self, con):
            self._con = con
            self._quiet = False

        def execute(self, sql, *args):
            words = sql.split()
            if " ".join(words).lower() == "set enable_progress_bar = false":
                self._quiet = True
            elif words[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "COPY"):
                seen.append((self._quiet, sql[:40]))
            return self._con.execute(sql, *args)

        def cursor(self):  # a connection of its own
            return Watched(self._con.cursor())

        def __getattr__(self, name):
            return getattr(self._con, name)

    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: Watched(connect(*a, **k)))
    leads = hostile_leads(tmp_path / "leads.jsonl", count=300)
    for engine in ("python", "duckdb"):
        seen.clear()
        result = run("report", TINY, leads, "--as-of", AS_OF_TEXT, "--format", "json",
                     "--engine", engine, "--by", "source")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["leads"] == 301
        assert seen and all(quiet for quiet, _ in seen), [s for q, s in seen if not q]
    assert any(sql.startswith("SELECT line, txt FROM src") for _, sql in seen)  # a cursor
