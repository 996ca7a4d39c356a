"""The DuckDB engine decides exactly as the python engine (spec section 10).

Differential: generated policies and leads (``engine_strategies``), the conformance
acme examples and their variations, and ``rules/leads.jsonl`` through
``funnel eval --engine duckdb`` byte for byte, refused leads included. Also: the
calendar tables against :meth:`WorkCalendar.add_business` on many (start, amount)
pairs over calendars with daylight-saving changes, gap hours, half-hour shifts,
working hours across UTC midnight, a Sunday–Thursday week and holidays.
"""

from __future__ import annotations

import functools
import json
import os
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACME, examples
from engine_strategies import AS_OFS, leads, leads_for, load_text, mutated, policies
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy
from policy.api import Policy
from policy.engine import tabular
from policy.engine.decision import LeadError, dumps
from policy.io.leads import jsonl_record
from policy.model.calendar import make_calendar
from policy.sql.calendars import DAY_US, build_tables, due_in_python
from policy.sql.duck import DuckEngine
from policy.sql.values import NESTED
from policy.syntax import nodes as n
from policy.syntax.parser import parse

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
AS_OF_TEXT = "2026-12-01T16:00:00Z"
#: ENGINE_EXAMPLES: a long local run of the generated properties (as in test_equivalence)
EXAMPLES = int(os.environ.get("ENGINE_EXAMPLES", "0")) or None

# --------------------------------------------------------------------------- calendars

CALENDARS = {
    "new_york_all_day": dict(timezone="America/New_York", workdays=list(range(7)),
                             start_minute="00:00", end_minute="24:00"),
    "new_york_gap_hour": dict(timezone="America/New_York", workdays=["sun", "mon"],
                              start_minute="01:30", end_minute="03:30"),
    "lord_howe": dict(timezone="Australia/Lord_Howe", workdays=["mon", "tue", "wed", "thu",
                                                               "fri"],
                      start_minute="01:00", end_minute="03:00"),
    "kolkata": dict(timezone="Asia/Kolkata", workdays=["mon", "tue", "wed", "thu", "fri"],
                    start_minute="09:30", end_minute="18:00"),
    "sydney_across_utc_midnight": dict(timezone="Australia/Sydney",
                                       workdays=["mon", "tue", "wed", "thu", "fri"],
                                       start_minute="08:00", end_minute="18:00"),
    "dubai_sun_thu": dict(timezone="Asia/Dubai", workdays=["sun", "mon", "tue", "wed", "thu"],
                          start_minute="08:00", end_minute="17:00"),
    "chicago_holidays": dict(timezone="America/Chicago",
                             workdays=["mon", "tue", "wed", "thu", "fri"],
                             start_minute="08:30", end_minute="17:30",
                             holidays=["2026-11-26", "2026-11-27", "2026-12-24", "2026-12-25",
                                       "2027-01-01"]),
}
HOUR = 3_600_000_000
END_2027 = 1_830_297_600_000_000 - 14 * HOUR  # local dates of 2027 close by then
AMOUNTS = [1, 17, 30 * 60_000_000, HOUR, 2 * HOUR, 4 * HOUR, 9 * HOUR, 24 * HOUR, 40 * HOUR]


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_calendar_tables_give_the_engines_due_instants(name):
    cal = make_calendar(**CALENDARS[name])
    tables = build_tables(cal, 2025, 2027, AMOUNTS)
    rng = random.Random(name)
    low = 1_735_689_600_000_000 + 3 * DAY_US  # 2025-01-04
    high = 1_830_297_600_000_000 - 30 * DAY_US  # a month before 2028
    for _ in range(6000):
        start = rng.randrange(low, high)
        if rng.random() < 0.3:  # on the quarter hour: openings and closings exactly
            start -= start % (15 * 60_000_000)
        a = rng.randrange(len(AMOUNTS))
        want = cal.add_business(start, AMOUNTS[a])
        if want >= END_2027:
            want = None  # past the tables' years: the SQL says out of range, never guesses
        assert due_in_python(tables, start, a) == want, (name, start, AMOUNTS[a])


def test_calendar_tables_say_out_of_range_rather_than_guess():
    cal = make_calendar(**CALENDARS["kolkata"])
    tables = build_tables(cal, 2026, 2026, [40 * HOUR])
    assert due_in_python(tables, 1_893_456_000_000_000, 0) is None  # 2030
    late_december = 1_798_675_200_000_000  # 2026-12-31
    assert due_in_python(tables, late_december, 0) is None  # due falls in 2027


# --------------------------------------------------------------------------- helpers


def _python(pol: Policy, texts: list[str], as_of: int) -> list:
    """The python engine's records, read as ``funnel eval`` reads each line."""
    out = []
    for line, text in enumerate(texts, 1):
        rec = jsonl_record(line, text)
        if not rec.ok:
            out.append(LeadError(rec.error, rec.problems, lead=pol.lead_id(rec.value),
                                 line=line))
            continue
        lead = rec.value
        try:
            out.append(pol.run_prepared(lead, pol.prepare(lead), as_of))
        except LeadError as exc:
            out.append(exc.with_line(line))
    return out


