"""Spark's Java code generation for a large staged input, interpretation below that.

Interpreted, the decision's ~25 projections copy every row from one to the next and
evaluate every expression tree node by node: on 100,000 leads of ``rules/`` the
decision and record query took 60.0-69.6 CPU-s in a warm JVM against 31.4-32.3 with
whole-stage code; compiling that code in a fresh JVM costs about as much again, so
end to end 100,000 leads broke even (bench/README.md, thirteenth session). The Spark
tiers (test_sql_spark*.py) check the decisions against the python engine's.
"""

from __future__ import annotations

from policy.sql.spark import _CODEGEN_ROWS, _codegen, _settings

_ON = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}
_OFF = {"spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def test_a_large_staged_input_runs_as_generated_code():
    # before, every query was interpreted, whatever its size
    assert _CODEGEN_ROWS == 100_000
    assert _codegen(_CODEGEN_ROWS) == _codegen(10_000_000) == _ON


def test_batches_and_small_inputs_are_interpreted():
    assert _codegen(0) == _codegen(_CODEGEN_ROWS - 1) == _OFF
    settings = _settings("local[*]")
    assert {k: settings[k] for k in _OFF} == _OFF
