"""Handoffs in both engines: business time on the chosen route's calendar (v1.1), several
`until` fields, agreed reasons computed per lead. The compiled engine must decide as the
interpreter does, and both as the spec says."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from test_equivalence import assert_same, decide

from policy.api import Policy
from policy.engine.compiler import compile_model
from policy.engine.decision import PolicyInfo
from policy.engine.interpreter import Interpreter
from policy.engine.timestamps import parse_timestamp
from policy.model.loader import load_model

INFO = PolicyInfo("cal", "1", "sha256:" + "0" * 64)
AS_OF = parse_timestamp("2026-12-02T12:00:00Z")

POLICY = """policy cal "Calendars"
team m "@m"
team s "@s"
calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
calendar emea "London" {
  timezone "Europe/London"
  workdays mon tue wed thu fri
  hours 08:00 to 16:30
  holidays "2026-12-01"
}
funnel a -> b
define agreed_reasons = [lower(house_reason), "no budget"]
stage a owned by m {
  require go
}
stage b owned by s {
  require accepted_at is present
}
state lost "Lost" owned by s
handoff a to s {
  calendar emea
  route "amer" if region == "amer" on default
  route "apac" if region == "apac"
  route "emea" otherwise on emea
  sla 3 business hours from a_at until accepted_at, rejected_at, closed_at
  escalate to "boss" after 1 business day
  reject to lost with reason why in agreed_reasons
}
"""


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("cal")
    (root / "p.funnel").write_text(POLICY, "utf-8")
    result = load_model(root)
    assert result.ok, [str(d) for d in result.diagnostics if d.is_error]
    policy = Policy(result.model, diagnostics=result.diagnostics)
    program = policy.program
    return policy, compile_model(program, INFO).run, Interpreter(program, INFO).run


def _leads():
    starts = [None, "2026-11-30T20:00:00Z", "2026-12-01T09:30:00Z", "2026-12-02T11:00:00Z"]
    stops = [None, "2026-12-01T10:00:00Z", "2026-12-03T10:00:00Z"]
    for region, start, stop, second, why in itertools.product(
            ["amer", "apac", "emea", None], starts, stops, [None, "2026-12-01T12:00:00Z"],
            [None, "no budget", "Other", "other"]):
        lead = {"go": True, "region": region, "a_at": start, "accepted_at": stop,
                "closed_at": second, "why": why, "house_reason": "OTHER"}
        yield {k: v for k, v in lead.items() if v is not None}


def test_both_engines_decide_every_handoff_alike(engines):
    policy, compiled, interpreted = engines
    count = 0
    for lead in _leads():
        ts = policy.prepare(lead)
        assert_same(decide(compiled, lead, ts, AS_OF), decide(interpreted, lead, ts, AS_OF),
                    repr(lead))
        count += 1
    assert count == 4 * 4 * 3 * 2 * 4


def test_business_time_counts_on_the_chosen_routes_calendar(engines):
    policy, compiled, _ = engines
    start = "2026-12-02T13:00:00Z"  # 08:00 in New York, 13:00 in London
    dues = {}
    for region in ("amer", "apac", "emea"):
        lead = {"go": True, "region": region, "a_at": start}
        d = compiled(lead, policy.prepare(lead), AS_OF)
        dues[region] = d.handoffs[0].sla.to_dict()["due"]
    # amer: New York hours from 09:00 local (14:00Z), three hours -> 17:00Z
    assert dues["amer"] == "2026-12-02T17:00:00Z"
    # apac has no `on`: the handoff's `calendar emea`; emea says so itself:
    # London, 13:00 + 3 h of 08:00-16:30 -> 16:00Z
    assert dues["apac"] == dues["emea"] == "2026-12-02T16:00:00Z"


def test_the_earliest_present_stop_counts_and_reasons_are_per_lead(engines):
    policy, compiled, _ = engines
    lead = {"go": True, "region": "amer", "a_at": "2026-12-01T14:00:00Z",
            "accepted_at": "2026-12-03T10:00:00Z", "closed_at": "2026-12-01T15:00:00Z",
            "why": "other", "house_reason": "OTHER"}
    d = compiled(lead, policy.prepare(lead), AS_OF)
    h = d.handoffs[0]
    assert h.sla.to_dict()["stop"] == "2026-12-01T15:00:00Z" and h.sla.status == "met"
    assert h.rejected and d.stage == "lost" and d.violations == ()
    lead["why"] = "Other"  # not lower-cased: not one of the agreed reasons
    d = compiled(lead, policy.prepare(lead), AS_OF)
    assert [v.code for v in d.violations] == ["invalid_rejection_reason"]


def test_the_generated_code_switches_calendar_by_route(engines, tmp_path: Path):
    policy, _, _ = engines
    source = compile_model(policy.program, INFO).source
    assert "cal = CAL" in source and "add_working(cal, start, working_us(" in source
