"""Output records written by SQL: each decision's JSON Lines, JSON or CSV text built by
the engine itself (DuckDB or Spark), byte for byte what the python writers
(:mod:`policy.io.writers`) write, so no :class:`~policy.engine.decision.Decision` is
rebuilt in Python for it.

:func:`record_query` wraps the engines' decided relation (the tabular columns plus the
hidden ones of :mod:`policy.sql.compiler`) in a query of three columns: ``line``; the
record's text (``NULL`` when the row must be written by Python); and, for exactly those
rows, everything :class:`policy.sql.engine.Rebuilder` needs (DuckDB: a STRUCT).

What SQL writes, and how it matches the python writer:

- strings are JSON-escaped as ``json.dumps(ensure_ascii=False)`` does (``\\"``,
  ``\\\\``, ``\\n``, ``\\r``, ``\\t``, ``\\b``, ``\\f``, other C0 controls as ``\\u00xx``
  in lower case) plus :func:`policy.render.escape.json_safe` (U+0085, U+2028, U+2029 as
  ``\\u`` escapes) for JSON output; a string with none of those characters is quoted
  as it is (the common case, one regular-expression test);
- a JSON value the lead gave (``lead``, ``reason``, ``rejection_reason``) is the
  engine's JSON text when that text is already Python's (a string without escapes, an
  integer of at most 18 digits, ``true``, ``false``, ``null``); a string with escapes is
  decoded and escaped again; anything else (a float, an object, a list) goes to Python;
- instants are ``YYYY-MM-DDTHH:MM:SSZ`` with ``.ffffff`` only when fractional, for the
  years 1000 to 9999 (others go to Python); scores are integers; texts the policy
  supplies and the run shares (the policy, ``as_of``, score names, violation messages)
  are encoded once, in Python, by the writer's own encoder;
- CSV cells follow :class:`policy.io.writers.CsvWriter`: ``csv_text`` (a leading
  ``=``, ``+``, ``-``, ``@`` or tab gets a ``'``, CR becomes LF), quoted as Python's
  ``csv`` module quotes (a cell holding ``,``, ``"`` or LF), lists as JSON text.

Rows that go to Python (each decided by the SQL, rebuilt from its tabular columns and
written by the python writer): every refused lead (the python reader's own words,
:func:`policy.sql.engine.explain_refusal`), a decision with an
``invalid_rejection_reason`` violation (its message quotes the reason by Python's
``json.dumps``), and a lead value or instant outside what is listed above.
"""

from __future__ import annotations

import json
from typing import Any

from policy.engine.tabular import layout
from policy.engine.timestamps import format_timestamp
from policy.render.escape import json_safe
from policy.sql.quoting import SPARK_SUBSTITUTION, spark_pieces

__all__ = ["FORMATS", "record_query"]

#: The output formats SQL writes (the table view and Parquet are written elsewhere).
FORMATS = ("jsonl", "json", "csv")

#: 1000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in µs: the instants SQL prints.
_FIRST_US = -30_610_224_000_000_000
_LAST_US = 253_402_300_799_999_999

#: JSON's escapes for the C0 controls, as ``json.dumps`` writes them.
_CONTROL = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}
BS, DQ, LF = "\\", '"', "\n"


def _escapes(safe: bool) -> list[tuple[str, str]]:
    """(character, its JSON escape) for the characters :meth:`_Builder.esc` replaces
    after the backslash and the quote."""
    out = [(chr(code), _CONTROL.get(code, f"{BS}u{code:04x}")) for code in range(0x20)]
    if safe:  # json_safe's
        out += [(chr(code), f"{BS}u{code:04x}") for code in (0x85, 0x2028, 0x2029)]
    return out


def canonical(value: Any) -> str:
    """A value's JSON as the python writers write it (``dumps`` + ``json_safe``)."""
    return json_safe(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))


class _Dialect:
    """The few spellings that differ between the engines that write records."""

    name = ""

    def lit(self, text: str) -> str:
        raise NotImplementedError

    def cat(self, *parts: str) -> str:
        return "(" + " || ".join(parts) + ")"

    def matches(self, value: str, pattern: str) -> str:
        raise NotImplementedError

    def json_string(self, j: str) -> str:
        raise NotImplementedError

    def text(self, value: str) -> str:
        raise NotImplementedError

    def clock(self, us: str) -> str:
        raise NotImplementedError

    def join_list(self, items: str, var: str, body: str) -> str:
        raise NotImplementedError

    def contains(self, items: str, value: str) -> str:
        raise NotImplementedError


