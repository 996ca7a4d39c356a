"""Compile: the intermediate form -> readable Python source -> a fast engine.

:func:`compile_model` turns a :class:`~policy.engine.ir.Program` (or a model, resolved
first by :mod:`policy.engine.resolve`) into one Python function,
``run(lead, ts, as_of) -> Decision``, that decides a lead exactly as the reference
:class:`~policy.engine.interpreter.Interpreter` does (spec section 4), only without
walking the tree: every define, field and score becomes a local, every gate is
unrolled in funnel order, durations are precomputed per calendar, and the value
operations whose operand kinds are known at compile time are inlined
(:mod:`policy.engine.codegen`). Everything else calls the same
:mod:`policy.engine.runtime` functions as the interpreter. The test suite checks that
the two agree on every field of the decision (``tests/test_equivalence.py``). At run
time :mod:`policy.api` has validated the lead and parsed its timestamps into ``ts``, one
instant (or None) per path of ``program.timestamp_order``.

Safety (STYLE.md, rule 11). The source is written through :class:`LineWriter` and
compiled with ``compile()``; nothing taken from a policy file is ever evaluated as
code. Policy text reaches the source only as ``repr`` of checked Python values
(strings, numbers, tuples of strings) or inside comments, which are cleaned of
anything that could end a line. Local names are generated (``s_fit``,
``f_company_employees``, ``d_enterprise``); a policy name or field key becomes part of
one only when it is plain ASCII ``[A-Za-z0-9_]``, and every generated name is checked
against Python's keywords and the names already used. The function runs in a
namespace that holds only :data:`policy.engine.runtime.EXPORTS`, the decision classes
and ``MappingProxy`` (scores are read-only, as the interpreter makes them), ``NEW``
(``tuple.__new__``, which builds the decision records), the builtins ``type``, ``len``,
``ValueError``, ``KeyError``, ``OverflowError`` and six types (``str``, ``dict``,
``int``, ``float``, ``bool``, ``list``), and constants made here (frozensets, lists,
tuples, decision values, calendars, the PolicyInfo); ``__builtins__`` is empty.

Order of evaluation. Each field is read, and each define computed, once per lead,
just before the first part of ``run`` (a score, the gates, the handoffs, the
placement) that needs it; that is earlier than the interpreter, which is harmless
because reading and comparing never fail. Arithmetic can (``10**400 * 2.5``
overflows), so a define or a ``keep when`` line that does arithmetic is evaluated
exactly where the interpreter evaluates it, and both engines raise alike.

The source is registered in :mod:`linecache` under a pseudo-filename such as
``<funnel-policy acme_b2b 3f2a9c1d>`` (as attrs does), so tracebacks, ``pdb`` and
profilers show the generated lines; each rule's code sits under a ``# file:line  rule``
comment that leads back to the policy.
"""

from __future__ import annotations

import functools
import re
import types as types_
from collections.abc import Callable

from policy.engine import ir
from policy.engine import runtime as rt
from policy.engine.codegen import (
    ANY,
    CONST,
    NUM,
    NUMN,
    TS,
    CompileError,
    LineWriter,
    _construct,
    _is_plain_name,
)
from policy.engine.compile_placement import CONSTANT_NEXT, PlacementCompiler
from policy.engine.compile_prepare import PrepareSpec, write_prologue
from policy.engine.compile_struct import compile_json_decide
from policy.engine.compiled import CompiledEngine
from policy.engine.decision import (
    Decision,
    HandoffResult,
    NextStep,
    PolicyInfo,
    SlaResult,
    Violation,
)
from policy.engine.linewriter import pseudo_filename, register_source

__all__ = ["CompileError", "CompiledEngine", "LineWriter", "compile_model"]


