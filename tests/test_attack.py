"""Adversarial cases an outside reviewer tried: each once broke a command or an engine.

Every case here is an input the generators and the other tests did not produce; each
test names what went wrong before its fix. The engines must agree on each one, and no
input may reach the user as a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

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
