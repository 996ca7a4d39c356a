"""Adversarial cases an outside reviewer tried: each once broke a command or an engine.

Every case here is an input the generators and the other tests did not produce; each
test names what went wrong before its fix. The engines must agree on each one, and no
input may reach the user as a traceback.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

AS_OF = "2026-12-01T16:00:00Z"

TINY = '''policy p "Tiny"
id lead_id
team m "@m"
funnel lead -> mql
score fit owned by m {
  +50 if employees >= 100
}
stage lead owned by m {
  require email is present
}
stage mql owned by m {
  require fit >= 50
}
'''


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "p.funnel").write_text(TINY)
    return tmp_path


def _eval(folder: Path, leads: Path, *args: str):
    return CliRunner().invoke(main, ["eval", str(folder), str(leads), "--as-of", AS_OF, *args])


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_lead_id_beyond_a_doubles_range_is_an_error_record_not_a_traceback(tiny, engine):
    # `{"lead_id": 1e999}` is refused (a number past a double's range), and the error
    # record named the lead by its id, float('inf'): json.dumps raised "Out of range
    # float values are not JSON compliant" and eval ended in a traceback.
    leads = tiny / "leads.jsonl"
    leads.write_text('{"lead_id": 1e999, "email": "a@b"}\n{"lead_id": -1e999}\n'
                     '{"lead_id": "ok", "email": "a@b", "employees": 5}\n')
    result = _eval(tiny, leads, "--engine", engine)
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, ValueError)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("line") for r in records[:2]] == [1, 2]
    assert [r["lead"] for r in records] == [None, None, "ok"]
    assert "beyond a double" in records[0]["error"]["problems"][0]["message"]


BIG = "9" * 400  # a literal past a double's range (1.8e308) but under the 1000-character cap


@pytest.mark.parametrize("line", [f"  +{BIG} if x", f"  +1 per n up to {BIG}.5",
                                  f"  +1 if n > {BIG}", f"  range 0 to {BIG}"])
def test_a_number_literal_past_a_doubles_range_is_a_syntax_error(tmp_path, line):
    # Before: `+999…9 if x` (400 digits) checked clean, then every lead was refused as
    # "a number in the lead cannot be computed with", blaming the lead for the policy's
    # number, and --engine duckdb refused the policy ("has no SQL literal").
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nteam m "@m"\nfunnel a\n'
        f"score s owned by m {{\n{line}\n}}\n"
        "stage a owned by m {\n  require s >= 0\n}\n")
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'p.funnel'}:5:"), first
    assert "error[E100]" in first and "beyond a double" in first, first


# A schema-less policy and a CSV lead whose cells the policy's use types (spec
# section 9): `n` is compared with a number, `flag` is a bare condition.
SCHEMALESS = '''policy p "P"
id lead_id
team m "@m"
funnel a -> b
score s owned by m {
  +1 if n > 10
  +2 if flag
  +4 if name == "x"
}
stage a owned by m {
  require s >= 0
}
stage b owned by m {
  require s >= 7
}
'''
CSV_LEAD = "lead_id,n,flag,name\nA,11,yes,x\n"


@pytest.fixture
def schemaless(tmp_path: Path) -> Path:
    (tmp_path / "p.funnel").write_text(SCHEMALESS)
    (tmp_path / "leads.csv").write_text(CSV_LEAD)
    (tmp_path / "leads.psv").write_text(CSV_LEAD.replace(",", "|"))
    return tmp_path


def _scores(output: str) -> list:
    return [json.loads(line).get("scores") for line in output.splitlines()]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize("leads,extra", [("leads.csv", ()),
                                         ("leads.psv", ("--input-format", "csv",
                                                        "--delimiter", "|"))])
def test_a_schemaless_csv_is_typed_by_the_policy_in_every_engine(schemaless, engine, leads,
                                                                 extra):
    # Before: --engine duckdb read every cell as text (n = "11" is not > 10, "yes" is
    # not a condition): s was 4 where the python engine said 7, and it ignored
    # --delimiter (no column but the first).
    result = _eval(schemaless, schemaless / leads, "--engine", engine, *extra)
    assert result.exit_code == 0, result.output
    assert _scores(result.stdout) == [{"s": 7}]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_schemaless_csv_to_parquet_is_typed_by_the_policy(schemaless, engine):
    import duckdb

    # Before: every CSV -> Parquet run (the python engine's too) read the cells as text.
    out = schemaless / "out.parquet"
    result = _eval(schemaless, schemaless / "leads.csv", "--engine", engine, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert duckdb.sql(f"select score_s from '{out}'").fetchall() == [(7,)]


@pytest.mark.parametrize("lead", [["leads.csv:2"], ["leads.csv", "--id", "A"]])
def test_explain_types_a_schemaless_csv_by_the_policy(schemaless, lead):
    # Before: `funnel explain` read the cells as text and explained s = 4.
    lead[0] = str(schemaless / lead[0])
    result = CliRunner().invoke(main, ["explain", str(schemaless), *lead, "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    assert "s = 7" in result.output, result.output


def test_diff_leads_types_a_schemaless_csv_by_the_policy(schemaless, tmp_path_factory):
    # Before: `diff --leads` read the cells as text: `+1 if n > 10` -> `n > 100` moved no
    # score on n = 11, since "11" was no number to either version.
    head = tmp_path_factory.mktemp("head")
    (head / "p.funnel").write_text(SCHEMALESS.replace("n > 10", "n > 100"))
    result = CliRunner().invoke(main, ["diff", str(schemaless), str(head), "--leads",
                                       str(schemaless / "leads.csv"), "--format", "json",
                                       "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    impact = json.loads(result.stdout)["impact"]
    assert impact["scores"][0]["changed"] == 1, impact
    assert impact["moved"] == 1, impact  # 7 -> 6: b -> a


SLA_POLICY = '''policy p "P"
id lead_id
team m "@m"
team s "@s"
calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
funnel lead -> mql
stage lead owned by m {
  require email is present
}
stage mql owned by m {
  require mql_at is present
}
handoff mql to s {
  route "ae" otherwise
  sla 4 business hours from mql_at until accepted_at
  escalate to "mgr" after 1 business day
}
'''


@pytest.mark.parametrize("as_of", ["0001-01-01T00:00:00Z", "0001-01-03T12:00:00+05:00",
                                   "9999-12-31T23:59:59Z"])
def test_the_duckdb_engine_takes_an_as_of_at_the_ends_of_the_calendar(tmp_path, as_of):
    # Before: the calendar tables span the years around --as-of, and year 0 or 10009
    # is no date: `ValueError: year -9 is out of range`, a traceback.
    (tmp_path / "p.funnel").write_text(SLA_POLICY)
    leads = tmp_path / "leads.jsonl"
    leads.write_text("\n".join(json.dumps({"lead_id": f"L{i}", "email": "a@b", "mql_at": t})
                               for i, t in enumerate(["0001-01-01T10:00:00Z",
                                                      "2026-11-30T10:00:00Z",
                                                      "9999-12-31T10:00:00Z"])) + "\n")
    runner = CliRunner()
    py = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--as-of", as_of])
    duck = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--as-of", as_of,
                                "--engine", "duckdb"])
    assert py.exit_code == 0, py.output
    assert duck.exit_code == 0, duck.output
    assert duck.stdout == py.stdout


@pytest.mark.parametrize("text,status,said", [
    # Before: json.loads read these: NaN and 1e999 were decided (eval refuses both), a
    # byte-order mark on standard input was "not valid JSON", a lone surrogate decided.
    ('{"lead_id": "A", "n": 1e999}', 1, "beyond a double's range"),
    ('{"lead_id": "A", "n": NaN}', 2, "NaN is not a JSON number"),
    ('{"lead_id": "A", "n": -Infinity}', 2, "-Infinity is not a JSON number"),
    ('{"lead_id": "A\\ud800", "n": 1}', 1, "lone surrogate"),
    ('\ufeff{"lead_id": "A", "n": 11, "flag": true, "name": "x"}', 0, "s = 7"),
])
@pytest.mark.parametrize("how", ["inline", "stdin"])
def test_explain_reads_a_lead_given_inline_or_on_stdin_as_eval_reads_a_line(
        schemaless, text, status, said, how):
    if how == "inline":
        if text.startswith("\ufeff"):
            text = text[1:]  # an argument has no byte-order mark
        result = CliRunner().invoke(main, ["explain", str(schemaless), text, "--as-of", AS_OF])
    else:
        result = CliRunner().invoke(main, ["explain", str(schemaless), "-", "--as-of", AS_OF],
                                    input=text.encode("utf-8", "surrogatepass"))
    assert result.exit_code == status, result.output
    assert said in result.output, result.output


def test_funnel_test_text_output_writes_control_characters_as_visible_escapes(tmp_path):
    # Before: an example named with an escape sequence (a policy comes from a pull
    # request) reached the terminal raw: "\x1b[31m" coloured the CI log, "\x01" and a
    # lone surrogate were written as they were (docs/security.md: terminal text).
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nteam m "@m"\nfunnel a\nstage a owned by m {\n  require x\n}\n'
        'example "red \\u001b[31m bell \\u0007 rtl \\u202e half \\ud800" {\n'
        '  at "2026-01-01T00:00:00Z"\n  lead {"x": false}\n  expect stage a\n}\n')
    result = CliRunner().invoke(main, ["test", str(tmp_path)])
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert first.endswith("red \\x1b[31m bell \\x07 rtl \\u202e half \\ud800"), first
    for raw in ("\x1b", "\x07", "\u202e", "\ud800", "\ufffd"):
        assert raw not in result.output


def test_diff_text_writes_control_characters_as_visible_escapes(tmp_path):
    # Before: `funnel diff` printed a changed declaration and a team handle as they
    # were: a bidi override (U+202E) and a bell reached the terminal raw.
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    head.mkdir()
    text = ('policy p "P"\nteam m "@m \\u0007"\nfunnel a\n'
            'stage a owned by m {\n  require x\n}\nstate st "s" owned by m\n'
            'recycle a to st if y "why \\u202e \\ud800"\n')
    (base / "p.funnel").write_text(text)
    (head / "p.funnel").write_text(text.replace("why", "because"))
    result = CliRunner().invoke(main, ["diff", str(base), str(head)])
    assert result.exit_code == 0, result.output
    assert '"because \\u202e \\ud800"' in result.output, result.output
    assert "@m \\x07" in result.output, result.output
    for raw in ("\x07", "\u202e", "\ud800"):
        assert raw not in result.output
    as_json = CliRunner().invoke(main, ["diff", str(base), str(head), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    json.loads(as_json.stdout)


def _csv_export_txt(folder: Path) -> Path:
    path = folder / "export.txt"
    path.write_text(CSV_LEAD)  # a CSV export with an extension that names no format
    return path


@pytest.mark.parametrize("extra", [("--engine", "duckdb"), ("-o", "out.parquet")])
def test_a_lead_file_whose_extension_names_no_format_is_read_by_its_content_everywhere(
        schemaless, extra):
    # docs/decisions.md: `export.txt` holding CSV is CSV. Only the python engine's text
    # path looked at the content: --engine duckdb, Parquet output, report, diff --leads
    # and explain read it as JSON Lines and refused every line ("not valid JSON").
    leads = _csv_export_txt(schemaless)
    extra = tuple(str(schemaless / e) if e.endswith(".parquet") else e for e in extra)
    result = _eval(schemaless, leads, *extra)
    assert result.exit_code == 0, result.output
    if "-o" in extra:
        import duckdb

        assert duckdb.sql(f"select score_s from '{extra[1]}'").fetchall() == [(7,)]
    else:
        assert _scores(result.stdout) == [{"s": 7}]


def test_report_diff_and_explain_read_a_lead_file_by_its_content(schemaless, tmp_path_factory):
    leads = str(_csv_export_txt(schemaless))
    runner = CliRunner()
    report = runner.invoke(main, ["report", str(schemaless), leads, "--as-of", AS_OF,
                                  "--format", "json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["refused"]["count"] == 0
    head = tmp_path_factory.mktemp("head")
    (head / "p.funnel").write_text(SCHEMALESS.replace("n > 10", "n > 100"))
    diff = runner.invoke(main, ["diff", str(schemaless), str(head), "--leads", leads,
                                "--format", "json", "--as-of", AS_OF])
    assert diff.exit_code == 0, diff.output
    assert json.loads(diff.stdout)["impact"]["unreadable"] == 0
    for lead in ([f"{leads}:2"], [leads, "--id", "A"]):
        explained = runner.invoke(main, ["explain", str(schemaless), *lead, "--as-of", AS_OF])
        assert explained.exit_code == 0, explained.output
        assert "s = 7" in explained.output


ODD_IDS = TINY.replace("+50 if employees >= 100",
                       "+50 if employees >= 100\n  +1 if days_since(t) > 1")


@pytest.mark.parametrize("engine,jobs", [("python", "1"), ("python", "2"), ("duckdb", "1")])
def test_an_object_or_list_lead_id_names_an_error_record_as_it_names_a_decision(
        tmp_path, engine, jobs):
    # The decision's `lead` was the id field's object or list, the error record's was
    # null: one rule now, the id as the lead gives it, in every engine and format.
    (tmp_path / "p.funnel").write_text(ODD_IDS)
    leads = tmp_path / "leads.jsonl"
    ids = [{"a": 1}, [1, 2], {"b": [{"c": None}]}, [], "s", 5]
    leads.write_text("".join(json.dumps({"lead_id": i, "email": "e", "t": t}) + "\n"
                             for i in ids for t in ("2026-01-01", "bad")))
    args = ["--engine", engine, "--jobs", jobs]
    out = _eval(tmp_path, leads, *args)
    assert out.exit_code == 1, out.output
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["lead"] for r in records] == [i for i in ids for _ in (1, 2)]
    assert ["error" in r for r in records] == [False, True] * len(ids)
    texts = [i if isinstance(i, str) else json.dumps(i) for i in ids for _ in (1, 2)]
    csv_out = _eval(tmp_path, leads, *args, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert [r["lead"] for r in rows] == texts
    table = _eval(tmp_path, leads, *args, "--format", "table").stdout.splitlines()[2:]
    assert [line.split()[1] for line in table] == [t.split()[0] for t in texts]
    pq = tmp_path / "out.parquet"
    assert _eval(tmp_path, leads, *args, "-o", str(pq)).exit_code == 1
    got = duckdb.sql(f"select lead from '{pq}' order by line").fetchall()
    assert [g for (g,) in got] == texts
    # explain --id finds such a lead by the text every tabular output shows
    found = CliRunner().invoke(main, ["explain", str(tmp_path), str(leads), "--as-of", AS_OF,
                                      "--id", '{"b": [{"c": null}]}'])
    assert found.exit_code == 0 and found.stdout.startswith('Lead {"b": [{"c": null}]}')


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize("field", ["source", "company.employees", "utm_campaign"])
def test_report_refuses_a_cohort_field_the_schema_does_not_make_a_timestamp(engine, field):
    # `--cohort source` put every lead under (missing) and exited 0.
    rules = Path(__file__).resolve().parents[1] / "rules"
    result = CliRunner().invoke(main, ["report", str(rules), str(rules / "leads.jsonl"),
                                       "--cohort", field, "--engine", engine])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"funnel: --cohort {field!r}: the lead schema does not "
                                     "make it a timestamp (a string with format date-time "
                                     "or date)")
    ok = CliRunner().invoke(main, ["report", str(rules), str(rules / "leads.jsonl"), "--as-of",
                                   AS_OF, "--cohort", "mql_at", "--engine", engine,
                                   "--format", "json"])
    assert ok.exit_code == 0 and "2026-11" in json.loads(ok.stdout)["cohorts"]


def test_report_without_a_schema_puts_leads_without_a_cohort_timestamp_under_missing(tiny):
    # without a schema any field is taken; a value that is not a timestamp is (missing)
    leads = tiny / "leads.jsonl"
    leads.write_text('{"lead_id": "a", "email": "x", "src": "web"}\n'
                     '{"lead_id": "b", "email": "x", "src": "2026-11-02T10:00:00Z"}\n')
    for engine in ("python", "duckdb"):
        got = CliRunner().invoke(main, ["report", str(tiny), str(leads), "--as-of", AS_OF,
                                        "--cohort", "src", "--engine", engine,
                                        "--format", "json"])
        assert got.exit_code == 0, got.output
        cohorts = json.loads(got.stdout)["cohorts"]
        assert {k: v["leads"] for k, v in cohorts.items()} == {"2026-11": 1, "(missing)": 1}


@pytest.mark.parametrize("header", ["lead_id,email,email", "lead_id,k,k.a", "lead_id,k.a,k"])
@pytest.mark.parametrize("stdin", [False, True])
def test_an_unusable_csv_header_is_one_message_in_every_engine(tiny, header, stdin):
    # --engine duckdb ended in a LeadFileError traceback (exit 1) where the python
    # engine says what is wrong with the header and exits 2.
    leads = tiny / "leads.csv"
    leads.write_text(header + "\n1,a,b\n")
    outs = []
    for engine in ("python", "duckdb"):
        if stdin:
            got = CliRunner().invoke(main, ["eval", str(tiny), "--input-format", "csv",
                                            "--engine", engine], input=leads.read_text())
        else:
            got = _eval(tiny, leads, "--engine", engine)
        assert got.exit_code == 2 and "Traceback" not in got.output, got.output
        outs.append(got.stderr)
    assert outs[0] == outs[1]
    assert outs[0].startswith("funnel: standard input: CSV header: " if stdin
                              else f"funnel: {leads}: CSV header: ")


def test_a_semicolon_csv_on_standard_input_is_named_alike_by_every_engine(tiny):
    notes = [CliRunner().invoke(main, ["eval", str(tiny), "--input-format", "csv", "--as-of",
                                       AS_OF, "--engine", e], input="lead_id;email\n1;a\n").stderr
             for e in ("python", "duckdb")]
    assert notes[0] == notes[1] and notes[0].startswith("funnel: standard input: the header")


def test_a_line_break_in_the_version_label_stays_inside_the_sql_comment(tmp_path):
    # `version "1\nDROP TABLE leads;"` printed a second line, `DROP TABLE leads; sha256:…`,
    # outside the `--` comment: a statement of its own in the printed SQL.
    (tmp_path / "p.funnel").write_text(TINY.replace(
        'id lead_id', 'version "1\\nDROP TABLE leads; \\u2028 x\\r y \\u0085 z"\nid lead_id'))
    got = CliRunner().invoke(main, ["sql", str(tmp_path), "--dialect", "duckdb"])
    assert got.exit_code == 0, got.output
    head = got.stdout.split("\n")[0]
    assert head.startswith("-- funnel-policy: p 1\\x0aDROP TABLE leads; \\u2028 x\\x0d y \\x85 z")
    assert all(line.startswith("--") for line in got.stdout.split("\n")[:3])
    assert got.stdout.split("\n")[1].startswith("-- dialect: duckdb")
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, email VARCHAR, employees DOUBLE)")
    con.execute(got.stdout)
    assert con.execute("SELECT count(*) FROM leads").fetchone() == (0,)


def test_parquet_to_parquet_columns_have_the_python_engines_types(tmp_path):
    # --engine duckdb from Parquet to Parquet wrote the columns the statement leaves NULL
    # (no `version`, no recycle reason, a handoff without `sla` or `escalate`) as Parquet
    # columns of type NULL; the python engine's file has VARCHAR there.
    (tmp_path / "p.funnel").write_text(TINY
                                       + 'handoff mql to m {\n  route "a" otherwise\n}\n')
    src = tmp_path / "in.parquet"
    duckdb.connect().execute(f"COPY (SELECT * FROM (VALUES ('a', 'x@y', 500), ('b', NULL, 1)) "
                             f"t(lead_id, email, employees)) TO '{src}' (FORMAT parquet)")
    described = []
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.parquet"
        got = _eval(tmp_path, src, "--engine", engine, "-o", str(out))
        assert got.exit_code == 0, got.output
        described.append((duckdb.sql(f"DESCRIBE SELECT * FROM '{out}'").fetchall(),
                          duckdb.sql(f"SELECT * FROM '{out}' ORDER BY line").fetchall()))
    assert described[0] == described[1]
    types = {name: ty for name, ty, *_ in described[0][0]}
    assert types["policy_version"] == types["reason"] == "VARCHAR"
    assert types["handoff_mql_sla_status"] == types["handoff_mql_escalate_to"] == "VARCHAR"


REJECTING = TINY + '''state nurture owned by m
handoff mql to m {
  route "a" otherwise
  reject to nurture with reason why in ["bad fit"]
}
'''


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_the_report_writes_control_characters_from_leads_as_visible_escapes(tmp_path, fmt):
    # A --by value or a rejection reason holding NUL or a bidi override (U+202E, which
    # shows the rest of a line reversed) reached the Markdown and HTML reports, tables
    # and charts, as raw characters.
    (tmp_path / "p.funnel").write_text(REJECTING)
    odd = "\u202eevil\u0000nul\u2028x"
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps({"lead_id": str(i), "email": "e", "employees": 500,
                                         "src": odd, "why": odd, "rejected": True}) + "\n"
                             for i in range(3)))
    got = CliRunner().invoke(main, ["report", str(tmp_path), str(leads), "--as-of", AS_OF,
                                    "--by", "src", "--format", fmt])
    assert got.exit_code == 0, got.output
    for raw in ("\u202e", "\u0000", "\u2028"):
        assert raw not in got.stdout
    assert "evil" in got.stdout and ("\\u202eevil\\x00nul" in got.stdout
                                     or "\\\\u202eevil\\\\x00nul" in got.stdout)


def test_init_prints_a_cd_command_that_pastes_for_any_folder_name(tmp_path):
    # `cd ini/we ird'"dir && funnel check rules` was printed as it stands: pasted, the
    # shell split the folder at the space and waited for the closing quote.
    import shlex
    import subprocess

    folder = tmp_path / "we ird'\"dir"
    got = CliRunner().invoke(main, ["init", str(folder)])
    assert got.exit_code == 0, got.output
    line = got.stdout.splitlines()[2].strip()
    assert line == f"cd {shlex.quote(str(folder))} && funnel check rules && funnel test rules"
    cd = line.split(" && ")[0]
    assert subprocess.run(["sh", "-c", f"{cd} && pwd"], capture_output=True, text=True
                          ).stdout.strip() == str(folder)


def test_diff_names_sample_leads_as_the_table_view_does(tmp_path):
    # `funnel diff --leads` wrote a sample lead's id with Python's str(): {'a': 1}, True,
    # where eval's table view and CSV write {"a": 1}, true.
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    head.mkdir()
    (base / "p.funnel").write_text(TINY)
    (head / "p.funnel").write_text(TINY.replace("employees >= 100", "employees >= 1000"))
    leads = tmp_path / "leads.jsonl"
    ids = [{"a": 1}, [1, "x"], True, 1.5, "s"]
    leads.write_text("".join(json.dumps({"lead_id": i, "email": "e", "employees": 500}) + "\n"
                             for i in ids))
    got = CliRunner().invoke(main, ["diff", str(base), str(head), "--leads", str(leads),
                                    "--as-of", AS_OF, "--format", "json"])
    assert got.exit_code == 0, got.output
    samples = json.loads(got.stdout)["impact"]["placements"][0]["samples"]
    assert samples == ['{"a": 1}', '[1, "x"]', "true", "1.5", "s"]
    table = _eval(base, leads, "--format", "table").stdout.splitlines()[2:]
    assert [line.split()[1] for line in table] == ['{"a":', '[1,', "true", "1.5", "s"]
    for text in samples:  # and explain --id finds each by that text
        found = CliRunner().invoke(main, ["explain", str(base), str(leads), "--as-of", AS_OF,
                                          "--id", text])
        assert found.exit_code == 0 and found.stdout.startswith("Lead "), (text, found.output)


@pytest.mark.parametrize("args", [["eval", "{p}", "{leads}", "--engine", "python"],
                                  ["eval", "{p}", "{leads}", "--engine", "duckdb"],
                                  ["eval", "{p}", "{pq}", "--engine", "duckdb"],
                                  ["docs", "{p}"], ["sql", "{p}"], ["report", "{p}", "{leads}"]])
@pytest.mark.parametrize("name", ["out.parquet/", "out/"])
def test_an_output_path_that_ends_with_a_separator_is_refused(tiny, args, name):
    # `eval -o x.parquet/` and `docs -o out/` wrote a file `x.parquet` (JSON Lines) or
    # `out`: the separator says a folder is meant, which sql and report refused.
    leads = tiny / "leads.jsonl"
    leads.write_text('{"lead_id": "a", "email": "e"}\n')
    pq = tiny / "leads.parquet"
    duckdb.connect().execute(f"COPY (SELECT 'a' AS lead_id) TO '{pq}' (FORMAT parquet)")
    target = f"{tiny / 'x'}/{name}"  # (pathlib drops the separator)
    (tiny / "x").mkdir(exist_ok=True)
    argv = [a.format(p=tiny, leads=leads, pq=pq) for a in args]
    got = CliRunner().invoke(main, [*argv, "-o", target])
    assert got.exit_code == 2, got.output
    assert got.stderr == f"funnel: {target}: cannot write: Is a directory\n"
    assert list((tiny / "x").iterdir()) == []
