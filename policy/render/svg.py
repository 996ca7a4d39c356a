"""The funnel diagram as an inline SVG for the HTML document: no script, no
external asset, every text escaped.
"""

from __future__ import annotations

from policy.render.document import Diagram, Node
from policy.render.escape import html_text

# --------------------------------------------------------------------------- SVG

_CHAR = 7.4      # average width of a 13px sans-serif character
_BOX_H = 48
_GAP = 110       # room between stages for a handoff label
_TOP = 34
_ROW2 = 220      # top of the states row


def _box_width(node: Node) -> float:
    return max(96.0, _CHAR * max(len(node.label) * 1.1, len(node.sub) * 0.9) + 28)


def svg_diagram(d: Diagram) -> str:
    """The funnel as an inline SVG: stages left to right, states and teams below."""
    pos: dict[str, tuple[float, float, float]] = {}  # id -> (x, y, width)
    x = 20.0
    for node in d.stages:
        w = _box_width(node)
        pos[node.id] = (x, _TOP, w)
        x += w + _GAP
    width = max(x - _GAP + 20, 320.0)
    # each state sits under the stages that lead to it, pushed right to avoid overlaps
    sources: dict[str, list[float]] = {}
    for e in d.edges:
        if e.src in pos and e.dst not in pos:
            sx, _, sw = pos[e.src]
            sources.setdefault(e.dst, []).append(sx + sw / 2)
    wanted = []
    for k, node in enumerate(d.others):
        xs = sources.get(node.id)
        centre = sum(xs) / len(xs) if xs else 20 + k * 150
        wanted.append((centre, k, node))
    wanted.sort(key=lambda t: (t[0], t[1]))
    cursor = 20.0
    for centre, _, node in wanted:
        w = _box_width(node)
        left = max(cursor, centre - w / 2)
        pos[node.id] = (left, _ROW2, w)
        cursor = left + w + 28
    width = max(width, cursor)
    height = _ROW2 + _BOX_H + 24

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" '
        'aria-label="The funnel: stages, handoffs, recycle and rejection paths" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13">',
        "<defs>",
        *(f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
          f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
          f'fill="{c}"/></marker>'
          for k, c in (("next", "#3567a8"), ("recycle", "#9a7b3d"), ("reject", "#b0413e"))),
        "</defs>",
    ]
    # edges first, so boxes sit on top of their ends. Edges leaving a stage downwards
    # start spread along its bottom, and arrive spread along their target's top; their
    # labels are staggered so that neighbours do not overprint each other.
    fan: dict[str, int] = {}
    arrive: dict[str, int] = {}
    out_count: dict[str, int] = {}
    in_count: dict[str, int] = {}
    for e in d.edges:
        if e.kind in ("recycle", "reject"):
            out_count[e.src] = out_count.get(e.src, 0) + 1
            in_count[e.dst] = in_count.get(e.dst, 0) + 1
    down = sorted((e for e in d.edges if e.kind in ("recycle", "reject")),
                  key=lambda e: pos[e.dst][0])
    order = {id(e): k for k, e in enumerate(down)}
    for e in sorted(d.edges, key=lambda e: order.get(id(e), -1)):
        sx, sy, sw = pos[e.src]
        dx, dy, dw = pos[e.dst]
        title = f"<title>{html_text(e.title or e.label)}</title>" if (e.title or e.label) else ""
        if e.kind in ("next", "handoff"):
            if dy == sy:
                x1, y1, x2, y2 = sx + sw, sy + _BOX_H / 2, dx - 2, dy + _BOX_H / 2
            else:
                x1, y1 = sx + sw / 2, sy + _BOX_H
                x2, y2 = dx + dw / 2, dy - 2
            path = f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
            stroke = 'stroke="#3567a8" stroke-width="{}"'.format(
                "3" if e.kind == "handoff" else "1.6")
            parts.append(f'<g>{title}<path d="{path}" fill="none" {stroke} '
                         'marker-end="url(#arrow-next)"/>')
            if e.label:
                parts.append(_svg_label((x1 + x2) / 2, y1 - 9, e.label, "#3567a8"))
            parts.append("</g>")
            continue
        k = fan.get(e.src, 0)
        fan[e.src] = k + 1
        j = arrive.get(e.dst, 0)
        arrive[e.dst] = j + 1
        x1 = sx + sw * (k + 1) / (out_count[e.src] + 1)
        y1 = sy + _BOX_H
        x2 = dx + dw * (j + 1) / (in_count[e.dst] + 1)
        y2 = dy - 2
        mid = (y1 + y2) / 2
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"
        color = "#9a7b3d" if e.kind == "recycle" else "#b0413e"
        dash = "6 4" if e.kind == "recycle" else "2 3"
        parts.append(f'<g>{title}<path d="{path}" fill="none" stroke="{color}" '
                     f'stroke-width="1.6" stroke-dasharray="{dash}" '
                     f'marker-end="url(#arrow-{e.kind})"/>')
        parts.append(_svg_label(x1, y1 + 18 + 16 * k, e.label, color))
        parts.append("</g>")
    for node in (*d.stages, *d.others):
        x0, y0, w = pos[node.id]
        fill, stroke, radius = {"stage": ("#eef4fb", "#3567a8", 6),
                                "state": ("#f7f3ea", "#9a7b3d", 22),
                                "team": ("#eef7ee", "#3d7a3d", 2)}[node.kind]
        parts.append(f'<g><title>{html_text(node.kind)} {html_text(node.label)}</title>'
                     f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{_BOX_H}" '
                     f'rx="{radius}" fill="{fill}" stroke="{stroke}" stroke-width="1.4"/>')
        cy = y0 + (_BOX_H / 2 - 3 if node.sub else _BOX_H / 2 + 4.5)
        parts.append(f'<text x="{x0 + w / 2:.1f}" y="{cy:.1f}" text-anchor="middle" '
                     f'font-weight="600" fill="#1d2430">{html_text(node.label)}</text>')
        if node.sub:
            parts.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + _BOX_H / 2 + 13:.1f}" '
                         f'text-anchor="middle" font-size="11" fill="#5b6676">'
                         f"{html_text(node.sub)}</text>")
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _svg_label(x: float, y: float, text: str, color: str) -> str:
    # a white halo keeps the label readable where it crosses a line
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="11" '
            f'fill="{color}" stroke="#fff" stroke-width="4" paint-order="stroke">'
            f"{html_text(text)}</text>")
