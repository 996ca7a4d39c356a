"""``--local-tz`` (issue 14 row 7, spec v1.1 section 9): lead timestamps without an offset
read as wall-clock time in a named zone, in every engine — the reference interpreter,
the compiled engine, DuckDB (:mod:`policy.sql.localtz`) — and through every command
that reads leads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import given, settings
from hypothesis import strategies as st

import policy
from policy.engine.decision import LeadError
from policy.engine.timestamps import format_timestamp, local_zone, parse_timestamp
from policy.sql.localtz import zone_table

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]

POLICY = """\
policy tz "Local time"
version "1"
id lead_id
team mk "@s/marketing"
team sales "@s/sales"
calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
funnel lead -> mql

score fresh owned by mk {
  +10 if created_at is present
  decay half-life 1 days since created_at
}

stage lead owned by mk {
  require email is present
}

stage mql owned by mk {
  require mql_at is present
}

handoff mql to sales {
  route "sdr" otherwise
  sla 2 business hours from mql_at until accepted_at
  escalate to "lead" after 1 hours
}
"""

SCHEMA = {
    "type": "object",
    "properties": {
        "lead_id": {"type": "string"},
        "email": {"type": "string"},
        "created_at": {"type": "string", "format": "date"},
        "mql_at": {"type": "string", "format": "date-time"},
        "accepted_at": {"type": "string", "format": "date-time"},
    },
}

AS_OF = "2026-12-01T00:00:00Z"
AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _folder(root: Path, text: str) -> Path:
    folder = root / "rules"
    folder.mkdir()
    (folder / "tz.funnel").write_text(text.replace('id lead_id\n', 'id lead_id\nschema '
                                                   '"lead.schema.json"\n'), "utf-8")
    (folder / "lead.schema.json").write_text(json.dumps(SCHEMA), "utf-8")
    return folder


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Path:
    return _folder(tmp_path_factory.mktemp("tz"), POLICY)


@pytest.fixture(scope="module")
def clock_rules(tmp_path_factory) -> Path:
    """The policy with a wall-clock SLA: instants of any year compare in SQL (business
    time outside the calendar tables' years is `calendar_out_of_range` by design)."""
    return _folder(tmp_path_factory.mktemp("tzc"),
                   POLICY.replace("2 business hours", "2 hours"))


def run(*args: object, input: str | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def lead(mql_at: str, **more) -> dict:
    return {"lead_id": "L1", "email": "a@b.co", "created_at": "2026-03-08",
            "mql_at": mql_at, **more}


# --------------------------------------------------------------------------- parsing


NY = local_zone("America/New_York")


@pytest.mark.parametrize(("text", "zone", "want"), [
    # New York, spring forward 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 is in the gap
    ("2026-03-08T02:30:00", "America/New_York", "2026-03-08T07:30:00Z"),  # = 03:30 EDT
    ("2026-03-08T01:59:59", "America/New_York", "2026-03-08T06:59:59Z"),
    ("2026-03-08T03:00:00", "America/New_York", "2026-03-08T07:00:00Z"),
    # fall back 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice, the first counts
    ("2026-11-01T01:30:00", "America/New_York", "2026-11-01T05:30:00Z"),  # 01:30 EDT
    ("2026-11-01T02:00:00", "America/New_York", "2026-11-01T07:00:00Z"),
    # London: gap 2026-03-29 01:00 -> 02:00, fold 2026-10-25 01:00-02:00
    ("2026-03-29T01:30", "Europe/London", "2026-03-29T01:30:00Z"),  # = 02:30 BST
    ("2026-10-25T01:30", "Europe/London", "2026-10-25T00:30:00Z"),  # 01:30 BST
    # Lord Howe moves by 30 minutes: gap 2026-10-04 02:00 -> 02:30 (+10:30 -> +11)
    ("2026-10-04T02:15", "Australia/Lord_Howe", "2026-10-03T15:45:00Z"),  # = 02:45 +11
    # ... fold 2026-04-05 02:00 -> 01:30 (+11 -> +10:30): 01:45 is the +11 one
    ("2026-04-05T01:45", "Australia/Lord_Howe", "2026-04-04T14:45:00Z"),
    ("2026-07-01 12:00", "Asia/Kolkata", "2026-07-01T06:30:00Z"),
    # a date is midnight in the zone
    ("2026-07-01", "Asia/Kolkata", "2026-06-30T18:30:00Z"),
    ("2026-07-01", "America/New_York", "2026-07-01T04:00:00Z"),
])
def test_naive_times_read_in_the_zone_gap_forward_fold_earlier(text, zone, want):
    assert format_timestamp(parse_timestamp(text, kind="any", tz=local_zone(zone))) == want


def test_a_time_with_an_offset_is_not_moved():
    for text in ("2026-07-01T12:00:00Z", "2026-07-01T12:00:00z", "2026-07-01T14:00:00+02:00",
                 "2026-07-01T07:00:00-0500"):
        assert parse_timestamp(text, tz=NY) == parse_timestamp(text)


def test_an_unknown_zone_is_a_clear_value_error(rules):
    for bad in ("Mars/Olympus", "", "../etc/passwd", "America/New York"):
        with pytest.raises(ValueError, match="unknown time zone"):
            local_zone(bad)
    with pytest.raises(ValueError, match="unknown time zone 'Nowhere/City'"):
        policy.load(rules, local_tz="Nowhere/City")


def test_an_instant_pushed_past_year_one_is_refused_not_crashed(rules):
    pol = policy.load(rules, local_tz="Asia/Kolkata")
    with pytest.raises(LeadError) as err:
        pol.evaluate(lead("0001-01-01T01:00:00"), as_of=AT)
    assert [p.path for p in err.value.problems] == ["mql_at"]


# --------------------------------------------------------------------------- the library


def test_library_local_tz_moves_the_sla_and_the_date(rules):
    utc = policy.load(rules)
    ny = policy.load(rules, local_tz="America/New_York")
    assert ny.local_tz == "America/New_York" and utc.local_tz is None
    d_utc = utc.evaluate(lead("2026-03-09T10:00:00"), as_of=AT)
    d_ny = ny.evaluate(lead("2026-03-09T10:00:00"), as_of=AT)
    assert d_utc.handoffs[0].sla.start == dt.datetime(2026, 3, 9, 10, tzinfo=dt.UTC)
    assert d_ny.handoffs[0].sla.start == dt.datetime(2026, 3, 9, 14, tzinfo=dt.UTC)
    # the due instant follows: 10:00 EDT + 2 business hours = 12:00 EDT
    assert d_ny.handoffs[0].sla.due == dt.datetime(2026, 3, 9, 16, tzinfo=dt.UTC)
    # `--as-of` (here: as_of) is an instant and is not affected
    assert d_ny.to_dict()["as_of"] == d_utc.to_dict()["as_of"] == "2026-12-01T00:00:00Z"


def test_interpreter_and_compiled_engine_agree(rules):
    from policy.api import load

    for zone in ZONES:
        a = load(rules, engine="interpreter", local_tz=zone)
        b = load(rules, engine="compiled", local_tz=zone)
        for text in ("2026-03-08T02:30:00", "2026-11-01T01:30:00", "2026-10-04T02:15",
                     "2026-04-05T01:45", "2026-07-01 12:00", "2026-07-01T12:00:00Z"):
            x = lead(text, accepted_at="2026-07-02T09:00")
            assert a.evaluate(x, as_of=AT).to_dict() == b.evaluate(x, as_of=AT).to_dict()


def test_explain_shows_the_zone_and_the_instant_read(rules):
    pol = policy.load(rules, local_tz="America/New_York")
    text = pol.explain(lead("2026-03-08T02:30:00"), as_of=AT)
    assert "timestamps without an offset read as America/New_York local time" in text
    assert "2026-03-08T07:30:00Z" in text  # 02:30 in the gap is 03:30 EDT


# --------------------------------------------------------------------------- SQL


@settings(max_examples=40, deadline=None)
@given(zone=st.sampled_from(ZONES + ["UTC", "Africa/Casablanca", "America/Santiago"]),
       moment=st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)))
