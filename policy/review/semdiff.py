"""Semantic diff: what changed in a policy's meaning, who owns it, whose approval it needs.

Runs after :mod:`policy.model.loader` has built and checked both models (BASE and HEAD,
read by :mod:`policy.review.revisions`). Declarations are matched by identity, not by
file or position: ``score fit``, ``stage mql``, ``handoff mql``, ``define x``,
``team x``, the singletons (``policy``, ``version``, ``schema``, ``id``,
``calendar``, ``funnel``), and ``recycle`` rules by their stages and target (the
n-th rule with the same stages and target matches the n-th). Matched declarations
are compared with AST equality, which ignores spans, comments and layout by
design, so a reformat, a moved declaration or a new comment is not a change. The
schema file's bytes are compared too. Examples are tests, not meaning: their
changes are listed apart and need no approval.

Owners follow LANGUAGE.md section 2 (:func:`owners`); the approvals a change
needs are the union of the owners of every changed declaration, on either side,
with the teams' handles from HEAD's ``team`` lines (BASE's for a removed team).
Canonical text comes from :mod:`policy.syntax.formatter`, so the old and new lines read
exactly as ``funnel fmt`` would print them. Rendering of the whole report (text,
Markdown, JSON) is :class:`DiffReport`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

import attrs

from policy.model.namespace import PolicyModel, refs_in
from policy.render.docs import md_code, md_escape
from policy.syntax import nodes as n
from policy.syntax.formatter import format_module, policy_digest, quote

if TYPE_CHECKING:  # pragma: no cover
    from policy.review.impact import Impact
    from policy.review.revisions import PolicySource

__all__ = [
    "owners",
    "Ownership",
    "LineChange",
    "Change",
    "Approval",
    "SemanticDiff",
    "semantic_diff",
    "declaration_label",
    "canonical_text",
    "DiffReport",
]


# --------------------------------------------------------------------------- owners


class Ownership:
    """Who owns each declaration of one model (LANGUAGE.md section 2), computed once.

    * ``score``, ``stage``, ``state``: their ``owned by`` teams;
    * ``handoff``: the owners of its stage and the team it hands to;
    * ``recycle``: the owners of the stages it takes leads from and of its target state;
    * ``calendar``: the owners of every handoff with a business-time SLA;
    * ``define``: the owners of every block that uses it, directly or through other
      defines (a define used by a score is owned by the score's owners; ownership does
      not flow on through the score);
    * header lines, ``team``, ``funnel``: every team;
    * ``example``: nobody (examples are tests, not meaning).

    Where those rules name nobody (a define nothing uses, a calendar no SLA counts in),
    every team owns the declaration: a change to it still needs someone's approval.
    """

    def __init__(self, model: PolicyModel) -> None:
        self.model = model
        self.every = frozenset(model.teams)
        # define name -> the blocks (scores, stages, handoffs, recycles) that use it
        self._define_users: dict[str, list[n.Stmt]] = {name: [] for name in model.defines}
        uses: dict[str, set[str]] = {}  # define -> defines it names directly
        for name, d in model.defines.items():
            uses[name] = self._defines_named(d)
        blocks: list[n.Stmt] = [*model.scores.values(), *model.stages.values(),
                                *model.handoffs, *model.recycles]
        for block in blocks:
            for name in self._closure(self._defines_named(block), uses):
                self._define_users[name].append(block)

    def _defines_named(self, stmt: n.Stmt) -> set[str]:
        out: set[str] = set()
        for ref in refs_in(stmt):
            kind, _ = self.model.resolve(ref)
            if kind == "define":
                out.add(ref.path[0])
        return out

    @staticmethod
    def _closure(start: set[str], uses: Mapping[str, set[str]]) -> set[str]:
        seen: set[str] = set()
        stack = list(start)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(uses.get(name, ()))
        return seen

    def _named(self, idents: Iterable[n.Ident]) -> frozenset[str]:
        return frozenset(i.name for i in idents)

    def of(self, decl: n.Decl) -> frozenset[str]:
        """The teams that own ``decl`` (empty only for an example)."""
        found = self._rule(decl)
        if found is None:
            return frozenset()
        return found or self.every

    def _rule(self, decl: n.Decl) -> frozenset[str] | None:
        m = self.model
        if isinstance(decl, (n.Score, n.Stage, n.State)):
            return self._named(decl.owners)
        if isinstance(decl, n.Handoff):
            stage = m.stages.get(decl.stage.name)
            base = self._named(stage.owners) if stage is not None else frozenset()
            return base | {decl.team.name}
        if isinstance(decl, n.Recycle):
            out: set[str] = set()
            for s in decl.stages:
                stage = m.stages.get(s.name)
                if stage is not None:
                    out |= self._named(stage.owners)
            state = m.states.get(decl.state.name)
            if state is not None:
                out |= self._named(state.owners)
            return frozenset(out)
        if isinstance(decl, n.Calendar):
            out = set()
            for h in m.handoffs:
                if any(isinstance(i, n.Sla) and i.duration.unit.is_business for i in h.items):
                    out |= self.of(h)
            return frozenset(out)
        if isinstance(decl, n.Define):
            out = set()
            for block in self._define_users.get(decl.name.name, ()):
                out |= self.of(block)
            return frozenset(out)
        if isinstance(decl, n.Example):
            return None
        return self.every  # policy, version, schema, id, team, funnel


def owners(model: PolicyModel, decl: n.Decl) -> frozenset[str]:
    """The teams that own ``decl`` in ``model`` (LANGUAGE.md section 2; see :class:`Ownership`).

    Builds the model's ownership index on each call; use :class:`Ownership` for many.
    """
    return Ownership(model).of(decl)


# --------------------------------------------------------------------------- canonical text


def _bare(stmt: n.Stmt) -> n.Stmt:
    """The statement without comments or layout, its block's items likewise."""
    changes: dict = {"comments": n.NO_COMMENTS, "blank_before": False}
    if isinstance(stmt, n.BLOCKS):
        changes["items"] = tuple(_bare(i) for i in stmt.items)  # type: ignore[attr-defined]
    return attrs.evolve(stmt, **changes)


