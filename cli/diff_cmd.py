"""`funnel diff BASE [HEAD]`: what a change to the policy does, and whose approval it needs."""

from __future__ import annotations

import io
import json
import sys
from contextlib import ExitStack

import attrs
import click

from .common import OK, PROBLEMS, fail_usage, refuse_input_as_output, say
from .leadfile import as_of_option, local_tz_option, now_us, open_leads
from .output import emit, output_option, stdout_write

FORMATS = ("text", "markdown", "json")


def write_utf8(text: str) -> None:
    """Write to standard output as UTF-8 (≥, →) whatever the terminal's locale says."""
    stdout_write(text)


def _relabelled(result, source):
    """The load result's diagnostics and sources with revision paths shown as ``REV:path``."""
    diags = tuple(
        attrs.evolve(d, span=attrs.evolve(d.span, file=source.display(d.span.file)))
        for d in result.diagnostics
    )
    sources = {source.display(k): v for k, v in result.sources.items()}
    return diags, sources


def _load(source, *, comment: str | None = None, output: str | None = None):
    """Load and check one side; print its errors and exit 1 when it has any.

    With ``comment`` (the markdown format), the errors also become the report itself: a
    pull-request comment that shows the diagnostics, so a workflow never posts an empty
    comment when HEAD does not load.
    """
    from policy import InputError, load_cached, load_model, use_color
    from policy import diagnostics_summary as summary_line
    from policy import render_diagnostics as render_all

    try:
        # A directory comes from the policy cache (with its compiled engine), as for
        # every other command; a revision is a fresh temporary copy each time, which a
        # cache keyed by its path could never find again.
        result = load_model(source.path) if source.checkout else load_cached(source.path)
    except InputError as exc:
        # the message names the file it could not read; a folder's label is its path,
        # which said it twice (`funnel: old: old: no *.funnel files in this directory`)
        fail_usage(f"{source.label}: {source.relabel(str(exc))}" if source.checkout
                   else str(exc))
    if result.ok:
        return result
    diags, sources = _relabelled(result, source)
    errors = tuple(d for d in diags if d.is_error)
    say(f"funnel: the policy at {source.label} has errors:")
    click.echo(render_all(errors, sources, color=use_color(sys.stderr), omitted=result.omitted),
               err=True)
    click.echo(summary_line(errors), err=True)
    if comment == "markdown":
        from policy import load_failure_markdown

        text = load_failure_markdown(source.label, render_all(errors, sources),
                                     summary_line(errors))
        _emit(text, output, summary=f"{source.label} does not load: {summary_line(errors)}")
    sys.exit(PROBLEMS)


def _emit(text: str, output: str | None, *, summary: str) -> None:
    """The report to ``output`` (then ``summary`` on stdout) or to standard output."""
    if output:
        emit(text, output)  # atomically: a failed run keeps the previous report
        emit(summary)
    else:
        stdout_write(text)


@click.command("diff")
@click.argument("base")
@click.argument("head", required=False)
@click.option("--policy", "policy_path", default="rules", show_default=True, metavar="PATH",
              help="Where the policy lives, relative to the current directory: read at each "
                   "git revision, and in the working tree when HEAD is not given.")
@click.option("--leads", metavar="FILE", default=None,
              help="Also evaluate both versions on these leads (JSONL, JSON or CSV, by "
                   "extension) and show what moves.")
@as_of_option
@local_tz_option
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Evaluate --leads in N worker processes (the report does not change). "
                   "Default: the machine's cores; a short file is evaluated in one.")