class _Duck(_Dialect):
    name = "duckdb"

    def lit(self, text: str) -> str:
        # control characters as chr(n): the statement's text stays printable
        parts, run = [], []
        for ch in text:
            if ord(ch) < 0x20 or ord(ch) == 0x7F:
                if run:
                    parts.append("'" + "".join(run).replace("'", "''") + "'")
                    run = []
                parts.append(f"chr({ord(ch)})")
            else:
                run.append(ch)
        if run or not parts:
            parts.append("'" + "".join(run).replace("'", "''") + "'")
        return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"

    def matches(self, value: str, pattern: str) -> str:
        return f"regexp_matches({value}, {self.lit(pattern)})"

    def json_string(self, j: str) -> str:
        return f"json_extract_string({j}, '$')"

    def text(self, value: str) -> str:
        return f"CAST({value} AS VARCHAR)"

    def clock(self, us: str) -> str:
        return f"strftime(make_timestamp({us}), '%Y-%m-%dT%H:%M:%S')"

    def join_list(self, items: str, var: str, body: str) -> str:
        return f"array_to_string(list_transform({items}, lambda {var}: {body}), ', ')"

    def contains(self, items: str, value: str) -> str:
        return f"list_contains({items}, {self.lit(value)})"


class _Spark(_Dialect):
    name = "spark"

    def lit(self, text: str) -> str:
        # Spark's string literals read backslash escapes: double every backslash
        parts, run = [], []
        for ch in text:
            if ord(ch) < 0x20 or ord(ch) == 0x7F:
                if run:
                    parts.append(self._quote("".join(run)))
                    run = []
                parts.append(f"chr({ord(ch)})")
            else:
                run.append(ch)
        if run or not parts:
            parts.append(self._quote("".join(run)))
        return parts[0] if len(parts) == 1 else "concat(" + ", ".join(parts) + ")"

    @staticmethod
    def _quote(text: str) -> str:
        # Spark substitutes `${…}` in the statement's text (policy.sql.quoting)
        if SPARK_SUBSTITUTION in text:
            return "concat(" + ", ".join(_Spark._quote(p) for p in spark_pieces(text)) + ")"
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def cat(self, *parts: str) -> str:
        return "concat(" + ", ".join(parts) + ")"

    def matches(self, value: str, pattern: str) -> str:
        return f"({value} RLIKE {self.lit(pattern)})"

    def json_string(self, j: str) -> str:
        return f"get_json_object({j}, '$')"

    def text(self, value: str) -> str:
        return f"CAST({value} AS STRING)"

    def clock(self, us: str) -> str:
        return f"date_format(timestamp_micros({us}), \"yyyy-MM-dd'T'HH:mm:ss\")"

    def join_list(self, items: str, var: str, body: str) -> str:
        return f"array_join(transform({items}, {var} -> {body}), ', ')"

    def contains(self, items: str, value: str) -> str:
        return f"array_contains({items}, {self.lit(value)})"


_DIALECTS = {"duckdb": _Duck(), "spark": _Spark()}

# RE2 (DuckDB) and Java (Spark) read these the same way; \z is the very end in both.
_NEEDS_ESCAPE = '[\\x{00}-\\x{1f}"\\\\\\x{85}\\x{2028}\\x{2029}]'
_NEEDS_ESCAPE_PLAIN = '[\\x{00}-\\x{1f}"\\\\]'
_PLAIN_JSON = ('^(?:"[^"\\\\\\x{00}-\\x{1f}\\x{85}\\x{2028}\\x{2029}]*"'
               '|0|-?[1-9][0-9]{0,17}|true|false|null)\\z')
_PLAIN_CSV_SCALAR = "^(?:0|-?[1-9][0-9]{0,17}|true|false)\\z"
_PLAIN_STRING = '^"[^"\\\\]*"\\z'


