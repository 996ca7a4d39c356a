"""`funnel diff --leads --jobs N`: the impact measured in worker processes, unit by unit,
merged in input order, equals the impact measured in one pass (policy.review.impact)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import given, settings
from hypothesis import strategies as st

import policy
from policy.engine.timestamps import parse_timestamp
from policy.io import batch, workers
from policy.io.leads import read_records, text_stream
from policy.review.impact import _Measured, measure, measure_units

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
LEADS = RULES / "leads.jsonl"
AS_OF = "2026-12-01T16:00:00Z"
AT = parse_timestamp(AS_OF)


@pytest.fixture(scope="module")
def head_dir(tmp_path_factory) -> Path:
    """rules/ and a HEAD that moves leads, changes scores both ways and an SLA."""
    head = tmp_path_factory.mktemp("head")
    for f in RULES.rglob("*"):
        if f.is_file():
            (head / f.relative_to(RULES)).parent.mkdir(parents=True, exist_ok=True)
            (head / f.relative_to(RULES)).write_bytes(f.read_bytes())
    text = (head / "scoring.funnel").read_text("utf-8")
    changed = text.replace("+", "+1", 3).replace("-", "-2", 2)
    assert changed != text
    (head / "scoring.funnel").write_text(changed, "utf-8")
    return head


@pytest.fixture(scope="module")
def versions(head_dir) -> tuple[policy.Policy, policy.Policy]:
    return policy.load(RULES), policy.load(head_dir)


def _serial(base, head, data: bytes, samples: int):
    with text_stream(io.BytesIO(data)) as stream:
        return measure(base, head, read_records(stream, fmt="jsonl"), as_of=AT,
                       samples=samples)


@pytest.mark.skipif(not workers.available(), reason="Linux only (fork, memfd)")
@pytest.mark.parametrize(("jobs", "block", "samples"), [(2, 8 * 1024, 5), (3, 20_000, 2),
                                                         (2, 4 * 1024, 0)])
def test_workers_give_the_impact_of_one_pass(versions, jobs, block, samples):
    base, head = versions
    data = LEADS.read_bytes() + b"not json\n[1]\n"
    one = _serial(base, head, data, samples)
    units = batch.jsonl_blocks(io.BytesIO(data), block)
    many = measure_units(base, head, units, as_of=AT, samples=samples, jobs=jobs)
    assert many == one
    assert one.moved > 0 and one.unreadable == 2
    assert any(s.changed for s in one.scores)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=6),
       samples=st.integers(min_value=0, max_value=4))
def test_merging_tallies_of_consecutive_stretches_is_one_pass(versions, cuts, samples):
    """Any split of the records into stretches, measured apart and merged in order,
    gives the tallies of one pass (counts, first samples, largest shifts, totals)."""
    base, head = versions
    records = list(read_records(text_stream(io.BytesIO(LEADS.read_bytes()[:200_000])),
                                fmt="jsonl"))
    edges = sorted({0, len(records), *[min(c, len(records)) for c in cuts]})
    merged = _Measured(samples)
    for a, b in zip(edges, edges[1:], strict=False):
        part = _Measured(samples)
        part.add(base, head, records[a:b], AT)
        merged.merge(part)
    whole = _Measured(samples)
    whole.add(base, head, records, AT)
    assert merged.impact(base, head, AT) == whole.impact(base, head, AT)


def test_the_command_reports_the_same_with_any_jobs(head_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "BLOCK_BYTES", 16 * 1024)
    leads = tmp_path / "leads.jsonl"
    leads.write_bytes(LEADS.read_bytes())
    runs = []
    for jobs in (1, 2):
        result = CliRunner().invoke(main, ["diff", str(RULES), str(head_dir),
                                           "--leads", str(leads), "--as-of", AS_OF,
                                           "--format", "json", "--jobs", str(jobs)])
        assert result.exit_code == 0, result.output
        runs.append(result.stdout)
    assert runs[0] == runs[1]
    assert json.loads(runs[0])["impact"]["leads"] == 1000


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_line_deciders_give_the_impact_of_the_dict_path(versions, jobs, monkeypatch):
    """Blocks long enough for both policies' typed line deciders (``funnel eval``'s fast
    path) measure what one pass over the records measures; lines either decider leaves
    to the ordinary path (refused leads, unknown keys, not JSON) are among them."""
    import sys

    from policy.review import impact_decide

    sys.path.insert(0, str(RULES))
    from generate_leads import generate

    base, head = versions
    lines = [json.dumps(lead, separators=(",", ":")).encode() for lead in generate(2500, 7)]
    lines[10] = b"not json"
    lines[20] = b"[1, 2]"
    lines[30] = lines[30][:-1] + b',"unknown_key":1}'
    lines[40] = b'{"id": "refused", "email": 5}'
    data = b"\n".join(lines) + b"\n"
    assert len(data) >= 2 * impact_decide.LINE_DECIDER_BYTES
    one = _serial(base, head, data, 5)
    calls = []
    real = type(base).line_decider

    def counted(self):
        calls.append(self)
        return real.fget(self)

    monkeypatch.setattr(type(base), "line_decider", property(counted))
    units = batch.jsonl_blocks(io.BytesIO(data), 1 << 20)
    fast = measure_units(base, head, units, as_of=AT, samples=5, jobs=jobs)
    assert fast == one
    assert one.moved > 0 and one.unreadable == 2
    if jobs == 1:
        assert calls  # the fast path was taken
