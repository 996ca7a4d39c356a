"""Disagreements between the python engine and ``--engine duckdb`` found by the
thirteenth session's differential hunt (``hunt2``), each kept as the smallest case that
showed it, through ``funnel eval`` (the CLI path: the writers and the readers run).

Every engine gives the python engine's bytes on standard output, the same exit status,
and the same words on standard error (spec sections 9 and 10). Each bug's class is also
drawn (a few Hypothesis examples each): CSV headers usable or not, and instants over the
python engine's whole range (years 1 to 9999, any microsecond) through Postgres.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AS_OF = "2026-12-01T15:30:00Z"

POLICY = """\
policy p "P"
version "1"
id lead_id
team marketing "@m"
funnel lead -> mql
stage lead "Lead" owned by marketing {
  require level == "vp"
}
stage mql "MQL" owned by marketing {
}
"""


def _folder(tmp_path: Path, text: str = POLICY) -> Path:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "policy.funnel").write_text(text, encoding="utf-8")
    return folder


def _eval(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, ["eval", *args])
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_an_unusable_csv_header_writes_no_output_in_any_engine(tmp_path, fmt):
    # the DuckDB engine opened its output (the CSV header line, or `[` of a JSON array)
    # before it read the leads' header, so standard output held it after the refusal
    folder = _folder(tmp_path)
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,level,level.x\nL1,vp,1\n", encoding="utf-8")
    runs = {engine: _eval(str(folder), str(leads), "--engine", engine, "--format", fmt,
                          "--as-of", AS_OF) for engine in ("python", "duckdb")}
    code, out, err = runs["python"]
    assert (code, out) == (2, "")
    assert "column 'level' is a field, but column 'level.x' makes it an object" in err
    assert runs["duckdb"] == runs["python"]


def test_an_unusable_csv_header_leaves_no_output_file(tmp_path):
    folder = _folder(tmp_path)
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,level,level.x\nL1,vp,1\n", encoding="utf-8")
    for engine in ("python", "duckdb"):
        target = tmp_path / f"{engine}.csv"
        code, _, _ = _eval(str(folder), str(leads), "--engine", engine, "-o", str(target),
                           "--as-of", AS_OF)
        assert code == 2 and not target.exists()



_COLUMNS = ("lead_id", "level", "level.x", "level.x.y", "a.b", "a", "`a.b`", "", " ",
            "level", "visits")


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(header=st.lists(st.sampled_from(_COLUMNS), min_size=1, max_size=5),
       cells=st.lists(st.sampled_from(("vp", "1", "", "x", '"{""a"": 1}"')), max_size=5),
       fmt=st.sampled_from(("csv", "json", "jsonl")))
def test_csv_headers_usable_or_not_give_the_python_engines_output(tmp_path_factory, header,
                                                                   cells, fmt):
    """Any header (a field and its own child, repeated or empty names): the DuckDB
    engine writes what the python engine writes, on both streams, with its exit status."""
    tmp = tmp_path_factory.mktemp("h")
    folder = _folder(tmp)
    leads = tmp / "leads.csv"
    row = (cells + [""] * len(header))[:len(header)]
    leads.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    runs = [_eval(str(folder), str(leads), "--engine", engine, "--format", fmt,
                  "--as-of", AS_OF) for engine in ("python", "duckdb")]
    assert runs[0] == runs[1]

# --------------------------------------------------------------------------- Postgres

PG_POLICY = """\
policy p "P"
version "1"
id lead_id
team marketing "@m"
team sales "@s"
funnel lead -> mql
stage lead "Lead" owned by marketing {
}
stage mql "MQL" owned by sales {
}
handoff lead to sales {
  sla 4 hours from mql_at until accepted_at
  escalate to "boss" after 1 days
}
"""


def _pg_rows(con, stamps: list[str], as_of: int) -> None:
    """The leads of ``stamps`` (``mql_at``; every other lead stopped at its own
    instant) over a table in Postgres, field by field with python."""
    from engine_runs import assert_table_rows
    from engine_strategies import load_text

    from policy.api import Policy
    from policy.sql import to_sql

    pol = Policy(load_text(PG_POLICY))
    leads = [{"lead_id": f"L{i}", "mql_at": t, **({"accepted_at": t} if i % 2 else {})}
             for i, t in enumerate(stamps)]
    con.execute("DROP TABLE IF EXISTS leads")
    con.execute('CREATE TABLE leads ("lead_id" TEXT, "mql_at" TEXT, "accepted_at" TEXT)')
    for lead in leads:
        con.execute("INSERT INTO leads VALUES (%s, %s, %s)",
                    [lead["lead_id"], lead["mql_at"], lead.get("accepted_at")])
    rows = con.execute(to_sql(pol, dialect="postgres", as_of=as_of, years=(2025, 2027))
                       ).fetchall()
    assert_table_rows(pol, leads, rows, as_of)


def test_postgres_writes_instants_past_2255_to_the_microsecond(pg):
    """Postgres multiplied ``INTERVAL '1 MICROSECOND'`` by the µs since the epoch as a
    double: past 2^53 µs (the year 2255) the output timestamps were off by
    microseconds, and 9999-12-31T23:59:59.999999 became 10000-01-01 (which psycopg
    cannot even read). The instants of ``sla_start``, ``sla_due`` and ``sla_stop`` are
    now exact over the whole range (tabular form, field by field with python)."""
    from policy.engine.timestamps import parse_timestamp

    stamps = ["9999-12-31T23:59:59.999999Z", "9999-12-31T19:59:59.999999Z",
              "2300-01-01T00:00:00.000001Z", "4000-06-30T12:34:56.789013Z",
              "0001-01-01T00:00:00.000001Z", "1969-12-31T23:59:59.999999Z"]
    _pg_rows(pg, stamps, parse_timestamp("9000-01-01T00:00:00.000001Z"))


_MIN_US, _MAX_US = -62_135_596_800_000_000, 253_402_300_799_999_999


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(instants=st.lists(st.one_of(st.integers(_MIN_US, _MAX_US),
                                   st.integers(_MAX_US - 10 ** 12, _MAX_US),
                                   st.integers(_MIN_US, _MIN_US + 10 ** 12)),
                         min_size=1, max_size=8),
       as_of=st.integers(_MIN_US, _MAX_US))
def test_postgres_instants_over_the_whole_range(pg, instants, as_of):
    """Any instant python takes, with any fraction, comes back from Postgres exact."""
    from policy.engine.timestamps import format_timestamp

    _pg_rows(pg, [format_timestamp(us) for us in instants], as_of)
