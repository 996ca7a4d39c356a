"""Spec section 9, "Tabular decisions (v1.1)", read against every writer of the flat form:

    "… `next_stage`, `next_unmet` (a list; JSON text in CSV), then for every handoff, in
    declaration order, `handoff_<stage>_` + `team`, `route`, …"

Declaration order is file-path order, then source order (docs/LANGUAGE.md). A policy
whose handoffs are declared in another order than their stages stand in the funnel
keeps its handoff columns in declaration order in CSV, Parquet, the table view and
`funnel sql`, with either engine; the decision itself (JSON) still lists the handoffs
that apply in funnel order, and its values do not change.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy
from policy.engine.tabular import layout

AS_OF = "2026-11-02T15:00:00Z"

# the handoff at `b` is declared first, in the file whose path sorts first; the one at
# `a` in a later file
FIRST = """policy t "tabular order"
id lead_id
team m "@m"
team s "@s"
funnel a -> b -> c
stage a owned by m {
  require true
}
stage b owned by m {
  require x
}
stage c owned by s {
  require true
}
handoff b to s {
  route "rb" otherwise
  reject to gone with reason rb in ["no"]
}
state gone owned by m
"""
SECOND = """handoff a to m {
  route "ra" otherwise
  sla 2 hours from a_at until a_done
}
"""
LEADS = [
    {"lead_id": "deep", "x": True, "a_at": "2026-11-02T14:00:00Z", "rb": "no"},
    {"lead_id": "shallow", "a_at": "2026-11-02T14:00:00Z"},
]
ORDER = ["handoff_b_team", "handoff_a_team"]  # declaration order, not funnel order


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "1_main.funnel").write_text(FIRST, encoding="utf-8")
    (d / "2_handoffs.funnel").write_text(SECOND, encoding="utf-8")
    (tmp_path / "leads.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in LEADS), encoding="utf-8")
    return d


def run(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def handoff_columns(names) -> list[str]:
    return [n for n in names if n.startswith("handoff_") and n.endswith("_team")]


def test_layout_puts_handoffs_in_declaration_order(rules):
    pol = policy.load(rules)
    assert handoff_columns(layout(pol).names) == ORDER
    names = list(layout(pol).names)
    # the whole block of each handoff, in the order of spec section 9
    b, a = names.index("handoff_b_team"), names.index("handoff_a_team")
    assert names[b:b + 9] == [f"handoff_b_{f}" for f in (
        "team", "route", "sla_status", "sla_start", "sla_due", "sla_stop", "escalate_to",
        "rejected", "rejection_reason")]
    assert a == b + 9 and names[a + 9] == "violations"
    # the decision itself keeps funnel order
    d = pol.evaluate(LEADS[0], as_of=_as_of())
    assert [h.stage for h in d.handoffs] == ["a", "b"]


def _as_of() -> datetime:
    return datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_csv_columns_in_declaration_order(rules, engine):
    out = run("eval", rules, rules.parent / "leads.jsonl", "--as-of", AS_OF,
              "--engine", engine, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    header = next(csv.reader(io.StringIO(out)))
    assert handoff_columns(header) == ORDER
    deep, shallow = rows
    assert (deep["handoff_b_route"], deep["handoff_b_rejected"]) == ("rb", "true")
    assert (deep["handoff_a_route"], deep["handoff_a_sla_status"]) == ("ra", "pending")
    assert deep["stage"] == "gone"
    # a handoff that does not apply has empty cells, wherever its columns stand
    assert shallow["handoff_b_team"] == "" and shallow["handoff_a_team"] == "m"


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_parquet_columns_in_declaration_order(rules, engine, tmp_path):
    target = tmp_path / f"out_{engine}.parquet"
    run("eval", rules, rules.parent / "leads.jsonl", "--as-of", AS_OF,
        "--engine", engine, "-o", target)
    names = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{target}'").fetchall()]
    assert handoff_columns(names) == ORDER


def test_sql_statement_returns_the_columns_in_declaration_order(rules):
    pol = policy.load(rules)
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, x BOOLEAN, a_at VARCHAR, "
                "a_done VARCHAR, rb VARCHAR)")
    for x in LEADS:
        con.execute("INSERT INTO leads VALUES (?, ?, ?, ?, ?)",
                    [x.get("lead_id"), x.get("x"), x.get("a_at"), x.get("a_done"), x.get("rb")])
    cur = con.execute(pol.sql(dialect="duckdb", as_of=_as_of()))
    names = [c[0] for c in cur.description]
    assert names == list(layout(pol).names)
    assert handoff_columns(names) == ORDER
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    assert [r["handoff_b_route"] for r in rows] == ["rb", None]
    assert [r["handoff_a_route"] for r in rows] == ["ra", "ra"]


def test_json_decisions_unchanged_and_equal_across_engines(rules):
    outs = [run("eval", rules, rules.parent / "leads.jsonl", "--as-of", AS_OF,
                "--engine", e) for e in ("python", "duckdb")]
    assert outs[0] == outs[1]
    first = json.loads(outs[0].splitlines()[0])
    assert [h["stage"] for h in first["handoffs"]] == ["a", "b"]
