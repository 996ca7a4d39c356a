"""Wide policies on Spark: many scores, defines and handoffs (spec section 10).

A policy of about 20 scores failed in Spark's analyser ("Max iterations (100) reached for
batch Resolution"): its statement was a chain of some 80 projections, which Spark
resolves about one per two passes. :func:`policy.sql.layers.merge_steps` merges the
steps that do not read each other; what stays deep (scores that read scores) gets the
passes it needs. The merging is checked without Spark too: DuckDB runs the merged
statement and gives the unmerged one's rows.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import examples
from engine_runs import eval_engines
from engine_strategies import AS_OF, leads, leads_for, load_text, policies
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sql_engine import assert_same_rows
from wide_policies import wide_policies

import policy
from policy.api import Policy
from policy.sql.compiler import Options, build
from policy.sql.dialects import dialect
from policy.sql.layers import analyser_passes, merge_steps, steps
from policy.sql.spark import spark_missing

needs_spark = pytest.mark.skipif(spark_missing() is not None,
                                 reason=f"Spark tier: {spark_missing()}")

_SLOW = dict(deadline=None, database=None,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _statement(pol: Policy, name: str = "spark"):
    return build(pol, dialect(name), Options(source="json", as_of=AS_OF, years=(2025, 2027),
                                             calendars="named", instants="us", hidden=True))


def _final(stmt) -> str:
    stmt = stmt.copy()
    stmt.set("with_", None)
    return stmt.sql(dialect="spark")


@settings(max_examples=3, **_SLOW)
@given(text=wide_policies(scores=30, handoffs=4, defines=30))
def test_scores_and_defines_that_read_no_score_share_their_steps(text):
    pol = Policy(load_text(text))
    before, after = _statement(pol), merge_steps(_statement(pol))
    assert steps(before) >= 30 * 3 + 10
    # each score is three steps (its sum, its rounding, its bounds) and may read the
    # two before it: whatever the draw, far fewer steps than three a score
    assert steps(after) <= steps(before) // 2
    # the final SELECT is the same
    assert _final(after) == _final(before)


@settings(max_examples=3, **_SLOW)
@given(text=wide_policies(scores=12, handoffs=2, defines=6, chain=True))
def test_scores_that_read_the_score_before_stay_one_above_the_other(text):
    pol = Policy(load_text(text))
    merged = merge_steps(_statement(pol))
    # sc1 ... sc11 each read the one before: a sum, a rounding and a bounds step each,
    # above sc0's three
    assert steps(merged) >= 3 * 12
    assert analyser_passes(merged) > 100


@settings(max_examples=examples(6, 12), **_SLOW)
@given(text=st.one_of(policies(), wide_policies(scores=8, handoffs=3, defines=8)),
       data=st.data())
def test_the_merged_statement_decides_as_the_chain_in_duckdb(text, data):
    """The merged steps give the python engine's rows (DuckDB runs the Spark shape)."""
    from policy.sql.duck import DuckEngine
    from policy.sql.sources import DuckJson

    model = load_text(text)
    pol = Policy(model)
    engine = DuckEngine(pol, as_of=AS_OF, years=(2025, 2027))
    d = dialect("duckdb")
    stmt = build(pol, d, Options(source="json", as_of=AS_OF, years=(2025, 2027),
                                 calendars="named", instants="us", hidden=True),
                 source=DuckJson(d, relation="src"))
    merged = merge_steps(stmt)
    assert steps(merged) <= steps(stmt)
    engine.con.execute(f"CREATE OR REPLACE TEMP VIEW decided AS {merged.sql(dialect='duckdb')}")
    batch = data.draw(st.lists(st.one_of(leads(), leads_for(model)), min_size=1, max_size=30))
    assert_same_rows(pol, [json.dumps(x) for x in batch], AS_OF, engine)
    engine.close()


@settings(max_examples=1, **_SLOW)
@given(deep=wide_policies(scores=50, handoffs=2, defines=4, chain=True),
       shallow=wide_policies(scores=40, handoffs=2, defines=10))
def test_funnel_sql_spark_says_how_many_passes_a_deep_statement_needs(deep, shallow,
                                                                     tmp_path_factory):
    folder = tmp_path_factory.mktemp("deep")
    (folder / "p.funnel").write_text(deep, encoding="utf-8")
    res = CliRunner().invoke(main, ["sql", str(folder), "--dialect", "spark"])
    assert res.exit_code == 0, res.output
    note = [line for line in res.stdout.splitlines() if "maxIterations" in line]
    assert len(note) == 1 and note[0].startswith("-- note: a deep statement"), note
    passes = int(note[0].rsplit("= ", 1)[1].rstrip(")"))
    assert passes >= 3 * 3 * 50  # three steps a chained score, about two passes a step
    # a shallow policy, even a wide one, prints no such note
    (folder / "p.funnel").write_text(shallow, encoding="utf-8")
    res = CliRunner().invoke(main, ["sql", str(folder), "--dialect", "spark"])
    assert res.exit_code == 0 and "maxIterations" not in res.stdout


@needs_spark
@settings(max_examples=1, **_SLOW)
@given(text=wide_policies(scores=24, handoffs=3, defines=12),
       batch=st.lists(leads(), min_size=20, max_size=20))
def test_spark_decides_a_policy_of_24_scores_as_python(text, batch, tmp_path_factory):
    """The policy that failed: 24 scores, 12 defines, 3 handoffs with routes and SLAs
    (before: "Max iterations (100) reached for batch Resolution", a traceback)."""
    folder = tmp_path_factory.mktemp("wide")
    (folder / "p.funnel").write_text(text, encoding="utf-8")
    out = eval_engines(folder, batch, "--spark-master", "local[2]",
                       engines=("python", "spark"), as_of="2026-12-01T15:30:00Z")
    assert out["spark"] == out["python"]
    assert out["python"][0] in (0, 1)
    assert policy.load(folder).program.scores and len(policy.load(folder).program.scores) == 24
