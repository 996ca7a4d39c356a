"""Catalog entries for mistakes in characters, strings, brackets and operators.

Part one of the syntax-error catalog (:mod:`policy.syntax.syntax_errors` reads
:data:`ENTRIES`; part two is :mod:`policy.syntax.mistakes_rules`). Each entry
gives broken snippets that show the mistake and a check that confirms it on a
:class:`~policy.syntax.error_context.Context`. Order matters: within its tier an
entry defined earlier is tried earlier.
"""

from __future__ import annotations

import re

from policy.syntax.diagnostics import Diagnostic
from policy.syntax.error_context import (
    CLOSER_OF,
    DECL_KEYWORDS,
    ITEM_KEYWORDS,
    LAST,
    OPENER,
    OPENER_OF,
    TEAM,
    Context,
    Mistake,
    char_words,
    clip,
    e100,
    registrar,
)

#: This module's catalog entries, in the order they are tried.
ENTRIES: list[Mistake] = []
mistake = registrar(ENTRIES)


@mistake(
    "unterminated-string",
    'policy acme "Acme funnel\n',
    'define free = ["gmail.com", "yahoo.com]\n',
    'example "x" {\n  at "2026-11-02T15:00:00Z\n}\n',
)
def _unterminated_string(ctx: Context) -> Diagnostic | None:
    if ctx.found.kind != "CHAR" or ctx.found.text != '"':
        return None
    start = ctx.found.span.start
    eol = ctx.text.find("\n", start)
    eol = len(ctx.text) if eol < 0 else eol
    if ctx.text[eol - 1: eol] == "\r":
        eol -= 1
    body = ctx.text[start + 1: eol]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            break  # the string ends on this line: something inside it is wrong
        if ch == "\\":
            esc = body[i: i + 2]
            if esc[1:] and esc[1] in '"\\/bfnrt':
                i += 2
                continue
            if re.match(r"\\u[0-9a-fA-F]{4}", body[i: i + 6]):
                i += 6
                continue
            width = 2 if len(esc) == 2 else 1
            at = start + 1 + i
            return e100(f"bad escape `{esc}` in a string", ctx.span(at, at + width),
                      help="strings use JSON escapes: `\\\"`, `\\\\`, `\\n`, `\\t`, `\\u00e9`")
        i += 1
    else:
        return e100("unterminated string", ctx.span(start, eol),
                  help='close it with `"` on the same line; a string cannot span lines')
    return None


@mistake(
    "unterminated-backtick",
    "define big = company.`annual revenue >= 1000\n",
    "define big = `` >= 1000\n",
)
def _unterminated_backtick(ctx: Context) -> Diagnostic | None:
    if ctx.found.kind != "CHAR" or ctx.found.text != "`":
        return None
    start = ctx.found.span.start
    if ctx.text.startswith("``", start):
        return e100("an empty field name in backticks", ctx.span(start, start + 2),
                    help="a key in backticks needs at least one character: "
                         "`` `annual revenue` ``")
    eol = ctx.text.find("\n", start)
    eol = len(ctx.text) if eol < 0 else eol
    return e100("unterminated field name in backticks", ctx.span(start, eol),
              help="close it with `` ` `` on the same line: `` `annual revenue` ``")


@mistake(
    "single-quotes",
    "example \"x\" {\n  lead {'lead_id': 'L-1'}\n}\n",
    "define free = ['gmail.com']\n",
)
def _single_quotes(ctx: Context) -> Diagnostic | None:
    if ctx.found.kind != "CHAR" or ctx.found.text != "'":
        return None
    start = ctx.found.span.start
    m = re.match(r"'([^'\n\"\\]*)'", ctx.text[start:])
    end = start + (m.end() if m else 1)
    suggestion = f': "{m.group(1)}"' if m else ""
    message = f"expected a string in double quotes, found `{clip(ctx.text[start:end])}`"
    if ctx.in_json:
        return e100(message, ctx.span(start, end),
                  help="lead literals are strict JSON: keys and strings use double quotes"
                  + suggestion)
    return e100(message, ctx.span(start, end), help="strings use double quotes" + suggestion)


_LOGIC = {
    "!": ("`not`", "to negate a condition: `not unsubscribed`"),
    "&": ("`and`", "to require both conditions: `a and b`"),
    "|": ("`or`", "to accept either condition: `a or b`"),
}


