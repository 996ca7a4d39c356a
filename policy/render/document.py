"""The policy document as data (:class:`Document`: headings, paragraphs, tables,
lists, the funnel diagram), built from the model by :func:`build_document`.
Both renderings of ``funnel docs`` (:mod:`policy.render.docs`) come from it, so
they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from policy.model.namespace import PolicyModel
from policy.model.ownership import Ownership, counts_on, declaration_label
from policy.render.words import days_words, number_words, plain, points_words
from policy.syntax import nodes as n
from policy.syntax.canonical import duration_text, path_text, policy_digest

# --------------------------------------------------------------------------- the document

#: Inline text: (style, text) runs; style is "" (plain), "code", "b", "i" or "digest" (a
#: long fingerprint: HTML shows its start, the whole on hover; Markdown shows it whole).
Inline = tuple[tuple[str, str], ...]


def T(text: str) -> Inline:
    return (("", text),)


def C(text: str) -> Inline:
    return (("code", text),)


def B(text: str) -> Inline:
    return (("b", text),)


def I(text: str) -> Inline:  # noqa: E743 - the document's italic constructor
    return (("i", text),)


def D(text: str) -> Inline:
    """A digest: shortened in HTML (the full value on hover), whole in Markdown."""
    return (("digest", text),)


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
    #: a second line under the label: a handoff's SLA
    note: str = ""


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
    own = Ownership(model)
    header = model.header
    name = header.name.name if header else "policy"
    title = header.title if header else name
    digest = policy_digest(model)
    subtitle = C(name) + T(" · version ") + B(model.version or "(no version)") + T(" · digest ") \
        + D(digest)
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
    blocks += _signoff_section(model, own, digest)
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


def _sla_words(h: n.Handoff) -> str:
    """``SLA 2 business hours`` for a handoff's arrow; empty without an SLA."""
    sla = next((i for i in h.items if isinstance(i, n.Sla)), None)
    return "" if sla is None else f"SLA {duration_text(sla.duration)}"


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
        if h is not None:
            sla = _sla_words(h)
            title = f"handoff {s} to {h.team.name}" + (f": {sla}" if sla else "")
        if k + 1 < len(model.funnel):
            nxt = model.funnel[k + 1]
            if h is not None:
                edges.append(Edge(f"s_{s}", f"s_{nxt}", "handoff", f"to {h.team.name}",
                                  title, sla))
            else:
                edges.append(Edge(f"s_{s}", f"s_{nxt}", "next"))
        elif h is not None:
            tid = f"t_{h.team.name}"
            others.setdefault(tid, Node(tid, h.team.name, "team"))
            edges.append(Edge(f"s_{s}", tid, "handoff", f"to {h.team.name}", title, sla))

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
                                  f"{h.team.name} rejects the lead (a reason in "
                                  f"{plain(item.field)}): to {item.state.name}"))
    for k, r in enumerate(model.recycles, 1):
        target = state_node(r.state.name)
        # labelled by its reason (what a reader needs), the condition on hover
        why = r.reason or plain(r.condition)
        for s in r.stages:
            edges.append(Edge(f"s_{s.name}", target, "recycle", why,
                              f"recycle rule {k} ({s.name} to {r.state.name}): {why}, when "
                              f"{plain(r.condition)}"))
    for name in model.states:  # states nothing leads to still belong in the picture
        state_node(name)
    return Diagram(stages, tuple(others.values()), tuple(edges))


