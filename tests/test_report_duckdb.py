"""`funnel report --engine duckdb`: the figures computed inside DuckDB from the engine's
tabular rows (``policy/report/sqlfacts.py``) are the python engine's, byte for byte.

Each test runs both engines on the same leads and compares the JSON text; the
independent plain-Python count (``tests/report_reference.py``) checks the DuckDB figures
directly too, including business time on two calendars across daylight-saving changes
and holidays, and ``--by`` values that are numbers, lists and hostile text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import report_reference as ref
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_report import AS_OF, AS_OF_TEXT, RULES, TINY, TINY_THRESHOLDS, assert_figures, tiny_leads

import policy
from policy.engine.timestamps import from_datetime
from policy.report.build import (
    build_report,
    duckdb_engine_available,
    field_option,
    report_with_duckdb,
)
from policy.report.render import to_json

pytestmark = pytest.mark.skipif(not duckdb_engine_available(),
                                reason="no DuckDB engine in this installation")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def both(policy_path, leads, *options) -> tuple[str, str]:
    """The JSON report of each engine (after checking both exit 0)."""
    outs = []
    for engine in ("python", "duckdb"):
        result = run("report", policy_path, leads, "--as-of", AS_OF_TEXT, "--format", "json",
                     "--engine", engine, "--jobs", "1", *options)
        assert result.exit_code == 0, result.output
        outs.append(result.stdout)
    return outs[0], outs[1]


def hostile_jsonl(path: Path, count: int = 240, seed: int = 5) -> Path:
    """The tiny policy's leads plus lines a real export has: not JSON, NaN, a blank line,
    an array, bytes that are not UTF-8, a number and a list as `--by` values."""
    leads = tiny_leads(count, seed)
    for i, lead in enumerate(leads):
        if isinstance(lead, dict) and i % 7 == 0:
            lead["tags"] = ["x", i % 3] if i % 2 else {"k": 1.5, "é": None}
    with open(path, "wb") as f:
        for lead in leads:
            f.write(json.dumps(lead, ensure_ascii=False).encode() + b"\n")
        f.write(b'not json\n{"lead_id": "n", "email": NaN}\n\n[1, 2]\n')
        f.write(b'{"lead_id": "u", "source": "caf\xe9"}\n')
        f.write(b'{"lead_id": "z", "email": "a", "source": 100.0, "tags": 1e2}\r\n')
        f.write(b'{"lead_id": "y", "email": "a", "source": null, "created_at": "2026-10-04"}\n')
        # (session 12) JSON the python reader refuses at a field: beyond a double's range
        f.write(b'{"lead_id": "w", "email": "a", "source": 1E400, "tags": [-1e999]}\n')
    return path


@pytest.fixture(scope="module")
def tiny() -> policy.Policy:
    return policy.load(TINY)


@pytest.mark.parametrize("options", [
    (),
    ("--by", "source"),
    ("--by", "tags", "--cohort", "mql_at", "--period", "week"),
    ("--by", "employees", "--period", "quarter"),
])
def test_jsonl_gives_the_python_engines_report(tmp_path, options):
    leads = hostile_jsonl(tmp_path / "leads.jsonl")
    python, duck = both(TINY, leads, *options)
    assert python == duck
    data = json.loads(duck)
    assert data["refused"]["count"] >= 6 and data["handoffs"][0]["rejections"]["off_list"]


def test_csv_and_json_arrays_give_the_python_engines_report(tmp_path):
    rows = ["lead_id,email,source,employees,visits,mql_at,accepted_at,rejection_reason,"
            "rejected_at,created_at"]
    start = datetime(2026, 10, 5, 13, tzinfo=UTC)
    for i in range(120):
        mql = start + timedelta(hours=7 * i)
        acc = mql + timedelta(minutes=37 * (i % 11) - 60)
        rejected = i % 5 == 0
        rows.append(",".join([
            f"C{i}", "a@b.c" if i % 9 else "", ["web", "ads", "x,y"][i % 3].join('""')
            if i % 3 == 2 else ["web", "ads"][i % 2], str([10, 200, 5000][i % 3]),
            str(i % 6), mql.isoformat(), "" if rejected else acc.isoformat(),
            ["not a fit", "spam", "Not A Fit"][i % 3] if rejected else "",
            (mql + timedelta(hours=3)).isoformat() if rejected else "",
            "bad" if i == 17 else (mql - timedelta(days=i % 4)).isoformat()]))
    rows.append("C999,x,web,many,1,,,,,")  # refused by the schema while reading
    csv = tmp_path / "leads.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    python, duck = both(TINY, csv, "--by", "source")
    assert python == duck
    arr = tmp_path / "leads.json"
    arr.write_text(json.dumps(tiny_leads(80, 4)), encoding="utf-8")
    python, duck = both(TINY, arr, "--by", "title", "--period", "week")
    assert python == duck


def test_the_sample_policy_and_leads(tmp_path):
    python, duck = both(RULES, RULES / "leads.jsonl", "--by", "utm_campaign")
    assert python == duck
    # two calendars: the Berlin desk's route has its own response times
    routes = json.loads(duck)["handoffs"][0]["routes"]
    assert routes["emea-sdr"]["response_business_hours"]["median"] is not None


def _duck_report(pol, leads: list, tmp_path: Path, **kw) -> dict:
    path = tmp_path / "leads.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")

    def feed(facts):
        with open(path, "rb") as f:
            facts.add_jsonl(f)

    return report_with_duckdb(pol, feed, as_of=from_datetime(AS_OF), **kw)


def test_duckdb_figures_match_the_independent_count(tiny, tmp_path):
    leads = tiny_leads(300, 11)
    got = _duck_report(tiny, leads, tmp_path, by=("source",), by_text="source",
                       cohort=("mql_at",), period="week")
    items = ref.decide(tiny, leads, AS_OF)
    assert_figures(got, ref.figures(tiny, items, cohort=("mql_at",), period="week",
                                    thresholds=TINY_THRESHOLDS))
    groups = ref.by_groups(items, ("source",))
    assert list(got["by"]) == list(groups)
    for key, members in groups.items():
        assert_figures(got["by"][key], ref.figures(tiny, members, cohort=("mql_at",),
                                                   period="week", thresholds=TINY_THRESHOLDS))


_CALENDARS = """
policy cal "two calendars"
id lead_id
team m "@m"
team s "@s"
calendar {
  timezone "Europe/London"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
  holidays "2026-12-25" "2026-03-30"
}
calendar night "overnight desk" {
  timezone "America/Los_Angeles"
  workdays sun mon tue
  hours 22:00 to 24:00
  holidays "2026-11-01"
}
funnel a -> b -> c
stage a owned by m {
  entered at a_at
}
stage b owned by m {
  entered at b_at
  require b_at is present
}
stage c owned by s {
  entered at c_at
  require c_at is present
}
handoff b to s {
  route "day" if size == "s"
  route "night" if size == "m" on night
  route "plain" otherwise
  sla 3 hours from b_at until c_at, no_at
  escalate to "x" after 1 business days
}
handoff c to s {
  calendar night
  route "r" otherwise
  sla 1 business hours from c_at until done_at
}
"""


def test_business_time_on_two_calendars_across_dst_and_holidays(tmp_path):
    (tmp_path / "p.funnel").write_text(_CALENDARS, encoding="utf-8")
    pol = policy.load(tmp_path)
    leads = []
    start = datetime(2026, 3, 26, 7, 13, tzinfo=UTC)  # London and LA change clocks soon
    for i in range(260):
        b = start + timedelta(hours=29 * i + (i % 5) * 0.37)
        lead = {"lead_id": f"K{i}", "size": ["s", "m", "l"][i % 3],
                "a_at": (b - timedelta(hours=i % 50)).isoformat(), "b_at": b.isoformat()}
        if i % 4:
            lead["c_at"] = (b + timedelta(minutes=53 * (i % 97) - 200)).isoformat()
            if i % 3:
                lead["done_at"] = (b + timedelta(hours=i % 71)).isoformat()
        if i % 13 == 0:
            lead["b_at"] = "2026-11-01"  # a date: midnight UTC
        leads.append(lead)
    got = _duck_report(pol, leads, tmp_path, by=("size",), by_text="size")
    items = ref.decide(pol, leads, AS_OF)
    assert_figures(got, ref.figures(pol, items))
    routes = got["handoffs"][0]["routes"]
    assert routes["day"]["response_business_hours"]["p90"] > 0
    assert routes["night"]["response_business_hours"]["median"] is not None
    assert got["handoffs"][1]["routes"]["r"]["response_business_hours"]["p90"] > 0
    assert got["velocity"][1]["negative"] > 0
    # and the python engine's path gives the same bytes
    leads_file = tmp_path / "leads.jsonl"
    python, duck = both(tmp_path / "p.funnel", leads_file, "--by", "size")
    assert python == duck


def test_a_number_beyond_a_double_is_refused_at_its_field_in_both_engines(tmp_path):
    """The DuckDB engine stages such a line as not JSON, so the SQL refused it at the
    record (path ''); the python engine names the field, and so does the report now
    (eval already took the python engine's words for it)."""
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"lead_id": "a", "email": 1E400}\n{"lead_id": "b", "x": {"y": -1e999}}\n'
                     '{"lead_id": "c", "tags": [1e400]}\n{"lead_id": "d", "email": NaN}\n',
                     encoding="utf-8")
    python, duck = both(TINY, leads)
    assert python == duck
    assert json.loads(duck)["refused"]["paths"] == {"": 1, "email": 1, "tags[0]": 1, "x.y": 1}


