"""Syntax errors (E100): the catalog of known mistakes, the fallback, and the goldens.

Every catalog entry has a row in ``CASES`` that pins its message, its span and its
help; every snippet the catalog carries must fail and be explained by its own entry.
The goldens under ``tests/golden/syntax`` show whole rendered diagnostics, as a user
sees them; ``UPDATE_GOLDEN=1 pytest tests/test_syntax_errors.py`` rewrites them (read
every changed one: the messages are product copy).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from lark import UnexpectedInput

from policy.model.loader import load_model
from policy.syntax import syntax_errors as se
from policy.syntax.diagnostics import Severity, render
from policy.syntax.parser import lark_parser, parse

GOLDEN = Path(__file__).parent / "golden" / "syntax"
TEAM = 'team marketing "@acme/marketing"\n'


def diagnose(text: str) -> tuple[str | None, object]:
    """Parse ``text`` through the shared parser; return (catalog entry, diagnostic)."""
    from policy.syntax.parser import _JOINER

    try:
        lark_parser().parse(text)
    except UnexpectedInput as exc:
        return se.classify(exc, text, "t.funnel", _JOINER.state, lark_parser())
    raise AssertionError(f"parsed without error: {text!r}")


def only_diag(text: str):
    result = parse(text, "t.funnel")
    assert result.module is None, f"parsed: {text!r}"
    (diag,) = result.diagnostics
    assert diag.code == "E100" and diag.severity is Severity.ERROR
    return diag


def where(diag) -> tuple[int, int, int, int]:
    s = diag.span
    return (s.line, s.column, s.end_line, s.end_column)


# --------------------------------------------------------------------------- the catalog

# (entry, text, message, (line, col, end_line, end_col), help) -- help None means "no help"
CASES = [
    ("unclosed", "stage mql owned by marketing {\n  require fit >= 40\n",
     "unclosed `{` opened at line 1", (1, 30, 1, 31),
     "end the block with `}` on a line of its own"),
    ("unclosed", TEAM + "stage mql owned by marketing {\n  require fit >= 40\n\n"
     "stage sal owned by marketing {\n}\n",
     "unclosed `{` opened at line 2", (2, 30, 2, 31),
     "`stage` on line 5 starts a new declaration: add `}` before it"),
    ("unclosed", "define x = lower(email\n",
     "unclosed `(` opened at line 1", (1, 17, 1, 18),
     "a rule continues onto the next line while a `(` is open: add the `)`"),
    ("unclosed", 'define x = ["a",\n  "b"\ndefine y = 1\n',
     "unclosed `[` opened at line 1", (1, 12, 1, 13),
     "`define` on line 3 is outside the `[`: add the `]` before it"),
    ("unclosed", 'example "e" {\n  lead {"lead_id": "L-1",\n  "a": [1, 2]',
     "unclosed `{` opened at line 2", (2, 8, 2, 9),
     "a lead's JSON object continues until its `}`: add it"),
    # spec section 1: `contains`, `starts with`, `ends with` and `is` do not continue a line
    ("text-test-at-line-end",
     TEAM + 'stage mql owned by marketing {\n  require email contains\n    "@"\n}\n',
     "expected a value after `contains`, found the end of the line", (3, 25, 3, 25),
     "a rule goes on to the next line only after `=`, a comparison or arithmetic operator, "
     "`and`, `or`, `not`, `in`, `->` or a comma, or while a `(` or `[` is open: put what "
     "follows `contains` on its line"),
    ("text-test-at-line-end",
     TEAM + 'stage mql owned by marketing {\n  require title ends  with # c\n    "vp"\n}\n',
     "expected a value after `ends with`, found the end of the line", (3, 27, 3, 27),
     "a rule goes on to the next line only after `=`, a comparison or arithmetic operator, "
     "`and`, `or`, `not`, `in`, `->` or a comma, or while a `(` or `[` is open: put what "
     "follows `ends with` on its line"),
    ("text-test-at-line-end",
     TEAM + "stage mql owned by marketing {\n  require email is\n    present\n}\n",
     "expected `present` or `missing` after `is`, found the end of the line", (3, 19, 3, 19),
     "a rule goes on to the next line only after `=`, a comparison or arithmetic operator, "
     "`and`, `or`, `not`, `in`, `->` or a comma, or while a `(` or `[` is open: put what "
     "follows `is` on its line"),
    ("assign-for-compare", TEAM + "stage mql owned by marketing {\n  require fit = 40\n}\n",
     "expected a comparison, found `=`", (3, 15, 3, 16), "use `==` to compare"),
    ("assign-for-compare", "define x = (a or (b and c = 1))\n",
     "expected a comparison, found `=`", (1, 27, 1, 28), "use `==` to compare"),
    ("assign-for-compare", TEAM + "stage mql owned by marketing {\n  require fit => 40\n}\n",
     "expected a comparison, found `=>`", (3, 15, 3, 17), 'write `>=` for "at least"'),
    ("quoted-name", TEAM + 'handoff "mql" to sales {\n}\n',
     "expected a name, found a string", (2, 9, 2, 14), "names are written without quotes: `mql`"),
    ("quoted-name", TEAM + 'stage "mql" owned by marketing {\n}\n',
     "expected a name, found a string", (2, 7, 2, 12), "names are written without quotes: `mql`"),
    ("quoted-name", 'stage mql owned by "Marketing Ops" {\n}\n',
     "expected a name, found a string", (1, 20, 1, 35),
     "names are lowercase snake_case, written without quotes: `marketing_ops`"),
    ("quoted-name", 'example "e" {\n  expect stage "mql"\n}\n',
     "expected a name, found a string", (2, 16, 2, 21), "names are written without quotes: `mql`"),
    ("route-without-condition", 'handoff mql to sales {\n  route "x" else\n}\n',
     "expected `if` or `otherwise` after the route, found `else`", (2, 13, 2, 17),
     'write `otherwise` for the route taken when no other applies: `route "x" otherwise`'),
    ("route-without-condition", 'handoff mql to sales {\n  route "x"\n}\n',
     "expected `if` or `otherwise` after the route, found the end of the line", (2, 12, 2, 12),
     'write `route "x" if CONDITION`, or `route "x" otherwise` for the last route'),
    ("missing-owned-by", TEAM + "stage mql {\n}\n",
     "expected `owned by`, found `{`", (2, 11, 2, 12),
     "every stage names the teams that own it (declared with `team`): "
     "`stage mql owned by marketing {`"),
    ("missing-owned-by", 'score fit "Fit" {\n}\n',
     "expected `owned by`, found `{`", (1, 17, 1, 18),
     "every score names the teams that own it (declared with `team`): "
     "`score fit owned by TEAM {`"),
    ("missing-owned-by", TEAM + "state nurture\n",
     "expected `owned by`, found the end of the line", (2, 14, 2, 14),
     "every state names the teams that own it (declared with `team`): "
     "`state nurture owned by marketing`"),
    ("missing-owned-by", TEAM + "state nurture ownedby marketing\n",
     "expected `owned by`, found `ownedby`", (2, 15, 2, 22),
     "did you mean `owned by`? every state names the teams that own it (declared with `team`): "
     "`state nurture owned by marketing`"),
    ("two-rules-on-one-line", TEAM + "score fit owned by marketing {\n  +10 if a +5 if b\n}\n",
     "two rules on one line", (3, 12, 3, 14),
     "a rule ends at the end of its line: start `+5 if …` on a line of its own"),
    ("two-rules-on-one-line", TEAM + "stage s owned by marketing {\n  require a exclude b\n}\n",
     "two rules on one line", (3, 13, 3, 20), "start `exclude` on a line of its own"),
    ("two-rules-on-one-line", 'version "1" schema "s.json"\n',
     "two declarations on one line", (1, 13, 1, 19), "start `schema` on a line of its own"),
    ("c-style-logic", "define x = !a\n", "unexpected `!`", (1, 12, 1, 13),
     "write `not` to negate a condition: `not unsubscribed`"),
    ("c-style-logic", "define x = a && b\n", "unexpected `&&`", (1, 14, 1, 16),
     "write `and` to require both conditions: `a and b`"),
    ("c-style-logic", "define x = a || b\n", "unexpected `||`", (1, 14, 1, 16),
     "write `or` to accept either condition: `a or b`"),
    ("missing-comma", 'define x = ["a" "b"]\n',
     'expected `,` between list items, found the string "b"', (1, 17, 1, 20),
     'separate list items with commas: `"a", "b"`'),
    ("missing-comma", "define x = f(a b)\n",
     "expected `,` between arguments, found `b`", (1, 16, 1, 17),
     "separate arguments with commas: `a, b`"),
    ("missing-comma", "recycle sal sql to nurture if x\n",
     "expected `,` between names, found `sql`", (1, 13, 1, 16),
     "separate names with commas: `sal, sql`"),
    ("unterminated-string", 'policy p "Acme\nversion "1"\n', "unterminated string",
     (1, 10, 1, 15), 'close it with `"` on the same line; a string cannot span lines'),
    ("unterminated-string", 'define x = "a\\qb"\n', "bad escape `\\q` in a string",
     (1, 14, 1, 16), "strings use JSON escapes: `\\\"`, `\\\\`, `\\n`, `\\t`, `\\u00e9`"),
    ("unterminated-backtick", "define x = a.`b c\n", "unterminated field name in backticks",
     (1, 14, 1, 18), "close it with `` ` `` on the same line: `` `annual revenue` ``"),
    ("stray-character", "define x = a @ b\n", "unexpected character `@`", (1, 14, 1, 15), None),
    ("stray-character", "define x = $50\n", "unexpected character `$`", (1, 12, 1, 13), None),
    ("stray-character", "define x = 1;\n", "unexpected character `;`", (1, 13, 1, 14),
     "a rule ends at the end of its line: remove the `;`"),
    ("stray-character", "team sales @acme\n", "unexpected character `@`", (1, 12, 1, 13),
     'a team handle is a string: "@acme/sales"'),
    ("stray-character", "define x = a\u00a0and b\n",
     "unexpected character U+00A0 (no-break space)", (1, 13, 1, 14),
     "remove the invisible character, or replace it with a plain space"),
    ("stray-character", "define x = \u201ca\u201d\n", "unexpected character `\u201c`",
     (1, 12, 1, 13), 'use straight double quotes: "…"'),
    ("non-ascii-name", "define cafe\u0301 = 1\n", "unexpected character `\u0301` in `cafe\u0301`",
     (1, 12, 1, 13), "names use letters, digits and `_`, and a combining mark is none of "
     "them: write the letter precomposed (NFC), or a lead field with such characters in "
     "backticks: `` `cafe\u0301` ``"),
    ("duration-unit", 'handoff m to s {\n  sla 4 bizness hours from a until b\n}\n',
     "expected a unit (`minutes`, `hours`, `days`, `weeks` or `business`), found `bizness`",
     (2, 9, 2, 16), "did you mean `business`?"),
    ("duration-unit", 'handoff m to s {\n  sla 4 from a until b\n}\n',
     "expected a unit (`minutes`, `hours`, `days`, `weeks` or `business`), found `from`",
     (2, 9, 2, 13), "a duration is a number and a unit: `30 days`, `4 business hours`"),
    ("business-unit", 'handoff m to s {\n  sla 4 business minutes from a until b\n}\n',
     "expected `hours` or `days` after `business`, found `minutes`", (2, 18, 2, 25),
     "business time counts working hours or workdays: `4 business hours`, `2 business days`"),
    ("time-of-day", "calendar {\n  hours 9:00 to 17:00\n}\n",
     "expected a time of day (`HH:MM`), found `9:00`", (2, 9, 2, 13),
     "write times as `HH:MM`, 24-hour, with two-digit hours: `09:00`"),
    ("time-of-day", "calendar {\n  hours 08:30 to 5:30 pm\n}\n",
     "expected a time of day (`HH:MM`), found `5:30 pm`", (2, 18, 2, 25),
     "write times as `HH:MM`, 24-hour, with two-digit hours: `17:30`"),
    ("json-trailing-comma", 'example "e" {\n  lead {"a": 1,}\n}\n',
     "a trailing comma is not allowed in JSON", (2, 15, 2, 16),
     "lead literals are strict JSON: remove the `,` before `}`"),
    ("json-trailing-comma", 'example "e" {\n  lead {"a": [1,\n 2,\n ]}\n}\n',
     "a trailing comma is not allowed in JSON", (3, 3, 3, 4),
     "lead literals are strict JSON: remove the `,` before `]`"),
    ("single-quotes", "example \"e\" {\n  lead {'a': 1}\n}\n",
     "expected a string in double quotes, found `'a'`", (2, 9, 2, 12),
     'lead literals are strict JSON: keys and strings use double quotes: "a"'),
    ("single-quotes", "define x = ['gmail.com']\n",
     "expected a string in double quotes, found `'gmail.com'`", (1, 13, 1, 24),
     'strings use double quotes: "gmail.com"'),
    ("half-life", 'score e owned by m {\n  decay half life 30 days since t\n}\n',
     "expected `half-life`, found `half`", (2, 9, 2, 13),
     "write `half-life` with a hyphen: `decay half-life 30 days since last_activity_at`"),
    ("unmatched-closer", "define x = f(a))\n", "unmatched `)`", (1, 16, 1, 17),
     "no `(` is open here for it to close; remove it"),
    ("unmatched-closer", "define x = f(a]\n",
     "expected `)` to close the `(` opened at line 1, found `]`", (1, 15, 1, 16), None),
    ("closing-brace-on-rule-line", TEAM + "stage s owned by marketing {\n  require a }\n",
     "expected the end of the line, found `}`", (3, 13, 3, 14),
     "a block's rules each take a line: put the closing `}` on a line of its own"),
    ("rule-outside-block", 'policy p "P"\nrequire fit >= 40\n',
     "expected a declaration, found `require`", (2, 1, 2, 8),
     "`require` rules belong inside a `stage NAME owned by TEAM { … }` block; "
     "is a `}` above closing the block too early?"),
    ("unquoted-string", 'handoff m to s {\n  route ae if x\n}\n',
     "expected a string in double quotes, found `ae`", (2, 9, 2, 11),
     'write it in double quotes: "ae"'),
    ("unquoted-string", 'example "e" {\n  lead {a: 1}\n}\n',
     "expected a string in double quotes, found `a`", (2, 9, 2, 10),
     'lead literals are strict JSON: keys and strings use double quotes: "a"'),
    ("unsigned-points", 'score s owned by m {\n  10 if x\n}\n',
     "expected `+` or `-` before the points, found `10`", (2, 3, 2, 5),
     "points carry a sign: `+10 if …` adds them, `-10 if …` takes them away"),
    ("operator-starts-line", "define x = a\n  or b\n",
     "a rule cannot continue with `or` on a new line", (2, 3, 2, 5),
     "a rule ends at the end of its line; to continue it, end line 1 with `or` instead"),
    ("keyword-prefix", TEAM + "stage mql owned by marketing {\n  requires fit >= 40\n}\n",
     "expected `require`, found `requires`", (3, 3, 3, 11), None),
    ("keyword-prefix", "stages mql owned by marketing {\n}\n",
     "expected `stage`, found `stages`", (1, 1, 1, 7), None),
    ("keyword-prefix", 'policypolicy acme "Acme"\n',
     "expected `policy`, found `policypolicy`", (1, 1, 1, 13), None),
    ("comma-in-calendar-list", "calendar {\n  workdays mon, tue\n}\n",
     "expected the end of the line or another item, found `,`", (2, 15, 2, 16),
     "`workdays` lists its items with spaces, without commas: `workdays mon tue wed`"),
    # issue 14 row 9: the typos of people used to SQL, Excel and Python
    ("capitalised-keyword",
     "stage mql owned by marketing {\n  require fit >= 40 AND demo_requested\n}\n",
     "unexpected `AND`", (2, 21, 2, 24), "keywords are lower case: write `and`"),
    ("capitalised-keyword", "stage mql owned by marketing {\n  require NOT unsubscribed\n}\n",
     "unexpected `NOT`", (2, 11, 2, 14), "keywords are lower case: write `not`"),
    ("space-in-field-path",
     "stage mql owned by marketing {\n  require Company.Annual Revenue >= 5_000_000\n}\n",
     "unexpected `Revenue` after the field `Company.Annual`", (2, 11, 2, 33),
     "a key with spaces is written in backticks: Company.`Annual Revenue`"),
    ("expect-without-kind",
     'example "x" {\n  at "2026-11-02T15:00:00Z"\n  lead {"a": 1}\n  expect fit 35\n}\n',
     "expected what to expect (`score`, `stage`, …), found `fit`", (4, 10, 4, 13),
     "a score is expected as `expect score fit 35`"),
]


@pytest.mark.parametrize(("entry", "text", "message", "span", "help"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_catalog_entry(entry, text, message, span, help):
    diag = only_diag(text)
    assert (diag.message, where(diag), diag.help) == (message, span, help)
    name, same = diagnose(text)
    assert name == entry and same == diag


def test_every_catalog_entry_has_a_case():
    assert {m.name for m in se.CATALOG} == {c[0] for c in CASES}
    assert len({m.name for m in se.CATALOG}) == len(se.CATALOG)


EXAMPLES = [(m.name, ex) for m in se.CATALOG for ex in m.examples]


@pytest.mark.parametrize(("entry", "text"), EXAMPLES,
                         ids=[f"{e}-{i}" for i, (e, _) in enumerate(EXAMPLES)])
def test_catalog_snippets_fail_and_are_explained_by_their_entry(entry, text):
    name, diag = diagnose(text)
    assert name == entry
    check_voice(diag, text)


def check_voice(diag, text: str) -> None:
    """The house style: lowercase, one line, help on its own; the span on the culprit."""
    assert diag.code == "E100"
    assert diag.message[:1] == diag.message[:1].lower() and "\n" not in diag.message
    assert not diag.message.endswith(".")
    assert diag.help is None or ("\n" not in diag.help and not diag.help[:1].isupper())
    s = diag.span
    assert s.file == "t.funnel" and 0 <= s.start <= s.end <= len(text)
    lines = text.split("\n")
    assert 1 <= s.line <= len(lines) and 1 <= s.column <= len(lines[s.line - 1]) + 1
    # "found `x`" underlines exactly `x`
    m = re.search(r"found (`[^`]+`|U\+[0-9A-F]{4})", diag.message)
    if m and m.group(1).startswith("`") and " in `" not in diag.message:
        assert text[s.start: s.end] == m.group(1)[1:-1]


def test_match_examples_prefers_the_entry_whose_snippet_fails_alike():
    """Lark's example-matching picks the entry first when the parser state agrees."""
    text = TEAM + "handoff mql to sales {\n  route \"sdr-pool\" else\n}\n"
    with pytest.raises(UnexpectedInput) as info:
        lark_parser().parse(text)
    order = list(se._candidates(info.value, lark_parser()))
    assert [m.order for m in order] == sorted(m.order for m in order)
    matched = [m for m in order if m.order == se.MATCHED]
    assert matched[0].name == "route-without-condition"
    assert sorted(m.name for m in order) == sorted(m.name for m in se.CATALOG)


