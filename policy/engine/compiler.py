"""Compile: a checked policy -> readable Python source -> a fast engine.

:func:`compile_model` turns a :class:`~policy.model.namespace.PolicyModel` into one Python
function, ``run(lead, ts, as_of) -> Decision``, that decides a lead exactly as
the reference :class:`~policy.engine.interpreter.Interpreter` does (spec section 4),
only without walking the tree: every define, field and score becomes a local,
every gate is unrolled in funnel order, durations are precomputed, and the value
operations whose operand kinds are known at compile time are inlined (a score
compared with a number is ``s_fit >= 40``; a field tested against a list of
strings is ``type(f) is str and f in S1`` with a constant frozenset). Everything
else calls the same :mod:`policy.engine.runtime` functions as the interpreter, so the
two engines cannot disagree on what a value means. The test suite checks that
they agree on every field of the decision (``tests/test_equivalence.py``).

What runs before it: :func:`policy.model.loader.load_model` (parse, schema, check; the
checker also builds ``model.work_calendar``). At run time :mod:`policy.api` has
validated the lead and parsed its timestamps into ``ts``, one instant (or None)
per path of ``model.timestamp_order``.

Safety (STYLE.md, rule 11). The source is written through :class:`LineWriter`
and compiled with ``compile()``; nothing taken from a policy file is ever
evaluated as code. Policy text reaches the source only as ``repr`` of checked
Python values (strings, numbers, tuples of strings) or inside comments, which
are cleaned of anything that could end a line. Local names are generated here
(``s_fit``, ``f_company_employees``, ``d_enterprise``); a policy name or field
key becomes part of one only when it is plain ASCII ``[A-Za-z0-9_]``, and every
generated name is checked against Python's keywords and the names already used.
The function runs in a namespace that holds only :data:`policy.engine.runtime.EXPORTS`,
the decision classes and ``MappingProxy`` (scores are read-only, as the
interpreter makes them), four builtins (``type``, ``str``, ``dict``,
``ValueError``), the interpreter's ``invalid_reason_message`` (so both engines
word that violation alike), and constants made here (frozensets, lists, tuples,
decision values, the calendar, the PolicyInfo); ``__builtins__`` is empty.

Order of evaluation. Each field is read, and each define computed, once per
lead, just before the first part of ``run`` (a score, the gates, the handoffs,
the placement) that needs it; that is earlier than the interpreter, which is
harmless because reading and comparing never fail. Arithmetic can (``10**400 *
2.5`` overflows), so a define or a ``keep when`` line that does arithmetic is
evaluated exactly where the interpreter evaluates it, and both engines raise
alike.

The source is registered in :mod:`linecache` under a pseudo-filename such as
``<funnel-policy acme_b2b 3f2a9c1d>`` (as attrs does for the methods it
generates), so tracebacks, ``pdb`` and profilers show the generated lines, and
each rule's code sits under a ``# file:line  rule`` comment that leads back to
the policy.
"""

from __future__ import annotations

import keyword
import linecache
import math
import re
import types
from collections.abc import Iterator
from contextlib import contextmanager

import attrs

from policy.engine import runtime as rt
from policy.engine.decision import (
    Decision,
    HandoffResult,
    NextStep,
    PolicyInfo,
    SlaResult,
    Violation,
)
from policy.engine.interpreter import (
    LAST_INSTANT,
    invalid_reason_message,
    missing_sla_start_message,
    rule_text,
)
from policy.engine.timestamps import parse_timestamp
from policy.model.namespace import PolicyModel, stmt_exprs, walk_expr
from policy.syntax import nodes as n
from policy.syntax.formatter import format_unmet

__all__ = ["CompileError", "CompiledEngine", "LineWriter", "compile_model"]


class CompileError(Exception):
    """A model the compiler cannot turn into code: a cycle among defines and scores (a
    policy the checker refuses, E108)."""


# --------------------------------------------------------------------------- the writer


def _clean_comment(text: str) -> str:
    """Comment text that cannot end the line: every character that is not printable
    (newlines, ``\\u2028``, ``\\x85``, form feeds: anything ``str.splitlines`` or the
    tokenizer could break at) is written as an escape; letters of any script stay."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


class LineWriter:
    """Python source, one line at a time; indentation is handled here, not by callers.

    >>> w = LineWriter()
    >>> with w.block("if x:"):
    ...     w.line("y = 1")
    >>> w.text()
    'if x:\\n    y = 1\\n'
    """

    INDENT = "    "

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._level = 0

    def line(self, text: str = "") -> None:
        """Add one line of code at the current indentation (an empty line when no text)."""
        if "\n" in text or "\r" in text:
            raise ValueError("one line at a time")
        self._lines.append(self.INDENT * self._level + text if text else "")

    def comment(self, text: str) -> None:
        """Add a ``#`` comment; any character that could end the line is escaped."""
        self.line("# " + _clean_comment(text))

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """A compound statement: ``header`` (ending in ``:``) and an indented body."""
        self.line(header)
        self._level += 1
        mark = len(self._lines)
        try:
            yield
        finally:
            if len(self._lines) == mark:
                self.line("pass")
            self._level -= 1

    def extend(self, other: LineWriter) -> None:
        """Add another writer's lines, indented to the current level."""
        pad = self.INDENT * self._level
        self._lines.extend(pad + ln if ln else "" for ln in other._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def text(self) -> str:
        """The source written so far, one ``\\n`` after every line."""
        return "".join(ln + "\n" for ln in self._lines)


# --------------------------------------------------------------------------- the engine


class CompiledEngine:
    """A policy compiled to Python: ``run(lead, ts, as_of) -> Decision``.

    ``run`` is the generated function itself (no method call in between); it takes
    a prepared lead (a dict that passed validation), ``ts`` (one instant or None per
    path of ``model.timestamp_order``) and ``as_of`` (µs since the epoch, UTC), and
    returns the same :class:`~policy.engine.decision.Decision` as the interpreter.
    ``source`` is the generated text and ``filename`` the pseudo-filename it is
    registered under in :mod:`linecache`. Immutable, and safe to share between
    threads: the function keeps no state between calls.
    """

    __slots__ = ("model", "info", "source", "filename", "run")

    def __init__(self, model: PolicyModel, info: PolicyInfo, source: str, filename: str,
                 run) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "model", model)
        setattr_(self, "info", info)
        setattr_(self, "source", source)
        setattr_(self, "filename", filename)
        setattr_(self, "run", run)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a CompiledEngine is immutable")

    def __repr__(self) -> str:
        return f"<CompiledEngine {self.filename}>"


