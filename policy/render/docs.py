"""Docs: the policy as the document both teams sign, in Markdown or one HTML file.

Runs after :mod:`policy.model.loader` has built and checked the model. It reads the
model only: the title, version and digest; the funnel as a diagram (a Mermaid
``flowchart LR`` in Markdown, which code hosts render; an inline SVG drawn here
for HTML, no script and no external asset); every stage's gate in plain words;
the scoring tables; each handoff with its routes, SLA, escalation and agreed
rejection reasons; the recycle rules; the off-funnel states; the business
calendar; the shared vocabulary; the teams with their handles; and on every
section the teams that own it (:class:`policy.model.ownership.Ownership`).

Both outputs come from one intermediate document (:class:`Document`: headings,
paragraphs, tables, lists, the diagram), so they cannot disagree. Conditions
are written in plain words by :func:`plain` (``fit ≥ 45``, ``job_level is one
of ["vp", "c-level"]``), never by ``eval`` or string replacement on source text.

The document is built in :mod:`policy.render.document`, conditions are put in
words by :mod:`policy.render.words`, the HTML diagram is drawn by
:mod:`policy.render.svg`; this module renders it. The Markdown helpers
(:mod:`policy.render.markdown`) are shared with ``funnel diff``'s pull-request comment.
"""

from __future__ import annotations

from policy.model.namespace import PolicyModel
from policy.render.document import Bullets, Diagram, Heading, Inline, Para, Table, build_document
from policy.render.escape import html_text, one_line, visible
from policy.render.markdown import md_code, md_escape
from policy.render.svg import svg_diagram

__all__ = [
    "render_markdown",
    "render_html",
    "render",
    "FORMATS",
]

#: Output formats of ``funnel docs``.
FORMATS = ("markdown", "html")


# --------------------------------------------------------------------------- Markdown


def _md_inline(text: Inline, *, in_table: bool = False, line_start: bool = False) -> str:
    out = []
    for k, (style, t) in enumerate(text):
        if style in ("code", "digest"):
            out.append(md_code(t, in_table=in_table))
            continue
        e = md_escape(t, line_start=line_start and k == 0)
        if style in ("b", "i") and t.strip():
            # emphasis must hug its text: keep the spaces outside the markers
            mark = "**" if style == "b" else "*"
            lead, core, trail = _split_space(e)
            out.append(f"{lead}{mark}{core}{mark}{trail}")
        else:
            out.append(e)
    return "".join(out)


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip(" ")
    lead = text[: len(text) - len(text.lstrip(" "))]
    trail = text[len(text.rstrip(" ")):]
    return lead, core, trail


def _mermaid_text(text: str) -> str:
    # Mermaid reads `"` as the end of a label and `#…;` as an entity
    return text.replace("#", "#35;").replace('"', "#quot;")


def _mermaid_plain(text: str) -> str:
    """Policy text (a recycle rule's reason) as a Mermaid edge label: also no markup, no
    label delimiter, no Markdown-string backtick, no line break or control character."""
    text = _mermaid_text(visible(one_line(text)))
    for ch, code in (("&", "#amp;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;"),
                     ("`", "#96;")):
        text = text.replace(ch, code)
    return text


def _mermaid(d: Diagram) -> list[str]:
    out = ["```mermaid", "flowchart LR"]
    for node in d.stages:
        label = node.label + (f"<br/><small>{node.sub}</small>" if node.sub else "")
        out.append(f'  {node.id}["{_mermaid_text(label)}"]')
    for node in d.others:
        label = _mermaid_text(node.label)
        out.append(f'  {node.id}(["{label}"])' if node.kind == "state"
                   else f'  {node.id}[/"{label}"/]')
    for e in d.edges:
        text = _mermaid_plain(e.label) + (f"<br/>{_mermaid_plain(e.note)}" if e.note else "")
        label = f'|"{text}"|' if text else ""
        arrow = {"next": "-->", "handoff": "==>", "recycle": "-.->", "reject": "-.->"}[e.kind]
        out.append(f"  {e.src} {arrow}{label} {e.dst}")
    out += ["  classDef stage fill:#eef4fb,stroke:#3567a8,color:#10243f",
            "  classDef state fill:#f7f3ea,stroke:#9a7b3d,color:#3b2f14",
            "  classDef team fill:#eef7ee,stroke:#3d7a3d,color:#183818"]
    if d.stages:
        out.append("  class " + ",".join(x.id for x in d.stages) + " stage")
    for kind in ("state", "team"):
        ids = [x.id for x in d.others if x.kind == kind]
        if ids:
            out.append("  class " + ",".join(ids) + f" {kind}")
    out.append("```")
    return out


