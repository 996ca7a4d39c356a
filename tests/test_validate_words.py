"""Every JSON Schema keyword a lead can fail, said in words a marketing-ops engineer acts
on (policy.engine.validate): the limit and what the lead holds, never the validator's
own phrasing. Both validation paths must agree (``check`` asserts it)."""

from __future__ import annotations

import pytest
from test_validate import check, schema_of

from policy.engine.validate import LeadValidator


@pytest.mark.parametrize(("rule", "value", "message"), [
    ({"exclusiveMaximum": 10}, 10, "must be less than 10, found 10"),
    ({"exclusiveMinimum": 1}, 1, "must be greater than 1, found 1"),
    ({"multipleOf": 3}, 4, "must be a multiple of 3, found 4"),
    ({"maxLength": 2}, "abc", "must be at most 2 characters long, found 3"),
    ({"pattern": "^a"}, "b", 'must match the pattern "^a", found "b"'),
    ({"minItems": 2}, [1], "must hold at least 2 items, found 1"),
    ({"maxItems": 1}, [1, 2], "must hold at most 1 item, found 2"),
    ({"uniqueItems": True}, [1, 1], "must not repeat an item"),
    ({"minProperties": 2}, {"a": 1}, "must hold at least 2 fields, found 1"),
    ({"maxProperties": 1}, {"a": 1, "b": 2}, "must hold at most 1 field, found 2"),
    ({"contains": {"type": "string"}}, [1], "does not hold the items the schema asks for"),
    ({"not": {}}, 1, "not allowed by the schema"),
    (False, 1, "not allowed by the schema"),
    ({"not": {"type": "integer"}}, 3, "integer 3 is not allowed here"),
])
def test_each_keyword_in_words(rule, value, message):
    validator = LeadValidator(schema_of({"properties": {"a": rule}}))
    assert [(p.path, p.message) for p in check(validator, {"a": value})] == [("a", message)]
