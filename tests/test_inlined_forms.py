"""Every operator the compiler inlines means what the runtime's table says it means.

The compiled engine writes some operators as plain Python when it knows the kinds of
their operands at compile time (``s_fit >= 40``, ``type(f) is str and f in S1``); the
interpreter always calls :data:`policy.engine.runtime.OPERATORS`. These properties run
each inlined form, for every kind of operand the compiler distinguishes and with the
constant on either side, on generated values (missing ones, NaN, infinities, booleans,
mixed-case text, lists and objects included) and compare it with the table.
"""

from __future__ import annotations

import math
import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.engine import ir
from policy.engine import runtime as rt
from policy.engine.codegen import ANY, BOOL, NUM, NUMN, STRN, TS, LineWriter, _Val
from policy.engine.compiler import _Compiler
from policy.engine.decision import PolicyInfo

_SETTINGS = settings(max_examples=100, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])
INFO = PolicyInfo("inline", "1", "sha256:" + "0" * 64)
EMPTY = ir.Program(name="inline", version=None, id_field=None, funnel=(),
                   defines=types.MappingProxyType({}), scores=(), score_names=(), stages=(),
                   handoffs=(), recycles=(), timestamp_order=(("t",),),
                   calendars=types.MappingProxyType({}))

_numbers = st.one_of(
    st.integers(-3, 3), st.integers(-10**20, 10**20),
    # around 2^53, where an int stops being a double exactly, and 2^63 (spec section 10)
    st.sampled_from([2**53, 2**53 + 1, -2**53 - 1, 2**53 + 3, 9007199254740992.0, 2**63,
                     2**63 - 1, -2**63, 2**64 + 1]), st.integers(2**52, 2**54),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, 2.5]))
_text = st.sampled_from(["", "a", "A", "vp", "VP", "Vp", "b@x.com", "ß", "SS", "ǅ", "1"])
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _text)
_values = st.one_of(
    _scalars, st.lists(_scalars, max_size=3),
    st.lists(st.lists(_scalars, max_size=2), max_size=2),
    st.dictionaries(_text, _scalars, max_size=2))

#: What a value of each compile-time kind may be at run time.
KIND_VALUES = {
    ANY: _values,
    NUM: _numbers,
    NUMN: st.one_of(st.none(), _numbers),
    TS: st.one_of(st.none(), st.integers(-10**17, 10**17)),
    STRN: st.one_of(st.none(), _text),
    BOOL: st.booleans(),
}
#: Constants of the kinds policies write: literals, lists of them, folded values.
_constants = st.one_of(
    _scalars, st.lists(_text, max_size=3), st.lists(_numbers, max_size=3),
    st.lists(_scalars, max_size=3), st.just([]))


def _compiler() -> _Compiler:
    return _Compiler(EMPTY, INFO)


def _run(comp: _Compiler, code: str, **names: object) -> object:
    """Evaluate generated code in the namespace the engine runs in."""
    fn = eval(  # noqa: S307 - code this test's compiler generated
        f"lambda {', '.join(names)}: {code}", dict(comp.ns))
    return fn(**names)


def _same(mine: object, theirs: object) -> bool:
    if isinstance(theirs, float) and math.isnan(theirs):
        return isinstance(mine, float) and math.isnan(mine)
    return type(mine) is type(theirs) and mine == theirs


def _check(op: str, kind: str, x: object, c: object, *, guarded: bool) -> None:
    comp = _compiler()
    fn = rt.OPERATORS[op]
    if guarded:
        # a value that is missing exactly when its guard is (``days_since(t)``)
        operand = _Val("x", kind, guard="x")
    else:
        operand = _Val("x", kind, simple=True)
    const = comp.constant(c)
    for a, b, expected_args in ((operand, const, (x, c)), (const, operand, (c, x))):
        try:
            expected = fn(*expected_args)
        except (ArithmeticError, ValueError) as exc:
            expected = ("raises", type(exc))
        result = comp.operation(op, a, b)
        code = comp.materialize(result) if result.kind != BOOL else result.code
        try:
            got = _run(comp, code, x=x)
        except (ArithmeticError, ValueError) as exc:
            got = ("raises", type(exc))
        assert _same(got, expected), (op, kind, x, c, code, got, expected)


@pytest.mark.parametrize("op", sorted(rt.OPERATORS))
@pytest.mark.parametrize("kind", sorted(KIND_VALUES))
@_SETTINGS
@given(data=st.data())
def test_an_inlined_operator_equals_the_runtime_table(op, kind, data):
    x = data.draw(KIND_VALUES[kind], label="x")
    c = data.draw(_constants, label="constant")
    _check(op, kind, x, c, guarded=False)


