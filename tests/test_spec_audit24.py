"""The spec's sentences against hand-computed decisions (helper audit24, twenty-fourth
session).

tests/test_spec_audit17.py, 18, 19 and 19w already probe sections 1 to 11 sentence by
sentence; this session's audit re-read sections 1–5, 7, 9 ("Lead input, precisely",
"Tabular decisions") and 11 ("Precisely") and probed every clause again by hand (the list
is in the session's hand-over). Every engine agreed with the hand-computed values; the one
thing worth a test is where the spec's words left an edge the product did not handle:

- Section 4: `reject … with reason FIELD in [..]` names "the agreed reasons (the list is
  required)". A list with no reasons (`in []`, a define of `[]`, a `lines` file with no
  entries) is now W211 (tests/golden/check/w211_*), and the `invalid_rejection_reason`
  violation of such a handoff no longer ends in a dangling colon ("…agreed reasons: ")
  but says "none", in every engine.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy

POLICY = '''policy p "t"
id lead_id
team m "x"
funnel a
stage a owned by m {
  require lead_id is present
}
state nurture owned by m
handoff a to m {
  reject to nurture with reason why in []
}
'''

#: computed by hand: `why` is present, so the lead is rejected and placed in `nurture`
#: with its reason; no reason is agreed, so the reason is off the list (no `sla` line, so
#: the handoff's `sla` is null)
WANT = {
    "stage": "nurture", "reached": "a", "reason": "bad fit",
    "handoffs": [{"stage": "a", "team": "m", "route": None,
                  "sla": None,
                  "escalate_to": None, "rejected": True, "rejection_reason": "bad fit"}],
    "violations": [{"code": "invalid_rejection_reason",
                    "message": 'rejection reason "bad fit" is not one of the agreed '
                               "reasons: none"}],
}
LEAD = {"lead_id": "L1", "why": "bad fit"}
AS_OF = "2026-11-02T15:00:00Z"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    (tmp_path / "leads.jsonl").write_text(json.dumps(LEAD) + "\n", encoding="utf-8")
    return tmp_path


def _subset(record: dict) -> dict:
    return {k: record.get(k) for k in WANT}


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
def test_no_agreed_reasons_in_the_python_engines(folder: Path, engine: str) -> None:
    p = policy.load(folder, engine=engine)
    assert [d.code for d in p.diagnostics] == ["W211"]
    at = datetime(2026, 11, 2, 15, tzinfo=UTC)
    assert _subset(p.evaluate(LEAD, as_of=at).to_dict()) == WANT


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_no_agreed_reasons_from_the_command_line(folder: Path, engine: str) -> None:
    result = CliRunner().invoke(main, ["eval", str(folder), str(folder / "leads.jsonl"),
                                       "--as-of", AS_OF, "--engine", engine])
    assert result.exit_code == 0, result.output
    assert _subset(json.loads(result.stdout.splitlines()[0])) == WANT
    assert "W211" in result.stderr
