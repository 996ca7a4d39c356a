"""Policies and leads drawn from the grammar (``grammar/funnel.lark``) and the spec's prose
(``LANGUAGE.md`` sections 1-5), not from what the engines were built for.

Every draw comes from one ``random.Random``: ``policy_folder(rng)`` gives the files of a
policy folder (``policy.funnel``, sometimes a lead schema and a ``lines`` list) and the
field vocabulary it reads; ``spec_leads.spec_leads(rng, fields, n)`` gives leads that sit on the
edges of what those fields are tested with. A draw that ``funnel check`` refuses is
simply drawn again by the caller (:func:`draw_loading`): the grammar is walked freely
(any expression form at any depth, odd layout, comments, Unicode and backticked keys,
v1.1's contextual keywords as field names), and the checker decides what is legal.

Grammar walked (rule by rule):

- declarations: ``policy``, ``version``, ``schema``, ``id``, ``team``, ``calendar``
  (unnamed and named: ``timezone``, ``workdays``, ``hours`` up to ``24:00``,
  ``holidays``), ``funnel``, ``define`` (value, list, condition, ``lines "file"``),
  ``score`` (``+N if``, ``-N if``, ``±N per SUM [up to N]``, ``range`` with negative bounds,
  ``decay half-life D since F``), ``stage`` (``require``/``exclude`` with and without a
  reason, ``keep when``, ``entered at``), ``state``, ``handoff`` (``calendar NAME``,
  ``route … if … [on NAME|default]``, ``otherwise``, ``sla D from F until F, F``,
  ``escalate to "X" after D``, ``reject to S with reason F in LIST|NAME``), ``recycle``.
- expressions, loosest first: ``or``, ``and``, ``not``, the comparisons
  (``== != < <= > >=``, ``in``, ``not in``, ``contains``, ``starts with``, ``ends with``,
  ``is present``, ``is missing``), ``+ -``, ``* /``, unary ``-``, primaries (numbers with
  ``_``, strings with JSON escapes, ``true``/``false``/``null``, lists of expressions
  with a trailing comma, calls ``days_since hours_since lower length domain``, field
  paths with backticks and digit keys, parentheses).
- layout: comments after any line, blank lines, continuation after an operator and
  inside ``(``/``[``.

Run as a script for a long hunt (``tests/hunt_spec.py``); the test module
``tests/test_spec_differential.py`` draws a few in the ``ci`` profile.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- vocabulary

#: Field names as the policy spells them, by kind. Keys in other scripts, CRM-style
#: names, v1.1's contextual keywords (``lines``, ``entered``, ``on``, ``default``),
#: backticked keys with spaces and dots, digit keys after a dot, long names.
NUMBER_NAMES = ("employees", "visits", "company.size", "company.`annual revenue`",
                "año", "Lead_Score__c", "lines", "stats.2fa", "x" * 70, "`n.m`", "entered")
STRING_NAMES = ("level", "country", "email", "company.hq.city", "Σ_name", "`job title`",
                "on", "default_src", "title")
BOOL_NAMES = ("demo", "competitor", "unsubscribed", "bant.budget", "flags.opt_in")
TS_NAMES = ("mql_at", "accepted_at", "rejected_at", "last_seen", "company.enriched_at",
            "`closed at`")
DATE_NAMES = ("signup_date",)
LIST_NAMES = ("tags", "company.domains")
REASON_NAME = "rejection_reason"

#: Texts the spec singles out: Unicode lower-casing (ß, İ, final Σ, Cherokee, ǅ
#: titlecase, the Kelvin sign, ﬃ), escapes, empty, white space, emails.
TEXTS = ("vp", "VP", "Vp", "director", "ß", "SS", "straße", "STRASSE", "İstanbul",
         "istanbul", "i̇stanbul", "ΣΑΣ", "σας", "ΟΔΟΣ.", "Σ", "ᏣᎳᎩ", "ꮳꮃꭹ", "ǅ", "ǆ", "Ǆ",
         "K", "k", "ﬃ", "FFI", "", " ", "a\u00a0b", "tab\tnew\nline", "quote\"back\\",
         "😀", "e\u0301", "é", "US", "us", "DE", "GB", "ẞ", "ΑΣ΄Σ", "Σ̈Σ", "x@Gmail.COM",
         "a@b@İSTANBUL.com", "@", "no-at", "DANA@BigCo.COM", "ʼn", "ǰ", "ΐ", "Å", "Å")
EMAILS = ("dana@bigco.com", "x@Gmail.COM", "a@b@İSTANBUL.com", "@", "no-at", "ß@STRASSE.DE",
          "σ@ΟΔΟΣ.GR", "", "ǅ@ǅ", "u@K.com", "trailing@")
REASONS = ("bad fit", "no budget", "Bad Fit", "ß", "")

NUMBERS = (0, 1, -1, 0.5, 1.5, 2.5, -0.5, -2.5, -0.0, 0.0, 1e308, -1e308, 1.7976931348623157e308,
           5e-324, 2 ** 53, 2 ** 53 + 1, 10 ** 30, 999.5, 1000, 999, 199.5, 200, 49.5, 3,
           0.1, 0.2, 0.30000000000000004, 12345678901234567890, 7, 100, 1e-7, 4.5, -4.5)

#: Timestamps: every lenient form of spec section 3, DST gaps and folds (read as local
#: time under ``--local-tz``), offsets to ±23:59, far years, fractions beyond µs, and
#: forms that must not parse.
TIMESTAMPS = (
    "2026-12-01T10:00:00Z", "2026-12-01t10:00z", "2026-12-01 10:00", "2026-12-01T10:00",
    "2026-11-30T23:59:59.9999999Z", "2026-12-01T15:30:00Z", "2026-12-01T15:30:00.000001Z",
    "2026-12-01T15:29:59.999999Z", "2026-03-08T02:30:00", "2026-11-01T01:30:00",
    "2026-03-29T01:30:00", "2026-10-25T01:30:00", "2026-10-04T02:15:00",
    "2026-12-01T10:00:00+14:00", "2026-12-01T10:00:00-12:00", "2026-12-01T10:00:00+0530",
    "2026-12-01T10:00:00-03", "2026-12-01T10:00:00+23:59", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.5Z", "2026-11-26T12:00:00Z",
    "2026-11-27T21:59:00Z", "2026-11-28T12:00:00Z", "2025-12-31T23:00:00-05:00",
    "2026-12-01T24:00:00Z", "2026-02-29T10:00:00Z", "2026-12-01T10:00:60Z", "2026-W49-2",
    "2026-335", "20261201T100000Z", "2026-12-01T10:00:00.Z", "2026-12-01T10:00:00 Z",
    "2024-02-29T12:00:00Z", "1900-03-01T00:00:00Z", "2026-12-01T10Z", "2026-12-01T10:00+1",
    "2026-12-01T10:00:00+24:00", "2026-12-01T10:00:00-00:00", "2026-12-01T10:00:00+05:60",
    "2026-12-01T10:00:00,5Z", "2026-12-01T10:00:00.123456789+05", "2026-12-01T1:00:00Z",
    "2026-12-01T10:00:00 +05:00", "+2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z ",
    "\uff12\uff10\uff12\uff16-12-01T10:00:00Z", "2026-12-01T10:00:00.\u0663Z",
    "2026-12-01T10:00:00+053", "0000-01-01T00:00:00Z", "2026-12-01T10:00:00.0000005Z",
    "2026-12-01T10:00:00.5-00", "1969-12-31T23:59:59.9999999Z", "2026-12-01",
    "2026-12-01T10:00:00.000000000000000001Z", "2026-03-08 02:00", "2026-11-01t01:59:59.999999",
)
#: (session 18) instants a policy compares timestamps with: every lenient form, local
#: times in a DST gap or fold (read as UTC: a policy's literal has no --local-tz), a
#: date, a holiday, a fraction, the as_of values themselves.
TS_LITERALS = ("2026-11-01T01:30:00", "2026-03-08 02:30", "2026-12-01", "2026-11-26T12:00:00Z",
               "2026-12-01T10:00:00.5+05:30", "2026-12-01t10:00z", "2026-12-01T15:30:00Z",
               "2026-11-28T12:00:00-0500", "2026-12-01T10:00:00.1234567-03",
               "2026-10-25T01:30:00+01:00", "2024-02-29", "9999-12-31T23:59:59Z",
               "0001-01-01T00:00:00Z")
DATES = ("2026-12-01", "2024-02-29", "0001-01-01", "9999-12-31", "2026-13-01", "2026-12-1",
         "2026-12-01T00:00:00Z")

ZONES = ("America/New_York", "UTC", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "Pacific/Chatham", "America/Sao_Paulo", "Asia/Kathmandu", "Pacific/Apia",
         "Europe/Dublin", "Africa/Casablanca", "America/St_Johns")
LOCAL_ZONES = ("America/New_York", "Europe/London", "Australia/Lord_Howe", "Europe/Dublin",
               "Pacific/Chatham", "America/Havana")

AS_OFS = ("2026-12-01T15:30:00Z", "2026-11-28T12:00:00Z", "2026-11-01T06:30:00Z",
          "2026-03-08T07:30:00.5Z", "2030-01-01T00:00:00Z", "2026-11-26T15:00:00Z",
          "1999-12-31T23:59:59.999999Z")


def quote(text: str) -> str:
    """A string literal: JSON escapes (the grammar's STRING takes ``\\uXXXX`` and the
    short escapes; ``\\/`` too)."""
    return json.dumps(text)


def _path_keys(name: str) -> tuple[str, ...]:
    """The lead keys of a field path as the policy spells it."""
    keys, buf, quoted = [], "", False
    for ch in name:
        if ch == "`":
            quoted = not quoted
        elif ch == "." and not quoted:
            keys.append(buf)
            buf = ""
        else:
            buf += ch
    keys.append(buf)
    return tuple(keys)


@dataclass
class Fields:
    """The fields one policy reads, by kind, with their lead keys."""

    numbers: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    bools: list[str] = field(default_factory=list)
    stamps: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    reason: bool = False
    schema: bool = False
    id_keys: tuple[str, ...] | None = ("lead_id",)

    def kinds(self) -> dict[tuple[str, ...], str]:
        out = {}
        for kind, names in (("number", self.numbers), ("string", self.strings),
                            ("bool", self.bools), ("timestamp", self.stamps),
                            ("date", self.dates), ("list", self.lists)):
            for name in names:
                out[_path_keys(name)] = kind
        if self.reason:
            out[(REASON_NAME,)] = "reason"
        return out


# --------------------------------------------------------------------------- expressions


class Expr:
    """Draws expressions of a kind over one policy's fields and names."""

    def __init__(self, rng: random.Random, fields: Fields, num_names: list[str],
                 list_names: list[str], cond_names: list[str]) -> None:
        self.rng = rng
        self.f = fields
        self.num_names = num_names      # scores and numeric defines
        self.list_names = list_names    # defined lists of strings
        self.cond_names = cond_names    # defined conditions

    def _pick(self, seq):
        return self.rng.choice(seq)

    def number_literal(self) -> str:
        r = self.rng.random()
        if r < 0.2:
            return self._pick(("0", "1", "2", "10", "100", "1000"))
        if r < 0.35:
            return self._pick(("0.5", "2.5", "1_000", "50_000_000", "0.1", "1_0.2_5", "99.5"))
        if r < 0.45:
            return "1" + "0" * self.rng.randint(10, 25)
        return str(self.rng.randint(0, 300))

    def num(self, depth: int = 2) -> str:
        r = self.rng.random()
        if depth <= 0 or r < 0.35:
            opts = ["lit"] * 2
            if self.f.numbers:
                opts += ["field"] * 3
            if self.num_names:
                opts += ["name"]
            if self.f.stamps:
                opts += ["since"]
            if self.f.strings or self.f.lists:
                opts += ["length"]
            kind = self._pick(opts)
            if kind == "lit":
                return self.number_literal()
            if kind == "field":
                return self._pick(self.f.numbers)
            if kind == "name":
                return self._pick(self.num_names)
            if kind == "since":
                fn = self._pick(("days_since", "hours_since"))
                return f"{fn}({self._pick(self.f.stamps + self.f.dates)})"
            arg = self._pick(self.f.strings + self.f.lists)
            return f"length({arg})"
        kind = self._pick(("arith", "arith", "neg", "paren", "length_lower"))
        if kind == "arith":
            op = self._pick(("+", "-", "*", "/"))
            sep = self._pick((" ", " ", "\n    ")) if op else " "
            return f"{self.num(depth - 1)} {op}{sep}{self.num(depth - 1)}"
        if kind == "neg":
            return f"-{self._atomic_num(depth - 1)}"
        if kind == "length_lower" and self.f.strings:
            return f"length(lower({self._pick(self.f.strings)}))"
        return f"({self.num(depth - 1)})"

    def _atomic_num(self, depth: int) -> str:
        s = self.num(depth)
        return s if s.replace("_", "").replace(".", "").isalnum() else f"({s})"

    def text(self) -> str:
        r = self.rng.random()
        if r < 0.4 and self.f.strings:
            return self._pick(self.f.strings)
        if r < 0.55 and self.f.strings:
            return f"lower({self._pick(self.f.strings)})"
        if r < 0.7 and "email" in self.f.strings:
            return "domain(email)"
        return quote(self._pick(TEXTS))

    def list_expr(self) -> str:
        r = self.rng.random()
        if r < 0.3 and self.list_names:
            return self._pick(self.list_names)
        if r < 0.45 and self.f.lists:
            return self._pick(self.f.lists)
        items = [quote(self._pick(TEXTS)) for _ in range(self.rng.randint(0, 4))]
        if self.rng.random() < 0.2 and self.f.strings:
            items.append(self._pick(self.f.strings))
        trailing = "," if items and self.rng.random() < 0.2 else ""
        sep = ",\n    " if self.rng.random() < 0.15 else ", "
        return "[" + sep.join(items) + trailing + "]"

    def num_list(self) -> str:
        items = [self.number_literal() for _ in range(self.rng.randint(1, 4))]
        return "[" + ", ".join(items) + "]"

    def atom(self) -> str:
        f = self.f
        opts = ["cmp_num", "cmp_num", "literal"]
        if f.strings:
            opts += ["cmp_str", "in", "text_test", "text_test", "presence"]
        if f.bools:
            opts += ["bare", "bool_eq"]
        if f.stamps or f.dates:
            opts += ["cmp_ts", "presence", "since"]
        if f.lists:
            opts += ["list_contains", "presence"]
        if f.numbers:
            opts += ["num_in", "presence"]
        if self.cond_names:
            opts += ["cond"]
        opts += ["free"]
        kind = self._pick(opts)
        op = self._pick(("==", "!=", "<", "<=", ">", ">="))
        if kind == "cmp_num":
            return f"{self.num()} {op} {self.num()}"
        if kind == "literal":
            return self._pick(("true", "false"))
        if kind == "cmp_str":
            right = quote(self._pick(TEXTS)) if self.rng.random() < 0.7 else self.text()
            return f"{self.text()} {op} {right}"
        if kind == "in":
            neg = self._pick(("in", "not in"))
            return f"{self.text()} {neg} {self.list_expr()}"
        if kind == "num_in":
            neg = self._pick(("in", "not in"))
            return f"{self._pick(f.numbers)} {neg} {self.num_list()}"
        if kind == "text_test":
            test = self._pick(("contains", "starts with", "ends with"))
            right = quote(self._pick(TEXTS))
            if test == "contains" and self.rng.random() < 0.3:
                right = self.list_expr()
            return f"{self.text()} {test} {right}"
        if kind == "presence":
            name = self._pick(f.strings + f.numbers + f.stamps + f.lists + f.bools + f.dates)
            return f"{name} is {self._pick(('present', 'missing'))}"
        if kind == "bare":
            return self._pick(f.bools)
        if kind == "bool_eq":
            return f"{self._pick(f.bools)} {self._pick(('==', '!='))} " \
                   f"{self._pick(('true', 'false'))}"
        if kind == "cmp_ts":
            stamps = f.stamps + f.dates
            if self.rng.random() < 0.35:  # (session 18) against a literal instant
                literal = quote(self._pick(TS_LITERALS))
                pair = (self._pick(stamps), literal)
                return f"{pair[0]} {op} {pair[1]}" if self.rng.random() < 0.7 \
                    else f"{pair[1]} {op} {pair[0]}"
            if len(stamps) > 1 and self.rng.random() < 0.6:
                a, b = self.rng.sample(stamps, 2)
                return f"{a} {op} {b}"
            return f"{self._pick(stamps)} {op} {self._pick(stamps)}"
        if kind == "since":
            fn = self._pick(("days_since", "hours_since"))
            return f"{fn}({self._pick(f.stamps + f.dates)}) {op} {self.number_literal()}"
        if kind == "list_contains":
            right = quote(self._pick(TEXTS)) if self.rng.random() < 0.6 else self.list_expr()
            return f"{self._pick(f.lists)} contains {right}"
        if kind == "free":
            return self.free_atom()
        return self._pick(self.cond_names)

    def any_primary(self) -> str:
        """Any primary of the grammar over any field, whatever its kind: a field, a
        literal of every kind (a timestamp's text, ``null``, a mixed list), a call of
        any function on any field."""
        f = self.f
        every = f.numbers + f.strings + f.bools + f.stamps + f.dates + f.lists
        r = self.rng.random()
        if r < 0.35:
            return self._pick(every)
        if r < 0.5:
            fn = self._pick(("lower", "length", "domain", "days_since", "hours_since"))
            return f"{fn}({self._pick(every)})"
        return self._pick((
            "null", "true", "false", self.number_literal(), quote(self._pick(TEXTS)),
            quote(self._pick(TIMESTAMPS)), quote(self._pick(DATES)),
            "[1, \"1\", true, null]", "[]", "[1.0, 2]", "[\"a\", [\"b\"]]",
            f"[{quote(self._pick(TIMESTAMPS))}]", "(1 / 0)", "(0 * -1)", "-0"))

    def free_atom(self) -> str:
        """A test between two primaries of any kinds (the checker keeps the legal ones)."""
        test = self._pick(("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains",
                           "starts with", "ends with", "is present", "is missing", "bare"))
        a = self.any_primary()
        if test in ("is present", "is missing"):
            return f"{a} {test}"
        if test == "bare":
            return a
        return f"{a} {test} {self.any_primary()}"

    def cond(self, depth: int = 2) -> str:
        r = self.rng.random()
        if depth <= 0 or r < 0.4:
            return self.atom()
        kind = self._pick(("and", "or", "not", "paren", "mixed"))
        if kind == "and":
            return f"{self.cond(depth - 1)} and {self.cond(depth - 1)}"
        if kind == "or":
            sep = self._pick((" ", "\n    "))
            return f"{self.cond(depth - 1)} or{sep}{self.cond(depth - 1)}"
        if kind == "not":
            return f"not {self._paren(self.cond(depth - 1))}"
        if kind == "mixed":
            return f"{self.cond(depth - 1)} or {self.cond(depth - 1)} and " \
                   f"not {self.cond(depth - 1)}"
        return f"({self.cond(depth - 1)})"

    def _paren(self, s: str) -> str:
        return f"({s})" if " " in s and self.rng.random() < 0.7 else s