@pytest.mark.parametrize("op", sorted(rt.OPERATORS))
@_SETTINGS
@given(x=st.one_of(st.none(), _numbers), c=_constants)
def test_a_guarded_number_equals_the_runtime_table(op, x, c):
    _check(op, NUM, x, c, guarded=True)


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"])
@_SETTINGS
@given(x=_numbers, y=st.one_of(st.none(), _numbers), guard_y=st.booleans())
def test_two_numbers_equal_the_runtime_table(op, x, y, guard_y):
    # scores and arithmetic on scores: neither side a constant
    comp = _compiler()
    a = _Val("x", NUM, simple=True)
    b = _Val("y", NUM, guard="y") if guard_y else _Val("y", NUM, simple=True)
    if y is None and not guard_y:
        y = 0  # an unguarded number is never missing
    result = comp.operation(op, a, b)
    code = comp.materialize(result) if result.kind != BOOL else result.code
    try:
        expected = rt.OPERATORS[op](x, y)
    except ArithmeticError as exc:
        expected = ("raises", type(exc))
    try:
        got = _run(comp, code, x=x, y=y)
    except ArithmeticError as exc:
        got = ("raises", type(exc))
    assert _same(got, expected), (op, x, y, code)


@_SETTINGS
@given(t=st.one_of(st.none(), st.integers(-10**17, 10**17)), as_of=st.integers(0, 10**17),
       func=st.sampled_from(["days_since", "hours_since"]), c=_constants,
       op=st.sampled_from([">", "<", ">=", "==", "!="]))
def test_days_since_of_a_timestamp_compared_equals_the_runtime(t, as_of, func, c, op):
    comp = _compiler()
    call = ir.Call(func, (ir.Field(("t",), ir.Type.TIMESTAMP, 0),), ir.Type.NUMBER)
    test = comp.cond(comp.operation(op, comp.expr(call), comp.constant(c)))
    lines = LineWriter()
    for key in comp._deps:
        comp.emit_item(lines, key, set())
    code = "".join(f"    {ln}\n" for ln in lines.text().splitlines())
    ns = dict(comp.ns)
    exec(f"def f(ts, as_of):\n{code}    return {test}\n", ns)  # noqa: S102
    expected = rt.truthy(rt.OPERATORS[op](rt.TIME_FUNCTIONS[func](t, as_of), c))
    assert ns["f"]((t,), as_of) is expected, (t, as_of, func, op, c, test)


@pytest.mark.parametrize("kind", [ANY, NUM, NUMN, TS])
@_SETTINGS
@given(data=st.data(), points=st.sampled_from([5, -5, 2.5, 0, -0.5]),
       cap=st.sampled_from([None, 20, 7.5, 0]))
def test_inlined_points_per_equals_the_runtime(kind, data, points, cap):
    count = data.draw(KIND_VALUES[kind], label="count")
    comp = _compiler()
    w = LineWriter()
    value = _Val("x", kind, simple=True)
    comp.expr = lambda e: value  # the count, of the kind under test
    comp.points_per(w, "s_x", ir.PointsPer(points, ir.Const(None, ir.Type.NULL), cap, "r"))
    body = "".join(f"    {ln}\n" for ln in w.text().splitlines())
    ns = dict(comp.ns)
    exec(f"def f(x):\n    s_x = 0\n{body}    return s_x\n", ns)  # noqa: S102
    expected = rt.per_points(points, count, cap)
    got = ns["f"](count)
    assert _same(got, expected) or (got == expected and not isinstance(expected, float)
                                    and type(got) in (int, float)), (count, points, cap, got)


def test_the_properties_reach_every_inlined_form():
    # a form the compiler writes as plain Python, not a runtime call: guards the
    # properties above against a compiler that stopped inlining
    comp = _compiler()
    any_ = _Val("x", ANY, simple=True)
    inlined = {
        "== text": comp.operation("==", any_, comp.constant("vp")).code,
        "in strings": comp.operation("in", any_, comp.constant(["a", "b"])).code,
        "not in numbers": comp.operation("not in", any_, comp.constant([1, 2])).code,
        ">= number": comp.operation(">=", _Val("x", NUM, simple=True), comp.constant(3)).code,
        # with an int, `+` is runtime.add: Python's int sum is exact, a double's is not
        "+ number": comp.operation("+", _Val("x", NUM, simple=True), comp.constant(3.5)).code,
    }
    for name, code in inlined.items():
        assert not any(code.startswith(f + "(") for f in ("eq", "ge", "member", "not_member",
                                                          "add")), (name, code)
