"""The library (spec section 8): load, evaluate, evaluate_many, trace, explain."""

from __future__ import annotations

import itertools
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import policy
from policy.engine.decision import dumps
from policy.syntax.formatter import policy_digest

GOLDEN = """\
policy golden "Golden"
version "1.0"
id lead_id
team mk "@g/marketing"
team sales "@g/sales"

funnel lead -> mql -> sal

score fit "Firmographic fit" owned by mk {
  +30 if job_level in ["vp", "c-level"]
  +5 per visits up to 20
  range 0 to 100
}

stage lead owned by mk {
  require email is present
}

stage mql owned by mk {
  require fit >= 30
}

stage sal owned by sales {
  require accepted_at is present "sales accepted it"
}

state nurture owned by mk

handoff mql to sales {
  route "ae" if fit >= 50
  route "sdr" otherwise
  sla 4 hours from mql_at until accepted_at
  escalate to "managers" after 1 day
  reject to nurture with reason why in ["bad fit"]
}
"""

SCHEMA = {
    "type": "object",
    "required": ["lead_id"],
    "properties": {
        "lead_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "job_level": {"type": ["string", "null"]},
        "visits": {"type": ["integer", "null"], "minimum": 0},
        "born": {"type": ["string", "null"], "format": "date"},
        "mql_at": {"type": ["string", "null"], "format": "date-time"},
        "accepted_at": {"type": ["string", "null"], "format": "date-time"},
        "why": {"type": ["string", "null"]},
    },
}

AT = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)
LEAD = {"lead_id": "G-1", "email": "a@b.com", "job_level": "vp", "visits": 2,
        "mql_at": "2026-11-02T10:00:00Z", "why": "nope"}


def _engines() -> list[str]:
    try:
        import policy.engine.compiler  # noqa: F401
    except ModuleNotFoundError:
        return ["interpreter"]
    return ["interpreter", "compiled"]


