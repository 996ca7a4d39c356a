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
    ("W203 no whole number", {"p.funnel": HEAD + A + SCORE % " +1 per w up to 100"
                              + SCORE.replace("score f", "score g") % " +1 if f == 59.5"},
     ["W203"]),
    # each comparison can hold, the two together cannot: the route (W202) or gate (W204)
    # is what can never apply (docs/diagnostics.md, W203)
    ("W202 between two whole numbers", {"p.funnel": HEAD + A + SCORE % " +1 per w up to 100"
                                        + ROUTES % ' route "r" if f > 59 and f < 60\n'
                                                   ' route "o" otherwise'}, ["W202"]),
    ("W204 between two whole numbers", {"p.funnel": HEAD + "funnel a\nstage a owned by m {\n"
                                        " require f > 59 and f < 60\n}\n"
                                        + SCORE % " +1 per w up to 100"}, ["W204"]),
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


# ------------------------------------------------------------------ section 11: the report
# One policy, ten records, as of Wednesday 2026-03-04 12:00Z; every figure below is worked
# out by hand in the comments. Stage a needs n >= 1, b a score f >= 20, c an `acc` (and not
# `hot`: f >= 90 and spam_flag). f = +10 per w up to 100, -15 if neg, range -15 to 95.
# Handoff b -> s: route x (big or f >= 70) counts on calendar e (Asia/Kolkata, +05:30), y on
# the unnamed one (UTC); both Mon-Fri 09:00-17:00.

REPORT_POLICY = """policy r "t"
id lead_id
team m "@m"
team s "@s"
calendar {
 timezone "UTC"
 workdays mon tue wed thu fri
 hours 09:00 to 17:00
}
calendar e {
 timezone "Asia/Kolkata"
 workdays mon tue wed thu fri
 hours 09:00 to 17:00
}
funnel a -> b -> c
define hot = f >= 90 and spam_flag
stage a owned by m {
 require n >= 1
 entered at a_at
}
stage b owned by m {
 require f >= 20
 entered at b_at
}
stage c owned by s {
 require acc is present
 exclude hot
 entered at c_at
}
state nur owned by m
state dq owned by m
score f owned by m {
 +10 per w up to 100
 -15 if neg
 range -15 to 95
}
handoff b to s {
 route "x" if big or f >= 70 on e
 route "y" otherwise
 sla 2 business hours from b_at until acc, rej
 escalate to "mgr" after 1 business days
 reject to nur with reason why in ["bad", "late"]
}
recycle c to nur if stale
recycle a, b to dq if dq_flag "dq!"
"""
REPORT_LEADS = [
    # L1 f 30, reaches c, placed c; route y; Mon 09:00 -> stop 10:30: met, 1.5 business h
    {"lead_id": "L1", "n": 1, "w": 3, "src": "web", "a_at": "2026-03-01T00:00:00Z",
     "b_at": "2026-03-02T09:00:00Z", "acc": "2026-03-02T10:30:00Z",
     "c_at": "2026-03-03T09:00:00Z"},
    # L2 f 20, reaches b; route y; stop 13:00 > due 11:00: breached, 4 business h; rejected
    # "bad" (agreed): nur
    {"lead_id": "L2", "n": 1, "w": 2, "src": "web", "a_at": "2026-03-02T00:00:00Z",
     "b_at": "2026-03-02T09:00:00Z", "rej": "2026-03-02T13:00:00Z", "why": "bad"},
    # L3 f 50, reaches b; route x: start Mon 09:00 IST, due 11:00 IST; no stop: breached,
    # escalated (Mon 17:00 IST < as_of); "spam" is off the list: nur
    {"lead_id": "L3", "n": 1, "w": 5, "big": True, "src": "ads", "a_at": "2026-03-02T03:00:00Z",
     "b_at": "2026-03-02T03:30:00Z", "why": "spam"},
    # L4 f 10, reaches a; recycled to dq "dq!"; b_at before a_at: a negative velocity
    {"lead_id": "L4", "n": 1, "w": 1, "dq_flag": True, "src": "ads",
     "a_at": "2026-03-01T00:00:00Z", "b_at": "2026-02-28T00:00:00Z"},
    # L5 f 40, reaches c; no SLA start: unknown; recycled to nur without a reason: (none)
    {"lead_id": "L5", "n": 1, "w": 4, "stale": True, "src": "web",
     "acc": "2026-03-03T10:00:00Z", "a_at": "2026-03-01T00:00:00Z",
     "c_at": "2026-03-03T10:00:00Z"},
    # L6 f 0, no stage, no cohort value
    {"lead_id": "L6", "n": 0, "src": "web"},
    # line 7 is not JSON: refused at the record (path "")
    "not json",
    # L8 refused: b_at is an SLA start, so a timestamp, and does not parse
    {"lead_id": "L8", "n": 1, "b_at": "nope", "src": "ads"},
    # L9 f -15 (the negative points), no stage
    {"lead_id": "L9", "n": 0, "neg": True, "src": "web", "a_at": "2026-03-09T00:00:00Z"},
    # L10 f 100 clamped to 95, no stage; an `entered at` that does not parse is missing
    {"lead_id": "L10", "w": 10, "src": "web", "a_at": "garbage"},
]
ZEROS = {"met": 0, "breached": 0, "pending": 0, "unknown": 0}
FUNNEL = {  # reached: a L1-L5, b L1 L2 L3 L5, c L1 L5 of 8 decided
    "a": {"reached": 5, "conversion": None, "cumulative": 0.625, "placed": 0},
    "b": {"reached": 4, "conversion": 0.8, "cumulative": 0.5, "placed": 0},
    "c": {"reached": 2, "conversion": 0.5, "cumulative": 0.25, "placed": 1},
}
HANDOFFS = [{
    "stage": "b", "team": "s", "applies": 4,
    "routes": {
        "x": {"leads": 1, "sla": {**ZEROS, "breached": 1}, "compliance": 0.0,
              "response_business_hours": {"median": None, "p90": None}, "escalated": 1},
        # nearest rank of [1.5, 4.0]: median the 1st, p90 the 2nd
        "y": {"leads": 3, "sla": {**ZEROS, "met": 1, "breached": 1, "unknown": 1},
              "compliance": 0.5, "response_business_hours": {"median": 1.5, "p90": 4.0},
              "escalated": 0},
    },
    "rejections": {"count": 2, "rate": 0.5, "reasons": {"bad": 1, "spam": 1},
                   "off_list": {"spam": 1}},
}]
# a -> b: L1 1.375 d, L2 0.375 d, L3 0.5 h; L4 negative. b -> c: L1 1 d
VELOCITY = [
    {"from": "a", "to": "b", "leads": 3, "negative": 1, "median_days": 0.375, "p90_days": 1.375},
    {"from": "b", "to": "c", "leads": 1, "negative": 0, "median_days": 1.0, "p90_days": 1.0},
]
# bins [-20, -10) .. [90, 100): L9 -15, L6 0, L4 10, L2 20, L1 30, L5 40, L3 50, L10 95;
# thresholds: stage b's 20 and, through `hot`, stage c's 90 (route x's 70 is no gate)
HISTOGRAM = [(lo, lo + 10, 1 if lo in (-20, 0, 10, 20, 30, 40, 50, 90) else 0)
             for lo in range(-20, 100, 10)]


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory) -> Path:
    folder = write(tmp_path_factory.mktemp("report"), {"pol/p.funnel": REPORT_POLICY})
    (folder / "l.jsonl").write_text("".join(
        (lead if isinstance(lead, str) else json.dumps(lead)) + "\n" for lead in REPORT_LEADS))
    return folder