def compile_model(program, info: PolicyInfo, *, prepare: PrepareSpec | None = None
                  ) -> CompiledEngine:
    """Compile a resolved policy (or a model, resolved here) into a :class:`CompiledEngine`;
    with ``prepare`` (how ``Policy`` prepares a lead) it also has ``decide``.

    Raises :class:`CompileError` only for a cycle among defines and scores (the
    checker refuses it, E108). Other policies the checker refuses still compile to
    what the interpreter does with them: an unknown function gives a missing value;
    business durations without a calendar, or a business half-life, raise
    :class:`~policy.engine.runtime.EngineFault` for a lead that reaches them.
    """
    if not isinstance(program, ir.Program):
        from policy.engine.resolve import ResolveError, resolve

        try:
            program = resolve(program)
        except ResolveError as exc:
            raise CompileError(str(exc)) from None
    comp = _Compiler(program, info)
    source, namespace = comp.source(prepare)
    base = pseudo_filename(program.name, info.digest)
    if prepare is not None:  # another source for the same policy: another name
        base = base[:-1] + " decide>"
    filename = register_source(source, base)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - see the module docstring
    maker = (None if prepare is None else  # decide_json or _text, when first asked for
             functools.partial(compile_json_decide, comp, prepare, _BOUND, namespace, base))
    return CompiledEngine(program, info, source, filename, namespace["run"],
                          namespace.get("decide"), maker)


#: Builtins the generated code may use; ``__builtins__`` itself is empty.
_BUILTINS = {"type": type, "str": str, "dict": dict, "int": int, "float": float, "bool": bool,
             "list": list, "len": len, "ValueError": ValueError, "KeyError": KeyError,
             "OverflowError": OverflowError}
_DECISION_CLASSES = {c.__name__: c for c in (Decision, HandoffResult, NextStep, SlaResult,
                                               Violation)}
#: Names of the namespace ``decide`` binds as locals (when it uses them).
_BOUND = ("type", "int", "float", "str", "bool", "dict", "list", "len", "NUMBER_TYPES", "NEW",
          "Decision", "NextStep", "HandoffResult", "MappingProxy", "INFO")
#: Locals of ``run`` that are not generated from a hint.
_FIXED_LOCALS = ("lead", "ts", "as_of", "reached", "ri", "nxt", "unmet", "hs", "vs", "route",
                 "start", "stop", "due", "when", "status", "sla", "esc", "rej", "rej_state",
                 "rej_reason", "agreed", "placed", "why", "cal", "pk")


class _Section:
    """Straight-line code at the top level of ``run`` and the items it needs first."""

    __slots__ = ("writer", "deps", "provides")

    def __init__(self, provides: tuple | None = None) -> None:
        self.writer = LineWriter()
        self.deps: list[tuple] = []
        self.provides = provides


