"""Examples as tests (spec section 7): run every ``example``, check its expectations,
and measure which rules the examples exercised.

Runs after loading and checking (:func:`policy.load`). Each example's lead is
evaluated at its ``at`` instant with the policy's fast engine; the reference
interpreter's trace of the same lead gives the coverage and, for a failure, the
derivation shown next to expected and actual.

Coverage (documented in docs/testing.md): a score rule counts as exercised when
it added points for some example; a ``require``, ``exclude`` or ``keep when``
line when it held for some example; a route when some example was routed by it;
a recycle rule when it placed some example; a reject path when some example was
rejected through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from policy.engine.decision import Decision, LeadError
from policy.engine.timestamps import parse_timestamp, to_datetime
from policy.io.files import read_bounded
from policy.io.leads import jsonl_record_stdlib, parsed_lead_record
from policy.render.escape import json_safe, terminal, visible
from policy.syntax import nodes as n


@attrs.frozen
class Check:
    """One expectation and what happened: ``expected`` and ``actual`` as the user reads them."""

    expect: n.Expect
    ok: bool
    expected: str
    actual: str

    @property
    def text(self) -> str:
        return expect_text(self.expect)


@attrs.frozen
class ExampleResult:
    """The outcome of one example."""

    name: str
    file: str
    line: int
    checks: tuple[Check, ...]
    #: why the example could not run at all (a lead file that cannot be read, no `at`)
    problem: str | None = None
    decision: Decision | None = None
    refused: LeadError | None = None
    explanation: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


@attrs.frozen
class CoverageItem:
    """A rule that examples should exercise."""

    kind: str  # score rule, require, exclude, keep when, route, recycle, reject
    owner: str  # `score fit`, `stage mql`, `handoff mql`, `recycle`
    text: str
    file: str
    line: int
    hit: bool


@attrs.frozen
class Report:
    """The examples' results and the coverage they give.

    ``keyword`` is the ``-k`` text when examples were selected, and ``examples`` the
    number of examples in the policy: coverage always counts only the examples that ran,
    so under ``-k`` it says what the selected examples exercise.
    """

    results: tuple[ExampleResult, ...]
    coverage: tuple[CoverageItem, ...]
    keyword: str | None = None
    examples: int = 0

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def coverage_percent(self) -> float:
        if not self.coverage:
            return 100.0
        return 100.0 * sum(1 for c in self.coverage if c.hit) / len(self.coverage)

    @property
    def missed(self) -> tuple[CoverageItem, ...]:
        return tuple(c for c in self.coverage if not c.hit)


# --------------------------------------------------------------------------- wording


def _q(v: Any) -> str:
    if v is None:
        return "none"
    return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v)


def expect_text(e: n.Expect) -> str:
    """An expectation as it is written in the policy."""
    k = e.kind
    at = f" at {e.at.name}" if e.at else ""
    if k is n.ExpectKind.ERROR:
        return "expect error"
    if k is n.ExpectKind.SCORE:
        return f"expect score {e.subject.name} {e.value}"
    if k in (n.ExpectKind.STAGE, n.ExpectKind.REACHED, n.ExpectKind.SLA, n.ExpectKind.VIOLATION):
        return f"expect {k.value} {e.value if e.value is not None else 'none'}{at}"
    return f"expect {k.value} {_q(e.value)}{at}"


def _check(e: n.Expect, d: Decision) -> Check:
    k = e.kind
    if k is n.ExpectKind.ERROR:
        return Check(e, False, "the lead is refused", "a decision (the lead was accepted)")
    if k is n.ExpectKind.STAGE:
        actual: Any = d.stage
    elif k is n.ExpectKind.REACHED:
        actual = d.reached
    elif k is n.ExpectKind.SCORE:
        actual = d.scores.get(e.subject.name)
    elif k is n.ExpectKind.REASON:
        actual = d.reason
    elif k is n.ExpectKind.VIOLATION:
        codes = [v.code for v in d.violations]
        ok = e.value in codes
        return Check(e, ok, f"violation {e.value}",
                     "violations: " + (", ".join(codes) if codes else "none"))
    else:
        h = d.handoff(e.at.name if e.at else None)
        if k is n.ExpectKind.ROUTE:
            actual = h.route if h else None
        elif k is n.ExpectKind.SLA:
            actual = h.sla.status if h and h.sla else None
        else:
            actual = h.escalate_to if h else None
        if h is None and e.value is not None:
            where = f"at {e.at.name}" if e.at else "for this lead"
            return Check(e, False, _q(e.value), f"no handoff applies {where}")
    expected = e.value
    ok = actual == expected and type(actual) is type(expected) or (
        isinstance(actual, (int, float)) and isinstance(expected, (int, float))
        and not isinstance(actual, bool) and actual == expected
    )
    return Check(e, bool(ok), _q(expected), _q(actual))


# --------------------------------------------------------------------------- running


def _lead_of(ex: n.Example, file: str) -> tuple[Any, str | None]:
    for item in ex.items:
        if isinstance(item, n.LeadLiteral):
            # as eval (and `lead file`) would read the same JSON: before, a number past a
            # double's range or a lone surrogate escape was decided here, refused there
            record = parsed_lead_record(item.data)
            if record.error is not None:
                return LeadError(record.error, record.problems, lead=record.value), None
            return item.data, None
        if isinstance(item, n.LeadFile):
            path = Path(file).parent / item.path
            try:
                text = read_bounded(path).decode("utf-8")
            except (OSError, ValueError) as exc:
                return None, f"lead file {item.path!r} cannot be read: {exc}"
            return _lead_file_value(item.path, text)
    return None, "the example has no `lead`"


def _lead_file_value(name: str, text: str) -> tuple[Any, str | None]:
    """A lead file read as `funnel eval` reads a record (spec sections 7 and 9): strict
    JSON, so ``NaN`` and ``Infinity`` are not JSON; a lead holding a number past a
    double's range is refused as eval refuses it (a LeadError, which `expect error`
    expects)."""
    record = jsonl_record_stdlib(1, text.removeprefix("\ufeff"))
    if record.error is None:
        return record.value, None
    if type(record.value) is dict:
        return LeadError(record.error, record.problems, lead=record.value), None
    return None, f"lead file {name!r} cannot be read: {record.error}"


def _as_of(ex: n.Example):
    """The example's `at` instant; the current time when it has none (W209), as for
    any caller that gives no `as_of` (spec section 4); None for an `at` that does not
    parse (E109)."""
    for item in ex.items:
        if isinstance(item, n.At):
            us = parse_timestamp(item.timestamp, kind="any")
            return to_datetime(us) if us is not None else None
    return datetime.now(UTC)


def run_example(policy, located, *, explain: bool = True) -> tuple[ExampleResult, Decision | None]:
    """Evaluate one example; return its result and the traced decision (for coverage)."""
    ex: n.Example = located.decl
    file = located.module.path
    line = ex.span.line
    expects = [i for i in ex.items if isinstance(i, n.Expect)]
    lead, problem = _lead_of(ex, file)
    as_of = _as_of(ex)
    if problem is None and as_of is None:
        problem = "the example has no valid `at` instant"
    if problem is not None:
        return ExampleResult(ex.name, file, line, (), problem=problem), None
    try:
        if isinstance(lead, LeadError):
            raise lead
        decision = policy.evaluate(lead, as_of=as_of)
    except LeadError as err:
        checks = tuple(
            Check(e, True, "the lead is refused", "refused")
            if e.kind is n.ExpectKind.ERROR
            else Check(e, False, _expected_text(e), f"the lead was refused: {_refusal(err)}")
            for e in expects
        )
        return ExampleResult(ex.name, file, line, checks, refused=err), None
    traced = policy.trace(lead, as_of=as_of)
    checks = tuple(_check(e, decision) for e in expects)
    explanation = None
    if explain and not all(c.ok for c in checks):
        explanation = policy.explain(lead, as_of=as_of)
    return ExampleResult(ex.name, file, line, checks, decision=decision,
                         explanation=explanation), traced


def _expected_text(e: n.Expect) -> str:
    return expect_text(e).removeprefix("expect ")


def _refusal(err: LeadError) -> str:
    if err.problems:
        return "; ".join(f"{p.path or 'the record'}: {p.message}" for p in err.problems)
    return err.message


def select(examples: Iterable, keyword: str | None) -> list:
    """Examples whose name contains ``keyword`` (case-insensitive); all without one."""
    if not keyword:
        return list(examples)
    k = keyword.casefold()
    return [x for x in examples if k in x.decl.name.casefold()]


def run(policy, *, keyword: str | None = None, explain: bool = True) -> Report:
    """Run the policy's examples (all, or those selected by ``keyword``)."""
    model = policy.model
    results = []
    traced: list[Decision] = []
    for located in select(model.examples, keyword):
        result, trace = run_example(policy, located, explain=explain)
        results.append(result)
        if trace is not None:
            traced.append(trace)
    return Report(tuple(results), tuple(coverage(model, traced)), keyword=keyword or None,
                  examples=len(model.examples))