def _teams_section(model: PolicyModel, own) -> list[Block]:
    out: list[Block] = [Heading(2, "Teams", "teams"),
                        _owned(own.every, "team lines belong to every team")]
    owns: dict[str, list[str]] = {t: [] for t in model.teams}
    blocks = [*model.funnel_stages(), *model.scores.values(), *model.handoffs,
              *model.recycles, *model.states.values()]
    for d in blocks:
        for t in sorted(own.of(d)):
            if t in owns:
                owns[t].append(declaration_label(d))
    # the handle as code, as on the sign-off table: copied as it is into review rules,
    # and no `@org/team` mention in a page a pull request shows
    rows = tuple((C(t), C(team.handle), T(", ".join(owns[t])))
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
                         for i in stage.items if not isinstance(i, n.EnteredAt))
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
        entered = next((i for i in stage.items if isinstance(i, n.EnteredAt)), None)
        if entered is not None:
            out.append(Para(B("Entry time: ") + T("the CRM records when a lead entered this "
                                                  "stage in ")
                            + C(path_text(entered.field.path))
                            + T(" (for the funnel report's velocity and cohorts; it changes "
                                "no decision).")))
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
                rows.append((T(plain(item.condition)), T(points_words(item.points))))
            elif isinstance(item, n.PointsPer):
                cap = (f", at most {points_words(item.cap if item.points > 0 else -item.cap)}"
                       if item.cap is not None else "")
                rows.append((T("per " + plain(item.count)),
                             T(f"{points_words(item.points)} each{cap}")))
            elif isinstance(item, n.Range):
                notes.append(T(f"The total is kept between {number_words(item.low)} and "
                               f"{number_words(item.high)}."))
            elif isinstance(item, n.Decay):
                notes.append(T(f"It halves every {duration_text(item.half_life)} since ")
                             + C(path_text(item.since.path))
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
        counted = counts_on(model, h)
        if routes:
            if counted and model.calendars:  # v1.1: a route's business time, its calendar
                rows = tuple((C(r.target), T("otherwise" if r.condition is None
                                             else plain(r.condition)),
                              _calendar_name(model.calendar_label(h, r))) for r in routes)
                header: tuple[str, ...] = ("route", "when", "business time on")
            else:
                rows = tuple((C(r.target), T("otherwise" if r.condition is None
                                             else plain(r.condition))) for r in routes)
                header = ("route", "when")
            out.append(Para(T("Routes, tried in order; the first that holds is taken:")))
            out.append(Table(header, rows))
        bullets: list[Inline] = []
        sla = next((i for i in h.items if isinstance(i, n.Sla)), None)
        for item in h.items:
            if isinstance(item, n.Sla):
                stops = join((C(path_text(s.path)) for s in item.stops), T(" or "))
                text = (B("SLA: ") + T(f"within {duration_text(item.duration)} from ")
                        + C(path_text(item.start.path)) + T(" until ") + stops)
                if item.duration.unit.is_business:
                    text += _counted_words(model, h, counted)
                bullets.append(text + T("."))
            elif isinstance(item, n.Escalate):
                start = (C(path_text(sla.start.path)) if sla is not None else T("the start"))
                bullets.append(B("Escalation: ") + T(f"after {duration_text(item.after)} from ")
                               + start + T(" with the clock still running, to ")
                               + C(item.target) + T("."))
            elif isinstance(item, n.Reject):
                bullets.append(B("Rejection: ") + T(f"{h.team.name} rejects a lead by recording "
                                                    "a reason in ")
                               + C(path_text(item.field.path)) + T("; the lead goes to ")
                               + C(item.state.name) + T(". Agreed reasons: ")
                               + _reasons(model, item.reasons)
                               + T(". Any other reason still rejects, and is reported as a "
                                   "violation."))
        if bullets:
            out.append(Bullets(tuple(bullets)))
    return out


def _calendar_name(label: str | None) -> Inline:
    if label is None:
        return T("no calendar")
    return T("the unnamed calendar") if label == n.DEFAULT_CALENDAR else C(label)


def _counted_words(model: PolicyModel, h: n.Handoff, counted: frozenset[str]) -> Inline:
    """How an SLA's business time is counted: on one calendar, or on each route's."""
    if len(counted) > 1:
        return T(", counted in business time on the calendar of the route taken (see the "
                 "routes)")
    label = next(iter(counted), None)
    cal = (model.calendar if label == n.DEFAULT_CALENDAR
           else model.calendars.get(label) if label is not None else None)
    if label is None or label == n.DEFAULT_CALENDAR:
        return T(", counted in business time (") + _calendar_words(cal) + T(")")
    return (T(", counted in business time on the ") + C(label) + T(" calendar (")
            + _calendar_words(cal) + T(")"))


def _calendar_words(cal: n.Calendar | None) -> Inline:
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
    cals = ([model.calendar] if model.calendar is not None else []) + list(
        model.calendars.values())
    if not cals:
        return []
    if len(cals) == 1 and cals[0].name is None:
        return _one_calendar(model, own, cals[0], 2)
    out: list[Block] = [
        Heading(2, "Business calendars", "calendar"),
        Para(T("Business hours and business days count only the working time of one "
               "calendar: the one named after the route taken (“on …”), else the "
               "handoff's own, else the unnamed one. A business day is one workday's worth "
               "of working hours.")),
    ]
    for cal in cals:
        out += _one_calendar(model, own, cal, 3)
    return out


def _one_calendar(model: PolicyModel, own, cal: n.Calendar, level: int) -> list[Block]:
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
    users: list[Inline] = []
    for h in model.handoffs:
        if cal.label not in counts_on(model, h):
            continue
        every = [r for r in h.items if isinstance(r, n.Route)]
        routes = [r for r in every if model.calendar_label(h, r) == cal.label]
        text = T("handoff ") + C(h.stage.name)
        if routes and len(routes) < len(every):
            text += T(", route" + ("s " if len(routes) > 1 else " ")) + join(
                C(r.target) for r in routes)
        users.append(text)
    bullets.append(B("Used by: ") + (join(users, T("; ")) if users else T("no handoff"))
                   + T("."))
    if level == 2:
        head = [Heading(2, "Business calendar", "calendar")]
    else:
        title = "unnamed calendar (default)" if cal.name is None else cal.name.name
        head = [Heading(3, title, f"calendar-{cal.label}"), *_desc(cal.description)]
    return [
        *head,
        _owned(own.of(cal), "the owners of every handoff that counts business time on it"),
        *([Para(T("Business hours and business days count only this working time; a "
                  "business day is one workday's worth of working hours."))]
          if level == 2 else []),
        Bullets(tuple(bullets)),
    ]


def _vocabulary_section(model: PolicyModel, own) -> list[Block]:
    if not model.defines:
        return []
    rows = []
    for d in model.defines.values():
        if d.lines is not None:  # a list kept in a file: thousands of entries, not inline
            k = len(d.value.items) if isinstance(d.value, n.ListExpr) else 0
            value = f"the {k} entr{'y' if k == 1 else 'ies'} listed in {d.lines.path}"
        elif isinstance(d.value, n.ListExpr):
            value = ", ".join(plain(i) for i in d.value.items)
        else:
            value = plain(d.value)
        rows.append((C(d.name.name), T(d.description or _list_meaning(d)), T(value),
                     T(", ".join(sorted(own.of(d))))))
    return [
        Heading(2, "Vocabulary", "vocabulary"),
        Para(T("Shared names used by the rules above. A name is owned by the owners of every "
               "block that uses it.")),
        Table(("name", "meaning", "definition", "owners"), tuple(rows)),
    ]


def _list_meaning(d: n.Define) -> str:
    """What an undescribed define is, so no "meaning" cell is empty: a list says how
    many entries it has, named after the define when its name ends in a plural
    (``consent_countries`` -> "a list of 15 countries"); anything else, its kind."""
    if not isinstance(d.value, n.ListExpr):
        return "a named condition" if not isinstance(d.value, (n.Number, n.String)) \
            else "a named value"
    k = len(d.value.items)
    noun = d.name.name.rsplit("_", 1)[-1]
    if not (noun.endswith("s") and len(noun) > 3 and noun.isalpha()) or k == 1:
        noun = "entry" if k == 1 else "entries"
    return f"a list of {k:,} {noun}"


def _signoff_section(model: PolicyModel, own, digest: str) -> list[Block]:
    """A place to sign: one row per team, with its handle, for this version and digest."""
    if not model.teams:
        return []
    version = model.version or "(no version)"
    rows = tuple((B(t), C(team.handle), T(""), T(""), T(""))
                 for t, team in model.teams.items())
    return [
        Heading(2, "Sign-off", "sign-off"),
        Para(T("Each team agrees to the rules above, as of version ") + B(version)
             + T(" with digest ") + D(digest) + T(". A change to the rules changes the "
                                                   "digest and needs a new sign-off.")),
        Table(("team", "handle", "name", "date", "signature"), rows),
    ]
