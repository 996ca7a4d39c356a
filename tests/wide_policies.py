"""Wide policies for the Spark tier: many scores, defines, stages and handoffs.

``wide_policies(scores, handoffs, defines)`` draws the text of a policy over the
vocabulary of :mod:`engine_strategies` (so its ``leads()`` and ``leads_for()`` fit), with
the same kinds of rules as ``policies()`` but many more of them: ``defines`` defines
(numbers, conditions, and defines reading defines), ``scores`` scores (each may read the
earlier ones; ``chain=True`` makes every score read the one before, the deepest
statement), a funnel of ``handoffs + 1`` stages whose owner changes at every boundary
(so every boundary has a handoff, with routes, SLAs on business and fixed time,
escalations and rejections), and recycle rules.

Import from a test module as ``from wide_policies import wide_policies``.
"""

from __future__ import annotations

import attrs
from engine_strategies import (
    NUMBER_FIELDS,
    REASONS,
    STATES,
    STRING_FIELDS,
    TEAMS,
    _calendar,
    _handoff,
    _number_literal,
    _order,
    _Scope,
    _score,
    _small,
    _stage,
    _str_list,
    conditions,
    quote,
)
from hypothesis import strategies as st


@st.composite
def wide_policies(draw, scores: int = 20, handoffs: int = 3, defines: int = 10,
                  chain: bool = False) -> str:
    """The text of a valid wide policy (see the module docstring)."""
    business = draw(st.booleans())
    out = ['policy wide "A wide generated policy"', 'version "1"', "id lead_id"]
    out += [f'team {t} "@acme/{t}"' for t in TEAMS]
    if business:
        out.append(draw(_calendar()))
    stages = [f"st{i}" for i in range(handoffs + 1)]
    out.append("funnel " + " -> ".join(stages))
    out.append(f"define agreed_reasons = {draw(_str_list(REASONS))}")
    out.append(f"define good_levels = {draw(_str_list(STRING_FIELDS['level']))}")
    out.append(f"define sizes = [{', '.join(draw(st.lists(_small, max_size=3)))}]")
    scope = _Scope(string_lists=("good_levels",), number_lists=("sizes",))
    numbers: list[str] = []
    conds: list[str] = []
    for i in range(defines):
        kind = i % 3
        if kind == 0:  # a number over fields, or over an earlier number define
            base = draw(st.sampled_from((*NUMBER_FIELDS, *numbers[-2:])))
            out.append(f"define n{i} = {base} * {draw(_small)} + {i}")
            numbers.append(f"n{i}")
        elif kind == 1:  # a condition over fields and earlier defines
            out.append(f"define c{i} = {draw(conditions(scope, depth=1))}")
            conds.append(f"c{i}")
        else:  # a define reading defines
            out.append(f"define c{i} = {draw(st.sampled_from(numbers))} {draw(_order)} "
                       f"{draw(_number_literal())}" + (
                           f" or {draw(st.sampled_from(conds))}" if conds else ""))
            conds.append(f"c{i}")
        scope = attrs.evolve(scope, conditions=tuple(conds), numbers=tuple(numbers))
    names = [f"sc{i}" for i in range(scores)]
    for i, name in enumerate(names):
        if chain and i:
            lines = [f"score {name} owned by marketing {{",
                     f"  +{draw(st.sampled_from(('5', '10', '2.5')))} if {names[i - 1]} > "
                     f"{draw(st.integers(0, 20))}",
                     f"  +1 if {draw(conditions(scope, depth=1))}", "}"]
            out.append("\n".join(lines))
            continue
        # each score may read the few scores just before it (a shallow dependency)
        out.append(draw(_score(name, attrs.evolve(scope, scores=tuple(names[max(0, i - 2):i])
                                                  if draw(st.integers(0, 3)) == 0 else ()))))
    scope = attrs.evolve(scope, scores=tuple(names))
    owners = [TEAMS[i % 2] for i in range(len(stages))]
    for name, owner in zip(stages, owners, strict=True):
        out.append(draw(_stage(name, owner, scope)))
    out += [f"state {s} {quote(s)} owned by marketing" for s in STATES]
    for i in range(handoffs):
        out.append(draw(_handoff(stages[i], owners[i + 1], scope, business=business)))
    for _ in range(draw(st.integers(0, 2))):
        out.append(f"recycle {draw(st.sampled_from(stages))} to "
                   f"{draw(st.sampled_from(STATES))} if {draw(conditions(scope))}")
    return "\n".join(out) + "\n"