def test_a_catch_all_never_hides_a_specific_entry():
    # `!` matches the stray-character snippets' parser state, yet is explained as logic
    assert diagnose("define x = !a\n")[0] == "c-style-logic"
    assert [m.name for m in se.CATALOG if m.order == se.LAST] == ["stray-character"]


# --------------------------------------------------------------------------- the fallback


@pytest.mark.parametrize(
    ("text", "message", "span", "help"),
    [
        ("funnel lead mql\n", "expected the end of the line or `->`, found `mql`",
         (1, 13, 1, 16), None),
        ('policy p\n', "expected a string in double quotes, found the end of the line",
         (1, 9, 1, 9), None),
        ('policy p', "expected a string in double quotes, found the end of the line",
         (1, 9, 1, 9), None),
        ("stag mql owned by m {\n}\n",
         "expected a declaration (`stage`, `score`, `define`, …), found `stag`",
         (1, 1, 1, 5), "did you mean `stage`?"),
        ('stage s owned by m {\n  requre x\n}\n',
         "expected `require`, `exclude`, `keep`, `entered` or `}`, found `requre`", (2, 3, 2, 9),
         "did you mean `require`?"),
        ('example "e" {\n  expect foo\n}\n',
         "expected `score`, `stage`, `route`, `sla`, `escalate`, …, found `foo`",
         (2, 10, 2, 13), None),
        ('stage s owned by m {\n  require\n}\n',
         "expected an expression, found the end of the line", (2, 10, 2, 10), None),
        ('handoff m to s {\n  sla 4 hours from a\n}\n',
         "expected `until`, found the end of the line", (2, 21, 2, 21), None),
        ("define x", "expected `=` or a string in double quotes, found the end of the line",
         (1, 9, 1, 9), None),
        ('team "sales" "x"\n', "expected a name, found a string", (1, 6, 1, 13),
         "names are written without quotes: `sales`"),
        ('define x = a b\n', "expected the end of the line, `(`, `.` or an operator "
         "(`==`, `and`, `or`, …), found `b`", (1, 14, 1, 15), None),
        ('stage s owned by m {\n  require a b\n}\n', "expected the end of the line, a string "
         "in double quotes, `(`, `.` or an operator (`==`, `and`, `or`, …), found `b`",
         (2, 13, 2, 14), None),
        ('example "e" {\n  lead {"a": tru}\n}\n', "expected a JSON value, found `tru`",
         (2, 14, 2, 17), "did you mean `true`?"),
        ('example "e" {\n  expect score fit "55"\n}\n',
         'expected a number or `-`, found the string "55"', (2, 20, 2, 24), None),
    ],
)
def test_expected_found_in_words(text, message, span, help):
    diag = only_diag(text)
    assert (diag.message, where(diag), diag.help) == (message, span, help)
    check_voice(diag, text)