def assert_same_rows(pol: Policy, texts: list[str], as_of: int, engine: DuckEngine) -> None:
    """Python and DuckDB equal field by field in the tabular form, and as JSON."""
    lines = list(range(1, len(texts) + 1))
    got = engine.decide(lines, texts)
    want = _python(pol, texts, as_of)
    lay = tabular.layout(pol)
    assert [line for line, _ in got] == lines
    for (line, g), w, text in zip(got, want, texts, strict=True):
        row_g = tabular.row_dict(g, lay, line=line, info=pol.info, as_of=as_of)
        row_w = tabular.row_dict(w, lay, line=line, info=pol.info, as_of=as_of)
        for key in row_w:
            assert row_g[key] == row_w[key], (key, text, row_w[key], row_g[key])
        assert dumps(g) == dumps(w), text


# --------------------------------------------------------------------------- generated


@settings(max_examples=EXAMPLES or examples(12, 25), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=policies(), data=st.data())
def test_duckdb_equals_python_on_generated_policies(text, data):
    model = load_text(text)
    pol = Policy(model)
    as_of = data.draw(st.sampled_from(AS_OFS))
    engine = DuckEngine(pol, as_of=as_of, years=(2025, 2027))
    batch = data.draw(st.lists(st.one_of(leads(), leads_for(model)), min_size=1, max_size=40))
    assert_same_rows(pol, [json.dumps(x) for x in batch], as_of, engine)


# --------------------------------------------------------------------------- acme, rules


def _acme_examples():
    if not ACME.is_dir():
        return []
    result = parse((ACME / "acme_test.funnel").read_text("utf-8"), "acme_test.funnel")
    out = []
    for ex in result.module.decls:
        if isinstance(ex, n.Example):
            at = next(i.timestamp for i in ex.items if isinstance(i, n.At))
            lead = next(i.data for i in ex.items if isinstance(i, n.LeadLiteral))
            out.append((ex.name, at, lead))
    return out


@pytest.mark.skipif(not ACME.is_dir(), reason="shared conformance folder absent")
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_duckdb_equals_python_on_acme_examples_and_variations(data):
    from policy.engine.timestamps import parse_timestamp

    pol = _acme_policy()
    examples = _acme_examples()
    name, at, lead = data.draw(st.sampled_from(examples))
    as_of = parse_timestamp(at, kind="any")
    engine = _engine(pol, as_of)
    batch = [lead, *data.draw(st.lists(mutated([e[2] for e in examples]), max_size=15))]
    assert_same_rows(pol, [json.dumps(x) for x in batch], as_of, engine)


_ENGINES: dict = {}


@functools.cache
def _acme_policy():
    """The conformance policy, loaded once for the property's 20 draws (not in each)."""
    return policy.load(ACME)


def _engine(pol, as_of):
    key = (pol.info.digest, as_of)
    if key not in _ENGINES:
        _ENGINES[key] = DuckEngine(pol, as_of=as_of, years=(2025, 2027))
    return _ENGINES[key]


@pytest.mark.skipif(not ACME.is_dir(), reason="shared conformance folder absent")
def test_every_acme_example_lead_decides_the_same():
    from policy.engine.timestamps import parse_timestamp

    pol = policy.load(ACME)
    for _name, at, lead in _acme_examples():
        as_of = parse_timestamp(at, kind="any")
        assert_same_rows(pol, [json.dumps(lead)], as_of, _engine(pol, as_of))


# `funnel eval --engine duckdb` of the sample leads writes the python engine's bytes in
# every format: test_sql_records.test_sample_leads_through_the_cli_give_the_python_bytes
# (this module ran the very same three commands and assertions a second time).


def _same_eval_on_both_engines(tmp_path: Path, data: bytes) -> str:
    """``funnel eval`` of ``data`` (JSON Lines with refused records) on both engines:
    the same exit status and bytes; the standard output."""
    path = tmp_path / "leads.jsonl"
    path.write_bytes(data)
    runner = CliRunner()
    base = ["eval", str(RULES), str(path), "--as-of", AS_OF_TEXT]
    py = runner.invoke(main, base)
    duck = runner.invoke(main, [*base, "--engine", "duckdb"])
    assert py.exit_code == duck.exit_code == 1
    assert duck.stdout == py.stdout
    return duck.stdout


