"""The command line's options in combination, as a daily user meets them (session 15,
`everyday`): a Parquet export where a command reads text, `--explain` with a Parquet
input, `funnel test -o` in every format, and help texts that say what the commands do.
Each test fails on the code before it."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

POLICY = """\
policy shop "Shop"
version "3"
id lead_id
team mk "@s/marketing"

funnel lead -> mql

score fit owned by mk {
  +30 if vip
}

stage lead owned by mk {
  require email is present
}

stage mql owned by mk {
  require fit >= 30
}

example "a VIP is an MQL" {
  at "2026-11-02T15:00:00Z"
  lead {"lead_id": "L-1", "email": "a@b.com", "vip": true}
  expect stage mql
}
"""

AS_OF = "2026-11-02T15:00:00Z"
LEADS = [{"lead_id": "L-1", "email": "a@b.com", "vip": True},
         {"lead_id": "L-2", "email": "b@b.com"}]


def run(*args: object, input: str | bytes | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "shop.funnel").write_text(POLICY, "utf-8")
    return folder


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    """The two leads as a Parquet file, as a warehouse export gives them."""
    jsonl = tmp_path / "leads.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in LEADS), "utf-8")
    path = tmp_path / "leads.parquet"
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT * FROM read_json_auto('{jsonl}')) TO '{path}' "
                    "(FORMAT parquet)")
    finally:
        con.close()
    return path


# --------------------------------------------------------------------------- Parquet


def test_eval_of_parquet_on_standard_input_says_why(rules: Path, parquet: Path):
    """`--input-format parquet` with `-`: it said "-: no such file"; `funnel report`
    already said this."""
    data = parquet.read_bytes()
    for command in ("eval", "report"):
        result = run(command, rules, "-", "--input-format", "parquet", "--as-of", AS_OF,
                     input=data)
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr == ("funnel: Parquet cannot be read from standard input: "
                                 "give the file's path\n"), command
        # without --input-format standard input is read as JSON Lines: the same words,
        # not "standard input: not UTF-8 text (byte 5)"
        result = run(command, rules, "-", "--as-of", AS_OF, input=data)
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr == ("funnel: Parquet cannot be read from standard input: "
                                 "give the file's path\n"), command


def test_a_parquet_file_without_its_extension_is_named(rules: Path, parquet: Path,
                                                        tmp_path: Path):
    dat = tmp_path / "leads.dat"
    dat.write_bytes(parquet.read_bytes())
    result = run("eval", rules, dat, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr == (f"funnel: {dat}: a Parquet file: give --input-format parquet, "
                             "or name it *.parquet\n")
    # and what the message says works
    result = run("eval", rules, dat, "--input-format", "parquet", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["stage"] for line in result.stdout.splitlines()] == ["mql", "lead"]


@pytest.mark.parametrize("lead", ["{p}:1", "{p}"])
def test_explain_says_it_does_not_read_parquet(rules: Path, parquet: Path, lead: str):
    """It said "not UTF-8 text (byte 5); export the leads as UTF-8 JSON Lines, JSON or
    CSV" of a file that `eval` and `report` read."""
    extra = ["--id", "L-1"] if lead == "{p}" else []
    result = run("explain", rules, lead.format(p=parquet), *extra, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr == (f"funnel: {parquet}: a Parquet file: `funnel explain` reads "
                             "leads from JSON Lines, JSON or CSV\n")


def test_eval_explain_with_a_parquet_input_is_refused_not_dropped(rules: Path,
                                                                   parquet: Path):
    """`--explain` was accepted with a Parquet input and every record came out without
    its trace (exit 0)."""
    result = run("eval", rules, parquet, "--explain", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "--explain reads the leads as text" in result.stderr
    assert result.stdout == ""
    # the same leads as JSON Lines do get their trace
    jsonl = parquet.with_suffix(".jsonl")
    result = run("eval", rules, jsonl, "--explain", "--as-of", AS_OF)
    assert result.exit_code == 0
    assert all("trace" in json.loads(line) for line in result.stdout.splitlines())


# --------------------------------------------------------------------------- funnel test


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_test_to_a_file_still_says_the_outcome(rules: Path, tmp_path: Path, fmt: str):
    """docs/testing.md: with -o, "the last line (`N passed, N failed`) still goes to the
    terminal". With the text format nothing did."""
    out = tmp_path / f"report.{fmt}"
    result = run("test", rules, "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 passed, 0 failed\n"
    assert out.stat().st_size > len(result.stdout)


# --------------------------------------------------------------------------- help texts


def _help(command: str) -> str:
    result = CliRunner().invoke(main, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    return " ".join(result.stdout.split())


def test_sql_help_says_the_statement_decides_as_of_its_run():
    """Spec section 10: "without it the query uses the time it runs" (it said "Default:
    now", which reads as the time the SQL is printed)."""
    text = _help("sql")
    assert "Default: the time the statement runs (CURRENT_TIMESTAMP)" in text
    assert "Default: now" not in text


def test_eval_help_names_parquet_and_where_jobs_apply():
    text = _help("eval")
    assert "LEADS is JSON Lines, a JSON array, CSV or Parquet (by extension)" in text
    assert "python engine, no Parquet in or out" in text


# --------------------------------------------------------------------------- PATH


@pytest.mark.parametrize("command", ["check", "test"])
def test_a_project_root_names_the_policy_folder_in_it(rules: Path, command: str,
                                                      monkeypatch):
    """`funnel init DIR` puts the policy in DIR/rules; `funnel check` typed in DIR (PATH
    defaults to the current directory) said only "no *.funnel files in this directory"."""
    monkeypatch.chdir(rules.parent)
    result = run(command)
    assert result.exit_code == 2
    assert result.stderr == ("funnel: .: no *.funnel files in this directory; its folder "
                             f"rules holds a policy: give that as PATH (`funnel {command} "
                             "rules`)\n")
    assert run(command, "rules").exit_code == 0


def test_a_folder_without_a_policy_below_it_is_said_as_before(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes").mkdir()
    result = run("check", tmp_path / "empty")
    assert result.exit_code == 2
    assert result.stderr == f"funnel: {tmp_path / 'empty'}: no *.funnel files in this directory\n"


def test_report_takes_j_as_eval_and_diff_do(rules: Path, tmp_path: Path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps(r) + "\n" for r in LEADS), "utf-8")
    one = run("report", rules, leads, "--as-of", AS_OF, "--format", "json", "-j", "1")
    assert one.exit_code == 0, one.output
    assert one.stdout == run("report", rules, leads, "--as-of", AS_OF, "--format", "json",
                             "--jobs", "1").stdout


# --------------------------------------------------------------------------- --delimiter


def test_a_delimiter_for_an_input_that_is_not_csv_is_refused(rules: Path, tmp_path: Path):
    """`crm-export | funnel eval rules - --delimiter ';'`: the option was taken, the CSV
    read as JSON Lines and every line refused (exit 1)."""
    csv = "lead_id;email;vip\nL-1;a@b.com;true\nL-2;b@b.com;false\n"
    result = run("eval", rules, "-", "--delimiter", ";", "--as-of", AS_OF, input=csv)
    assert result.exit_code == 2
    assert result.stderr == ("funnel: --delimiter is for CSV input, and standard input is "
                             "read as JSON Lines unless --input-format says otherwise: add "
                             "--input-format csv\n")
    result = run("eval", rules, "-", "--delimiter", ";", "--input-format", "csv",
                 "--as-of", AS_OF, input=csv)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["stage"] for line in result.stdout.splitlines()] == ["mql", "lead"]
    jsonl = tmp_path / "leads.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in LEADS), "utf-8")
    result = run("eval", rules, jsonl, "--delimiter", ";", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr == (f"funnel: --delimiter is for CSV input, and {jsonl} is read as "
                             "JSON Lines by its extension: give --input-format csv if it "
                             "holds CSV\n")
    result = run("eval", rules, jsonl, "--delimiter", ";", "--input-format", "json",
                 "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stderr == "funnel: --delimiter is for CSV input, and --input-format says JSON\n"
    # a file whose extension names no format is read by its bytes: the option stays
    txt = tmp_path / "export.txt"
    txt.write_text(csv, "utf-8")
    result = run("eval", rules, txt, "--delimiter", ";", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", [["check", "-"], ["test", "-"], ["docs", "-"], ["sql", "-"],
                                  ["eval", "-", "leads.jsonl"]])
def test_a_policy_on_standard_input_is_said_to_be_unsupported(rules: Path, args: list[str]):
    """`funnel check - < policy.funnel` said "-: no such file or directory"."""
    result = run(*args, input=(rules / "shop.funnel").read_text("utf-8"))
    assert result.exit_code == 2
    assert result.stderr == ("funnel: a policy is read from a folder of *.funnel files or one "
                             "file, not standard input (`-`); only `funnel fmt -` reads "
                             "standard input\n")


# --------------------------------------------------------------------------- fmt


def test_fmt_check_of_standard_input_says_its_verdict(rules: Path):
    """`funnel fmt --check rules` says "1 file would be reformatted"; `fmt --check -`
    said nothing, only its exit status told."""
    messy = 'policy  shop "Shop"\n'
    result = run("fmt", "--check", "-", input=messy)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "standard input would be reformatted\n"
    result = run("fmt", "--check", "-", input='policy shop "Shop"\n')
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "standard input already formatted\n"
    result = run("fmt", "--diff", "-", input=messy)
    assert result.exit_code == 1 and result.stdout.startswith("--- <stdin>\n")
    assert result.stderr == "standard input would be reformatted\n"


# --------------------------------------------------------------------------- report


def test_a_handoff_with_no_rejection_says_so(rules: Path, tmp_path: Path):
    """Under "0 rejected of 1 handed over" the rejection table said "no leads"."""
    handoff = ('team sales "@s/sales"\n\nhandoff mql to sales {\n  route "ae" otherwise\n'
               '  reject to nurture with reason why in ["no fit"]\n}\n\n'
               'state nurture "Nurture" owned by mk\n\n')
    policy = POLICY.replace('example "a VIP', handoff + 'example "a VIP')
    (rules / "shop.funnel").write_text(policy, "utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps(r) + "\n" for r in LEADS), "utf-8")
    result = run("report", rules, leads, "--as-of", AS_OF, "--format", "markdown")
    assert result.exit_code == 0, result.output
    text = result.stdout.split("rejection reasons", 1)[1]
    assert text.startswith("\n\n0 rejected of 1 handed over (0.0%)\n\n_no lead was rejected_\n")


# --------------------------------------------------------------------------- -o -


@pytest.mark.parametrize("args", [
    ["eval", "{rules}", "{leads}", "--as-of", AS_OF],
    ["eval", "{rules}", "{leads}", "--as-of", AS_OF, "--format", "csv"],
    ["docs", "{rules}"],
    ["report", "{rules}", "{leads}", "--as-of", AS_OF, "--format", "json"],
    ["test", "{rules}", "--format", "junit"],
    ["diff", "{rules}", "{rules}"],
])
def test_o_dash_is_standard_output(rules: Path, tmp_path: Path, monkeypatch, args: list[str]):
    """`-o -` wrote a file named `-` in the current folder, in every command."""
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps(r) + "\n" for r in LEADS), "utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = [a.format(rules=rules, leads=leads) for a in args]
    plain = run(*argv)
    dashed = run(*argv, "-o", "-")
    assert (dashed.exit_code, dashed.stdout) == (plain.exit_code, plain.stdout)
    assert dashed.stdout
    assert list(work.iterdir()) == []