def canonical_text(decl: n.Decl) -> str:
    """A declaration as ``funnel fmt`` prints it, without comments (no trailing newline)."""
    return format_module(n.Module(path="<diff>", decls=(_bare(decl),))).strip("\n")


def _head_text(decl: n.Decl) -> str:
    """A block's first line without its brace: ``stage mql "…" owned by marketing``."""
    first = canonical_text(attrs.evolve(decl, items=())).split("\n", 1)[0].rstrip()
    for tail in ("{}", "{ }", "{"):
        if first.endswith(tail):
            return first[: -len(tail)].rstrip()
    return first


def _item_text(decl: n.Decl, item: n.Stmt) -> str:
    """One line of a block as ``funnel fmt`` prints it inside that block."""
    lines = canonical_text(attrs.evolve(decl, items=(item,))).split("\n")
    inner = lines[1:-1] if len(lines) > 2 else lines
    indent = min((len(x) - len(x.lstrip()) for x in inner if x.strip()), default=0)
    return "\n".join(x[indent:] for x in inner)


def declaration_label(decl: n.Decl) -> str:
    """The identity of a declaration as reviewers read it: ``stage mql``, ``handoff mql``."""
    if isinstance(decl, n.PolicyHeader):
        return "policy"
    if isinstance(decl, n.Version):
        return "version"
    if isinstance(decl, n.SchemaRef):
        return "schema"
    if isinstance(decl, n.IdField):
        return "id"
    if isinstance(decl, n.Calendar):
        return "calendar"
    if isinstance(decl, n.Funnel):
        return "funnel"
    if isinstance(decl, n.Team):
        return f"team {decl.name.name}"
    if isinstance(decl, n.Define):
        return f"define {decl.name.name}"
    if isinstance(decl, n.Score):
        return f"score {decl.name.name}"
    if isinstance(decl, n.Stage):
        return f"stage {decl.name.name}"
    if isinstance(decl, n.State):
        return f"state {decl.name.name}"
    if isinstance(decl, n.Handoff):
        return f"handoff {decl.stage.name}"
    if isinstance(decl, n.Recycle):
        return f"recycle {', '.join(s.name for s in decl.stages)} to {decl.state.name}"
    if isinstance(decl, n.Example):
        return f"example {quote(decl.name)}"
    raise TypeError(f"not a declaration: {decl!r}")  # pragma: no cover