def render_markdown(model: PolicyModel) -> str:
    """The policy document as GitHub-flavoured Markdown, with a Mermaid diagram."""
    doc = build_document(model)
    out = [f"# {md_escape(doc.title)}", "", _md_inline(doc.subtitle)]
    for block in doc.blocks:
        out.append("")
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + md_escape(block.text))
        elif isinstance(block, Para):
            out.append(_md_inline(block.text, line_start=True))
        elif isinstance(block, Bullets):
            out.extend("- " + _md_inline(i, line_start=True) for i in block.items)
        elif isinstance(block, Table):
            align = block.align or ("l",) * len(block.header)
            out.append("| " + " | ".join(md_escape(h) for h in block.header) + " |")
            out.append("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
            for row in block.rows:
                out.append("| " + " | ".join(_md_inline(c, in_table=True) for c in row) + " |")
        elif isinstance(block, Diagram):
            out.extend(_mermaid(block))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
:root { --ink: #1d2430; --muted: #5b6676; --line: #d9dee6; --accent: #3567a8;
        --stage: #eef4fb; --state: #f7f3ea; --code: #f3f5f8; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 32px 24px 64px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 8px; padding-bottom: 4px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 28px 0 4px; }
p { margin: 8px 0; }
.subtitle { color: var(--muted); margin-bottom: 16px; }
nav { font-size: 14px; color: var(--muted); margin: 12px 0 8px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px;
        white-space: nowrap; display: inline-block; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: var(--code); padding: 1px 4px; border-radius: 3px; }
table { border-collapse: collapse; margin: 10px 0 14px; width: 100%; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 6px 9px; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.r, th.r { text-align: right; white-space: nowrap; }
ul { padding-left: 22px; }
li { margin: 4px 0; }
figure { margin: 16px 0; overflow-x: auto; }
figure svg { display: block; max-width: none; height: auto; }
figcaption { font-size: 13px; color: var(--muted); }
code.digest { cursor: help; }
h2#sign-off ~ table td { height: 48px; }
h2#sign-off ~ table td:nth-child(n+3) { width: 22%; }
@media print { main { max-width: none; padding: 0; } h2 { break-after: avoid; }
               figure svg { max-width: 100%; } }
"""


def _html_inline(text: Inline) -> str:
    out = []
    for style, t in text:
        e = html_text(t)
        if style == "digest":
            out.append(_digest_html(t))
            continue
        out.append({"code": f"<code>{e}</code>", "b": f"<strong>{e}</strong>",
                    "i": f"<em>{e}</em>"}.get(style, e))
    return "".join(out)


def _digest_html(digest: str) -> str:
    """``sha256:fdbec04e771e…`` with the whole digest on hover: enough to tell versions
    apart at a glance; the title attribute (and a copy) gives the full value."""
    algo, sep, value = digest.partition(":")
    short = f"{algo}:{value[:12]}…" if sep and len(value) > 16 else digest
    return (f'<code class="digest" title="{html_text(digest)}">{html_text(short)}</code>')


def render_html(model: PolicyModel) -> str:
    """The policy document as one self-contained HTML page (inline CSS and SVG, no script)."""
    doc = build_document(model)
    body: list[str] = [f"<h1>{html_text(doc.title)}</h1>",
                       f'<p class="subtitle">{_html_inline(doc.subtitle)}</p>']
    toc = [b for b in doc.blocks if isinstance(b, Heading) and b.level == 2]
    body.append("<nav>" + "".join(f'<a href="#{b.anchor}">{html_text(b.text)}</a>'
                                  for b in toc) + "</nav>")
    for block in doc.blocks:
        if isinstance(block, Heading):
            body.append(f'<h{block.level} id="{html_text(block.anchor)}">'
                        f"{html_text(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            body.append(f"<p>{_html_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in block.items)
                        + "</ul>")
        elif isinstance(block, Table):
            align = block.align or ("l",) * len(block.header)
            cls = [' class="r"' if a == "r" else "" for a in align]
            head = "".join(f"<th{c}>{html_text(h)}</th>"
                           for h, c in zip(block.header, cls, strict=True))
            rows = "".join("<tr>" + "".join(f"<td{c}>{_html_inline(x)}</td>"
                                            for x, c in zip(row, cls, strict=True)) + "</tr>"
                           for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(block, Diagram):
            body.append("<figure>" + svg_diagram(block) + "<figcaption>Solid arrows: the next "
                        "stage; thick: a handoff to another team, with its SLA. Dashed: "
                        "recycle rules, labelled by their reason. Dotted: rejections by the "
                        "receiving team. Each off-funnel state has one arrow in, joining "
                        "every rule that leads there. Hover a line or a label for the full "
                        "rule.</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html_text(doc.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


# --------------------------------------------------------------------------- entry point


def render(model: PolicyModel, fmt: str = "markdown") -> str:
    """The policy document in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "markdown":
        return render_markdown(model)
    if fmt == "html":
        return render_html(model)
    raise ValueError(f"unknown docs format {fmt!r}: expected one of {', '.join(FORMATS)}")
