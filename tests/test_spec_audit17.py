"""The spec's own sentences, probe by probe (helper audit17, seventeenth session).

The differential tests show that the engines agree with *each other*; this module
checks that they agree with *the spec* (LANGUAGE.md sections 3 "Expressions", 4
"Evaluating one lead", 5 "The decision", 7 "Examples" and 9 "Lead input, precisely"
and "Tabular decisions"). Every expected value below was computed by hand from the
spec's words (and, where the spec is silent, from docs/decisions.md), never by running
the code, so the module guards those words rather than today's behaviour.

Each group is one policy with its leads. The python engines (the reference
interpreter and the compiled engine) decide every lead through the library; DuckDB
decides each group's leads in one ``funnel eval --engine duckdb`` run (in-process,
through click's ``CliRunner``, so the file stays a few CPU-seconds).

A condition probe ``(expr, lead, want)`` is one score ``+1 if expr``: the score is 1
exactly when the condition holds. ``want`` is 1 or 0, or ``REFUSED`` for a lead that
must get an error record (a timestamp that does not parse).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from probe_records import ABSENT, at_path, mismatches

import policy
from policy.engine.decision import LeadError

REFUSED = "refused"
#: What :func:`pick` gives for a path that leads nowhere.


#: Condition probes per score: one score per probe made DuckDB's statement for 200
#: probes cost 15 CPU-s, 40 probes a score cost 2.7.
PER_SCORE = 40


def condition_policy(
    name: str, probes: list, head: str = "", body: str = "", gate: str = ""
) -> tuple[str, list]:
    """A policy whose scores ``bits<j>`` hold one bit per probe (``+2^k if expr``: bit
    k is 1 exactly when the probe's condition holds), and one lead per probe (its id
    ``p<i>``) that expects its bit: (text, cases). A ``REFUSED`` probe's lead holds one
    field, and its error record must name that field."""
    text = [
        f'policy {name} "spec probes"',
        "id lead_id",
        head,
        'team m "@m"',
        "funnel a",
        "stage a owned by m {",
        gate,
        "}",
        body,
    ]
    cases = []
    for i, (expr, lead, want) in enumerate(probes):
        j, k = divmod(i, PER_SCORE)
        if k == 0:
            text += ["}"] * (j > 0) + [f"score bits{j} owned by m {{"]
        text.append(f"  +{1 << k} if {expr}")
        want = (
            {"error.problems.0.path": next(iter(lead))}
            if want == REFUSED
            else {f"bit {j} {k}: {expr}": want}
        )
        cases.append(({"lead_id": f"p{i}", **lead}, want))
    text += ["}"] * bool(probes)
    return "\n".join(text) + "\n", cases


# ------------------------------------------------------------------ section 3: expressions
# Without a schema. ``t`` and ``u`` are timestamps because the policy gives them to
# days_since / hours_since (section 3, "Types"); ``s`` is never read as one, so it
# compares as text. Evaluated as of 2026-01-02T12:00:00Z.
EXPRESSIONS = [
    # "A comparison, membership or text test that touches a missing value is false --
    # != and not in included"; "missing when it, or any part of its path, is absent or
    # null"; "A bare field used as a condition is true only when it is boolean true";
    # arithmetic and functions of a missing value are missing; division by zero too.
    # missing values
    ("x != 5", {}, 0),
    ("x != 5", {"x": None}, 0),
    ("x != 5", {"x": 4}, 1),
    ("x not in [1, 2]", {}, 0),
    ("x not in [1, 2]", {"x": None}, 0),
    ("x not in [1, 2]", {"x": 3}, 1),
    ("a.b is missing", {"a": None}, 1),
    ("a.b is missing", {"a": 5}, 1),
    ("a.b is missing", {"a": {}}, 1),
    ("a.b is present", {"a": {"b": None}}, 0),
    ("a.b is present", {"a": {"b": 0}}, 1),
    ("a.b is present", {"a": {"b": False}}, 1),
    ("a.b != 1", {"a": None}, 0),
    ("a.b != 1", {"a": "s"}, 0),
    ("a.b.c < 1", {"a": {"b": [1]}}, 0),
    ("flag", {"flag": True}, 1),
    ("flag", {"flag": "true"}, 0),
    ("flag", {"flag": 1}, 0),
    ("not flag", {}, 1),
    ("not flag", {"flag": None}, 1),
    ("not flag", {"flag": "yes"}, 1),
    ("not flag", {"flag": True}, 0),
    ("not (x > 5)", {}, 1),
    ("x + 1 > 0", {}, 0),
    ("(x + 1) is missing", {}, 1),
    ("(x + 1) is missing", {"x": "a"}, 1),
    ("x / 0 is missing", {"x": 5}, 1),
    ("x / 0 != 1", {"x": 5}, 0),
    ("lower(s) is missing", {}, 1),
    ("flag or x > 1", {"x": 2}, 1),
    ("flag and x > 1", {"flag": True, "x": 2}, 1),
    # numbers
    ("x == 1", {"x": 1.0}, 1),
    ("x in [1, 2]", {"x": 1.0}, 1),
    ("x in [1.0]", {"x": 1}, 1),
    ('x in ["1"]', {"x": 1}, 0),
    ('x in [1, "a"]', {"x": "a"}, 1),
    ('x in [1, "a"]', {"x": 1}, 1),
    ('x in [1, "a"]', {"x": "1"}, 0),
    ('x not in [1, "a"]', {"x": 1.0}, 0),
    ("x == 1", {"x": True}, 0),
    ("x != 1", {"x": True}, 1),
    ("x == true", {"x": True}, 1),
    ("x == true", {"x": "true"}, 0),
    ("x == false", {"x": False}, 1),
    ("x * 2 == 5", {"x": 2.5}, 1),
    ("x / 2 == 3.5", {"x": 7}, 1),
    ("-x < 0", {"x": 3}, 1),
    ("x - 1 - 1 == 1", {"x": 3}, 1),
    ("2 * x + 1 == 7", {"x": 3}, 1),
    ("1_000 == x", {"x": 1000}, 1),
    ("x == 0.1 + 0.2", {"x": 0.3}, 0),
    ("x > 1", {"x": "5"}, 0),
    ("x <= 1", {"x": "0"}, 0),
    ("x != 1", {"x": "1"}, 1),
    ("not x == 1", {"x": 2}, 1),
    ("x == 1 or x == 2 and false", {"x": 1}, 1),
    # strings
    ('s == "A"', {"s": "a"}, 0),
    ('s < "a"', {"s": "Z"}, 1),
    ('s < "z"', {"s": "\u00e9"}, 0),
    ('s < "\U0001f600"', {"s": "\uffff"}, 1),
    ('s > "\uffff"', {"s": "\U0001f600"}, 1),
    ('s < "ab"', {"s": "a"}, 1),
    ('s >= ""', {"s": ""}, 1),
    ('s == ""', {"s": ""}, 1),
    ("s is present", {"s": ""}, 1),
    # contains / starts / ends
    ('s contains "ASS"', {"s": "strasse"}, 1),
    ('s contains "STRASSE"', {"s": "stra\u00dfe"}, 0),
    ('s contains "\u00df"', {"s": "STRA\u00dfE"}, 1),
    ('s contains "\u0130"', {"s": "i\u0307x"}, 1),
    ('s contains "\u0130"', {"s": "ix"}, 0),
    ('s contains "i"', {"s": "\u0130"}, 1),
    ('s contains "\u03c3"', {"s": "\u039f\u0394\u039f\u03a3"}, 0),
    ('s contains "\u03c2"', {"s": "\u039f\u0394\u039f\u03a3"}, 1),
    ('s contains "a"', {"s": ["A", "b"]}, 1),
    ('s contains "a"', {"s": ["abc"]}, 0),
    ('s contains ["q", "B"]', {"s": "abc"}, 1),
    ('s contains ["q", "z"]', {"s": "abc"}, 0),
    ("s contains 1", {"s": [1.0, 2]}, 1),
    ('s contains "1"', {"s": 123}, 0),
    ('s contains "1"', {"s": [1]}, 0),
    ('s contains ""', {"s": "abc"}, 1),
    ('s contains "x"', {}, 0),
    ('s contains ["A", "z"]', {"s": ["a"]}, 1),
    ("s contains true", {"s": [True]}, 1),
    ("s contains 1", {"s": [True]}, 0),
    ('s starts with "AB"', {"s": "abc"}, 1),
    ('s starts with "a"', {"s": ["abc"]}, 0),
    ('s starts with ""', {"s": "x"}, 1),
    ('s ends with "SS"', {"s": "stra\u00df"}, 0),
    ('s ends with "\u00df"', {"s": "STRA\u00df"}, 1),
    ('s ends with "c"', {"s": 12}, 0),
    ('s starts with "x"', {"s": None}, 0),
    ('not (s starts with "x")', {}, 1),
    # functions
    ("length(s) == 3", {"s": "abc"}, 1),
    ("length(s) == 3", {"s": [1, None, "x"]}, 1),
    ("length(s) == 6", {"s": "stra\u00dfe"}, 1),
    ("length(s) == 2", {"s": "e\u0301"}, 1),
    ("length(s) == 1", {"s": "\U0001f600"}, 1),
    ("length(s) == 0", {"s": ""}, 1),
    ("length(s) is missing", {"s": 123}, 1),
    ("length(s) is missing", {"s": {"a": 1}}, 1),
    ("length(s) is missing", {"s": True}, 1),
    ("length(s) == 2", {"s": "\U0001f1fa\U0001f1f8"}, 1),
    ('lower(s) == "stra\u00dfe"', {"s": "STRA\u00dfE"}, 1),
    ('lower(s) == "i\u0307"', {"s": "\u0130"}, 1),
    ('lower(s) == "\u03bf\u03c2"', {"s": "\u039f\u03a3"}, 1),
    ("lower(s) is missing", {"s": 5}, 1),
    ("lower(s) is missing", {"s": ["A"]}, 1),
    ('domain(e) == "b.com"', {"e": "a@x@B.COM"}, 1),
    ('domain(e) == ""', {"e": "a@"}, 1),
    ("domain(e) is present", {"e": "a@"}, 1),
    ("domain(e) is missing", {"e": "nobody"}, 1),
    ("domain(e) is missing", {"e": 5}, 1),
    ('domain(e) == "stra\u00dfe.de"', {"e": "x@STRASSE.DE"}, 0),
    ('domain(e) == "x.com"', {"e": "@X.com"}, 1),
    ('domain(e) == "i\u0307.de"', {"e": "a@\u0130.DE"}, 1),
    ('domain(e) in ["gmail.com"]', {"e": "Ann@GMail.Com"}, 1),
    ('domain(e) == " x.com"', {"e": "a@ X.com"}, 1),
    # a list literal whose item is missing (a missing field, `null`, arithmetic on text):
    # the test touches a missing value, so it is false, `not in` included; a lead's own
    # list holding null is present (its null elements equal nothing)
    ("x in [y, 2]", {"x": 2}, 0),
    ("x not in [y, 3]", {"x": 2}, 0),
    ("x in [y, 2]", {"x": 2, "y": 1}, 1),
    ("x not in [y, 3]", {"x": 2, "y": 1}, 1),
    ("x in [y, 2]", {"x": 2, "y": None}, 0),
    ("x in [y + 1, 3]", {"x": 3, "y": "a"}, 0),
    ('s contains [y, "a"]', {"s": "abc"}, 0),
    ('s starts with [y, "a"]', {"s": "abc"}, 0),
    ('s ends with [y, "c"]', {"s": "abc"}, 0),
    ('s ends with [y, "c"]', {"s": "abc", "y": "q"}, 1),
    ("tags contains y", {"tags": [None, 1]}, 0),
    ("x in tags", {"x": 1, "tags": [None, 1]}, 1),
    ("x in [1, null]", {"x": 1}, 0),
    ("x not in [2, null]", {"x": 1}, 0),
    # a list literal is a list: its length, and `contains` tests its elements
    ("length([y, 2]) == 2", {"y": 1}, 1),
    ("length([y, 2]) is missing", {}, 1),
    ("[y, 2] contains 2", {"y": 1}, 1),
    ("[1, 2] contains x", {"x": 2}, 1),
    ('["A", y] contains s', {"s": "a", "y": 0}, 1),
    ("[y, 2] contains tags", {"y": 5, "tags": [9, 5]}, 1),
    ("[y, 2] contains tags", {"y": 5, "tags": [9]}, 0),
    # timestamps: "compare in time order"; a date is midnight UTC; days_since of a later
    # instant is negative; the v1.1 leniencies, and what must not parse ("no week or
    # ordinal dates, no 24:00, no leap second"), which refuses the lead.
    ('s > "2026-01-01"', {"s": "2026-01-01T00:00:00Z"}, 1),
    ('t > "2026-01-01"', {"t": "2026-01-01T00:00:00Z"}, 0),
    ('t == "2026-01-01"', {"t": "2026-01-01T00:00:00Z"}, 1),
    ('t == "2026-01-01T00:00:00Z"', {"t": "2026-01-01T05:00:00+05:00"}, 1),
    ("t < u", {"t": "2026-01-01T00:00:00+01:00", "u": "2025-12-31T23:30:00Z"}, 1),
    ("t == u", {"t": "2026-01-01T00:00:00+01:00", "u": "2025-12-31T23:00:00Z"}, 1),
    ("t != u", {"t": "2026-01-01T00:00:00+01:00", "u": "2025-12-31T23:00:00Z"}, 0),
    ('t in ["2026-01-01T01:00:00+01:00"]', {"t": "2026-01-01"}, 1),
    ('t not in ["2026-01-01T01:00:00+01:00"]', {"t": "2026-01-01"}, 0),
    ("days_since(t) == 1.5", {"t": "2026-01-01"}, 1),
    ("days_since(t) == -1", {"t": "2026-01-03T12:00:00Z"}, 1),
    ("hours_since(t) == -36", {"t": "2026-01-04"}, 1),
    ("hours_since(t) == 0.5", {"t": "2026-01-02T11:30:00Z"}, 1),
    ("days_since(t) is missing", {}, 1),
    ("days_since(t) is missing", {"t": None}, 1),
    ("days_since(t) > -1000", {"t": "2026-01-02T12:00:00Z"}, 1),
    # leniencies
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02t11:30:00z"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02 11:30"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02T11:30"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02T17:00+0530"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02T16:30:00+05"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02T06:30:00-05"}, 1),
    ('t == "2026-01-02T11:30:00.123456Z"', {"t": "2026-01-02T11:30:00.1234569Z"}, 1),
    (
        't == "2026-01-02T11:30:00.123456Z"',
        {"t": "2026-01-02T11:30:00.123456999999999999999+00:00"},
        1,
    ),
    ('t == "2026-01-02T11:30:00.5Z"', {"t": "2026-01-02T11:30:00.500Z"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02T11:30:00-00:00"}, 1),
    ('t == "2026-01-02T00:00:00Z"', {"t": "2026-01-01T24:00:00Z"}, REFUSED),
    ("t is present", {"t": "2026-06-30T23:59:60Z"}, REFUSED),
    ("t is present", {"t": "2026-W01-1"}, REFUSED),
    ("t is present", {"t": "2026-002"}, REFUSED),
    ("t is present", {"t": "20260102T113000Z"}, REFUSED),
    ("t is present", {"t": "2026-01-02T11"}, REFUSED),
    ("t is present", {"t": "2026-01-02T11:30:00,5Z"}, REFUSED),
    ("t is present", {"t": "2026-01-02T11:30:00+5:00"}, REFUSED),
    ("t is present", {"t": "2026-1-2"}, REFUSED),
    ("t is present", {"t": "2026-02-30"}, REFUSED),
    ("t is present", {"t": "2026-01-02T11:30:00Z "}, REFUSED),
    ("t is present", {"t": "2026-01-02T11:30:00."}, REFUSED),
    ("t is present", {"t": "2026-01-02T1:30"}, REFUSED),
    ("t is present", {"t": 1767355200}, REFUSED),
    ("t is present", {"t": ""}, REFUSED),
    ("t is present", {"t": "2026-01-02T11:30:00+24:00"}, REFUSED),
    ("t is present", {"t": "+2026-01-02"}, REFUSED),
    ("t is present", {"t": "2026-01-02T11:30:00\u0660Z"}, REFUSED),
    ("t is present", {"t": "\uff12026-01-02"}, REFUSED),
    ("t is present", {"t": "2026-01-02T11:30:00+05:00:00"}, REFUSED),
    # case-sensitive `in` (also a `lines` list: BOM dropped, CRLF, trimmed, `#` lines
    # skipped), defines shadowing fields, NUL and other odd text, doubles, Unicode
    # lower-casing with Python's special rules (final sigma, İ, Kelvin sign).
    ('s in ["A"]', {"s": "a"}, 0),
    ('s in ["a"]', {"s": "a"}, 1),
    ('s not in ["A"]', {"s": "a"}, 1),
    ("s in doms", {"s": "gmail.com"}, 1),
    ("s in doms", {"s": "GMAIL.com"}, 0),
    ("s in doms", {"s": "# not"}, 0),
    ("s in doms", {"s": "a#b"}, 1),
    ("s in doms", {"s": "  spaced  "}, 0),
    ("s in doms", {"s": "spaced"}, 1),
    ("s in doms", {"s": ""}, 0),
    ("s in doms", {"s": "\\ufeffgmail.com"}, 0),
    ("s in doms", {"s": "tab"}, 1),
    ("s contains doms", {"s": "x@GMAIL.COM"}, 1),
    ("seven == 7", {"seven": 1}, 1),
    ("big == 10", {"big": 3}, 1),
    ('s == "a\\u0000b"', {"s": "a\u0000b"}, 1),
    ("length(s) == 3", {"s": "a\u0000b"}, 1),
    ('s contains "b"', {"s": "a\u0000b"}, 1),
    ('s ends with "\\u0000"', {"s": "ab\u0000"}, 1),
    ('s < "a\\u0001"', {"s": "a\u0000"}, 1),
    ('s > "a"', {"s": "a\u0000"}, 1),
    ("n == 0", {"n": -0.0}, 1),
    ("n in [0]", {"n": -0.0}, 1),
    ("n == 100", {"n": 1e2}, 1),
    ("n == 0.1 + 0.2", {"n": 0.30000000000000004}, 1),
    ("n / 3 * 3 == 1", {"n": 1}, 1),
    ("n - n == 0", {"n": 1e308}, 1),
    ("n * 10 > 0", {"n": 1e308}, 1),
    ("n < 0", {"n": -1e-400}, 0),
    ('s == "\\u00e9"', {"s": "e\u0301"}, 0),
    ('s == "\\u00e9"', {"s": "\u00e9"}, 1),
    ('s contains "\\u1e9e"', {"s": "stra\u00dfe"}, 1),
    ('s contains "\\u01c5"', {"s": "\u01c6"}, 1),
    ('s contains "\\u13a0"', {"s": "\uab70"}, 1),
    ('lower(s) == "\\uab70"', {"s": "\u13a0"}, 1),
    ('s contains "K"', {"s": "\u212a"}, 1),  # KELVIN SIGN lower -> k
    ('s ends with "\\u03c2"', {"s": "A\u03a3"}, 1),
    ('s ends with "\\u03c3"', {"s": "\u03a3"}, 1),
    ('lower(s) == "a\\u03c2 b"', {"s": "A\u03a3 B"}, 1),
    ('lower(s) == "a\\u03c3\\u03c3"', {"s": "A\u03a3\u03a3"}, 0),
    ('lower(s) == "a\\u03c3\\u03c2"', {"s": "A\u03a3\u03a3"}, 1),
    ('lower(s) == "\\u03c3"', {"s": "\u03a3"}, 1),
    ('lower(s) == "a\\u03c3."', {"s": "A\u03a3."}, 0),
    ('lower(s) == "a\\u03c2."', {"s": "A\u03a3."}, 1),
]
EXPRESSION_HEAD = """define doms = lines "doms.txt"
define big = 2 * 5
define seven = 7"""
EXPRESSION_BODY = """score uses owned by m {
  +1 if days_since(t) > 0
  +1 if hours_since(u) > 0
}
score base owned by m {
  +30 if q
  +0.5 if q2
  range 0 to 100
}
score derived owned by m {
  +1 if base >= 30
  +1 if base == 1
}"""
DOMS = "\ufeffgmail.com\r\n# comment\n  # not\n\na#b\n  spaced  \n\ttab\t\nyahoo.com"
EXPRESSION_LEADS = [
    ('{"lead_id": "dup", "q": false, "q": true}', {"scores.base": 30, "scores.derived": 1}),
    ('{"lead_id": "dup2", "q2": true}', {"scores.base": 1, "scores.derived": 1}),
    ('{"lead_id": 12345678901234567890, "q": true}', {"lead": 12345678901234567890}),
    ('{"lead_id": 1.0}', {"lead": 1.0}),
    ('{"lead_id": 1e2}', {"lead": 100.0}),
    ('{"lead_id": {"a": [1, "x"]}}', {"lead": {"a": [1, "x"]}}),
    ('{"lead_id": "\\u00e9\\ud83d\\ude00"}', {"lead": "\u00e9\U0001f600"}),
    ('{"lead_id": "nest", "s": {"t": 1, "t": 2}, "q": true}', {"scores.base": 30}),
]

# ------------------------------------------------------------------ section 4, step 2: scores
# As of 2026-01-21T00:00:00Z. "+N per F up to M adds min(N x F, M) ... missing or
# negative counts as 0"; decay "0.5 ^ (elapsed / D) ... no decay when T is missing, or
# is later than as_of"; "rounded to the nearest integer, halves away from zero; range
# LO to HI then clamps it"; v1.1: fractional +N / per / up to, negative range bounds.
SCORES = """policy scores "p"
id lead_id
team m "@m"
funnel a
stage a owned by m {
}
score per5 owned by m {
  +5 per n
}
score perneg owned by m {
  -3 per n up to 10
}
score perfrac owned by m {
  +1.5 per n up to 4
}
score frac owned by m {
  +2.5 if c1
  +0.5 if c2
  -0.25 if c3
}
score negfrac owned by m {
  -0.5 if c1
  -2 if c2
}
score dec owned by m {
  +5 if c1
  +2 if c2
  -12 if c3
  decay half-life 10 days since t
}
score rng owned by m {
  +1 per n
  -1 per k
  range -10 to -5
}
score wide owned by m {
  +0.5 per n up to 0.75
  range -3 to 3
}
"""


def _s(i: int, **fields) -> dict:
    return {"lead_id": f"s{i}", **fields}


SCORE_LEADS = [
    (_s(0, n=-3), {"scores.per5": 0, "scores.perneg": 0, "scores.perfrac": 0, "scores.rng": -5}),
    (_s(1, n=True), {"scores.per5": 0, "scores.perneg": 0}),
    (_s(2), {"scores.per5": 0, "scores.rng": -5, "scores.wide": 0}),
    (_s(3, n=2.5), {"scores.per5": 13, "scores.perneg": -8, "scores.perfrac": 4, "scores.wide": 1}),
    (_s(4, n=5), {"scores.per5": 25, "scores.perneg": -10, "scores.perfrac": 4, "scores.rng": -5}),
    (_s(5, n=1), {"scores.perfrac": 2, "scores.wide": 1, "scores.perneg": -3}),
    (_s(6, n="3"), {"scores.per5": 0}),
    (_s(7, n=1000000), {"scores.per5": 5000000}),
    (_s(8, c1=True), {"scores.frac": 3, "scores.negfrac": -1}),
    (_s(9, c2=True), {"scores.frac": 1, "scores.negfrac": -2}),
    (
        _s(10, c1=True, c2=True, c3=True),
        {"scores.frac": 3, "scores.negfrac": -3},
    ),  # 2.75 -> 3 ; -2.5 -> -3
    (_s(11, c3=True), {"scores.frac": 0}),  # -0.25 -> 0 (round to nearest)
    (_s(12, c1=True, t="2026-01-11T00:00:00Z"), {"scores.dec": 3}),  # 5*0.5=2.5 -> 3
    (
        _s(13, c1=True, c2=True, c3=True, t="2026-01-11T00:00:00Z"),
        {"scores.dec": -3},
    ),  # -5*0.5 -> -2.5 -> -3
    (_s(14, c1=True, t="2026-01-22T00:00:00Z"), {"scores.dec": 5}),  # T after as_of: no decay
    (_s(15, c1=True, t="2026-01-21T00:00:00Z"), {"scores.dec": 5}),  # exactly as_of
    (_s(16, c1=True), {"scores.dec": 5}),  # missing
    (_s(17, c1=True, c2=True, t="2026-01-01T00:00:00Z"), {"scores.dec": 2}),  # 7*0.25=1.75 -> 2
    (_s(18, c1=True, c2=True, t="2026-01-11T00:00:00Z"), {"scores.dec": 4}),  # 3.5 -> 4
    (
        _s(19, c1=True, c2=True, c3=True, t="2026-01-01"),
        {"scores.dec": -1},
    ),  # -5 * .25 = -1.25 -> -1
    (_s(20, c1=True, t="2026-01-21T00:00:00.000001Z"), {"scores.dec": 5}),
    (_s(21, k=20), {"scores.rng": -10}),
    (_s(22, n=20), {"scores.rng": -5}),
    (_s(23, k=7), {"scores.rng": -7}),
    (_s(24, n=0.5), {"scores.per5": 3}),  # 2.5 -> 3
    (_s(25, n=-0.5), {"scores.per5": 0}),
    (_s(26, n=None), {"scores.per5": 0}),
    (_s(27, c1=True, t="2025-12-21T00:00:00Z"), {"scores.dec": 1}),  # 5/8 = 0.625 -> 1
    (
        _s(28, c1=True, c2=False, t="2026-01-16T00:00:00Z"),
        {"scores.dec": 4},
    ),  # 5*2^-0.5 = 3.5355 -> 4
]

# ------------------------------------------------------------------ section 4, steps 3, 5, 6
# Gates, keep when, reached stage, handoffs that apply, deepest rejection, recycling,
# and next.unmet's texts ("prefixed with `not ` and in parentheses unless it is a
# single name, path or call"; reason strings; source order).
GATES = """policy gates "p"
id lead_id
team m "@m"
team s "@s"
funnel a -> b -> c -> d
define rivals = ["rival.com"]
stage a owned by m {
  require ok_a
}
stage b owned by m {
  require x >= 1_000 "x at least a thousand"
  exclude comp
  require y == "q\\"r" and z
  exclude comp2 or partner
  require not u
  exclude domain(e) in rivals
  exclude co.flag
  exclude not v
  keep when kept is present
}
stage c owned by m {
  require ok_c
}
stage d owned by m {
  require ok_d
  exclude -w < 0
}
state nurture "n" owned by m
state gone "g" owned by m
state out "o" owned by m
handoff a to s {
  route "r1" otherwise
  reject to nurture with reason ra in ["bad fit"]
}
handoff b to s {
  route "r2" if z
  route "r3" otherwise
  reject to gone with reason rb in ["dup", "bad fit"]
}
recycle b, c to out if rc "recycled"
recycle a, c to gone if rc2
recycle d to nurture if rc
"""
ALL_OF_B = dict(
    ok_a=True, x=1000, y='q"r', z=True, u=False, e="a@b.com", co={"flag": False}, v=True
)


def _g(i: int, **fields) -> dict:
    return {"lead_id": f"g{i}", **fields}


GATE_LEADS = [
    (
        _g(0),
        {
            "stage": None,
            "reached": None,
            "next.stage": "a",
            "next.unmet": ["ok_a"],
            "handoffs": [],
            "reason": None,
        },
    ),
    (
        _g(1, ok_a=True),
        {
            "stage": "a",
            "reached": "a",
            "next.stage": "b",
            "next.unmet": ["x at least a thousand", 'y == "q\\"r" and z', "not (not v)"],
        },
    ),
    (
        _g(2, ok_a=True, comp=True, comp2=True, u=True, e="x@Rival.com", co={"flag": True}, kept=1),
        {
            "stage": "a",
            "reached": "a",
            "next.unmet": [
                "not comp",
                "not (comp2 or partner)",
                "not (domain(e) in rivals)",
                "not co.flag",
                "not (not v)",
            ],
        },
    ),
    (
        _g(3, ok_a=True, v=True, kept="yes"),
        {"stage": "b", "reached": "b", "next.stage": "c", "next.unmet": ["ok_c"]},
    ),
    (
        _g(4, ok_a=True, v=True, kept="yes", comp=True),
        {"stage": "a", "reached": "a", "next.unmet": ["not comp"]},
    ),
    (_g(5, ok_a=True, ok_c=True, ok_d=True), {"reached": "a"}),  # b fails; c, d would pass
    (
        _g(6, **ALL_OF_B, ok_c=True, ok_d=True),
        {
            "stage": "d",
            "reached": "d",
            "next": None,
            "handoffs.0.stage": "a",
            "handoffs.1.stage": "b",
            "handoffs.1.route": "r2",
        },
    ),
    (
        _g(7, **ALL_OF_B, ok_c=True, ra="bad fit", rb="dup", rc=True),
        {
            "stage": "gone",
            "reason": "dup",
            "reached": "c",
            "handoffs.0.rejected": True,
            "handoffs.1.rejected": True,
            "violations": [],
        },
    ),
    (
        _g(8, **ALL_OF_B, ok_c=True, ra="bad fit", rc=True),
        {"stage": "nurture", "reason": "bad fit"},
    ),
    (_g(9, **ALL_OF_B, ok_c=True, rc=True, rc2=True), {"stage": "out", "reason": "recycled"}),
    (_g(10, **ALL_OF_B, ok_c=True, rc2=True), {"stage": "gone", "reason": None}),
    (_g(11, ok_a=True, rc=True), {"stage": "a", "reason": None}),  # recycle list b,c: a not in it
    (_g(12, ok_a=True, rc2=True), {"stage": "gone", "reason": None}),
    (
        _g(13, rc2=True, ra="x"),
        {"stage": None, "handoffs": [], "violations": []},
    ),  # no stage: never recycled, no handoff
    (
        _g(14, ok_a=True, ra=""),
        {
            "stage": "nurture",
            "reason": "",
            "handoffs.0.rejected": True,
            "handoffs.0.rejection_reason": "",
            "violations.0.code": "invalid_rejection_reason",
        },
    ),
    (_g(15, ok_a=True, ra=None), {"stage": "a", "handoffs.0.rejected": False, "violations": []}),
    (_g(16, ok_a=True, ra=5), {"stage": "nurture", "reason": 5, "handoffs.0.rejection_reason": 5}),
    (
        _g(17, ok_a=True, ra="Bad Fit"),
        {"stage": "nurture", "violations.0.code": "invalid_rejection_reason"},
    ),
    (
        _g(18, **ALL_OF_B, ok_c=True, ok_d=True, w=5, rc=True),
        {"stage": "out", "reached": "c", "reason": "recycled", "next.unmet": ["not (-w < 0)"]},
    ),
    (
        _g(19, **ALL_OF_B, ok_c=True, ok_d=True, rc=True),
        {"stage": "nurture", "reached": "d", "reason": None},
    ),
    (
        _g(20, **{**ALL_OF_B, "z": False}, ok_c=True, rb="dup", ra="weird"),
        {
            "stage": "nurture",
            "reached": "a",
            "reason": "weird",
            "handoffs.1": ABSENT,
            "violations.0.code": "invalid_rejection_reason",
        },
    ),
]

# ------------------------------------------------------------------ section 4, step 4: SLAs
# As of 2026-11-10T19:00:00Z (Tuesday). met when stop <= due; breached when stop > due
# or no stop and as_of > due; pending when as_of <= due; the earliest present `until`
# field; due is "the earliest instant at which that much working time has passed";
# escalation only when as_of is *later* than start + duration; business time on the
# chosen route's calendar; a business day is the nominal length of the daily hours,
# also across a daylight-saving change; holidays skipped. New York is UTC-5 in November.
SLAS = """policy slas "p"
id lead_id
team m "@m"
team s "@s"
calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
  holidays "2026-11-26"
}
calendar allday "all days" {
  timezone "America/New_York"
  workdays sun mon tue wed thu fri sat
  hours 00:00 to 12:00
  holidays "2026-03-10"
}
funnel a -> b -> c
stage a owned by m {
  require ok
}
stage b owned by s {
  require okb
}
stage c owned by s {
  require okc
}
handoff a to s {
  route "ra" otherwise
  sla 4 hours from st until s1, s2
  escalate to "mgr" after 2 hours
}
handoff b to s {
  route "rb" otherwise
  sla 1 business hours from bt until b1
  escalate to "boss" after 1 business days
}
handoff c to s {
  route "x" if r on allday
  route "y" otherwise
  sla 1 business days from ct until c1
}
"""


def _h(i: int, **fields) -> dict:
    return {"lead_id": f"h{i}", "ok": True, **fields}


def _at(index: int, **want) -> dict:
    return {f"handoffs.{index}.{k}": v for k, v in want.items()}


SLA_LEADS = [
    (
        _h(0, st="2026-11-10T15:00:00Z"),
        _at(
            0,
            **{
                "sla.status": "pending",
                "sla.due": "2026-11-10T19:00:00Z",
                "sla.stop": None,
                "escalate_to": "mgr",
            },
        ),
    ),
    (
        _h(1, st="2026-11-10T14:59:59.999999Z"),
        _at(
            0,
            **{
                "sla.status": "breached",
                "sla.due": "2026-11-10T18:59:59.999999Z",
                "sla.start": "2026-11-10T14:59:59.999999Z",
            },
        ),
    ),
    (_h(2, st="2026-11-10T17:00:00Z"), _at(0, **{"sla.status": "pending", "escalate_to": None})),
    (
        _h(3, st="2026-11-10T17:00:00+00:00", s2="2026-11-10T19:00:00Z"),
        _at(0, **{"sla.status": "met", "sla.stop": "2026-11-10T19:00:00Z", "escalate_to": None}),
    ),
    (
        _h(4, st="2026-11-10T06:00:00Z", s1="2026-11-10T11:00:00Z", s2="2026-11-10T09:00:00Z"),
        _at(0, **{"sla.status": "met", "sla.stop": "2026-11-10T09:00:00Z"}),
    ),
    (
        _h(5, st="2026-11-10T06:00:00Z", s1="2026-11-10T10:00:01Z"),
        _at(
            0, **{"sla.status": "breached", "sla.stop": "2026-11-10T10:00:01Z", "escalate_to": None}
        ),
    ),
    (_h(6, st="2026-11-10T06:00:00Z", s1="2026-11-10T05:00:00Z"), _at(0, **{"sla.status": "met"})),
    (
        _h(7, s1="2026-11-10T05:00:00Z"),
        {
            **_at(
                0,
                **{
                    "sla.status": "unknown",
                    "sla.due": None,
                    "sla.start": None,
                    "sla.stop": "2026-11-10T05:00:00Z",
                    "escalate_to": None,
                },
            ),
            "violations.0.code": "missing_sla_start",
        },
    ),
    (
        _h(8, st=None),
        {
            **_at(0, **{"sla.status": "unknown", "sla.stop": None}),
            "violations.0.code": "missing_sla_start",
        },
    ),
    (
        _h(9, st="2026-11-10T06:00:00.5Z"),
        _at(
            0,
            **{
                "sla.status": "breached",
                "sla.start": "2026-11-10T06:00:00.500000Z",
                "sla.due": "2026-11-10T10:00:00.500000Z",
            },
        ),
    ),
    (_h(10, st="2026-11-10T06:00:00.000000Z"), _at(0, **{"sla.start": "2026-11-10T06:00:00Z"})),
    # business hours, default calendar (EST = UTC-5 in November)
    (
        _h(11, okb=True, bt="2026-11-06T21:00:00Z", b1="2026-11-06T22:00:00.000001Z"),
        _at(
            1, **{"sla.due": "2026-11-06T22:00:00Z", "sla.status": "breached", "escalate_to": None}
        ),
    ),
    (
        _h(12, okb=True, bt="2026-11-06T21:00:00Z", b1="2026-11-06T22:00:00Z"),
        _at(1, **{"sla.status": "met"}),
    ),
    (
        _h(13, okb=True, bt="2026-11-06T22:00:00Z"),
        _at(
            1,
            **{"sla.due": "2026-11-09T15:00:00Z", "sla.status": "breached", "escalate_to": "boss"},
        ),
    ),
    (_h(14, okb=True, bt="2026-11-07T15:00:00Z"), _at(1, **{"sla.due": "2026-11-09T15:00:00Z"})),
    (
        _h(15, okb=True, bt="2026-11-25T21:30:00Z"),
        _at(1, **{"sla.due": "2026-11-27T14:30:00Z", "sla.status": "pending", "escalate_to": None}),
    ),
    (
        _h(16, okb=True, bt="2026-11-09T19:00:00Z"),
        _at(
            1, **{"sla.due": "2026-11-09T20:00:00Z", "sla.status": "breached", "escalate_to": None}
        ),
    ),
    (_h(17, okb=True, bt="2026-11-09T18:59:59Z"), _at(1, **{"escalate_to": "boss"})),
    (
        _h(18, okb=True, bt="2026-11-10T18:00:00Z"),
        _at(1, **{"sla.due": "2026-11-10T19:00:00Z", "sla.status": "pending"}),
    ),
    (
        _h(19, okb=True),
        {
            **_at(1, **{"sla.status": "unknown", "escalate_to": None}),
            "violations.0.code": "missing_sla_start",
            "violations.1.code": "missing_sla_start",
        },
    ),
    # business days, chosen route's calendar (allday, DST) or default
    (
        _h(20, okb=True, okc=True, r=True, ct="2026-03-08T05:00:00Z"),
        _at(2, **{"route": "x", "sla.due": "2026-03-09T05:00:00Z"}),
    ),
    (
        _h(21, okb=True, okc=True, r=True, ct="2026-03-09T10:00:00Z"),
        _at(2, **{"sla.due": "2026-03-11T10:00:00Z"}),
    ),
    (
        _h(22, okb=True, okc=True, ct="2026-11-25T21:30:00Z"),
        _at(2, **{"route": "y", "sla.due": "2026-11-27T21:30:00Z"}),
    ),
    (
        _h(23, okb=True, okc=True, r=True, ct="2026-11-01T04:00:00Z"),
        _at(2, **{"sla.due": "2026-11-01T16:00:00Z"}),
    ),
    (
        _h(24, okb=True, okc=True, r=True, ct="2026-11-02T17:00:00Z"),
        _at(2, **{"sla.due": "2026-11-03T17:00:00Z"}),
    ),
    (
        _h(25, okb=True, okc=True, r=True, ct="2026-11-02T05:00:00Z"),
        _at(2, **{"sla.due": "2026-11-02T17:00:00Z"}),
    ),
    (
        _h(26, okb=True, okc=True, r=True, ct="2026-11-10T05:00:00Z", c1="2026-11-10T17:00:00Z"),
        _at(2, **{"sla.status": "met", "sla.due": "2026-11-10T17:00:00Z"}),
    ),
    (
        _h(27, okb=True, okc=True, r=True, ct="2026-11-10T05:00:00Z"),
        _at(2, **{"sla.status": "breached"}),
    ),
    (
        _h(28, okb=True, okc=True, r=True, ct="2026-11-10T18:00:00Z"),
        _at(2, **{"sla.status": "pending", "sla.due": "2026-11-11T17:00:00Z"}),
    ),
]

# ------------------------------------------------------------------ with a schema
# "A lead field is a timestamp where the schema says format date-time (or date) ...
# the schema's date-time and date formats are enforced with that rule"; integers are
# JSON Schema integers (1.0 is one); enum/const compare JSON values (1 == 1.0, true is
# not 1); minLength/maxLength count characters (code points). Refused leads name the
# failing path (`lead_id` for a missing required field). As of 2026-01-21T00:00:00Z.
TYPED_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["lead_id"],
    "properties": {
        "lead_id": {"type": ["string", "integer"]},
        "s": {"type": "string"},
        "n": {"type": "number"},
        "i": {"type": "integer"},
        "flag": {"type": "boolean"},
        "tags": {"type": "array"},
        "nums": {"type": "array"},
        "a": {
            "type": "object",
            "properties": {"b": {"type": "number"}, "c": {"type": ["string", "null"]}},
        },
        "t": {"type": "string", "format": "date-time"},
        "d": {"type": "string", "format": "date"},
        "e": {"type": "string"},
        "u": {"type": ["string", "null"]},
        "ni": {"type": "integer"},
        "en": {"enum": [1, "a", True]},
        "c": {"const": 2},
        "s2": {"type": "string", "minLength": 2, "maxLength": 2},
        "dt": {"type": "string", "format": "date-time"},
        "sx": {"type": "string"},
        "x": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
        "o": {"type": "object", "required": ["k"], "properties": {"k": {"type": "string"}}},
    },
}
TYPED = [
    ("n != 5", {}, 0),
    ("n != 5", {"n": 4}, 1),
    ("n not in [1, 2]", {}, 0),
    ("n not in [1, 2]", {"n": 3}, 1),
    ("a.b is missing", {"a": {}}, 1),
    ("a.b != 1", {}, 0),
    ('a.c != "x"', {"a": {"c": None}}, 0),
    ("a.c is missing", {"a": {"c": None}}, 1),
    ('u != "x"', {"u": None}, 0),
    ("u is present", {"u": ""}, 1),
    ("flag", {"flag": True}, 1),
    ("flag", {"flag": False}, 0),
    ("not flag", {}, 1),
    ("n == 1", {"n": 1.0}, 1),
    ("i == 1", {"i": 1.0}, 1),
    ("i in [1.0]", {"i": 1}, 1),
    ("n in [1, 2]", {"n": 2.0}, 1),
    ("n * 2 == 5", {"n": 2.5}, 1),
    ("i / 2 == 3.5", {"i": 7}, 1),
    ("n / 0 is missing", {"n": 3}, 1),
    ('s < "z"', {"s": "\u00e9"}, 0),
    ('s > "\uffff"', {"s": "\U0001f600"}, 1),
    ('s contains "STRASSE"', {"s": "stra\u00dfe"}, 0),
    ('s contains "\u0130"', {"s": "i\u0307x"}, 1),
    ('s contains "i"', {"s": "\u0130"}, 1),
    ('s ends with "\u03c2"', {"s": "\u039f\u0394\u039f\u03a3"}, 1),
    ('tags contains "A"', {"tags": ["a", "b"]}, 1),
    ('tags contains "a"', {"tags": ["abc"]}, 0),
    ("nums contains 1", {"nums": [1.0, 2]}, 1),
    ('tags contains ["x", "B"]', {"tags": ["b"]}, 1),
    ("length(tags) == 0", {"tags": []}, 1),
    ("length(s) == 2", {"s": "e\u0301"}, 1),
    ("length(s) == 1", {"s": "\U0001f600"}, 1),
    ('domain(e) == "b.com"', {"e": "a@x@B.COM"}, 1),
    ('domain(e) == ""', {"e": "a@"}, 1),
    ("domain(e) is missing", {"e": "nobody"}, 1),
    ('domain(e) == "i\u0307.de"', {"e": "a@\u0130.DE"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02t11:30:00z"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02 11:30"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02T17:00+0530"}, 1),
    ('t == "2026-01-02T11:30:00Z"', {"t": "2026-01-02T16:30:00+05"}, 1),
    ('t == "2026-01-02T11:30:00.123456Z"', {"t": "2026-01-02T11:30:00.1234569Z"}, 1),
    ('t > "2026-01-02"', {"t": "2026-01-02T00:00:00Z"}, 0),
    ('t == "2026-01-02"', {"t": "2026-01-02T01:00:00+01:00"}, 1),
    ('d == "2026-01-02T00:00:00Z"', {"d": "2026-01-02"}, 1),
    ("days_since(d) == 19", {"d": "2026-01-02"}, 1),
    ("hours_since(t) == -1", {"t": "2026-01-21T01:00:00Z"}, 1),
    ("days_since(t) == 0.5", {"t": "2026-01-20T12:00:00.000000Z"}, 1),
    ("t is present", {"t": "2026-01-02T24:00:00Z"}, REFUSED),
    ("t is present", {"t": "2026-06-30T23:59:60Z"}, REFUSED),
    ("t is present", {"t": "2026-W01-1"}, REFUSED),
    ("t is present", {"t": "2026-01-02"}, REFUSED),
    ("d is present", {"d": "2026-01-02T00:00:00Z"}, REFUSED),
    ("t is present", {"t": "2026-01-02T11:30:00,5Z"}, REFUSED),
]
TYPED_HEAD = 'schema "lead.schema.json"'
# `sx` is text (no format), so `sx > "2026-01-01"` compares text; `d` and `dt` are
# timestamps by their formats. The stage needs `ni >= 0`.
TYPED_BODY = """score age owned by m {
  +1 if days_since(d) == 20
  +2 if hours_since(dt) == 1
  +4 if dt == "2026-01-20T23:00:00Z"
  +8 if d == "2026-01-01T00:00:00Z"
  +16 if sx > "2026-01-01"
}"""
TYPED_LEADS = [
    ({"lead_id": "i1", "ni": 1.0}, {"stage": "a"}),
    ({"lead_id": "i2", "ni": 1.5}, {"error.problems.0.path": "ni"}),
    ({"lead_id": "i3", "ni": True}, {"error.problems.0.path": "ni"}),
    ({"lead_id": "i4", "ni": 0, "en": 1.0}, {"stage": "a"}),
    ({"lead_id": "i5", "ni": 0, "en": "A"}, {"error.problems.0.path": "en"}),
    ({"lead_id": "i6", "ni": 0, "en": 1, "c": 2.0}, {"stage": "a"}),
    ({"lead_id": "i7", "ni": 0, "en": True}, {"stage": "a"}),
    ({"lead_id": "i7b", "ni": 0, "en": 0}, {"error.problems.0.path": "en"}),
    ({"lead_id": "i8", "ni": 0, "s2": "\U0001f600\U0001f600"}, {"stage": "a"}),
    ({"lead_id": "i9", "ni": 0, "s2": "e\u0301"}, {"stage": "a"}),
    ({"lead_id": "i10", "ni": 0, "s2": "\U0001f1fa\U0001f1f8"}, {"stage": "a"}),
    ({"lead_id": "i11", "ni": 0, "s2": "\U0001f600"}, {"error.problems.0.path": "s2"}),
    (
        {
            "lead_id": "i12",
            "ni": 0,
            "d": "2026-01-01",
            "dt": "2026-01-20 23:00",
            "sx": "2026-01-01T00:00:00Z",
        },
        {"scores.age": 31},
    ),
    ({"lead_id": "i13", "ni": 0, "dt": "2026-01-21T01:00:00+02"}, {"scores.age": 6}),
    ({"lead_id": "i14", "ni": 0, "x": 0}, {"error.problems.0.path": "x"}),
    ({"lead_id": "i15", "ni": 0, "x": 10.0}, {"stage": "a"}),
    ({"lead_id": "i16", "ni": 0, "o": {}}, {"error.problems.0.path": "o.k"}),
    ({"lead_id": None, "ni": 0}, {"error.problems.0.path": "lead_id", "lead": None}),
    ({"ni": 0}, {"error.problems.0.path": "lead_id"}),
    ({"lead_id": 7, "ni": 0}, {"lead": 7, "stage": "a"}),
    ({"lead_id": "i17", "ni": 0, "dt": "2026-01-21T00:00:00"}, {"scores.age": 0}),
    ({"lead_id": "i18", "ni": 12345678901234567890}, {"stage": "a"}),
]

# ------------------------------------------------------------------ durations, per, reject
# As of 2026-01-10T00:00:00Z (Saturday), a UTC calendar. Durations "N minutes|hours|days|
# weeks (fixed lengths)", fractional amounts (v1.1); `+N per F` of an expression (missing
# when an operand is); the reject field counts when present, whatever its value (false,
# a number), and the agreed list compares exactly ("1" is not 1).
DURATIONS = """policy more "p"
id lead_id
team m "@m"
team s "@s"
calendar {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
funnel a -> b
define agreed = ["dup", "1"]
stage a owned by m {
  require ok
}
stage b owned by s {
  require okb
}
state n "n" owned by m
handoff a to s {
  route "r" otherwise
  sla 0.5 business days from st until sp
  escalate to "e" after 90 minutes
  reject to n with reason rr in agreed
}
handoff b to s {
  route "rb" otherwise
  sla 1 weeks from bt until bp
  escalate to "eb" after 1.5 hours
}
score sp1 owned by m {
  +5 per x - y
  +2 per length(tags) up to 3
}
score dk owned by m {
  +8 if ok
  decay half-life 12 hours since seen
}
score wk owned by m {
  +8 if ok
  decay half-life 1 week since seen
}
"""


def _d(i: int, **fields) -> dict:
    return {"lead_id": f"m{i}", **fields}


DURATION_LEADS = [
    (_d(0, x=3, y=1), {"scores.sp1": 10}),
    (_d(1, x=3), {"scores.sp1": 0}),
    (_d(2, x=1, y=3, tags=["a", "b"]), {"scores.sp1": 3}),
    (_d(3, tags="abcd"), {"scores.sp1": 3}),
    (
        _d(4, ok=True, seen="2026-01-09T00:00:00Z"),
        {"scores.dk": 2, "scores.wk": 7},
    ),  # 8/4 = 2; 8*2^(-1/7)=7.27 -> 7
    (_d(5, ok=True, seen="2026-01-03T00:00:00Z"), {"scores.wk": 4}),
    (
        _d(6, ok=True, st="2026-01-09T20:00:00Z", rr=False),
        {
            "stage": "n",
            "reason": False,
            "handoffs.0.rejected": True,
            "violations.0.code": "invalid_rejection_reason",
        },
    ),
    (
        _d(7, ok=True, st="2026-01-09T20:00:00Z", rr=1),
        {"stage": "n", "reason": 1, "violations.0.code": "invalid_rejection_reason"},
    ),
    (_d(8, ok=True, st="2026-01-09T20:00:00Z", rr="1"), {"stage": "n", "violations": []}),
    (
        _d(9, ok=True, st="2026-01-09T15:00:00Z"),
        {"handoffs.0.sla.due": "2026-01-12T11:00:00Z", "handoffs.0.escalate_to": "e"},
    ),  # Fri 15:00 + 4 business hours: 2 on Friday, 2 on Monday
    (
        _d(
            10,
            ok=True,
            okb=True,
            st="2026-01-09T23:00:00Z",
            bt="2026-01-02T23:00:00Z",
            bp="2026-01-09T23:00:00Z",
        ),
        {
            "handoffs.1.sla.status": "met",
            "handoffs.1.sla.due": "2026-01-09T23:00:00Z",
            "handoffs.0.escalate_to": None,
        },
    ),
    (_d(11, ok=True, okb=True, bt="2026-01-09T22:30:00Z"), {"handoffs.1.escalate_to": None}),
    (_d(12, ok=True, okb=True, bt="2026-01-09T22:29:59Z"), {"handoffs.1.escalate_to": "eb"}),
    (_d(13, ok=True, st="2026-01-09T22:30:00Z"), {"handoffs.0.escalate_to": None}),
    (_d(14, ok=True, st="2026-01-09T22:29:59.999999Z"), {"handoffs.0.escalate_to": "e"}),
]

# ------------------------------------------------------------------ --local-tz (section 9)
# "reads lead timestamps without an offset in that zone instead of UTC ...; a time in a
# daylight-saving gap moves forward by the gap, one in a fold is the earlier instant";
# a date is midnight in the zone; literals in the policy stay UTC. As of
# 2026-01-03T00:00:00Z, America/New_York.
LOCAL = [
    ('t == "2026-03-08T07:30:00Z"', {"t": "2026-03-08T02:30:00"}, 1),
    ('t == "2026-11-01T05:30:00Z"', {"t": "2026-11-01T01:30:00"}, 1),
    ('t == "2026-11-02T15:00:00Z"', {"t": "2026-11-02 10:00"}, 1),
    ('t == "2026-03-08T05:00:00Z"', {"t": "2026-03-08"}, 1),
    ('t == "2026-03-08T02:30:00Z"', {"t": "2026-03-08T02:30:00Z"}, 1),
    ('t == "2026-03-08T02:30:00Z"', {"t": "2026-03-08T02:30:00+00:00"}, 1),
    (
        "days_since(t) == 1",
        {"t": "2026-01-01T19:00:00"},
        1,
    ),  # as_of 2026-01-03T00:00Z; t = 2026-01-02T00:00Z
]
LOCAL_TEXT, LOCAL_CASES = condition_policy("local", LOCAL)


# ------------------------------------------------------------------ the groups
EXPRESSION_TEXT, EXPRESSION_CASES = condition_policy(
    "expressions", EXPRESSIONS, EXPRESSION_HEAD, EXPRESSION_BODY
)
TYPED_TEXT, TYPED_CASES = condition_policy(
    "typed", TYPED, TYPED_HEAD, TYPED_BODY, gate="  require ni >= 0"
)

#: name -> (policy text, other files, as_of, [(lead, {path in the decision: value})]);
#: a lead given as text is one JSON Lines line as written (a repeated key).
GROUPS = {
    "expressions": (
        EXPRESSION_TEXT,
        {"doms.txt": DOMS},
        "2026-01-02T12:00:00Z",
        EXPRESSION_CASES + EXPRESSION_LEADS,
    ),
    "scores": (SCORES, {}, "2026-01-21T00:00:00Z", SCORE_LEADS),
    "gates": (GATES, {}, "2026-01-21T00:00:00Z", GATE_LEADS),
    "slas": (SLAS, {}, "2026-11-10T19:00:00Z", SLA_LEADS),
    "typed": (
        TYPED_TEXT,
        {"lead.schema.json": json.dumps(TYPED_SCHEMA)},
        "2026-01-21T00:00:00Z",
        TYPED_CASES + TYPED_LEADS,
    ),
    "durations": (DURATIONS, {}, "2026-01-10T00:00:00Z", DURATION_LEADS),
    "local": (LOCAL_TEXT, {}, "2026-01-03T00:00:00Z", LOCAL_CASES),
}
#: groups read with ``--local-tz`` (``local_tz=`` in the library)
LOCAL_TZ = {"local": "America/New_York"}


def pick(record: dict, path: str):
    """The value at a dotted path of a decision or error record (list items by
    index), or a condition probe's bit; ``ABSENT`` where the path leads nowhere."""
    if path.startswith("bit "):  # a condition probe: bit k of score bits<j>
        j, k = map(int, path.split(":")[0].split()[1:])
        score = pick(record, f"scores.bits{j}")
        return ABSENT if score is ABSENT else score >> k & 1
    return at_path(record, path)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name, (text, files, _, cases) in GROUPS.items():
        folder = tmp_path_factory.mktemp(name)
        (folder / "p.funnel").write_text(text, encoding="utf-8")
        for file, content in files.items():
            (folder / file).write_text(content, encoding="utf-8", newline="")
        (folder / "leads.jsonl").write_text(
            "".join(
                (lead if isinstance(lead, str) else json.dumps(lead, ensure_ascii=False)) + "\n"
                for lead, _ in cases
            ),
            encoding="utf-8",
        )
        out[name] = folder
    return out


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_python_engines_follow_the_spec(folders, group, engine):
    _, _, as_of, cases = GROUPS[group]
    pol = policy.load(folders[group], engine=engine, local_tz=LOCAL_TZ.get(group))
    assert pol.engine == engine
    at = datetime.fromisoformat(as_of)
    records = []
    for lead, _ in cases:
        try:
            records.append(
                pol.evaluate(
                    json.loads(lead) if isinstance(lead, str) else lead, as_of=at
                ).to_dict()
            )
        except LeadError as exc:
            records.append(exc.to_dict())
    assert mismatches(cases, records, pick) == []


def run_eval(*args: str) -> list[dict]:
    res = CliRunner().invoke(main, ["eval", *map(str, args)])
    assert res.exit_code in (0, 1), res.output
    return [json.loads(line) for line in res.stdout.splitlines()]


@pytest.mark.parametrize("group", list(GROUPS))
def test_duckdb_follows_the_spec(folders, group):
    _, _, as_of, cases = GROUPS[group]
    folder = folders[group]
    zone = ["--local-tz", LOCAL_TZ[group]] if group in LOCAL_TZ else []
    records = run_eval(
        folder, folder / "leads.jsonl", "--engine", "duckdb", "--as-of", as_of, *zone
    )
    assert mismatches(cases, records, pick) == []


# ------------------------------------------------------------------ section 5: error records
# `{"lead": id or null, "line": N, "error": {"message", "problems": [{"path", ...}]}}`;
# `line` is the record's line in JSON Lines (blank lines count, a line of white space
# only yields no record), the line where a CSV row starts (the header is line 1), the
# 1-based index in a JSON array; `lead_id` for a missing required field, empty for the
# record itself; backticks around keys that need them (section 3, "Precise points").
ERROR_POLICY = """policy errs "p"
id lead_id
schema "lead.schema.json"
team m "@m"
funnel a
stage a owned by m {
  require n >= 0
}
"""
ERROR_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["lead_id", "n"],
    "properties": {
        "lead_id": {"type": "string"},
        "n": {"type": "number", "minimum": 0},
        "annual revenue": {"type": "number"},
        "gr\u00f6\u00dfe": {"type": "number"},
        "company": {
            "type": "object",
            "properties": {
                "annual revenue": {"type": "number"},
                "a.b": {"type": "string"},
                "not": {"type": "number"},
            },
        },
        "t": {"type": "string", "format": "date-time"},
        "d": {"type": "string", "format": "date"},
        "tags": {"type": "array"},
    },
}
#: (line as written, the record it must give: (lead, line, problem paths) or a decision's
#: (lead, None, stage))
ERROR_LINES = [
    ('{"lead_id": "e1", "n": 1}', ("e1", None, "a")),
    ("", None),
    ('{"lead_id": "e3"}', ("e3", 3, ["n"])),
    ("   \t", None),
    ("[1, 2]", (None, 5, [""])),
    ('{"lead_id": "e6", "n": 1, "annual revenue": "x"}', ("e6", 6, ["`annual revenue`"])),
    (
        '{"lead_id": "e7", "n": 1, "company": {"annual revenue": "x", "a.b": 1, "not": "y"}}',
        ("e7", 7, ["company.`a.b`", "company.`annual revenue`", "company.`not`"]),
    ),
    ('{"lead_id": "e8", "n": 1, "t": "2026-01-02"}', ("e8", 8, ["t"])),  # date-time needs a time
    ('{"lead_id": "e9", "n": 1, "d": "2026-01-02T00:00:00Z"}', ("e9", 9, ["d"])),
    # (session 21) no `items`: the SQL path refuses that keyword (spec 10), so a list of
    # mixed items is decided by every engine
    ('{"lead_id": "e10", "n": 1, "tags": ["a", 2]}', ("e10", None, "a")),
    ('{"lead_id": "e11", ', (None, 11, [""])),
    ('{"lead_id": "e12", "n": -1}', ("e12", 12, ["n"])),
    ('{"lead_id": 5, "n": 1}', (5, 13, ["lead_id"])),
    ('{"lead_id": "e14", "n": 1, "t": "2026-01-02t10:00:00+0530"}', ("e14", None, "a")),
    ('{"lead_id": "e15", "n": 1, "d": "2026-01-02"}', ("e15", None, "a")),
    ('{"lead_id": "e16", "n": 1, "n": "x"}', ("e16", 16, ["n"])),  # the last key wins
    ('{"lead_id": "e17", "n": 1, "gr\u00f6\u00dfe": "x"}', ("e17", 17, ["gr\u00f6\u00dfe"])),
    ('{"lead_id": "e18", "n": 1, "t": "2026-01-02 10:00"}', ("e18", None, "a")),
    ('{"lead_id": "e19", "n": 1, "t": "2026-01-02T24:00:00Z"}', ("e19", 19, ["t"])),
    ('{"lead_id": "e20", "n": 1, "d": "2026-02-29"}', ("e20", 20, ["d"])),
]
ERROR_ARRAY = (
    '[{"lead_id": "j1", "n": 1},\n {"lead_id": "j2"},\n 5]',
    [("j1", None, "a"), ("j2", 2, ["n"]), (None, 3, [""])],
)
ERROR_CSV = (
    'lead_id,n,note\nc1,1,a\nc2,,b\nc3,x,c\nc4,1,"multi\nline"\nc5,,x\n',
    [("c1", None, "a"), ("c2", 3, ["n"]), ("c3", 4, ["n"]), ("c4", None, "a"), ("c5", 7, ["n"])],
)


