"""`funnel docs PATH`: the policy as the document both teams sign (Markdown or HTML)."""

from __future__ import annotations

import os
import sys

import click

from .common import OK, load_checked, refuse_input_as_output
from .output import emit, output_option


def _format_for(output: str | None) -> str:
    """HTML when the output file's name says so, Markdown otherwise."""
    if output and os.path.splitext(output)[1].lower() in (".html", ".htm"):
        return "html"
    return "markdown"


@click.command("docs")
@click.argument("path", type=click.Path())
@output_option("the document")
@click.option("--format", "fmt", type=click.Choice(["markdown", "html"]), default=None,
              help="Default: html when FILE ends in .html or .htm, else markdown.")
def docs(path: str, output: str | None, fmt: str | None) -> None:
    """Write the policy at PATH as a readable document.

    The document shows the title, version and digest; the funnel as a diagram
    (Mermaid in Markdown, which code hosts render; inline SVG in HTML); each
    stage's gate in plain words; the scoring tables; each handoff with its
    routes, SLA, escalation and agreed rejection reasons; the recycle rules,
    states, calendar and shared vocabulary; and who owns every part. The HTML
    page is one self-contained file: no script, no external asset.

    \b
    Examples:
      funnel docs rules > POLICY.md
      funnel docs rules -o policy.html
      funnel docs rules --format html > policy.html

    Exit status: 0 written; 1 the policy has errors; 2 it cannot be read, or the
    output cannot be written.
    """
    from policy import render_docs as render

    refuse_input_as_output(output, policy=path)
    result = load_checked(path)
    text = render(result.model, fmt or _format_for(output))
    emit(text, output)
    sys.exit(OK)
