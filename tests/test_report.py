"""`funnel report` (spec section 11): every figure against an independent count.

The JSON figures are compared with ``tests/report_reference.py``, a plain-Python count
over the decisions that shares no code with the report's SQL. Then golden Markdown,
the HTML page (every chart, no URL, escaping) and the edge cases: no leads, a stage
nobody reaches, ``--by`` over hundreds of values, a handoff without an SLA, and the
exit statuses.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
import report_reference as ref
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy
from policy.engine.timestamps import from_datetime
from policy.report import charts
from policy.report.build import build_report, close_facts, figures_from_facts, open_facts
from policy.report.facts import FactWriter
from policy.report.html import to_html
from policy.report.markdown import md, to_markdown
from policy.report.shape import report_shape

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
TINY = Path(__file__).resolve().parent / "report_policy"
GOLDEN = Path(__file__).resolve().parent / "golden" / "report"
AS_OF = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
AS_OF_TEXT = "2026-12-01T16:00:00Z"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _generator():
    spec = importlib.util.spec_from_file_location("_report_generate", RULES / "generate_leads.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_leads(count: int = 60, seed: int = 5) -> list:
    """Leads for the tiny policy: every path through it, hostile text, a few refusals."""
    rng = random.Random(seed)
    base = datetime(2026, 10, 5, 13, 0, tzinfo=UTC)
    sources = ["web", "ads | *bold*", "<script>alert(1)</script>", None, "événement"]
    reasons = ["not a fit", "no budget", "spam <b>", "n/a | `x`", 7, None]
    out: list = []
    for i in range(count):
        created = base + timedelta(hours=rng.randrange(24 * 50))
        lead = {"lead_id": f"T-{i:03d}", "created_at": created.isoformat().replace("+00:00", "Z"),
                "email": f"p{i}@x.com" if rng.random() < 0.9 else None,
                "title": rng.choice(["vp", "ic", None]), "source": rng.choice(sources),
                "employees": rng.choice([10, 150, 1500, None]), "visits": rng.randrange(0, 8)}
        if rng.random() < 0.6:
            mql = created + timedelta(hours=rng.randrange(1, 40))
            lead["mql_at"] = mql.isoformat().replace("+00:00", "Z")
            u = rng.random()
            if u < 0.5:
                acc = mql + timedelta(minutes=rng.randrange(-600, 60 * 30))
                lead["accepted_at"] = acc.isoformat().replace("+00:00", "Z")
                if rng.random() < 0.5:
                    lead["won_at"] = (acc + timedelta(days=rng.randrange(1, 9))).isoformat()
            elif u < 0.8:
                lead["rejected_at"] = (mql + timedelta(hours=3)).isoformat()
                lead["rejection_reason"] = rng.choice(reasons)
        if rng.random() < 0.05:
            lead["lost_flag"] = True
        if rng.random() < 0.05:
            lead["unsub_flag"] = True
        if rng.random() < 0.05:
            lead["created_at"] = "not a time"
        out.append(lead)
    accepted = [x for x in out if "accepted_at" in x and "won_at" not in x and x["email"]]
    for lead in accepted[:3]:
        lead["lost_flag"] = True  # recycled to `lost`, a rule without a reason
    out[7] = {"email": "no id"}  # refused: lead_id missing
    out[11] = ["not", "an", "object"]  # refused: not an object
    out[13]["employees"] = "many"  # refused: wrong type
    return out


TINY_THRESHOLDS = {"fit": [50, 95, 100], "buzz": [3]}
RULES_ENTERED = {"inquiry": ("created_at",), "mql": ("mql_at",), "sal": ("accepted_at",),
                 "sql": ("sql_at",), "opportunity": ("opp_created_at",)}


def report_via_sql(pol, items, tmp_path: Path, *, entered=None, by=None, cohort=None,
                   period="month") -> dict:
    """The report as ``build_report`` makes it, with ``entered at`` fields given here
    (the policy's own when None)."""
    shape = report_shape(pol.model, name=pol.info.name, version=pol.info.version,
                         digest=pol.info.digest)
    if entered is not None:
        stages = tuple(attrs.evolve(s, entered_at=entered.get(s.name)) for s in shape.stages)
        shape = attrs.evolve(shape, stages=stages,
                             default_cohort=stages[0].entered_at if stages else None)
    cohort_path = cohort if cohort is not None else shape.default_cohort
    writer = FactWriter(shape, None, by=by, cohort=cohort_path)
    directory = tempfile.mkdtemp(dir=tmp_path)  # a property test calls this again
    open_facts(writer, directory, "0")
    writer.write_all(items)
    close_facts(writer)
    return figures_from_facts(shape, directory, as_of=from_datetime(AS_OF), by=by is not None,
                              by_text=".".join(by) if by else None, cohort_path=cohort_path,
                              cohort_text=None, period=period)


def assert_figures(got: dict, want: dict) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12) if not isinstance(
            value, (dict, list)) else _approx(got[key]) == _approx(value), key


