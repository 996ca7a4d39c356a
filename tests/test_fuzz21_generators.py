"""Reach checks for what the twenty-first session added to the engine generator
(``engine_strategies.policies()`` and ``leads()``), measured with ``bench/gen_coverage.py
-n 200 --seed 2020`` (the "combo:" rows). Each of these is what a real marketing-ops
policy holds, and each stood in under 5 % of the drawn policies (or leads) before:

- an SLA with three or more stops (`until accepted_at, rejected_at, last_seen`): 0 %
  (two or more: 2.5 %; a list's own size, min_size 2, came out 2 nearly always);
- an escalation in two handoffs of one policy (an escalation chain): 3.5 %;
- a recycle rule that reads the rejection (`rejection_reason`, `rejected_at`): 2 %,
  with a reason 0.5 %; with a `reject` in the same policy 0 %;
- one score with `per ... up to`, a `range` and a decay together: 8.5 %;
- one define read in a gate, a score and a route: 0 %;
- a lead's list field holding a list of objects: 4.5 %.

The checks read the shared derandomized sample of 150 policies (``engine_policies``)
and 100 leads, so they cost about what the draws cost; each fails on the old generator.
"""

from __future__ import annotations

import re
from collections import Counter

import engine_strategies as E
from test_generators import engine_policies, sample

_STOPS3 = re.compile(r"^  sla .* until \S+, \S+, \S+", re.M)
_REJECTION = re.compile(r"^recycle .* if .*\b(?:rejection_reason|rejected_at)\b", re.M)


def _full_score(text: str) -> bool:
    for body in re.findall(r"(?ms)^score .*?^\}", text):
        if re.search(r" per .* up to ", body) and "\n  range " in body \
                and "\n  decay " in body:
            return True
    return False


def _define_everywhere(text: str) -> bool:
    """``icp`` (or any define) read in a stage's gate, a score line and a route."""
    names = re.findall(r"^define (\w+) = ", text, re.M)
    stages = "\n".join(re.findall(r"(?ms)^stage .*?^\}", text))
    scores = "\n".join(re.findall(r"(?ms)^score .*?^\}", text))
    routes = "\n".join(re.findall(r"^  route .* if .*$", text, re.M))
    word = r"(?<![\w.]){}(?![\w.])"
    return any(all(re.search(word.format(n), part) for part in (stages, scores, routes))
               for n in names)


FORMS = {
    "an SLA with three or more stops": lambda t: bool(_STOPS3.search(t)),
    "escalation in two handoffs": lambda t: len(re.findall(r"^  escalate to ", t, re.M)) >= 2,
    "a recycle on the rejection": lambda t: bool(_REJECTION.search(t)),
    "a reject, then a recycle on the rejection": lambda t: bool(
        _REJECTION.search(t)) and "\n  reject to " in t,
    "a score with per/up to, range and decay": _full_score,
    "a define read in a gate, a score and a route": _define_everywhere,
}


def test_engine_policies_reach_the_session_21_marketing_ops_forms():
    seen: Counter[str] = Counter()
    texts = engine_policies()
    for text in texts:
        for name, found in FORMS.items():
            seen[name] += found(text)
    # about 10 % of 150 each at least (measured: 20 % to 45 % of 200 at seed 2020)
    low = {name: seen[name] for name in FORMS if seen[name] < 15}
    assert not low, (low, seen)


def test_engine_leads_reach_lists_of_objects():
    hits = []

    def each(lead: dict) -> None:
        lists = [lead.get("tags"), (lead.get("company") or {}).get("domains")
                 if isinstance(lead.get("company"), dict) else None]
        hits.append(any(isinstance(v, list) and sum(isinstance(x, dict) for x in v) >= 2
                        for v in lists))

    sample(E.leads(), 100, each)
    assert sum(hits) >= 6, sum(hits)