def test_lines_that_are_not_json_or_not_utf8_are_error_records_at_their_line(tmp_path):
    good = (RULES / "leads.jsonl").read_text().splitlines()[0]
    # past the first 64 KiB, where a stray bad byte only spoils its own record
    head = [good] * 200
    data = "\n".join([*head, "", "   ", "{not json", "[1, 2]", '{"a": NaN}', '{"x": 1,}',
                      good]).encode() + b"\n\xff\xfe{}\n" + good.encode()
    stdout = _same_eval_on_both_engines(tmp_path, data)
    lines = [json.loads(x).get("line") for x in stdout.splitlines()][199:]
    assert lines == [None, 203, 204, 205, 206, None, 208, None]


def test_parquet_in_and_out_for_both_engines(tmp_path):
    runner = CliRunner()
    leads = str(RULES / "leads.jsonl")
    common = ["--as-of", AS_OF_TEXT]
    # Parquet out: the python engine and DuckDB write the same file.
    py = runner.invoke(main, ["eval", str(RULES), leads, *common,
                              "-o", str(tmp_path / "p.parquet")])
    dk = runner.invoke(main, ["eval", str(RULES), leads, *common, "--engine", "duckdb",
                              "-o", str(tmp_path / "d.parquet")])
    assert py.exit_code == dk.exit_code == 1
    import duckdb

    con = duckdb.connect()
    a = con.execute("SELECT * FROM read_parquet(?) ORDER BY line",
                    [str(tmp_path / "p.parquet")]).fetchall()
    b = con.execute("SELECT * FROM read_parquet(?) ORDER BY line",
                    [str(tmp_path / "d.parquet")]).fetchall()
    assert a == b and len(a) == 1000
    cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)",
                                      [str(tmp_path / "p.parquet")]).fetchall()]
    assert tuple(cols) == tabular.layout(policy.load(RULES)).names
    # Parquet in: leads as a Parquet file decide like the JSON they came from.
    src = tmp_path / "leads.parquet"
    con.execute("COPY (SELECT * FROM read_json(?, format='newline_delimited', "
                "sample_size=-1) WHERE lead_id LIKE 'HAL-00001%') TO ? (FORMAT parquet)",
                [leads, str(src)])
    out_py = runner.invoke(main, ["eval", str(RULES), str(src), *common])
    out_dk = runner.invoke(main, ["eval", str(RULES), str(src), *common, "--engine", "duckdb"])
    assert out_py.stdout == out_dk.stdout and out_py.stdout.count("\n") > 50
    both = runner.invoke(main, ["eval", str(RULES), str(src), *common, "--engine", "duckdb",
                                "-o", str(tmp_path / "pp.parquet")])
    assert both.exit_code in (0, 1)
    n_rows = con.execute("SELECT count(*) FROM read_parquet(?)",
                         [str(tmp_path / "pp.parquet")]).fetchone()[0]
    assert n_rows == out_py.stdout.count("\n")


def test_parquet_output_needs_a_file():
    result = CliRunner().invoke(main, ["eval", str(RULES), str(RULES / "leads.jsonl"),
                                       "--format", "parquet"])
    assert result.exit_code == 2 and "-o FILE.parquet" in result.stderr


def test_parquet_output_holds_a_lone_surrogate_as_the_csv_writer_does(tmp_path):
    """A refused lead's id read from "\\ud800" has no UTF-8: U+FFFD in the Parquet cell
    (as in CSV), not a failed run."""
    import duckdb

    leads = tmp_path / "leads.jsonl"
    leads.write_text('{"lead_id": "\\ud800x"}\n{"lead_id": "ok"}\n')
    target = tmp_path / "out.parquet"
    result = CliRunner().invoke(main, ["eval", str(RULES), str(leads), "--as-of", AS_OF_TEXT,
                                       "-o", str(target)])
    assert result.exit_code == 1 and "not valid Unicode" in result.output
    con = duckdb.connect()
    rows = con.execute("SELECT line, lead FROM read_parquet(?) ORDER BY line",
                       [str(target)]).fetchall()
    assert rows == [(1, "\ufffdx"), (2, "ok")]


