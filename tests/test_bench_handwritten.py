"""The benchmark's hand-written baseline (``bench/handwritten.py``) decides like the engine.

``decide(lead, as_of_us)`` is the Halyard Data policy of ``rules/`` typed in by hand.
The benchmark compares the engine's speed with it, which is only fair if both return
the same decision; and because it was written from the spec and the ``.funnel`` files,
not from the engine, agreement here is also an independent check of the engine. Three
oracles: the compiled engine, the reference interpreter, and the hand arithmetic written
into the expectations of ``rules/examples.funnel``.
"""

from __future__ import annotations

import copy
import importlib.util
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import policy
from policy.engine.decision import LeadError
from policy.engine.timestamps import format_timestamp, from_datetime, parse_timestamp, to_datetime
from policy.model.loader import load_model
from policy.syntax import nodes as n

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handwritten = _module(ROOT / "bench" / "handwritten.py")
generate_leads = _module(RULES / "generate_leads.py")

#: Instants that exercise different paths: the sample's reference instant (a Tuesday
#: morning in Chicago), the day CDT ends (many timestamps then lie in the future: no
#: decay, stops after as_of), Christmas Eve (a holiday), and March 2027 after DST
#: starts (everything stale: recycling, breached SLAs, escalations).
AS_OFS = (
    datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 12, 30, tzinfo=UTC),
    datetime(2026, 12, 24, 20, 0, tzinfo=UTC),
    datetime(2027, 3, 15, 13, 45, 30, 250, tzinfo=UTC),
)
COUNT = 3000
#: The generator makes exactly one invalid lead in every 200 (rules/README.md).
INVALID = COUNT // 200
_TIMESTAMP_FIELDS = ("created_at", "trial_started_at", "last_activity_at", "mql_at",
                     "accepted_at", "rejected_at", "sql_at", "opp_created_at", "ae_rejected_at")


@pytest.fixture(scope="module")
def compiled() -> policy.Policy:
    p = policy.load(RULES)
    assert p.engine == "compiled"
    return p


@pytest.fixture(scope="module")
def interpreter() -> policy.Policy:
    return policy.load(RULES, engine="interpreter")


@pytest.fixture(scope="module")
def leads() -> list[dict]:
    return list(generate_leads.generate(COUNT, seed=11))


def _rewrite_timestamps(lead: dict, how) -> dict:
    out = copy.deepcopy(lead)
    for key in _TIMESTAMP_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = how(out[key])
    company = out.get("company")
    if isinstance(company, dict) and isinstance(company.get("enriched_at"), str):
        company["enriched_at"] = how(company["enriched_at"])
    return out


