"""Markdown atoms: escaping text and code spans so that policy strings cannot open
headings, links, tables or HTML. Shared by ``funnel docs`` and ``funnel diff``.

The rules live in :mod:`policy.render.escape` with every other format's (a bare CR,
which CommonMark reads as a line break, and other control characters included).
"""

from __future__ import annotations

from policy.render.escape import md_code, md_text

md_escape = md_text

__all__ = ["md_code", "md_escape"]
