"""The v1.1 parts of the engine generators, and that they are reached.

``engine_strategies.policies`` now draws named calendars (with or without the unnamed
one), a handoff's ``calendar NAME`` line, ``on NAME`` / ``on default`` after routes and
``define … = lines "…"`` lists; ``test_equivalence`` checks the two engines agree on
them. This module guards the generator: over a fixed run it must produce business time
counted on named calendars, on the unnamed one through ``on default``, and conditions
that read a ``lines`` list that holds entries, and the engines must agree there too.
"""

from __future__ import annotations

from engine_strategies import AS_OFS, leads, load_text, policies, prepare_ts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_equivalence import INFO, assert_same, decide, engines

from policy.syntax import nodes as n


def test_generated_policies_reach_the_v11_features_and_the_engines_agree_there():
    seen: set[str] = set()

    @settings(max_examples=250, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(text=policies(), batch=st.lists(leads(), min_size=4, max_size=6),
           as_of=st.sampled_from(AS_OFS))
    def collect(text, batch, as_of):
        model = load_text(text)
        listed = model.defines.get("listed")
        if listed is not None and isinstance(listed.value, n.ListExpr):
            seen.add("lines list" + (" with entries" if listed.value.items else " empty"))
            if any(r.path == ("listed",) for h in model.all_decls()
                   for r in _refs(h.decl) if not isinstance(h.decl, n.Define)):
                seen.add("a rule reads the lines list")
        if any(isinstance(i, n.HandoffCalendar) for h in model.handoffs for i in h.items):
            seen.add("a handoff's calendar line")
        compiled, interpreted = engines(model, INFO)
        by_stage = {h.stage.name: h for h in model.handoffs}
        for lead in batch:
            ts = prepare_ts(model, lead)
            if ts is None:
                continue
            mine = decide(compiled, lead, ts, as_of)
            assert_same(mine, decide(interpreted, lead, ts, as_of), text)
            for result in mine.handoffs:
                h = by_stage[result.stage]
                if result.sla is None or result.sla.due_us is None:
                    continue
                route = next((r for r in h.items if isinstance(r, n.Route)
                              and r.target == result.route), None)
                label = model.calendar_label(h, route)
                if not any(isinstance(i, n.Sla) and i.duration.unit.is_business
                           for i in h.items):
                    continue
                if route is not None and route.calendar is not None:
                    seen.add("business time on the chosen route's calendar")
                if label not in (None, n.DEFAULT_CALENDAR):
                    seen.add("business time on a named calendar")
                    if route is None or route.calendar is None:
                        seen.add("... by the handoff's calendar line")

    collect()
    assert seen >= {
        "lines list with entries", "lines list empty", "a rule reads the lines list",
        "business time on a named calendar", "business time on the chosen route's calendar",
        "a handoff's calendar line",
    }, seen


def _refs(stmt):
    from policy.model.namespace import refs_in

    return refs_in(stmt)
