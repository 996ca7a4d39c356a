"""Hostile input (issue 12): nothing crashes, hangs, leaks markup or loses a record.

A table, like ``test_bad_input.py``: each row is one reproduced attack with the exit
status it must end with, text the first line of its message must hold, and how many
output records it must write (one per input lead). No row may print a traceback. The
fixtures build the hostile files; rows that need a real process (signals, /dev/full)
and rows that check the bytes of an output format are tests of their own below.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import xml.dom.minidom
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

AS_OF = "2026-11-03T00:00:00Z"

POLICY = '''policy hp "Hostile"
version "1"
id lead_id

team marketing "@m"
team sales "@s"

calendar {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}

funnel lead -> mql -> sal

score fit owned by marketing {
  +20 if employees >= 100
}

stage lead owned by marketing {
  require email is present
}

stage mql owned by marketing {
  require fit >= 10
  keep when mql_at is present
}

stage sal owned by sales {
  require accepted_at is present
}

state nurture owned by marketing

handoff mql to sales {
  route "ae" if employees >= 1000
  route "pool" otherwise
  sla 4 business hours from mql_at until accepted_at, rejected_at
  escalate to "managers" after 1 business days
  reject to nurture with reason why in ["bad fit", "no budget"]
}

example "ok" {
  at "2026-11-02T15:00:00Z"
  lead {"lead_id": "L-1", "email": "a@b.c", "employees": 500, "mql_at": "2026-11-02T14:00:00Z"}
  expect stage mql
}
'''

GOOD = {"lead_id": "L-1", "email": "a@b.c", "employees": 500, "mql_at": "2026-11-02T14:00:00Z"}


def _policy(folder: Path, text: str, **files: str | bytes) -> None:
    folder.mkdir()
    (folder / "policy.funnel").write_text(text, encoding="utf-8", errors="surrogatepass")
    for name, content in files.items():
        target = folder / name.replace("__", ".")
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


@pytest.fixture(scope="module")
def w(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    _policy(root / "good", POLICY)
    # 2: a lone surrogate in a policy string
    _policy(root / "surrogate", POLICY.replace('route "pool"', 'route "r\\ud800"'))
    # 3: file names a file system cannot hold
    _policy(root / "nulschema", POLICY.replace('id lead_id', 'id lead_id\nschema "a\\u0000b.json"'))
    _policy(root / "surschema", POLICY.replace('id lead_id', 'id lead_id\nschema "\\ud800.json"'))
    _policy(root / "surlead", POLICY.replace(
        'lead {"lead_id": "L-1", "email": "a@b.c", "employees": 500, '
        '"mql_at": "2026-11-02T14:00:00Z"}', 'lead file "\\ud800.json"'))
    # 4: numbers past Python's int-string limit
    _policy(root / "bignum", POLICY.replace("+20 if employees >= 100",
                                            "+20 if employees >= 1" + "0" * 5000))
    _policy(root / "bignumlead", POLICY.replace('"employees": 500', '"employees": 5' + "0" * 5000))
    _policy(root / "bignumexpect", POLICY.replace("expect stage mql",
                                                  "expect score fit 2" + "0" * 5000))
    # 6: a symbolic-link loop among the policy files
    _policy(root / "loop", POLICY)
    os.symlink("b.funnel", root / "loop" / "a.funnel")
    os.symlink("a.funnel", root / "loop" / "b.funnel")
    # 9: a comment that smuggles a workflow command, on a line with a warning
    _policy(root / "ghcmd", POLICY.replace(
        "stage sal owned by sales {",
        "define unused_x = 1 # \r::error file=pwned.txt::owned\nstage sal owned by sales {"))
    # 14, 15: business durations no calendar can hold
    _policy(root / "hugesla", POLICY.replace("sla 4 business hours", "sla " + "9" * 40
                                             + " business hours"))
    _policy(root / "hugeesc", POLICY.replace("after 1 business days",
                                             "after 2147483648 business days"))
    _policy(root / "longsla", POLICY.replace("sla 4 business hours", "sla 100000 business days"))
    # 16: a define list of 100,000 items (the reasoning was quadratic)
    _policy(root / "biglist", POLICY.replace(
        "stage lead owned by marketing {",
        "define many = [" + ", ".join(str(i) for i in range(50_000)) + ", "
        + ", ".join(f'"s{i}"' for i in range(50_000)) + "]\n"
        "stage lead owned by marketing {\n  require employees in many or email in many"))
    # 18: one 10 MB string literal
    _policy(root / "longstring", POLICY.replace('"Hostile"', '"' + "x" * 10_000_000 + '"'))
    # 19: a device and a FIFO as the schema
    _policy(root / "zeroschema", POLICY.replace("id lead_id", 'id lead_id\nschema "/dev/zero"'))
    _policy(root / "fifoschema", POLICY.replace("id lead_id", 'id lead_id\nschema "pipe"'))
    os.mkfifo(root / "fifoschema" / "pipe")
    # hostile strings in places reports show
    _policy(root / "crroute", POLICY
            .replace('route "pool"', 'route "pool\\r# Owned\\r![x](http://e/x.png)"')
            .replace('"managers"', '"m\\r<div>x</div>"').replace('"Hostile"', '"T\\r# H1"'))
    _policy(root / "ctlexample", POLICY
            .replace('example "ok"', 'example "a\\u0001\\u001b\\u0000\\uffff"')
            .replace("expect stage mql", "expect stage sal"))

    leads = root / "leads"
    leads.mkdir()
    good = json.dumps(GOOD)
    # 1: lone surrogates in an id and a timestamp, in each input format
    (leads / "sur.jsonl").write_text(
        good + '\n{"lead_id": "\\ud800", "email": "a"}\n'
        '{"lead_id": "T", "email": "a", "mql_at": "2026-11-02T14:00:00\\udc00Z"}\n')
    (leads / "sur.json").write_text('[' + good + ', {"lead_id": "\\ud800", "email": "a"}]')
    (leads / "sur.csv").write_bytes(b"lead_id,email\nA,a@b.c\nB\xed\xa0\x80,a@b.c\n")
    (leads / "one_sur.json").write_text('{"lead_id": "\\ud800", "email": "a"}')
    # 7, 11, 12: hostile ids and reasons
    hostile = [
        {**GOOD, "lead_id": "=cmd|' /C calc'!A0"},
        {**GOOD, "lead_id": "+HYPERLINK(\"http://e\")"},
        {**GOOD, "lead_id": "@SUM(A1)"},
        {**GOOD, "lead_id": "L\r<div>x</div>\r# H\r![i](http://e/i.png)",
         "why": "bad\r<h1>x</h1>", "rejected_at": "2026-11-02T15:00:00Z"},
        {**GOOD, "lead_id": "E", "why": "\u001b]52;c;cHduZWQ=\u0007", "rejected_at":
         "2026-11-02T15:00:00Z"},
        {**GOOD, "lead_id": "S\u2028E\u0085P\u2029"},
    ]
    (leads / "hostile.jsonl").write_text("".join(json.dumps(x) + "\n" for x in hostile))
    # 13: a valid but extreme element in the middle of an array
    deep = "[" * 100_000 + "]" * 100_000
    (leads / "extreme.json").write_text(
        f'[{good}, {{"lead_id": "D", "x": {deep}}}, {{"lead_id": "N", "n": 1{"0" * 5000}}}, '
        f'{good}]')
    (leads / "extreme.jsonl").write_text(
        f'{good}\n{{"lead_id": "D", "x": {deep}}}\n'
        f'{{"lead_id": "N", "n": 1{"0" * 5000}}}\n{good}\n')
    # 21: the first instant of the calendar
    (leads / "year1.jsonl").write_text(
        json.dumps({**GOOD, "mql_at": "0001-01-01T00:00:00Z"}) + "\n"
        + json.dumps({**GOOD, "mql_at": "9999-12-31T23:00:00Z"}) + "\n")
    # smaller ones
    (leads / "onebad.jsonl").write_bytes(b'{"lead_id": "L-\xff"}\n' + good.encode() + b"\n")
    (leads / "unterminated.csv").write_text('lead_id,email\nA,a@b.c\n"B,b@c.d\nC,c@d.e\n')
    (leads / "one.json").write_text(good)
    return root


def _first_line(text: str) -> str:
    return next((ln for ln in text.splitlines() if ln.strip()), "")


# (command line, exit status, text the first message line must hold, output records)
# `{w}` is the world folder; records None: the command writes no lead records.
CASES = [
    # 1: lone surrogates in leads: one error record each, the others decided
    ("eval {w}/good {w}/leads/sur.jsonl", 1, '"lead": "L-1"', 3),
    ("eval {w}/good {w}/leads/sur.json", 1, '"lead": "L-1"', 2),
    ("eval {w}/good {w}/leads/sur.csv", 1, '"lead": "A"', 2),
    ("eval {w}/good {w}/leads/sur.jsonl --format csv", 1, "line,lead", 3),
    ("eval {w}/good {w}/leads/sur.jsonl --format table", 1, "line", 3),
    ("explain {w}/good {w}/leads/one_sur.json", 1, "lone surrogate", None),
    # 2: a lone surrogate in a policy string works everywhere
    ("check {w}/surrogate", 0, "", None),
    ("eval {w}/surrogate {w}/leads/one.json", 0, '"lead": "L-1"', 1),
    ("docs {w}/surrogate", 0, "# ", None),
    ("docs {w}/surrogate --format html", 0, "<!DOCTYPE html>", None),
    ("test {w}/surrogate", 0, "PASS", None),
    # 3: file names no file system holds: E110
    ("check {w}/nulschema", 1, "E110", None),
    ("check {w}/surschema", 1, "E110", None),
    ("check {w}/surlead", 1, "E110", None),
    # 4: numbers longer than Python converts
    ("check {w}/bignum", 1, "E100", None),
    ("check {w}/bignumlead", 1, "E100", None),
    ("check {w}/bignumexpect", 1, "E100", None),
    # 6: a symbolic-link loop among the policy files
    ("check {w}/loop", 2, "cannot read", None),
    ("fmt {w}/loop", 2, "cannot read", None),
    # 9: a bare CR in a comment never reaches the log raw
    ("check {w}/ghcmd", 0, "W", None),
    # 13: an extreme element costs one error record, not the rest of the file
    ("eval {w}/good {w}/leads/extreme.json", 1, '"lead": "L-1"', 4),
    ("eval {w}/good {w}/leads/extreme.jsonl", 1, '"lead": "L-1"', 4),
    # 14, 15: durations beyond the calendar: E107 at check time, not a hang
    ("check {w}/hugesla", 1, "E107", None),
    ("check {w}/hugeesc", 1, "E107", None),
    ("test {w}/hugesla", 1, "E107", None),
    ("eval {w}/hugeesc {w}/leads/one.json", 1, "E107", 0),
    # 16: 100,000 items in one list: checked in seconds, not minutes
    ("check {w}/biglist", 0, "", None),
    # 18: a 10 MB literal: one diagnostic
    ("check {w}/longstring", 1, "E100", None),
    # 19: a device, a FIFO, /dev/zero as leads
    ("check {w}/zeroschema", 1, "E110", None),
    ("check {w}/fifoschema", 1, "E110", None),
    ("eval {w}/good /dev/zero", 2, "binary, not text", 0),
    # 21: the first and last instants of the calendar
    ("eval {w}/good {w}/leads/year1.jsonl", 0, '"lead": "L-1"', 2),
    # smaller: one bad byte is one error record; an unterminated quote is reported
    ("eval {w}/good {w}/leads/onebad.jsonl", 1, '"line": 1', 2),
    ("eval {w}/good {w}/leads/unterminated.csv", 1, '"lead": "A"', 2),
]


def _cpu() -> float:
    """CPU seconds of this process and of the children it waited for (eval's --jobs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.mark.parametrize(("args", "status", "cause", "records"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_gets_its_status_a_clear_cause_and_every_record(w, args, status, cause,
                                                                      records):
    argv = [a.replace("{w}", str(w)) for a in args.split()]
    if argv[0] == "eval":
        argv += ["--as-of", AS_OF]
    # CPU time of this process, not the wall clock: the limit is there to catch work that
    # grows out of bounds (the reasoning over biglist was quadratic: hours), and a loaded
    # CI machine took 108 s of wall time for what is a few CPU seconds
    started = _cpu()
    result = CliRunner().invoke(main, argv)
    elapsed = _cpu() - started
    everything = result.output + result.stderr
    assert "Traceback" not in everything
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: raised {result.exception!r}"
    )
    assert result.exit_code == status, f"{args}: exit {result.exit_code}\n{everything[:2000]}"
    assert elapsed < 60, f"{args}: took {elapsed:.0f} CPU-s"
    first = _first_line(result.stdout) if status == 0 or records else _first_line(result.stderr)
    if status == 2:
        first = _first_line(result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 4, result.stderr
    assert cause in first or cause in _first_line(result.stdout), (
        f"{args}: first line {first!r}")
    if records is not None:
        fmt = argv[argv.index("--format") + 1] if "--format" in argv else "jsonl"
        lines = result.stdout.splitlines()
        count = {"jsonl": len(lines), "csv": len(lines) - 1,
                 "table": len(lines) - 2 if lines else 0}[fmt]
        assert count == records, f"{args}: {count} records\n{result.stdout[:2000]}"
        if fmt == "jsonl":
            for line in lines:
                json.loads(line)


def _run(*argv: str) -> object:
    return CliRunner().invoke(main, [*argv])


# --------------------------------------------------------------------------- escaping


def test_csv_cells_never_become_formulas(w):  # 11
    result = _run("eval", str(w / "good"), str(w / "leads" / "hostile.jsonl"), "--as-of", AS_OF,
                  "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout, newline="")))[1:]
    assert len(rows) == 6
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    assert rows[0][1] == "'=cmd|' /C calc'!A0"


def test_table_writes_no_control_character(w):  # 12
    result = _run("eval", str(w / "good"), str(w / "leads" / "hostile.jsonl"), "--as-of", AS_OF,
                  "--format", "table")
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\r" not in result.stdout
    assert "\\x1b]52" in result.stdout


def test_jsonl_keeps_one_record_per_line_for_every_reader(w):  # U+2028, U+0085
    result = _run("eval", str(w / "good"), str(w / "leads" / "hostile.jsonl"), "--as-of", AS_OF)
    assert all(ch not in result.stdout for ch in "\u2028\u2029\x85")
    assert len(result.stdout.splitlines()) == 6  # str.splitlines splits on all of them
    assert json.loads(result.stdout.splitlines()[-1])["lead"] == "S\u2028E\u0085P\u2029"


def test_diff_markdown_shows_hostile_ids_and_reasons_as_text(w, tmp_path):  # 7
    head = tmp_path / "head"
    head.mkdir()
    (head / "policy.funnel").write_text(POLICY.replace('route "ae" if employees >= 1000',
                                                       'route "ae" if employees >= 100'))
    result = _run("diff", str(w / "good"), str(head), "--leads",
                  str(w / "leads" / "hostile.jsonl"), "--as-of", AS_OF, "--format", "markdown")
    assert result.exit_code == 0, result.output
    _assert_no_markup(result.stdout)


def _assert_no_markup(markdown: str) -> None:
    assert "\r" not in markdown
    for line in markdown.splitlines():
        assert not line.lstrip().startswith(("# H", "# Owned", "<div", "<h1", "<img")), line
        for bad in ("<div>", "<h1>", "<img", "!["):
            # raw markup can only appear escaped (`\<`) or inside a code span
            if bad in line:
                before = line[: line.index(bad)]
                assert before.count("`") % 2 == 1 or before.endswith("\\"), line


def test_docs_markdown_shows_hostile_names_as_text(w):  # 8
    result = _run("docs", str(w / "crroute"))
    assert result.exit_code == 0
    _assert_no_markup(result.stdout)
    html_page = _run("docs", str(w / "crroute"), "--format", "html").stdout
    assert "<div>x" not in html_page and "\r" not in html_page


def test_text_diagnostics_never_print_a_bare_cr(w):  # 9
    result = _run("check", str(w / "ghcmd"))
    assert "\r" not in result.stdout + result.stderr
    for line in (result.stdout + result.stderr).splitlines():
        assert not line.startswith("::")


def test_junit_is_well_formed_xml_whatever_the_example_names(w):  # 10
    result = _run("test", str(w / "ctlexample"), "--format", "junit")
    assert result.exit_code == 1
    xml.dom.minidom.parseString(result.stdout.encode("utf-8"))  # raises if not XML 1.0
    assert "\\x01" in result.stdout


# --------------------------------------------------------------------------- writing


def test_a_failed_render_keeps_the_old_output_file(w, tmp_path):  # 2, 22
    keep = tmp_path / "keep.html"
    keep.write_text("old page")
    result = _run("docs", str(w / "hugesla"), "-o", str(keep))
    assert result.exit_code == 1
    assert keep.read_text() == "old page"
    result = _run("docs", str(w / "surrogate"), "-o", str(keep))
    assert result.exit_code == 0
    assert "r\\ud800" in keep.read_text() or "r\ufffd" in keep.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["keep.html"]  # no temporary file left


@pytest.mark.parametrize("argv", [
    ["check", "{w}/ghcmd"],
    ["docs", "{w}/good"],
    ["test", "{w}/good"],
    ["explain", "{w}/good", "{w}/leads/one.json", "--as-of", AS_OF],
    ["diff", "{w}/good", "{w}/crroute"],
    ["eval", "{w}/good", "{w}/leads/one.json", "--as-of", AS_OF],
])
def test_a_full_disk_on_standard_output_is_one_line_exit_2(w, argv):  # 5
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    cmd = [sys.executable, "-m", "funnel_cli.main", *(a.replace("{w}", str(w)) for a in argv)]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("funnel: standard output: cannot write")


def test_a_closed_pipe_keeps_the_exit_status(w):  # check | head
    cmd = [sys.executable, "-m", "funnel_cli.main", "check", str(w / "ghcmd"), "--format", "json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before the first byte
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"Exception ignored" not in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_exits_130_and_leaves_no_torn_file(w, tmp_path, sig):  # 22
    leads = tmp_path / "many.jsonl"
    leads.write_text((json.dumps(GOOD) + "\n") * 200_000)
    out = tmp_path / "out.json"
    out.write_text("previous")
    cmd = [sys.executable, "-m", "funnel_cli.main", "eval", str(w / "good"), str(leads),
           "--as-of", AS_OF, "--format", "json", "-o", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.name.startswith(".out.json.")
                                                  for p in tmp_path.iterdir()):
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.decode().strip().splitlines() == ["funnel: interrupted"]
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.jsonl", "out.json"]


def test_fmt_reports_a_failed_write_and_refuses_bad_bytes_on_stdin(w, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "p.funnel").write_text('policy p "x"\nversion   "1"\n')
    folder.chmod(0o555)
    try:
        result = _run("fmt", str(folder))
    finally:
        folder.chmod(0o755)
    if os.geteuid() != 0:  # root writes anyway
        assert result.exit_code == 2
        assert "reformatted" not in result.stderr.replace("could not be formatted", "")
    result = CliRunner().invoke(main, ["fmt", "-"], input=b'policy p "\xff"\n')
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr
    assert "udcff" not in result.output


# --------------------------------------------------------------------------- the model


def test_a_loaded_policy_cannot_be_changed(w):  # 20
    from policy.api import load

    pol = load(w / "good")
    with pytest.raises(TypeError, match="read-only"):
        pol.model.stages["mql"] = pol.model.stages["lead"]
    with pytest.raises(TypeError, match="read-only"):
        pol.model.defines.clear()
    with pytest.raises(TypeError, match="read-only"):
        pol.model.scores.pop("fit")
    with pytest.raises(AttributeError):
        pol.model.stages = {}  # type: ignore[misc]
    decision = pol.evaluate(GOOD, as_of=__import__("datetime").datetime(
        2026, 11, 3, tzinfo=__import__("datetime").UTC))
    assert decision.stage == "mql"


def test_business_time_from_the_first_instant_is_counted(w):  # 21
    result = _run("eval", str(w / "good"), str(w / "leads" / "year1.jsonl"), "--as-of", AS_OF)
    first, last = (json.loads(x) for x in result.stdout.splitlines())
    sla = first["handoffs"][0]["sla"]
    assert (sla["status"], sla["due"]) == ("breached", "0001-01-01T13:00:00Z")
    assert last["handoffs"][0]["sla"]["status"] == "pending"


def test_an_unterminated_csv_quote_is_named_not_swallowed(w):
    result = _run("eval", str(w / "good"), str(w / "leads" / "unterminated.csv"),
                  "--as-of", AS_OF)
    records = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r.get("line") for r in records] == [None, 3]
    assert "closing quote missing" in records[1]["error"]["message"]


def test_a_csv_cell_past_the_record_limit_is_one_error_record(tmp_path, w):
    from policy.io.records import MAX_RECORD_CHARS

    leads = tmp_path / "big.csv"
    with leads.open("w") as f:
        f.write("lead_id,email\nA,a@b.c\nB," + "x" * (MAX_RECORD_CHARS + 10) + "\nC,c@d.e\n")
    result = _run("eval", str(w / "good"), str(leads), "--as-of", AS_OF)
    records = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["lead"] for r in records] == ["A", None, "C"]
    assert "longer than 16 MiB" in records[1]["error"]["message"]


def test_a_diagnostic_on_a_huge_line_shows_a_window_of_it(w):  # 18
    result = _run("check", str(w / "longstring"))
    assert result.exit_code == 1
    assert len(result.output) < 2_000  # not the 10 MB line
    assert "^" in result.output
