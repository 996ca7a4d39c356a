"""`funnel test`: run the policy's examples (spec section 7) and report coverage."""

from __future__ import annotations

import sys

import click

from .common import OK, PROBLEMS, fail_usage, load_policy


@click.command("test")
@click.argument("path", default=".", type=click.Path())
@click.option("-k", "keyword", metavar="TEXT", help="Run only examples whose name contains TEXT.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text",
              show_default=True, help="Report format; junit is JUnit XML for CI systems.")
@click.option("--min-coverage", type=click.FloatRange(0, 100), default=None, metavar="N",
              help="Fail (exit 1) when fewer than N% of the rules are exercised.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to FILE instead of standard output.")
def test(path: str, keyword: str | None, fmt: str, min_coverage: float | None,
         output: str | None) -> None:
    """Run every example in the policy at PATH and check its expectations.

    A failing example shows each expectation's expected and actual value and the
    derivation of the actual decision. The coverage report names the score rules,
    gate lines, routes, recycle rules and reject paths no example exercised.

    \b
    Examples:
      funnel test rules
      funnel test rules -k rejection
      funnel test rules --format junit -o funnel-tests.xml --min-coverage 90

    Exit status: 0 all examples pass; 1 an example fails, the policy has errors,
    or coverage is below --min-coverage; 2 the policy cannot be read.
    """
    from policy.review import testing

    pol = load_policy(path)
    report = testing.run(pol, keyword=keyword, explain=fmt != "json")
    if fmt == "json":
        text = testing.render_json(report)
    elif fmt == "junit":
        text = testing.render_junit(report, suite=pol.info.name or "funnel")
    else:
        text = testing.render_text(report)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text if text.endswith("\n") else text + "\n")
        except OSError as exc:
            fail_usage(f"{output}: cannot write: {exc.strerror}")
        if fmt != "text":
            click.echo(testing.render_text(report, show_coverage=False).splitlines()[-1])
    else:
        click.echo(text.rstrip("\n"))
    if keyword and not report.results:
        click.echo(f"funnel: no example name contains {keyword!r}", err=True)
    failed = report.failed > 0
    if min_coverage is not None and report.coverage_percent + 1e-9 < min_coverage:
        click.echo(
            f"funnel: coverage {report.coverage_percent:.1f}% is below --min-coverage "
            f"{min_coverage:g}%",
            err=True,
        )
        failed = True
    sys.exit(PROBLEMS if failed else OK)