def test_long_strings_are_clipped_in_the_message():
    text = 'example "e" {\n  expect score fit "' + "x" * 60 + '"\n}\n'
    diag = only_diag(text)
    assert diag.message == 'expected a number or `-`, found the string "' + "x" * 29 + '…"'
    assert where(diag) == (2, 20, 2, 82)


def test_reserved_word_as_a_name():
    diag = only_diag(TEAM + "stage in owned by marketing {\n  require x\n}\n")
    assert diag.message == "`in` is a reserved word, not a name"
    assert where(diag) == (2, 7, 2, 9)
    assert diag.help == ("reserved words cannot be names: `and`, `contains`, `false`, `in`, "
                         "`is`, `none`, `not`, `null`, `or`, `true`")


def test_the_post_lexer_state_of_a_failed_parse_is_not_disturbed_by_the_catalog():
    # the catalog's own snippets run through the same parser; describe must still
    # report the `{` of the file at hand, not one of theirs
    text = "\n\n\nstage mql owned by m {\n  require fit >= 40\n"
    for _ in range(2):
        diag = only_diag(text)
        assert diag.message == "unclosed `{` opened at line 4" and where(diag) == (4, 22, 4, 23)


def test_an_error_at_the_end_of_a_long_file_is_described_quickly():
    body = "".join(f'define d{i} = a{i} >= {i} and b in ["x", "y"]\n' for i in range(3000))
    text = body + "stage s owned by m {\n  require fit = 40\n}\n"
    parse(text, "t.funnel")  # warm the catalog
    t0 = time.perf_counter()
    parse(body, "t.funnel")  # the same file without the mistake: the cost of parsing it
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    diag = only_diag(text)
    elapsed = time.perf_counter() - t0
    assert diag.message == "expected a comparison, found `=`" and diag.span.line == 3002
    # Relative to a clean parse of the same text, so that a loaded machine slows both
    # sides: describing the error must not cost a parse per catalog entry.
    assert elapsed < 3 * t_parse + 0.5