# --------------------------------------------------------------------------- policies


def _comment(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return "  # " + rng.choice(("note", "ünïcödé ☃", "# nested", "\"quoted\"", "}"))
    return ""


def _calendar(rng: random.Random, name: str | None) -> str:
    head = "calendar" + (f" {name}" if name else "")
    if rng.random() < 0.3:
        head += " " + quote(rng.choice(("Office hours", "ŝ", "")))
    days = sorted(rng.sample(range(7), rng.randint(1, 7)))
    day_names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    start = rng.choice(("00:00", "08:30", "09:00", "01:30", "22:00", "02:15"))
    end = rng.choice(("17:00", "24:00", "23:59", "18:30", "09:01", "03:00", "12:00"))
    if end <= start:
        end = "24:00"
    lines = [f"  timezone {quote(rng.choice(ZONES))}",
             "  workdays " + " ".join(day_names[d] for d in days),
             f"  hours {start} to {end}"]
    if rng.random() < 0.6:
        hol = rng.sample(("2026-11-26", "2026-12-25", "2026-12-01", "2026-11-30", "2027-01-01",
                          "2026-03-09", "2026-11-02"), rng.randint(1, 3))
        lines.append("  holidays " + " ".join(quote(h) for h in hol))
    rng.shuffle(lines)
    return head + " {\n" + "\n".join(lines) + "\n}\n"


def _duration(rng: random.Random, business: bool) -> str:
    n = rng.choice(("1", "2", "4", "0", "8", "0.5", "1_0", "36", "3"))
    if business:
        return f"{n} business {rng.choice(('hours', 'hour', 'days', 'day'))}"
    return f"{n} {rng.choice(('minutes', 'minute', 'hours', 'hour', 'days', 'day', 'weeks'))}"


@dataclass
class Drawn:
    """A drawn policy folder: file name -> text, and the fields its leads need."""

    files: dict[str, str]
    fields: Fields
    local_tz: str | None = None


def _choose_fields(rng: random.Random) -> Fields:
    f = Fields()
    f.numbers = rng.sample(NUMBER_NAMES, rng.randint(1, 3))
    f.strings = rng.sample(STRING_NAMES, rng.randint(1, 3))
    if "email" not in f.strings and rng.random() < 0.5:
        f.strings.append("email")
    f.bools = rng.sample(BOOL_NAMES, rng.randint(0, 2))
    f.stamps = rng.sample(TS_NAMES, rng.randint(1, 3))
    f.dates = list(DATE_NAMES) if rng.random() < 0.25 else []
    f.lists = rng.sample(LIST_NAMES, rng.randint(0, 2))
    return f


def _schema_node(kind: str, rng: random.Random) -> dict:
    if kind == "number":
        return {"type": rng.choice(("number", "number", ["number", "null"], "integer"))}
    if kind in ("string", "reason"):
        return {"type": rng.choice(("string", ["string", "null"]))}
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "timestamp":
        return {"type": "string", "format": "date-time"}
    if kind == "date":
        return {"type": "string", "format": "date"}
    return {"type": "array", "items": {"type": "string"}}


def _schema(rng: random.Random, fields: Fields) -> str:
    root: dict = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                  "properties": {"lead_id": {"type": "string"}}, "required": ["lead_id"]}
    for keys, kind in fields.kinds().items():
        node = root
        for key in keys[:-1]:
            node = node["properties"].setdefault(key, {"type": "object", "properties": {}})
        node["properties"][keys[-1]] = _schema_node(kind, rng)
    return json.dumps(root, indent=1, ensure_ascii=rng.random() < 0.5)


