"""Warehouse-shaped typed input, engine against engine: Parquet columns of every type a
warehouse export writes (integers of every width and sign, FLOAT, DECIMAL, DATE, TIME,
the TIMESTAMP kinds, INTERVAL, UUID, ENUM, JSON, BLOB, lists, STRUCT, MAP, all-NULL),
decided by ``funnel eval --engine duckdb`` and by the python engine, which reads a
Parquet row as the JSON object DuckDB's ``to_json`` makes of it (docs/warehouse.md, "On
a laptop"). The bytes must be equal: a decision, or the same refusal naming the field,
never a stopped run.

A field is used one way per policy (as a number, a text, a condition, a timestamp, a
list, an object) and typed by one schema node (or none), so a value of the "wrong" type
meets the checks and the comparisons both engines make of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AS_OF = "2026-12-01T00:00:00Z"

HEAD = """policy typed "Typed"
id lead_id
{schema}team m "@m"
funnel a
stage a owned by m {{
  require lead_id is present
}}
score s owned by m {{
{rules}}}
"""

#: how a policy uses the field ``x`` (each rule a bit of the score, so every test shows)
USES = {
    "number": ["+1 if x == 3", "+2 if x > 0.1", "+4 if x is missing", "+8 if x < 2.5",
               "+16 per x up to 100", "+32 if x == 0.1", "+64 if x in [1, 2, 3]"],
    "text": ['+1 if x == "a"', '+2 if x contains "1"', "+4 if x is missing",
             "+8 if length(x) > 3", '+16 if x starts with "2"',
             '+32 if x in ["3", "true", "1.5"]', '+64 if lower(x) == "abc"'],
    "condition": ["+1 if x", "+2 if x == true", "+4 if x is missing", "+8 if not x"],
    "timestamp": ["+1 if days_since(x) > 10", "+2 if x is missing",
                  "+4 if hours_since(x) < 100000"],
    "list": ['+1 if x contains "a"', "+2 if x contains 3", "+4 if length(x) > 1",
             "+8 if x is missing", '+16 if "b" in x', "+32 if x contains true"],
    "object": ["+1 if x.y > 2", '+2 if x.y == "a"', "+4 if x.y is missing",
               "+8 if x is missing", "+16 if x.y"],
}

#: the schema node of ``x`` (None: no schema)
SCHEMAS = {
    "none": None,
    "integer": {"type": ["integer", "null"]},
    "number": {"type": ["number", "null"]},
    "string": {"type": ["string", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date-time": {"type": ["string", "null"], "format": "date-time"},
    "date": {"type": ["string", "null"], "format": "date"},
    "array": {"type": ["array", "null"]},
    "object": {"type": ["object", "null"], "properties": {"y": {"type": "integer"}}},
    "bounds": {"minimum": 1, "maximum": 100},
    "enum": {"enum": ["a", 1, True, None]},
    "length": {"minLength": 2},
}

#: a column type and the values it holds (SQL literals; every column also gets a NULL)
COLUMNS = {
    "TINYINT": ["3", "-2", "127"],
    "BIGINT": ["3", "9007199254740993", "(-9223372036854775808)"],
    "HUGEINT": ["3", "170141183460469231731687303715884105727"],
    "UBIGINT": ["3", "18446744073709551615"],
    "FLOAT": ["0.1", "3", "-2.5", "'nan'", "1e38", "16777217"],
    "DOUBLE": ["0.1", "3", "-2.5", "-0.0", "1e300", "5e-324"],
    "DECIMAL(4,1)": ["0.1", "3.0", "-2.5"],
    "DECIMAL(38,10)": ["0.1", "3", "1234567890123456789012345678.1234567891"],
    "BOOLEAN": ["true", "false"],
    "VARCHAR": ["'a'", "'3'", "'2026-11-03T10:00:00Z'", "'true'", "''", "'[\"a\",3]'"],
    "BLOB": ["'\\xAA\\x00a'::BLOB", "'abc'::BLOB"],
    "DATE": ["'2026-11-03'", "'0001-01-01'", "'-5000-01-01'", "'infinity'"],
    "TIME": ["'10:00:00'", "'23:59:59.123456'"],
    "TIMESTAMP": ["'2026-11-03 14:05:00'", "'2026-11-03 14:05:00.5'", "'0001-01-01'",
                  "'infinity'", "'-infinity'"],
    "TIMESTAMP_NS": ["'2026-11-03 14:05:00.123456789'", "'1700-01-01'"],
    "TIMESTAMP_MS": ["'2026-11-03 14:05:00.123'"],
    "TIMESTAMP_S": ["'2026-11-03 14:05:00'"],
    "TIMESTAMPTZ": ["'2026-11-03 14:05:00+05:30'", "'2026-11-03 14:05:00.25Z'", "'infinity'"],
    "INTERVAL": ["INTERVAL 3 DAY", "INTERVAL '1 year 2 months'"],
    "UUID": ["'5f3c9b1e-0000-4000-8000-000000000001'"],
    "ENUM('a','b','3')": ["'a'", "'3'"],
    "JSON": ["'3'", "'\"a\"'", "'[\"a\", 3]'", "'{\"y\": 3}'", "'true'", "'null'", "'0.1'"],
    "VARCHAR[]": ["['a','b']", "['a', NULL]", "[]"],
    "INTEGER[]": ["[3, 1]", "[NULL]", "[]"],
    "DOUBLE[]": ["[3.0, 0.5]", "['nan'::DOUBLE]"],
    "FLOAT[]": ["[0.1, 3]"],
    "BOOLEAN[]": ["[true, false]"],
    "DATE[]": ["['2026-11-03'::DATE]"],
    "TIMESTAMP[]": ["['2026-11-03 10:00'::TIMESTAMP]"],
    "STRUCT(y INTEGER)": ["{'y': 3}", "{'y': NULL}"],
    "STRUCT(y VARCHAR)": ["{'y': 'a'}"],
    "STRUCT(Y INTEGER)": ["{'Y': 3}"],
    "MAP(VARCHAR, INTEGER)": ["MAP {'y': 3}", "MAP {'z': 1}"],
    "UNION(i INTEGER, s VARCHAR)": ["3::INTEGER", "'a'"],
    "all NULL": [],
}

SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large]


def write_policy(folder: Path, use: str, schema: dict | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    line = ""
    if schema is not None:
        (folder / "s.json").write_text(json.dumps({
            "type": "object", "required": ["lead_id"],
            "properties": {"lead_id": {"type": "string"}, "x": schema}}), encoding="utf-8")
        line = 'schema "s.json"\n'
    elif (folder / "s.json").exists():
        (folder / "s.json").unlink()
    rules = "".join(f"  {r}\n" for r in USES[use])
    (folder / "p.funnel").write_text(HEAD.format(schema=line, rules=rules), encoding="utf-8")


def write_parquet(path: Path, column: str, values: list[str]) -> None:
    """A Parquet file of ``lead_id`` and ``x`` (of type ``column``), a row per value
    and one NULL row."""
    if column == "all NULL":
        rows = "('L0', NULL)"
    else:
        rows = ", ".join(f"('L{i}', CAST({v} AS {column}))"
                         for i, v in enumerate([*values, "NULL"]))
    duckdb.connect().execute(f"COPY (SELECT * FROM (VALUES {rows}) t(lead_id, x)) TO "
                             f"'{path}' (FORMAT parquet)")


def eval_both(folder: Path, leads: Path, *extra: str) -> dict[str, tuple[int, str]]:
    runner = CliRunner()
    out = {}
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["eval", str(folder), str(leads), "--engine", engine,
                                   "--as-of", AS_OF, *extra])
        assert res.exception is None or isinstance(res.exception, SystemExit), (
            engine, res.exception)
        out[engine] = (res.exit_code, res.output)
    return out


def assert_same(folder: Path, leads: Path, *extra: str) -> str:
    out = eval_both(folder, leads, *extra)
    assert out["duckdb"] == out["python"], (leads.read_bytes()[:300], out)
    assert out["python"][0] in (0, 1), out["python"]
    return out["python"][1]


@settings(max_examples=25, deadline=None, suppress_health_check=SLOW)
@given(column=st.sampled_from(sorted(COLUMNS)), use=st.sampled_from(sorted(USES)),
       schema=st.sampled_from(sorted(SCHEMAS)))
def test_parquet_columns_of_every_type_decide_as_the_python_engine(tmp_path, column, use,
                                                                   schema):
    folder = tmp_path / f"{abs(hash((column, use, schema)))}"
    write_policy(folder / "p", use, SCHEMAS[schema])
    leads = folder / "x.parquet"
    write_parquet(leads, column, COLUMNS[column])
    assert_same(folder / "p", leads)


# ------------------------------------------------------------------ over a DuckDB table

def decide_table(folder: Path, column: str, values: list[str]) -> list[tuple]:
    """The printed DuckDB statement of the policy in ``folder`` over a table of
    ``lead_id`` and ``x`` (of type ``column``), checked against the python engine's
    decision of each row as the JSON object ``to_json`` makes of it, field by field in
    the tabular form (a refusal by its problem paths, an item's at its list, spec 10);
    the statement's rows."""
    import policy
    from policy.engine import tabular
    from policy.engine.decision import LeadError
    from policy.sql import to_sql

    pol = policy.load(folder)
    con = duckdb.connect()
    rows = ", ".join(f"('L{i}', CAST({v} AS {column}))"
                     for i, v in enumerate([*values, "NULL"]))
    con.execute(f"CREATE TABLE leads AS SELECT * FROM (VALUES {rows}) t(lead_id, x)")
    # a NaN or infinite FLOAT/DOUBLE is null, as the python engine reads Parquet
    leads = [json.loads(t, parse_constant=lambda _: None) for (t,) in con.execute(
        "SELECT CAST(to_json(t) AS VARCHAR) FROM leads t").fetchall()]
    as_of = 1_796_083_200_000_000  # 2026-12-01T00:00:00Z
    lay = tabular.layout(pol)
    got = con.execute(to_sql(pol, dialect="duckdb", as_of=as_of, years=(2025, 2027))).fetchall()
    by_lead = {r[1]: dict(zip(lay.names, r, strict=True)) for r in got}
    for lead in leads:
        try:
            want = pol.evaluate_at(lead, as_of)
        except LeadError as exc:
            want = exc
        expected = tabular.row_dict(want, lay, info=pol.info, as_of=as_of)
        row = by_lead[lead["lead_id"]]
        for key in ("stage", "reached", "score_s", "next_stage"):
            assert row[key] == expected[key], (lead, key, expected[key], row[key])
        paths = tuple(dict.fromkeys(p.split("[")[0] for p in expected["error_paths"] or ()))
        assert tuple(row["error_paths"]) == paths, (lead, expected, row)
    return got


@pytest.mark.parametrize("column", ["TINYINT", "BIGINT", "DOUBLE", "DECIMAL(4,1)", "FLOAT"])
@pytest.mark.parametrize("use", ["number", "condition"])
def test_a_schema_node_without_type_reads_its_column_by_its_own_type(
        tmp_path, column, use):
    """A schema node with bounds and no ``type`` (``{"minimum": 1, "maximum": 100}``)
    over a numeric column: the statement read the column as text (the kind of a field
    the schema does not type), so ``x == 3`` was false for 3, ``-2`` was decided though
    below the minimum. Now (DuckDB) the column is read as the kind its own type holds."""
    write_policy(tmp_path, use, SCHEMAS["bounds"])
    rows = decide_table(tmp_path, column, ["3", "-2", "100", "101"])
    assert [r[-1] for r in rows[:4]] == [[], ["x"], [], ["x"]]


#: the column types over a table (JSON columns, a NaN inside a list and a struct key in
#: another case are read otherwise there: docs/warehouse.md, "The column mapping")
TABLE_COLUMNS = {k: v for k, v in COLUMNS.items()
                 if k not in ("JSON", "STRUCT(Y INTEGER)", "DOUBLE[]", "all NULL")}
#: column types whose values are lists or objects: a policy that reads one as text or a
#: number (or a scalar column as a list) may be refused by DuckDB with a message (never
#: decided otherwise)
NESTED = ("[]", "STRUCT", "MAP", "UNION")


@settings(max_examples=30, deadline=None, suppress_health_check=SLOW)
@given(column=st.sampled_from(sorted(TABLE_COLUMNS)), use=st.sampled_from(sorted(USES)),
       schema=st.sampled_from(sorted(SCHEMAS)))
def test_table_columns_of_every_type_decide_as_the_python_engine(tmp_path, column, use,
                                                                 schema):
    """The printed DuckDB statement over a table whose column ``x`` has any type a
    warehouse holds: the python engine's decision of the row's JSON, or (a list or an
    object read as something else) DuckDB's error; never another decision."""
    import policy
    from policy.syntax.diagnostics import PolicyError

    folder = tmp_path / f"{abs(hash((column, use, schema)))}"
    write_policy(folder, use, SCHEMAS[schema])
    try:
        policy.load(folder)
    except PolicyError:  # the checker refuses the use for the schema's type
        return
    try:
        decide_table(folder, column, TABLE_COLUMNS[column])
    except duckdb.Error:  # a list or an object on one side only: DuckDB's binder
        assert any(n in column for n in NESTED) or use in ("list", "object") or \
            schema in ("array", "object"), (
                column, use, schema)


@pytest.mark.parametrize(("column", "use", "schema", "values", "paths"), [
    # a BOOLEAN is no number: `+16 per x` added 16 for true, and "integer" took it
    ("BOOLEAN", "number", "none", ["true", "false"], [[], []]),
    ("BOOLEAN", "number", "integer", ["true"], [["x"]]),
    # an integer is no condition: 3 held `x` (CAST(3 AS BOOLEAN) is true)
    ("TINYINT", "condition", "none", ["3", "0"], [[], []]),
    ("BIGINT", "condition", "boolean", ["1"], [["x"]]),
    # text is no number: '3' was cast to 3 (and 'a' stopped the statement)
    ("VARCHAR", "number", "none", ["'3'", "'a'"], [[], []]),
    ("VARCHAR", "number", "integer", ["'3'"], [["x"]]),
    # a DATE, a UUID, an INTERVAL are text (their JSON is a string): the statement
    # stopped ("No function matches strpos(DATE, …)")
    ("DATE", "text", "none", ["'2026-11-03'"], [[]]),
    ("UUID", "text", "string", ["'5f3c9b1e-0000-4000-8000-000000000001'"], [[]]),
    ("INTERVAL", "text", "length", ["INTERVAL 3 DAY"], [[]]),
    # a NaN FLOAT is null (missing), as from Parquet; it compared as the largest number
    ("FLOAT", "number", "number", ["'nan'", "'inf'"], [[], []]),
    # a struct's field used as a number and as text by one policy
    ("STRUCT(y INTEGER)", "object", "none", ["{'y': 3}"], [[]]),
])
def test_a_column_is_read_as_its_own_type_holds(tmp_path, column, use, schema, values,
                                                paths):
    """Each column is read as the kind of value its type holds, as the python engine
    reads the row's JSON (``to_json``): the statement cast a column to the type the
    schema or the policy's use wanted, so a column of another type was decided as if
    converted (or stopped the statement); now such a value fails the tests of other
    kinds and the schema's ``type``, which refuses the lead at the field."""
    write_policy(tmp_path, use, SCHEMAS[schema])
    rows = decide_table(tmp_path, column, values)
    assert [list(r[-1]) for r in rows[:len(values)]] == paths


def test_a_list_column_read_as_text_is_refused_by_name(tmp_path):
    """A list column the policy reads as text (``x contains "a"`` with no schema to say
    it is a list) stops the statement with a message naming the column, where it was
    read as its SQL text."""
    import policy
    from policy.sql import to_sql

    write_policy(tmp_path, "text", None)
    con = duckdb.connect()
    con.execute("CREATE TABLE leads AS SELECT 'L0' AS lead_id, ['a', 'b'] AS x")
    with pytest.raises(duckdb.Error, match="the column x holds a list or an object"):
        con.execute(to_sql(policy.load(tmp_path), dialect="duckdb", years=(2025, 2027)))
