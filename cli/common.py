"""Helpers shared by the sub-commands: exit statuses, loading with diagnostics."""

from __future__ import annotations

import sys

import click

from policy import InputError, LoadResult, load_cached, use_color
from policy import diagnostics_summary as summary_line
from policy import render_diagnostics as render_all

OK, PROBLEMS, USAGE = 0, 1, 2


def fail_usage(message: str) -> NoReturn:  # noqa: F821
    """Input that cannot be read at all: one line on stderr, exit 2."""
    click.echo(f"funnel: {message}", err=True)
    sys.exit(USAGE)


def load_checked(path: str, *, strict: bool = False, quiet_ok: bool = True) -> LoadResult:
    """Load and check a policy; print its diagnostics; exit 1 when it has errors.

    Warnings are printed but do not stop the command (unless ``strict``).
    """
    try:
        # A policy loaded before, with nothing it depends on changed, comes from the
        # cache (policy.model.cache): a short command then starts in a fraction.
        result = load_cached(path)
    except InputError as exc:
        fail_usage(str(exc))
    diags = result.diagnostics
    if diags:
        color = use_color(sys.stderr)
        click.echo(render_all(diags, result.sources, color=color, omitted=result.omitted),
                   err=True)
    failing = [d for d in diags if d.is_error or strict]
    if result.model is None or failing:
        if diags:
            click.echo(summary_line(diags), err=True)
        sys.exit(PROBLEMS)
    return result


def load_policy(path: str, *, strict: bool = False, local_tz: str | None = None):
    """A loaded :class:`policy.Policy` ready to evaluate; exits like :func:`load_checked`.

    ``local_tz``: the zone lead timestamps without an offset are read in (``--local-tz``,
    already checked by :func:`cli.leadfile.local_tz_option`)."""
    from policy import Policy

    result = load_checked(path, strict=strict)
    return Policy.from_result(result, local_tz=local_tz)
