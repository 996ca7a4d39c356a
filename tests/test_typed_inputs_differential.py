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
    "integer items": {"type": ["array", "null"], "items": {"type": "integer"}},
    "string items": {"type": ["array", "null"], "items": {"type": "string"}},
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


@pytest.mark.parametrize("column", ["JSON", "DATE[]", "TIMESTAMP[]", "VARCHAR[]"])
def test_integer_items_refuse_a_list_of_text_instead_of_stopping_the_run(tmp_path, column):
    """A schema whose ``items`` are integers, over a list that holds text (a Parquet
    ``DATE[]`` or ``JSON`` column is read as its JSON text: a list of strings): the
    python engine refuses the lead at the item; the DuckDB statement cast every item
    to a number to test that it is whole, and DuckDB's "Failed to cast value to
    numerical" stopped the run with a traceback."""
    write_policy(tmp_path / "p", "list", SCHEMAS["integer items"])
    leads = tmp_path / "x.parquet"
    write_parquet(leads, column, COLUMNS[column])
    out = assert_same(tmp_path / "p", leads)
    assert "expected integer, found string" in out


def test_integer_items_refuse_text_items_in_json_lines(tmp_path):
    write_policy(tmp_path / "p", "list", SCHEMAS["integer items"])
    leads = tmp_path / "x.jsonl"
    leads.write_text('{"lead_id": "L0", "x": ["a", 3]}\n{"lead_id": "L1", "x": [3, 1.0]}\n'
                     '{"lead_id": "L2", "x": [true, {"a": 1}, [2]]}\n', encoding="utf-8")
    out = assert_same(tmp_path / "p", leads)
    assert [json.loads(x).get("error") is None for x in out.splitlines()[:3]] == [
        False, True, False]