# --------------------------------------------------------------------------- values


@attrs.frozen
class LineChange:
    """One line of a changed block: ``kind`` is ``added``, ``removed`` or ``changed``.

    ``old`` and ``new`` are canonical text (None on the side where the line is absent).
    """

    kind: str
    old: str | None
    new: str | None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "old": self.old, "new": self.new}


@attrs.frozen
class Change:
    """A declaration added, removed or changed.

    ``declaration``: its identity (:func:`declaration_label`, or ``schema file`` for the
    schema's bytes, ``recycle order`` for recycle rules tried in another order).
    ``owners``: sorted team names whose approval it needs (BASE's and HEAD's owners).
    ``lines``: for a changed declaration, what changed inside it; ``old``/``new``: the
    whole declaration's canonical text on each side. ``where``: ``file:line`` in HEAD of
    the first changed line (of the declaration when added; in BASE when removed), None
    for the schema file.
    """

    kind: str
    declaration: str
    owners: tuple[str, ...]
    lines: tuple[LineChange, ...] = ()
    old: str | None = None
    new: str | None = None
    where: str | None = None

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "declaration": self.declaration,
            "owners": list(self.owners),
            "where": self.where,
            "lines": [x.to_dict() for x in self.lines],
            "old": self.old,
            "new": self.new,
        }


@attrs.frozen
class Approval:
    """A team whose approval a change needs: its handle and the declarations it owns."""

    team: str
    handle: str | None
    because: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"team": self.team, "handle": self.handle, "for": list(self.because)}


@attrs.frozen
class SemanticDiff:
    """Every change of meaning between BASE and HEAD, the example changes, the approvals."""

    changes: tuple[Change, ...]
    examples: tuple[Change, ...]
    approvals: tuple[Approval, ...]

    @property
    def changed(self) -> bool:
        """Whether the policy's meaning changed (example changes do not count)."""
        return bool(self.changes)


# --------------------------------------------------------------------------- matching

#: Identity kinds in report order.
_KIND_ORDER = {
    n.PolicyHeader: 0, n.Version: 1, n.SchemaRef: 2, n.IdField: 4, n.Team: 5, n.Calendar: 6,
    n.Funnel: 7, n.Define: 8, n.Score: 9, n.Stage: 10, n.State: 11, n.Handoff: 12,
    n.Recycle: 13, n.Example: 15,
}
_SCHEMA_FILE_RANK = 3
_RECYCLE_ORDER_RANK = 14


@attrs.frozen
class _Side:
    decl: n.Decl
    where: str
    #: the file as shown, to point at a line inside the declaration
    file: str = ""


def _keyed(model: PolicyModel, display) -> dict[tuple[str, int], _Side]:
    """Declarations by identity; the n-th of the same label gets index n."""
    out: dict[tuple[str, int], _Side] = {}
    counts: dict[str, int] = {}
    for located in model.all_decls():
        label = declaration_label(located.decl)
        k = counts.get(label, 0)
        counts[label] = k + 1
        span = located.decl.span
        shown = display(span.file)
        out[(label, k)] = _Side(located.decl, f"{shown}:{span.line}", shown)
    return out


def _label(key: tuple[str, int]) -> str:
    label, k = key
    return label if k == 0 else f"{label} #{k + 1}"


