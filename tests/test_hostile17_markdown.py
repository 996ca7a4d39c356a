"""Markdown from `docs`, `diff` and `report`: policy and lead text never becomes a code
block, a list, a link or a mention.

Found by rendering the outputs with GitHub's own Markdown library (cmark-gfm) and
comparing the HTML with that of a harmless policy:

- a stage or score description starting with a tab (``*<TAB>text*``) became a bullet
  list, one starting with four spaces an indented code block;
- a URL (``https://…``), a ``www.`` name or an e-mail address in a description, a reason,
  a route or a lead's ``--by`` value became a link (GFM's autolinks need no markup), and
  ``@org/team`` a mention that notifies the team when the diff is a pull-request comment.

The checks here read the Markdown text itself (code spans and fences set aside, where
nothing is a link): no line starts with white space or a list marker the tool did not
write, no ``://`` or ``www.`` is left for the autolinker, and every ``@`` before a name
is followed by a zero-width space (``&#8203;``), which shows nothing and stops both the
e-mail autolink and the mention.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

POLICY = '''policy hm "Hostile Markdown"
schema "lead.schema.json"
id lead_id
team m "@m"
team s "@s"
funnel lead -> mql
score fit {desc} owned by m {
  +20 if employees >= 10
}
stage lead {desc} owned by m {
  require email is present {desc}
}
stage mql {desc} owned by m {
  require fit >= 10
}
state nurture {desc} owned by m
handoff mql to s {
  route {desc} otherwise
  reject to nurture with reason rejection_reason in [{desc}]
}
'''
SCHEMA = {"type": "object", "required": ["lead_id"],
          "properties": {"lead_id": {"type": "string"}, "email": {"type": "string"},
                         "employees": {"type": "integer"}, "source": {"type": "string"},
                         "rejected_at": {"type": "string", "format": "date-time"},
                         "rejection_reason": {"type": "string"}}}

LINKS = ["https://evil.example/login", "www.evil.example", "ceo@evil.example",
         "@acme/security-team", "ftp://evil.example", "xmpp:ceo@evil.example"]


def _policy(folder: Path, desc: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "p.funnel").write_text(POLICY.replace("{desc}", json.dumps(desc)))
    (folder / "lead.schema.json").write_text(json.dumps(SCHEMA))
    return folder


def _prose(markdown: str) -> str:
    """The Markdown without fenced blocks and code spans (where nothing is markup)."""
    out, fence = [], None
    for line in markdown.split("\n"):
        m = re.match(r"(`{3,}|~{3,})", line)
        if fence is None and m:
            fence = m.group(1)
            continue
        if fence is not None:
            if line.startswith(fence) and not line[len(fence):].strip():
                fence = None
            continue
        out.append(line)
    text = "\n".join(out)
    # a code span: a run of backticks, up to the next run of the same length
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "C", text)


def _shown(markdown: str) -> str:
    """The Markdown with its escapes undone, roughly as a reader sees it."""
    return (markdown.replace("&#8203;", "").replace("&#9;", "\t").replace("&#32;", " ")
            .replace("\\", ""))


def _assert_inert(markdown: str, payload: str) -> None:
    assert payload in _shown(markdown)  # escaped, not dropped
    prose = _prose(markdown)
    for line in prose.split("\n"):
        # nothing of ours starts with white space: that would be a code block or a
        # list item's continuation
        assert line[:1] not in (" ", "\t"), f"line starts with white space: {line!r}"
        # our own lists are `- ` (docs) only; `*<TAB>` or `* ` opens one from the data
        assert not re.match(r"[*+][ \t]|-\t", line), f"a list marker from the data: {line!r}"
    assert "://" not in prose.replace("\\://", ""), prose
    assert not re.search(r"(?i)(?<![\\/])www\.", prose.replace("www\\.", "")), prose
    assert not re.search(r"@(?!&#8203;)[A-Za-z0-9]", prose), prose


def _docs(tmp_path: Path, desc: str) -> str:
    rules = _policy(tmp_path / "rules", desc)
    result = CliRunner().invoke(main, ["docs", str(rules)])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("desc", ["\tTab", "    four spaces", "\t\tx\t", "  \tmixed", " # H",
                                  "   - x"])
def test_docs_description_white_space_opens_no_block(tmp_path, desc):
    text = _docs(tmp_path, desc)
    _assert_inert(text, desc)


@pytest.mark.parametrize("link", LINKS)
def test_docs_text_becomes_no_link_or_mention(tmp_path, link):
    _assert_inert(_docs(tmp_path, f"see {link} now"), link)


@pytest.mark.parametrize("link", LINKS)
def test_diff_markdown_text_becomes_no_link_or_mention(tmp_path, link):
    base = _policy(tmp_path / "base", "plain")
    head = _policy(tmp_path / "head", f"see {link} now")
    leads = tmp_path / "l.jsonl"
    leads.write_text(json.dumps({"lead_id": f"id {link}", "email": "a@b.co", "employees": 20})
                     + "\n")
    result = CliRunner().invoke(main, ["diff", str(base), str(head), "--leads", str(leads),
                                       "--as-of", "2026-11-03T00:00:00Z",
                                       "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "Sample leads" in result.stdout  # the route change, quoted outside code too
    _assert_inert(result.stdout, link)


@pytest.mark.parametrize("link", LINKS)
def test_report_markdown_lead_text_becomes_no_link_or_mention(tmp_path, link):
    rules = _policy(tmp_path / "rules", f"see {link} now")
    leads = tmp_path / "l.jsonl"
    leads.write_text(json.dumps({"lead_id": "A", "email": "a@b.co", "employees": 20,
                                 "source": f"from {link}", "rejected_at": "2026-11-02T10:00:00Z",
                                 "rejection_reason": f"off {link}"}) + "\n")
    result = CliRunner().invoke(main, ["report", str(rules), str(leads), "--by", "source",
                                       "--as-of", "2026-11-03T00:00:00Z",
                                       "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert f"from {link}" in _shown(result.stdout)
    _assert_inert(result.stdout, link)
