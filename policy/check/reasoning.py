"""Condition reasoning: which conditions can hold, and which imply which.

The checker's warning passes ask three questions of the policy's conditions: can a
``route`` ever be chosen (W202), can a comparison with a score ever hold (W203), can a
stage's gate ever pass (W204). This module answers them with a small abstract domain.
It runs after :func:`policy.model.build_model`; the checker's error passes need not have
passed (unknown names and cycles among defines only make it less precise, never wrong).

The domain itself (terms' value sets, universes) is :mod:`policy.check.valuesets`; the
bounds of each score are :mod:`policy.check.bounds`.

**Normal form.** A condition becomes a disjunction of conjunctions; a conjunction maps
each term to the intersection of its atoms' sets, and is empty when one of them is.
Defines are expanded where they are used. What the domain cannot model (text ordering,
``contains``, two terms compared with each other) becomes an *opaque* atom: a boolean
proposition of its own, keyed by its expression (AST equality ignores layout), so ``c``
and ``not c`` still contradict, but nothing else is assumed about it.

**Never warn when unsure.** Every approximation leans the same way: a condition is
reported unsatisfiable only when no lead can make it hold. A normal form that grows past
:data:`MAX_CONJUNCTIONS`, or a define chain deeper than :data:`MAX_DEPTH`, gives up and
answers "satisfiable" and "does not imply".
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

from policy.check.bounds import ScoreRange, score_ranges
from policy.check.valuesets import (
    ALL,
    ALL_NUMBERS,
    ANYTHING,
    BOOLS,
    CONDITION,
    EMPTY,
    INF,
    MISSING,
    NUMBERS_OR_MISSING,
    PRESENT,
    STRINGS_OR_MISSING,
    TRUE_ONLY,
    Universe,
    ValueSet,
    iv_normal,
    value_set,
)
from policy.engine import runtime as rt
from policy.engine.timestamps import parse_timestamp
from policy.model.namespace import PolicyModel
from policy.syntax import nodes as n

__all__ = [
    "ALL",
    "MAX_CONJUNCTIONS",
    "MAX_DEPTH",
    "Reasoner",
    "ScoreRange",
    "ValueSet",
    "implies",
    "satisfiable",
    "score_ranges",
]

#: A normal form larger than this is not computed: the question is answered "unsure".
MAX_CONJUNCTIONS = 256
#: How deep defines are expanded inside one another before the rest is opaque.
MAX_DEPTH = 48


# --------------------------------------------------------------------------- normal form


class _Unsure(Exception):
    """The normal form grew too large: answer conservatively."""


Conj = dict  # term key -> ValueSet
Dnf = list  # list[Conj]; [] is false, [{}] is true

_TRUE: Dnf = [{}]
_NOCONST = object()

_FLIP = {
    n.BinOp.LT: n.BinOp.GT,
    n.BinOp.LE: n.BinOp.GE,
    n.BinOp.GT: n.BinOp.LT,
    n.BinOp.GE: n.BinOp.LE,
    n.BinOp.EQ: n.BinOp.EQ,
    n.BinOp.NE: n.BinOp.NE,
}
_LOGIC = (n.BinOp.AND, n.BinOp.OR)
_CONST_FUNCS = {"lower": rt.lower, "length": rt.length, "domain": rt.domain}
_TEST_FUNCS = {op: rt.TESTS[op.value] for op in n.BinOp if op.value in rt.TESTS}
_ARITH_FUNCS = {op: rt.ARITHMETIC[op.value] for op in n.BinOp if op.value in rt.ARITHMETIC}


def _and_dnf(a: Dnf, b: Dnf) -> Dnf:
    out: Dnf = []
    seen: set = set()
    for x in a:
        for y in b:
            merged = dict(x)
            ok = True
            for key, vs in y.items():
                if key in merged:
                    both = merged[key] & vs
                    if both.is_empty():
                        ok = False
                        break
                    merged[key] = both
                else:
                    merged[key] = vs
            if not ok:
                continue
            mark = frozenset(merged.items())
            if mark in seen:
                continue
            seen.add(mark)
            out.append(merged)
            if len(out) > MAX_CONJUNCTIONS:
                raise _Unsure
    return out


def _or_dnf(parts: Iterable[Dnf]) -> Dnf:
    out: Dnf = []
    seen: set = set()
    for part in parts:
        for conj in part:
            if not conj:
                return [{}]  # true absorbs everything
            mark = frozenset(conj.items())
            if mark not in seen:
                seen.add(mark)
                out.append(conj)
    if len(out) > MAX_CONJUNCTIONS:
        raise _Unsure
    return out


class Reasoner:
    """Satisfiability and implication of conditions of one policy.

    ``use_score_ranges=False`` lets scores take any whole number: the checker uses it to
    tell a gate that fails because of a score's bounds (already W203) from one whose
    lines contradict each other.
    """

    def __init__(self, model: PolicyModel, *, use_score_ranges: bool = True,
                 unknown: frozenset[str] = frozenset()) -> None:
        self.model = model
        #: defines whose value nobody knows (a ``lines`` file that could not be read, E110):
        #: opaque, not the empty list the loader leaves, so no gate "never holds" because of it
        self.unknown = unknown
        self.ranges: Mapping[str, ScoreRange] = score_ranges(model) if use_score_ranges else {}
        self._universes: dict[Hashable, Universe] = {}
        self._consts: dict[str, object] = {}
        self._const_busy: set[str] = set()  # defines whose constant value is being computed
        self._expanding: set[str] = set()  # defines being expanded as conditions
        # expressions used as keys are interned: an AST hashes in time of its size
        self._interned: dict[n.Expr, int] = {}
        self._exprs: list[n.Expr] = []

    # ------------------------------------------------------------------ questions
    def satisfiable(self, cond: n.Expr) -> bool:
        """False only when no lead can make ``cond`` hold."""
        try:
            return bool(self._cond(cond, True, 0))
        except (_Unsure, RecursionError):
            return True

    def implies(self, a: n.Expr, b: n.Expr) -> bool:
        """True only when every lead for which ``a`` holds makes ``b`` hold too."""
        return self.implies_any(a, (b,))

    def implies_any(self, a: n.Expr, bs: Sequence[n.Expr]) -> bool:
        """True only when every lead for which ``a`` holds makes one of ``bs`` hold."""
        try:
            dnf = self._cond(a, True, 0)
            for b in bs:
                if not dnf:
                    return True
                dnf = _and_dnf(dnf, self._cond(b, False, 0))
            return not dnf
        except (_Unsure, RecursionError):
            return False

    def valid(self, cond: n.Expr) -> bool:
        """True only when ``cond`` holds for every lead."""
        try:
            return not self._cond(cond, False, 0)
        except (_Unsure, RecursionError):
            return False

    def score_atom(self, expr: n.Expr) -> tuple[str, ValueSet] | None:
        """For a comparison or membership test between a score and a constant: the
        score's name and the exact set of values for which the test holds; else None."""
        if not isinstance(expr, n.Binary) or (
            expr.op not in _FLIP and expr.op not in (n.BinOp.IN, n.BinOp.NOT_IN)
        ):
            return None
        try:
            atom = self._atom_parts(expr, 0)
        except RecursionError:
            return None
        if atom is None:
            return None
        key, vs = atom
        if isinstance(key, tuple) and key[0] == "score":
            return key[1], vs
        return None

    def never_within(self, name: str, vs: ValueSet) -> bool:
        """Whether no value of score ``name`` lies in ``vs``."""
        return self._universe(("score", name)).restrict(vs).is_empty()

    # ------------------------------------------------------------------ constants
    def const(self, e: n.Expr, depth: int = 0) -> object:
        """The value of a constant expression (through defines), or ``_NOCONST``."""
        if depth > MAX_DEPTH:
            return _NOCONST
        if isinstance(e, n.Number | n.String | n.Bool):
            return e.value
        if isinstance(e, n.Null):
            return None
        if isinstance(e, n.ListExpr):
            items = []
            for item in e.items:
                v = self.const(item, depth + 1)
                if v is _NOCONST:
                    return _NOCONST
                items.append(v)
            return items
        if isinstance(e, n.Ref):
            kind, target = self.model.resolve(e)
            if kind != "define":
                return _NOCONST
            name = e.path[0]
            if name in self.unknown:
                return _NOCONST
            if name in self._consts:
                return self._consts[name]
            if name in self._const_busy:
                return _NOCONST
            self._const_busy.add(name)
            try:
                v = self.const(target.value, depth + 1)  # type: ignore[union-attr]
            finally:
                self._const_busy.discard(name)
            self._consts[name] = v
            return v
        if isinstance(e, n.Neg):
            v = self.const(e.operand, depth + 1)
            return _NOCONST if v is _NOCONST else rt.neg(v)
        if isinstance(e, n.Not):
            v = self.const(e.operand, depth + 1)
            return _NOCONST if v is _NOCONST else not rt.truthy(v)
        if isinstance(e, n.Presence):
            v = self.const(e.operand, depth + 1)
            return _NOCONST if v is _NOCONST else (v is not None) == e.present
        if isinstance(e, n.Call):
            func = _CONST_FUNCS.get(e.func)
            if func is None or len(e.args) != 1:
                return _NOCONST
            v = self.const(e.args[0], depth + 1)
            return _NOCONST if v is _NOCONST else func(v)
        if isinstance(e, n.Binary):
            a = self.const(e.left, depth + 1)
            if a is _NOCONST:
                return _NOCONST
            b = self.const(e.right, depth + 1)
            if b is _NOCONST:
                return _NOCONST
            try:
                if e.op is n.BinOp.AND:
                    return rt.truthy(a) and rt.truthy(b)
                if e.op is n.BinOp.OR:
                    return rt.truthy(a) or rt.truthy(b)
                if e.op in _ARITH_FUNCS:
                    return _ARITH_FUNCS[e.op](a, b)
                return _TEST_FUNCS[e.op](a, b)
            except (OverflowError, TypeError, ValueError):
                return _NOCONST
        return _NOCONST

    # ------------------------------------------------------------------ terms
    def term(self, e: n.Expr, depth: int = 0) -> Hashable:
        """A key naming the run-time value of a non-constant expression."""
        while isinstance(e, n.Ref) and depth <= MAX_DEPTH:
            kind, target = self.model.resolve(e)
            if kind == "field":
                return ("field", e.path)
            if kind == "score":
                return ("score", e.path[0])
            if e.path[0] in self.unknown:
                return ("unknown", e.path[0])
            e = target.value  # type: ignore[union-attr]
            depth += 1
        if isinstance(e, n.Call):
            args = []
            for a in e.args:
                c = self.const(a, depth + 1)
                if c is _NOCONST:
                    args.append(self.term(a, depth + 1))
                else:
                    args.append(("const", _hashable(c)))
            return ("call", e.func, tuple(args))
        return ("expr", self._intern(e))

    def _intern(self, e: n.Expr) -> int:
        i = self._interned.get(e)
        if i is None:
            i = self._interned[e] = len(self._exprs)
            self._exprs.append(e)
        return i

    def _universe(self, key: Hashable) -> Universe:
        u = self._universes.get(key)
        if u is None:
            u = self._universes[key] = self._make_universe(key)
        return u

    def _make_universe(self, key: Hashable) -> Universe:
        kind = key[0]  # type: ignore[index]
        if kind == "opaque":
            return CONDITION
        if kind == "score":
            r = self.ranges.get(key[1])  # type: ignore[index]
            numbers = r.contains_whole() if r is not None else ALL_NUMBERS
            return Universe(ValueSet(numbers=numbers), integral=True)
        if kind == "field":
            return self._field_universe(key[1])  # type: ignore[index]
        if kind == "call":
            func = key[1]  # type: ignore[index]
            if func in ("days_since", "hours_since"):
                return Universe(NUMBERS_OR_MISSING)
            if func == "length":
                return Universe(ValueSet(missing=True, numbers=((0, True, INF, False),)), True)
            if func in ("lower", "domain"):
                return Universe(STRINGS_OR_MISSING)
            return ANYTHING
        e = self._exprs[key[1]]  # type: ignore[index]
        if isinstance(e, n.Binary):
            if e.op in _ARITH_FUNCS:
                return Universe(NUMBERS_OR_MISSING)
            return CONDITION
        if isinstance(e, n.Neg):
            return Universe(NUMBERS_OR_MISSING)
        if isinstance(e, n.Not | n.Presence):
            return CONDITION
        if isinstance(e, n.ListExpr):
            return Universe(ValueSet(other=True))
        return ANYTHING

    def _field_universe(self, path: tuple[str, ...]) -> Universe:
        model = self.model
        schema = model.schema
        info = schema.lookup(path) if schema is not None else None
        missing = not self._always_present(path)
        if path in model.timestamp_paths:
            # a timestamp that does not parse refuses the lead: decisions see instants
            return Universe(ValueSet(missing=missing, numbers=ALL_NUMBERS), integral=True)
        if info is None:
            return ANYTHING
        if info.enum is not None:
            vs = EMPTY
            for v in info.enum:
                if v is None:
                    vs = vs | MISSING
                elif isinstance(v, bool | int | float | str):
                    vs = vs | (value_set([v]) or EMPTY)
                else:
                    vs = vs | ValueSet(other=True)
            if missing:
                vs = vs | MISSING
            return Universe(vs)
        if not info.types:
            return ANYTHING
        vs = MISSING if missing or "null" in info.types else EMPTY
        integral = False
        if "string" in info.types:
            vs = vs | ValueSet(strings_co=True)
        if "number" in info.types or "integer" in info.types:
            vs = vs | ValueSet(numbers=ALL_NUMBERS)
            integral = "number" not in info.types
        if "boolean" in info.types:
            vs = vs | BOOLS
        if "object" in info.types or "array" in info.types:
            vs = vs | ValueSet(other=True)
        return Universe(vs, integral)

    def _always_present(self, path: tuple[str, ...]) -> bool:
        schema = self.model.schema
        if schema is None:
            return False
        for i in range(1, len(path) + 1):
            info = schema.lookup(path[:i])
            if (
                info is None
                or not info.required
                or not info.types
                or "null" in info.types
                or (info.enum is not None and None in info.enum)
            ):
                return False
        return True

    def _is_timestamp(self, key: Hashable) -> bool:
        return key[0] == "field" and key[1] in self.model.timestamp_paths  # type: ignore[index]

    # ------------------------------------------------------------------ conditions
    def _atom(self, key: Hashable, vs: ValueSet, positive: bool) -> Dnf:
        if not positive:
            vs = ~vs
        vs = self._universe(key).restrict(vs)
        return [{key: vs}] if not vs.is_empty() else []

    def _opaque(self, e: n.Expr, positive: bool) -> Dnf:
        return self._atom(("opaque", self._intern(e)), TRUE_ONLY, positive)

    def _cond(self, e: n.Expr, positive: bool, depth: int) -> Dnf:
        """The normal form of ``e`` (or of ``not e`` when ``positive`` is False)."""
        if depth > MAX_DEPTH:
            return self._opaque(e, positive)
        if isinstance(e, n.Binary) and e.op in _LOGIC:
            # flatten a chain of one operator without recursing along it
            parts: list[n.Expr] = []
            stack = [e]
            while stack:
                x = stack.pop()
                if isinstance(x, n.Binary) and x.op is e.op:
                    stack.append(x.right)
                    stack.append(x.left)
                else:
                    parts.append(x)
            conjunctive = (e.op is n.BinOp.AND) == positive
            if conjunctive:
                out: Dnf = _TRUE
                for p in parts:
                    out = _and_dnf(out, self._cond(p, positive, depth + 1))
                    if not out:
                        return []
                return out
            return _or_dnf(self._cond(p, positive, depth + 1) for p in parts)
        if isinstance(e, n.Not):
            return self._cond(e.operand, not positive, depth + 1)
        c = self.const(e, depth)
        if c is not _NOCONST:
            return _TRUE if rt.truthy(c) == positive else []
        if isinstance(e, n.Ref):
            kind, target = self.model.resolve(e)
            if kind == "define":
                name = e.path[0]
                if name in self._expanding or name in self.unknown:
                    return self._opaque(e, positive)  # a cycle (E108), an unread list: know nothing
                self._expanding.add(name)
                try:
                    return self._cond(target.value, positive, depth + 1)  # type: ignore[union-attr]
                finally:
                    self._expanding.discard(name)
            return self._atom(self.term(e, depth), TRUE_ONLY, positive)
        if isinstance(e, n.Presence):
            which = PRESENT if e.present else MISSING
            return self._atom(self.term(e.operand, depth + 1), which, positive)
        if isinstance(e, n.Binary):
            atom = self._atom_parts(e, depth)
            if atom is None:
                if e.op in _ARITH_FUNCS:  # a number used as a condition never holds
                    return self._atom(self.term(e, depth), TRUE_ONLY, positive)
                return self._opaque(e, positive)
            key, vs = atom
            return self._atom(key, vs, positive)
        # a call, a list or anything else used as a condition: true only when it is `true`
        return self._atom(self.term(e, depth), TRUE_ONLY, positive)

    def _atom_parts(self, e: n.Binary, depth: int) -> tuple[Hashable, ValueSet] | None:
        """``(term, set)`` for a test between a term and a constant; None when opaque."""
        op = e.op
        if op not in _FLIP and op not in (n.BinOp.IN, n.BinOp.NOT_IN):
            return None
        left = self.const(e.left, depth + 1)
        right = self.const(e.right, depth + 1)
        if left is not _NOCONST and right is not _NOCONST:
            return None  # constant: handled by const()
        if op in (n.BinOp.IN, n.BinOp.NOT_IN):
            if left is not _NOCONST or right is _NOCONST:
                return None
            key = self.term(e.left, depth + 1)
            if not isinstance(right, list):
                return key, EMPTY  # membership in a non-list never holds
            items = self._as_instants(key, right)
            if items is None:
                return None
            vs = value_set(items)
            if vs is None:
                return None
            return (key, vs) if op is n.BinOp.IN else (key, PRESENT & ~vs)
        if left is not _NOCONST:
            op, const, other = _FLIP[op], left, e.right
        elif right is not _NOCONST:
            const, other = right, e.left
        else:
            return None
        key = self.term(other, depth + 1)
        converted = self._as_instants(key, [const])
        if converted is None:
            return None
        (c,) = converted
        if op is n.BinOp.EQ:
            vs = value_set([c])
            return None if vs is None else (key, vs)
        if op is n.BinOp.NE:
            if c is None:
                return key, EMPTY
            vs = value_set([c])
            return None if vs is None else (key, PRESENT & ~vs)
        # ordering: numbers only (text ordering is opaque); others are never ordered
        if isinstance(c, bool) or c is None or isinstance(c, list):
            return key, EMPTY
        if isinstance(c, str):
            return None
        if isinstance(c, float) and c != c:
            return None
        if op is n.BinOp.LT:
            iv = (-INF, False, c, False)
        elif op is n.BinOp.LE:
            iv = (-INF, False, c, True)
        elif op is n.BinOp.GT:
            iv = (c, False, INF, False)
        else:
            iv = (c, True, INF, False)
        return key, ValueSet(numbers=iv_normal([iv]))

    def _as_instants(self, key: Hashable, values: list) -> list | None:
        """Text compared with a timestamp is read as an instant (both engines do so)."""
        if not self._is_timestamp(key):
            return values
        out = []
        for v in values:
            if isinstance(v, str):
                t = parse_timestamp(v, kind="any")
                if t is None:
                    return None  # the checker reports it (E102); know nothing here
                out.append(t)
            else:
                out.append(v)
        return out


def _hashable(v: object) -> Hashable:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    return (type(v).__name__, v)


# --------------------------------------------------------------------------- shortcuts


def _empty_model() -> PolicyModel:
    from policy.model.namespace import build_model

    return build_model(())


def satisfiable(cond: n.Expr, model: PolicyModel | None = None) -> bool:
    """False only when no lead can make ``cond`` hold (see :class:`Reasoner`)."""
    return Reasoner(model if model is not None else _empty_model()).satisfiable(cond)


def implies(a: n.Expr, b: n.Expr, model: PolicyModel | None = None) -> bool:
    """True only when ``b`` holds for every lead for which ``a`` holds."""
    return Reasoner(model if model is not None else _empty_model()).implies(a, b)