def summary(record: dict) -> tuple:
    if "error" in record:
        assert list(record) == ["lead", "line", "error"]
        assert list(record["error"]) == ["message", "problems"]
        return (record["lead"], record["line"], [p["path"] for p in record["error"]["problems"]])
    return (record["lead"], None, record["stage"])


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_error_records_follow_the_spec(tmp_path, engine):
    (tmp_path / "p.funnel").write_text(ERROR_POLICY, encoding="utf-8")
    (tmp_path / "lead.schema.json").write_text(json.dumps(ERROR_SCHEMA), encoding="utf-8")
    (tmp_path / "l.jsonl").write_text(
        "".join(line + "\n" for line, _ in ERROR_LINES), encoding="utf-8"
    )
    (tmp_path / "l.json").write_text(ERROR_ARRAY[0], encoding="utf-8")
    (tmp_path / "l.csv").write_text(ERROR_CSV[0], encoding="utf-8", newline="")
    for name, want in [
        ("l.jsonl", [w for _, w in ERROR_LINES if w is not None]),
        ("l.json", ERROR_ARRAY[1]),
        ("l.csv", ERROR_CSV[1]),
    ]:
        got = run_eval(
            tmp_path, tmp_path / name, "--engine", engine, "--as-of", "2026-01-21T00:00:00Z"
        )
        assert [summary(r) for r in got] == want, name


