"""Check: the static checks of LANGUAGE.md §6, as a table of named passes.

The loader runs this phase after parsing every file, reading the schema and building
the :class:`~policy.model.namespace.PolicyModel`
(:func:`policy.model.loader.load_model`); it then sorts
the diagnostics by location and keeps at most ten errors. Each pass in :data:`PASSES`
reads the model and returns :class:`~policy.syntax.diagnostics.Diagnostic` values with the
span of the offending word; none of them raises, whatever tree the parser produced,
and each is linear in the size of the policy (suggestions and the reasoning behind the
warnings only run where there is something to say).

The passes, in order: ``declarations`` (the header, names declared twice, name style),
``names`` (unknown names, fields and functions; names that shadow fields), ``owners``
(teams, stages and states that blocks point to), ``funnel`` (the funnel line against the
stages, team boundaries, handoff and block structure), ``calendar``, ``types``
(:mod:`policy.check.types`), ``cycles`` (among defines and scores), ``examples``, ``usage``
(defines nothing uses) and ``reasoning`` (routes, thresholds and gates that can never
apply, with :mod:`policy.check.reasoning`).

The checker only reports; the model builds the calendars the engines count with
(:func:`policy.model.calendar.work_calendars`).

The passes live in :mod:`policy.check.passes`, what they share in
:mod:`policy.check.context`.
"""

from __future__ import annotations

from collections.abc import Iterable

from policy.check.context import SLA_STATUSES, VIOLATION_CODES, Context, Pass, did_you_mean
from policy.check.passes.calendar import check_calendar
from policy.check.passes.declarations import check_declarations, check_names, check_owners
from policy.check.passes.examples import check_examples, check_usage
from policy.check.passes.graph import check_cycles, check_types_pass
from policy.check.passes.reasoning import check_reasoning
from policy.check.passes.structure import check_funnel
from policy.model.namespace import PolicyModel
from policy.syntax.diagnostics import Diagnostic

#: The codes this phase reports (E110 comes from here for lead files, from the loader for
#: schemas and `lines` lists; W206 comes from the loader, which reads `lines` lists); the
#: others in :data:`policy.syntax.diagnostics.CODES` belong to other phases.
EMITS = (
    "E101", "E102", "E103", "E104", "E105", "E106", "E107", "E108", "E109", "E110", "E112",
    "E113", "W201", "W202", "W203", "W204", "W205", "W206", "W207", "W208", "W209", "W210",
    "W211",
)


# --------------------------------------------------------------------------- the table

#: The checker's passes, in the order they run.
PASSES: tuple[Pass, ...] = (
    Pass("declarations", check_declarations),
    Pass("names", check_names),
    Pass("owners", check_owners),
    Pass("funnel", check_funnel),
    Pass("calendar", check_calendar),
    Pass("types", check_types_pass),
    Pass("cycles", check_cycles),
    Pass("examples", check_examples),
    Pass("usage", check_usage),
    Pass("reasoning", check_reasoning),
)


def check_policy(model: PolicyModel, prior: Iterable[Diagnostic] = ()) -> list[Diagnostic]:
    """Run every pass over ``model``; the diagnostics come unsorted (the loader sorts them).

    ``prior`` are the loader's own (a `lines` file that could not be read): the passes
    do not repeat them, and return only what they found.
    """
    ctx = Context(model, prior)
    for p in PASSES:
        ctx.found.extend(p.run(ctx))
    return ctx.found


__all__ = [
    "EMITS",
    "PASSES",
    "Context",
    "Pass",
    "SLA_STATUSES",
    "VIOLATION_CODES",
    "check_policy",
    "did_you_mean",
]
