"""An integer beyond a double's range refuses the lead, as ``1e400`` does (spec section
9, "a number beyond a double's range refuses the lead"; docs/decisions.md, "Numbers
beyond a double's range"), in every reader, engine and command.

The leads below hold such integers in a field the policy reads, in one it does not
read, in a nested list and object, and negative; beside them, 400 digits inside a
string and 10^308 (within the range) are decided. Writing ``1e400`` (or ``-1e400``) in
place of each such integer must give the same bytes in every command: the same error
record, naming the lead and each number's path, with the same message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.engine.batch import decide_records
from policy.engine.decision import dumps
from policy.io.jsonl_blocks import JsonlBlock
from policy.io.leads import read_records, text_stream

EDGE = 2**1024 - 2**970  # the least integer that float() rounds to infinity
AS_OF = "2026-12-01T00:00:00Z"
POLICY = """policy bigints "Big integers"
version "1"
id lead_id
schema "lead.schema.json"
team m "@m"
funnel a
stage a owned by m {
  require n >= 0
}
score bump owned by m {
  +1 if n > 5
}
"""
HEAD_POLICY = POLICY.replace("n > 5", "n > 6").replace('version "1"', 'version "2"')
SCHEMA = {"type": "object", "properties": {
    "lead_id": {"type": "string"}, "n": {"type": "number"}, "m": {"type": "number"},
    "tags": {"type": "array"}, "s": {"type": "string"}, "o": {"type": "object"}}}

#: JSON Lines with markers: ``+B`` and ``-B`` stand for a number beyond a double's range
#: (an integer, or the exponent form the reader refused before), everything else is as
#: written. Blank and broken lines keep the line numbers honest.
TEMPLATE = [
    '{"lead_id": "plain", "n": 7}',
    '{"lead_id": "read", "n": +B}',
    '{"lead_id": "unread", "n": 1, "m": +B}',
    '',
    '{"lead_id": "list", "n": 2, "tags": [1, ["x", -B]]}',
    '{"lead_id": "nested", "n": 3, "o": {"p": {"q": +B}}, "m": -B}',
    '{"lead_id": "text", "n": 9, "s": "' + "9" * 400 + '", "tags": ["' + "1" * 700 + '"]}',
    '{"lead_id": "e308", "n": 1' + "0" * 308 + "}",
    '{"lead_id": "edge", "n": ' + str(EDGE - 1) + ', "m": -' + str(EDGE - 1) + "}",
    '{"lead_id": "negative", "n": -B}',
    '{"lead_id": "broken", "n": ',
    '{"lead_id": "after", "n": 0}',
]
REFUSED = {"read": ["n"], "unread": ["m"], "list": ["tags[1][1]"], "nested": ["o.p.q", "m"],
           "negative": ["n"]}


def _lines(big: str) -> list[str]:
    """TEMPLATE with ``big`` (the text of a positive number beyond the range) in place."""
    return [t.replace("+B", big).replace("-B", "-" + big) for t in TEMPLATE]


INTS = [_lines("9" * 400), _lines(str(EDGE)), _lines("2" + "0" * 308)]
EXPONENT = _lines("1e400")


def _write(folder: Path, lines: list[str], fmt: str) -> Path:
    if fmt == "jsonl":
        text = "\n".join(lines) + "\n"
    else:  # a JSON array of the lines that are JSON objects (no blank or broken one)
        text = "[\n" + ",\n".join(x for x in lines if x and not x.endswith(": ")) + "\n]\n"
    path = folder / f"leads-{len(list(folder.iterdir()))}.{fmt}"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pol = tmp_path / "policy"
    pol.mkdir()
    (pol / "p.funnel").write_text(POLICY, encoding="utf-8")
    (pol / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    (tmp_path / "leads").mkdir()
    return tmp_path


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, [*args])
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_eval_refuses_each_lead_as_1e400_with_every_engine(folder: Path, fmt: str) -> None:
    runs = {}
    for name, lines in [("exponent", EXPONENT)] + [(f"ints{i}", x) for i, x in enumerate(INTS)]:
        path = _write(folder / "leads", lines, fmt)
        for engine in (["--engine", "python"], ["--engine", "python", "--jobs", "2"],
                       ["--engine", "duckdb"]):
            runs[(name, *engine)] = _run("eval", str(folder / "policy"), str(path),
                                         "--as-of", AS_OF, *engine)
    want = runs[("exponent", "--engine", "python")]
    for key, got in runs.items():
        assert got == want, key
    code, out, err = want
    assert code == 1 and err.startswith("6 of 11 leads refused" if fmt == "jsonl"
                                        else "5 of 10 leads refused")
    records = [json.loads(x) for x in out.splitlines()]
    objects = [x for x in TEMPLATE if x and not x.endswith(": ")]
    assert len(records) == (len([x for x in TEMPLATE if x]) if fmt == "jsonl" else len(objects))
    numbers = ([i for i, x in enumerate(TEMPLATE, 1) if x] if fmt == "jsonl"
               else list(range(1, len(objects) + 1)))
    for number, rec in zip(numbers, records, strict=True):
        lead = rec.get("lead")
        if lead in REFUSED:
            assert rec["line"] == number
            assert rec["error"]["message"] == "a number is beyond a double's range"
            assert [p["path"] for p in rec["error"]["problems"]] == REFUSED[lead]
        elif lead is not None:
            assert "error" not in rec, rec  # plain, text, e308, edge, after: decided
    decided = {rec["lead"] for rec in records if "error" not in rec}
    assert decided == {"plain", "text", "e308", "edge", "after"}


def test_both_python_engines_and_the_line_decider_read_alike(folder: Path) -> None:
    """The interpreter, the compiled engine and its typed line decider (which reads a
    line without building its dict: the lines that may hold such an integer go to the
    dict path) give the records of the exponent form."""
    at = policy.parse_timestamp(AS_OF)
    want = None
    for lines in [EXPONENT, *INTS]:
        text = "\n".join(lines) + "\n"
        for engine in ("interpreter", "compiled"):
            pol = policy.load(folder / "policy", engine=engine)
            records = read_records(text_stream(_bytes(text)), fmt="jsonl")
            got = [(line, dumps(r)) for line, r in decide_records(pol, records, at)]
            want = want or got
            assert got == want, engine
        pol = policy.load(folder / "policy")
        assert pol.line_decider is not None
        items = list(JsonlBlock(text.encode(), 1).iter_leads(pol.line_decider, at))
        got = []
        for line, item in items:
            if type(item) is dict:
                item = pol.evaluate_at(item, at)
            elif type(item) is not policy.Decision:  # the error record of a line
                item = policy.LeadError(item.error, item.problems,
                                        lead=pol.lead_id(item.value), line=line)
            got.append((line, dumps(item)))
        assert got == want


def _bytes(text: str):
    import io

    return io.BytesIO(text.encode())


def test_csv_refuses_a_number_cell_of_such_an_integer_with_every_engine(folder: Path) -> None:
    rows = ["lead_id,n,m,s,tags", "plain,7,,,", f"read,{'9' * 400},,,", f"unread,1,-{EDGE},,",
            f"text,9,,{'9' * 400},", f"e308,1{'0' * 308},,,", f"edge,{EDGE - 1},-{EDGE - 1},,",
            # a list cell holding such a number, as one holding 1e400: not a list it takes
            f'list,1,,,"[1, [-{EDGE}]]"', 'listexp,1,,,"[1, [-1e400]]"',
            f'listok,1,,,"[1, [-{EDGE - 1}], ""{"9" * 400}""]"']
    path = folder / "leads" / "leads.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    outs = {engine: _run("eval", str(folder / "policy"), str(path), "--as-of", AS_OF,
                         "--engine", engine) for engine in ("python", "duckdb")}
    assert outs["duckdb"] == outs["python"]
    code, out, err = outs["python"]
    assert code == 1 and err.startswith("4 of 9 leads refused")
    records = {json.loads(x)["lead"]: json.loads(x) for x in out.splitlines()}
    assert [p["path"] for p in records["read"]["error"]["problems"]] == ["n"]
    assert [p["path"] for p in records["unread"]["error"]["problems"]] == ["m"]
    assert f'expected number, found \\"-{EDGE}\\"' in json.dumps(records["unread"])
    for lead, cell in (("list", f"[1, [-{EDGE}]]"), ("listexp", "[1, [-1e400]]")):
        assert records[lead]["error"]["problems"] == [
            {"path": "tags", "message": f'expected array, found "{cell}"'}]
    assert all("error" not in records[k] for k in ("plain", "text", "e308", "edge", "listok"))


def test_report_and_diff_count_the_refusals_as_for_1e400(folder: Path) -> None:
    head = folder / "head"
    head.mkdir()
    (head / "p.funnel").write_text(HEAD_POLICY, encoding="utf-8")
    (head / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    runs = {}
    for name, lines in [("exponent", EXPONENT), ("ints", INTS[0])]:
        path = _write(folder / "leads", lines, "jsonl")
        for engine in ("python", "duckdb"):
            runs[(name, "report", engine)] = _run(
                "report", str(folder / "policy"), str(path), "--as-of", AS_OF,
                "--format", "json", "--engine", engine)
        for jobs in ("1", "2"):
            runs[(name, "diff", jobs)] = _run(
                "diff", str(folder / "policy"), str(head), "--leads", str(path),
                "--as-of", AS_OF, "--format", "json", "--jobs", jobs)
    for key, got in runs.items():
        base = ("exponent", key[1], "python" if key[1] == "report" else "1")
        assert got == runs[base], key
    report = json.loads(runs[("ints", "report", "python")][1])
    assert report["refused"]["count"] == 6  # five such leads and the broken line
    assert report["refused"]["paths"] == {"": 1, "n": 2, "m": 2, "tags[1][1]": 1}
    impact = json.loads(runs[("ints", "diff", "1")][1])["impact"]
    assert impact["leads"] == 11 and impact["unreadable"] == 6, impact