def report(folder: Path, *args, leads: str = "l.jsonl", engine: str = "python") -> dict:
    res = run("report", folder / "pol", folder / leads, "--as-of", "2026-03-04T12:00:00Z",
              "--engine", engine, "--format", "json", *args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_report_figures_follow_section_11(report_folder, engine):
    r = report(report_folder, engine=engine)
    assert (r["leads"], r["decided"], r["refused"]) == (
        10, 8, {"count": 2, "paths": {"": 1, "b_at": 1}})
    assert r["funnel"] == FUNNEL
    assert r["states"] == {"nur": {"count": 3, "reasons": {"(none)": 1, "bad": 1, "spam": 1}},
                           "dq": {"count": 1, "reasons": {"dq!": 1}}}
    assert r["handoffs"] == HANDOFFS
    assert r["velocity"] == VELOCITY
    # cohorts by a's `entered at`, by month: L1-L5 and L9 in March; L6, L10 missing
    assert r["cohorts"] == {
        "2026-03": {"leads": 6, "reached": {"a": 5, "b": 4, "c": 2}},
        "(missing)": {"leads": 2, "reached": {"a": 0, "b": 0, "c": 0}},
    }
    f = r["scores"]["f"]
    assert f["range"] == {"low": -15, "high": 95}
    assert [(b["from"], b["to"], b["count"]) for b in f["histogram"]] == HISTOGRAM
    assert f["thresholds"] == [20, 90]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_report_by_and_iso_weeks(report_folder, engine):
    r = report(report_folder, "--by", "src", "--period", "week", engine=engine)
    # 2026-03-01 is a Sunday (ISO week 9); Monday 2026-03-02 starts week 10; 03-09 week 11
    assert r["cohorts"] == {
        "2026-W09": {"leads": 3, "reached": {"a": 3, "b": 2, "c": 2}},   # L1 L4 L5
        "2026-W10": {"leads": 2, "reached": {"a": 2, "b": 2, "c": 0}},   # L2 L3
        "2026-W11": {"leads": 1, "reached": {"a": 0, "b": 0, "c": 0}},   # L9
        "(missing)": {"leads": 2, "reached": {"a": 0, "b": 0, "c": 0}},  # L6 L10
    }
    # web: L1 L2 L5 L6 L9 L10; ads: L3 L4 L8; the line that is not JSON has no source
    assert list(r["by"]) == ["web", "ads", "(missing)"]
    web, ads, missing = r["by"].values()
    assert (web["leads"], web["decided"], web["refused"]) == (6, 6, {"count": 0, "paths": {}})
    assert web["funnel"]["c"] == {"reached": 2, "conversion": 2 / 3, "cumulative": 1 / 3,
                                  "placed": 1}
    assert (ads["leads"], ads["decided"], ads["refused"]) == (
        3, 2, {"count": 1, "paths": {"b_at": 1}})
    assert ads["funnel"]["b"] == {"reached": 1, "conversion": 0.5, "cumulative": 0.5,
                                  "placed": 0}
    assert (missing["leads"], missing["decided"]) == (1, 0)
    assert missing["funnel"]["a"]["cumulative"] is None
    assert missing["refused"] == {"count": 1, "paths": {"": 1}}


def test_report_markdown_says_no_version_in_words(report_folder):
    res = run("report", report_folder / "pol", report_folder / "l.jsonl", "--as-of",
              "2026-03-04T12:00:00Z", "--format", "markdown")
    assert res.exit_code == 0
    assert "- policy: r · version – · digest sha256:" in res.stdout
    assert "None" not in res.stdout


def small_report(tmp_path: Path, text: str, leads: list, *args, files=None) -> list[dict]:
    """The JSON report of ``leads`` under the policy ``text``, by each engine (both must
    give the same one)."""
    folder = write(tmp_path, {"pol/p.funnel": text, **{f"pol/{k}": v for k, v in
                                                        (files or {}).items()}})
    (folder / "l.jsonl").write_text("".join(
        (lead if isinstance(lead, str) else json.dumps(lead)) + "\n" for lead in leads))
    return [report(folder, *args, engine=engine) for engine in ("python", "duckdb")]


ONE = 'policy r "t"\nid lead_id\nteam m "@m"\nfunnel a\n'


def histogram_policy(rng: str | None, gate: str = " require f >= 0\n") -> str:
    return (ONE + "stage a owned by m {\n" + gate + "}\nscore f owned by m {\n +1 per v\n"
            " -1 per u\n" + (f" range {rng}\n" if rng else "") + "}\n")


# (range, scores of the leads, bins (from, to, count)): "Histogram bins are [10k, 10k+10),
# and the top bin includes the range maximum"; docs/report.md: every bin from the one
# holding the minimum to the one holding the maximum; without a range, the scores seen
HISTOGRAMS = [
    ("0 to 100", [0, 100, 95, 90], [(k, k + 10, 1 if k == 0 else 3 if k == 90 else 0)
                                    for k in range(0, 100, 10)]),
    ("-20 to -10", [-20, -10, -15], [(-20, -10, 3)]),
    ("-5 to 0", [-5, 0], [(-10, 0, 2)]),
    ("10 to 10", [10], [(10, 20, 1)]),
    ("5 to 5", [5], [(0, 10, 1)]),
    ("-25 to -11", [-25, -11, -20], [(-30, -20, 1), (-20, -10, 2)]),
    (None, [-15, 10], [(-20, -10, 1), (-10, 0, 0), (0, 10, 0), (10, 20, 1)]),
    (None, [0, 20], [(0, 10, 1), (10, 20, 0), (20, 30, 1)]),
]


@pytest.mark.parametrize("rng, scores, bins", HISTOGRAMS)
def test_histogram_bins(tmp_path, rng, scores, bins):
    leads = [{"lead_id": str(i), "v": s} if s >= 0 else {"lead_id": str(i), "u": -s}
             for i, s in enumerate(scores)]
    for r in small_report(tmp_path, histogram_policy(rng), leads):
        got = [(b["from"], b["to"], b["count"]) for b in r["scores"]["f"]["histogram"]]
        assert got == bins


# "thresholds are the numbers a gate compares the score with" (require, exclude, keep
# when; docs/report.md: ascending)
THRESHOLDS = [
    (" require f > 40\n keep when f >= 2.5\n", [2.5, 40]),
    (" require f >= -10\n exclude 35 == f\n", [-10, 35]),
    (" require f >= 40\n require f > 40\n require not (f < 3)\n", [3, 40]),
]


@pytest.mark.parametrize("gate, want", THRESHOLDS)
def test_thresholds(tmp_path, gate, want):
    for r in small_report(tmp_path, histogram_policy("0 to 100", gate), [{"lead_id": "1"}]):
        assert r["scores"]["f"]["thresholds"] == want


def test_by_keys(tmp_path):
    text = ONE + "stage a owned by m {\n require n >= 1\n}\n"
    # 3 x zz, 2 x aa, then k00 .. k21 once: the 20 most common are zz, aa and k00 .. k17
    # (ties broken by key); k18 .. k21 are (other), listed last
    keys = ["zz"] * 3 + ["aa"] * 2 + [f"k{i:02d}" for i in range(22)]
    leads = [{"lead_id": str(i), "n": 1, "src": k} for i, k in enumerate(keys)]
    want = [("zz", 3), ("aa", 2)] + [(f"k{i:02d}", 1) for i in range(18)] + [("(other)", 4)]
    for r in small_report(tmp_path / "top", text, leads, "--by", "src"):
        assert [(k, v["leads"]) for k, v in r["by"].items()] == want
    # "the value's text (JSON text for anything but a string), (missing) for a missing
    # value": 12 and "12" share a key; null and absent are (missing)
    values = [12, "12", True, None, ["a", "b"], "x y", ""]
    leads = [{"lead_id": str(i), "n": 1, "src": v} for i, v in enumerate(values)]
    leads.append({"lead_id": "absent", "n": 1})
    want = [("(missing)", 2), ("12", 2), ("", 1), ('["a","b"]', 1), ("true", 1), ("x y", 1)]
    for r in small_report(tmp_path / "text", text, leads, "--by", "src"):
        assert [(k, v["leads"]) for k, v in r["by"].items()] == want


def test_by_a_field_the_schema_does_not_know_is_exit_2(tmp_path):
    folder = write(tmp_path, {
        "pol/p.funnel": ONE.replace("funnel a", 'schema "s.json"\nfunnel a')
        + "stage a owned by m {\n require n >= 1\n}\n",
        "pol/s.json": json.dumps({"type": "object", "properties": {
            "lead_id": {"type": "string"}, "n": {"type": "number"},
            "c": {"type": "object", "properties": {"src": {"type": "string"}}}}}),
        "l.jsonl": '{"lead_id": "1", "n": 1, "c": {"src": "q"}}\n'})
    for engine in ("python", "duckdb"):
        for field, status in (("zzz", 2), ("c.zzz", 2), ("c.src", 0)):
            res = run("report", folder / "pol", folder / "l.jsonl", "--by", field,
                      "--engine", engine, "--format", "json")
            assert res.exit_code == status, (engine, field, res.output)


def test_zero_records_give_a_report_of_zeros(tmp_path):
    text = (ONE.replace("funnel a", 'team s "@s"\nstate nur owned by m\nfunnel a') +
            "stage a owned by m {\n require n >= 1\n}\n"
            'handoff a to s {\n route "r" otherwise\n}\n')
    for r in small_report(tmp_path, text, []):
        assert (r["leads"], r["decided"], r["refused"]) == (0, 0, {"count": 0, "paths": {}})
        assert r["funnel"] == {"a": {"reached": 0, "conversion": None, "cumulative": None,
                                     "placed": 0}}
        assert r["states"] == {"nur": {"count": 0, "reasons": {}}}
        route = r["handoffs"][0]["routes"]["r"]
        assert (route["leads"], route["sla"], route["compliance"]) == (0, ZEROS, None)
        assert r["handoffs"][0]["rejections"]["rate"] is None


def test_refused_paths_are_the_ten_most_common_first_paths(tmp_path):
    props = {f"f{i:02d}": {"type": "number"} for i in range(12)}
    props.update({"lead_id": {"type": "string"}, "n": {"type": "number"}})
    leads = []
    for i in range(12):  # f<i> wrong in 1 + i % 3 leads
        leads += [{"lead_id": f"{i}-{j}", f"f{i:02d}": "x"} for j in range(1 + i % 3)]
    # "problems sorted by path": the first of f00, f11, n is f00; of f10, n is f10
    leads += [{"lead_id": "m1", "f11": "x", "f00": "y", "n": "z"},
              {"lead_id": "m2", "n": "z", "f10": "q"}, "[1]"]
    # f00 2, f01 2, f02 3, f03 1, f04 2, f05 3, f06 1, f07 2, f08 3, f09 1, f10 3, f11 3,
    # "" 1: the 3s, then the 2s, then of the 1s the first by path, ""
    want = {"f02": 3, "f05": 3, "f08": 3, "f10": 3, "f11": 3, "f00": 2, "f01": 2, "f04": 2,
            "f07": 2, "": 1}
    text = ONE.replace("funnel a", 'schema "s.json"\nfunnel a') + (
        "stage a owned by m {\n require n >= 1\n}\n")
    for r in small_report(tmp_path, text, leads, files={"s.json": json.dumps(
            {"type": "object", "properties": props})}):
        assert r["refused"] == {"count": 27, "paths": want}
        assert list(r["refused"]["paths"]) == list(want)


def test_response_hours_need_a_calendar_and_velocity_needs_neighbours(tmp_path):
    base = (ONE.replace("funnel a\n", 'team s "@s"\nfunnel a -> b\n')
            + "stage a owned by m {\n require n >= 1\n entered at a_at\n}\n"
            "stage b owned by s {\n require ok\n}\n"
            'handoff a to s {\n route "r" otherwise\n sla 4 hours from a_at until acc\n}\n')
    lead = {"lead_id": "1", "n": 1, "a_at": "2026-03-02T09:00:00Z",
            "acc": "2026-03-02T10:00:00Z"}
    # "response_business_hours is null where no calendar applies"
    for r in small_report(tmp_path / "none", base, [lead]):
        assert r["handoffs"][0]["routes"]["r"]["response_business_hours"] is None
        assert r["handoffs"][0]["routes"]["r"]["sla"]["met"] == 1
    # with a calendar, Monday 09:00 -> 10:00 is one business hour
    cal = base.replace("funnel a", 'calendar {\n timezone "UTC"\n workdays mon\n'
                                   " hours 09:00 to 17:00\n}\nfunnel a")
    for r in small_report(tmp_path / "cal", cal, [lead]):
        assert r["handoffs"][0]["routes"]["r"]["response_business_hours"] == {
            "median": 1.0, "p90": 1.0}
    # "Velocity pairs are neighbouring stages in the funnel": a and c both declare
    # `entered at`, b between them does not, so there is no pair
    abc = (ONE.replace("funnel a", "funnel a -> b -> c")
           + "stage a owned by m {\n require n >= 1\n entered at a_at\n}\n"
           "stage b owned by m {\n require n >= 2\n}\n"
           "stage c owned by m {\n require n >= 3\n entered at c_at\n}\n")
    leads = [{"lead_id": "1", "n": 3, "a_at": "2026-03-01T00:00:00Z",
              "c_at": "2026-03-02T00:00:00Z"}]
    for r in small_report(tmp_path / "abc", abc, leads):
        assert r["velocity"] == []


def test_cohort_periods_are_utc(tmp_path):
    text = (ONE + "stage a owned by m {\n require n >= 1\n entered at a_at\n}\n")
    instants = ["2027-01-01T00:00:00Z",        # a Friday: ISO 2026-W53
                "2025-12-29T00:00:00Z",        # a Monday: ISO 2026-W01
                "2026-12-31T23:59:59-01:00",   # 2027-01-01T00:59:59Z
                "2026-03-31T23:30:00-02:00",   # 2026-04-01T01:30Z, ISO week 14
                "2021-01-03T12:00:00Z",        # a Sunday: ISO 2020-W53
                "2020-12-31T00:00:00",         # no offset: UTC
                "2026-06-15"]                  # a date: midnight UTC, ISO week 25
    leads = [{"lead_id": str(i), "n": 1, "a_at": t, "cr": t} for i, t in enumerate(instants)]
    leads.append({"lead_id": "x", "n": 1})
    want = {
        "week": {"2020-W53": 2, "2026-W01": 1, "2026-W14": 1, "2026-W25": 1, "2026-W53": 2,
                 "(missing)": 1},
        "month": {"2020-12": 1, "2021-01": 1, "2025-12": 1, "2026-04": 1, "2026-06": 1,
                  "2027-01": 2, "(missing)": 1},
        "quarter": {"2020-Q4": 1, "2021-Q1": 1, "2025-Q4": 1, "2026-Q2": 2, "2027-Q1": 2,
                    "(missing)": 1},
    }
    for period, cohorts in want.items():
        for r in small_report(tmp_path / period, text, leads, "--period", period,
                              "--cohort", "cr"):
            assert {k: v["leads"] for k, v in r["cohorts"].items()} == cohorts
    # --local-tz reads a time without an offset in that zone: 22:00 New York on 31 March
    # (daylight time, -04:00) is 02:00Z on 1 April
    leads = [{"lead_id": "1", "n": 1, "a_at": "2026-03-31T22:00:00"}]
    for r in small_report(tmp_path / "tz", text, leads, "--local-tz", "America/New_York"):
        assert list(r["cohorts"]) == ["2026-04"]


# ------------------------------------------------------------------ section 9: the command line

CLI_POLICY = """policy p "t"
id lead_id
team m "@m"
team s "@s"
funnel a -> b
stage a owned by m {
 require n >= 10
}
stage b owned by s {
 require ok
}
state nur owned by m
score f owned by m {
 +10 if ok
}
handoff a to s {
 route "r" otherwise
 reject to nur with reason why in ["x"]
}
"""
AS_OF = ("--as-of", "2026-01-01T00:00:00Z")


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def cli_folder(tmp_path) -> Path:
    return write(tmp_path, {"pol/p.funnel": CLI_POLICY})


def test_exit_statuses(cli_folder):
    pol = cli_folder / "pol"
    leads = write(cli_folder, {"v.jsonl": '{"lead_id": "1", "n": 12, "why": "zz"}\n'}) / "v.jsonl"
    # "Violations in decisions do not change the exit status"
    res = run("eval", pol, leads, *AS_OF)
    assert res.exit_code == 0 and "invalid_rejection_reason" in res.stdout
    # leads refused: 1; a missing file: 2; a folder with no policy files: 2, in every command
    (cli_folder / "r.jsonl").write_text('{"lead_id": "1", "n": 12}\nnot json\n')
    assert run("eval", pol, cli_folder / "r.jsonl", *AS_OF).exit_code == 1
    assert run("eval", pol, cli_folder / "nope.jsonl", *AS_OF).exit_code == 2
    empty = write(cli_folder / "empty", {"notes.txt": "no policy here"})
    for command in (["check", empty], ["fmt", empty], ["fmt", "--check", empty], ["test", empty],
                    ["docs", empty], ["sql", empty], ["eval", empty, leads],
                    ["explain", empty, f"{leads}:1"], ["report", empty, leads],
                    ["diff", empty, pol]):
        assert run(*command).exit_code == 2, command
    # fmt --check: differences are 1 and change nothing; a formatted policy is 0
    messy = CLI_POLICY.replace(" require n >= 10", "    require n>=10")
    write(cli_folder / "messy", {"p.funnel": messy})
    assert run("fmt", "--check", cli_folder / "messy").exit_code == 1
    assert (cli_folder / "messy" / "p.funnel").read_text() == messy
    assert run("fmt", cli_folder / "messy").exit_code == 0
    assert run("fmt", "--check", cli_folder / "messy").exit_code == 0


def test_help_shows_an_example_on_every_sub_command():
    import click

    names = main.list_commands(click.Context(main))
    assert len(names) == 10  # the table of section 9
    for name in names:
        res = run(name, "--help")
        assert res.exit_code == 0
        assert "\n  Examples:\n    funnel " + name in res.output.replace(
            "Example:\n", "Examples:\n"), name


def test_output_format_from_the_extension(cli_folder):
    leads = write(cli_folder, {"l.jsonl": '{"lead_id": "1", "n": 12, "ok": true}\n'}) / "l.jsonl"
    # "-o FILE picks it from the extension unless --format says otherwise"
    for name, fmt, start in (("x.csv", None, b"line,lead,policy_name,"),
                             ("X.CSV", None, b"line,lead,policy_name,"),
                             ("x.csv", "jsonl", b'{"lead": "1", '),
                             ("x.json", None, b'[\n{"lead": "1", '),
                             ("x.jsonl", None, b'{"lead": "1", '),
                             ("x.parquet", None, b"PAR1")):
        out = cli_folder / "out" / name
        out.parent.mkdir(exist_ok=True)
        res = run("eval", cli_folder / "pol", leads, *AS_OF, "-o", out,
                  *(["--format", fmt] if fmt else []))
        assert res.exit_code == 0
        assert out.read_bytes().startswith(start), (name, fmt)
        out.unlink()


def test_lead_input_formats(cli_folder):
    pol = cli_folder / "pol"
    want = ("1", "b", 10)  # n 12 passes a, ok passes b, f = 10

    def first(res) -> tuple:
        assert res.exit_code == 0, res.output
        d = records(res.stdout)[0]
        return d["lead"], d["stage"], d["scores"]["f"]

    jsonl = '{"lead_id": "1", "n": 12, "ok": true}\n'
    # "- or none: standard input, --input-format to say which, JSONL by default"
    assert first(CliRunner().invoke(main, ["eval", str(pol), "-", *AS_OF], input=jsonl)) == want
    assert first(CliRunner().invoke(main, ["eval", str(pol), *AS_OF], input=jsonl)) == want
    assert first(CliRunner().invoke(
        main, ["eval", str(pol), "-", *AS_OF, "--input-format", "csv"],
        input="lead_id,n,ok\n1,12,yes\n")) == want
    files = {
        "a.json": '[{"lead_id": "1", "n": 12, "ok": true}]',
        "semi.csv": "lead_id;n;ok\n1;12;YES\n",
        "tab.csv": "lead_id\tn\tok\n1\t12\tTrue\n",
        "bom8.csv": "\ufefflead_id,n,ok\n1,12,1\n".encode(),
        "bom16le.csv": "\ufefflead_id,n,ok\n1,12,yEs\n".encode("utf-16-le"),
        "bom16be.csv": "\ufefflead_id,n,ok\n1,12,TRUE\n".encode("utf-16-be"),
        "upper.CSV": "lead_id,n,ok\n1,12,true\n",
    }
    write(cli_folder, files)
    for name in files:
        res = run("eval", pol, cli_folder / name, *AS_OF)
        assert first(res) == want, name
        said = {"semi.csv": "semicolon", "tab.csv": "tab"}.get(name)
        assert (said in res.stderr) if said else "separated" not in res.stderr
    # booleans "true/false/yes/no/1/0 in any case"; anything else refuses the lead
    cells = ["true", "FALSE", "Yes", "NO", "1", "0", "yEs", "y", "2", "on"]
    write(cli_folder, {"b.csv": "lead_id,n,ok\n" + "".join(f"{i},12,{c}\n"
                                                           for i, c in enumerate(cells))})
    res = run("eval", pol, cli_folder / "b.csv", *AS_OF)
    got = [r["scores"]["f"] if "scores" in r else "refused" for r in records(res.stdout)]
    assert got == [10, 0, 10, 0, 10, 0, 10, "refused", "refused", "refused"]
    # "a.b headers nest"; "an empty cell is missing"
    nested = write(cli_folder / "nested", {"p.funnel": (
        'policy p "t"\nid lead_id\nteam m "@m"\nfunnel a\nstage a owned by m {\n'
        ' require c.size >= 10 and c.hq.cc == "US"\n}\n')})
    write(cli_folder, {"n.csv": "lead_id,c.size,c.hq.cc\n1,12,US\n2,12,\n"})
    res = run("eval", nested, cli_folder / "n.csv", *AS_OF)
    assert [(r["lead"], r["stage"]) for r in records(res.stdout)] == [("1", "a"), ("2", None)]


def test_explain_picks_a_lead(cli_folder):
    pol = cli_folder / "pol"
    write(cli_folder, {
        "l.jsonl": '{"lead_id": "A", "n": 12}\n{"lead_id": "B", "n": 1}\n',
        "l.csv": "lead_id,n\nC,12\nD,1\n",
        "l.json": '[\n{"lead_id": "E", "n": 12},\n{"lead_id": "F", "n": 1}\n]',
    })
    # FILE:N is "the record at line N": in CSV the header is line 1, in a JSON array the
    # index (section 5)
    for lead, name in ((f"{cli_folder}/l.jsonl:2", "B"), (f"{cli_folder}/l.csv:2", "C"),
                       (f"{cli_folder}/l.json:2", "F")):
        res = run("explain", pol, lead, *AS_OF)
        assert res.exit_code == 0 and res.output.startswith(f"Lead {name} · policy p"), lead
    res = run("explain", pol, cli_folder / "l.csv", "--id", "D", *AS_OF)
    assert res.exit_code == 0 and res.output.startswith("Lead D · policy p")
    assert run("explain", pol, cli_folder / "l.jsonl", "--id", "Z", *AS_OF).exit_code == 2


DIFF_POLICY = """policy p "t"
id lead_id
team m "@m"
team s "@s"
team o "@o"
calendar {
 timezone "UTC"
 workdays mon tue wed thu fri
 hours 09:00 to 17:00
}
funnel a -> b -> c
define big = n >= 100
define huge = big and n >= 1000
stage a owned by m {
 require n >= 1
}
stage b owned by s {
 require n >= 10
}
stage c owned by o {
 require n >= 20
}
state nur owned by m
score f owned by m, s {
 +10 if huge
}
handoff a to s {
 route "a1" if n >= 50
 route "a2" otherwise
 sla 4 business hours from t until u
}
handoff b to o {
 route "b1" otherwise
}
recycle b to nur if stale "stale"
"""


@pytest.fixture
def diff_repo(tmp_path, monkeypatch):
    import os
    import subprocess

    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    repo = write(tmp_path / "repo", {"rules/p.funnel": DIFF_POLICY})
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "t"],
                 ["config", "user.email", "t@t.invalid"], ["config", "commit.gpgsign", "false"],
                 ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    monkeypatch.chdir(repo)
    return repo


