"""The abstract domain of condition reasoning (:mod:`policy.check.reasoning`): the sets of
values a term of a condition may take, as exact as the checker's warnings need.

**Terms and value sets.** A *term* is anything whose value comes from the lead: a field
path, a score, a function of a term (``domain(email)``), any other non-constant
expression. A :class:`ValueSet` is a set of run-time values a term may take: *missing*,
unions of number intervals (open or closed ends), a finite or co-finite set of strings,
booleans, and "other" (lists, objects). Every atom of a condition is the exact set of
values for which it holds, so ``not`` is an exact complement. Because a comparison that
touches a missing value is false (LANGUAGE.md §3), ``x >= 5`` is the set of numbers from
5 up, which excludes *missing*: it implies ``x is present``.

**Universes.** A term's values are limited by what is known about it: the schema's
types and ``enum`` for a field (a lead is validated before it is evaluated), instants for
a timestamp, whole numbers between the reachable bounds for a score
(:func:`policy.check.bounds.score_ranges`), true or false for a condition.

Pure values: nothing here reads a policy. The interval algebra (``iv_*``) works on
normal unions (sorted, disjoint, non-empty) so that every operation is one merge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs

__all__ = [
    "ALL",
    "ALL_NUMBERS",
    "ANYTHING",
    "BOOLS",
    "CONDITION",
    "EMPTY",
    "INF",
    "Interval",
    "MISSING",
    "NUMBERS_OR_MISSING",
    "PRESENT",
    "STRINGS_OR_MISSING",
    "TRUE_ONLY",
    "Universe",
    "ValueSet",
    "iv_normal",
    "value_set",
]

INF = math.inf

# --------------------------------------------------------------------------- intervals

#: ``(low, low_closed, high, high_closed)``; infinite ends are always open.
Interval = tuple[object, bool, object, bool]


def iv_empty(iv: Interval) -> bool:
    lo, lc, hi, hc = iv
    return lo > hi or (lo == hi and not (lc and hc))  # type: ignore[operator]


def iv_and(p: Interval, q: Interval) -> Interval:
    # the larger low end, the smaller high end; at a tie, closed only if both are
    if p[0] > q[0]:  # type: ignore[operator]
        lo, lc = p[0], p[1]
    elif p[0] < q[0]:  # type: ignore[operator]
        lo, lc = q[0], q[1]
    else:
        lo, lc = p[0], p[1] and q[1]
    if p[2] < q[2]:  # type: ignore[operator]
        hi, hc = p[2], p[3]
    elif p[2] > q[2]:  # type: ignore[operator]
        hi, hc = q[2], q[3]
    else:
        hi, hc = p[2], p[3] and q[3]
    return (lo, lc, hi, hc)


def iv_normal(parts: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, disjoint, non-empty; touching intervals merged."""
    items = sorted((p for p in parts if not iv_empty(p)), key=lambda p: (p[0], not p[1]))
    out: list[Interval] = []
    for p in items:
        if out:
            q = out[-1]
            if q[2] > p[0] or (q[2] == p[0] and (q[3] or p[1])):  # type: ignore[operator]
                if p[2] > q[2]:  # type: ignore[operator]
                    out[-1] = (q[0], q[1], p[2], p[3])
                elif p[2] == q[2]:
                    out[-1] = (q[0], q[1], q[2], q[3] or p[3])
                continue
        out.append(p)
    return tuple(out)


