"""Hypothesis strategies for funnel ASTs: every expression form and every statement.

Each strategy draws trees that the language can express: a printed and re-parsed
tree equals the drawn one (names are never keywords, numbers in expressions are
unsigned, a field-path key never holds a backtick or a newline, and so on). The
drawn nodes carry no spans; ``comments(...)`` and the ``with_comments`` flags
attach comments the way the parser would (``attrs.evolve(stmt, comments=...)``).

Import them from a test module as ``from strategies import modules, exprs``.
"""

from __future__ import annotations

import re
import string
from functools import cache

import attrs
from hypothesis import strategies as st

from policy.model.namespace import FUNCTIONS
from policy.syntax import nodes as n
from policy.syntax.parser import RESERVED, lark_parser

#: Every word the grammar spells out (``score``, ``if``, ``business``, ...).
KEYWORDS = frozenset(
    t.pattern.value
    for t in lark_parser().terminals
    if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t.pattern.value)
)

# --------------------------------------------------------------------------- atoms

#: Declared names: lowercase snake_case, never a keyword or reserved word.
# (built from characters rather than st.from_regex: several times faster to draw)
_LOWER = string.ascii_lowercase
names = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(_LOWER),
    st.text(alphabet=_LOWER + string.digits + "_", max_size=9),
).filter(lambda s: s not in KEYWORDS and s not in RESERVED)
idents = names.map(n.Ident)

#: Text for strings: anything a string literal can hold (JSON escapes do the rest).
texts = st.text(max_size=12)

#: One key of a field path: plain names, keywords, reserved words, and odd text
#: that must be written in backticks.
keys = st.one_of(
    names,
    st.sampled_from(sorted(KEYWORDS | RESERVED)),
    st.builds(lambda head, tail: head + tail,
              st.sampled_from(string.ascii_letters + "_"),
              st.text(alphabet=string.ascii_letters + string.digits + "_", max_size=6)),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="`\n\r\x00"),
        min_size=1,
        max_size=8,
    ),
    # letters and digits of any script stand bare (spec section 1); a key starting with a
    # digit only after a dot
    st.sampled_from(["straße", "año", "Ñandú", "2fa", "0", "٣d", "x²", "ǅx", "_1", "über_2"]),
    st.text(alphabet=st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "No", "Pc")),
            min_size=1, max_size=6),
)
paths = st.lists(keys, min_size=1, max_size=3).map(tuple)
refs = paths.map(n.Ref)

_ints = st.integers(min_value=0, max_value=10**15)
_floats = st.floats(min_value=0, max_value=1e18, allow_nan=False, allow_infinity=False)


@st.composite
def numbers(draw) -> n.Number:
    """An unsigned number literal, sometimes with the author's spelling kept."""
    value = draw(st.one_of(_ints, _floats))
    text = None
    if isinstance(value, int) and draw(st.booleans()):
        text = f"{value:_}" if draw(st.booleans()) else str(value)
    return n.Number(value, text=text)


#: Points, caps, range bounds and expected scores (plain ints and floats).
amounts = st.one_of(st.integers(min_value=0, max_value=10**6),
                    st.floats(min_value=0, max_value=1e6, allow_nan=False))
signed_amounts = st.one_of(st.integers(min_value=-(10**6), max_value=10**6),
                           st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))


@st.composite
def durations(draw) -> n.Duration:
    """``N unit`` with any unit (the grammar allows business units everywhere)."""
    amount = draw(st.one_of(st.integers(min_value=0, max_value=1000),
                            st.floats(min_value=0, max_value=1000, allow_nan=False)))
    text = str(amount) if isinstance(amount, int) and draw(st.booleans()) else None
    return n.Duration(amount, draw(st.sampled_from(list(n.Unit))), text=text)


# --------------------------------------------------------------------------- expressions

leaves = st.one_of(
    numbers(),
    texts.map(n.String),
    st.booleans().map(n.Bool),
    st.just(n.Null()),
    refs,
)


def _extend(children: st.SearchStrategy[n.Expr]) -> st.SearchStrategy[n.Expr]:
    return st.one_of(
        st.lists(children, max_size=3).map(lambda xs: n.ListExpr(tuple(xs))),
        st.builds(lambda f, a: n.Call(f, tuple(a)),
                  st.one_of(st.sampled_from(sorted(FUNCTIONS)), names),
                  st.lists(children, max_size=2)),
        children.map(n.Not),
        children.map(n.Neg),
        st.builds(n.Binary, st.sampled_from(list(n.BinOp)), children, children),
        st.builds(n.Presence, children, st.booleans()),
    )


#: Any expression, every node kind, nested.
exprs = st.recursive(leaves, _extend, max_leaves=10)

