"""The facts row written by code made for one report (``policy.report.rows``, issue 11).

``funnel report`` with the python engine writes the facts of a lead that the policy's
``line_facts`` decided by a function :func:`policy.report.rows.row_function` writes for
the report's columns. It must give the very line of CSV that the writer's general path
gives for the same lead (its ``values`` from the Decision and the lead's dict, as
``csv.writer`` writes their :meth:`FactWriter.csv_row`): these tests compare the three
on the sample leads, on generated ones, and on leads whose ``--by`` values, cohort and
``entered at`` fields are hostile (texts CSV or DuckDB's reader treat specially,
numbers, lists, objects, timestamps of every form and none).
"""

from __future__ import annotations

import csv
import functools
import io
import json
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_report import _generator

import policy
from policy.engine.timestamps import parse_timestamp
from policy.report.facts import FactWriter
from policy.report.shape import report_shape
from policy.report.units import line_function

ROOT = Path(__file__).resolve().parents[1]
AT = parse_timestamp("2026-12-01T16:00:00Z")
#: texts a CSV file or its reader could get wrong
HOSTILE = ["a,b", 'say "hi"', "line\nbreak", "cr\rx", "\r", "nul\x00here", "sep\u2028x",
           "", "s", 'j"x"', "NULL", '"', ",", "\ufeffbom", "tab\tx", "back\\slash", "é😀"]
#: timestamps of every form: the common one, valid and not, and others
INSTANTS = ["2026-11-02T15:00:00Z", "2026-13-02T15:00:00Z", "2026-02-30T15:00:00Z",
            "2026-11-02T24:00:00Z", "2026-11-02T15:00:60Z", "2026-11-02 15:00:00Z",
            "2026-11-02", "2026-11-02T15:00:00+01:00", "2026-11-02T15:00:00.5Z",
            "2026-11-02t15:00:00z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
            "２０２６-11-02T15:00:0Z", "2026-11-02T15:00:0\u0661Z", "yesterday", ""]


@pytest.fixture(scope="module")
def rules():
    return policy.load(ROOT / "rules")


def writer_for(pol, *, by=None, cohort=None, entered=None) -> FactWriter:
    """A writer of ``pol``'s report, its row function made (``entered``: stage name ->
    (field path, kind), in place of the policy's own ``entered at`` fields)."""
    shape = report_shape(pol.model, name=pol.info.name, version=pol.info.version,
                         digest=pol.info.digest)
    if entered is not None:
        stages = tuple(attrs.evolve(s, entered_at=entered.get(s.name, (None, "any"))[0],
                                    entered_kind=entered.get(s.name, (None, "any"))[1])
                       for s in shape.stages)
        shape = attrs.evolve(shape, stages=stages)
    writer = FactWriter(shape, None, by=by, cohort=cohort if cohort is not None
                        else shape.default_cohort)
    assert line_function(pol, writer) is pol.line_facts
    assert writer.row_text is not None
    return writer


def general_lines(writer: FactWriter, pol, number: int, lead: dict) -> tuple[str, str | None]:
    """The lines of the facts and of the handoffs of the writer's general path, checked
    against ``csv.writer``'s."""
    values = writer.values(number, pol.evaluate_at(lead, AT), writer.lead_values(lead))
    text, hand = writer.line_text(list(values)), writer.handoff_line(list(values))
    row = dict(zip(writer.columns, writer.csv_row(values), strict=True))
    assert text == csv_line([row[c] for c in writer.main_columns])
    applies = any(row[c] for c in writer.handoff_columns if c.endswith("_applies"))
    assert hand == (csv_line([row[c] for c in writer.handoff_columns]) if applies else None)
    return text, hand


def csv_line(values: list) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def check_rows(writer: FactWriter, pol, leads: list) -> int:
    """Each lead ``line_facts`` decides: its row is the general path's line; returns how
    many were decided so."""
    seen = 0
    for number, lead in enumerate(leads, 1):
        piece = json.dumps(lead, ensure_ascii=False).encode("utf-8", "surrogatepass")
        try:
            facts = pol.line_facts(piece, AT)
        except ArithmeticError:
            facts = None
        if facts is None:
            continue
        hands = len(writer._hands)
        got = writer.row_text(number, facts, piece)
        if got is None:  # a line the struct cannot read: the dict path writes it
            assert len(writer._hands) == hands
            continue
        seen += 1
        hand = writer._hands[hands] if len(writer._hands) > hands else None
        assert len(writer._hands) <= hands + 1
        assert (got, hand) == general_lines(writer, pol, number, json.loads(piece)), lead
    return seen