# ------------------------------------------------------------------ section 9: tabular form
# "`line`, `lead`, `policy_name`, `policy_version`, `policy_digest`, `as_of`, `stage`,
# `reached`, `reason`, `score_<name>` for every score, `next_stage`, `next_unmet`, then for
# every handoff, in declaration order, `handoff_<stage>_` + team, route, sla_status,
# sla_start, sla_due, sla_stop, escalate_to, rejected, rejection_reason, then
# `violations`, `error` and `error_paths`. A handoff that does not apply has nulls."
TABULAR = """policy tab "p"
version "v1"
id lead_id
team m "@m"
team s "@s"
funnel a -> b
score zeta owned by m {
  +1 if ok
}
score alpha owned by m {
  +2 if ok
}
stage a owned by m {
  require ok
}
stage b owned by s {
  require okb
}
handoff b to s {
  route "rb" otherwise
}
handoff a to s {
  route "ra" otherwise
  sla 1 hours from st until sp
  reject to n with reason rr in ["x"]
}
state n "n" owned by m
"""
HANDOFF_COLUMNS = [
    "team",
    "route",
    "sla_status",
    "sla_start",
    "sla_due",
    "sla_stop",
    "escalate_to",
    "rejected",
    "rejection_reason",
]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_tabular_columns_follow_the_spec(tmp_path, engine):
    import csv
    import io

    (tmp_path / "p.funnel").write_text(TABULAR, encoding="utf-8")
    (tmp_path / "l.jsonl").write_text(
        '{"lead_id": "t1", "ok": true, "st": "2026-01-01T00:00:00.25Z"}\n'
        '{"lead_id": "t2", "ok": true, "okb": true, "rr": "y"}\n[1]\n',
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        main,
        [
            "eval",
            str(tmp_path),
            str(tmp_path / "l.jsonl"),
            "--engine",
            engine,
            "--format",
            "csv",
            "--as-of",
            "2026-01-01T10:00:00.5Z",
        ],
    )
    assert res.exit_code == 1, res.output
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == [
        "line",
        "lead",
        "policy_name",
        "policy_version",
        "policy_digest",
        "as_of",
        "stage",
        "reached",
        "reason",
        "score_zeta",
        "score_alpha",
        "next_stage",
        "next_unmet",
        *[f"handoff_b_{c}" for c in HANDOFF_COLUMNS],
        *[f"handoff_a_{c}" for c in HANDOFF_COLUMNS],
        "violations",
        "error",
        "error_paths",
    ]
    t1, t2, refused = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert (t1["line"], t1["lead"], t1["as_of"]) == ("1", "t1", "2026-01-01T10:00:00.500000Z")
    assert (t1["stage"], t1["reached"], t1["reason"]) == ("a", "a", "")
    assert (t1["score_zeta"], t1["score_alpha"], t1["next_stage"]) == ("1", "2", "b")
    assert json.loads(t1["next_unmet"]) == ["okb"]
    assert all(t1[f"handoff_b_{c}"] == "" for c in HANDOFF_COLUMNS)  # b does not apply
    assert [t1[f"handoff_a_{c}"] for c in HANDOFF_COLUMNS] == [
        "s",
        "ra",
        "breached",
        "2026-01-01T00:00:00.250000Z",
        "2026-01-01T01:00:00.250000Z",
        "",
        "",
        "false",
        "",
    ]
    assert (t2["stage"], t2["reached"], t2["reason"], t2["next_stage"]) == ("n", "b", "y", "")
    assert t2["handoff_b_route"] == "rb" and t2["handoff_b_sla_status"] == ""
    assert (t2["handoff_a_sla_status"], t2["handoff_a_rejected"]) == ("unknown", "true")
    assert json.loads(t2["violations"]) == ["missing_sla_start", "invalid_rejection_reason"]
    assert (t1["error"], t1["error_paths"], t1["violations"]) == ("", "[]", "[]")
    assert (refused["line"], refused["lead"], refused["stage"]) == ("3", "", "")
    assert refused["error"] == "expected a JSON object, found array"
    assert json.loads(refused["error_paths"]) == [""]
    assert refused["policy_name"] == "tab" and refused["as_of"] == t1["as_of"]


