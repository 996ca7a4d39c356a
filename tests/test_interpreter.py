"""The reference interpreter, one semantic step at a time (spec section 4).

Each test loads a small policy written inline (through the real loader and
checker) and decides leads with the interpreter; expected values are worked out
by hand in the test, from the spec's rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import policy
from policy.engine.interpreter import Interpreter, rule_text

HEAD = """\
policy t "Test funnel"
version "7"
id lead_id
team mk "@t/marketing"
team sales "@t/sales"
team ae "@t/account-executives"
"""

AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday


def load(tmp_path: Path, body: str, *, schema: dict | None = None) -> policy.Policy:
    folder = tmp_path / "policy"
    folder.mkdir(exist_ok=True)
    text = HEAD + ('schema "lead.schema.json"\n' if schema else "") + body
    (folder / "p.funnel").write_text(text, "utf-8")
    if schema is not None:
        (folder / "lead.schema.json").write_text(json.dumps(schema), "utf-8")
    pol = policy.load(folder, engine="interpreter")
    assert pol.engine == "interpreter"
    return pol


def decide(pol: policy.Policy, lead: dict, at: datetime = AT) -> policy.Decision:
    return pol.evaluate({"lead_id": "L-1", **lead}, as_of=at)


TWO_STAGES = """
funnel a -> b
stage a owned by mk {
  require lead_id is present
}
stage b owned by mk {
  require ready
}
"""

# --------------------------------------------------------------------------- scores


def test_points_if_adds_when_the_condition_holds_and_missing_values_never_hold(tmp_path):
    pol = load(tmp_path, TWO_STAGES + """
score s owned by mk {
  +10 if x == "yes"
  +20 if y != "no"
  +40 if z not in ["a"]
  -80 if n + 1 > 1
}
""")
    assert decide(pol, {}).scores == {"s": 0}  # != and not in are false on missing values
    assert decide(pol, {"x": "yes"}).scores["s"] == 10
    # values of different kinds are never equal, so 5 != "no" holds
    assert decide(pol, {"y": 5, "z": "b"}).scores["s"] == 60
    assert decide(pol, {"x": "YES", "n": 1}).scores["s"] == -80  # case matters; 1 + 1 > 1
    assert decide(pol, {"n": "1"}).scores["s"] == 0  # arithmetic on text is missing


@pytest.mark.parametrize(
    ("count", "up", "down", "open_"),
    [
        (3, 15, -15, 8),  # 7.5 rounds half away from zero
        (10, 20, -20, 25),  # the cap holds both ways
        (-2, 0, 0, 0),  # a negative count counts as 0
        (None, 0, 0, 0),  # a missing count counts as 0
        ("3", 0, 0, 0),  # text is not a number
        (True, 0, 0, 0),  # nor is a boolean
        (0.4, 2, -2, 1),
    ],
)
def test_points_per_caps_and_ignores_what_is_not_a_positive_number(
    tmp_path, count, up, down, open_
):
    pol = load(tmp_path, TWO_STAGES + """
score up owned by mk {
  +5 per n up to 20
}
score down owned by mk {
  -5 per n up to 20
}
score open owned by mk {
  +2.5 per n
}
""")
    lead = {} if count is None else {"n": count}
    assert dict(decide(pol, lead).scores) == {"up": up, "down": down, "open": open_}


@pytest.mark.parametrize(
    ("n", "up", "down"),
    [(2.5, 3, -3), (0.5, 1, -1), (1.49, 1, -1), (2.4999, 2, -2), (3.5, 4, -4), (4, 4, -4)],
)
def test_scores_round_halves_away_from_zero(tmp_path, n, up, down):
    pol = load(tmp_path, TWO_STAGES + """
score up owned by mk {
  +1 per n
}
score down owned by mk {
  -1 per n
}
""")
    assert dict(decide(pol, {"n": n}).scores) == {"up": up, "down": down}


def test_range_clamps_after_rounding(tmp_path):
    pol = load(tmp_path, TWO_STAGES + """
