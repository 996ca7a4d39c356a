"""`funnel docs`: the policy as a document, in Markdown (golden) and self-contained HTML.

The policy is ``tests/golden/docs/policy``; its expected Markdown is
``tests/golden/docs/policy.md`` (regenerate with ``UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACME, NO_ACME

from cli.docs_cmd import docs as docs_cmd
from policy.model.loader import load_model
from policy.render.docs import render, render_html, render_markdown
from policy.render.document import Diagram, build_document
from policy.render.markdown import md_code, md_escape
from policy.render.words import days_words, plain
from policy.syntax.parser import parse

HERE = Path(__file__).parent
POLICY_DIR = HERE / "golden" / "docs" / "policy"
GOLDEN = HERE / "golden" / "docs"


def model_of(path: Path = POLICY_DIR):
    result = load_model(path)
    assert result.ok, result.diagnostics
    return result.model


def expr(text: str):
    """The expression of ``define x = TEXT``."""
    result = parse(f"define x = {text}\n", "<test>")
    assert result.module is not None, result.diagnostics
    return result.module.decls[0].value


def check_golden(path: Path, actual: str) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1"
    assert actual == path.read_text("utf-8")


# --------------------------------------------------------------------------- plain words


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("fit >= 40", "fit ≥ 40"),
        ("fit <= 40 and x != 2", "fit ≤ 40 and x ≠ 2"),
        ('job_level == "vp"', 'job_level = "vp"'),
        ("(a or b) and c", "(a or b) and c"),
        ("a or b and c", "a or b and c"),
        ("not (a and b)", "not (a and b)"),
        ("company.employees >= 50_000_000", "company.employees ≥ 50,000,000"),
        ('job_level in ["vp", "c-level"]', 'job_level is one of ["vp", "c-level"]'),
        ("country not in target_countries", "country is not one of target_countries"),
        ('tags contains ["a", "b"]', 'tags contains one of ["a", "b"]'),
        ('title starts with "VP"', 'title starts with "VP"'),
        ("days_since(last_activity_at) > 30", "days since last_activity_at > 30"),
        ("domain(email) in free_mail", "domain of email is one of free_mail"),
        ("mql_at is present", "mql_at is present"),
        ("a - (b - c)", "a − (b − c)"),
        ("(a + b) * 2", "(a + b) × 2"),
        ("-x / 2", "−x ÷ 2"),
        ("x.`annual revenue` > 0.5", "x.`annual revenue` > 0.5"),
    ],
)
def test_conditions_in_plain_words(source: str, words: str):
    assert plain(expr(source)) == words


def test_days_in_words():
    assert days_words(["mon", "tue", "wed", "thu", "fri"]) == "Monday to Friday"
    assert days_words(["mon", "wed"]) == "Monday, Wednesday"


def test_markdown_escaping():
    assert md_escape("a_b _c_ *d* |e| <f> x > 1") == r"a_b \_c\_ \*d\* \|e\| \<f> x > 1"
    assert md_escape("> quoted", line_start=True) == r"\> quoted"
    assert md_escape("1. not a list", line_start=True) == r"1\. not a list"
    assert md_escape("1. in a cell") == "1. in a cell"
    assert md_code("x`y") == "``x`y``"
    assert md_code("a|b") == "`a|b`"
    assert md_code("a|b", in_table=True) == r"`a\|b`"


# --------------------------------------------------------------------------- the document


def test_golden_markdown_of_a_small_policy():
    check_golden(GOLDEN / "policy.md", render_markdown(model_of()))


def test_the_document_covers_every_part_of_the_policy():
    model = model_of()
    text = render_markdown(model)
    from policy.syntax.formatter import policy_digest

    assert text.startswith("# Demo B2B funnel\n\n`demo_b2b` · version **1.0.0** · digest `"
                           + policy_digest(model) + "`")
    # the gate in plain words, the brief's form
    assert ("**requires:** fit ≥ 40. **excludes:** competitors are never qualified. "
            "**stays once:** mql_at is present.") in text
    assert "| per webinars\\_attended | +5 each, at most +15 |" not in text  # no stray escape
    assert "| per webinars_attended | +5 each, at most +15 |" in text
    assert "| personal | −20 |" in text
    assert "within 4 business hours from `mql_at` until `accepted_at` or `rejected_at`, " \
           "counted in business time (America/New_York time, Monday to Friday, 09:00 to " \
           "17:00, except 1 holiday)" in text
    assert "Agreed reasons: `\"bad fit\"`, `\"no budget\"`" in text
    assert "| 1 | sal, sql | `nurture` | days since last_activity_at > 30 | stalled: no " \
           "activity for 30 days | marketing, sales, sdr |" in text
    assert "| `sdr` | `@demo/sdr` |" in text
    # owners on every section
    assert text.count("Owned by ") == 1 + 1 + 4 + 1 + 2 + 1  # funnel, teams, stages, score,
    #                                                          handoffs, calendar


def test_the_mermaid_diagram():
    text = render_markdown(model_of())
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0].splitlines()
    assert block[0] == "flowchart LR"
    assert '  s_lead["lead<br/><small>marketing, sdr</small>"]' in block
    assert "  s_lead --> s_mql" in block
    # a handoff, labelled with the team and its SLA
    assert '  s_mql ==>|"to sdr<br/>SLA 4 business hours"| s_sal' in block
    assert '  s_sal ==>|"to sales<br/>SLA 2 days"| s_sql' in block
    assert '  s_mql -.->|"rejected by sdr"| x_nurture' in block
    # a recycle rule is labelled by its reason, not a number
    assert '  s_sal -.->|"stalled: no activity for 30 days"| x_nurture' in block
    assert '  s_sql -.->|"stalled: no activity for 30 days"| x_nurture' in block
    assert '  s_lead -.->|"competitor"| x_disqualified' in block
    assert '  x_nurture(["nurture"])' in block


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_is_one_self_contained_page_with_an_svg_diagram():
    page = render_html(model_of())
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    parser = _Collect()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "link" not in parser.tags and "img" not in parser.tags
    refs = [v for k, v in parser.attrs if k in ("src", "href") and v]
    assert refs and all(v.startswith("#") for v in refs)  # only in-page anchors
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    root = ET.fromstring(svg)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    labels = [t.text for t in root.iter(f"{ns}text")]
    for name in ("lead", "mql", "sal", "sql", "nurture", "disqualified", "to sdr", "to sales",
                 "SLA 4 business hours", "rejected by sdr", "competitor"):
        assert name in labels
    recycles = [g for g in root.iter(f"{ns}g") if g.get("data-kind") == "recycle"]
    assert len(recycles) == 3  # sal and sql recycle to nurture, lead to disqualified
    assert "<h3 id=\"stage-mql\">2. mql</h3>" in page


def test_html_escapes_policy_text(tmp_path: Path):
    text = (POLICY_DIR / "policy.funnel").read_text("utf-8").replace(
        '"Marketing qualified lead"', '"<b>Qualified</b> & \\"ready\\""')
    (tmp_path / "policy.funnel").write_text(text, encoding="utf-8")
    (tmp_path / "lead.schema.json").write_bytes((POLICY_DIR / "lead.schema.json").read_bytes())
    page = render_html(model_of(tmp_path))
    assert "<b>Qualified</b>" not in page
    assert "&lt;b&gt;Qualified&lt;/b&gt; &amp; &quot;ready&quot;" in page
    md = render_markdown(model_of(tmp_path))
    assert r'*\<b>Qualified\</b> \& "ready"*' in md


def test_document_blocks_share_one_source():
    doc = build_document(model_of())
    assert doc.title == "Demo B2B funnel"
    diagrams = [b for b in doc.blocks if isinstance(b, Diagram)]
    assert len(diagrams) == 1
    assert [s.label for s in diagrams[0].stages] == ["lead", "mql", "sal", "sql"]
    assert render(model_of(), "html") == render_html(model_of())
    with pytest.raises(ValueError, match="unknown docs format"):
        render(model_of(), "pdf")


@pytest.mark.skipif(not ACME.is_dir(), reason=NO_ACME)
def test_the_conformance_policy_renders():
    model = model_of(ACME)
    text = render_markdown(model)
    for stage in model.funnel:
        assert f"### {model.funnel.index(stage) + 1}. {stage}" in text
    assert "| `sales` | `@acme/sales-ops` |" in text
    ET.fromstring(re.search(r"<svg.*?</svg>", render_html(model), re.S).group(0))


# --------------------------------------------------------------------------- the command


def test_cli_picks_html_by_extension(tmp_path: Path):
    out = tmp_path / "policy.html"
    result = CliRunner().invoke(docs_cmd, [str(POLICY_DIR), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text("utf-8") == render_html(model_of())


def test_cli_writes_markdown_to_stdout_and_other_files(tmp_path: Path):
    result = CliRunner().invoke(docs_cmd, [str(POLICY_DIR)])
    assert result.exit_code == 0
    assert result.stdout == render_markdown(model_of())
    out = tmp_path / "POLICY.md"
    assert CliRunner().invoke(docs_cmd, [str(POLICY_DIR), "-o", str(out)]).exit_code == 0
    assert out.read_text("utf-8") == render_markdown(model_of())
    forced = CliRunner().invoke(docs_cmd, [str(POLICY_DIR), "--format", "html"])
    assert forced.stdout.startswith("<!DOCTYPE html>")


def test_cli_exit_statuses(tmp_path: Path):
    missing = CliRunner().invoke(docs_cmd, [str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("funnel: ")
    (tmp_path / "bad.funnel").write_text(
        (POLICY_DIR / "policy.funnel").read_text("utf-8").replace(
            "require fit >= 40", "require fitt >= 40"), encoding="utf-8")
    (tmp_path / "lead.schema.json").write_bytes((POLICY_DIR / "lead.schema.json").read_bytes())
    bad = CliRunner().invoke(docs_cmd, [str(tmp_path)])
    assert bad.exit_code == 1
    assert "error[E101]" in bad.stderr
    unwritable = CliRunner().invoke(docs_cmd, [str(POLICY_DIR), "-o",
                                               str(tmp_path / "no" / "such" / "x.md")])
    assert unwritable.exit_code == 2
    assert "cannot write" in unwritable.stderr
