"""A long hunt over typed Postgres tables (twentieth session): generated policies
(``policies(typed=True)``) under generated schemas (``schemas()``, without the fields no
policy reads, whose several kinds no one column type holds) and schema leads, printed
with ``--dialect postgres``, run over a throwaway server's table (``pg_server.py``) and
compared field by field with the python engine (``test_sql_postgres.decide``).

``test_sql_postgres``' generated tier draws no schema, so every top-level field there is
a TEXT column (a list value is left out of the table) and the printed statement's array
columns (``TEXT[]``, ``DOUBLE PRECISION[]``, ``BOOLEAN[]``) are never read; here the
schema types them. Not a test module; run it as

    .venv/bin/python tests/hunt_pg_schemas.py SEED COUNT

which draws COUNT policies in one hypothesis run seeded with SEED and prints each
disagreement (the policy, schema and leads are written under a temporary folder).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import test_sql_postgres as pgtier  # noqa: E402
from engine_strategies import AS_OFS, leads, policies, schema_leads, schemas  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hseed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pg_server import PgServer, pg_missing  # noqa: E402
from test_sql_schemas import load_with_schema  # noqa: E402

from policy.sql.table import field_kinds  # noqa: E402

#: the schema's fields no generated policy reads (engine_strategies.SCHEMA_EXTRA's tops)
_EXTRA_TOPS = ("notes", "tier", "profile", "x y")


def main() -> int:
    import psycopg

    if pg_missing() is not None:
        print(f"no Postgres: {pg_missing()}")
        return 2
    first, count = int(sys.argv[1]), int(sys.argv[2])
    counts = {"decided": 0, "several kinds": 0, "differences": 0}
    start = time.time()
    with PgServer() as conninfo, psycopg.connect(conninfo, autocommit=True) as con:

        @hseed(first)
        @settings(max_examples=count, database=None, deadline=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(text=policies(typed=True), document=schemas(), data=st.data())
        def one(text, document, data):
            for key in _EXTRA_TOPS:
                document.get("properties", {}).pop(key, None)
            if "required" in document:
                document["required"] = [r for r in document["required"]
                                        if r in document["properties"]]
            pol = load_with_schema(text, document)
            kinds = field_kinds(pol.program, pol.model.schema)
            if any(len(set(v) - {"null"}) > 1
                   for path, v in kinds.items() if path != ("lead_id",)):
                counts["several kinds"] += 1
                return
            as_of = data.draw(st.sampled_from(AS_OFS))
            batch = data.draw(st.lists(st.one_of(schema_leads(document),
                                                 schema_leads(document), leads()),
                                       min_size=1, max_size=25))
            for i, lead in enumerate(batch):
                lead["lead_id"] = f"L{i}"
            counts["decided"] += 1
            try:
                pgtier.decide(con, pol, batch, as_of)
            except Exception:  # noqa: BLE001 - a failed statement is a finding too
                counts["differences"] += 1
                folder = Path(tempfile.mkdtemp(prefix="hpg_"))
                (folder / "policy.funnel").write_text(text, encoding="utf-8")
                (folder / "schema.json").write_text(json.dumps(document), encoding="utf-8")
                (folder / "leads.json").write_text(json.dumps({"as_of": as_of,
                                                               "leads": batch}), "utf-8")
                print(f"=== difference ({folder})\n{traceback.format_exc()[-2500:]}",
                      flush=True)

        one()
    print(f"{counts}, {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
