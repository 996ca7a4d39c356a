"""Bad input everywhere: every command, every kind of broken input.

Each case must end with the documented exit status (spec section 9: 1 when the
input was read and problems were found, 2 when it cannot be read at all or the
usage is wrong), a first line that names the cause (and the file), and never a
traceback. Cases are a table; the fixtures build the broken inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

POLICY = '''policy p "Tiny"
version "1"
schema "lead.schema.json"
id lead_id

team marketing "@m"

funnel lead -> mql

score fit owned by marketing {
  +50 if employees >= 100
}

stage lead owned by marketing {
  require email is present
}

stage mql owned by marketing {
  require fit >= 50
}
'''

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["lead_id"],
    "properties": {
        "lead_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "employees": {"type": ["integer", "null"]},
    },
}

GOOD_LEAD = {"lead_id": "L-1", "email": "a@b.com", "employees": 500}


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A folder holding a good policy and every kind of broken input next to it."""
    good = tmp_path / "good"
    good.mkdir()
    (good / "policy.funnel").write_text(POLICY)
    (good / "lead.schema.json").write_text(json.dumps(SCHEMA))

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "policy.funnel").write_text("")

    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "policy.funnel").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20)

    (tmp_path / "noheader").mkdir()
    (tmp_path / "noheader" / "policy.funnel").write_text(
        POLICY.replace('policy p "Tiny"\n', "").replace('schema "lead.schema.json"\n', "")
    )

    (tmp_path / "nopolicy").mkdir()
    (tmp_path / "nopolicy" / "notes.txt").write_text("not a policy")

    badschema = tmp_path / "badschema"
    badschema.mkdir()
    (badschema / "policy.funnel").write_text(POLICY)
    (badschema / "lead.schema.json").mkdir()  # a directory where the schema file should be

    (tmp_path / "typo").mkdir()
    (tmp_path / "typo" / "policy.funnel").write_text(POLICY.replace("fit >= 50", "fti >= 50"))
    (tmp_path / "typo" / "lead.schema.json").write_text(json.dumps(SCHEMA))

    (tmp_path / "huge").mkdir()
    (tmp_path / "huge" / "policy.funnel").write_text(
        'policy p "x"\ndefine d = ' + " or ".join(["a"] * 50) + " " + "x" * 2_000_000 + "\n"
    )

    leads = tmp_path / "leads"
    leads.mkdir()
    (leads / "good.jsonl").write_text(json.dumps(GOOD_LEAD) + "\n")
    (leads / "broken.jsonl").write_text(
        json.dumps(GOOD_LEAD) + "\n{not json\n" + json.dumps({"lead_id": 7}) + "\n"
    )
    (leads / "broken.json").write_text('[{"lead_id": "A"}, {"lead_id": ')
    (leads / "broken.csv").write_text("lead_id,employees\nA,12\nB,many\nC\n")
    (leads / "empty.jsonl").write_text("")
    (leads / "binary.jsonl").write_bytes(b"\xff\xfe\x00\x01" * 100)
    (leads / "huge.jsonl").write_text(
        json.dumps({**GOOD_LEAD, "notes": "x" * 5_000_000}) + "\n" + json.dumps(GOOD_LEAD) + "\n"
    )
    (leads / "one.json").write_text(json.dumps(GOOD_LEAD))
    (leads / "notobject.json").write_text("[1, 2, 3]")
    return tmp_path