def write(folder: Path, text: str = GOLDEN, schema: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if schema is not None:
        text = text.replace('id lead_id\n', 'id lead_id\nschema "lead.schema.json"\n')
        (folder / "lead.schema.json").write_text(json.dumps(schema), "utf-8")
    (folder / "golden.funnel").write_text(text, "utf-8")
    return folder


@pytest.fixture(params=_engines())
def golden(request, tmp_path) -> policy.Policy:
    return policy.load(write(tmp_path / "golden"), engine=request.param)


@pytest.fixture
def with_schema(tmp_path) -> policy.Policy:
    return policy.load(write(tmp_path / "schema", schema=SCHEMA), engine="interpreter")


# --------------------------------------------------------------------------- loading


def test_load_reports_every_error_as_one_policy_error(tmp_path):
    text = GOLDEN.replace("require fit >= 30", "require fit >=")
    folder = write(tmp_path / "bad", text)
    with pytest.raises(policy.PolicyError) as caught:
        policy.load(folder)
    codes = [d.code for d in caught.value.diagnostics]
    assert codes and set(codes) == {"E100"}
    # `>=` continues the line, so the parser meets the `}` on the next one
    assert caught.value.diagnostics[0].span.line == text.splitlines().index("  require fit >=") + 2
    assert "golden.funnel" in caught.value.render()


def test_load_refuses_a_path_that_cannot_be_read_with_e110(tmp_path):
    with pytest.raises(policy.PolicyError) as caught:
        policy.load(tmp_path / "nowhere")
    [diag] = caught.value.diagnostics
    assert (diag.code, diag.is_error) == ("E110", True)
    assert diag.message == f"{tmp_path / 'nowhere'}: no such file or directory"


def test_warnings_do_not_stop_loading(tmp_path):
    folder = write(tmp_path / "warn", GOLDEN + '\ndefine unused = ["x"]\n')
    pol = policy.load(folder)
    assert [d.code for d in pol.diagnostics] == ["W201"]
    assert all(not d.is_error for d in pol.diagnostics)


def test_a_policy_is_immutable_and_names_itself(golden):
    with pytest.raises(AttributeError):
        golden.info = None
    with pytest.raises(AttributeError):
        del golden._model
    assert golden.info == policy.PolicyInfo("golden", "1.0", policy_digest(golden.model))
    assert golden.info.digest.startswith("sha256:") and len(golden.info.digest) == 71
    assert golden.engine in ("interpreter", "compiled")


def test_the_engine_is_selectable(tmp_path):
    folder = write(tmp_path / "g")
    assert policy.load(folder, engine="interpreter").engine == "interpreter"
    with pytest.raises(ValueError, match="engine must be one of"):
        policy.load(folder, engine="fast")
    if "compiled" in _engines():
        assert policy.load(folder).engine == "compiled"
        assert policy.load(folder, engine="compiled").engine == "compiled"


def test_the_package_exports_the_library():
    from policy.engine import decision
    from policy.syntax import diagnostics

    assert set(policy.__all__) >= {"load", "Policy", "PolicyError", "LeadError", "Decision",
                                    "Problem"}
    for name in policy.__all__:
        assert getattr(policy, name) is not None
    assert policy.Decision is decision.Decision
    assert policy.PolicyError is diagnostics.PolicyError
    with pytest.raises(AttributeError):
        policy.no_such_name  # noqa: B018


# --------------------------------------------------------------------------- deciding


def test_the_decision_json_is_the_golden_bytes(golden):
    d = golden.evaluate(LEAD, as_of=AT)
    expected = (
        '{"lead": "G-1", '
        '"policy": {"name": "golden", "version": "1.0", "digest": "DIGEST"}, '
        '"as_of": "2026-11-02T15:30:00Z", "stage": "nurture", "reached": "mql", '
        '"reason": "nope", "scores": {"fit": 40}, '
        '"next": {"stage": "sal", "unmet": ["sales accepted it"]}, '
        '"handoffs": [{"stage": "mql", "team": "sales", "route": "sdr", '
        '"sla": {"status": "breached", "start": "2026-11-02T10:00:00Z", '
        '"due": "2026-11-02T14:00:00Z", "stop": null}, "escalate_to": null, '
        '"rejected": true, "rejection_reason": "nope"}], '
        '"violations": [{"code": "invalid_rejection_reason", '
        '"message": "rejection reason \\"nope\\" is not one of the agreed reasons: '
        '\\"bad fit\\""}]}'
    ).replace("DIGEST", golden.info.digest)
    assert dumps(d) == expected
    assert list(d.to_dict()) == ["lead", "policy", "as_of", "stage", "reached", "reason",
                                 "scores", "next", "handoffs", "violations"]


def test_as_of_must_carry_a_time_zone(golden):
    naive = datetime(2026, 11, 2, 15, 30)
    for call in (golden.evaluate, golden.trace, golden.explain, golden.evaluate_many):
        arg = [LEAD] if call == golden.evaluate_many else LEAD
        with pytest.raises(ValueError, match="^as_of must carry a time zone$"):
            call(arg, as_of=naive)
    with pytest.raises(TypeError, match="as_of must be a datetime"):
        golden.evaluate(LEAD, as_of="2026-11-02")


def test_sql_checks_as_of_as_evaluate_does(golden):
    # Policy.sql took any object and failed inside with an AttributeError traceback
    with pytest.raises(ValueError, match="^as_of must carry a time zone$"):
        golden.sql(as_of=datetime(2026, 11, 2, 15, 30))
    with pytest.raises(TypeError, match="^as_of must be a datetime, not str$"):
        golden.sql(as_of="2026-11-02T15:30:00Z")


def test_as_of_in_any_zone_is_the_same_instant_and_defaults_to_now(golden):
    paris = datetime(2026, 11, 2, 16, 30, tzinfo=timezone(timedelta(hours=1)))
    assert golden.evaluate(LEAD, as_of=paris) == golden.evaluate(LEAD, as_of=AT)
    before = datetime.now(UTC)
    d = golden.evaluate(LEAD)
    after = datetime.now(UTC)
    as_of = d.as_of
    assert as_of.tzinfo is not None
    assert before - timedelta(milliseconds=1) <= as_of <= after + timedelta(milliseconds=1)


@pytest.mark.parametrize(
    ("lead", "found"),
    [([LEAD], "array"), ("G-1", "string"), (None, "null"), (3, "integer")],
)
def test_a_lead_that_is_not_an_object_is_refused(golden, lead, found):
    with pytest.raises(policy.LeadError) as caught:
        golden.evaluate(lead, as_of=AT)
    err = caught.value
    message = f"expected a JSON object, found {found}"
    assert (err.message, err.problems, err.lead, err.line) == (
        message, (policy.Problem("", message),), None, None)


def test_a_lead_the_schema_refuses_names_every_failing_path(with_schema):
    bad = {**LEAD, "visits": -1, "mql_at": "yesterday", "email": 5}
    with pytest.raises(policy.LeadError) as caught:
        with_schema.evaluate(bad, as_of=AT)
    err = caught.value
    assert err.message == "the lead does not match the schema"
    assert err.lead == "G-1"
    assert [p.path for p in err.problems] == ["email", "mql_at", "visits"]
    assert err.to_dict()["lead"] == "G-1"

    with pytest.raises(policy.LeadError) as caught:
        with_schema.evaluate({"email": "a@b.com"}, as_of=AT)
    assert caught.value.problems == (policy.Problem("lead_id", "required field is missing"),)
    assert caught.value.lead is None


def test_a_schema_date_field_is_read_as_midnight_utc(with_schema, tmp_path):
    folder = write(tmp_path / "dates", GOLDEN.replace(
        "require email is present", "require email is present and days_since(born) > 2"),
        schema=SCHEMA)
    pol = policy.load(folder, engine="interpreter")
    # as_of is 15:30 on Nov 2: Oct 31 is 2.6 days back, Nov 1 only 1.6
    assert pol.evaluate({**LEAD, "born": "2026-10-31"}, as_of=AT).reached == "mql"
    assert pol.evaluate({**LEAD, "born": "2026-11-01"}, as_of=AT).reached is None
    with pytest.raises(policy.LeadError):
        pol.evaluate({**LEAD, "born": "2026-11-01T00:00:00Z"}, as_of=AT)  # a date, not a time


def test_timestamps_that_do_not_parse_are_refused_all_at_once(golden):
    bad = {**LEAD, "mql_at": "yesterday", "accepted_at": 1700000000}
    with pytest.raises(policy.LeadError) as caught:
        golden.evaluate(bad, as_of=AT)
    err = caught.value
    assert err.message == "a timestamp field does not parse"
    assert err.lead == "G-1"
    assert err.problems == (
        policy.Problem("accepted_at", "not a valid timestamp: 1700000000"),
        policy.Problem("mql_at", 'not a valid timestamp: "yesterday"'),
    )


def test_a_lead_id_that_is_an_object_or_a_list_is_reported_as_given(golden):
    with pytest.raises(policy.LeadError) as caught:
        golden.evaluate({**LEAD, "lead_id": {"x": 1}, "mql_at": "soon"}, as_of=AT)
    assert caught.value.lead == {"x": 1}  # as a decision's lead would be
    assert golden.lead_id({"lead_id": 7}) == 7
    assert golden.lead_id({"lead_id": [7]}) == [7]
    assert golden.lead_id({"lead_id": float("nan")}) is None
    assert golden.lead_id("G-1") is None


def test_evaluate_many_gives_one_result_per_lead_in_order(golden):
    leads = [LEAD, [1], {**LEAD, "lead_id": "G-2", "job_level": "ic"}, "x",
             {**LEAD, "lead_id": "G-3", "mql_at": "later"}, {**LEAD, "lead_id": "G-4"}]
    results = list(golden.evaluate_many(leads, as_of=AT))
    assert len(results) == len(leads)
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Decision", "LeadError", "Decision", "LeadError", "LeadError", "Decision"]
    assert [r.line for r in results if isinstance(r, policy.LeadError)] == [2, 4, 5]
    assert [r.lead for r in results] == ["G-1", None, "G-2", None, "G-3", "G-4"]
    assert results[0] == golden.evaluate(LEAD, as_of=AT)
    assert results[2].reached == "lead"  # fit 10 is below the mql threshold


def test_evaluate_many_is_lazy_and_reads_as_of_once(golden):
    endless = ({**LEAD, "lead_id": f"G-{i}"} for i in itertools.count())
    first = list(itertools.islice(golden.evaluate_many(endless), 3))
    assert [d.lead for d in first] == ["G-0", "G-1", "G-2"]
    assert len({d.as_of for d in first}) == 1


def test_one_policy_serves_many_threads(golden):
    leads = []
    for i in range(2000):
        lead = {**LEAD, "lead_id": f"T-{i}", "visits": i % 7,
                "job_level": ["vp", "ic", "c-level"][i % 3]}
        if i % 5 == 0:
            lead["accepted_at"] = "2026-11-02T11:00:00Z"
        if i % 4:
            lead.pop("why")
        if i % 11 == 0:
            lead["mql_at"] = "not a time"
        leads.append(lead)

    def run(lead):
        try:
            return dumps(golden.evaluate(lead, as_of=AT))
        except policy.LeadError as err:
            return dumps(err)

    sequential = [run(lead) for lead in leads]
    seen: set[int] = set()

    def tracked(lead):
        seen.add(threading.get_ident())
        return run(lead)

    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(tracked, leads, chunksize=16))
    assert parallel == sequential
    assert len(set(sequential)) > 100  # the leads really differ
    assert len(seen) > 1


