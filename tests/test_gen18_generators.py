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
from test_generators import sample

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

    sample(E.policies(), 120, each)
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