# (command line with {w} for the world folder, exit status, text the first line must hold)
CASES = [
    # a path that does not exist: exit 2, one line
    ("check {w}/missing", 2, "no such file or directory"),
    ("fmt {w}/missing", 2, "missing"),
    ("test {w}/missing", 2, "no such file or directory"),
    ("eval {w}/missing {w}/leads/good.jsonl", 2, "no such file or directory"),
    ("explain {w}/missing {w}/leads/one.json", 2, "no such file or directory"),
    ("docs {w}/missing", 2, "no such file or directory"),
    ("diff {w}/missing {w}/good", 2, "missing"),
    ("eval {w}/good {w}/leads/missing.jsonl", 2, "missing.jsonl"),
    ("explain {w}/good {w}/leads/missing.json", 2, "missing.json"),
    # a folder without policy files: exit 2
    ("check {w}/nopolicy", 2, "no *.funnel files"),
    ("test {w}/nopolicy", 2, "no *.funnel files"),
    ("eval {w}/nopolicy {w}/leads/good.jsonl", 2, "no *.funnel files"),
    ("fmt {w}/nopolicy", 2, "nopolicy"),
    # an empty policy file: read, and the problem is the missing header: exit 1
    ("check {w}/empty", 1, "E108"),
    ("test {w}/empty", 1, "E108"),
    ("eval {w}/empty {w}/leads/good.jsonl", 1, "E108"),
    ("docs {w}/empty", 1, "E108"),
    # a binary file where a policy should be: cannot be read as text: exit 2
    ("check {w}/binary", 2, "not UTF-8"),
    ("fmt {w}/binary", 2, "UTF-8"),
    ("test {w}/binary", 2, "not UTF-8"),
    ("eval {w}/binary {w}/leads/good.jsonl", 2, "not UTF-8"),
    ("docs {w}/binary", 2, "not UTF-8"),
    # a policy without its header
    ("check {w}/noheader", 1, "E108"),
    ("test {w}/noheader", 1, "E108"),
    # a schema that cannot be read
    ("check {w}/badschema", 1, "E110"),
    ("eval {w}/badschema {w}/leads/good.jsonl", 1, "E110"),
    ("test {w}/badschema", 1, "E110"),
    # a typo in a rule: located, with a suggestion
    ("check {w}/typo", 1, "policy.funnel:19:11: error[E101]"),
    ("eval {w}/typo {w}/leads/good.jsonl", 1, "E101"),
    ("explain {w}/typo {w}/leads/one.json", 1, "E101"),
    ("fmt --check {w}/typo", 0, ""),  # a typo is not a layout problem
    # an enormous single line in a policy
    ("check {w}/huge", 1, "E100"),
    # malformed leads: every record still yields one output record; refused ones: exit 1
    ("eval {w}/good {w}/leads/broken.jsonl", 1, '"lead": "L-1"'),
    ("eval {w}/good {w}/leads/broken.json", 1, ""),
    ("eval {w}/good {w}/leads/broken.csv", 1, ""),
    ("eval {w}/good {w}/leads/binary.jsonl", 2, "UTF-8"),
    ("eval {w}/good {w}/leads/empty.jsonl", 0, ""),
    ("eval {w}/good {w}/leads/huge.jsonl", 0, '"lead": "L-1"'),
    ("explain {w}/good {w}/leads/notobject.json", 2, "more than one lead"),
    ("explain {w}/good {w}/leads/broken.jsonl:2", 1, "line 2: not valid JSON"),
    ("explain {w}/good {w}/leads/broken.jsonl:9", 2, "9"),
    # bad usage
    ("eval {w}/good {w}/leads/good.jsonl --as-of yesterday", 2, "yesterday"),
    ("eval {w}/good {w}/leads/good.jsonl --format yaml", 2, "yaml"),
    ("test {w}/good --min-coverage 120", 2, "120"),
    ("check {w}/good --format xml", 2, "xml"),
]


def _first_line(text: str) -> str:
    return next((ln for ln in text.splitlines() if ln.strip()), "")


@pytest.mark.parametrize(("args", "status", "cause"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_its_exit_status_and_a_clear_cause(world: Path, args, status, cause):
    argv = [a.replace("{w}", str(world)) for a in args.split()]
    result = CliRunner().invoke(main, argv)
    everything = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in everything
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: raised {result.exception!r}"
    )
    assert result.exit_code == status, f"{args}: exit {result.exit_code}\n{everything}"
    if status == 2:
        # input that cannot be read, or bad usage: one line on stderr says why (click's
        # usage errors put it on their `Error:` line, after the usage reminder)
        lines = result.stderr.strip().splitlines()
        assert lines and len(lines) <= 4, result.stderr
        assert any(cause in ln for ln in lines), result.stderr
    elif cause:
        assert cause in everything, everything


def test_every_lead_record_yields_exactly_one_output_record(world: Path):
    result = CliRunner().invoke(
        main, ["eval", str(world / "good"), str(world / "leads" / "broken.jsonl")]
    )
    assert result.exit_code == 1
    records = [json.loads(ln) for ln in result.stdout.splitlines()]
    assert [r.get("line") for r in records] == [None, 2, 3]
    assert records[0]["stage"] == "mql"
    assert records[1]["error"]["message"].startswith("not valid JSON")
    assert records[2]["error"]["problems"][0]["path"] == "lead_id"
    assert "2 of 3 leads refused" in result.stderr


def test_a_huge_lead_line_is_decided_like_any_other(world: Path):
    result = CliRunner().invoke(
        main, ["eval", str(world / "good"), str(world / "leads" / "huge.jsonl")]
    )
    assert result.exit_code == 0
    assert [json.loads(ln)["stage"] for ln in result.stdout.splitlines()] == ["mql", "mql"]