# --------------------------------------------------------------------------- coverage


def _line_of(at: str) -> tuple[str, int] | None:
    parts = at.rsplit(":", 2)
    if len(parts) != 3:
        return None
    try:
        return parts[0], int(parts[1])
    except ValueError:
        return None


def coverage(model, decisions: list[Decision]) -> list[CoverageItem]:
    """Which rules the traced decisions exercised (see the module docstring)."""
    from policy.syntax.canonical import expr_text

    fired: set[tuple[str, int]] = set()
    for d in decisions:
        for ev in d.trace or ():
            where = _line_of(ev.at)
            if where is None:
                continue
            if ev.kind == "score":
                if ev.points:
                    fired.add(where)
            elif ev.kind in ("gate", "require", "exclude", "keep") and ev.result is True:
                fired.add(where)
    items: list[CoverageItem] = []

    def add(kind, owner, text, stmt, hit):
        items.append(CoverageItem(kind, owner, text, stmt.span.file, stmt.span.line, hit))

    for score in model.scores.values():
        for it in score.items:
            if isinstance(it, n.PointsIf):
                text = f"{_points(it.points)} if {expr_text(it.condition)}"
                add("score rule", f"score {score.name.name}", text, it,
                    (it.span.file, it.span.line) in fired)
            elif isinstance(it, n.PointsPer):
                text = f"{_points(it.points)} per {expr_text(it.count)}"
                add("score rule", f"score {score.name.name}", text, it,
                    (it.span.file, it.span.line) in fired)
    for stage in model.funnel_stages():
        for it in stage.items:
            if isinstance(it, n.EnteredAt):
                continue  # record-keeping: no decision reads it, so nothing to exercise
            kind = {n.Require: "require", n.Exclude: "exclude", n.KeepWhen: "keep when"}[type(it)]
            add(kind, f"stage {stage.name.name}", f"{kind} {expr_text(it.condition)}", it,
                (it.span.file, it.span.line) in fired)
    for h in model.handoffs:
        for it in h.items:
            if isinstance(it, n.Route):
                hit = any(
                    (r := d.handoff(h.stage.name)) is not None and r.route == it.target
                    for d in decisions
                )
                add("route", f"handoff {h.stage.name}", f'route "{it.target}"', it, hit)
            elif isinstance(it, n.Reject):
                hit = any(
                    (r := d.handoff(h.stage.name)) is not None and r.rejected for d in decisions
                )
                add("reject", f"handoff {h.stage.name}", f"reject to {it.state.name}", it, hit)
    for rec in model.recycles:
        hit = any(_placed_by(model, d) is rec for d in decisions)
        stages = ", ".join(s.name for s in rec.stages)
        add("recycle", "recycle", f"recycle {stages} to {rec.state.name}", rec, hit)
    return items


