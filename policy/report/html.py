"""The report as one self-contained HTML page: each chart beside its table.

No script, no style sheet, font or image is fetched: the CSS is inline and the charts
are inline SVG (:mod:`policy.report.charts`). Every string from the policy or the leads
is escaped with :func:`escape` (``html.escape``, and control characters as visible
escapes). Without the ``[report]`` extra the page still holds every table, and a note at
the top says how to add the charts.
"""

from __future__ import annotations

import re
from typing import Any

from policy.render.escape import html_text
from policy.report import charts as charts_mod
from policy.report.render import Table, tables

__all__ = ["to_html"]


def escape(text: Any) -> str:
    """:func:`html.escape`, with control characters (HTML forbids them), bidi overrides
    and lone surrogates from a lead or a policy as visible escapes (``\\x00``)."""
    return html_text(str(text))

#: Cells that are figures (right-aligned): counts, percentages, hours, days, a dash.
_NUMERIC = re.compile(r"[0-9][0-9,.]*%?|–").fullmatch

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0;background:#f5f6f8;color:#1f2933}
header{background:#1f3a60;color:#fff;padding:20px 32px}
header h1{margin:0 0 6px;font-size:24px}
header .meta{font-size:13px;opacity:.85}
header code{font-size:12px;background:rgba(255,255,255,.12);padding:1px 5px;border-radius:3px}
main{padding:16px 32px 40px;max-width:1400px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0 16px}
.card{background:#fff;border-radius:6px;padding:10px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card b{display:block;font-size:22px}
.card span{font-size:12px;color:#52606d}
section{background:#fff;border-radius:6px;margin:16px 0;padding:14px 18px;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
section h2{font-size:17px;margin:0 0 4px}
.note{font-size:12px;color:#52606d;margin:0 0 10px}
.pair{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
.chart{flex:0 0 auto}
.chart svg{max-width:100%;height:auto}
.table{flex:1 1 max-content;max-width:100%;overflow-x:auto}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #e4e7eb;text-align:right;white-space:nowrap}
th.text,td.text{text-align:left}
th{background:#f0f2f5;font-weight:600}
.badge{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;
background:#fdecea;color:#a8281e;margin-left:4px}
.warn{background:#fff8e1;border:1px solid #f0d48a;padding:8px 12px;border-radius:6px;
font-size:13px}
.empty{color:#7b8794;font-style:italic;font-size:13px}
"""

_NO_CHARTS = ("Charts need the optional <code>[report]</code> extra (Altair and vl-convert): "
              "<code>pip install 'funnel-policy[report]'</code>. Every figure is in the "
              "tables below.")


def _table_html(t: Table, badge_column: int | None = None) -> str:
    if not t.rows:
        return f'<p class="empty">{escape(t.empty)}</p>'
    text = [i == 0 or not all(_NUMERIC(row[i]) for row in t.rows)
            for i in range(len(t.header))]
    cls = [' class="text"' if x else "" for x in text]
    head = "".join(f"<th{cls[i]}>{escape(h)}</th>" for i, h in enumerate(t.header))
    body = []
    for row in t.rows:
        cells = []
        for i, c in enumerate(row):
            if badge_column is not None and i == badge_column and c == "off-list":
                cells.append(f'<td{cls[i]}><span class="badge">off-list</span></td>')
            else:
                cells.append(f"<td{cls[i]}>{escape(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(t: Table, chart: str | None, *, badge_column: int | None = None,
             title: str | None = None) -> str:
    note = f'<p class="note">{escape(t.note)}</p>' if t.note else ""
    left = f'<div class="chart">{chart}</div>' if chart else ""
    return (f'<section id="{escape(t.key)}"><h2>{escape(title or t.title)}</h2>{note}'
            f'<div class="pair">{left}<div class="table">{_table_html(t, badge_column)}</div>'
            "</div></section>")


def to_html(report: dict[str, Any], *, with_charts: bool | None = None) -> str:
    """The whole report as one HTML document (ends with a newline)."""
    if with_charts is None:
        with_charts = charts_mod.available()
    svgs = charts_mod.charts(report) if with_charts else {}
    t = tables(report)
    p = report["policy"]
    name = p["name"] or "policy"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>Funnel report · {escape(name)} {escape(p['version'] or '')}</title>",
             f"<style>{_CSS}</style></head><body>"]
    meta = [f"version <code>{escape(p['version'] or '–')}</code>",
            f"digest <code>{escape(p['digest'])}</code>",
            f"as of <code>{escape(report['as_of'])}</code>"]
    if report.get("by_field") is not None:
        meta.append(f"by <code>{escape(report['by_field'])}</code>")
    if report.get("cohort_field") is not None:
        meta.append(f"cohorts <code>{escape(report['cohort_field'])}</code> per "
                    f"{escape(report['period'])}")
    parts.append(f"<header><h1>Funnel report: {escape(name)}</h1>"
                 f'<div class="meta">{" · ".join(meta)}</div></header><main>')
    if not with_charts:
        parts.append(f'<p class="warn">{_NO_CHARTS}</p>')
    cards = list(t["summary"])
    stages = list(report["funnel"])
    if stages:
        last = report["funnel"][stages[-1]]
        cards.append((f"reached {stages[-1]}", f"{last['reached']:,}"))
    parts.append('<div class="cards">' + "".join(
        f"<div class=\"card\"><b>{escape(v)}</b><span>{escape(k)}</span></div>"
        for k, v in cards) + "</div>")
    parts.append(_section(t["funnel"], svgs.get("funnel")))
    if report.get("cohorts") is not None:
        parts.append(_section(t["cohorts"], svgs.get("cohorts"),
                              title=f"Cohorts by {report['cohort_field']}, per "
                                    f"{report['period']}"))
    if t["sla"].rows:
        parts.append(_section(t["sla"], svgs.get("sla")))
    for h, _routes, reasons in t["handoffs"]:
        parts.append(_section(reasons, svgs.get(f"rejections-{h['stage']}"), badge_column=2))
    for _h, routes, _reasons in t["handoffs"]:
        routes.note = None  # said once, in the summary section above
        parts.append(_section(routes, None))
    parts.append(_section(t["velocity"], svgs.get("velocity")))
    for name_, _s, table in t["scores"]:
        parts.append(_section(table, svgs.get(f"score-{name_}")))
    parts.append(_section(t["states"], None))
    parts.append(_section(t["refused"], None))
    if t["by"] is not None:
        parts.append(_section(t["by"], None))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
