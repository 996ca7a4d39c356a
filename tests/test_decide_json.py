"""A JSON Lines line decided straight from its bytes (``Policy.line_decider``, the
``decide_json`` of :mod:`policy.engine.compile_struct`) against the path every other
line takes: read into a dict as ``funnel eval`` reads it, then ``Policy.evaluate_at``.

The decider may leave any line to that path (it returns None); when it returns a
decision, that path must decide the line too, the same way, byte for byte. Lines are
the generated leads of ``test_decide`` written as JSON text with the edges only text
has: a key repeated (the last one wins, spec section 9), ``1.0``, ``1e0`` and ``-0`` for
integers, integers past 64 bits, a number past a double's range (in a declared field or
an undeclared one: either refuses the lead), ``NaN``, keys the schema does not declare.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_decide import (
    _EDGES,
    _MORE,
    _SETTINGS,
    _VALID,
    AT,
    REPO,
    _acme_leads,
    _policy,
    leads,
    schemas,
)

import policy
from policy.engine.batch import decide_encode
from policy.engine.compile_struct import lead_struct
from policy.engine.decision import Decision, dumps
from policy.io.jsonl_blocks import JsonlBlock


def _by_dict(pol: policy.Policy, line: bytes) -> str:
    """The record ``funnel eval`` writes for the line without the line decider."""
    texts, _, _ = decide_encode(pol, JsonlBlock(line + b"\n", 1).iter_leads(), AT, dumps, 0)
    assert len(texts) == 1
    return texts[0]


def assert_sound(pol: policy.Policy, line: bytes) -> bool:
    decide = pol.line_decider
    if decide is None:
        return False
    try:
        mine = decide(line, AT)
    except ArithmeticError:  # the dict path refuses it (iter_leads gives it that path)
        return False
    if mine is None:
        return False
    assert type(mine) is Decision
    assert dumps(mine) == _by_dict(pol, line), line
    return True


def _number(draw, value: object) -> str:
    """A number as JSON text, in one of the spellings that mean it (or its float)."""
    if type(value) is int:
        return draw(st.sampled_from([str(value), f"{value}.0", f"{value}e0", f"{value}E+0"]))
    return json.dumps(value)


@st.composite
def lines(draw) -> bytes:
    """A generated lead as one line of JSON text, with the edges of text (see above)."""
    lead = dict(_VALID)
    kind = draw(st.sampled_from(["valid", "mild", "mild", "edges"]))
    if kind == "mild":  # values a schema may well accept: most such lines are decided
        key = draw(st.sampled_from(sorted(_MORE)))
        lead[key] = draw(st.sampled_from(_MORE[key]))
    elif kind == "edges":
        lead = draw(leads())
    pairs: list[tuple[str, str]] = []
    for key, value in lead.items():
        key = str(key)
        if draw(st.integers(0, 7)) == 0:  # the key twice: the first value is overwritten
            pairs.append((key, json.dumps(draw(st.sampled_from(_EDGES)), allow_nan=True,
                                          default=list)))
        if type(value) in (int, float) and not isinstance(value, bool) \
                and math.isfinite(value) and draw(st.integers(0, 3)) == 0:
            pairs.append((key, _number(draw, value)))
        else:
            pairs.append((key, json.dumps(value, allow_nan=True, default=list)))
    extra = draw(st.sampled_from([None, None, None, None, "-0", "1e400", "-1e400",
                                  "18446744073709551616", "123456789012345678901234567890",
                                  "NaN", "1.5e308"]))
    if extra is not None:
        key = draw(st.sampled_from(["b", "zz", "d"]))
        text = extra if key != "d" else f'{{"e": {extra}}}'
        pairs.insert(draw(st.integers(0, len(pairs))), (key, text))
    body = ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs)
    try:
        return ("{" + body + "}").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: bytes that are not UTF-8
        return ("{" + body + "}").encode("utf-8", "surrogatepass")


@_SETTINGS
@given(schema=schemas(), batch=st.lists(lines(), min_size=1, max_size=8))
def test_the_line_decider_decides_only_what_the_dict_path_decides_and_the_same_way(
        schema, batch):
    pol = _policy(json.dumps(schema))
    for line in batch:
        assert_sound(pol, line)


@_SETTINGS
@given(schema=schemas(), lead=leads())
def test_a_plain_line_the_dict_path_decides_is_decided_by_the_line_decider(schema, lead):
    """Completeness where it pays: where the schema maps onto msgspec types, a lead with
    only declared keys, integers as integers and timestamps in the inline form that the
    dict path decides is decided from its bytes."""
    pol = _policy(json.dumps(schema))
    if pol.line_decider is None:
        assert lead_struct(schema) is None
        return
    try:
        line = json.dumps(lead, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        return
    if '"error"' in _by_dict(pol, line) or not _plain(json.loads(line), schema):
        return
    assert assert_sound(pol, line), line


def _plain(value: object, schema: dict) -> bool:
    """No integral float, no integer past 2**53, no non-ASCII string, timestamps in the
    inline form, objects with declared keys only (the struct forbids the others)."""
    if isinstance(value, dict):
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return set(value) <= set(props) and all(_plain(v, props[k]) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v, {}) for v in value)
    if type(value) is float:
        return not value.is_integer()
    if type(value) is int:
        return abs(value) <= 2**53
    if type(value) is str:
        return value.isascii() and (value[:4] != "2026" or value.endswith("Z"))
    return True


def test_schemas_outside_msgspec_types_have_no_line_decider():
    assert lead_struct({"type": "object", "properties": {"a": {"enum": ["x", 1]}}}) is None
    assert lead_struct({"type": "object", "properties": {
        "a": {"type": "array", "items": {"type": "object"}}}}) is None
    assert lead_struct({"type": "object", "properties": {
        "a": {"type": "array", "items": {"type": "string", "maxLength": 2}}}}) is None
    assert lead_struct({"type": "object", "properties": {"a": {"type": "string"}}}) is not None


@pytest.mark.parametrize("name", ["rules", "acme"])
def test_every_lead_of_the_repository_policies_is_decided_from_its_line(name):
    """Speed: on the repository's own leads the line decider leaves only refused leads
    to the dict path, and agrees with it on every other."""
    if name == "rules":
        pol = policy.load(REPO / "rules")
        text = (REPO / "rules" / "leads.jsonl").read_text("utf-8")
        batch = [line for line in text.splitlines() if line.strip()]
    else:
        acme = REPO.parent / "shared" / "spec" / "conformance" / "acme"
        if not acme.is_dir():
            pytest.skip("no acme conformance policy beside the repository")
        pol = policy.load(acme)
        batch = _acme_leads(acme)
    assert pol.line_decider is not None
    for line in batch:
        data = line.encode("utf-8")
        if not assert_sound(pol, data):
            assert '"error"' in _by_dict(pol, data), line


def test_a_block_of_leads_with_undeclared_keys_stops_asking_the_line_decider():
    """Leads with keys the schema does not declare all take the dict path: after a
    quarter of a block's lines missed, the rest of the block is read without trying."""
    pol = policy.load(REPO / "rules")
    calls = []

    def decide(line: bytes, at: int):
        calls.append(line)
        return pol.line_decider(line, at)

    line = b'{"lead_id": "X", "created_at": "2026-11-02T15:00:00Z", "crm_extra": 1}\n'
    items = list(JsonlBlock(line * 200, 1).iter_leads(decide, AT))
    assert len(items) == 200 and all(type(lead) is dict for _, lead in items)
    assert len(calls) == 16


def test_the_line_decider_sees_through_a_byte_order_mark_and_crlf(tmp_path: Path):
    pol = policy.load(REPO / "rules")
    line = b'{"lead_id": "X", "created_at": "2026-11-02T15:00:00Z"}'
    block = JsonlBlock(b"\xef\xbb\xbf" + line + b"\r\n" + line + b"\r\n", 1, first=True)
    items = list(block.iter_leads(pol.line_decider, AT))
    assert [type(lead) for _, lead in items] == [Decision, Decision]
    assert [n for n, _ in items] == [1, 2]
