"""`funnel test`: examples as tests, coverage, and the report formats CI systems read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACME, NO_ACME
from funnel_cli.main import main

ROOT = Path(__file__).resolve().parents[1]
XSD = ROOT / ".cache" / "junit-10.xsd"

POLICY = '''policy p "Tiny"
version "1"
id lead_id

team marketing "@m"
team sales "@s"

funnel lead -> mql

define big = employees >= 100

score fit owned by marketing {
  +50 if big
  +10 if vip
  range 0 to 100
}

stage lead owned by marketing {
  require email is present "no email"
}

stage mql owned by marketing {
  require fit >= 50
  exclude competitor "competitors are never qualified"
}

state out owned by marketing

recycle lead to out if competitor or days_since(last_seen) > 365 "competitor"
'''

EXAMPLES = '''example "a big company is an MQL" {
  at "2026-11-02T15:00:00Z"
  lead {"lead_id": "A", "email": "a@x.com", "employees": 500}
  expect stage mql
  expect score fit 50
}

example "a small company stays a lead" {
  at "2026-11-02T15:00:00Z"
  lead {"lead_id": "B", "email": "b@x.com", "employees": 5}
  expect stage lead
  expect score fit 0
}
'''


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "policy.funnel").write_text(POLICY)
    (tmp_path / "examples.funnel").write_text(EXAMPLES)
    return tmp_path


@pytest.mark.skipif(not ACME.exists(), reason=NO_ACME)
def test_conformance_examples_all_pass():
    result = run("test", str(ACME))
    assert result.exit_code == 0, result.output
    assert "14 passed, 0 failed" in result.output
    assert "FAIL" not in result.output


def test_the_projects_own_policy_passes_with_full_coverage():
    result = run("test", str(ROOT / "rules"), "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert "coverage: 100%" in result.output
    assert result.output.rstrip().endswith("35 passed, 0 failed")


def test_a_broken_expectation_shows_expected_actual_and_the_derivation(tiny: Path):
    text = (tiny / "examples.funnel").read_text()
    text = text.replace("expect score fit 50", "expect score fit 60")
    (tiny / "examples.funnel").write_text(text)
    result = run("test", str(tiny))
    assert result.exit_code == 1
    out = result.output
    assert "FAIL  " in out and "a big company is an MQL" in out
    assert "expect score fit 60" in out
    assert "expected: 60" in out and "actual:   50" in out
    assert "derivation of the actual decision:" in out
    assert "+50 if big" in out  # the derivation names the rule that gave the points
    assert out.rstrip().endswith("1 passed, 1 failed")


def test_coverage_names_the_rules_no_example_exercised(tiny: Path):
    result = run("test", str(tiny))
    assert result.exit_code == 0
    out = result.output
    assert "not exercised" in out
    assert "score fit: +10 if vip" in out
    assert "stage mql: exclude competitor" in out
    assert "recycle: recycle lead to out" in out
    low = run("test", str(tiny), "--min-coverage", "95")
    assert low.exit_code == 1
    assert "below --min-coverage 95%" in low.output


def test_k_selects_examples_by_name(tiny: Path):
    result = run("test", str(tiny), "-k", "SMALL")
    assert result.exit_code == 0
    assert "a small company stays a lead" in result.output
    assert "a big company" not in result.output
    assert "1 passed, 0 failed" in result.output


def test_json_report(tiny: Path):
    text = (tiny / "examples.funnel").read_text().replace("expect stage lead", "expect stage mql")
    (tiny / "examples.funnel").write_text(text)
    result = run("test", str(tiny), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert (data["passed"], data["failed"]) == (1, 1)
    failed = [e for e in data["examples"] if e["status"] == "failed"]
    assert failed[0]["failures"] == [
        {"expect": "expect stage mql", "expected": '"mql"', "actual": '"lead"'}
    ]
    assert 0 < data["coverage"]["percent"] < 100


def test_a_refused_lead_fails_every_expectation_but_error(tiny: Path):
    (tiny / "examples.funnel").write_text(
        'example "bad timestamp" {\n  at "2026-11-02T15:00:00Z"\n  lead file "l.json"\n'
        "  expect stage lead\n}\n"
        'example "expected refusal" {\n  at "2026-11-02T15:00:00Z"\n  lead file "l.json"\n'
        "  expect error\n}\n"
    )
    (tiny / "l.json").write_text('{"lead_id": "C", "email": "c@x.com", "last_seen": "yesterday"}')
    result = run("test", str(tiny))
    assert result.exit_code == 1
    assert "the lead was refused: last_seen:" in result.output
    assert "1 passed, 1 failed" in result.output


def test_an_unreadable_lead_file_is_a_failure_not_a_crash(tiny: Path):
    (tiny / "examples.funnel").write_text(
        'example "gone" {\n  at "2026-11-02T15:00:00Z"\n  lead file "missing.json"\n'
        "  expect stage lead\n}\n"
    )
    result = run("test", str(tiny))
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_a_missing_policy_is_exit_2():
    result = run("test", "/no/such/place")
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_junit_report_is_valid_against_the_published_schema(tiny: Path, tmp_path: Path):
    text = (tiny / "examples.funnel").read_text()
    text = text.replace("expect score fit 0", "expect score fit 7")
    (tiny / "examples.funnel").write_text(text)
    out = tmp_path / "report.xml"
    result = run("test", str(tiny), "--format", "junit", "-o", str(out))
    assert result.exit_code == 1
    assert "1 passed, 1 failed" in result.output
    xml = out.read_text()
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase/failure")
    assert "expect score fit 7" in failure.get("message")
    assert "derivation of the actual decision" in failure.text
    if not XSD.exists():
        pytest.skip("junit-10.xsd not fetched (tests/fetch_junit_xsd.sh): structure checked only")
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(XSD)).validate(str(out))


def test_conformance_policy_copied_runs_from_any_directory(tmp_path: Path, monkeypatch):
    if not ACME.exists():
        pytest.skip(NO_ACME)
    copy = tmp_path / "acme"
    shutil.copytree(ACME, copy)
    monkeypatch.chdir(tmp_path)
    result = run("test", "acme", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output)["failed"] == 0


def test_k_that_selects_nothing_is_an_error(tiny: Path):
    """Issue 14 row 10: `-k nomatch` is a mistake, never a green run of 0 examples."""
    result = run("test", str(tiny), "-k", "nomatch")
    assert result.exit_code == 2
    assert "-k 'nomatch' selects no example" in result.stderr
    assert "'a big company is an MQL'" in result.stderr
    assert result.stdout == ""


def test_coverage_under_k_counts_only_the_selected_examples(tiny: Path):
    whole = run("test", str(tiny), "--format", "json")
    one = run("test", str(tiny), "-k", "big company", "--format", "json")
    cov_all, cov_one = json.loads(whole.stdout)["coverage"], json.loads(one.stdout)["coverage"]
    assert cov_one["keyword"] == "big company" and cov_all["keyword"] is None
    assert cov_one["rules"] == cov_all["rules"]
    assert cov_one["percent"] <= cov_all["percent"]
    text = run("test", str(tiny), "-k", "big company").stdout
    assert 'by the 1 of 2 examples that -k "big company" selects' in text
    # not a wall of "not exercised" lines for a focused run: a count and a pointer
    assert "not exercised:" not in text
    assert "rules not exercised by the selected examples (run without -k for the list)" in text


def test_a_coverage_failure_names_the_rules_not_exercised(tiny: Path, tmp_path: Path):
    """Issue 14 row 11: the CI log and the JUnit test tab say which rules lack an example."""
    out = tmp_path / "x.xml"
    result = run("test", str(tiny), "--format", "junit", "-o", str(out), "--min-coverage", "90")
    assert result.exit_code == 1
    assert "is below --min-coverage 90%;" in result.stderr
    assert "not exercised:" in result.stderr and "score fit: +10 if vip" in result.stderr
    import xml.etree.ElementTree as ET

    suite = ET.parse(out).getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    cov = [c for c in suite.findall("testcase") if c.get("classname") == "coverage"]
    assert len(cov) == 1 and cov[0].get("name") == "coverage at least 90%"
    failure = cov[0].find("failure")
    assert failure.get("type") == "coverage"
    assert "score fit: +10 if vip" in failure.text
    assert all(c.get("time") == "0" for c in suite.findall("testcase"))
    if XSD.exists():
        xmlschema = pytest.importorskip("xmlschema")
        xmlschema.XMLSchema(str(XSD)).validate(str(out))
    # the text report lists them too when the floor is missed, even under -k
    low = run("test", str(tiny), "-k", "small", "--min-coverage", "90")
    assert low.exit_code == 1
    assert "not exercised:" in low.stdout


def test_an_example_without_at_runs_at_the_current_time(tmp_path: Path) -> None:
    """No `at`: W209 (a warning, so the policy still loads and evaluates), and the
    example runs at the current time, as any caller that gives no `as_of`."""
    (tmp_path / "p.funnel").write_text('''policy p "P"
team m "@m"
funnel lead
stage lead owned by m {
  require days_since(created_at) > 1 "created more than a day ago"
}
example "past" {
  lead {"created_at": "2020-01-01T00:00:00Z"}
  expect stage lead
}
example "future" {
  lead {"created_at": "2999-01-01T00:00:00Z"}
  expect stage none
}
''', encoding="utf-8")
    result = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed" in result.stdout
    assert "warning[W209]" in result.stderr
    strict = CliRunner().invoke(main, ["check", "--strict", str(tmp_path)])
    assert strict.exit_code == 1 and "W209" in strict.output


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_lead_file_holding_nan_is_not_json(tiny: Path, constant: str):
    # `lead file` reads strict JSON, as eval reads a record (spec sections 7 and 9)
    lead = '{"lead_id": "L1", "email": "a@b.co", "employees": ' + constant + "}"
    (tiny / "nan.json").write_text(lead)
    (tiny / "examples.funnel").write_text(
        'example "nan" {\n  at "2026-11-02T15:00:00Z"\n  lead file "nan.json"\n'
        "  expect error\n}\n"
    )
    for command in ("check", "test"):
        result = run(command, str(tiny))
        assert result.exit_code == 1, result.output
        assert f"cannot be used: not valid JSON: {constant} is not a JSON number" in result.output


def test_a_lead_file_with_a_number_past_a_double_is_refused_as_eval_refuses_it(tiny: Path):
    (tiny / "big.json").write_text('{"lead_id": "L1", "email": "a@b.co", "employees": 1e999}')
    (tiny / "examples.funnel").write_text(
        'example "refused" {\n  at "2026-11-02T15:00:00Z"\n  lead file "big.json"\n'
        '  expect error\n}\n'
        'example "decided?" {\n  at "2026-11-02T15:00:00Z"\n  lead file "big.json"\n'
        "  expect stage lead\n}\n"
    )
    result = run("test", str(tiny))
    assert result.exit_code == 1, result.output
    assert "1 passed, 1 failed" in result.output
    assert "beyond a double" in result.output
    lines = (tiny / "leads.jsonl")
    lines.write_text('{"lead_id": "L1", "email": "a@b.co", "employees": 1e999}\n')
    evaluated = run("eval", str(tiny), str(lines), "--as-of", "2026-11-02T15:00:00Z")
    assert '"error"' in evaluated.output and "beyond a double" in evaluated.output


def test_an_example_name_with_line_breaks_stays_on_its_result_line(tmp_path: Path):
    # Before: "\n" (or "\r", U+2028) in an example's name split the PASS/FAIL line in
    # two, so a CI log showed a line that no example printed.
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nteam m "@m"\nfunnel a\nstage a owned by m {\n  require x\n}\n'
        'example "one\\nFAIL  fake.funnel:1  two\\r\\u2028three" {\n'
        '  at "2026-01-01T00:00:00Z"\n  lead {"x": true}\n  expect stage a\n}\n')
    result = run("test", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("  one\\x0aFAIL  fake.funnel:1  two\\x0d\\u2028three"), lines[0]
    assert [ln for ln in lines if ln.startswith(("PASS", "FAIL"))] == [lines[0]]


@pytest.mark.parametrize("value", ["1e400", '"half \\ud800"', "-" + "9" * 400,
                                   str(2**1024 - 2**970)])  # integers beyond a double
def test_an_inline_lead_is_refused_as_eval_and_a_lead_file_refuse_it(tmp_path: Path, value):
    # Before: `lead {"x": 1e400}` (a number past a double's range) and a lone surrogate
    # escape were decided inline, while `funnel eval` and `lead file` refuse that JSON
    policy = ('policy p "P"\nteam m "@m"\nfunnel a\nstage a owned by m {\n  require x\n}\n')
    (tmp_path / "l.json").write_text(f'{{"x": true, "y": {value}}}')
    (tmp_path / "p.funnel").write_text(
        policy + "".join(
            f'example "{name}" {{\n  at "2026-01-01T00:00:00Z"\n  {lead}\n  expect error\n}}\n'
            for name, lead in (("inline", f'lead {{"x": true, "y": {value}}}'),
                               ("file", 'lead file "l.json"'))))
    result = run("test", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert [e["status"] for e in json.loads(result.output)["examples"]] == ["passed"] * 2
    (tmp_path / "l.jsonl").write_text((tmp_path / "l.json").read_text() + "\n")
    refused = run("eval", str(tmp_path), str(tmp_path / "l.jsonl"), "--as-of",
                  "2026-01-01T00:00:00Z")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout.splitlines()[0])["error"]["problems"][0]["path"] == "y"