@mistake(
    "c-style-logic",
    'stage mql owned by marketing {\n  require !unsubscribed\n}\n',
    'stage mql owned by marketing {\n  require fit >= 40 && demo_requested\n}\n',
    'stage mql owned by marketing {\n  require fit >= 40 || demo_requested\n}\n',
)
def _c_style_logic(ctx: Context) -> Diagnostic | None:
    ch = ctx.found.text
    if ctx.found.kind != "CHAR" or ch not in _LOGIC:
        return None
    start = ctx.found.span.start
    doubled = ch != "!" and ctx.text[start + 1: start + 2] == ch
    op = ch * 2 if doubled else ch
    word, how = _LOGIC[ch]
    return e100(f"unexpected `{op}`", ctx.span(start, start + len(op)),
              help=f"write {word} {how}")


_CHAR_HELP = {
    ";": "a rule ends at the end of its line: remove the `;`",
    "\r": "a lone carriage return ends no line here: save the file with `\\n` line endings",
    "\u201c": 'use straight double quotes: "…"',
    "\u201d": 'use straight double quotes: "…"',
    "\u201e": 'use straight double quotes: "…"',
    "\u2018": 'use straight double quotes: "…"',
    "\u2019": 'use straight double quotes: "…"',
    "\u2013": "use a plain `-`",
    "\u2014": "use a plain `-`",
    "\u2192": "write the arrow as `->`",
    "\u2265": "write `>=`",
    "\u2264": "write `<=`",
    "\u2260": "write `!=`",
}


@mistake(
    "stray-character",
    "team sales @acme/sales\n",
    "define price = $50\n",
    "define x = 1;\n",
    order=LAST,
)
def _stray_character(ctx: Context) -> Diagnostic | None:
    ch = ctx.found.text
    if ctx.found.kind != "CHAR":
        return None
    help = _CHAR_HELP.get(ch)
    if help is None and ch == "@" and "STRING" in ctx.accepts:
        help = 'a team handle is a string: "@acme/sales"'
    elif help is None and (not ch.isprintable() or ch in "\u00a0\u200b\ufeff"):
        help = "remove the invisible character, or replace it with a plain space"
    elif help is None and ch.isalpha():
        help = ("names use ASCII letters, digits and `_`; write any other field key in "
                "backticks: `` `prénom` ``")
    elif help is None and ch == "\ufffd":
        help = "the file held bytes that are not UTF-8 text"
    return e100(f"unexpected character {char_words(ch)}", ctx.found.span, help=help)


@mistake(
    "unclosed",
    "stage mql owned by marketing {\n  require fit >= 40\n",
    TEAM + "stage mql owned by marketing {\n  require fit >= 40\n\nstage sal owned by sales {\n"
    "  require accepted_at is present\n}\n",
    "define x = lower(email\n",
    'define x = ["a", "b"\n',
    'define x = ["a", "b"\ndefine y = 1\n',
    'example "x" {\n  lead {"lead_id": "L-1"\n  expect stage mql\n}\n',
)
def _unclosed(ctx: Context) -> Diagnostic | None:
    st = ctx.state
    tops = [s[-1] for s in (getattr(st, "blocks", ()), getattr(st, "brackets", ()),
                            getattr(st, "json_opened", ())) if s]
    if not tops:
        return None
    opened = max(tops, key=lambda t: t.start_pos)
    json = opened in getattr(st, "json_opened", ())
    closer = CLOSER_OF.get(opened.type)
    if closer is None:
        return None
    f = ctx.found
    ch = opened.value
    close = {"{": "}", "(": ")", "[": "]"}[ch]
    if f.at_eof:
        if json:
            help = f"a lead's JSON object continues until its `{close}`: add it"
        elif opened.type == "LBRACE":
            help = "end the block with `}` on a line of its own"
        else:
            help = f"a rule continues onto the next line while a `{ch}` is open: add the `{close}`"
        return e100(f"unclosed `{ch}` opened at line {opened.line}", ctx.tok_span(opened),
                    help=help)
    later = f.span.line > opened.line
    starts_line = f.kind in DECL_KEYWORDS or (
        f.kind in ITEM_KEYWORDS and (json or opened.type != "LBRACE"))
    closes_block = f.kind == "RBRACE" and opened.type != "LBRACE"
    if later and (starts_line or closes_block) and closer in ctx.accepts:
        where = f"`{f.text}` on line {f.span.line}"
        if opened.type == "LBRACE" and not json:
            help = f"{where} starts a new declaration: add `}}` before it"
        else:
            help = f"{where} is outside the `{ch}`: add the `{close}` before it"
        return e100(f"unclosed `{ch}` opened at line {opened.line}", ctx.tok_span(opened),
                    help=help)
    return None