def test_typed_parquet_columns_decide_as_their_json(tmp_path):
    """Parquet → Parquet in DuckDB reads columns by their types (no JSON per row); the
    python engine reads each row as its JSON object: the same decisions, refusals
    included, for every kind of column a CRM export has (text, integers, doubles,
    booleans, timestamps with and without a zone, structs, lists, JSON
    columns, values of the wrong type, NULLs, absent fields, odd timestamps)."""
    import duckdb

    src = tmp_path / "typed.parquet"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "COPY (SELECT * EXCLUDE (n) REPLACE ("
        " CASE WHEN n % 7 = 0 THEN NULL ELSE created_at END AS created_at,"
        " CASE WHEN n % 11 = 0 THEN NULL WHEN n % 4 = 0 THEN struct_update(company,"
        "  tech_stack := ['a', 'Snowflake']) ELSE company END AS company,"
        " CASE n % 5 WHEN 0 THEN NULL WHEN 1 THEN TIMESTAMP '2026-11-30 09:15:00'"
        "  WHEN 2 THEN TIMESTAMP '0001-01-01 00:00:00' WHEN 3 THEN NULL"
        "  ELSE TIMESTAMP '2026-12-01 15:00:00.5' END AS last_activity_at,"
        " CASE WHEN n % 3 = 0 THEN 2.5 WHEN n % 3 = 1 THEN 2.0 ELSE n END"
        "  AS webinars_attended,"
        " CASE WHEN n % 13 = 0 THEN 42 ELSE pricing_page_visits END AS pricing_page_visits),"
        " MAP {'k': n} AS extra"
        " FROM (SELECT *, row_number() OVER () AS n FROM read_json(?, "
        "format='newline_delimited', sample_size=-1))) TO ? (FORMAT parquet)",
        [str(RULES / "leads.jsonl"), str(src)])
    # a column of the wrong type for the schema: job_level as an integer
    wrong = tmp_path / "wrong.parquet"
    con.execute("COPY (SELECT * REPLACE (CASE WHEN lead_id LIKE '%7' THEN 3 ELSE 4 END "
                "AS job_level, CAST(created_at AS TIMESTAMP) AS created_at) "
                "FROM read_parquet(?) LIMIT 300) TO ? (FORMAT parquet)",
                [str(src), str(wrong)])
    runner = CliRunner()
    # under --local-tz a TIMESTAMP cell's text (no offset) is local time: read as text
    for path, zone in ((src, []), (wrong, []), (src, ["--local-tz", "America/New_York"])):
        out = {}
        for engine in ("python", "duckdb"):
            target = tmp_path / f"{path.stem}-{engine}.parquet"
            result = runner.invoke(main, ["eval", str(RULES), str(path), "--as-of", AS_OF_TEXT,
                                          "--engine", engine, "-o", str(target), *zone])
            assert result.exit_code in (0, 1), result.stderr
            out[engine] = con.execute("SELECT * FROM read_parquet(?) ORDER BY line",
                                      [str(target)]).fetchall()
        assert len(out["python"]) == len(out["duckdb"]) > 0
        for a, b in zip(out["python"], out["duckdb"], strict=True):
            assert a == b
        refused = sum(1 for row in out["duckdb"] if row[-2] is not None)
        assert refused > 0 if path == wrong else True
        _same_text_outputs(runner, tmp_path, path, zone)


def _same_text_outputs(runner, tmp_path, path, extra=()):
    """Parquet in, JSON Lines / CSV / JSON out: DuckDB's records (decided from the typed
    columns, DuckEngine.stage_parquet_typed) are the python engine's bytes."""
    for suffix in ("jsonl", "csv", "json"):
        out = {}
        for engine in ("python", "duckdb"):
            target = tmp_path / f"{path.stem}-{engine}.{suffix}"
            result = runner.invoke(main, ["eval", str(RULES), str(path), "--as-of", AS_OF_TEXT,
                                          "--engine", engine, "-o", str(target), *extra])
            assert result.exit_code in (0, 1), result.stderr
            out[engine] = target.read_bytes()
        assert out["python"] == out["duckdb"] and out["duckdb"].count(b"lead") > 10


