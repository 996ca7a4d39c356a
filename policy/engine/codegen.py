"""Code generation for the compiled engine: the line writer and the expression compiler.

:class:`ExprCompiler` turns :mod:`policy.engine.ir` expressions into Python source that
computes the same value as :mod:`policy.engine.runtime`'s table: where the kinds of
the operands are known at compile time it inlines the operator (a score compared with
a number is ``s_fit >= 40``; a field tested against a list of strings is
``type(f) is str and f in S1``), and everywhere else it calls the runtime function.
Each inlined form is checked against the table on generated values, missing ones
included (``tests/test_inlined_forms.py``). :mod:`policy.engine.compiler` builds the
function ``run`` from the rules with it.

Safety (STYLE.md, rule 11): policy text reaches the source only as ``repr`` of checked
Python values or in comments cleaned of anything that could end a line; local names are
generated here, and any other value lives in the function's namespace under a
generated name (:meth:`ExprCompiler.const`).
"""

from __future__ import annotations

import inspect
import keyword
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from policy.engine import ir
from policy.engine import runtime as rt
from policy.engine.decision import HandoffResult, NextStep, Violation
from policy.engine.linewriter import LineWriter

__all__ = ["CompileError", "ExprCompiler", "LineWriter"]


class CompileError(Exception):
    """A policy the compiler cannot turn into code: a cycle among defines and scores (E108)."""


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


def _typed_kind(types: frozenset[type] | None) -> str:
    """The kind of a field that can only hold ``types`` (None: unknown)."""
    if not types:
        return ANY
    present = types - {type(None)}
    if present == {bool}:
        return ANY if len(present) != len(types) else BOOL
    if present and present <= {int, float}:
        return NUM if present == types else NUMN
    if present == {str}:
        return STRN
    return ANY


_is_num = rt.is_number  # an int or a float, never a bool
_nothing = nullcontext  # ``with (w.block(…) if x else _nothing())``


def _small(v: object) -> bool:  # compared exactly, any number is as a double (section 10)
    return _is_num(v) and -rt.EXACT < v < rt.EXACT  # type: ignore[operator]


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
#: The runtime function of each operator, by name: from runtime's one operator table.
_RUNTIME_FN = {op: fn.__name__ for op, fn in rt.OPERATORS.items()}
assert all(name in rt.EXPORTS for name in _RUNTIME_FN.values())
#: Operators whose Python spelling is the language's (on operands of the right kinds).
_PY_OP = {op: op for op in ("==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/")}
_ORDERING = frozenset({"<", "<=", ">", ">="})
_PY_COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})
#: Functions of one value that never raise: a call of one on a field is computed once
#: per run (:meth:`ExprCompiler.pure_call`).
_PURE_CALLS = frozenset({"lower", "domain", "length"})
#: The built-in functions and the kind of what they return.
_FUNCTIONS = {"lower": STRN, "domain": STRN, "length": NUMN, "days_since": NUMN,
              "hours_since": NUMN}
_US_PER = {"days_since": rt.US_PER_DAY, "hours_since": rt.US_PER_HOUR}


_SAFE_NAME = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)


class _Item:
    """A local computed once per run: a field read, a define; ``deps`` come first."""

    __slots__ = ("lines", "deps")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.deps: list[tuple] = []


# --------------------------------------------------------------------------- expressions


