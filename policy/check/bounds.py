"""The values each score can reach (W203, and the universe of a score's term in
:mod:`policy.check.reasoning`): an over-approximation from its points and its ``range``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import attrs

from policy.check.valuesets import INF, Interval
from policy.model.namespace import PolicyModel
from policy.syntax import nodes as n

__all__ = ["ScoreRange", "score_ranges"]

@attrs.frozen
class ScoreRange:
    """The values a score can reach: ``low`` to ``high`` (whole numbers or infinite).

    ``low_by`` and ``high_by`` say what sets each end: ``"range"`` (the score's
    ``range`` line) or ``"points"`` (the sum of its negative or positive points).
    """

    low: int | float
    high: int | float
    low_by: str = "points"
    high_by: str = "points"

    def contains_whole(self) -> tuple[Interval, ...]:
        lo_closed = self.low != -INF
        hi_closed = self.high != INF
        return ((self.low, lo_closed, self.high, hi_closed),)


def _exact(x: int | float) -> Fraction | float:
    if isinstance(x, float) and math.isinf(x):
        return x
    return Fraction(x)


def _round_half_away(x: Fraction | float) -> int | float:
    if isinstance(x, float):  # infinite
        return x
    half = Fraction(1, 2)
    return math.floor(x + half) if x >= 0 else -math.floor(-x + half)


def score_ranges(model: PolicyModel) -> dict[str, ScoreRange]:
    """Every score's reachable interval (an over-approximation: each rule may fire or not).

    Positive points add up to the high end and negative ones to the low end; ``per``
    without ``up to`` is unbounded; ``decay`` only shrinks toward 0, which both ends
    already hold; the sum is rounded, then clamped by ``range``.
    """
    out: dict[str, ScoreRange] = {}
    for name, score in model.scores.items():
        lo: Fraction | float = Fraction(0)
        hi: Fraction | float = Fraction(0)
        clamp: n.Range | None = None
        for item in score.items:
            if isinstance(item, n.PointsIf):
                p = _exact(item.points)
                if p > 0:
                    hi = hi + p
                elif p < 0:
                    lo = lo + p
            elif isinstance(item, n.PointsPer) and item.points != 0:
                gain = _exact(item.cap) if item.cap is not None else INF
                if item.points > 0:
                    hi = hi + gain
                else:
                    lo = lo - gain
            elif isinstance(item, n.Range) and clamp is None:
                clamp = item
        low, high = _round_half_away(lo), _round_half_away(hi)
        low_by = high_by = "points"
        if clamp is not None and clamp.low <= clamp.high:
            if low < clamp.low:
                low, low_by = clamp.low, "range"
            if high > clamp.high:
                high, high_by = clamp.high, "range"
            if low > clamp.high:
                low, low_by = clamp.high, "range"
            if high < clamp.low:
                high, high_by = clamp.low, "range"
        out[name] = ScoreRange(_tidy(low), _tidy(high), low_by, high_by)
    return out


def _tidy(x: object) -> int | float:
    if isinstance(x, float) and math.isinf(x):
        return x
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x  # type: ignore[return-value]

