"""The precise points of spec v1.1 (section 3, "Precise points", and section 4 step 6),
each decided by both engines through the public API.

Each test states the rule it checks; the policies are small and written for the point.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import policy
from policy.engine.timestamps import format_timestamp, parse_timestamp
from policy.model.schema import format_path

AS_OF = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
ENGINES = ("interpreter", "compiled")

HEAD = """policy p "precise points"
team mk "@mk"
"""


def load(tmp_path: Path, text: str, engine: str, **files: str) -> policy.Policy:
    (tmp_path / "p.funnel").write_text(HEAD + text, encoding="utf-8")
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    return policy.load(tmp_path, engine=engine)


# --------------------------------------------------------------------------- next.unmet

UNMET = """funnel a -> b
stage a owned by mk {
  require email is present
}
stage b owned by mk {
  require fit_ok "fit too low"
  exclude competitor or partner
  require demo_requested
  exclude do_not_contact
  exclude domain(email) == "rival.com"
  keep when b_at is present
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_next_unmet_drops_failing_requires_while_keep_when_holds(tmp_path, engine):
    pol = load(tmp_path, UNMET, engine)
    lead = {"email": "a@rival.com", "partner": True, "do_not_contact": True}
    d = pol.evaluate(lead, as_of=AS_OF)
    # without the keep: every failing require and every holding exclude, in source order;
    # a compound exclude in parentheses, a single name or call without
    assert d.next.unmet == ("fit too low", "not (competitor or partner)", "demo_requested",
                            "not do_not_contact", 'not (domain(email) == "rival.com")')
    kept = pol.evaluate({**lead, "b_at": "2026-11-30T10:00:00Z"}, as_of=AS_OF)
    # the excludes still block the gate; the failing requires no longer do
    assert kept.next.unmet == ("not (competitor or partner)", "not do_not_contact",
                               'not (domain(email) == "rival.com")')


# --------------------------------------------------------------------------- arithmetic

ARITH = """funnel a
define ratio = won / opportunities
stage a owned by mk {
  require ratio is missing "no ratio"
  require won / 0 is missing
  require (won / 0) + 1 is missing
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_division_by_zero_is_missing(tmp_path, engine):
    pol = load(tmp_path, ARITH, engine)
    assert pol.evaluate({"won": 3, "opportunities": 0}, as_of=AS_OF).reached == "a"
    d = pol.evaluate({"won": 3, "opportunities": 4}, as_of=AS_OF)
    assert d.reached is None and d.next.unmet == ("no ratio",)


SINCE = """funnel a -> b
stage a owned by mk {
  require days_since(meeting_at) < 0 "the meeting is ahead"
  require hours_since(meeting_at) == -36
}
stage b owned by mk {
  require days_since(meeting_at) == -1.5
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_days_since_of_a_later_instant_is_negative(tmp_path, engine):
    pol = load(tmp_path, SINCE, engine)
    d = pol.evaluate({"meeting_at": "2026-12-03T04:00:00Z"}, as_of=AS_OF)
    assert d.reached == "b"


# --------------------------------------------------------------------------- case

CASE = """funnel a -> b -> c -> d
stage a owned by mk {
  require name contains "STRASSE" "lower() keeps ß: no match is expected here"
}
stage b owned by mk {
  require city starts with "i"
}
stage c owned by mk {
  require tags contains ["VIP", "Partner"]
}
stage d owned by mk {
  require title ends with "ΣΟΣ"
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_ignoring_case_is_python_lower_on_both_sides(tmp_path, engine):
    pol = load(tmp_path, CASE, engine)
    # casefold() would make "Straße" contain "strasse"; lower() does not
    d = pol.evaluate({"name": "Straße"}, as_of=AS_OF)
    assert d.reached is None
    lead = {"name": "HAUPTSTRASSE 1", "city": "İstanbul", "tags": ["vip"], "title": "κόσμος"}
    # "İ".lower() is "i̇" (i + combining dot): it starts with "i"; list elements are
    # lower-cased too; final sigma: "ΣΟΣ".lower() is "σοσ", which "κόσμος" does not end with
    d = pol.evaluate(lead, as_of=AS_OF)
    assert d.reached == "c"
    assert pol.evaluate({**lead, "title": "ΧΑΟΣ ΣΟΣ"}, as_of=AS_OF).reached == "d"


# --------------------------------------------------------------------------- scores

SCORES = """funnel a
score s owned by mk {
  +2.5 if vip
  +0.5 per visits up to 1.5
  -0.25 per bounces
  range -10 to -1
}
score t owned by mk {
  +1.5 per visits up to 2.5
  range -3 to 3
}
stage a owned by mk {
  require s >= -10
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_fractional_points_and_negative_range_bounds(tmp_path, engine):
    pol = load(tmp_path, SCORES, engine)
    assert not [d for d in pol.diagnostics if d.is_error]
    # s: 2.5 + min(0.5 x 5, 1.5) - 0.25 x 2 = 3.5 -> clamped to -1
    d = pol.evaluate({"vip": True, "visits": 5, "bounces": 2}, as_of=AS_OF)
    assert d.scores == {"s": -1, "t": 3}
    # s: -0.25 x 50 = -12.5 -> rounds to -13 (halves away from zero) -> clamped to -10
    # t: 1.5 x 1 = 1.5 -> 2
    d = pol.evaluate({"visits": 1, "bounces": 50}, as_of=AS_OF)
    assert d.scores == {"s": -10, "t": 2}
    # s: -0.25 x 10 = -2.5 -> -3; t: 0
    assert pol.evaluate({"bounces": 10}, as_of=AS_OF).scores == {"s": -3, "t": 0}


# --------------------------------------------------------------------------- business days

DST = """funnel a
calendar {
  timezone "Europe/Berlin"
  workdays mon tue wed thu fri sat sun
  hours 01:00 to 03:00
}
stage a owned by mk {
  require email is present
}
handoff a to mk {
  route "all" otherwise
  sla 1 business day from start_at until stop_at
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_business_day_is_the_nominal_daily_hours_across_dst(tmp_path, engine):
    pol = load(tmp_path, DST, engine)
    # Sunday 2026-03-29: clocks jump 02:00 -> 03:00, so that day's hours hold one real
    # hour (00:00Z-01:00Z). A business day is still 2 hours (03:00 - 01:00): one hour
    # that Sunday, the other on Monday from 01:00 CEST (23:00Z Sunday) -> due 00:00Z.
    d = pol.evaluate({"email": "a@b.c", "start_at": "2026-03-28T23:30:00Z"}, as_of=AS_OF)
    assert format_timestamp(d.handoffs[0].sla.due_us) == "2026-03-30T00:00:00Z"
    # Sunday 2026-10-25: clocks go back 03:00 -> 02:00, the day holds three real hours
    # (00:00Z-03:00Z CEST/CET); one business day (2 hours) ends two real hours in.
    d = pol.evaluate({"email": "a@b.c", "start_at": "2026-10-24T22:00:00Z"}, as_of=AS_OF)
    assert format_timestamp(d.handoffs[0].sla.due_us) == "2026-10-25T01:00:00Z"


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-02T15:00:00Z", "2026-11-02T15:00:00Z"),
    ("2026-11-02t15:00:00z", "2026-11-02T15:00:00Z"),
    ("2026-11-02 15:00", "2026-11-02T15:00:00Z"),
    ("2026-11-02T16:00+01", "2026-11-02T15:00:00Z"),
    ("2026-11-02T10:30-0430", "2026-11-02T15:00:00Z"),
    ("2026-11-02T15:00:00.1234567891Z", "2026-11-02T15:00:00.123456Z"),
    ("2026-11-02T15:00:00.9999999", "2026-11-02T15:00:00.999999Z"),
])
def test_timestamp_spellings_that_parse(text, expected):
    assert format_timestamp(parse_timestamp(text)) == expected


@pytest.mark.parametrize("text", [
    "2026-11-02T24:00:00Z", "2026-11-02T23:59:60Z", "2026-W45-1T15:00:00Z",
    "2026-306T15:00:00Z", "2026-11-02T15:00:00,5Z", "2026-11-02T15Z", "2026-11-02T15:00:00 Z",
    "2026-11-02T15:00:00+1", "2026-11-02T15:00:00GMT", "20261102T150000Z",
])
def test_timestamp_spellings_that_do_not_parse(text):
    assert parse_timestamp(text) is None
    assert parse_timestamp(text, kind="any") is None


def test_a_date_field_is_midnight_utc_and_nothing_else():
    assert format_timestamp(parse_timestamp("2026-11-02", kind="date")) == "2026-11-02T00:00:00Z"
    assert parse_timestamp("2026-11-02T00:00:00Z", kind="date") is None


# --------------------------------------------------------------------------- problem paths


@pytest.mark.parametrize(("path", "shown"), [
    (("company", "employees"), "company.employees"),
    (("Lead_Source__c",), "Lead_Source__c"),
    (("company", "annual revenue"), "company.`annual revenue`"),
    (("not",), "`not`"),
    (("crm", "in"), "crm.`in`"),
    (("1st_touch",), "`1st_touch`"),
    (("prénom",), "prénom"),  # letters of any script (spec section 1)
    (("company", "1st_touch"), "company.1st_touch"),  # a digit first only after a dot
    (("tags", 2), "tags[2]"),
    (("entered", "on", "lines", "default"), "entered.on.lines.default"),
])
def test_problem_paths_are_written_as_the_language_writes_fields(path, shown):
    assert format_path(path) == shown


SCHEMA = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["annual revenue", "not"],
  "properties": {
    "annual revenue": {"type": "number"},
    "not": {"type": "boolean"},
    "company": {"type": "object", "properties": {"1st touch": {"type": "string"}}}
  }
}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_refused_leads_name_their_paths_in_the_language(tmp_path, engine):
    pol = load(tmp_path, 'schema "s.json"\nfunnel a\nstage a owned by mk {\n'
               "  require `not`\n}\n", engine, **{"s.json": SCHEMA})
    with pytest.raises(policy.LeadError) as caught:
        pol.evaluate({"company": {"1st touch": 5}}, as_of=AS_OF)
    paths = [p.path for p in caught.value.problems]
    assert paths == ["`annual revenue`", "`not`", "company.`1st touch`"]
