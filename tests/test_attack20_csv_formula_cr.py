"""A CSV output cell whose text starts with a carriage return gets the leading ``'`` that
docs/security.md promises (OWASP lists CR with ``=``, ``+``, ``-``, ``@`` and tab), in
every engine. The writers turned the CR into LF first (so the cell is quoted as one line
break) and then tested the first character: a CR could never be found there, and
``"\\r=HYPERLINK(…)"`` was written as ``"\\n=HYPERLINK(…)"``, unmarked."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

POLICY = 'policy f "F"\nid lead_id\nteam t "@t"\nfunnel a\nstage a owned by t {\n  require x\n}\n'

IDS = ["\r=1+1", "\r\n@SUM(A1)", "a\r=b", "\n=c", "=d"]
#: the cell a spreadsheet reads back: a ``'`` before a formula character, CR as LF
WANT = ["'\n=1+1", "'\n@SUM(A1)", "a\n=b", "\n=c", "'=d"]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_cell_that_starts_with_cr_is_marked_as_text(tmp_path, engine):
    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    leads = tmp_path / "l.jsonl"
    leads.write_text("".join(json.dumps({"lead_id": i, "x": True}) + "\n" for i in IDS),
                     encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "p.funnel"), str(leads),
                                       "--as-of", "2026-12-01T00:00:00Z", "--engine", engine,
                                       "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert [r["lead"] for r in rows] == WANT