def _pair(old: list, new: list) -> Iterator[tuple[object | None, object | None]]:
    """Line-level alignment of two item lists: (old, new) pairs; None on a missing side."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        a, b = old[i1:i2], new[j1:j2]
        for k in range(max(len(a), len(b))):
            yield (a[k] if k < len(a) else None, b[k] if k < len(b) else None)


def _line_changes(old: n.Decl, new: n.Decl) -> tuple[tuple[LineChange, ...], int]:
    """What changed inside a matched declaration, and the HEAD line that shows it first."""
    if not isinstance(old, n.BLOCKS) or isinstance(old, n.Example):
        return (LineChange("changed", canonical_text(old), canonical_text(new)),), new.span.line
    out: list[LineChange] = []
    first: int | None = None
    head_old, head_new = attrs.evolve(old, items=()), attrs.evolve(new, items=())
    if head_old != head_new:
        out.append(LineChange("changed", _head_text(old), _head_text(new)))
        first = new.span.line
    for a, b in _pair(list(old.items), list(new.items)):  # type: ignore[union-attr]
        if b is not None and first is None:
            first = b.span.line  # type: ignore[attr-defined]
        if a is None:
            out.append(LineChange("added", None, _item_text(new, b)))
        elif b is None:
            out.append(LineChange("removed", _item_text(old, a), None))
        else:
            out.append(LineChange("changed", _item_text(old, a), _item_text(new, b)))
    return tuple(out), first if first is not None else new.span.line


def _rank(decl: n.Decl) -> int:
    return _KIND_ORDER[type(decl)]


def semantic_diff(
    base: PolicyModel,
    head: PolicyModel,
    *,
    base_display=lambda f: f,
    head_display=lambda f: f,
) -> SemanticDiff:
    """Compare two models by meaning (see the module docstring).

    ``base_display`` and ``head_display`` turn a module's path into the form shown in
    ``where`` (:meth:`policy.review.revisions.PolicySource.display`).
    """
    own_base, own_head = Ownership(base), Ownership(head)
    every = own_base.every | own_head.every
    old, new = _keyed(base, base_display), _keyed(head, head_display)
    found: list[tuple[tuple[int, int], Change]] = []

    def add(rank: int, order: int, change: Change) -> None:
        found.append(((rank, order), change))

    for i, (key, side) in enumerate(new.items()):
        before = old.get(key)
        decl = side.decl
        if before is None:
            who = own_head.of(decl)
            add(_rank(decl), i, Change("added", _label(key), _sorted(who, decl, every),
                                       new=canonical_text(decl), where=side.where))
        elif before.decl != decl:
            who = own_base.of(before.decl) | own_head.of(decl)
            lines, line = _line_changes(before.decl, decl)
            add(_rank(decl), i, Change("changed", _label(key), _sorted(who, decl, every), lines,
                                       canonical_text(before.decl), canonical_text(decl),
                                       f"{side.file}:{line}"))
    for i, (key, side) in enumerate(old.items()):
        if key not in new:
            decl = side.decl
            add(_rank(decl), len(new) + i,
                Change("removed", _label(key), _sorted(own_base.of(decl), decl, every),
                       old=canonical_text(decl), where=side.where))

    reorder = _recycle_order(old, new, own_base, own_head)
    if reorder is not None:
        add(_RECYCLE_ORDER_RANK, 0, reorder)
    base_raw = base.schema.raw if base.schema is not None else None
    head_raw = head.schema.raw if head.schema is not None else None
    if base_raw != head_raw:
        kind = "added" if base_raw is None else "removed" if head_raw is None else "changed"
        add(_SCHEMA_FILE_RANK, 0, Change(kind, "schema file", tuple(sorted(every))))

    found.sort(key=lambda x: x[0])
    changes = tuple(c for _, c in found if not c.declaration.startswith("example "))
    examples = tuple(c for _, c in found if c.declaration.startswith("example "))
    return SemanticDiff(changes, examples, _approvals(changes, base, head))


def _sorted(who: frozenset[str], decl: n.Decl, every: frozenset[str]) -> tuple[str, ...]:
    # a team line's own change concerns every team of either side (a removed team too)
    if isinstance(decl, (n.Team, n.PolicyHeader, n.Version, n.SchemaRef, n.IdField, n.Funnel)):
        who = who | every
    return tuple(sorted(who))


def _recycle_order(old, new, own_base: Ownership, own_head: Ownership) -> Change | None:
    """Recycle rules are tried in declaration order: a new order is a change of meaning."""
    common = [k for k in old if k in new and k[0].startswith("recycle ")]
    before = sorted(common, key=list(old).index)
    after = sorted(common, key=list(new).index)
    if before == after:
        return None
    # every rule whose order against another rule flipped now wins (or loses) leads
    # it did not before: both rules' owners must agree
    rank_old = {k: i for i, k in enumerate(before)}
    rank_new = {k: i for i, k in enumerate(after)}
    who: frozenset[str] = frozenset()
    for i, x in enumerate(common):
        for y in common[i + 1:]:
            if (rank_old[x] < rank_old[y]) != (rank_new[x] < rank_new[y]):
                for k in (x, y):
                    who |= own_base.of(old[k].decl) | own_head.of(new[k].decl)
    first = new[after[0]]
    return Change(
        "changed",
        "recycle order",
        tuple(sorted(who)),
        (LineChange("changed", "\n".join(canonical_text(old[k].decl) for k in before),
                    "\n".join(canonical_text(new[k].decl) for k in after)),),
        where=first.where,
    )


def _approvals(changes: tuple[Change, ...], base: PolicyModel, head: PolicyModel
               ) -> tuple[Approval, ...]:
    why: dict[str, list[str]] = {}
    for c in changes:
        for team in c.owners:
            why.setdefault(team, []).append(c.declaration)
    out = []
    for team in sorted(why):
        line = head.teams.get(team) or base.teams.get(team)
        out.append(Approval(team, line.handle if line is not None else None, tuple(why[team])))
    return tuple(out)


# --------------------------------------------------------------------------- report


@attrs.frozen
class DiffReport:
    """Everything ``funnel diff`` shows: both sides, the semantic diff, the impact (or None)."""

    base: PolicySource
    head: PolicySource
    base_model: PolicyModel
    head_model: PolicyModel
    diff: SemanticDiff
    impact: Impact | None = None

    # ------------------------------------------------------------------ JSON
    def _side(self, source: PolicySource, model: PolicyModel) -> dict:
        return {
            **source.to_dict(),
            "policy": {
                "name": model.header.name.name if model.header else None,
                "version": model.version,
                "digest": policy_digest(model),
            },
        }

    def to_dict(self) -> dict:
        """The report as JSON-ready data; key order is part of the format."""
        return {
            "base": self._side(self.base, self.base_model),
            "head": self._side(self.head, self.head_model),
            "changed": self.diff.changed,
            "changes": [c.to_dict() for c in self.diff.changes],
            "approvals": [a.to_dict() for a in self.diff.approvals],
            "examples": [c.to_dict() for c in self.diff.examples],
            "impact": None if self.impact is None else self.impact.to_dict(),
        }

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """One line: how many changes, whose approval, how many leads move."""
        d = self.diff
        if not d.changed:
            text = "no semantic change; no approval needed"
            if d.examples:
                text += f" ({_count(len(d.examples), 'example')} changed)"
        else:
            teams = ", ".join(a.team for a in d.approvals)
            text = f"{_count(len(d.changes), 'semantic change')}; approval needed from {teams}"
        if self.impact is not None:
            text += f"; {self.impact.moved_sentence()}"
        return text

    def to_text(self) -> str:
        """A plain-text report for a terminal or a CI log."""
        out = [f"funnel diff: {self.base.label} -> {self.head.label}", self.summary()]
        if self.diff.changes:
            out.append("")
            out.append("changes:")
            for c in self.diff.changes:
                out.extend(_text_change(c))
        if self.diff.approvals:
            out.append("")
            out.append("approvals needed:")
            for a in self.diff.approvals:
                handle = f" ({a.handle})" if a.handle else ""
                out.append(f"  {a.team}{handle}: {', '.join(a.because)}")
        if self.diff.examples:
            out.append("")
            out.append("examples changed (tests only, no approval needed):")
            for c in self.diff.examples:
                out.append(f"  {c.kind} {c.declaration}")
        if self.impact is not None:
            out.append("")
            out.extend(self.impact.text_lines())
        return "\n".join(out) + "\n"

    # ------------------------------------------------------------------ markdown
    def to_markdown(self) -> str:
        """A ready pull-request comment (GitHub-flavoured Markdown)."""
        d = self.diff
        out = [
            f"### Policy change: {md_code(self.base.label)} → {md_code(self.head.label)}",
            "",
            f"**{_capital(self.summary())}.**",
            "",
            _md_versions(self),
        ]
        if d.changes:
            out += ["", "#### Changes", "",
                    "| | declaration | what changed | owners |", "|---|---|---|---|"]
            for c in d.changes:
                out.append(f"| {c.kind} | {_cell_code(c.declaration)} | {_md_what(c)} | "
                           f"{md_escape(', '.join(c.owners))} |")
            out += ["", "#### Approvals needed", "", "| team | handle | for |", "|---|---|---|"]
            for a in d.approvals:
                out.append(f"| {md_escape(a.team)} | {md_escape(a.handle or '—')} | "
                           f"{', '.join(_cell_code(x) for x in a.because)} |")
            full = [c for c in d.changes if c.kind != "changed" and (c.old or c.new)]
            if full:
                out += ["", "<details><summary>Added and removed declarations</summary>", ""]
                for c in full:
                    body = (c.new if c.kind == "added" else c.old) or ""
                    fence = _fence(body)
                    out += [f"{c.kind} {md_code(c.declaration)}:", "", fence, body, fence, ""]
                out.append("</details>")
        if d.examples:
            out += ["", "<details><summary>Examples changed (tests only, no approval needed)"
                    "</summary>", ""]
            out += [f"- {c.kind} {md_code(c.declaration)}" for c in d.examples]
            out += ["", "</details>"]
        if self.impact is not None:
            out += ["", *self.impact.markdown_lines()]
        return "\n".join(out) + "\n"


def _fence(body: str) -> str:
    """A code fence longer than any run of backticks in ``body`` (a string may hold some)."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _count(k: int, noun: str) -> str:
    return f"{k:,} {noun}{'' if k == 1 else 's'}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _md_versions(report: DiffReport) -> str:
    def one(model: PolicyModel) -> str:
        name = model.header.name.name if model.header else "(no header)"
        version = f" {model.version}" if model.version else ""
        return f"{md_code(name + version)} ({md_code(policy_digest(model)[:19])})"

    return f"Policy {one(report.base_model)} → {one(report.head_model)}"


