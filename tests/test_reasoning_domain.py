"""The condition-reasoning domain at its edges (policy.check.valuesets, .bounds and
.reasoning): constants, terms of every shape, schema universes, timestamps, and the
places where it must answer "unsure" rather than warn. The main cases are in
test_checker.py; these pin down what those leave unexercised."""

from __future__ import annotations

import json
import math

from test_checker import BASE, Cond, model_of

from policy.check.bounds import ScoreRange, score_ranges
from policy.check.reasoning import MAX_DEPTH, Reasoner
from policy.check.valuesets import (
    ALL_NUMBERS,
    EMPTY,
    INF,
    ValueSet,
    iv_integers,
    iv_normal,
    value_set,
)

# --------------------------------------------------------------------------- value sets


def test_unions_of_intervals_merge_where_they_overlap_or_touch():
    assert iv_normal([(1, True, 5, True), (3, True, 9, False)]) == ((1, True, 9, False),)
    assert iv_normal([(1, True, 5, False), (5, True, 7, True)]) == ((1, True, 7, True),)
    assert iv_normal([(1, True, 5, False), (5, False, 7, True)]) == (
        (1, True, 5, False), (5, False, 7, True))  # 5 itself is in neither
    assert iv_normal([(1, True, 9, True), (2, True, 3, True)]) == ((1, True, 9, True),)


def test_whole_numbers_of_an_interval_beyond_every_float_are_none():
    assert iv_integers(((INF, False, INF, False),)) == ()
    assert iv_integers(((0.5, True, 3.5, False),)) == ((1, True, 3, True),)
    assert iv_integers(ALL_NUMBERS) == ALL_NUMBERS


def test_string_sets_finite_and_cofinite_under_union():
    a_b = ValueSet(strings=frozenset({"a", "b"}))
    not_a = ValueSet(strings=frozenset({"a"}), strings_co=True)
    not_b = ValueSet(strings=frozenset({"b"}), strings_co=True)
    assert (not_a | not_b) == ValueSet(strings=frozenset(), strings_co=True)
    assert (not_a | a_b) == ValueSet(strings=frozenset(), strings_co=True)
    assert (a_b | not_a).strings_co and not (a_b | not_a).strings
    assert (not_a & a_b) == ValueSet(strings=frozenset({"b"}))
    assert (~not_a) == ValueSet(missing=True, numbers=ALL_NUMBERS,
                                strings=frozenset({"a"}), bools=frozenset({True, False}),
                                other=True)


def test_value_set_of_constants_and_what_it_cannot_model():
    assert value_set([None, 3, "x", True]) == ValueSet(
        numbers=((3, True, 3, True),), strings=frozenset({"x"}), bools=frozenset({True}))
    assert value_set([None]) == EMPTY  # null adds nothing: no comparison with it holds
    assert value_set([math.nan]) is None
    assert value_set([[1, 2]]) is None
    assert value_set([{"a": 1}]) is None


# --------------------------------------------------------------------------- score bounds


def _scores(items: str):
    return score_ranges(model_of(BASE + f'score s "S" owned by sales {{\n{items}}}\n'))["s"]


def test_score_bounds_from_points_and_range():
    assert _scores("  +5 per visits\n") == ScoreRange(0, INF)  # no cap: no high end
    assert _scores("  -5 per visits up to 20\n  +3 if x\n") == ScoreRange(-20, 3)
    # a range entirely below what the points give: both ends are the range's top
    assert _scores("  +5 if x\n  range -10 to -5\n") == ScoreRange(-5, -5, "range", "range")
    assert _scores("  -5 if x\n  range 10 to 20\n") == ScoreRange(10, 10, "range", "range")
    assert _scores("  +2.5 if x\n  +0.5 if y\n") == ScoreRange(0, 3)


# --------------------------------------------------------------------------- constants


def test_constant_conditions_are_decided_by_the_runtime_table():
    c = Cond("define t = true or false\ndefine f = true and false\ndefine n = null == null\n"
             "define g = 2 * 3 > 5\ndefine l = 3 in [1, 2, 3]\ndefine m = 3 in [1, x]\n")
    assert c.valid("t") and not c.sat("f")
    assert not c.sat("n")  # a comparison that touches null is false, even null == null
    assert c.valid("g") and c.valid("l")
    assert c.sat("m") and not c.valid("m")  # not constant: x may be 3 or not


# --------------------------------------------------------------------------- terms


