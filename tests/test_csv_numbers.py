"""A CSV cell read as a number uses JSON's number syntax (spec section 9, "Lead input,
precisely"), in every engine and in ``funnel report``: `+5`, `5.`, `.5`, `005`, `0x10`,
`1_000`, `Infinity`, `NaN`, white space other than JSON's do not fit, so they refuse the
lead with the field named, as a JSON Lines file could not hold them either. JSON's own
white space around the number is taken, as a JSON text may have it (`" 40 "`).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

from policy.io.csv_leads import _integer, _number

GOOD = ["5", "-5", "0", "-0", "5.5", "0.5", "-0.25", "1e3", "1E+3", "2.5e-3", "10E2",
        "123456789012345678901234567890", " 5", "5 ", "\t-1.5 ",
        # integers within a double's range, however long: 10^308, and the largest
        "1" + "0" * 308, str(2**1024 - 2**970 - 1), "-" + str(2**1024 - 2**970 - 1)]
BAD = ["+5", "5.", ".5", "-.5", "005", "00", "0x10", "1_000", "\u00a05", "5\u2003", "Infinity",
       "-Infinity", "NaN", "-", "1e", "1e+", "--5", "5e5.5", "1,000", "0.", "\u0665", "1e400",
       # integers beyond a double's range, refused as 1e400 is (spec section 9)
       "1" + "0" * 400, str(2**1024 - 2**970), "-" + str(2**1024 - 2**970), "2" + "0" * 308]

POLICY = """policy csvnums "CSV numbers"
version "1"
id lead_id
team m "@m"
funnel a
stage a owned by m {
  require n >= 0
}
"""
SCHEMA = {"type": "object", "properties": {
    "lead_id": {"type": "string"}, "n": {"type": "number"}, "k": {"type": "integer"}}}
AS_OF = "2026-12-01T00:00:00Z"


def test_the_readers_take_json_number_syntax_only():
    assert [_number(x) for x in GOOD] == [json.loads(x) for x in GOOD]  # JSON texts
    assert [type(_number(x)) for x in GOOD] == [type(json.loads(x)) for x in GOOD]
    for text in BAD:
        assert not isinstance(_number(text), (int, float)), text
        assert not isinstance(_integer(text), (int, float)), text
    # an integer column takes a number whose value is whole, as the validator does
    assert [_integer(x) for x in ("5", "-0", "5.0", "1e2", "-3E0")] == [5, 0, 5, 100, -3]
    assert not isinstance(_integer("5.5"), int) and not isinstance(_integer("1e-2"), int)


def _csv(tmp_path, column: str) -> tuple:
    cells = GOOD + BAD
    rows = [f"id{i},{json.dumps(c) if ',' in c else c}" for i, c in enumerate(cells)]
    path = tmp_path / "leads.csv"
    path.write_text(f"lead_id,{column}\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path, cells


@pytest.mark.parametrize("column", ["n", "k", "schemaless"])
def test_every_engine_refuses_the_same_cells_naming_the_field(tmp_path, column):
    text = POLICY
    if column != "schemaless":
        (tmp_path / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
        text = text.replace("id lead_id\n", 'id lead_id\nschema "lead.schema.json"\n')
        text = text.replace("n >= 0", f"{column} >= 0")
    (tmp_path / "p.funnel").write_text(text, encoding="utf-8")
    field = "n" if column == "schemaless" else column
    leads, cells = _csv(tmp_path, field)
    runner = CliRunner()
    out = {}
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", engine,
                                   "--as-of", AS_OF])
        assert res.exit_code == 1, res.output  # refused leads
        out[engine] = res.stdout
    assert out["duckdb"] == out["python"]
    records = [json.loads(line) for line in out["python"].splitlines()]
    assert len(records) == len(cells)
    for cell, rec in zip(cells, records, strict=True):
        whole = column != "k" or float(cell).is_integer() if cell in GOOD else False
        if whole:
            assert "error" not in rec, (cell, rec)
        else:
            problem = rec["error"]["problems"][0]
            assert problem["path"] == field, (cell, rec)
            assert json.dumps(cell, ensure_ascii=False)[1:-1] in problem["message"]
    # the report reads CSV as eval does: the same leads refused, with either engine
    refused = sum(1 for rec in records if "error" in rec)
    assert refused >= len(BAD)
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["report", str(tmp_path), str(leads), "--as-of", AS_OF,
                                   "--format", "json", "--engine", engine])
        assert res.exit_code == 0, res.output
        report = json.loads(res.stdout)
        assert report["leads"] == len(cells) and report["decided"] == len(cells) - refused
        assert report["refused"] == {"count": refused, "paths": {field: refused}}