def _approx(x):
    """Floats rounded to 9 places so that µs arithmetic and seconds arithmetic agree."""
    if isinstance(x, float):
        return round(x, 9)
    if isinstance(x, dict):
        return {k: _approx(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_approx(v) for v in x]
    return x


# --------------------------------------------------------------------------- figures


@pytest.fixture(scope="module")
def tiny() -> policy.Policy:
    return policy.load(TINY)


@pytest.fixture(scope="module")
def rules() -> policy.Policy:
    return policy.load(RULES)


@pytest.mark.parametrize("period", ["week", "month", "quarter"])
def test_every_figure_of_the_tiny_policy_matches_an_independent_count(tiny, tmp_path, period):
    items = ref.decide(tiny, tiny_leads(), AS_OF)
    got = report_via_sql(tiny, items, tmp_path, period=period)
    want = ref.figures(tiny, items, period=period,
                       thresholds=TINY_THRESHOLDS)
    assert_figures(got, want)
    # the data really exercises what it should
    assert got["refused"]["count"] >= 3
    assert got["velocity"][1]["negative"] > 0
    assert got["handoffs"][0]["rejections"]["off_list"]
    assert "(none)" in got["states"]["lost"]["reasons"]


def test_every_figure_per_by_value_matches_an_independent_count(tiny, tmp_path):
    items = ref.decide(tiny, tiny_leads(), AS_OF)
    got = report_via_sql(tiny, items, tmp_path, by=("source",))
    groups = ref.by_groups(items, ("source",))
    assert list(got["by"]) == list(groups)
    for key, members in groups.items():
        # every figure of a group is the figure of its records alone (a score without a
        # range is binned over the values seen in the group)
        want = ref.figures(tiny, members, thresholds=TINY_THRESHOLDS)
        assert_figures(got["by"][key], want)


def test_the_sample_leads_match_an_independent_count(rules, tmp_path):
    leads = [json.loads(line) for line in (RULES / "leads.jsonl").read_text().splitlines()]
    items = ref.decide(rules, leads, AS_OF)
    got = report_via_sql(rules, items, tmp_path, entered=RULES_ENTERED, period="week")
    want = ref.figures(rules, items, entered=RULES_ENTERED, period="week",
                       thresholds={"fit": [45], "intent": [35]})
    assert_figures(got, want)
    assert got["leads"] == 1000 and got["refused"]["count"] == 5


def test_generated_leads_by_campaign_match_an_independent_count(rules, tmp_path):
    leads = list(_generator().generate(3000, seed=3))
    items = ref.decide(rules, leads, datetime(2026, 12, 24, 20, tzinfo=UTC))
    got = report_via_sql(rules, items, tmp_path, entered=RULES_ENTERED, by=("utm_campaign",),
                         cohort=("mql_at",), period="quarter")
    groups = ref.by_groups(items, ("utm_campaign",))
    assert list(got["by"]) == list(groups)
    for key in ("(missing)", "brand-search"):
        want = ref.figures(rules, groups[key], entered=RULES_ENTERED, cohort=("mql_at",),
                           period="quarter", thresholds={"fit": [45], "intent": [35]})
        assert_figures(got["by"][key], want)


_POOL = tiny_leads(120, seed=8)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, len(_POOL) - 1), max_size=60),
       hours=st.integers(0, 24 * 90), period=st.sampled_from(["week", "month", "quarter"]))
def test_property_any_leads_any_instant_match_the_independent_count(tiny, tmp_path, picks,
                                                                    hours, period):
    as_of = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(hours=hours)
    items = ref.decide(tiny, [_POOL[i] for i in picks], as_of)
    got = report_via_sql(tiny, items, tmp_path, by=("source",), period=period)
    want = ref.figures(tiny, items, period=period, thresholds=TINY_THRESHOLDS)
    assert_figures(got, want)
    groups = ref.by_groups(items, ("source",))
    assert {k: g["leads"] for k, g in got["by"].items()} == {
        k: len(v) for k, v in groups.items()}


# --------------------------------------------------------------------------- edge cases