score s owned by mk {
  +50 if a
  +60 if b
  -40 if c
  range 0 to 100
}
score signed owned by mk {
  -40 if c
  +0.5 per h
  range -10 to 10
}
""")
    assert decide(pol, {"a": True, "b": True}).scores["s"] == 100
    assert decide(pol, {"c": True}).scores["s"] == 0
    assert decide(pol, {"a": True, "c": True}).scores["s"] == 10
    assert decide(pol, {"c": True}).scores["signed"] == -10
    assert decide(pol, {"h": 21}).scores["signed"] == 10  # 10.5 rounds to 11, clamps to 10
    assert decide(pol, {"h": 19}).scores["signed"] == 10  # 9.5 rounds to 10


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        (AT - timedelta(days=10), 50),  # one half-life
        (AT - timedelta(days=20), 25),
        (AT - timedelta(days=5), 71),  # 100 × 0.5 ** 0.5 = 70.71
        (AT - timedelta(days=100), 0),  # 0.098 rounds to 0
        (AT, 100),
        (AT + timedelta(days=3), 100),  # later than as_of: no decay
        (None, 100),  # missing: no decay
    ],
)
def test_decay_halves_the_sum_every_half_life(tmp_path, since, expected):
    pol = load(tmp_path, TWO_STAGES + """
score heat owned by mk {
  +100 if hot
  decay half-life 10 days since t
}
""")
    lead = {"hot": True}
    if since is not None:
        lead["t"] = since.isoformat()
    assert decide(pol, lead).scores["heat"] == expected


def test_decay_applies_to_the_sum_before_rounding_and_range(tmp_path):
    pol = load(tmp_path, TWO_STAGES + """
score heat owned by mk {
  decay half-life 12 hours since t
  +150 if hot
  range 0 to 100
}
""")
    # 150 × 0.5 ** 0.5 = 106.07, then the range: the decay line's place does not matter
    six_hours_ago = (AT - timedelta(hours=6)).isoformat()
    assert decide(pol, {"hot": True, "t": six_hours_ago}).scores["heat"] == 100
    one_day_ago = (AT - timedelta(hours=24)).isoformat()
    assert decide(pol, {"hot": True, "t": one_day_ago}).scores["heat"] == 38  # 37.5


def test_a_score_may_use_another_declared_after_it(tmp_path):
    pol = load(tmp_path, TWO_STAGES + """
score total owned by mk {
  +1 per base
  +100 if base >= 30
}
score base owned by mk {
  +30 if vip
}
""")
    d = decide(pol, {"vip": True})
    assert list(d.scores) == ["total", "base"]  # declaration order
    assert dict(d.scores) == {"total": 130, "base": 30}


# --------------------------------------------------------------------------- gates

GATES = """
funnel a -> b -> c
score fit owned by mk {
  +1 per points
}
stage a owned by mk {
  require email is present
}
stage b owned by mk {
  require fit >= 40
  exclude competitor "competitors are never qualified"
  keep when b_at is present
}
stage c owned by mk {
  require accepted
}
"""


@pytest.mark.parametrize(
    ("lead", "reached", "next_stage", "unmet"),
    [
        # gates are cumulative: b and c would pass, but a fails first
        ({"points": 50, "accepted": True}, None, "a", ("email is present",)),
        ({"email": "x@y.com", "points": 50}, "b", "c", ("accepted",)),
        # keep when holds a lead whose score fell below the threshold
        ({"email": "x@y.com", "points": 10, "b_at": "2026-10-01"}, "b", "c", ("accepted",)),
        # an exclude beats both the requires and the keep; while the keep holds, the
        # failing require does not block the gate, so it is not listed (spec 4.6, v1.1)
        ({"email": "x@y.com", "points": 10, "b_at": "2026-10-01", "competitor": True}, "a",
         "b", ("competitors are never qualified",)),
        # without the keep, both block
        ({"email": "x@y.com", "points": 10, "competitor": True}, "a",
         "b", ("fit >= 40", "competitors are never qualified")),
        ({"email": "x@y.com", "points": 50, "competitor": True, "accepted": True}, "a", "b",
         ("competitors are never qualified",)),
        ({"email": "x@y.com", "points": 50, "accepted": True}, "c", None, None),
        # `accepted` must be boolean true: the text "true" does not hold
        ({"email": "x@y.com", "points": 50, "accepted": "true"}, "b", "c", ("accepted",)),
    ],
)
def test_gates_in_funnel_order(tmp_path, lead, reached, next_stage, unmet):
    d = decide(load(tmp_path, GATES), lead)
    assert d.reached == reached
    assert d.stage == reached
    assert d.reason is None
    if next_stage is None:
        assert d.next is None
    else:
        assert (d.next.stage, d.next.unmet) == (next_stage, unmet)


def test_next_step_lists_failing_requires_and_holding_excludes_in_source_order(tmp_path):
    pol = load(tmp_path, """
