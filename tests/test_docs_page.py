"""The HTML docs page read as a sales leader would (issue 14, row 17): the diagram has no
label crossed by a line, one arrowhead into each state, the SLA on each handoff arrow,
recycle lines labelled by their reason; the digest is short with the full value on
hover; every list has a meaning; there is a sign-off block with each team's handle.

The geometry checks parse the SVG: every line is made of straight ``M``/``H``/``V``
segments, and a text's box is estimated with the renderer's own per-character widths.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ACME, NO_ACME

from policy.model.loader import load_model
from policy.render import svg as svgmod
from policy.render.docs import render_html, render_markdown

HERE = Path(__file__).parent
REPO = HERE.parent
GOLDEN_POLICY = HERE / "golden" / "docs" / "policy"
NS = "{http://www.w3.org/2000/svg}"


def model_of(path: Path):
    result = load_model(path)
    assert result.ok, result.diagnostics
    return result.model


def svg_of(page: str) -> ET.Element:
    return ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))


def segments(d: str) -> list[tuple[float, float, float, float]]:
    """The straight segments of a path made of M, H and V commands."""
    out = []
    x = y = 0.0
    for cmd, a, b in re.findall(r"([MHV])\s*(-?[\d.]+)(?:,(-?[\d.]+))?", d):
        if cmd == "M":
            x, y = float(a), float(b)
            continue
        nx, ny = (float(a), y) if cmd == "H" else (x, float(a))
        out.append((x, y, nx, ny))
        x, y = nx, ny
    assert re.fullmatch(r"(?:\s*[MHV]\s*-?[\d.]+(?:,-?[\d.]+)?)+\s*", d), d  # nothing curved
    return out


def text_boxes(root: ET.Element) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(text, (x0, y0, x1, y1)) of every text, its width estimated as the renderer does."""
    out = []
    for t in root.iter(f"{NS}text"):
        size = float(t.get("font-size", "13"))
        bold = t.get("font-weight") == "600"
        per = svgmod._SMALL_CHAR if size <= 11 else svgmod._CHAR
        if bold and size <= 11:
            per *= 1.08
        w = len(t.text or "") * per
        x, y = float(t.get("x")), float(t.get("y"))
        anchor = t.get("text-anchor", "start")
        x0 = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
        out.append((t.text or "", (x0, y - size * 0.8, x0 + w, y + size * 0.25)))
    return out


def meets(seg, box) -> bool:
    x1, y1, x2, y2 = seg
    bx0, by0, bx1, by1 = box
    lo_x, hi_x = min(x1, x2), max(x1, x2)
    lo_y, hi_y = min(y1, y2), max(y1, y2)
    return lo_x <= bx1 and hi_x >= bx0 and lo_y <= by1 and hi_y >= by0


def lines_of(root: ET.Element):
    """(group, path) of every edge and trunk: the lines of the diagram (not the boxes,
    and not the stroke samples in front of the labels)."""
    for g in root.iter(f"{NS}g"):
        if g.get("class") in ("edge", "trunk"):
            for p in g.iter(f"{NS}path"):
                yield g, p


# --------------------------------------------------------------------------- policies


def hostile_policy(tmp_path: Path) -> Path:
    """The golden policy with a long stage name and reasons holding markup and quotes."""
    folder = tmp_path / "hostile"
    shutil.copytree(GOLDEN_POLICY, folder)
    path = folder / "policy.funnel"
    text = path.read_text("utf-8")
    text = text.replace('"stalled: no activity for 30 days"',
                        '"<script>alert(\\"x\\")</script> stalled & \'quiet\' for thirty days '
                        'or more, with no reply to any of the five follow-up emails"')
    text = text.replace('recycle lead to disqualified if competitor "competitor"',
                        'recycle lead to disqualified if competitor '
                        '"a_very_long_unbroken_reason_word_that_cannot_wrap_anywhere_at_all"')
    text = text.replace("team sales", 'team sales_and_revenue_operations_emea')
    text = text.replace("to sales", "to sales_and_revenue_operations_emea")
    text = text.replace("owned by sales", "owned by sales_and_revenue_operations_emea")
    text = re.sub(r"example .*", "", text, flags=re.S)
    path.write_text(text, "utf-8")
    return folder