def _points(points) -> str:
    return f"{'+' if points >= 0 else '-'}{abs(points)}"


def _placed_by(model, d: Decision):
    if d.stage is None or d.stage == d.reached or any(h.rejected for h in d.handoffs):
        return None
    for rec in model.recycles:
        if d.reached in {s.name for s in rec.stages} and rec.state.name == d.stage:
            if rec.reason == d.reason:
                return rec
    return None


# --------------------------------------------------------------------------- rendering


def _indent(text: str, by: str = "      ") -> str:
    return "\n".join(by + ln if ln else ln for ln in text.splitlines())


def render_text(report: Report, *, show_coverage: bool = True,
                show_missed: bool = False) -> str:
    """What a person reads: each example, failures with expected/actual and the derivation."""
    out: list[str] = []
    for r in report.results:
        mark = "PASS" if r.ok else "FAIL"
        # a name holds what a JSON string can ("\n" too): one line, whatever it says
        out.append(f"{mark}  {r.file}:{r.line}  {visible(r.name)}")
        if r.problem:
            out.append(f"      {r.problem}")
        for c in r.failures:
            out.append(f"      {c.text}")
            out.append(f"        expected: {c.expected}")
            out.append(f"        actual:   {c.actual}")
        if r.explanation and not r.ok:
            out.append("      derivation of the actual decision:")
            out.append(_indent(r.explanation, "        "))
    if show_coverage and report.coverage:
        out.append(coverage_line(report))
        if report.keyword is None or show_missed:
            out += missed_lines(report)
        elif report.missed:
            # under -k most rules are naturally unexercised: a count, not a wall of lines
            out.append(f"  {len(report.missed)} rules not exercised by the selected examples "
                       "(run without -k for the list)")
    out.append(f"{report.passed} passed, {report.failed} failed")
    # Example names, expectations and lead values come from policy files (pull
    # requests): no escape sequence, bell or bidi override reaches a terminal or CI log
    return terminal("\n".join(out), newlines=True)


