"""Code generation for the end of a decision: the placement, and kept decisions.

A part of the compiled engine (:mod:`policy.engine.compiler` puts the sections
together): :class:`PlacementCompiler` writes the placement section (a rejection, else
the first recycle rule that applies, else the reached stage; spec section 4, step 5)
and the ``return`` of the decision record.

**Kept decisions** (``decide`` only). When a decision can depend on nothing but the
scores, which stage the gates stop at and why, and which route each handoff takes (no
lead id in it, every score an int by construction, every next step and every handoff
result a constant made at compile time, no SLA, rejection or recycling), ``decide``
keeps the decisions it builds, as the scores' mappings are kept
(:func:`policy.engine.runtime.scores_kept`): each exit of the gates sets ``pk`` to a
number of its own, each route of each handoff adds one (a mixed radix, so that the sum
names the path), and the decision is looked up under ``(as_of, score, …, pk)`` before
one is built. Equal keys give equal decisions, so a kept one is the same value, the same
bytes; a lead costs one tuple and one lookup where it cost a record, a mapping lookup
and their deallocation. :func:`policy.engine.runtime.decision_kept` bounds the
mapping; ``as_of`` is in the key, so a caller that moves ``as_of`` never gets a
decision of another instant.
"""

from __future__ import annotations

from typing import Any

from policy.engine.codegen import _construct_lines
from policy.engine.compile_handoffs import HandoffCompiler
from policy.engine.decision import Decision

__all__ = ["PlacementCompiler"]

#: Gates of up to this many lines name their next step by a tree of tests whose every
#: leaf is a constant (2**N leaves), not by a tuple built line by line.
CONSTANT_NEXT = 4


