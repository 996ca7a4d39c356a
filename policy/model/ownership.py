"""Ownership: which teams own each declaration of a model (LANGUAGE.md section 2).

Part of the model, not of a renderer: ``funnel docs`` shows the owners of every
section, ``funnel diff`` asks those owners for approval, and both read them from
:class:`Ownership`. :func:`declaration_label` names a declaration as reviewers
read it (``stage mql``, ``handoff mql``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from policy.model.namespace import PolicyModel, refs_in
from policy.syntax import nodes as n
from policy.syntax.formatter import quote

__all__ = ["Ownership", "counts_on", "declaration_label", "owners"]


class Ownership:
    """Who owns each declaration of one model (LANGUAGE.md section 2), computed once.

    * ``score``, ``stage``, ``state``: their ``owned by`` teams;
    * ``handoff``: the owners of its stage and the team it hands to;
    * ``recycle``: the owners of the stages it takes leads from and of its target state;
    * ``calendar``: the owners of every handoff that counts business time on it (an
      ``sla`` or ``escalate`` in business time, on a route whose calendar it is,
      :func:`counts_on`);
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
                if decl.label in counts_on(m, h):
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


def counts_on(model: PolicyModel, handoff: n.Handoff) -> frozenset[str]:
    """The labels of the calendars a handoff counts business time on (spec section 2):
    for each route, its ``on``, else the handoff's ``calendar`` line, else the unnamed
    calendar. Empty when the handoff has no business-time ``sla`` or ``escalate``."""
    business = any(
        (isinstance(i, n.Sla) and i.duration.unit.is_business)
        or (isinstance(i, n.Escalate) and i.after.unit.is_business) for i in handoff.items)
    if not business:
        return frozenset()
    routes: list[n.Route | None] = [i for i in handoff.items if isinstance(i, n.Route)]
    labels = {model.calendar_label(handoff, r) for r in routes or [None]}
    return frozenset(label for label in labels if label is not None)


def owners(model: PolicyModel, decl: n.Decl) -> frozenset[str]:
    """The teams that own ``decl`` in ``model`` (LANGUAGE.md section 2; see :class:`Ownership`).

    Builds the model's ownership index on each call; use :class:`Ownership` for many.
    """
    return Ownership(model).of(decl)


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
        return "calendar" if decl.name is None else f"calendar {decl.name.name}"
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