def test_zone_table_gives_zoneinfo_offsets(zone, moment):
    """The table the SQL looks up agrees with zoneinfo's fold=0 reading at every time."""
    tz = ZoneInfo(zone)
    rel = int((moment - dt.datetime(moment.year, 1, 1)).total_seconds()) * 10**6 \
        + moment.microsecond
    want = moment.replace(tzinfo=tz).utcoffset().total_seconds()
    assert zone_table(zone).offset_at(moment.year, rel) == want


def _near_transitions(zone: str) -> list[str]:
    """Naive wall-clock times around each transition of 1970..2040 in ``zone``."""
    out = []
    tz = ZoneInfo(zone)
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    before = moment.astimezone(tz).utcoffset()
    while moment.year < 2040:
        nxt = moment + dt.timedelta(days=1)
        off = nxt.astimezone(tz).utcoffset()
        if off != before:
            local = nxt.astimezone(tz).replace(tzinfo=None)
            out += [(local + dt.timedelta(minutes=m)).isoformat() for m in range(-90, 91, 15)]
            before = off
        moment = nxt
    return out


_DUCK: dict = {}


def _duck(rules: Path, zone: str):
    from policy.sql.duck import DuckEngine

    key = (rules, zone)
    if key not in _DUCK:
        pol = policy.load(rules, local_tz=zone)
        _DUCK[key] = (pol, DuckEngine(pol, as_of=parse_timestamp(AS_OF), years=(1969, 2041)))
    return _DUCK[key]