def test_no_records_give_a_report_of_zeros(tiny, tmp_path):
    got = report_via_sql(tiny, [], tmp_path, by=("source",))
    assert (got["leads"], got["decided"], got["refused"]) == (0, 0, {"count": 0, "paths": {}})
    assert all(f == {"reached": 0, "conversion": None, "cumulative": None, "placed": 0}
               for f in got["funnel"].values())
    h = got["handoffs"][0]
    assert h["applies"] == 0 and h["rejections"]["rate"] is None
    assert h["routes"]["big"]["compliance"] is None
    assert h["routes"]["big"]["response_business_hours"] == {"median": None, "p90": None}
    assert got["velocity"][0] == {"from": "lead", "to": "mql", "leads": 0, "negative": 0,
                                  "median_days": None, "p90_days": None}
    assert got["cohorts"] == {}
    assert [b["count"] for b in got["scores"]["fit"]["histogram"]] == [0] * 10
    assert got["scores"]["buzz"]["histogram"] == []
    assert got["by"] == {}


def test_only_refused_leads(tiny, tmp_path):
    items = ref.decide(tiny, [{"email": "x"}, 5], AS_OF)
    got = report_via_sql(tiny, items, tmp_path)
    assert got["refused"] == {"count": 2, "paths": {"": 1, "lead_id": 1}}
    assert got["decided"] == 0 and got["funnel"]["mql"]["conversion"] is None


def test_a_stage_nobody_reaches_has_conversion_zero_then_null(tiny, tmp_path):
    items = ref.decide(tiny, tiny_leads(), AS_OF)
    got = report_via_sql(tiny, items, tmp_path)
    assert got["funnel"]["won"]["reached"] > 0
    assert got["funnel"]["champion"] == {"reached": 0, "conversion": 0.0,
                                         "cumulative": 0.0, "placed": 0}
    # nobody reaches `won` at this instant: its conversion is 0, the next one's is null
    items = ref.decide(tiny, [lead for lead in tiny_leads() if isinstance(lead, dict)
                              and "won_at" not in lead], AS_OF)
    got = report_via_sql(tiny, items, tmp_path)
    assert got["funnel"]["won"]["conversion"] == 0.0
    assert got["funnel"]["champion"]["conversion"] is None


def test_a_handoff_without_sla_has_no_response_time(tiny, tmp_path):
    items = ref.decide(tiny, tiny_leads(), AS_OF)
    got = report_via_sql(tiny, items, tmp_path)
    cs = got["handoffs"][1]
    assert cs["stage"] == "sal" and cs["applies"] > 0
    route = cs["routes"]["cs"]
    assert route["sla"] == {"met": 0, "breached": 0, "pending": 0, "unknown": 0}
    assert route["compliance"] is None and route["response_business_hours"] is None
    assert cs["rejections"] == {"count": 0, "rate": 0.0, "reasons": {}, "off_list": {}}


def test_by_a_field_with_hundreds_of_values_keeps_the_top_20(tiny, tmp_path):
    leads = []
    for i in range(400):
        # values v000..v299 once each, v300..v309 ten times each: ties broken by key
        value = f"v{i:03d}" if i < 300 else f"v{300 + i % 10:03d}"
        leads.append({"lead_id": f"L{i}", "email": "a@b.c", "source": value})
    items = ref.decide(tiny, leads, AS_OF)
    got = report_via_sql(tiny, items, tmp_path, by=("source",))
    keys = list(got["by"])
    assert keys[:10] == [f"v{300 + k:03d}" for k in range(10)]
    assert keys[10:20] == [f"v{k:03d}" for k in range(10)]
    assert keys[20] == "(other)" and len(keys) == 21
    assert got["by"]["(other)"]["leads"] == 400 - 10 * 10 - 10
    assert sum(g["leads"] for g in got["by"].values()) == 400


def test_by_keys_are_text_for_non_strings(tiny, tmp_path):
    leads = [{"lead_id": "a", "tags": ["x", "y"]}, {"lead_id": "b", "tags": None},
             {"lead_id": "c"}, {"lead_id": "d", "tags": ["x", "y"]}]
    got = report_via_sql(tiny, ref.decide(tiny, leads, AS_OF), tmp_path, by=("tags",))
    assert {k: g["leads"] for k, g in got["by"].items()} == {'["x","y"]': 2, "(missing)": 2}


# --------------------------------------------------------------------------- rendering


def _tiny_report(tiny, **kw) -> dict:
    items = ref.decide(tiny, tiny_leads(), AS_OF)
    return build_report(tiny, iter(items), as_of=from_datetime(AS_OF), **kw)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_markdown_golden(tiny):
    _golden("tiny.md", to_markdown(_tiny_report(tiny, by=("source",), by_text="source",
                                                cohort=("created_at",),
                                                cohort_text="created_at")))


