"""A score is a 64-bit integer computed in IEEE doubles, in every engine (spec sections 4
and 10; docs/decisions.md, "Scores past a 64-bit integer").

A sum whose rounding falls outside a 64-bit integer (a huge count times its points, an
overflow to infinity, NaN) cannot be decided: the lead is refused with one problem at
the lead itself, in the python engines and in SQL alike, before ``range`` clamps. A
count is a double: an int past 2 ** 53 is rounded to one, an int past a double's range
is infinite (so a cap still holds it).
"""

from __future__ import annotations

import json
import math

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import given
from hypothesis import strategies as st

import policy
from policy.engine import runtime as rt
from policy.engine.decision import LeadError

POLICY = """\
policy big "Scores past a 64-bit integer"
version "1"
id lead_id
team marketing "@acme/marketing"
funnel inquiry
stage inquiry owned by marketing {
  require n is present
}
score s owned by marketing {
  +10 per n
  -10 per m
}
score capped owned by marketing {
  +0.5 per n up to 1000
  range 0 to 100
}
"""

LEADS = [
    {"lead_id": "a", "n": 2**53 + 1},  # a double first: 10 × 2^53, not 10 × (2^53 + 1)
    {"lead_id": "b", "n": 123456789012345678901234567890},  # past 2^63: refused
    {"lead_id": "c", "n": 1e200},
    {"lead_id": "d", "n": -5},
    {"lead_id": "e", "n": 1e308},  # 10 × 1e308 overflows to infinity
    {"lead_id": "f", "n": 1e308, "m": 1e308},  # inf - inf: NaN
    {"lead_id": "g", "n": 10**400},  # past a double: infinite
    {"lead_id": "h", "n": 3, "m": 1},
    {"lead_id": "i", "n": 922337203685477580},  # 10 × n = 2^63 - 8 as a double: 2^63
    {"lead_id": "j", "n": 922337203685477500},  # just inside
]
AS_OF = "2026-12-01T00:00:00Z"


def _text() -> bytes:
    return "".join(json.dumps(x) + "\n" for x in LEADS).encode()


def test_round_half_away_refuses_what_a_64_bit_integer_cannot_hold():
    assert rt.round_half_away(2.5) == 3 and rt.round_half_away(-2.5) == -3
    assert rt.round_half_away(float(-2**63)) == -2**63
    assert rt.round_half_away(2.0**63 - 1024) == 2**63 - 1024
    for x in (2.0**63, -2.0**63 - 4096, math.inf, -math.inf, math.nan, 10**30):
        with pytest.raises(ArithmeticError, match="64-bit integer"):
            rt.round_half_away(x)


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_both_python_engines_refuse_and_decide_the_same_leads(tmp_path, engine):
    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    pol = policy.load(tmp_path, engine=engine)
    got = list(pol.evaluate_many([dict(x) for x in LEADS]))
    refused = [x["lead_id"] for x, d in zip(LEADS, got, strict=True)
               if isinstance(d, LeadError)]
    assert refused == ["b", "c", "e", "f", "g", "i"]
    scores = {x["lead_id"]: d.scores for x, d in zip(LEADS, got, strict=True)
              if not isinstance(d, LeadError)}
    assert scores["a"] == {"s": 10 * 2**53, "capped": 100}
    assert scores["d"] == {"s": 0, "capped": 0}
    assert scores["h"] == {"s": 20, "capped": 2}
    assert scores["j"] == {"s": 9223372036854774784, "capped": 100}
    for d in got:
        if isinstance(d, LeadError):
            assert [p.path for p in d.problems] == [""]
            assert rt.SCORE_RANGE in d.problems[0].message


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_duckdb_writes_the_python_engines_bytes_for_huge_scores(tmp_path, fmt):
    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_bytes(_text())
    runner = CliRunner()
    out = {}
    for engine in ("python", "duckdb"):
        target = tmp_path / f"{engine}.{fmt}"
        res = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--as-of", AS_OF,
                                   "--engine", engine, "--format", fmt, "-o", str(target)])
        assert res.exit_code == 1, res.output  # refused leads
        out[engine] = (res.output, target.read_bytes())
    if fmt == "parquet":
        con = duckdb.connect()
        rows = {e: con.execute(f"SELECT * FROM '{tmp_path / f'{e}.parquet'}'").fetchall()
                for e in out}
        assert rows["duckdb"] == rows["python"]
        assert out["duckdb"][0] == out["python"][0]
    else:
        assert out["duckdb"] == out["python"]


@given(st.lists(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=6))
def test_any_count_decides_or_refuses_without_a_traceback_on_both_engines(counts):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "p.funnel").write_text(POLICY, encoding="utf-8")
        pols = [policy.load(tmp, engine=e) for e in ("compiled", "interpreter")]
        for n in counts:
            lead = {"lead_id": "x", "n": n, "m": counts[0]}
            a, b = (next(iter(p.evaluate_many([dict(lead)]))) for p in pols)
            assert type(a) is type(b)
            if not isinstance(a, LeadError):
                assert a.scores == b.scores
                assert all(-2**63 <= v < 2**63 for v in a.scores.values())
