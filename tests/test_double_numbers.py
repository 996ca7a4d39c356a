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
import re

import pytest
from engine_runs import eval_engines

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
    out = eval_engines(_write(tmp_path, True), _leads())
    assert out["duckdb"] == out["python"] and out["python"][0] == 0
    bits = [json.loads(line)["scores"]["bits"] for line in out["python"][1].splitlines()]
    assert bits == [_doubles(x) for x in _leads()]
    ids = [json.loads(line)["lead"] for line in out["python"][1].splitlines()]
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
    # an int past a double's range is infinite in arithmetic too, as SQL reads it
    assert rt.mul(10**400, 2) == math.inf and rt.add(-(10**400), 1) == -math.inf
    assert math.isnan(rt.sub(10**400, 10**400)) and math.isnan(rt.div(10**400, 10**399))
    assert rt.div(1, 10**400) == 0.0


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
    out = eval_engines(tmp_path, SUM_LEADS)
    assert out["duckdb"] == out["python"] and out["python"][0] == 0
    assert json.loads(out["python"][1].splitlines()[0])["scores"]["big"] == 2**53


# ------------------------------------------------------------------ infinities and NaN
NAN_CONDITIONS = [
    "x * 0 > 1",  # NaN: ordered with nothing (DuckDB and Spark put it above every number)
    "x * 0 == x * 0",  # equal to nothing, itself included
    "x * 0 != 1",  # but present: `!=` holds
    "x - x < 1",
    "x * 0 is present",
    "-(x * 0) not in [1, 2]",
    "x / x >= 1",
    "x + y > 0",  # an int past a double's range is infinite, as SQL reads it
    "x * y < 0",
    "(x + y) - (x + y) in [0]",
]
NAN_POLICY = HEADER + "score nan owned by m {\n" + "".join(
    f"  +{2**i} if {c}\n" for i, c in enumerate(NAN_CONDITIONS)) + "}\n" + (
    "score per_nan owned by m {\n  +1 per (z * 0)\n}\n")
NAN_LEADS = [{"lead_id": "huge", "x": 10**400, "y": 1}, {"lead_id": "neg", "x": -(10**400), "y": 2},
             {"lead_id": "big", "x": 1e308, "y": 1e308},
             {"lead_id": "inf", "x": 10**400, "y": -(10**400)},
             {"lead_id": "calm", "x": 3, "y": 4},
             {"lead_id": "nan count", "x": 1, "y": 1, "z": 10**400}]


def _d(v: int | float) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _ieee(lead: dict) -> int | None:
    """The ``nan`` score as IEEE doubles give it (Python's floats), or None when the
    per rule's NaN count makes the score no number (the lead is refused)."""
    x, y = _d(lead["x"]), _d(lead["y"])
    if "z" in lead and math.isnan(_d(lead["z"]) * 0):
        return None
    nan = x * 0
    truth = [nan > 1, nan == nan, nan != 1, x - x < 1, True, -nan not in (1.0, 2.0),
             x / x >= 1, x + y > 0, x * y < 0, (x + y) - (x + y) == 0]
    return sum(2**i for i, t in enumerate(truth) if t)


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_infinities_and_nan_compare_as_ieee_doubles_in_python(tmp_path, engine):
    (tmp_path / "p.funnel").write_text(NAN_POLICY, encoding="utf-8")
    pol = policy.load(tmp_path, engine=engine)
    for lead, d in zip(NAN_LEADS, pol.evaluate_many([dict(x) for x in NAN_LEADS]),
                       strict=True):
        want = _ieee(lead)
        if want is None:
            assert isinstance(d, LeadError) and "not a finite number" in str(d.problems), d
        else:
            assert not isinstance(d, LeadError), d
            assert d.scores["nan"] == want, (lead, d.scores["nan"], want)


def _scaled(text: str) -> str:
    """``text`` with each of x, y and z multiplied by 1e10 where it is read."""
    return re.sub(r"\b([xyz])\b", r"(\1 * 10000000000)", text)


#: NAN_POLICY, with infinities a lead file can hold: a number beyond a double's range
#: refuses the lead as read (spec section 9), so they come from arithmetic
SCALED_POLICY = HEADER + "score nan owned by m {\n" + "".join(
    f"  +{2**i} if {_scaled(c)}\n" for i, c in enumerate(NAN_CONDITIONS)) + "}\n" + (
    "score per_nan owned by m {\n  +1 per (z * 10000000000 * 0)\n}\n")


def _shrunk(v: int | float) -> float:
    """A lead's number that is ``v`` once multiplied by 1e10 (infinite stays infinite)."""
    return math.copysign(1e300, _d(v)) if math.isinf(_d(v)) else v / 1e10


def test_infinities_and_nan_give_the_same_bytes_in_python_and_duckdb(tmp_path):
    (tmp_path / "p.funnel").write_text(SCALED_POLICY, encoding="utf-8")
    leads = [{k: (_shrunk(v) if k in "xyz" else v) for k, v in x.items()} for x in NAN_LEADS]
    out = eval_engines(tmp_path, leads)
    assert out["duckdb"] == out["python"]
    records = [json.loads(line) for line in out["python"][1].splitlines()
               if line.startswith("{")]  # (not the summary line of the refusals)
    for lead, rec in zip(leads, records, strict=True):
        want = _ieee({k: (v * 1e10 if k in "xyz" else v) for k, v in lead.items()})
        if want is None:
            assert "not a finite number" in str(rec["error"]), rec
        else:
            assert rec["scores"]["nan"] == want, (lead, rec)
    assert '"lead": "calm"' in out["python"][1] and "not a finite number" in out["python"][1]
    assert out["python"][1].count('"error"') == 1
    # the leads themselves holding integers past a double's range: refused as read
    (tmp_path / "p.funnel").write_text(NAN_POLICY, encoding="utf-8")
    out = eval_engines(tmp_path, NAN_LEADS)
    assert out["duckdb"] == out["python"]
    refused = [json.loads(line).get("error", {}).get("message")
               for line in out["python"][1].splitlines() if line.startswith("{")]
    beyond = "a number is beyond a double's range"
    assert refused == [beyond, beyond, None, beyond, None, beyond]
