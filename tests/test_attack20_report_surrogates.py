"""`funnel report --engine duckdb` over leads whose ``\\u`` escapes make a lone surrogate,
compared with `--engine python` byte for byte.

Both readers refuse such a lead, and the report counts it under its first problem path.
The DuckDB report broke two ways: over a JSON array (or CSV), a path holding the half pair
(a key ``"\\ud800"``) stopped the run with a traceback (``Python Conversion Failure:
cannot encode str as UTF-8``); over JSON Lines, a low half (``\\udc00``-``\\udfff``) was not
recognised as one, so DuckDB's JSON reader refused the line and the lead was counted under
the empty path instead of ``company.`…```.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

AS_OF = "2026-12-01T16:00:00Z"

POLICY = '''policy sur "S"
id lead_id
team t "@t"
funnel a
stage a owned by t {
  require email is present
}
'''

LEADS = [
    '{"lead_id": "ok", "email": "x", "src": "web"}',
    '{"lead_id": "key", "email": "x", "\\ud800": 1}',
    '{"lead_id": "low", "email": "x", "company": {"\\udc00x": 1}}',
    '{"lead_id": "value", "email": "\\uDFFF", "src": "\\udbff"}',
    '{"lead_id": "pair", "email": "\\ud83d\\ude00", "src": "web"}',
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report-surrogates")
    (folder / "p.funnel").write_text(POLICY, encoding="utf-8")
    (folder / "leads.jsonl").write_text("\n".join(LEADS) + "\n", encoding="utf-8")
    (folder / "leads.json").write_text("[" + ",\n".join(LEADS) + "]\n", encoding="utf-8")
    return folder


def _report(folder: Path, leads: str, engine: str) -> tuple[int, str, dict]:
    out = folder / f"{leads}.{engine}.json"
    result = CliRunner().invoke(main, ["report", str(folder / "p.funnel"), str(folder / leads),
                                       "--as-of", AS_OF, "--engine", engine, "--by", "src",
                                       "--format", "json", "-o", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    return result.exit_code, text, json.loads(text) if text else {}


@pytest.mark.parametrize("leads", ["leads.jsonl", "leads.json"])
def test_the_engines_count_a_lone_surrogate_under_the_same_path(folder, leads):
    python = _report(folder, leads, "python")
    duckdb = _report(folder, leads, "duckdb")
    assert python[0] == 0
    refused = python[2]["refused"]
    assert refused["count"] == 3
    # every lead is refused at the field that holds the half pair (shown as U+FFFD)
    assert sorted(refused["paths"]) == ["`\ufffd\ufffd\ufffd`", "company.`\ufffd\ufffd\ufffdx`",
                                        "email"]
    assert duckdb[:2] == python[:2]
