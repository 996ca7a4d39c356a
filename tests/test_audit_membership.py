"""Membership of a timestamp in a list of text (spec section 3).

    "`a in [..]`, `a not in [..]`, `a in NAME`: membership in a list literal or a defined
    list"; comparisons: "timestamps in time order".

docs/LANGUAGE.md: "A string literal compared with a timestamp field (`mql_at >=
"2026-11-01"`) is read as an instant once, when the policy loads; the checker rejects one
that is not a valid ISO-8601 date or date-time (E102)". The checker already took the items
of a list that a timestamp is looked for in as instants (it accepts
`t1 in ["2026-11-02T08:00:00Z"]` and reports an item that does not parse, E102), but every
engine compared the instant with the text and never found it: `t1 in [..]` was always
false and `t1 not in [..]` always true, even for a lead holding exactly that text. Each
item of text is now read as an instant, as `==` reads it, in every engine.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

import policy

AS_OF = datetime(2026, 11, 3, tzinfo=UTC)
POLICY = """policy t "timestamps in lists"
schema "lead.schema.json"
id lead_id
team m "@m"
funnel a
define days = ["2026-11-02T08:00:00Z", "2026-11-03"]
score s owned by m {
  +1 if t1 in ["2026-11-02T09:00:00+01:00"]
  +10 if t1 not in ["2026-11-02T08:00:00Z"]
  +100 if t1 in days
  +1000 if d1 in days
  +10000 if t1 in [t2, "2026-11-05T00:00:00Z"]
}
stage a owned by m {
  require true
}
"""
SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
          "properties": {"lead_id": {"type": "string"},
                         "t1": {"type": "string", "format": "date-time"},
                         "t2": {"type": "string", "format": "date-time"},
                         "d1": {"type": "string", "format": "date"}}}
# lead -> the score: each rule's points when its test holds
LEADS = [
    # the same instant as written in the list, and in another offset: found
    ({"lead_id": "same", "t1": "2026-11-02T08:00:00Z", "d1": "2026-11-03"}, 1 + 100 + 1000),
    ({"lead_id": "offset", "t1": "2026-11-02T10:00:00+02:00", "d1": "2026-11-02"}, 1 + 100),
    # a second later is another instant: not found, so `not in` holds
    ({"lead_id": "other", "t1": "2026-11-02T08:00:01Z", "t2": "2026-11-02T08:00:01Z"},
     10 + 10000),
    ({"lead_id": "listed", "t1": "2026-11-05T00:00:00Z", "t2": "2026-11-04T00:00:00Z"},
     10 + 10000),
    # t2 missing: the last test touches a missing value, so it is false (spec section 3;
    # until the seventeenth session the missing item was skipped and the text matched)
    ({"lead_id": "unlisted", "t1": "2026-11-05T00:00:00Z"}, 10),
    # missing: every membership test is false, `not in` included
    ({"lead_id": "none"}, 0),
]


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "p.funnel").write_text(POLICY, encoding="utf-8")
    (d / "lead.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    return d


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
def test_text_items_are_instants_for_a_timestamp(rules, engine):
    pol = policy.load(rules, engine=engine)
    for lead, score in LEADS:
        assert pol.evaluate(lead, as_of=AS_OF).scores["s"] == score, lead["lead_id"]


def test_duckdb_engine_agrees(rules, tmp_path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps(x) + "\n" for x, _ in LEADS), encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(rules), str(leads), "--as-of",
                                       "2026-11-03T00:00:00Z", "--engine", "duckdb"])
    assert result.exit_code == 0, result.output
    scores = [json.loads(line)["scores"]["s"] for line in result.stdout.splitlines()]
    assert scores == [s for _, s in LEADS]


def test_sql_over_a_table_agrees(rules):
    pol = policy.load(rules)
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (lead_id VARCHAR, t1 VARCHAR, t2 VARCHAR, d1 VARCHAR)")
    for lead, _ in LEADS:
        con.execute("INSERT INTO leads VALUES (?, ?, ?, ?)",
                    [lead.get(k) for k in ("lead_id", "t1", "t2", "d1")])
    cur = con.execute(pol.sql(dialect="duckdb", as_of=AS_OF))
    names = [c[0] for c in cur.description]
    got = {r[names.index("lead")]: r[names.index("score_s")] for r in cur.fetchall()}
    assert got == {lead["lead_id"]: s for lead, s in LEADS}


def test_an_item_that_is_no_timestamp_is_still_e102(rules):
    (rules / "p.funnel").write_text(
        POLICY.replace('"2026-11-05T00:00:00Z"', '"next tuesday"'), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(rules)])
    assert result.exit_code == 1
    assert "error[E102]: expected a timestamp, found \"next tuesday\"" in result.output
