"""Generated schemas: the SQL engines validate leads exactly as the python engine does
(spec section 10, issue 10).

A generated policy (``engine_strategies.policies``) gets a generated lead schema
(``schemas``): every field it reads typed as it reads it, with bounds, lengths, enums
and consts of mixed kinds, formats and ``required`` at every depth, and fields no policy
reads with any mix of the keywords the SQL path checks. Leads drawn for the schema
(``schema_leads``) sit on its edges: exactly at a bound and just past it, a value of the
wrong kind, an enum member's twin (``1.0`` for ``1``, ``true`` for ``1``), text one code
point too long in astral characters and combining marks, timestamps in every lenient
form and in forms that do not parse, a required field missing below an object.

Each is decided by the python engine and by ``--engine duckdb`` from JSON Lines (field
by field in the tabular form, and as bytes), from CSV and from Parquet (``funnel eval``,
the same bytes and Parquet rows); refused leads have the same lines, messages and
problem paths. A schema with a keyword the SQL path does not check is refused by
``--engine duckdb`` with one message naming the keyword, and taken by the python engine.

``SCHEMA_EXAMPLES`` (an environment variable) raises the number of examples for a hard
local run: ``SCHEMA_EXAMPLES=2000 pytest tests/test_sql_schemas.py``.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import examples
from engine_strategies import (
    AS_OFS,
    LIST_FILES,
    leads,
    policies,
    schema_leads,
    schemas,
    with_unsupported,
)
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sql_engine import _same_json, assert_same_rows

import policy
from policy.engine import tabular
from policy.engine.timestamps import format_timestamp
from policy.model.schema import format_path
from policy.sql.duck import DuckEngine

EXAMPLES = int(os.environ.get("SCHEMA_EXAMPLES", "0"))
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def _examples(default: int) -> int:
    return EXAMPLES or default


def write_policy(folder: Path, text: str, document: dict) -> Path:
    """The generated policy's folder: its file naming ``lead.schema.json``, the schema,
    and the ``lines`` files it may name."""
    folder.mkdir(parents=True, exist_ok=True)
    head, _, rest = text.partition('version "1"\n')
    (folder / "policy.funnel").write_text(
        head + 'version "1"\nschema "lead.schema.json"\n' + rest, encoding="utf-8")
    (folder / "lead.schema.json").write_text(json.dumps(document, ensure_ascii=False,
                                                        indent=1), encoding="utf-8")
    for name, body in LIST_FILES.items():
        (folder / name).write_text(body, encoding="utf-8", newline="")
    return folder


def load_with_schema(text: str, document: dict) -> policy.Policy:
    with tempfile.TemporaryDirectory() as tmp:
        return policy.load(write_policy(Path(tmp), text, document))


def _batch(data, document: dict, size: int) -> list[dict]:
    return data.draw(st.lists(st.one_of(schema_leads(document), schema_leads(document),
                                        leads()), min_size=1, max_size=size))


# --------------------------------------------------------------------------- JSON Lines


@settings(max_examples=_examples(examples(6, 12)), deadline=None, suppress_health_check=SLOW)
@given(text=policies(typed=True), document=schemas(), data=st.data())
def test_duckdb_validates_generated_schemas_as_python(text, document, data):
    pol = load_with_schema(text, document)
    as_of = data.draw(st.sampled_from(AS_OFS))
    engine = DuckEngine(pol, as_of=as_of, years=(2025, 2027))
    try:
        batch = _batch(data, document, 30)
        assert_same_rows(pol, [json.dumps(x, ensure_ascii=False) for x in batch], as_of,
                         engine)
    finally:
        engine.close()




# --------------------------------------------------------------------------- CSV, Parquet


def _leaves(node: dict, keys: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, sub in node.get("properties", {}).items():
        out += _leaves(sub, (*keys, key)) if "properties" in sub else [(*keys, key)]
    return out


def _cell(lead: dict, keys: tuple[str, ...]) -> str:
    """A lead's value at ``keys`` as a CSV cell: empty when missing or null, JSON
    text for numbers, lists and objects, ``true``/``false``, a string as it is but for
    NUL: NUL bytes mark a leads file as binary (``sniff_problem``), so they are left out."""
    value: object = lead
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return ""
        value = value[key]
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "")
    return json.dumps(value, ensure_ascii=False)


def write_csv(path: Path, document: dict, batch: list[dict]) -> None:
    """The leads as CSV, one column per leaf of the schema (headers ``a.b``, a key
    that needs them in backticks), so the cells are typed by the schema."""
    columns = _leaves(document)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow([format_path(c) for c in columns])
        for lead in batch:
            out.writerow([_cell(lead, c) for c in columns])


def _eval(folder: Path, leads_file: Path, as_of: int, engine: str, *extra: str):
    result = CliRunner().invoke(main, ["eval", str(folder), str(leads_file), "--as-of",
                                       format_timestamp(as_of), "--engine", engine, *extra])
    assert result.exit_code in (0, 1), result.output
    return result


@settings(max_examples=_examples(6), deadline=None, suppress_health_check=SLOW)
@given(text=policies(typed=True), document=schemas(), data=st.data())
def test_funnel_eval_from_jsonl_csv_and_parquet_with_generated_schemas(text, document, data):
    """``funnel eval`` by the python engine and by ``--engine duckdb`` from JSON Lines,
    CSV (cells typed by the schema) and Parquet (columns typed by DuckDB from the same
    leads): the same exit status, standard error and JSON Lines bytes, and from Parquet
    to Parquet the same rows; with or without ``--local-tz``."""
    import duckdb

    as_of = data.draw(st.sampled_from(AS_OFS))
    # timestamps without an offset read in a zone: the formats' edges move (years 1, 9999)
    zone = data.draw(st.sampled_from(((), (), ("--local-tz", "Asia/Kolkata"),
                                      ("--local-tz", "America/New_York"))))
    batch = _batch(data, document, 12)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = write_policy(work / "p", text, document)
        jsonl = work / "leads.jsonl"
        jsonl.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in batch),
                         encoding="utf-8")
        write_csv(work / "leads.csv", document, batch)
        sources = [jsonl, work / "leads.csv"]
        parquet = work / "leads.parquet"
        con = duckdb.connect()
        try:
            con.execute("COPY (SELECT * FROM read_json(?, format='newline_delimited', "
                        "sample_size=-1)) TO ? (FORMAT parquet)", [str(jsonl), str(parquet)])
            sources.append(parquet)
        except duckdb.Error:
            pass  # leads DuckDB cannot type as one table: JSON Lines and CSV only
        for source in sources:
            py = _eval(folder, source, as_of, "python", *zone)
            duck = _eval(folder, source, as_of, "duckdb", *zone)
            assert (duck.exit_code, duck.stderr) == (py.exit_code, py.stderr), (
                source.name, py.stderr, duck.stderr)
            assert duck.stdout == py.stdout, (source.name, py.stdout, duck.stdout)
            assert len(py.stdout.splitlines()) == len(batch)
        if parquet in sources:
            rows, stderr = {}, {}
            lay = tabular.layout(policy.load(folder))  # the policy the evals read
            for engine in ("python", "duckdb"):
                target = work / f"{engine}.parquet"
                stderr[engine] = _eval(folder, parquet, as_of, engine, "-o",
                                       str(target), *zone).stderr
                rows[engine] = [_same_json(r, lay) for r in con.execute(
                    "SELECT * FROM read_parquet(?)", [str(target)]).fetchall()]
            assert rows["python"] == rows["duckdb"]
            assert stderr["python"] == stderr["duckdb"]


@settings(max_examples=_examples(6), deadline=None, suppress_health_check=SLOW)
@given(text=policies(typed=True), data=st.data())
def test_a_keyword_the_sql_path_does_not_check_is_refused_by_name(text, data):
    """Spec section 10: a schema with any other keyword is refused by the SQL path with
    a message naming it (exit 2, one line, no traceback); the python engine takes it."""
    plain = data.draw(schemas())
    document, keyword = data.draw(with_unsupported(plain))
    batch = _batch(data, plain, 5)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_policy(Path(tmp) / "p", text, document)
        leads_file = Path(tmp) / "leads.jsonl"
        leads_file.write_text("".join(json.dumps(x) + "\n" for x in batch), encoding="utf-8")
        runner = CliRunner()
        args = ["eval", str(folder), str(leads_file), "--as-of", format_timestamp(AS_OFS[0])]
        py = runner.invoke(main, args)
        duck = runner.invoke(main, [*args, "--engine", "duckdb"])
    assert py.exit_code in (0, 1) and len(py.stdout.splitlines()) == len(batch), py.output
    assert duck.exit_code == 2 and duck.stdout == ""
    # after the policy's warnings, one line: the refusal, naming the keyword
    refusal = [x for x in duck.stderr.splitlines() if x.startswith("funnel:")]
    assert len(refusal) == 1 and "Traceback" not in duck.stderr, duck.stderr
    # `$ref` comes with the `$defs` it points into: the refusal names whichever it meets first
    named = {keyword, "$defs"} if keyword == "$ref" else {keyword}
    assert any(f"the schema keyword `{k}`" in refusal[0] for k in named), duck.stderr


# --------------------------------------------------------------------------- found


POLICY = """policy found "Found by the generated schemas"
version "1"
id lead_id
team sales "@acme/sales"
funnel lead
stage lead "L" owned by sales {
  require days_since(`x y`.seen) > 1
}
"""


def _both_engines(tmp_path: Path, document: dict | None, rows: list[str]) -> list[str]:
    """``funnel eval`` of ``rows`` (JSON Lines) by the python engine and by DuckDB:
    the same exit status and bytes; the records' lines."""
    folder = tmp_path / "policy"
    folder.mkdir()
    text = POLICY if document is None else POLICY.replace(
        'version "1"\n', 'version "1"\nschema "lead.schema.json"\n')
    (folder / "found.funnel").write_text(text, encoding="utf-8")
    if document is not None:
        (folder / "lead.schema.json").write_text(json.dumps(document), encoding="utf-8")
    (tmp_path / "leads.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    runner = CliRunner()
    args = ["eval", str(folder), str(tmp_path / "leads.jsonl"), "--as-of",
            format_timestamp(AS_OFS[0])]
    py = runner.invoke(main, args)
    duck = runner.invoke(main, [*args, "--engine", "duckdb"])
    assert py.exit_code == duck.exit_code == 1, (py.output, duck.output)
    assert duck.stdout == py.stdout
    return py.stdout.splitlines()


def test_a_value_of_another_kind_in_a_format_field_is_a_timestamp_that_does_not_parse(
        tmp_path):
    """A schema's `format` applies to strings only, so `1` passes `"format": "date-time"`;
    the field is still a timestamp (spec section 3), and a value that is not one refuses
    the lead as "a timestamp field does not parse", naming the field. The python engine
    said "does not match the schema" at the record itself (its validator, asked for the
    problems, found none), DuckDB named the field."""
    document = {"type": "object", "properties": {"lead_id": {}, "x y": {
        "type": "object", "properties": {
        "seen": {"format": "date-time"}, "n": {"type": "integer"}}}}}
    out = _both_engines(tmp_path, document, [
        '{"lead_id": "a", "x y": {"seen": 1}}',
        '{"lead_id": "b", "x y": {"seen": 1, "n": 1.5}}',
        '{"lead_id": "c", "x y": {"seen": "2026-11-01"}}'])
    assert json.loads(out[0])["error"] == {
        "message": "a timestamp field does not parse",
        "problems": [{"path": "`x y`.seen", "message": "not a valid date-time: 1"}]}
    assert json.loads(out[1])["error"]["problems"] == [
        {"path": "`x y`.n", "message": "expected integer, found number 1.5"}]
    assert json.loads(out[2])["error"]["problems"][0]["message"].startswith(
        "not a valid date-time")


def test_a_timestamp_that_does_not_parse_is_named_as_the_language_writes_it(tmp_path):
    """Spec section 3: a problem's path writes a field as the language does, with
    backticks around a key that needs them: "`x y`.seen", not "x y.seen" (the python
    engine joined the keys with dots; DuckDB wrote the path right, and its shorter words
    were then kept, so the two engines' records differed)."""
    out = _both_engines(tmp_path, None, ['{"lead_id": "a", "x y": {"seen": "soon"}}'])
    assert json.loads(out[0])["error"] == {
        "message": "a timestamp field does not parse",
        "problems": [{"path": "`x y`.seen", "message": 'not a valid timestamp: "soon"'}]}


def test_fields_below_a_parquet_column_read_as_json_are_read(tmp_path):
    """A Parquet column whose values are of mixed kinds in the file (an object in one
    row, a string in another) is typed JSON, and a MAP column is an object to the python
    engine too: DuckDB read every field below such a column as absent, so
    `require bant.budget` failed and `required: ["budget"]` refused a lead that has it.
    Each field below is now read from the column's JSON, absent only where it is."""
    import duckdb

    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "found.funnel").write_text(POLICY.replace(
        'version "1"\n', 'version "1"\nschema "lead.schema.json"\n').replace(
        "days_since(`x y`.seen) > 1", "bant.budget and m.k >= 2"), encoding="utf-8")
    (folder / "lead.schema.json").write_text(json.dumps({
        "type": "object", "properties": {
            "lead_id": {}, "m": {"properties": {"k": {"type": "integer"}}},
            "bant": {"properties": {"budget": {"type": "boolean"},
                                    "`q`": {"type": "string"}}, "required": ["budget"]}}}),
        encoding="utf-8")
    rows = ['{"lead_id": "a", "bant": {"budget": true, "`q`": "x"}}',
            '{"lead_id": "b", "bant": "n/a"}', '{"lead_id": "c", "bant": {"x": 1}}',
            '{"lead_id": "d", "bant": {"budget": 1}}', '{"lead_id": "e", "bant": null}',
            '{"lead_id": "f", "bant": {"budget": null, "`q`": 5}}', '{"lead_id": "g"}']
    (tmp_path / "l.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    source = tmp_path / "l.parquet"
    con = duckdb.connect()
    con.execute("COPY (SELECT *, CASE WHEN lead_id < 'd' THEN MAP {'k': 2} ELSE MAP {'j': 1} "
                "END AS m FROM read_json(?, format='newline_delimited', sample_size=-1)) "
                "TO ? (FORMAT parquet)", [str(tmp_path / "l.jsonl"), str(source)])
    assert dict(con.execute("DESCRIBE SELECT * FROM read_parquet(?)",
                            [str(source)]).fetchall()[i][:2] for i in range(3))["bant"] == "JSON"
    as_of = AS_OFS[0]
    py = _eval(folder, source, as_of, "python")
    duck = _eval(folder, source, as_of, "duckdb")
    assert duck.stdout == py.stdout
    stages = [json.loads(x).get("stage", "refused") for x in py.stdout.splitlines()]
    assert stages == ["lead", None, "refused", "refused", None, "refused", None]
    out, err = {}, {}
    for engine in ("python", "duckdb"):
        err[engine] = _eval(folder, source, as_of, engine, "-o",
                            str(tmp_path / f"{engine}.parquet")).stderr
        out[engine] = con.execute("SELECT * FROM read_parquet(?)",
                                  [str(tmp_path / f"{engine}.parquet")]).fetchall()
    assert out["duckdb"] == out["python"]
    # Parquet to Parquet: the summary on stderr names each refusal in the python
    # engine's words (it said "bant.budget: the lead does not match the schema")
    assert err["duckdb"] == err["python"]
    assert "line 3 (bant.budget: required field is missing)" in err["duckdb"]


@pytest.mark.parametrize("count", [3, 3000])
def test_parquet_to_parquet_under_local_tz_keeps_the_input_order(tmp_path, count):
    """With --local-tz the statement joins each timestamp field with the zone's offsets,
    and with that join DuckDB's order-preserving COPY wrote the rows of a small file in
    reverse (found by the generated schemas with --local-tz): the rows are in input
    order, and equal the python engine's."""
    import duckdb

    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "found.funnel").write_text(POLICY, encoding="utf-8")
    source = tmp_path / "l.parquet"
    con = duckdb.connect()
    con.execute("COPY (SELECT 'L-' || i AS lead_id, {'seen': CASE WHEN i % 3 = 0 THEN "
                "'2026-11-0' || (i % 9 + 1) || ' 10:00' ELSE NULL END} AS \"x y\" "
                f"FROM range(1, {count + 1}) r(i)) TO ? (FORMAT parquet, ROW_GROUP_SIZE 1000)",
                [str(source)])
    rows = {}
    for engine in ("python", "duckdb"):
        target = tmp_path / f"{engine}.parquet"
        _eval(folder, source, AS_OFS[0], engine, "--local-tz", "Asia/Kolkata", "-o",
              str(target))
        rows[engine] = con.execute("SELECT * FROM read_parquet(?)", [str(target)]).fetchall()
    assert [r[0] for r in rows["duckdb"]] == list(range(1, count + 1))
    assert rows["duckdb"] == rows["python"]