def test_markdown_escapes_text_from_policies_and_leads():
    assert md("a | b") == "a \\| b"
    assert md("<script>") == "&lt;script&gt;"
    assert md("*x* _y_ `z` [l](u)") == "\\*x\\* \\_y\\_ \\`z\\` \\[l\\](u)"
    assert md("two\nlines") == "two lines"


def test_markdown_tables_keep_their_shape(tiny):
    text = to_markdown(_tiny_report(tiny, by=("source",), by_text="source"))
    for block in text.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
            assert len(widths) == 1, block
    assert "<script>" not in text and "<b>" not in text


# a same-page reference (`url(#gradient)`) loads nothing; anything else would
_URL = re.compile(r"(?i)(https?:|ftp:|//[a-z0-9]|url\((?!#)|\bsrc=|\bhref=|@import)")


@pytest.mark.skipif(not charts.available(), reason="needs the [report] extra")
def test_html_holds_every_chart_beside_its_table_and_no_url(tiny):
    report = _tiny_report(tiny, by=("source",), by_text="source", cohort=("created_at",),
                          cohort_text="created_at")
    page = to_html(report)
    for key in ("funnel", "cohorts", "sla", "rejections-mql", "velocity", "score-fit",
                "score-buzz"):
        section = re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)
        assert section, key
        assert "<svg" in section.group(1) and "<table>" in section.group(1), key
    assert not _URL.search(page), _URL.search(page)
    assert "<script" not in page
    # the gate thresholds are drawn into the histogram
    fit = re.search(r'<section id="score-fit">(.*?)</section>', page, re.S).group(1)
    assert "gate 50" in fit and "gate 95" in fit


def test_html_escapes_text_from_policies_and_leads(tiny):
    page = to_html(_tiny_report(tiny, by=("source",), by_text="source"), with_charts=False)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Tiny funnel" not in page or "<b>&</b>" not in page
    assert "spam &lt;b&gt;" in page
    assert "[report]" in page  # says how to get the charts
    assert not _URL.search(page)


# --------------------------------------------------------------------------- command line


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_writes_json_and_exits_0_with_refused_leads(tmp_path):
    out = tmp_path / "r.json"
    result = run("report", RULES, RULES / "leads.jsonl", "--as-of", AS_OF_TEXT, "--by", "source",
                 "-o", out)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["refused"]["count"] == 5 and data["by_field"] == "source"
    assert data["policy"]["name"] == "halyard_inbound" and data["as_of"] == AS_OF_TEXT


def test_cli_output_is_deterministic(tmp_path):
    a = run("report", TINY, RULES / "leads.jsonl", "--as-of", AS_OF_TEXT, "--format", "json")
    b = run("report", TINY, RULES / "leads.jsonl", "--as-of", AS_OF_TEXT, "--format", "json")
    assert a.exit_code == 0 and a.stdout == b.stdout


def test_cli_unknown_by_field_is_exit_2():
    result = run("report", RULES, RULES / "leads.jsonl", "--by", "lead_source")
    assert result.exit_code == 2
    assert "lead_source" in result.stderr and "Traceback" not in result.output


def test_cli_unreadable_leads_is_exit_2(tmp_path):
    result = run("report", RULES, tmp_path / "missing.jsonl")
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_cli_policy_with_errors_is_exit_1(tmp_path):
    (tmp_path / "p.funnel").write_text('policy p "x"\nfunnel a -> b\n')
    result = run("report", tmp_path, RULES / "leads.jsonl")
    assert result.exit_code == 1