def compile_model(model: PolicyModel, info: PolicyInfo) -> CompiledEngine:
    """Compile a checked policy into a :class:`CompiledEngine`.

    Raises :class:`CompileError` only for a cycle among defines and scores (the
    checker refuses it, E108). Other policies the checker refuses still compile to
    what the interpreter does with them: an unknown function gives a missing value;
    business durations without ``model.work_calendar``, or a business half-life,
    raise ``ValueError`` for a lead that reaches them.
    """
    source, namespace = _Compiler(model, info).source()
    filename = _register(source, _pseudo_filename(model, info))
    code = compile(source, filename, "exec")
    exec(code, namespace)  # noqa: S102 - our own generated source, see the module docstring
    run = namespace["run"]
    return CompiledEngine(model, info, source, filename, run)


_SAFE_NAME = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)


def _pseudo_filename(model: PolicyModel, info: PolicyInfo) -> str:
    name = model.header.name.name if model.header is not None else "policy"
    if not _SAFE_NAME.fullmatch(name):
        name = "policy"
    digest = info.digest.rpartition(":")[2][:8]
    if not re.fullmatch(r"[0-9a-fA-F]{1,8}", digest):
        digest = "00000000"
    return f"<funnel-policy {name} {digest}>"


def _register(source: str, base: str) -> str:
    """Put ``source`` in :mod:`linecache` under ``base`` (or ``base`` plus ``-N`` when
    another source holds that name), so tracebacks can show its lines."""
    lines = source.splitlines(True)
    filename, count = base, 1
    while True:
        cached = linecache.cache.get(filename)
        if cached is None or cached[2] == lines:
            # mtime None: linecache.checkcache never evicts an entry with no file behind it
            linecache.cache[filename] = (len(source), None, lines, filename)
            return filename
        count += 1
        filename = f"{base[:-1]}-{count}>"


# --------------------------------------------------------------------------- values

# What the compiler knows about an expression's value at run time.
BOOL = "bool"  # exactly True or False
NUM = "num"  # an int or float, never None (a score, arithmetic on scores)
NUMN = "num?"  # an int or float, or None (runtime arithmetic, days_since, length)
TS = "ts"  # an int instant or None (a timestamp field, read from ``ts``)
STRN = "str?"  # a str or None (lower, domain)
ANY = "any"  # anything a lead can hold (a field)
CONST = "const"  # known at compile time: ``const`` holds it

_NO_VALUE = object()


class _Val:
    """A compiled expression: Python ``code``, the ``kind`` of its value, the value itself
    when it is a constant, and whether ``code`` is a plain name or literal (so it can
    appear twice in an inlined test without being computed twice)."""

    __slots__ = ("code", "kind", "const", "simple", "guard")

    def __init__(self, code: str, kind: str, const: object = _NO_VALUE, *,
                 simple: bool = False, guard: str | None = None) -> None:
        self.code = code
        self.kind = kind
        self.const = const
        self.simple = simple
        #: a local that is None exactly when this value is missing; ``code`` then
        #: computes the (non-missing) value and may only run when the guard is not None
        self.guard = guard


def _is_num(v: object) -> bool:
    return type(v) is int or type(v) is float


_FLIP = {n.BinOp.LT: n.BinOp.GT, n.BinOp.LE: n.BinOp.GE, n.BinOp.GT: n.BinOp.LT,
         n.BinOp.GE: n.BinOp.LE, n.BinOp.EQ: n.BinOp.EQ, n.BinOp.NE: n.BinOp.NE}
#: The runtime function of each operator, by name: from runtime's one operator table.
_RUNTIME_FN = {op: rt.OPERATORS[op.value].__name__ for op in n.BinOp if op.value in rt.OPERATORS}
assert all(name in rt.EXPORTS for name in _RUNTIME_FN.values())
_PY_OP = {n.BinOp.EQ: "==", n.BinOp.NE: "!=", n.BinOp.LT: "<", n.BinOp.LE: "<=",
          n.BinOp.GT: ">", n.BinOp.GE: ">=", n.BinOp.ADD: "+", n.BinOp.SUB: "-",
          n.BinOp.MUL: "*", n.BinOp.DIV: "/"}
_ORDERING = frozenset({n.BinOp.LT, n.BinOp.LE, n.BinOp.GT, n.BinOp.GE})
#: The built-in functions (model.FUNCTIONS) and the kind of what they return.
_FUNCTIONS = {"lower": STRN, "domain": STRN, "length": NUMN, "days_since": NUMN,
              "hours_since": NUMN}
_US_PER = {"days_since": rt.US_PER_DAY, "hours_since": rt.US_PER_HOUR}
_US_PER_SECOND = 1_000_000

#: Builtins the generated code may use; ``__builtins__`` itself is empty.
_BUILTINS = {"type": type, "str": str, "dict": dict, "ValueError": ValueError}
_DECISION_CLASSES = {
    "Decision": Decision, "HandoffResult": HandoffResult, "NextStep": NextStep,
    "SlaResult": SlaResult, "Violation": Violation,
}
#: Locals of ``run`` that are not generated from a hint.
_FIXED_LOCALS = ("lead", "ts", "as_of", "reached", "ri", "nxt", "unmet", "hs", "vs", "route", "cal",
                 "start", "stop", "due", "when", "status", "sla", "esc", "rej", "rej_state",
                 "rej_reason", "agreed", "placed", "why")


def _whole(us: float) -> int:
    """Microseconds as the interpreter counts them: fractions rounded to the nearest µs."""
    return us if type(us) is int else round(us)


# --------------------------------------------------------------------------- the compiler


class _Item:
    """A local computed once per run: a field read, a define; ``deps`` come first."""

    __slots__ = ("lines", "deps")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.deps: list[tuple] = []


class _Section:
    """Straight-line code at the top level of ``run`` and the items it needs first."""

    __slots__ = ("writer", "deps", "provides")

    def __init__(self, provides: tuple | None = None) -> None:
        self.writer = LineWriter()
        self.deps: list[tuple] = []
        self.provides = provides


