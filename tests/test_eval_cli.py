"""`funnel eval` and `funnel explain` through click's CliRunner: output and exit status."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.engine.decision import dumps

POLICY = """\
policy shop "Shop"
version "3"
schema "lead.schema.json"
id lead_id
team mk "@s/marketing"
team sales "@s/sales"

funnel lead -> mql -> sal

score fit owned by mk {
  +30 if vip
  +1 per visits up to 20
  +10 if company.employees >= 100
}

stage lead owned by mk {
  require email is present
}

stage mql owned by mk {
  require fit >= 30
}

stage sal owned by sales {
  require accepted_at is present
}

state nurture owned by mk

handoff mql to sales {
  route "ae" if company.employees >= 1000
  route "sdr" otherwise
  sla 4 hours from mql_at until accepted_at
  reject to nurture with reason why in ["bad fit"]
}
"""

SCHEMA = {
    "type": "object",
    "required": ["lead_id"],
    "properties": {
        "lead_id": {"type": "string"},
        "email": {"type": ["string", "null"]},
        "vip": {"type": ["boolean", "null"]},
        "visits": {"type": ["integer", "null"], "minimum": 0},
        "company": {"type": ["object", "null"],
                    "properties": {"employees": {"type": ["integer", "null"]}}},
        "mql_at": {"type": ["string", "null"], "format": "date-time"},
        "accepted_at": {"type": ["string", "null"], "format": "date-time"},
        "why": {"type": ["string", "null"]},
    },
}

AS_OF = "2026-11-02T15:00:00Z"
AT = datetime(2026, 11, 2, 15, tzinfo=UTC)

GOOD = [
    {"lead_id": "L-1", "email": "a@big.com", "vip": True, "visits": 12,
     "company": {"employees": 5000}, "mql_at": "2026-11-02T10:00:00Z"},
    {"lead_id": "L-2", "email": "b@small.com", "visits": 3},
    {"lead_id": "L-3", "email": "c@mid.com", "vip": True, "company": {"employees": 300},
     "mql_at": "2026-11-02T12:00:00Z", "why": "bad fit"},
]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "shop.funnel").write_text(POLICY, "utf-8")
    (folder / "lead.schema.json").write_text(json.dumps(SCHEMA), "utf-8")
    return folder


@pytest.fixture
def shop(rules: Path) -> policy.Policy:
    return policy.load(rules)


def run(*args: object, input: str | bytes | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def jsonl(records: list) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def expected(shop: policy.Policy, lead: object, line: int) -> str:
    try:
        return dumps(shop.evaluate(lead, as_of=AT))
    except policy.LeadError as err:
        return dumps(err.with_line(line))


# --------------------------------------------------------------------------- eval


def test_every_record_yields_one_output_record_in_order(rules, shop, tmp_path):
    refused = {"lead_id": "L-5", "visits": -2}
    lines = [GOOD[0], "{not json", GOOD[1], refused, GOOD[2]]
    leads = tmp_path / "leads.jsonl"
    leads.write_text(jsonl(lines), "utf-8")
    result = run("eval", rules, leads, "--as-of", AS_OF)
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert out[0] == expected(shop, GOOD[0], 1)
    assert json.loads(out[1]) == {"lead": None, "line": 2, "error": {
        "message": "not valid JSON: Expecting property name enclosed in double quotes at column 2",
        "problems": [{"path": "", "message": "not valid JSON: Expecting property name enclosed"
                                             " in double quotes at column 2"}]}}
    assert out[2] == expected(shop, GOOD[1], 3)
    assert out[3] == expected(shop, refused, 4)
    assert json.loads(out[3])["lead"] == "L-5"
    assert out[4] == expected(shop, GOOD[2], 5)
    assert len(out) == 5
    problem = json.loads(out[3])["error"]["problems"][0]
    assert problem["path"] == "visits"
    assert result.stderr == (
        "2 of 5 leads refused: line 2 (not valid JSON: Expecting property name enclosed in "
        f"double quotes at column 2), line 4 (visits: {problem['message']})\n"
    )


def test_all_decided_exits_0_and_stays_quiet(rules, shop, tmp_path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text(jsonl(GOOD), "utf-8")
    result = run("eval", rules, leads, "--as-of", AS_OF)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [expected(shop, lead, i) for i, lead in
                                          enumerate(GOOD, 1)]


def test_standard_input_is_the_default(rules, shop):
    for args in (["eval", rules, "--as-of", AS_OF], ["eval", rules, "-", "--as-of", AS_OF]):
        result = run(*args, input=jsonl(GOOD))
        assert result.exit_code == 0, result.output
        assert [json.loads(x)["lead"] for x in result.stdout.splitlines()] == ["L-1", "L-2", "L-3"]


def test_json_array_in_and_json_out(rules, shop, tmp_path):
    leads = tmp_path / "leads.json"
    leads.write_text(json.dumps([GOOD[0], [1, 2], GOOD[1]]), "utf-8")
    result = run("eval", rules, leads, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1
    records = json.loads(result.stdout)
    assert [json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) for r in records] == [
        expected(shop, GOOD[0], 1), expected(shop, [1, 2], 2), expected(shop, GOOD[1], 3)]
    assert records[1]["error"]["message"] == "expected a JSON object, found array"


def test_an_empty_input_gives_an_empty_output(rules):
    assert (run("eval", rules, "--as-of", AS_OF, input="").stdout, 0) == ("", 0)
    result = run("eval", rules, "--as-of", AS_OF, "--format", "json", input="\n\n")
    assert (result.exit_code, json.loads(result.stdout)) == (0, [])


def test_csv_cells_are_typed_by_the_schema(rules, shop, tmp_path):
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "lead_id,email,vip,visits,company.employees,mql_at\n"
        "L-1,a@big.com,yes,12,5000,2026-11-02T10:00:00Z\n"
        "L-2,b@small.com,false,abc,,\n"
        "L-3,,TRUE,0,10,\n",
        "utf-8",
    )
    result = run("eval", rules, leads, "--as-of", AS_OF)
    assert result.exit_code == 1
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert json.dumps(out[0], separators=(", ", ": "), ensure_ascii=False) == expected(
        shop, {"lead_id": "L-1", "email": "a@big.com", "vip": True, "visits": 12,
               "company": {"employees": 5000}, "mql_at": "2026-11-02T10:00:00Z"}, 2)
    assert out[0]["scores"] == {"fit": 52}
    assert out[1]["line"] == 3
    assert out[1]["lead"] == "L-2"
    assert [p["path"] for p in out[1]["error"]["problems"]] == ["visits"]
    # an empty cell is missing: no email, so not even the first stage
    assert (out[2]["lead"], out[2]["reached"], out[2]["scores"]) == ("L-3", None, {"fit": 30})
    assert "line 3 (visits: expected integer" in result.stderr


def test_input_format_overrides_the_extension(rules, tmp_path):
    leads = tmp_path / "export.txt"
    leads.write_text("lead_id,email\nL-9,x@y.com\n", "utf-8")
    result = run("eval", rules, leads, "--input-format", "csv", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reached"] == "lead"
    # an extension that names no format: the content says CSV (spec section 9, v1.1)
    assert run("eval", rules, leads, "--as-of", AS_OF).exit_code == 0
    forced = run("eval", rules, leads, "--input-format", "jsonl", "--as-of", AS_OF)
    assert forced.exit_code == 1 and "looks like CSV: use --input-format csv" in forced.stderr


def test_csv_output_is_the_tabular_form(rules, shop, tmp_path):
    """Issue 14 row 6: every handoff with its SLA start and due, and `next`, so an SDR SLA
    sheet can be built from the CSV (spec section 9, tabular decisions)."""
    leads = tmp_path / "leads.jsonl"
    leads.write_text(jsonl([*GOOD, {"email": "x"}]), "utf-8")
    result = run("eval", rules, leads, "--as-of", AS_OF, "--format", "csv")
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "line", "lead", "policy_name", "policy_version", "policy_digest", "as_of", "stage",
        "reached", "reason", "score_fit", "next_stage", "next_unmet",
        "handoff_mql_team", "handoff_mql_route", "handoff_mql_sla_status",
        "handoff_mql_sla_start", "handoff_mql_sla_due", "handoff_mql_sla_stop",
        "handoff_mql_escalate_to", "handoff_mql_rejected", "handoff_mql_rejection_reason",
        "violations", "error", "error_paths"]
    first = rows[0]
    assert (first["line"], first["lead"], first["stage"], first["score_fit"]) == (
        "1", "L-1", "mql", "52")
    assert (first["policy_name"], first["policy_version"]) == ("shop", "3")
    assert first["policy_digest"] == shop.info.digest and first["as_of"] == AS_OF
    assert first["next_stage"] == "sal" and json.loads(first["next_unmet"]) == [
        "accepted_at is present"]
    assert (first["handoff_mql_team"], first["handoff_mql_route"],
            first["handoff_mql_sla_status"], first["handoff_mql_sla_start"],
            first["handoff_mql_sla_due"], first["handoff_mql_sla_stop"]) == (
        "sales", "ae", "breached", "2026-11-02T10:00:00Z", "2026-11-02T14:00:00Z", "")
    assert first["handoff_mql_rejected"] == "false"
    assert (first["violations"], first["error"], first["error_paths"]) == ("[]", "", "[]")
    # a handoff that does not apply has empty cells
    assert rows[1]["handoff_mql_route"] == "" and rows[1]["handoff_mql_rejected"] == ""
    assert (rows[2]["stage"], rows[2]["reason"], rows[2]["handoff_mql_rejection_reason"]) == (
        "nurture", "bad fit", "bad fit")
    refused = rows[3]
    assert (refused["line"], refused["stage"], refused["error"]) == (
        "4", "", "the lead does not match the schema")
    assert json.loads(refused["error_paths"]) == ["lead_id"]
    assert refused["policy_name"] == "shop" and refused["as_of"] == AS_OF


def test_table_output_is_aligned(rules, tmp_path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text(jsonl([*GOOD, {"email": "x"}]), "utf-8")
    result = run("eval", rules, leads, "--as-of", AS_OF, "--format", "table")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [x.strip() for x in lines[0].split("  ") if x.strip()] == [
        "line", "lead", "stage", "fit", "mql route", "mql sla", "mql escalate", "notes"]
    assert set(lines[1]) <= {"-", " "}
    column = lines[0].index("mql route")
    assert lines[2][column:].startswith("ae ")
    assert lines[4][column:].startswith("sdr ")
    assert "nurture (reached mql)" in lines[4]
    assert "reason: bad fit" in lines[4]
    assert "refused" in lines[5] and "lead_id: required field is missing" in lines[5]
    assert len(lines) == 6


def test_table_view_never_cuts_the_line_or_the_lead_id(rules, tmp_path):
    """Issue 14 row 3: widths come from the first rows, but a later, longer line number
    or lead id is printed whole, so `explain FILE:N` and `--id` work from what is shown."""
    leads = tmp_path / "leads.jsonl"
    short = [{"lead_id": f"L-{i}", "email": "a@b.com"} for i in range(150)]
    long_id = "00Q5e00000AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789"
    records = [*short, *([""] * 900), {"lead_id": long_id, "email": "a@b.com"}]
    leads.write_text(jsonl(records), "utf-8")
    result = run("eval", rules, leads, "--as-of", AS_OF, "--format", "table")
    assert result.exit_code == 0, result.output
    last = result.stdout.splitlines()[-1]
    assert last.split()[:2] == ["1051", long_id]
    assert "…" not in last.split("  ")[0]


def test_explain_adds_the_trace_to_json_output(rules, tmp_path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text(jsonl(GOOD[:1]), "utf-8")
    plain = json.loads(run("eval", rules, leads, "--as-of", AS_OF).stdout)
    traced = json.loads(run("eval", rules, leads, "--as-of", AS_OF, "--explain").stdout)
    trace = traced.pop("trace")
    assert traced == plain
    assert trace[0]["kind"] == "score" and trace[0]["rule"] == "+30 if vip"
    result = run("eval", rules, leads, "--format", "csv", "--explain")
    assert result.exit_code == 2
    assert "--explain adds the trace to JSON output" in result.stderr


def test_output_file(rules, shop, tmp_path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text(jsonl(GOOD), "utf-8")
    out = tmp_path / "out" / "decisions.jsonl"
    out.parent.mkdir()
    result = run("eval", rules, leads, "--as-of", AS_OF, "-o", out)
    assert (result.exit_code, result.stdout) == (0, "")
    assert out.read_text("utf-8").splitlines() == [expected(shop, lead, i)
                                                   for i, lead in enumerate(GOOD, 1)]
    result = run("eval", rules, leads, "-o", tmp_path / "missing" / "x.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("funnel: ") and "cannot write" in result.stderr


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_parquet_output_into_a_missing_folder_is_refused_before_deciding(rules, tmp_path,
                                                                          engine):
    """A Parquet file is opened only when the decisions are written: a folder that does
    not exist was a FileNotFoundError traceback after the whole run."""
    pytest.importorskip("duckdb")
    leads = tmp_path / "leads.jsonl"
    leads.write_text(jsonl(GOOD), "utf-8")
    target = tmp_path / "missing" / "x.parquet"
    result = run("eval", rules, leads, "--as-of", AS_OF, "--engine", engine, "-o", target)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"funnel: {target}: cannot write: No such file or directory\n"
    assert not target.parent.exists()


@pytest.mark.parametrize(
    ("as_of", "expected_as_of"),
    [("2026-11-02T15:00:00Z", "2026-11-02T15:00:00Z"),
     ("2026-11-02T15:00:00", "2026-11-02T15:00:00Z"),  # no offset: UTC
     ("2026-11-02T16:00:00+01:00", "2026-11-02T15:00:00Z"),
     ("2026-11-02", "2026-11-02T00:00:00Z")],
)
def test_as_of(rules, as_of, expected_as_of):
    result = run("eval", rules, "--as-of", as_of, input=jsonl(GOOD[:1]))
    assert json.loads(result.stdout)["as_of"] == expected_as_of


def test_as_of_defaults_to_now_and_refuses_nonsense(rules):
    before = time.time()
    record = json.loads(run("eval", rules, input=jsonl(GOOD[:1])).stdout)
    stamp = datetime.fromisoformat(record["as_of"].replace("Z", "+00:00")).timestamp()
    assert before - 1 <= stamp <= time.time() + 1
    result = run("eval", rules, "--as-of", "yesterday", input=jsonl(GOOD[:1]))
    assert result.exit_code == 2
    assert "expected an ISO-8601 date or date-time" in result.stderr


def test_unreadable_input_exits_2_with_one_line(rules, tmp_path):
    result = run("eval", rules, tmp_path / "nope.jsonl")
    assert result.exit_code == 2
    assert result.stderr == f"funnel: {tmp_path / 'nope.jsonl'}: cannot read: " \
                            "No such file or directory\n"
    utf16 = tmp_path / "leads.jsonl"
    utf16.write_bytes(jsonl(GOOD).encode("utf-16"))  # with a byte-order mark: read (v1.1)
    read = run("eval", rules, utf16, "--as-of", AS_OF)
    assert read.exit_code == 0 and len(read.stdout.splitlines()) == len(GOOD)
    picture = tmp_path / "leads.jsonl"
    picture.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)))
    result = run("eval", rules, picture)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"funnel: {picture}: not UTF-8 text (byte 0)")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    result = run("eval", rules, tmp_path)
    assert (result.exit_code, result.stderr.count("\n")) == (2, 1)


def test_a_bad_byte_past_the_first_64_kib_is_an_error_record_of_its_line(rules, tmp_path):
    """The head of a file decides whether it is UTF-8 at all (else exit 2, above); a
    stray bad byte only spoils its own record, wherever it is."""
    head = jsonl(GOOD[:1]).encode() * 600
    assert len(head) > 1 << 16
    leads = tmp_path / "leads.jsonl"
    leads.write_bytes(head + b'{"lead_id": "L-\xff"}\n' + jsonl(GOOD[1:2]).encode())
    result = run("eval", rules, leads, "--as-of", AS_OF)
    assert result.exit_code == 1
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(out) == 602
    assert [r.get("line") for r in out[-3:]] == [None, 601, None]
    assert "not valid UTF-8" in out[-2]["error"]["message"]
    small = tmp_path / "small.jsonl"
    small.write_bytes(b'{"lead_id": "L-\xff"}\n' + jsonl(GOOD[1:2]).encode())
    result = run("eval", rules, small, "--as-of", AS_OF)
    assert result.exit_code == 1
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r.get("line") for r in out] == [1, None]
    assert "not valid UTF-8" in out[0]["error"]["message"]
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"lead_id": "Müller, Renée, Zoë"}\n'.encode("latin-1"))
    result = run("eval", rules, latin1)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"funnel: {latin1}: not UTF-8 text (byte 14)")


def test_an_unusable_csv_header_exits_2(rules, tmp_path):
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,email,lead_id\nL-1,a@b.com,L-1\n", "utf-8")
    result = run("eval", rules, leads)
    assert result.exit_code == 2
    assert result.stderr == f"funnel: {leads}: CSV header: column 'lead_id' appears twice\n"


def test_a_policy_with_errors_exits_1_with_its_diagnostics(rules, tmp_path):
    (rules / "shop.funnel").write_text(POLICY.replace("require fit >= 30", "require fiit >= 30"))
    result = run("eval", rules, input=jsonl(GOOD))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "E101" in result.stderr and "fiit" in result.stderr
    result = run("eval", tmp_path / "no-policy", input=jsonl(GOOD))
    assert result.exit_code == 2


def test_help_shows_examples():
    for command in ("eval", "explain"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout
        assert f"funnel {command} rules " in result.stdout


LINES = int(os.environ.get("FUNNEL_EVAL_LINES", "100000"))


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def test_a_long_jsonl_file_streams_one_record_per_line(tmp_path):
    """100,000 lines (FUNNEL_EVAL_LINES to change it), one broken in the middle."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "tiny.funnel").write_text(
        'policy tiny "Tiny"\nid n\nteam mk "@t/mk"\nfunnel cold -> warm\n'
        "score heat owned by mk {\n  +1 per visits up to 50\n}\n"
        "stage cold owned by mk {\n  require n >= 0\n}\n"
        "stage warm owned by mk {\n  require heat >= 10\n}\n", "utf-8")
    broken = LINES // 2
    leads = tmp_path / "leads.jsonl"
    with leads.open("w", encoding="utf-8") as f:
        for n in range(1, LINES + 1):
            f.write('{"n": 1, "visits": [' if n == broken else f'{{"n": {n}, "visits": {n % 20}}}')
            f.write("\n")
    # CPU time (the worker processes --jobs forks included), not the wall clock: a busy
    # CI machine must not fail it; the bound is for work that grows with the file in the
    # wrong way, not for this machine's speed
    started = _cpu()
    result = run("eval", folder, leads, "--as-of", AS_OF)
    elapsed = _cpu() - started
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    assert len(out) == LINES
    errors = [i for i, line in enumerate(out, 1) if '"error"' in line]
    assert errors == [broken]
    assert json.loads(out[broken - 1])["line"] == broken
    assert all(json.loads(out[i - 1])["lead"] == i for i in (1, broken - 1, broken + 1, LINES))
    assert json.loads(out[-1])["reached"] == ("warm" if LINES % 20 >= 10 else "cold")
    assert result.stderr.startswith(f"1 of {LINES} leads refused: line {broken} (not valid JSON")
    assert elapsed < 30, f"{LINES} leads took {elapsed:.1f} CPU-s"