def _in_chicago_winter(text: str) -> str:
    """The same instant written with a -06:00 offset (what a CRM in Chicago exports)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(timezone(timedelta(hours=-6))).isoformat()


def _variants(lead: dict) -> list[dict]:
    """Valid re-writings the generator never makes: offsets, no offset, odd case,
    a handed-over lead whose `mql_at` was lost, no company, no BANT."""
    shouted = copy.deepcopy(lead)
    if isinstance(shouted.get("email"), str):
        shouted["email"] = shouted["email"].upper()
    company = shouted.get("company")
    if isinstance(company, dict) and isinstance(company.get("tech_stack"), list):
        company["tech_stack"] = [t.upper() for t in company["tech_stack"]]
    lost = copy.deepcopy(lead)
    lost.pop("mql_at", None)
    bare = copy.deepcopy(lead)
    bare["company"] = None
    bare["bant"] = None
    return [
        _rewrite_timestamps(lead, _in_chicago_winter),
        _rewrite_timestamps(lead, lambda t: t.rstrip("Z")),
        shouted,
        lost,
        bare,
    ]


def _disagreements(p: policy.Policy, leads: list[dict], as_of: datetime
                   ) -> tuple[int, int, list[str]]:
    """(decided, refused, differences) of the engine behind ``p`` and ``decide``."""
    as_of_us = from_datetime(as_of)
    decided = refused = 0
    diffs: list[str] = []
    for lead in leads:
        try:
            expected = p.evaluate(lead, as_of=as_of).to_dict()
        except LeadError:
            refused += 1
            continue
        decided += 1
        actual = handwritten.decide(lead, as_of_us)
        if actual != expected and len(diffs) < 5:
            keys = [k for k in expected if expected[k] != actual.get(k)]
            diffs.append(f"{lead.get('lead_id')} at {format_timestamp(as_of_us)}: "
                         + "; ".join(f"{k}: engine {expected[k]!r} != hand {actual.get(k)!r}"
                                     for k in keys))
    return decided, refused, diffs


@pytest.mark.parametrize("as_of", AS_OFS, ids=lambda d: d.strftime("%Y-%m-%dT%H:%M"))
def test_same_decision_as_the_compiled_engine(compiled, leads, as_of):
    decided, refused, diffs = _disagreements(compiled, leads, as_of)
    assert diffs == []
    # the engine refuses exactly the leads the generator made invalid, and no other
    assert (decided, refused) == (COUNT - INVALID, INVALID)


@pytest.mark.parametrize("as_of", AS_OFS[:2], ids=lambda d: d.strftime("%Y-%m-%dT%H:%M"))
def test_same_decision_on_rewritten_leads(compiled, leads, as_of):
    variants = [v for lead in leads[::6] for v in _variants(lead)]
    decided, refused, diffs = _disagreements(compiled, variants, as_of)
    assert diffs == []
    assert decided > 4 * len(variants) // 5
    assert refused < len(variants) // 100


def test_same_decision_as_the_interpreter(interpreter, leads):
    decided, refused, diffs = _disagreements(interpreter, leads[:1600], AS_OFS[0])
    assert diffs == []
    assert refused == 1600 // 200  # one in each block of 200


def test_the_sample_exercises_every_outcome(compiled, leads):
    """The comparison above is only as good as its coverage: every placement, route,
    SLA status, escalation and violation of the policy shows up in it."""
    seen: dict[str, set] = {"stage": set(), "route": set(), "sla": set(), "escalate": set(),
                            "violation": set(), "reason": set()}
    for as_of in AS_OFS:
        as_of_us = from_datetime(as_of)
        for lead in leads:
            try:
                compiled.prepare(lead)
            except LeadError:
                continue
            d = handwritten.decide(lead, as_of_us)
            seen["stage"].add(d["stage"])
            seen["reason"].add(d["reason"] is not None)
            seen["violation"].update(v["code"] for v in d["violations"])
            for h in d["handoffs"]:
                seen["route"].add(h["route"])
                seen["sla"].add(h["sla"]["status"])
                seen["escalate"].add(h["escalate_to"])
    assert seen["stage"] == {None, "inquiry", "mql", "sal", "sql", "opportunity", "nurture",
                             "disqualified", "requalify"}
    assert seen["route"] == {"strategic-sdr", "emea-sdr", "enterprise-sdr", "velocity-sdr",
                             "strategic-ae", "emea-commercial-ae", "commercial-ae"}
    assert seen["sla"] == {"met", "breached", "pending", "unknown"}
    assert seen["escalate"] == {None, "sdr-managers", "sales-directors"}
    assert seen["violation"] == {"missing_sla_start", "invalid_rejection_reason"}
    assert seen["reason"] == {True, False}


def _examples():
    model = load_model(RULES).model
    for located in model.examples:
        example = located.decl
        at = next(i.timestamp for i in example.items if isinstance(i, n.At))
        lead = next(i.data for i in example.items if isinstance(i, n.LeadLiteral))
        expects = [i for i in example.items if isinstance(i, n.Expect)]
        if any(e.kind is n.ExpectKind.ERROR for e in expects):
            continue  # a refused lead: the hand-written function assumes valid input
        yield pytest.param(at, lead, expects, id=example.name[:60])


def _actual(decision: dict, expect: n.Expect):
    kind = expect.kind
    if kind is n.ExpectKind.SCORE:
        return decision["scores"][expect.subject.name]
    if kind in (n.ExpectKind.STAGE, n.ExpectKind.REACHED, n.ExpectKind.REASON):
        return decision[kind.value]
    if kind is n.ExpectKind.VIOLATION:
        codes = [v["code"] for v in decision["violations"]]
        return expect.value if expect.value in codes else codes
    handoffs = decision["handoffs"]
    if expect.at is not None:
        handoffs = [h for h in handoffs if h["stage"] == expect.at.name]
    if not handoffs:
        return None
    h = handoffs[-1]
    if kind is n.ExpectKind.ROUTE:
        return h["route"]
    if kind is n.ExpectKind.SLA:
        return h["sla"]["status"] if h["sla"] is not None else None
    return h["escalate_to"]


@pytest.mark.parametrize(("at", "lead", "expects"), list(_examples()))
def test_examples_hand_arithmetic(compiled, at, lead, expects):
    as_of_us = parse_timestamp(at)
    decision = handwritten.decide(lead, as_of_us)
    wrong = [(e.kind.value, e.value, _actual(decision, e)) for e in expects
             if _actual(decision, e) != e.value]
    assert wrong == []
    expected = compiled.evaluate(lead, as_of=to_datetime(as_of_us))
    assert decision == expected.to_dict()


def test_policy_identity_is_the_engines(compiled):
    assert handwritten.POLICY == compiled.info.to_dict()


# A mid-market director in Canada who asked for sales: fit 60, an MQL handed over on
# Monday 2026-11-30 at 09:10 CST (15:10Z). Its SLA is due 2 business hours later, at
# 11:10 CST (17:10Z); it escalates after 4, at 13:10 CST (19:10Z).
_BASE = {"lead_id": "B-1", "created_at": "2026-11-12T19:20:00Z",
         "email": "m.lee@brightledger.com", "job_level": "director", "department": "analytics",
         "country": "CA", "company": {"employees": 650, "industry": "fintech"},
         "contact_sales_requested": True, "last_activity_at": "2026-11-30T15:00:00Z",
         "mql_at": "2026-11-30T15:10:00Z"}
_ONE_US = timedelta(microseconds=1)
_DUE = datetime(2026, 11, 30, 17, 10, tzinfo=UTC)
_ESCALATES = datetime(2026, 11, 30, 19, 10, tzinfo=UTC)
_ACCEPTED = {"accepted_at": "2026-11-30T17:10:00Z", "sdr_owner": "m.okafor"}
_COLD = {"last_activity_at": "2026-10-01T00:00:00Z"}  # intent decays to 0 by December


def _at(decision: dict, *keys):
    value = decision
    for key in keys:
        value = value[key]
    return value


@pytest.mark.parametrize(("extra", "as_of", "keys", "expected"), [
    # a stop exactly at the due instant meets the SLA
    (_ACCEPTED, AS_OFS[0], ("handoffs", 0, "sla", "status"), "met"),
    # no stop: pending up to and including the due instant, breached one µs later
    ({}, _DUE, ("handoffs", 0, "sla", "status"), "pending"),
    ({}, _DUE + _ONE_US, ("handoffs", 0, "sla", "status"), "breached"),
    # escalation only once as_of is later than start + 4 business hours
    ({}, _ESCALATES, ("handoffs", 0, "escalate_to"), None),
    ({}, _ESCALATES + _ONE_US, ("handoffs", 0, "escalate_to"), "sdr-managers"),
    # `days_since(last_activity_at) > 45`: exactly 45 days is not stalled
    (_ACCEPTED, datetime(2027, 1, 14, 15, 0, tzinfo=UTC), ("stage",), "sal"),
    (_ACCEPTED, datetime(2027, 1, 14, 15, 0, tzinfo=UTC) + _ONE_US, ("stage",), "nurture"),
    # `intent < 10 and days_since(mql_at) > 30`: the keep holds the MQL until then
    (_COLD, datetime(2026, 12, 30, 15, 10, tzinfo=UTC), ("stage",), "mql"),
    (_COLD, datetime(2026, 12, 30, 15, 10, tzinfo=UTC) + _ONE_US, ("reason",),
     "MQL went cold before anyone accepted it"),
], ids=["stop-at-due-met", "at-due-pending", "after-due-breached", "at-escalation",
        "after-escalation", "45-days-kept", "45-days-and-1us-recycled", "30-days-kept",
        "30-days-and-1us-recycled"])
def test_boundaries(compiled, extra, as_of, keys, expected):
    lead = {**_BASE, **extra}
    decision = handwritten.decide(lead, from_datetime(as_of))
    assert _at(decision, *keys) == expected
    assert decision == compiled.evaluate(lead, as_of=as_of).to_dict()
