"""Value semantics of the language (spec section 3), shared by both engines.

The reference interpreter (:mod:`policy.engine.interpreter`) and the code the compiler
generates (:mod:`policy.engine.compiler`) call these same functions, so the two cannot
disagree on what ``==``, ``contains`` or a missing value mean. Generated code
sees only the names in :data:`EXPORTS` (Jinja2's habit).

Values at run time: ``None`` is *missing* (absent, null, or a path through a
non-object); booleans, numbers (``int``/``float``, never ``bool``), strings,
lists, and timestamps as ``int`` microseconds since the epoch (UTC). Which
fields are timestamps is known statically (:attr:`PolicyModel.timestamp_paths`),
so a timestamp never needs a tag at run time.

The rules:

* a bare value used as a condition holds only when it is boolean ``true``;
* a comparison, membership or text test that touches a missing value is false,
  ``!=`` and ``not in`` included; values of different kinds are never equal
  (``"5" == 5`` is false, ``"5" != 5`` is true) and never ordered;
* arithmetic with a missing value, a non-number or a division by zero is missing;
* ``contains``, ``starts with`` and ``ends with`` ignore case; with a list on
  the right, any one element matching is enough.
"""

from __future__ import annotations

import json
import math
import operator
from types import MappingProxyType

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000

#: The last instant a decision can print (``9999-12-31T23:59:59.999999Z``), in µs. A due
#: time or escalation time past it cannot happen before any ``as_of``: it counts as never.
LAST_INSTANT = 253_402_300_799_999_999


class EngineFault(RuntimeError):
    """The engine cannot run a rule of this policy: the policy has an error the checker
    reports (business time without a calendar, a business half-life). Never the lead's
    fault, so never turned into a refused lead."""


def get(lead: object, path: tuple[str, ...]) -> object:
    """The value at ``path`` in a lead, or None when it or any part is absent or null."""
    v = lead
    for key in path:
        if type(v) is not dict:
            return None
        v = v.get(key)
        if v is None:
            return None
    return v


def truthy(v: object) -> bool:
    """A condition holds only for boolean ``true``."""
    return v is True


def is_number(v: object) -> bool:
    t = type(v)
    return t is int or t is float


#: Integers within ±2^53 are doubles exactly; past it, a double rounds them.
EXACT = 2**53


def dbl(v: object) -> object:
    """A number as the IEEE double every engine compares and computes with (spec section
    10): an ``int`` past ±2^53 rounded to the nearest double, one past a double's range
    infinite (as SQL reads it); anything else as it is. Values are kept as read (a lead
    id, a trace, a report's keys write them out unchanged): operators convert them."""
    if type(v) is int and not -EXACT <= v <= EXACT:
        try:
            return float(v)
        except OverflowError:
            return math.inf if v > 0 else -math.inf
    return v


def _kind(v: object) -> str:
    t = type(v)
    if t is bool:
        return "bool"
    if t is int or t is float:
        return "number"
    if t is str:
        return "string"
    if t is list:
        return "list"
    return "other"


def eq(a: object, b: object) -> bool:
    """``==``: false when either side is missing or the kinds differ."""
    if a is None or b is None:
        return False
    ka = _kind(a)
    if ka != _kind(b):
        return False
    if ka == "list":
        return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b, strict=True))
    if ka == "number":
        return dbl(a) == dbl(b)
    return a == b


def ne(a: object, b: object) -> bool:
    """``!=``: false when either side is missing, else the negation of ``==``."""
    if a is None or b is None:
        return False
    return not eq(a, b)


def _ordered(a: object, b: object) -> bool:
    if a is None or b is None:
        return False
    ka = _kind(a)
    return ka == _kind(b) and ka in ("number", "string")


def lt(a: object, b: object) -> bool:
    return _ordered(a, b) and dbl(a) < dbl(b)  # type: ignore[operator]


def le(a: object, b: object) -> bool:
    return _ordered(a, b) and dbl(a) <= dbl(b)  # type: ignore[operator]


def gt(a: object, b: object) -> bool:
    return _ordered(a, b) and dbl(a) > dbl(b)  # type: ignore[operator]


def ge(a: object, b: object) -> bool:
    return _ordered(a, b) and dbl(a) >= dbl(b)  # type: ignore[operator]


def list_of(*items: object) -> list | None:
    """A list literal whose items are not all constants (``[a.b, 2]``): missing when an
    item is, so a test that touches the missing item is false (spec section 3, "A
    comparison, membership or text test that touches a missing value is false -- `!=`
    and `not in` included"): ``x in [a.b, 2]`` and ``x not in [a.b, 3]`` do not hold
    while ``a.b`` is missing."""
    for item in items:
        if item is None:
            return None
    return list(items)


