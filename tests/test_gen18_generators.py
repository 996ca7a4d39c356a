"""Reach checks for the forms the eighteenth session added to the engine and spec
generators (measured with ``bench/gen_coverage.py``: before, each of these was drawn in
under 5 % of the policies or leads, most of them never).

The differential properties (``test_equivalence``, ``test_sql_engine``, the Spark tier,
``test_spec_differential`` and the hunts) are only as good as what they draw; these
checks fail when a change narrows the generators again.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import engine_strategies as E
from spec_policies import TS_LITERALS, draw_policy
from test_generators import engine_policies, sample

_TS = "|".join(re.escape(f) for f in E.TIMESTAMP_FIELDS)
_OP = r"(?:==|!=|<=|>=|<|>)"
#: The forms, each with a pattern that finds it in a policy's text.
ENGINE_FORMS = {
    "two timestamp fields compared": re.compile(rf"(?:{_TS}) {_OP} (?:{_TS})\b"),
    "a list of mixed kinds": re.compile(r" (?:not )?in \[[^\]\n]*\b(?:true|false|null)\b"),
    "ends with": re.compile(r" ends with "),
    "a case-blind test on a text whose case fold differs": re.compile(
        r"(?:contains|starts with|ends with) \"(?:ß|i̇s|i̇|ǆ|SSE|İ)\""),
    "a business day": re.compile(r" business days?\b"),
    "a route on a named calendar": re.compile(r"^  route .* on (?:emea|apac)$", re.M),
    "a route on default": re.compile(r"^  route .* on default$", re.M),
    "holidays": re.compile(r"^  holidays ", re.M),
    "several calendars": re.compile(r"(?s)^calendar .*^calendar ", re.M),
}


def test_engine_policies_reach_the_session_18_forms():
    seen: Counter[str] = Counter()

    def each(text: str) -> None:  # (test_generators loads such policies)
        for name, pattern in ENGINE_FORMS.items():
            seen[name] += bool(pattern.search(text))

    for text in engine_policies():  # (session 19) the 150 test_generators shares
        each(text)
    low = {name: seen[name] for name in ENGINE_FORMS if seen[name] < 4}
    assert not low, (low, seen)


def test_engine_leads_reach_dst_changes_holidays_and_case_folds():
    seen: Counter[str] = Counter()
    edges = set(E._EDGE_TIMESTAMPS)

    def each(lead: dict) -> None:
        text = json.dumps(lead, ensure_ascii=False)
        seen["an edge instant"] += any(json.dumps(t) in text for t in edges)
        seen["a DST change day"] += any(d in text for d in ("2026-11-01", "2026-10-25",
                                                             "2026-10-04", "2026-03-08"))
        seen["a text whose case fold is not its lower case"] += any(
            t in text for t in ("İ", "STRASSE", "straße", "ǅ"))

    sample(E.leads(), 100, each)
    assert min(seen.values()) >= 6 and len(seen) == 3, seen


def test_spec_policies_compare_timestamps_with_literal_instants():
    quoted = [json.dumps(t) for t in TS_LITERALS]
    hits = 0
    for s in range(120):
        text = draw_policy(random.Random(s)).files["policy.funnel"]
        hits += any(q in text for q in quoted)
    assert hits >= 10, hits


def test_spec_policies_hold_defines_that_read_defines():
    texts = [draw_policy(random.Random(s)).files["policy.funnel"] for s in range(120)]
    assert sum("define hotter = " in t for t in texts) >= 15


#: (session 19) a list literal after a field: the field as the policy spells it, the items
_FIELD_LIST = re.compile(
    "(" + "|".join(re.escape(f) for f in (*E.NUMBER_FIELDS, *E.STRING_FIELDS, *E.BOOL_FIELDS))
    + r") (?:not )?in \[([^\]\n]*)\]")
_ITEM = re.compile(r'"(?:[^"\\]|\\.)*"|[^,\s]+')


def _item_kind(item: str) -> str:
    if item.startswith('"'):
        return "text"
    if item in ("true", "false"):
        return "boolean"
    return "null" if item == "null" else "number"


def _field_kind(field: str) -> str:
    return "number" if field in E.NUMBER_FIELDS else \
        "text" if field in E.STRING_FIELDS else "boolean"


def _list_kinds(texts: list[str]) -> Counter[str]:
    """How many list literals after a field hold another kind than the field's, and
    how many a null."""
    seen: Counter[str] = Counter()
    for text in texts:
        for field, items in _FIELD_LIST.findall(text):
            kinds = {_item_kind(i) for i in _ITEM.findall(items)}
            seen["lists"] += 1
            seen["another kind"] += bool(kinds - {_field_kind(field), "null"})
            seen["null"] += "null" in kinds
    return seen


def test_typed_policies_keep_each_list_to_its_fields_kind_and_null():
    """(session 19) ``policies(typed=True)`` goes with ``schemas()``, which types each
    field as the policy reads it: a list of another kind there is E102 at load (the
    four schema tests failed so on the widened generator). Typed, a field's list holds
    its own kind and null, and null still comes (untyped, the mixed lists stay: "a list
    of mixed kinds" above)."""
    typed: list[str] = []
    sample(E.policies(typed=True), 40, typed.append)
    seen = _list_kinds(typed)
    assert seen["lists"] >= 20 and seen["another kind"] == 0 and seen["null"] >= 4, seen
