"""An empty list in an array column over a Postgres table (twentieth session's campaign).

`length(tags)` of a lead whose `tags` is `[]` is 0 in the python engine (spec section 3:
the length of a list). The printed Postgres statement read an array column's length with
``ARRAY_LENGTH(tags, 1)``, which is NULL for an empty array in Postgres, so the length
was missing there and `length(tags) == 0` false: the decision differed (found by a
hand-built policy of list fields under a schema, python against `funnel sql --dialect
postgres` over a table). ``CARDINALITY`` is 0 for an empty array and NULL for a NULL one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pg_server import pg_missing
from test_sql_postgres import AS_OF, decide

import policy

pytestmark = pytest.mark.skipif(pg_missing() is not None, reason=f"Postgres tier: {pg_missing()}")

POLICY = """policy lists "Lists"
id lead_id
schema "lead.schema.json"
team marketing "@acme/marketing"
funnel lead
score fit "Fit" owned by marketing {
  +1 if length(tags) == 0
  +2 if length(tags) < 2
  +4 if length(visits) == 0
  +8 if length(flags) >= 0
  +16 if tags is present
  +32 per length(tags)
}
stage lead "Lead" owned by marketing {
}
"""

SCHEMA = {"type": "object", "properties": {
    "lead_id": {"type": "string"},
    "tags": {"type": ["array", "null"]},
    "visits": {"type": ["array", "null"]},
    "flags": {"type": ["array", "null"]},
}}


def test_an_empty_list_column_has_length_zero_not_missing(pg, tmp_path):
    (tmp_path / "policy.funnel").write_text(POLICY, encoding="utf-8")
    (tmp_path / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    pol = policy.load(tmp_path)
    leads = [{"lead_id": f"L{i}", **fields} for i, fields in enumerate([
        {"tags": [], "visits": [], "flags": []},
        {"tags": ["a"], "visits": ["1.5"], "flags": ["true", "false"]},
        {"tags": None, "visits": None, "flags": None},
        {},
        {"tags": ["a", "b", "c"], "visits": [], "flags": ["false"]},
    ])]
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=AS_OF)
    # the python engine (spec section 3): an empty list has length 0, a missing one none
    assert [pol.evaluate(lead, as_of=at).scores["fit"] for lead in leads] == [
        31, 2 + 8 + 16 + 32, 0, 0, 8 + 16 + 4 + 96]
    decide(pg, pol, leads, AS_OF)  # the Postgres statement's rows, field by field