def test_typed_parquet_columns_fail_each_schema_check_as_python_does(tmp_path):
    """The checks of typed Parquet columns are folded (a VARCHAR column cannot hold a
    number, so its `type` check is left out; the others test the typed value): every
    keyword still refuses exactly the leads the python engine refuses, with the same
    problems — a minimum on integers and doubles, maxLength, minLength, an enum, an
    integer type on a double (2.5 refused, 2.0 taken), a text column where the schema
    wants an integer, inside a struct too, and a required column missing from the file."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    src, missing = tmp_path / "checks.parquet", tmp_path / "missing.parquet"
    con.execute(
        "COPY (SELECT * EXCLUDE (n) REPLACE ("
        " CASE WHEN n % 6 = 0 THEN -1 ELSE pricing_page_visits END AS pricing_page_visits,"
        " CASE WHEN n % 7 = 0 THEN 'usa' ELSE country END AS country,"
        " CASE WHEN n % 9 = 0 THEN '' ELSE lead_id END AS lead_id,"
        " CASE WHEN n % 10 = 0 THEN 'ceo' ELSE job_level END AS job_level,"
        " CASE n % 4 WHEN 0 THEN -5.5 WHEN 1 THEN 2.0 ELSE 1000.25 END AS opp_amount,"
        " CASE WHEN n % 5 = 0 THEN NULL ELSE struct_update(company, employees :="
        "  CASE WHEN n % 8 = 0 THEN 'many' ELSE NULL END) END AS company,"
        " CASE WHEN n % 3 = 0 THEN NULL ELSE {'budget': n % 2 = 0, 'authority': true,"
        "  'need': NULL::BOOLEAN, 'timeline_months': CASE WHEN n % 4 = 0 THEN 2.5"
        "  ELSE 3.0 END} END AS bant)"
        " FROM (SELECT *, row_number() OVER () AS n FROM read_json(?, "
        "format='newline_delimited', sample_size=-1))) TO ? (FORMAT parquet)",
        [str(RULES / "leads.jsonl"), str(src)])
    con.execute("COPY (SELECT * EXCLUDE (created_at) FROM read_parquet(?) LIMIT 50) TO ? "
                "(FORMAT parquet)", [str(src), str(missing)])
    runner = CliRunner()
    for path in (src, missing):
        out = {}
        for engine in ("python", "duckdb"):
            target = tmp_path / f"{path.stem}-{engine}.parquet"
            result = runner.invoke(main, ["eval", str(RULES), str(path), "--as-of", AS_OF_TEXT,
                                          "--engine", engine, "-o", str(target)])
            assert result.exit_code in (0, 1), result.stderr
            out[engine] = con.execute("SELECT * FROM read_parquet(?) ORDER BY line",
                                      [str(target)]).fetchall()
        assert out["python"] == out["duckdb"]
        _same_text_outputs(runner, tmp_path, path)
        paths = {p for row in out["duckdb"] for p in (row[-1] or [])}
        if path == src:
            assert {"pricing_page_visits", "country", "lead_id", "job_level", "opp_amount",
                    "company.employees", "bant.timeline_months"} <= paths
            assert any(row[-2] is None for row in out["duckdb"])  # and some are decided
        else:
            assert "created_at" in paths and all(row[-2] for row in out["duckdb"])


@pytest.mark.parametrize(("copies", "row_group", "threads"),
                         [(150, 50_000, 2), (40, 777, 3)])
def test_parquet_to_parquet_keeps_input_order_over_several_row_groups(
        tmp_path, copies, row_group, threads):
    """DuckDB decides row groups in parallel and the statement has no ORDER BY: the
    output must still be in input order, with row groups that are not a whole number
    of DuckDB's 2,048-row chunks (the partial chunks a caching join would carry over
    into the next row group) and many leads without an SLA start (rows a LEFT join
    does not match)."""
    import duckdb

    src, out = tmp_path / "many.parquet", tmp_path / "out.parquet"
    con = duckdb.connect()
    con.execute("COPY (SELECT * REPLACE (lead_id || '-' || CAST(k AS VARCHAR) AS lead_id) "
                "FROM read_json(?, format='newline_delimited', sample_size=-1), "
                f"range({copies}) AS r(k)) TO ? (FORMAT parquet, ROW_GROUP_SIZE {row_group})",
                [str(RULES / "leads.jsonl"), str(src)])
    engine = DuckEngine(policy.load(RULES), as_of=policy.parse_timestamp(AS_OF_TEXT),
                        threads=threads)
    try:
        assert engine.parquet_to_parquet(str(src), str(out)) == copies * 1000
    finally:
        engine.close()
    lines = [r[0] for r in con.execute("SELECT line FROM read_parquet(?)",
                                       [str(out)]).fetchall()]
    assert lines == list(range(1, copies * 1000 + 1))
    # the leads are the input's, in its order
    ids = con.execute("SELECT count(*) FROM read_parquet(?) a POSITIONAL JOIN "
                      "read_parquet(?) b WHERE a.lead IS DISTINCT FROM b.lead_id",
                      [str(out), str(src)]).fetchone()[0]
    assert ids == 0


def test_a_repeated_key_keeps_the_last_value_in_every_engine(tmp_path):
    """Spec section 9: a key repeated in one object, the last one wins. DuckDB's JSON
    functions keep the first, so the engine hands such lines to the python engine."""
    good = json.loads((RULES / "leads.jsonl").read_text().splitlines()[0])
    text = json.dumps(good)
    rows = [text,
            # top level: job_level first "ic", then "vp" (the last wins: vp)
            text[:-1] + ', "job_level": "vp"}',
            # in a nested object the policy reads: company.employees twice
            text.replace('"company": {', '"company": {"employees": 5000, ', 1),
            '{"lead_id": "x", "lead_id": 7}', text]
    path = tmp_path / "leads.jsonl"
    path.write_text("\n".join(rows) + "\n")
    runner = CliRunner()
    base = ["eval", str(RULES), str(path), "--as-of", AS_OF_TEXT]
    py = runner.invoke(main, base)
    duck = runner.invoke(main, [*base, "--engine", "duckdb"])
    assert duck.stdout == py.stdout and py.stdout.count("\n") == 5
    assert json.loads(py.stdout.splitlines()[1])["scores"] != json.loads(
        py.stdout.splitlines()[0])["scores"]


def test_odd_values_read_by_duckdb_as_by_the_python_reader(tmp_path):
    """Values at the edges of what each JSON reader takes: numbers beyond a double
    (an exponent or fraction overflows to an infinite float python refuses; an integer
    of any size is a Python int), lone surrogates, escapes, repeated keys, array items
    of the wrong type, timestamps with every kind of offset and fraction, records that
    are not objects: the duckdb engine writes the python engine's bytes."""
    text = (RULES / "leads.jsonl").read_text().splitlines()[0]
    big = "1" + "0" * 400
    base = '{"lead_id": "x", "created_at": "2026-01-01T00:00:00Z", '
    extras = ['"webinars_attended": nan', '"webinars_attended": -inf', f'"opp_amount": {big}',
              '"opp_amount": 1.7976931348623157e308', '"company": {"employees": 10,}',
              '"job_level": "ic", "job_level": 5',
              r'"title": "a\u00e9\"b\\c\/d"', r'"title": "\ud800"',
              '"created_at": "2026-01-01T00:00:00.1234567+05:30"',
              '"created_at": "2026-01-01t00:00z"', '"created_at": "2026-01-01 00:00:00-0130"',
              '"created_at": "2026-01-01T24:00:00Z"', '"created_at": "0000-01-01T00:00:00Z"',
              '"created_at": "0001-01-01T00:00:00+01:00"',
              '"created_at": "9999-12-31T23:59:59-01:00"', '"lead_id": 12']
    rows = [text] + [text[:-1] + ", " + e + "}" for e in extras] + [
        base + '"webinars_attended": 1.0}', base + '"webinars_attended": 1.5}',
        base + '"webinars_attended": "3"}', base + '"webinars_attended": true}',
        base + '"company": {"tech_stack": ["a", 1, null]}}', base + '"company": "acme"}',
        base + '"job_level": 3, "country": 7}',
        '  {"lead_id": "y", "created_at": "2026-01-01"}  ', "[1]", '"x"', "12", "null", "{}"]
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(rows) + "\n")
    runner = CliRunner()
    args = ["eval", str(RULES), str(path), "--as-of", AS_OF_TEXT]
    py = runner.invoke(main, args)
    duck = runner.invoke(main, [*args, "--engine", "duckdb"])
    assert py.exit_code == duck.exit_code == 1
    assert py.stdout.count("\n") == len(rows)
    for want, got, row in zip(py.stdout.splitlines(), duck.stdout.splitlines(), rows,
                              strict=True):
        assert got == want, row


