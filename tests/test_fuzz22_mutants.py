"""The mutation hunt's cheap, derandomized tier (twenty-second session).

``tests/hunt_mutants.py`` and ``tests/hunt_mutants_csv.py`` take the realistic policies
(``tests/mutants.py``), mutate them the way marketing ops edit them and decide their
example, sample and boundary leads in every engine. Here a few fixed seeds run the same
code: the mutators edit what they claim to, the mutants load, the boundary leads sit on
the calendars' edges, and the interpreter, the compiled engine and DuckDB (in process,
and ``funnel eval`` from a quirky CSV export) agree on every lead.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import mutants
import pytest
from hunt_mutants import duck_in_process
from hunt_mutants_csv import csv_runs
from spec_runs import in_process

import policy
from policy.engine.timestamps import parse_timestamp

RULES = mutants.REPO / "rules"


def test_every_mutator_edits_a_realistic_policy(tmp_path):
    """Each mutator changes the text of the example policy in the way its name says,
    and some of its edits still load (the hunt keeps only those)."""
    texts = {f.name: f.read_text("utf-8") for f in RULES.glob("*.funnel")}
    stamps = ["mql_at", "accepted_at", "last_activity_at", "company.enriched_at"]
    stages = ["inquiry", "mql", "sal", "sql", "opportunity"]
    rng = random.Random(2201)
    for kind, fn in mutants.MUTATORS.items():
        changed = 0
        for text in texts.values():
            for _ in range(3):
                args = (stamps,) if kind in mutants._NEEDS_STAMPS else (
                    (stages,) if kind in mutants._NEEDS_STAGES else ())
                new = fn(rng, text, *args)
                if new is not None and new != text:
                    changed += 1
                    # an edit never touches a comment
                    old_comments = re.findall(r"(?m)^\s*#.*$", text)
                    assert all(c in new for c in old_comments) or kind == "recycle", kind
        assert changed, f"mutator {kind} never edited rules/"
    # a threshold edit lands on a number, a comparison edit on an operator
    new = mutants._number(random.Random(1), "require fit >= 45 \"x\"\n")
    assert new != "require fit >= 45 \"x\"\n" and "x" in new
    new = mutants._compare(random.Random(1), "require fit >= 45\n")
    assert ">=" not in new and re.search(r"fit (<=|==|!=|>|<) 45", new)


def test_the_schema_mutator_edits_the_lead_schema(tmp_path):
    folder = mutants.copy_base(RULES, tmp_path / "p")
    before = (folder / "lead.schema.json").read_text("utf-8")
    rng = random.Random(2206)
    edits = [mutants.mutate_schema(rng, folder) for _ in range(6)]
    assert any(edits) and (folder / "lead.schema.json").read_text("utf-8") != before
    assert all(e.startswith("lead.schema.json: ") for e in edits if e)


def test_mutants_load_and_keep_their_edits(tmp_path):
    rng = random.Random(2202)
    folder = mutants.copy_base(RULES, tmp_path / "p")
    assert not (folder / "examples.funnel").exists()  # example-only files go
    before = {f.name: f.read_text("utf-8") for f in folder.glob("*.funnel")}
    edits = mutants.mutate(rng, folder, ["mql_at", "accepted_at"], ["inquiry", "mql", "sal"])
    assert edits
    after = {f.name: f.read_text("utf-8") for f in folder.glob("*.funnel")}
    assert after != before
    policy.load(folder)


def test_boundary_leads_sit_on_the_calendar_edges(tmp_path):
    folder = mutants.copy_base(RULES, tmp_path / "p")
    pol = policy.load(folder)
    edges = mutants.edge_instants(pol)
    # Chicago opens 08:30 (14:30Z in winter), Berlin closes 18:00 (17:00Z in winter)
    stamps = {e.strftime("%Y-%m-%dT%H:%M:%S.%f") for e in edges}
    assert "2026-12-01T14:30:00.000000" in stamps and "2026-12-01T17:00:00.000000" in stamps
    assert "2026-11-26T14:30:00.000000" in stamps  # Thanksgiving, a holiday
    assert "2026-11-01T14:30:00.000000" in stamps  # the US change back to winter time
    assert "2026-10-25T08:00:00.000000" in stamps  # and the EU's, in Berlin
    seeds = [lead for _, lead in mutants.base_examples(RULES)]
    leads = mutants.boundary_leads(random.Random(2203), folder, pol, seeds, 60)
    assert len({lead["lead_id"] for lead in leads}) == 60
    assert any(lead.get("mql_at") != s.get("mql_at") for lead in leads for s in seeds[:1])


@pytest.mark.parametrize("seed", [2204, 2207])
def test_mutants_decide_alike_in_every_engine(seed, tmp_path):
    """Interpreter, compiled engine and DuckDB on one mutant's leads; and (one seed)
    the same leads as a quirky CSV through ``funnel eval`` with the python and DuckDB
    engines."""
    rng = random.Random(seed)
    base = RULES if seed % 2 == 0 else mutants.REPO / "cli" / "starter"
    folder = mutants.copy_base(base, tmp_path / "p")
    pol0 = policy.load(folder)
    stamps = sorted(".".join(p) for p in pol0.model.timestamp_paths)
    assert mutants.mutate(rng, folder, stamps, list(pol0.model.funnel))
    pol = policy.load(folder)
    examples = mutants.base_examples(base)
    seeds = [lead for _, lead in examples] + mutants.sample_leads(base, rng, 5)
    leads = seeds[:6] + mutants.boundary_leads(rng, folder, pol, seeds, 12)
    as_of = mutants.as_ofs(rng, pol, [at for at, _ in examples], 1)[0]
    leads += mutants.sla_edge_leads(rng, pol, seeds, parse_timestamp(as_of), 6)
    assert in_process(folder, leads, as_of, None) == []
    assert duck_in_process(pol, leads, as_of) == []
    if seed == 2204:  # the command line once (four runs of funnel eval)
        assert csv_runs(folder, leads, as_of, rng, ["python", "duckdb"]) == []


def test_the_comparison_sees_a_difference(tmp_path, monkeypatch):
    """The in-process comparison is not blind: a DuckDB engine that moves every lead's
    first score by one is reported, lead by lead."""
    from policy.engine.decision import Decision
    from policy.sql import duck

    folder = mutants.copy_base(mutants.REPO / "cli" / "starter", tmp_path / "p")
    pol = policy.load(folder)
    leads = [lead for _, lead in mutants.base_examples(mutants.REPO / "cli" / "starter")][:3]
    real = duck.DuckEngine.decide

    def skewed(self, lines, texts):
        out = []
        for line, rec in real(self, lines, texts):
            if isinstance(rec, Decision) and rec.scores:
                name = next(iter(rec.scores))
                rec = Decision(rec.lead, rec.policy, rec.as_of_us, rec.stage, rec.reached,
                               rec.reason, {**rec.scores, name: rec.scores[name] + 1},
                               rec.next, rec.handoffs, rec.violations, rec.trace)
            out.append((line, rec))
        return out

    monkeypatch.setattr(duck.DuckEngine, "decide", skewed)
    found = duck_in_process(pol, leads, "2026-12-01T16:00:00Z")
    assert found and all("score_" in f for f in found)


def test_quirky_csv_holds_its_quirks():
    rng = random.Random(2205)
    leads = [{"lead_id": "a", "n": 7, "b": True, "c": {"x": 1}, "l": ["p", "q"], "s": "x,\"y\""},
             {"lead_id": "b", "c": "flat", "b": False}]
    seen = set()
    for _ in range(40):
        data, quirks = mutants.quirky_csv(leads, rng)
        seen.update(q.split(" ")[0] for q in quirks)
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else \
            data.decode("utf-8-sig")
        assert "c.x" not in text.split("\n")[0] or "\"c\"" not in text.split("\n")[0]
    assert {"no", "CRLF", "UTF-8", "UTF-16", "delimiter", "every"} <= seen
    assert mutants._number_cell(7, random.Random(0)) in (
        "7", "7.0", "7e0", "7E+0", "7.000", "70e-1")


def test_the_bases_are_realistic_policies():
    names = {Path(b).name for b in mutants.bases()}
    assert {"rules", "starter", "small.funnel"} <= names
    for base in mutants.bases():
        policy.load(base)