funnel a -> b
score fit owned by mk {
  +1 per points
}
stage a owned by mk {
  require lead_id is present
}
stage b owned by mk {
  require fit >= 40 "needs a fit of 40"
  exclude competitor
  require email ends with ".com"
  exclude do_not_contact "never contact"
  exclude country in ["XX", "YY"]
  require fit < 1000 "passes"
  exclude unsubscribed "does not hold"
  keep when b_at is present
}
""")
    d = decide(pol, {"email": "a@b.org", "competitor": True, "do_not_contact": True,
                     "country": "XX"})
    assert d.reached == "a"
    assert d.next.stage == "b"
    assert d.next.unmet == (
        "needs a fit of 40",
        "not competitor",
        'email ends with ".com"',
        "never contact",
        'not (country in ["XX", "YY"])',  # a compound exclude in parentheses (spec 4.6)
    )


# --------------------------------------------------------------------------- handoffs

HANDOFF = """
funnel a -> b -> c
define agreed = ["bad fit", "no budget"]
stage a owned by mk {
  require email is present
}
stage b owned by mk {
  require qualified
}
stage c owned by sales {
  require c_at is present
}
state nurture owned by mk
handoff b to sales {
  route "big" if employees >= 1000
  route "small" otherwise
  sla 2 hours from b_at until c_at, d_at
  escalate to "boss" after 3 hours
  reject to nurture with reason why in agreed
}
"""

B_AT = "2026-11-02T10:00:00Z"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_handoff_applies_only_when_its_stage_is_reached(tmp_path):
    pol = load(tmp_path, HANDOFF)
    assert decide(pol, {"email": "x@y.com"}).handoffs == ()
    d = decide(pol, {"email": "x@y.com", "qualified": True, "b_at": B_AT})
    assert [(h.stage, h.team, h.route) for h in d.handoffs] == [("b", "sales", "small")]
    d = decide(pol, {"email": "x@y.com", "qualified": True, "employees": 5000, "b_at": B_AT,
                     "c_at": "2026-11-02T11:00:00Z"})
    assert d.reached == "c"
    assert [(h.stage, h.route) for h in d.handoffs] == [("b", "big")]


@pytest.mark.parametrize(
    ("stops", "as_of", "status", "stop"),
    [
        ({"c_at": "2026-11-02T11:00:00Z"}, "2026-11-02T18:00:00Z", "met", "2026-11-02T11:00:00Z"),
        ({"c_at": "2026-11-02T12:00:00Z"}, "2026-11-02T18:00:00Z", "met", "2026-11-02T12:00:00Z"),
        ({"c_at": "2026-11-02T12:00:01Z"}, "2026-11-02T18:00:00Z", "breached",
         "2026-11-02T12:00:01Z"),
        # the earliest present stop counts
        ({"c_at": "2026-11-02T13:00:00Z", "d_at": "2026-11-02T11:30:00Z"},
         "2026-11-02T18:00:00Z", "met", "2026-11-02T11:30:00Z"),
        ({}, "2026-11-02T12:00:00Z", "pending", None),
        ({}, "2026-11-02T12:00:00.000001Z", "breached", None),
    ],
)
def test_sla_status(tmp_path, stops, as_of, status, stop):
    pol = load(tmp_path, HANDOFF)
    lead = {"email": "x@y.com", "qualified": True, "b_at": B_AT, **stops}
    d = decide(pol, lead, _at(as_of))
    sla = d.handoffs[0].sla.to_dict()
    assert sla == {"status": status, "start": B_AT, "due": "2026-11-02T12:00:00Z", "stop": stop}
    assert d.violations == ()


@pytest.mark.parametrize(
    ("as_of", "stops", "escalate_to"),
    [
        ("2026-11-02T13:00:00.000001Z", {}, "boss"),
        ("2026-11-02T13:00:00Z", {}, None),  # strictly later than start + 3 hours
        ("2026-11-03T09:00:00Z", {"d_at": "2026-11-02T14:00:00Z"}, None),  # stopped
    ],
)
def test_escalation_names_its_target_once_the_time_has_passed_without_a_stop(
    tmp_path, as_of, stops, escalate_to
):
    pol = load(tmp_path, HANDOFF)
    lead = {"email": "x@y.com", "qualified": True, "b_at": B_AT, **stops}
    assert decide(pol, lead, _at(as_of)).handoffs[0].escalate_to == escalate_to


def test_a_missing_sla_start_is_unknown_and_a_violation(tmp_path):
    pol = load(tmp_path, HANDOFF)
    d = decide(pol, {"email": "x@y.com", "qualified": True}, _at("2026-12-01T00:00:00Z"))
    h = d.handoffs[0]
    assert h.sla.to_dict() == {"status": "unknown", "start": None, "due": None, "stop": None}
    assert h.escalate_to is None  # nothing to count from
    assert [v.to_dict() for v in d.violations] == [{
        "code": "missing_sla_start",
        "message": "the SLA of the b handoff cannot start: `b_at` is missing",
    }]


def test_rejection_places_the_lead_and_flags_a_reason_outside_the_list(tmp_path):
    pol = load(tmp_path, HANDOFF)
    lead = {"email": "x@y.com", "qualified": True, "b_at": B_AT}
    d = decide(pol, {**lead, "why": "no budget"})
    assert (d.stage, d.reached, d.reason, d.violations) == ("nurture", "b", "no budget", ())
    assert (d.handoffs[0].rejected, d.handoffs[0].rejection_reason) == (True, "no budget")

    d = decide(pol, {**lead, "why": "crap"})
    assert (d.stage, d.reason) == ("nurture", "crap")
    assert [v.to_dict() for v in d.violations] == [{
        "code": "invalid_rejection_reason",
        "message": 'rejection reason "crap" is not one of the agreed reasons: '
                   '"bad fit", "no budget"',
    }]

    d = decide(pol, lead)
    assert (d.stage, d.handoffs[0].rejected, d.handoffs[0].rejection_reason) == ("b", False, None)


DEEP = """
funnel a -> b -> c
stage a owned by mk {
  require email is present
}
stage b owned by sales {
  require b_ok
}
stage c owned by ae {
  require c_ok
}
state nurture owned by mk
state lost owned by sales
handoff a to sales {
  reject to nurture with reason r1 in ["x"]
}
handoff b to ae {
  reject to lost with reason r2 in ["y"]
}
recycle a, b, c to nurture if stale "stale"
"""


@pytest.mark.parametrize(
    ("lead", "stage", "reason", "rejected"),
    [
        ({"b_ok": True, "c_ok": True, "r1": "x", "r2": "y"}, "lost", "y", [True, True]),
        ({"b_ok": True, "c_ok": True, "r1": "x"}, "nurture", "x", [True, False]),
        # the handoff at b does not apply to a lead that only reached a
        ({"r1": "x", "r2": "y"}, "nurture", "x", [True]),
        # a rejection wins over a recycle rule
        ({"b_ok": True, "r2": "y", "stale": True}, "lost", "y", [False, True]),
        ({"b_ok": True, "stale": True}, "nurture", "stale", [False, False]),
    ],
)
def test_the_deepest_rejection_places_the_lead(tmp_path, lead, stage, reason, rejected):
    d = decide(load(tmp_path, DEEP), {"email": "x@y.com", **lead})
    assert (d.stage, d.reason) == (stage, reason)
    assert [h.rejected for h in d.handoffs] == rejected


RECYCLE = """
funnel a -> b -> c
stage a owned by mk {
  require email is present
}
stage b owned by mk {
  require b_ok
}
stage c owned by mk {
  require c_ok
}
state nurture owned by mk
state lost owned by mk
recycle b to nurture if stale "first"
recycle b, c to lost if stale "second"
recycle a to lost if stale "only a"
recycle c to nurture if cold
"""


@pytest.mark.parametrize(
    ("lead", "stage", "reason"),
    [
        ({"b_ok": True, "stale": True}, "nurture", "first"),
        ({"stale": True}, "lost", "only a"),
        ({"b_ok": True, "c_ok": True, "stale": True}, "lost", "second"),
        ({"b_ok": True, "c_ok": True, "cold": True}, "nurture", None),
        ({"b_ok": True, "c_ok": True}, "c", None),
    ],
)
def test_the_first_matching_recycle_rule_for_the_reached_stage_wins(tmp_path, lead, stage,
                                                                    reason):
    d = decide(load(tmp_path, RECYCLE), {"email": "x@y.com", **lead})
    assert (d.stage, d.reason) == (stage, reason)


def test_recycling_needs_a_reached_stage(tmp_path):
    d = decide(load(tmp_path, RECYCLE), {"stale": True})
    assert (d.stage, d.reached, d.reason) == (None, None, None)


# --------------------------------------------------------------------------- business time

CALENDAR = """
calendar {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
  holidays "2026-11-10"
}
funnel a -> b
stage a owned by mk {
  require lead_id is present
}
stage b owned by sales {
  require b_at is present
}
handoff a to sales {
  sla 2 business hours from a_at until b_at
  escalate to "boss" after 1 business day
}
"""


@pytest.mark.parametrize(
    ("start", "due", "escalates_after"),
    [
        # Friday 16:00: one hour on Friday, one on Monday
        ("2026-11-06T16:00:00Z", "2026-11-09T10:00:00Z", "2026-11-09T16:00:00Z"),
        # Saturday: counting starts Monday at opening
        ("2026-11-07T12:00:00Z", "2026-11-09T11:00:00Z", "2026-11-09T17:00:00Z"),
        # Monday 16:30 before the Tuesday holiday: resumes Wednesday
        ("2026-11-09T16:30:00Z", "2026-11-11T10:30:00Z", "2026-11-11T16:30:00Z"),
    ],
)
def test_business_durations_count_only_working_time(tmp_path, start, due, escalates_after):
    pol = load(tmp_path, CALENDAR)
    lead = {"a_at": start}
    h = decide(pol, lead, _at(due)).handoffs[0]
    assert (h.sla.status, h.sla.to_dict()["due"]) == ("pending", due)
    after_due = _at(due) + timedelta(microseconds=1)
    assert decide(pol, lead, after_due).handoffs[0].sla.status == "breached"
    assert decide(pol, lead, _at(escalates_after)).handoffs[0].escalate_to is None
    late = _at(escalates_after) + timedelta(microseconds=1)
    assert decide(pol, lead, late).handoffs[0].escalate_to == "boss"


def test_a_due_time_past_the_year_9999_never_comes(tmp_path):
    pol = load(tmp_path, CALENDAR)
    h = decide(pol, {"a_at": "9999-12-31T16:00:00Z"}).handoffs[0]
    assert h.sla.to_dict() == {"status": "pending", "start": "9999-12-31T16:00:00Z",
                               "due": None, "stop": None}


# --------------------------------------------------------------------------- timestamps


def test_a_string_literal_compared_with_a_timestamp_is_an_instant(tmp_path):
    schema = {"type": "object", "properties": {
        "lead_id": {"type": "string"},
        "t": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "label": {"type": "string"},
    }}
    pol = load(tmp_path, """
