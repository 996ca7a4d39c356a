"""The funnel diagram as an inline SVG for the HTML document: no script, no
external asset, every text escaped.

Drawn for a reader who signs it, not for the engine: stages left to right, each handoff
arrow with its team and SLA above it; below, the off-funnel states. Every line down to a
state is routed, never drawn across a label:

- each edge leaving a stage downwards drops straight from the stage's bottom (its
  *drop*), at its own x near the left of the box;
- its label (the recycle rule's reason, or who rejects) sits to the right of all the
  drops of that stage, under the stage and its gap, wrapped to fit before the next
  stage's drops, with a short sample of the edge's stroke in front of it as a key;
- under the labels, every drop turns into its own horizontal *lane* (so lines of different
  rules never run on top of each other) towards its state, where one *trunk* goes down
  into the state with the only arrowhead. So each state has exactly one arrowhead,
  however many rules lead to it. Lanes are grouped by state, the farthest drop on top,
  so the lanes into one state never cross each other.

All geometry is straight segments (``M``, ``V``, ``H``), so a test can check that no label
box meets an edge (tests/test_docs.py). Text widths are estimated per character
(:data:`_CHAR`, :data:`_SMALL_CHAR`); the estimate errs wide.
"""

from __future__ import annotations

from policy.render.document import Diagram, Edge, Node
from policy.render.escape import html_text, one_line, visible

__all__ = ["svg_diagram", "wrap"]

_CHAR = 7.6          # average width of a 13px bold sans-serif character (wide side)
_SMALL_CHAR = 6.4    # of an 11px one
_LINE = 14           # the line height of 11px labels
_BOX_H = 48
_TOP = 44            # room above the stages for two lines of handoff label
_MARGIN = 12
_DROP_STEP = 10      # between the drops leaving one stage
_DROP_IN = 14        # the first drop, from the box's left edge
_MIN_GAP = 50        # between two stages joined by a plain arrow
_LANE_STEP = 12
_MAX_LABEL = 90      # characters of a reason shown; the full text is on hover

_COLORS = {"next": "#3567a8", "handoff": "#3567a8", "recycle": "#8a6a2c", "reject": "#b0413e",
           "team": "#3567a8"}
_DASH = {"recycle": "6 4", "reject": "2 3", "handoff": "", "next": "", "team": ""}


def _box_width(node: Node) -> float:
    return max(96.0, _CHAR * len(node.label) + 28, _SMALL_CHAR * len(node.sub) + 28)


def text_width(text: str, small: bool = True) -> float:
    """The estimated width of ``text`` at 11px (``small``) or 13px bold."""
    return len(text) * (_SMALL_CHAR if small else _CHAR)


