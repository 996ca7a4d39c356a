"""A CSV cell of JSON text (a schema's object or array field) that holds a lone surrogate
escape (``"\\ud800"``), through every engine.

The JSON Lines reader refuses such a lead (``not valid Unicode: a \\u escape makes a lone
surrogate``, with the field's path; docs/security.md). The CSV reader parsed the cell and
kept the half surrogate pair: the python engine decided the lead with it, and the DuckDB
engine, which stages each lead as JSON text, died with a traceback (``Python Conversion
Failure: cannot encode str as UTF-8``) and wrote nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

AS_OF = "2026-12-01T16:00:00Z"

POLICY = '''policy cells "C"
schema "lead.schema.json"
id lead_id
team t "@t"
funnel a
stage a owned by t {
  require company.size >= 10
}
'''

SCHEMA = {
    "type": "object",
    "properties": {
        "lead_id": {"type": "string"},
        "company": {"type": ["object", "null"],
                    "properties": {"size": {"type": ["integer", "null"]},
                                   "name": {"type": ["string", "null"]}}},
        "tags": {"type": ["array", "null"]},
    },
}

#: (lead id, company cell, tags cell, the refused path or None for a decision)
ROWS = [
    ("ok", '{"size": 20, "name": "Acme"}', '["a"]', None),
    ("value", '{"size": 20, "name": "\\ud800"}', "", "company.name"),
    ("key", '{"size": 20, "\\udfff": 1}', "", "company.`\udfff`"),  # quoted: not a name
    ("item", '{"size": 20}', '["a", "\\udbff"]', "tags[1]"),
    ("pair", '{"size": 20, "name": "\\ud83d\\ude00"}', "", None),  # a whole pair: text
    ("after", '{"size": 5}', "", None),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cells")
    (folder / "p.funnel").write_text(POLICY, encoding="utf-8")
    (folder / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    lines = ["lead_id,company,tags"]
    for lead, company, tags, _ in ROWS:
        lines.append(",".join('"' + c.replace('"', '""') + '"' if c else "" for c in
                              (lead, company, tags)))
    (folder / "leads.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(folder: Path) -> dict:
    """Each engine's `funnel eval` of the file, run once."""
    return {engine: CliRunner().invoke(main, ["eval", str(folder / "p.funnel"),
                                              str(folder / "leads.csv"), "--as-of", AS_OF,
                                              "--engine", engine])
            for engine in ("python", "duckdb")}


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_lone_surrogate_in_a_json_cell_refuses_its_lead_only(runs, engine):
    result = runs[engine]
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["lead"] for r in records] == [lead for lead, *_ in ROWS]
    for record, (_, _, _, path) in zip(records, ROWS, strict=True):
        if path is None:
            assert "error" not in record
            continue
        problems = record["error"]["problems"]
        assert [p["path"] for p in problems] == [path]
        assert problems[0]["message"] == "not valid Unicode: a \\u escape makes a lone surrogate"


def test_the_engines_write_the_same_bytes(runs):
    python, duckdb = runs["python"], runs["duckdb"]
    assert (duckdb.exit_code, duckdb.stdout) == (python.exit_code, python.stdout)