def coverage_line(report: Report) -> str:
    """``coverage: 83% (10 of 12 rules exercised)``, saying when -k selected the examples."""
    total = len(report.coverage)
    hit = total - len(report.missed)
    pct = f"{report.coverage_percent:.1f}".removesuffix(".0")
    line = f"coverage: {pct}% ({hit} of {total} rules exercised"
    if report.keyword is not None:
        n_sel = len(report.results)
        line += (f" by the {n_sel} of {report.examples} examples that -k "
                 f"{json.dumps(report.keyword, ensure_ascii=False)} selects")
    return line + ")"


def missed_lines(report: Report) -> list[str]:
    """One line per rule no example exercised, with its file and line."""
    from policy.render.escape import terminal

    return [terminal(f"  not exercised: {c.file}:{c.line}  {c.owner}: {c.text}")
            for c in report.missed]


def render_json(report: Report) -> str:
    data = {
        "examples": [
            {
                "name": r.name,
                "file": r.file,
                "line": r.line,
                "status": "passed" if r.ok else "failed",
                "problem": r.problem,
                "failures": [
                    {"expect": c.text, "expected": c.expected, "actual": c.actual}
                    for c in r.failures
                ],
            }
            for r in report.results
        ],
        "passed": report.passed,
        "failed": report.failed,
        "coverage": {
            "keyword": report.keyword,
            "percent": round(report.coverage_percent, 2),
            "rules": len(report.coverage),
            "missed": [
                {"kind": c.kind, "owner": c.owner, "rule": c.text, "file": c.file,
                 "line": c.line}
                for c in report.missed
            ],
        },
    }
    # U+2028, U+2029 and U+0085 (an example name may hold one) as \u escapes, as every
    # JSON the tool writes, so a line-based reader keeps each line whole
    return json_safe(json.dumps(data, ensure_ascii=False, indent=2))


def coverage_ok(report: Report, min_coverage: float | None) -> bool:
    return min_coverage is None or report.coverage_percent + 1e-9 >= min_coverage


def render_junit(report: Report, *, suite: str = "funnel",
                 min_coverage: float | None = None) -> str:
    """JUnit XML, as CI systems (GitHub test reporters, GitLab, Jenkins) read it.

    One test case per example, named by the example and classed by its file, with a
    ``time`` as test tabs expect; with ``min_coverage``, one more test case, ``coverage``,
    that fails below the floor and lists the rules no example exercised, so the
    coverage failure shows in the test tab beside the examples.
    """
    from policy.render.escape import xml_attr as quoteattr
    from policy.render.escape import xml_text as escape

    cov_case = min_coverage is not None
    tests = len(report.results) + cov_case
    failures = report.failed + (cov_case and not coverage_ok(report, min_coverage))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    lines.append(
        f"<testsuites name={quoteattr(suite)} tests=\"{tests}\" "
        f"failures=\"{failures}\" errors=\"0\">"
    )
    lines.append(
        f"  <testsuite name={quoteattr(suite)} tests=\"{tests}\" "
        f"failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"0\">"
    )
    for r in report.results:
        attrs_ = f"name={quoteattr(r.name)} classname={quoteattr(r.file)} time=\"0\""
        if r.ok:
            lines.append(f"    <testcase {attrs_}/>")
            continue
        lines.append(f"    <testcase {attrs_}>")
        if r.problem:
            message = r.problem
            body = r.problem
        else:
            message = "; ".join(f"{c.text}: expected {c.expected}, actual {c.actual}"
                                for c in r.failures)
            body = "\n".join(
                f"{c.text}\n  expected: {c.expected}\n  actual:   {c.actual}" for c in r.failures
            )
            if r.explanation:
                body += "\n\nderivation of the actual decision:\n" + r.explanation
        lines.append(f"      <failure message={quoteattr(message)} type=\"expectation\">"
                     f"{escape(body)}</failure>")
        lines.append("    </testcase>")
    if cov_case:
        name = quoteattr(f"coverage at least {min_coverage:g}%")
        attrs_ = f"name={name} classname=\"coverage\" time=\"0\""
        if coverage_ok(report, min_coverage):
            lines.append(f"    <testcase {attrs_}/>")
        else:
            message = (f"coverage {report.coverage_percent:.1f}% is below "
                       f"{min_coverage:g}%: {len(report.missed)} rules not exercised")
            body = "\n".join([coverage_line(report), *missed_lines(report)])
            lines.append(f"    <testcase {attrs_}>")
            lines.append(f"      <failure message={quoteattr(message)} type=\"coverage\">"
                         f"{escape(body)}</failure>")
            lines.append("    </testcase>")
    lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"