# --------------------------------------------------------------------------- trace, explain


def test_trace_keeps_every_step_and_equals_evaluate(golden):
    d = golden.trace(LEAD, as_of=AT)
    assert d == golden.evaluate(LEAD, as_of=AT)
    assert d.trace is not None
    assert [e.kind for e in d.trace if e.owner == "fit"] == ["score", "score", "total"]
    placement = next(e for e in d.trace if e.kind == "placement")
    assert (placement.rule, placement.result) == ("rejected at the mql handoff", "nurture")
    assert "trace" in d.to_dict()


def test_explain_reads_as_a_derivation(golden):
    text = golden.explain(LEAD, as_of=AT)
    lines = text.splitlines()
    assert lines[0] == "Lead G-1 · policy golden 1.0 · as of 2026-11-02T15:30:00Z"
    assert "Placed: nurture" in lines
    assert lines[3] == "  reached mql: every gate from lead to mql passes; the gate of sal fails"
    assert lines[4].startswith('  rejected at the mql handoff, reason "nope"')
    rule = next(ln for ln in lines if ln.lstrip().startswith("+30 if"))
    assert rule.split() == ['+30', 'if', 'job_level', 'in', '["vp",', '"c-level"]', 'job_level',
                            '=', '"vp"', '→', '+30']
    assert "    sum 40 → rounded 40 → range 0 to 100 gives 40" in lines
    assert any(ln.strip().startswith("✓ require fit >= 30") and ln.endswith("→ holds")
               for ln in lines)
    assert any(ln.strip().startswith("✗ require accepted_at is present") for ln in lines)
    assert "    start 2026-11-02T10:00:00Z · due 2026-11-02T14:00:00Z · stop none yet → breached" \
        in lines
    assert "Next step: sal" in lines and "  needs: sales accepted it" in lines
    assert "Violations" in lines
    assert all(len(ln) <= 100 for ln in lines)
    assert "\x1b[" not in text
    assert text == golden.explain(LEAD, as_of=AT)  # deterministic
    assert "\x1b[32m✓" in golden.explain(LEAD, as_of=AT, color=True)