def member(a: object, items: object) -> bool:
    """``a in [..]``: false when ``a`` is missing or ``items`` is not a list."""
    if a is None or type(items) is not list:
        return False
    return any(eq(a, x) for x in items)


def not_member(a: object, items: object) -> bool:
    """``a not in [..]``: false when either side is missing."""
    if a is None or type(items) is not list:
        return False
    return not any(eq(a, x) for x in items)


def _fold(v: object) -> object:
    return v.lower() if type(v) is str else v


def contains(a: object, b: object) -> bool:
    """Substring (string) or element (list) test; any one of a list on the right."""
    if a is None or b is None:
        return False
    needles = b if type(b) is list else [b]
    if type(a) is str:
        hay = a.lower()
        return any(type(x) is str and x.lower() in hay for x in needles)
    if type(a) is list:
        folded = [_fold(x) for x in a]
        return any(
            x is not None and any(eq(_fold(x), y) for y in folded) for x in needles
        )
    return False


def contains_text(a: object, needles: tuple[str, ...], needle_set: frozenset[str]) -> bool:
    """``contains`` with constant text on the right, the needles already lower-cased.

    The same answer as :func:`contains` (the compiler emits it for ``x contains "a"``
    and ``x contains ["a", "b"]``), without lower-casing the needles for every lead.
    """
    t = type(a)
    if t is str:
        hay = a.lower()
        for x in needles:
            if x in hay:
                return True
        return False
    if t is list:
        for e in a:
            if type(e) is str and e.lower() in needle_set:
                return True
    return False


def starts_with(a: object, b: object) -> bool:
    if type(a) is not str or b is None:
        return False
    needles = b if type(b) is list else [b]
    hay = a.lower()
    return any(type(x) is str and hay.startswith(x.lower()) for x in needles)


def ends_with(a: object, b: object) -> bool:
    if type(a) is not str or b is None:
        return False
    needles = b if type(b) is list else [b]
    hay = a.lower()
    return any(type(x) is str and hay.endswith(x.lower()) for x in needles)


# --------------------------------------------------------------------------- arithmetic


def _exact(a: object, b: object, r: object) -> bool:
    """Whether ``r``, from ``a`` and ``b`` by ``+ - *``, is the double the operator gives:
    a float is (Python converts an int operand to a double first); an int is when it
    and both operands are within ±2^53."""
    return type(r) is not int or (-EXACT <= r <= EXACT and -EXACT <= a <= EXACT  # type: ignore[operator]
                                  and -EXACT <= b <= EXACT)  # type: ignore[operator]


def _fl(v: object) -> float:
    """A number as a double; an ``int`` past a double's range is infinite, as SQL's
    ``CAST(… AS DOUBLE)`` reads it (Python's ``float()`` raises instead)."""
    try:
        return float(v)  # type: ignore[arg-type]
    except OverflowError:
        return math.inf if v > 0 else -math.inf  # type: ignore[operator]


def add(a: object, b: object) -> object:
    """``a + b`` in IEEE doubles: an int sum only where it is exactly the double one; an
    ``int`` past a double's range is infinite (so ``inf - inf`` is NaN, as in SQL)."""
    if is_number(a) and is_number(b):
        if type(a) is int and type(b) is int:
            r = a + b
            if _exact(a, b, r):
                return r
        return _fl(a) + _fl(b)
    return None


def sub(a: object, b: object) -> object:
    if is_number(a) and is_number(b):
        if type(a) is int and type(b) is int:
            r = a - b
            if _exact(a, b, r):
                return r
        return _fl(a) - _fl(b)
    return None


def mul(a: object, b: object) -> object:
    if is_number(a) and is_number(b):
        if type(a) is int and type(b) is int:
            r = a * b
            if _exact(a, b, r):
                return r
        return _fl(a) * _fl(b)
    return None


def div(a: object, b: object) -> object:
    if is_number(a) and is_number(b) and b != 0:
        if type(a) is int and not -EXACT <= a <= EXACT:
            a = _fl(a)
        if type(b) is int and not -EXACT <= b <= EXACT:
            b = _fl(b)
        return a / b  # type: ignore[operator]
    return None


def neg(a: object) -> object:
    return -a if is_number(a) else None  # type: ignore[operator]


# --------------------------------------------------------------------------- functions


