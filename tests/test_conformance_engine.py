"""The spec's normative examples, decided by the library and by `funnel eval`.

Each example of ``acme_test.funnel`` is parsed with the policy parser, its lead
decided at its ``at`` instant, and every expectation checked: through
``Policy.evaluate`` with each engine, and through ``funnel eval`` (CliRunner)
whose JSON Lines must carry the very same decisions. Skipped when the shared
conformance folder is absent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACME, NO_ACME
from funnel_cli.main import main

import policy
from policy.engine.timestamps import parse_timestamp, to_datetime
from policy.syntax import nodes as n
from policy.syntax.parser import parse

pytestmark = pytest.mark.skipif(not ACME.is_dir(), reason=NO_ACME)


def _examples() -> list[n.Example]:
    if not ACME.is_dir():
        return []
    text = (ACME / "acme_test.funnel").read_text("utf-8")
    result = parse(text, "acme_test.funnel")
    assert result.module is not None, result.diagnostics
    return [d for d in result.module.decls if isinstance(d, n.Example)]


EXAMPLES = _examples()


def _parts(ex: n.Example) -> tuple[int, dict, list[n.Expect]]:
    at = next(i.timestamp for i in ex.items if isinstance(i, n.At))
    lead = next(i.data for i in ex.items if isinstance(i, n.LeadLiteral))
    expects = [i for i in ex.items if isinstance(i, n.Expect)]
    us = parse_timestamp(at, kind="any")
    assert us is not None
    return us, lead, expects


def _failures(expects: list[n.Expect], record: dict) -> list[str]:
    """Every expectation the record (a decision's or an error record's JSON) breaks."""
    refused = "error" in record
    out = []
    for e in expects:
        k = e.kind
        if k is n.ExpectKind.ERROR:
            if not refused:
                out.append("expected the lead to be refused")
            continue
        if refused:
            out.append(f"expected {k.value} {e.value!r}, but the lead was refused: {record}")
            continue
        handoffs = record["handoffs"]
        if e.at is not None:
            h = next((x for x in handoffs if x["stage"] == e.at.name), None)
        else:
            h = handoffs[-1] if handoffs else None
        if k is n.ExpectKind.STAGE:
            actual = record["stage"]
        elif k is n.ExpectKind.REACHED:
            actual = record["reached"]
        elif k is n.ExpectKind.SCORE:
            actual = record["scores"].get(e.subject.name)
        elif k is n.ExpectKind.ROUTE:
            actual = h["route"] if h else None
        elif k is n.ExpectKind.SLA:
            actual = h["sla"]["status"] if h and h["sla"] else None
        elif k is n.ExpectKind.ESCALATE:
            actual = h["escalate_to"] if h else None
        elif k is n.ExpectKind.REASON:
            actual = record["reason"]
        elif k is n.ExpectKind.VIOLATION:
            codes = [v["code"] for v in record["violations"]]
            if e.value not in codes:
                out.append(f"expected violation {e.value}, found {codes}")
            continue
        else:  # pragma: no cover - a new kind of expectation
            raise AssertionError(f"unhandled expectation {k}")
        if actual != e.value:
            out.append(f"expect {k.value}: expected {e.value!r}, found {actual!r}")
    return out


def _engines() -> list[str]:
    engines = ["interpreter", "auto"]
    try:
        import policy.engine.compiler  # noqa: F401
    except ModuleNotFoundError:
        return engines
    return [*engines, "compiled"]


@pytest.fixture(scope="module", params=_engines())
def acme(request) -> policy.Policy:
    return policy.load(ACME, engine=request.param)


def test_the_normative_examples_are_all_read() -> None:
    # 13 decisions and one refused lead at the time of writing
    assert len(EXAMPLES) >= 13
    assert sum(any(e.kind is n.ExpectKind.ERROR for e in _parts(ex)[2]) for ex in EXAMPLES) >= 1
    assert all(_parts(ex)[2] for ex in EXAMPLES), "every example expects something"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda ex: ex.name[:50])
def test_library_decides_every_example(acme: policy.Policy, example: n.Example) -> None:
    at, lead, expects = _parts(example)
    try:
        record = acme.evaluate(lead, as_of=to_datetime(at)).to_dict()
    except policy.LeadError as err:
        record = err.to_dict()
    assert _failures(expects, record) == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda ex: ex.name[:50])
def test_trace_decides_like_evaluate(acme: policy.Policy, example: n.Example) -> None:
    at, lead, _ = _parts(example)
    try:
        plain = acme.evaluate(lead, as_of=to_datetime(at))
    except policy.LeadError:
        with pytest.raises(policy.LeadError):
            acme.trace(lead, as_of=to_datetime(at))
        return
    traced = acme.trace(lead, as_of=to_datetime(at))
    assert traced == plain  # the trace does not take part in equality
    assert traced.trace and plain.trace is None


def test_funnel_eval_decides_every_example(tmp_path: Path) -> None:
    """All examples through the command line, grouped by their `at` instant."""
    groups: dict[int, list[n.Example]] = defaultdict(list)
    for ex in EXAMPLES:
        groups[_parts(ex)[0]].append(ex)
    library = policy.load(ACME, engine="interpreter")
    runner = CliRunner()
    checked = 0
    for at, examples in sorted(groups.items()):
        leads = tmp_path / f"leads-{at}.jsonl"
        leads.write_text("".join(json.dumps(_parts(ex)[1]) + "\n" for ex in examples), "utf-8")
        stamp = to_datetime(at).isoformat()
        result = runner.invoke(main, ["eval", str(ACME), str(leads), "--as-of", stamp])
        refused = [ex for ex in examples if any(e.kind is n.ExpectKind.ERROR
                                                for e in _parts(ex)[2])]
        assert result.exit_code == (1 if refused else 0), result.output
        lines = result.stdout.splitlines()
        assert len(lines) == len(examples)
        for number, (ex, line) in enumerate(zip(examples, lines, strict=True), 1):
            record = json.loads(line)
            assert _failures(_parts(ex)[2], record) == [], ex.name
            try:
                expected = library.evaluate(_parts(ex)[1], as_of=to_datetime(at)).to_dict()
            except policy.LeadError as err:
                expected = err.with_line(number).to_dict()
            assert record == expected
            checked += 1
    assert checked == len(EXAMPLES)
