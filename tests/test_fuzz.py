"""No input crashes the front end: parse and load return diagnostics, never raise.

Hypothesis feeds :func:`policy.syntax.parser.parse` and :func:`policy.model.loader.load_model`
random text, random bytes (decoded with ``errors="replace"``, as an editor would
show them) and valid policies broken a little: a token or a line deleted,
duplicated, swapped, or a word of the grammar inserted. Those near-misses are the
inputs people really write; they also reach the model builder and the checker,
since many of them still parse.

Each diagnostic must carry a documented code, a one-line message and a span that
lies inside a file of the policy, and it must render.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import ACME
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.model.loader import load_model
from policy.syntax.diagnostics import CODES, render
from policy.syntax.parser import lark_parser, parse

#: A small policy of our own, so the fuzz runs where the conformance suite is absent.
SMALL = '''\
policy tiny "A tiny funnel"
version "1"
id lead_id
team marketing "@t/marketing"
team sales "@t/sales"

calendar {
  timezone "Europe/London"
  workdays mon tue wed thu fri
  hours 09:00 to 17:30
  holidays "2026-12-25"
}

funnel lead -> mql -> sal

define free = ["gmail.com", "yahoo.com"]
define big "large companies" =
  company.employees >= 500 or
  company.`annual revenue` > 10_000_000

score fit owned by marketing, sales {
  +20 if big
  -30 if domain(email) in free
  +5 per webinars up to 15
  decay half-life 14 days since last_seen
  range 0 to 100
}

stage lead owned by marketing {
  require email is present and not (unsubscribed == true)
}

stage mql owned by marketing {
  require fit >= 40 "fit first"
  exclude title contains ["student", "intern"]
  keep when mql_at is present
}

stage sal owned by sales {
  require accepted_at is present
}

state nurture owned by marketing

handoff mql to sales {
  route "ae" if big and -fit < -50
  route "pool" otherwise
  sla 4 business hours from mql_at until accepted_at, rejected_at
  escalate to "managers" after 1 business days
  reject to nurture with reason why in ["bad fit", "no budget"]
}

recycle sal to nurture if days_since(last_seen) > 30 "stale"

example "a big lead" {
  at "2026-11-02T15:00:00Z"
  lead {"lead_id": "L-1", "email": "a@big.com", "company": {"employees": 900},
        "tags": [1, 2.5, -3e2, null, true], "mql_at": "2026-11-02T14:00:00Z"}
  expect stage mql
  expect score fit 20
  expect route "ae" at mql
  expect sla pending
}
'''


def _sources() -> list[tuple[str, str]]:
    out = [("small.funnel", SMALL)]
    if ACME.is_dir():
        out += [(p.name, p.read_text("utf-8")) for p in sorted(ACME.glob("*.funnel"))]
    return out


SOURCES = _sources()

#: Every word and mark of the grammar, plus a few values of each kind.
VOCABULARY = sorted(
    {t.pattern.value for t in lark_parser().terminals if t.pattern.type == "str"}
    | {"fit", "lead", "mql", "x_1", '"s"', '""', '"a\\"b"', "`a b`", "0", "42", "1_000",
       "2.5", "-1", "09:00", "24:00", "9:00", "=>", "!=", "==", "&&", "#", "# c", "\n",
       "\n\n", "'", '"', "@", ";", "é", "\t", "\r", "\r\n", "\u00a0", "\\"}
)

_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"?|`[^`\n]*`?|#[^\n]*|\r?\n|[ \t]+|[A-Za-z_][A-Za-z0-9_-]*'
    r"|[0-9][0-9_.:]*|->|[=!<>]=|."
)


def tokens(text: str) -> list[str]:
    """Split ``text`` into words, marks and whitespace; joining them gives it back."""
    out = _TOKEN.findall(text)
    assert "".join(out) == text
    return out


@st.composite
def mutated(draw, sources=SOURCES) -> tuple[str, str]:
    """A valid policy file with one to three small mistakes: (file name, text)."""
    name, text = draw(st.sampled_from(sources))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["token", "line"]))
        parts = tokens(text) if kind == "token" else text.splitlines(keepends=True)
        if not parts:
            break
        i = draw(st.integers(0, len(parts) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        if op == "delete":
            del parts[i]
        elif op == "duplicate":
            parts.insert(i, parts[i])
        elif op == "swap" and i + 1 < len(parts):
            parts[i], parts[i + 1] = parts[i + 1], parts[i]
        elif op in ("insert", "replace"):
            word = draw(st.sampled_from(VOCABULARY))
            if kind == "line":
                word += "\n"
            elif draw(st.booleans()):
                word = " " + word + " "
            if op == "insert":
                parts.insert(i, word)
            else:
                parts[i] = word
        text = "".join(parts)
    return name, text


def assert_well_formed(diags, sources: dict[str, str]) -> None:
    """Documented codes; one-line messages; spans inside a file of the policy; renders."""
    for d in diags:
        assert d.code in CODES, d
        assert d.message and "\n" not in d.message, d
        assert d.help is None or "\n" not in d.help, d
        if d.code == "E100":
            assert not d.message[0].isupper(), d
        s = d.span
        assert s.file in sources, d
        text = sources[s.file]
        lines = text.split("\n")
        assert 1 <= s.line <= len(lines), d
        assert 1 <= s.column <= len(lines[s.line - 1]) + 1, d
        assert s.line <= s.end_line <= len(lines), d
        # a span may end just past a line's newline (it covers it) but not past the text
        newline = 1 if s.end_line < len(lines) else 0
        assert 1 <= s.end_column <= len(lines[s.end_line - 1]) + 1 + newline, d
        assert (s.end_line, s.end_column) >= (s.line, s.column), d
        assert 0 <= s.start <= s.end <= len(text), d
        render(d, text)


def check_parse(text: str, file: str = "f.funnel") -> None:
    result = parse(text, file)
    assert (result.module is None) == any(d.is_error for d in result.diagnostics)
    assert_well_formed(result.diagnostics, {file: text})


def check_load(files: dict[str, str], *, schema: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in files.items():
            (root / name).write_text(text, "utf-8")
        if schema and (ACME / "lead.schema.json").is_file():
            shutil.copy(ACME / "lead.schema.json", root / "lead.schema.json")
        result = load_model(root)
        shown = {str(k): v for k, v in result.sources.items()}
        assert_well_formed(result.diagnostics, shown)
        assert len(shown) == len(files)


FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_seed_policies_are_valid():
    for name, text in SOURCES:
        assert parse(text, name).diagnostics == (), name


def test_the_tokenizer_round_trips_every_source():
    for _, text in SOURCES:
        assert "".join(tokens(text)) == text


@FUZZ
@given(st.text())
def test_parse_survives_any_text(text):
    check_parse(text)


@FUZZ
@given(st.binary())
def test_parse_survives_any_bytes(data):
    check_parse(data.decode("utf-8", errors="replace"))


@FUZZ
@given(st.lists(st.sampled_from(VOCABULARY), max_size=40).map(" ".join))
def test_parse_survives_grammar_words_in_any_order(text):
    check_parse(text)


@FUZZ
@given(mutated())
def test_parse_survives_near_misses(case):
    name, text = case
    check_parse(text, name)


@settings(FUZZ, max_examples=100)
@given(st.text())
def test_load_survives_any_text(text):
    check_load({"p.funnel": text})


@settings(FUZZ, max_examples=100)
@given(st.binary())
def test_load_survives_any_bytes(data):
    check_load({"p.funnel": data.decode("utf-8", errors="replace")})


@FUZZ
@given(mutated())
def test_load_survives_near_misses(case):
    name, text = case
    # the policy keeps its other files, so a broken one is checked in company
    files = {n: t for n, t in SOURCES if (n == "small.funnel") == (name == "small.funnel")}
    files[name] = text
    check_load(files, schema=name != "small.funnel")


@pytest.mark.parametrize("text", [
    "", "\n", "\ufeff", "#", "\r", "\r\n\r\n", "{", "}", "(", ")", "[", "]", '"', "`", "'",
    "lead {", 'example "e" {\n  lead {', "define x = " + "[" * 2000, "-" * 5000,
    "define x = " + "(" * 300 + "a" + ")" * 300 + "\n",
    'example "e" {\n  lead ' + "[" * 300 + "\n}\n",
    "\u2028policy p \"P\"\n", "policy p \"P\"\x0c\n", "policy\x85p",
])
def test_edge_inputs(text):
    check_parse(text)
    check_load({"p.funnel": text})
