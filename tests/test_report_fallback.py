"""`funnel report --engine duckdb` gives the python engine's report byte for byte on the
leads the SQL cannot decide as the python engine does (``policy/sql/fallback.py``).

- a key repeated in one JSON object (the python reader keeps the last, spec section 9;
  DuckDB's JSON functions the first), in the record or in an object below it;
- business time outside the SQL calendar tables' years (SLA status ``unknown`` with
  ``calendar_out_of_range`` in SQL; the python engine computes the figure).

The differential tests draw policies and leads (``engine_strategies``) and lines a real
export has (not JSON, blank, CRLF, arrays, timestamps decades away), run the report
through both engines, with and without ``--by`` and ``--cohort``, and compare the JSON
text.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import examples
from engine_strategies import AS_OFS, TIMESTAMP_FIELDS, leads, leads_for, load_text, policies
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_report import RULES

import policy
from policy.api import Policy
from policy.report.build import build_report, duckdb_engine_available, report_with_duckdb
from policy.report.render import to_json
from policy.sql.fallback import beyond_tables, key_objects, repeated_keys

pytestmark = pytest.mark.skipif(not duckdb_engine_available(),
                                reason="no DuckDB engine in this installation")

AS_OF = "2026-12-01T00:00:00Z"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def cli_reports(leads_path: Path, *options) -> tuple[dict, dict, str, str]:
    """Both engines' JSON reports of the sample policy (parsed, and as text)."""
    texts = []
    for engine in ("python", "duckdb"):
        result = run("report", RULES, leads_path, "--as-of", AS_OF, "--format", "json",
                     "--engine", engine, "--jobs", "1", *options)
        assert result.exit_code == 0, result.output
        texts.append(result.stdout)
    return json.loads(texts[0]), json.loads(texts[1]), texts[0], texts[1]


def _rules_lines(count: int, want: str = '"mql_at"') -> list[str]:
    out = []
    with open(RULES / "leads.jsonl", encoding="utf-8") as f:
        for line in f:
            if want in line:
                out.append(line.rstrip("\n"))
                if len(out) == count:
                    break
    return out


# --------------------------------------------------------------------------- the two cases


def test_a_repeated_key_is_read_as_the_python_reader_reads_it(tmp_path):
    """The lead engineer's case: `lead_type` repeated with a value the schema refuses.
    The python reader keeps the last, so all 40 leads are refused on both engines."""
    lines = [line[:-1] + ', "lead_type": "competitor"}' for line in _rules_lines(40)]
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    python, duck, ptext, dtext = cli_reports(path)
    assert ptext == dtext
    assert duck["refused"] == {"count": 40, "paths": {"lead_type": 40}} and duck["decided"] == 0
    # and the other way round: the refused value first, the good one last
    swapped = [line.replace('{"lead_id"', '{"lead_type": "competitor", "lead_id"', 1)
               for line in _rules_lines(40)]
    path.write_text("\n".join(swapped) + "\n", encoding="utf-8")
    python, duck, ptext, dtext = cli_reports(path, "--by", "lead_type")
    assert ptext == dtext
    # only a lead without a `lead_type` of its own keeps the refused value
    alone = sum('"lead_type"' not in line for line in _rules_lines(40))
    assert duck["refused"]["count"] == alone < 5 and duck["decided"] == 40 - alone


def test_a_repeated_key_inside_an_object_and_in_the_by_field(tmp_path):
    """`company.industry` repeated (an object the report's --by reads) and `source`
    repeated at the top: each key is the last one's value on both engines."""
    lines = []
    for i, line in enumerate(_rules_lines(60)):
        if i % 2:
            line = line.replace('"company":{', '"company":{"industry":"zz-first",', 1)
        else:
            line = line[:-1] + ', "source": "zz-last"}'
        lines.append(line)
    path = tmp_path / "nested.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for by in ("company.industry", "source"):
        python, duck, ptext, dtext = cli_reports(path, "--by", by)
        assert ptext == dtext
    assert "zz-first" not in duck["by"] and duck["by"]["zz-last"]["leads"] == 30


def test_business_time_decades_away_is_the_python_engines(tmp_path):
    """The lead engineer's second case: `mql_at` (the SLA's start) in 1985, before the
    SQL calendar tables' years: breached and escalated with a response time, as the
    python engine computes, not `unknown`."""
    lines = []
    for i, line in enumerate(_rules_lines(90)):
        year = ("1985", "2051", "2026")[i % 3]
        lines.append(re.sub(r'"(mql_at|accepted_at|rejected_at)":"2026-',
                            lambda m, y=year: f'"{m.group(1)}":"{y}-', line))
    path = tmp_path / "years.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    python, duck, ptext, dtext = cli_reports(path, "--cohort", "mql_at", "--period", "quarter")
    assert ptext == dtext
    handoff = duck["handoffs"][0]
    total = {k: sum(r["sla"][k] for r in handoff["routes"].values())
             for k in ("met", "breached", "pending", "unknown")}
    assert total["unknown"] == 0 and total["breached"] > 0
    assert any(r["escalated"] for r in handoff["routes"].values())
    assert any(r["response_business_hours"]["median"] is not None
               for r in handoff["routes"].values())
    assert any(key.startswith("1985") for key in duck["cohorts"])