@mistake(
    "unmatched-closer",
    TEAM + "stage mql owned by marketing {\n  require fit >= 40\n}\n}\n",
    "define x = lower(email))\n",
)
def _unmatched_closer(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    opener = OPENER_OF.get(f.kind)
    if opener is None or f.kind in ctx.accepts:
        return None
    opens = ctx.open_tokens()
    if any(t.type == opener for t in opens):
        return None
    if opens and CLOSER_OF[opens[-1].type] in ctx.accepts:
        o = opens[-1]
        close = ctx.literals[CLOSER_OF[o.type]]
        return e100(f"expected `{close}` to close the `{o.value}` opened at line {o.line}, "
                  f"found `{f.text}`", f.span)
    return e100(f"unmatched `{f.text}`", f.span,
              help=f"no `{OPENER[opener]}` is open here for it to close; remove it")


@mistake(
    "closing-brace-on-rule-line",
    TEAM + "stage mql owned by marketing {\n  require fit >= 40 }\n",
    TEAM + "stage mql owned by marketing { require fit >= 40 }\n",
)
def _closing_brace_on_rule_line(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "RBRACE" or "_NL" not in ctx.accepts or "RBRACE" in ctx.accepts:
        return None
    if not any(t.type == "LBRACE" for t in ctx.open_tokens()):
        return None
    return e100("expected the end of the line, found `}`", f.span,
              help="a block's rules each take a line: put the closing `}` on a line of its own")


@mistake(
    "text-test-at-line-end",
    TEAM + 'stage mql owned by marketing {\n  require email contains\n    "@"\n}\n',
    TEAM + 'stage mql owned by marketing {\n  require title starts with # c\n    "vp"\n}\n',
    TEAM + 'stage mql owned by marketing {\n  require email is\n    present\n}\n',
)
def _text_test_at_line_end(ctx: Context) -> Diagnostic | None:
    """A rule ends at the end of its line unless its last token is one the spec lists
    (section 1: `=`, a comparison or arithmetic operator, `and`, `or`, `not`, `in`, `->`,
    a comma, an open bracket): `contains`, `starts with`, `ends with` and `is` are not
    among them, so the value must stand on their line."""
    f = ctx.found
    if f.kind != "_NL" or f.at_eof or ctx.in_json:
        return None
    m = re.search(r"(?<![\w`])(contains|starts[ \t]+with|ends[ \t]+with|is)[ \t]*$",
                  ctx.text[: f.span.start])
    if m is None:
        return None
    word = re.sub(r"[ \t]+", " ", m.group(1))
    what = "`present` or `missing`" if word == "is" else "a value"
    return e100(f"expected {what} after `{word}`, found the end of the line", f.span,
                help=f"a rule goes on to the next line only after `=`, a comparison or "
                f"arithmetic operator, `and`, `or`, `not`, `in`, `->` or a comma, or while "
                f"a `(` or `[` is open: put what follows `{word}` on its line")


@mistake(
    "assign-for-compare",
    TEAM + "stage mql owned by marketing {\n  require fit = 40\n}\n",
    'define vp = job_level = "vp"\n',
    TEAM + 'score fit owned by marketing {\n  +10 if job_level = "director"\n}\n',
    TEAM + 'stage mql owned by marketing {\n  require fit >= 40 and country = "US"\n}\n',
    TEAM + "stage mql owned by marketing {\n  require fit => 40\n}\n",
    TEAM + "stage mql owned by marketing {\n  require fit =< 40\n}\n",
)
def _assign_for_compare(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "EQUAL" or "COMP_OP" not in ctx.accepts:
        return None
    after = ctx.text[f.span.end: f.span.end + 1]
    if after in ("<", ">"):
        flipped = after + "="
        meaning = "at least" if after == ">" else "at most"
        return e100(f"expected a comparison, found `={after}`",
                  ctx.span(f.span.start, f.span.end + 1),
                  help=f'write `{flipped}` for "{meaning}"')
    return e100("expected a comparison, found `=`", f.span, help="use `==` to compare")


# --------------------------------------------------------------------------- words

#: Keywords people type in capitals (SQL, Excel habits), lower-cased by the language.
_CAPITAL_KEYWORDS = {"and", "or", "not", "in", "is", "if", "otherwise", "contains", "per",
                     "present", "missing", "starts", "ends", "with", "up", "to"}


@mistake(
    "capitalised-keyword",
    'stage mql owned by marketing {\n  require fit >= 40 AND demo_requested\n}\n',
    'stage mql owned by marketing {\n  require fit >= 40 OR demo_requested\n}\n',
    'stage mql owned by marketing {\n  require NOT unsubscribed\n}\n',
    'stage mql owned by marketing {\n  require country IN ["US", "CA"]\n}\n',
)
def _capitalised_keyword(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    for tok_text, start in ((f.text, f.span.start), *_previous_word(ctx)):
        lower = tok_text.lower()
        if lower in _CAPITAL_KEYWORDS and tok_text != lower:
            return e100(f"unexpected `{tok_text}`", ctx.span(start, start + len(tok_text)),
                        help=f"keywords are lower case: write `{lower}`")
    return None


def _previous_word(ctx: Context) -> list[tuple[str, int]]:
    """The word just before the found token on its line (`NOT` in `NOT unsubscribed`)."""
    prefix = ctx.text[: ctx.found.span.start]
    m = re.search(r"([A-Za-z]+)[ \t]+$", prefix)
    return [(m.group(1), m.start(1))] if m else []


@mistake(
    "space-in-field-path",
    'stage mql owned by marketing {\n  require Company.Annual Revenue >= 5_000_000\n}\n',
    'stage mql owned by marketing {\n  require Number of Employees >= 50\n}\n',
)
def _space_in_field_path(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "NAME" or ctx.in_json:
        return None
    try:
        if ctx.terminal_for(",") in ctx.accepts:
            return None  # inside a call or list, a missing comma is likelier
    except KeyError:
        pass
    if "COMP_OP" not in ctx.accepts:
        return None  # not after an expression (`state nurture ownedby`)
    line_start = ctx.text.rfind("\n", 0, f.span.start) + 1
    prefix = ctx.text[line_start: f.span.start]
    if not prefix.endswith((" ", "\t")):
        return None
    # the words before the found one, back to the first keyword or operator
    words: list[str] = []
    pos = len(prefix)
    for m in reversed(list(re.finditer(r"\S+", prefix))):
        word = m.group(0)
        plain = _PATH_WORD(word) if not words else _WORD(word)
        if not plain or word.lower() in _CAPITAL_KEYWORDS or ctx.is_keyword(word.upper()) \
                or (words and prefix[m.end(): pos].strip()):
            break
        words.insert(0, word)
        pos = m.start()
    if not words or "`" in words[-1].rpartition(".")[2]:
        return None
    path = words[0]
    if "." not in path and not path[:1].isupper():
        return None  # `a b`: too little to tell a key with a space from a missing operator
    head, _, last = path.rpartition(".")
    key = "`" + " ".join([last, *words[1:], f.text]) + "`"
    fixed = f"{head}.{key}" if head else key
    start = line_start + pos
    return e100(f"unexpected `{f.text}` after the field `{path}`",
                ctx.span(start, f.span.end),
                help=f"a key with spaces is written in backticks: {fixed}")


_WORD = re.compile(r"[A-Za-z_]\w*").fullmatch
_PATH_WORD = re.compile(r"(?:[A-Za-z_]\w*|`[^`]*`)(?:\.(?:\w+|`[^`]*`))*").fullmatch


@mistake(
    "expect-without-kind",
    'example "x" {\n  at "2026-11-02T15:00:00Z"\n  lead {"a": 1}\n  expect fit 35\n}\n',
)
def _expect_without_kind(ctx: Context) -> Diagnostic | None:
    f = ctx.found
    if f.kind != "NAME" or not {"SCORE", "STAGE"} <= ctx.accepts:
        return None
    rest = ctx.text[f.span.end: ctx.text.find("\n", f.span.end) % (len(ctx.text) + 1)]
    if re.match(r"[ \t]+-?[0-9]", rest):
        fix = f"expect score {f.text}{rest.rstrip()}"
        return e100(f"expected what to expect (`score`, `stage`, …), found `{f.text}`",
                    f.span, help=f"a score is expected as `{fix.strip()}`")
    return None
