"""Timestamps compare in time order, exactly, in every engine (spec section 3), also past
2^53 µs since the epoch (the year 2255), where a double cannot tell 1 µs apart.

Arithmetic is IEEE double (section 10), and the python engines round an integer to a
double where an operator meets it; but an instant is not a number: the python engines
compare two instants as the integers they are (``runtime.ts_test``), as the SQL
engines compare their BIGINT microseconds. Each condition adds its own power of two to
the score ``bits``, so one decision shows how every condition came out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from engine_runs import eval_engines

import policy
from policy.engine import runtime as rt
from policy.engine.decision import LeadError

LIT = "2300-01-01T00:00:00.000001Z"
CONDITIONS = [
    f'a == "{LIT}"', f'a != "{LIT}"', f'a > "{LIT}"', f'a >= "{LIT}"', f'a < "{LIT}"',
    f'a <= "{LIT}"', "a == b", "a != b", "a < b", "a <= b", "a > b", "a >= b",
    f'later > "{LIT}"', f'"{LIT}" < a', 'd == "2300-01-01"', 'd < "2300-01-01T00:00:00.000001Z"',
    'a > "2026-01-01T00:00:00Z"',
]
POLICY = """policy instants "Instants"
version "1"
id lead_id
schema "lead.schema.json"
team m "@m"
define later = a
funnel a
stage a owned by m {
  require lead_id is present
}
score bits owned by m {
""" + "".join(f"  +{2**i} if {c}\n" for i, c in enumerate(CONDITIONS)) + "}\n"
SCHEMA = {"type": "object", "required": ["lead_id"], "properties": {
    "lead_id": {"type": "string"}, "a": {"type": "string", "format": "date-time"},
    "b": {"type": "string", "format": "date-time"}, "d": {"type": "string", "format": "date"}}}

BASE = datetime(2300, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
PAIRS = [(BASE, BASE + US), (BASE + US, BASE), (BASE + US, BASE + US), (BASE + 2 * US, BASE),
         (BASE - US, BASE), (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                             datetime(9999, 12, 31, 23, 59, 59, 999998, tzinfo=UTC)),
         (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 1, 0, 0, 0, 1, tzinfo=UTC))]
DAYS = ["2300-01-01", "2299-12-31", "2300-01-02"]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _leads() -> list[dict]:
    return [{"lead_id": f"L{i}", "a": _iso(a), "b": _iso(b), "d": DAYS[i % len(DAYS)]}
            for i, (a, b) in enumerate(PAIRS)]


def _exact(lead: dict) -> int:
    """The score when every instant is compared in time order (datetime's own order)."""
    a, b = (datetime.fromisoformat(lead[k]) for k in "ab")
    d = datetime.fromisoformat(lead["d"]).replace(tzinfo=UTC)
    lit = BASE + US
    truth = [a == lit, a != lit, a > lit, a >= lit, a < lit, a <= lit, a == b, a != b,
             a < b, a <= b, a > b, a >= b, a > lit, lit < a, d == BASE, d < lit,
             a > datetime(2026, 1, 1, tzinfo=UTC)]
    return sum(2**i for i, t in enumerate(truth) if t)


def _write(tmp_path):
    (tmp_path / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_the_python_engines_compare_instants_exactly(tmp_path, engine):
    pol = policy.load(_write(tmp_path), engine=engine)
    leads = _leads()
    for lead, d in zip(leads, pol.evaluate_many([dict(x) for x in leads]), strict=True):
        assert not isinstance(d, LeadError), d
        assert d.scores["bits"] == _exact(lead), (lead, d.scores["bits"], _exact(lead))


def test_python_and_duckdb_write_the_same_bytes_for_instants_past_2255(tmp_path):
    out = eval_engines(_write(tmp_path), _leads())
    assert out["duckdb"] == out["python"] and out["python"][0] == 0
    bits = [json.loads(line)["scores"]["bits"] for line in out["python"][1].splitlines()]
    assert bits == [_exact(x) for x in _leads()]


def test_ts_test_is_exact_on_instants_and_the_plain_test_otherwise():
    e = 2**53
    assert rt.ts_test("<", e, e + 1) and not rt.lt(e, e + 1)
    assert not rt.ts_test("==", e, e + 1) and rt.eq(e, e + 1)
    assert not rt.ts_test(">", None, 1) and not rt.ts_test("!=", None, 1)
    assert rt.ts_test("==", 1.0, 1) is rt.eq(1.0, 1)