def _same(rules: Path, zone: str, leads: list[dict]) -> None:
    pol, engine = _duck(rules, zone)
    texts = [json.dumps(x) for x in leads]
    got = engine.decide(list(range(1, len(texts) + 1)), texts)
    for (_, g), x in zip(got, leads, strict=True):
        try:
            w = pol.evaluate(x, as_of=AT).to_dict()
        except LeadError as exc:
            w = ("refused", [p.path for p in exc.problems])
        g = g.to_dict() if not isinstance(g, LeadError) else (
            "refused", [p.path for p in g.problems])
        assert g == w, x


_naive = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))


@settings(max_examples=30, deadline=None)
@given(zone=st.sampled_from(ZONES),
       times=st.lists(st.one_of(_naive, st.datetimes(min_value=dt.datetime(2020, 1, 1),
                                                     max_value=dt.datetime(2030, 1, 1))),
                      min_size=1, max_size=20),
       data=st.data())
def test_python_and_duckdb_agree_on_random_naive_times(clock_rules, zone, times, data):
    leads = []
    for t in times:
        text = t.isoformat(sep=data.draw(st.sampled_from(["T", " "])))
        date = t.date().isoformat()
        leads.append(lead(text, created_at=date,
                          accepted_at=data.draw(st.sampled_from([text, text + "Z", None]))))
    _same(clock_rules, zone, [{k: v for k, v in x.items() if v is not None} for x in leads])


@pytest.mark.parametrize("zone", ZONES)
def test_python_and_duckdb_agree_around_every_transition(rules, zone):
    texts = _near_transitions(zone)
    leads = [lead(t, created_at=t[:10]) for t in texts]
    _same(rules, zone, leads)


def test_funnel_sql_says_and_reads_the_zone(rules):
    import duckdb

    r = run("sql", rules, "--as-of", AS_OF, "--local-tz", "America/New_York")
    assert r.exit_code == 0, r.output
    assert "-- timestamps without an offset are read as America/New_York local time" in r.output
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, email VARCHAR, created_at VARCHAR, "
                "mql_at VARCHAR, accepted_at VARCHAR)")
    con.execute("INSERT INTO leads VALUES ('L1', 'a@b.co', '2026-03-08', "
                "'2026-03-08T02:30:00', NULL)")
    cur = con.execute(r.output.rstrip().rstrip(";"))
    row = dict(zip([c[0] for c in cur.description], cur.fetchone(), strict=True))
    assert row["handoff_mql_sla_start"] == dt.datetime(2026, 3, 8, 7, 30)  # UTC, 03:30 EDT
    assert run("sql", rules, "--local-tz", "Nope").exit_code == 2


# --------------------------------------------------------------------------- CLI