class _Compiler:
    """One compilation: the namespace being filled, the locals and the items they need.

    Sections (each score, the gates, the handoffs, the placement) are compiled to
    their own writers first; :meth:`source` then puts each field read and define
    just before the first section that needs it, in dependency order.
    """

    def __init__(self, model: PolicyModel, info: PolicyInfo) -> None:
        self.model = model
        self.info = info
        self.ns: dict[str, object] = {"__builtins__": {}}
        self.ns.update(rt.EXPORTS)
        self.ns.update(_BUILTINS)
        self.ns.update(_DECISION_CLASSES)
        self.ns["invalid_reason_message"] = invalid_reason_message
        self.ns["MappingProxy"] = types.MappingProxyType
        self.ns["INFO"] = info
        self.ns["LAST_INSTANT"] = LAST_INSTANT
        self.ns["NUMBER_TYPES"] = frozenset({int, float})
        self.used: set[str] = set(self.ns) | set(_FIXED_LOCALS)
        self._consts: dict[object, str] = {}
        self._items: dict[tuple, _Item] = {}
        self._locals: dict[tuple, str] = {}
        self._defines: dict[str, tuple[_Val, list[tuple]]] = {}
        self._defining: set[str] = set()
        self._raising: dict[int, bool] = {}
        self._deps: list[tuple] = []
        self._ts_index = {path: i for i, path in enumerate(model.timestamp_order)}
        self._instants = _literal_instants_in(model)
        self._score_locals = {name: self.new_name("s", name) for name in model.score_order}

    # ------------------------------------------------------------------ names
    def new_name(self, prefix: str, hint: str | None = None) -> str:
        """A fresh local name: ``prefix_hint`` when the hint is plain ASCII, else numbered."""
        base = f"{prefix}_{hint}" if hint is not None and _SAFE_NAME.fullmatch(hint) else prefix
        name, i = base, 1
        while name in self.used or keyword.iskeyword(name) or not name.isidentifier():
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    def const(self, value: object, hint: str = "K") -> str:
        """Code for a constant: a literal when ``repr`` gives one, else a namespace name."""
        t = type(value)
        if value is None or t is bool or t is str:
            return repr(value)
        if t is int and abs(value) < 10**100:  # far below int-literal parsing limits
            return repr(value)
        if t is float and math.isfinite(value):
            return repr(value)
        key = (hint, _const_key(value))
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = self.new_name(hint + str(len(self._consts) + 1))
            self.ns[name] = value
        return name

    # ------------------------------------------------------------------ dependencies
    def need(self, key: tuple) -> None:
        if key not in self._deps:
            self._deps.append(key)

    @contextmanager
    def collecting(self, deps: list[tuple]) -> Iterator[None]:
        saved, self._deps = self._deps, deps
        try:
            yield
        finally:
            self._deps = saved

    # ------------------------------------------------------------------ names in expressions
    def ref(self, ref: n.Ref) -> _Val:
        kind, target = self.model.resolve(ref)
        if kind == "define":
            return self.define(ref.path[0])
        if kind == "score":
            self.need(("score", ref.path[0]))
            return _Val(self._score_locals[ref.path[0]], NUM, simple=True)
        return self.field(ref.path)

    def field(self, path: tuple[str, ...]) -> _Val:
        """A lead field: timestamps from ``ts``, other values from the lead."""
        index = self._ts_index.get(path)
        if index is None:
            return self.raw(path)
        key = ("ts", path)
        if key not in self._items:
            local = self._locals[key] = self.new_name("t", "_".join(path))
            item = self._items[key] = _Item()
            item.lines.append(f"{local} = ts[{index}]")
        self.need(key)
        return _Val(self._locals[key], TS, simple=True)

    def raw(self, path: tuple[str, ...]) -> _Val:
        """A value as the lead holds it (``runtime.get``), each path prefix read once."""
        key = ("raw", path)
        if key not in self._items:
            local = self._locals[key] = self.new_name("f", "_".join(path))
            item = self._items[key] = _Item()
            k = repr(path[-1])
            if len(path) == 1:
                item.lines.append(f"{local} = lead.get({k})")
            else:
                with self.collecting(item.deps):
                    parent = self.raw(path[:-1]).code
                item.lines.append(
                    f"{local} = {parent}.get({k}) if type({parent}) is dict else None")
        self.need(key)
        return _Val(self._locals[key], ANY, simple=True)

    def define(self, name: str) -> _Val:
        """A define: a constant when its value is one, else a local computed once per run."""
        if name not in self._defines:
            if name in self._defining:
                raise CompileError(f"the define `{name}` depends on itself")
            self._defining.add(name)
            deps: list[tuple] = []
            try:
                with self.collecting(deps):
                    val = self.expr(self.model.defines[name].value)
            finally:
                self._defining.discard(name)
            if val.kind == CONST or val.simple or self.may_raise(self.model.defines[name].value):
                # constants and names are used as they are; so is arithmetic, which the
                # interpreter evaluates only where it is reached (an overflow raises there)
                self._defines[name] = (val, deps)
            else:
                key = ("define", name)
                local = self.new_name("d", name)
                item = self._items[key] = _Item()
                item.deps = deps
                item.lines.append(f"{local} = {self.materialize(val)}")
                self._defines[name] = (_Val(local, val.kind, simple=True), [key])
        val, deps = self._defines[name]
        for key in deps:
            self.need(key)
        return val

    def may_raise(self, e: n.Expr) -> bool:
        """Whether evaluating ``e`` may raise: arithmetic may overflow (``10**400 * 2.5``),
        directly or in a define it names. Such code is never evaluated ahead of need."""
        found = self._raising.get(id(e))
        if found is None:
            self._raising[id(e)] = False  # a cycle among defines: the checker reports it
            found = False
            for sub in walk_expr(e):
                if isinstance(sub, n.Binary) and sub.op in n.ARITHMETIC:
                    found = True
                elif isinstance(sub, n.Ref) and self.model.resolve(sub)[0] == "define":
                    found = self.may_raise(self.model.defines[sub.path[0]].value)
                if found:
                    break
            self._raising[id(e)] = found
        return found

    # ------------------------------------------------------------------ expressions
    def expr(self, e: n.Expr) -> _Val:
        """Compile an expression to a value (see :class:`_Val`)."""
        t = type(e)
        if t is n.Ref:
            return self.ref(e)
        if t is n.Number or t is n.Bool:
            return self.constant(e.value)
        if t is n.String:
            return self.constant(self._instants.get(id(e), e.value))
        if t is n.Null:
            return self.constant(None)
        if t is n.ListExpr:
            items = [self.expr(x) for x in e.items]
            if all(v.kind == CONST for v in items):
                return self.constant([v.const for v in items])
            return _Val("[" + ", ".join(self.materialize(v) for v in items) + "]", ANY)
        if t is n.Not:
            inner = self.expr(e.operand)
            if inner.kind == CONST:
                return self.constant(not rt.truthy(inner.const))
            return _Val(f"(not {self.cond(inner)})", BOOL)
        if t is n.Presence:
            inner = self.expr(e.operand)
            if inner.kind == CONST:
                return self.constant((inner.const is not None) is e.present)
            if inner.guard is not None:
                inner = _Val(inner.guard, inner.kind, simple=True)
            test = "is not" if e.present else "is"
            return _Val(f"({self.materialize(inner)} {test} None)", BOOL)
        if t is n.Neg:
            return self.neg(self.expr(e.operand))
        if t is n.Call:
            return self.call(e)
        if t is n.Binary:
            return self.binary(e)
        raise CompileError(f"not an expression: {t.__name__}")

    def constant(self, value: object) -> _Val:
        return _Val(self.const(value), CONST, value, simple=True)

    def materialize(self, v: _Val) -> str:
        """Code that computes the value on its own (a guarded value gets its None back)."""
        if v.guard is not None:
            return f"(None if {v.guard} is None else {v.code})"
        return v.code

    def cond(self, v: _Val) -> str:
        """Code for "this value holds": exactly ``True`` (spec section 3)."""
        if v.kind == BOOL:
            return v.code
        if v.kind == CONST:
            return repr(v.const is True)
        return f"({self.materialize(v)} is True)"

    def call_runtime(self, fn: str, *args: _Val, kind: str) -> _Val:
        return _Val(f"{fn}({', '.join(self.materialize(a) for a in args)})", kind)

    def neg(self, v: _Val) -> _Val:
        if v.kind == CONST:
            return self.constant(rt.neg(v.const))
        if v.kind == NUM:
            return _Val(f"(-{v.code})", NUM, guard=v.guard)
        return self.call_runtime("neg", v, kind=NUMN)

    def call(self, e: n.Call) -> _Val:
        args = [self.expr(a) for a in e.args]
        if len(args) != 1 or e.func not in _FUNCTIONS:
            # a wrong arity or an unknown function (the checker refuses both): missing,
            # as the interpreter says, after evaluating the arguments as it does
            if not any(self.may_raise(a) for a in e.args):
                return self.constant(None)
            return _Val(f"({''.join(self.materialize(a) + ', ' for a in args)}None)[-1]", NUMN)
        (arg,) = args
        if e.func in _US_PER:
            per = _US_PER[e.func]
            if arg.kind == TS and arg.simple:
                return _Val(f"((as_of - {arg.code}) / {per})", NUM, guard=arg.code)
            if arg.kind == CONST and type(arg.const) is not int:
                return self.constant(None)
            return _Val(f"{e.func}({self.materialize(arg)}, as_of)", NUMN)
        if arg.kind == CONST:
            return self.constant(getattr(rt, e.func)(arg.const))
        return self.call_runtime(e.func, arg, kind=_FUNCTIONS[e.func])

    def binary(self, e: n.Binary) -> _Val:
        op = e.op
        if op is n.BinOp.AND or op is n.BinOp.OR:
            a, b = self.expr(e.left), self.expr(e.right)
            if a.kind == CONST and b.kind == CONST:
                x, y = rt.truthy(a.const), rt.truthy(b.const)
                return self.constant((x and y) if op is n.BinOp.AND else (x or y))
            return _Val(f"({self.cond(a)} {op.value} {self.cond(b)})", BOOL)
        a, b = self.expr(e.left), self.expr(e.right)
        fn = _RUNTIME_FN[op]
        if a.kind == CONST and b.kind == CONST:
            try:
                return self.constant(getattr(rt, fn)(a.const, b.const))
            except (ArithmeticError, ValueError):
                pass  # e.g. an overflow: leave it to run time, where the interpreter meets it
        if op in n.ARITHMETIC:
            return self.arithmetic(op, a, b)
        if op in n.COMPARISONS:
            return self.compare(op, a, b)
        if op is n.BinOp.IN or op is n.BinOp.NOT_IN:
            return self.membership(op is n.BinOp.IN, a, b)
        if op is n.BinOp.CONTAINS and b.kind == CONST:
            needles = [b.const] if type(b.const) is str else b.const
            if type(needles) is list and needles and all(type(x) is str for x in needles):
                folded = tuple(dict.fromkeys(x.casefold() for x in needles))
                return _Val(f"contains_text({self.materialize(a)}, {self.const(folded, 'T')}, "
                            f"{self.const(frozenset(folded), 'S')})", BOOL)
        return self.call_runtime(fn, a, b, kind=BOOL)

    def arithmetic(self, op: n.BinOp, a: _Val, b: _Val) -> _Val:
        def plain(v: _Val) -> bool:
            return v.kind == NUM or (v.kind == CONST and _is_num(v.const))

        # at most one guarded operand: the result is missing exactly when it is
        guard = a.guard or b.guard
        if (plain(a) and plain(b) and not (a.kind == CONST and b.kind == CONST)
                and not (a.guard and b.guard)):
            if op is not n.BinOp.DIV:
                return _Val(f"({a.code} {_PY_OP[op]} {b.code})", NUM, guard=guard)
            if b.kind == CONST and b.const != 0:
                return _Val(f"({a.code} / {b.code})", NUM, guard=guard)
        return self.call_runtime(_RUNTIME_FN[op], a, b, kind=NUMN)

    def compare(self, op: n.BinOp, a: _Val, b: _Val) -> _Val:
        if a.kind == CONST and b.kind != CONST:
            a, b, op = b, a, _FLIP[op]
        code = self._inline_compare(op, a, b) if b.kind == CONST else None
        if code is None and a.kind == NUM and b.kind == NUM:
            present = "".join(f"{g} is not None and " for g in (a.guard, b.guard) if g)
            code = f"({present}{a.code} {_PY_OP[op]} {b.code})"
        if code is not None:
            return _Val(code, BOOL) if type(code) is str else self.constant(code)
        return self.call_runtime(_RUNTIME_FN[op], a, b, kind=BOOL)

    def _inline_compare(self, op: n.BinOp, a: _Val, b: _Val) -> str | bool | None:
        """``a OP c`` for a constant ``c``, with exactly :func:`runtime.eq` & co.'s meaning;
        None when no inline form is known (the caller then calls the runtime)."""
        c = b.const
        x = a.code
        py = _PY_OP[op]
        lit = b.code
        if c is None:
            return False  # a comparison with a missing value is false, `!=` included
        if a.guard is not None:
            # `days_since(t) > 30`: the value is missing exactly when t is
            if _is_num(c):
                return f"({a.guard} is not None and {x} {py} {lit})"
            return None
        kind = a.kind
        if type(c) is bool:
            if op in _ORDERING:
                return False  # booleans are never ordered
            if kind == BOOL:
                return x if (op is n.BinOp.EQ) == c else f"(not {x})"
            if kind == ANY and a.simple:
                if op is n.BinOp.EQ:
                    return f"({x} is {lit})"
                return f"({x} is not None and {x} is not {lit})"
            return None
        if _is_num(c):
            if kind == NUM:
                return f"({x} {py} {lit})"
            if kind in (NUMN, TS):
                if op is n.BinOp.EQ:
                    return f"({x} == {lit})"
                if a.simple:
                    return f"({x} is not None and {x} {py} {lit})"
                return None
            if kind == ANY and a.simple:
                if op is n.BinOp.NE:
                    return f"({x} is not None and ({x} != {lit} or type({x}) not in NUMBER_TYPES))"
                if op is n.BinOp.EQ:
                    return f"({x} == {lit} and type({x}) in NUMBER_TYPES)"
                return f"(type({x}) in NUMBER_TYPES and {x} {py} {lit})"
            return None
        if type(c) is str:
            if kind == STRN:
                if op is n.BinOp.EQ:
                    return f"({x} == {lit})"
                if a.simple:
                    return f"({x} is not None and {x} {py} {lit})"
                return None
            if kind == ANY and a.simple:
                if op is n.BinOp.NE:
                    return f"({x} is not None and ({x} != {lit} or type({x}) is not str))"
                if op is n.BinOp.EQ:
                    return f"({x} == {lit} and type({x}) is str)"
                return f"(type({x}) is str and {x} {py} {lit})"
            return None
        return None

    def membership(self, positive: bool, a: _Val, b: _Val) -> _Val:
        fn = "member" if positive else "not_member"
        items = b.const if b.kind == CONST else None
        if type(items) is not list or a.guard is not None:
            return self.call_runtime(fn, a, b, kind=BOOL)
        x = a.code
        kind = a.kind
        if not items:
            if positive:
                return self.constant(False)
            if kind in (NUM, BOOL):
                return self.constant(True)
            return _Val(f"({x} is not None)", BOOL) if a.simple else self.call_runtime(
                fn, a, b, kind=BOOL)
        strings = all(type(v) is str for v in items)
        numbers = all(_is_num(v) and v == v for v in items)
        if not (strings or numbers):
            return self.call_runtime(fn, a, b, kind=BOOL)
        s = self.const(frozenset(items), "S")
        if (strings and kind == STRN) or (numbers and kind in (NUM, NUMN, TS)):
            if positive:
                return _Val(f"({x} in {s})", BOOL)  # None is never in the set
            if kind == NUM:
                return _Val(f"({x} not in {s})", BOOL)
            if a.simple:
                return _Val(f"({x} is not None and {x} not in {s})", BOOL)
            return self.call_runtime(fn, a, b, kind=BOOL)
        if kind == ANY and a.simple:
            # the type test keeps `true in [1]` false, as runtime.eq does, and keeps
            # unhashable values (lists, objects) away from the set
            if strings:
                test, not_test = f"type({x}) is str", f"type({x}) is not str"
            else:
                test, not_test = (f"type({x}) in NUMBER_TYPES",
                                  f"type({x}) not in NUMBER_TYPES")
            if positive:
                return _Val(f"({test} and {x} in {s})", BOOL)
            return _Val(f"({x} is not None and ({not_test} or {x} not in {s}))", BOOL)
        return self.call_runtime(fn, a, b, kind=BOOL)

    # ------------------------------------------------------------------ durations
    def duration_lines(self, w: LineWriter, target: str, d: n.Duration, start: str,
                       calendar: tuple[str | None, ...] = (n.DEFAULT_CALENDAR,)) -> None:
        """``target = start + d`` (None past the year 9999), as the interpreter counts it.

        ``calendar`` holds the labels of the calendars business time may count on: one
        when every route of the handoff counts on the same, else the label of each in
        the order of the routes, with ``cal`` holding the chosen one at run time.
        """
        if d.unit.is_business and len(calendar) > 1:
            keyword_ = "if"
            for label in calendar:
                with w.block(f"{keyword_} cal == {label!r}:"):
                    self.duration_lines(w, target, d, start, (label,))
                keyword_ = "elif"
            return
        if d.unit.is_business:
            label = calendar[0]
            cal = None
            if label is not None:
                cal = self.model.work_calendars.get(label)
                if cal is None and label == n.DEFAULT_CALENDAR:
                    cal = self.model.work_calendar
            if cal is None:
                w.line("raise ValueError('business durations need a `calendar` (E107)')")
                return
            per = rt.US_PER_HOUR if d.unit is n.Unit.BUSINESS_HOURS else cal.day_us
            amount = self.const(_whole(d.amount * per))
            with w.block("try:"):
                w.line(f"{target} = {self.const(cal, 'CAL')}.add_business({start}, {amount})")
            with w.block("except ValueError:"):
                w.line(f"{target} = None  # no representable instant holds that much time")
            with w.block(f"if {target} is not None and {target} > LAST_INSTANT:"):
                w.line(f"{target} = None")
        else:
            amount = self.const(_whole(d.amount * n.UNIT_SECONDS[d.unit] * _US_PER_SECOND))
            w.line(f"{target} = {start} + {amount}")
            with w.block(f"if {target} > LAST_INSTANT:"):
                w.line(f"{target} = None")

    # ------------------------------------------------------------------ text for people
    def where(self, stmt: n.Stmt) -> str:
        span = stmt.span
        return f"{span.file}:{span.line}"

    def rule_comment(self, w: LineWriter, stmt: n.Stmt) -> None:
        w.comment(f"{self.where(stmt)}  {_shorten(self.rule_text(stmt))}")

    def rule_text(self, stmt: n.Stmt) -> str:
        return rule_text(stmt)

    # ------------------------------------------------------------------ sections
    def source(self) -> tuple[str, dict[str, object]]:
        sections = [self.score_section(name) for name in self.model.score_order]
        sections.append(self.gate_section())
        sections.append(self.handoff_section())
        sections.append(self.placement_section())
        out = LineWriter()
        out.comment(f"policy {self.info.name} {self.info.version} {self.info.digest}")
        out.comment("generated by policy.engine.compiler; do not edit. Each `# file:line` comment")
        out.comment("names the policy rule whose code follows it.")
        with out.block("def run(lead, ts, as_of):"):
            emitted: set[tuple] = set()
            for section in sections:
                for key in section.deps:
                    self.emit_item(out, key, emitted)
                out.extend(section.writer)
                if section.provides is not None:
                    emitted.add(section.provides)
        return out.text(), self.ns

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

    def score_section(self, name: str) -> _Section:
        score = self.model.scores[name]
        sec = _Section(provides=("score", name))
        w = sec.writer
        s = self._score_locals[name]
        self.rule_comment(w, score)
        w.line(f"{s} = 0")
        decay: n.Decay | None = None
        bounds: n.Range | None = None
        # rounding is skipped only when the sum is surely a small int already
        exact = True
        magnitude = 0
        with self.collecting(sec.deps):
            for item in score.items:
                if isinstance(item, n.PointsIf):
                    self.rule_comment(w, item)
                    exact = exact and type(item.points) is int
                    magnitude += abs(item.points)
                    test = self.cond(self.expr(item.condition))
                    if test == "False":
                        continue
                    add = (f"{s} += {self.const(item.points)}" if item.points >= 0
                           else f"{s} -= {self.const(-item.points)}")
                    if test == "True":
                        w.line(add)
                    else:
                        with w.block(f"if {test}:"):
                            w.line(add)
                elif isinstance(item, n.PointsPer):
                    self.rule_comment(w, item)
                    exact = False
                    self.points_per(w, s, item)
                elif isinstance(item, n.Decay):
                    decay = decay or item
                elif isinstance(item, n.Range):
                    bounds = bounds or item
            if decay is not None:
                self.rule_comment(w, decay)
                exact = False
                self.decay(w, s, decay)
        if not exact or magnitude >= 2**52:
            w.line(f"{s} = round_half_away({s})")
        if bounds is not None:
            self.rule_comment(w, bounds)
            with w.block(f"if {s} < {self.const(bounds.low)}:"):
                w.line(f"{s} = {self.const(bounds.low)}")
            with w.block(f"elif {s} > {self.const(bounds.high)}:"):
                w.line(f"{s} = {self.const(bounds.high)}")
        return sec

    def points_per(self, w: LineWriter, s: str, item: n.PointsPer) -> None:
        count = self.expr(item.count)
        cap = item.cap
        if count.kind == CONST:
            w.line(f"{s} += {self.const(rt.per_points(item.points, count.const, cap))}")
            return
        if count.guard is not None or not count.simple or count.kind not in (ANY, NUM, NUMN, TS):
            w.line(f"{s} += per_points({self.const(item.points)}, {self.materialize(count)}, "
                   f"{self.const(cap)})")
            return
        x = count.code
        # runtime.per_points, inlined: nothing unless a number that is not <= 0 (NaN
        # passes, as there); then min(|N| × F, M) with N's sign
        valid = {ANY: f"type({x}) in NUMBER_TYPES and ", NUM: "",
                 NUMN: f"{x} is not None and ", TS: f"{x} is not None and "}[count.kind]
        gain = self.new_name("gain", s[2:])
        with w.block(f"if {valid}not {x} <= 0:"):
            w.line(f"{gain} = {self.const(abs(item.points))} * {x}")
            if cap is not None:
                with w.block(f"if {gain} > {self.const(cap)}:"):
                    w.line(f"{gain} = {self.const(cap)}")
            w.line(f"{s} {'+=' if item.points >= 0 else '-='} {gain}")

    def decay(self, w: LineWriter, s: str, decay: n.Decay) -> None:
        if decay.half_life.unit.is_business:
            # the checker refuses it; the interpreter raises this for every lead, and so do we
            w.line("raise ValueError('a decay half-life is a fixed duration, not business time')")
            return
        half_life = self.const(_whole(decay.half_life.amount * n.UNIT_SECONDS[decay.half_life.unit]
                                      * _US_PER_SECOND))
        since = self.expr(decay.since)
        if since.kind == TS and since.simple:
            t = since.code
            # runtime.decay_factor, inlined: 1.0 when missing or later than as_of
            with w.block(f"if {t} is not None and {t} <= as_of:"):
                w.line(f"{s} = {s} * 0.5 ** ((as_of - {t}) / {half_life})")
            with w.block("else:"):
                w.line(f"{s} = {s} * 1.0")
        else:
            w.line(f"{s} = {s} * decay_factor({self.materialize(since)}, as_of, {half_life})")

    def gate_section(self) -> _Section:
        model = self.model
        sec = _Section()
        w = sec.writer
        w.comment("gates, in funnel order: the reached stage is the deepest whose gate and "
                  "every earlier gate pass")
        w.line("reached = None")
        w.line("ri = -1")
        reached: str | None = None
        with self.collecting(sec.deps), w.block("while True:"):
            for stage in model.funnel_stages():
                name = stage.name.name
                self.rule_comment(w, stage)
                requires: list[str] = []
                excludes: list[str] = []
                lines: list[tuple[n.Stmt, str]] = []
                keep: n.KeepWhen | None = None
                for i, item in enumerate(stage.items, 1):
                    if isinstance(item, n.EnteredAt):
                        continue  # changes no decision
                    if isinstance(item, n.KeepWhen):
                        keep = keep or item
                        continue
                    self.rule_comment(w, item)
                    local = self.new_name("c", f"{name}_{i}")
                    w.line(f"{local} = {self.cond(self.expr(item.condition))}")
                    (requires if isinstance(item, n.Require) else excludes).append(local)
                    lines.append((item, local))
                passes = " and ".join(requires) if requires else ""
                kept: str | None = None
                if keep is not None:
                    self.rule_comment(w, keep)
                    kept = self.cond(self.expr(keep.condition))
                    if self.may_raise(keep.condition) or (requires and kept not in _BOOLS):
                        # the interpreter evaluates every line of a gate, this one too;
                        # and the next step reads it (failing requires are not listed
                        # while it holds)
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
                w.line(f"reached = {name!r}")
                w.line(f"ri = {model.stage_index(name)}")
                reached = name
            self.next_step(w, reached, None, [])
            w.line("break")
        return sec

    def next_step(self, w: LineWriter, reached: str | None, failed: n.Stage | None,
                  lines: list[tuple[n.Stmt, str]], kept: str | None = None) -> None:
        """``nxt`` when the gate of ``failed`` fails (or every gate passed): the first
        funnel stage after ``reached`` and the lines of it the lead does not meet.
        ``kept`` is the code of the stage's ``keep when`` test (None without one): while
        it holds, failing requires do not block the gate, so they are not listed."""
        funnel = self.model.funnel
        index = self.model.stage_index(reached) + 1
        if index >= len(funnel):
            w.line("nxt = None")
            return
        name = funnel[index]
        if failed is None or failed.name.name != name:
            # The next funnel stage has no declaration (the checker refuses that, E103):
            # like the interpreter, name it with nothing to meet.
            if name in self.model.stages:
                raise CompileError(f"stage `{name}` is listed twice in the funnel")
            w.line(f"nxt = {self.const(NextStep(name, ()), 'NEXT')}")
            return
        if not lines:
            w.line(f"nxt = {self.const(NextStep(name, ()), 'NEXT')}")
            return
        w.line("unmet = ()")
        for item, local in lines:
            text = format_unmet(item)  # type: ignore[arg-type]
            if isinstance(item, n.Require):
                if kept == "True":
                    continue
                test = f"not {local}"
                if kept is not None and kept != "False":
                    test += f" and not {kept}"
            else:
                test = local
            with w.block(f"if {test}:"):
                w.line(f"unmet += ({self.const(text)},)")
        w.line("nxt = " + _construct(NextStep, stage=repr(name), unmet="unmet"))

    def handoff_section(self) -> _Section:
        model = self.model
        sec = _Section()
        w = sec.writer
        w.comment("handoffs, in funnel order: each applies once its stage is reached")
        w.line("hs = ()")
        w.line("vs = ()")
        if any(_first(h.items, n.Reject) for h in model.handoffs):
            w.line("rej_state = None")
            w.line("rej_reason = None")
        with self.collecting(sec.deps):
            for h in model.handoffs:
                at = model.stage_index(h.stage.name)
                if at < 0:
                    continue  # an unknown stage is never reached (the checker refuses it)
                self.rule_comment(w, h)
                with w.block(f"if ri >= {at}:"):
                    self.handoff(w, h)
        return sec

    def handoff(self, w: LineWriter, h: n.Handoff) -> None:
        stage = h.stage.name
        routes = [item for item in h.items if isinstance(item, n.Route)]
        sla = _first(h.items, n.Sla)
        escalate = _first(h.items, n.Escalate)
        reject = _first(h.items, n.Reject)
        # the calendar business time counts on follows the chosen route (spec section 2);
        # `cal` holds its label only when the routes do not all count on the same one
        fallback = self.model.calendar_label(h, None)
        labels = list(dict.fromkeys([*(self.model.calendar_label(h, r) for r in routes),
                                     fallback]))
        varies = len(labels) > 1

        def chose(target: str | None, label: str | None) -> None:
            w.line(f"route = {self.const(target)}")
            if varies:
                w.line(f"cal = {label!r}")

        # route: the first that holds
        keyword_ = "if"
        for route in routes:
            self.rule_comment(w, route)
            if route.condition is None:
                test = "True"
            else:
                test = self.cond(self.expr(route.condition))
            label = self.model.calendar_label(h, route)
            if test == "True":
                if keyword_ == "if":
                    chose(route.target, label)
                else:
                    with w.block("else:"):
                        chose(route.target, label)
                keyword_ = "done"
                break
            if test == "False":
                continue
            with w.block(f"{keyword_} {test}:"):
                chose(route.target, label)
            keyword_ = "elif"
        if keyword_ == "if":
            chose(None, fallback)
        elif keyword_ == "elif":
            with w.block("else:"):
                chose(None, fallback)
        calendar = tuple(labels) if varies else (labels[0],)
        # sla and escalation
        if sla is None:
            w.line("sla = None")
            w.line("esc = None")
            if escalate is not None:
                self.rule_comment(w, escalate)
                w.comment("no `sla` line: the escalation has no start to count from")
        else:
            self.rule_comment(w, sla)
            w.line(f"start = {self.instant(self.expr(sla.start))}")
            for i, ref in enumerate(sla.stops):
                value = self.instant(self.expr(ref))
                if i == 0:
                    w.line(f"stop = {value}")
                    continue
                name = value
                if not _is_plain_name(value):
                    name = self.new_name("stop")
                    w.line(f"{name} = {value}")
                with w.block(f"if {name} is not None and (stop is None or {name} < stop):"):
                    w.line(f"stop = {name}")
            w.line("esc = None")
            missing = Violation("missing_sla_start", missing_sla_start_message(stage, sla.start))
            with w.block("if start is None:"):
                w.line("sla = " + _construct(SlaResult, status="'unknown'", start="None",
                                             due="None", stop="stop"))
                w.line(f"vs += ({self.const(missing, 'MISSING_START')},)")
            with w.block("else:"):
                self.duration_lines(w, "due", sla.duration, "start", calendar)
                with w.block("if stop is not None:"):
                    w.line("status = 'met' if due is None or stop <= due else 'breached'")
                with w.block("else:"):
                    w.line("status = 'breached' if due is not None and as_of > due else 'pending'")
                    if escalate is not None:
                        self.rule_comment(w, escalate)
                        self.duration_lines(w, "when", escalate.after, "start", calendar)
                        with w.block("if when is not None and as_of > when:"):
                            w.line(f"esc = {self.const(escalate.target)}")
                w.line("sla = " + _construct(SlaResult, status="status", start="start",
                                             due="due", stop="stop"))
        # rejection
        if reject is None:
            rejected, reason = "False", "None"
        else:
            self.rule_comment(w, reject)
            kind, _ = self.model.resolve(reject.field)
            value = self.raw(reject.field.path) if kind == "field" else self.expr(reject.field)
            w.line(f"rej = {self.materialize(value)}")
            with w.block("if rej is not None:"):
                reasons = self.expr(reject.reasons)
                agreed = self.cond(self.membership(True, _Val("rej", ANY, simple=True), reasons))
                if agreed != "True":
                    if reasons.kind != CONST:
                        # a define computed per run: give it a name so it is computed once
                        w.line(f"agreed = {self.materialize(reasons)}")
                        agreed = "member(rej, agreed)"
                        reasons = _Val("agreed", ANY, simple=True)
                    with w.block(f"if not {agreed}:"):
                        violation = _construct(
                            Violation, code="'invalid_rejection_reason'",
                            message=f"invalid_reason_message(rej, {reasons.code})")
                        w.line(f"vs += ({violation},)")
                w.line(f"rej_state = {self.const(reject.state.name)}")
                w.line("rej_reason = rej")
            rejected, reason = "rej is not None", "rej"
        result = _construct(HandoffResult, stage=repr(stage), team=self.const(h.team.name),
                            route="route", sla="sla", escalate_to="esc", rejected=rejected,
                            rejection_reason=reason)
        w.line(f"hs += ({result},)")

    def instant(self, v: _Val) -> str:
        """The interpreter's ``_instant``: an int, else None."""
        if v.kind == CONST:
            return self.const(v.const if type(v.const) is int else None)
        if v.kind == TS:
            return self.materialize(v)
        if v.simple:
            return f"({v.code} if type({v.code}) is int else None)"
        name = self.new_name("value")
        return f"({name} if type({name} := {self.materialize(v)}) is int else None)"

    def placement_section(self) -> _Section:
        model = self.model
        sec = _Section()
        w = sec.writer
        w.comment("placement: a rejection, else the first recycle rule that applies, "
                  "else the reached stage")
        has_reject = any(_first(h.items, n.Reject) for h in model.handoffs)
        branches = 0
        with self.collecting(sec.deps):
            if has_reject:
                with w.block("if rej_state is not None:"):
                    w.line("placed = rej_state")
                    w.line("why = rej_reason")
                branches += 1
            for rule in model.recycles:
                indices = sorted({model.stage_index(s.name) for s in rule.stages} - {-1})
                if not indices:
                    continue
                at = (f"ri == {indices[0]}" if len(indices) == 1
                      else f"ri in {tuple(indices)!r}")
                self.rule_comment(w, rule)
                test = self.cond(self.expr(rule.condition))
                if test == "False":
                    continue
                with w.block(f"{'elif' if branches else 'if'} {at} and {test}:"):
                    w.line(f"placed = {self.const(rule.state.name)}")
                    w.line(f"why = {self.const(rule.reason)}")
                branches += 1
        if branches:
            with w.block("else:"):
                w.line("placed = reached")
                w.line("why = None")
        else:
            w.line("placed = reached")
            w.line("why = None")
        id_field = model.id_field
        if id_field is None:
            lead_id = "None"
        elif len(id_field) == 1:
            lead_id = f"lead.get({id_field[0]!r})"
        else:
            lead_id = f"get(lead, {self.const(tuple(id_field), 'PATH')})"
        scores = ", ".join(f"{name!r}: {self._score_locals[name]}" for name in model.scores)
        decision = _construct_lines(
            Decision, lead=lead_id, policy="INFO", as_of="as_of", stage="placed",
            reached="reached", reason="why", scores=f"MappingProxy({{{scores}}})", next="nxt",
            handoffs="hs", violations="vs")
        w.line("return " + decision[0])
        for text in decision[1:]:
            w.line(text)
        return sec