def test_no_leads_and_only_refused_leads(tmp_path):
    empty = tmp_path / "e.jsonl"
    empty.write_bytes(b"")
    python, duck = both(TINY, empty, "--by", "source")
    assert python == duck and json.loads(duck)["leads"] == 0
    bad = tmp_path / "b.jsonl"
    bad.write_bytes(b'{"email": 1}\n[]\nnope\n')
    python, duck = both(TINY, bad, "--by", "email")
    assert python == duck and json.loads(duck)["refused"]["count"] == 3


def test_a_policy_the_sql_path_refuses_is_exit_2(tmp_path):
    (tmp_path / "p.funnel").write_text(
        'policy p "x"\nschema "s.json"\nid lead_id\nteam m "@m"\nfunnel a\n'
        "stage a owned by m {\n  require lead_id is present\n}\n", encoding="utf-8")
    (tmp_path / "s.json").write_text(json.dumps(
        {"type": "object", "properties": {"lead_id": {"type": "string"},
                                            "tags": {"type": "array", "uniqueItems": True}}}))
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"lead_id": "a"}\n')
    result = run("report", tmp_path, leads, "--engine", "duckdb", "--format", "json")
    assert result.exit_code == 2, result.output
    assert "uniqueItems" in result.stderr and "Traceback" not in result.output