def days_since(t: object, as_of: int) -> object:
    """Fractional days from timestamp ``t`` (µs) to the evaluation time."""
    if type(t) is not int:
        return None
    return (as_of - t) / US_PER_DAY


def hours_since(t: object, as_of: int) -> object:
    if type(t) is not int:
        return None
    return (as_of - t) / US_PER_HOUR


def lower(s: object) -> object:
    return s.lower() if type(s) is str else None


def length(x: object) -> object:
    return len(x) if type(x) is str or type(x) is list else None


def domain(email: object) -> object:
    """The part after the last ``@``, lower-cased; missing when there is no ``@``."""
    if type(email) is not str or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].lower()


# --------------------------------------------------------------------------- scores


def per_points(points: float, count: object, cap: float | None) -> float:
    """``±N per F up to M``: min(N × F, M), F missing or negative counting as 0."""
    if not is_number(count) or count <= 0:  # type: ignore[operator]
        return 0
    # IEEE double arithmetic, as every engine's (spec section 10): an int count past
    # 2 ** 53 is rounded to a double first, as SQL's CAST does, and one past a
    # double's range is infinite, as SQL reads it (a cap then holds it)
    try:
        gained = float(abs(points)) * count  # type: ignore[operator]
    except OverflowError:
        gained = math.inf
    if cap is not None and gained > cap:
        gained = cap
    return gained if points >= 0 else -gained


def decay_factor(since: object, as_of: int, half_life_us: int) -> float:
    """0.5 ^ (elapsed / half-life); 1 when ``since`` is missing or later than ``as_of``."""
    if type(since) is not int or since > as_of:
        return 1.0
    return 0.5 ** ((as_of - since) / half_life_us)


#: A score is a 64-bit integer, as the tabular form's columns and SQL's BIGINT hold it;
#: a sum whose rounding falls outside that range (a huge count times its points, an
#: infinity, NaN) cannot be decided. Every engine applies the same bound.
SCORE_RANGE = "a score is not a finite number within the range of a 64-bit integer"
_BOUND = 9223372036854775808  # 2 ** 63


def round_half_away(x: float) -> int:
    """Round to the nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3).

    A result outside a 64-bit integer's range, or a sum that is not a number (an
    infinity from arithmetic that overflowed, NaN from a caller's own dict), raises
    ``ArithmeticError``: the lead cannot be decided (:data:`SCORE_RANGE`).
    """
    # not floor(x + 0.5): that sum is rounded itself (0.49999999999999994 gave 1, and an
    # odd integer between 2^52 and 2^53 the next one); x % 1.0, the fraction, is exact
    if x >= 0:
        if x < _BOUND:
            r = math.floor(x) + (x % 1.0 >= 0.5)
            if r < _BOUND:
                return r
    elif x > -_BOUND:
        r = -(math.floor(-x) + (-x % 1.0 >= 0.5))
        if r >= -_BOUND:
            return r
    elif x == -_BOUND:
        return -_BOUND
    raise ArithmeticError(SCORE_RANGE)


#: ``math.floor``, for round_half_away inlined in compiled rules (compiler.score_section)
floor = math.floor


def clamp(x: int, low: int, high: int) -> int:
    """``range LO to HI`` (integer bounds: the checker refuses others)."""
    return low if x < low else high if x > high else x


# --------------------------------------------------------------------------- durations


def whole_us(us: float) -> int:
    """Microseconds as the engines count them: a fraction rounded to the nearest µs."""
    return us if type(us) is int else round(us)


def working_us(amount: float, unit: str, calendar) -> int:
    """A business duration's working time in µs: ``business hours`` are hours, a
    ``business day`` is one workday's nominal hours on ``calendar``."""
    if calendar is None:
        # The checker refuses business durations without a calendar (E107).
        raise EngineFault("business durations need a `calendar` (E107)")
    per = US_PER_HOUR if unit == "business hours" else calendar.day_us
    return whole_us(amount * per)


def add_fixed(start: int, us: int) -> int | None:
    """``start`` + a fixed duration; None past :data:`LAST_INSTANT` (never)."""
    due = start + us
    return due if due <= LAST_INSTANT else None


def add_working(calendar, start: int, us: int) -> int | None:
    """The earliest instant at which ``us`` of working time has passed since ``start`` on
    ``calendar``; None when no representable instant holds that much working time."""
    try:
        due = calendar.add_business(start, us)
    except ValueError:
        return None
    return due if due <= LAST_INSTANT else None


