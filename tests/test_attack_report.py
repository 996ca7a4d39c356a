"""`funnel report` end to end against the independent count, on policies and leads
built to stress section 11's "Precisely" paragraph.

``tests/test_report.py`` checks the report's figures as ``build_report`` computes them
from facts the tests write. Here the command itself runs (the python engine's JSON Lines
path with one and two workers, and DuckDB) on two policies the tiny one does not cover:
named calendars (a route on another calendar, a handoff ``calendar`` line, an SLA in
wall-clock hours with no calendar at all), a handoff without routes, two handoffs that
reject with the same field and different lists, an empty reason list, a score with a
negative ``range``, fractional points, a score no gate compares, thresholds through
defines and on either side of a comparison, velocity across a stage without
``entered at``; and leads with every timestamp form (and forms that must not parse),
reasons that are numbers or empty text, ``--by`` values of every JSON type and
``--cohort`` dates from year 1 to 9999.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import report_reference as ref
from click.testing import CliRunner
from funnel_cli.main import main
from test_report import _approx  # floats to 9 places, as the unit tests compare them

import policy
from policy.engine.timestamps import parse_timestamp, to_datetime

AS_OF = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
AS_OF_TEXT = "2026-12-01T16:00:00Z"

WIDE = '''policy wide "Wide | `x` <script>"
id lead_id
team m "@m"
team s "@s"
calendar {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
calendar emea {
  timezone "Europe/London"
  workdays mon tue wed thu fri
  hours 08:30 to 17:30
}
funnel lead -> mql -> sal -> won
define lim = 40
define hot = fit > lim
define f2 = fit
score fit owned by m {
  +10 per visits up to 60
  -20 if bad
  range -30 to 55
}
score raw owned by m {
  +1.5 per clicks
  -3 if neg
}
score unused owned by m {
  +3 if x
}
stage lead owned by m {
  entered at created_at
  require email is present
}
stage mql owned by m {
  entered at mql_at
  require hot
  require raw >= 2 and 9 >= raw
  exclude f2 == 25
}
stage sal owned by s {
  require accepted_at is present
}
stage won owned by s {
  entered at won_at
  require won_at is present
}
state nurture owned by m
state dq owned by m
handoff mql to s {
  route "eu" if region == "eu" on emea
  route "us" otherwise
  sla 2 business hours from mql_at until accepted_at, rejected_at
  escalate to "boss" after 3 business hours
  reject to nurture with reason rejection_reason in ["a", "b"]
}
handoff won to m {
  route "x" otherwise
}
recycle sal to dq if lost
recycle lead to nurture if unsub "unsub"
'''
WIDE_THRESHOLDS = {"fit": [25, 40], "raw": [2, 9], "unused": []}

SPARSE = '''policy sparse "Sparse"
id lead_id
team m "@m"
team s "@s"
calendar apac {
  timezone "Asia/Kolkata"
  workdays mon tue wed thu fri sat
  hours 10:00 to 14:30
}
calendar emea {
  timezone "Europe/London"
  workdays mon tue wed thu fri
  hours 08:30 to 17:30
  holidays "2026-11-10"
}
funnel lead -> mql -> sal
score fit owned by m {
  +10 per visits up to 200
  -7 per clicks
}
stage lead owned by m {
  entered at created_at
  require email is present
}
stage mql owned by m {
  require fit >= -5
  exclude -20 > fit
}
stage sal owned by s {
  entered at accepted_at
  require accepted_at is present
}
state nurture owned by m
handoff lead to m {
  calendar apac
  route "eu" if region == "eu" on emea
  route "ap" otherwise
  sla 3 business hours from created_at until mql_at, rejected_at
  reject to nurture with reason rejection_reason in []
}
handoff mql to s {
  reject to nurture with reason rejection_reason in ["a"]
}
handoff sal to m {
  route "only" otherwise
  sla 2 hours from accepted_at until won_at
  escalate to "z" after 2 hours
}
recycle lead, mql to nurture if lost
'''
SPARSE_THRESHOLDS = {"fit": [-20, -5]}

MODES = [("--engine", "python", "--jobs", "1"), ("--engine", "python", "--jobs", "2"),
         ("--engine", "duckdb")]


def _instant(value):
    """An ``entered at`` / cohort value as the language reads a timestamp (section 3's
    precise points: RFC 3339 with its leniencies, or a date); anything else is missing."""
    if not isinstance(value, str):
        return None
    us = parse_timestamp(value, kind="any")
    return None if us is None else to_datetime(us)


def _stamp(rng: random.Random, base: datetime):
    t = base + timedelta(minutes=rng.randrange(-60 * 24 * 3, 60 * 24 * 40))
    u = rng.random()
    if u < 0.7:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if u < 0.8:
        return t.strftime("%Y-%m-%d %H:%M")
    if u < 0.85:
        return t.strftime("%Y-%m-%dT%H:%M:%S.1234567+0130")
    if u < 0.9:  # forms that are no timestamp (or only a date)
        return rng.choice(["2026-W40-1", "2026-280", "20261005", "2026-10-05T24:00:00Z",
                           "nope", 5, True, "2026-10-05"])
    return t.strftime("%Y-%m-%dt%H:%M:%Sz")


def _lead(rng: random.Random, i: int):
    base = datetime(2026, 10, 5, 13, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 60))
    lead: dict = {"lead_id": f"L{i}"}

    def maybe(key, value, p=0.8):
        if rng.random() < p:
            lead[key] = value

    maybe("email", "x@y")
    maybe("visits", rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 2.5, -1]))
    maybe("clicks", rng.choice(range(9)))
    maybe("bad", rng.choice([True, False]), 0.3)
    maybe("neg", True, 0.1)
    maybe("created_at", _stamp(rng, base))
    maybe("mql_at", _stamp(rng, base), 0.7)
    maybe("accepted_at", _stamp(rng, base), 0.4)
    maybe("rejected_at", _stamp(rng, base), 0.2)
    maybe("rejection_reason", rng.choice(["a", "b", "c", "", 0, 1.5, None, "a|b"]), 0.3)
    maybe("won_at", _stamp(rng, base), 0.3)
    maybe("region", rng.choice(["eu", "us", "eu"]), 0.7)
    maybe("lost", True, 0.1)
    maybe("unsub", True, 0.05)
    maybe("src", rng.choice(["web", 1, 1.0, True, None, [1, 2], {"a": 1}, {"a": {"b": 2}},
                             "x", "y", 2e20]), 0.9)
    maybe("cdate", rng.choice(["0999-12-31", "9999-12-31T23:59:59Z", "2020-12-31",
                               "2021-01-03", "2021-01-04T00:00:00+01:00", "0001-01-01",
                               None, 3]), 0.9)
    if rng.random() < 0.03:
        return rng.choice([["x"], {"email": "no id"},
                           {"lead_id": "bad", "created_at": "x", "visits": "many"}])
    return lead


def _same(got: dict, want: dict, where: str) -> None:
    for key, value in want.items():
        # key order is part of what dashboards read (counts first, ties by key)
        assert json.dumps(_approx(got[key])) == json.dumps(_approx(value)), f"{where}{key}"


@pytest.fixture(autouse=True)
def _spec_timestamps(monkeypatch):
    monkeypatch.setattr(ref, "instant", _instant)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: "-".join(m[1:]))
@pytest.mark.parametrize("case", [
    ("wide", WIDE, WIDE_THRESHOLDS, 1, ("--by", "src", "--cohort", "cdate", "--period", "week")),
    ("wide", WIDE, WIDE_THRESHOLDS, 2, ("--period", "quarter")),
    ("sparse", SPARSE, SPARSE_THRESHOLDS, 3, ("--by", "region")),
    ("sparse", SPARSE, SPARSE_THRESHOLDS, 4, ("--by", "cdate", "--cohort", "cdate",
                                              "--period", "month")),
], ids=lambda c: f"{c[0]}-{c[3]}")
def test_the_command_matches_the_independent_count(tmp_path: Path, case, mode):
    _, text, thresholds, seed, args = case
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "p.funnel").write_text(text)
    rng = random.Random(seed)
    leads = [_lead(rng, i) for i in range(250)]
    path = tmp_path / "leads.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in leads))
    result = CliRunner().invoke(main, ["report", str(tmp_path / "p"), str(path), "--as-of",
                                       AS_OF_TEXT, "--format", "json", *mode, *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    pol = policy.load(tmp_path / "p")
    items = ref.decide(pol, leads, AS_OF)
    opts = dict(zip(args[::2], args[1::2], strict=True))
    cohort = tuple(opts["--cohort"].split(".")) if "--cohort" in opts else None
    period = opts.get("--period", "month")
    _same(got, ref.figures(pol, items, cohort=cohort, period=period,
                           thresholds=thresholds), "")
    if "--by" in opts:
        groups = ref.by_groups(items, (opts["--by"],))
        assert list(got["by"]) == list(groups)
        for key, members in groups.items():
            _same(got["by"][key], ref.figures(pol, members, cohort=cohort, period=period,
                                              thresholds=thresholds), f"by[{key}].")
    # the data really reaches what the case is about
    assert got["refused"]["count"] > 0
    assert any(v["negative"] for v in got["velocity"]) or not got["velocity"]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize(("bounds", "bins"), [
    ("10 to 10", [(10, 5)]), ("0 to 0", [(0, 5)]), ("-10 to -10", [(-10, 5)]),
    ("-20 to 0", [(-20, 0), (-10, 5)]), ("20 to 40", [(20, 4), (30, 1)]),
    ("5 to 5", [(0, 5)]),
])
def test_a_range_of_one_value_keeps_its_leads_in_the_histogram(tmp_path, engine, bounds,
                                                               bins):
    # Before: with `range 10 to 10` every lead scores 10, and the report counted them in
    # the bin below a maximum on an edge ([0, 10]), which lies below the range and is not
    # shown: the histogram was [10, 20) with 0 leads of 5.
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "p.funnel").write_text(
        'policy r "R"\nteam m "@m"\nfunnel lead\nscore fit owned by m {\n'
        f"  +10 per visits\n  range {bounds}\n}}\n"
        "stage lead owned by m {\n  require visits is present\n}\n")
    leads = [{"visits": v} for v in (1, 0, -3, 3, 2)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in leads))
    result = CliRunner().invoke(main, ["report", str(tmp_path / "p"), str(path), "--as-of",
                                       AS_OF_TEXT, "--format", "json", "--engine", engine],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)["scores"]["fit"]["histogram"]
    assert [(b["from"], b["count"]) for b in got] == bins
    pol = policy.load(tmp_path / "p")
    want = ref.figures(pol, ref.decide(pol, leads, AS_OF))["scores"]["fit"]["histogram"]
    assert got == want


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_handoff_without_routes_has_its_none_route_in_every_report(tmp_path, engine):
    # Before: the route `(none)` of a handoff without `route` lines was there only when
    # some lead reached the handoff, so its key came and went with the data (a `by`
    # group whose leads stop earlier had `"routes": {}` where the others had `(none)`),
    # unlike a declared route, which is always there.
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "p.funnel").write_text(SPARSE)
    leads = [{"lead_id": "a", "email": "x", "visits": 1, "region": "eu"},  # reaches mql
             {"lead_id": "b", "visits": 1, "region": "us"}]  # reaches no stage
    path = tmp_path / "l.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in leads))
    result = CliRunner().invoke(main, ["report", str(tmp_path / "p"), str(path), "--as-of",
                                       AS_OF_TEXT, "--format", "json", "--engine", engine,
                                       "--by", "region"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    zero = {"leads": 0, "sla": {"met": 0, "breached": 0, "pending": 0, "unknown": 0},
            "compliance": None, "response_business_hours": None, "escalated": 0}
    assert got["handoffs"][1]["stage"] == "mql"
    assert got["handoffs"][1]["routes"] == {"(none)": {**zero, "leads": 1}}
    assert got["by"]["eu"]["handoffs"][1]["routes"] == {"(none)": {**zero, "leads": 1}}
    assert got["by"]["us"]["handoffs"][1]["routes"] == {"(none)": zero}