# ------------------------------------------------------------------ section 9: CSV cells
# "Without a schema, a cell is typed by how the policy uses its field (compared with or
# computed as a number: a number; read as a timestamp: a timestamp; used bare as a
# condition: a boolean; otherwise text; the first of these that applies), and a cell that
# does not fit refuses the lead, so a schema-less CSV never compares "120" >= 50
# silently false." Membership is `==` with each item, so `band in [1, 2]` compares the
# field with numbers: until the seventeenth session such a field stayed text, and
# `"2" in [1, 2]` was silently false in every engine.
CSV_POLICY = """policy c "p"
id lead_id
team m "@m"
funnel a
define bands = [3, 4]
stage a owned by m {
}
score emp owned by m {
  +1 if employees >= 50
}
score both owned by m {
  +1 if vip
  +2 if vip == 1
}
score txt owned by m {
  +1 if code == "007"
}
score mem owned by m {
  +1 if k in [1, 2]
  +2 if j not in [1, 2]
  +4 if h in bands
  +8 if g in [1, "x"]
}
score ts owned by m {
  +1 if days_since(seen) > 1
}
score flag owned by m {
  +1 if hot
}
score nest owned by m {
  +1 if co.n > 2
}
"""
CSV_LEADS = (
    "lead_id,employees,vip,code,k,j,h,g,seen,hot,co.n\n"
    "c1,120,1,007,2.0,3,4,x,2026-01-01,YES,3\n"
    "c2,49,0,7,3,1e0,5,1,,No,\n"
    "c3,lots,,,,,,,,,\n"
    "c4,,,,,,,,,maybe,\n"
    "c5,,,,two,,,,,,\n"
    "c6,1e2,, 007 ,,,,,2026-01-01 10:00,0,\n"
)
CSV_WANT = [
    # vip: compared with a number first, so the number 1: not boolean true when bare.
    # g: a list that mixes numbers and text types nothing, so the cell "1" is text.
    ("c1", {"emp": 1, "both": 2, "txt": 1, "mem": 1 + 2 + 4 + 8, "ts": 1, "flag": 1, "nest": 1}),
    ("c2", {"emp": 0, "both": 0, "txt": 0, "mem": 0, "ts": 0, "flag": 0, "nest": 0}),
    ("c3", ["employees"]),
    ("c4", ["hot"]),
    ("c5", ["k"]),
    ("c6", {"emp": 1, "both": 0, "txt": 0, "mem": 0, "ts": 1, "flag": 0, "nest": 0}),
]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_schemaless_csv_cells_are_typed_by_use(tmp_path, engine):
    (tmp_path / "p.funnel").write_text(CSV_POLICY, encoding="utf-8")
    (tmp_path / "l.csv").write_text(CSV_LEADS, encoding="utf-8")
    got = run_eval(
        tmp_path, tmp_path / "l.csv", "--engine", engine, "--as-of", "2026-01-21T00:00:00Z"
    )
    assert [
        (r["lead"], [p["path"] for p in r["error"]["problems"]] if "error" in r else r["scores"])
        for r in got
    ] == CSV_WANT