def add_duration(start: int, duration, calendar) -> int | None:
    """``start`` + an :class:`~policy.engine.ir.Duration`, counted on ``calendar`` when it is
    business time; None when that falls past the year 9999."""
    if duration.fixed_us is not None:
        return add_fixed(start, duration.fixed_us)
    return add_working(calendar, start, working_us(duration.amount, duration.unit, calendar))


def half_life_factor(since: object, as_of: int, half_life_us: int | None) -> float:
    """:func:`decay_factor` of a resolved half-life (None: business time, refused)."""
    if half_life_us is None:
        # The checker refuses business time in `decay` (spec section 3).
        raise EngineFault("a decay half-life is a fixed duration, not business time")
    return decay_factor(since, as_of, half_life_us)


# --------------------------------------------------------------------------- violations


def invalid_reason_message(reason: object, reasons: object) -> str:
    """The ``invalid_rejection_reason`` violation's sentence."""
    agreed = (", ".join(_json(x) for x in reasons) if isinstance(reasons, list) else "") or "none"
    return f"rejection reason {_json(reason)} is not one of the agreed reasons: {agreed}"


def _json(v: object) -> str:
    try:
        return json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(v)


#: The built-in functions of one argument that do not read the evaluation time.
FUNCTIONS = {"lower": lower, "length": length, "domain": domain}
#: The built-in functions that read the evaluation time: ``f(t, as_of)``.
TIME_FUNCTIONS = {"days_since": days_since, "hours_since": hours_since}

#: Binary operators by spelling (``nodes.BinOp.value``): the one table the
#: interpreter and the checker's reasoning both read, so they cannot drift apart.
TESTS = {
    "==": eq, "!=": ne, "<": lt, "<=": le, ">": gt, ">=": ge,
    "in": member, "not in": not_member, "contains": contains,
    "starts with": starts_with, "ends with": ends_with,
}
_EXACT = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
          ">": operator.gt, ">=": operator.ge}


def ts_test(op: str, a: object, b: object) -> bool:
    """A comparison of two timestamps (µs since the epoch): in time order, exactly, as
    the SQL engines' BIGINTs compare them (spec section 3); :func:`lt` & co. would
    compare them as doubles, which past 2^53 µs (the year 2255) round to 16–64 µs."""
    if type(a) is int and type(b) is int:
        return _EXACT[op](a, b)
    return TESTS[op](a, b)


ARITHMETIC = {"+": add, "-": sub, "*": mul, "/": div}
OPERATORS = {**TESTS, **ARITHMETIC}

#: How many distinct score mappings one policy's compiled engine keeps (see scores_kept).
SCORES_KEPT = 4096


def scores_kept(kept: dict, key: object, scores: dict) -> MappingProxyType:
    """A decision's read-only scores, kept under ``key`` (their values, which the
    compiled engine passes only when every score is surely an ``int``, so equal keys
    mean identical mappings) while fewer than :data:`SCORES_KEPT` are kept: most
    decisions share a few score combinations, and a kept mapping costs one lookup
    where a new one costs a dict and a proxy (the same value either way: read-only)."""
    proxy = MappingProxyType(scores)
    if len(kept) < SCORES_KEPT:
        kept[key] = proxy
    return proxy


#: How many decisions one policy's ``decide`` keeps (compile_placement) before it starts over.
DECISIONS_KEPT = 4096


def decision_kept(kept: dict, key: tuple, decision: object) -> object:
    """``decision``, kept under ``key`` (``as_of``, the scores, the path: everything it
    depends on, so equal keys mean equal decisions; policy.engine.compile_placement).
    At :data:`DECISIONS_KEPT` the kept ones are dropped and keeping starts over, so a
    caller whose ``as_of`` moves keeps those of its latest instants, not its first."""
    if len(kept) >= DECISIONS_KEPT:
        kept.clear()
    kept[key] = decision
    return decision


#: The only names generated code may use (besides its own locals).
EXPORTS = {
    name: globals()[name]
    for name in (
        "get", "truthy", "eq", "ne", "lt", "le", "gt", "ge", "member", "not_member", "list_of",
        "contains", "contains_text", "starts_with", "ends_with", "add", "sub", "mul", "div", "neg",
        "days_since", "hours_since", "lower", "length", "domain", "per_points", "dbl",
        "decay_factor", "round_half_away", "clamp", "is_number", "add_fixed", "add_working",
        "working_us", "EngineFault", "invalid_reason_message", "scores_kept", "decision_kept",
        "floor", "ts_test",
    )
}