def _leads_file(tmp_path: Path) -> Path:
    path = tmp_path / "leads.jsonl"
    path.write_text(json.dumps(lead("2026-03-08T02:30:00")) + "\n", "utf-8")
    return path


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_eval_local_tz(rules, tmp_path, engine):
    leads = _leads_file(tmp_path)
    utc = run("eval", rules, leads, "--as-of", AS_OF, "--engine", engine)
    ny = run("eval", rules, leads, "--as-of", AS_OF, "--engine", engine,
             "--local-tz", "America/New_York")
    assert utc.exit_code == ny.exit_code == 0, ny.output
    assert json.loads(utc.stdout)["handoffs"][0]["sla"]["start"] == "2026-03-08T02:30:00Z"
    d = json.loads(ny.stdout)
    assert d["handoffs"][0]["sla"]["start"] == "2026-03-08T07:30:00Z"
    assert d["as_of"] == AS_OF


def test_explain_local_tz(rules, tmp_path):
    r = run("explain", rules, f"{_leads_file(tmp_path)}:1", "--as-of", AS_OF,
            "--local-tz", "America/New_York")
    assert r.exit_code == 0, r.output
    assert "read as America/New_York local time" in r.stdout
    assert "2026-03-08T07:30:00Z" in r.stdout


def test_diff_local_tz(rules, tmp_path):
    import shutil

    head = tmp_path / "head"
    shutil.copytree(rules, head)
    text = (head / "tz.funnel").read_text("utf-8").replace("2 business hours", "1 business hours")
    (head / "tz.funnel").write_text(text, "utf-8")
    leads = tmp_path / "leads.jsonl"
    # accepted 1.5 business hours after 09:00 local: met under 2 h, breached under 1 h
    # only when 09:00 is New York time (in UTC it is before the working day: 0 h used)
    leads.write_text(json.dumps(lead("2026-03-10T09:00:00", accepted_at="2026-03-10T10:30:00"))
                     + "\n", "utf-8")
    utc = run("diff", rules, head, "--leads", leads, "--as-of", AS_OF, "--format", "json")
    ny = run("diff", rules, head, "--leads", leads, "--as-of", AS_OF, "--format", "json",
             "--local-tz", "America/New_York")
    assert utc.exit_code == ny.exit_code == 0, ny.output
    assert json.loads(utc.stdout)["impact"] != json.loads(ny.stdout)["impact"]
    assert "breached" in json.dumps(json.loads(ny.stdout)["impact"])


def test_report_local_tz(rules, tmp_path):
    leads = _leads_file(tmp_path)
    r = run("report", rules, leads, "--as-of", AS_OF, "--format", "json",
            "--local-tz", "Asia/Kolkata")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("command", ["eval", "explain", "diff", "report", "sql"])
def test_unknown_zone_is_a_usage_error(rules, tmp_path, command):
    leads = _leads_file(tmp_path)
    args = {"eval": ["eval", rules, leads], "explain": ["explain", rules, f"{leads}:1"],
            "diff": ["diff", rules, rules, "--leads", leads], "report": ["report", rules, leads],
            "sql": ["sql", rules]}[command]
    r = run(*args, "--local-tz", "Mars/Olympus")
    assert r.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in r.output
    assert "Traceback" not in r.output


def test_spark_agrees_with_python_around_transitions(clock_rules):
    """The Spark tier (skipped without PySpark and Java, as tests/test_sql_spark.py)."""
    from policy.sql.spark import SparkEngine, spark_missing

    if spark_missing() is not None:
        pytest.skip(f"Spark tier: {spark_missing()}")
    zone = "Australia/Lord_Howe"
    pol = policy.load(clock_rules, local_tz=zone)
    texts = _near_transitions(zone)[-60:] + ["0001-01-02T00:00:00", "9999-12-30T12:00",
                                              "2150-10-04T02:15", "2026-07-01 00:00"]
    leads = [lead(t, created_at=t[:10]) for t in texts]
    engine = SparkEngine(pol, as_of=parse_timestamp(AS_OF), master="local[2]",
                         years=(2025, 2027))
    try:
        got = engine.decide(list(range(1, len(leads) + 1)), [json.dumps(x) for x in leads])
    finally:
        engine.stop()
    for (_, g), x in zip(got, leads, strict=True):
        assert g.to_dict() == pol.evaluate(x, as_of=AT).to_dict(), x