#: Long ``and``/``or`` chains of comparisons: what makes the formatter break lines.
_long_names = st.lists(st.text(alphabet=_LOWER, min_size=6, max_size=14), min_size=1,
                       max_size=3).map(".".join).filter(
    lambda s: not (set(s.split(".")) & (KEYWORDS | RESERVED))
)
_comparisons = st.builds(
    lambda p, op, v: n.Binary(op, n.Ref(tuple(p.split("."))), v),
    _long_names,
    st.sampled_from(sorted(n.COMPARISONS, key=lambda o: o.value)),
    # short numbers: an operand's own length is bounded, so every line can fit
    st.integers(min_value=0, max_value=10**9).map(n.Number),
)
chains = st.recursive(
    _comparisons,
    lambda c: st.builds(n.Binary, st.sampled_from([n.BinOp.AND, n.BinOp.OR]), c, c),
    max_leaves=8,
)
#: One operator between two leaves: every operator turns up often (inside ``exprs`` a
#: given one is rare, since most draws nest few binary nodes).
_flat_binaries = st.builds(n.Binary, st.sampled_from(list(n.BinOp)), leaves, leaves)
conditions = st.one_of(exprs, chains, _flat_binaries)

# --------------------------------------------------------------------------- comments

comment_texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00"),
    max_size=20,
).map(lambda s: ("#" + s).rstrip())


@st.composite
def comments(draw, *, block: bool = False) -> n.Comments:
    """Comments as the parser attaches them: leading, trailing, and (blocks) dangling."""
    leading = tuple(draw(st.lists(comment_texts, max_size=2)))
    trailing = draw(st.none() | comment_texts)
    dangling = tuple(draw(st.lists(comment_texts, max_size=2))) if block else ()
    return n.Comments(leading, trailing, dangling)


def _dress(stmt_strategy, with_comments: bool, *, block: bool = False):
    """Add random comments and a random author's blank line to drawn statements."""

    @st.composite
    def dressed(draw):
        s = draw(stmt_strategy)
        changes: dict = {"blank_before": draw(st.booleans())}
        if with_comments and draw(st.booleans()):
            changes["comments"] = draw(comments(block=block))
        return attrs.evolve(s, **changes)

    return dressed()


# --------------------------------------------------------------------------- statements

_opt_text = st.none() | texts
_owners = st.lists(idents, min_size=1, max_size=3).map(tuple)


def _items(strategy, with_comments: bool, max_size: int = 5):
    return st.lists(_dress(strategy, with_comments), max_size=max_size).map(tuple)


_times = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 24), st.integers(0, 59))

calendar_items = st.one_of(
    st.builds(lambda t: n.Timezone(name=t), texts),
    st.builds(lambda d: n.Workdays(days=tuple(d)), st.lists(idents, min_size=1, max_size=5)),
    st.builds(lambda a, b: n.Hours(start=a, end=b), _times, _times),
    st.builds(lambda d: n.Holidays(dates=tuple(d)), st.lists(texts, min_size=1, max_size=3)),
)

score_items = st.one_of(
    st.builds(lambda p, c: n.PointsIf(points=p, condition=c), signed_amounts, conditions),
    st.builds(lambda p, c, cap: n.PointsPer(points=p, count=c, cap=cap),
              signed_amounts, exprs, st.none() | amounts),
    st.builds(lambda lo, hi: n.Range(low=lo, high=hi), signed_amounts, signed_amounts),
    st.builds(lambda d, r: n.Decay(half_life=d, since=r), durations(), refs),
)

stage_items = st.one_of(
    st.builds(lambda c, r: n.Require(condition=c, reason=r), conditions, _opt_text),
    st.builds(lambda c, r: n.Exclude(condition=c, reason=r), conditions, _opt_text),
    st.builds(lambda c: n.KeepWhen(condition=c), conditions),
    st.builds(lambda r: n.EnteredAt(field=r), refs),
)

#: ``on NAME``, ``on default`` or nothing after a route.
_route_calendars = st.none() | idents | st.just(n.Ident(n.DEFAULT_CALENDAR))