def test_numbers_beyond_a_double_decide_as_the_python_engine():
    """A fraction or exponent beyond a double's range refuses the lead at its path,
    whether or not the schema checks the field (spec section 9); DuckDB, which reads it
    as infinite, hands such lines to the python reader. So does an integer beyond a
    double's range (309 digits or more); one within it (10^308) is decided."""
    pol = policy.load(RULES)
    as_of = policy.parse_timestamp(AS_OF_TEXT)
    text = (RULES / "leads.jsonl").read_text().splitlines()[0]
    big = "1" + "0" * 400
    extras = [f'"opp_amount": -{big}.5', '"opp_amount": 1e400', '"opp_amount": 1E+309',
              '"opp_amount": -1e999', '"extra_unread": 1e999', f'"opp_amount": {big}',
              f'"extra_unread": [-{big}]', '"opp_amount": 1.5e308',
              '"opp_amount": 1' + "0" * 308]
    texts = [text[:-1] + ", " + e + "}" for e in extras]
    assert_same_rows(pol, texts, as_of, _engine(pol, as_of))
    refused = [isinstance(r, LeadError) for _, r in _engine(pol, as_of).decide(
        list(range(1, len(texts) + 1)), texts)]
    assert refused == [True] * 7 + [False, False]


def test_a_line_longer_than_the_reader_takes_is_the_python_engines_error_record(tmp_path):
    """A 17 MiB line is one error record ("longer than 16 MiB") in every engine, and
    the lines around it are read as usual."""
    good = (RULES / "leads.jsonl").read_text().splitlines()[0]
    huge = json.dumps({"lead_id": "huge", "notes": "x" * (17 << 20)})
    stdout = _same_eval_on_both_engines(tmp_path, ("\n".join([good, huge, good]) + "\n").encode())
    records = [json.loads(x) for x in stdout.splitlines()]
    assert len(records) == 3 and records[1]["line"] == 2
    assert "longer than 16 MiB" in records[1]["error"]["message"]


@given(st.lists(st.sampled_from(['{"a": 1}', "", " ", "\r", "{\r}", "x"]), max_size=30),
       st.integers(1, 64))
def test_the_sql_staging_cuts_lines_as_the_python_reader(lines, block_bytes):
    """Blocks of whole lines, in order, numbered by physical line (LF ends a line, a
    lone CR does not), whatever the block size."""
    import io

    from policy.sql.engine import block_lines, jsonl_blocks

    data = "\n".join(lines).encode()
    got_lines, got_texts = [], []
    for first, block, text in jsonl_blocks(io.BytesIO(data), block_bytes):
        assert text == block.decode()
        numbers, texts = block_lines(first, block, text)
        got_lines += numbers
        got_texts += texts
    want = [(i, t.rstrip("\r")) for i, t in enumerate(data.decode().split("\n"), start=1)
            if t.strip()]
    assert list(zip(got_lines, got_texts, strict=True)) == want


