"""What every checker pass shares: the :class:`Context` over one model (spans, words,
the reasoner), :class:`Pass`, and :func:`did_you_mean`.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
from collections.abc import Callable, Iterable

import attrs

from policy.check.reasoning import Reasoner
from policy.check.types import TypeEnv
from policy.model.namespace import Located, PolicyModel, children, stmt_exprs, walk_expr
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error

#: The statuses ``expect sla`` may name (LANGUAGE.md §4).
SLA_STATUSES = ("met", "breached", "pending", "unknown")
#: The violation codes the engine emits (LANGUAGE.md §5).
VIOLATION_CODES = ("invalid_rejection_reason", "missing_sla_start")

SNAKE = re.compile(r"[a-z][a-z0-9_]*").fullmatch
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch
_DURATION = re.compile(r"[0-9][0-9_.]*\s+(?:business\s+)?(?:minute|hour|day|week)s?\b")
TS_HELP = 'write an ISO-8601 date-time, such as "2026-11-02T15:00:00Z"'


# --------------------------------------------------------------------------- helpers


def did_you_mean(word: str, candidates: Iterable[str], limit: int = 3, *,
                 quoted: bool = False) -> str | None:
    """``did you mean `a` or `b`?`` for the known names closest to ``word``, or None.

    ``quoted`` shows the candidates as strings (``"sdr-pool"``) rather than names.
    """
    pool = sorted(set(candidates) - {word})
    close = difflib.get_close_matches(word, pool, n=limit, cutoff=0.6)
    if not close:
        return None
    names = [json_text(c) if quoted else f"`{c}`" for c in close]
    shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"did you mean {shown}?"


def json_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def snake_case(name: str) -> str:
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    return s if s and s[0].isalpha() else f"x_{s}" if s else "name"


def name_list(names: list[str]) -> str:
    shown = [f"`{x}`" for x in names]
    if len(shown) < 2:
        return shown[0] if shown else "no team"
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def number_text(x: int | float) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


class Context:
    """What the passes share: the model, sources for spans, types, names, a reasoner."""

    def __init__(self, model: PolicyModel, prior: Iterable[Diagnostic] = ()) -> None:
        self.model = model
        #: what the loader reported before the passes ran (E110 for a `lines` file)
        self.prior = tuple(prior)
        self.sources = {m.path: m.source for m in model.modules}
        self.types = TypeEnv(model)
        self._reasoners: dict[bool, Reasoner] = {}
        #: what the passes found so far (the warnings that reason about conditions stay
        #: quiet where an error was already reported: one mistake, one message)
        self.found: list[Diagnostic] = []
        self._decls: list[Located] | None = None
        self._stmts: list[n.Stmt] | None = None
        self._exprs: list[n.Expr] | None = None
        self._reported: tuple[int, dict[str, list[int]]] | None = None
        #: names declared in the one namespace: name -> its kind (for a name declared
        #: twice, E103, the first of team, define, score, stage, state)
        self.kinds: dict[str, str] = {}
        for kind, table in (
            ("team", model.teams),
            ("define", model.defines),
            ("score", model.scores),
            ("stage", model.stages),
            ("state", model.states),
        ):
            for name in table:
                self.kinds.setdefault(name, kind)

    def reasoner(self, *, score_ranges: bool = True) -> Reasoner:
        """The policy's :class:`~policy.check.reasoning.Reasoner` (one per setting, shared)."""
        r = self._reasoners.get(score_ranges)
        if r is None:
            unread = frozenset(
                loc.decl.name.name for loc in self.decls()
                if isinstance(loc.decl, n.Define) and loc.decl.lines is not None
                and self.reported_within(loc.decl.lines.span))
            r = self._reasoners[score_ranges] = Reasoner(
                self.model, use_score_ranges=score_ranges, unknown=unread
            )
        return r

    def decls(self) -> list[Located]:
        """Every declaration with its file (files by path, then source order)."""
        if self._decls is None:
            self._decls = list(self.model.all_decls())
        return self._decls

    def statements(self) -> list[n.Stmt]:
        """Every declaration and every line inside a block."""
        if self._stmts is None:
            self._stmts = [s for loc in self.decls() for s in (loc.decl, *children(loc.decl))]
        return self._stmts

    def expressions(self) -> list[n.Expr]:
        """Every expression and sub-expression of the policy, walked once."""
        if self._exprs is None:
            self._exprs = [
                e for stmt in self.statements() for root in stmt_exprs(stmt)
                for e in walk_expr(root)
            ]
        return self._exprs

    # ------------------------------------------------------------------ spans
    def span_at(self, file: str, offset: int, length: int) -> n.Span:
        """The span of ``length`` characters at ``offset`` in ``file``."""
        src = self.sources.get(file, "")
        line = src.count("\n", 0, offset) + 1
        col = offset - (src.rfind("\n", 0, offset) + 1) + 1
        return n.Span(file, line, col, line, col + length, offset, offset + length)

    def find(self, span: n.Span, needle: str, *, last: bool = False) -> n.Span:
        """The span of ``needle`` inside ``span`` (its first or last occurrence), or ``span``."""
        src = self.sources.get(span.file)
        if not src or not needle or span.end <= span.start:
            return span
        text = src[span.start : span.end]
        i = text.rfind(needle) if last else text.find(needle)
        if i < 0:
            return span
        return self.span_at(span.file, span.start + i, len(needle))

    def line_of(self, span: n.Span) -> n.Span:
        """``span`` stretched to the end of its last line (some statement spans stop
        before their last value)."""
        src = self.sources.get(span.file)
        if not src or not span.line:
            return span
        end = src.find("\n", span.end)
        end = len(src) if end < 0 else end
        return attrs.evolve(span, end=end)

    def find_word(self, span: n.Span, word: str, *, last: bool = False) -> n.Span:
        """Like :meth:`find`, but only a whole word (not part of a longer name)."""
        src = self.sources.get(span.file)
        if not src or not word or span.end <= span.start:
            return span
        pattern = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])")
        hits = list(pattern.finditer(src, span.start, span.end))
        if not hits:
            return span
        m = hits[-1] if last else hits[0]
        return self.span_at(span.file, m.start(), len(word))

    def duration(self, dur: n.Duration) -> n.Span:
        """A duration's span, through its unit (the parser's may stop before the unit)."""
        src = self.sources.get(dur.span.file)
        if not src or not dur.span.line:
            return dur.span
        m = _DURATION.match(src, dur.span.start)
        return self.span_at(dur.span.file, m.start(), m.end() - m.start()) if m else dur.span

    def keyword(self, stmt: n.Stmt, word: str) -> n.Span:
        """The span of the keyword that opens a statement."""
        s = stmt.span
        if not s.line:
            return s
        return n.Span(s.file, s.line, s.column, s.line, s.column + len(word), s.start,
                      s.start + len(word))

    def text(self, span: n.Span, limit: int = 60) -> str:
        """The source text of a span, on one line (for messages)."""
        src = self.sources.get(span.file)
        if not src or span.end <= span.start:
            return "this condition"
        text = " ".join(src[span.start : span.end].split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def reported_within(self, span: n.Span) -> bool:
        """Whether an error, or a value outside an enum (W208), found so far (by the loader
        or a pass) lies inside ``span``: the reasoning warnings would only repeat it."""
        if self._reported is None or self._reported[0] != len(self.found):
            starts: dict[str, list[int]] = {}
            for d in (*self.prior, *self.found):
                if d.is_error or d.code == "W208":
                    starts.setdefault(d.span.file, []).append(d.span.start)
            for offsets in starts.values():
                offsets.sort()
            self._reported = (len(self.found), starts)
        offsets = self._reported[1].get(span.file)
        if not offsets:
            return False
        i = bisect.bisect_left(offsets, span.start)
        return i < len(offsets) and offsets[i] < span.end

    @staticmethod
    def where(span: n.Span) -> str:
        """``file:line:col``, as help lines cite another place."""
        return f"{span.file}:{span.line}:{span.column}" if span.line else span.file

    # ------------------------------------------------------------------ names
    def expect_name(self, ident: n.Ident, want: str, code: str, context: str) -> Diagnostic | None:
        """A diagnostic when ``ident`` does not name a ``want`` (team, stage or state)."""
        table = {"team": self.model.teams, "stage": self.model.stages,
                 "state": self.model.states}[want]
        name = ident.name
        if name in table:
            return None
        help = did_you_mean(name, table)
        if help is None:
            help = declare_help(want, name) if not table else (
                f"the {want}s are " + ", ".join(f"`{t}`" for t in list(table)[:8])
                + (", …" if len(table) > 8 else "")
            )
        other = self.kinds.get(name)
        if other is not None:
            return error(code, f"expected a {want} {context}, found the {other} `{name}`",
                         ident.span, help=help)
        return error(code, f"unknown {want} `{name}`", ident.span, help=help)


def declare_help(kind: str, name: str) -> str:
    return {
        "team": f'declare it: `team {name} "@org/handle"`',
        "stage": f'declare it: `stage {name} "…" owned by TEAM {{ … }}`',
        "state": f'declare it: `state {name} "…" owned by TEAM`',
    }[kind]


@attrs.frozen
class Pass:
    """One named pass of the checker."""

    name: str
    run: Callable[[Context], Iterable[Diagnostic]]