# --------------------------------------------------------------------------- nesting


def nested(depth: int) -> str:
    return "define x = " + "(" * (depth - 1) + "a" + ")" * (depth - 1) + "\n"


def test_nesting_up_to_the_limit_parses_and_loads(tmp_path):
    # each `(` is one level: nested(k) holds k - 1 of them
    text = nested(se.MAX_NESTING + 1)
    assert parse(text, "t.funnel").diagnostics == ()
    chain = "define y = " + " or ".join(["a"] * (se.MAX_NESTING + 1)) + "\n"
    assert parse(chain, "t.funnel").diagnostics == ()
    (tmp_path / "p.funnel").write_text('policy p "P"\n' + text + chain)
    result = load_model(tmp_path)
    assert result.model is not None
    assert not [d for d in result.diagnostics if d.code == "E100"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (nested(se.MAX_NESTING + 2), "the expression nests more than 100 levels deep"),
        (nested(5000), "the expression nests more than 100 levels deep"),
        ("define y = " + " + ".join(["a"] * 3000) + "\n",
         "the expression nests more than 100 levels deep"),
        ("define y = " + "not " * 3000 + "a\n", "the expression nests more than 100 levels deep"),
        ("define y = " + "-" * 3000 + "a\n", "the expression nests more than 100 levels deep"),
        ('example "e" {\n  lead ' + '{"a": ' * 200 + "1" + "}" * 200 + "\n}\n",
         "the lead's JSON nests more than 100 levels deep"),
    ],
)
def test_deeper_nesting_is_an_error_not_a_crash(text, message):
    diag = only_diag(text)
    assert diag.message == message
    check_voice(diag, text)


