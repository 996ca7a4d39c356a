"""`funnel check --format github` with control characters, bidi overrides and line
separators in what it quotes (session 14).

Before: a workflow command percent-encoded only `%`, CR and LF, so a policy string that
a message quotes (W208 quotes the value compared with an enum field) wrote its raw
U+202E (right-to-left override) into the annotation, and a policy file named with an
ESC wrote a terminal escape sequence into the CI log; the text format escaped both.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from funnel_cli.main import main

POLICY = '''policy g "G"
schema "s.json"
team m "@m"
funnel lead
stage lead owned by m {
  require source == "VALUE"
}
'''

SCHEMA = {"type": "object", "properties": {"source": {"type": "string", "enum": ["web", "ads"]}}}
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                    "\u2028\u2029]")


def _check(folder: Path) -> str:
    result = CliRunner().invoke(main, ["check", str(folder), "--format", "github"],
                                env={"GITHUB_WORKSPACE": str(folder)})
    return result.stdout


def test_a_quoted_policy_string_cannot_reorder_or_colour_an_annotation(tmp_path):
    value = "\\u202e\\u001b[31mred\\u2028\\u0085\\u2066x"
    (tmp_path / "p.funnel").write_text(POLICY.replace("VALUE", value))
    (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
    out = _check(tmp_path)
    assert out.startswith("::warning file=p.funnel,line=6,"), out
    assert "W208" in out
    assert not UNSAFE.search(out), repr(out)
    assert "\\u202e\\u001b[31mred\\u2028\\x85\\u2066x" in out
    assert out.count("\n") == 1  # one workflow command, one line


def test_a_file_name_with_an_escape_sequence_is_escaped_in_the_annotation(tmp_path):
    (tmp_path / "p.funnel").write_text(POLICY.replace('"VALUE"', '"web"'))
    (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "b\x1b[31m\u202e.funnel").write_text("define bad x\n")
    out = _check(tmp_path)
    assert "::error file=b\\x1b[31m\\u202e.funnel,line=1," in out, repr(out)
    assert not UNSAFE.search(out), repr(out)


def test_cr_and_lf_stay_percent_encoded(tmp_path):
    (tmp_path / "p.funnel").write_text(POLICY.replace("VALUE", "a\\rb"))
    (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
    out = _check(tmp_path)
    assert "%0Ahelp: the schema allows" in out, out