# ------------------------------------------------------------------ section 7: examples
# "An example passes when every expectation holds": `expect route` / `sla` / `escalate`
# look at the deepest handoff that applies, or at the one named with `at STAGE`;
# `expect route none` when no handoff applies; `expect error` only for a refused lead,
# and a refused lead fails every other expectation. Each example's name says whether it
# must pass.
EXAMPLES = """
policy ex "p"
id lead_id
team m "@m"
team s "@s"
funnel a -> b -> c
stage a owned by m {
  require ok
}
stage b owned by s {
  require okb
}
stage c owned by s {
  require okc
}
state nurture "n" owned by m
handoff a to s {
  route "ra" if big
  route "rz" otherwise
  sla 1 hours from st until sp
  escalate to "mgr" after 2 hours
  reject to nurture with reason rr in ["bad"]
}
handoff b to s {
  route "rb" otherwise
}
recycle c to nurture if stale "stale lead"
score sc owned by m {
  +2.5 if ok
}
example "pass 1: deepest handoff has no sla; at a pending" {
  at "2026-01-01T10:00:00Z"
  lead {"lead_id": "x", "ok": true, "okb": true, "st": "2026-01-01T09:30:00Z"}
  expect stage b
  expect reached b
  expect score sc 3
  expect route "rb"
  expect route "rz" at a
  expect sla pending at a
  expect escalate none at a
  expect reason none
}
example "pass 2: no handoff applies" {
  at "2026-01-01T10:00:00Z"
  lead {"lead_id": "x"}
  expect stage none
  expect reached none
  expect route none
  expect score sc 0
}
example "pass 3: rejection off-list" {
  at "2026-01-01T12:00:00Z"
  lead {"lead_id": "x", "ok": true, "rr": "meh", "st": "2026-01-01T09:30:00Z"}
  expect stage nurture
  expect reached a
  expect reason "meh"
  expect violation invalid_rejection_reason
  expect sla breached
  expect escalate "mgr"
}
example "pass 4: recycle" {
  at "2026-01-01T12:00:00Z"
  lead {"lead_id": "x", "ok": true, "okb": true, "okc": true, "stale": true}
  expect stage nurture
  expect reason "stale lead"
  expect violation missing_sla_start
  expect sla unknown at a
}
example "pass 5: error" {
  at "2026-01-01T12:00:00Z"
  lead {"lead_id": "x", "st": "yesterday"}
  expect error
}
example "fail 1: wrong route at deepest" {
  at "2026-01-01T10:00:00Z"
  lead {"lead_id": "x", "ok": true, "okb": true}
  expect route "rz"
}
example "fail 2: sla of deepest (no sla line)" {
  at "2026-01-01T10:00:00Z"
  lead {"lead_id": "x", "ok": true, "okb": true, "st": "2026-01-01T09:30:00Z"}
  expect sla pending
}
example "fail 3: error expected but decided" {
  at "2026-01-01T10:00:00Z"
  lead {"lead_id": "x"}
  expect error
}
example "fail 4: score rounding" {
  at "2026-01-01T10:00:00Z"
  lead {"lead_id": "x", "ok": true}
  expect score sc 2
}
example "fail 5: refused lead fails stage" {
  at "2026-01-01T10:00:00Z"
  lead {"lead_id": "x", "st": 5}
  expect stage none
}
example "fail 6: violation absent" {
  at "2026-01-01T10:00:00Z"
  lead {"lead_id": "x", "ok": true, "st": "2026-01-01T09:30:00Z"}
  expect violation missing_sla_start
}
example "fail 7: reason none but recycled" {
  at "2026-01-01T12:00:00Z"
  lead {"lead_id": "x", "ok": true, "okb": true, "okc": true, "stale": true,
        "st": "2026-01-01T09:30:00Z"}
  expect reason none
}
example "fail 8: escalate at exactly start + 2h" {
  at "2026-01-01T11:30:00Z"
  lead {"lead_id": "x", "ok": true, "st": "2026-01-01T09:30:00Z"}
  expect escalate "mgr"
}
"""


def test_examples_follow_the_spec(tmp_path):
    (tmp_path / "p.funnel").write_text(EXAMPLES.lstrip(), encoding="utf-8")
    res = CliRunner().invoke(main, ["test", str(tmp_path), "--format", "json"])
    assert res.exit_code == 1, res.output
    got = {e["name"]: e["status"] for e in json.loads(res.stdout)["examples"]}
    assert len(got) == 13
    assert got == {name: "passed" if name.startswith("pass") else "failed" for name in got}
