"""The tabular form of decisions (spec section 9): columns and rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import policy
from policy.engine import tabular
from policy.engine.decision import LeadError, Problem

RULES = Path(__file__).resolve().parents[1] / "rules"
AS_OF = datetime(2026, 12, 1, 16, tzinfo=UTC)


@pytest.fixture(scope="module")
def pol():
    return policy.load(RULES)


def test_columns_follow_the_spec_order(pol):
    lay = tabular.layout(pol)
    names = lay.names
    assert names[:9] == ("line", "lead", "policy_name", "policy_version", "policy_digest",
                         "as_of", "stage", "reached", "reason")
    scores = [f"score_{s}" for s in pol.model.scores]
    assert list(names[9:9 + len(scores)]) == scores
    rest = names[9 + len(scores):]
    assert rest[:2] == ("next_stage", "next_unmet")
    assert rest[-3:] == ("violations", "error", "error_paths")
    handoff_cols = rest[2:-3]
    stages = [h.stage.name for h in pol.model.handoffs]
    assert len(handoff_cols) == len(stages) * len(tabular.HANDOFF_FIELDS)
    assert handoff_cols[:len(tabular.HANDOFF_FIELDS)] == tuple(
        f"handoff_{stages[0]}_{f}" for f, _ in tabular.HANDOFF_FIELDS)
    assert len(set(names)) == len(names)
    assert all(c.kind in tabular.KINDS for c in lay.columns)


def test_every_sample_lead_gives_one_row_that_matches_its_decision(pol):
    lay = tabular.layout(pol)
    leads = [json.loads(x) for x in (RULES / "leads.jsonl").read_text().splitlines() if x]
    seen_error = seen_handoff = False
    for line, record in enumerate(pol.evaluate_many(leads, as_of=AS_OF), 1):
        r = tabular.row_dict(record, lay, line=line, info=pol.info,
                             as_of=1_796_140_800_000_000)
        assert len(r) == len(lay.columns)
        assert r["line"] == line
        if isinstance(record, LeadError):
            seen_error = True
            assert r["error"] == record.message
            assert r["error_paths"] == tuple(p.path for p in record.problems)
            assert r["stage"] is None and r["violations"] == ()
            assert r["policy_digest"] == pol.info.digest
            continue
        d = record.to_dict()
        assert r["lead"] == d["lead"] and r["stage"] == d["stage"]
        assert r["as_of"] == record.as_of_us and r["error"] is None and r["error_paths"] == ()
        for s, v in d["scores"].items():
            assert r[f"score_{s}"] == v
        if d["next"] is None:
            assert r["next_stage"] is None and r["next_unmet"] is None
        else:
            assert r["next_unmet"] == tuple(d["next"]["unmet"])
        applied = {h["stage"]: h for h in d["handoffs"]}
        for stage in lay.handoff_stages:
            h = applied.get(stage)
            p = f"handoff_{stage}_"
            if h is None:
                assert all(r[p + f] is None for f, _ in tabular.HANDOFF_FIELDS)
                continue
            seen_handoff = True
            assert r[p + "route"] == h["route"] and r[p + "rejected"] == h["rejected"]
            sla = h["sla"] or {}
            assert r[p + "sla_status"] == sla.get("status")
            for key in ("start", "due", "stop"):
                text = tabular.cell_text("timestamp", r[p + "sla_" + key])
                assert (text or None) == sla.get(key)
        assert r["violations"] == tuple(v["code"] for v in d["violations"])
    assert seen_error and seen_handoff


def test_cells_as_text():
    assert tabular.cell_text("timestamp", 0) == "1970-01-01T00:00:00Z"
    assert tabular.cell_text("list", ("a", "b\"")) == '["a", "b\\""]'
    assert tabular.cell_text("json", "x,y") == "x,y"
    assert tabular.cell_text("json", 12) == "12"
    assert tabular.cell_text("bool", False) == "false"
    assert tabular.cell_text("int", None) == ""
    assert tabular.cell_text("int", 7) == "7"


def test_error_row_without_info_or_line():
    lay = tabular.Layout((), (), tabular.columns(_Empty()))
    err = LeadError("bad", [Problem("a.b", "x"), Problem("", "y")], lead="L1", line=4)
    r = tabular.row_dict(err, lay)
    assert r["line"] == 4 and r["lead"] == "L1" and r["error_paths"] == ("a.b", "")
    assert r["policy_name"] is None and r["next_unmet"] is None


class _Empty:
    scores: dict = {}
    handoffs: tuple = ()
