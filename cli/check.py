"""`funnel check`: parse and check a policy, report what is wrong (LANGUAGE.md §6, §9).

A thin command: it loads the policy with :func:`policy.model.loader.load_model` (which parses,
reads the schema and runs the checker), renders the diagnostics in the chosen format and
picks the exit status: 0 clean (or only warnings), 1 errors (or warnings with
``--strict``), 2 a path that cannot be read or holds no policy files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click

from policy import InputError, github_omitted, json_safe, load_model, use_color
from policy import diagnostic_json as to_json
from policy import diagnostics_summary as summary_line
from policy import github_annotation as to_github
from policy import render_diagnostics as render_all

from .common import OK, PROBLEMS, policy_unreadable
from .output import emit

FORMATS = ("text", "json", "github")


def repository_root() -> str | None:
    """The folder GitHub names annotation paths from: ``$GITHUB_WORKSPACE`` in Actions,
    else the top of the git work tree around the current folder, else None (paths as given).
    """
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        return workspace
    try:
        proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    top = proc.stdout.strip()
    return top if proc.returncode == 0 and top else None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("path", default=".", type=click.Path(dir_okay=True, file_okay=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people; json for tools; github for workflow annotations on a pull request.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def check(path: str, fmt: str, strict: bool) -> None:
    """Parse and check the policy at PATH (a directory of *.funnel files, or one file).

    PATH defaults to the current directory; a directory's own *.funnel files are the
    policy (its sub-directories are not read). Prints nothing and exits 0 when the
    policy is clean. Exit status: 0 no errors; 1 errors (or warnings, with --strict);
    2 PATH cannot be read or holds no policy.

    \b
    Examples:
      funnel check rules
      funnel check rules --strict --format github   # in CI: notes on the pull request
      funnel check rules/acme.funnel --format json
    """
    try:
        result = load_model(path)
    except InputError as exc:
        policy_unreadable(exc, path)
    diags = list(result.diagnostics)
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    if fmt == "json":
        payload = {"diagnostics": [to_json(d) for d in diags], "errors": errors,
                   "warnings": warnings}
        if result.omitted:
            payload["omitted_errors"] = result.omitted
        emit(json_safe(json.dumps(payload, indent=2, ensure_ascii=False)))
    elif fmt == "github":
        root = repository_root()
        lines = [to_github(d, root) for d in diags]
        if result.omitted:
            lines.append(github_omitted(result.omitted))
        emit("".join(line + "\n" for line in lines))
    elif diags:
        color = use_color(sys.stdout)
        emit(render_all(diags, result.sources, color=color, omitted=result.omitted) + "\n"
             + summary_line(diags))
    failed = errors > 0 or result.model is None or (strict and warnings > 0)
    sys.exit(PROBLEMS if failed else OK)