def iv_intersect(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """The intersection of two normal unions, by one merge over both: linear in their
    sizes (a define list of 100,000 numbers is one union of 100,000 points)."""
    if not a or not b:
        return ()
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        p, q = a[i], b[j]
        both = iv_and(p, q)
        if not iv_empty(both):
            out.append(both)
        # drop the interval that ends first: it meets nothing further in the other list
        if p[2] < q[2] or (p[2] == q[2] and not p[3] and q[3]):  # type: ignore[operator]
            i += 1
        else:
            j += 1
    return iv_normal(out)


def iv_complement(a: tuple[Interval, ...]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    lo, lc = -INF, False
    for p in a:
        out.append((lo, lc, p[0], not p[1]))
        lo, lc = p[2], not p[3]
    out.append((lo, lc, INF, False))
    return iv_normal(out)


def iv_integers(a: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """The whole numbers of ``a``, as closed intervals with whole-number ends."""
    out: list[Interval] = []
    for lo, lc, hi, hc in a:
        if lo == INF or hi == -INF:
            continue  # only a literal too large for a float gets here: no whole number
        if lo != -INF:
            lo, lc = (math.ceil(lo) if lc else math.floor(lo) + 1), True  # type: ignore[arg-type]
        if hi != INF:
            hi, hc = (math.floor(hi) if hc else math.ceil(hi) - 1), True  # type: ignore[arg-type]
        out.append((lo, lc, hi, hc))
    return iv_normal(out)


ALL_NUMBERS: tuple[Interval, ...] = ((-INF, False, INF, False),)



# --------------------------------------------------------------------------- value sets


@attrs.frozen
class ValueSet:
    """A set of run-time values: missing, numbers, strings, booleans, other.

    ``numbers`` is a union of intervals; ``strings`` is finite, or with
    ``strings_co`` every string but those; ``other`` stands for every list and
    object (never modelled value by value, so atoms never pick some of them).
    """

    missing: bool = False
    numbers: tuple[Interval, ...] = ()
    strings: frozenset[str] = frozenset()
    strings_co: bool = False
    bools: frozenset[bool] = frozenset()
    other: bool = False

    def __and__(self, o: ValueSet) -> ValueSet:
        if self.strings_co and o.strings_co:
            strings, co = self.strings | o.strings, True
        elif self.strings_co:
            strings, co = o.strings - self.strings, False
        elif o.strings_co:
            strings, co = self.strings - o.strings, False
        else:
            strings, co = self.strings & o.strings, False
        return ValueSet(
            self.missing and o.missing,
            iv_intersect(self.numbers, o.numbers),
            frozenset(strings),
            co,
            self.bools & o.bools,
            self.other and o.other,
        )

    def __or__(self, o: ValueSet) -> ValueSet:
        if self.strings_co and o.strings_co:
            strings, co = self.strings & o.strings, True
        elif self.strings_co:
            strings, co = self.strings - o.strings, True
        elif o.strings_co:
            strings, co = o.strings - self.strings, True
        else:
            strings, co = self.strings | o.strings, False
        return ValueSet(
            self.missing or o.missing,
            iv_normal(self.numbers + o.numbers),
            frozenset(strings),
            co,
            self.bools | o.bools,
            self.other or o.other,
        )

    def __invert__(self) -> ValueSet:
        return ValueSet(
            not self.missing,
            iv_complement(self.numbers),
            self.strings,
            not self.strings_co,
            frozenset({True, False}) - self.bools,
            not self.other,
        )

    def is_empty(self) -> bool:
        return not (
            self.missing
            or self.numbers
            or self.strings
            or self.strings_co
            or self.bools
            or self.other
        )

    def integral(self) -> ValueSet:
        """The same set with its numbers limited to whole numbers."""
        return attrs.evolve(self, numbers=iv_integers(self.numbers))


#: Every value, missing included.
ALL = ValueSet(True, ALL_NUMBERS, frozenset(), True, frozenset({True, False}), True)
#: Every value but missing.
PRESENT = attrs.evolve(ALL, missing=False)
EMPTY = ValueSet()
MISSING = ValueSet(missing=True)
TRUE_ONLY = ValueSet(bools=frozenset({True}))
BOOLS = ValueSet(bools=frozenset({True, False}))
NUMBERS_OR_MISSING = ValueSet(missing=True, numbers=ALL_NUMBERS)
STRINGS_OR_MISSING = ValueSet(missing=True, strings_co=True)


def value_set(values: Iterable[object]) -> ValueSet | None:
    """The exact set holding ``values`` (constants), or None when one cannot be modelled.

    Built in one pass and normalised once (n log n), not by a union per value, which
    was quadratic in the length of a define list."""
    numbers: list[Interval] = []
    strings: set[str] = set()
    bools: set[bool] = set()
    for v in values:
        if v is None:
            continue  # a comparison with null is never true: null adds nothing
        if isinstance(v, bool):
            bools.add(v)
        elif isinstance(v, int | float):
            if v != v:  # NaN
                return None
            numbers.append((v, True, v, True))
        elif isinstance(v, str):
            strings.add(v)
        else:
            return None
    return ValueSet(numbers=iv_normal(numbers), strings=frozenset(strings),
                    bools=frozenset(bools))


@attrs.frozen
class Universe:
    """What a term can hold at all; ``integral``: its numbers are whole numbers."""

    values: ValueSet
    integral: bool = False

    def restrict(self, vs: ValueSet) -> ValueSet:
        out = vs & self.values
        return out.integral() if self.integral else out


ANYTHING = Universe(ALL)
CONDITION = Universe(BOOLS)