# --------------------------------------------------------------------------- explain


def test_explain_a_lead_from_a_json_file(rules, shop, tmp_path):
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps(GOOD[0]), "utf-8")
    result = run("explain", rules, lead, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert result.stdout == shop.explain(GOOD[0], as_of=AT)
    assert result.stdout.splitlines()[0] == "Lead L-1 · policy shop 3 · as of 2026-11-02T15:00:00Z"


def test_explain_a_record_of_a_lead_file(rules, shop, tmp_path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text(jsonl(GOOD), "utf-8")
    result = run("explain", rules, f"{leads}:3", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert result.stdout == shop.explain(GOOD[2], as_of=AT)
    result = run("explain", rules, f"{leads}:9", "--as-of", AS_OF)
    assert (result.exit_code, result.stderr) == (2, f"funnel: {leads} has no lead at line 9\n")
    result = run("explain", rules, leads, "--as-of", AS_OF)
    assert result.exit_code == 2 and "holds more than one lead" in result.stderr
    table = tmp_path / "leads.csv"
    table.write_text("lead_id,email,vip\nL-7,a@b.com,yes\n", "utf-8")
    result = run("explain", rules, f"{table}:2", "--as-of", AS_OF)
    assert result.exit_code == 0
    assert result.stdout == shop.explain({"lead_id": "L-7", "email": "a@b.com", "vip": True},
                                         as_of=AT)


def test_explain_a_lead_inline_or_from_standard_input(rules, shop):
    inline = run("explain", rules, json.dumps(GOOD[1]), "--as-of", AS_OF)
    piped = run("explain", rules, "-", "--as-of", AS_OF, input=json.dumps(GOOD[1]))
    assert inline.exit_code == piped.exit_code == 0
    assert inline.stdout == piped.stdout == shop.explain(GOOD[1], as_of=AT)


def test_explain_a_refused_lead_exits_1_with_its_problems(rules):
    result = run("explain", rules, '{"email": "a@b.com"}', "--as-of", AS_OF)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "funnel: the lead given inline: the lead is refused: the lead does not match the schema\n"
        "  lead_id: required field is missing\n"
    )


def test_explain_refuses_what_is_not_a_lead(rules, tmp_path):
    assert run("explain", rules, tmp_path / "nope.json").exit_code == 2
    assert run("explain", rules, "{not json").exit_code == 2
    array = tmp_path / "lead.json"
    array.write_text("[1]", "utf-8")
    result = run("explain", rules, array)
    assert result.exit_code == 1
    assert "expected a JSON object, found integer" in result.stderr