def test_explain_refuses_a_bad_lead_like_evaluate(golden):
    with pytest.raises(policy.LeadError):
        golden.explain([LEAD], as_of=AT)


def test_a_bad_schema_timestamp_is_refused_with_the_validators_own_problems(tmp_path):
    """The fast path parses date-time fields itself; the refusal must read as before."""
    import datetime as dt

    as_of = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nschema "s.json"\nid lead_id\nteam m "@m"\nfunnel a\n'
        "stage a owned by m {\n  require created_at is present\n}\n"
    )
    (tmp_path / "s.json").write_text(json.dumps({
        "type": "object",
        "required": ["lead_id"],
        "properties": {"lead_id": {"type": "string"},
                       "created_at": {"type": "string", "format": "date-time"}},
    }))
    p = policy.load(tmp_path)
    with pytest.raises(policy.LeadError) as caught:
        p.evaluate({"lead_id": "L", "created_at": "yesterday"}, as_of=as_of)
    err = caught.value
    assert err.message == "the lead does not match the schema"
    assert [(q.path, q.message) for q in err.problems] == [
        ("created_at", 'not a valid date-time: "yesterday"')
    ]
    assert err.lead == "L"
    ok = p.evaluate({"lead_id": "L", "created_at": "2026-11-01T10:00:00"}, as_of=as_of)
    assert ok.stage == "a"


