"""The Spark tier on generated policies and leads: python vs ``--engine spark``.

The same strategies as the DuckDB differential tests (``engine_strategies``:
``policies()``, ``leads()``, ``leads_for()``), plus wide policies (``wide_policies``: many
scores, defines and handoffs), decided by the python engine and by Spark in local mode,
equal field by field in the tabular form and as JSON (:func:`assert_same_rows`), and
through ``funnel eval`` byte for byte.

Spark starts once for the module (the first engine starts the session, the others join
it); a handful of examples keeps the module near a minute of the suite. For a longer hunt,
``FUNNEL_SPARK_EXAMPLES=200 pytest tests/test_sql_spark_generated.py`` draws that many
policies (each with 50 leads) in each test.
"""

from __future__ import annotations

import json
import os

import pytest
from engine_runs import eval_engines
from engine_strategies import AS_OFS, leads, leads_for, load_text, policies
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_sql_engine import assert_same_rows
from wide_policies import wide_policies

from policy.api import Policy
from policy.engine.timestamps import format_timestamp
from policy.sql.spark import spark_missing

pytestmark = pytest.mark.skipif(spark_missing() is not None,
                                reason=f"Spark tier: {spark_missing()}")

#: Policies drawn per test (each decides 50 leads); more with FUNNEL_SPARK_EXAMPLES.
EXAMPLES = int(os.environ.get("FUNNEL_SPARK_EXAMPLES", "0")) or None

# no shrinking: each example costs a Spark plan (seconds); the failing policy and leads
# are printed as drawn
_SETTINGS = dict(deadline=None, database=None, derandomize=EXAMPLES is None,
                 phases=(Phase.explicit, Phase.reuse, Phase.generate),
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.large_base_example])

_POLICIES = st.one_of(policies(), policies(), policies(),
                      wide_policies(scores=8, handoffs=3, defines=9),
                      wide_policies(scores=4, handoffs=2, defines=3, chain=True))


@pytest.fixture(scope="module")
def session():
    """One Spark session for the module (local mode, two cores)."""
    from test_sql_spark import SMALL

    import policy
    from policy.sql.spark import SparkEngine

    engine = SparkEngine(policy.load(SMALL), as_of=AS_OFS[0], master="local[2]",
                         years=(2025, 2027))
    engine.close()
    return engine.spark


@settings(max_examples=EXAMPLES or 6, **_SETTINGS)
@given(text=_POLICIES, data=st.data())
def test_spark_equals_python_on_generated_policies(session, text, data):
    from policy.sql.spark import SparkEngine

    model = load_text(text)
    pol = Policy(model)
    as_of = data.draw(st.sampled_from(AS_OFS))
    batch = data.draw(st.lists(st.one_of(leads(), leads_for(model)), min_size=50,
                               max_size=50))
    engine = SparkEngine(pol, as_of=as_of, years=(2025, 2027), session=session)
    try:
        assert_same_rows(pol, [json.dumps(x) for x in batch], as_of, engine)
    finally:
        engine.close()


@settings(max_examples=(EXAMPLES or 10) // 5, **_SETTINGS)
@given(text=_POLICIES, data=st.data())
def test_funnel_eval_engine_spark_writes_the_python_bytes(session, text, data,
                                                          tmp_path_factory):
    """Through the command line (the staged input and the query that writes the
    records), JSON Lines and CSV: the python engine's bytes and exit status."""
    model = load_text(text)
    folder = tmp_path_factory.mktemp("generated")
    (folder / "p.funnel").write_text(text, encoding="utf-8")
    as_of = format_timestamp(data.draw(st.sampled_from(AS_OFS)))
    batch = data.draw(st.lists(st.one_of(leads(), leads_for(model)), min_size=50,
                               max_size=50))
    fmt = data.draw(st.sampled_from(("jsonl", "csv")))
    out = eval_engines(folder, batch, "--format", fmt, "--spark-master", "local[2]",
                       engines=("python", "spark"), as_of=as_of)
    assert out["spark"] == out["python"]
