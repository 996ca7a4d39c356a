"""Types: what kind of value each expression holds, and the E102/W208 checks.

Runs as the checker's ``types`` pass, over a :class:`~policy.model.namespace.PolicyModel` built by
:func:`policy.model.build_model`. Unknown names (E101) are reported by an earlier pass;
here they simply have an unknown type, so one mistake does not cascade.

What an expression's type is (LANGUAGE.md §3):

* literals have their own type; ``and``, ``or``, ``not``, comparisons and tests are
  booleans; arithmetic gives a number; a define has the type of its value; a score is
  a number; functions have fixed result types (``days_since`` a number, ``lower`` text);
* a lead field has the types the schema gives it (``FieldInfo.types``); a field that is
  a timestamp (:attr:`PolicyModel.timestamp_paths`) is a timestamp, not text; without a
  schema, any other field may hold anything.

A mismatch is reported only when the types involved are known and cannot meet: with
unknown types nothing is assumed, so the checker never cries wolf on a policy without a
schema. Every field may be missing; missing values are the language's business (a
comparison with one is false), not a type error, so *null* never counts as a mismatch.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator

from policy.engine.timestamps import parse_timestamp
from policy.model.namespace import (
    FUNCTIONS,
    TIME_FUNCTIONS,
    PolicyModel,
    children,
    stmt_exprs,
    walk_expr,
)
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error, warning

__all__ = ["ANY", "Kind", "TypeEnv", "check_types", "describe"]


class Kind:
    """The kinds of run-time value, as bits; a type is a union of kinds (an ``int``).

    Plain integers rather than an ``enum.Flag``: the checker combines types for every
    node of a policy, and flag arithmetic costs a function call per operation.
    """

    NULL = 1
    BOOLEAN = 2
    NUMBER = 4
    TEXT = 8
    LIST = 16
    TIMESTAMP = 32
    OBJECT = 64


#: Unknown: any kind of value.
ANY = 127
NONE = 0

_NAMES = {
    Kind.BOOLEAN: "a boolean",
    Kind.NUMBER: "a number",
    Kind.TEXT: "text",
    Kind.LIST: "a list",
    Kind.TIMESTAMP: "a timestamp",
    Kind.OBJECT: "an object",
    Kind.NULL: "null",
}
_ORDER = (Kind.NUMBER, Kind.TEXT, Kind.TIMESTAMP, Kind.BOOLEAN, Kind.LIST, Kind.OBJECT, Kind.NULL)

_SCHEMA_KINDS = {
    "string": Kind.TEXT,
    "number": Kind.NUMBER,
    "integer": Kind.NUMBER,
    "boolean": Kind.BOOLEAN,
    "null": Kind.NULL,
    "array": Kind.LIST,
    "object": Kind.OBJECT,
}

_FUNC_RESULT = {
    "days_since": Kind.NUMBER | Kind.NULL,
    "hours_since": Kind.NUMBER | Kind.NULL,
    "lower": Kind.TEXT | Kind.NULL,
    "domain": Kind.TEXT | Kind.NULL,
    "length": Kind.NUMBER | Kind.NULL,
}
_FUNC_ARG = {
    "days_since": Kind.TIMESTAMP,
    "hours_since": Kind.TIMESTAMP,
    "lower": Kind.TEXT,
    "domain": Kind.TEXT,
    "length": Kind.TEXT | Kind.LIST,
}

_ORDERED = Kind.NUMBER | Kind.TEXT | Kind.TIMESTAMP
_TS_HELP = 'write an ISO-8601 date or date-time, such as "2026-11-02" or "2026-11-02T15:00:00Z"'


def describe(kind: int) -> str:
    """``a number``, ``text or a number``: a type as the messages name it."""
    shown = kind & ~Kind.NULL or kind
    names = [_NAMES[k] for k in _ORDER if k & shown]
    if not names:
        return "nothing"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _show(e: n.Expr) -> str:
    """A short rendering of an expression for messages (names and literals only)."""
    if isinstance(e, n.Ref):
        return f"`{e.dotted}`"
    if isinstance(e, n.String):
        return json.dumps(e.value, ensure_ascii=False)
    if isinstance(e, n.Number):
        return e.text or str(e.value)
    if isinstance(e, n.Call):
        return f"`{e.func}(…)`"
    return "this"


class TypeEnv:
    """The types of one policy's expressions; define types are computed once."""

    def __init__(self, model: PolicyModel) -> None:
        self.model = model
        self._defines: dict[str, Kind] = {}

    def field(self, path: tuple[str, ...]) -> int:
        """The type of a lead field (nullable: every field may be missing)."""
        ts = path in self.model.timestamp_paths
        schema = self.model.schema
        info = schema.lookup(path) if schema is not None else None
        if info is None or not info.types:
            return (Kind.TIMESTAMP | Kind.NULL) if ts else ANY
        kind = NONE
        for t in info.types:
            kind |= _SCHEMA_KINDS.get(t, NONE)
        if ts and kind & Kind.TEXT:
            kind = (kind & ~Kind.TEXT) | Kind.TIMESTAMP
        return kind | Kind.NULL

    def of(self, e: n.Expr) -> int:
        """The type of an expression."""
        if isinstance(e, n.Number):
            return Kind.NUMBER
        if isinstance(e, n.String):
            return Kind.TEXT
        if isinstance(e, n.Bool):
            return Kind.BOOLEAN
        if isinstance(e, n.Null):
            return Kind.NULL
        if isinstance(e, n.ListExpr):
            return Kind.LIST
        if isinstance(e, n.Ref):
            return self._ref(e)
        if isinstance(e, n.Call):
            return _FUNC_RESULT.get(e.func, ANY)
        if isinstance(e, n.Not | n.Presence):
            return Kind.BOOLEAN
        if isinstance(e, n.Neg):
            return Kind.NUMBER | Kind.NULL
        if isinstance(e, n.Binary):
            if e.op in n.ARITHMETIC:
                return Kind.NUMBER | Kind.NULL
            return Kind.BOOLEAN
        return ANY

    def _ref(self, e: n.Ref) -> int:
        # Follow a chain of defines that name one another without recursing along it.
        seen: set[str] = set()
        chain: list[str] = []
        result = ANY
        while True:
            kind, target = self.model.resolve(e)
            if kind == "field":
                result = self.field(e.path)
                break
            if kind == "score":
                result = Kind.NUMBER
                break
            name = e.path[0]
            if name in self._defines:
                result = self._defines[name]
                break
            if name in seen:
                result = ANY  # a cycle (E108)
                break
            seen.add(name)
            chain.append(name)
            value = target.value  # type: ignore[union-attr]
            if isinstance(value, n.Ref):
                e = value
                continue
            result = self.of(value)
            break
        for name in chain:
            self._defines[name] = result
        return result

    def list_items(self, e: n.Expr) -> tuple[n.Expr, ...] | None:
        """The items of a list literal, directly or through defines; else None."""
        seen: set[str] = set()
        while isinstance(e, n.Ref):
            kind, target = self.model.resolve(e)
            if kind != "define" or e.path[0] in seen:
                return None
            seen.add(e.path[0])
            e = target.value  # type: ignore[union-attr]
        return e.items if isinstance(e, n.ListExpr) else None

    def field_ref(self, e: n.Expr) -> n.Ref | None:
        """The field a name stands for, directly or through defines that alias it."""
        seen: set[str] = set()
        while isinstance(e, n.Ref):
            kind, target = self.model.resolve(e)
            if kind == "field":
                return e
            if kind != "define" or e.path[0] in seen:
                return None
            seen.add(e.path[0])
            e = target.value  # type: ignore[union-attr]
        return None