# --------------------------------------------------------------------------- helpers


def _construct(cls: type, **args: str) -> str:
    """Code that builds an attrs instance with positional arguments, in the order
    ``attrs.fields`` gives at compile time (a third faster than keywords for the
    11-field Decision); a field left out must have a default and come after every
    field given."""
    return f"{cls.__name__}({', '.join(_positional(cls, args))})"


def _positional(cls: type, args: dict[str, str]) -> list[str]:
    # by alias: the name __init__ takes (Decision's `as_of` is stored as `as_of_us`)
    names = [f.alias for f in attrs.fields(cls) if f.init]
    unknown = set(args) - set(names)
    if unknown:
        raise CompileError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    given = [name for name in names if name in args]
    if names[: len(given)] != given:
        raise CompileError(f"{cls.__name__}: every field before the last one given is needed")
    return [args[name] for name in given]


def _construct_lines(cls: type, **args: str) -> list[str]:
    """:func:`_construct` over several lines, each argument named in a comment."""
    values = _positional(cls, args)
    names = [f.alias for f in attrs.fields(cls) if f.init][: len(values)]
    body = [f"    {v},  # {name}" for v, name in zip(values, names, strict=True)]
    return [f"{cls.__name__}(", *body, ")"]


_BOOLS = ("True", "False")