def test_cli_empty_leads_give_zeros(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = run("report", TINY, empty, "--as-of", AS_OF_TEXT, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["leads"] == 0 and data["funnel"]["lead"]["cumulative"] is None


def test_cli_lines_that_are_not_json_are_refused_records(tmp_path):
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"lead_id": "a", "email": "x"}\nnot json\n\n[1]\n')
    result = run("report", TINY, leads, "--as-of", AS_OF_TEXT, "--format", "json")
    data = json.loads(result.stdout)
    assert (data["leads"], data["decided"], data["refused"]["count"]) == (3, 1, 2)
    assert data["refused"]["paths"] == {"": 2}


def test_cli_format_follows_the_extension(tmp_path):
    out = tmp_path / "r.md"
    assert run("report", TINY, RULES / "leads.jsonl", "--as-of", AS_OF_TEXT, "-o",
               out).exit_code == 0
    assert out.read_text().startswith("# Funnel report")


def test_cli_worker_processes_give_the_same_report(tmp_path):
    gen = _generator()
    leads = tmp_path / "many.jsonl"
    with open(leads, "w", encoding="utf-8") as f:
        gen.write_jsonl(gen.generate(6000, 9), f)
    outs = []
    for jobs in ("1", "2"):
        result = run("report", RULES, leads, "--as-of", AS_OF_TEXT, "--by", "source",
                     "--format", "json", "--jobs", jobs)
        assert result.exit_code == 0, result.output
        outs.append(result.stdout)
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["leads"] == 6000


@pytest.mark.skipif(not __import__("policy.report.build", fromlist=["x"])
                    .duckdb_engine_available(), reason="no DuckDB engine in this version")
def test_cli_duckdb_engine_gives_the_python_engines_report():
    outs = []
    for engine in ("python", "duckdb"):
        result = run("report", RULES, RULES / "leads.jsonl", "--as-of", AS_OF_TEXT, "--by",
                     "utm_campaign", "--format", "json", "--engine", engine)
        assert result.exit_code == 0, result.output
        outs.append(result.stdout)
    assert outs[0] == outs[1]


def test_huge_and_broken_text_in_leads(tiny, tmp_path):
    """A `--by` value of 3 MB and text that is not UTF-8 (a caller's own dicts) still
    give a report, the broken characters shown as U+FFFD."""
    leads = [{"lead_id": "a", "email": "x", "source": "s" * 3_000_000},
             {"lead_id": "b", "email": "x", "source": "bad \udcff"},
             {"lead_id": "c", "email": "x", "source": "bad \udcff"}]
    got = build_report(tiny, iter(ref.decide(tiny, leads, AS_OF)), as_of=from_datetime(AS_OF),
                       by=("source",), by_text="source")
    assert list(got["by"]) == ["bad \ufffd", "s" * 3_000_000]


def test_cli_schema_less_csv_is_typed_by_use_as_eval_types_it(tmp_path):
    """Without a schema, CSV cells are typed by how the policy uses each field (spec
    section 9): the report decides them as `funnel eval` does (`employees >= 100` reads
    the cell "250" as the number 250, not as text that no comparison accepts)."""
    text = (TINY / "policy.funnel").read_text("utf-8")
    (tmp_path / "policy.funnel").write_text(text.replace('schema "lead.schema.json"\n', ""))
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,email,title,employees,visits,created_at,mql_at\n"
                     "a,a@x,vp,250,4,2026-10-05T13:00:00Z,2026-10-06T13:00:00Z\n"
                     "b,b@x,cto,20,1,2026-10-05T13:00:00Z,\n"
                     "c,c@x,vp,120,2,2026-10-05T13:00:00Z,2026-10-07T13:00:00Z\n")
    decided = run("eval", tmp_path, leads, "--as-of", AS_OF_TEXT)
    assert decided.exit_code == 0, decided.output
    stages = [json.loads(line)["stage"] for line in decided.stdout.splitlines()]
    assert stages.count("mql") == 2  # the numbers were read as numbers
    result = run("report", tmp_path, leads, "--as-of", AS_OF_TEXT, "--format", "json")
    assert result.exit_code == 0, result.output
    funnel = json.loads(result.stdout)["funnel"]
    assert {s: funnel[s]["placed"] for s in funnel} == {
        s: stages.count(s) for s in funnel}


@pytest.mark.skipif(not charts.available(), reason="needs the [report] extra")
def test_count_axes_label_whole_numbers_once(tiny):
    """A chart of one rejected lead labels its axis 0 and 1, not 0, 1, 1 (0.5 rounded)."""
    leads = [{"lead_id": "a", "email": "x", "title": "vp", "employees": 1500, "visits": 5,
              "mql_at": "2026-11-02T14:00:00Z", "rejected_at": "2026-11-02T15:00:00Z",
              "rejection_reason": "no budget", "source": "web"}]
    report = build_report(tiny, iter(ref.decide(tiny, leads, AS_OF)),
                          as_of=from_datetime(AS_OF), by=("source",), by_text="source")
    svg = charts.charts(report)["rejections-mql"]
    axes = re.findall(r'role-axis-label"[^>]*>(.*?)</g>', svg, re.S)
    labels = [re.findall(r">([^<]*)</text>", a) for a in axes]
    assert ["0", "1"] in labels, labels
    # the legend lists only the keys the chart shows
    assert svg.count(">web</text>") == 1 and "(missing)" not in svg
