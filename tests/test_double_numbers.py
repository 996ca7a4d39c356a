"""Every number is an IEEE double where it is compared or computed, in every engine (spec
section 10, last paragraph; docs/decisions.md, "Integers past 2^53").

SQL reads a lead's integer as a DOUBLE and emits a policy's literal as one, so
``9007199254740993 == 9007199254740992`` holds there: both are the double 2^53. The
python engines (the interpreter, the compiled engine and its typed line decider) keep
the integer as read, for what they write out (the lead id, a trace), and round it
where an operator meets it. Each condition below adds its own power of two to the
score ``bits``, so one decision shows how every condition came out.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.engine import runtime as rt
from policy.engine.decision import LeadError

E = 2**53
CONDITIONS = [
    "a == 9007199254740993",  # the literal is the double 2^53
    "a == b",
    "a > b",
    "a <= b",
    "a in [9007199254740993, 5]",
    "a not in [9007199254740992]",
    "a + 1 == a",
    "a - b == 0",
    "a * 1 == 9007199254740992",
    "a / 1 == b",
    "a != b",
    "-a < -b",
    "a >= 9223372036854775807",  # 2^63 as a double
    "a + b > 18014398509481984",  # 2^54
    "b in [1, 9007199254740993]",
    "a * 3 == b * 3",
    "c == 100000000000000000000",  # 10^20: a double exactly
]
HEADER = """policy doubles "Doubles"
version "1"
id lead_id
team m "@m"
funnel a
stage a owned by m {
  require lead_id is present
}
"""
POLICY = HEADER + "score bits owned by m {\n" + "".join(
    f"  +{2**i} if {c}\n" for i, c in enumerate(CONDITIONS)) + "}\n"

PAIRS = [
    (E, E + 1), (E + 1, E), (E + 1, E + 1), (E + 2, E + 3), (E - 1, E), (-E - 1, -E),
    (2**63, 2**63 - 1), (2**63 - 1, 2**63), (-2**63, -2**63 - 1), (2**64 + 1, 2**64),
    (5, 5.0), (E + 1, float(E)), (float(E), E + 1), (10**20, 1e20), (3, 4),
]


def _leads() -> list[dict]:
    out = []
    for i, (a, b) in enumerate(PAIRS):
        out.append({"lead_id": f"L{i}-{a}", "a": a, "b": b, "c": a})
    return out


def _doubles(lead: dict) -> int:
    """The score the conditions give when every number is a double (Python's floats)."""
    a, b = float(lead["a"]), float(lead["b"])
    lit = float(9007199254740993)
    truth = [a == lit, a == b, a > b, a <= b, a in (lit, 5.0), a != float(E), a + 1 == a,
             a - b == 0, a * 1 == float(E), a / 1 == b, a != b, -a < -b,
             a >= float(2**63 - 1), a + b > 2.0**54, b in (1.0, lit), a * 3 == b * 3,
             a == 1e20]
    return sum(2**i for i, t in enumerate(truth) if t)


SCHEMA = {"type": "object", "required": ["lead_id"], "properties": {
    "lead_id": {"type": "string"}, "a": {"type": "number"}, "b": {"type": "number"},
    "c": {"type": "number"}}}


def _write(tmp_path, schema: bool):
    text = POLICY
    if schema:
        (tmp_path / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
        text = text.replace('id lead_id\n', 'id lead_id\nschema "lead.schema.json"\n')
    (tmp_path / "p.funnel").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("schema", [False, True])
@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_the_python_engines_compare_and_compute_in_doubles(tmp_path, engine, schema):
    pol = policy.load(_write(tmp_path, schema), engine=engine)
    leads = _leads()
    got = list(pol.evaluate_many([dict(x) for x in leads]))
    for lead, d in zip(leads, got, strict=True):
        assert not isinstance(d, LeadError), d
        assert d.scores["bits"] == _doubles(lead), (lead, d.scores["bits"])
        assert d.lead == lead["lead_id"]


def test_python_and_duckdb_write_the_same_bytes_for_integers_near_2_53(tmp_path):
    """Through the CLI, so eval's typed line decider is exercised (SQL needs the schema:
    it compares no two fields that may be lists)."""
    _write(tmp_path, True)
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps(x) + "\n" for x in _leads()), encoding="utf-8")
    runner = CliRunner()
    out = {}
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", engine,
                                   "--as-of", "2026-12-01T00:00:00Z"])
        assert res.exit_code == 0, res.output
        out[engine] = res.output
    assert out["duckdb"] == out["python"]
    bits = [json.loads(line)["scores"]["bits"] for line in out["python"].splitlines()]
    assert bits == [_doubles(x) for x in _leads()]
    ids = [json.loads(line)["lead"] for line in out["python"].splitlines()]
    assert ids == [x["lead_id"] for x in _leads()]