funnel a -> b
stage a owned by mk {
  require t >= "2026-11-01" and "2026-11-03T00:00:00+01:00" > t
}
stage b owned by mk {
  require day == "2026-11-02T00:00:00Z" or label == "2026-11-01"
}
""", schema=schema)
    assert decide(pol, {"t": "2026-11-02T00:00:00Z"}).reached == "a"
    assert decide(pol, {"t": "2026-10-31T23:59:59Z"}).reached is None
    assert decide(pol, {"t": "2026-11-02T23:00:00Z"}).reached is None  # 23:00Z is past
    # a date is midnight UTC
    assert decide(pol, {"t": "2026-11-02T00:00:00Z", "day": "2026-11-02"}).reached == "b"
    # a field that is not a timestamp compares as text
    assert decide(pol, {"t": "2026-11-02T00:00:00Z", "label": "2026-11-01"}).reached == "b"
    assert decide(pol, {"t": "2026-11-02T00:00:00Z", "label": "2026-11-01T00:00Z"}
                  ).reached == "a"


def test_days_since_counts_fractional_days_to_as_of(tmp_path):
    pol = load(tmp_path, TWO_STAGES + """
score age owned by mk {
  +1 if days_since(t) > 1.5
  +10 if hours_since(t) >= 36
  +100 if days_since(missing_field) > 0 or days_since(missing_field) <= 0
}
""")
    assert decide(pol, {"t": "2026-11-01T00:00:00Z"}).scores["age"] == 10  # 1.5 days exactly
    assert decide(pol, {"t": "2026-11-01T00:00:00Z"}, AT + timedelta(seconds=1)
                  ).scores["age"] == 11
    assert decide(pol, {"t": "2026-10-31T23:00:00Z"}).scores["age"] == 11
    assert decide(pol, {"t": "2026-11-02T00:00:00Z"}).scores["age"] == 0


# --------------------------------------------------------------------------- trace


def test_trace_records_every_rule_with_the_values_it_read(tmp_path):
    pol = load(tmp_path, HANDOFF + """
