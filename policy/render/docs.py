"""Docs: the policy as the document both teams sign, in Markdown or one HTML file.

Runs after :mod:`policy.model.loader` has built and checked the model. It reads the
model only: the title, version and digest; the funnel as a diagram (a Mermaid
``flowchart LR`` in Markdown, which code hosts render; an inline SVG drawn here
for HTML, no script and no external asset); every stage's gate in plain words;
the scoring tables; each handoff with its routes, SLA, escalation and agreed
rejection reasons; the recycle rules; the off-funnel states; the business
calendar; the shared vocabulary; the teams with their handles; and on every
section the teams that own it (:class:`policy.review.semdiff.Ownership`).

Both outputs come from one intermediate document (:class:`Document`: headings,
paragraphs, tables, lists, the diagram), so they cannot disagree. Conditions
are written in plain words by :func:`plain` (``fit ≥ 45``, ``job_level is one
of ["vp", "c-level"]``), never by ``eval`` or string replacement on source text.

The small Markdown helpers (:func:`md_escape`, :func:`md_code`, :func:`md_cell`)
are shared with ``funnel diff``'s pull-request comment.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

import attrs

from policy.model.namespace import PolicyModel
from policy.syntax import nodes as n
from policy.syntax.formatter import (
    canonical_number,
    format_duration,
    format_path,
    policy_digest,
    quote,
)

__all__ = [
    "md_escape",
    "md_code",
    "plain",
    "Document",
    "build_document",
    "render_markdown",
    "render_html",
    "render",
    "FORMATS",
]

#: Output formats of ``funnel docs``.
FORMATS = ("markdown", "html")


# --------------------------------------------------------------------------- markdown atoms

_MD_SPECIAL = re.compile(r"([\\`*\[\]<|~&])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: what would open a heading, a list, a quote or a setext underline at a line's start
_MD_LINE_START = re.compile(r"^(?:[#+=>-]|[0-9]+(?=[.)]))")


def md_escape(text: str, *, line_start: bool = False) -> str:
    """Text that Markdown shows literally: no emphasis, link, HTML, or table break.

    An underscore inside a word (``demo_requested``) is left alone, as GitHub does not
    read it as emphasis; one that could open or close emphasis is escaped. With
    ``line_start``, text that would open a heading or a list there is escaped too.
    """
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text.replace("\n", " "))
    head = _MD_LINE_START.match(text) if line_start else None
    if head is None:
        return text
    k = head.end()
    # a digit cannot be escaped: escape the `.` or `)` after the number instead
    return (text[:k] + "\\" + text[k:]) if text[0].isdigit() else "\\" + text


def md_code(text: str | None, *, in_table: bool = False) -> str:
    """An inline code span holding ``text`` exactly (line breaks become spaces).

    The fence is one backtick longer than the longest run inside (CommonMark). In a
    table cell (``in_table``) a ``|`` is escaped, because GitHub splits cells before
    it reads code spans (and shows the ``|`` without its backslash there).
    """
    text = re.sub(r"\n\s*", " ", text or "")  # a wrapped line reads as one
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if in_table else span


# --------------------------------------------------------------------------- plain words

_OPS = {
    n.BinOp.EQ: "=",
    n.BinOp.NE: "≠",
    n.BinOp.LT: "<",
    n.BinOp.LE: "≤",
    n.BinOp.GT: ">",
    n.BinOp.GE: "≥",
    n.BinOp.ADD: "+",
    n.BinOp.SUB: "−",
    n.BinOp.MUL: "×",
    n.BinOp.DIV: "÷",
    n.BinOp.IN: "is one of",
    n.BinOp.NOT_IN: "is not one of",
    n.BinOp.CONTAINS: "contains",
    n.BinOp.STARTS_WITH: "starts with",
    n.BinOp.ENDS_WITH: "ends with",
    n.BinOp.AND: "and",
    n.BinOp.OR: "or",
}

#: Built-in functions in words: ``days_since(t)`` reads "days since t".
_CALLS = {
    "days_since": "days since {}",
    "hours_since": "hours since {}",
    "lower": "lower-case {}",
    "length": "length of {}",
    "domain": "domain of {}",
}


def number_words(value: int | float) -> str:
    """A number for people: ``250,000,000``, ``0.5``."""
    if isinstance(value, int):
        return f"{value:,}"
    text = canonical_number(value)
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}.{frac}" if whole.isdigit() else text


def plain(expr: n.Expr, floor: int = 0) -> str:
    """An expression in plain words: ``fit ≥ 45 and country is one of ["US", "CA"]``.

    Operators become their mathematical signs or words, numbers get thousands
    separators, and parentheses appear only where precedence needs them.
    """
    if isinstance(expr, n.Number):
        return number_words(expr.value)
    if isinstance(expr, n.String):
        return quote(expr.value)
    if isinstance(expr, n.Bool):
        return "true" if expr.value else "false"
    if isinstance(expr, n.Null):
        return "null"
    if isinstance(expr, n.ListExpr):
        return "[" + ", ".join(plain(i) for i in expr.items) + "]"
    if isinstance(expr, n.Ref):
        return format_path(expr.path)
    if isinstance(expr, n.Call):
        args = ", ".join(plain(a, n.PRECEDENCE["primary"]) for a in expr.args)
        text = _CALLS.get(expr.func, expr.func + " of {}").format(args)
        return _wrap(text, n.PRECEDENCE["neg"], floor)
    if isinstance(expr, n.Not):
        return _wrap("not " + plain(expr.operand, n.PRECEDENCE["not"]), n.PRECEDENCE["not"],
                     floor)
    if isinstance(expr, n.Neg):
        return _wrap("−" + plain(expr.operand, n.PRECEDENCE["neg"]), n.PRECEDENCE["neg"], floor)
    if isinstance(expr, n.Presence):
        word = "is present" if expr.present else "is missing"
        own = n.PRECEDENCE["is"]
        return _wrap(f"{plain(expr.operand, own + 1)} {word}", own, floor)
    if isinstance(expr, n.Binary):
        own = n.PRECEDENCE[expr.op]
        op = _OPS[expr.op]
        if expr.op is n.BinOp.CONTAINS and isinstance(expr.right, n.ListExpr):
            op = "contains one of"
        # left-associative: the right operand of `a - (b - c)` keeps its parentheses
        left = plain(expr.left, own)
        right = plain(expr.right, own + 1)
        return _wrap(f"{left} {op} {right}", own, floor)
    raise TypeError(f"not an expression: {expr!r}")  # pragma: no cover


def _wrap(text: str, own: int, floor: int) -> str:
    return f"({text})" if own < floor else text


def _points(value: int | float) -> str:
    sign = "−" if value < 0 else "+"
    return sign + number_words(abs(value))


_DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
              "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
_WEEK = list(_DAY_NAMES)


def days_words(days: Sequence[str]) -> str:
    """``mon tue wed thu fri`` → ``Monday to Friday``; other sets are listed."""
    known = [d for d in days if d in _DAY_NAMES]
    idx = sorted(_WEEK.index(d) for d in known)
    if len(idx) >= 3 and idx == list(range(idx[0], idx[-1] + 1)):
        return f"{_DAY_NAMES[_WEEK[idx[0]]]} to {_DAY_NAMES[_WEEK[idx[-1]]]}"
    return ", ".join(_DAY_NAMES.get(d, d) for d in days)


# --------------------------------------------------------------------------- the document

#: Inline text: (style, text) runs; style is "" (plain), "code", "b" or "i".
Inline = tuple[tuple[str, str], ...]


def T(text: str) -> Inline:
    return (("", text),)


def C(text: str) -> Inline:
    return (("code", text),)


def B(text: str) -> Inline:
    return (("b", text),)


def I(text: str) -> Inline:  # noqa: E743 - the document's italic constructor
    return (("i", text),)


_COMMA: Inline = (("", ", "),)


def join(parts: Iterable[Inline], sep: Inline = _COMMA) -> Inline:
    """Inline runs one after another, ``sep`` between them."""
    out: list[tuple[str, str]] = []
    for k, p in enumerate(parts):
        if k:
            out.extend(sep)
        out.extend(p)
    return tuple(out)


@attrs.frozen
class Heading:
    level: int
    text: str
    anchor: str


@attrs.frozen
class Para:
    text: Inline


@attrs.frozen
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]
    #: "l" or "r" per column
    align: tuple[str, ...] = ()


@attrs.frozen
class Bullets:
    items: tuple[Inline, ...]


@attrs.frozen
class Node:
    """A diagram node: a funnel stage (``kind="stage"``), a state, or a receiving team."""

    id: str
    label: str
    kind: str
    sub: str = ""


@attrs.frozen
class Edge:
    """A diagram edge; ``kind``: ``next`` (to the next stage), ``handoff``, ``recycle``,
    ``reject``. ``label`` is short; ``title`` is the full text (SVG tooltip)."""

    src: str
    dst: str
    kind: str
    label: str = ""
    title: str = ""


@attrs.frozen
class Diagram:
    stages: tuple[Node, ...]
    others: tuple[Node, ...]
    edges: tuple[Edge, ...]


Block = Heading | Para | Table | Bullets | Diagram


@attrs.frozen
class Document:
    """The policy as a document: a title, a subtitle line, and blocks in order."""

    title: str
    subtitle: Inline
    blocks: tuple[Block, ...]


def _owned(names: Iterable[str], why: str = "") -> Para:
    teams = sorted(names)
    text = join((B(t) for t in teams), T(", ")) if teams else T("nobody")
    return Para(T("Owned by ") + text + (T(f" ({why}).") if why else T(".")))


def _desc(text: str | None) -> list[Block]:
    return [Para(I(text))] if text else []


def _reasons(model: PolicyModel, expr: n.Expr) -> Inline:
    """The agreed rejection reasons, resolved through a define when one is named."""
    seen: set[str] = set()
    while isinstance(expr, n.Ref) and len(expr.path) == 1 and expr.path[0] in model.defines:
        if expr.path[0] in seen:
            break
        seen.add(expr.path[0])
        expr = model.defines[expr.path[0]].value
    if isinstance(expr, n.ListExpr):
        return join((C(plain(i)) for i in expr.items), T(", "))
    return C(plain(expr))


def build_document(model: PolicyModel) -> Document:
    """The whole policy as a :class:`Document` (rendered by :func:`render_markdown` /
    :func:`render_html`)."""
    from policy.review.semdiff import (
        Ownership,  # semdiff renders with this module's Markdown helpers
    )

    own = Ownership(model)
    header = model.header
    name = header.name.name if header else "policy"
    title = header.title if header else name
    digest = policy_digest(model)
    subtitle = C(name) + T(" · version ") + B(model.version or "(none)") + T(" · digest ") \
        + C(digest)
    blocks: list[Block] = [
        Para(T("This document is generated from the policy's source by ") + C("funnel docs")
             + T(". The source files are the agreement; this is how they read. The digest "
                 "fingerprints the rules as ") + C("funnel fmt")
             + T(" prints them (comments, layout and examples aside) together with the lead "
                 "schema; every decision carries it, so a decision can be traced to the exact "
                 "rules that made it.")),
    ]
    blocks += _funnel_section(model, own)
    blocks += _teams_section(model, own)
    blocks += _stages_section(model, own)
    blocks += _scores_section(model, own)
    blocks += _handoffs_section(model, own)
    blocks += _recycle_section(model, own)
    blocks += _states_section(model, own)
    blocks += _calendar_section(model, own)
    blocks += _vocabulary_section(model, own)
    return Document(title, subtitle, tuple(blocks))


def _funnel_section(model: PolicyModel, own) -> list[Block]:
    out: list[Block] = [Heading(2, "The funnel", "funnel"),
                        _owned(own.every, "the funnel line belongs to every team")]
    if not model.funnel:
        return [*out, Para(T("The policy declares no funnel."))]
    out.append(_diagram(model))
    handoff_at = {h.stage.name: h for h in model.handoffs}
    rows = []
    for k, stage_name in enumerate(model.funnel, 1):
        stage = model.stages.get(stage_name)
        h = handoff_at.get(stage_name)
        rows.append((
            T(str(k)),
            C(stage_name),
            T(stage.description or "") if stage else T(""),
            T(", ".join(sorted(own.of(stage)))) if stage else T(""),
            (T("hands to ") + B(h.team.name)) if h else T(""),
        ))
    out.append(Table(("#", "stage", "meaning", "owners", "handoff"), tuple(rows),
                     ("r", "l", "l", "l", "l")))
    out.append(Para(T("A lead is placed at the deepest stage whose gate it passes, together "
                      "with every earlier gate. A handoff that rejected it, or else the first "
                      "recycle rule that matches its stage, places it in an off-funnel state "
                      "instead.")))
    return out


def _diagram(model: PolicyModel) -> Diagram:
    stages = tuple(Node(f"s_{s}", s, "stage",
                        ", ".join(sorted(o.name for o in model.stages[s].owners))
                        if s in model.stages else "")
                   for s in model.funnel)
    others: dict[str, Node] = {}
    edges: list[Edge] = []
    handoff_at = {h.stage.name: h for h in model.handoffs}
    for k, s in enumerate(model.funnel):
        h = handoff_at.get(s)
        if k + 1 < len(model.funnel):
            nxt = model.funnel[k + 1]
            if h is not None:
                edges.append(Edge(f"s_{s}", f"s_{nxt}", "handoff", f"to {h.team.name}",
                                  f"handoff {s} to {h.team.name}"))
            else:
                edges.append(Edge(f"s_{s}", f"s_{nxt}", "next"))
        elif h is not None:
            tid = f"t_{h.team.name}"
            others.setdefault(tid, Node(tid, h.team.name, "team"))
            edges.append(Edge(f"s_{s}", tid, "handoff", "handoff", f"handoff {s} to {h.team.name}"))

    def state_node(name: str) -> str:
        sid = f"x_{name}"
        state = model.states.get(name)
        sub = ", ".join(sorted(o.name for o in state.owners)) if state else ""
        others.setdefault(sid, Node(sid, name, "state", sub))
        return sid

    for h in model.handoffs:
        for item in h.items:
            if isinstance(item, n.Reject):
                edges.append(Edge(f"s_{h.stage.name}", state_node(item.state.name), "reject",
                                  f"rejected by {h.team.name}",
                                  f"{h.team.name} rejects: to {item.state.name}"))
    for k, r in enumerate(model.recycles, 1):
        target = state_node(r.state.name)
        for s in r.stages:
            edges.append(Edge(f"s_{s.name}", target, "recycle", f"recycle #{k}",
                              f"recycle #{k}: {r.reason or plain(r.condition)}"))
    for name in model.states:  # states nothing leads to still belong in the picture
        state_node(name)
    return Diagram(stages, tuple(others.values()), tuple(edges))


def _teams_section(model: PolicyModel, own) -> list[Block]:
    from policy.review.semdiff import declaration_label

    out: list[Block] = [Heading(2, "Teams", "teams"),
                        _owned(own.every, "team lines belong to every team")]
    owns: dict[str, list[str]] = {t: [] for t in model.teams}
    blocks = [*model.funnel_stages(), *model.scores.values(), *model.handoffs,
              *model.recycles, *model.states.values()]
    for d in blocks:
        for t in sorted(own.of(d)):
            if t in owns:
                owns[t].append(declaration_label(d))
    rows = tuple((C(t), T(team.handle), T(", ".join(owns[t])))
                 for t, team in model.teams.items())
    out.append(Table(("team", "handle", "owns"), rows))
    out.append(Para(T("A change to a block needs the approval of every team that owns it "
                      "(see ") + C("funnel diff") + T("). Blocks without ") + C("owned by")
                    + T(" take their owners from what they touch.")))
    return out


def _stages_section(model: PolicyModel, own) -> list[Block]:
    out: list[Block] = [Heading(2, "Stages and their gates", "stages")]
    words = {n.Require: "requires", n.Exclude: "excludes", n.KeepWhen: "stays once"}
    for k, stage in enumerate(model.funnel_stages(), 1):
        out.append(Heading(3, f"{k}. {stage.name.name}", f"stage-{stage.name.name}"))
        out += _desc(stage.description)
        out.append(_owned(own.of(stage)))
        summary = []
        for kind in (n.Require, n.Exclude, n.KeepWhen):
            items = [i for i in stage.items if isinstance(i, kind)]
            if items:
                parts = []
                for i in items:
                    if isinstance(i, n.Exclude) and i.reason:
                        parts.append(T(i.reason))
                    else:
                        parts.append(T(plain(i.condition)))
                summary.append(B(words[kind] + ":") + T(" ") + join(parts, T("; ")))
        if summary:
            out.append(Para(join(summary, T(". ")) + T(".")))
            rows = tuple((T(words[type(i)]), T(plain(i.condition)),
                          T(getattr(i, "reason", None) or ""))
                         for i in stage.items)
            out.append(Table(("rule", "condition", "reason given"), rows))
        else:
            out.append(Para(T("No conditions: every lead that passed the earlier gates is "
                              "here.")))
        earlier = "it passed every earlier gate, " if k > 1 else ""
        keep = any(isinstance(i, n.KeepWhen) for i in stage.items)
        out.append(Para(I(f"A lead is here when {earlier}no “excludes” line holds, "
                          "and every “requires” line holds"
                          + (" — or the “stays once” condition holds, which keeps a lead that "
                             "already entered." if keep else "."))))
    return out


def _scores_section(model: PolicyModel, own) -> list[Block]:
    if not model.scores:
        return []
    out: list[Block] = [Heading(2, "Scores", "scores")]
    for score in model.scores.values():
        out.append(Heading(3, score.name.name, f"score-{score.name.name}"))
        out += _desc(score.description)
        out.append(_owned(own.of(score)))
        rows = []
        notes: list[Inline] = []
        for item in score.items:
            if isinstance(item, n.PointsIf):
                rows.append((T(plain(item.condition)), T(_points(item.points))))
            elif isinstance(item, n.PointsPer):
                cap = (f", at most {_points(item.cap if item.points > 0 else -item.cap)}"
                       if item.cap is not None else "")
                rows.append((T("per " + plain(item.count)),
                             T(f"{_points(item.points)} each{cap}")))
            elif isinstance(item, n.Range):
                notes.append(T(f"The total is kept between {number_words(item.low)} and "
                               f"{number_words(item.high)}."))
            elif isinstance(item, n.Decay):
                notes.append(T(f"It halves every {format_duration(item.half_life)} since ")
                             + C(format_path(item.since.path))
                             + T(" (no decay when that timestamp is missing)."))
        if rows:
            out.append(Table(("rule", "points"), tuple(rows), ("l", "r")))
        out.append(Para(T("Each score starts at 0 and adds the points of every rule that "
                          "holds; the result is rounded to a whole number.")
                        + (T(" ") + join(notes, T(" ")) if notes else T(""))))
    return out


def _handoffs_section(model: PolicyModel, own) -> list[Block]:
    if not model.handoffs:
        return []
    out: list[Block] = [Heading(2, "Handoffs", "handoffs")]
    for h in model.handoffs:
        out.append(Heading(3, f"{h.stage.name} → {h.team.name}", f"handoff-{h.stage.name}"))
        out.append(_owned(own.of(h), f"the owners of stage {h.stage.name} and the receiving "
                                     f"team"))
        out.append(Para(T("Applies to every lead at ") + C(h.stage.name)
                        + T(" or deeper in the funnel.")))
        routes = [i for i in h.items if isinstance(i, n.Route)]
        if routes:
            rows = tuple((C(r.target), T("otherwise" if r.condition is None
                                         else plain(r.condition))) for r in routes)
            out.append(Para(T("Routes, tried in order; the first that holds is taken:")))
            out.append(Table(("route", "when"), rows))
        bullets: list[Inline] = []
        sla = next((i for i in h.items if isinstance(i, n.Sla)), None)
        for item in h.items:
            if isinstance(item, n.Sla):
                stops = join((C(format_path(s.path)) for s in item.stops), T(" or "))
                text = (B("SLA: ") + T(f"within {format_duration(item.duration)} from ")
                        + C(format_path(item.start.path)) + T(" until ") + stops)
                if item.duration.unit.is_business:
                    text += T(", counted in business time (") + _calendar_words(model) + T(")")
                bullets.append(text + T("."))
            elif isinstance(item, n.Escalate):
                start = (C(format_path(sla.start.path)) if sla is not None else T("the start"))
                bullets.append(B("Escalation: ") + T(f"after {format_duration(item.after)} from ")
                               + start + T(" with the clock still running, to ")
                               + C(item.target) + T("."))
            elif isinstance(item, n.Reject):
                bullets.append(B("Rejection: ") + T(f"{h.team.name} rejects a lead by recording "
                                                    "a reason in ")
                               + C(format_path(item.field.path)) + T("; the lead goes to ")
                               + C(item.state.name) + T(". Agreed reasons: ")
                               + _reasons(model, item.reasons)
                               + T(". Any other reason still rejects, and is reported as a "
                                   "violation."))
        if bullets:
            out.append(Bullets(tuple(bullets)))
    return out


def _calendar_words(model: PolicyModel) -> Inline:
    cal = model.calendar
    if cal is None:
        return T("no calendar is declared")
    parts: list[str] = []
    for item in cal.items:
        if isinstance(item, n.Timezone):
            parts.append(f"{item.name} time")
        elif isinstance(item, n.Workdays):
            parts.append(days_words([d.name for d in item.days]))
        elif isinstance(item, n.Hours):
            parts.append(f"{item.start} to {item.end}")
        elif isinstance(item, n.Holidays):
            k = len(item.dates)
            parts.append(f"except {k} holiday{'s' if k != 1 else ''}")
    return T(", ".join(parts))


def _recycle_section(model: PolicyModel, own) -> list[Block]:
    if not model.recycles:
        return []
    rows = []
    for k, r in enumerate(model.recycles, 1):
        rows.append((T(str(k)), T(", ".join(s.name for s in r.stages)), C(r.state.name),
                     T(plain(r.condition)), T(r.reason or ""), T(", ".join(sorted(own.of(r))))))
    return [
        Heading(2, "Recycling", "recycling"),
        Para(T("Rules that take a lead out of the funnel. They are tried in this order; the "
               "first whose stages include the lead's stage and whose condition holds places "
               "it in its state. A rule is owned by the owners of the stages it takes leads "
               "from and of its target state.")),
        Table(("#", "from", "to", "when", "reason", "owners"), tuple(rows),
              ("r", "l", "l", "l", "l", "l")),
    ]


def _states_section(model: PolicyModel, own) -> list[Block]:
    if not model.states:
        return []
    rows = tuple((C(s.name.name), T(s.description or ""), T(", ".join(sorted(own.of(s)))))
                 for s in model.states.values())
    return [Heading(2, "Off-funnel states", "states"),
            Table(("state", "meaning", "owners"), rows)]


def _calendar_section(model: PolicyModel, own) -> list[Block]:
    cal = model.calendar
    if cal is None:
        return []
    bullets: list[Inline] = []
    for item in cal.items:
        if isinstance(item, n.Timezone):
            bullets.append(B("Time zone: ") + C(item.name))
        elif isinstance(item, n.Workdays):
            bullets.append(B("Workdays: ") + T(days_words([d.name for d in item.days])))
        elif isinstance(item, n.Hours):
            bullets.append(B("Working hours: ") + T(f"{item.start} to {item.end}"))
        elif isinstance(item, n.Holidays):
            bullets.append(B("Holidays: ") + T(", ".join(item.dates)))
    return [
        Heading(2, "Business calendar", "calendar"),
        _owned(own.of(cal), "the owners of every handoff whose SLA counts business time"),
        Para(T("Business hours and business days count only this working time; a business "
               "day is one workday's worth of working hours.")),
        Bullets(tuple(bullets)),
    ]


def _vocabulary_section(model: PolicyModel, own) -> list[Block]:
    if not model.defines:
        return []
    rows = []
    for d in model.defines.values():
        value = (", ".join(plain(i) for i in d.value.items) if isinstance(d.value, n.ListExpr)
                 else plain(d.value))
        rows.append((C(d.name.name), T(d.description or ""), T(value),
                     T(", ".join(sorted(own.of(d))))))
    return [
        Heading(2, "Vocabulary", "vocabulary"),
        Para(T("Shared names used by the rules above. A name is owned by the owners of every "
               "block that uses it.")),
        Table(("name", "meaning", "definition", "owners"), tuple(rows)),
    ]


# --------------------------------------------------------------------------- Markdown


def _md_inline(text: Inline, *, in_table: bool = False, line_start: bool = False) -> str:
    out = []
    for k, (style, t) in enumerate(text):
        if style == "code":
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
        label = f'|"{_mermaid_text(e.label)}"|' if e.label else ""
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
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; }
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
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: var(--muted); }
@media print { main { max-width: none; padding: 0; } h2 { break-after: avoid; } }
"""