class ExprCompiler:
    """Compiles expressions of one program into code over the locals of ``run``.

    ``ns`` is the namespace the code runs in (the runtime's exports and the constants
    made here); ``used`` the names taken. A field read or a define is an *item*: a line
    that sets a local, emitted once per run before the first code that needs it (the
    caller collects what each piece of code needs with :meth:`collecting`).
    """

    def __init__(self, program: ir.Program, ns: dict[str, object], fixed: tuple[str, ...],
                 types: dict[tuple[str, ...], frozenset[type]] | None = None):
        self.program = program
        self.ns = ns
        self.used: set[str] = set(ns) | set(fixed)
        #: the types a field may hold when the code runs (``decide``'s, after the schema
        #: checks): its value is then tested as what it is, not as any value
        self.types = types or {}
        #: the locals known to hold an ``int`` (a score's rounding may then be skipped)
        self.ints: set[str] = set()
        self._consts: dict[object, str] = {}
        self._items: dict[tuple, _Item] = {}
        self._locals: dict[tuple, str] = {}
        self._defines: dict[str, tuple[_Val, list[tuple]]] = {}
        self._defining: set[str] = set()
        self._deps: list[tuple] = []
        self._score_locals = {s.name: self.new_name("s", s.name) for s in program.scores}

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
    def field(self, e: ir.Field) -> _Val:
        """A lead field: timestamps from ``ts``, other values from the lead."""
        if e.ts is None:
            return self.raw(e.path)
        key = ("ts", e.path)
        if key not in self._items:
            local = self._locals[key] = self.new_name("t", "_".join(e.path))
            item = self._items[key] = _Item()
            item.lines.append(f"{local} = ts[{e.ts}]")
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
            if self.types.get(path) == {int}:
                self.ints.add(local)
        self.need(key)
        return _Val(self._locals[key], _typed_kind(self.types.get(path)), simple=True)

    def score(self, name: str) -> _Val:
        self.need(("score", name))
        return _Val(self._score_locals[name], NUM, simple=True)

    def define(self, name: str) -> _Val:
        """A define: a constant when its value is one, else a local computed once per run."""
        if name not in self._defines:
            if name in self._defining:
                raise CompileError(f"the define `{name}` depends on itself")
            self._defining.add(name)
            deps: list[tuple] = []
            d = self.program.defines[name]
            try:
                with self.collecting(deps):
                    val = self.expr(d.value)
            finally:
                self._defining.discard(name)
            if val.kind == CONST or val.simple or d.may_raise:
                # constants and names are used as they are; so is arithmetic, which the
                # interpreter evaluates only where it is reached (an overflow raises there)
                self._defines[name] = (val, deps)
            else:
                key = ("define", name)
                local = self.new_name("d", name)
                item = self._items[key] = _Item()
                item.deps, item.lines = deps, [f"{local} = {self.materialize(val)}"]
                guard = val.guard and local  # None where val's guard is: it guards itself
                self._defines[name] = (_Val(local, val.kind, simple=True, guard=guard), [key])
        val, deps = self._defines[name]
        for key in deps:
            self.need(key)
        return val

    def may_raise(self, e: ir.Expr) -> bool:
        """Whether evaluating ``e`` may raise: arithmetic may overflow (``10**400 * 2.5``),
        directly or in a define it names. Such code is never evaluated ahead of need."""
        for sub in ir.walk(e):
            if type(sub) is ir.Arith:
                return True
            if type(sub) is ir.DefineRef and self.program.defines[sub.name].may_raise:
                return True
        return False

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> _Val:
        """Compile an expression to a value (see :class:`_Val`)."""
        t = type(e)
        if t is ir.Const:
            return self.constant(e.runtime)
        if t is ir.Field:
            return self.field(e)
        if t is ir.ScoreRef:
            return self.score(e.name)
        if t is ir.DefineRef:
            return self.define(e.name)
        if t is ir.ListOf:
            items = [self.expr(x) for x in e.items]
            if all(v.kind == CONST for v in items):
                return self.constant(rt.list_of(*[v.const for v in items]))
            return _Val(f"list_of({', '.join(self.materialize(v) for v in items)})", ANY)
        if t is ir.Not:
            inner = self.expr(e.operand)
            if inner.kind == CONST:
                return self.constant(not rt.truthy(inner.const))
            return _Val(f"(not {self.cond(inner)})", BOOL)
        if t is ir.Present:
            inner = self.expr(e.operand)
            if inner.kind == CONST:
                return self.constant((inner.const is not None) is e.present)
            if inner.guard is not None:
                inner = _Val(inner.guard, inner.kind, simple=True)
            test = "is not" if e.present else "is"
            return _Val(f"({self.materialize(inner)} {test} None)", BOOL)
        if t is ir.Neg:
            return self.neg(self.expr(e.operand))
        if t is ir.Call:
            return self.call(e)
        if t is ir.And or t is ir.Or:
            return self.logic("and" if t is ir.And else "or", e)
        if t is ir.Test or t is ir.Arith:
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

    def call(self, e: ir.Call) -> _Val:
        if len(e.args) == 1 and e.func in _PURE_CALLS:
            pure = self.pure_call(e)
            if pure is not None:
                return pure
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
            return self.constant(rt.FUNCTIONS[e.func](arg.const))
        return self.call_runtime(e.func, arg, kind=_FUNCTIONS[e.func])

    def pure_call(self, e: ir.Call) -> _Val | None:
        """``domain(email)`` of a field, read once per run: a policy that tests the domain
        in three rules computed it three times. Only functions that never raise and
        depend on nothing but their argument (:data:`_PURE_CALLS`), of a field."""
        (arg_expr,) = e.args
        if type(arg_expr) is not ir.Field or arg_expr.ts is not None:
            return None
        key = ("call", e.func, arg_expr.path)
        if key not in self._items:
            item = _Item()
            with self.collecting(item.deps):
                arg = self.raw(arg_expr.path)
            local = self._locals[key] = self.new_name("x", f"{e.func}_{'_'.join(arg_expr.path)}")
            item.lines.append(f"{local} = {e.func}({arg.code})")
            self._items[key] = item
        self.need(key)
        return _Val(self._locals[key], _FUNCTIONS[e.func], simple=True)

    def logic(self, op: str, e: ir.And | ir.Or) -> _Val:
        a, b = self.expr(e.left), self.expr(e.right)
        if a.kind == CONST and b.kind == CONST:
            x, y = rt.truthy(a.const), rt.truthy(b.const)
            return self.constant((x and y) if op == "and" else (x or y))
        return _Val(f"({self.cond(a)} {op} {self.cond(b)})", BOOL)

    def binary(self, e: ir.Test | ir.Arith) -> _Val:
        a, b = self.expr(e.left), self.expr(e.right)
        if getattr(e, "exact", False) and not any(v.kind == CONST and _small(v.const)
                                                  for v in (a, b)):  # two instants: exact
            return _Val(f"ts_test({e.op!r}, {self.materialize(a)}, {self.materialize(b)})", BOOL)
        return self.operation(e.op, a, b)

    def operation(self, op: str, a: _Val, b: _Val) -> _Val:
        """``a OP b`` for an operator of the runtime's table, inlined where the kinds allow."""
        fn = _RUNTIME_FN[op]
        if a.kind == CONST and b.kind == CONST:
            try:
                return self.constant(getattr(rt, fn)(a.const, b.const))
            except (ArithmeticError, ValueError):
                pass  # e.g. an overflow: leave it to run time, where the interpreter meets it
        if op in rt.ARITHMETIC:
            return self.arithmetic(op, a, b)
        if op in _PY_COMPARE:
            return self.compare(op, a, b)
        if op == "in" or op == "not in":
            return self.membership(op == "in", a, b)
        if op == "contains" and b.kind == CONST:
            needles = [b.const] if type(b.const) is str else b.const
            if type(needles) is list and needles and all(type(x) is str for x in needles):
                folded = tuple(dict.fromkeys(x.lower() for x in needles))
                return _Val(f"contains_text({self.materialize(a)}, {self.const(folded, 'T')}, "
                            f"{self.const(frozenset(folded), 'S')})", BOOL)
        return self.call_runtime(fn, a, b, kind=BOOL)

    def arithmetic(self, op: str, a: _Val, b: _Val) -> _Val:
        def plain(v: _Val) -> bool:
            return v.kind == NUM or (v.kind == CONST and _is_num(v.const))

        # at most one guarded operand: the result is missing exactly when it is
        guard = a.guard or b.guard
        if (plain(a) and plain(b) and not (a.kind == CONST and b.kind == CONST)
                and not (a.guard and b.guard)):
            # in doubles: Python makes an int one against a float, but not against an int
            if op != "/":
                code = (f"({a.code} {_PY_OP[op]} {b.code})" if float in (
                    type(a.const), type(b.const)) else f"{_RUNTIME_FN[op]}({a.code}, {b.code})")
                return _Val(code, NUM, guard=guard)
            if b.kind == CONST and b.const != 0 and _small(b.const):
                return _Val(f"({a.code} / {self.const(float(b.const))})", NUM, guard=guard)
        return self.call_runtime(_RUNTIME_FN[op], a, b, kind=NUMN)

    def compare(self, op: str, a: _Val, b: _Val) -> _Val:
        if a.kind == CONST and b.kind != CONST:
            a, b, op = b, a, _FLIP[op]
        code = self._inline_compare(op, a, b) if b.kind == CONST else None
        if code is None and a.kind == NUM and b.kind == NUM:
            present = "".join(f"{g} is not None and " for g in (a.guard, b.guard) if g)
            code = f"({present}dbl({a.code}) {_PY_OP[op]} dbl({b.code}))"
        if code is not None:
            return _Val(code, BOOL) if type(code) is str else self.constant(code)
        return self.call_runtime(_RUNTIME_FN[op], a, b, kind=BOOL)

    def _inline_compare(self, op: str, a: _Val, b: _Val) -> str | bool | None:
        """``a OP c`` for a constant ``c``, with exactly :func:`runtime.eq` & co.'s meaning;
        None when no inline form is known (the caller then calls the runtime)."""
        c = b.const
        x = a.code
        py = _PY_OP[op]
        lit = b.code
        if c is None:
            return False  # a comparison with a missing value is false, `!=` included
        if _is_num(c) and not _small(c):
            return None  # as doubles: runtime.dbl
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
                return x if (op == "==") == c else f"(not {x})"
            if kind == ANY and a.simple:
                if op == "==":
                    return f"({x} is {lit})"
                return f"({x} is not None and {x} is not {lit})"
            return None
        if _is_num(c):
            if kind == NUM:
                return f"({x} {py} {lit})"
            if kind in (NUMN, TS):
                if op == "==":
                    return f"({x} == {lit})"
                if a.simple:
                    return f"({x} is not None and {x} {py} {lit})"
                return None
            if kind == ANY and a.simple:
                if op == "!=":
                    return f"({x} is not None and ({x} != {lit} or type({x}) not in NUMBER_TYPES))"
                if op == "==":
                    return f"({x} == {lit} and type({x}) in NUMBER_TYPES)"
                return f"(type({x}) in NUMBER_TYPES and {x} {py} {lit})"
            return None
        if type(c) is str:
            if kind == STRN:
                if op == "==":
                    return f"({x} == {lit})"
                if a.simple:
                    return f"({x} is not None and {x} {py} {lit})"
                return None
            if kind == ANY and a.simple:
                if op == "!=":
                    return f"({x} is not None and ({x} != {lit} or type({x}) is not str))"
                if op == "==":
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
        numbers = all(_small(v) for v in items)
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