def test_an_instant_just_past_the_tables_end_is_caught(tmp_path):
    """Tables of one year: starts late in December have their due or escalation past
    the end, stops in January have no position; all such leads go to python."""
    pol = policy.load(RULES)
    lines = []
    for i, line in enumerate(_rules_lines(120)):
        day = 20 + i % 12
        lines.append(re.sub(r'"mql_at":"2026-\d\d-\d\d', f'"mql_at":"2026-12-{day:02d}', line)
                     .replace('"accepted_at":"2026-', '"accepted_at":"2027-01-0'
                              if i % 2 else '"accepted_at":"2026-'))
    data = "\n".join(lines) + "\n"
    python, duck = library_reports(pol, data.encode(), tmp_path, as_of=AS_OF_US_2027,
                                   years=(2026, 2026))
    assert python == duck


# --------------------------------------------------------------------------- the predicates


def test_the_repeated_key_test_finds_what_json_loads_reads_differently():
    import duckdb

    con = duckdb.connect()
    test = repeated_keys([("company",), ("a", "b")])
    cases = {
        '{"x": 1, "x": 2}': True,
        '{"x": 1, "company": {"n": 1, "n": 1}}': True,
        '{"x": 1, "x": 2, "company": "n/a"}': True,
        '{"x": 1, "company": [1, 2], "a": "s"}': False,
        '{"a": {"b": {"k": 1, "k": 2}}}': True,
        '{"a": {"c": {"k": 1, "k": 2}}}': False,  # an object nothing reads
        '{"x": 1, "y": {"x": 2}}': False,
        "not json": False,
        '{"x": [{"k": 1}, {"k": 2}]}': False,
        "\x01{\"x\": NaN, \"x\": 1}": False,  # marked as not JSON: refused anyway
    }
    for text, expected in cases.items():
        got = con.execute(f"SELECT {test} FROM (SELECT $1 AS txt)", [text]).fetchone()[0]
        assert got is expected, text


def test_key_objects_are_the_proper_prefixes_of_the_paths_read():
    objects = key_objects([("utm", "campaign", "name"), ("source",), ("company", "size"), ()])
    assert objects == [("company",), ("utm",), ("utm", "campaign")]


def test_eval_and_report_share_one_repeated_key_query(tmp_path):
    """The engine's staging finds a key repeated in an object the policy reads, and in
    one only a caller reads (the report's --by) once the caller has the engine carry
    that field."""
    from policy.engine.timestamps import parse_timestamp
    from policy.sql.duck import DuckEngine

    pol = _rules_policy()
    line = _rules_lines(1)[0]
    texts = [line.replace('"company":{', '"company":{"industry":"a","industry":"b",', 1),
             line[:-1] + ', "zz": {"k": 1, "k": 2}}', line]
    data = ("\n".join(texts) + "\n").encode()
    at = parse_timestamp(AS_OF)
    plain = DuckEngine(pol, as_of=at)
    assert set(plain.stage_jsonl(io.BytesIO(data))) == {1}
    report = DuckEngine(pol, as_of=at, carry=(("_r_zz", ("zz", "k"), "j"),), ordered=False)
    assert set(report.stage_jsonl(io.BytesIO(data))) == {1, 2}
    plain.close()
    report.close()


def test_an_escalation_past_the_tables_end_is_marked_for_the_python_engine():
    """Tables of 2026 only, as_of in 2027: an SLA started on the evening of 30 December has its due
    instant inside the tables and its escalation past their end. The SQL marks the
    decision (calendar_out_of_range), so eval decides it again with the python engine
    and escalates as the python engine does."""
    from policy.sql.duck import DuckEngine

    pol = _rules_policy()
    lines = [re.sub(r'"mql_at":"2026-\d\d-\d\dT\d\d', '"mql_at":"2026-12-30T20', line)
             for line in _rules_lines(40)]
    lines = [re.sub(r',"(accepted|rejected)_at":"[^"]*"', "", line) for line in lines]
    engine = DuckEngine(pol, as_of=AS_OF_US_2027, years=(2026, 2026))
    decided = engine.decide(list(range(1, len(lines) + 1)), lines)
    marked = engine.rows(list(range(1, len(lines) + 1)), lines)
    engine.close()
    names = engine.rebuild.names
    # the due instant inside the tables, the escalation's past their end
    assert any("calendar_out_of_range" in row[names.index("violations")]
               and row[names.index("handoff_mql_sla_due")] is not None for row in marked)
    for (line, record), text in zip(decided, lines, strict=True):
        expected = pol.run_prepared(json.loads(text), pol.prepare(json.loads(text)),
                                    AS_OF_US_2027)
        assert not beyond_tables(record)
        assert record.to_dict() == expected.to_dict(), line
    assert any(h.escalate_to for _, r in decided for h in r.handoffs)


