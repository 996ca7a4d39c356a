"""The spec's own sentences, probe by probe (helper audit19d, nineteenth session).

tests/test_spec_audit17.py probed LANGUAGE.md sections 3, 4, 5, 7 and 9's lead input;
tests/test_spec_audit18.py sections 6, 8, 9 and 11. This module takes section 1 "Files"
(which files make a policy, encodings and line endings, comments, line continuation,
names and keys, strings, numbers, times of day) and section 2 "Declarations" (every
declaration and its clauses, the v1.1 additions, and who owns what). Every expected
value was computed by hand from the spec's words (and, where the spec is silent, from
docs/LANGUAGE.md, docs/decisions.md, docs/diagnostics.md and docs/review.md), never by
running the code, so the module guards those words rather than today's behaviour.

Each evaluation group is one policy with its leads: the python engines (the reference
interpreter and the compiled engine) decide every lead through the library, DuckDB all
of a group's leads in one ``funnel eval --engine duckdb`` run (in-process, through
click's ``CliRunner``). Checks, ``fmt`` and ``diff`` run through the CLI the same way.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from probe_records import ABSENT, at_path, mismatches

import policy
from policy.engine.decision import LeadError

#: What :func:`pick` gives for a path that leads nowhere.


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Files (text is written as is: no newline translation) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return folder


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def pick(record: dict, path: str):
    """The value at a dotted path of a decision or error record (list items by index),
    or bit k of score ``bits`` for ``bit k``; ``ABSENT`` where the path leads nowhere."""
    if path.startswith("bit "):
        score = pick(record, "scores.bits")
        return ABSENT if score is ABSENT else score >> int(path.split()[1]) & 1
    return at_path(record, path)


def bit_cases(probes: list) -> tuple[str, list]:
    """Condition probes ``(expr, lead, want)`` as one score ``bits`` (``+2^k if expr``: bit
    k is 1 exactly when probe k's condition holds) and one lead per probe."""
    lines = ["score bits owned by m {"]
    cases = []
    for k, (expr, lead, want) in enumerate(probes):
        lines.append(f"  +{1 << k} if {expr}")
        cases.append(({"lead_id": f"p{k}", **lead}, {f"bit {k}": want}))
    return "\n".join([*lines, "}", ""]), cases


# ------------------------------------------------------------------ section 1: files
# "A policy is a directory of *.funnel files (or one such file), UTF-8. All files of a
# directory form one policy, in one namespace; their order does not matter. Exactly one of
# them holds the policy header." The header sits in the file that sorts last; the other
# file is UTF-8 with a byte-order mark, CRLF line endings and tab indentation, and
# declares what the first one uses. Hidden files (`*` does not match a leading dot), a
# nested folder and other extensions are no part of the policy: each of them would break
# it (a second header, bytes that are not UTF-8, a dangling link).
FILES = {
    "z_header.funnel": """policy files "Files of one policy"
version "2026.12.0"
id contact.id
team m "@m"
funnel lead -> mql
stage lead owned by m {
  require email is present
}
stage mql owned by m {
  require fit >= threshold
}
""",
    "a_rules.funnel": "\ufeffdefine threshold = 20\r\nscore fit owned by m {\r\n"
                      '\t+15 if job == "vp"\r\n\t+10 if enterprise\r\n}\r\n'
                      "define enterprise = employees >= 1000\r\n",
    ".hidden.funnel": 'policy other "a second header"\n',
    "._z_header.funnel": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X \xff\xfe",
    "archive/old.funnel": 'policy old "an archived policy"\n',
    "z_header.funnel.bak": "this is { not a policy\n",
    "README.md": "# notes\n",
}
FILES_CASES = [
    # fit 15 + 10 = 25 >= 20: mql, the last stage
    ({"contact": {"id": "C1"}, "email": "a@b.co", "job": "vp", "employees": 5000},
     {"lead": "C1", "stage": "mql", "reached": "mql", "scores.fit": 25, "next": None,
      "policy.name": "files", "policy.version": "2026.12.0"}),
    # fit 15 < 20: stays a lead; the id as the lead holds it (a number)
    ({"contact": {"id": 7}, "email": "a@b.co", "job": "vp"},
     {"lead": 7, "stage": "lead", "scores.fit": 15, "next.stage": "mql",
      "next.unmet": ["fit >= threshold"]}),
    # no email: no stage; no id field: lead null
    ({"job": "vp", "employees": 5000},
     {"lead": None, "stage": None, "reached": None, "scores.fit": 25,
      "next.unmet": ["email is present"]}),
]


# "A rule ends at the end of its line. It continues onto the next line when its last token
# (comments aside) is =, a comparison or arithmetic operator, and, or, not, in, -> or a
# comma, or while a ( or [ is open [...]. The braces of a block do not continue lines:
# `+10 if x in ["a", "b"]` followed by `+5 if y` on the next line are two rules, never one
# sum." Structural continuations (`->`, `owned by` and `recycle` lists, `until`, a define
# after `=`) are in the policy itself; the policy is one file, loaded by its path.
LINES_HEAD = """policy lines "Line structure"
id lead_id
team m "@m"
team s "@s"
state out owned by m
funnel a ->
  b
define c =
  y == true
define l = [
  "p",
  "q"
]
stage a owned by m,
  s {
  require true
}
stage b owned by s {
  require c
}
handoff a to s {
  route "r" otherwise
  sla 1 hours from t until u,
    v
}
recycle a,
  b to out if k in l "k in the list"
score sums owned by m {
  +10 if x in ["a", "b"]
  +5 if y
  -3 if z
}
"""
LINES_PROBES = [
    ("x ==\n    1", {"x": 1}, 1),
    ("x !=\n    1", {"x": 1}, 0),
    ("x >\n    1", {"x": 2}, 1),
    ("x <=\n    1", {"x": 2}, 0),
    ("x +\n    1 == 3", {"x": 2}, 1),
    ("x -\n    1 == 1", {"x": 2}, 1),
    ("x *\n    2 == 4", {"x": 2}, 1),
    ("x /\n    2 == 1", {"x": 2}, 1),
    ("y and\n    x == 1", {"y": True, "x": 1}, 1),
    ("y and\n    x == 1", {"y": True, "x": 2}, 0),
    ("y or\n    x == 1", {"y": False, "x": 1}, 1),
    ("not\n    y", {"y": True}, 0),
    ("not\n    y", {}, 1),
    ("x in\n    [1, 2]", {"x": 2}, 1),
    ("x not\n    in [1, 2]", {"x": 3}, 1),
    ("x not in\n    [1, 2]", {"x": 2}, 0),
    ("x in [1,\n    2]", {"x": 2}, 1),
    ("(x\n    == 1)", {"x": 1}, 1),
    ("x in [\n    1\n  ]", {"x": 1}, 1),
    ("x == # a comment\n    1", {"x": 1}, 1),
    ("x ==  # a comment\n    1", {"x": 2}, 0),
]
LINES_BITS, LINES_CASES = bit_cases(LINES_PROBES)
LINES_CASES += [
    # two rules, never one sum: 10 + 5 - 3
    ({"lead_id": "s1", "x": "a", "y": True, "z": True}, {"scores.sums": 12}),
    ({"lead_id": "s2", "x": "b"}, {"scores.sums": 10}),
    # `funnel a ->` / `b`, `define c =` / `y == true`, `owned by m,` / `s`
    ({"lead_id": "s3", "y": True}, {"reached": "b", "stage": "b", "next": None}),
    ({"lead_id": "s4"}, {"reached": "a", "next.stage": "b", "next.unmet": ["c"]}),
    # `recycle a,` / `b to out`, the list `define l = [` ... `]`
    ({"lead_id": "s5", "y": True, "k": "q"}, {"reached": "b", "stage": "out",
                                               "reason": "k in the list"}),
    ({"lead_id": "s6", "k": "p"}, {"reached": "a", "stage": "out"}),
    # `until u,` / `v`: the earliest present stop
    ({"lead_id": "s7", "t": "2026-01-05T09:00:00Z", "u": "2026-01-05T09:50:00Z",
      "v": "2026-01-05T09:40:00Z"},
     {"handoffs.0.sla.stop": "2026-01-05T09:40:00Z", "handoffs.0.sla.status": "met",
      "handoffs.0.sla.due": "2026-01-05T10:00:00Z"}),
]


# "a key may use any letters, digits and underscores (Lead_Source__c), and any other key is
# written in backticks"; "true, false, null and none are reserved words"; "Strings use
# double quotes and JSON escapes. Numbers are unsigned in expressions (a minus is an
# operator) and may use _ between digits: 50_000_000, 0.5"; v1.1's words are keywords only
# where the grammar expects them, "so a v1 policy with a field of that name still parses;
# any key may be written in backticks."
LITERAL_PROBES = [
    (r's == "\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"',
     {"s": '"\\/\b\f\n\r\t\u00e9\U0001F600'}, 1),
    (r's == "caf\u00E9"', {"s": "café"}, 1),
    ('s == "a#b"  # a comment after a string holding #', {"s": "a#b"}, 1),
    ('s == "ABC"', {"s": "abc"}, 0),
    ("n == 50_000_000", {"n": 50000000}, 1),
    ("n == 1_000.000_1", {"n": 1000.0001}, 1),
    ("n == 0.5", {"n": 0.5}, 1),
    ("n == -5", {"n": -5}, 1),
    ("n == - -5", {"n": 5}, 1),
    ("n - -5 == 0", {"n": -5}, 1),
    ('Lead_Source__c == "web"', {"Lead_Source__c": "web"}, 1),
    ('Lead_Source__c == "web"', {"lead_source__c": "web"}, 0),
    ("company.`annual revenue` >= 50_000_000", {"company": {"annual revenue": 6e7}}, 1),
    ("`a.b` == 1", {"a.b": 1}, 1),
    ("`a.b` == 1", {"a": {"b": 1}}, 0),
    ("a.b == 1", {"a": {"b": 1}}, 1),
    ("empresa.año == 1", {"empresa": {"año": 1}}, 1),
    ("company.2fa", {"company": {"2fa": True}}, 1),
    ("`true`", {"true": True}, 1),
    ("`x` == 1", {"x": 1}, 1),
    ("flag == true", {"flag": True}, 1),
    ("flag == false", {"flag": True}, 0),
    ("on", {"on": True}, 1),
    ("default == 2", {"default": 2}, 1),
    ("lines > 1", {"lines": 2}, 1),
    ("entered is present", {"entered": "x"}, 1),
    ("`lines` > 1", {"lines": 2}, 1),
]
LITERALS_BITS, LITERALS_CASES = bit_cases(LITERAL_PROBES)
LITERALS = 'policy literals "t"\nid lead_id\nteam m "@m"\nfunnel a\nstage a owned by m {\n' \
           "  require true\n}\n" + LITERALS_BITS


# ------------------------------------------------------------------ section 2: declarations
# Every declaration with its clauses and defaults. Evaluated as of Tuesday 2026-01-06
# 06:00 UTC; the unnamed calendar (UTC, 09:00-17:00) has that Tuesday as a holiday, emea
# is London (UTC in January) 08:30-17:30, apac Tokyo (UTC+9) 09:00-18:00, so a business
# day is 8, 9 and 9 hours. `cutoff` is a define holding a date: a define is a named value,
# so `created_at >= cutoff` compares instants exactly as `created_at >= "2026-01-01"` does
# (docs/decisions.md, "text compared with timestamps").
DECLS = """policy decls "Declarations"
version "v-7"
id contact.`lead id`
team mkt "@acme/marketing"
team sales "@acme/sales"
calendar "head office" {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
  holidays "2026-01-06"
}
calendar emea "London" {
  timezone "Europe/London"
  workdays mon tue wed thu fri
  hours 08:30 to 17:30
}
calendar apac {
  timezone "Asia/Tokyo"
  workdays mon tue wed thu fri
  hours 09:00 to 18:00
}
funnel lead -> mql -> sal
define cutoff = "2026-01-01"
define recent = created_at >= cutoff and hours_since(created_at) >= 0
define lead_words = ["lead", later_word]
define later_word = "prospect"
define threshold = base + 5
define base = 10
define free "free-mail domains" = lines "free.txt"
score fit "Fit" owned by mkt, sales {
  +10 if recent
  +5 per engagement up to 10
  +0.5 if kind in lead_words
  -20 if domain(email) in free
}
score engagement owned by mkt {
  +2 per visits up to 20
}
stage lead owned by mkt {
  require email is present
}
stage mql "Marketing qualified" owned by mkt {
  require fit >= threshold
  exclude competitor "competitors are never qualified"
}
stage sal owned by sales {
  require accepted_at is present
}
state nurture "Back to marketing" owned by mkt
state dq owned by mkt
handoff mql to sales {
  calendar apac
  route "amer" if region == "amer" on default
  route "emea" if region == "emea" on emea
  route "apac" otherwise
  sla 2 business hours from mql_at until accepted_at, rejected_at
  escalate to "managers" after 1 business day
  reject to nurture with reason why in ["bad fit", "no budget"]
}
recycle lead to dq if bounced
recycle sal to nurture if stale "stale"
"""
FREE = "\ufeffgmail.com\r\n# free-mail providers\r\n  yahoo.com  \r\n\r\n".encode()
DECLS_CASES = [
    # fit: recent +10, +5 per 6 up to 10 = 10, "prospect" (a define named before it is
    # declared) +0.5: 20.5 rounds to 21 >= 10 + 5. amer on the unnamed calendar: Monday
    # 16:00 + 1 hour, Tuesday a holiday, Wednesday 09:00 + 1 hour = due Wed 10:00;
    # escalation 8 business hours from the start (Wed 16:00) not yet passed.
    ({"contact": {"lead id": "A"}, "email": "a@corp.com", "created_at": "2026-01-02T00:00:00Z",
      "visits": 3, "kind": "prospect", "region": "amer", "mql_at": "2026-01-05T16:00:00Z"},
     {"lead": "A", "policy.name": "decls", "policy.version": "v-7", "stage": "mql",
      "reached": "mql", "reason": None, "scores": {"fit": 21, "engagement": 6},
      "next": {"stage": "sal", "unmet": ["accepted_at is present"]},
      "handoffs": [{"stage": "mql", "team": "sales", "route": "amer",
                    "sla": {"status": "pending", "start": "2026-01-05T16:00:00Z",
                            "due": "2026-01-07T10:00:00Z", "stop": None},
                    "escalate_to": None, "rejected": False, "rejection_reason": None}],
      "violations": []}),
    # created_at a date (midnight UTC) equal to the cutoff: recent. "Lead" is not "lead".
    # emea: 08:00 starts at the 08:30 opening, due 10:30; the earliest stop is 10:00: met.
    ({"contact": {"lead id": "B"}, "email": "b@corp.com", "created_at": "2026-01-01",
      "visits": 20, "kind": "Lead", "region": "emea", "mql_at": "2026-01-05T08:00:00Z",
      "accepted_at": "2026-01-05T10:00:00Z", "rejected_at": "2026-01-05T11:00:00Z"},
     {"stage": "sal", "reached": "sal", "scores": {"fit": 20, "engagement": 20},
      "next": None, "handoffs.0.route": "emea",
      "handoffs.0.sla": {"status": "met", "start": "2026-01-05T08:00:00Z",
                         "due": "2026-01-05T10:30:00Z", "stop": "2026-01-05T10:00:00Z"}}),
    # apac through the handoff's `calendar apac` (otherwise has no `on`): Mon 09:00 JST
    # (00:00Z) + 2 hours = 02:00Z, breached; one business day (9 hours) ends Mon 09:00Z,
    # so escalated. Rejected with a reason off the list: placed in nurture, still flagged.
    ({"contact": {"lead id": 3}, "email": "c@corp.com", "created_at": "2026-01-02T00:00:00Z",
      "visits": 5, "region": "latam", "mql_at": "2026-01-05T00:00:00Z", "why": "spam"},
     {"lead": 3, "stage": "nurture", "reached": "mql", "reason": "spam",
      "scores": {"fit": 20, "engagement": 10},
      "next": {"stage": "sal", "unmet": ["accepted_at is present"]},
      "handoffs": [{"stage": "mql", "team": "sales", "route": "apac",
                    "sla": {"status": "breached", "start": "2026-01-05T00:00:00Z",
                            "due": "2026-01-05T02:00:00Z", "stop": None},
                    "escalate_to": "managers", "rejected": True, "rejection_reason": "spam"}],
      "violations.0.code": "invalid_rejection_reason", "violations.1": ABSENT}),
    # the second recycle rule (the first is for `lead` only), with its reason
    ({"contact": {"lead id": "D"}, "email": "d@corp.com", "created_at": "2026-01-02T00:00:00Z",
      "visits": 5, "region": "amer", "mql_at": "2026-01-05T09:00:00Z",
      "accepted_at": "2026-01-05T09:30:00Z", "stale": True},
     {"stage": "nurture", "reached": "sal", "reason": "stale", "next": None,
      "handoffs.0.sla.status": "met", "handoffs.0.sla.due": "2026-01-05T11:00:00Z"}),
    # a recycle rule without a reason: reason null; requires and excludes in source order
    ({"contact": {"lead id": "E"}, "email": "e@corp.com", "bounced": True, "competitor": True},
     {"stage": "dq", "reached": "lead", "reason": None, "scores.fit": 0, "handoffs": [],
      "next": {"stage": "mql",
               "unmet": ["fit >= threshold", "competitors are never qualified"]}}),
    # the list file: BOM dropped, CRLF, a comment line, an entry trimmed; domain() lowers
    ({"email": "f@YAHOO.com"},
     {"lead": None, "stage": "lead", "scores.fit": -20, "next.unmet": ["fit >= threshold"]}),
    ({"email": "g@gmail.com.au"}, {"scores.fit": 0}),
    ({}, {"stage": None, "reached": None, "scores": {"fit": 0, "engagement": 0},
          "next": {"stage": "lead", "unmet": ["email is present"]}}),
]


# "`define free_email_domains = lines "free_email_domains.txt"` reads a UTF-8 text file
# relative to the declaring file: a byte-order mark is dropped; lines end at LF or CRLF;
# each line is trimmed of surrounding white space; blank lines and lines that then start
# with # are skipped; every other line is one entry, compared as written". So NEL, U+2028,
# a lone CR and a form feed end no line, and `#` after an entry is part of it.
LIST_FILE = ("\ufeffa\r\n  b  \n\n# c\n  # d\ne # f\nG\nh\x85i\nj\u2028k\nl\rm\n"
             "\u00a0n\u00a0\n\tt\t\nx\x0cy").encode()
LIST_PROBES = [("s in listed", {"s": s}, want) for s, want in [
    ("a", 1), ("\ufeffa", 0), ("b", 1), ("  b  ", 0), ("c", 0), ("# c", 0), ("# d", 0),
    ("e # f", 1), ("e", 0), ("G", 1), ("g", 0), ("h\x85i", 1), ("h", 0), ("j\u2028k", 1),
    ("k", 0), ("l\rm", 1), ("l", 0), ("n", 1), ("t", 1), ("x\x0cy", 1), ("y", 0), ("", 0)]]
LIST_BITS, LIST_CASES = bit_cases(LIST_PROBES)
LIST_POLICY = ('policy listed "t"\nid lead_id\nteam m "@m"\nfunnel a\nstage a owned by m {\n'
               '  require true\n}\ndefine listed = lines "lists/l.txt"\n' + LIST_BITS)


#: group: (files, the path to load, as_of, cases)
GROUPS = {
    "files": (FILES, "", "2026-01-05T12:00:00Z", FILES_CASES),
    "lines": ({"p.funnel": LINES_HEAD + LINES_BITS}, "p.funnel", "2026-01-05T12:00:00Z",
              LINES_CASES),
    "literals": ({"p.funnel": LITERALS}, "", "2026-01-05T12:00:00Z", LITERALS_CASES),
    "list file": ({"p.funnel": LIST_POLICY, "lists/l.txt": LIST_FILE}, "",
                  "2026-01-05T12:00:00Z", LIST_CASES),
    "decls": ({"p.funnel": DECLS, "free.txt": FREE}, "", "2026-01-06T06:00:00Z", DECLS_CASES),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name, (files, _, _, cases) in GROUPS.items():
        folder = write(tmp_path_factory.mktemp(name), files)
        if name == "files":  # an editor's lock file: a dangling link (Emacs' `.#name`)
            os.symlink("nobody@host.1234", folder / ".#z_header.funnel")
        (folder / "leads.jsonl").write_text(
            "".join(json.dumps(lead, ensure_ascii=False) + "\n" for lead, _ in cases),
            encoding="utf-8")
        out[name] = folder
    return out


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_python_engines_follow_the_spec(folders, group, engine):
    _, path, as_of, cases = GROUPS[group]
    pol = policy.load(folders[group] / path, engine=engine)
    assert pol.engine == engine
    assert pol.diagnostics == ()  # no warning either: every name is used
    records = []
    for lead, _ in cases:
        try:
            records.append(pol.evaluate(lead, as_of=datetime.fromisoformat(as_of)).to_dict())
        except LeadError as exc:
            records.append(exc.to_dict())
    assert mismatches(cases, records, pick) == []


@pytest.mark.parametrize("group", list(GROUPS))
def test_duckdb_follows_the_spec(folders, group):
    _, path, as_of, cases = GROUPS[group]
    folder = folders[group]
    res = run("eval", folder / path, folder / "leads.jsonl", "--engine", "duckdb",
              "--as-of", as_of)
    assert res.exit_code == 0, res.output
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert mismatches(cases, records, pick) == []


def test_the_files_of_a_policy(folders):
    """`check` and `fmt` see the same files as loading: hidden files, a nested folder and
    other extensions are no part of the policy, and the order of files does not matter."""
    folder = folders["files"]
    res = run("check", folder, "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["diagnostics"] == []
    # fmt formats a folder's files and its sub-folders' (docs/formatting.md), never the
    # hidden ones (which it could not read): the BOM, CRLF and tab file needs rewriting
    res = run("fmt", "--check", folder)
    assert res.exit_code == 1, res.output
    named = [Path(p).name for p in res.stdout.split()]
    assert "a_rules.funnel" in named and not [p for p in named if p.startswith(".")]
    # the same files under other names, in the other order: the same decisions
    other = write(folder.parent / "renamed", {
        "0_header.funnel": FILES["z_header.funnel"],
        "9_rules.funnel": FILES["a_rules.funnel"]})
    as_of = datetime.fromisoformat("2026-01-05T12:00:00Z")
    one, two = policy.load(folder), policy.load(other)
    for lead, _ in FILES_CASES:
        a, b = one.evaluate(lead, as_of=as_of).to_dict(), two.evaluate(lead, as_of=as_of)
        b = b.to_dict()
        assert a["policy"].pop("digest") and b["policy"].pop("digest")
        assert a == b


# "A stage's gate passes when no exclude holds and either every require holds or its keep
# when condition holds": a stage without lines passes; one with only `keep when` passes
# (every require, of none, holds); one with only an exclude passes unless it holds.
GATES = ('policy gates "t"\nteam m "@m"\nfunnel a -> b -> c\nstage a owned by m {\n}\n'
         "stage b owned by m {\n  keep when k\n}\nstage c owned by m {\n  exclude e\n}\n")


def test_gates_without_requires(tmp_path):
    folder = write(tmp_path, {"p.funnel": GATES})
    leads = [{}, {"e": True}, {"k": False, "e": False}]
    want = [("c", None), ("b", {"stage": "c", "unmet": ["not e"]}), ("c", None)]
    as_of = datetime.fromisoformat("2026-01-05T12:00:00Z")
    for engine in ("interpreter", "compiled"):
        pol = policy.load(folder, engine=engine)
        got = [pol.evaluate(lead, as_of=as_of).to_dict() for lead in leads]
        assert [(d["reached"], d["next"]) for d in got] == want


# ------------------------------------------------------------------ checks of sections 1, 2
# The codes `funnel check --format json` must report (sorted). HEAD declares the header and
# two teams; A is a one-stage funnel owned by m.
HEAD = 'policy p "t"\nteam m "@m"\nteam s "@s"\n'
A = "funnel a\nstage a owned by m {\n  require x\n}\n"
CAL = 'calendar%s {\n  timezone "UTC"\n  workdays mon\n  hours %s\n}\n'
SLA = 'handoff a to s {\n  route "r" otherwise%s\n  sla 4 business hours from t until u\n}\n'
TS = ('score f owned by m {\n  +1 if days_since(t) > 0 and t >= %s\n}\n')
SCHEMA = json.dumps({"type": "object", "properties": {
    "x": {"type": "boolean"}, "s": {"type": "string"},
    "t": {"type": "string", "format": "date-time"}}})

CHECKS = [
    # section 1: "Exactly one of them holds the policy header"; hidden files and nested
    # folders are no part of the policy (docs/LANGUAGE.md, "Files")
    ("a header in a hidden file", {"p.funnel": HEAD + A, ".q.funnel": 'policy q "t"\n'}, []),
    ("a header in a nested folder", {"p.funnel": HEAD + A, "sub/q.funnel": 'policy q "t"\n'},
     []),
    ("a header in a second file", {"p.funnel": HEAD + A, "q.funnel": 'policy q "t"\n'},
     ["E108"]),
    ("one namespace across files", {"p.funnel": HEAD + A, "q.funnel": 'state m owned by s\n'},
     ["E103"]),
    ("a lone CR ends no line", {"p.funnel": (HEAD + A).replace("\n", "\r")}, ["E100"]),
    ("a rule does not continue with `and`",
     {"p.funnel": HEAD + A.replace("require x", "require x\n    and y")}, ["E100"]),
    ("a block's braces do not continue a line",
     {"p.funnel": HEAD + A.replace("owned by m {", "owned by m\n{")}, ["E100"]),
    # names: "lowercase snake_case" (E113, docs/diagnostics.md); reserved words
    ("a name in capitals", {"p.funnel": HEAD + "funnel A\nstage A owned by m {\n  require x\n}\n"},
     ["E113"]),
    ("a reserved word as a name", {"p.funnel": HEAD + A + "state none owned by m\n"},
     ["E100"]),
    ("a reserved word as a key", {"p.funnel": HEAD + A.replace("x", "c.null")}, ["E100"]),
    # strings: JSON escapes only; a raw control character is no JSON
    ("a bad escape", {"p.funnel": HEAD + A.replace("x", r'x == "\x41"')}, ["E100"]),
    ("a raw tab in a string", {"p.funnel": HEAD + A.replace("x", 'x == "a\tb"')}, ["E100"]),
    # numbers: `_` between digits only
    ("two underscores", {"p.funnel": HEAD + A.replace("x", "x == 1__0")}, ["E100"]),
    ("a trailing underscore", {"p.funnel": HEAD + A.replace("x", "x == 10_")}, ["E100"]),
    # times of day: HH:MM, 24-hour, from 00:00 to 24:00
    ("00:00 to 24:00", {"p.funnel": HEAD + A + SLA % "" + CAL % ("", "00:00 to 24:00")}, []),
    ("24:01", {"p.funnel": HEAD + A + SLA % "" + CAL % ("", "09:00 to 24:01")}, ["E107"]),
    ("one-digit hour", {"p.funnel": HEAD + A + SLA % "" + CAL % ("", "9:00 to 17:00")},
     ["E100"]),
    # section 2: "every stage is declared exactly once"
    ("a stage not in the funnel", {"p.funnel": HEAD + A + A.replace("funnel a\n", "")
                                   .replace("stage a", "stage b")}, ["E103"]),
    ("a funnel stage not declared", {"p.funnel": HEAD + A.replace("funnel a", "funnel a -> b")},
     ["E103"]),
    ("a stage twice in the funnel", {"p.funnel": HEAD + A.replace("funnel a", "funnel a -> a")},
     ["E103"]),
    # "score, stage and state must name their owners"
    ("a stage without owners", {"p.funnel": HEAD + A.replace(" owned by m", "")}, ["E100"]),
    ("a state without owners", {"p.funnel": HEAD + A + "state n\n"}, ["E100"]),
    ("a score without owners", {"p.funnel": HEAD + A + "score f {\n  +1 if x\n}\n"}, ["E100"]),
    ("an unknown owner", {"p.funnel": HEAD + A.replace("by m", "by m, q")}, ["E104"]),
    # calendars: "at most one unnamed"; v1.1's rules
    ("two unnamed calendars", {"p.funnel": HEAD + A + SLA % "" + CAL % ("", "09:00 to 17:00")
                               + CAL % ("", "09:00 to 17:00")}, ["E103"]),
    ("a calendar named like a team", {"p.funnel": HEAD + A + SLA % "" + CAL % ("", "09:00 to 17:00")
                                      + CAL % (" s", "09:00 to 17:00")}, ["E103", "W201"]),
    ("an unknown calendar after on", {"p.funnel": HEAD + A + SLA % " on e"
                                      + CAL % ("", "09:00 to 17:00")}, ["E104"]),
    ("on default without an unnamed calendar", {"p.funnel": HEAD + A + SLA % " on default"
                                                 + CAL % (" e", "09:00 to 17:00")},
     ["E104", "W201"]),
    ("business time on no calendar", {"p.funnel": HEAD + A + SLA % ""
                                      + CAL % (" e", "09:00 to 17:00")}, ["E107", "W201"]),
    ("business time on the route's calendar", {"p.funnel": HEAD + A + SLA % " on e"
                                               + CAL % (" e", "09:00 to 17:00")}, []),
    ("two handoffs at one stage", {"p.funnel": HEAD + A + SLA % "" + SLA % ""
                                   + CAL % ("", "09:00 to 17:00")}, ["E103"]),
    # entered at: "a field that is not a date-time or date is E102; two such lines in one
    # stage are E103"
    ("entered at twice", {"p.funnel": HEAD + A.replace("require x", "entered at t\n  "
                                                       "entered at u\n  require x")}, ["E103"]),
    ("entered at a string field", {"p.funnel": HEAD + 'schema "s.json"\n'
                                   + A.replace("require x", "entered at s\n  require x"),
                                   "s.json": SCHEMA}, ["E102"]),
    ("entered at a date-time", {"p.funnel": HEAD + 'schema "s.json"\n'
                                + A.replace("require x", "entered at t\n  require x"),
                                "s.json": SCHEMA}, []),
    # a define is a named value: text it holds compared with a timestamp is read as an
    # instant, like the literal; text that is no timestamp is E102, like the literal
    ("a define holding a date", {"p.funnel": HEAD + A + 'define c = "2026-01-01"\n' + TS % "c"},
     []),
    ("a define holding a define holding a date",
     {"p.funnel": HEAD + A + 'define c = d\ndefine d = "2026-01-01T09:00:00+01:00"\n'
      + TS % "c"}, []),
    ("a date in a list, through a define",
     {"p.funnel": HEAD + A + 'define c = "2026-01-01"\n' + TS.replace(">=", "in") % "[c]"},
     []),
    ("a define holding text that is no date", {"p.funnel": HEAD + A + 'define c = "soon"\n'
                                               + TS % "c"}, ["E102"]),
    ("the literal that is no date", {"p.funnel": HEAD + A + TS % '"soon"'}, ["E102"]),
]


@pytest.mark.parametrize(("label", "files", "want"), CHECKS, ids=[c[0] for c in CHECKS])
def test_check_codes_follow_sections_1_and_2(tmp_path, label, files, want):
    res = run("check", write(tmp_path, files), "--format", "json")
    assert res.exit_code == (1 if any(c.startswith("E") for c in want) else 0), res.output
    assert sorted(d["code"] for d in json.loads(res.output)["diagnostics"]) == want


def test_a_define_holding_a_date_compares_instants(tmp_path):
    """`t >= cutoff` with `define cutoff = "2026-01-01"` decides as `t >= "2026-01-01"`:
    instants, in every engine (it was E102, "this is never true"), and `t in [cutoff]` and
    a defined list naming `cutoff` find the instant, whatever offset the lead writes."""
    text = (HEAD + "funnel a\nstage a owned by m {\n  require true\n}\n"
            'define cutoff = "2026-01-01"\ndefine days = [cutoff, "2026-02-01"]\n'
            "score f owned by m {\n  +1 if t >= cutoff and days_since(t) > 0\n"
            "  +2 if t in [cutoff]\n  +4 if t in days\n  +8 if t == cutoff\n}\n")
    folder = write(tmp_path, {"p.funnel": text})
    leads = [{"t": "2026-01-01T00:00:00Z"}, {"t": "2026-01-01T01:00:00+01:00"},
             {"t": "2025-12-31T23:00:00Z"}, {"t": "2026-02-01"}, {"t": "2026-01-15T00:00:00Z"}]
    want = [15, 15, 0, 5, 1]
    as_of = datetime.fromisoformat("2026-03-01T00:00:00Z")
    for engine in ("interpreter", "compiled"):
        pol = policy.load(folder, engine=engine)
        assert [pol.evaluate(lead, as_of=as_of).scores["f"] for lead in leads] == want
    (folder / "l.jsonl").write_text("".join(json.dumps(x) + "\n" for x in leads))
    res = run("eval", folder, folder / "l.jsonl", "--engine", "duckdb", "--as-of",
              "2026-03-01T00:00:00Z")
    assert [json.loads(x)["scores"]["f"] for x in res.stdout.splitlines()] == want
    # the problem is reported where the define is compared, naming what it holds
    write(tmp_path, {"p.funnel": text.replace('"2026-01-01"', '"soon"')})
    res = run("check", folder)
    assert res.exit_code == 1
    assert "p.funnel:11:14: error[E102]: expected a timestamp, found `cutoff`, which holds " \
           '"soon"' in res.output


# ------------------------------------------------------------------ fmt: comments
# "Comments are part of the source: the formatter keeps every one of them where it stood."
COMMENTED = """# the header
policy p "t"  # trailing the header
team m "@m"
# above the funnel
funnel a -> # inside a statement that spans lines
  b
stage a owned by m {  # the block's own
  # above a require
  require x  # trailing a require
  # before the closing brace
}
stage b owned by m {
  require y
}
calendar {
  timezone "UTC"  # the zone
  workdays mon
  hours 09:00 to 17:00
}
# at the end
"""


def test_fmt_keeps_every_comment(tmp_path):
    folder = write(tmp_path, {"p.funnel": COMMENTED.replace("\n", "\r\n")})
    res = run("fmt", folder / "p.funnel")
    assert res.exit_code == 0, res.output
    out = (folder / "p.funnel").read_text(encoding="utf-8")
    assert re.findall(r"#[^\n]*", out) == re.findall(r"#[^\n]*", COMMENTED)
    # where each stood (docs/formatting.md): above, trailing, the block's own, before `}`
    assert out.startswith("# the header\npolicy p \"t\"  # trailing the header\n")
    assert "# above the funnel\n# inside a statement that spans lines\nfunnel a -> b\n" in out
    assert "stage a owned by m {  # the block's own\n  # above a require\n" \
           "  require x  # trailing a require\n" in out
    assert "  # before the closing brace\n}\n" in out
    assert out.endswith("}\n# at the end\n")
    assert run("fmt", "--check", folder).exit_code == 0


# ------------------------------------------------------------------ section 2: ownership
# "a handoff is owned by the owners of its stage and by the team it hands to; [...] a
# calendar by the owners of every handoff that counts business time on it; a define by the
# owners of every block that uses it, directly or through other defines; the header, team
# and funnel lines by every team." Where these rules name nobody, every team
# (docs/review.md). (old, new, owners of the one change)
OWNED = """policy p "t"
version "1"
id lead_id
team m "@m"
team s "@s"
team o "@o"
team z "@z"
calendar emea {
  timezone "Europe/London"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
calendar apac {
  timezone "Asia/Tokyo"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
funnel a -> b -> c
define lo = 5
define mid = n >= lo
define deep = mid and n >= 7
define reasons = ["x", "y"]
define hot = n > 20
define kept = k
define stale = q
score f owned by m {
  +10 if hot
}
stage a owned by m {
  require n >= 1
}
stage b owned by s {
  require f >= 10
  keep when kept
}
stage c owned by o {
  require deep
}
state nur owned by z
handoff a to s {
  route "a1" if n > 3 on emea
  route "a2" otherwise on emea
  sla 4 business hours from t until u
  reject to nur with reason why in reasons
}
handoff b to o {
  calendar apac
  route "b1" otherwise
  sla 2 business days from t until u
}
recycle b to nur if stale
"""
OWNERS = [
    ("define lo = 5", "define lo = 6", ["o"]),  # lo -> mid -> deep -> stage c
    ('define reasons = ["x", "y"]', 'define reasons = ["x"]', ["m", "s"]),  # handoff a
    ('"Europe/London"', '"Europe/Dublin"', ["m", "s"]),  # emea: handoff a's routes
    ('"Asia/Tokyo"', '"Asia/Seoul"', ["o", "s"]),  # apac: handoff b's calendar line
    # a define used by a score is the score's owners', not those of the stage that reads
    # the score ("through other defines", not through scores)
    ("define hot = n > 20", "define hot = n > 30", ["m"]),
    ("define kept = k", "define kept = k2", ["s"]),  # stage b's `keep when`
    ("define stale = q", "define stale = q2", ["s", "z"]),  # recycle b to nur
    ('version "1"', 'version "2"', ["m", "o", "s", "z"]),
    ("id lead_id", "id n", ["m", "o", "s", "z"]),
]


def test_owners_follow_section_2(tmp_path):
    base = write(tmp_path / "base", {"p.funnel": OWNED})
    for old, new, owners in OWNERS:
        assert OWNED.count(old) == 1, old
        head = write(tmp_path / "head", {"p.funnel": OWNED.replace(old, new)})
        res = run("diff", base, head, "--format", "json")
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert [sorted(c["owners"]) for c in out["changes"]] == [owners], old
        assert sorted(a["team"] for a in out["approvals"]) == owners, old