@click.option("--samples", type=click.IntRange(min=0), default=5, show_default=True,
              metavar="N", help="Lead ids shown for each kind of change.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="markdown is ready to post as a pull-request comment.")
@click.option("--fail-on-change", is_flag=True,
              help="Exit 1 when the policy's meaning changed (examples alone do not count).")
@output_option("the report")
def diff(base: str, head: str | None, policy_path: str, leads: str | None, as_of: int | None,
         samples: int, fmt: str, fail_on_change: bool, output: str | None,
         local_tz: str | None = None, jobs: int | None = None) -> None:
    """Compare two versions of a policy by meaning, not by text.

    BASE and HEAD are each a directory holding a policy, or a git revision (a
    branch, a tag, HEAD~1, a sha) of the repository you are in, from which
    --policy is read without touching your work tree. HEAD defaults to the
    working tree. A reformat or a new comment is not a change. Each changed
    declaration is shown with its old and new text and its owners; the teams
    whose approval the change needs are listed with their handles.

    \b
    Examples:
      funnel diff main
      funnel diff HEAD~1 --fail-on-change
      funnel diff main --leads rules/leads.jsonl --as-of 2026-12-01 --format markdown
      funnel diff old-rules/ rules/ --format json

    With --format markdown, a version that does not load gives a comment that
    shows its diagnostics (and exit 1), never an empty one. When the meaning
    changed but `version` did not, the report says so.

    Exit status: 0 done; 1 --fail-on-change and the meaning changed, or a version
    has errors; 2 a revision or path that cannot be read.
    """
    from policy import DiffReport, RevisionError, json_safe, open_policy, semantic_diff

    for given in (base, head):  # each a folder or file, or a git revision
        refuse_input_as_output(output, policy=given, leads=leads)
    with ExitStack() as stack:
        try:
            base_src = stack.enter_context(open_policy(base, policy=policy_path))
            head_src = stack.enter_context(open_policy(head, policy=policy_path))
        except RevisionError as exc:
            fail_usage(exc.message)
        base_res = _load(base_src, comment=fmt, output=output)
        head_res = _load(head_src, comment=fmt, output=output)
        changes = semantic_diff(base_res.model, head_res.model,
                                base_display=base_src.display, head_display=head_src.display)
        impact = None
        if leads is not None:
            impact = _impact(base_res, head_res, leads, now_us() if as_of is None else as_of,
                             samples, local_tz, jobs)
        report = DiffReport(base_src, head_src, base_res.model, head_res.model, changes, impact)
        if fmt == "json":
            text = json_safe(json.dumps(report.to_dict(), indent=2, ensure_ascii=False)) + "\n"
        elif fmt == "markdown":
            text = report.to_markdown()
        else:
            # declarations, handles and lead ids come from policy and lead files: no
            # escape sequence, bell or bidi override reaches a terminal (docs/security.md)
            from policy import terminal_text

            text = terminal_text(report.to_text(), newlines=True)
    _emit(text, output, summary=report.summary())
    sys.exit(PROBLEMS if fail_on_change and changes.changed else OK)


def _impact(base_res, head_res, leads: str, at: int, samples: int,
            local_tz: str | None = None, jobs: int | None = None):
    """Evaluate both versions on the leads in ``leads`` (exit 2 when they cannot be read)."""
    from policy import (
        LeadFileError,
        Policy,
        ReadFailed,
        csv_kinds,
        default_jobs,
        input_format_of,
        lead_units,
    )
    from policy import measure_impact_units as measure

    source, _size, shown = open_leads(leads)
    head_model = head_res.model
    # CSV cells are typed once, by HEAD's schema (or, without one, HEAD's use of each
    # field), so both versions see the same lead;
    # JSON Lines are read as `funnel eval` reads them (blocks of bytes, each decoded by
    # whichever process measures it)
    stream = io.BufferedReader(source)  # type: ignore[arg-type]
    fmt = input_format_of(leads, source.head)
    units = lead_units(stream, fmt, schema=head_model.schema, kinds=csv_kinds(head_model, fmt))
    try:
        return measure(Policy.from_result(base_res, local_tz=local_tz),
                       Policy.from_result(head_res, local_tz=local_tz), units,
                       as_of=at, samples=samples,
                       jobs=default_jobs() if jobs is None else jobs)
    except LeadFileError as exc:
        fail_usage(f"{shown}: {exc.message}")
    except ReadFailed as exc:
        fail_usage(f"{shown}: cannot read: {exc.args[0]}")
    except OSError as exc:
        fail_usage(f"{shown}: cannot read: {exc.strerror or exc}")
    finally:
        stream.close()
        if leads != "-":
            source.raw.close()
