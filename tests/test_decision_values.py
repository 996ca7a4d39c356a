"""The decision records (policy.engine.decision): values that behave like the attrs
classes they replaced, built in one step by the compiled engine."""

from __future__ import annotations

import copy
import pickle
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.engine.decision import (
    Decision,
    HandoffResult,
    NextStep,
    PolicyInfo,
    SlaResult,
    TraceEvent,
    Violation,
)

INFO = PolicyInfo("p", "1", "sha256:" + "0" * 64)


def _decision(**changes) -> Decision:
    args = dict(lead="L-1", policy=INFO, as_of=1_793_631_600_000_000, stage="mql", reached="mql",
                reason=None, scores=types.MappingProxyType({"fit": 40}),
                next=NextStep("sal", ("accepted_at is present",)),
                handoffs=(HandoffResult("mql", "sales", "ae", SlaResult("met", 1, 2, 3), None,
                                        False, None),),
                violations=(Violation("missing_sla_start", "why"),))
    args.update(changes)
    return Decision(**args)


def test_keyword_and_positional_construction_agree_and_defaults_apply():
    d = _decision()
    again = Decision("L-1", INFO, 1_793_631_600_000_000, "mql", "mql", None, {"fit": 40},
                     NextStep("sal", ("accepted_at is present",)), d.handoffs, d.violations)
    assert d == again and d.trace is None and again.trace is None
    assert d.as_of_us == 1_793_631_600_000_000
    assert d.as_of.isoformat() == "2026-11-02T15:00:00+00:00"
    sla = SlaResult(status="met", start=1, due=2, stop=None)
    assert (sla.start_us, sla.due_us, sla.stop_us, sla.stop) == (1, 2, None, None)
    assert d.handoffs[0].sla.start.isoformat() == "1970-01-01T00:00:00.000001+00:00"


def test_equality_is_by_type_and_fields_and_ignores_the_trace():
    d = _decision()
    traced = _decision(trace=(TraceEvent("gate", "x", "f:1:1", (), True),))
    assert d == traced and not (d != traced)
    assert d != _decision(stage="sal") and not (d == _decision(stage="sal"))
    # a record never equals a tuple, nor a record of another type with the same values
    assert NextStep("a", ()) != Violation("a", ())
    assert Violation("a", "b") != ("a", "b") and not (Violation("a", "b") == ("a", "b"))
    assert ("a", "b") != Violation("a", "b") and not (("a", "b") == Violation("a", "b"))
    assert hash(Violation("a", "b")) == hash(Violation("a", "b"))
    assert hash(NextStep("a", ("x",))) != hash(Violation("a", ("x",)))
    with pytest.raises(TypeError):  # read-only scores are not hashable, as with attrs
        hash(d)


def test_records_are_immutable_and_not_sequences():
    d = _decision()
    with pytest.raises(AttributeError):
        d.stage = "sql"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        d.extra = 1  # type: ignore[attr-defined]
    for attempt in (lambda: d[0], lambda: len(d), lambda: list(d), lambda: "mql" in d,
                    lambda: d + d, lambda: d * 2, lambda: d < d, lambda: d.index("mql"),
                    lambda: () < d, lambda: d >= ()):
        with pytest.raises(TypeError):
            attempt()
    assert bool(NextStep("a", ())) is True


def test_repr_names_every_field():
    assert repr(Violation("c", "m")) == "Violation(code='c', message='m')"
    assert repr(SlaResult("met", 1, None, 3)) == (
        "SlaResult(status='met', start_us=1, due_us=None, stop_us=3)")
    assert repr(_decision()).startswith("Decision(lead='L-1', policy=PolicyInfo(")
    assert ", trace=None)" in repr(_decision())


def test_pickle_and_copy_give_equal_records_of_the_same_type():
    d = _decision(scores={"fit": 40})
    for again in (pickle.loads(pickle.dumps(d)), copy.copy(d), copy.deepcopy(d)):
        assert type(again) is Decision and again == d and again.to_dict() == d.to_dict()
    h = d.handoffs[0]
    assert pickle.loads(pickle.dumps(h, protocol=0)) == h


def test_match_by_field_names():
    match _decision():
        case Decision(stage="mql", next=NextStep(stage=next_stage)):
            assert next_stage == "sal"
        case _:  # pragma: no cover - the case above must match
            pytest.fail("no match")


@given(st.text(), st.text(), st.one_of(st.none(), st.integers(), st.text()))
def test_to_dict_and_equality_follow_the_fields(code, message, reason):
    v = Violation(code, message)
    assert v.to_dict() == {"code": code, "message": message}
    h = HandoffResult("mql", "sales", None, None, None, True, reason)
    assert h == HandoffResult("mql", "sales", None, None, None, True, reason)
    assert h.to_dict()["rejection_reason"] == reason