# (edit, the changed declaration, its owners) by section 2's ownership rules
OWNERS = [
    ("define big = n >= 100", "define big = n >= 200", "define big", ["m", "s"]),  # via score f
    (" hours 09:00 to 17:00", " hours 09:00 to 18:00", "calendar", ["m", "s"]),  # handoff a's
    ('"stale"\n', '"stalled"\n', "recycle b to nur", ["m", "s"]),
    ('route "a1" if n >= 50', 'route "a1" if n >= 30', "handoff a", ["m", "s"]),
    ('team o "@o"', 'team o "@o2"', "team o", ["m", "o", "s"]),
]


def test_diff_owners_and_approvals(diff_repo):
    for old, new, label, owners in OWNERS:
        (diff_repo / "rules/p.funnel").write_text(DIFF_POLICY.replace(old, new))
        # HEAD defaults to the working tree
        res = run("diff", "HEAD", "--format", "json")
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert [sorted(c["owners"]) for c in out["changes"]] == [owners], label
        assert sorted(a["team"] for a in out["approvals"]) == owners
        assert all(a["for"] == [label] for a in out["approvals"])
        assert run("diff", "HEAD", "--fail-on-change").exit_code == 1
    # a layout-only change is no change of meaning
    (diff_repo / "rules/p.funnel").write_text(DIFF_POLICY.replace(" require n >= 10",
                                                                  "   require n>=10  # c"))
    assert run("diff", "HEAD", "--fail-on-change").exit_code == 0