# --------------------------------------------------------------------------- differential

AS_OF_US_2027 = 1_801_000_000_000_000  # 2027-01-26


def library_reports(pol, data: bytes, tmp_path: Path, *, as_of, by=None, cohort=None,
                    period="month", years=None) -> tuple[str, str]:
    """Both engines' JSON report of a JSON Lines text, through the readers the CLI uses."""
    from policy.engine.timestamps import parse_timestamp
    from policy.model.schema import format_path

    at = parse_timestamp(as_of) if isinstance(as_of, str) else as_of
    path = tmp_path / "leads.jsonl"
    path.write_bytes(data)
    options = {"as_of": at, "by": by, "cohort": cohort, "period": period,
               "by_text": format_path(by) if by else None,
               "cohort_text": format_path(cohort) if cohort else None}
    with open(path, "rb") as f:
        python = build_report(pol, units=policy.lead_batches(pol, f, "jsonl"), jobs=1,
                              **options)

    def feed(facts):
        with open(path, "rb") as f:
            facts.add_units(policy.lead_batches(pol, f, "jsonl"))

    duck = report_with_duckdb(pol, feed, years=years, **options)
    return to_json(python), to_json(duck)


_NOT_RECORDS = st.sampled_from(["", "   ", "\t", "not json", '{"lead_id": "n", "x": NaN}',
                                "[1, 2]", '"text"', '{"lead_id": "t",}', "{"])
_YEARS = st.sampled_from(["1985", "1999", "2019", "2031", "2044", "2101"])


@st.composite
def lead_lines(draw, model) -> str:
    """A lead as a line of JSON Lines text: sometimes with a key repeated (at the top or
    in an object), sometimes with its timestamps moved to another year."""
    lead = draw(st.one_of(leads(), leads_for(model)))
    text = json.dumps(lead, ensure_ascii=False)
    change = draw(st.sampled_from(["none", "none", "repeat", "repeat", "years", "both"]))
    if change in ("repeat", "both"):
        text = _repeat(draw, lead, text)
    if change in ("years", "both"):
        year = draw(_YEARS)
        text = re.sub(r'"2026-', f'"{year}-', text, count=draw(st.integers(1, 4)))
    return text


def _repeat(draw, lead: dict, text: str) -> str:
    """``text`` with one key of the lead (or of an object in it) written twice, the
    other value first or last."""
    where = [((), lead)] + [((k,), v) for k, v in lead.items() if isinstance(v, dict) and v]
    path, obj = draw(st.sampled_from(where))
    if not obj:
        return text
    key = draw(st.sampled_from(sorted(obj)))
    other = draw(st.sampled_from([None, "vp", 7, True, "2026-11-30T10:00:00Z", "bad fit",
                                  "yesterday", {"size": 5}]))
    pair = json.dumps(key, ensure_ascii=False) + ": " + json.dumps(other)
    inner = json.dumps(obj, ensure_ascii=False)
    first = draw(st.booleans())
    changed = "{" + pair + ", " + inner[1:] if first else inner[:-1] + ", " + pair + "}"
    if not path:
        return changed
    target = json.dumps(path[0], ensure_ascii=False) + ": " + inner
    return text.replace(target, json.dumps(path[0], ensure_ascii=False) + ": " + changed, 1)


_BY = [None, ("source",), ("level",), ("company", "size"), ("bant",), ("lead_id",),
       ("rejection_reason",)]
_COHORT = [None, *[tuple(p.strip("`") for p in t.split(".")) for t in TIMESTAMP_FIELDS]]


@settings(max_examples=examples(15, 30), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(text=policies(), data=st.data())
def test_property_both_engines_give_the_same_report_on_generated_policies(tmp_path, text,
                                                                          data):
    pol = Policy(load_text(text))
    lines = data.draw(st.lists(st.one_of(lead_lines(pol.model), lead_lines(pol.model),
                                         _NOT_RECORDS), max_size=30))
    ends = data.draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines),
                              max_size=len(lines)))
    raw = "".join(line + end for line, end in zip(lines, ends, strict=True))
    python, duck = library_reports(
        pol, raw.encode("utf-8"), tmp_path, as_of=data.draw(st.sampled_from(AS_OFS)),
        by=data.draw(st.sampled_from(_BY)), cohort=data.draw(st.sampled_from(_COHORT)),
        period=data.draw(st.sampled_from(["week", "month", "quarter"])),
        years=data.draw(st.sampled_from([None, (2026, 2026), (2025, 2027)])))
    assert python == duck


