"""Helpers shared by the sub-commands: exit statuses, loading with diagnostics."""

from __future__ import annotations

import os
import sys

import click

from policy import InputError, LoadResult, load_cached, use_color
from policy import diagnostics_summary as summary_line
from policy import render_diagnostics as render_all
from policy import terminal_text as terminal

OK, PROBLEMS, USAGE = 0, 1, 2


def fail_usage(message: str) -> NoReturn:  # noqa: F821
    """Input that cannot be read at all: one line on stderr, exit 2.

    The message names files and quotes leads, so it is terminal text: a line feed, CR,
    escape sequence or bidi override in a file name is a visible escape (a folder named
    ``a<LF>::warning::…`` started a workflow command in a CI log)."""
    say(f"funnel: {message}")
    sys.exit(USAGE)


def say(line: str) -> None:
    """One line on standard error, every control character, line break and bidi
    override in it (from a file name, a lead, a policy) as a visible escape."""
    click.echo(terminal(line), err=True)


def policy_unreadable(exc: Exception, path: str) -> NoReturn:  # noqa: F821
    """A policy PATH that cannot be read: one line, exit 2. A folder with no *.funnel
    files of its own whose sub-folder holds some (the project root `funnel init` makes,
    where `funnel check` and `funnel test` look by default) names that sub-folder: it
    said only "no *.funnel files in this directory"."""
    message = str(exc)
    if path == "-" and not os.path.exists(path):
        # it said "-: no such file or directory", as if `-` were a file name
        fail_usage("a policy is read from a folder of *.funnel files or one file, not "
                   "standard input (`-`); only `funnel fmt -` reads standard input")
    if message.endswith("no *.funnel files in this directory") and os.path.isdir(path):
        try:
            with os.scandir(path) as entries:
                subs = sorted(e.name for e in entries if e.is_dir()
                              and not e.name.startswith(".") and _holds_policy(e.path))
        except OSError:
            subs = []
        if subs:
            folder = subs[0] if path in (".", "./") else os.path.join(path, subs[0])
            message += f"; its folder {folder} holds a policy: give that as PATH"
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.info_name in ("check", "test", "docs", "sql"):
                message += f" (`funnel {ctx.info_name} {folder}`)"
    fail_usage(message)


def _holds_policy(folder: str) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(e.name.endswith(".funnel") and e.is_file() for e in entries)
    except OSError:
        return False


def refuse_input_as_output(output: str | None, *, policy: str | None = None,
                           leads: str | None = None) -> None:
    """Exit 2 when ``-o`` names a file the command reads: the leads file, or the policy
    file (a ``*.funnel`` file of the policy folder). Written atomically, the output
    replaced it once the run ended: `eval rules leads.jsonl -o leads.jsonl` left the
    decisions where the leads were, `docs rules -o rules/policy.funnel` a Markdown page
    where the policy was."""
    if not output or not os.path.exists(output):
        return
    for what, given in (("the leads file", leads), ("the policy file", policy)):
        if given and given != "-" and os.path.isfile(given) and os.path.samefile(output, given):
            fail_usage(f"{output}: cannot write: it is {what} this command reads; "
                       "write to another file")
    if policy and os.path.isdir(policy) and output.endswith(".funnel"):
        inside = os.path.relpath(os.path.realpath(output), os.path.realpath(policy))
        if not inside.startswith(os.pardir):
            fail_usage(f"{output}: cannot write: it is a file of the policy this command "
                       "reads; write to another file")


def open_decisions(pol, fmt: str, output: str | None, at: int):  # noqa: ANN201
    """Where decisions go, and the writer for them: ``(target, out, writer)``.

    An ``-o`` file is written beside its target and renamed into place when ``target``
    exits, so an error or an interruption never leaves a torn file; without ``-o`` the
    decisions go to standard output. They are UTF-8 JSON or CSV whatever the terminal's
    locale says. ``eval``'s python path and the other engines share this.
    """
    import policy

    try:
        sys.stdout.flush()
        target = policy.atomic_open(output, binary=True) if output else None
        binary = target.__enter__() if target is not None else sys.stdout.buffer
    except OSError as exc:
        fail_usage(f"{output}: cannot write: {exc.strerror or exc}")
    out = policy.open_output_stream(binary)
    return target, out, policy.decision_writer(pol, fmt, out, at)


def load_checked(path: str, *, strict: bool = False, quiet_ok: bool = True) -> LoadResult:
    """Load and check a policy; print its diagnostics; exit 1 when it has errors.

    Warnings are printed but do not stop the command (unless ``strict``).
    """
    try:
        # A policy loaded before, with nothing it depends on changed, comes from the
        # cache (policy.model.cache): a short command then starts in a fraction.
        result = load_cached(path)
    except InputError as exc:
        policy_unreadable(exc, path)
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