def wrap(text: str, width: float) -> list[str]:
    """``text`` in lines of at most ``width`` px at 11px (a word longer than that is
    cut with an ellipsis). Line breaks are spaces and control characters visible escapes
    (``\\x0d``) before measuring, as the page shows them."""
    text = visible(one_line(text))
    if len(text) > _MAX_LABEL:
        text = text[: _MAX_LABEL - 1].rstrip() + "…"
    per_line = max(8, int(width // _SMALL_CHAR))
    lines: list[str] = []
    line = ""
    for word in text.split():
        if len(word) > per_line:
            word = word[: per_line - 1] + "…"
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines or [""]


def _down(e: Edge) -> bool:
    return e.kind in ("recycle", "reject") or e.dst.startswith(("t_", "x_"))


def svg_diagram(d: Diagram) -> str:
    """The funnel as an inline SVG: stages left to right, states and teams below."""
    stages = list(d.stages)
    across = {(e.src, e.dst): e for e in d.edges if not _down(e)}
    down = [e for e in d.edges if _down(e)]
    drops_of: dict[str, list[Edge]] = {}
    for e in down:
        drops_of.setdefault(e.src, []).append(e)

    # -- stages and the gaps between them (wide enough for a handoff's label)
    pos: dict[str, tuple[float, float, float]] = {}  # id -> (x, y, width)
    x = float(_MARGIN)
    for k, node in enumerate(stages):
        w = _box_width(node)
        pos[node.id] = (x, _TOP, w)
        gap = _MIN_GAP
        if k + 1 < len(stages):
            e = across.get((node.id, stages[k + 1].id))
            if e is not None:
                gap = max(gap, text_width(e.label) + 24, text_width(e.note) + 24)
        x += w + gap
    stage_right = x - _MIN_GAP if stages else float(_MARGIN)

    # -- drops: x positions, and the label block to the right of each stage's drops
    drop_x: dict[int, float] = {}
    labels: list[tuple[Edge, float, float, list[str]]] = []  # edge, x, y, lines
    zone_top = _TOP + _BOX_H + 16
    zone_bottom = zone_top
    for k, node in enumerate(stages):
        edges = drops_of.get(node.id, [])
        if not edges:
            continue
        sx, _, sw = pos[node.id]
        for i, e in enumerate(edges):
            drop_x[id(e)] = sx + _DROP_IN + i * _DROP_STEP
        left = sx + _DROP_IN + (len(edges) - 1) * _DROP_STEP + 8
        if k + 1 < len(stages):
            right = pos[stages[k + 1].id][0] + _DROP_IN - 10
        else:
            # the last stage: wrap under it rather than widen the picture, which the
            # page would then scale down, labels and all
            right = max(stage_right, left + 120)
        y = zone_top
        for e in edges:
            lines = wrap(e.label, right - left - 22)
            labels.append((e, left, y, lines))
            y += _LINE * len(lines) + 6
        zone_bottom = max(zone_bottom, y)

    # -- the states row: each state under the drops that reach it, no overlaps
    targets: list[str] = []
    for e in down:
        if e.dst not in targets:
            targets.append(e.dst)
    others = {node.id: node for node in d.others}
    wanted = []
    for k, node in enumerate(d.others):
        xs = [drop_x[id(e)] for e in down if e.dst == node.id and id(e) in drop_x]
        centre = sum(xs) / len(xs) if xs else _MARGIN + 60 + k * 150
        wanted.append((centre, k, node))
    wanted.sort(key=lambda t: (t[0], t[1]))
    lanes_top = zone_bottom + 4
    routed = [e for e in down if id(e) in drop_x and e.dst in others]
    row2 = lanes_top + max(len(routed) - 1, 0) * _LANE_STEP + 30
    cursor = float(_MARGIN)
    for centre, _, node in wanted:
        w = _box_width(node)
        left = max(cursor, centre - w / 2)
        pos[node.id] = (left, row2, w)
        cursor = left + w + 28

    def trunk_x(t: str) -> float:
        return pos[t][0] + pos[t][2] / 2

    lane_y: dict[int, float] = {}
    for i, e in enumerate(sorted(routed, key=lambda e: (
            trunk_x(e.dst), -abs(drop_x[id(e)] - trunk_x(e.dst))))):
        lane_y[id(e)] = lanes_top + i * _LANE_STEP
    width = max(stage_right + _MARGIN, cursor, 320.0,
                *(lx + 22 + max(text_width(t) for t in lines) + 4
                  for _, lx, _, lines in labels))
    height = (row2 + _BOX_H + 16) if d.others else (zone_bottom + 8)

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" '
        'aria-label="The funnel: stages, handoffs with their SLAs, recycle and rejection paths" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13">',
        "<defs>",
        *(f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
          f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
          f'fill="{c}"/></marker>'
          for k, c in (("next", _COLORS["next"]), ("recycle", _COLORS["recycle"]),
                       ("reject", _COLORS["reject"]))),
        "</defs>",
    ]

    # -- arrows between stages, labels above them
    for k in range(len(stages) - 1):
        a, b = stages[k], stages[k + 1]
        e = across.get((a.id, b.id))
        sx, sy, sw = pos[a.id]
        dx, _, _ = pos[b.id]
        y = sy + _BOX_H / 2
        kind = e.kind if e is not None else "next"
        title = _title(e.title or e.label) if e is not None else ""
        stroke = "3" if kind == "handoff" else "1.6"
        parts.append(f'<g class="edge" data-kind="{kind}" data-src="{html_text(a.id)}" '
                     f'data-dst="{html_text(b.id)}">{title}<path d="M{sx + sw:.1f},{y:.1f} '
                     f'H{dx - 2:.1f}" fill="none" stroke="{_COLORS["next"]}" '
                     f'stroke-width="{stroke}" marker-end="url(#arrow-next)"/>')
        mid = (sx + sw + dx) / 2
        if e is not None and e.label:
            top = sy - (20 if e.note else 6)
            parts.append(_text(mid, top, e.label, _COLORS["next"], "middle", bold=True))
            if e.note:
                parts.append(_text(mid, sy - 6, e.note, "#1d2430", "middle", cls="sla"))
        parts.append("</g>")

    # -- drops, lanes, trunks
    for e in down:
        if id(e) not in drop_x or e.dst not in pos:
            continue
        x1 = drop_x[id(e)]
        _, sy, _ = pos[e.src]
        trunk = trunk_x(e.dst)
        ly = lane_y[id(e)]
        color = _COLORS.get(e.kind, _COLORS["next"])
        dash = _DASH.get(e.kind, "")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="edge" data-kind="{e.kind}" data-src="{html_text(e.src)}" '
                     f'data-dst="{html_text(e.dst)}">{_title(e.title or e.label)}'
                     f'<path d="M{x1:.1f},{sy + _BOX_H:.1f} V{ly:.1f} H{trunk:.1f}" '
                     f'fill="none" stroke="{color}" stroke-width="1.6"{dash_attr}/></g>')
    for t in targets:
        tops = [lane_y[id(e)] for e in routed if e.dst == t]
        if not tops:
            continue
        tx, ty, tw = pos[t]
        kinds = {e.kind for e in routed if e.dst == t}
        kind = "reject" if kinds == {"reject"} else "recycle" if "recycle" in kinds else (
            "next" if kinds <= {"handoff", "next"} else "recycle")
        color = _COLORS["next"] if kind == "next" else _COLORS[kind]
        node = others[t]
        parts.append(f'<g class="trunk" data-dst="{html_text(t)}"><title>to '
                     f'{html_text(node.label)}</title><path d="M{tx + tw / 2:.1f},'
                     f'{min(tops):.1f} V{ty - 2:.1f}" fill="none" stroke="{color}" '
                     f'stroke-width="1.6" marker-end="url(#arrow-{kind})"/></g>')

    # -- labels of the drops, each with a sample of its stroke as a key
    for e, lx, ly, lines in labels:
        color = _COLORS.get(e.kind, _COLORS["next"])
        dash = _DASH.get(e.kind, "")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="label" data-src="{html_text(e.src)}" '
                     f'data-dst="{html_text(e.dst)}">{_title(e.title or e.label)}'
                     f'<path d="M{lx:.1f},{ly - 4:.1f} H{lx + 16:.1f}" stroke="{color}" '
                     f'stroke-width="1.6"{dash_attr}/>')
        for i, line in enumerate(lines):
            parts.append(_text(lx + 22, ly + i * _LINE, line, color, "start"))
        parts.append("</g>")

    # -- boxes last, on top of the ends of their lines
    for node in (*d.stages, *d.others):
        if node.id not in pos:
            continue
        x0, y0, w = pos[node.id]
        fill, stroke, radius = {"stage": ("#eef4fb", "#3567a8", 6),
                                "state": ("#f7f3ea", "#9a7b3d", 22),
                                "team": ("#eef7ee", "#3d7a3d", 2)}[node.kind]
        parts.append(f'<g class="node"><title>{html_text(node.kind)} {html_text(node.label)}'
                     f'</title><rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" '
                     f'height="{_BOX_H}" rx="{radius}" fill="{fill}" stroke="{stroke}" '
                     'stroke-width="1.4"/>')
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


def _title(text: str) -> str:
    return f"<title>{html_text(text)}</title>" if text else ""


def _text(x: float, y: float, text: str, color: str, anchor: str, *, bold: bool = False,
          cls: str = "") -> str:
    weight = ' font-weight="600"' if bold else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<text{klass} x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="11"'
            f'{weight} fill="{color}">{html_text(text)}</text>')
