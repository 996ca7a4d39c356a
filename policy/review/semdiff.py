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

Owners follow LANGUAGE.md section 2 (:class:`policy.model.ownership.Ownership`); the
approvals a change needs are the union of the owners of every changed declaration, on either side,
with the teams' handles from HEAD's ``team`` lines (BASE's for a removed team).
A ``lines`` define (v1.1) is compared by its entries too: a changed file is a change of
that define, listed as the entries removed and added. A stage whose only change is its
``entered at`` line is listed under ``records``, not counted as a change of meaning.
Canonical text comes from :mod:`policy.syntax.formatter`, so the old and new lines read
exactly as ``funnel fmt`` would print them. Rendering of the whole report (text,
Markdown, JSON) is :class:`policy.review.diff_report.DiffReport`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from policy.model.namespace import PolicyModel
from policy.model.ownership import Ownership, declaration_label
from policy.syntax import nodes as n
from policy.syntax.formatter import format_module, quote

if TYPE_CHECKING:  # pragma: no cover
    pass



__all__ = [
    "LineChange",
    "Change",
    "Approval",
    "SemanticDiff",
    "semantic_diff",
    "canonical_text",
]



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
    """Every change of meaning between BASE and HEAD, the example changes, the approvals.

    ``records``: (v1.1) changes that change no decision, listed but not counted as a
    change of meaning: a stage whose only difference is its ``entered at`` line.
    """

    changes: tuple[Change, ...]
    examples: tuple[Change, ...]
    approvals: tuple[Approval, ...]
    records: tuple[Change, ...] = ()

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


def _entries(decl: n.Decl) -> tuple[str, ...] | None:
    """A ``lines`` define's entries (None for anything else)."""
    if not isinstance(decl, n.Define) or decl.lines is None:
        return None
    items = decl.value.items if isinstance(decl.value, n.ListExpr) else ()
    return tuple(i.value for i in items if isinstance(i, n.String))


def _list_changes(old: n.Define, new: n.Define) -> tuple[LineChange, ...]:
    """A ``lines`` define: its line if that changed, then the entries removed and added
    (each as a string literal), so a review shows what the file change does."""
    out: list[LineChange] = []
    a, b = canonical_text(old), canonical_text(new)
    if a != b:
        out.append(LineChange("changed", a, b))
    before, after = _entries(old) or (), _entries(new) or ()
    gone, came = set(before) - set(after), set(after) - set(before)
    out += [LineChange("removed", quote(e), None) for e in before if e in gone]
    out += [LineChange("added", None, quote(e)) for e in after if e in came]
    return tuple(out)


def _meaning(decl: n.Decl) -> n.Decl:
    """The declaration as compared: a ``lines`` list's entries in sorted order, since the
    order of a list of strings changes no decision (a sorted file is not a change)."""
    if isinstance(decl, n.Define) and decl.lines is not None and isinstance(
            decl.value, n.ListExpr):
        items = sorted(decl.value.items, key=lambda i: getattr(i, "value", ""))
        return attrs.evolve(decl, value=n.ListExpr(tuple(items)))
    return decl


def _entered_only(old: n.Decl, new: n.Decl) -> bool:
    """Whether two stages differ only in their ``entered at`` lines (no decision reads them)."""
    if not isinstance(old, n.Stage) or not isinstance(new, n.Stage):
        return False

    def rest(stage: n.Stage) -> n.Stage:
        return attrs.evolve(stage, items=tuple(
            i for i in stage.items if not isinstance(i, n.EnteredAt)))

    return rest(old) == rest(new)


def _line_changes(old: n.Decl, new: n.Decl) -> tuple[tuple[LineChange, ...], int]:
    """What changed inside a matched declaration, and the HEAD line that shows it first."""
    if _entries(old) is not None or _entries(new) is not None:
        return _list_changes(old, new), new.span.line  # type: ignore[arg-type]
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
    records: list[Change] = []

    def add(rank: int, order: int, change: Change) -> None:
        found.append(((rank, order), change))

    for i, (key, side) in enumerate(new.items()):
        before = old.get(key)
        decl = side.decl
        if before is None:
            who = own_head.of(decl)
            add(_rank(decl), i, Change("added", _label(key), _sorted(who, decl, every),
                                       new=canonical_text(decl), where=side.where))
        elif _meaning(before.decl) != _meaning(decl):
            who = own_base.of(before.decl) | own_head.of(decl)
            lines, line = _line_changes(before.decl, decl)
            change = Change("changed", _label(key), _sorted(who, decl, every), lines,
                            canonical_text(before.decl), canonical_text(decl),
                            f"{side.file}:{line}")
            if _entered_only(before.decl, decl):
                records.append(change)  # listed, but no change of meaning (spec 2, v1.1)
                continue
            add(_rank(decl), i, change)
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
    return SemanticDiff(changes, examples, _approvals(changes, base, head), tuple(records))


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