def test_terms_that_are_calls_arithmetic_and_negation_have_their_universe():
    c = Cond('define a = length(x) > 3 and length(x) < 2\ndefine b = lower(x) == 5\n'
             'define c = x + 1 == "one"\ndefine d = -x == "one"\ndefine e = x + 1 == 3\n'
             'define f = lower(x) == "a" and lower(x) == "b"\n')
    assert not c.sat("a")  # one term, two disjoint intervals
    assert not c.sat("b")  # lower() gives text (or nothing)
    assert not c.sat("c") and not c.sat("d")  # arithmetic gives numbers
    assert c.sat("e")
    assert not c.sat("f")


def test_values_used_as_conditions_hold_only_when_true():
    c = Cond('define num = x + 1\ndefine text = lower(x)\ndefine call = length(x)\n'
             'define flag = x\n')
    assert not c.sat("num")   # a number is never `true`
    assert not c.sat("text")  # nor is text
    assert c.sat("flag") and not c.valid("flag")
    assert not c.sat("call")  # length() gives a number
    assert c.r.implies(c["flag"], c["flag"])


def test_membership_and_ordering_that_can_never_hold():
    c = Cond('define a = x in 5\ndefine b = x != null\ndefine c = x > true\n'
             'define d = x < null\ndefine e = x >= [1]\ndefine f = x in [[1], 2]\n'
             'define g = x == [1]\n')
    assert not c.sat("a")  # membership in something that is not a list
    assert not c.sat("b") and not c.sat("c") and not c.sat("d") and not c.sat("e")
    assert c.sat("f") and not c.valid("f")  # a list item it cannot model: unsure
    assert c.sat("g")


def test_a_define_chain_deeper_than_the_limit_gives_up_and_answers_unsure():
    chain = "".join(f"define d{i} = d{i - 1}\n" for i in range(1, MAX_DEPTH + 5))
    c = Cond("define d0 = x > 1\n" + chain + f"define far = d{MAX_DEPTH + 4} and x < 0\n"
             "define near = d3 and x < 0\n")
    assert c.sat("far")  # past the limit: never warn when unsure
    assert not c.sat("near")  # within the limit the expansion is exact
    deep = f"d{MAX_DEPTH + 4}"
    assert c.sat(deep)
    assert not c.implies(deep, "d0")  # past the limit: does not imply (unsure)


# --------------------------------------------------------------------------- schema universes


SCHEMA = {
    "type": "object",
    "required": ["tier"],
    "properties": {
        "tier": {"enum": ["gold", {"custom": 1}, None]},
        "anything": {},
        "tags": {"type": ["array", "null"]},
        "count": {"type": "integer"},
        "when": {"type": "string", "format": "date-time"},
    },
}


def test_schema_universes_enum_untyped_array_and_integer_fields():
    c = Cond('define gold = tier == "gold"\ndefine silver = tier == "silver"\n'
             'define any5 = anything == 5\ndefine tag = tags == "x"\n'
             'define frac = count > 1 and count < 2\ndefine missing = tier is missing\n',
             schema=json.dumps(SCHEMA).encode())
    assert c.sat("gold") and not c.sat("silver")  # the enum bounds a field's values
    assert c.sat("missing")  # a null in the enum: the value may be missing
    assert c.sat("any5")  # no type: anything
    assert not c.sat("tag")  # an array (or null) is never text
    assert not c.sat("frac")  # an integer field has no value between 1 and 2


def test_timestamps_compared_with_text_literals_and_with_what_is_not_a_date():
    c = Cond('define after = when > "2026-01-01" and when < "2025-01-01"\n'
             'define bad = when == "not a date"\ndefine in_bad = when in ["soon"]\n'
             'define num = when == 5\n',
             schema=json.dumps(SCHEMA).encode())
    assert not c.sat("after")  # instants: ordered as instants
    assert c.sat("bad") and c.sat("in_bad")  # the checker reports these (E102); unsure here
    assert c.sat("num")  # a number against a timestamp: E102's business, no warning here


def test_reasoner_without_score_ranges_sees_any_whole_score():
    extra = 'score fit "F" owned by sales {\n  +60 if x\n  range 0 to 100\n}\n'
    c = Cond("define frac = fit > 1 and fit < 2\n", extra=extra)
    assert not Reasoner(c.model, use_score_ranges=False).satisfiable(c["frac"])


def test_constant_logic_inside_a_comparison_is_folded():
    c = Cond("define f = x == (true and false)\ndefine t = x == (true or false) and x == false\n")
    assert c.sat("f") and not c.valid("f")  # x == false
    assert not c.sat("t")  # x == true and x == false


def test_a_range_written_with_a_decimal_point_still_bounds_in_whole_numbers():
    bounds = _scores("  +500 if x\n  range 0 to 100.0\n")
    assert bounds == ScoreRange(0, 100, "points", "range")
    assert type(bounds.high) is int