def test_parquet_to_parquet_is_one_parallel_order_preserving_copy(tmp_path):
    """DuckDB plans an order-preserving COPY on every thread (``Batch Copy To File``)
    only when no operator of the plan is a source without batch indexes, and a hash
    join is one: the calendars are lists and long IN lists are not joins, or the
    Parquet path runs on one core (bench/README.md, fifth 2026-12-05 session)."""
    from policy.engine.tabular import layout
    from policy.sql.duck import _no_joins, parquet_copy

    src = tmp_path / "leads.parquet"
    import duckdb

    duckdb.connect().execute("COPY (SELECT * FROM read_json(?, format='newline_delimited', "
                             "sample_size=-1)) TO ? (FORMAT parquet)",
                             [str(RULES / "leads.jsonl"), str(src)])
    engine = DuckEngine(policy.load(RULES), as_of=policy.parse_timestamp(AS_OF_TEXT),
                        threads=2)
    try:
        query = engine.parquet_query(engine.parquet_view(str(src)), engine.years)
        assert "JOIN" not in query.upper().replace("CROSS JOIN", "")
        with _no_joins(engine.con):
            # with the casts to the python engine's column types, as the engine runs it
            plan = engine.con.execute("EXPLAIN " + parquet_copy(
                query, str(tmp_path / "out.parquet"), layout(engine.pol).columns)).fetchall()
    finally:
        engine.close()
    text = "\n".join(row[1] for row in plan)
    assert "Batch Copy To File" in text
    assert "Hash Join" not in text and "Cross Product" in text


def test_parquet_copy_runs_with_memory_for_each_thread(tmp_path):
    """The order-keeping parallel COPY keeps decided row groups waiting for their turn
    in a quarter of DuckDB's memory limit, and a thread that finds it full sleeps: the
    COPY runs with COPY_MEMORY_PER_THREAD_MB a thread, and the limit is put back after
    (bench/README.md, seventh 2026-12-05 session)."""
    import duckdb

    from policy.sql.duck import COPY_MEMORY_PER_THREAD_MB, MEMORY_LIMIT

    src = tmp_path / "leads.parquet"
    duckdb.connect().execute("COPY (SELECT * FROM read_json(?, format='newline_delimited', "
                             "sample_size=-1)) TO ? (FORMAT parquet)",
                             [str(RULES / "leads.jsonl"), str(src)])

    def setting(con, value=None):
        if value is not None:
            con.execute(f"SET memory_limit = '{value}'")
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    probe = duckdb.connect()
    want = setting(probe, f"{COPY_MEMORY_PER_THREAD_MB * 3}MB")
    default = setting(probe, MEMORY_LIMIT)
    seen = []
    for limit, during in ((None, want), ("700MB", setting(probe, "700MB"))):
        engine = DuckEngine(policy.load(RULES), as_of=policy.parse_timestamp(AS_OF_TEXT),
                            threads=3, memory_limit=limit, json=False)
        real = engine.con

        class Spy:
            def __init__(self, con):
                self.real = con

            def execute(self, query, *args):
                if query.startswith("COPY ("):
                    seen.append(setting(self.real))
                return self.real.execute(query, *args)

            def __getattr__(self, name):
                return getattr(self.real, name)

        engine.con = Spy(real)
        try:
            engine.parquet_to_parquet(str(src), str(tmp_path / "out.parquet"))
            after = setting(real)
        finally:
            engine.con = real
            engine.close()
        assert seen.pop() == during  # a caller's own limit is kept
        assert after == (default if limit is None else during)


