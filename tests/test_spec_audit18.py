"""The spec's own sentences, probe by probe (helper audit18, eighteenth session).

tests/test_spec_audit17.py probed LANGUAGE.md sections 3, 4, 5, 7 and 9's lead input;
this module takes section 6 (static checks), 8 (the library), 9 (the command line) and
11 (the funnel report). Every expected value was computed by hand from the spec's words
(and, where the spec is silent, from docs/decisions.md, docs/diagnostics.md and
docs/report.md), never by running the code, so the module guards those words rather than
today's behaviour. Commands run in-process through click's ``CliRunner``; the report runs
once per engine per policy (python and duckdb must both give the hand-computed figures).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return folder


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


# ------------------------------------------------------------------ section 6: static checks
# One policy per probe: the codes `funnel check --format json` must report (sorted), by the
# table of section 6. HEAD declares the header and two teams; A is a one-stage funnel.

HEAD = 'policy p "t"\nteam m "@m"\nteam s "@s"\n'
A = "funnel a\nstage a owned by m {\n require x\n}\n"
AB = ("funnel a -> b\nstage a owned by m {\n require x\n}\n"
      "stage b owned by s {\n require y\n}\n")
ABC = ("funnel a -> b -> c\nstage a owned by m {\n require x\n}\n"
       "stage b owned by m {\n require y\n}\nstage c owned by s {\n require z\n}\n")
CAL = 'calendar {\n timezone "%s"\n workdays %s\n hours %s\n}\n'
SLA = 'handoff a to s {\n route "r" otherwise\n sla 4 business hours from t until u\n}\n'
SCHEMA = {"s.json": json.dumps({"type": "object", "properties": {
    "name": {"type": "string"}, "n": {"type": "number"}, "flag": {"type": "boolean"},
    "t": {"type": "string", "format": "date-time"}}})}
USES_LIST = 'define l = lines "l.txt"\nscore f owned by m {\n +1 if x in l\n}\n'
EXAMPLE = 'example "e" {\n at "2026-01-01T00:00:00Z"\n %s\n %s\n}\n'
LEAD = 'lead {"x": true}'
ROUTES = 'handoff a to s {\n%s\n}\n'
SCORE = 'score f owned by m {\n%s\n}\n'

CHECKS = [
    # E105: "a funnel boundary where the owning team changes with no handoff at the stage
    # before it"
    ("E105 no handoff", {"p.funnel": HEAD + AB}, ["E105"]),
    ("E105 handoff at the stage before", {"p.funnel": HEAD + AB + ROUTES % ' route "r" otherwise'
                                          .replace("handoff a", "handoff a")}, []),
    ("E105 handoff at the later stage", {"p.funnel": HEAD + AB
                                         + 'handoff b to s {\n route "r" otherwise\n}\n'},
     ["E105"]),
    ("E105 handoff one boundary early", {"p.funnel": HEAD + ABC + ROUTES % ' route "r" otherwise'},
     ["E105"]),
    ("E105 handoff at the boundary", {"p.funnel": HEAD + ABC
                                      + 'handoff b to s {\n route "r" otherwise\n}\n'}, []),
    # E106: "route lines without a final otherwise, or lines after it"
    ("E106 no otherwise", {"p.funnel": HEAD + A + ROUTES % ' route "r" if x'}, ["E106"]),
    ("E106 a route after otherwise", {"p.funnel": HEAD + A + ROUTES
                                      % ' route "r" otherwise\n route "q" if x'}, ["E106"]),
    ("E106 two otherwise", {"p.funnel": HEAD + A + ROUTES
                            % ' route "r" otherwise\n route "q" otherwise'}, ["E106"]),
    # E107: "business durations with no calendar; a bad time zone, day or hour"
    ("E107 business hours, no calendar", {"p.funnel": HEAD + A + SLA}, ["E107"]),
    ("E107 calendar ok", {"p.funnel": HEAD + A + SLA + CAL % ("UTC", "mon tue", "09:00 to 17:00")},
     []),
    ("E107 24:00 closes a day",
     {"p.funnel": HEAD + A + SLA + CAL % ("UTC", "mon", "00:00 to 24:00")}, []),
    ("E107 bad zone", {"p.funnel": HEAD + A + SLA + CAL % ("Mars/Base", "mon", "09:00 to 17:00")},
     ["E107"]),
    ("E107 bad day", {"p.funnel": HEAD + A + SLA + CAL % ("UTC", "mon tues", "09:00 to 17:00")},
     ["E107"]),
    ("E107 hour 25", {"p.funnel": HEAD + A + SLA + CAL % ("UTC", "mon", "09:00 to 25:00")},
     ["E107"]),
    ("E107 minute 60", {"p.funnel": HEAD + A + SLA + CAL % ("UTC", "mon", "09:60 to 17:00")},
     ["E107"]),
    ("E107 escalate in business days", {"p.funnel": HEAD + A + ROUTES % (
        ' route "r" otherwise\n sla 4 hours from t until u\n escalate to "x" after 1 business days'
    )}, ["E107"]),
    ("E107 decay in business days", {"p.funnel": HEAD + A + SCORE
                                     % " +1 if x\n decay half-life 2 business days since t"},
     ["E107"]),
    ("E107 route with no calendar", {"p.funnel": HEAD + A + CAL.replace("calendar", "calendar e")
                                     % ("UTC", "mon", "09:00 to 17:00") + ROUTES % (
        ' route "r" if x on e\n route "q" otherwise\n sla 4 business hours from t until u')},
     ["E107"]),
    # E108: "no policy header, or more than one; a cycle among defines and scores, direct or
    # indirect"
    ("E108 no header", {"p.funnel": 'team m "@m"\n' + A}, ["E108"]),
    ("E108 two headers", {"p.funnel": HEAD + A, "q.funnel": 'policy q "t"\n'}, ["E108"]),
    ("E108 define -> score -> define", {"p.funnel": HEAD + A + "define hot = f >= 10\n"
                                        + SCORE % " +10 if hot"}, ["E108"]),
    ("E108 score -> score", {"p.funnel": HEAD + A + SCORE % " +10 if g > 1"
                             + SCORE.replace("score f", "score g") % " +10 if f > 1"}, ["E108"]),
    ("E108 three defines", {"p.funnel": HEAD + A + "define d1 = d2\ndefine d2 = d3 and x\n"
                            "define d3 = d1 or y\n" + SCORE % " +1 if d1"}, ["E108"]),
    ("E108 value defines", {"p.funnel": HEAD + A + "define k = j + 1\ndefine j = k * 2\n"
                            + SCORE % " +1 if k > 1"}, ["E108"]),
    # E109: "an example that names an unknown stage, score, route or state"
    ("E109 stage", {"p.funnel": HEAD + A + EXAMPLE % (LEAD, "expect stage zz")}, ["E109"]),
    ("E109 a state is a placement", {"p.funnel": HEAD + A + "state st owned by m\n"
                                     + EXAMPLE % (LEAD, "expect stage st")}, []),
    ("E109 score", {"p.funnel": HEAD + A + EXAMPLE % (LEAD, "expect score zz 1")}, ["E109"]),
    ("E109 route", {"p.funnel": HEAD + A + ROUTES % ' route "r" otherwise'
                    + EXAMPLE % (LEAD, 'expect route "zz"')}, ["E109"]),
    ("E109 route ok", {"p.funnel": HEAD + A + ROUTES % ' route "r" otherwise'
                       + EXAMPLE % (LEAD, 'expect route "r"')}, []),
    ("E109 route at a stage", {"p.funnel": HEAD + A + ROUTES % ' route "r" otherwise'
                               + EXAMPLE % (LEAD, 'expect route "r" at zz')}, ["E109"]),
    # E110: "a file the policy names (schema, lines list, lead file) cannot be read or is
    # not UTF-8, or the schema is not valid JSON Schema; like every error it exits 1"
    ("E110 schema missing", {"p.funnel": HEAD + 'schema "s.json"\n' + A}, ["E110"]),
    ("E110 schema not UTF-8", {"p.funnel": HEAD + 'schema "s.json"\n' + A,
                               "s.json": b'{"type": "object", "title": "\xff"}'}, ["E110"]),
    ("E110 schema not JSON Schema", {"p.funnel": HEAD + 'schema "s.json"\n' + A,
                                     "s.json": '{"type": 5}'}, ["E110"]),
    ("E110 schema keyword of the wrong type", {
        "p.funnel": HEAD + 'schema "s.json"\n' + A,
        "s.json": '{"type": "object", "properties": {"x": {"minimum": "a"}}}'}, ["E110"]),
    ("E110 lines missing", {"p.funnel": HEAD + A + USES_LIST}, ["E110"]),
    ("E110 lines not UTF-8", {"p.funnel": HEAD + A + USES_LIST, "l.txt": b"a\n\xffb\n"},
     ["E110"]),
    ("E110 lines in UTF-16", {"p.funnel": HEAD + A + USES_LIST, "l.txt": "a\n".encode("utf-16")},
     ["E110"]),
    ("E110 lead file missing", {"p.funnel": HEAD + A + EXAMPLE % ('lead file "x.json"',
                                                                  "expect stage a")}, ["E110"]),
    ("E110 lead file not UTF-8", {"p.funnel": HEAD + A + EXAMPLE % ('lead file "x.json"',
                                                                    "expect stage a"),
                                  "x.json": b'{"x": "\xff"}'}, ["E110"]),
    # W201: "a define or a named calendar that nothing uses"
    ("W201 define", {"p.funnel": HEAD + A + "define d = x\n"}, ["W201"]),
    ("W201 named calendar", {"p.funnel": HEAD + A + CAL.replace("calendar", "calendar e")
                             % ("UTC", "mon", "09:00 to 17:00")}, ["W201"]),
    # W202: "a route that can never be chosen (an earlier condition covers it)"
    ("W202 covered", {"p.funnel": HEAD + A + ROUTES % (
        ' route "r" if n >= 10\n route "q" if n >= 20\n route "o" otherwise')}, ["W202"]),
    ("W202 not covered", {"p.funnel": HEAD + A + ROUTES % (
        ' route "r" if n >= 20\n route "q" if n >= 10\n route "o" otherwise')}, []),
    # `z` is covered by `q`; `otherwise` is not covered: a lead without `n` fails both
    # comparisons (section 3, "Missing values")
    ("W202 covered by two", {"p.funnel": HEAD + A + ROUTES % (
        ' route "r" if n >= 20\n route "q" if n < 20\n route "z" if n == 5\n route "o" otherwise'
    )}, ["W202"]),
    ("W202 otherwise covered", {"p.funnel": HEAD + A + ROUTES % (
        ' route "r" if x\n route "q" if not x\n route "o" otherwise')}, ["W202"]),
    ("W202 a list covers", {"p.funnel": HEAD + A + ROUTES % (
        ' route "r" if c in ["US", "CA"]\n route "q" if c == "US"\n route "o" otherwise')},
     ["W202"]),
    # W203: "a threshold no score can reach (a score of range 0..100 compared with >= 120)"
    ("W203 over the range", {"p.funnel": HEAD + A + SCORE % " +10 if x\n range 0 to 100"
                             + ROUTES % ' route "r" if f >= 120\n route "o" otherwise'},
     ["W203"]),
    ("W203 over the points", {"p.funnel": HEAD + A + SCORE % " +10 if x\n +5 if y"
                              + ROUTES % ' route "r" if f > 15\n route "o" otherwise'}, ["W203"]),
    ("W203 at the points", {"p.funnel": HEAD + A + SCORE % " +10 if x\n +5 if y"
                            + ROUTES % ' route "r" if f >= 15\n route "o" otherwise'}, []),
    ("W203 under the negative points", {"p.funnel": HEAD + A + SCORE % " +10 if x\n -5 if y"
                                        + ROUTES % ' route "r" if f < -5\n route "o" otherwise'},
     ["W203"]),
    ("W203 per without a cap", {"p.funnel": HEAD + A + SCORE % " +10 per w"
                                + ROUTES % ' route "r" if f > 1000000\n route "o" otherwise'}, []),
    ("W203 per up to", {"p.funnel": HEAD + A + SCORE % " +10 per w up to 30"
                        + ROUTES % ' route "r" if f > 30\n route "o" otherwise'}, ["W203"]),
    ("W203 written the other way", {"p.funnel": HEAD + A + SCORE % " +10 if x\n range 0 to 100"
                                    + ROUTES % ' route "r" if 120 <= f\n route "o" otherwise'},
     ["W203"]),
    ("W203 rounded points", {"p.funnel": HEAD + A + SCORE % " +0.4 if x"
                             + ROUTES % ' route "r" if f == 1\n route "o" otherwise'}, ["W203"]),
    ("W203 decay only shrinks", {"p.funnel": HEAD + A + SCORE
                                 % " +10 if x\n decay half-life 1 days since t"
                                 + ROUTES % ' route "r" if f == 5\n route "o" otherwise'}, []),
    # W204: "a gate that can never pass (fit >= 40 and fit < 30 in one stage)"
    ("W204 two requires", {"p.funnel": HEAD + "funnel a\nstage a owned by m {\n require n >= 40\n"
                           " require n < 30\n}\n"}, ["W204"]),
    ("W204 exclude always holds", {"p.funnel": HEAD + "funnel a\nstage a owned by m {\n require x\n"
                                   " exclude n > 1 or not (n > 1)\n}\n"}, ["W204"]),
    ("W204 requires let in what exclude throws out", {
        "p.funnel": HEAD + "funnel a\nstage a owned by m {\n require n >= 40\n"
                    " exclude n >= 30\n}\n"}, ["W204"]),
    ("W204 keep when can pass it", {"p.funnel": HEAD + "funnel a\nstage a owned by m {\n"
                                    " require n >= 40\n require n < 30\n keep when y\n}\n"}, []),
    # W205: "a policy name that shadows a schema field"
    ("W205 define", {"p.funnel": HEAD + 'schema "s.json"\n' + A.replace("require x", "require flag")
                     + "define name = 1 > 0\n" + SCORE % " +1 if name", **SCHEMA}, ["W205"]),
    # W206: "an entry repeated in a lines list" (after trimming; comments and blank lines
    # skipped; compared as written)
    ("W206 two repeats", {"p.funnel": HEAD + A + USES_LIST, "l.txt": "a\n b \n# c\n\nb\na\n"},
     ["W206", "W206"]),
    ("W206 BOM and CRLF", {"p.funnel": HEAD + A + USES_LIST,
                           "l.txt": "\ufeffa\r\nb\r\n a\t\r\n".encode()}, ["W206"]),
    ("W206 case counts", {"p.funnel": HEAD + A + USES_LIST, "l.txt": "a\nA\n"}, []),
]


@pytest.mark.parametrize("files, want", [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_check_codes_follow_section_6(tmp_path, files, want):
    res = run("check", write(tmp_path, files), "--format", "json")
    payload = json.loads(res.output)
    assert sorted(d["code"] for d in payload["diagnostics"]) == want
    # "Errors stop a policy from loading; warnings do not (unless --strict)"; E110 "like
    # every error it exits 1 (exit 2 is for the command's own path arguments)"
    errors = any(code.startswith("E") for code in want)
    assert res.exit_code == (1 if errors else 0)
    strict = run("check", tmp_path, "--strict", "--format", "json")
    assert strict.exit_code == (1 if want else 0)


def test_errors_stop_loading_and_warnings_do_not(tmp_path):
    warned = write(tmp_path / "warned", {"p.funnel": HEAD + A + "define d = x\n"})
    broken = write(tmp_path / "broken", {"p.funnel": HEAD + 'schema "s.json"\n' + A})
    leads = tmp_path / "l.jsonl"
    leads.write_text('{"x": true}\n')
    res = run("eval", warned, leads, "--as-of", "2026-01-01T00:00:00Z")
    assert res.exit_code == 0 and '"stage": "a"' in res.stdout
    assert "warning[W201]" in res.stderr
    for command in (["eval", broken, leads], ["test", broken], ["explain", broken, f"{leads}:1"],
                    ["report", broken, leads], ["docs", broken], ["sql", broken]):
        res = run(*command)
        assert res.exit_code == 1, command
        assert "error[E110]" in res.stderr and not res.stdout


def test_the_diagnostic_format(tmp_path):
    # "path:line:col: severity[CODE]: message, followed by the source line and a caret
    # under the span, and a hint where one helps (did you mean 'company.employees'?)"
    write(tmp_path, {
        "p.funnel": HEAD + 'schema "s.json"\nfunnel a\nstage a owned by m {\n'
                    "\trequire company.employes >= 200\n}\n",
        "s.json": json.dumps({"type": "object", "properties": {"company": {
            "type": "object", "properties": {"employees": {"type": "integer"}}}}})})
    res = run("check", tmp_path / "p.funnel")
    assert res.exit_code == 1
    head, source, caret, hint = res.output.splitlines()[:4]
    assert head.endswith("p.funnel:7:10: error[E101]: unknown field `company.employes`")
    gutter, _, text = source.partition("| ")
    assert gutter == "   7 " and text == " require company.employes >= 200"
    # the tab is shown as one column, so the caret sits under `company.employes`
    assert caret == "     | " + " " * 9 + "^" + "~" * 15
    assert hint == "  = help: did you mean `company.employees`?"


# ------------------------------------------------------------------ section 8: the library

def test_policy_error_holds_all_diagnostics(tmp_path):
    # "p = policy.load("rules/")  # raises policy.PolicyError with all diagnostics":
    # fifteen errors and a warning, not the first ten that `funnel check` shows
    require = "\n".join(f"  require zz{i} >= 1" for i in range(15))
    write(tmp_path, {
        "p.funnel": 'policy p "t"\nteam m "@m"\nschema "s.json"\nfunnel a\n'
                    f"stage a owned by m {{\n{require}\n}}\ndefine unused = 1 > 0\n",
        "s.json": '{"type": "object", "properties": {"x": {"type": "boolean"}}}'})
    with pytest.raises(policy.PolicyError) as info:
        policy.load(tmp_path)
    got = [(d.code, d.span.line) for d in info.value.diagnostics]
    assert got == [("E101", 6 + i) for i in range(15)] + [("W201", 22)]


LIBRARY = """policy p "t"
id lead_id
schema "s.json"
team m "@m"
team s "@s"
calendar {
  timezone "Asia/Kathmandu"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
calendar e {
  timezone "Pacific/Chatham"
  workdays mon tue
  hours 09:00 to 17:00
}
funnel a
define l = lines "l.txt"
stage a owned by m {
  require x in l
}
score f owned by m {
  +10 if x in l
  decay half-life 3 days since t
}
handoff a to s {
  route "r" if y on e
  route "o" otherwise
  sla 4 business hours from t until u
  escalate to "z" after 1 business days
}
"""
LIBRARY_FILES = {
    "p.funnel": LIBRARY, "l.txt": "a\nb\n",
    "s.json": json.dumps({"type": "object", "properties": {
        "lead_id": {"type": "string"}, "x": {"type": "string"}, "y": {"type": "boolean"},
        "t": {"type": "string", "format": "date-time"},
        "u": {"type": "string", "format": "date-time"}}})}
AT = datetime(2026, 3, 5, tzinfo=UTC)
# By hand: 2026-03-01 is a Sunday. Kathmandu is +05:45, so a start of 2026-03-01T10:00+05:45
# (04:15Z) waits for Monday 09:00 local (03:15Z): due 07:15Z, escalation at 11:15Z; as of
# 2026-03-05 with no stop the SLA is breached and escalated. Chatham is +13:45 in March:
# a start of 10:00Z is Sunday 23:45 local, Monday 09:00 local is 19:15Z, due 23:15Z.
# The score: elapsed 3 d 19 h 45 min from 04:15Z, 10 x 0.5^(3.8229 / 3) = 4.13 -> 4;
# from 10:00Z, 3 d 14 h: 10 x 0.5^(3.5833 / 3) = 4.37 -> 4.
GOOD = [
    ({"lead_id": "k", "x": "a", "t": "2026-03-01T10:00:00+05:45"},
     ("a", 4, "o", "breached", "2026-03-02T07:15:00Z", "z")),
    ({"lead_id": "c", "x": "b", "y": True, "t": "2026-03-01T10:00:00Z"},
     ("a", 4, "r", "breached", "2026-03-01T23:15:00Z", "z")),
    ({"lead_id": "n", "x": "c"}, (None, 0, None, None, None, None)),
]


def summary(d) -> tuple:
    out = d.to_dict()
    h = out["handoffs"][0] if out["handoffs"] else None
    return (out["stage"], out["scores"]["f"], h and h["route"], h and h["sla"]["status"],
            h and h["sla"]["due"], h and h["escalate_to"])


@pytest.fixture(scope="module")
def library_policy(tmp_path_factory):
    return policy.load(write(tmp_path_factory.mktemp("lib"), LIBRARY_FILES))


def test_evaluate_and_lead_errors(library_policy):
    p = library_policy
    for lead, want in GOOD:
        assert summary(p.evaluate(lead, as_of=AT)) == want
    # "raises policy.LeadError on a bad lead": a schema failure, a value that is not an
    # object
    for bad in ({"lead_id": "b", "x": 5}, [1], "s", None):
        with pytest.raises(policy.LeadError):
            p.evaluate(bad, as_of=AT)
    # section 5: "A library caller's as_of must carry a time zone; a naive one is refused"
    with pytest.raises(ValueError):
        p.evaluate(GOOD[0][0], as_of=datetime(2026, 3, 5))


def test_evaluate_many_in_input_order(library_policy):
    # "in input order; a Decision or a LeadError each"
    leads = [GOOD[0][0], {"lead_id": "b", "x": 5}, [], GOOD[1][0], GOOD[2][0]]
    out = list(library_policy.evaluate_many(iter(leads), as_of=AT))
    assert [type(r).__name__ for r in out] == [
        "Decision", "LeadError", "LeadError", "Decision", "Decision"]
    assert [summary(out[i]) for i in (0, 3, 4)] == [want for _, want in GOOD]
    assert [out[1].line, out[2].line] == [2, 3]


def test_a_policy_is_immutable_and_shared_between_threads(library_policy):
    p = library_policy
    d = p.evaluate(GOOD[0][0], as_of=AT)
    for mutate in (lambda: setattr(d, "stage", "z"), lambda: d.scores.__setitem__("f", 9),
                   lambda: d.handoffs.append(None), lambda: setattr(p, "name", "q")):
        with pytest.raises((AttributeError, TypeError)):
            mutate()
    leads = [dict(GOOD[i % 3][0], lead_id=str(i)) for i in range(600)]
    want = [GOOD[i % 3][1] for i in range(600)]
    got: list = [None] * len(leads)

    def work(k: int) -> None:
        for i in range(k, len(leads), 6):
            got[i] = summary(p.evaluate(leads[i], as_of=AT))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == want


def test_evaluation_does_no_io(library_policy, monkeypatch):
    # "Evaluation does no I/O": the schema, the lines list and the time zones were read at
    # load; with every way to open a file or a socket refused, decisions and explanations
    # still come out (zones never used before included: Kathmandu and Chatham).
    import builtins
    import io
    import os
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"I/O during evaluation: {args[:1]}")

    for module, name in ((builtins, "open"), (io, "open"), (os, "open"), (socket, "socket")):
        monkeypatch.setattr(module, name, refuse)
    p = library_policy
    for lead, want in GOOD:
        assert summary(p.evaluate(lead, as_of=AT)) == want
        assert "Placed" in p.explain(lead, as_of=AT)


def test_sql_names_its_table(library_policy):
    text = library_policy.sql(dialect="snowflake", table="crm_leads")
    assert "crm_leads" in text and text.lstrip().startswith("--")


@pytest.mark.parametrize("before, cells", [
    ("日本", 4),            # two wide characters: two terminal cells each
    ("😀", 2),              # an emoji is wide too
    ("e\u0301", 1),         # e + a combining accent: one cell
])
def test_the_caret_sits_under_the_span_after_wide_characters(tmp_path, before, cells):
    # "followed by the source line and a caret under the span": a terminal shows a wide
    # character in two cells and a combining mark in none, so the caret is padded by
    # cells, not by characters
    write(tmp_path, {"p.funnel": HEAD + 'schema "s.json"\nfunnel a\nstage a owned by m {\n'
                                 f'  require name == "{before}" and zz >= 1\n}}\n', **SCHEMA})
    res = run("check", tmp_path / "p.funnel")
    assert res.exit_code == 1
    source, caret = res.output.splitlines()[1:3]
    prefix = '   7 |   require name == "'
    assert source == prefix + before + '" and zz >= 1'
    assert caret == "     | " + " " * (len(prefix) - 7 + cells + len('" and ')) + "^~"