def test_the_nesting_error_points_at_the_level_past_the_limit():
    diag = only_diag(nested(se.MAX_NESTING + 2))
    # `define x = ` is 11 characters; the 101st `(` opens the level past the limit
    assert where(diag)[:2] == (1, 12 + se.MAX_NESTING)


# --------------------------------------------------------------------------- goldens


GOLDENS = sorted(GOLDEN.glob("*.funnel"))


def test_there_are_goldens():
    assert len(GOLDENS) >= 30


@pytest.mark.parametrize("path", GOLDENS, ids=[p.stem for p in GOLDENS])
def test_golden(path: Path):
    text = path.read_text("utf-8")
    result = parse(text, path.name)
    assert result.module is None and len(result.diagnostics) == 1
    got = "\n".join(render(d, text, color=False) for d in result.diagnostics) + "\n"
    expected_path = path.with_suffix(".expected")
    if os.environ.get("UPDATE_GOLDEN"):
        expected_path.write_text(got, "utf-8")
    assert expected_path.exists(), f"no golden for {path.name}: run with UPDATE_GOLDEN=1"
    assert got == expected_path.read_text("utf-8")


# --------------------------------------------------------------------------- sharing


def test_describing_errors_is_safe_across_threads():
    import concurrent.futures

    texts = [ex for m in se.CATALOG for ex in m.examples]
    alone = [parse(t, "t.funnel").diagnostics for t in texts]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            together = list(pool.map(lambda t: parse(t, "t.funnel").diagnostics, texts))
            assert together == alone


@pytest.mark.parametrize("sep", ["\x0c", "\u2028", "\x85"])
def test_render_shows_the_line_the_span_names(sep):
    text = f"# page one{sep}page two\ndefine x = a = 1\n"
    diag = only_diag(text)
    assert diag.span.line == 2
    assert render(diag, text).splitlines()[1] == "   2 | define x = a = 1"
