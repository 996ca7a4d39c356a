"""Everyday use through the command line (issue 14): what a marketing-ops engineer trips
over in the first hour. Each test names the row of the issue it covers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy

POLICY = """\
policy shop "Shop"
version "3"
id lead_id
team mk "@s/marketing"
team sales "@s/sales"

funnel lead -> mql

score fit owned by mk {
  +30 if vip
  +10 if `Number of Employees` >= 50
}

stage lead owned by mk {
  require email is present
}

stage mql owned by mk {
  require fit >= 30
}

handoff mql to sales {
  route "sdr" otherwise
  sla 4 hours from mql_at until accepted_at
}
"""

AS_OF = "2026-11-02T15:00:00Z"
AT = datetime(2026, 11, 2, 15, tzinfo=UTC)


def run(*args: object, input: str | bytes | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "shop.funnel").write_text(POLICY, "utf-8")
    return folder


# --------------------------------------------------------------------------- row 15


def test_explain_a_lead_by_its_id(rules: Path, tmp_path: Path):
    leads = tmp_path / "export.jsonl"
    rows = [{"lead_id": "00Q5e00000AbCdE", "email": "a@b.com", "vip": True,
             "mql_at": "2026-11-02T10:00:00Z"},
            {"lead_id": 1001, "email": "b@b.com"}]
    leads.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    pol = policy.load(rules)
    result = run("explain", rules, leads, "--id", "00Q5e00000AbCdE", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert result.stdout == pol.explain(rows[0], as_of=AT)
    # a number id is found by its text, as a user types it
    result = run("explain", rules, leads, "--id", "1001", "--as-of", AS_OF)
    assert result.exit_code == 0 and result.stdout == pol.explain(rows[1], as_of=AT)
    missing = run("explain", rules, leads, "--id", "nope", "--as-of", AS_OF)
    assert missing.exit_code == 2
    assert missing.stderr == f"funnel: {leads}: no lead whose lead_id is 'nope'\n"
    # from a CSV export, where the header is line 1
    table = tmp_path / "export.csv"
    table.write_text("lead_id,email\nL-7,a@b.com\nL-8,c@d.com\n", "utf-8")
    result = run("explain", rules, table, "--id", "L-8", "--as-of", AS_OF)
    assert result.exit_code == 0
    assert result.stdout == pol.explain({"lead_id": "L-8", "email": "c@d.com"}, as_of=AT)


def test_explain_names_why_a_lead_refused_as_read_is_refused(rules: Path, tmp_path: Path):
    """A lead the reader refuses (a number past a double's range) is found by its id
    and by its line, and both say why, field by field (exit 1, as eval)."""
    leads = tmp_path / "export.jsonl"
    leads.write_text('{"lead_id": "A", "email": "a@b.com"}\n'
                     '{"lead_id": "B", "email": "b@b.com", "visits": 1e400}\n', "utf-8")
    want = "the lead is refused: a number is beyond a double's range\n  visits: "
    for args in (("--id", "B"), ()):
        target = leads if args else f"{leads}:2"
        result = run("explain", rules, target, *args, "--as-of", AS_OF)
        assert result.exit_code == 1, result.output
        assert want in result.stderr and "line 2" in result.stderr


def test_explain_by_id_needs_an_id_line(rules: Path, tmp_path: Path):
    (rules / "shop.funnel").write_text(POLICY.replace("id lead_id\n", ""), "utf-8")
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"lead_id": "A"}\n', "utf-8")
    result = run("explain", rules, leads, "--id", "A")
    assert result.exit_code == 2
    assert "--id needs the policy's `id` line" in result.stderr


# --------------------------------------------------------------------------- row 8


@pytest.mark.parametrize(("name", "first"), [
    ("decisions.csv", "line,lead,policy_name"),
    ("decisions.json", "["),
    ("decisions.jsonl", '{"lead": "A"'),
    ("decisions.txt", "line"),
    ("decisions.out", '{"lead": "A"'),
])
def test_output_format_follows_the_extension(rules: Path, tmp_path: Path, name: str,
                                             first: str):
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"lead_id": "A", "email": "a@b.com"}\n', "utf-8")
    out = tmp_path / name
    result = run("eval", rules, leads, "--as-of", AS_OF, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_text("utf-8").startswith(first)


def test_an_explicit_format_wins_over_the_extension(rules: Path, tmp_path: Path):
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"lead_id": "A", "email": "a@b.com"}\n', "utf-8")
    out = tmp_path / "decisions.csv"
    assert run("eval", rules, leads, "--as-of", AS_OF, "-o", out, "--format", "jsonl"
               ).exit_code == 0
    assert out.read_text("utf-8").startswith('{"lead": "A"')


# --------------------------------------------------------------------------- row 18: fmt


def test_fmt_keeps_leads_compact(rules: Path):
    """A short lead stays on one line; a long one is filled onto aligned lines; only a
    member too long for any line falls back to one member per line."""
    long_note = "x" * 120
    examples = (
        'example "short" {\n  at "2026-11-02T15:00:00Z"\n'
        '  lead {"lead_id": "A",\n        "email": "a@b.com"}\n  expect stage lead\n}\n\n'
        'example "long" {\n  at "2026-11-02T15:00:00Z"\n'
        '  lead {"lead_id": "B", "email": "b@bigco.com", "job_level": "vp", "vip": true, '
        '"Number of Employees": 5000, "mql_at": "2026-11-02T14:00:00Z"}\n'
        '  expect stage mql\n}\n\n'
        'example "huge" {\n  at "2026-11-02T15:00:00Z"\n'
        f'  lead {{"lead_id": "C", "note": "{long_note}"}}\n  expect stage none\n}}\n')
    (rules / "examples.funnel").write_text(examples, "utf-8")
    result = run("fmt", rules)
    assert result.exit_code == 0, result.output
    text = (rules / "examples.funnel").read_text("utf-8")
    assert '  lead {"lead_id": "A", "email": "a@b.com"}\n' in text
    assert ('  lead {"lead_id": "B", "email": "b@bigco.com", "job_level": "vp", "vip": true,\n'
            '        "Number of Employees": 5000, "mql_at": "2026-11-02T14:00:00Z"}\n') in text
    assert f'  lead {{\n    "lead_id": "C",\n    "note": "{long_note}"\n  }}\n' in text
    assert run("test", rules).exit_code == 0


# --------------------------------------------------------------------------- row 2


def test_a_schemaless_csv_is_typed_by_how_the_policy_uses_each_field(rules: Path,
                                                                        tmp_path: Path):
    """`Number of Employees` is compared with 50, so `120` is a number; `vip` is a bare
    condition, so `yes` is true; `mql_at` is read as a timestamp; `email` stays text."""
    from policy.io.csv_typing import field_kinds

    pol = policy.load(rules)
    kinds = field_kinds(pol.model)
    assert kinds[("Number of Employees",)] == "number"
    assert kinds[("vip",)] == "boolean"
    assert kinds[("mql_at",)] == "timestamp"
    assert ("email",) not in kinds
    leads = tmp_path / "hubspot.csv"
    leads.write_text("lead_id,email,Number of Employees,vip,mql_at\n"
                     "H-1,a@b.com,120,yes,2026-11-02T10:00:00Z\n"
                     "H-2,b@b.com,12,no,\n"
                     "H-3,c@b.com,lots,yes,\n", "utf-8")
    result = run("eval", rules, leads, "--as-of", AS_OF)
    assert result.exit_code == 1
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert out[0]["scores"]["fit"] == 40 and out[0]["stage"] == "mql"
    assert out[1]["scores"]["fit"] == 0
    # a cell that does not fit refuses the lead, never a silent string comparison
    assert out[2]["error"]["problems"] == [
        {"path": "`Number of Employees`", "message": 'expected a number, found "lots"'}]


# --------------------------------------------------------------------------- row 7


def test_a_semicolon_export_is_read_with_a_note(rules: Path, tmp_path: Path):
    leads = tmp_path / "excel.csv"
    leads.write_bytes("\ufefflead_id;email;Number of Employees\nE-1;a@b.com;300\n"
                      .encode("utf-8"))
    result = run("eval", rules, leads, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lead"] == "E-1"
    assert "splits into 3 columns on semicolons" in result.stderr
    tabbed = tmp_path / "t.csv"
    tabbed.write_text("lead_id\temail\nT-1\ta@b.com\n", "utf-8")
    assert json.loads(run("eval", rules, tabbed, "--as-of", AS_OF).stdout)["lead"] == "T-1"
    forced = run("eval", rules, leads, "--as-of", AS_OF, "--delimiter", ",")
    # one column named "lead_id;email;…": the lead has no lead_id
    assert forced.exit_code == 0 and json.loads(forced.stdout)["lead"] is None
    assert run("eval", rules, leads, "--delimiter", "ab").exit_code == 2


def test_a_utf16_export_is_read(rules: Path, tmp_path: Path):
    leads = tmp_path / "unicode.csv"
    leads.write_bytes("lead_id\temail\nU-1\tzoë@b.com\n".encode("utf-16"))
    result = run("eval", rules, leads, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lead"] == "U-1"


def test_a_txt_file_holding_csv_is_read_as_csv(rules: Path, tmp_path: Path):
    leads = tmp_path / "export.txt"
    leads.write_text("lead_id,email\nX-1,a@b.com\nX-2,b@b.com\n", "utf-8")
    result = run("eval", rules, leads, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["lead"] for x in result.stdout.splitlines()] == ["X-1", "X-2"]


def test_most_records_failing_gives_a_format_hint(rules: Path):
    piped = run("eval", rules, "-", "--as-of", AS_OF,
                input="lead_id,email\nX-1,a@b.com\nX-2,b@b.com\n")
    assert piped.exit_code == 1
    assert len(piped.stdout.splitlines()) == 3  # every record still gets its error record
    assert "funnel: hint: standard input looks like CSV: use --input-format csv" \
        in piped.stderr


# --------------------------------------------------------------------------- row 9


@pytest.mark.parametrize(("line", "message", "hint"), [
    ("require fit >= 40 AND vip", "unexpected `AND`", "keywords are lower case: write `and`"),
    ("require NOT vip", "unexpected `NOT`", "keywords are lower case: write `not`"),
    ("require vip == True", "`True` is not a value of the language", "write `true`"),
    ("require Company.Annual Revenue >= 5", "unexpected `Revenue` after the field",
     "a key with spaces is written in backticks: Company.`Annual Revenue`"),
])
def test_common_typos_get_a_hint(rules: Path, line: str, message: str, hint: str):
    (rules / "shop.funnel").write_text(POLICY.replace("require fit >= 30", line), "utf-8")
    result = run("check", rules)
    assert result.exit_code == 1
    assert message in result.stdout, result.stdout
    assert f"help: {hint}" in result.stdout, result.stdout


def test_expect_without_score_gets_a_hint(rules: Path):
    (rules / "ex.funnel").write_text(
        'example "x" {\n  at "2026-11-02T15:00:00Z"\n  lead {"lead_id": "A"}\n'
        "  expect fit 35\n}\n", "utf-8")
    result = run("check", rules)
    assert result.exit_code == 1
    assert "help: a score is expected as `expect score fit 35`" in result.stdout
