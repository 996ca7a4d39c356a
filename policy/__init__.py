"""funnel-policy: rules as code for the marketing-to-sales funnel.

The library (spec section 8)::

    import policy
    p = policy.load("rules/")                  # raises policy.PolicyError
    d = p.evaluate(lead, as_of=some_datetime)  # a Decision; raises policy.LeadError
    for r in p.evaluate_many(leads, as_of=...):
        ...                                    # a Decision or a LeadError each, in order
    print(p.explain(lead, as_of=...))

The names below are imported on first use, so ``import policy`` stays cheap for
commands (``funnel check``, ``funnel fmt``) that never evaluate a lead.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from policy.api import Policy, load
    from policy.engine.decision import (
        Decision,
        HandoffResult,
        LeadError,
        NextStep,
        PolicyInfo,
        Problem,
        SlaResult,
        TraceEvent,
        Violation,
    )
    from policy.syntax.diagnostics import Diagnostic, PolicyError

#: public name -> the module (inside this package) that defines it
_EXPORTS = {
    "load": "api",
    "Policy": "api",
    "PolicyError": "syntax.diagnostics",
    "Diagnostic": "syntax.diagnostics",
    "LeadError": "engine.decision",
    "Decision": "engine.decision",
    "Problem": "engine.decision",
    "PolicyInfo": "engine.decision",
    "Violation": "engine.decision",
    "SlaResult": "engine.decision",
    "HandoffResult": "engine.decision",
    "NextStep": "engine.decision",
    "TraceEvent": "engine.decision",
}

__all__ = [
    "Decision",
    "Diagnostic",
    "HandoffResult",
    "LeadError",
    "NextStep",
    "Policy",
    "PolicyError",
    "PolicyInfo",
    "Problem",
    "SlaResult",
    "TraceEvent",
    "Violation",
    "load",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
