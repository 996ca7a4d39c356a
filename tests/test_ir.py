"""The intermediate form: names resolved, types known, constants folded, durations in
microseconds, calendars chosen, texts printed once (policy/engine/resolve.py)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from policy.engine import ir
from policy.engine.resolve import ResolveError, resolve
from policy.engine.timestamps import parse_timestamp
from policy.model.loader import load_model
from policy.model.namespace import build_model
from policy.syntax.parser import parse

REPO = Path(__file__).resolve().parents[1]
T = ir.Type

TEXT = """policy p "P"
team m "@m"
calendar {
  timezone "UTC"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
calendar emea "London" {
  timezone "Europe/London"
  workdays mon tue wed thu fri
  hours 08:00 to 16:30
}
funnel a -> b
define big = employees >= 2 * 500
define regions = ["us", "eu"]
score fit owned by m {
  +10 if big
  +1 per visits up to 5
  decay half-life 1.5 days since seen_at
  range 0 to 100
}
stage a owned by m {
  require verified
  require region in regions
  exclude lower(name) starts with "test"
  exclude mql_at < "2026-11-01T00:00:00Z" or days_since(seen_at) > 30
  keep when fit >= 50
}
stage b owned by m {
  require mql_at is present
}
state lost "Lost" owned by m
handoff a to m {
  calendar emea
  route "us" if region == "us" on default
  route "rest" otherwise
  sla 2 business days from mql_at until done_at
  escalate to "boss" after 90 minutes
  reject to lost with reason why in ["x"]
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> ir.Program:
    root = tmp_path_factory.mktemp("ir")
    (root / "p.funnel").write_text(TEXT, "utf-8")
    result = load_model(root)
    assert result.ok, [str(d) for d in result.diagnostics if d.is_error]
    return resolve(result.model)


def test_names_are_resolved_and_typed(program):
    fit = program.scores[0]
    big = fit.items[0].condition
    assert big == ir.DefineRef("big", T.BOOLEAN, False)
    # the define's body: a comparison with the product folded to a constant
    body = program.defines["big"].value
    assert body == ir.Test(">=", ir.Field(("employees",), T.NUMBER, None), ir.Const(1000, T.NUMBER))
    assert fit.items[1].count == ir.Field(("visits",), T.NUMBER, None)
    gate = program.stages[0].lines
    assert gate[0].condition == ir.Field(("verified",), T.BOOLEAN, None)
    assert gate[1].condition.left == ir.Field(("region",), T.TEXT, None)
    assert gate[1].condition.right == ir.DefineRef("regions", T.LIST, False)
    assert program.defines["regions"].value == ir.Const(("us", "eu"), T.LIST)
    assert program.defines["regions"].value.runtime == ["us", "eu"]
    keep = gate[4]
    assert keep.kind == "keep" and keep.condition.left == ir.ScoreRef("fit")


def test_timestamps_and_their_literals(program):
    exclude = program.stages[0].lines[3].condition
    assert isinstance(exclude, ir.Or)
    mql_at = exclude.left.left
    assert mql_at.type is T.TIMESTAMP and mql_at.ts == program.timestamp_order.index(("mql_at",))
    assert exclude.left.right == ir.Const(parse_timestamp("2026-11-01T00:00:00Z"), T.TIMESTAMP)
    days = exclude.right.left
    assert days == ir.Call("days_since", (ir.Field(("seen_at",), T.TIMESTAMP,
                                                   program.timestamp_order.index(("seen_at",))),),
                           T.NUMBER)


def test_durations_and_calendars(program):
    fit = program.scores[0]
    assert fit.decay.half_life_us == 129_600_000_000  # 1.5 days
    h = program.handoffs[0]
    assert h.sla.duration == ir.Duration(2, "business days", None)
    assert h.escalate.after == ir.Duration(90, "minutes", 5_400_000_000)
    us, rest = h.routes
    assert (us.calendar_label, rest.calendar_label, h.calendar_label) == ("default", "emea",
                                                                          "emea")
    assert us.calendar.timezone == "UTC" and rest.calendar.timezone == "Europe/London"
    assert h.calendar is rest.calendar
    assert program.calendars["emea"] is rest.calendar


def test_texts_are_printed_once(program):
    lines = program.stages[0].lines
    assert [line.unmet for line in lines] == [
        "verified", "region in regions", 'not (lower(name) starts with "test")',
        'not (mql_at < "2026-11-01T00:00:00Z" or days_since(seen_at) > 30)', None]
    assert program.handoffs[0].routes[0].rule == 'route "us" if region == "us" on default'
    assert program.scores[0].items[1].rule == "+1 per visits up to 5"
    assert program.handoffs[0].reject.reason == ir.Field(("why",), T.TEXT, None)


def test_the_ir_is_immutable(program):
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        program.scores[0].items[0].points = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        program.defines["x"] = program.defines["big"]  # type: ignore[index]


def test_walk_visits_every_sub_expression(program):
    exclude = program.stages[0].lines[3].condition
    kinds = [type(e).__name__ for e in ir.walk(exclude)]
    assert kinds == ["Or", "Test", "Field", "Const", "Test", "Call", "Field", "Const"]


def test_schema_types_win_over_use(tmp_path):
    root = REPO / "rules"
    program = resolve(load_model(root).model)
    fields = {e.path: e.type for e in _all_fields(program)}
    assert fields[("company", "employees")] is T.NUMBER
    assert fields[("email",)] in (T.TEXT,)
    assert fields[("mql_at",)] is T.TIMESTAMP


def _all_fields(program: ir.Program):
    from policy.engine.resolve import iter_exprs

    for e in iter_exprs(program):
        for sub in ir.walk(e):
            if isinstance(sub, ir.Field):
                yield sub


def test_a_cycle_is_refused():
    text = 'policy p "P"\nteam m "@m"\nfunnel a\ndefine x = y\ndefine y = x\n' \
           'stage a owned by m {\n  require x\n}\n'
    with pytest.raises(ResolveError, match="cycle"):
        resolve(build_model([parse(text, "c.funnel").module]))


def test_field_types_and_timestamp_kinds_are_the_programs(program):
    """What a backend that fixes column types before reading a lead needs (the SQL
    compiler over a table): every field's type, and how each timestamp is read."""
    for e in _all_fields(program):
        if e.ts is None:
            assert program.field_types.get(e.path, T.ANY) is e.type, e.path
    assert program.field_types[("verified",)] is T.BOOLEAN
    assert program.field_types[("employees",)] is T.NUMBER
    assert program.timestamp_kinds == ("any",) * len(program.timestamp_order)
    rules = resolve(load_model(REPO / "rules").model)
    kinds = dict(zip(rules.timestamp_order, rules.timestamp_kinds, strict=True))
    assert kinds[("mql_at",)] == "date-time"
    assert rules.timestamp_kind(rules.timestamp_order.index(("mql_at",))) == "date-time"
