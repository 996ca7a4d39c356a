"""The checker (LANGUAGE.md §6): the golden corpus, pass by pass, the reasoning domain,
and robustness (no AST the parser can produce makes it raise).

The golden corpus lives in ``tests/golden/check``: one broken policy per case (a
``.funnel`` file, or a directory when a case needs several files), its rendered
diagnostics in ``<case>.expected`` next to it. ``UPDATE_GOLDEN=1 pytest`` rewrites them;
review every change by eye, the messages are product copy.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from conftest import ACME, NO_ACME
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.check.checker import EMITS, PASSES, check_policy, did_you_mean
from policy.check.reasoning import Reasoner, ScoreRange, implies, satisfiable, score_ranges
from policy.model.calendar import work_calendar
from policy.model.loader import load_model
from policy.model.namespace import build_model
from policy.model.schema import parse_schema
from policy.syntax import nodes as n
from policy.syntax.diagnostics import CODES, Diagnostic, render_all
from policy.syntax.parser import parse

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "check"
SCHEMA = (GOLDEN / "lead.schema.json").read_bytes()


# --------------------------------------------------------------------------- helpers


def model_of(text: str, *, schema: bytes | None = None, file: str = "t.funnel"):
    result = parse(text, file)
    assert result.diagnostics == (), result.diagnostics
    return build_model([result.module], schema=parse_schema(schema) if schema else None)


def check(text: str, *, schema: bytes | None = None) -> list[Diagnostic]:
    return sorted(check_policy(model_of(text, schema=schema)), key=Diagnostic.sort_key)


def codes(diags: list[Diagnostic]) -> list[str]:
    return [d.code for d in diags]


def where(d: Diagnostic) -> tuple[int, int, int]:
    return (d.span.line, d.span.column, d.span.end_column)


BASE = """\
policy demo "Demo"
team marketing "@demo/marketing"
team sales "@demo/sales"
funnel lead -> mql
stage lead "Known" owned by marketing {
  require email is present
}
stage mql "Qualified" owned by marketing {
  require demo_requested
}
"""


def with_base(extra: str) -> str:
    return BASE + extra


# --------------------------------------------------------------------------- golden


def _cases() -> list[Path]:
    return sorted(
        p for p in GOLDEN.iterdir()
        if (p.is_dir() and not p.name.startswith(".")) or p.suffix == ".funnel"
    )


def _expected(case: Path) -> Path:
    return case.with_name((case.stem if case.is_file() else case.name) + ".expected")


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)  # paths in the output are relative, as a user types them
    result = load_model(case.name)
    rendered = render_all(result.diagnostics, result.sources) + "\n"
    expected = _expected(case)
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(rendered, encoding="utf-8")
    assert rendered == expected.read_text(encoding="utf-8")


def test_golden_corpus_covers_every_code_twice() -> None:
    assert len(CASES) >= 40
    seen: dict[str, set[str]] = {}
    for case in CASES:
        text = _expected(case).read_text(encoding="utf-8")
        for code in re.findall(r"(?:error|warning)\[(\w+)\]", text):
            seen.setdefault(code, set()).add(case.name)
    # only the checker's codes: E100 (syntax) and E111 (fmt) have their own tests
    missing = {c: len(seen.get(c, ())) for c in EMITS if len(seen.get(c, ())) < 2}
    assert missing == {}
    assert set(seen) <= set(EMITS)
    assert set(EMITS) <= set(CODES)


def test_every_case_has_an_expected_file_and_no_stray_ones() -> None:
    expected = {p.name for p in GOLDEN.glob("*.expected")}
    assert expected == {_expected(c).name for c in CASES}


def test_conformance_policy_is_clean() -> None:
    if not ACME.is_dir():
        pytest.skip(NO_ACME)
    result = load_model(ACME)
    assert result.diagnostics == ()
    assert result.model is not None and result.model.work_calendar is not None


# --------------------------------------------------------------------------- passes


def test_the_passes_run_in_the_documented_order() -> None:
    assert [p.name for p in PASSES] == [
        "declarations", "names", "owners", "funnel", "calendar", "types", "cycles",
        "examples", "usage", "reasoning",
    ]


def test_a_clean_policy_has_no_diagnostics() -> None:
    assert check(BASE) == []


def test_unknown_field_points_at_the_path_and_suggests() -> None:
    text = with_base('define big = company.employes >= 10\nstage_x = 1\n').replace(
        "stage_x = 1\n", "")
    text = text.replace("require demo_requested", "require big")
    (d,) = check(text, schema=SCHEMA)
    assert d.code == "E101"
    assert d.message == "unknown field `company.employes`"
    assert where(d) == (11, 14, 30)
    assert d.help == "did you mean `company.employees`?"


def test_fields_are_not_checked_without_a_schema() -> None:
    assert check(BASE.replace("demo_requested", "anything.at.all")) == []


def test_fields_below_an_undescribed_object_are_accepted() -> None:
    text = BASE.replace("demo_requested", "crm.region == \"emea\"")
    assert check(text, schema=SCHEMA) == []


def test_unknown_function() -> None:
    (d,) = check(BASE.replace("demo_requested", "lenght(email) > 3"))
    assert (d.code, d.message, d.help) == (
        "E101", "unknown function `lenght`", "did you mean `length`?")
    assert where(d) == (9, 11, 17)


def test_type_mismatch_blames_the_literal() -> None:
    (d,) = check(BASE.replace("demo_requested", 'webinars_attended >= "3"'), schema=SCHEMA)
    assert (d.code, d.message) == ("E102", "expected a number, found text")
    assert where(d) == (9, 32, 35)


def test_no_type_error_when_types_are_unknown() -> None:
    assert check(BASE.replace("demo_requested", 'x >= "3" and y == 4 and z in w')) == []


def test_timestamp_text_must_parse() -> None:
    text = BASE.replace("demo_requested", 'mql_at > "2026-11-02" and mql_at < "soon"')
    (d,) = check(text, schema=SCHEMA)
    assert (d.code, d.message) == ("E102", 'expected a timestamp, found "soon"')


def test_name_declared_twice_points_at_the_second() -> None:
    (d,) = check(BASE + 'team marketing "@other"\n')
    assert (d.code, d.kind, d.message) == ("E103", "duplicate", "`marketing` is declared twice")
    assert d.span.line == 11
    assert d.help.startswith("the first is at t.funnel:2:6")


def test_stage_not_in_funnel_and_funnel_stage_not_declared() -> None:
    text = BASE.replace("funnel lead -> mql", "funnel lead -> sql")
    found = check(text)
    assert [(d.code, d.kind, d.message) for d in found] == [
        ("E103", "funnel-mismatch", "`sql` is in the funnel but no stage declares it"),
        ("E103", "funnel-mismatch", "stage `mql` is not in the funnel"),
    ]
    assert found[0].help == "did you mean `mql`?"


def test_unknown_owner() -> None:
    (d,) = check(BASE.replace("owned by marketing {\n  require demo", "owned by markting {\n"
                              "  require demo"))
    assert (d.code, d.message, d.help) == ("E104", "unknown team `markting`",
                                           "did you mean `marketing`?")


def test_team_boundary_needs_a_handoff() -> None:
    text = BASE.replace('stage mql "Qualified" owned by marketing', 'stage mql "Q" owned by sales')
    (d,) = check(text)
    assert d.code == "E105"
    assert where(d) == (4, 8, 19)  # `lead -> mql`
    assert d.help == "add `handoff lead to sales { … }` to say how leads cross"
    assert check(text + 'handoff lead to sales {\n  route "a" otherwise\n}\n') == []


def test_routes_need_a_final_otherwise() -> None:
    text = BASE + 'handoff mql to sales {\n  route "a" if x > 1\n}\n'
    (d,) = check(text)
    assert (d.code, d.span.line) == ("E106", 12)


def test_business_time_needs_a_calendar() -> None:
    text = BASE + ('handoff mql to sales {\n  route "a" otherwise\n'
                   "  sla 2 business days from mql_at until accepted_at\n}\n")
    (d,) = check(text)
    assert d.code == "E107"
    assert where(d) == (13, 7, 22)  # `2 business days`, unit included


def test_work_calendar_is_built_only_from_a_valid_calendar() -> None:
    cal = ('calendar {\n  timezone "Europe/Berlin"\n  workdays mon tue\n'
           '  hours 08:00 to 16:00\n  holidays "2026-12-25"\n}\n')
    built = work_calendar(model_of(BASE + cal))
    assert built is not None
    assert (built.timezone, sorted(built.workdays), built.start_minute, built.end_minute) == (
        "Europe/Berlin", [0, 1], 480, 960)
    assert work_calendar(model_of(BASE + cal.replace("Berlin", "Berlinn"))) is None
    assert work_calendar(model_of(BASE + cal.replace("  workdays mon tue\n", ""))) is None
    assert work_calendar(model_of(BASE)) is None


def test_missing_header_is_reported_at_the_first_file() -> None:
    (d,) = check(BASE.replace('policy demo "Demo"\n', ""))
    assert (d.code, d.kind, d.span.file, d.span.line, d.span.column) == (
        "E108", "header", "t.funnel", 1, 1)


def test_cycle_names_its_path() -> None:
    text = BASE.replace("require demo_requested", "require a") + (
        "define a = b or x\ndefine b = c and y\ndefine c = a\n")
    (d,) = check(text)
    assert (d.code, d.kind, d.message) == (
        "E108", "cycle", "`a` depends on itself: `a` -> `b` -> `c` -> `a`")
    assert where(d) == (11, 12, 13)


def test_example_names_unknown_things() -> None:
    text = BASE + ('example "e" {\n  at "2026-11-02T15:00:00Z"\n  lead {"a": 1}\n'
                   '  expect stage mq\n  expect score fit 3\n  expect violation late\n}\n')
    found = check(text)
    assert [(d.code, d.message) for d in found] == [
        ("E109", "unknown stage or state `mq`"),
        ("E109", "unknown score `fit`"),
        ("E109", "unknown violation `late`"),
    ]
    assert where(found[0]) == (14, 16, 18)


def test_lead_file_is_read_relative_to_its_file(tmp_path: Path) -> None:
    (tmp_path / "leads").mkdir()
    (tmp_path / "leads" / "ok.json").write_text('{"email": "a@b.com"}')
    (tmp_path / "leads" / "list.json").write_text("[1]")
    text = BASE + "".join(
        f'example "{name}" {{\n  at "2026-11-02T15:00:00Z"\n  lead file "leads/{name}.json"\n}}\n'
        for name in ("ok", "list", "gone"))
    (tmp_path / "p.funnel").write_text(text)
    result = load_model(tmp_path)
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("E110", 'lead file "leads/list.json" cannot be used: expected a JSON object, '
                 "found an array"),
        ("E110", 'lead file "leads/gone.json" cannot be used: no such file'),
    ]


def test_names_must_be_snake_case() -> None:
    (d,) = check(BASE.replace("team sales", "team SalesOps").replace("to sales", "x"))
    assert (d.code, d.help) == ("E113", "rename it `sales_ops`")


def test_escalate_needs_an_sla() -> None:
    text = BASE + 'handoff mql to sales {\n  escalate to "x" after 2 hours\n}\n'
    (d,) = check(text)
    assert (d.code, d.message) == ("E112", "expected an `sla` line before `escalate`, found none")


def test_unused_define() -> None:
    (d,) = check(BASE + "define spare = 3\n")
    assert (d.code, d.message) == ("W201", "the define `spare` is never used")


def test_shadowing_define() -> None:
    text = BASE.replace("require demo_requested", "require email") + "define email = true\n"
    (d,) = check(text, schema=SCHEMA)
    assert (d.code, d.span.line) == ("W205", 11)


def test_enum_value_the_schema_never_allows() -> None:
    (d,) = check(BASE.replace("demo_requested", 'job_level == "Director"'), schema=SCHEMA)
    assert (d.code, d.message) == ("W208", '`job_level` is never "Director"')
    assert d.help.endswith('did you mean "director"?')


def test_reasoning_warnings_stay_quiet_where_an_error_was_reported() -> None:
    found = check(BASE.replace("demo_requested", "country == 44"), schema=SCHEMA)
    assert codes(found) == ["E102"]  # not also W204


def test_every_diagnostic_code_is_registered() -> None:
    for code in CODES:
        assert re.fullmatch(r"[EW]\d{3}", code)


def test_did_you_mean() -> None:
    assert did_you_mean("emial", ["email", "domain"]) == "did you mean `email`?"
    assert did_you_mean("abc", ["xyz"]) is None
    assert did_you_mean("fit", ["fit", "fix", "fat"]) == "did you mean `fix` or `fat`?"


# --------------------------------------------------------------------------- reasoning


class Cond:
    """Conditions of a small policy, by define name, with a reasoner over them."""

    def __init__(self, defines: str, *, schema: bytes | None = None, extra: str = "") -> None:
        self.model = model_of(BASE + defines + extra, schema=schema)
        self.r = Reasoner(self.model)

    def __getitem__(self, name: str) -> n.Expr:
        return self.model.defines[name].value

    def sat(self, name: str) -> bool:
        return self.r.satisfiable(self[name])

    def implies(self, a: str, b: str) -> bool:
        return self.r.implies(self[a], self[b])

    def valid(self, name: str) -> bool:
        return self.r.valid(self[name])


def test_intervals_open_and_closed_ends() -> None:
    c = Cond("define a = x >= 5 and x <= 5\ndefine b = x > 5 and x <= 5\n"
             "define c = x > 3\ndefine d = x >= 3\ndefine e = x < 2 or x > 8\n"
             "define f = x >= 2 and x <= 8\n")
    assert c.sat("a") and not c.sat("b")
    assert c.implies("c", "d") and not c.implies("d", "c")
    assert c.r.implies(c["e"], n.Not(c["f"]))
    assert not c.r.satisfiable(n.Binary(n.BinOp.AND, c["e"], c["f"]))


def test_a_comparison_implies_presence_but_its_negation_holds_for_missing() -> None:
    c = Cond("define ge = x >= 5\ndefine present = x is present\ndefine lt = x < 5\n"
             "define not_ge = not (x >= 5)\ndefine ne = x != 1\n")
    assert c.implies("ge", "present")
    assert c.implies("ne", "present")
    assert c.implies("lt", "not_ge")
    assert not c.implies("not_ge", "lt")  # a lead without x: not (x >= 5) holds, x < 5 not


def test_strings_and_membership() -> None:
    c = Cond('define a = x == "a" and x == "b"\ndefine b = x != "a" and x == "a"\n'
             'define c = x not in ["a", "b"]\ndefine d = x != "a"\n'
             'define e = x in ["a", "b"]\ndefine f = x == "a" or x == "b"\n')
    assert not c.sat("a") and not c.sat("b")
    assert c.implies("c", "d") and not c.implies("d", "c")
    assert c.implies("e", "f") and c.implies("f", "e")


def test_enum_is_the_universe_with_a_schema() -> None:
    defines = ('define every = job_level in ["c-level", "vp"] or job_level == "director" '
               'or job_level in ["manager", "ic"] or job_level is missing\n')
    assert Cond(defines, schema=SCHEMA).valid("every")
    assert not Cond(defines).valid("every")  # without a schema, any text is possible


def test_whole_numbers_from_the_schema() -> None:
    defines = "define between = company.employees > 10 and company.employees < 11\n"
    assert not Cond(defines, schema=SCHEMA).sat("between")
    assert Cond(defines).sat("between")


def test_required_fields_are_never_missing_with_a_schema() -> None:
    c = Cond("define gone = lead_id is missing\ndefine gone2 = email is missing\n",
             schema=SCHEMA)
    assert not c.sat("gone") and c.sat("gone2")


def test_booleans_and_opaque_atoms() -> None:
    c = Cond('define a = flag and not flag\ndefine b = flag == true\ndefine c = flag\n'
             'define d = email contains "x" and not (email contains "x")\n'
             'define e = email contains "x"\ndefine f = email contains "y"\n'
             'define g = email contains "x" and n >= 3\n')
    assert not c.sat("a")
    assert c.implies("b", "c") and c.implies("c", "b")
    assert not c.sat("d")
    assert not c.implies("e", "f")  # unknown atoms: never assume
    assert c.sat("g")


def test_de_morgan() -> None:
    c = Cond("define a = not (p and q)\ndefine b = not p or not q\n"
             "define c = not (p or q)\ndefine d = not p and not q\n")
    assert c.implies("a", "b") and c.implies("b", "a")
    assert c.implies("c", "d") and c.implies("d", "c")
    assert not c.implies("a", "c")


def test_nested_defines() -> None:
    c = Cond("define big = emp >= 1000\ndefine huge = big and emp >= 5000\n"
             "define limit = 200\ndefine mid = emp >= limit\ndefine alias = emp\n"
             "define via_alias = alias >= 2000\n")
    assert c.implies("huge", "big") and not c.implies("big", "huge")
    assert c.implies("big", "mid")
    assert c.implies("via_alias", "big")


def test_timestamps_compare_as_instants() -> None:
    c = Cond('define a = mql_at > "2026-11-02" and mql_at < "2026-11-01T23:00:00Z"\n'
             'define b = mql_at >= "2026-11-02T00:00:00Z"\ndefine d = mql_at > "2026-11-01"\n',
             schema=SCHEMA)
    assert not c.sat("a")
    assert c.implies("b", "d")


def test_arithmetic_is_one_term() -> None:
    c = Cond("define a = x + y > 5 and x + y <= 5\ndefine b = x + y > 5\n")
    assert not c.sat("a") and c.sat("b")


def test_constants_fold() -> None:
    c = Cond('define a = 1 < 2\ndefine b = "a" == "b"\ndefine k = 3\ndefine c = k * 2 == 6\n')
    assert c.valid("a") and not c.sat("b") and c.valid("c")


def test_cycles_do_not_hang_or_raise() -> None:
    c = Cond("define a = not b\ndefine b = a and x > 1\n")
    assert c.sat("a") and c.sat("b")


def test_a_large_normal_form_gives_up_conservatively() -> None:
    big = " and ".join(f"(x{i} == 1 or y{i} == 1)" for i in range(30))
    c = Cond(f"define big = {big}\ndefine other = z == 1\n")
    started = time.perf_counter()
    assert c.sat("big")
    assert not c.implies("big", "other")
    assert time.perf_counter() - started < 1


def test_module_level_shortcuts() -> None:
    m = model_of(BASE + "define a = x > 5\ndefine b = x > 1\n")
    assert implies(m.defines["a"].value, m.defines["b"].value)
    assert satisfiable(m.defines["a"].value)
    assert implies(m.defines["a"].value, m.defines["b"].value, m)


def test_score_ranges() -> None:
    m = model_of(BASE + (
        'score a "A" owned by sales {\n  +30 if x\n  -40 if y\n  +5 per z up to 20\n'
        '  range 0 to 100\n}\n'
        'score b "B" owned by sales {\n  +5 per z\n  -2.5 if y\n'
        '  decay half-life 3 days since t\n}\n'
        'score c "C" owned by sales {\n  +10 if x\n  range 20 to 30\n}\n'))
    r = score_ranges(m)
    assert r["a"] == ScoreRange(0, 50, "range", "points")
    assert r["b"] == ScoreRange(-3, float("inf"), "points", "points")  # -2.5 rounds away
    assert r["c"] == ScoreRange(20, 20, "range", "range")


def test_score_bounds_feed_the_reasoning() -> None:
    extra = 'score fit "F" owned by sales {\n  +60 if x\n  range 0 to 100\n}\n'
    c = Cond("define hot = fit >= 120\ndefine low = fit < 0\ndefine ok = fit >= 60\n"
             "define frac = fit > 59 and fit < 60\n", extra=extra)
    assert not c.sat("hot") and not c.sat("low") and c.sat("ok") and not c.sat("frac")
    loose = Reasoner(c.model, use_score_ranges=False)
    assert loose.satisfiable(c["hot"])


def test_route_warnings_need_real_coverage() -> None:
    handoff = ('handoff mql to sales {\n  route "a" if x >= 10 or y\n  route "b" if x >= 20\n'
               '  route "c" if x >= 5 and not y\n  route "d" otherwise\n}\n')
    found = check(BASE + handoff)
    assert [(d.code, d.span.line) for d in found] == [("W202", 13)]
    assert "route \"a\" (line 12)" in found[0].message


# --------------------------------------------------------------------------- robustness

SEED = """\
policy seed "Seed"
version "1"
id lead_id
team marketing "@s/m"
team sales "@s/s"
calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
  holidays "2026-12-25"
}
funnel lead -> mql -> sal
define free = ["gmail.com", "yahoo.com"]
define big = company.employees >= 1000 or company.annual_revenue >= 50_000_000
define hot = fit >= 40 and engagement > 10
score fit "Fit" owned by marketing, sales {
  +30 if job_level in ["vp", "c-level"]
  +15 if big
  -40 if domain(email) in free
  range 0 to 100
}
score engagement "Engagement" owned by marketing {
  +5 per webinars_attended up to 20
  +20 if demo_requested
  decay half-life 30 days since last_activity_at
}
stage lead "Lead" owned by marketing {
  require email is present
  require not unsubscribed "unsubscribed"
}
stage mql "MQL" owned by marketing {
  require hot or demo_requested
  exclude competitor "competitor"
  keep when mql_at is present
}
stage sal "SAL" owned by sales {
  require accepted_at is present and days_since(mql_at) < 90
}
state nurture "Nurture" owned by marketing
handoff mql to sales {
  route "ae" if big
  route "mm" if company.employees >= 200
  route "pool" otherwise
  sla 4 business hours from mql_at until accepted_at, rejected_at
  escalate to "managers" after 8 business hours
  reject to nurture with reason rejection_reason in ["bad fit", "no budget"]
}
recycle sal to nurture if days_since(last_activity_at) > 30 "stalled"
example "vp" {
  at "2026-11-02T15:00:00Z"
  lead {"lead_id": "L1", "email": "a@b.com", "job_level": "vp", "mql_at": "2026-11-02T14:00:00Z"}
  expect stage mql
  expect score fit 30
  expect route "pool" at mql
  expect sla pending
  expect violation missing_sla_start
}
"""

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|\"[^\"\n]*\"|[-+<>=!]+")
_WORDS = sorted(set(_TOKEN.findall(SEED)) | {"0", "-1", "2.5", '"soon"', "null", "true"})


def _same_class(a: str, b: str) -> bool:
    """Replacing a token with one of its class keeps most lines parseable."""
    def cls(t: str) -> str:
        return ("name" if t[0].isalpha() or t[0] == "_" else "number" if t[0].isdigit()
                else "string" if t[0] == '"' else "op")
    return cls(a) == cls(b)


def _seeds() -> list[str]:
    out = [SEED]
    if ACME.is_dir():
        out.append("\n".join(p.read_text() for p in sorted(ACME.glob("*.funnel"))))
    return out


mutation = st.tuples(st.sampled_from(["delete", "dup", "swap", "word", "word", "word", "token"]),
                     st.integers(0, 10_000), st.integers(0, 10_000),
                     st.sampled_from(_WORDS))


def _mutate(text: str, steps: list[tuple[str, int, int, str]]) -> str:
    lines = text.split("\n")
    for op, i, j, word in steps:
        if not lines:
            break
        a, b = i % len(lines), j % len(lines)
        if op == "delete":
            del lines[a]
        elif op == "dup":
            lines.insert(b, lines[a])
        elif op == "swap":
            lines[a], lines[b] = lines[b], lines[a]
        elif op == "word":
            # one token of the line becomes another of its class: a name, a number, …
            found = [m for m in _TOKEN.finditer(lines[a]) if _same_class(m.group(), word)]
            if found:
                m = found[j % len(found)]
                lines[a] = lines[a][: m.start()] + word + lines[a][m.end() :]
        else:
            tokens = re.split(r"(\s+)", lines[a])
            words = [k for k, t in enumerate(tokens) if t.strip()]
            if words:
                k = words[j % len(words)]
                tokens[k] = tokens[k][::-1]
                lines[a] = "".join(tokens)
    return "\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(_seeds()), steps=st.lists(mutation, min_size=1, max_size=6),
       with_schema=st.booleans())
def test_the_checker_never_raises_on_a_mutated_policy(seed, steps, with_schema) -> None:
    text = _mutate(seed, steps)
    result = parse(text, "m.funnel")
    if result.module is None:
        return
    model = build_model([result.module], schema=parse_schema(SCHEMA) if with_schema else None)
    found = check_policy(model)
    work_calendar(model)
    for d in found:
        assert d.code in CODES
        assert d.message and d.message[0] == d.message[0].lower()
        assert d.span.file == "m.funnel"
        assert 1 <= d.span.line <= text.count("\n") + 1
    render_all(found, {"m.funnel": text})


def test_json_rendering_of_every_golden_case_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    from policy.syntax.diagnostics import to_json

    monkeypatch.chdir(GOLDEN)
    for case in CASES:
        for d in load_model(case.name).diagnostics:
            assert json.loads(json.dumps(to_json(d)))["code"] == d.code
