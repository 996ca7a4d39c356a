"""Parquet → Parquet leaves out the nullable wrapper where the column is a CASE without
ELSE, and every column stays OPTIONAL.

``pqcopy.nullable`` wraps a column in ``CASE WHEN c IS NULL THEN NULL ELSE … END`` so
that DuckDB never writes it REQUIRED; a column that is itself a CASE without ELSE
already has a NULL branch, and the wrapper only cost a test and a copy of each value.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

import policy
from policy.engine.timestamps import parse_timestamp
from policy.sql.duck import DuckEngine
from policy.sql.pqcopy import parquet_copy

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
AS_OF = "2026-12-01T16:00:00Z"


def _copy_sql(engine: DuckEngine, source: Path) -> str:
    """The COPY statement ``parquet_to_parquet`` runs for ``source``."""
    seen: list[str] = []
    real = engine.con

    class Spy:
        def execute(self, q, *a):
            if q.startswith("COPY ("):
                seen.append(q)
            return real.execute(q, *a)

        def __getattr__(self, name):
            return getattr(real, name)

    engine.con = Spy()
    try:
        engine.parquet_to_parquet(str(source), str(source.with_suffix(".out.parquet")))
    finally:
        engine.con = real
    return seen[0]


def _repetition(path: Path) -> dict[str, str]:
    return dict(duckdb.execute(
        "SELECT name, repetition_type FROM parquet_schema(?) WHERE name <> 'duckdb_schema' "
        "AND name <> 'list' AND name <> 'element'", [str(path)]).fetchall())


def _no_refusals(tmp_path: Path, folder: Path, leads: list[dict]) -> Path:
    source = tmp_path / "leads.parquet"
    text = tmp_path / "leads.jsonl"
    text.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")
    duckdb.execute(f"COPY (SELECT * FROM read_json('{text}')) TO '{source}' (FORMAT parquet)")
    return source


def test_case_columns_are_copied_without_the_wrapper_and_stay_optional(tmp_path):
    # leads the schema takes, so no row is refused: DuckDB's statistics would mark a
    # column REQUIRED if its expression could not be NULL
    leads = []
    for line in (RULES / "leads.jsonl").read_text(encoding="utf-8").splitlines():
        lead = json.loads(line)
        if lead.get("lead_id") and not isinstance(lead.get("webinars_attended"), str):
            leads.append(lead)
    source = _no_refusals(tmp_path, RULES, leads[:200])
    engine = DuckEngine(policy.load(RULES), as_of=parse_timestamp(AS_OF), json=False)
    try:
        sql = _copy_sql(engine, source)
        out = source.with_suffix(".out.parquet")
        assert engine.con.execute(f"SELECT count(*) FROM '{out}' WHERE error IS NOT NULL"
                                  ).fetchone()[0] == 0
    finally:
        engine.close()
    wrapped = set(re.findall(r'CASE WHEN "([a-z_]+)" IS NULL THEN NULL ELSE CAST', sql))
    bare = set(re.findall(r'(?:SELECT |, )CAST\("([a-z_]+)" AS [A-Z\[\]]+\) AS "\1"', sql))
    # the columns computed by a CASE without ELSE go bare; the plain ones, the
    # constants and the CASEs with an ELSE keep the wrapper
    assert {"stage", "score_fit", "next_unmet", "handoff_mql_sla_due"} <= bare
    assert {"line", "lead", "policy_name", "as_of", "error", "violations",
            "error_paths"} <= wrapped
    assert not bare & wrapped
    assert set(_repetition(out).values()) <= {"OPTIONAL", "REPEATED"}
    assert len(_repetition(out)) >= 34


def test_without_the_wrapper_a_case_column_is_the_same_file(tmp_path):
    """The column set bare writes the same bytes as when every column is wrapped."""
    source = _no_refusals(tmp_path, RULES, [json.loads(x) for x in (
        RULES / "leads.jsonl").read_text(encoding="utf-8").splitlines()][:300])
    engine = DuckEngine(policy.load(RULES), as_of=parse_timestamp(AS_OF), json=False)
    try:
        _copy_sql(engine, source)
        from policy.engine.tabular import layout

        query = engine._parquet_sql
        both = []
        for k, bare in enumerate((engine._null_branch, ())):
            path = tmp_path / f"o{k}.parquet"
            engine.con.execute(parquet_copy(query, str(path), layout(engine.pol).columns, bare))
            both.append(path.read_bytes())
    finally:
        engine.close()
    assert engine._null_branch
    assert both[0] == both[1]


#: leads the conformance schema takes (an MQL with its SLA running, a plain inquiry)
ACME_LEADS = [
    {"lead_id": "a", "created_at": "2026-11-01T10:00:00Z", "email": "x@y.z",
     "mql_at": "2026-11-30T10:00:00Z", "pricing_page_visits": 9, "demo_requested": True,
     "webinars_attended": 3, "last_activity_at": "2026-11-30T10:00:00Z"},
    {"lead_id": "b", "created_at": "2026-11-02T10:00:00Z", "email": "p@q.r"},
]


def test_the_conformance_policy_writes_every_column_optional(tmp_path, acme_dir):
    source = _no_refusals(tmp_path, acme_dir, ACME_LEADS)
    engine = DuckEngine(policy.load(acme_dir), as_of=parse_timestamp(AS_OF), json=False)
    try:
        _copy_sql(engine, source)
        assert engine._null_branch
        assert engine.con.execute(f"SELECT count(*) FROM '{source.with_suffix('.out.parquet')}'"
                                  " WHERE error IS NOT NULL").fetchone()[0] == 0
    finally:
        engine.close()
    reps = _repetition(source.with_suffix(".out.parquet"))
    assert reps and set(reps.values()) <= {"OPTIONAL", "REPEATED"}