handoff_items = st.one_of(
    st.builds(lambda t, c, k: n.Route(target=t, condition=c, calendar=k),
              texts, st.none() | conditions, _route_calendars),
    st.builds(lambda d, a, b: n.Sla(duration=d, start=a, stops=tuple(b)),
              durations(), refs, st.lists(refs, min_size=1, max_size=3)),
    st.builds(lambda t, d: n.Escalate(target=t, after=d), texts, durations()),
    st.builds(lambda s, f, r: n.Reject(state=s, field=f, reasons=r), idents, refs, exprs),
    st.builds(lambda i: n.HandoffCalendar(name=i), idents),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(texts, c, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(texts, json_values, max_size=12)


@st.composite
def expects(draw) -> n.Expect:
    """One ``expect`` line of any kind."""
    kind = draw(st.sampled_from(list(n.ExpectKind)))
    at = draw(st.none() | idents)
    K = n.ExpectKind
    if kind in (K.STAGE, K.REACHED):
        return n.Expect(kind=kind, value=draw(st.none() | names))
    if kind is K.SCORE:
        return n.Expect(kind=kind, subject=draw(idents), value=draw(signed_amounts))
    if kind in (K.ROUTE, K.ESCALATE):
        return n.Expect(kind=kind, value=draw(st.none() | texts), at=at)
    if kind is K.SLA:
        return n.Expect(kind=kind, value=draw(names), at=at)
    if kind is K.REASON:
        return n.Expect(kind=kind, value=draw(st.none() | texts))
    if kind is K.VIOLATION:
        return n.Expect(kind=kind, value=draw(names))
    return n.Expect(kind=kind)


example_items = st.one_of(
    st.builds(lambda t: n.At(timestamp=t), texts),
    st.builds(lambda d: n.LeadLiteral(data=d), json_objects),
    st.builds(lambda p: n.LeadFile(path=p), texts),
    # `expect` has nine forms: drawn more often, so that each turns up
    expects(), expects(), expects(),
)


_recycles = st.builds(
    lambda s, t, c, r: n.Recycle(stages=tuple(s), state=t, condition=c, reason=r),
    st.lists(idents, min_size=1, max_size=3), idents, conditions, _opt_text)


@cache
def _blocks(with_comments: bool) -> dict[str, st.SearchStrategy[n.Stmt]]:
    """Each kind of block declaration, with its items."""
    wc = with_comments
    return {
        "calendar": st.builds(lambda nm, d, i: n.Calendar(items=i, name=nm, description=d),
                              st.none() | idents, _opt_text, _items(calendar_items, wc)),
        "score": st.builds(lambda a, d, o, i: n.Score(name=a, description=d, owners=o, items=i),
                           idents, _opt_text, _owners, _items(score_items, wc)),
        "stage": st.builds(lambda a, d, o, i: n.Stage(name=a, description=d, owners=o, items=i),
                           idents, _opt_text, _owners, _items(stage_items, wc)),
        "handoff": st.builds(lambda s, t, i: n.Handoff(stage=s, team=t, items=i),
                             idents, idents, _items(handoff_items, wc)),
        "example": st.builds(lambda t, i: n.Example(name=t, items=i),
                             texts, _items(example_items, wc)),
    }


@cache
def declarations(*, with_comments: bool = False) -> st.SearchStrategy[n.Stmt]:
    """Any top-level declaration, blocks with items (and comments when asked)."""
    wc = with_comments
    simple = st.one_of(
        st.builds(lambda a, t: n.PolicyHeader(name=a, title=t), idents, texts),
        st.builds(lambda t: n.Version(label=t), texts),
        st.builds(lambda t: n.SchemaRef(path=t), texts),
        st.builds(lambda r: n.IdField(field=r), refs),
        st.builds(lambda a, t: n.Team(name=a, handle=t), idents, texts),
        st.builds(lambda s: n.Funnel(stages=tuple(s)), st.lists(idents, min_size=2, max_size=5)),
        st.builds(lambda a, d, v: n.Define(name=a, description=d, value=v),
                  idents, _opt_text, st.one_of(exprs, chains, st.lists(
                      texts, min_size=1, max_size=12).map(
                      lambda xs: n.ListExpr(tuple(n.String(x) for x in xs))))),
        # `define x = lines "file"`: as parsed, before the loader reads the file
        st.builds(lambda a, d, p: n.Define(name=a, description=d, value=n.ListExpr(()),
                                           lines=n.LinesFile(p)),
                  idents, _opt_text, texts),
        st.builds(lambda a, d, o: n.State(name=a, description=d, owners=o),
                  idents, _opt_text, _owners),
        _recycles,
    )
    blocks = st.one_of(*_blocks(wc).values())
    return st.one_of(_dress(simple, wc), _dress(blocks, wc, block=True))


#: Blocks a drawn module holds besides its random declarations, with the chance of each
#: (numerator, denominator): without them most modules held no stage and few examples,
#: so whole node kinds (`expect` forms, operators) went untested for hundreds of draws.
_LIKELY_BLOCKS = (("stage", 4, 5), ("handoff", 2, 3), ("score", 1, 2), ("example", 2, 3),
                  ("recycle", 1, 3))


@st.composite
def modules(draw, *, with_comments: bool = False, max_decls: int = 6) -> n.Module:
    """A whole file: declarations of every kind, optionally comments everywhere."""
    decls = list(draw(st.lists(declarations(with_comments=with_comments), max_size=max_decls)))
    blocks = _blocks(with_comments)
    for kind, num, den in _LIKELY_BLOCKS:
        if draw(st.integers(1, den)) <= num:
            strategy = blocks.get(kind, _recycles)
            block = draw(_dress(strategy, with_comments, block=kind in blocks))
            decls.insert(draw(st.integers(0, len(decls))), block)
    trailing = tuple(draw(st.lists(comment_texts, max_size=2))) if with_comments else ()
    return n.Module(path="generated.funnel", decls=tuple(decls), trailing=trailing)


__all__ = [
    "KEYWORDS",
    "chains",
    "comments",
    "conditions",
    "declarations",
    "durations",
    "exprs",
    "expects",
    "idents",
    "json_objects",
    "keys",
    "modules",
    "names",
    "numbers",
    "paths",
    "refs",
]