def _policies(tmp_path: Path) -> list[Path]:
    out = [GOLDEN_POLICY, REPO / "rules", hostile_policy(tmp_path)]
    if ACME.is_dir():
        out.append(ACME)
    return out


# --------------------------------------------------------------------------- the diagram


def test_no_label_is_crossed_by_a_line(tmp_path):
    for path in _policies(tmp_path):
        root = svg_of(render_html(model_of(path)))
        boxes = text_boxes(root)
        assert boxes
        for g, p in lines_of(root):
            for seg in segments(p.get("d")):
                hit = [text for text, box in boxes if meets(seg, box)]
                assert not hit, (path.name, g.get("data-src"), g.get("data-dst"), seg, hit)


def test_labels_do_not_overprint_each_other(tmp_path):
    for path in _policies(tmp_path):
        boxes = text_boxes(svg_of(render_html(model_of(path))))
        for i, (a, ba) in enumerate(boxes):
            for b, bb in boxes[i + 1:]:
                overlap = ba[0] < bb[2] and bb[0] < ba[2] and ba[1] < bb[3] and bb[1] < ba[3]
                assert not overlap, (path.name, a, b)


def test_one_arrowhead_into_each_state_and_each_stage(tmp_path):
    for path in _policies(tmp_path):
        model = model_of(path)
        root = svg_of(render_html(model))
        heads: dict[str, int] = {}
        for g, p in lines_of(root):
            if p.get("marker-end"):
                dst = g.get("data-dst")
                heads[dst] = heads.get(dst, 0) + 1
            elif g.get("class") == "edge":
                assert g.get("data-kind") in ("recycle", "reject", "handoff"), g.attrib
        targets = {g.get("data-dst") for g, _ in lines_of(root)}
        assert targets and all(heads.get(t) == 1 for t in targets), (path.name, heads)
        # the rules' nurture state: five rules lead there, one arrowhead
        if path.name == "rules":
            into = [g for g, _ in lines_of(root) if g.get("data-dst") == "x_nurture"
                    and g.get("class") == "edge"]
            assert len(into) == 5 and heads["x_nurture"] == 1


def test_handoff_arrows_carry_their_sla(tmp_path):
    root = svg_of(render_html(model_of(REPO / "rules")))
    handoffs = [g for g in root.iter(f"{NS}g") if g.get("data-kind") == "handoff"]
    texts = {g.get("data-src"): [t.text for t in g.iter(f"{NS}text")] for g in handoffs}
    assert texts == {"s_mql": ["to sdr", "SLA 2 business hours"],
                     "s_sql": ["to sales", "SLA 2 business days"]}


def test_recycle_lines_are_labelled_by_their_reason():
    page = render_html(model_of(REPO / "rules"))
    assert "recycle #" not in page
    root = svg_of(page)
    labels = [" ".join(t.text for t in g.iter(f"{NS}text")) for g in root.iter(f"{NS}g")
              if g.get("class") == "label"]
    assert "closed-lost: back to marketing nurture" in labels
    assert "stalled: no buyer activity for 45 days" in labels
    # each label's title gives the whole rule, its condition too
    titles = [g.find(f"{NS}title").text for g in root.iter(f"{NS}g")
              if g.get("class") == "label"]
    assert any('when opp_status = "closed_lost"' in t for t in titles), titles


def test_the_diagram_fits_the_page_column():
    """Wider than the page's column (980px less 2 x 24px of padding), the SVG would be
    scaled down and its 11px labels with it."""
    root = svg_of(render_html(model_of(REPO / "rules")))
    assert float(root.get("width")) <= 932