def test_the_runtime_rounds_only_past_2_53():
    assert [(rt.dbl(x), type(rt.dbl(x))) for x in (E, -E)] == [(E, int), (-E, int)]
    assert rt.dbl("9007199254740993") == "9007199254740993"
    assert rt.dbl(E + 1) == float(E) and type(rt.dbl(E + 1)) is float
    assert rt.dbl(10**400) == float("inf") and rt.dbl(-(10**400)) == float("-inf")
    assert rt.eq(E, E + 1) and not rt.lt(E, E + 1) and rt.eq([E + 1], [E])
    assert rt.contains([E + 1, "x"], E) and rt.member(E + 1, [1, E])
    assert rt.add(E, 1) == float(E) and rt.add(2, 3) == 5 and type(rt.add(2, 3)) is int
    assert rt.sub(E + 1, E) == 0 and rt.mul(E + 1, 1) == float(E)
    assert rt.div(E + 1, 1) == float(E) and rt.div(7, 2) == 3.5
    with pytest.raises(OverflowError):
        rt.mul(10**400, 2)  # arithmetic past a double's range: the lead cannot be decided


def test_explain_traces_the_integer_as_read(tmp_path):
    pol = policy.load(_write(tmp_path, False))
    text = pol.explain({"lead_id": "x", "a": E + 1, "b": E, "c": 1})
    assert str(E + 1) in text and str(E) + ".0" not in text


# ------------------------------------------------------------------ score sums past 2^53
SUM_RULES = {  # score → its rules, each (points, condition or per-field, cap or None)
    "big": [(9007199254740993, "if", None), (1, "if", None), (1, "if", None)],
    "crossing": [(4503599627370496, "if", None), (4503599627370497, "if", None),
                 (3, "if", None), (-1, "if", None)],
    "mixed": [(2, "per", 9007199254740995), (4503599627370496, "if", None), (0.5, "if", None),
              (4503599627370497, "if", None)],
    "small": [(5, "if", None), (-2, "per", 10), (3, "per", None)],
}
SUM_POLICY = HEADER + "".join(
    f"score {name} owned by m {{\n" + "".join(
        f"  {'+' if p >= 0 else '-'}{abs(p)} "
        + ("if n is present\n" if kind == "if" else "per n" + (
            f" up to {cap}\n" if cap is not None else "\n"))
        for p, kind, cap in rules) + "}\n"
    for name, rules in SUM_RULES.items())


def _double_sum(rules, n) -> int:
    """The score SQL computes: 0.0 plus each rule's points as a double, in order."""
    total = 0.0
    for p, kind, cap in rules:
        if kind == "if":
            gained = float(p) if n is not None else 0.0
        else:
            gained = 0.0 if n is None or n <= 0 else min(float(abs(p)) * n, float("inf")
                                                           if cap is None else cap)
            gained = gained if p >= 0 else -gained
        total += gained
    return int(math.floor(total + 0.5)) if total >= 0 else -int(math.floor(-total + 0.5))


SUM_LEADS = [{"lead_id": f"S{i}", "n": n} for i, n in enumerate(
    [1, 3, 4503599627370497, 9007199254740993, 2**60 + 1, None, 0, 7])]


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_a_score_sums_its_points_as_doubles_in_rule_order(tmp_path, engine):
    """An int score sum is exact only below 2^53; past it every engine sums doubles, one
    rule at a time, as SQL's ``0.0 + a + b + ...`` does."""
    (tmp_path / "p.funnel").write_text(SUM_POLICY, encoding="utf-8")
    pol = policy.load(tmp_path, engine=engine)
    for lead, d in zip(SUM_LEADS, pol.evaluate_many([dict(x) for x in SUM_LEADS]),
                       strict=True):
        assert not isinstance(d, LeadError), d
        want = {name: _double_sum(rules, lead["n"]) for name, rules in SUM_RULES.items()}
        assert dict(d.scores) == want, lead


def test_score_sums_past_2_53_give_the_same_bytes_in_python_and_duckdb(tmp_path):
    (tmp_path / "p.funnel").write_text(SUM_POLICY, encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps(x) + "\n" for x in SUM_LEADS), encoding="utf-8")
    runner = CliRunner()
    out = {}
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", engine,
                                   "--as-of", "2026-12-01T00:00:00Z"])
        assert res.exit_code == 0, res.output
        out[engine] = res.output
    assert out["duckdb"] == out["python"]
    assert json.loads(out["python"].splitlines()[0])["scores"]["big"] == 2**53