def _const_key(value: object) -> object:
    """A key that tells constants apart by type too (``1``, ``1.0`` and ``True`` differ)."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_const_key(v) for v in value))
    if isinstance(value, frozenset):
        return ("frozenset", frozenset(_const_key(v) for v in value))
    if isinstance(value, (NextStep, Violation)):
        return (type(value).__name__, repr(value))
    if type(value) is float and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


def _is_plain_name(code: str) -> bool:
    return code.isidentifier() and not keyword.iskeyword(code)


def _shorten(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _first(items, cls):
    for item in items:
        if isinstance(item, cls):
            return item
    return None


def _literal_instants_in(model: PolicyModel) -> dict[int, int | None]:
    """String literals compared with a timestamp, read as instants once (by node id);
    the interpreter makes the same table (spec section 3: timestamps in time order)."""
    found: dict[int, int | None] = {}
    for located in model.all_decls():
        decl = located.decl
        if isinstance(decl, n.Example):
            continue
        for stmt in (decl, *getattr(decl, "items", ())):
            for e in stmt_exprs(stmt):
                for sub in walk_expr(e):
                    if not (isinstance(sub, n.Binary) and sub.op in n.COMPARISONS):
                        continue
                    for lit, other in ((sub.left, sub.right), (sub.right, sub.left)):
                        if isinstance(lit, n.String) and model.is_timestamp(other):
                            found[id(lit)] = parse_timestamp(lit.value, kind="any")
    return found