def test_an_unknown_by_field_is_exit_2_before_any_lead_is_read(tmp_path):
    pol = policy.load(TINY)
    with pytest.raises(Exception, match="no such field"):
        field_option(pol, "lead_source", "--by")
    result = run("report", TINY, tmp_path / "missing.jsonl", "--engine", "duckdb",
                 "--by", "lead_source")
    assert result.exit_code == 2 and "lead_source" in result.stderr


_POOL = tiny_leads(150, seed=21)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, len(_POOL) - 1), max_size=80),
       hours=st.integers(0, 24 * 120), period=st.sampled_from(["week", "month", "quarter"]),
       by=st.sampled_from([None, ("source",), ("employees",), ("title",)]),
       cohort=st.sampled_from([None, ("mql_at",), ("accepted_at",)]))
def test_property_both_engines_give_the_same_report(tiny, tmp_path, picks, hours, period, by,
                                                    cohort):
    as_of = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=hours)
    leads = [_POOL[i] for i in picks]
    options = {"by": by, "by_text": by[0] if by else None, "cohort": cohort,
               "cohort_text": cohort[0] if cohort else None, "period": period}
    python = build_report(tiny, iter(ref.decide(tiny, leads, as_of)),
                          as_of=from_datetime(as_of), **options)
    path = tmp_path / "leads.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")

    def feed(facts):
        with open(path, "rb") as f:
            facts.add_jsonl(f)

    duck = report_with_duckdb(tiny, feed, as_of=from_datetime(as_of), **options)
    assert to_json(duck) == to_json(python)


def test_local_tz_reads_naive_times_alike_in_both_engines(tmp_path):
    """With --local-tz, `entered at` and cohort times without an offset are read in the
    zone on both paths (one shared (field, kind) staging for the cohort and mql_at),
    across Berlin's autumn fold."""
    leads = tiny_leads(200, 9)
    for i, lead in enumerate(leads):
        if isinstance(lead, dict):
            for key in ("created_at", "mql_at", "accepted_at"):
                if isinstance(lead.get(key), str) and i % 3:
                    lead[key] = lead[key].replace("Z", "").replace("+00:00", "")
            if i % 11 == 0:
                lead["mql_at"] = "2026-10-25T02:30:00"
    path = tmp_path / "naive.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")
    zoned = both(TINY, path, "--local-tz", "Europe/Berlin", "--by", "source", "--cohort",
                 "mql_at", "--period", "week")
    assert zoned[0] == zoned[1]
    utc = both(TINY, path, "--by", "source", "--cohort", "mql_at", "--period", "week")
    assert utc[0] == utc[1] and utc[1] != zoned[1]
