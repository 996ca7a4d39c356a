"""A schema `type` of several kinds over a Postgres table (twenty-first session's campaign).

`tests/hunt_pg_schemas.py 2101 150` stopped on 7 of its first 20 or so policies with
Postgres' ``invalid input syntax for type double precision: "L8"``: the drawn schema
gave the id `"type": ["string", "integer"]` (a CRM id may be either). Over a table, a
field is one column, and the printed statement takes its kind on trust from the
schema's first kind (here text: `ty` is "string" for every value), yet it also read the
column as a number, ``CAST("lead_id" AS DOUBLE PRECISION)``, for the `integer` check;
Postgres evaluates that cast for every row, so the whole statement failed, where the
python engine decides every lead (the id is a valid string). The same stopped
``["string", "number"]`` on a field the policy compares with a number, and
``["string", "boolean"]`` on a field used as a condition failed to bind
(``COALESCE types text and boolean cannot be matched``). Outside DuckDB (which reads
each column by its own type) such a column is now read as its one kind only.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from engine_strategies import AS_OFS, leads, policies, schema_leads, schemas
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pg_server import pg_missing
from test_sql_postgres import AS_OF, decide
from test_sql_schemas import load_with_schema

import policy
from policy.sql import to_sql
from policy.sql.table import field_kinds

pytestmark = pytest.mark.skipif(pg_missing() is not None, reason=f"Postgres tier: {pg_missing()}")

POLICY = """policy kinds "Kinds"
id lead_id
schema "lead.schema.json"
team marketing "@acme/marketing"
funnel lead -> mql
score fit "Fit" owned by marketing {
  +1 if employees > 5
  +2 if demo
  +4 if lead_id is present
  +8 if visits >= 2
}
stage lead "Lead" owned by marketing {
}
stage mql "MQL" owned by marketing {
  require fit >= 4
}
"""

SCHEMA = {"type": "object", "properties": {
    "lead_id": {"type": ["string", "integer"]},
    "employees": {"type": ["string", "number", "null"]},
    "demo": {"type": ["string", "boolean"]},
    "visits": {"type": ["number", "boolean"], "minimum": 0},
}}


def test_a_column_of_a_schema_type_list_is_read_as_its_one_kind(pg, tmp_path):
    (tmp_path / "policy.funnel").write_text(POLICY, encoding="utf-8")
    (tmp_path / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    pol = policy.load(tmp_path)
    # each value of its column's kind: text for the first three, a number for visits
    leads = [
        {"lead_id": "L1", "employees": "abc", "demo": "yes", "visits": 3},
        {"lead_id": "12", "employees": "12", "demo": "true", "visits": 1.5},
        {"lead_id": "L3", "employees": None, "visits": 0},
        {"lead_id": "L4"},
    ]
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=AS_OF)
    # the python engine: a text is no number and no condition (spec section 3)
    got = [pol.evaluate(lead, as_of=at) for lead in leads]
    assert [d.scores["fit"] for d in got] == [12, 4, 4, 4]
    assert [d.stage for d in got] == ["mql"] * 4
    decide(pg, pol, leads, AS_OF)  # the Postgres statement's rows, field by field


def test_other_dialects_do_not_cast_a_text_column_to_a_number():
    """Snowflake, BigQuery and Trino are only printed here; their casts fail on text as
    Postgres' does (Spark's only outside ANSI mode), so none may read the id as a
    number either."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "policy.funnel").write_text(POLICY, encoding="utf-8")
        Path(tmp, "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
        pol = policy.load(tmp)
        for dialect in ("postgres", "snowflake", "bigquery", "trino", "spark"):
            text = to_sql(pol, dialect=dialect, as_of=AS_OF, years=(2025, 2027))
            casts = [f"CAST({q}lead_id{q} AS {t}" for q in '"`' for t in (
                "DOUBLE", "FLOAT", "FLOAT64", "BOOLEAN", "BOOL")]
            assert not any(c in text for c in casts), dialect


#: the schema's fields no generated policy reads (as in ``hunt_pg_schemas.py``)
_EXTRA_TOPS = ("notes", "tier", "profile", "x y")


@settings(max_examples=int(os.environ.get("FUNNEL_PG_SCHEMA_EXAMPLES", "3")), deadline=None,
          database=None, suppress_health_check=list(HealthCheck))
@given(text=policies(typed=True), document=schemas(), data=st.data())
def test_generated_policies_under_generated_schemas_over_a_typed_table(pg, text, document,
                                                                      data):
    """The generated Postgres tier (``test_sql_postgres``) draws no schema, so every
    top-level field there is a TEXT column; this draws one (``hunt_pg_schemas.py`` at a
    few examples), so typed columns, arrays and schema type lists such as the id's
    ``["string", "integer"]`` above are read in CI too."""
    for key in _EXTRA_TOPS:
        document.get("properties", {}).pop(key, None)
    if "required" in document:
        document["required"] = [r for r in document["required"] if r in document["properties"]]
    pol = load_with_schema(text, document)
    kinds = field_kinds(pol.program, pol.model.schema)
    # a field of several kinds other than the id: no one column type holds its values
    assume(not any(len({k for k in v if not k.startswith("items:")} - {"null"}) > 1
                   for path, v in kinds.items() if path != ("lead_id",)))
    as_of = data.draw(st.sampled_from(AS_OFS))
    batch = data.draw(st.lists(st.one_of(schema_leads(document), leads()), min_size=1,
                               max_size=12))
    for i, lead in enumerate(batch):
        lead["lead_id"] = f"L{i}"
    decide(pg, pol, batch, as_of)