class _Builder:
    """The SQL expressions of one policy's records (see the module docstring)."""

    def __init__(self, pol: Any, d: _Dialect, as_of_us: int):
        self.d = d
        self.pol = pol
        self.lay = layout(pol)
        self.info = pol.info
        self.as_of_us = as_of_us
        # the intermediate form, as every engine reads it (each SLA carries its
        # missing-start message)
        self.handoffs = [(h.stage, h.sla) for h in pol.program.handoffs]

    # ------------------------------------------------------------------ scalars
    def esc(self, x: str, *, safe: bool = True) -> str:
        """The JSON string of the VARCHAR ``x`` (``null`` for NULL); ``safe``: also
        U+0085, U+2028 and U+2029 as escapes (JSON output, not CSV's JSON lists)."""
        d = self.d
        # the backslash first: the escapes added after it are not escaped again
        chain = (f"replace(replace({x}, {d.lit(BS)}, {d.lit(BS + BS)}), {d.lit(DQ)}, "
                 f"{d.lit(BS + DQ)})")
        for ch, escape in _escapes(safe):
            chain = f"replace({chain}, {d.lit(ch)}, {d.lit(escape)})"
        test = d.matches(x, _NEEDS_ESCAPE if safe else _NEEDS_ESCAPE_PLAIN)
        quote = d.lit(DQ)
        return (f"CASE WHEN {x} IS NULL THEN 'null' WHEN {test} "
                f"THEN {d.cat(quote, chain, quote)} ELSE {d.cat(quote, x, quote)} END")

    def json_value(self, j: str) -> str:
        """The JSON of a value held as the engine's JSON text ``j``; NULL: Python."""
        d = self.d
        string = d.matches(j, "^" + DQ)
        return (f"CASE WHEN {j} IS NULL THEN 'null' WHEN {d.matches(j, _PLAIN_JSON)} THEN {j} "
                f"WHEN {string} THEN {self.esc(d.json_string(j))} END")

    def instant(self, us: str) -> str:
        """An instant (µs) as a JSON string, ``null``; NULL outside the years SQL prints."""
        d = self.d
        quote = d.lit(DQ)
        return (f"CASE WHEN {us} IS NULL THEN 'null' WHEN {us} BETWEEN {_FIRST_US} AND "
                f"{_LAST_US} THEN {d.cat(quote, self._iso(us), quote)} END")

    def _iso(self, us: str) -> str:
        d = self.d
        frac = f"(({us}) % 1000000 + 1000000) % 1000000"
        digits = d.cat("'.'", f"lpad({d.text(frac)}, 6, '0')")
        return d.cat(d.clock(us), f"CASE WHEN {frac} = 0 THEN '' ELSE {digits} END", "'Z'")

    # ------------------------------------------------------------------ JSON records
    def json_pieces(self) -> list[tuple[str, str]]:
        """(name, expression) of the parts that may send a row to Python (NULL)."""
        pieces = [("__o_lead", self.json_value("_lead_json")),
                  ("__o_reason", self.json_value("_reason_json"))]
        for i, (stage, sla) in enumerate(self.handoffs):
            p = f"handoff_{stage}_"
            pieces.append((f"__o_rj{i}", self.json_value(f"_rj{i}")))
            if sla is not None:
                for field in ("start", "due", "stop"):
                    pieces.append((f"__o_{field}{i}", self.instant(p + "sla_" + field)))
        return pieces

    def json_record(self) -> str:
        """The decision's one-line JSON (over :meth:`json_pieces`' columns)."""
        d = self.d
        policy = canonical(self.info.to_dict())
        as_of = canonical(format_timestamp(self.as_of_us))
        head = ('{"lead": ', f', "policy": {policy}, "as_of": {as_of}, "stage": ')
        scores = []
        for k, s in enumerate(self.lay.scores):
            sep = "" if k == 0 else ", "
            scores += [d.lit(f"{sep}{canonical(s)}: "),
                       f"coalesce({d.text(f'score_{s}')}, 'null')"]
        unmet = d.join_list("coalesce(next_unmet, array())" if d.name == "spark"
                            else "coalesce(next_unmet, [])", "u", self.esc("u"))
        step = d.cat(d.lit('{"stage": '), self.esc("next_stage"), d.lit(', "unmet": ['), unmet,
                     d.lit("]}"))
        nxt = f"CASE WHEN next_stage IS NULL THEN 'null' ELSE {step} END"
        handoffs, violations = [], []
        for i, (stage, sla) in enumerate(self.handoffs):
            p = f"handoff_{stage}_"
            if sla is None:
                sla_text = "'null'"
            else:
                sla_text = d.cat(d.lit('{"status": '), self.esc(p + "sla_status"),
                                 d.lit(', "start": '), f"__o_start{i}",
                                 d.lit(', "due": '), f"__o_due{i}",
                                 d.lit(', "stop": '), f"__o_stop{i}", d.lit("}"))
                missing = self._violation("missing_sla_start", sla.missing_start)
                unknown = self._violation(
                    "calendar_out_of_range",
                    f"the business time of the {stage} handoff falls outside the "
                    "years of the SQL calendar tables")
                violations.append(
                    f"CASE WHEN {p}team IS NOT NULL AND {p}sla_start IS NULL THEN {missing} "
                    f"WHEN {p}team IS NOT NULL AND {p}sla_status = 'unknown' THEN {unknown} END")
            body = d.cat(d.lit(f'{{"stage": {canonical(stage)}, "team": '), self.esc(p + "team"),
                         d.lit(', "route": '), self.esc(p + "route"), d.lit(', "sla": '),
                         sla_text, d.lit(', "escalate_to": '), self.esc(p + "escalate_to"),
                         d.lit(', "rejected": '),
                         f"CASE WHEN {p}rejected THEN 'true' ELSE 'false' END",
                         d.lit(', "rejection_reason": '), f"__o_rj{i}", d.lit("}"))
            handoffs.append(f"CASE WHEN {p}team IS NOT NULL THEN {body} END")
        joined = (f"concat_ws(', ', {', '.join(handoffs)})" if handoffs else "''")
        viols = (f"concat_ws(', ', {', '.join(violations)})" if violations else "''")
        return d.cat(d.lit(head[0]), "__o_lead", d.lit(head[1]), self.esc("stage"),
                     d.lit(', "reached": '), self.esc("reached"), d.lit(', "reason": '),
                     "__o_reason", d.lit(', "scores": {'), *(scores or ["''"]),
                     d.lit('}, "next": '), nxt, d.lit(', "handoffs": ['), joined,
                     d.lit('], "violations": ['), viols, d.lit("]}"))

    def _violation(self, code: str, message: str) -> str:
        return self.d.lit(f'{{"code": {canonical(code)}, '
                          f'"message": {canonical(message)}}}')

    # ------------------------------------------------------------------ CSV rows
    def csv_text(self, s: str) -> str:
        """:func:`policy.render.escape.csv_text` then the csv module's quoting."""
        d = self.d
        t = f"replace(replace({s}, chr(13) || chr(10), chr(10)), chr(13), chr(10))" \
            if d.name == "duckdb" else \
            f"replace(replace({s}, concat(chr(13), chr(10)), chr(10)), chr(13), chr(10))"
        formula = d.matches(s, "^[=+@\t\r-]")  # before a CR becomes LF (escape.csv_text)
        t = f"CASE WHEN {formula} THEN {d.cat(d.lit(chr(39)), t)} ELSE {t} END"
        return self.csv_quote(t)

    def csv_quote(self, t: str) -> str:
        d = self.d
        quote = d.lit(DQ)
        quoted = d.cat(quote, f"replace({t}, {quote}, {d.lit(DQ + DQ)})", quote)
        return f"CASE WHEN {d.matches(t, '[,' + DQ + LF + ']')} THEN {quoted} ELSE {t} END"

    def csv_json(self, j: str) -> str:
        """A ``json`` kind cell from the engine's JSON text; NULL: Python."""
        d = self.d
        return (f"CASE WHEN {j} IS NULL OR {j} = 'null' THEN '' "
                f"WHEN {d.matches(j, _PLAIN_CSV_SCALAR)} THEN {j} "
                f"WHEN {d.matches(j, _PLAIN_STRING)} THEN "
                f"{self.csv_text(f'substr({j}, 2, length({j}) - 2)')} "
                f"WHEN {d.matches(j, '^' + DQ)} THEN {self.csv_text(d.json_string(j))} END")

    def csv_pieces(self) -> list[tuple[str, str]]:
        pieces = [("__o_lead", self.csv_json("_lead_json")),
                  ("__o_reason", self.csv_json("_reason_json"))]
        for i, (stage, _sla) in enumerate(self.handoffs):
            p = f"handoff_{stage}_"
            pieces.append((f"__o_rj{i}", self.csv_json(f"_rj{i}")))
            for field in ("start", "due", "stop"):  # empty cells when there is no SLA
                pieces.append((f"__o_{field}{i}", self._csv_instant(p + "sla_" + field)))
        return pieces

    def _csv_instant(self, us: str) -> str:
        return (f"CASE WHEN {us} IS NULL THEN '' WHEN {us} BETWEEN {_FIRST_US} AND "
                f"{_LAST_US} THEN {self._iso(us)} END")

    def csv_record(self) -> str:
        """The decision's CSV row with its LF (over :meth:`csv_pieces`' columns)."""
        from policy.render.escape import csv_text

        d = self.d
        info = self.info
        cells = []

        def const(value: Any) -> str:
            import csv
            import io

            if value is None:
                return ""
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow([csv_text(value), ""])
            return buffer.getvalue()[:-2]

        handoff_of = {}
        for i, (stage, sla) in enumerate(self.handoffs):
            handoff_of[stage] = (i, sla)
        for col in self.lay.columns:
            name, kind = col.name, col.kind
            if name == "line":
                cells.append(d.text("line"))
            elif name == "lead":
                cells.append("__o_lead")
            elif name in ("policy_name", "policy_version", "policy_digest"):
                value = getattr(info, name[len("policy_"):])
                cells.append(d.lit(const(value)))
            elif name == "as_of":
                cells.append(d.lit(format_timestamp(self.as_of_us)))
            elif name == "reason":
                cells.append("__o_reason")
            elif name.endswith("_rejection_reason") and name.startswith("handoff_"):
                stage = name[len("handoff_"):-len("_rejection_reason")]
                cells.append(f"__o_rj{handoff_of[stage][0]}")
            elif kind == "timestamp":
                stage, field = self._handoff_field(name)
                i = handoff_of[stage][0]
                cells.append(f"__o_{field[len('sla_'):]}{i}")
            elif kind == "int":
                cells.append(f"coalesce({d.text(name)}, '')")
            elif kind == "bool":
                cells.append(f"CASE WHEN {name} IS NULL THEN '' WHEN {name} THEN 'true' "
                             "ELSE 'false' END")
            elif kind == "list":
                items = d.join_list(name, "u", self.esc("u", safe=False))
                cells.append(f"CASE WHEN {name} IS NULL THEN '' ELSE "
                             f"{self.csv_quote(d.cat(d.lit('['), items, d.lit(']')))} END")
            else:  # string
                cells.append(f"CASE WHEN {name} IS NULL THEN '' ELSE {self.csv_text(name)} END")
        parts = []
        for k, cell in enumerate(cells):
            if k:
                parts.append("','")
            parts.append(cell)
        parts.append("chr(10)")
        return d.cat(*parts)

    def _handoff_field(self, name: str) -> tuple[str, str]:
        for stage, _ in self.handoffs:
            p = f"handoff_{stage}_"
            if name.startswith(p):
                return stage, name[len(p):]
        raise KeyError(name)

    # ------------------------------------------------------------------ fallback
    def python_rows(self, pieces: list[tuple[str, str]]) -> str:
        """The rows Python writes: refused leads, an invalid rejection reason, business
        time beyond the calendar tables (the python engine decides those again), and a
        piece the SQL cannot print (NULL)."""
        from policy.sql.fallback import beyond_tables_sql

        tests = ["error IS NOT NULL", self.d.contains("violations", "invalid_rejection_reason"),
                 beyond_tables_sql("violations", dialect=self.d.name)]
        tests += [f"{name} IS NULL" for name, _ in pieces]
        return " OR ".join(tests)