define big = employees >= 1000
score fit owned by mk {
  +30 if big
  +2 per visits up to 10
}
""")
    lead = {"lead_id": "L-9", "email": "x@y.com", "qualified": True, "employees": 400,
            "visits": 3, "b_at": B_AT}
    assert pol.evaluate(lead, as_of=AT).trace is None  # tracing is off by default
    d = pol.trace(lead, as_of=AT)
    assert d == pol.evaluate(lead, as_of=AT)
    kinds = [(e.kind, e.owner) for e in d.trace]
    assert kinds == [
        ("score", "fit"), ("score", "fit"), ("total", "fit"),
        ("gate", "a"), ("stage", "a"), ("gate", "b"), ("stage", "b"),
        ("gate", "c"), ("stage", "c"),
        ("route", "b"), ("route", "b"), ("sla", "b"), ("escalate", "b"), ("reject", "b"),
        ("placement", None), ("next", "c"),
    ]
    first, per = d.trace[0], d.trace[1]
    # a define is read by name, with its value; its insides are not the rule's reads
    assert (first.rule, first.values, first.result, first.points) == (
        "+30 if big", (("big", False),), False, 0)
    text = (tmp_path / "policy" / "p.funnel").read_text("utf-8")
    line = text.splitlines().index("  +30 if big") + 1
    file, at_line, _column = first.at.rsplit(":", 2)
    assert (Path(file).name, int(at_line)) == ("p.funnel", line)
    assert (per.rule, per.values, per.points) == ("+2 per visits up to 10", (("visits", 3),), 6)
    route = d.trace[9]
    assert (route.rule, route.values, route.result) == (
        'route "big" if employees >= 1000', (("employees", 400),), False)
    otherwise = d.trace[10]
    assert (otherwise.rule, otherwise.values, otherwise.result) == (
        'route "small" otherwise', (), True)
    sla = d.trace[11]
    # instants are shown as timestamps
    assert sla.values == (("b_at", B_AT), ("c_at", None), ("d_at", None))
    assert sla.result == {"status": "pending", "start": B_AT, "due": "2026-11-02T12:00:00Z",
                          "stop": None}
    assert d.trace[-1].result == ["c_at is present"]
    as_json = d.to_dict()["trace"]
    assert as_json[0] == {"kind": "score", "owner": "fit", "rule": "+30 if big",
                          "at": first.at, "values": {"big": False}, "result": False,
                          "points": 0}


def test_the_interpreter_runs_on_prepared_leads_without_the_api(tmp_path):
    pol = load(tmp_path, HANDOFF)
    engine = Interpreter(pol.model, pol.info)
    lead = {"lead_id": "L-2", "email": "x@y.com", "qualified": True}
    ts = tuple(None for _ in pol.model.timestamp_order)
    as_of = 1_793_620_800_000_000  # 2026-11-02T12:00:00Z
    d = engine.run(lead, ts, as_of)
    assert (d.lead, d.reached, d.as_of_us, d.policy) == ("L-2", "b", as_of, pol.info)
    assert d.handoffs[0].sla.status == "unknown"


def test_rule_text_reads_as_the_policy_does(tmp_path):
    pol = load(tmp_path, HANDOFF)
    handoff = pol.model.handoffs[0]
    assert [rule_text(item) for item in handoff.items] == [
        'route "big" if employees >= 1000',
        'route "small" otherwise',
        "sla 2 hours from b_at until c_at, d_at",
        'escalate to "boss" after 3 hours',
        "reject to nurture with reason why in agreed",
    ]
