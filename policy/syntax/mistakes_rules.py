"""Catalog entries for mistakes in names, rules, values, units and lead JSON.

Part two of the syntax-error catalog (:mod:`policy.syntax.syntax_errors` reads
:data:`ENTRIES` after those of :mod:`policy.syntax.mistakes_tokens`).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata

from lark import Token, Tree

from policy.syntax.diagnostics import Diagnostic
from policy.syntax.error_context import (
    BUSINESS_UNITS,
    DECL_KEYWORDS,
    FIRST,
    ITEM_KEYWORDS,
    OPERATORS,
    TEAM,
    VALUE_TOKENS,
    Context,
    Mistake,
    e100,
    last_leaf,
    registrar,
)

#: This module's catalog entries, in the order they are tried.
ENTRIES: list[Mistake] = []
mistake = registrar(ENTRIES)


def _snake(value: str) -> str | None:
    s = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
    return s if s and not s[0].isdigit() else None


@mistake(
    "quoted-name",
    TEAM + 'handoff "mql" to sales {\n  route "sdr" otherwise\n}\n',
    TEAM + 'stage "mql" owned by marketing {\n  require fit >= 40\n}\n',
    TEAM + 'stage mql owned by "marketing" {\n  require fit >= 40\n}\n',
    'funnel "lead" -> mql\n',
    'example "x" {\n  expect stage "mql"\n}\n',
    'example "x" {\n  at "2026-11-02T15:00:00Z"\n  expect stage "mql"\n}\n',
)
def _quoted_name(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "STRING" or "NAME" not in ctx.accepts or "STRING" in ctx.accepts:
        return None
    try:
        value = json.loads(f.text)
    except ValueError:
        value = f.text.strip('"')
    if re.fullmatch(r"[a-z_][a-z0-9_]*", value):
        help = f"names are written without quotes: `{value}`"
    elif (s := _snake(value)) is not None:
        help = f"names are lowercase snake_case, written without quotes: `{s}`"
    else:
        help = "names are lowercase snake_case, written without quotes"
    return e100("expected a name, found a string", f.span, help=help)


@mistake(
    "route-without-condition",
    TEAM + 'handoff mql to sales {\n  route "sdr-pool" else\n}\n',
    TEAM + 'handoff mql to sales {\n  route "sdr-pool"\n}\n',
    TEAM + 'handoff mql to sales {\n  route "ae" if enterprise\n  route "sdr-pool"\n}\n',
)
def _route_without_condition(ctx: Context) -> Diagnostic | None:
    if not {"IF", "OTHERWISE"} <= ctx.accepts or len(ctx.accepts) != 2:
        return None
    last = ctx.last_token()
    target = last.value if last is not None and last.type == "STRING" else '"team"'
    f = ctx.found
    if f.text == "else":
        help = f"write `otherwise` for the route taken when no other applies: " \
               f"`route {target} otherwise`"
    else:
        help = f"write `route {target} if CONDITION`, or `route {target} otherwise` " \
               f"for the last route"
    return e100(f"expected `if` or `otherwise` after the route, found {f.words}", f.span, help=help)


def _team_in(text: str) -> str:
    m = re.search(r"(?m)^[ \t]*team[ \t]+([a-z_][a-z0-9_]*)", text)
    return m.group(1) if m else "TEAM"


@mistake(
    "missing-owned-by",
    "stage mql {\n  require fit >= 40\n}\n",
    'stage mql "Marketing qualified" {\n  require fit >= 40\n}\n',
    "score fit {\n  +10 if demo_requested\n}\n",
    'state nurture "Back with marketing"\n',
    "state nurture\n",
)
def _missing_owned_by(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if "OWNED" not in ctx.accepts or f.kind == "OWNED":
        return None
    kw = next((t for t in reversed(ctx.stack)
               if isinstance(t, Token) and t.type in ("STAGE", "SCORE", "STATE")), None)
    kind = kw.value if kw is not None else "block"
    name = "NAME"
    if kw is not None:
        idx = ctx.stack.index(kw)
        ident = ctx.stack[idx + 1] if idx + 1 < len(ctx.stack) else None
        tok = last_leaf(ident) if ident is not None else None
        name = tok.value if tok is not None else name
    example = f"{kind} {name} owned by {_team_in(ctx.text)}" + (" {" if kind != "state" else "")
    help = f"every {kind} names the teams that own it (declared with `team`): `{example}`"
    if f.kind == "NAME" and difflib.get_close_matches(f.text, ["owned"], n=1, cutoff=0.6):
        help = f"did you mean `owned by`? {help}"
    return e100(f"expected `owned by`, found {f.words}", f.span, help=help)


@mistake(
    "two-rules-on-one-line",
    TEAM + "score fit owned by marketing {\n  +10 if vp +5 if director\n}\n",
    TEAM + "score fit owned by marketing {\n  +10 if vp -5 if intern\n}\n",
    TEAM + "stage mql owned by marketing {\n  require fit >= 40 require email is present\n}\n",
    'team marketing "@acme/marketing" team sales "@acme/sales"\n',
)
def _two_rules_on_one_line(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    stack = ctx.stack
    if (f.kind in ("IF", "PER") and len(stack) >= 2 and isinstance(stack[-1], Token)
            and stack[-1].type == "NUMBER" and isinstance(stack[-2], Token)
            and stack[-2].type in ("PLUS", "MINUS")
            and any(isinstance(t, Token) and t.type == "SCORE" for t in stack)):
        sign, num = stack[-2], stack[-1]
        rule = f"{sign.value}{num.value} {f.text} …"
        return e100("two rules on one line", ctx.span(sign.start_pos, num.end_pos),
                  help=f"a rule ends at the end of its line: start `{rule}` on a line of its own")
    if "_NL" in ctx.accepts and (f.kind in ITEM_KEYWORDS or f.kind in DECL_KEYWORDS):
        what = "declarations" if f.kind in DECL_KEYWORDS else "rules"
        return e100(f"two {what} on one line", f.span,
                  help=f"start `{f.text}` on a line of its own")
    return None


_BLOCK_SHAPE = {
    "stage": "stage NAME owned by TEAM { … }",
    "score": "score NAME owned by TEAM { … }",
    "handoff": "handoff STAGE to TEAM { … }",
    "example": 'example "name" { … }',
    "calendar": "calendar { … }",
}


@mistake(
    "rule-outside-block",
    "require fit >= 40\n",
    'team marketing "@acme/marketing"\n+10 if demo_requested\n',
    TEAM + "stage mql owned by marketing {\n  require fit >= 40\n}\n  exclude competitor\n",
)
def _rule_outside_block(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if len(DECL_KEYWORDS & ctx.accepts) < 4:
        return None
    if f.kind in ITEM_KEYWORDS:
        block, rule = ITEM_KEYWORDS[f.kind], f"`{f.text}` rules"
    elif f.kind in ("PLUS", "MINUS"):
        block, rule = "score", f"points (`{f.text}10 if …`)"
    else:
        return None
    return e100(f"expected a declaration, found {f.words}", f.span,
              help=f"{rule} belong inside a `{_BLOCK_SHAPE[block]}` block; "
                   f"is a `}}` above closing the block too early?")


@mistake(
    "missing-comma",
    'define free = ["gmail.com" "yahoo.com"]\n',
    TEAM + "score fit owned by marketing sales {\n  +10 if vp\n}\n",
    'recycle sal sql to nurture if days_since(last_activity_at) > 30\n',
    'example "x" {\n  lead {"lead_id": "L-1" "email": "a@b.com"}\n}\n',
)
def _missing_comma(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if "COMMA" not in ctx.accepts or f.kind not in VALUE_TOKENS:
        return None
    prev = ctx.last_token()
    if (prev is not None and prev.type == "JSON_NUMBER" and f.kind == "JSON_NUMBER"
            and prev.end_pos == f.span.start and prev.value.lstrip("-") == "0"):
        return e100("a JSON number cannot start with `0`", ctx.span(prev.start_pos, f.span.end),
                  help=f"lead literals are strict JSON: write `{int(f.text)}`, or a string "
                       f"if the zeros matter: \"0{f.text}\"")
    openers = ctx.open_tokens()
    inner = openers[-1] if openers else None
    if ctx.in_json and inner is not None and inner.type == "LBRACE":
        what, help_tail = "fields", "lead literals are strict JSON: separate fields with `,`"
    elif ctx.in_json:
        what, help_tail = "items", "lead literals are strict JSON: separate items with `,`"
    elif inner is not None and inner.type == "LSQB":
        what, help_tail = "list items", None
    elif inner is not None and inner.type == "LPAR":
        what, help_tail = "arguments", None
    else:
        what, help_tail = "names", None
    if help_tail is None:
        if prev is not None and len(prev.value) + len(f.text) <= 48:
            help_tail = f"separate {what} with commas: `{prev.value}, {f.text}`"
        else:
            help_tail = f"separate {what} with commas"
    return e100(f"expected `,` between {what}, found {f.words}", f.span, help=help_tail)


@mistake(
    "unquoted-string",
    TEAM + "handoff mql to sales {\n  route enterprise_ae if enterprise\n}\n",
    "policy acme acme_funnel\n",
    'example "x" {\n  lead {lead_id: "L-1"}\n}\n',
)
def _unquoted_string(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    # only where a string is the one thing that fits: elsewhere the word may be a
    # missing `=`, operator or keyword rather than a string without its quotes
    if f.kind != "NAME" or ctx.accepts - {"RBRACE"} != {"STRING"}:
        return None
    help = f'write it in double quotes: "{f.text}"'
    if ctx.in_json:
        help = f'lead literals are strict JSON: keys and strings use double quotes: "{f.text}"'
    return e100(f"expected a string in double quotes, found {f.words}", f.span, help=help)


@mistake(
    "unsigned-points",
    TEAM + "score fit owned by marketing {\n  10 if demo_requested\n}\n",
)
def _unsigned_points(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    # the contextual lexer's fallback may read a stray number as JSON_NUMBER
    if f.kind not in ("NUMBER", "JSON_NUMBER") or not {"PLUS", "MINUS", "RANGE"} <= ctx.accepts:
        return None
    return e100(f"expected `+` or `-` before the points, found {f.words}", f.span,
              help=f"points carry a sign: `+{f.text} if …` adds them, `-{f.text} if …` "
                   "takes them away")


@mistake(
    "business-unit",
    TEAM + "handoff mql to sales {\n  sla 30 business minutes from mql_at until accepted_at\n}\n",
    TEAM + "handoff mql to sales {\n  escalate to \"managers\" after 1 business week\n}\n",
)
def _business_unit(ctx: Context) -> Diagnostic | None:
    if not ctx.accepts or not ctx.accepts <= BUSINESS_UNITS:
        return None
    f = ctx.found
    return e100(f"expected `hours` or `days` after `business`, found {f.words}", f.span,
              help="business time counts working hours or workdays: `4 business hours`, "
                   "`2 business days`")


@mistake(
    "duration-unit",
    TEAM + "handoff mql to sales {\n  sla 4 bizness hours from mql_at until accepted_at\n}\n",
    TEAM + "handoff mql to sales {\n  sla 4 hrs from mql_at until accepted_at\n}\n",
    TEAM + "score e owned by marketing {\n  decay half-life 30 since last_activity_at\n}\n",
)
def _duration_unit(ctx: Context) -> Diagnostic | None:
    if not {"MINUTES", "HOURS", "DAYS", "WEEKS"} <= ctx.accepts:
        return None
    f = ctx.found
    units = ["minutes", "hours", "days", "weeks"]
    choices = units + (["business"] if "BUSINESS" in ctx.accepts else [])
    close = difflib.get_close_matches(f.text.lower(), choices, n=1, cutoff=0.6) \
        if f.kind == "NAME" else []
    if close:
        help = f"did you mean `{close[0]}`?"
    else:
        help = "a duration is a number and a unit: `30 days`, `4 business hours`"
    what = "a unit (`minutes`, `hours`, `days`, `weeks`" + (
        " or `business`)" if "BUSINESS" in ctx.accepts else ")")
    return e100(f"expected {what}, found {f.words}", f.span, help=help)


_TIMEISH = re.compile(r"[0-9]{1,2}(?:[:.][0-9]{1,2})?(?:[ \t]*[aApP]\.?[mM]\.?)?")


@mistake(
    "time-of-day",
    "calendar {\n  hours 9:00 to 17:00\n}\n",
    "calendar {\n  hours 09:00 to 5pm\n}\n",
    "calendar {\n  timezone \"America/New_York\"\n  hours 9 to 17\n}\n",
)
def _time_of_day(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if "TIME" not in ctx.accepts or f.kind in ("_NL", "$END", "CHAR"):
        return None
    m = _TIMEISH.match(ctx.text, f.span.start)
    if m is None:
        return None
    shown = m.group(0)
    suggestion = _as_hhmm(shown)
    help = "write times as `HH:MM`, 24-hour, with two-digit hours"
    if suggestion is not None:
        help += f": `{suggestion}`"
    return e100(f"expected a time of day (`HH:MM`), found `{shown}`",
              ctx.span(m.start(), m.end()), help=help)


def _as_hhmm(text: str) -> str | None:
    m = re.fullmatch(r"([0-9]{1,2})(?:[:.]([0-9]{2}))?[ \t]*(?:([aApP])\.?[mM]\.?)?", text)
    if m is None:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    half = (m.group(3) or "").lower()
    if half and not 1 <= hour <= 12:
        return None
    if half == "p" and hour != 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None
    return f"{hour:02d}:{minute:02d}"


@mistake(
    "half-life",
    TEAM + "score e owned by marketing {\n  decay half life 30 days since last_activity_at\n}\n",
    TEAM + "score e owned by marketing {\n  decay halflife 30 days since last_activity_at\n}\n",
)
def _half_life(ctx: Context) -> Diagnostic | None:
    if ctx.accepts != frozenset({ctx.terminal_for("half-life")}):
        return None
    f = ctx.found
    return e100(f"expected `half-life`, found {f.words}", f.span,
              help="write `half-life` with a hyphen: `decay half-life 30 days since "
                   "last_activity_at`")


@mistake(
    "json-trailing-comma",
    'example "x" {\n  lead {"lead_id": "L-1",}\n}\n',
    'example "x" {\n  lead {"lead_id": "L-1", "tags": ["a", "b",]}\n}\n',
)
def _json_trailing_comma(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if not ctx.in_json or f.kind not in ("RBRACE", "RSQB"):
        return None
    last = ctx.last_token()
    if last is None or last.type != "COMMA":
        return None
    return e100("a trailing comma is not allowed in JSON", ctx.tok_span(last),
              help=f"lead literals are strict JSON: remove the `,` before `{f.text}`")


@mistake(
    "operator-starts-line",
    "define enterprise =\n  company.employees >= 1000\n  or company.annual_revenue >= 50_000_000\n",
    TEAM + "stage mql owned by marketing {\n  require fit >= 40\n    and demo_requested\n}\n",
)
def _operator_starts_line(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    # (`not` at the start of a line is more often a rule missing its keyword)
    if (f.kind not in OPERATORS or f.kind == "NOT" or f.kind in ctx.accepts
            or "COMP_OP" in ctx.accepts):
        return None
    line_start = ctx.text.rfind("\n", 0, f.span.start) + 1
    if ctx.text[line_start: f.span.start].strip():
        return None
    prev = ctx.last_token()
    if prev is None or prev.end_line is None or prev.end_line >= f.span.line:
        return None
    return e100(f"a rule cannot continue with {f.words} on a new line", f.span,
              help=f"a rule ends at the end of its line; to continue it, end line "
                   f"{prev.end_line} with `{f.text}` instead")


@mistake(
    "keyword-prefix",
    TEAM + "stage mql owned by marketing {\n  requires fit >= 40\n}\n",
    "stages mql owned by marketing {\n}\n",
    'policypolicy acme "Acme"\n',
    order=FIRST,
)
def _keyword_prefix(ctx: Context) -> Diagnostic | None:
    # Where no name may stand, the contextual lexer reads `requires` as the keyword
    # `require` and a name `s`: find such a keyword glued to the word after it.
    line = ctx.found.span.line
    leaves: list[Token] = []
    for item in reversed(ctx.stack):
        got = _leaves(item)
        if got and got[-1].line is not None and got[-1].line < line:
            break
        leaves[:0] = got
    for kw, nxt in zip(leaves, leaves[1:], strict=False):
        if (kw.line == line and ctx.is_keyword(kw.type) and nxt.start_pos == kw.end_pos
                and re.match(r"[A-Za-z0-9_]", str(nxt.value))):
            word = kw.value + re.match(r"[A-Za-z0-9_]*", str(nxt.value)).group(0)
            return e100(f"expected `{kw.value}`, found `{word}`",
                      ctx.span(kw.start_pos, kw.start_pos + len(word)))
    return None


def _leaves(item) -> list[Token]:
    out: list[Token] = []
    todo = [item]
    while todo:
        x = todo.pop()
        if isinstance(x, Token):
            if x.start_pos is not None and x.type != "_NL":
                out.append(x)
        elif isinstance(x, Tree):
            todo.extend(reversed(x.children))
    return out


@mistake(
    "comma-in-calendar-list",
    "calendar {\n  workdays mon, tue, wed\n}\n",
    'calendar {\n  holidays "2026-11-26", "2026-12-25"\n}\n',
)
def _comma_in_calendar_list(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "COMMA" or "COMMA" in ctx.accepts:
        return None
    kw = next((t for t in reversed(ctx.stack) if isinstance(t, Token)
               and t.type in ("WORKDAYS", "HOLIDAYS")), None)
    if kw is None:
        return None
    example = "workdays mon tue wed" if kw.type == "WORKDAYS" else \
        'holidays "2026-11-26" "2026-12-25"'
    return e100("expected the end of the line or another item, found `,`", f.span,
              help=f"`{kw.value}` lists its items with spaces, without commas: `{example}`")


@mistake(
    "non-ascii-name",
    "define cafe\u0301 = 1\n",
    "stage a owned by m {\n  require an\u0303o > 1\n}\n",
)
def _non_ascii_name(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind == "CHAR":
        at = f.span.start
    elif f.text[:1].isalpha() or f.text[:1] == "_":
        at = f.span.end
    else:
        return None
    ch = ctx.text[at: at + 1]
    # letters and digits of any script are a name's (spec section 1); a combining mark of
    # decomposed text (`e` + U+0301 for `é`) is not
    if not ch or ch.isascii() or unicodedata.category(ch) not in ("Mn", "Mc", "Me"):
        return None
    start = at
    while start > 0 and (ctx.text[start - 1].isalnum() or ctx.text[start - 1] == "_"):
        start -= 1
    end = at
    while end < len(ctx.text) and (ctx.text[end].isalnum() or ctx.text[end] == "_"
                                   or unicodedata.category(ctx.text[end]) == "Mn"):
        end += 1
    word = ctx.text[start:end]
    return e100(f"unexpected character `{ch}` in `{word}`", ctx.span(at, at + 1),
              help="names use letters, digits and `_`, and a combining mark is none of them: "
                   "write the letter precomposed (NFC), or a lead field with such "
                   f"characters in backticks: `` `{word}` ``")