class _Compiler(PlacementCompiler):
    """One compilation: sections (each score, the gates, the handoffs, the placement)
    are compiled to their own writers first; :meth:`source` then puts each field read
    and define just before the first section that needs it, in dependency order."""

    def __init__(self, program: ir.Program, info: PolicyInfo,
                 ns: dict[str, object] | None = None,
                 types: dict[tuple[str, ...], frozenset[type]] | None = None) -> None:
        if ns is None:
            ns = {"__builtins__": {}}
            ns.update(rt.EXPORTS)
            ns.update(_BUILTINS)
            ns.update(_DECISION_CLASSES)
            ns["MappingProxy"] = types_.MappingProxyType
            ns["NEW"] = tuple.__new__  # builds a decision record (codegen._construct)
            ns["INFO"] = info
            ns["NUMBER_TYPES"] = frozenset({int, float})
        super().__init__(program, ns, _FIXED_LOCALS, types)
        self.info = info
        #: the scores surely an ``int`` (score_section): kept mappings (placement_section)
        self.int_scores: set[str] = set()
        self._big = False  # the score being compiled may sum ints past 2^53 (plus)
        #: the decision's lead id, when a local holds it (compile_struct)
        self.lead_id_code: str | None = None

    # ------------------------------------------------------------------ sections
    def sections(self) -> list[_Section]:
        sections = [self.score_section(score) for score in self.program.scores]
        sections.append(self.gate_section())
        sections.append(self.handoff_section())
        sections.append(self.write_placement(_Section()))
        return sections

    def source(self, prepare: PrepareSpec | None = None) -> tuple[str, dict[str, object]]:
        sections = self.sections()
        out = LineWriter()
        out.comment(f"policy {self.info.name} {self.info.version} {self.info.digest}")
        out.comment("generated by policy.engine.compiler; do not edit. Each `# file:line` comment")
        out.comment("names the policy rule whose code follows it.")
        with out.block("def run(lead, ts, as_of):"):
            self.body(out, sections, set())
        if prepare is not None:
            out.line()
            out.comment("the same rules, after the lead's preparation inline "
                        "(policy.engine.compile_prepare); None: take the reference path")
            out.extend(self.decide_source(prepare))
        return out.text(), self.ns

    def decide_source(self, prepare: PrepareSpec) -> LineWriter:
        """``decide``: the prologue, then the rules compiled a second time, knowing the
        type of every field the compiled schema checks have tested (the rules' own
        type tests and missing-value guards go; an int-only score is not rounded). It
        shares ``run``'s namespace. Untyped, as ``run``'s rules, when the checks are
        not compiled or do not set a field the typed rules would rely on."""
        field_types = prepare.schema.field_types() if prepare.schema is not None else {}
        if field_types:
            typed = _Compiler(self.program, self.info, self.ns, field_types)
            typed._consts = self._consts  # the same namespace: the same constants
            w = typed.decide_function(prepare)
            if w is not None:
                return w
        return self.decide_function(prepare, check=False)

    def decide_function(self, prepare: PrepareSpec, *, check: bool = True
                        ) -> LineWriter | None:
        self.keep_decisions = True  # decide keeps the decisions it can (compile_placement)
        try:
            sections = self.sections()
        finally:
            self.keep_decisions = False
        body = LineWriter()
        emitted = write_prologue(body, self, prepare, self._presence_only(sections))
        if check and any(key[0] == "raw" and key[1] in self.types and key not in emitted
                         for key in self._items):
            return None  # a typed field the checks do not set: do not rely on its type
        self.body(body, sections, emitted)
        # The namespace's most used names as locals bound once (a local is read faster than
        # a global): positional defaults, copied from a tuple per call; callers pass two.
        text = body.text()
        bound = [name for name in _BOUND if re.search(rf"\b{name}\b", text)]
        w = LineWriter()
        with w.block(f"def decide(lead, as_of, {', '.join(f'{n}={n}' for n in bound)}):"
                     if bound else "def decide(lead, as_of):"):
            w.extend(body)
        return w

    def _presence_only(self, sections: list[_Section]) -> Callable[[str], bool]:
        """Whether the rules read a local only to test it for None (``is None``, ``is not
        None``) or not at all: a timestamp they only test for presence needs parsing
        (a bad one is refused) but not its µs (compile_prepare)."""
        texts = [section.writer.text() for section in sections]
        texts += [line for key, item in self._items.items() if key[0] != "ts"
                  for line in item.lines]  # not the `t = ts[i]` lines of run
        rules = "\n".join(texts)

        def only(local: str) -> bool:
            uses = len(re.findall(rf"\b{re.escape(local)}\b", rules))
            tests = len(re.findall(rf"\b{re.escape(local)} is (?:not )?None\b", rules))
            return uses == tests

        return only

    def body(self, out: LineWriter, sections: list[_Section], emitted: set[tuple]) -> None:
        """The rules: each section after the items it needs (those in ``emitted`` are set)."""
        for section in sections:
            for key in section.deps:
                self.emit_item(out, key, emitted)
            out.extend(section.writer)
            if section.provides is not None:
                emitted.add(section.provides)

    def emit_item(self, out: LineWriter, key: tuple, emitted: set[tuple]) -> None:
        if key in emitted:
            return
        if key[0] == "score":
            raise CompileError(f"a cycle among defines and scores reaches the score `{key[1]}`")
        emitted.add(key)
        item = self._items[key]
        for dep in item.deps:
            self.emit_item(out, dep, emitted)
        for text in item.lines:
            out.line(text)

    def score_section(self, score: ir.Score) -> _Section:
        sec = _Section(provides=("score", score.name))
        w = sec.writer
        s = self._score_locals[score.name]
        self.rule_comment(w, score)
        w.line(f"{s} = 0")
        # an int sum that may pass 2^53 is summed as doubles, one rule at a time, as SQL
        # sums (runtime.add); below, Python's int sum is exactly the double one
        self._big = sum(abs(x) for i in score.items for x in (
            (i.points,) if type(i) is ir.PointsIf else (i.points, i.cap)) if type(x) is int
        ) >= rt.EXACT
        exact, magnitude = True, 0  # rounding is skipped only for a surely small int sum
        lowest = highest = 0  # an exact sum's bounds: a range it cannot leave is not tested
        with self.collecting(sec.deps):
            for item in score.items:
                self.rule_comment(w, item)
                if type(item) is ir.PointsIf:
                    exact = exact and type(item.points) is int
                    magnitude += abs(item.points)
                    lowest += min(item.points, 0)
                    highest += max(item.points, 0)
                    test = self.cond(self.expr(item.condition))
                    if test == "False":
                        continue
                    add = self.plus(s, self.const(item.points)) if self._big else (
                        f"{s} += {self.const(item.points)}" if item.points >= 0
                        else f"{s} -= {self.const(-item.points)}")
                    if test == "True":
                        w.line(add)
                    else:
                        with w.block(f"if {test}:"):
                            w.line(add)
                else:
                    bound = self.points_per(w, s, item)
                    exact = exact and bound is not None
                    magnitude += bound or 0
                    if item.points >= 0:  # the gain: 0 to the bound, of the points' sign
                        highest += bound or 0
                    else:
                        lowest -= bound or 0
            if score.decay is not None:
                self.rule_comment(w, score.decay)
                exact = False
                self.decay(w, s, score.decay)
        if not exact or magnitude >= 2**52:
            # runtime.round_half_away inlined for a sum in 0 .. 2^63 (a call costs more than
            # it); a negative or larger sum, NaN included, takes the function
            with w.block(f"if 0 <= {s} < 9223372036854775808:"):
                w.line(f"{s} = floor({s}) + ({s} % 1.0 >= 0.5)")
            with w.block("else:"):
                w.line(f"{s} = round_half_away({s})")
        bounds = score.bounds
        if exact and magnitude < 2**52 and (bounds is None or (
                type(bounds.low) is int and type(bounds.high) is int)):
            self.int_scores.add(score.name)  # surely an int: see placement_section
        if bounds is not None:
            self.rule_comment(w, bounds)
            surely = exact and magnitude < 2**52  # the sum is an int within lowest..highest
            tests = [(op, bound) for op, bound, outside in (
                ("<", bounds.low, not surely or lowest < bounds.low),
                (">", bounds.high, not surely or highest > bounds.high)) if outside]
            for i, (op, bound) in enumerate(tests):
                with w.block(f"{'elif' if i else 'if'} {s} {op} {self.const(bound)}:"):
                    w.line(f"{s} = {self.const(bound)}")
        return sec

    def points_per(self, w: LineWriter, s: str, item: ir.PointsPer) -> int | None:
        """``±P per N up to M``; returns M when the points gained are surely an int of at
        most M (an int P and M, N a field that holds an int), else None."""
        count = self.expr(item.count)
        cap = item.cap
        if count.kind == CONST:
            w.line(self.plus(s, self.const(rt.per_points(item.points, count.const, cap))))
            return None
        if count.guard is not None or not count.simple or count.kind not in (ANY, NUM, NUMN, TS):
            w.line(self.plus(s, f"per_points({self.const(item.points)}, "
                                f"{self.materialize(count)}, {self.const(cap)})"))
            return None
        x = count.code
        bound = None
        if (count.code in self.ints and type(item.points) is int and type(cap) is int
                and abs(cap) < rt.EXACT):  # then |P × N| <= cap is a double exactly
            bound = abs(cap)
        # runtime.per_points inlined: nothing unless a number not <= 0; min(|N| × F, M)
        valid = {ANY: f"type({x}) in NUMBER_TYPES and ", NUM: "",
                 NUMN: f"{x} is not None and ", TS: f"{x} is not None and "}[count.kind]
        gain = self.new_name("gain", s[2:])
        with w.block(f"if {valid}not {x} <= 0:"):
            if bound is not None:  # an int gain below an int cap: exact either way
                w.line(f"{gain} = {self.const(abs(item.points))} * {x}")
            else:  # doubles, as per_points: an int past a double's range is infinite
                with w.block("try:"):
                    w.line(f"{gain} = {self.const(float(abs(item.points)))} * {x}")
                with w.block("except OverflowError:"):
                    w.line(f"{gain} = float('inf')")
            if cap is not None:
                with w.block(f"if {gain} > {self.const(cap)}:"):
                    w.line(f"{gain} = {self.const(cap)}")
            w.line(self.plus(s, gain, negative=item.points < 0) if self._big
                   else f"{s} {'+=' if item.points >= 0 else '-='} {gain}")
        return bound

    def plus(self, s: str, code: str, negative: bool = False) -> str:
        """``s += code`` (``-=``): as doubles (runtime.add) when the score's sum may pass 2^53."""
        if not self._big:
            return f"{s} {'-=' if negative else '+='} {code}"
        return f"{s} = {'sub' if negative else 'add'}({s}, {code})"

    def decay(self, w: LineWriter, s: str, decay: ir.Decay) -> None:
        if decay.half_life_us is None:
            # the checker refuses it; the interpreter fails for every lead, and so do we
            w.line("raise EngineFault('a decay half-life is a fixed duration, not business "
                   "time')")
            return
        since = self.materialize(self.expr(decay.since))
        half_life = self.const(decay.half_life_us)
        if not _is_plain_name(since):
            w.line(f"{s} = {s} * decay_factor({since}, as_of, {half_life})")
            return
        # runtime.decay_factor inlined, the same float operations in the same order
        with w.block(f"if type({since}) is int and {since} <= as_of:"):
            w.line(f"{s} = {s} * 0.5 ** ((as_of - {since}) / {half_life})")
        with w.block("else:"):
            w.line(f"{s} = {s} * 1.0")

    def gate_section(self) -> _Section:
        program = self.program
        sec = _Section()
        w = sec.writer
        w.comment("gates, in funnel order: the reached stage is the deepest whose gate and "
                  "every earlier gate pass")
        self.path_start()
        if not self._path_on:  # kept decisions: the stage's name only when one is built
            w.line("reached = None")
        w.line("ri = -1")
        reached: str | None = None
        with self.collecting(sec.deps), w.block("while True:"):
            for stage in program.stages:
                name = stage.name
                self.rule_comment(w, stage)
                requires: list[str] = []
                excludes: list[str] = []
                lines: list[tuple[ir.GateLine, str]] = []
                keep: ir.GateLine | None = None
                for i, line in enumerate(stage.lines, 1):
                    if line.kind == "keep":
                        keep = keep or line
                        continue
                    self.rule_comment(w, line)
                    local = self.new_name("c", f"{name}_{i}")
                    w.line(f"{local} = {self.cond(self.expr(line.condition))}")
                    (requires if line.kind == "require" else excludes).append(local)
                    lines.append((line, local))
                passes = " and ".join(requires) if requires else ""
                kept = None
                if keep is not None:
                    self.rule_comment(w, keep)
                    kept = self.cond(self.expr(keep.condition))
                    if self.may_raise(keep.condition) or (requires and not _is_plain_name(kept)
                                                          and kept not in ("True", "False")):
                        # the interpreter evaluates every line of a gate, this one too;
                        # and `next` reads it again when the gate fails
                        local = self.new_name("keep", name)
                        w.line(f"{local} = {kept}")
                        kept = local
                    if requires:
                        passes = f"({passes}) or {kept}"
                fails = list(excludes)
                if passes:
                    fails.append(f"not ({passes})")
                if fails:
                    with w.block(f"if {' or '.join(fails)}:"):
                        self.next_step(w, reached, stage, lines, kept)
                        w.line("break")
                if not self._path_on:
                    w.line(f"reached = {name!r}")
                w.line(f"ri = {program.stage_index(name)}")
                reached = name
            self.next_step(w, reached, None, [], None)
            w.line("break")
        self.path_gates_done()
        return sec

    def next_step(self, w: LineWriter, reached: str | None, failed: ir.Stage | None,
                  lines: list[tuple[ir.GateLine, str]], kept: str | None) -> None:
        """``nxt`` when the gate of ``failed`` fails (or every gate passed): the first
        funnel stage after ``reached`` and what blocks its gate: the excludes that hold
        and, unless its ``keep when`` holds (``kept``), the requires that fail."""
        funnel = self.program.funnel
        index = self.program.stage_index(reached) + 1
        if index >= len(funnel):
            for text in ("nxt = None", *self.path_exit()):
                w.line(text)
            return
        name = funnel[index]
        if failed is None or failed.name != name or not lines:
            # The next funnel stage has no declaration (the checker refuses that, E103):
            # like the interpreter, name it with nothing to meet.
            for text in (f"nxt = {self.next_const(NextStep(name, ()))}", *self.path_exit()):
                w.line(text)
            return
        tests: list[tuple[str, str]] = []  # (holds when the line is unmet, its text)
        for line, local in lines:
            if line.kind == "require":
                if kept == "True":
                    continue  # kept: failing requires do not block the gate
                test = f"not {local}" if kept in (None, "False") else f"not ({local} or {kept})"
            else:
                test = local
            tests.append((test, line.unmet))
        if len(tests) <= CONSTANT_NEXT:
            # one test per line, each outcome a NextStep made once, at compile time
            self.next_tree(w, name, tests, ())
            return
        if self._path_on:  # decisions_keepable counts the lines: not reached
            raise CompileError("a next step built at run time cannot name a kept decision")
        w.line("unmet = ()")
        for test, unmet in tests:
            with w.block(f"if {test}:"):
                w.line(f"unmet += ({self.const(unmet)},)")
        w.line("nxt = " + _construct(NextStep, stage=repr(name), unmet="unmet"))

    def next_const(self, step: NextStep) -> str:  # compile_struct's text: the step's JSON
        return self.const(step, "NEXT")

    def next_tree(self, w: LineWriter, name: str, tests: list[tuple[str, str]],
                  unmet: tuple[str, ...]) -> None:
        """``nxt``, a constant, by the outcome of each of ``tests`` in turn."""
        if not tests:
            for text in (f"nxt = {self.next_const(NextStep(name, unmet))}", *self.path_exit()):
                w.line(text)
            return
        (test, text), rest = tests[0], tests[1:]
        if not rest and not unmet:
            # a failing gate has a line unmet: the one left holds
            self.next_tree(w, name, rest, (text,))
            return
        with w.block(f"if {test}:"):
            self.next_tree(w, name, rest, (*unmet, text))
        with w.block("else:"):
            self.next_tree(w, name, rest, unmet)

    def handoff_section(self) -> _Section:
        program = self.program
        sec = _Section()
        w = sec.writer
        w.comment("handoffs, in funnel order: each applies once its stage is reached")
        w.line("hs = ()")
        w.line("vs = ()")
        if any(h.reject for h in program.handoffs):
            w.line("rej_state = None")
            w.line("rej_reason = None")
        with self.collecting(sec.deps):
            first = True  # `hs` is still empty
            for h in program.handoffs:
                if h.index < 0:
                    continue  # an unknown stage is never reached (the checker refuses it)
                self.rule_comment(w, h)
                with w.block(f"if ri >= {h.index}:"):
                    self.handoff(w, h, first)
                first = False
        return sec
