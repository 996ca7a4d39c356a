"""More adversarial cases (tests/test_attack.py is near the module size limit): each once
broke a command or made two engines or two outputs disagree; each test names what went
wrong before its fix."""

from __future__ import annotations

import duckdb
import pytest

import policy
from policy.sql import to_sql

BARE = '''policy p "No version, no recycle reason, a handoff without sla or escalate"
team m "@m"
funnel lead -> mql
score fit owned by m {
  +10 if n > 1
}
stage lead owned by m {
  require n is present
}
stage mql owned by m {
  require fit >= 10
}
handoff mql to m {
  route "a" otherwise
}
'''


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "bigquery", "snowflake", "postgres",
                                     "trino"])
def test_printed_sql_types_the_columns_it_leaves_null(tmp_path, dialect):
    # `funnel sql` wrote `NULL AS policy_version` (and `lead`, `reason`, the handoff's
    # sla_status, escalate_to and rejection_reason): a column of type NULL in a DuckDB
    # view, INT64 in BigQuery, where a decision table has text.
    (tmp_path / "p.funnel").write_text(BARE)
    text = to_sql(policy.load(tmp_path), dialect=dialect, years=(2026, 2026))
    assert " NULL AS " not in text.replace("CAST(NULL AS", "")
    if dialect != "duckdb":
        return
    con = duckdb.connect()
    con.execute("CREATE TABLE leads (n DOUBLE)")
    con.execute("INSERT INTO leads VALUES (2), (NULL)")
    con.execute("CREATE VIEW decisions AS " + text.rstrip().rstrip(";"))
    types = {name: ty for name, ty, *_ in con.execute("DESCRIBE decisions").fetchall()}
    assert "NULL" not in types.values(), types
    assert types["policy_version"] == types["reason"] == types["lead"] == "VARCHAR"
    assert types["handoff_mql_sla_status"] == types["handoff_mql_rejection_reason"] == "VARCHAR"
    assert {r[6] for r in con.execute("SELECT * FROM decisions").fetchall()} == {None, "mql"}


ONE_STAGE = '''policy p "One stage, no handoff, no score"
team m "@m"
funnel lead
stage lead owned by m {
  require email is present
  entered at created_at
}
'''


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_cohort_keys_write_every_year_with_four_digits(tmp_path, engine):
    # weeks and quarters wrote the year as DuckDB's CAST does ('1-W01', '999-Q4') while
    # months wrote '0001-01': the keys of one report disagreed, and a year before 1000
    # sorted after 1970
    import json

    from click.testing import CliRunner
    from funnel_cli.main import main

    (tmp_path / "p.funnel").write_text(ONE_STAGE)
    stamps = ["0001-01-01T00:00:00Z", "0999-12-20T00:00:00Z", "1969-12-31T23:59:59Z",
              "9999-12-31T23:59:59Z"]
    (tmp_path / "l.jsonl").write_text("".join(
        json.dumps({"email": "a", "created_at": t}) + "\n" for t in stamps))
    keys = {}
    for period in ("week", "month", "quarter"):
        result = CliRunner().invoke(main, [
            "report", str(tmp_path), str(tmp_path / "l.jsonl"), "--engine", engine,
            "--as-of", "2027-01-01T00:00:00Z", "--period", period, "--format", "json"])
        assert result.exit_code == 0, result.output
        keys[period] = list(json.loads(result.stdout)["cohorts"])
    assert keys == {"week": ["0001-W01", "0999-W51", "1970-W01", "9999-W52"],
                    "month": ["0001-01", "0999-12", "1969-12", "9999-12"],
                    "quarter": ["0001-Q1", "0999-Q4", "1969-Q4", "9999-Q4"]}


FIXED_ZONE = '''policy p "A handoff counted in local time"
id id
team m "@m"
calendar {
  timezone "America/New_York"
  workdays mon tue wed thu fri
  hours 09:00 to 17:00
}
funnel lead
stage lead owned by m {
  require id is present
}
handoff lead to m {
  route "r" otherwise
  sla 3 business hours from t0 until t1
}
'''


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Etc/GMT-5", "America/New_York"])
def test_local_tz_of_a_fixed_offset_zone_in_duckdb(tmp_path, zone):
    # --engine duckdb --local-tz Etc/GMT+12 ended in a traceback: the zone's offset
    # column was an INT32 to DuckDB, and -43,200 s x 10^6 overflowed it
    from click.testing import CliRunner
    from funnel_cli.main import main

    (tmp_path / "p.funnel").write_text(FIXED_ZONE)
    (tmp_path / "l.jsonl").write_text(
        '{"id": 1, "t0": "2026-03-08T02:30:00"}\n{"id": 2, "t0": "2026-11-01"}\n'
        '{"id": 3, "t0": "2026-11-02T10:00:00Z", "t1": "2026-11-02 12:00"}\n')
    out = {}
    for engine in ("python", "duckdb"):
        result = CliRunner().invoke(main, [
            "eval", str(tmp_path), str(tmp_path / "l.jsonl"), "--engine", engine,
            "--as-of", "2026-12-01T00:00:00Z", "--local-tz", zone, "--format", "csv"])
        assert result.exit_code == 0, (result.output, result.exception)
        out[engine] = result.stdout
    assert out["python"] == out["duckdb"]


@pytest.mark.parametrize(("as_of", "why"), [
    ("9999-12-31T23:59:59-05:00", "outside the instants"),
    ("0001-01-01T03:00:00+0500", "outside the instants"),
    ("2026-01-01Z", "expected an ISO-8601"),
    ("2026-13-01T00:00:00Z", "expected an ISO-8601"),
])
def test_an_as_of_past_the_years_a_decision_holds_says_so(tmp_path, as_of, why):
    # a valid date-time whose offset moved it past 9999 (or before year 1) in UTC was
    # told it was not ISO-8601
    from click.testing import CliRunner
    from funnel_cli.main import main

    (tmp_path / "p.funnel").write_text(BARE)
    (tmp_path / "l.jsonl").write_text('{"n": 2}\n')
    result = CliRunner().invoke(main, ["eval", str(tmp_path), str(tmp_path / "l.jsonl"),
                                       "--as-of", as_of])
    assert result.exit_code == 2
    assert why in result.stderr