@settings(max_examples=EXAMPLES or examples(6, 12), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=policies(), data=st.data())
def test_parquet_to_parquet_equals_python_on_generated_policies(text, data):
    """Generated policies (business-time SLAs on generated calendars, long lists) and
    leads through DuckDB's Parquet -> Parquet path (calendars as lists, no joins) and
    through the python engine, from the same Parquet file: the same rows in order."""
    import tempfile

    import duckdb
    from hypothesis import assume

    from policy.sql.duck import ParquetWriter

    model = load_text(text)
    pol = Policy(model)
    as_of = data.draw(st.sampled_from(AS_OFS))
    batch = data.draw(st.lists(leads_for(model), min_size=1, max_size=30))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "leads.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in batch), encoding="utf-8")
        src = str(work / "leads.parquet")
        con = duckdb.connect()
        try:
            con.execute("COPY (SELECT * FROM read_json(?, format='newline_delimited', "
                        "sample_size=-1)) TO ? (FORMAT parquet)",
                        [str(work / "leads.jsonl"), src])
        except duckdb.Error:
            assume(False)  # leads DuckDB cannot type as one table (e.g. all empty)
        engine = DuckEngine(pol, as_of=as_of, years=(2025, 2027), threads=2)
        try:
            engine.parquet_to_parquet(src, str(work / "dk.parquet"))
            texts = [t for _, ts in engine.parquet_rows(src) for t in ts]
            again = engine.rows_for_python(str(work / "dk.parquet"))
        finally:
            engine.close()
        lay = tabular.layout(pol)
        writer = ParquetWriter(pol, str(work / "py.parquet"))
        for line, record in enumerate(_python(pol, texts, as_of), 1):
            writer.add(tabular.row(record, lay, line=line, info=pol.info, as_of=as_of))
        writer.close()
        rows = [[_same_json(r, lay) for r in con.execute(
            f"SELECT * FROM read_parquet('{work / name}')").fetchall()]
            for name in ("py.parquet", "dk.parquet")]
        assert [r[0] for r in rows[1]] == list(range(1, len(batch) + 1))
        # a row marked NESTED (two lists or objects compared) is decided again by the
        # python engine (policy/sql/run.py, as rows_for_python says): not this path's
        violations = lay.names.index("violations")
        marked = [i for i, r in enumerate(rows[1]) if NESTED in (r[violations] or ())]
        assert bool(marked) == again
        for i in reversed(marked):
            del rows[0][i], rows[1][i]
        assert rows[0] == rows[1]


def _same_json(row: tuple, lay) -> tuple:
    """A known difference, not this test's: a ``json`` cell holding an object or an
    array (a lead id, a rejection reason) is DuckDB's compact JSON text on the Parquet
    path and ``json.dumps``'s (with spaces) from python; compared as JSON."""
    out = []
    for col, value in zip(lay.columns, row, strict=True):
        if col.kind == "json" and isinstance(value, str) and value[:1] in ("{", "["):
            try:
                value = ("json", json.loads(value))
            except ValueError:
                pass  # a text that only starts like JSON (a reason "{}{{}}%s"): as is
        out.append(value)
    return tuple(out)


def test_every_kind_of_document_decides_as_python_after_one_parse(tmp_path):
    """DuckDB reads each line with one JSON_EXTRACT, whose failure (TRY) says "not
    JSON" and whose leading "{" says "an object" (policy.sql.sources.DuckJson.base):
    objects after white space, documents of every other kind, text after a document,
    and lines that are not JSON in a chunk of good ones give python's records."""
    good = (RULES / "leads.jsonl").read_text().splitlines()[0]
    odd = [" \t" + good, good + " \t", "[1, 2]", '"text"', "12", "-0", "1.5e3", "true",
           "null", "{}", " []", good + " x", good + good, "{", '{"a": 1} {"a": 2}',
           '{"lead_id": "a", "company": {"employees": 5}} ']
    data = "\n".join(x for item in odd for x in (good, item)).encode() + b"\n"
    stdout = _same_eval_on_both_engines(tmp_path, data)
    assert len(stdout.splitlines()) == 2 * len(odd)


def test_engine_duckdb_gives_the_python_engines_format_hint(tmp_path):
    """Most records of a JSON Lines input refused, and the first bytes plainly CSV: the
    summary adds the python engine's hint (spec section 9, "Lead input, precisely"),
    with the same standard error and output as the python engine."""
    leads = tmp_path / "export.txt"
    leads.write_text("lead_id,email\nX-1,a@b.com\nX-2,b@b.com\n", "utf-8")
    runner = CliRunner()
    outs = []
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["eval", str(RULES), str(leads), "--input-format", "jsonl",
                                   "--as-of", AS_OF_TEXT, "--engine", engine])
        assert res.exit_code == 1, res.output
        outs.append((res.stdout, res.stderr))
    assert f"funnel: hint: {leads} looks like CSV: use --input-format csv" in outs[1][1]
    assert outs[1] == outs[0]
    # standard input is named as the python engine names it
    piped = runner.invoke(main, ["eval", str(RULES), "-", "--as-of", AS_OF_TEXT,
                                 "--engine", "duckdb"], input=leads.read_bytes())
    assert piped.exit_code == 1 and len(piped.stdout.splitlines()) == 3
    assert "funnel: hint: standard input looks like CSV: use --input-format csv" \
        in piped.stderr
    # half the records refused, or none: no hint
    decided = (RULES / "leads.jsonl").read_text("utf-8").splitlines()[0]
    leads.write_text(f"lead_id,email\n{decided}\n", "utf-8")
    res = runner.invoke(main, ["eval", str(RULES), str(leads), "--input-format", "jsonl",
                               "--as-of", AS_OF_TEXT, "--engine", "duckdb"])
    assert res.exit_code == 1 and "hint" not in res.stderr
