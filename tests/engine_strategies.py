"""Hypothesis strategies for the engines: valid policies (as text) and leads.

``policies()`` draws the text of a whole policy that loads without errors: a
funnel of 1 to 4 stages with owners, a handoff at every boundary where the
owning team changes (and sometimes elsewhere), 0 to 3 scores with ``if``,
``per`` (with and without ``up to``), ``range`` and ``decay``, defines (lists,
conditions, arithmetic, some reading scores), ``require`` / ``exclude`` /
``keep when``, routes ending in ``otherwise``, SLAs in business and fixed
durations (a calendar whenever business time is used), escalation, rejection
with agreed reasons (a list or a define), and recycle rules. Strings include
hostile text (quotes, backslashes, ``__import__``, newlines, ``\\u2028``). Since
session 11 also: defines reading defines (two deep), ``entered at``, ``length`` and
``lower`` of several texts, two instants in one comparison, and fields two keys deep
(``company.hq.city``, ``company.hq.año``: a key in letters of another script). Since
session 16 also list fields (:data:`LIST_FIELDS`: ``contains``, ``in``, ``length``) whose
items are of every kind, objects and lists included. Since session 21, weighted so that
each stands in a fifth to nearly half of the policies (``bench/gen_coverage.py``, the
"combo:" rows): SLAs with two to four ``until`` fields, escalation in several handoffs,
recycle rules on the rejection (``rejection_reason``, ``rejected_at``) with reasons, a
score that is a whole model (``per ... up to``, ``range`` and decay), a define (``icp``)
read in a gate, a score and the first route; and leads with lists of objects.

The policies have no schema and use one small field vocabulary (:data:`FIELDS`);
``leads()`` draws leads over the same vocabulary: values of the right kind,
missing keys, nulls, wrong kinds (a string where a number is expected, a number
where an object is), and timestamps before and after :data:`AS_OF`.
``leads_for(model)`` draws leads for any policy (the fields it reads, any kind of
value), and ``mutated(leads)`` varies real leads (an example's).

Also here, because both engine test modules need them: :func:`load_text` (parse,
build and check a policy's text, as the loader does) and :func:`prepare_ts` (a
lead's ``ts`` tuple, as ``policy.api`` prepares it).

Import from a test module as ``from engine_strategies import policies, leads``.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs
from hypothesis import strategies as st

from policy.check.checker import check_policy
from policy.engine import runtime as rt
from policy.engine.timestamps import format_timestamp, parse_timestamp
from policy.model.calendar import work_calendar
from policy.model.lines import fill_lines
from policy.model.namespace import PolicyModel, build_model, refs_in
from policy.syntax import nodes as n
from policy.syntax.parser import parse

#: (session 20) `st.sampled_from` and `st.integers` of the same arguments, built once:
#: an equal strategy draws the same values from the same choices (and has the same
#: label), and the generators built a new one of each per draw, which Hypothesis
#: validated again before drawing from it.
_SAMPLED: dict[tuple, st.SearchStrategy] = {}


def _sampled(values) -> st.SearchStrategy:
    """``st.sampled_from(values)``, the same object for equal scalar values (by kind and
    text, so ``1``, ``1.0``, ``True`` and ``-0.0``, ``0.0`` stay apart)."""
    if not all(type(v) in (str, int, float, bool, type(None)) for v in values):
        return st.sampled_from(values)  # lists or objects among them: built each time
    key = tuple((type(v), repr(v)) for v in values)  # -0.0 is not 0.0 here
    found = _SAMPLED.get(key)
    if found is None:
        found = _SAMPLED[key] = st.sampled_from(values)
    return found


@functools.cache
def _integers(low: int, high: int) -> st.SearchStrategy:
    return st.integers(low, high)

# --------------------------------------------------------------------------- vocabulary

#: The evaluation instant most leads are decided at: a Tuesday, 10:30 in New York.
AS_OF = parse_timestamp("2026-12-01T15:30:00Z")
#: Instants to decide at: AS_OF, a Saturday, a holiday, the night DST ends in New York.
AS_OFS = (
    AS_OF,
    parse_timestamp("2026-11-28T12:00:00Z"),
    parse_timestamp("2026-11-26T15:00:00Z"),
    parse_timestamp("2026-11-01T06:30:00Z"),
)

#: (session 11) two levels deep, and a key in letters of another script (spec 1, v1.1)
NUMBER_FIELDS = ("employees", "visits", "company.size", "company.`annual revenue`",
                 "company.hq.año")
STRING_FIELDS = {
    "level": ("vp", "director", "ic", "VP", "DİRECTOR"),
    "country": ("US", "DE", "FR", "GB"),
    "source": ("webinar", "paid", "event", "straße", "İstanbul", "EVENT"),
    # (session 18) texts whose lower case is not their case fold, or that grow when
    # lowered (İ), for `lower`, `length` and the case-blind text tests
    "company.hq.city": ("Köln", "NYC", "ΣΟΦΙΑ", "", "İstanbul", "STRASSE", "straße", "ǅ"),
}
BOOL_FIELDS = ("demo", "competitor", "unsubscribed", "bant.budget", "bant.need")
TIMESTAMP_FIELDS = ("mql_at", "accepted_at", "rejected_at", "last_seen", "company.enriched_at")
REASON_FIELD = "rejection_reason"
REASONS = ("bad fit", "no budget", "duplicate")
#: (session 16) list fields, as a CRM exports tags and a company's domains: their items
#: are texts (any case, non-ASCII), numbers, booleans, nulls, and objects and lists
#: (a list of objects, such as ``[{"name": "vp"}]``).
LIST_FIELDS = ("tags", "company.domains")
_LIST_ITEM = st.one_of(
    _sampled(("vp", "VP", "director", "Köln", "köln", "ΣΟΦΙΑ", "", "gmail.com",
                     "GMAIL.com")),
    _sampled((4, 4.0, 0, -1.5)), st.booleans(), st.none(),
    _sampled(({"name": "vp"}, {}, {"name": "VP", "n": 4})),
    _sampled((["vp"], [4], []))).map(copy.deepcopy)
#: (session 18) also a list that ends in a null, as an export pads a short list
#: (session 21) a CRM's list of objects (contacts, domains with their source), mostly
#: objects among a few plain items: drawn item by item, such a list stood in 4.5 % of leads
_OBJECT_ITEM = st.sampled_from(({"name": "vp"}, {}, {"name": "VP", "n": 4},
                                {"domain": "gmail.com", "verified": True},
                                {"name": "Köln", "tags": ["vp"]}, {"name": None})
                               ).map(copy.deepcopy)
_LISTS = st.one_of(st.lists(_LIST_ITEM, min_size=1, max_size=5),
                   st.lists(_LIST_ITEM, max_size=3).map(lambda xs: [*xs, None]))
_OBJECT_LISTS = st.tuples(st.lists(_OBJECT_ITEM, min_size=2, max_size=3),
                          st.lists(_LIST_ITEM, max_size=1)).map(lambda t: [*t[0], *t[1]])

#: Every field a generated policy may read, as the policy spells it.
FIELDS = (*NUMBER_FIELDS, *STRING_FIELDS, "email", *BOOL_FIELDS, *TIMESTAMP_FIELDS, REASON_FIELD,
          *LIST_FIELDS)

STAGES = ("lead", "mql", "sal", "sql")
TEAMS = ("marketing", "sales", "success")
STATES = ("nurture", "disqualified")
SCORES = ("fit", "engagement", "intent")

#: Text that must stay data: quotes, backslashes, code, line breaks, non-ASCII.
HOSTILE = (
    'say "hi"',
    "back\\slash",
    "__import__('os').system('echo pwned')",
    "line\nbreak",
    "para\u2028graph",
    "'''; raise SystemExit #",
    '"""',
    "{}{{}}%s",
    "naïve café ☕",
    "\t\r\x0c",
)