_SAMPLE = _rules_lines(400, want='"lead_id"')


@settings(max_examples=examples(6, 12), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_the_sample_policy_with_refusals_repeats_and_far_years(tmp_path, data):
    """The sample policy has a schema: repeated keys with values it refuses (or accepts
    only as the last), leads it refuses, and SLA times decades away."""
    pol = _rules_policy()
    picks = data.draw(st.lists(st.integers(0, len(_SAMPLE) - 1), min_size=1, max_size=60))
    lines = []
    for i in picks:
        line = _SAMPLE[i]
        change = data.draw(st.sampled_from(["none", "repeat", "nested", "years", "bad"]))
        if change == "repeat":
            pair = data.draw(st.sampled_from(['"lead_type": "competitor"', '"source": 5',
                                              '"lead_type": "prospect"', '"mql_at": "x"',
                                              '"country": "DE"']))
            line = (line[:-1] + ", " + pair + "}") if data.draw(st.booleans()) else (
                "{" + pair + ", " + line[1:])
        elif change == "nested":
            line = line.replace('"company":{', '"company":{"employees":"many",', 1)
        elif change == "years":
            year = data.draw(_YEARS)
            line = re.sub(r'"(\w+_at)":"2026-', lambda m, y=year: f'"{m.group(1)}":"{y}-',
                          line)
        elif change == "bad":
            line = data.draw(_NOT_RECORDS)
        lines.append(line)
    raw = "\n".join(lines) + "\n"
    python, duck = library_reports(
        pol, raw.encode("utf-8"), tmp_path, as_of=AS_OF,
        by=data.draw(st.sampled_from([None, ("source",), ("company", "industry"),
                                      ("lead_type",)])),
        cohort=data.draw(st.sampled_from([None, ("mql_at",), ("created_at",)])),
        period=data.draw(st.sampled_from(["week", "quarter"])),
        years=data.draw(st.sampled_from([None, (2026, 2026)])))
    assert python == duck


_RULES_POLICY: list = []


def _rules_policy():
    if not _RULES_POLICY:
        _RULES_POLICY.append(policy.load(RULES))
    return _RULES_POLICY[0]


# --------------------------------------------------------------------------- a lone CR

_CR_LINES = (b'{"lead_id": "a"}\r{"lead_id": "b"}\n'      # one line: not JSON (extra data)
             b'{"lead_id": "c",\r"email": "x"}\n'          # one line: a CR is white space
             b'{"lead_id": "d", "title": "a\rb"}\r\n'      # a raw CR inside a string
             b'\r\n\r\r\n'                                  # blank lines
             b'{"lead_id": "e"}\r')                         # the last line, no LF


def test_a_lone_cr_ends_no_line_in_the_python_reader():
    """Lines end at LF or CRLF (JSON Lines; as `lines` files, spec section 2): the
    records and their physical line numbers are the same whichever reader cuts them."""
    import io

    from policy.io.jsonl_blocks import jsonl_blocks
    from policy.io.leads import read_records, text_stream

    records = list(read_records(text_stream(io.BytesIO(_CR_LINES)), fmt="jsonl"))
    assert [r.line for r in records] == [1, 2, 3, 6]
    assert [r.value.get("lead_id") if r.error is None else None for r in records] == [
        None, "c", None, "e"]
    assert "Extra data" in records[0].error and "control character" in records[2].error
    for size in (1, 7, 64, 1 << 20):
        blocks = list(jsonl_blocks(io.BytesIO(_CR_LINES), size))
        assert [r for b in blocks for r in b.records()] == records


def test_a_lone_cr_is_read_alike_by_eval_on_both_engines_and_by_report(tmp_path):
    path = tmp_path / "cr.jsonl"
    path.write_bytes(_CR_LINES)
    outs = []
    for engine in ("python", "duckdb"):
        result = run("eval", RULES, path, "--as-of", AS_OF, "--engine", engine)
        assert result.exit_code == 1, result.output
        outs.append(result.stdout)
    assert outs[0] == outs[1]
    assert [json.loads(x)["line"] for x in outs[0].splitlines()] == [1, 2, 3, 6]
    python, duck, ptext, dtext = cli_reports(path, "--by", "lead_id")
    assert ptext == dtext and duck["leads"] == 4


def test_a_lone_cr_in_a_lines_file_ends_no_entry():
    from policy.model.lines import read_entries

    got = read_entries("\ufeffa\rb\nc\r\n\r\n# note\r\n  d \rx  \ne")
    assert got.entries == ("a\rb", "c", "d \rx", "e") and got.lines == (1, 2, 5, 6)