def _html_inline(text: Inline) -> str:
    out = []
    for style, t in text:
        e = html.escape(t)
        out.append({"code": f"<code>{e}</code>", "b": f"<strong>{e}</strong>",
                    "i": f"<em>{e}</em>"}.get(style, e))
    return "".join(out)


def render_html(model: PolicyModel) -> str:
    """The policy document as one self-contained HTML page (inline CSS and SVG, no script)."""
    doc = build_document(model)
    body: list[str] = [f"<h1>{html.escape(doc.title)}</h1>",
                       f'<p class="subtitle">{_html_inline(doc.subtitle)}</p>']
    toc = [b for b in doc.blocks if isinstance(b, Heading) and b.level == 2]
    body.append("<nav>" + "".join(f'<a href="#{b.anchor}">{html.escape(b.text)}</a>'
                                  for b in toc) + "</nav>")
    for block in doc.blocks:
        if isinstance(block, Heading):
            body.append(f'<h{block.level} id="{html.escape(block.anchor)}">'
                        f"{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            body.append(f"<p>{_html_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in block.items)
                        + "</ul>")
        elif isinstance(block, Table):
            align = block.align or ("l",) * len(block.header)
            cls = [' class="r"' if a == "r" else "" for a in align]
            head = "".join(f"<th{c}>{html.escape(h)}</th>"
                           for h, c in zip(block.header, cls, strict=True))
            rows = "".join("<tr>" + "".join(f"<td{c}>{_html_inline(x)}</td>"
                                            for x, c in zip(row, cls, strict=True)) + "</tr>"
                           for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(block, Diagram):
            body.append("<figure>" + svg_diagram(block) + "<figcaption>Solid arrows: the next "
                        "stage (thick: a handoff to another team). Dashed: recycle rules, "
                        "numbered as in the Recycling table. Dotted: rejections by the "
                        "receiving team. Hover an arrow for its rule.</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(doc.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            "<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


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
        title = f"<title>{html.escape(e.title or e.label)}</title>" if (e.title or e.label) else ""
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
        parts.append(f'<g><title>{html.escape(node.kind)} {html.escape(node.label)}</title>'
                     f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{_BOX_H}" '
                     f'rx="{radius}" fill="{fill}" stroke="{stroke}" stroke-width="1.4"/>')
        cy = y0 + (_BOX_H / 2 - 3 if node.sub else _BOX_H / 2 + 4.5)
        parts.append(f'<text x="{x0 + w / 2:.1f}" y="{cy:.1f}" text-anchor="middle" '
                     f'font-weight="600" fill="#1d2430">{html.escape(node.label)}</text>')
        if node.sub:
            parts.append(f'<text x="{x0 + w / 2:.1f}" y="{y0 + _BOX_H / 2 + 13:.1f}" '
                         f'text-anchor="middle" font-size="11" fill="#5b6676">'
                         f"{html.escape(node.sub)}</text>")
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _svg_label(x: float, y: float, text: str, color: str) -> str:
    # a white halo keeps the label readable where it crosses a line
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="11" '
            f'fill="{color}" stroke="#fff" stroke-width="4" paint-order="stroke">'
            f"{html.escape(text)}</text>")


# --------------------------------------------------------------------------- entry point


def render(model: PolicyModel, fmt: str = "markdown") -> str:
    """The policy document in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "markdown":
        return render_markdown(model)
    if fmt == "html":
        return render_html(model)
    raise ValueError(f"unknown docs format {fmt!r}: expected one of {', '.join(FORMATS)}")