_FAR_EAST = timezone(timedelta(hours=9, minutes=30))
_FAR_WEST = timezone(timedelta(hours=-8))
_WORKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ZONES = ("America/New_York", "UTC", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney")

#: (v1.1) ``lines`` files a generated policy may name, with their text: values of the
#: string fields (so membership holds for some leads), hostile text, a byte-order mark,
#: CRLF endings, comments, blank lines, padding and a repeated entry (W206).
LIST_FILES = {
    "levels.txt": "\ufeff# levels\r\nvp\r\n  director  \r\n\r\nVP\r\n",
    "places.txt": "# countries\nDE\n\tGB\n# FR\nUS\nDE\n",
    "mixed.txt": "webinar\nna\u00efve caf\u00e9 \u2615\nsay \"hi\"\nback\\\\slash\n"
                 "\x27\x27\x27; raise SystemExit #\nevent\n",
    "empty.txt": "# nothing yet\n\n",
}


def quote(text: str) -> str:
    """A policy string literal for ``text`` (JSON escapes, as the grammar reads them)."""
    return json.dumps(text, ensure_ascii=False)


# --------------------------------------------------------------------------- expressions

_cmp = _sampled(("==", "!=", "<", "<=", ">", ">="))
_order = _sampled(("<", "<=", ">", ">="))
_small = st.one_of(_integers(0, 3000).map(str), _sampled(("0.5", "2.5", "1_000")))


@st.composite
def _number_literal(draw) -> str:
    text = draw(_small)
    return f"-{text}" if draw(st.booleans()) and draw(st.booleans()) else text


@st.composite
def _timestamp_literal(draw) -> str:
    moment = datetime(2026, 12, 1, 15, 30, tzinfo=UTC) + timedelta(
        hours=draw(_integers(-24 * 60, 24 * 10)))
    form = draw(_sampled(("date", "zulu", "offset")))
    if form == "date":
        return quote(moment.date().isoformat())
    if form == "zulu":
        return quote(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return quote(moment.astimezone(_FAR_EAST).isoformat())


def _str_list(values) -> st.SearchStrategy[str]:
    return st.lists(_sampled(values), min_size=0, max_size=3, unique=True).map(
        lambda xs: "[" + ", ".join(quote(x) for x in xs) + "]")


@attrs.frozen
class _Scope:
    """What an expression may name: earlier scores, list defines, condition defines."""

    scores: tuple[str, ...] = ()
    string_lists: tuple[str, ...] = ()
    number_lists: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    #: (session 19) the policy will load under a schema from :func:`schemas`, which types
    #: each field as the policy reads it: no list literal holds an item of another kind
    typed: bool = False


#: (session 18) items of a list of mixed kinds; (session 19) under a schema, a field's
#: list holds its own kind and null only (another kind there is E102 at load)
_MIXED_ITEMS = ('1', '"1"', "true", "null", "4.0", '"vp"', '"US"', "0", "false", '"köln"',
                "-1.5")
_KIND_ITEMS = {"number": ("1", "null", "4.0", "0", "-1.5", "2.5"),
               "text": ('"1"', "null", '"vp"', '"US"', '"köln"', '""', '"VP"'),
               "boolean": ("true", "false", "null")}


@st.composite
def _atom(draw, scope: _Scope) -> str:
    choices = ["num", "str", "strlist", "bool", "presence", "time", "text", "arith", "numlist",
               "list", "mixed", "time", "text", "list"]
    if scope.scores:
        choices += ["score", "score"]
    if scope.conditions:
        choices.append("define")
    if scope.numbers:
        choices.append("numdefine")
    kind = draw(_sampled(choices))
    if kind == "num":
        return f"{draw(_sampled(NUMBER_FIELDS))} {draw(_cmp)} {draw(_number_literal())}"
    if kind == "str":
        field = draw(_sampled(sorted(STRING_FIELDS)))
        value = draw(_sampled(STRING_FIELDS[field] + ("", "zz")))
        return f"{field} {draw(_cmp)} {quote(value)}"
    if kind == "strlist":
        field = draw(_sampled(sorted(STRING_FIELDS)))
        op = draw(_sampled(("in", "not in")))
        if scope.string_lists and draw(st.booleans()):
            return f"{field} {op} {draw(_sampled(scope.string_lists))}"
        return f"{field} {op} {draw(_str_list(STRING_FIELDS[field]))}"
    if kind == "numlist":
        field = draw(_sampled(NUMBER_FIELDS))
        op = draw(_sampled(("in", "not in")))
        if scope.number_lists and draw(st.booleans()):
            return f"{field} {op} {draw(_sampled(scope.number_lists))}"
        items = draw(st.lists(_small, max_size=3))
        return f"{field} {op} [{', '.join(items)}]"
    if kind == "bool":
        field = draw(_sampled(BOOL_FIELDS))
        form = draw(_sampled(("{f}", "{f} == true", "{f} == false", "{f} != true",
                                     "not {f}")))
        return form.format(f=field)
    if kind == "presence":
        field = draw(_sampled(FIELDS))
        return f"{field} is {draw(_sampled(('present', 'missing')))}"
    if kind == "time":
        field = draw(_sampled(TIMESTAMP_FIELDS))
        form = draw(_sampled(("days", "hours", "literal", "field")))
        if form == "literal":
            return f"{field} {draw(_cmp)} {draw(_timestamp_literal())}"
        if form == "field":  # (session 18) two timestamp fields in time order
            return f"{field} {draw(_cmp)} {draw(_sampled(TIMESTAMP_FIELDS))}"
        fn = "days_since" if form == "days" else "hours_since"
        if draw(_integers(0, 4)) == 0:  # (session 11) two instants in one comparison
            other = draw(_sampled(TIMESTAMP_FIELDS))
            return f"days_since({field}) * 24 {draw(_order)} hours_since({other})"
        return f"{fn}({field}) {draw(_cmp)} {draw(_number_literal())}"
    if kind == "text":
        form = draw(_sampled((
            'email ends with "@gmail.com"', 'email contains "BIG"', 'email starts with "a"',
            'email contains ["x", "@yahoo"]', 'lower(level) == "vp"',
            'domain(email) in ["gmail.com", "bigco.com"]', "length(email) > 12",
            "domain(email) is missing", 'level contains "v"',
            # (session 11) length and case of other texts, arithmetic on lengths
            "length(level) >= 2", "length(email) - 3 > length(level)",
            "length(company.hq.city) == 4", 'lower(company.hq.city) == "köln"',
            'company.hq.city starts with "σ"', 'country ends with "e"',
            'domain(email) == "gmail.com"', "length(lower(level)) < 3",
            # (session 18) the case-blind tests on texts whose case fold is not their
            # lower case (ß, İ, final Σ, ǅ), on both sides
            'email ends with "@GMAIL.COM"', 'level ends with "P"', 'email ends with "m"',
            'company.hq.city ends with "SSE"', 'company.hq.city starts with "i̇s"',
            'company.hq.city contains "ß"', 'company.hq.city contains "ss"',
            'company.hq.city starts with "ǆ"', 'lower(company.hq.city) == "i̇stanbul"',
            "length(lower(company.hq.city)) > length(company.hq.city)",
            'company.hq.city ends with ["A", "n"]', 'level starts with ["d", "V"]',
            'company.hq.city == "straße"', 'lower(company.hq.city) in ["köln", "straße"]',
            'source ends with "SSE"', 'source starts with "i̇"', 'lower(source) == "i̇stanbul"',
            'source contains "ß"', 'lower(level) == "director"', 'level contains "İ"',
            'source ends with ["NT", "ß"]', "length(lower(source)) > 8",
        )))
        return form
    if kind == "arith":
        a, b = draw(_sampled(NUMBER_FIELDS)), draw(_sampled(NUMBER_FIELDS))
        form = draw(_sampled(("{a} * 2 + {b}", "{a} / 4", "{a} - {b}", "-{a}",
                                     "({a} + 10) / {b}")))
        return f"{form.format(a=a, b=b)} {draw(_order)} {draw(_number_literal())}"
    if kind == "score":
        score = draw(_sampled(scope.scores))
        form = draw(_sampled(("{s} {op} {x}", "{s} + 5 {op} {x}", "{s} {op} {t}")))
        other = draw(_sampled(scope.scores))
        return form.format(s=score, op=draw(_cmp), x=draw(_number_literal()), t=other)
    if kind == "list":  # (session 16) a list field: contains, in, length
        field = draw(_sampled(LIST_FIELDS))
        form = draw(_sampled((
            '{l} contains "vp"', "length({l}) {op} 2", '{l} contains ["köln", "x"]',
            "{l} contains 4", "{l} contains true", "{s} in {l}", "{s} not in {l}",
            '"gmail.com" in {l}', "domain(email) in {l}", "{l} contains {s}",
            "{l} is present", "{n} in {l}", '{l} contains ""', "length({l}) {op} 0")))
        return form.format(l=field, s=draw(_sampled(sorted(STRING_FIELDS))),
                           n=draw(_sampled(NUMBER_FIELDS)), op=draw(_cmp))
    if kind == "mixed":  # (session 18) lists of mixed kinds: 1, "1", true, null, 4.0
        field = draw(_sampled((*NUMBER_FIELDS, *sorted(STRING_FIELDS), *BOOL_FIELDS)))
        pool = _MIXED_ITEMS
        if scope.typed:
            pool = _KIND_ITEMS["number" if field in NUMBER_FIELDS else
                               "text" if field in STRING_FIELDS else "boolean"]
        items = draw(st.lists(_sampled(pool), min_size=1, max_size=4, unique=True))
        return f"{field} {draw(_sampled(('in', 'not in')))} [{', '.join(items)}]"
    if kind == "numdefine":
        return f"{draw(_sampled(scope.numbers))} {draw(_cmp)} {draw(_number_literal())}"
    return draw(_sampled(scope.conditions))


@st.composite
def conditions(draw, scope: _Scope = _Scope(), depth: int = 2) -> str:
    """The text of a condition over the vocabulary and what ``scope`` names."""
    if depth <= 0 or draw(_integers(0, 2)) == 0:
        return draw(_atom(scope))
    form = draw(_sampled(("and", "or", "not")))
    if form == "not":
        return f"not ({draw(conditions(scope, depth - 1))})"
    left = draw(conditions(scope, depth - 1))
    right = draw(conditions(scope, depth - 1))
    return f"({left}) {form} ({right})"


# --------------------------------------------------------------------------- durations


@st.composite
def _duration(draw, *, business: bool) -> str:
    amount = draw(_sampled(("1", "2", "4", "8", "1.5", "30", "0.25")))
    units = ["minutes", "hours", "days", "weeks"]
    if business:
        units += ["business hours", "business days", "business hours", "business day",
                  "business hour", "business days"]
    return f"{amount} {draw(_sampled(units))}"


@st.composite
def _calendar(draw, name: str | None = None) -> str:
    days = draw(st.lists(_sampled(_WORKDAYS), min_size=1, max_size=7, unique=True))
    start = draw(_integers(0, 20))
    end = draw(_integers(start + 1, 24))
    holidays = draw(st.lists(_sampled(("2026-11-26", "2026-11-27", "2026-12-01",
                                              "2026-12-25", "2026-11-01", "2026-11-30")),
                             min_size=draw(_sampled((0, 1, 1))), max_size=3,
                             unique=True))
    head = "calendar {" if name is None else f"calendar {name} {quote(name.upper())} {{"
    lines = [
        head,
        f"  timezone {quote(draw(_sampled(_ZONES)))}",
        f"  workdays {' '.join(days)}",
        f"  hours {start:02d}:{draw(_sampled(('00', '30')))} to {end:02d}:00",
    ]
    if holidays:
        lines.append("  holidays " + " ".join(quote(h) for h in holidays))
    return "\n".join([*lines, "}"])


# --------------------------------------------------------------------------- policies


def _text(draw, plain: tuple[str, ...]) -> str:
    return draw(st.one_of(_sampled(plain), _sampled(HOSTILE)))


@st.composite
def _score(draw, name: str, scope: _Scope, extra: tuple[str, ...] = ()) -> str:
    owners = ", ".join(draw(st.lists(_sampled(TEAMS), min_size=1, max_size=2,
                                     unique=True)))
    lines = [f"score {name} {quote(name.title())} owned by {owners} {{", *extra]
    # (session 21) one score in three is a whole lead-scoring model: `per` with `up
    # to`, a `range` and a decay together (drawn line by line, all four met in few)
    full = draw(_sampled((True, False, False)))
    if full:
        field = draw(_sampled((*NUMBER_FIELDS, *scope.scores)))
        lines.append(f"  {draw(_sampled('+-'))}{draw(_sampled(('1', '2.5', '0.5', '10')))}"
                     f" per {field} up to {draw(_small)}")
    for _ in range(draw(_integers(1, 5))):
        sign = draw(_sampled("+-"))
        points = draw(_sampled(("5", "10", "15", "30", "40", "2.5", "0")))
        if draw(_integers(0, 3)) == 0:
            field = draw(_sampled((*NUMBER_FIELDS, *scope.scores)))
            cap = f" up to {draw(_small)}" if draw(st.booleans()) else ""
            lines.append(f"  {sign}{points} per {field}{cap}")
        else:
            lines.append(f"  {sign}{points} if {draw(conditions(scope))}")
    if full or draw(st.booleans()):
        low = draw(_integers(-20, 20))
        lines.append(f"  range {low} to {low + draw(_integers(0, 120))}")
    if full or draw(st.booleans()):
        amount = draw(_sampled(("1", "7", "30", "0.5")))
        unit = draw(_sampled(("days", "hours", "weeks", "minutes")))
        lines.append(f"  decay half-life {amount} {unit} since "
                     f"{draw(_sampled(TIMESTAMP_FIELDS))}")
    return "\n".join([*lines, "}"])


@st.composite
def _stage(draw, name: str, owner: str, scope: _Scope, extra: tuple[str, ...] = ()) -> str:
    lines = [f"stage {name} {quote(name.upper())} owned by {owner} {{", *extra]
    # few lines, so that leads get through to the deeper stages and their handoffs
    for _ in range(draw(_integers(0, 2))):
        word = draw(_sampled(("require", "require", "exclude")))
        reason = f" {quote(_text(draw, ('not yet', 'blocked')))}" if draw(st.booleans()) else ""
        lines.append(f"  {word} {draw(conditions(scope, depth=1))}{reason}")
    if draw(_integers(0, 2)) == 0:
        lines.append(f"  keep when {draw(conditions(scope, depth=1))}")
    if draw(_integers(0, 3)) == 0:  # (v1.1) changes no decision, in any engine
        lines.append(f"  entered at {draw(_sampled(TIMESTAMP_FIELDS))}")
    return "\n".join([*lines, "}"])


@st.composite
def _handoff(draw, stage: str, team: str, scope: _Scope, *, business: bool,
             calendars: tuple[str, ...] = (), unnamed: bool = True,
             first_route: str | None = None) -> str:
    """A handoff; with named ``calendars`` (v1.1) it may count on one by default
    (``calendar NAME``) and its routes on others (``on NAME``, ``on default``). Every
    route must then have a calendar: ``unnamed`` says whether the default one exists."""
    lines = [f"handoff {stage} to {team} {{"]
    own = None
    if calendars and (not unnamed or draw(_sampled((True, False, True)))):
        own = draw(_sampled(calendars))
        lines.append(f"  calendar {own}")
    choices = (*calendars, *(("default", "default") if unnamed else ()))

    def on() -> str:
        if calendars and draw(_sampled((True, False, True))):
            return f" on {draw(_sampled(choices))}"
        return ""

    # (session 18) weighted choices, not `integers(0, n)`: Hypothesis draws 0 from a
    # small range far more often than 1 in n, so routes and SLAs were rarer than written
    if first_route is not None or draw(_sampled((True, True, True, False))):
        if first_route is not None:  # (session 21) a define the gates and scores read
            lines.append(f"  route {quote('named-accounts')} if {first_route}{on()}")
        for _ in range(draw(_integers(0, 2))):
            target = _text(draw, ("enterprise-ae", "mid-market", "sdr"))
            lines.append(f"  route {quote(target)} if {draw(conditions(scope))}{on()}")
        lines.append(f"  route {quote(_text(draw, ('pool', 'default')))} otherwise{on()}")
    if draw(_sampled((True, False, True))):
        # (session 21) how many `until` fields is drawn first and weighted: a list's own
        # size (min_size 2, max_size 3) came out 2 nearly always, so an SLA with several
        # stops stood in 2.5 % of the policies; a CRM stops the clock on acceptance,
        # rejection, a meeting or a reply, so 1, 2, 3 or 4 stops
        size = 1 + draw(_sampled((1, 1, 2, 3, 4)))
        start, *stops = draw(st.lists(_sampled(TIMESTAMP_FIELDS), min_size=size,
                                      max_size=size, unique=True))
        lines.append(f"  sla {draw(_duration(business=business))} from {start} "
                     f"until {', '.join(stops)}")
        # (session 21) weighted, so that two handoffs escalate in one policy (a chain:
        # the SDR's manager, then sales' VP) in more than a few draws
        if draw(_sampled((True, True, True, False))):
            target = _text(draw, ("managers", "vp-sales"))
            # mostly short, so that leads with no stop do escalate
            after = draw(st.one_of(_duration(business=business), _sampled(
                ("30 minutes", "1 hours", "2 days", *(("4 business hours",) * business)))))
            lines.append(f"  escalate to {quote(target)} after {after}")
    if draw(st.booleans()):
        state = draw(_sampled(STATES))
        if draw(st.booleans()):
            reasons = "agreed_reasons"
        else:
            reasons = draw(st.lists(_sampled((*REASONS, *HOSTILE[:3])), min_size=1,
                                    max_size=4, unique=True))
            reasons = "[" + ", ".join(quote(r) for r in reasons) + "]"
        lines.append(f"  reject to {state} with reason {REASON_FIELD} in {reasons}")
    return "\n".join([*lines, "}"])


@st.composite
def policies(draw, *, typed: bool = False) -> str:
    """The text of a valid policy over :data:`FIELDS` (one file, no schema). With
    ``typed``, also valid under any schema :func:`schemas` draws (each field typed as
    the policy reads it): the lists of mixed kinds hold the field's own kind and null."""
    business = draw(_sampled((True, False, True)))
    out = ['policy generated "A generated policy"', 'version "1"', "id lead_id"]
    out += [f'team {t} "@acme/{t}"' for t in TEAMS]
    # two or more stages in most draws (a handoff needs a next stage); one stays possible
    stages = STAGES[: draw(_sampled((2, 3, 4, 1)))]
    # v1.1: named calendars beside (or instead of) the unnamed one
    calendars: tuple[str, ...] = ()
    unnamed = True
    if business:
        calendars = tuple(draw(st.lists(_sampled(("emea", "apac")), max_size=2,
                                        min_size=draw(_sampled((0, 1, 1))),
                                        unique=True)))
        unnamed = not calendars or draw(_sampled((True, False, True)))
        if unnamed:
            out.append(draw(_calendar()))
        out += [draw(_calendar(name)) for name in calendars]
    out.append("funnel " + " -> ".join(stages))

    # defines: lists, conditions and numbers over fields (scores may use these)
    out.append(f"define agreed_reasons = {draw(_str_list(REASONS + HOSTILE[:2]))}")
    out.append(f"define good_levels = {draw(_str_list(STRING_FIELDS['level']))}")
    out.append(f"define sizes = [{', '.join(draw(st.lists(_small, max_size=3)))}]")
    lists: tuple[str, ...] = ("good_levels",)
    if draw(st.booleans()):  # v1.1: a list kept in a file
        out.append(f"define listed = lines {quote(draw(_sampled(sorted(LIST_FILES))))}")
        lists += ("listed",)
    base = _Scope(string_lists=lists, number_lists=("sizes",), typed=typed)
    out.append(f"define big = {draw(conditions(base, depth=1))}")
    out.append(f"define weighted = {draw(_sampled(NUMBER_FIELDS))} * 2")
    scope = attrs.evolve(base, conditions=("big",), numbers=("weighted",))
    if draw(st.booleans()):  # (session 11) defines reading defines, two deep
        out.append(f"define scaled = weighted / 4 + {draw(_small)}")
        out.append(f"define bigger = {draw(conditions(scope, depth=1))} and scaled "
                   f"{draw(_order)} {draw(_number_literal())}")
        scope = attrs.evolve(scope, conditions=("big", "bigger"),
                             numbers=("weighted", "scaled"))

    # (session 21) one policy in three names its ideal customer once and reads it in a
    # gate, a score and the first handoff's first route, as an ops team writes it
    icp = draw(_sampled((True, False, False)))
    if icp:
        out.append(f"define icp = {draw(conditions(scope, depth=1))}")
        scope = attrs.evolve(scope, conditions=(*scope.conditions, "icp"))
    scores = SCORES[: max(draw(_integers(0, 3)), int(icp))]
    for i, name in enumerate(scores):
        extra = (f"  +{draw(_sampled(('10', '25', '2.5')))} if icp",) if icp and i == 0 else ()
        out.append(draw(_score(name, attrs.evolve(scope, scores=scores[:i]), extra)))
    # defines that read scores: only stages, handoffs and recycles use them
    if scores:
        out.append(f"define hot = {draw(conditions(attrs.evolve(scope, scores=scores)))}")
        scope = attrs.evolve(scope, conditions=(*scope.conditions, "hot"))
    scope = attrs.evolve(scope, scores=scores)

    owners = [draw(_sampled(TEAMS)) for _ in stages]
    gated = min(1, len(stages) - 1)  # the icp gate: the second stage, or the only one
    for i, (name, owner) in enumerate(zip(stages, owners, strict=True)):
        extra = ()
        if icp and i == gated:
            form = draw(_sampled(("  require icp or ({c})", "  exclude not icp and ({c})",
                                  "  require icp")))
            extra = (form.format(c=draw(conditions(scope, depth=1))),)
        out.append(draw(_stage(name, owner, scope, extra)))
    out += [f"state {s} {quote(s)} owned by marketing" for s in STATES]
    routed = False
    for i, name in enumerate(stages):
        changes = i + 1 < len(stages) and owners[i + 1] != owners[i]
        if changes or draw(_integers(0, 3)) == 0:
            team = owners[i + 1] if changes else draw(_sampled(TEAMS))
            out.append(draw(_handoff(name, team, scope, business=business,
                                     calendars=calendars, unnamed=unnamed,
                                     first_route="icp" if icp and not routed else None)))
            routed = True
    for _ in range(draw(_integers(0, 2))):
        from_ = draw(st.lists(_sampled(stages), min_size=1, max_size=len(stages),
                              unique=True))
        # (session 21) half the rules recycle a rejected lead by its reason, as sales
        # hands "no budget" back to nurture, and those mostly say why
        after_reject = draw(st.booleans())
        plain = ("recycled after rejection", "no budget: nurture") if after_reject else \
            ("stalled", "gone cold")
        reason = f" {quote(_text(draw, plain))}" if draw(
            _sampled((True, True, after_reject, False))) else ""
        cond = draw(_sampled(_AFTER_REJECT)).format(
            r=REASON_FIELD, c=draw(conditions(scope, depth=1)),
            x=quote(draw(_sampled((*REASONS, *HOSTILE[:2]))))) if after_reject \
            else draw(conditions(scope))
        out.append(f"recycle {', '.join(from_)} to {draw(_sampled(STATES))} "
                   f"if {cond}{reason}")
    return "\n".join(out) + "\n"


#: (session 21) recycle conditions on a rejection: by the agreed reasons, one reason
#: after a cooling-off time, a reason off the list, any rejection with another test
_AFTER_REJECT = (
    "{r} in agreed_reasons",
    "{r} == {x} and days_since(rejected_at) > 30",
    "{r} is present and {r} not in agreed_reasons",
    "rejected_at is present and hours_since(rejected_at) >= 48",
    "{r} in [{x}, \"no budget\"] or ({c})",
    "{r} is present and ({c})",
)


# --------------------------------------------------------------------------- leads

_missing = object()


@st.composite
def _timestamp_value(draw) -> object:
    moment = datetime(2026, 12, 1, 15, 30, tzinfo=UTC) + timedelta(
        minutes=draw(_integers(-60 * 24 * 120, 60 * 24 * 20)))
    form = draw(_sampled(("zulu", "offset", "naive", "date", "fraction", "edge")))
    if form == "edge":
        return draw(_sampled(_EDGE_TIMESTAMPS))
    if form == "zulu":
        return format_timestamp(int(moment.timestamp()) * 1_000_000)
    if form == "offset":
        return moment.astimezone(_FAR_WEST).isoformat(timespec="seconds")
    if form == "naive":
        return moment.strftime("%Y-%m-%d %H:%M")
    if form == "date":
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{draw(_integers(0, 999_999)):06d}Z"


#: (session 18) instants at the edges of working time: the New York, Berlin and Sydney
#: DST changes (in the gap and the fold, with and without an offset), holidays of the
#: drawn calendars, the ends of working hours, a fraction just before a boundary.
_EDGE_TIMESTAMPS = (
    "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01 01:30", "2026-11-01T01:30:00-04:00",
    "2026-11-01T01:30:00-05:00", "2026-10-25T00:30:00Z", "2026-10-25T02:30:00+01:00",
    "2026-10-04T02:30:00+11:00", "2026-11-26T14:00:00Z", "2026-11-27T05:00:00Z",
    "2026-11-30T23:59:59.999999Z", "2026-12-01T14:00:00Z", "2026-12-01T22:00:00Z",
    "2026-11-28T12:00:00Z", "2026-12-01T15:30:00Z", "2026-12-01T15:30:00.000001Z",
    "2026-12-25T09:00:00-05:00", "2026-03-08T07:30:00Z", "2026-11-01",
)

_numbers = st.one_of(
    _integers(-5, 3000),
    st.floats(-10, 3000, allow_nan=False, allow_infinity=False),
)
_wrong = st.one_of(st.text(max_size=4), st.booleans(), st.lists(_integers(0, 3), max_size=2),
                   st.builds(dict, x=st.just(1)))


def _value(right: st.SearchStrategy) -> st.SearchStrategy:
    """A field's value: usually the right kind, sometimes null, missing or the wrong kind."""
    return st.one_of(right, right, right, right, st.none(), st.just(_missing), _wrong)


@st.composite
def leads(draw) -> dict:
    """A lead over :data:`FIELDS`, as a JSON object: nested objects, nulls, wrong kinds."""
    lead: dict = {}

    def put(path: str, strategy: st.SearchStrategy) -> None:
        keys = [k.strip("`") for k in path.split(".")]
        value = draw(strategy)
        if value is _missing:
            return
        target = lead
        for key in keys[:-1]:
            if key not in target:
                target[key] = {}
            elif not isinstance(target[key], dict):
                return  # null or a wrong kind stands there: the path is missing
            target = target[key]
        target[keys[-1]] = value

    for path in ("company", "bant", "company.hq"):
        put(path, st.one_of(st.builds(dict), st.builds(dict), st.just("n/a"), st.none()))
    put("lead_id", st.one_of(st.just("L-1"), st.just(_missing), _integers(1, 9)))
    for path in NUMBER_FIELDS:
        put(path, _value(_numbers))
    for path, values in STRING_FIELDS.items():
        put(path, _value(_sampled(values)))
    put("email", _value(_sampled(("dana@bigco.com", "Sam@GMAIL.com", "noatsign",
                                         "a@b@yahoo.com", "", "ann@gmail.com"))))
    for path in BOOL_FIELDS:
        put(path, _value(st.booleans()))
    for path in TIMESTAMP_FIELDS:
        # rarely text that is not a timestamp: policy.api refuses such a lead
        put(path, st.one_of(_timestamp_value(), _timestamp_value(), _timestamp_value(),
                            st.none(), st.just(_missing)) if draw(_integers(0, 19)) else
            st.just("yesterday"))
    put(REASON_FIELD, _value(_sampled((*REASONS, "crap", *HOSTILE))))
    for path in LIST_FIELDS:
        put(path, _value(_LISTS))
    # (session 21) a CRM's list of objects (contacts) in one lead in four: drawn last,
    # after every other field; as a third kind of list beside _LISTS it shifted the
    # derandomized samples the reach checks count (no list with a boolean, four of 100
    # leads with a case-fold text). Chaotic: re-run the reach checks after any change
    if draw(_sampled((False, False, False, True))):
        lead["tags"] = draw(_OBJECT_LISTS)
    return lead


def _paths(value: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(value, dict):
        return []
    out = []
    for key, inner in value.items():
        out.append((*prefix, key))
        out += _paths(inner, (*prefix, key))
    return out


@st.composite
def mutated(draw, base: list[dict]) -> dict:
    """One of ``base`` (real leads, e.g. an example's), changed in up to four places: a
    key dropped or nulled, a number or a flag changed, a timestamp moved by hours or
    days, a value replaced by one of another kind."""
    lead = copy.deepcopy(draw(_sampled(base)))
    for _ in range(draw(_integers(0, 4))):
        paths = _paths(lead)
        if not paths:
            break
        path = draw(_sampled(paths))
        parent = lead
        for key in path[:-1]:
            parent = parent[key]
        key, old = path[-1], parent[path[-1]]
        change = draw(_sampled(("drop", "null", "value", "wrong")))
        if change == "drop":
            del parent[key]
        elif change == "null":
            parent[key] = None
        elif change == "wrong":
            parent[key] = draw(_wrong)
        elif type(old) is bool:
            parent[key] = not old
        elif type(old) in (int, float):
            parent[key] = draw(_numbers)
        elif type(old) is str and parse_timestamp(old) is not None:
            hours = draw(_integers(-24 * 45, 24 * 45))
            parent[key] = format_timestamp(parse_timestamp(old) + hours * 3_600_000_000)
        elif type(old) is str:
            parent[key] = draw(_sampled((old.upper(), "", "other", *REASONS)))
    return lead


def _field_paths(model: PolicyModel) -> list[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set(model.timestamp_paths)
    for located in model.all_decls():
        for ref in refs_in(located.decl):
            if model.resolve(ref)[0] == "field":
                paths.add(ref.path)
    return sorted(paths)


@st.composite
def leads_for(draw, model: PolicyModel) -> dict:
    """A lead for any policy: each field the policy reads gets a value of any kind
    (timestamps for its timestamp fields, mostly), or is left out."""
    lead: dict = {}
    stamps = model.timestamp_paths
    for path in draw(st.lists(_sampled(_field_paths(model) or [("x",)]), unique=True,
                              max_size=12)):
        right = _timestamp_value() if path in stamps else st.one_of(
            _numbers, st.booleans(), _sampled(("vp", "", "a@b.com")), _wrong)
        target = lead
        for key in path[:-1]:
            if not isinstance(target.setdefault(key, {}), dict):
                break
            target = target[key]
        else:
            target[path[-1]] = draw(st.one_of(right, st.none()))
    return lead


# --------------------------------------------------------------------------- loading


def load_text(text: str, file: str = "generated.funnel") -> PolicyModel:
    """Parse, build and check one policy file's text, as the loader does; fail on any
    error diagnostic. The model carries the checker's work calendar. ``lines`` lists
    are read from :data:`LIST_FILES`, written beside the file as the loader expects."""
    result = parse(text, file)
    assert result.module is not None, [str(d) for d in result.diagnostics]
    module = result.module
    if any(isinstance(d, n.Define) and d.lines is not None for d in module.decls):
        with tempfile.TemporaryDirectory() as tmp:
            for name, body in LIST_FILES.items():
                Path(tmp, name).write_text(body, encoding="utf-8", newline="")
            found: list = []
            module = fill_lines(attrs.evolve(module, path=str(Path(tmp, file))), found, {})
            assert not [d for d in found if d.is_error], found
    model = build_model([module])
    errors = [d for d in (*result.diagnostics, *check_policy(model)) if d.is_error]
    assert not errors, [f"{d.code} {d.message} at {d.span}" for d in errors]
    return attrs.evolve(model, work_calendar=work_calendar(model))


def prepare_ts(model: PolicyModel, lead: dict) -> tuple[int | None, ...] | None:
    """The ``ts`` tuple for a lead, as ``policy.api`` prepares it for a schema-less
    policy; None when a timestamp field holds something that is not a timestamp
    (``policy.api`` refuses such a lead, so no engine ever sees it)."""
    ts: list[int | None] = []
    for path in model.timestamp_order:
        value = rt.get(lead, path)
        if value is None:
            ts.append(None)
            continue
        instant = parse_timestamp(value, kind="any")
        if instant is None:
            return None
        ts.append(instant)
    return tuple(ts)


# --------------------------------------------------------------------------- schemas
#
# (session 11) Lead schemas for the generated policies: ``schemas()`` draws a JSON
# schema over :data:`FIELDS` (each field typed as the policy uses it, so the policy
# loads) plus fields no policy reads (:data:`SCHEMA_EXTRA`), where any mix of the
# keywords the SQL path checks may stand; ``schema_leads(document)`` draws leads that
# hit each keyword's edges. ``with_unsupported(document)`` puts one keyword the SQL
# path does not check somewhere in a schema.

#: Paths only the schema names (no policy reads them): any keyword mix may stand here.
SCHEMA_EXTRA = ("notes", "tier", "profile.bio", "profile.rank", "profile.links.site",
                "profile.links.`last seen`", "profile.since", "`x y`.`ünï`")

#: Keywords the SQL path refuses by name (each with a value that is valid JSON Schema).
UNSUPPORTED = {
    "additionalProperties": False, "multipleOf": 2, "not": {"type": "null"},
    "anyOf": [{"type": "string"}, {"type": "null"}], "minItems": 1, "uniqueItems": True,
    "dependentRequired": {"a": ["b"]}, "propertyNames": {"maxLength": 3},
    "$ref": "#/$defs/any", "minProperties": 1, "if": {"type": "string"},
    "pattern": "^a", "items": {"type": "string"},
}

#: Single code points for texts whose length is counted: ASCII, Latin-1, a combining
#: acute (its own code point), astral characters (one code point, two UTF-16 units,
#: four UTF-8 bytes), a zero-width joiner, CJK, a line separator.
_CODE_POINTS = ("a", "é", "\u0301", "😀", "𝔘", "\u200d", "中", "\u2028", " ", "Σ")

_NUMBER_TYPES = ("integer", "number", ["integer"], ["number"], ["integer", "null"],
                 ["number", "null"], None)
#: Bounds: integers and fractions, 2**53 (the last integer before doubles skip some).
#: Not an integer past 2**53: there python's validator compares exactly and SQL as
#: doubles, a known difference (docs/warehouse.md).
_BOUNDS = (0, 1, 10, 2.5, -1, 100, 0.1, 1e3, -2.5, 2**53, 1e15)
_MIXED = (1, 1.0, True, False, 0, "1", "", None, 2.5, -0.0, "vp", "VP")


def _paths_keys(path: str) -> tuple[str, ...]:
    return tuple(k.strip("`") for k in path.split("."))


def _put_schema(root: dict, keys: tuple[str, ...], node: dict) -> None:
    target = root
    for key in keys[:-1]:
        target = target.setdefault("properties", {}).setdefault(key, {})
    target.setdefault("properties", {})[keys[-1]] = node


@st.composite
def _annotations(draw) -> dict:
    out = {}
    if draw(_integers(0, 5)) == 5:
        out["description"] = draw(_sampled(HOSTILE))
    if draw(_integers(0, 7)) == 7:
        out["title"] = "a field"
    if draw(_integers(0, 9)) == 9:
        out["examples"] = [1, "x"]
    return out


def _type(draw, choices) -> dict:
    t = draw(_sampled(choices))
    return {} if t is None else {"type": copy.deepcopy(t)}


def _bounds(draw, node: dict, *, consistent: bool = True) -> None:
    """Bounds on ``node``: a lower, an upper, both, or none; with ``consistent`` the
    upper one is not below the lower one (``minimum`` = ``maximum`` allows one value)."""
    low = draw(_sampled((None, None, "minimum", "exclusiveMinimum")))
    high = draw(_sampled((None, None, "maximum", "exclusiveMaximum")))
    at = draw(_sampled(_BOUNDS))
    if low is not None:
        node[low] = at
    if high is not None:
        if consistent and low is not None:
            gap = draw(_sampled((1, 0.5, 10, 1000) if "exclusive" in low + high
                                       else (0, 1, 0.5, 10, 1000)))
            top = at + gap
            # past 2**53 an integer bound is not a double (a known difference, above)
            if (top == at and gap) or abs(top) > 2**53:
                top = at * 2 if abs(at) >= 2**52 else at * 2 + 1
            node[high] = top
        else:
            node[high] = draw(_sampled(_BOUNDS))


def _lengths(draw, node: dict, *, consistent: bool = True) -> None:
    low = draw(_sampled((None, None, 0, 1, 2, 3)))
    high = draw(_sampled((None, None, 0, 1, 2, 4)))
    if consistent and low is not None and high is not None and high < low:
        low, high = high, low
    if low is not None:
        node["minLength"] = low
    if high is not None:
        node["maxLength"] = high


@st.composite
def _number_schema(draw) -> dict:
    node = _type(draw, _NUMBER_TYPES)
    _bounds(draw, node)
    kind = draw(_integers(0, 7))
    if kind == 6:
        node["enum"] = draw(st.lists(_sampled((1, 1.0, 2, 2.5, 0, -0.0, 10, 1e15,
                                                      None)), min_size=1, max_size=4))
    elif kind == 7:
        node["const"] = draw(_sampled((1, 1.0, 0, 10, 2.5)))
    return {**node, **draw(_annotations())}


@st.composite
def _text_schema(draw, values: tuple[str, ...] = ()) -> dict:
    node = _type(draw, ("string", ["string"], ["string", "null"], None))
    _lengths(draw, node)
    kind = draw(_integers(0, 9))
    if values and kind >= 7:
        pool = (*values, "", "zz", "ÉTÉ", "e\u0301", "😀")
        node["enum"] = draw(st.lists(_sampled(pool), min_size=1, max_size=4,
                                     unique=True))
        if draw(st.booleans()) and "null" in json.dumps(node.get("type")):
            node["enum"].append(None)
    elif values and kind == 6:
        node["const"] = draw(_sampled(values))
    return {**node, **draw(_annotations())}


@st.composite
def _bool_schema(draw) -> dict:
    node = _type(draw, ("boolean", ["boolean", "null"], None))
    kind = draw(_integers(0, 5))
    if kind == 5:
        node["const"] = draw(st.booleans())
    elif kind == 4:
        node["enum"] = draw(_sampled(([True, False], [True, None], [False])))
    return {**node, **draw(_annotations())}


@st.composite
def _timestamp_schema(draw) -> dict:
    node = _type(draw, ("string", ["string", "null"], None))
    node["format"] = draw(_sampled(("date-time", "date-time", "date")))
    return {**node, **draw(_annotations())}


@st.composite
def _extra_schema(draw) -> dict:
    """Any mix of the SQL path's keywords on a field no policy reads: a type or a type
    list of any kinds, an enum or const of mixed kinds (1 and 1.0 are equal, true is
    not 1), bounds and lengths with or without a type (a bound tests numbers only, a
    length strings only), a timestamp format on any type."""
    node: dict = {}
    if draw(st.booleans()):
        kinds = draw(st.lists(_sampled(("string", "integer", "number", "boolean",
                                               "null", "array", "object")),
                              min_size=1, max_size=3, unique=True))
        node["type"] = kinds[0] if len(kinds) == 1 and draw(st.booleans()) else kinds
    kind = draw(_integers(0, 5))
    if kind == 4:
        node["enum"] = draw(st.lists(_sampled(_MIXED), min_size=1, max_size=5))
    elif kind == 5:
        node["const"] = draw(_sampled(_MIXED))
    _bounds(draw, node, consistent=draw(_integers(0, 4)) > 0)
    _lengths(draw, node, consistent=draw(_integers(0, 4)) > 0)
    if draw(_integers(0, 4)) == 4:
        node["format"] = draw(_sampled(("date-time", "date", "email")))
    return {**node, **draw(_annotations())}


def _object_node(draw, node: dict) -> None:
    """Type and ``required`` for an object node whose properties are filled."""
    node.update(_type(draw, ("object", ["object"], ["object", "null"], None)))
    names = sorted(node.get("properties", {}))
    if names and draw(_integers(0, 2)) == 2:
        node["required"] = draw(st.lists(_sampled(names), min_size=1, max_size=2,
                                         unique=True))


@st.composite
def schemas(draw) -> dict:
    """A lead schema (a JSON document) for the policies :func:`policies` draws: every
    field of :data:`FIELDS` typed as the policy reads it, with bounds, lengths, enums,
    consts and formats, ``required`` at every depth, and :data:`SCHEMA_EXTRA` fields
    with any keyword mix. Only keywords the SQL path checks (spec section 10)."""
    root: dict = {"type": "object"}
    if draw(st.booleans()):
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    _put_schema(root, ("lead_id",), _type(draw, ("string", ["string", "integer"], None)))
    for path in NUMBER_FIELDS:
        _put_schema(root, _paths_keys(path), draw(_number_schema()))
    for path, values in STRING_FIELDS.items():
        _put_schema(root, _paths_keys(path), draw(_text_schema(values)))
    _put_schema(root, ("email",), draw(_text_schema(("dana@bigco.com", "ann@gmail.com"))))
    _put_schema(root, (REASON_FIELD,), draw(_text_schema(REASONS)))
    for path in BOOL_FIELDS:
        _put_schema(root, _paths_keys(path), draw(_bool_schema()))
    for path in TIMESTAMP_FIELDS:
        _put_schema(root, _paths_keys(path), draw(_timestamp_schema()))
    for path in LIST_FIELDS:
        _put_schema(root, _paths_keys(path), {
            **_type(draw, ("array", ["array", "null"], None)), **draw(_annotations())})
    for path in SCHEMA_EXTRA:
        if draw(_integers(0, 2)) > 0:
            _put_schema(root, _paths_keys(path), draw(_extra_schema()))

    def objects(node: dict, top: bool) -> None:
        for sub in node.get("properties", {}).values():
            if "properties" in sub:
                objects(sub, False)
        if not top:
            _object_node(draw, node)

    objects(root, True)
    names = sorted(root["properties"])
    root["required"] = draw(st.lists(_sampled(names), max_size=3, unique=True))
    if not root["required"]:
        del root["required"]
    return root


@st.composite
def with_unsupported(draw, document: dict) -> tuple[dict, str]:
    """``document`` with one keyword the SQL path does not check, at the top or on a
    field; the keyword's name."""
    out = copy.deepcopy(document)
    keyword = draw(_sampled(sorted(UNSUPPORTED)))
    nodes = [out]
    stack = [out]
    while stack:
        for sub in stack.pop().get("properties", {}).values():
            nodes.append(sub)
            stack.append(sub)
    node = draw(_sampled(nodes))
    node[keyword] = copy.deepcopy(UNSUPPORTED[keyword])
    if keyword == "$ref":
        out["$defs"] = {"any": {}}
    return out, keyword


@functools.cache
def _texts_of(length: int) -> st.SearchStrategy:
    """The strategy of :func:`_text_of`, built once per length (session 20): an equal
    strategy draws the same values from the same choices, and building and validating
    a new one for each bounded field of each lead was about half of what drawing
    `schema_leads` cost."""
    return st.lists(_sampled(_CODE_POINTS), min_size=length, max_size=length)


def _text_of(draw, length: int) -> str:
    return "".join(draw(_texts_of(length)))


_BAD_TIMESTAMPS = ("2026-12-01T24:00:00Z", "2026-12-31T23:59:60Z", "2026-W49-2",
                   "2026-335", "2026-02-29", "2026-13-01", "2026-12-01T10", "2026-12-01T",
                   "20261201T100000Z", "2026-12-01T10:00:00+2400", "2026-12-01T10:00:00+05:60",
                   "2026-12-01 10:00:00 Z", " 2026-12-01", "2026-12-1", "yesterday", "",
                   "2026-12-01T10:00:00.Z", "0000-01-01")
_GOOD_TIMESTAMPS = ("2026-12-01T10:00:00Z", "2026-12-01t10:00z", "2026-12-01 10:00",
                    "2026-12-01T10:00:00.123456789+05:30", "2026-12-01T10:00:00-0130",
                    "2026-12-01T10:00:00+01", "2024-02-29T00:00:00Z", "2026-12-01",
                    "2026-11-01T06:30:00.5Z", "0001-01-01T00:00:00Z",
                    "9999-12-31T23:59:59Z", "2026-12-01T10:00:00.000001z",
                    # no offset at the ends of the years: valid or not by --local-tz
                    "0001-01-01 00:30", "9999-12-31T23:59:59", "0001-01-01", "9999-12-31")


def _edge_pool(draw, node: dict) -> list:
    """Values for ``node`` (a field's schema): of a kind it allows or not, at and
    around its bounds and lengths, an enum member or its twin of another kind."""
    pool: list = ["x", 1, 1.5, True, False, [], {}, [1], {"a": 1}, None, 0, -1, 2**53]
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in node:
            b = node[key]
            pool += [v for v in (b, b + 1, b - 1, b + 0.5, b - 0.5, float(b),
                                 math.nextafter(float(b), math.inf),
                                 math.nextafter(float(b), -math.inf))
                     if not isinstance(v, int) or abs(v) <= 2**53]
            if isinstance(b, float) and b.is_integer():
                pool.append(int(b))
    for key in ("enum", "const"):
        if key not in node:
            continue
        for v in node[key] if key == "enum" else [node[key]]:
            pool.append(v)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                pool += [float(v), int(v) if float(v).is_integer() else v, str(v),
                         v == 1 or None]
            elif isinstance(v, str):
                pool += [v.upper(), v + " ", v[:-1]]
    for key in ("minLength", "maxLength"):
        if key in node:
            n = node[key]
            pool += [_text_of(draw, k) for k in (n - 1, n, n + 1) if k >= 0]
    if "format" in node:
        pool += list(_GOOD_TIMESTAMPS) + list(_BAD_TIMESTAMPS)
    return pool


@st.composite
def _edge_value(draw, node: dict) -> object:
    return draw(_sampled(_edge_pool(draw, node)))


#: `_fits`'s validators by the id of their node, each held with its node (so the id is
#: not reused while it is here); cleared when it grows past a few hundred nodes.
_FIT_VALIDATORS: dict[int, tuple[dict, object]] = {}


@functools.cache
def _fit_formats():
    """The format checker of `_fits`: the spec's timestamp formats, nothing else."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(lambda v: not isinstance(v, str)
                                or parse_timestamp(v) is not None)
    checker.checks("date")(lambda v: not isinstance(v, str)
                           or parse_timestamp(v, kind="date") is not None)
    return checker


def _fits(node: dict, value: object) -> bool:
    """Whether ``value`` passes ``node`` (a leaf schema), by the reference validator
    with the spec's timestamp formats: only to steer the draws towards valid leads.

    One validator per node, not per value (a lead's field tries a dozen values, and
    building the validator was most of the check); it reads the node itself, so the
    answers are the same, and so are the draws."""
    import jsonschema

    held = _FIT_VALIDATORS.get(id(node))
    if held is None or held[0] is not node:
        if len(_FIT_VALIDATORS) >= 512:
            _FIT_VALIDATORS.clear()
        held = _FIT_VALIDATORS[id(node)] = (node, jsonschema.Draft202012Validator(
            node, format_checker=_fit_formats()))
    return held[1].is_valid(value)


def _right_value(draw, keys: tuple[str, ...], node: dict) -> object:
    """A value of the kind the policy reads at ``keys`` (a field of the vocabulary)."""
    path = ".".join(k if k.isidentifier() else f"`{k}`" for k in keys)
    if path in NUMBER_FIELDS:
        return draw(_numbers)
    if path in STRING_FIELDS:
        return draw(_sampled(STRING_FIELDS[path]))
    if path == "email":
        return draw(_sampled(("dana@bigco.com", "Sam@GMAIL.com", "ann@gmail.com")))
    if path == REASON_FIELD:
        return draw(_sampled((*REASONS, "crap")))
    if path in BOOL_FIELDS:
        return draw(st.booleans())
    if path in TIMESTAMP_FIELDS:
        return draw(_timestamp_value())
    if path in LIST_FIELDS:
        return draw(_LISTS)
    if path == "lead_id":
        return draw(_sampled(("L-1", "L-2", 7)))
    return draw(_edge_value(node))


@st.composite
def schema_leads(draw, document: dict) -> dict:
    """A lead for ``document`` (from :func:`schemas`): each field missing, null, of the
    kind the policy reads, or an edge of its keywords (exactly at a bound, just over,
    the wrong kind, an enum twin, a text one code point too long); an object field
    sometimes missing, null or not an object, so that ``required`` below it fails or
    does not apply."""

    # how often a field is left out, null or on an edge: most leads have a few such
    # fields, so that some pass the schema and are decided
    rate = draw(_sampled((0, 2, 5, 10, 30)))

    def fill(node: dict, keys: tuple[str, ...]) -> dict:
        out: dict = {}
        for key, sub in node.get("properties", {}).items():
            here = (*keys, key)
            odd = draw(_integers(0, 99)) < rate
            choice = draw(_integers(0, 3)) if odd else 4
            if choice == 0:
                continue
            if choice == 1:
                out[key] = None
            elif "properties" in sub:
                out[key] = fill(sub, here) if choice > 2 else draw(
                    _sampled(("n/a", [], 0)))
            elif choice < 4:
                out[key] = draw(_edge_value(sub))
            else:  # a value the field's schema takes, when one is at hand
                pool = [_right_value(draw, here, sub), *_edge_pool(draw, sub)]
                fit = [v for v in pool if _fits(sub, v)]
                out[key] = draw(_sampled(fit or pool))
        return out

    return fill(document, ())
