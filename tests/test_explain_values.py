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


KEYS = """\
policy keys "Keys"
team m "@m"
calendar {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
funnel lead -> mql
score fit owned by m {
  +1 if `a.b` > 1 and a.b > 1
  +1 if `x y` > 1
}
stage lead owned by m {
  entered at `t 0`
  require fit >= 0
}
stage mql owned by m {
  require fit >= 1
}
handoff mql to m {
  route "r" otherwise
  sla 2 business hours from x.`y z` until `stop.at`
}
"""


def test_the_trace_names_a_field_as_the_policy_writes_it(tmp_path):
    # Before: the trace named a field by its keys joined with dots, so the key `a.b`
    # and the nested field a.b were both "a.b": a rule reading the two showed only the
    # first value (the second was taken for the same name), and `x y = 3` read as two
    # names. Now a key that needs them is in backticks, as in the policy and as a
    # refused lead's problem paths are written (spec section 5).
    (tmp_path / "p.funnel").write_text(KEYS)
    pol = policy.load(tmp_path)
    lead = {"a.b": 5, "a": {"b": 7}, "x y": 3, "t 0": "2026-11-01",
            "x": {"y z": "2026-11-30T10:00:00Z"}}
    at = datetime(2026, 12, 1, 16, tzinfo=UTC)
    values = [dict(ev.values) for ev in pol.trace(lead, as_of=at).trace]
    assert {"`a.b`": 5, "a.b": 7} in values
    assert {"`x y`": 3} in values
    assert {"`t 0`": "2026-11-01"} in values
    assert any(v.get("x.`y z`") == "2026-11-30T10:00:00Z" and "`stop.at`" in v
               for v in values)
    text = pol.explain(lead, as_of=at)
    assert "`a.b` = 5, a.b = 7" in text and "`x y` = 3" in text
    assert '`t 0` = "2026-11-01"' in text