def test_diff_impact_covers_every_handoff(diff_repo):
    # route a2 -> a1 at handoff a, for a lead whose deepest handoff is b: "route, SLA-status
    # and escalation changes for every handoff (not only the deepest)"
    (diff_repo / "rules/p.funnel").write_text(DIFF_POLICY.replace('if n >= 50', 'if n >= 30'))
    write(diff_repo, {"l.jsonl": '{"lead_id": "1", "n": 40}\n{"lead_id": "2", "n": 60}\n'
                                 '{"lead_id": "3", "n": 5}\n'})
    res = run("diff", "HEAD", "--leads", "l.jsonl", *AS_OF)
    assert res.exit_code == 0
    assert "handoff  what   from  to  leads\n  a        route  a2    a1      1\n" in res.output
    assert "handoff a: route a2 -> a1: 1\n" in res.output


def test_diff_markdown_when_head_does_not_load(diff_repo):
    (diff_repo / "rules/p.funnel").write_text(DIFF_POLICY.replace("require n >= 10",
                                                                  "require nn >="))
    res = run("diff", "HEAD", "--format", "markdown")
    assert res.exit_code == 1
    assert res.stdout.startswith("### Policy change: `working tree` does not load")
    assert "error[E100]" in res.stdout


def test_test_k_and_what_no_example_exercised(tmp_path):
    write(tmp_path, {"p.funnel": CLI_POLICY + 'example "a lead" {\n at "2026-01-01T00:00:00Z"\n'
                     ' lead {"n": 12, "ok": true}\n expect stage b\n}\n'
                     'example "nothing" {\n at "2026-01-01T00:00:00Z"\n lead {"n": 1}\n'
                     " expect stage none\n}\n"})
    res = run("test", tmp_path, "-k", "LEAD", "--format", "json")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert [e["name"] for e in out["examples"]] == ["a lead"] and out["passed"] == 1
    # the rejection was never exercised: "reports which rules no example exercised"
    assert {(m["kind"], m["rule"]) for m in out["coverage"]["missed"]} == {
        ("reject", "reject to nur")}
    assert run("test", tmp_path, "-k", "zzz").exit_code == 2