# --------------------------------------------------------------------------- helpers


def _construct(cls: type, **args: str) -> str:
    """Code that builds a decision record (:mod:`policy.engine.decision`) in one step:
    ``NEW(Cls, (v1, v2, …))``, ``tuple.__new__`` with every field in storage order,
    without the Python-level constructor (a fifth of an attrs ``__init__``). ``args``
    are by constructor name (Decision's ``as_of``, stored as ``as_of_us``); a field
    left out takes its constructor default."""
    values = _positional(cls, args)
    return f"NEW({cls.__name__}, ({', '.join(values)}{',' if len(values) == 1 else ''}))"


def _positional(cls: type, args: dict[str, str]) -> list[str]:
    """Every field's code, in storage order: the constructor's parameters are the fields
    in that order, under their public names."""
    params = list(inspect.signature(cls.__new__).parameters.values())[1:]
    names = [p.name for p in params]
    unknown = set(args) - set(names)
    if unknown:
        raise CompileError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    out = []
    for param in params:
        if param.name in args:
            out.append(args[param.name])
        elif param.default is not inspect.Parameter.empty:
            out.append(repr(param.default))
        else:
            raise CompileError(f"{cls.__name__}: the field {param.name!r} is needed")
    return out


def _construct_lines(cls: type, **args: str) -> list[str]:
    """:func:`_construct` over several lines, each field named in a comment."""
    values = _positional(cls, args)
    names = list(inspect.signature(cls.__new__).parameters)[1:]
    body = [f"    {v},  # {name}" for v, name in zip(values, names, strict=True)]
    return [f"NEW({cls.__name__}, (", *body, "))"]


def _const_key(value: object) -> object:
    """A key that tells constants apart by type too (``1``, ``1.0`` and ``True`` differ)."""
    if isinstance(value, (NextStep, Violation, HandoffResult)):  # first: records are tuples
        return (type(value).__name__, repr(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_const_key(v) for v in value))
    if isinstance(value, frozenset):
        return ("frozenset", frozenset(_const_key(v) for v in value))
    if type(value) is float and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


def _is_plain_name(code: str) -> bool:
    return code.isidentifier() and not keyword.iskeyword(code)


def _shorten(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."

