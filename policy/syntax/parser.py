"""Parse: policy text -> :class:`policy.syntax.nodes.Module` plus diagnostics.

The grammar lives in ``grammar/funnel.lark`` (installed as ``policy/_grammar``)
and is loaded once, LALR, with the contextual lexer. Three pieces here:

* :class:`LineJoiner`, the post-lexer that gives the language its line
  structure (spec section 1): it drops a newline where a rule continues and
  takes the comments out of the token stream, keeping them.
* :class:`ToAst`, the one transformer from Lark's tree to the AST. No Lark
  ``Tree`` or ``Token`` leaves this module.
* comment attachment and syntax-error reporting (E100), with the catalog of
  known mistakes in :mod:`policy.syntax.syntax_errors`.

Nothing runs before this phase; :mod:`policy.check.checker` runs after it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path

import attrs
from lark import Lark, Token, Transformer, UnexpectedInput
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken, VisitError
from lark.lark import PostLex

from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error
from policy.syntax.syntax_errors import describe, too_deep

GRAMMAR_FILE = "funnel.lark"

#: Reserved words: never a declared name (spec section 1).
RESERVED = n.RESERVED

_RESERVED_HELP = "reserved words cannot be names: " + ", ".join(f"`{w}`" for w in sorted(RESERVED))

#: A newline after one of these tokens does not end the rule (spec section 1).
CONTINUATION = frozenset(
    {"EQUAL", "COMP_OP", "PLUS", "MINUS", "STAR", "SLASH", "AND", "OR", "NOT", "IN", "_ARROW",
     "COMMA"}
)

#: Tokens whose text carries meaning; keywords and punctuation are dropped.
_VALUE_TOKENS = frozenset(
    {"NAME", "STRING", "NUMBER", "JSON_NUMBER", "TIME", "QUOTED_KEY", "PLUS", "MINUS", "STAR",
     "SLASH", "COMP_OP", "NONE", "DEFAULT"}
)


def grammar_text() -> str:
    """The grammar, from the installed package or from a source checkout."""
    try:
        return resources.files("policy._grammar").joinpath(GRAMMAR_FILE).read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        here = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_FILE
        return here.read_text("utf-8")


# --------------------------------------------------------------------------- post-lexer


#: Other spellings of the literals (`True`, `NULL`, `None`) -> the language's word.
_LITERAL_WORDS = {"true": "true", "false": "false", "null": "null", "none": "null"}


class LineJoiner(PostLex):
    """Give the token stream its line structure and collect comments.

    Per-parse state lives in a thread-local, so one loaded parser serves many
    threads.
    """

    always_accept = ("_NL", "COMMENT")

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def state(self) -> _LexState:
        return self._local.state

    def begin(self, text: str) -> None:
        """Hand the post-lexer the text about to be parsed (to see what follows a keyword)."""
        self._local.text = text

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        st = self._local.state = _LexState()
        text = getattr(self._local, "text", "")
        prev = None  # type of the last significant token, "_NL" after a newline
        last: Token | None = None
        for tok in stream:
            t = tok.type
            if (
                st.glued is None
                and t not in _VALUE_TOKENS
                and tok.value[-1:].isalpha()
                and tok.end_pos < len(text)
                and (text[tok.end_pos].isalnum() or text[tok.end_pos] == "_")
            ):
                # Where no name is allowed the lexer matches a keyword as a prefix of a
                # longer word (`keepwhen x`); remember it so the parse is refused.
                st.glued = tok
            if t == "COMMENT":
                st.comments.append(tok)
                if st.json_opened:
                    st.json_comment = st.json_comment or tok
                continue
            if t == "_NL":
                if prev is None or prev == "_NL" or prev in CONTINUATION:
                    continue
                if st.brackets or st.json_opened:
                    continue
                prev = "_NL"
                yield tok
                continue
            if t == "NAME" and prev == "EQUAL" and tok.value == "lines" and (
                    text[tok.end_pos:].lstrip(" \t\f").startswith('"')):
                # `define x = lines "f.txt"`: the one place a name followed by a string
                # is the list-file form; anywhere else `lines` is an ordinary name
                tok = Token.new_borrow_pos("LINES", tok.value, tok)
                t = "LINES"
            if t in ("LPAR", "LSQB"):
                st.brackets.append(tok)
            elif t in ("RPAR", "RSQB"):
                if st.brackets:
                    st.brackets.pop()
            elif t == "LBRACE":
                if prev == "LEAD" or st.json_opened:
                    st.json_opened.append(tok)
                else:
                    st.blocks.append(tok)
            elif t == "RBRACE":
                if st.json_opened:
                    st.json_opened.pop()
                elif st.blocks:
                    st.blocks.pop()
            prev = t
            last = tok
            yield tok
        if last is not None and prev != "_NL":
            yield Token.new_borrow_pos("_NL", "\n", last)


@attrs.define
class _LexState:
    comments: list[Token] = attrs.Factory(list)
    brackets: list[Token] = attrs.Factory(list)
    blocks: list[Token] = attrs.Factory(list)
    json_opened: list[Token] = attrs.Factory(list)
    json_comment: Token | None = None
    glued: Token | None = None


_JOINER = LineJoiner()


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        postlex=_JOINER,
        keep_all_tokens=True,
        maybe_placeholders=True,
        cache=True,  # a pickled parse table in the temp dir: loads 5x faster
    )


def lark_parser() -> Lark:
    """The shared Lark instance (for the error catalog and tests)."""
    return _lark()


# --------------------------------------------------------------------------- transformer


class _Problem(Exception):
    """Raised inside the transformer for a mistake the grammar cannot see."""

    def __init__(self, diag: Diagnostic):
        super().__init__(diag.message)
        self.diag = diag


def _pos(x) -> tuple[int, int, int, int, int, int] | None:
    if isinstance(x, tuple) and x and isinstance(x[-1], Token):
        x = x[-1]  # (value, sign token) from signed_points / signed_number
    if isinstance(x, Token):
        if x.type == "_NL" or x.line is None:
            return None
        return (x.line, x.column, x.end_line, x.end_column, x.start_pos, x.end_pos)
    span = getattr(x, "span", None)
    if isinstance(span, n.Span) and span.line:
        return (span.line, span.column, span.end_line, span.end_column, span.start, span.end)
    return None


def _edge_token(tree, *, reverse: bool) -> Token | None:
    """The first (or last) real token under a tree node; newlines do not count."""
    for c in reversed(tree.children) if reverse else tree.children:
        if c is None:
            continue
        if isinstance(c, Token):
            if c.type != "_NL":
                return c
            continue
        found = _edge_token(c, reverse=reverse)
        if found is not None:
            return found
    return None


def _vals(children: list) -> list:
    """Children that carry meaning: AST values and value tokens, no keywords."""
    return [
        c
        for c in children
        if not (isinstance(c, Token) and c.type not in _VALUE_TOKENS)
    ]


def _unquote(tok: Token, file: str) -> str:
    try:
        return json.loads(tok.value)
    except ValueError as exc:
        raise _Problem(
            error("E100", f"bad string literal: {exc.msg.lower()}", _tok_span(tok, file))
        ) from None


def _tok_span(tok: Token, file: str) -> n.Span:
    return n.Span(file, tok.line, tok.column, tok.end_line, tok.end_column, tok.start_pos,
                  tok.end_pos)


def _number(text: str) -> int | float:
    clean = text.replace("_", "")
    return float(clean) if "." in clean else int(clean)


class ToAst(Transformer):
    """Lark tree -> AST. Methods are named after grammar rules and aliases."""

    def __init__(self, file: str):
        super().__init__(visit_tokens=False)
        self.file = file

    # helpers ------------------------------------------------------------------------
    def _call_userfunc(self, tree, new_children=None):
        # Remember the rule being built: its span is that of its first and last
        # token in the *original* tree, so values that carry no position (a reason
        # string, a unit, a sign) still count towards it.
        self._tree = tree
        return super()._call_userfunc(tree, new_children)

    def _span(self, children: list) -> n.Span:
        first = _edge_token(self._tree, reverse=False)
        last = _edge_token(self._tree, reverse=True)
        if first is None or last is None:
            return n.Span(self.file, 0, 0, 0, 0)
        return n.Span(self.file, first.line, first.column, last.end_line, last.end_column,
                      first.start_pos, last.end_pos)

    def _str(self, tok: Token) -> str:
        return _unquote(tok, self.file)

    # names --------------------------------------------------------------------------
    def ident(self, c):
        tok = c[0]
        if tok.value in RESERVED:
            raise _Problem(error("E100", f"`{tok.value}` is a reserved word, not a name",
                                 _tok_span(tok, self.file), help=_RESERVED_HELP))
        return n.Ident(tok.value, span=_tok_span(tok, self.file))

    def field_path(self, c):
        keys = []
        for tok in c:
            if not isinstance(tok, Token) or tok.type == "DOT":
                continue
            if tok.type == "QUOTED_KEY":
                keys.append(tok.value[1:-1])
            else:
                if tok.value in RESERVED:
                    raise _Problem(
                        error(
                            "E100",
                            f"`{tok.value}` is a reserved word",
                            _tok_span(tok, self.file),
                            help=f"write a field of that name in backticks: `{tok.value}`",
                        )
                    )
                if len(c) == 1 and tok.value.lower() in _LITERAL_WORDS:
                    # `True`, `FALSE`, `None`: a spreadsheet's or Python's spelling of a
                    # literal would silently read a field that no lead has
                    word = _LITERAL_WORDS[tok.value.lower()]
                    raise _Problem(error(
                        "E100", f"`{tok.value}` is not a value of the language",
                        _tok_span(tok, self.file),
                        help=f"write `{word}` (lower case); a field named `{tok.value}` is "
                             f"written in backticks: `` `{tok.value}` ``"))
                keys.append(tok.value)
        return n.Ref(tuple(keys), span=self._span(c))

    def description(self, c):
        v = _vals(c)
        return self._str(v[0]) if v else None

    reason = description

    def owners(self, c):
        return tuple(x for x in c if isinstance(x, n.Ident))

    # header -------------------------------------------------------------------------
    def policy_decl(self, c):
        name, title = _vals(c)
        return n.PolicyHeader(name=name, title=self._str(title), span=self._span(c))

    def version_decl(self, c):
        return n.Version(label=self._str(_vals(c)[0]), span=self._span(c))

    def schema_decl(self, c):
        return n.SchemaRef(path=self._str(_vals(c)[0]), span=self._span(c))

    def id_decl(self, c):
        return n.IdField(field=_vals(c)[0], span=self._span(c))

    def team_decl(self, c):
        name, handle = _vals(c)
        return n.Team(name=name, handle=self._str(handle), span=self._span(c))

    # calendar -----------------------------------------------------------------------
    def calendar_decl(self, c):
        name, desc, *items = _vals(c)
        if name is not None and name.name == n.DEFAULT_CALENDAR:
            raise _Problem(error(
                "E103", "`default` cannot name a calendar", name.span,
                help="`on default` means the unnamed calendar: write `calendar { … }` for it, "
                     "or pick another name"))
        return n.Calendar(items=tuple(items), name=name, description=desc, span=self._span(c))

    def cal_timezone(self, c):
        return n.Timezone(name=self._str(_vals(c)[0]), span=self._span(c))

    def cal_workdays(self, c):
        return n.Workdays(days=tuple(_vals(c)), span=self._span(c))

    def cal_hours(self, c):
        a, b = _vals(c)
        return n.Hours(start=a.value, end=b.value, span=self._span(c))

    def cal_holidays(self, c):
        return n.Holidays(dates=tuple(self._str(t) for t in _vals(c)), span=self._span(c))

    # funnel, define -----------------------------------------------------------------
    def funnel_decl(self, c):
        return n.Funnel(stages=tuple(_vals(c)), span=self._span(c))

    def define_decl(self, c):
        name, desc, value = _vals(c)
        return n.Define(name=name, description=desc, value=value, span=self._span(c))

    def define_lines(self, c):
        name, desc, path = _vals(c)
        span = _tok_span(path, self.file)
        lines = n.LinesFile(self._str(path), span=span)
        return n.Define(name=name, description=desc, value=n.ListExpr((), span=span),
                        lines=lines, span=self._span(c))

    # scores -------------------------------------------------------------------------
    def score_decl(self, c):
        name, desc, owners, *items = _vals(c)
        return n.Score(name=name, description=desc, owners=owners, items=tuple(items),
                       span=self._span(c))

    def signed_points(self, c):
        sign, num = c
        value = _number(num.value)
        return (-value if sign.type == "MINUS" else value, sign)

    def signed_number(self, c):
        v = _vals(c)
        value = _number(v[-1].value)
        return (-value if len(v) == 2 else value, v[0])

    def cap(self, c):
        v = _vals(c)
        return _number(v[0].value) if v and v[0] is not None else None

    def score_if(self, c):
        (points, _), cond = _vals(c)
        return n.PointsIf(points=points, condition=cond, span=self._span(c))

    def score_per(self, c):
        (points, _), count, cap = _vals(c)
        return n.PointsPer(points=points, count=count, cap=cap, span=self._span(c))

    def score_range(self, c):
        (lo, _), (hi, _) = _vals(c)
        return n.Range(low=lo, high=hi, span=self._span(c))

    def score_decay(self, c):
        dur, since = _vals(c)
        return n.Decay(half_life=dur, since=since, span=self._span(c))

    # durations ----------------------------------------------------------------------
    _UNITS = {
        "minute": n.Unit.MINUTES, "minutes": n.Unit.MINUTES,
        "hour": n.Unit.HOURS, "hours": n.Unit.HOURS,
        "day": n.Unit.DAYS, "days": n.Unit.DAYS,
        "week": n.Unit.WEEKS, "weeks": n.Unit.WEEKS,
    }

    def time_unit(self, c):
        return self._UNITS[c[0].value]

    def business_unit(self, c):
        return n.Unit.BUSINESS_HOURS if c[0].value.startswith("hour") else n.Unit.BUSINESS_DAYS

    def duration(self, c):
        num, unit = _vals(c)
        return n.Duration(_number(num.value), unit, text=num.value, span=self._span(c))

    business_duration = duration

    # stages, states -----------------------------------------------------------------
    def stage_decl(self, c):
        name, desc, owners, *items = _vals(c)
        return n.Stage(name=name, description=desc, owners=owners, items=tuple(items),
                       span=self._span(c))

    def require(self, c):
        cond, reason = _vals(c)
        return n.Require(condition=cond, reason=reason, span=self._span(c))

    def exclude(self, c):
        cond, reason = _vals(c)
        return n.Exclude(condition=cond, reason=reason, span=self._span(c))

    def keep_when(self, c):
        return n.KeepWhen(condition=_vals(c)[0], span=self._span(c))

    def entered_at(self, c):
        return n.EnteredAt(field=_vals(c)[0], span=self._span(c))

    def state_decl(self, c):
        name, desc, owners = _vals(c)
        return n.State(name=name, description=desc, owners=owners, span=self._span(c))

    # handoffs -----------------------------------------------------------------------
    def handoff_decl(self, c):
        stage, team, *items = _vals(c)
        return n.Handoff(stage=stage, team=team, items=tuple(items), span=self._span(c))

    def route_if(self, c):
        target, cond, cal = _vals(c)
        return n.Route(target=self._str(target), condition=cond, calendar=cal,
                       span=self._span(c))

    def route_otherwise(self, c):
        target, cal = _vals(c)
        return n.Route(target=self._str(target), condition=None, calendar=cal,
                       span=self._span(c))

    def route_calendar(self, c):
        v = _vals(c)
        if not v or v[0] is None:
            return None
        if isinstance(v[0], Token):  # DEFAULT
            return n.Ident(n.DEFAULT_CALENDAR, span=_tok_span(v[0], self.file))
        return v[0]

    def handoff_calendar(self, c):
        return n.HandoffCalendar(name=_vals(c)[0], span=self._span(c))

    def field_list(self, c):
        return tuple(x for x in c if isinstance(x, n.Ref))

    def sla(self, c):
        dur, start, stops = _vals(c)
        return n.Sla(duration=dur, start=start, stops=stops, span=self._span(c))

    def escalate(self, c):
        target, dur = _vals(c)
        return n.Escalate(target=self._str(target), after=dur, span=self._span(c))

    def reject(self, c):
        state, field, reasons = _vals(c)
        return n.Reject(state=state, field=field, reasons=reasons, span=self._span(c))

    def recycle_decl(self, c):
        v = _vals(c)
        *stages, state, cond, reason = v
        return n.Recycle(stages=tuple(stages), state=state, condition=cond, reason=reason,
                         span=self._span(c))

    # examples -----------------------------------------------------------------------
    def example_decl(self, c):
        name, *items = _vals(c)
        return n.Example(name=self._str(name), items=tuple(items), span=self._span(c))

    def ex_at(self, c):
        return n.At(timestamp=self._str(_vals(c)[0]), span=self._span(c))

    def ex_lead(self, c):
        obj = _vals(c)[0]
        return n.LeadLiteral(data=obj.value, span=self._span(c))

    def ex_lead_file(self, c):
        return n.LeadFile(path=self._str(_vals(c)[0]), span=self._span(c))

    def ident_or_none(self, c):
        v = c[0]
        return None if isinstance(v, Token) and v.type == "NONE" else v

    def string_or_none(self, c):
        v = c[0]
        return None if v.type == "NONE" else self._str(v)

    def at_stage(self, c):
        v = [x for x in c if isinstance(x, n.Ident)]
        return v[0] if v else None

    def _expect(self, kind, c, **kw):
        return n.Expect(kind=kind, span=self._span(c), **kw)

    def expect_stage(self, c):
        v = _vals(c)
        return self._expect(n.ExpectKind.STAGE, c, value=v[0].name if v[0] else None)

    def expect_reached(self, c):
        v = _vals(c)
        return self._expect(n.ExpectKind.REACHED, c, value=v[0].name if v[0] else None)

    def expect_score(self, c):
        name, (value, _) = _vals(c)
        return self._expect(n.ExpectKind.SCORE, c, subject=name, value=value)

    def expect_route(self, c):
        value, at = self._two(c)
        return self._expect(n.ExpectKind.ROUTE, c, value=value, at=at)

    def _two(self, c):
        # (string_or_none result, at_stage result): both already transformed; the
        # first may be None (for `none`), so pick by position among non-keyword kids.
        kids = [x for x in c if not isinstance(x, Token)]
        return kids[0], kids[1]

    def expect_sla(self, c):
        status, at = self._two(c)
        return self._expect(n.ExpectKind.SLA, c, value=status.name, at=at)

    def expect_escalate(self, c):
        value, at = self._two(c)
        return self._expect(n.ExpectKind.ESCALATE, c, value=value, at=at)

    def expect_reason(self, c):
        kids = [x for x in c if not isinstance(x, Token)]
        return self._expect(n.ExpectKind.REASON, c, value=kids[0])

    def expect_violation(self, c):
        return self._expect(n.ExpectKind.VIOLATION, c, value=_vals(c)[0].name)

    def expect_error(self, c):
        return self._expect(n.ExpectKind.ERROR, c)

    # JSON ---------------------------------------------------------------------------
    def json_object(self, c):
        out: dict = {}
        for pair in c:
            if isinstance(pair, tuple):
                out[pair[0]] = pair[1]
        return _Json(out, self._span(c))

    def json_pair(self, c):
        key, _colon, value = c
        return (self._str(key), _json_value(value))

    def json_array(self, c):
        # None here is Lark's placeholder for the items of an empty `[]`; a JSON
        # `null` arrives as _JSON_NULL, so `[]` and `[null]` stay apart
        return _Json([_json_value(x) for x in c if x is not None and not isinstance(x, Token)],
                     self._span(c))

    def json_string(self, c):
        return self._str(c[0])

    def json_number(self, c):
        return json.loads(c[0].value)

    def json_true(self, c):
        return True

    def json_false(self, c):
        return False

    def json_null(self, c):
        return _JSON_NULL

    # expressions --------------------------------------------------------------------
    def _bin(self, op, c):
        left, right = c[0], c[-1]
        return n.Binary(op, left, right, span=self._span(c))

    def or_(self, c):
        return self._bin(n.BinOp.OR, c)

    def and_(self, c):
        return self._bin(n.BinOp.AND, c)

    def not_(self, c):
        return n.Not(c[-1], span=self._span(c))

    def comparison(self, c):
        left, op, right = c
        return n.Binary(n.BinOp(op.value), left, right, span=self._span(c))

    def in_(self, c):
        return self._bin(n.BinOp.IN, c)

    def not_in(self, c):
        return self._bin(n.BinOp.NOT_IN, c)

    def contains(self, c):
        return self._bin(n.BinOp.CONTAINS, c)

    def starts_with(self, c):
        return self._bin(n.BinOp.STARTS_WITH, c)

    def ends_with(self, c):
        return self._bin(n.BinOp.ENDS_WITH, c)

    def is_present(self, c):
        return n.Presence(c[0], True, span=self._span(c))

    def is_missing(self, c):
        return n.Presence(c[0], False, span=self._span(c))

    def arith(self, c):
        left, op, right = c
        return n.Binary(n.BinOp(op.value), left, right, span=self._span(c))

    def neg(self, c):
        return n.Neg(c[-1], span=self._span(c))

    def number(self, c):
        tok = c[0]
        return n.Number(_number(tok.value), text=tok.value, span=_tok_span(tok, self.file))

    def string(self, c):
        return n.String(self._str(c[0]), span=_tok_span(c[0], self.file))

    def true(self, c):
        return n.Bool(True, span=self._span(c))

    def false(self, c):
        return n.Bool(False, span=self._span(c))

    def null(self, c):
        return n.Null(span=self._span(c))

    def primary(self, c):
        # only `( expr )` reaches here: the other alternatives are aliased or inlined
        return c[1]

    def list(self, c):
        items = tuple(x for x in c if isinstance(x, n.Expr))
        return n.ListExpr(items, span=self._span(c))

    def call(self, c):
        name = c[0]
        args = tuple(x for x in c[1:] if isinstance(x, n.Expr))
        return n.Call(name.value, args, span=self._span(c))

    def start(self, c):
        return [x for x in c if isinstance(x, n.Stmt)]


@attrs.frozen
class _Json:
    value: object
    span: n.Span


#: A JSON ``null`` while the lead's JSON is being built (None is Lark's placeholder).
_JSON_NULL = object()


def _json_value(v: object) -> object:
    if isinstance(v, _Json):
        return v.value
    return None if v is _JSON_NULL else v


# --------------------------------------------------------------------------- comments


def _is_block(stmt: n.Stmt) -> bool:
    return isinstance(stmt, n.BLOCKS)


def _attach(stmts: list[n.Stmt], comments: list[Token], own_line: dict[int, bool],
            blank_lines: set[int]) -> tuple[list[n.Stmt], list[Token]]:
    """Hand each comment to the statement it belongs to; return the rest (after the last)."""
    inside: list[list[Token]] = [[] for _ in stmts]
    leading: list[list[Token]] = [[] for _ in stmts]
    after: list[Token] = []
    i = 0
    for c in comments:
        while i < len(stmts) and stmts[i].span.end_line < c.line:
            i += 1
        if i == len(stmts):
            after.append(c)
        elif stmts[i].span.line <= c.line:
            inside[i].append(c)
        else:
            leading[i].append(c)
    out = []
    for k, s in enumerate(stmts):
        lead = [t.value.rstrip() for t in leading[k]]
        trailing = None
        dangling: tuple[str, ...] = ()
        changes: dict = {}
        if _is_block(s):
            rest = []
            for c in inside[k]:
                if c.line == s.span.line and not own_line[id(c)]:
                    trailing = c.value.rstrip()
                else:
                    rest.append(c)
            items, left = _attach(list(s.items), rest, own_line, blank_lines)
            changes["items"] = tuple(items)
            dangling = tuple(t.value.rstrip() for t in left)
        else:
            for c in inside[k]:
                if c.line == s.span.end_line and not own_line[id(c)] and trailing is None:
                    trailing = c.value.rstrip()
                else:
                    lead.append(c.value.rstrip())
        first_line = leading[k][0].line if leading[k] else s.span.line
        changes["blank_before"] = (first_line - 1) in blank_lines
        if lead or trailing or dangling:
            changes["comments"] = n.Comments(tuple(lead), trailing, dangling)
        out.append(attrs.evolve(s, **changes))
    return out, after


# --------------------------------------------------------------------------- entry point


@attrs.frozen
class ParseResult:
    """A parsed file: the module (None after a syntax error) and its diagnostics."""

    module: n.Module | None
    diagnostics: tuple[Diagnostic, ...]


def parse(text: str, file: str = "<string>") -> ParseResult:
    """Parse one file's text. Never raises for bad input: errors come back as E100."""
    from policy.syntax.limits import scan as scan_limits

    if text.startswith("\ufeff"):
        text = text[1:]
    too_big = scan_limits(text, file)
    if too_big is not None:
        return ParseResult(None, (too_big,))
    if "\x00" in text:
        pos = text.index("\x00")
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return ParseResult(None, (error("E100", "the file holds a NUL byte: is it a text file?",
                                        n.Span(file, line, col, line, col + 1, pos, pos + 1)),))
    parser = _lark()
    _JOINER.begin(text)
    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        return ParseResult(None, (describe(exc, text, file, _JOINER.state, parser),))
    except RecursionError:
        return ParseResult(None, (error("E100", "expression nested too deeply",
                                        n.Span(file, 1, 1, 1, 2)),))
    # Every later phase walks the tree recursively: refuse depths that would overflow.
    deep = too_deep(tree, file, text)
    if deep is not None:
        return ParseResult(None, (deep,))
    glued = _JOINER.state.glued
    if glued is not None:
        end = glued.end_pos
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        word = text[glued.start_pos:end]
        span = n.Span(file, glued.line, glued.column, glued.line,
                      glued.column + len(word), glued.start_pos, end)
        return ParseResult(None, (error(
            "E100", f"expected `{glued.value}`, found `{word}`", span,
            help=f"put a space after `{glued.value}`"),))
    json_comment = _JOINER.state.json_comment
    if json_comment is not None:
        return ParseResult(None, (error(
            "E100", "a comment cannot stand inside a lead's JSON object",
            _tok_span(json_comment, file),
            help="JSON has no comments; put the comment above the `lead` line"),))
    comments = list(_JOINER.state.comments)
    try:
        stmts = ToAst(file).transform(tree)
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, _Problem):
            return ParseResult(None, (inner.diag,))
        raise
    lines = text.split("\n")
    blank = {i + 1 for i, ln in enumerate(lines) if not ln.strip()}
    own_line = {}
    for c in comments:
        line_text = lines[c.line - 1]
        own_line[id(c)] = not line_text[: c.column - 1].strip()
    decls, after = _attach(stmts, comments, own_line, blank)
    module = n.Module(
        path=file,
        decls=tuple(decls),
        trailing=tuple(t.value.rstrip() for t in after),
        source=text,
    )
    return ParseResult(module, ())


__all__ = ["ParseResult", "parse", "grammar_text", "lark_parser", "RESERVED", "CONTINUATION",
           "UnexpectedCharacters", "UnexpectedEOF", "UnexpectedToken"]
