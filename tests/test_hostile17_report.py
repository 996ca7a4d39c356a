"""`funnel report --format html` with leads whose text the charts cannot take raw.

vl-convert renders the charts' text through an XML parser, and a character XML 1.0 does
not allow (U+FFFE, U+FFFF) in a ``--by`` value or a rejection reason made it panic in
Rust and abort the whole process (SIGABRT, exit 134, a Rust backtrace on stderr): one
lead from a web form ended the report. It is written as a visible escape, like the
control characters the charts already escaped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("vl_convert")

POLICY = '''policy hr "Hostile report"
schema "lead.schema.json"
id lead_id
team m "@m"
team s "@s"
funnel lead -> mql
stage lead owned by m {
  require email is present
}
stage mql owned by m {
  require employees >= 10
}
state nurture owned by m
handoff mql to s {
  route "desk" otherwise
  reject to nurture with reason rejection_reason in ["bad fit"]
}
'''
SCHEMA = {"type": "object", "required": ["lead_id"],
          "properties": {"lead_id": {"type": "string"}, "email": {"type": "string"},
                         "employees": {"type": "integer"}, "source": {"type": "string"},
                         "rejected_at": {"type": "string", "format": "date-time"},
                         "rejection_reason": {"type": "string"}}}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("char", ["\ufffe", "\uffff"])
@pytest.mark.parametrize("where", ["source", "rejection_reason"])
def test_a_character_xml_forbids_is_an_escape_in_the_charts_not_an_abort(tmp_path: Path,
                                                                          char, where):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "p.funnel").write_text(POLICY)
    (tmp_path / "rules" / "lead.schema.json").write_text(json.dumps(SCHEMA))
    lead = {"lead_id": "A", "email": "a@b.co", "employees": 20, "source": "web",
            "rejected_at": "2026-11-02T10:00:00Z", "rejection_reason": "bad fit"}
    lead[where] = f"x{char}y"
    (tmp_path / "l.jsonl").write_text(json.dumps(lead) + "\n")
    out = tmp_path / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "funnel_cli.main", "report", str(tmp_path / "rules"),
         str(tmp_path / "l.jsonl"), "--by", "source", "--as-of", "2026-11-03T00:00:00Z",
         "-o", str(out)], capture_output=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    page = out.read_text("utf-8")
    assert "<svg" in page  # the charts are there, not left out
    parser = _Text()
    parser.feed(page)
    shown = "".join(parser.text)
    # the value shows, escaped, in the chart (and its table)
    assert f"x\\u{ord(char):04x}y" in shown, shown[:2000]
