"""Expressions of the intermediate form as SQL: the missing-value rules of the runtime,
slot by slot.

The compiler reads :mod:`policy.engine.ir` expressions, as the interpreter and the
Python compiler do: names, constants and timestamp literals are settled there, once.

A lead value can be of several kinds at run time (a field a schema does not pin down
may hold a number in one lead and text in the next), so a compiled value is a
:class:`Val`: one SQL expression per kind it may have — ``n`` number (DOUBLE), ``s``
text, ``b`` boolean, ``t`` instant (BIGINT µs), ``l`` list of text, ``ln`` list
length — each NULL unless the value is of that kind, plus ``p``, whether the value is
present at all. Missing is every slot NULL. A list's other elements are the slots
``lnum`` (its numbers, as doubles) and ``lbool`` (its booleans), asked for only by a
test whose other side may be a number or a boolean (:attr:`Val.more`), so a list of
text searched for constant text costs what it did. Then each operator of
:mod:`policy.engine.runtime` is a rule over slots: ``==`` holds when some kind matches
on both sides and the values are equal; ``!=`` needs both sides present; an ordering
compares numbers with numbers and text with text; arithmetic only touches numbers;
``in`` and ``contains`` look for the value's own kind among a list's elements.
Every atomic test is wrapped as ``COALESCE(test, FALSE)``, so no SQL NULL leaks into
a boolean (and ``NOT`` never meets a NULL). What must run before: the field slots are
columns of the staging step built by :mod:`policy.sql.compiler`.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from sqlglot import exp

from policy.engine import ir
from policy.engine import runtime as rt
from policy.sql.dialects import Dialect, sigma_free
from policy.sql.errors import SqlUnsupported

__all__ = ["Compiler", "SqlUnsupported", "Val", "constant", "dbl", "false", "holds", "nan_when"]

KINDS = ("n", "s", "b", "t", "l")
#: The violation SQL adds where a lead's list holds a list or an object and the other
#: side of its ``contains`` / ``in`` may equal one (a list or an object too): the
#: python engine compares those by ``==`` (:func:`policy.engine.runtime.eq`, numbers
#: as doubles at the top, Python's ``==`` inside an object), which the SQL does not
#: spell; it marks the row (:attr:`Compiler.nested`) and the engines have the python
#: engine decide it again (:data:`policy.sql.fallback.PYTHON_DECIDES`).
NESTED = "nested_list_element"
#: a list's slots of its numbers, its booleans, and whether it holds a list or an object
LAZY = ("lnum", "lbool", "lnest")


@attrs.frozen
class Val:
    """A compiled value: SQL per kind (absent key: never of that kind)."""

    slots: dict = attrs.field(factory=dict)
    #: whether the value is present (None: any slot not NULL)
    p: exp.Expression | None = None
    #: a list literal's items, when the value is one
    items: tuple | None = None
    #: a lead field's slots asked for on first use (:data:`LAZY`): the staging step
    #: computes a column only for the slots some test reads
    more: Callable[[str], exp.Expression | None] | None = None
    #: an arithmetic result, which may be NaN: then its ``n`` is NULL and ``p`` true
    nan: bool = False

    def get(self, kind: str) -> exp.Expression | None:
        found = self.slots.get(kind)
        if found is None and kind in LAZY and self.more is not None:
            return self.more(kind)
        return found


def false() -> exp.Expression:
    return exp.false()


def dbl(v: float) -> exp.Expression:
    """A numeric literal as a DOUBLE (spec section 10: arithmetic is IEEE double)."""
    try:
        text = repr(float(v))
    except OverflowError:  # an integer literal past a double's range
        text = "inf"
    if "inf" in text or "nan" in text:
        raise SqlUnsupported(f"the number {v} has no SQL literal")
    return exp.cast(exp.Literal.number(text), "DOUBLE")


def _c(test: exp.Expression) -> exp.Expression:
    """``COALESCE(test, FALSE)``: an atomic test that is never NULL."""
    return exp.Coalesce(this=test, expressions=[exp.false()])


def _or(parts: list[exp.Expression]) -> exp.Expression:
    if not parts:
        return exp.false()
    out = parts[0]
    for p in parts[1:]:
        out = exp.Or(this=out, expression=p)
    return exp.Paren(this=out) if len(parts) > 1 else out


def _and(parts: list[exp.Expression]) -> exp.Expression:
    if not parts:
        return exp.true()
    out = parts[0]
    for p in parts[1:]:
        out = exp.And(this=out, expression=p)
    return exp.Paren(this=out) if len(parts) > 1 else out


def _not(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Paren(this=e))


def _computed(v: Val) -> bool:
    """Whether ``v`` reads a column (a field, a score, a define's step): a constant is
    never missing."""
    exprs = [*v.slots.values(), *([v.p] if v.p is not None else [])]
    return v.items is not None or any(e.find(exp.Column) is not None for e in exprs)


def present(v: Val) -> exp.Expression:
    if v.items is not None:  # a list literal is missing when an item is (runtime.list_of)
        return _and([present(i) for i in v.items if _computed(i)])
    if v.p is not None:
        return v.p
    parts = [exp.Not(this=exp.Is(this=e, expression=exp.null()))
             for k, e in v.slots.items() if k != "ln"]
    return _or(parts) if parts else exp.false()


def _number_present(v: Val) -> exp.Expression:
    """Whether ``v`` is a number (NaN included: an arithmetic result's ``p``)."""
    if v.nan:
        return v.p  # type: ignore[return-value]
    return exp.Not(this=exp.Is(this=v.get("n"), expression=exp.null()))


def nan_when(v: Val) -> tuple[exp.Expression, exp.Expression]:
    """``(v is an arithmetic NaN, NaN)``, a ``CASE`` branch: a NaN (present, its ``n``
    NULL: see ``_arith``) as the DOUBLE NaN again (a score it reaches is no number)."""
    return (exp.And(this=v.p, expression=exp.Is(this=v.get("n"), expression=exp.null())),
            exp.cast(exp.Literal.string("NaN"), "DOUBLE"))


def holds(v: Val) -> exp.Expression:
    """A condition holds only when the value is boolean true."""
    b = v.get("b")
    return exp.false() if b is None else _c(b)


def _num(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, "DOUBLE")


def _pairs(a: Val, b: Val, ordered: bool):
    """The (left, right) SQL pairs of kinds the runtime compares with each other
    (instants are numbers to the runtime)."""
    out = []
    for ka, kb in (("n", "n"), ("s", "s"), ("t", "t"), ("t", "n"), ("n", "t"), ("b", "b")):
        if ordered and ka == "b":
            continue
        x, y = a.get(ka), b.get(kb)
        if x is None or y is None:
            continue
        if ka != kb:
            x, y = _num(x), _num(y)
        out.append((x, y))
    return out


def _compound(v: Val, *, lists: bool) -> exp.Expression | None:
    """Whether ``v`` holds an object, or (``lists``) a list; None when it never does (a
    constant that is not a list, a computed value, an instant)."""
    if v.items is not None:
        return exp.true() if lists else None
    if v.p is None or "t" in v.slots:
        return None
    return _and([v.p, *(exp.Is(this=e, expression=exp.null()) for k, e in v.slots.items()
                        if k in ("n", "s", "b") or (k == "ln" and not lists))])


def _type_of(v: object) -> ir.Type:
    """The type of an item of a constant list (its items carry no type of their own)."""
    if isinstance(v, bool):
        return ir.Type.BOOLEAN
    if isinstance(v, (int, float)):
        return ir.Type.NUMBER
    if isinstance(v, str):
        return ir.Type.TEXT
    return ir.Type.LIST if isinstance(v, tuple) else ir.Type.NULL


def constant(value: object, typ: ir.Type) -> Val:
    """A value known at load time (an :class:`~policy.engine.ir.Const`): an instant is
    µs (its ``type`` says so; a text that is no timestamp was folded to None)."""
    if value is None:
        return Val()
    if isinstance(value, bool):
        return Val({"b": exp.true() if value else exp.false()})
    if typ is ir.Type.TIMESTAMP:
        return Val({"t": exp.Literal.number(value)})
    if isinstance(value, (int, float)):
        return Val({"n": dbl(value)})
    if isinstance(value, str):
        return Val({"s": exp.Literal.string(value)})
    if isinstance(value, tuple):
        return Val(items=tuple(constant(v, _type_of(v)) for v in value))
    raise SqlUnsupported(f"the constant {value!r} has no SQL form")


class Compiler:
    """Compiles the expressions of one resolved policy (:mod:`policy.engine.ir`) to
    sqlglot for one dialect.

    Names are already resolved, constants folded and texts compared with timestamps
    already instants (:mod:`policy.engine.resolve`), so this is one case per node.
    ``field(f)`` returns the :class:`Val` of a lead field (the staging step's columns);
    ``score(name)`` a score's column; ``as_of`` is the instant as a BIGINT expression.
    """

    def __init__(self, program: ir.Program, d: Dialect, *,
                 field: Callable[[ir.Field], Val],
                 score: Callable[[str], exp.Expression], as_of: exp.Expression,
                 materialize: Callable[[str, Val], Val] | None = None):
        self.program = program
        #: turns a define's value into columns computed once (None: inline it)
        self.materialize = materialize
        self._defines: dict[str, Val] = {}
        self._calls: dict[tuple, Val] = {}
        self.d = d
        self.field = field
        self.score = score
        self.as_of = as_of
        #: conditions under which a row compares a list or an object inside a lead's
        #: list with a value that may equal it (:meth:`_nested`): the engines mark those
        #: rows (:meth:`marks`) and the python engine decides them
        self.nested: list[exp.Expression] = []

    # ---------------------------------------------------------------- values
    def value(self, e: ir.Expr) -> Val:
        t = type(e)
        if t is ir.Const:
            return constant(e.value, e.type)
        if t is ir.Field:
            return self.field(e)
        if t is ir.ScoreRef:
            return Val({"n": _num(self.score(e.name))})
        if t is ir.DefineRef:
            return self._define(e.name)
        if t is ir.ListOf:
            return Val(items=tuple(self.value(i) for i in e.items))
        if t is ir.Not:
            return Val({"b": _not(self.cond(e.operand))})
        if t is ir.Present:
            p = present(self.value(e.operand))
            return Val({"b": p if e.present else _not(p)})
        if t is ir.Neg:
            v = self.value(e.operand)
            x = v.get("n")
            if x is None:
                return Val()
            # a NaN stays present (its ``p``: see _arith)
            return Val({"n": exp.Neg(this=exp.Paren(this=x))}, p=v.p if v.nan else None,
                       nan=v.nan)
        if t is ir.Call:
            return self._call(e)
        if t is ir.And:
            return Val({"b": _and([self.cond(e.left), self.cond(e.right)])})
        if t is ir.Or:
            return Val({"b": _or([self.cond(e.left), self.cond(e.right)])})
        if t is ir.Arith:
            return self._arith(e.op, self.value(e.left), self.value(e.right))
        if t is ir.Test:
            return Val({"b": self.test(e.op, self.value(e.left), self.value(e.right))})
        raise SqlUnsupported(f"{t.__name__} is not an expression the SQL path knows")

    def cond(self, e: ir.Expr) -> exp.Expression:
        """A condition: a boolean that is never NULL."""
        return holds(self.value(e))

    def _define(self, name: str) -> Val:
        """A define, compiled once (the resolver refused cycles among defines)."""
        found = self._defines.get(name)
        if found is None:
            found = self.value(self.program.defines[name].value)
            if self.materialize is not None:
                found = self.materialize(name, found)
            self._defines[name] = found
        return found

    def _call(self, e: ir.Call) -> Val:
        """A function call; one on lead fields (``domain(email)`` in several defines
        and rules) becomes columns computed once, as a define does."""
        key = (e.func, e.args)
        found = self._calls.get(key)
        if found is None:
            found = self._call_value(e)
            if self.materialize is not None and e.func in ("domain", "lower"):
                found = self.materialize(f"{e.func}()", found)
            self._calls[key] = found
        return found

    def _call_value(self, e: ir.Call) -> Val:
        if len(e.args) != 1:
            return Val()
        x = self.value(e.args[0])
        if e.func in ("days_since", "hours_since"):
            t = x.get("t")
            if t is None:
                return Val()
            per = rt.US_PER_DAY if e.func == "days_since" else rt.US_PER_HOUR
            diff = exp.cast(exp.Paren(this=exp.Sub(this=self.as_of, expression=t)), "DOUBLE")
            return Val({"n": exp.Div(this=diff, expression=dbl(per))})
        s = x.get("s")
        if e.func == "lower":
            return Val({"s": self.d.lower(s)} if s is not None else {})
        if e.func == "length":
            if x.items is not None:  # a list literal: its items, while none is missing
                return Val({"n": exp.Case(ifs=[exp.If(this=present(x), true=dbl(len(x.items)))])})
            slots = []
            if s is not None:
                slots.append(exp.Length(this=s))
            if x.get("ln") is not None:
                slots.append(x.get("ln"))
            if not slots:
                return Val()
            out = slots[0] if len(slots) == 1 else exp.Coalesce(this=slots[0],
                                                               expressions=slots[1:])
            return Val({"n": _num(out)})
        if e.func == "domain":
            if s is None:
                return Val()
            part = self.d.after_last(s, "@")
            has_at = exp.GT(this=exp.StrPosition(this=s, substr=exp.Literal.string("@")),
                            expression=exp.Literal.number(0))
            return Val({"s": exp.Case(ifs=[exp.If(this=_c(has_at), true=self.d.lower(part))])})
        return Val()  # a function the checker refuses: missing, as in the runtime

    # ---------------------------------------------------------------- operators
    def _arith(self, sym: str, a: Val, b: Val) -> Val:
        """``+ - * /`` of two numbers. A result that is NaN (``inf - inf``, ``inf * 0``)
        is present but equal to nothing and ordered with nothing, as IEEE (and Python)
        compare it; DuckDB, Spark, Postgres and Snowflake order NaN above every number
        and make it equal to itself, so there the ``n`` slot holds NULL for it
        (:meth:`Dialect.not_nan`) and ``p`` says it is present."""
        x, y = a.get("n"), b.get("n")
        if x is None or y is None:
            return Val()
        present = [_number_present(a), _number_present(b)]
        if sym == "/":
            nonzero = _c(exp.NEQ(this=y, expression=dbl(0)))
            safe = exp.Case(ifs=[exp.If(this=nonzero, true=y)])
            return Val({"n": self.d.not_nan(exp.Div(this=x, expression=safe))},
                       p=_and([*present, nonzero]), nan=True)
        cls = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}[sym]
        return Val({"n": self.d.not_nan(exp.Paren(this=cls(this=x, expression=y)))},
                   p=_and(present), nan=True)

    def test(self, sym: str, a: Val, b: Val) -> exp.Expression:
        """A comparison, membership or text test: never NULL; false when a list
        literal on either side has a missing item (runtime.list_of)."""
        out = self._test(sym, a, b)
        whole = [present(v) for v in (a, b)
                 if v.items is not None and any(_computed(i) for i in v.items)]
        return _and([*whole, out]) if whole else out

    def _test(self, sym: str, a: Val, b: Val) -> exp.Expression:
        if sym == "==":
            return self.eq(a, b)
        if sym == "!=":
            return _and([present(a), present(b), _not(self.eq(a, b))])
        if sym in ("<", "<=", ">", ">="):
            cls = {"<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[sym]
            return _or([_c(cls(this=x, expression=y)) for x, y in _pairs(a, b, True)])
        if sym == "in":
            return self.member(a, b)
        if sym == "not in":
            is_list = exp.true() if b.items is not None else (
                exp.Not(this=exp.Is(this=b.get("ln"), expression=exp.null()))
                if b.get("ln") is not None else exp.false())
            return _and([present(a), is_list, _not(self.member(a, b))])
        if sym == "contains":
            return self.contains(a, b)
        if sym in ("starts with", "ends with"):
            s = a.get("s")
            if s is None:
                return exp.false()
            needles = b.items if b.items is not None else (b,)
            parts = [_c(self.d.affix(sym, self.d.lower(s), self.d.lower(x.get("s"))))
                     for x in needles if x.get("s") is not None]
            if b.items is None and b.get("l") is not None:  # a list field's texts
                hay = self.d.lower(s)
                parts.append(self._any_text(b.get("l"), lambda e: self.d.affix(
                    sym, hay.copy(), self.d.lower(e))))
            return _or(parts)
        raise SqlUnsupported(f"the operator `{sym}` has no SQL form")

    def eq(self, a: Val, b: Val) -> exp.Expression:
        if a.items is not None or b.items is not None:
            raise SqlUnsupported("comparing lists with `==` has no SQL form; use `in`")
        if (a.get("l") is not None and b.get("l") is not None):
            # two values that may both be lists or objects: python's `==` compares them
            # element by element (numbers as doubles, objects by Python's ==), which the
            # SQL does not spell; where both are, the engines' JSON sources mark the row
            # (:meth:`marks`) and the python engine decides it
            both = [_compound(a, lists=True), _compound(b, lists=True)]
            if None in both or a.get("lnest") is None or b.get("lnest") is None:
                raise SqlUnsupported("comparing two list fields with `==` has no SQL form")
            self.nested.append(_c(_and(both)))
        return _or([_c(exp.EQ(this=x, expression=y)) for x, y in _pairs(a, b, False)])

    def member(self, a: Val, b: Val) -> exp.Expression:
        if b.items is not None:
            strings = [i.get("s") for i in b.items if set(i.slots) == {"s"}
                       and isinstance(i.get("s"), exp.Literal)]
            numbers = [i.get("n") for i in b.items if set(i.slots) == {"n"}
                       and isinstance(i.get("n"), exp.Cast)]
            rest = [i for i in b.items if not ((set(i.slots) == {"s"}
                    and isinstance(i.get("s"), exp.Literal)) or (set(i.slots) == {"n"}
                    and isinstance(i.get("n"), exp.Cast)))]
            parts = []
            if strings and a.get("s") is not None:
                parts.append(_c(self.d.text_in(a.get("s"), strings)))
            if numbers and a.get("n") is not None:
                parts.append(_c(exp.In(this=a.get("n"), expressions=numbers)))
            if numbers and a.get("t") is not None:
                parts.append(_c(exp.In(this=_num(a.get("t")), expressions=numbers)))
            parts += [self.eq(a, i) for i in rest]
            return _or(parts)
        self._nested(b, _compound(a, lists=True))
        return _or(self._has(b, a, fold=False))

    def _nested(self, hay: Val, other: exp.Expression | None) -> None:
        """Note the rows where the list ``hay`` holds a list or an object and ``other``
        (whether the value compared with its elements is one too; None: it never is).
        Only the engines' JSON sources have the slot ``lnest``; a table column is an
        array of one kind (docs/warehouse.md)."""
        inner = hay.get("lnest") if other is not None else None
        if inner is not None:
            self.nested.append(_c(exp.And(this=inner, expression=other)))

    def marks(self) -> list[exp.Expression]:
        """The violation of each :attr:`nested` condition, for the violations column."""
        return [exp.Case(ifs=[exp.If(this=c, true=exp.Literal.string(NESTED))])
                for c in self.nested]

    def _has(self, hay: Val, x: Val, *, fold: bool) -> list[exp.Expression]:
        """Tests that the one value ``x`` equals an element of the list ``hay``, kind by
        kind (``runtime.eq``: text with text, ``fold``: ignoring case; a number or an
        instant with a number, as doubles; a boolean with a boolean). A slot of the
        list is asked for only when ``x`` may be of its kind."""
        parts = []
        s = x.get("s")
        if s is not None and hay.get("l") is not None:
            lst = self.d.lower_array(hay.get("l")) if fold else hay.get("l")
            parts.append(_c(self.d.array_has(lst, self.d.lower(s) if fold else s)))
        for slot, kind in (("n", "lnum"), ("t", "lnum"), ("b", "lbool")):
            v = x.get(slot)
            if v is not None and hay.get(kind) is not None:
                parts.append(_c(self.d.array_has(hay.get(kind), _num(v) if slot == "t" else v)))
        return parts

    def _overlap(self, hay: Val, needles: Val) -> list[exp.Expression]:
        """Tests that some element of the list field ``needles`` equals (text ignoring
        case) some element of the list ``hay``: ``contains`` with a list on the right."""
        parts = []
        a, b = hay.get("l"), needles.get("l")
        if a is not None and b is not None:
            parts.append(_c(self.d.array_overlap(self.d.lower_array(a), self.d.lower_array(b))))
        for kind in ("lnum", "lbool"):
            b = needles.get(kind)
            a = hay.get(kind) if b is not None else None
            if a is not None:
                parts.append(_c(self.d.array_overlap(a, b)))
        return parts

    def _any_text(self, texts: exp.Expression, test) -> exp.Expression:
        """Whether ``test(e)`` holds for some element ``e`` of the list of text ``texts``."""
        kept = exp.ArrayFilter(this=texts, expression=exp.Lambda(
            this=test(exp.column("e")), expressions=[exp.to_identifier("e")]))
        return _c(exp.GT(this=exp.ArraySize(this=kept), expression=exp.Literal.number(0)))

    def _contains_item(self, item: Val, b: Val, needles) -> list[exp.Expression]:
        """Tests that the item of a list literal equals a needle (``runtime.contains``
        on a list: ``==``, text ignoring case), or an element of the list field ``b``."""
        parts = []
        s = item.get("s")
        rest = Val({k: v for k, v in item.slots.items() if k != "s"})
        for x in needles:
            if s is not None and x.get("s") is not None:
                parts.append(_c(exp.EQ(this=self.d.lower(s), expression=self.d.lower(x.get("s")))))
            other = Val({k: v for k, v in x.slots.items() if k not in ("s", "l", "ln", "lnum",
                                                                        "lbool", "lnest")})
            if rest.slots and other.slots and x.items is None and item.items is None:
                parts.append(self.eq(rest, other))
        if b.items is None and "ln" in b.slots:  # a list field: its elements
            parts += self._has(b, item, fold=True)
        return parts

    def contains(self, a: Val, b: Val) -> exp.Expression:
        """``runtime.contains``: each needle (the items of a list literal; the elements
        of a list field, or the field's own value) against the text or the elements of
        ``a``."""
        needles = b.items if b.items is not None else (b,)
        if a.items is not None:  # a list literal: an element test, each item against each
            return _or([p for i in a.items for p in self._contains_item(i, b, needles)])
        texts = [x.get("s") for x in needles if x.get("s") is not None]
        parts = []
        s = a.get("s")
        if s is not None:
            for x in texts:
                pos = exp.StrPosition(this=self.d.lower(s), substr=self.d.lower(x))
                parts.append(_c(exp.GT(this=pos, expression=exp.Literal.number(0))))
            if b.items is None and b.get("l") is not None:  # a list field's texts
                hay = self.d.lower(s)
                parts.append(self._any_text(b.get("l"), lambda e: exp.GT(
                    this=exp.StrPosition(this=hay.copy(), substr=self.d.lower(e)),
                    expression=exp.Literal.number(0))))
        lst = a.get("l")
        if lst is not None:
            lowered = self.d.lower_array(lst, sigma=not sigma_free(texts))
            for x in texts:
                parts.append(_c(self.d.array_has(lowered, self.d.lower(x))))
        if "ln" in a.slots:  # a list (of text, or of one kind in a table's column)
            for x in needles:
                parts += self._has(a, Val({k: v for k, v in x.slots.items() if k != "s"}),
                                   fold=True)
            if b.items is None:
                parts += self._overlap(a, b)
                # the elements of a list field, or an object itself
                inner, obj = b.get("lnest") if "ln" in b.slots else None, _compound(b, lists=False)
                self._nested(a, obj if inner is None else inner if obj is None else
                             exp.Or(this=inner, expression=obj))
            else:
                for x in b.items:
                    self._nested(a, _compound(x, lists=True))
        return _or(parts)