def test_policy_error_summaries_name_the_place_only_when_there_is_one(tmp_path):
    with pytest.raises(policy.PolicyError) as missing:
        policy.load(tmp_path / "nowhere")
    assert str(missing.value).endswith("nowhere: no such file or directory")
    assert not str(missing.value).startswith("<")
    (tmp_path / "p.funnel").write_text('policy p "P"\ndefine x = y +\n')
    with pytest.raises(policy.PolicyError) as broken:
        policy.load(tmp_path)
    first = broken.value.diagnostics[0]
    assert first.code == "E100"
    assert str(broken.value) == f"{first.span.file}:{first.span.line}:{first.span.column}: " \
        f"{first.message}"
    assert first.span.file.endswith("p.funnel")


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
@pytest.mark.parametrize("clicks", [float("nan"), float("inf"), 10**400])
def test_numbers_no_arithmetic_can_hold_refuse_the_lead_not_crash(tmp_path, engine, clicks):
    """Only a caller's own dict can carry NaN, infinities or huge integers (JSON cannot);
    without a schema to refuse them, the engines' arithmetic fails: a LeadError says so."""
    import datetime as dt

    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nteam m "@m"\nfunnel a\nscore s owned by m {\n  +5 per clicks\n}\n'
        "stage a owned by m {\n  require s >= 0\n}\n"
    )
    p = policy.load(tmp_path, engine=engine)
    at = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    with pytest.raises(policy.LeadError) as caught:
        p.evaluate({"lead_id": "x", "clicks": clicks}, as_of=at)
    assert caught.value.message == "the lead cannot be decided"
    assert caught.value.problems[0].message.startswith("a number in the lead cannot be computed")
    results = list(p.evaluate_many([{"clicks": clicks}, {"clicks": 2}], as_of=at))
    assert isinstance(results[0], policy.LeadError) and results[0].line == 1
    assert results[1].scores["s"] == 10


def test_public_instants_are_aware_datetimes(golden):
    """Issue 14 row 14: `d.as_of` and `sla.start/due/stop` are datetimes, not µs integers."""
    d = golden.evaluate(LEAD, as_of=AT)
    assert d.as_of == AT and d.as_of.tzinfo is not None
    sla = d.handoff("mql").sla
    assert sla.start == datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert sla.due == datetime(2026, 11, 2, 14, tzinfo=UTC)
    assert sla.stop is None and sla.status == "breached"
    # the JSON form is unchanged
    assert d.to_dict()["handoffs"][0]["sla"]["due"] == "2026-11-02T14:00:00Z"
    assert d.to_dict()["as_of"] == "2026-11-02T15:30:00Z"


def test_str_of_a_lead_error_shows_every_problem(with_schema):
    bad = {"lead_id": "G-9", "visits": -1, "mql_at": "yesterday"}
    with pytest.raises(policy.LeadError) as info:
        with_schema.evaluate(bad, as_of=AT)
    text = str(info.value)
    assert text.splitlines()[0].startswith("lead G-9: ")
    assert "\n  visits: " in text and "\n  mql_at: " in text
    errors = [r for r in with_schema.evaluate_many([LEAD, bad], as_of=AT)
              if isinstance(r, policy.LeadError)]
    assert str(errors[0]).startswith("line 2: lead G-9: ")


def test_a_lead_given_as_a_dict_subclass_decides_as_the_plain_dict(golden, tmp_path):
    # json.loads(text, object_pairs_hook=OrderedDict) gave a lead every engine refused
    # as "expected a JSON object, found object"; an IntEnum or StrEnum value inside it
    # is read as its int or str
    import enum
    from collections import OrderedDict, defaultdict

    class Level(enum.StrEnum):
        VP = "vp"

    text = json.dumps({**LEAD, "company": {"size": 5}})
    plain = json.loads(text)
    ordered = json.loads(text, object_pairs_hook=OrderedDict)
    ordered["job_level"] = Level.VP
    want = golden.evaluate(plain, as_of=AT)
    assert want.scores["fit"] == 40  # vp, and 2 visits
    assert golden.evaluate(ordered, as_of=AT) == want
    assert golden.evaluate(defaultdict(int, plain), as_of=AT) == want
    assert list(golden.evaluate_many([ordered, plain], as_of=AT)) == [want, want]
    assert golden.trace(ordered, as_of=AT).scores == want.scores
    with_schema = policy.load(write(tmp_path / "schema", schema=SCHEMA))
    assert with_schema.evaluate(ordered, as_of=AT) == with_schema.evaluate(plain, as_of=AT)
    with pytest.raises(policy.LeadError, match="lead_id"):
        with_schema.evaluate(OrderedDict(email="a@b"), as_of=AT)
