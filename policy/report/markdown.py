"""The report as Markdown: the tables, ready for a wiki page or a pull request.

Every string that comes from a policy or a lead is escaped (:func:`md`), so a rejection
reason such as ``*urgent* | <b>call</b>`` shows as written and cannot break a table.
"""

from __future__ import annotations

import re
from typing import Any

from policy.render.escape import md_no_links, one_line, visible
from policy.report.render import Table, tables

__all__ = ["md", "to_markdown"]

# What can start emphasis, code, a link, an HTML tag, an entity or a cell; `#`, `-`, `+`
# and `1.` only matter at the start of a line, and a line here always starts with `|`,
# `#`, `-` or text this module wrote.
_SPECIAL = re.compile(r"([\\`*_\[\]|~<>&#])")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def md(text: Any) -> str:
    """Text safe inside Markdown (and a table cell): markup characters backslash-escaped, ``<``,
    ``>`` and ``&`` as entities, line breaks (every one :func:`one_line` knows) and tabs as
    spaces, other control characters and bidi overrides as visible escapes; a URL, a
    ``www.`` name, an e-mail address or an ``@mention`` (a `--by` value from a web form)
    is no link and notifies no one (:func:`policy.render.escape.md_no_links`)."""
    s = one_line(str(text)).replace("\t", " ")
    s = visible(s)  # NUL, ESC, bidi overrides, lone surrogates: as `\x00`, `\u202e`
    return md_no_links(_SPECIAL.sub(lambda m: _ENTITIES.get(m.group(1), "\\" + m.group(1)), s))


def _table(t: Table, *, level: int = 2) -> list[str]:
    out = [f"{'#' * level} {md(t.title)}", ""]
    if t.note:
        out += [md(t.note), ""]
    if not t.rows:
        return [*out, f"_{md(t.empty)}_", ""]
    out.append("| " + " | ".join(md(h) for h in t.header) + " |")
    out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(t.header))) + "|")
    for row in t.rows:
        out.append("| " + " | ".join(md(c) for c in row) + " |")
    return [*out, ""]


def to_markdown(report: dict[str, Any]) -> str:
    """The whole report as Markdown text (ends with one newline)."""
    p = report["policy"]
    t = tables(report)
    out = [f"# Funnel report: {md(p['name'] or 'policy')} {md(p['version'] or '')}".rstrip(), ""]
    out.append(f"- policy: {md(p['name'])} · version {md(p['version'] or '–')} · digest "
               f"{md(p['digest'])}")
    out.append(f"- as of: {md(report['as_of'])}")
    out.append("- " + " · ".join(f"{k}: {v}" for k, v in t["summary"]))
    if report.get("by_field") is not None:
        out.append(f"- by: {md(report['by_field'])}")
    if report.get("cohort_field") is not None:
        out.append(f"- cohorts: {md(report['cohort_field'])} by {md(report['period'])}")
    out.append("")
    out += _table(t["funnel"])
    out += _table(t["states"])
    for _h, routes, reasons in t["handoffs"]:
        out += _table(routes)
        out += _table(reasons)
    out += _table(t["velocity"])
    if report.get("cohorts") is not None:
        t["cohorts"].title = (f"Cohorts by {report['cohort_field']}, per {report['period']}")
        out += _table(t["cohorts"])
    for _name, _s, table in t["scores"]:
        out += _table(table)
    out += _table(t["refused"])
    if t["by"] is not None:
        out += _table(t["by"])
    return "\n".join(out).rstrip("\n") + "\n"
