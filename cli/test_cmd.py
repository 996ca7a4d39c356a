"""`funnel test`: run the policy's examples (spec section 7) and report coverage."""

from __future__ import annotations

import sys

import click

from .common import OK, PROBLEMS, fail_usage, load_policy, refuse_input_as_output
from .output import emit, output_option


@click.command("test")
@click.argument("path", default=".", type=click.Path())
@click.option("-k", "keyword", metavar="TEXT",
              help="Run only examples whose name contains TEXT (ignoring case); coverage "
                   "then counts only those examples. Selecting none is an error (exit 2).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text",
              show_default=True, help="Report format; junit is JUnit XML for CI systems.")
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None, metavar="N",
              help="Fail (exit 1) when fewer than N% of the rules are exercised.")
@output_option("the report", writable=True)
def test(path: str, keyword: str | None, fmt: str, min_coverage: float | None,
         output: str | None) -> None:
    """Run every example in the policy at PATH and check its expectations.

    PATH defaults to the current directory (its own *.funnel files). A failing
    example shows each expectation's expected and actual value and the
    derivation of the actual decision. The coverage report names the score rules,
    gate lines, routes, recycle rules and reject paths no example exercised.

    \b
    Examples:
      funnel test rules
      funnel test rules -k rejection
      funnel test rules --format junit -o funnel-tests.xml --min-coverage 90

    Exit status: 0 all examples pass; 1 an example fails, the policy has errors,
    or coverage is below --min-coverage (the rules no example exercised are listed);
    2 the policy cannot be read, or -k selects no example.
    """
    from policy import testing

    refuse_input_as_output(output, policy=path)
    pol = load_policy(path)
    if keyword is not None and not testing.select(pol.model.examples, keyword):
        # selecting nothing is a mistake (a typo in -k), never a green run of 0 examples
        names = [x.decl.name for x in pol.model.examples]
        shown = ", ".join(repr(x) for x in names[:5]) + (" …" if len(names) > 5 else "")
        fail_usage(f"-k {keyword!r} selects no example (no example name contains it); "
                   + (f"the examples are: {shown}" if names else "the policy has no examples"))
    report = testing.run(pol, keyword=keyword, explain=fmt != "json")
    below = not testing.coverage_ok(report, min_coverage)
    if fmt == "json":
        text = testing.render_json(report)
    elif fmt == "junit":
        text = testing.render_junit(report, suite=pol.info.name or "funnel",
                                    min_coverage=min_coverage)
    else:
        text = testing.render_text(report, show_missed=below)
    if output:
        emit(text, output)
        # the outcome still shows where the command ran (docs/testing.md), whatever
        # the format: with text it went only into the file
        emit(testing.render_text(report, show_coverage=False).splitlines()[-1])
    else:
        emit(text.rstrip("\n") + "\n")
    failed = report.failed > 0
    if below:
        # name the rules, so the fix (an example for each) is obvious from the CI log
        click.echo(
            f"funnel: coverage {report.coverage_percent:.1f}% is below --min-coverage "
            f"{min_coverage:g}%; {len(report.missed)} rules no example exercised:",
            err=True,
        )
        click.echo("\n".join(testing.missed_lines(report)), err=True)
        failed = True
    sys.exit(PROBLEMS if failed else OK)
