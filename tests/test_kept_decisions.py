"""Kept decisions (``policy.engine.compile_placement``): ``decide`` returns a decision
it built before when the scores, the gates' exit, the handoffs' routes and ``as_of``
are the same, and only for policies whose decision depends on nothing else.

A kept decision that belonged to another path would be a wrong decision, so the
property below decides batches of generated leads at two instants, against the
reference path, through one policy whose kept decisions live across examples.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import json
import linecache
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_decide import _SETTINGS, _VALID, leads, schemas

import policy
from policy.api import as_of_instant
from policy.engine import runtime
from policy.engine.decision import LeadError, dumps

AT = as_of_instant(datetime.datetime.fromisoformat("2026-12-01T16:00:00+00:00"))
LATER = AT + 86_400_000_000

#: test_decide's policy without what a kept decision cannot hold: no lead id, handoffs
#: without an SLA; gates of up to four lines, two handoffs of two and three routes.
POLICY = """policy kept "Kept decisions"
version "1"
schema "lead.schema.json"
team sales "@g/sales"
funnel lead -> mql -> sal -> sql
score s "S" owned by sales {
  +1 if a == "x"
  +2 if b >= 3
  +4 if c
  +8 if d.e >= 1
  +16 if d.f == "y"
  +32 if g contains "x"
  +64 if t is present
}
score u "Typed forms" owned by sales {
  +1 if a in ["x", "y"]
  +3 per b up to 7
  -5 if not c
  +10 if d.f in ["y", "z"]
  +40 if b != 1
}
stage lead "L" owned by sales {
  require s >= 0
}
stage mql "M" owned by sales {
  require s >= 4
  exclude a == "q"
}
stage sal "A" owned by sales {
  require u >= 10
  require b >= 1
  require a is present
}
stage sql "Q" owned by sales {
  require u >= 20
  require b >= 2
  require d.e is present
  exclude d.f == "z"
}
handoff mql to sales {
  route "hot" if u >= 30
  route "warm" if b >= 2
  route "cold" otherwise
}
handoff sal to sales {
  route "big" if d.e >= 2
  route "small" otherwise
}
"""


@functools.lru_cache(maxsize=64)
def _policy(schema_json: str, text: str = POLICY) -> policy.Policy:
    with tempfile.TemporaryDirectory(prefix="kept-") as tmp:
        folder = Path(tmp)
        (folder / "lead.schema.json").write_text(schema_json, "utf-8")
        (folder / "g.funnel").write_text(text, "utf-8")
        return policy.load(folder, engine="compiled")


def _decide_source(pol: policy.Policy) -> str:
    return "".join(linecache.getlines(pol._decide.__code__.co_filename)).split(
        "def decide(")[1]


def _sound(pol: policy.Policy, lead: object, at: int) -> bool:
    mine = pol._decide(lead, at)
    if mine is None:
        return False
    try:
        theirs = pol.run_prepared(lead, pol.prepare(lead), at)
    except LeadError:
        theirs = None
    assert theirs is not None, f"decide decided a lead the reference path refuses: {lead!r}"
    assert mine == theirs and dumps(mine) == dumps(theirs), (lead, at)
    assert mine.as_of_us == at
    return True


@st.composite
def kept_leads(draw) -> dict:
    """test_decide's leads, and often a ``d`` whose ``e`` the scores see only as ``>= 1``
    while a route tests ``>= 2``: leads with equal scores on different paths."""
    lead = draw(leads())
    if draw(st.integers(0, 2)):
        lead["d"] = {"e": draw(st.integers(0, 3)), "f": draw(st.sampled_from(["y", "z", None]))}
    return lead


@_SETTINGS
@given(schema=schemas(), batch=st.lists(kept_leads(), min_size=4, max_size=24),
       instants=st.lists(st.sampled_from([AT, LATER]), min_size=24, max_size=24))
def test_kept_decisions_are_the_reference_paths_decisions(schema, batch, instants):
    pol = _policy(json.dumps(schema))
    for lead, at in zip(batch, instants, strict=False):
        _sound(pol, lead, at)
        _sound(pol, lead, at)  # again: now from the kept ones, when kept


#: A schema under which POLICY keeps its decisions (every score an int: `b` is one).
SCHEMA = {"type": "object", "required": list(_VALID), "properties": {
    "a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "boolean"},
    "d": {"type": "object", "properties": {"e": {"type": "integer"},
                                           "f": {"type": ["string", "null"]}}},
    "g": {"type": "array", "items": {"type": "string"}},
    "t": {"type": ["string", "null"], "format": "date-time"}}}


def test_a_policy_that_qualifies_keeps_its_decisions():
    pol = _policy(json.dumps(SCHEMA))
    source = _decide_source(pol)
    assert "decision_kept(" in source and "pk = " in source
    first = pol._decide(dict(_VALID), AT)
    again = pol._decide(json.loads(json.dumps(_VALID)), AT)
    assert first is again  # the same value, kept
    later = pol.evaluate(dict(_VALID), as_of=datetime.datetime.fromtimestamp(
        LATER / 1e6, datetime.UTC))
    assert later is not first and later.as_of_us == LATER
    assert dumps(later).replace("2026-12-02", "2026-12-01") == dumps(first)
    # every exit and route of the gates and handoffs: each decided as the reference does
    for lead in ({**_VALID, "b": 1}, {**_VALID, "c": False}, {**_VALID, "c": False, "b": 2},
                 {**_VALID, "c": False, "b": 2, "d": {"e": 3, "f": "y"}},
                 {**_VALID, "c": False, "b": 2, "d": {"e": 3, "f": "z"}},
                 {**_VALID, "c": False, "b": 5, "d": {"e": 0}}, {**_VALID, "t": None},
                 {**_VALID, "c": False, "b": 0, "a": "q"}, {**_VALID, "g": []}):
        for at in (AT, LATER, AT):
            assert _sound(pol, lead, at)


def test_a_grid_of_leads_on_every_path_is_decided_as_the_reference_path_does():
    """Leads with equal scores on different paths (``d.e`` of 1 and 2 add the same
    points, and take different routes), each decided twice at two instants."""
    pol = _policy(json.dumps(SCHEMA), POLICY.replace("policy kept", "policy grid"))
    decided = set()
    for a, b, c, e, f, t in itertools.product(
            ["x", "y", "q"], [0, 1, 2, 3, 5], [True, False], [None, 0, 1, 2, 3],
            ["y", "z", None], [_VALID["t"], None]):
        d = {"f": f} if e is None else {"e": e, "f": f}
        lead = {**_VALID, "a": a, "b": b, "c": c, "d": d, "t": t}
        for at in (AT, LATER, AT, LATER):
            assert _sound(pol, lead, at)
        decision = pol._decide(lead, AT)
        decided.add((decision.stage, tuple(h.route for h in decision.handoffs)))
    assert len(decided) >= 8  # the grid reaches most stages and routes


def test_the_kept_decisions_are_bounded(monkeypatch):
    monkeypatch.setattr(runtime, "DECISIONS_KEPT", 2)
    pol = _policy(json.dumps(SCHEMA), POLICY.replace("policy kept", "policy bounded"))
    kept = next(v for k, v in pol._decide.__globals__.items() if k.startswith("DECISIONS"))
    for b in (0, 1, 2, 3, 4, 5, 0, 1):
        assert _sound(pol, {**_VALID, "b": b}, AT)
        assert 1 <= len(kept) <= 2


@pytest.mark.parametrize("change", [
    ("schema \"lead.schema.json\"\n", "schema \"lead.schema.json\"\nid a\n"),  # a lead id
    ("  route \"small\" otherwise\n",
     "  route \"small\" otherwise\n  sla 2 hours from t until t\n"),  # an SLA
    ("  +40 if b != 1\n", "  +40 if b != 1\n  +0.5 if c\n"),  # a score not surely an int
    ("  exclude d.f == \"z\"\n", "  exclude d.f == \"z\"\n  exclude a == \"q\"\n"),  # 5 lines
])
def test_a_decision_that_depends_on_more_is_not_kept(change):
    text = POLICY.replace(*change)
    assert text != POLICY
    pol = _policy(json.dumps(SCHEMA), text)
    assert "decision_kept(" not in _decide_source(pol)
    assert _sound(pol, dict(_VALID), AT)
