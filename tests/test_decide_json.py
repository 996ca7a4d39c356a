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

import functools
import json
import math
import tempfile
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
    """The line decider decides only what the dict path decides, the same way; the line
    encoder (``decide_text``: the record's text, ``funnel eval``'s) decides the same
    lines and writes the same bytes."""
    decide, encode = pol.line_decider, pol.line_encoder
    if decide is None:
        assert encode is None
        return False
    try:
        mine = decide(line, AT)
    except ArithmeticError:  # the dict path refuses it (iter_leads gives it that path)
        with pytest.raises(ArithmeticError):
            encode(line, AT)
        return False
    text = encode(line, AT)
    if mine is None:
        assert text is None, line
        return False
    assert type(mine) is Decision
    assert dumps(mine) == _by_dict(pol, line) == text, line
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
        from conftest import ACME as acme
        from conftest import NO_ACME
        if not acme.is_dir():
            pytest.skip(NO_ACME)
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


# ------------------------------------------------------------ the record's text

_TEXT_POLICY = r"""policy textgen "Record text"
version "1"
schema "lead.schema.json"
id id
team sales "@g/sales"
team sdr "@g/sdr"
funnel lead -> mql -> sql
state nurture "Back to marketing" owned by sales
score s "Decayed, clamped, fractional points" owned by sales {
  +2.5 per n up to 50
  +7 if k == "x"
  -3 if k == "y"
  range -5 to 40
  decay half-life 10 days since t
}
score c "Counted" owned by sales {
  +1 per n up to 3
}
stage lead "L" owned by sales {
  require id is present
}
stage mql "M" owned by sales {
  require s >= 5
}
stage sql "Q" owned by sales {
  require n >= 10
  exclude k == "z"
  require t is present
  require c >= 2
  exclude r == "a"
}
handoff mql to sdr {
  route "a \"quoted\" route" if k == "q"
  route "plain" otherwise
  sla 2 hours from t until u
  escalate to "boss\\es" after 1 hours
  reject to nurture with reason r in ["a", "b \"q\"", "ü ok"]
}
handoff sql to sales {
  sla 3 days from u until t
}
recycle mql to nurture if k == "cold" "it went \"cold\" ü"
recycle lead to nurture if k == "w" "  odd"
"""
_TEXT_SCHEMA = {"type": "object", "required": ["id"], "properties": {
    "id": {"type": ["string", "integer", "number", "boolean", "null"]},
    "n": {"type": ["number", "null"]},
    "k": {"type": ["string", "null"]},
    "r": {"type": ["string", "integer", "boolean", "null"]},
    "t": {"type": ["string", "null"], "format": "date-time"},
    "u": {"type": ["string", "null"], "format": "date-time"}}}


@functools.cache
def _text_policy() -> policy.Policy:
    with tempfile.TemporaryDirectory(prefix="decide-text-") as tmp:
        folder = Path(tmp)
        (folder / "lead.schema.json").write_text(json.dumps(_TEXT_SCHEMA), "utf-8")
        (folder / "g.funnel").write_text(_TEXT_POLICY, "utf-8")
        return policy.load(folder, engine="compiled")


# strings that need escapes in JSON, or none, or that only some encoders escape
_ODD = st.text(st.sampled_from(['"', "\\", "/", "\u2028", "\u2029", "\x85", "\x00", "\x1f",
                                "\t", "\n", "\x7f", "\u00fc", "\u20ac", "\U0001f600", "a",
                                " ", "{", "}", "\ud800"]), max_size=6)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), _ODD,
                    st.sampled_from(["a", 'b "q"', "\u00fc ok", "x", "cold", "w"]))
_INSTANT = st.one_of(st.none(), st.sampled_from([
    "2026-11-30T10:00:00Z", "2026-11-20T10:00:00Z", "2026-12-01T15:30:00Z",
    "2026-12-01T15:30:00.250000Z", "2026-11-30T10:00:00+01:00", "2026-12-02T00:00:00Z",
    "2026-13-01T00:00:00Z", "not a time"]))


@st.composite
def text_leads(draw) -> dict:
    lead = {"id": draw(_SCALAR)}
    for key, values in (("n", st.one_of(st.none(), st.integers(-3, 40),
                                        st.floats(-10, 1e6, allow_nan=False))),
                        ("k", st.one_of(st.none(), st.sampled_from(
                            ["x", "y", "z", "q", "cold", "w"]), _ODD)),
                        ("r", _SCALAR), ("t", _INSTANT), ("u", _INSTANT)):
        if draw(st.booleans()):
            lead[key] = draw(values)
    return lead


@_SETTINGS
@given(batch=st.lists(text_leads(), min_size=1, max_size=8),
       at=st.sampled_from([AT, AT + 1, AT - 86_400_000_000 * 3]), ascii=st.booleans())
def test_the_line_encoder_writes_the_bytes_of_the_record_encoder(batch, at, ascii):
    """``decide_text`` builds the record's JSON from the rules' locals, not from a
    Decision: on a policy with every part a record has (fractional and decayed scores,
    reasons from the policy and from the lead, escalations, rejections, violations,
    quoted policy strings) and leads whose strings need escapes, its text is the text
    of the Decision ``decide_json`` gives, which is the dict path's (``assert_sound``),
    at several instants (the head is kept by instant). A lone surrogate is read from its
    escape (``ascii``), or is a bad byte in the line."""
    pol = _text_policy()
    for lead in batch:
        line = json.dumps(lead, ensure_ascii=ascii).encode("utf-8", "surrogatepass")
        if at == AT:
            assert_sound(pol, line)
            continue
        mine = pol.line_decider(line, at)
        text = pol.line_encoder(line, at)
        assert (text is None) == (mine is None), line
        if mine is not None:
            assert text == dumps(mine), line


def test_the_line_encoder_decides_the_plain_leads_of_its_policy():
    """Not vacuous: the plain leads of the text policy are decided by the encoder (its
    `sql` gate has five lines: the next step is built from the lines unmet)."""
    pol = _text_policy()
    decided = 0
    for k in ("x", "y", "z", "q", "cold", "w", 'a"b\\c'):
        for r in (None, "a", 3, True, "free text"):
            lead = {"id": f"L{k}", "n": 12, "k": k, "r": r, "t": "2026-11-30T10:00:00Z"}
            decided += assert_sound(pol, json.dumps(lead).encode("utf-8"))
    assert decided == 35