def _cell_code(text: str | None) -> str:
    return md_code(text, in_table=True)


def _md_what(c: Change) -> str:
    """The "what changed" cell: old → new canonical text, one line each."""
    if c.declaration == "schema file":
        return "the lead schema's contents"
    if c.kind == "added":
        return "added: " + _cell_code(_first_line(c.new))
    if c.kind == "removed":
        return "removed: " + _cell_code(_first_line(c.old))
    parts = []
    for x in c.lines:
        if x.kind == "changed":
            parts.append(f"{_cell_code(x.old)} → {_cell_code(x.new)}")
        elif x.kind == "added":
            parts.append(f"added {_cell_code(x.new)}")
        else:
            parts.append(f"removed {_cell_code(x.old)}")
    return "<br>".join(parts)


def _first_line(text: str | None) -> str:
    first = (text or "").split("\n", 1)[0].rstrip()
    return first[:-1].rstrip() if first.endswith("{") else first


def _text_change(c: Change) -> list[str]:
    where = f"  ({c.where})" if c.where else ""
    out = [f"  {c.kind} {c.declaration}  [owners: {', '.join(c.owners) or '-'}]{where}"]

    def block(prefix: str, text: str | None) -> None:
        for line in (text or "").split("\n"):
            out.append(f"      {prefix} {line}")

    if c.kind == "added":
        block("+", c.new)
    elif c.kind == "removed":
        block("-", c.old)
    for x in c.lines:
        if x.old is not None:
            block("-", x.old)
        if x.new is not None:
            block("+", x.new)
    return out