def test_wrap_keeps_lines_short_and_cuts_a_long_word():
    lines = svgmod.wrap("stalled: no buyer activity for 45 days", 100)
    assert " ".join(lines) == "stalled: no buyer activity for 45 days"
    assert all(svgmod.text_width(x) <= 100 for x in lines)
    (only,) = svgmod.wrap("x" * 80, 60)
    assert only.endswith("…") and svgmod.text_width(only) <= 60


# --------------------------------------------------------------------------- the page


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_digest_is_short_with_the_full_value_on_hover():
    model = model_of(REPO / "rules")
    page = render_html(model)
    from policy.syntax.formatter import policy_digest

    digest = policy_digest(model)
    parser = _Tags()
    parser.feed(page)
    codes = [a for t, a in parser.found if t == "code" and a.get("class") == "digest"]
    assert codes and all(a["title"] == digest for a in codes)
    assert f">{digest}<" not in page  # never printed whole on the page
    assert f">{digest[:19]}…<" in page
    assert f"`{digest}`" in render_markdown(model)  # Markdown keeps it whole


def test_every_list_has_a_meaning():
    page = render_markdown(model_of(REPO / "rules"))
    vocab = page.split("## Vocabulary", 1)[1].split("##", 1)[0]
    rows = [r for r in vocab.splitlines() if r.startswith("| `")]
    assert rows and all(r.split("|")[2].strip() for r in rows), rows
    assert "| `consent_countries` | a list of 15 countries |" in vocab
    assert "| `free_mail_domains` | a list of 316 domains |" in vocab
    golden = render_markdown(model_of(GOLDEN_POLICY))
    assert "| `free_mail` | a list of 2 entries |" in golden


def test_sign_off_block_names_each_team_and_handle():
    model = model_of(REPO / "rules")
    page = render_html(model)
    block = page.split('<h2 id="sign-off">Sign-off</h2>', 1)[1]
    assert "version <strong>2026.12.0</strong>" in block
    for name, team in model.teams.items():
        assert f"<td><strong>{name}</strong></td><td><code>{team.handle}</code></td>" in block
    assert '<a href="#sign-off">Sign-off</a>' in page


def test_markup_and_quotes_in_a_policy_are_escaped_everywhere(tmp_path):
    model = model_of(hostile_policy(tmp_path))
    page = render_html(model)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    parser = _Tags()
    parser.feed(page)
    assert all(t != "script" for t, _ in parser.found)
    root = svg_of(page)  # still well-formed XML
    titles = [t.text for t in root.iter(f"{NS}title")]
    assert any(t and '<script>alert("x")</script>' in t for t in titles)
    md = render_markdown(model)
    assert re.search(r"(?<!\\)<script>", md) is None  # Markdown escapes it as \<script>
    assert "#lt;script#gt;alert(#quot;x#quot;)" in md  # and Mermaid with its entities


@pytest.mark.skipif(not ACME.is_dir(), reason=NO_ACME)
def test_the_conformance_policy_diagram_is_well_formed():
    root = svg_of(render_html(model_of(ACME)))
    assert [g for g in root.iter(f"{NS}g") if g.get("class") == "edge"]


def test_line_breaks_and_controls_in_a_reason_stay_out_of_both_diagrams(tmp_path):
    folder = hostile_policy(tmp_path)
    path = folder / "policy.funnel"
    hostile = '"line one\\r\\nline two\\u001b[31m red\\u2028 a_very_long_unbroken'
    path.write_text(path.read_text("utf-8").replace('"a_very_long_unbroken', hostile), "utf-8")
    model = model_of(folder)
    md = render_markdown(model)
    mermaid = md.split("```mermaid", 1)[1].split("```", 1)[0]
    assert not re.search("[\r\x1b\u2028]", mermaid)
    assert "line one line two\\x1b" in mermaid
    page = render_html(model)
    assert not re.search("[\r\x1b\u2028]", page)
    assert any("\\x1b" in (t.text or "") for t in svg_of(page).iter(f"{NS}text"))