class PlacementCompiler(HandoffCompiler):
    """The placement section, and the path codes of kept decisions."""

    #: set by the caller (``decide`` only) before the sections are written
    keep_decisions = False

    def decisions_keepable(self) -> bool:
        """Whether the decision is a function of the scores and the path (module
        docstring); asked after the score sections are written (``int_scores``)."""
        program = self.program
        return (self.keep_decisions and program.id_field is None
                and self.lead_id_code is None and not program.recycles
                and all(h.sla is None and h.reject is None for h in program.handoffs)
                and all(name in self.int_scores for name in program.score_names)
                and all(sum(line.kind != "keep" for line in stage.lines) <= CONSTANT_NEXT
                        and program.stage_index(stage.name) >= 0  # reached: funnel[ri]
                        for stage in program.stages))

    def path_start(self) -> None:
        """Before the gates: whether this compilation writes path codes."""
        self._path_on = self.decisions_keepable()
        self._path_count = 0  # the gates' exits numbered so far
        self._path_radix = 1  # the weight of the current handoff's routes
        self._path_routes = 0  # routes of the current handoff numbered so far

    def path_exit(self) -> list[str]:
        """The line an exit of the gates adds after setting ``nxt``: its number."""
        if not self._path_on:
            return []
        self._path_count += 1
        return [f"pk = {self._path_count - 1}"]

    def path_gates_done(self) -> None:
        """After the gates: the first handoff's routes count in multiples of their exits."""
        self._path_radix = max(self._path_count, 1)

    def path_route(self) -> list[str]:
        """The line a handoff's route adds after setting ``hs``: 1 + its number, times
        the number of the paths before it (0 stands for the handoff not applying)."""
        if not self._path_on:
            return []
        self._path_routes += 1
        return [f"pk += {self._path_routes * self._path_radix}"]

    def path_handoff_done(self) -> None:
        """After a handoff's routes: the next handoff's weight."""
        if self._path_on and self._path_routes:
            self._path_radix *= self._path_routes + 1
            self._path_routes = 0

    def write_placement(self, sec: Any) -> Any:
        """The placement section into ``sec`` (compiler._Section), returned."""
        program = self.program
        w = sec.writer
        w.comment("placement: a rejection, else the first recycle rule that applies, "
                  "else the reached stage")
        has_reject = any(h.reject for h in program.handoffs)
        branches = 0
        with self.collecting(sec.deps):
            if has_reject:
                with w.block("if rej_state is not None:"):
                    w.line("placed = rej_state")
                    w.line("why = rej_reason")
                branches += 1
            for rule in program.recycles:
                indices = sorted(rule.stages)
                if not indices:
                    continue
                at = (f"ri == {indices[0]}" if len(indices) == 1
                      else f"ri in {tuple(indices)!r}")
                self.rule_comment(w, rule)
                test = self.cond(self.expr(rule.condition))
                if test == "False":
                    continue
                with w.block(f"{'elif' if branches else 'if'} {at} and {test}:"):
                    w.line(f"placed = {self.const(rule.state)}")
                    w.line(f"why = {self.const(rule.reason)}")
                branches += 1
        placed, why = "placed", "why"
        if branches:
            with w.block("else:"):
                w.line("placed = reached")
                w.line("why = None")
        else:
            placed, why = "reached", "None"  # no rejection, no recycling: the reached stage
        id_field = program.id_field
        if self.lead_id_code is not None:
            lead_id = self.lead_id_code
        elif id_field is None:
            lead_id = "None"
        elif len(id_field) == 1:
            lead_id = f"lead.get({id_field[0]!r})"
        else:
            lead_id = f"get(lead, {self.const(tuple(id_field), 'PATH')})"
        if self.decision_return(w, lead_id, placed, why):
            return sec
        names = program.score_names
        score_locals = [self._score_locals[n] for n in names]
        kept_key = None
        if self._path_on:
            w.comment("a decision kept for the same scores and path (compile_placement)")
            kept = self._kept_mapping("DECISIONS", "decisions")
            kept_key = f"({', '.join(['as_of', *score_locals, 'pk'])})"
            local = self.new_name("kept")
            w.line(f"{local} = {kept}.get({kept_key})")
            with w.block(f"if {local} is not None:"):
                w.line(f"return {local}")
            # the gates set `ri` alone on this path: the stage's name from its index
            # (-1, no stage reached, is the last item: None)
            stages = self.const((*program.funnel, None), "STAGES")
            w.line(f"reached = {stages}[ri]")
        pairs = ", ".join(f"{n!r}: {s}" for n, s in zip(names, score_locals, strict=True))
        scores = f"MappingProxy({{{pairs}}})"
        if names and all(n in self.int_scores for n in names):
            # every score an int: equal values, identical mappings, kept (runtime.scores_kept)
            key = ", ".join(score_locals)
            key = f"({key},)" if len(names) == 1 else f"({key})"
            kept_scores = self._kept_mapping("SCORES", names)
            local = self.new_name("scores")
            w.line(f"{local} = {kept_scores}.get({key})")
            with w.block(f"if {local} is None:"):
                w.line(f"{local} = scores_kept({kept_scores}, {key}, "
                       f"{scores[len('MappingProxy('):-1]})")
            scores = local
        decision = _construct_lines(
            Decision, lead=lead_id, policy="INFO", as_of="as_of", stage=placed,
            reached="reached", reason=why, scores=scores, next="nxt",
            handoffs="hs", violations="vs")
        if kept_key is None:
            w.line("return " + decision[0])
            for text in decision[1:]:
                w.line(text)
            return sec
        w.line(f"return decision_kept({kept}, {kept_key}, {decision[0]}")
        for text in decision[1:-1]:
            w.line(text)
        w.line(decision[-1] + ")")
        return sec

    def decision_return(self, w: Any, lead_id: str, placed: str, why: str) -> bool:
        """Whether the ``return`` was written here (compile_struct's ``decide_text``
        returns the decision's JSON text); the Decision's own is written by the caller."""
        return False

    def _kept_mapping(self, prefix: str, what: object) -> str:
        """The name of a dict in the namespace, one per ``(prefix, what)``."""
        name = self._consts.get((prefix, what))
        if name is None:
            name = self._consts[(prefix, what)] = self.new_name(prefix)
            self.ns[name] = {}
        return name