def sample_leads() -> list:
    lines = (ROOT / "rules" / "leads.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if x.strip()]


@pytest.mark.parametrize("options", [
    {}, {"by": ("source",)}, {"by": ("company", "industry")},
    {"by": ("company", "employees"), "cohort": ("mql_at",)},
    {"by": ("company",)}, {"by": ("company", "tech_stack"), "cohort": ("last_activity_at",)},
])
def test_the_row_is_the_general_line_on_the_sample_and_generated_leads(rules, options):
    writer = writer_for(rules, **options)
    leads = sample_leads() + [x for x in _generator().generate(3000, seed=5)
                              if isinstance(x, dict)]
    assert check_rows(writer, rules, leads) > 3000


def test_hostile_keys_and_instants_give_the_general_line(rules):
    """``--by`` over a free text field holding hostile texts and timestamps, the cohort
    and every stage's ``entered at`` read from free text fields as each kind."""
    entered = {"inquiry": (("title",), "date-time"), "mql": (("utm_campaign",), "date"),
               "sal": (("utm_campaign",), "any"), "sql": (("sdr_owner",), "date-time"),
               "opportunity": (("company", "name"), "date")}
    writer = writer_for(rules, by=("utm_campaign",), cohort=("title",), entered=entered)
    base = [x for x in sample_leads() if x.get("company")][:400]
    values = HOSTILE + INSTANTS + [None]
    leads = []
    for i, lead in enumerate(base):
        lead = dict(lead, company=dict(lead["company"]))
        lead["utm_campaign"] = values[i % len(values)]
        lead["title"] = values[(i * 7 + 3) % len(values)]
        lead["sdr_owner"] = INSTANTS[i % len(INSTANTS)]
        lead["company"]["name"] = INSTANTS[(i * 5) % len(INSTANTS)]
        leads.append(lead)
    assert check_rows(writer, rules, leads) > 300


_value = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                   st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=6), st.sampled_from(HOSTILE + INSTANTS))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.one_of(_value, st.lists(_value, max_size=3),
                     st.dictionaries(st.sampled_from(["a", "b"]), _value, max_size=2)),
       title=st.one_of(st.none(), st.text(max_size=22), st.sampled_from(INSTANTS)),
       reason=st.one_of(st.none(), st.sampled_from(HOSTILE), st.text(max_size=5)),
       which=st.integers(0, 300))
def test_any_key_and_rejection_reason_give_the_general_line(rules, key, title, reason,
                                                            which):
    """``--by`` over ``company.tech_stack`` (any JSON value the schema may refuse; a
    refused lead gets no row here), a free text read as an instant, a rejection
    reason of any text."""
    writer = writer_for(rules, by=("company", "tech_stack"), cohort=("title",))
    leads = [x for x in sample_leads() if x.get("company") and x.get("mql_at")]
    lead = dict(leads[which % len(leads)])
    lead["company"] = dict(lead["company"], tech_stack=key)
    lead["title"] = title
    lead["rejected_at"] = lead["mql_at"]
    lead["rejection_reason"] = reason
    check_rows(writer, rules, [lead])


def test_handoffs_states_and_rejections_are_all_seen(rules):
    """The generated leads above reach every kind of row: handoffs with and without
    a response time, rejections on and off the agreed list, off-funnel states."""
    writer = writer_for(rules)
    lines = []
    for number, lead in enumerate(_generator().generate(3000, seed=5), 1):
        if not isinstance(lead, dict):
            continue
        piece = json.dumps(lead).encode()
        facts = rules.line_facts(piece, AT)
        if facts is not None:
            lines.append(writer.row_text(number, facts, piece))
    main = list(csv.reader(io.StringIO("".join(lines))))
    rows = list(csv.reader(io.StringIO("".join(writer._hands))))
    assert 0 < len(rows) < len(main) / 3  # only the records a handoff applies to
    at = {name: i for i, name in enumerate(writer.handoff_columns)}
    assert any(r[at["h0_applies"]] == "True" and r[at["h0_response"]] for r in rows)
    assert any(r[at["h1_applies"]] == "True" for r in rows)
    assert any(r[at["h0_off_list"]] == "True" for r in rows)
    assert any(r[at["h0_off_list"]] == "False" for r in rows)
    at = {name: i for i, name in enumerate(writer.main_columns)}
    assert any(r[at["state"]] for r in main) and any(r[at["reason"]] for r in main)


@functools.cache
def _report_policy_shape():
    """The report shape of tests/report_policy, loaded once: the property draws only
    the texts (loading the policy in each of its 300 examples was most of its CPU)."""
    pol = policy.load(ROOT / "tests" / "report_policy")
    return report_shape(pol.model, name="t", version="1", digest="d")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(), st.sampled_from(HOSTILE)), min_size=9,
                max_size=9))
def test_line_text_is_what_csv_writer_writes(texts):
    writer = FactWriter(_report_policy_shape(), None, by=("source",), cohort=None)
    values = [None] * len(writer.columns)
    for i, text in zip(writer._text_columns, texts, strict=False):
        values[i] = text
    values[0], values[1] = 12, False
    marked = dict(zip(writer.columns, writer.csv_row(list(values)), strict=True))
    assert writer.line_text(values) == csv_line([marked[c] for c in writer.main_columns])
    at = writer.columns.index("h0_applies")
    values[at] = marked["h0_applies"] = True
    assert writer.handoff_line(values) == csv_line([marked[c] for c in writer.handoff_columns])
