"""What the review of the engine found (issue 8, item 4): a policy with errors is never
evaluated, an engine fault is never the lead's fault, a loaded policy is safe to share,
and the decision types load without jsonschema."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policy.api import Policy, load
from policy.engine import runtime as rt
from policy.engine.decision import LeadError, dumps
from policy.model.loader import load_model
from policy.model.namespace import build_model
from policy.syntax.diagnostics import PolicyError
from policy.syntax.parser import parse

REPO = Path(__file__).resolve().parents[1]


def _leads(count: int) -> list:
    lines = (REPO / "rules" / "leads.jsonl").read_text("utf-8").splitlines()[:count]
    return [json.loads(line) for line in lines]

BROKEN = """policy p "P"
team m "@m"
funnel a -> b
stage a owned by m {
  require go
}
stage b owned by m {
}
handoff a to m {
  sla 4 business hours from at_ until done_at
}
"""


def test_a_model_with_errors_is_refused_not_evaluated(tmp_path):
    # business time without a calendar (E107): built, never checked
    model = build_model([parse(BROKEN, "broken.funnel").module])
    with pytest.raises(PolicyError) as caught:
        Policy(model)
    assert any(d.code == "E107" for d in caught.value.diagnostics)
    # the errors a caller passes in refuse it too, whatever the engine
    result = load_model(_write(tmp_path, BROKEN))
    assert not result.ok
    for engine in ("auto", "compiled", "interpreter"):
        with pytest.raises(PolicyError):
            Policy(result.model, diagnostics=result.diagnostics, engine=engine)


def _write(root: Path, text: str) -> Path:
    (root / "p.funnel").write_text(text, "utf-8")
    return root


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_an_engine_fault_is_not_the_leads_fault(engine, monkeypatch):
    policy = load(REPO / "rules", engine=engine)
    leads = [lead for lead in _leads(20) if not isinstance(
        next(iter(policy.evaluate_many([lead]))), LeadError)][:1]

    def broken(*args):
        raise ValueError("a bug in the engine")

    if engine == "compiled":
        # a runtime function every lead's compiled rules call (rounding is inlined)
        monkeypatch.setitem(policy._engine.__globals__, "domain", broken)
    else:
        monkeypatch.setattr(rt, "round_half_away", broken)
    with pytest.raises(ValueError, match="a bug in the engine"):
        policy.evaluate(leads[0])
    with pytest.raises(ValueError, match="a bug in the engine"):
        list(policy.evaluate_many(leads))


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_numbers_no_arithmetic_can_hold_are_the_leads_fault(engine, tmp_path):
    # only a caller's dict can carry them (JSON cannot): a refused lead, not a traceback
    policy = load(_write(tmp_path, SCORED), engine=engine)
    assert policy.evaluate({"x": 3}).scores["s"] == 3
    for value in (float("nan"), float("inf"), 10**400):
        got = list(policy.evaluate_many([{"x": value}]))[0]
        assert isinstance(got, LeadError), (value, got)
        assert "cannot be computed" in got.problems[0].message


SCORED = """policy p "P"
team m "@m"
funnel a
score s owned by m {
  +1 per x
}
stage a owned by m {
  require s >= 0
}
"""


def test_a_loaded_policy_is_shared_between_threads():
    policy = load(REPO / "rules")
    leads = _leads(200)

    at = datetime(2026, 12, 1, 16, tzinfo=UTC)
    alone = [dumps(r) for r in policy.evaluate_many(leads, as_of=at)]
    results: dict[int, list[str]] = {}

    def work(i: int) -> None:
        results[i] = [dumps(r) for r in policy.evaluate_many(leads, as_of=at)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == alone for i in range(4))


def test_importing_the_decision_types_does_not_load_jsonschema():
    code = ("import sys, policy.engine.decision, policy.engine.runtime; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jsonschema', 'jsonschema_rs', 'lark')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
