"""How `explain` shows values and a lead that reaches no stage (policy.render.explain):
numbers without float noise, missing values as `missing`, long lists cut after whole
items with the count left out, anything else as JSON, cut at the column budget."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

import policy
from policy.render.explain import render, value_text


@pytest.mark.parametrize(("value", "shown"), [
    (None, "missing"),
    (3.0, "3"),
    (2.5, "2.5"),
    (0.1 + 0.2, "0.3"),           # the float's noise is not the policy's business
    (0.000123456, "0.0001235"),  # small numbers keep four significant digits
    (math.inf, "inf"),
    (-math.inf, "-inf"),
    (7, "7"),
    (True, "true"),
    ({"a": 1}, '{"a": 1}'),
    (("a", None), '["a", null]'),
    ([], "[]"),
    ({1, 2}, "{1, 2}"),           # not JSON: shown as Python would
])
def test_value_text(value, shown):
    assert value_text(value) == shown


def test_long_values_are_cut_and_say_what_was_left_out():
    assert value_text(["gmail.com"] * 20) == '["gmail.com", "gmail.com", … 18 more]'
    long = value_text("x" * 100)
    assert len(long) == 44 and long.endswith("…") and long.startswith('"xxx')


POLICY = """\
policy tiny "Tiny"
team marketing "@m"
funnel lead -> mql
stage lead "Known" owned by marketing {
  require email is present
}
stage mql "Qualified" owned by marketing {
  require score_ok
}
"""


def test_a_lead_that_passes_no_gate_reaches_no_stage(tmp_path):
    (tmp_path / "p.funnel").write_text(POLICY)
    pol = policy.load(tmp_path)
    at = datetime(2026, 11, 2, 15, tzinfo=UTC)
    text = pol.explain({"score_ok": True}, as_of=at)
    assert "reached no stage: the first gate, lead, fails" in text
    decided = pol.evaluate({"score_ok": True}, as_of=at)
    with pytest.raises(ValueError, match="needs a decision with a trace"):
        render(decided, pol.model)