def record_query(pol: Any, fmt: str, *, dialect: str, as_of_us: int, relation: str,
                 columns: list[str], ordered: bool = True) -> str:
    """The query over ``relation`` (the engine's decided rows, ``columns`` its column
    names) giving ``line``, ``out`` (the record's text, ``NULL`` for a row Python
    writes) and ``py`` (a STRUCT of ``columns`` for exactly those rows). DuckDB gives the
    text as UTF-8 bytes (no decoding in Python), Spark as a string. JSON Lines and CSV
    texts end with their LF, JSON texts do not. ``ordered=False`` (Spark): no ``ORDER
    BY line``, the caller orders the rows."""
    d = _DIALECTS[dialect]
    b = _Builder(pol, d, as_of_us)
    if fmt == "csv":
        pieces, text = b.csv_pieces(), b.csv_record()
    elif fmt in ("jsonl", "json"):
        pieces, text = b.json_pieces(), b.json_record()
        if fmt == "jsonl":
            text = d.cat(text, "chr(10)")
    else:
        raise ValueError(f"SQL does not write {fmt!r}")
    inner = ", ".join(f"{expr} AS {name}" for name, expr in pieces)
    fallback = b.python_rows(pieces)
    if dialect == "duckdb":
        packed = ", ".join(f'"{c}" := "{c}"' for c in columns)
        return (f"SELECT line, CASE WHEN NOT __py THEN encode({text}) END AS out, "
                f"CASE WHEN __py THEN struct_pack({packed}) END AS py "
                f"FROM (SELECT *, ({fallback}) AS __py FROM "
                f"(SELECT *, {inner} FROM {relation}))")
    packed = ", ".join(f"`{c}`" for c in columns)
    return (f"SELECT line, CASE WHEN NOT __py THEN {text} END AS out, "
            f"CASE WHEN __py THEN struct({packed}) END AS py "
            f"FROM (SELECT *, ({fallback}) AS __py FROM (SELECT *, {inner} FROM {relation}))"
            + (" ORDER BY line" if ordered else ""))