def draw_policy(rng: random.Random) -> Drawn:
    """One policy folder drawn from the grammar; it may not pass the checker."""
    f = _choose_fields(rng)
    f.schema = rng.random() < 0.45
    n_stages = rng.randint(1, 4)
    stages = rng.sample(("lead", "mql", "sal", "sql", "won", "opp"), n_stages)
    teams = ["marketing", "sales", "success"]
    owners = {s: rng.choice(teams[:2]) for s in stages}
    states = ["nurture", "disqualified"][:rng.randint(1, 2)]
    cal_names = [c for c in ("emea", "apac") if rng.random() < 0.3]
    has_default_cal = rng.random() < 0.7
    out: list[str] = []
    out.append(f"# generated {rng.random():.6f}\n")
    out.append(f"policy gen_{rng.randint(0, 999)} {quote(rng.choice(('Gen', 'Génér', 'x')))}\n")
    out.append(f"version {quote(rng.choice(('1', '2026.11.1', 'ü')))}\n")
    if f.schema:
        out.append('schema "lead.schema.json"\n')
    if not f.schema:  # the id may sit below an object, need backticks, or be left out
        f.id_keys = rng.choice((("lead_id",), ("crm", "id"), ("Lead ID",), None))
    if f.id_keys is not None:
        path = ".".join(k if k.isidentifier() else f"`{k}`" for k in f.id_keys)
        out.append(f"id {path}" + _comment(rng) + "\n")
    out.append("\n")
    for t in teams:
        out.append(f"team {t} {quote('@acme/' + t)}\n")
    if has_default_cal:
        out.append(_calendar(rng, None))
    for c in cal_names:
        out.append(_calendar(rng, c))
    out.append("funnel " + rng.choice((" -> ", " ->\n  ")).join(stages) + "\n")

    # defines
    list_names, cond_names, num_names = [], [], []
    expr = Expr(rng, f, num_names, list_names, cond_names)
    files: dict[str, str] = {}
    if rng.random() < 0.5:
        items = [quote(t) for t in rng.sample(TEXTS, rng.randint(1, 5))]
        out.append(f"define target_list = [{', '.join(items)}]\n")
        list_names.append("target_list")
    if rng.random() < 0.35:
        entries = rng.sample(TEXTS, rng.randint(1, 6))
        body = "\ufeff" if rng.random() < 0.3 else ""
        body += "# header comment\n" + "".join(
            f"  {e}  \r\n" if rng.random() < 0.3 else f"{e}\n" for e in entries
            if e.strip() and "\n" not in e and not e.strip().startswith("#")) + "\n\n"
        files["lines.txt"] = body
        out.append('define file_list "from a file" = lines "lines.txt"\n')
        list_names.append("file_list")
    if rng.random() < 0.5:
        out.append(f"define big_num = {expr.num(2)}\n")
        num_names.append("big_num")
    if rng.random() < 0.4:  # a number that is missing with its timestamp (session 14)
        fn = rng.choice(("days_since", "hours_since"))
        out.append(f"define since_n = {fn}({rng.choice(f.stamps + f.dates)})\n")
        num_names.append("since_n")
    if rng.random() < 0.6:
        out.append(f"define hot {quote('a condition')} =\n  {expr.cond(2)}\n")
        cond_names.append("hot")
    if (num_names or cond_names) and rng.random() < 0.4:  # (session 18) defines on defines
        parts = [f"{rng.choice(num_names)} {rng.choice(('>', '<=', '=='))} "
                 f"{expr.number_literal()}" if num_names else "true"]
        if cond_names:
            parts.append(rng.choice(("", "not ")) + rng.choice(cond_names))
        out.append(f"define hotter = {rng.choice((' or ', ' and ')).join(parts)}\n")
        if rng.random() < 0.5 and num_names:
            out.append(f"define twice = {rng.choice(num_names)} * 2 - {expr.num(1)}\n")
            num_names.append("twice")
        cond_names.append("hotter")
    out.append("\n")

    # scores
    scores = rng.sample(("fit", "engagement", "intent"), rng.randint(0, 3))
    for s in scores:
        lines = []
        for _ in range(rng.randint(1, 4)):
            sign = rng.choice(("+", "-"))
            pts = rng.choice(("10", "5", "0.5", "2.5", "1", "30", "1_5", "0.25", "100",
                              "0.49999999999999994", "4503599627370497", "1.4999999999999998"))
            if rng.random() < 0.3 and f.numbers:
                cap = f" up to {rng.choice(('20', '0.5', '1000', '7.5'))}" \
                    if rng.random() < 0.6 else ""
                lines.append(f"  {sign}{pts} per {expr.num(1)}{cap}")
            else:
                lines.append(f"  {sign}{pts} if {expr.cond(2)}{_comment(rng)}")
        if rng.random() < 0.4:
            lo = rng.choice(("0", "-10", "-100", "5"))
            hi = rng.choice(("100", "10", "0", "50"))
            if float(lo.replace("_", "")) <= float(hi):
                lines.append(f"  range {lo} to {hi}")
        if rng.random() < 0.35:
            lines.append(f"  decay half-life {_duration(rng, False).replace('0 ', '3 ')} since "
                         f"{rng.choice(f.stamps + f.dates)}")
        owner = ", ".join(rng.sample(teams[:2], rng.randint(1, 2)))
        desc = f" {quote('Score ' + s)}" if rng.random() < 0.5 else ""
        out.append(f"score {s}{desc} owned by {owner} {{\n" + "\n".join(lines) + "\n}\n")
        num_names.append(s)
    # a define that reads a score (after the scores exist)
    if scores and rng.random() < 0.3:
        out.append(f"define score_gate = {rng.choice(scores)} >= {expr.number_literal()}\n")
        cond_names.append("score_gate")

    for s in stages:
        lines = []
        for _ in range(rng.randint(0, 3)):
            word = rng.choice(("require", "require", "exclude"))
            reason = f" {quote(rng.choice(('needs it', 'ß reason', 'x')))}" \
                if rng.random() < 0.3 else ""
            lines.append(f"  {word} {expr.cond(2)}{reason}")
        if rng.random() < 0.25:
            lines.append(f"  keep when {expr.cond(1)}")
        if rng.random() < 0.2 and f.stamps:
            lines.append(f"  entered at {rng.choice(f.stamps)}")
        desc = f" {quote('Stage ' + s)}" if rng.random() < 0.6 else ""
        body = " {\n" + "\n".join(lines) + "\n}\n" if lines or rng.random() < 0.5 else " {\n}\n"
        out.append(f"stage {s}{desc} owned by {owners[s]}{body}")
    for st_ in states:
        out.append(f"state {st_} {quote(st_.title())} owned by {rng.choice(teams[:2])}\n")

    # handoffs: at every boundary where the owner changes, sometimes elsewhere
    for i, s in enumerate(stages):
        nxt = stages[i + 1] if i + 1 < len(stages) else None
        needed = nxt is not None and owners[nxt] != owners[s]
        if not needed and rng.random() > 0.3:
            continue
        to = owners[nxt] if nxt else rng.choice(teams)
        lines = []
        business = rng.random() < 0.6 and (has_default_cal or cal_names)
        cal_refs = (["default"] if has_default_cal else []) + cal_names
        if cal_names and rng.random() < 0.5:
            lines.append(f"  calendar {rng.choice(cal_names)}")
        for _ in range(rng.randint(0, 2)):
            on = f" on {rng.choice(cal_refs)}" if cal_refs and rng.random() < 0.4 else ""
            lines.append(f"  route {quote(rng.choice(('ae', 'sdr', 'İ-team', 'x')))} "
                         f"if {expr.cond(1)}{on}")
        if len(lines) > 1 or rng.random() < 0.6:
            on = f" on {rng.choice(cal_refs)}" if cal_refs and rng.random() < 0.4 else ""
            lines.append(f"  route {quote('pool')} otherwise{on}")
        has_sla = rng.random() < 0.8
        if has_sla:
            until = ", ".join(rng.sample(f.stamps, rng.randint(1, len(f.stamps))))
            lines.append(f"  sla {_duration(rng, bool(business))} from "
                         f"{rng.choice(f.stamps + f.dates)} until {until}")
        if has_sla and rng.random() < 0.5:
            lines.append(f"  escalate to {quote('boss')} after "
                         f"{_duration(rng, bool(business) and rng.random() < 0.7)}")
        if rng.random() < 0.5:
            f.reason = True
            lst = rng.choice((f"[{', '.join(quote(r) for r in REASONS[:3])}]",
                              *(list_names[:1])))
            lines.append(f"  reject to {rng.choice(states)} with reason {REASON_NAME} in {lst}")
        out.append(f"handoff {s} to {to} {{\n" + "\n".join(lines) + "\n}\n")

    for _ in range(rng.randint(0, 2)):
        src = ", ".join(rng.sample(stages, rng.randint(1, len(stages))))
        reason = f" {quote(rng.choice(('stalled', 'ß', 'competitor')))}" \
            if rng.random() < 0.6 else ""
        out.append(f"recycle {src} to {rng.choice(states)} if {expr.cond(2)}{reason}\n")

    files["policy.funnel"] = "".join(out)
    if f.schema:
        files["lead.schema.json"] = _schema(rng, f)
    local = rng.choice(LOCAL_ZONES) if rng.random() < 0.4 else None
    return Drawn(files, f, local)