# --------------------------------------------------------------------------- the pass


def _known(kind: int) -> int:
    """The kinds that matter for a mismatch: null aside, and nothing when unknown."""
    return NONE if kind == ANY else kind & ~Kind.NULL


def check_types(
    model: PolicyModel,
    env: TypeEnv | None = None,
    *,
    locate_duration: Callable[[n.Duration], n.Span] | None = None,
) -> list[Diagnostic]:
    """E102 type mismatches and W208 values outside a field's ``enum``, in every statement.

    ``locate_duration`` gives the span to underline for a duration (the checker's, which
    reads the source); by default the duration's own span.
    """
    return list(_Checker(model, env or TypeEnv(model), locate_duration).run())


class _Checker:
    def __init__(self, model: PolicyModel, env: TypeEnv,
                 locate_duration: Callable[[n.Duration], n.Span] | None) -> None:
        self.model = model
        self.env = env
        self.locate_duration = locate_duration or (lambda d: d.span)

    def run(self) -> Iterator[Diagnostic]:
        for module in self.model.modules:
            for decl in module.decls:
                yield from self.stmt(decl)
                for child in children(decl):
                    yield from self.stmt(child)

    # ------------------------------------------------------------------ statements
    def stmt(self, s: n.Stmt) -> Iterator[Diagnostic]:
        for e in stmt_exprs(s):
            yield from self.expr(e)
        if isinstance(s, n.PointsIf | n.Require | n.Exclude | n.KeepWhen | n.Recycle):
            yield from self.condition(s.condition)
        elif isinstance(s, n.Route) and s.condition is not None:
            yield from self.condition(s.condition)
        elif isinstance(s, n.PointsPer):
            yield from self.expect(s.count, Kind.NUMBER, "after `per`",
                                   "`per` counts a number: points times the field's value")
        elif isinstance(s, n.Decay):
            yield from self.lead_field(s.since, "`decay … since`")
            yield from self.timestamp_field(s.since)
            if s.half_life.amount <= 0:
                yield error("E102", "expected a half-life longer than zero, found "
                            f"`{s.half_life.text or s.half_life.amount}`",
                            self.locate_duration(s.half_life),
                            help="a score halves once per half-life; write a positive duration")
        elif isinstance(s, n.Sla):
            for ref in (s.start, *s.stops):
                yield from self.lead_field(ref, "`sla`")
                yield from self.timestamp_field(ref)
        elif isinstance(s, n.EnteredAt):
            yield from self.lead_field(s.field, "`entered at`")
            yield from self.timestamp_field(s.field)
        elif isinstance(s, n.Reject):
            yield from self.lead_field(s.field, "`reject … with reason`")
            yield from self.membership(s.field, s.reasons, "after `in`")
        elif isinstance(s, n.IdField):
            yield from self.lead_field(s.field, "`id`")

    def lead_field(self, ref: n.Ref, where: str) -> Iterator[Diagnostic]:
        kind, _ = self.model.resolve(ref)
        if kind == "field":
            return
        schema = self.model.schema
        if schema is not None and schema.lookup(ref.path) is not None:
            help = (f"the {kind} `{ref.dotted}` shadows the lead field of the same name; "
                    f"rename the {kind}")
        else:
            help = f"{where} reads a field of the lead directly; a {kind} cannot stand in for it"
        yield error("E102", f"expected a lead field in {where}, found the {kind} "
                    f"`{ref.dotted}`", ref.span, help=help)

    def timestamp_field(self, ref: n.Ref) -> Iterator[Diagnostic]:
        if self.model.resolve(ref)[0] != "field":
            return
        k = _known(self.env.of(ref))
        if k and not k & Kind.TIMESTAMP:
            yield error("E102", f"expected a timestamp, found {describe(k)}", ref.span,
                        help=f"`{ref.dotted}` holds {describe(k)} in the schema; name a "
                        "date-time field")

    def condition(self, e: n.Expr) -> Iterator[Diagnostic]:
        k = _known(self.env.of(e))
        if k and not k & Kind.BOOLEAN:
            yield error("E102", f"expected a condition, found {describe(k)}", e.span,
                        help=self._condition_help(e, k))

    def _condition_help(self, e: n.Expr, k: int) -> str:
        if isinstance(e, n.Number | n.String | n.Null | n.ListExpr):
            return "a condition is true or false; write a test such as `x > 5`"
        name = _show(e)
        if name == "this":
            return "a condition is true or false; compare the value, as in `… > 0`"
        if k & Kind.NUMBER:
            return f"a condition is true or false: compare it, as in `{_plain(name)} > 0`"
        if k & Kind.TEXT or k & Kind.TIMESTAMP:
            return f"a condition is true or false: test it, as in `{_plain(name)} is present`"
        if k & Kind.LIST:
            return "a condition is true or false: test membership, as in `x in LIST`"
        return "a condition is true or false"

    def expect(self, e: n.Expr, want: int, where: str, help: str) -> Iterator[Diagnostic]:
        k = _known(self.env.of(e))
        if k and not (k & want):
            yield error("E102", f"expected {describe(want)} {where}, found {describe(k)}",
                        e.span, help=help)

    # ------------------------------------------------------------------ expressions
    def expr(self, root: n.Expr) -> Iterator[Diagnostic]:
        for e in walk_expr(root):
            if isinstance(e, n.Binary):
                yield from self.binary(e)
            elif isinstance(e, n.Not):
                yield from self.condition(e.operand)
            elif isinstance(e, n.Neg):
                yield from self.arith_operand(e.operand)
            elif isinstance(e, n.Call):
                yield from self.call(e)

    def binary(self, e: n.Binary) -> Iterator[Diagnostic]:
        op = e.op
        if op in (n.BinOp.AND, n.BinOp.OR):
            yield from self.condition(e.left)
            yield from self.condition(e.right)
        elif op in n.ARITHMETIC:
            yield from self.arith_operand(e.left)
            yield from self.arith_operand(e.right)
        elif op in (n.BinOp.EQ, n.BinOp.NE):
            yield from self.compare(e)
        elif op in n.COMPARISONS:
            for side in (e.left, e.right):
                k = _known(self.env.of(side))
                if k and not (k & _ORDERED):
                    yield error("E102", f"expected a number, text or a timestamp to compare "
                                f"with `{op.value}`, found {describe(k)}", side.span,
                                help="only numbers, text and timestamps are ordered; "
                                "test a boolean with `==`")
                    return
            yield from self.compare(e)
        elif op in (n.BinOp.IN, n.BinOp.NOT_IN):
            yield from self.membership(e.left, e.right, f"after `{op.value}`")
        elif op is n.BinOp.CONTAINS:
            yield from self.expect(e.left, Kind.TEXT | Kind.LIST, "before `contains`",
                                   "`contains` looks for text in text, or an item in a list")
        elif op in (n.BinOp.STARTS_WITH, n.BinOp.ENDS_WITH):
            yield from self.expect(e.left, Kind.TEXT, f"before `{op.value}`",
                                   f"`{op.value}` tests text")
            yield from self.expect(e.right, Kind.TEXT | Kind.LIST, f"after `{op.value}`",
                                   f"`{op.value}` takes text, or a list of texts")

    def poisoned(self, e: n.Expr) -> bool:
        """An arithmetic expression with an operand already reported as not a number."""
        todo = [e]
        while todo:  # a loop, not recursion: `1 + 1 + … + 1` may be long
            x = todo.pop()
            if isinstance(x, n.Neg):
                operands: tuple[n.Expr, ...] = (x.operand,)
            elif isinstance(x, n.Binary) and x.op in n.ARITHMETIC:
                operands = (x.left, x.right)
            else:
                continue
            for side in operands:
                k = _known(self.env.of(side))
                if k and not k & Kind.NUMBER:
                    return True
                todo.append(side)
        return False

    def arith_operand(self, side: n.Expr) -> Iterator[Diagnostic]:
        k = _known(self.env.of(side))
        if k and not k & Kind.NUMBER:
            help = "arithmetic works on numbers only"
            if k & Kind.TIMESTAMP:
                help = "for the time since a timestamp, use `days_since(…)` or `hours_since(…)`"
            yield error("E102", f"expected a number, found {describe(k)}", side.span, help=help)

    def compare(self, e: n.Binary) -> Iterator[Diagnostic]:
        for side, other in ((e.left, e.right), (e.right, e.left)):
            if isinstance(side, n.Null):
                test = "is missing" if e.op is n.BinOp.EQ else "is present"
                yield error("E102", f"expected a value to compare with `{e.op.value}`, found "
                            "`null`", side.span,
                            help=f"a comparison with a missing value is always false; write "
                            f"`{_plain(_show(other))} {test}`")
                return
        yield from self.pair(e.left, e.right)
        yield from self.enum_values(e.left, (e.right,))
        yield from self.enum_values(e.right, (e.left,))

    def pair(self, left: n.Expr, right: n.Expr) -> Iterator[Diagnostic]:
        """Two values that are compared or matched: their types must be able to meet."""
        a, b = _known(self.env.of(left)), _known(self.env.of(right))
        if not a or not b or self.poisoned(left) or self.poisoned(right):
            return
        for ts, other in ((a, right), (b, left)):
            text = self.model.text_literal(other) if ts == Kind.TIMESTAMP else None
            if text is not None:  # a literal, or a define that holds one
                yield from self.timestamp_text(text, other)
                return
        if a & b:
            return
        blame, against, want = (right, left, a) if not isinstance(left, n.Number | n.String |
                                                                  n.Bool) else (left, right, b)
        found = b if blame is right else a
        yield error("E102", f"expected {describe(want)}, found {describe(found)}", blame.span,
                    help=_never(against, want, found))

    def timestamp_text(self, lit: n.String, where: n.Expr | None = None) -> Iterator[Diagnostic]:
        """E102 unless the text reads as an instant; ``where`` is the define that holds
        it, reported where it is compared rather than where it is declared."""
        if parse_timestamp(lit.value, kind="any") is None:
            found = _show(lit) if where is None or where is lit else (
                f"{_show(where)}, which holds {_show(lit)}")
            yield error("E102", f"expected a timestamp, found {found}",
                        lit.span if where is None else where.span, help=_TS_HELP)

    def membership(self, left: n.Expr, right: n.Expr, where: str) -> Iterator[Diagnostic]:
        rk = _known(self.env.of(right))
        if rk and not rk & Kind.LIST:
            yield error("E102", f"expected a list {where}, found {describe(rk)}", right.span,
                        help='write a list, as in `["a", "b"]`, or the name of a defined list')
            return
        items = self.env.list_items(right)
        if items is None:
            return
        lk = _known(self.env.of(left))
        if isinstance(right, n.ListExpr):
            for item in items:
                found = list(self.pair(left, item))
                if found:
                    yield found[0]  # one list, one report: the first item that cannot match
                    break
        elif lk:
            kinds = [_known(self.env.of(i)) for i in items]
            if kinds and all(k and not (k & lk) for k in kinds) and lk != Kind.TIMESTAMP:
                found = NONE
                for k in kinds:
                    found |= k
                yield error("E102", f"expected a list of {_plural(lk)}, found a list of "
                            f"{_plural(found)}", right.span, help=_never(left, lk))
        yield from self.enum_values(left, items)

    def enum_values(self, left: n.Expr, values: tuple[n.Expr, ...]) -> Iterator[Diagnostic]:
        """W208: a literal the schema's ``enum`` for this field never allows."""
        ref = self.env.field_ref(left)
        schema = self.model.schema
        if ref is None or schema is None:
            return
        info = schema.lookup(ref.path)
        if info is None or info.enum is None:
            return
        allowed = [v for v in info.enum if isinstance(v, str)]
        for v in values:
            if isinstance(v, n.String) and v.value not in info.enum:
                shown = ", ".join(json.dumps(a, ensure_ascii=False) for a in allowed[:8])
                if len(allowed) > 8:
                    shown += ", …"
                folded = [a for a in allowed if a.casefold() == v.value.casefold()]
                close = folded or difflib.get_close_matches(v.value, allowed, n=1, cutoff=0.6)
                help = f"the schema allows {shown}" if allowed else "the schema allows no text"
                if close:
                    help += f"; did you mean {json.dumps(close[0], ensure_ascii=False)}?"
                yield warning("W208", f"`{ref.dotted}` is never {_show(v)}", v.span, help=help)

    def call(self, e: n.Call) -> Iterator[Diagnostic]:
        arity = FUNCTIONS.get(e.func)
        if arity is None:
            return  # unknown function: E101
        if len(e.args) != arity:
            s = "" if arity == 1 else "s"
            yield error("E102", f"expected {arity} argument{s} for `{e.func}`, found "
                        f"{len(e.args)}", e.span, help=f"write `{e.func}(x)`")
            return
        arg = e.args[0]
        want = _FUNC_ARG[e.func]
        k = _known(self.env.of(arg))
        if not k or k & want:
            return
        if e.func in TIME_FUNCTIONS:
            help = f"`{e.func}` counts time from a timestamp field of the lead"
            if isinstance(arg, n.Ref):
                help = f"`{arg.dotted}` holds {describe(k)}; name a date-time field"
        else:
            help = f"`{e.func}` takes {describe(want)}"
        yield error("E102", f"expected {describe(want)}, found {describe(k)}", arg.span,
                    help=help)


def _never(other: n.Expr, kind: int, found: int = 0) -> str:
    if kind == Kind.TIMESTAMP and found == Kind.NUMBER or (
        kind == Kind.NUMBER and found == Kind.TIMESTAMP
    ):
        # instants are numbers inside the engine: this compares, but means nothing
        return ("a timestamp compares with another timestamp or a date such as "
                '"2026-11-02"; for the time elapsed, use `days_since(…)` or `hours_since(…)`')
    if isinstance(other, n.Ref | n.Call):
        return f"{_show(other)} holds {describe(kind)}, so this is never true"
    return f"the other side is {describe(kind)}, so this is never true"


def _plain(shown: str) -> str:
    return shown[1:-1] if shown.startswith("`") and shown.endswith("`") else shown


def _plural(kind: int) -> str:
    names = {
        Kind.BOOLEAN: "booleans",
        Kind.NUMBER: "numbers",
        Kind.TEXT: "texts",
        Kind.LIST: "lists",
        Kind.TIMESTAMP: "timestamps",
        Kind.OBJECT: "objects",
        Kind.NULL: "nulls",
    }
    shown = kind & ~Kind.NULL or kind
    parts = [names[k] for k in _ORDER if k & shown]
    return " or ".join(parts) if parts else "nothing"
