"""The value semantics both engines share (spec section 3), tested directly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.engine import runtime as rt

values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-5, 5, allow_nan=False)
    | st.sampled_from(["a", "A", "ab", "Snowflake", "snow", "", "ß", "SS"]),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
)
texts = st.sampled_from(["a", "A", "ab", "Snowflake", "snow", "", "ß", "SS", "flake"])


@pytest.mark.parametrize(
    ("fn", "a", "b", "expected"),
    [
        (rt.eq, None, None, False),
        (rt.ne, None, 1, False),  # `!=` touching a missing value is false too
        (rt.eq, True, 1, False),  # kinds never mix
        (rt.ne, "5", 5, True),
        (rt.lt, "a", 1, False),
        (rt.ge, 2, 1.5, True),
        (rt.member, "vp", ["vp", "c-level"], True),
        (rt.member, True, [1], False),
        (rt.not_member, None, ["x"], False),
        (rt.contains, "Snowflake Inc", "snowflake", True),
        (rt.contains, ["dbt", "Snowflake"], ["snowflake", "x"], True),
        (rt.contains, None, "x", False),
        (rt.starts_with, "VP Sales", ["vp", "cto"], True),
        (rt.ends_with, "ana@GMAIL.com", "@gmail.com", True),
    ],
)
def test_tests_and_comparisons(fn, a, b, expected):
    assert fn(a, b) is expected


def test_arithmetic_and_functions_with_missing_values():
    assert rt.add(1, None) is None and rt.div(1, 0) is None and rt.mul("a", 2) is None
    assert rt.neg(True) is None and rt.neg(2) == -2
    assert rt.domain("Ana@Big.COM") == "big.com" and rt.domain("no-at") is None
    assert rt.length([1, 2]) == 2 and rt.length(5) is None
    assert rt.days_since(0, rt.US_PER_DAY * 3 // 2) == 1.5 and rt.days_since(None, 0) is None


@pytest.mark.parametrize(
    ("x", "rounded"), [(2.5, 3), (-2.5, -3), (2.4999, 2), (0.5, 1), (-0.5, -1), (0.0, 0)]
)
def test_round_half_away_from_zero(x, rounded):
    assert rt.round_half_away(x) == rounded


def test_per_points_caps_and_ignores_negative_counts():
    assert rt.per_points(5, 3, 20) == 15 and rt.per_points(5, 9, 20) == 20
    assert rt.per_points(-5, 9, 20) == -20 and rt.per_points(5, -2, 20) == 0
    assert rt.per_points(5, None, None) == 0 and rt.per_points(5, 100, None) == 500


def test_decay_only_for_past_instants():
    day = rt.US_PER_DAY
    assert rt.decay_factor(None, 10 * day, 30 * day) == 1.0
    assert rt.decay_factor(20 * day, 10 * day, 30 * day) == 1.0  # later than as_of
    assert rt.decay_factor(0, 30 * day, 30 * day) == 0.5


@settings(max_examples=300, deadline=None)
@given(a=values, needles=st.lists(texts, min_size=1, max_size=4) | texts)
def test_contains_text_is_contains_with_the_needles_folded_once(a, needles):
    as_list = [needles] if isinstance(needles, str) else needles
    folded = tuple(dict.fromkeys(x.lower() for x in as_list))
    assert rt.contains_text(a, folded, frozenset(folded)) is rt.contains(a, needles)


def test_every_export_is_a_runtime_function():
    assert set(rt.OPERATORS.values()) <= set(rt.EXPORTS.values())
    assert rt.EXPORTS["contains_text"] is rt.contains_text