def test_init_checks_and_tests_clean(tmp_path):
    assert run("init", tmp_path / "new").exit_code == 0
    rules = tmp_path / "new" / "rules"
    assert run("check", rules, "--strict").exit_code == 0
    assert run("test", rules).exit_code == 0
    assert run("fmt", "--check", rules).exit_code == 0


def test_off_list_is_exact(tmp_path):
    # section 4: "A reason that is not in the list still rejects, and adds the violation
    # invalid_rejection_reason"; `in` compares strings exactly (section 3), so "Bad" is off
    # a list that holds "bad"; a reason that is not a string is its JSON text
    text = (ONE.replace("funnel a", 'team s "@s"\nstate nur owned by m\nfunnel a')
            + "stage a owned by m {\n require n >= 1\n}\n"
            'handoff a to s {\n route "r" otherwise\n'
            ' reject to nur with reason why in ["bad"]\n}\n')
    whys = ["bad", "Bad", "BAD", 5, True, ""]
    leads = [{"lead_id": str(i), "n": 1, "why": w} for i, w in enumerate(whys)]
    for r in small_report(tmp_path, text, leads):
        assert r["handoffs"][0]["rejections"] == {
            "count": 6, "rate": 1.0,
            "reasons": {"": 1, "5": 1, "BAD": 1, "Bad": 1, "bad": 1, "true": 1},
            "off_list": {"": 1, "5": 1, "BAD": 1, "Bad": 1, "true": 1}}
        assert r["states"]["nur"]["count"] == 6


def test_a_policy_file_that_is_not_utf8_names_its_line(tmp_path):
    # section 1: a policy's files are UTF-8; bad input gets a message that names the file
    # and the line (as a `lines` list that is not UTF-8 does: "byte 11, line 2")
    text = (HEAD + A).encode() + b"# caf\xe9\n"
    write(tmp_path, {"p.funnel": text})
    res = run("check", tmp_path)
    assert res.exit_code == 2
    at = text.index(b"\xe9")
    assert res.output.strip().endswith(
        f"p.funnel: not UTF-8 text (byte {at}, line 8); is it a policy file?")
