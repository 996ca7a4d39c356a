"""Lists of any element kinds decide the same in every engine (spec section 3:
``contains``, ``in``, ``length``; section 10: every engine).

A lead's list may hold numbers, booleans, nulls, lists and objects beside text. The
python engines compare each element as ``runtime.eq`` does (kinds must match, numbers
as doubles, text ignoring case only under ``contains``); the SQL engines look for the
needle's own kind among the elements (``lnum``, ``lbool`` beside the text list ``l``,
:mod:`policy.sql.values`). A table of list shapes × operators, with the python
engines' answers written out, then the same leads through ``funnel eval --engine
duckdb`` from JSON Lines, CSV and typed Parquet columns, through Spark, and a
Hypothesis property over generated lists and conditions.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from engine_strategies import load_text
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sql_engine import assert_same_rows

import policy
from policy.api import Policy
from policy.sql.duck import DuckEngine

AS_OF = "2026-12-01T00:00:00Z"
AS_OF_US = 1_796_083_200_000_000

#: (condition, the lead's fields, whether the python engine says it holds)
TABLE = [
    ("tags contains 4", {"tags": [4, "y"]}, True),
    ("tags contains 4", {"tags": ["4"]}, False),
    ("tags contains 4", {"tags": [4.0]}, True),
    ("tags contains 4", {"tags": [True, 4.5]}, False),
    ("tags contains 4", {"tags": "4"}, False),
    ("tags contains 4", {"tags": 4}, False),
    ("tags contains 1", {"tags": [True]}, False),
    ("tags contains true", {"tags": [1, "true"]}, False),
    ("tags contains true", {"tags": [None, True]}, True),
    ("tags contains false", {"tags": [0, False]}, True),
    ("tags contains 0", {"tags": [-0.0]}, True),
    ("tags contains 9007199254740993", {"tags": [9007199254740992]}, True),
    ("tags contains 9007199254740992", {"tags": [9007199254740993]}, True),
    ("tags contains 9007199254740994", {"tags": [9007199254740993]}, False),
    ('tags contains "Y"', {"tags": [4, "y"]}, True),
    ('tags contains "4"', {"tags": [4]}, False),
    ('tags contains [1, "a"]', {"tags": ["A", 2]}, True),
    ('tags contains [1, "a"]', {"tags": [1.0]}, True),
    ('tags contains [1, "a"]', {"tags": [[1, "a"]]}, False),
    ('tags contains [1, "a"]', {"tags": [True, None, "b"]}, False),
    ("tags contains x", {"tags": [4, "y"], "x": 4}, True),
    ("tags contains x", {"tags": ["Y"], "x": "y"}, True),
    ("tags contains x", {"tags": [1, True], "x": True}, True),
    ("tags contains x", {"tags": [1, True], "x": [2, True]}, True),
    ("tags contains x", {"tags": ["B", 2], "x": ["b"]}, True),
    ("tags contains x", {"tags": [1, 2], "x": [3, "1"]}, False),
    ("tags contains x", {"tags": [None], "x": None}, False),
    ("x in tags", {"tags": [4, "y"], "x": 4.0}, True),
    ("x in tags", {"tags": ["Y"], "x": "y"}, False),
    ("x in tags", {"tags": [False], "x": False}, True),
    ("x in tags", {"tags": [0], "x": False}, False),
    ("x in tags", {"tags": ["4"], "x": 4}, False),
    ("x not in tags", {"tags": [4, "y"], "x": 4}, False),
    ("x not in tags", {"tags": ["4"], "x": 4}, True),
    ("x not in tags", {"tags": [True], "x": True}, False),
    ("x not in tags", {"tags": 4, "x": 4}, False),
    ("4 in tags", {"tags": [1, 4e0]}, True),
    ("true in tags", {"tags": ["true", 1]}, False),
    ("length(tags) == 3", {"tags": [1, None, {"a": 1}]}, True),
    ("length(tags) == 2", {"tags": [[1, 2], "x"]}, True),
    ("name contains tags", {"tags": [4, "AB"], "name": "xaby"}, True),
    ("name contains tags", {"tags": [4, True], "name": "4 true"}, False),
    ("name starts with tags", {"tags": [1, "XA"], "name": "xab"}, True),
    ("name ends with tags", {"tags": ["zz", "B"], "name": "xab"}, True),
    ("name ends with tags", {"tags": [2], "name": "x2"}, False),
    # a list or an object inside the list: equal by runtime.eq (element by element,
    # numbers as doubles, null equal to nothing), an object by Python's ==
    ("x in tags", {"tags": [[1, "a"], 2], "x": [1.0, "a"]}, True),
    ("x in tags", {"tags": [[1, "a"]], "x": [1, "A"]}, False),
    ("x in tags", {"tags": [[1, None]], "x": [1, None]}, False),
    ("x in tags", {"tags": [[9007199254740993]], "x": [9007199254740992]}, True),
    ("x in tags", {"tags": [{"a": 1}], "x": {"a": 1.0}}, True),
    ("x in tags", {"tags": [{"a": None}], "x": {"a": None}}, True),
    ("x in tags", {"tags": [{"a": 1}], "x": {"a": 2}}, False),
    ("x not in tags", {"tags": [[1], 2], "x": [1]}, False),
    ("x not in tags", {"tags": [[1], 2], "x": [2]}, True),
    ("tags contains x", {"tags": [[1, "a"]], "x": [[1, "a"]]}, True),
    ("tags contains x", {"tags": [["A"]], "x": [["a"]]}, False),
    ("tags contains x", {"tags": [{"a": True}], "x": {"a": 1}}, True),
    ("tags contains x", {"tags": [{"a": 1}, 3], "x": [{"a": 1}]}, True),
    ("tags contains [x, 5]", {"tags": [[2]], "x": [2]}, True),
    # x is missing: the test touches a missing value, so it is false (spec section 3;
    # until the seventeenth session the missing item was skipped and 5 matched)
    ("tags contains [x, 5]", {"tags": [[2], 5.0]}, False),
    ("tags contains [x, 5]", {"tags": [[2]], "x": 2}, False),
]

CONDITIONS = sorted({c for c, _, _ in TABLE})


def _policy_text(conditions) -> str:
    """One score per condition (1 when it holds), so every condition is its own
    column of the tabular form."""
    out = ['policy kinds "list kinds"', "id id", 'team m "@m"', "funnel lead"]
    for i, cond in enumerate(conditions):
        out += [f"score c{i} owned by m {{", f"  +1 if {cond}", "}"]
    out += ['stage lead "L" owned by m {', "  require c0 >= 0", "}"]
    return "\n".join(out) + "\n"


def _write(tmp_path: Path, conditions=CONDITIONS, schema: dict | None = None) -> Path:
    folder = tmp_path / "pol"
    folder.mkdir(exist_ok=True)
    text = _policy_text(conditions)
    if schema is not None:
        (folder / "lead.schema.json").write_text(json.dumps(schema), encoding="utf-8")
        text = text.replace("id id\n", 'id id\nschema "lead.schema.json"\n')
    (folder / "p.funnel").write_text(text, encoding="utf-8")
    return folder


def _leads() -> list[dict]:
    return [{"id": i, **fields} for i, (_, fields, _) in enumerate(TABLE)]


def _eval(path: Path, leads: Path, *extra: str) -> str:
    res = CliRunner().invoke(main, ["eval", str(path), str(leads), "--as-of", AS_OF, *extra])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("engine", ["compiled", "interpreter"])
def test_the_python_engines_decide_the_table(tmp_path, engine):
    pol = policy.load(_write(tmp_path), engine=engine)
    for i, (cond, fields, want) in enumerate(TABLE):
        got = pol.evaluate_at({"id": i, **fields}, AS_OF_US).scores[f"c{CONDITIONS.index(cond)}"]
        assert got == (1 if want else 0), (cond, fields)


def test_duckdb_from_json_lines_writes_the_python_bytes(tmp_path):
    folder = _write(tmp_path)
    leads = tmp_path / "leads.jsonl"
    lines = [json.dumps(x) for x in _leads()]
    # the same numbers as other texts: 4.0 and 4e0, an exponent, -0
    lines += ['{"id": "t1", "tags": [4e0, "y"], "x": 40e-1, "name": "4"}',
              '{"id": "t2", "tags": [-0, 1E0, true], "x": 0.0e5, "name": "TRUE"}',
              '{"id": "t3", "tags": [1e20, 100000000000000000000], "x": 1e+20}']
    leads.write_text("\n".join(lines) + "\n", encoding="utf-8")
    want = _eval(folder, leads)
    assert _eval(folder, leads, "--engine", "duckdb") == want
    # each condition holds for the leads the table says, and fails for the others
    rows = [json.loads(x)["scores"] for x in want.splitlines()]
    for i, (cond, _, holds) in enumerate(TABLE):
        assert rows[i][f"c{CONDITIONS.index(cond)}"] == int(holds), (cond, TABLE[i])


def test_duckdb_from_csv_reads_a_list_cell_as_json(tmp_path):
    schema = {"type": "object", "properties": {
        "id": {"type": "integer"}, "tags": {"type": ["array", "number", "string"]},
        "x": {"type": "string"}, "name": {"type": "string"}}}
    folder = _write(tmp_path, schema=schema)
    leads = tmp_path / "leads.csv"
    rows = ["id,tags,x,name"]
    for lead in _leads():
        tags = lead.get("tags", "")
        cells = [str(lead["id"]), tags if isinstance(tags, str) else json.dumps(tags),
                 lead["x"] if isinstance(lead.get("x"), str) else "", lead.get("name", "")]
        rows.append(",".join('"' + str(c).replace('"', '""') + '"' for c in cells))
    leads.write_text("\n".join(rows) + "\n", encoding="utf-8")
    want = _eval(folder, leads)
    assert '"c0": 1' in want
    assert _eval(folder, leads, "--engine", "duckdb") == want


#: Parquet list columns of each element type, and a JSON column holding lists
PARQUET_COLUMNS = {
    "LIST<VARCHAR>": "['y', 'A', NULL, '4']::VARCHAR[]",
    "LIST<BIGINT>": "[4, 9007199254740993, NULL, 0]::BIGINT[]",
    "LIST<DOUBLE>": "[4.0, -0.0, 1.5, NULL]::DOUBLE[]",
    "LIST<BOOLEAN>": "[true, NULL]::BOOLEAN[]",
    "JSON": "'[4, \"y\", true, null, [1, \"a\"], {\"a\": 1}]'::JSON",
}


@pytest.mark.parametrize("column", sorted(PARQUET_COLUMNS))
@pytest.mark.parametrize("out", ["jsonl", "parquet"])
def test_duckdb_from_typed_parquet_lists_decides_as_python(tmp_path, column, out):
    folder = _write(tmp_path, [c for c in CONDITIONS if "x" not in c.split()])
    src = tmp_path / "leads.parquet"
    value = PARQUET_COLUMNS[column]
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT i AS id,
            CASE WHEN i % 4 = 0 THEN NULL WHEN i % 4 = 1 THEN {value}
                 ELSE list_slice({value}, 1 + i % 3, 4) END AS tags,
            CASE i % 3 WHEN 0 THEN 'xab' WHEN 1 THEN '4 true' ELSE 'a' END AS name
        FROM range(12) t(i)) TO '{src}' (FORMAT parquet)""" if column != "JSON" else
                f"""COPY (SELECT i AS id, CASE WHEN i % 2 = 0 THEN {value} END AS tags,
                    'xa' AS name FROM range(4) t(i)) TO '{src}' (FORMAT parquet)""")
    if out == "jsonl":
        want = _eval(folder, src)
        assert _eval(folder, src, "--engine", "duckdb") == want
        return
    got = []
    for engine in ("python", "duckdb"):
        target = tmp_path / f"{engine}.parquet"
        _eval(folder, src, "--engine", engine, "--format", "parquet", "-o", str(target))
        got.append(con.execute(f"SELECT * EXCLUDE (policy_digest) FROM '{target}' ORDER BY "
                               "line").fetchall())
    assert got[0] and got[1] == got[0]


def _parquet_to_parquet(folder: Path, src: Path, tmp_path: Path, con) -> list[list]:
    """The rows of the Parquet decisions of ``src``, python engine's then DuckDB's."""
    got = []
    for engine in ("python", "duckdb"):
        target = tmp_path / f"{engine}.parquet"
        _eval(folder, src, "--engine", engine, "--format", "parquet", "-o", str(target))
        got.append(con.execute(f"SELECT * FROM '{target}' ORDER BY line").fetchall())
    return got


@pytest.mark.parametrize("out", ["jsonl", "parquet"])
def test_duckdb_from_parquet_json_columns_has_python_decide_nested_lists(tmp_path, out):
    """A list inside a lead's list, compared with a list: the SQL marks the row and the
    python engine decides it, also on the Parquet → Parquet path (no row leaves DuckDB
    there: the file is decided again by the path that hands rows to python)."""
    nested = [(c, f) for c, f, _ in TABLE if any(isinstance(v, (list, dict)) for e in
                                                 [f.get("tags")] if isinstance(e, list)
                                                 for v in e)]
    conds = sorted({c for c, _ in nested}) + ["tags contains 4"]
    folder = _write(tmp_path, conds)
    src = tmp_path / "leads.parquet"
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT, tags JSON, x JSON)")
    rows = [(i, json.dumps(f.get("tags")), json.dumps(f["x"]) if "x" in f else None)
            for i, (_, f) in enumerate(nested)] + [(99, "[4, [4]]", "4")]
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    con.execute(f"COPY t TO '{src}' (FORMAT parquet)")
    if out == "jsonl":
        want = _eval(folder, src)
        assert '"c0": 1' in want
        assert _eval(folder, src, "--engine", "duckdb") == want
        return
    got = _parquet_to_parquet(folder, src, tmp_path, con)
    assert len(got[0]) == len(rows) and got[1] == got[0]


# --------------------------------------------------------------------------- generated

_SCALARS = st.one_of(
    st.sampled_from(["a", "A", "b", "4", "true", ""]),
    st.integers(-2, 5), st.sampled_from([4.0, -0.0, 1.5, 9007199254740993, 2**53, 1e20]),
    st.booleans(), st.none())
#: few of them inside lists and objects, so that a nested element often equals a needle
_FEW = st.sampled_from(["a", "A", 1, 1.0, True, None])
#: elements of a lead's list: scalars, and now and then a list or an object
_ELEMENTS = st.one_of(_SCALARS, st.lists(_FEW, max_size=2),
                      st.dictionaries(st.sampled_from(["a"]), _FEW, max_size=1))
_VALUES = st.one_of(_SCALARS, st.lists(_ELEMENTS, max_size=4), _ELEMENTS)
_LITERALS = st.one_of(st.sampled_from(['"a"', '"A"', '"4"', '"true"', "true", "false",
                                       "4", "0", "1.5", "9007199254740992", "2"]))


@st.composite
def _conditions(draw) -> str:
    op = draw(st.sampled_from(["contains", "in", "not in", "length"]))
    left = draw(st.sampled_from(["tags", "x"]))
    right = "x" if left == "tags" else "tags"
    if op == "length":
        return f"length({left}) == {draw(st.integers(0, 3))}"
    if draw(st.booleans()):
        needles = draw(st.lists(_LITERALS, min_size=1, max_size=3))
        lit = needles[0] if len(needles) == 1 or op != "contains" else \
            "[" + ", ".join(needles) + "]"
        return f"{left} contains {lit}" if op == "contains" else f"{lit} {op} {left}"
    return f"{left} {op} {right}"


def _lead(tags, x, put: int) -> dict:
    """A lead whose list often holds the other value, or one of its elements (so that
    `x in tags` and `tags contains x` hold now and then, nested values included)."""
    if isinstance(tags, list) and put:
        tags = [*tags, x] if put == 1 or not isinstance(x, list) or not x else [*tags, x[0]]
    return {"tags": tags, "x": x}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(conditions=st.lists(_conditions(), min_size=1, max_size=5, unique=True),
       data=st.data())
def test_duckdb_equals_python_on_generated_lists(conditions, data):
    pol = Policy(load_text(_policy_text(conditions)))
    engine = DuckEngine(pol, as_of=AS_OF_US, years=(2025, 2027))
    leads = data.draw(st.lists(st.builds(_lead, _VALUES, _VALUES, st.integers(0, 3)),
                               min_size=1, max_size=20))
    texts = [json.dumps({"id": i, **x}) for i, x in enumerate(leads)]
    assert_same_rows(pol, texts, AS_OF_US, engine)


# --------------------------------------------------------------------------- printed SQL

_PRINTED = ["tags contains 4", "tags contains true", 'tags contains "y"', "n in tags",
            "b in tags", "length(tags) == 1", "name contains tags"]


def test_printed_sql_reads_a_list_column_as_a_list_of_text(tmp_path):
    """``funnel sql``: a list column is an ARRAY of text (the SQL path takes no
    ``items`` keyword, spec section 10); the printed DuckDB SQL over such a table
    decides as the python engine, and every printed dialect parses back."""
    import sqlglot

    from policy.engine import tabular
    from policy.sql import to_sql

    ddl, values = "VARCHAR[]", [["Y", "4"], ["a"], None, ["true", "Ab"], [], ["y"]]
    schema = {"type": "object", "properties": {
        "id": {"type": "integer"}, "n": {"type": "number"}, "b": {"type": "boolean"},
        "name": {"type": "string"}, "tags": {"type": ["array", "null"]}}}
    pol = policy.load(_write(tmp_path, _PRINTED, schema))
    for dialect in ("snowflake", "bigquery", "postgres", "trino", "spark"):
        text = to_sql(pol, dialect=dialect, as_of=AS_OF_US, years=(2026, 2026))
        assert isinstance(sqlglot.parse_one(text, read=dialect), sqlglot.exp.Select)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE leads (id BIGINT, n DOUBLE, b BOOLEAN, name VARCHAR, tags {ddl})")
    leads = [{"id": i, "n": [4, 0, 9007199254740992][i % 3], "b": i % 2 == 0,
              "name": ["4 abx", "true y"][i % 2], "tags": v} for i, v in enumerate(values)]
    con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?)",
                    [(x["id"], x["n"], x["b"], x["name"], x["tags"]) for x in leads])
    names = tabular.layout(pol).names
    text = to_sql(pol, dialect="duckdb", as_of=AS_OF_US, years=(2026, 2026))
    got = {int(r["lead"]): r for r in (dict(zip(names, row, strict=True))
                                        for row in con.execute(text).fetchall())}
    held = set()
    for i, lead in enumerate(leads):
        want = pol.evaluate_at(lead, AS_OF_US).scores
        assert {k: got[i][f"score_{k}"] for k in want} == want, lead
        held |= {k for k, v in want.items() if v}
    assert held  # some condition holds for some lead of each column type


# --------------------------------------------------------------------------- Spark


def test_spark_decides_the_table_as_python(tmp_path):
    """A few list shapes through ``funnel eval --engine spark`` (VARIANT elements typed
    by SCHEMA_OF_VARIANT), byte for byte against the python engine."""
    from policy.sql.spark import spark_missing

    if spark_missing() is not None:
        pytest.skip(f"Spark tier: {spark_missing()}")
    # a few conditions: Spark's analyzer gives up on a statement of twenty scores
    # (its 100 iterations of resolution), whatever the conditions
    few = ["tags contains 4", "tags contains x", "x in tags", "name contains tags",
           "true in tags", 'tags contains [1, "a"]']
    folder = _write(tmp_path, few)
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(json.dumps(x) + "\n" for x in _leads()), encoding="utf-8")
    want = _eval(folder, leads)
    assert '"c1": 1' in want and '"c2": 1' in want
    assert _eval(folder, leads, "--engine", "spark", "--spark-master", "local[1]") == want


def test_funnel_report_with_duckdb_counts_nested_lists_as_python(tmp_path):
    """``funnel report --engine duckdb``: a stage gated on a list inside a lead's list
    reaches the leads the python engine says (the marked rows are decided by python)."""
    folder = tmp_path / "pol"
    folder.mkdir()
    (folder / "p.funnel").write_text(
        'policy p "t"\nid id\nteam m "@m"\nfunnel lead -> mql\n'
        'stage lead "L" owned by m {\n  require id is present\n}\n'
        'stage mql "M" owned by m {\n  require x in tags\n}\n', encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    rows = [{"id": 1, "tags": [[1, "a"], 2], "x": [1.0, "a"]},
            {"id": 2, "tags": [[1, "a"]], "x": [1, "A"]},
            {"id": 3, "tags": [{"a": True}], "x": {"a": 1}}, {"id": 4, "tags": [4], "x": 4},
            {"id": 5, "tags": [[2]], "x": [[2]]}]
    leads.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    outs = []
    for engine in ("python", "duckdb"):
        res = CliRunner().invoke(main, ["report", str(folder), str(leads), "--as-of", AS_OF,
                                        "--engine", engine, "--format", "json"])
        assert res.exit_code == 0, res.output
        outs.append(res.output)
    assert outs[1] == outs[0]
    assert '"reached": 3' in outs[0]  # leads 1, 3 and 4


# --------------------------------------------------------------------------- == of two fields
EQ_CONDITIONS = ['x == y', 'x != y', 'x in [y, "a"]', 'x not in [y]', 'o.a == o.b']
EQ_VALUES = [[1], [1.0], [1, "a"], ["A"], ["a"], [], [[1]], [[1.0]], {"k": 1}, {"k": 1.0},
             {"k": [1]}, "a", 1, 1.0, True, None]


def _eq_leads() -> list[dict]:
    leads = []
    for i, x in enumerate(EQ_VALUES):
        for j, y in enumerate(EQ_VALUES):
            if (i + j) % 3 == 0 or i == j or {i, j} in ({0, 1}, {6, 7}, {8, 9}):
                leads.append({"id": len(leads), "x": x, "y": y, "o": {"a": x, "b": y}})
    return leads


@pytest.mark.parametrize("source", ["jsonl", "parquet", "parquet-to-parquet"])
def test_two_fields_that_may_be_lists_compare_as_python_in_duckdb(tmp_path, source):
    """`x == y` where both may hold lists or objects: DuckDB compares the scalars and
    marks the rows where both are lists or objects, which the python engine decides
    (it used to refuse the whole policy: no SQL form)."""
    folder = _write(tmp_path, EQ_CONDITIONS)
    leads = _eq_leads()
    src = tmp_path / "leads.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in leads), encoding="utf-8")
    want = _eval(folder, src)
    rows = [json.loads(line)["scores"] for line in want.splitlines()]
    c = f"c{sorted(EQ_CONDITIONS).index('x == y')}"
    holds = {(json.dumps(lead["x"]), json.dumps(lead["y"])) for lead, row in
             zip(leads, rows, strict=True) if row[c]}
    assert ("[1]", "[1.0]") in holds and ("[[1]]", "[[1.0]]") in holds
    assert ('["A"]', '["a"]') not in holds and ("[]", "[]") in holds
    if source == "jsonl":
        assert _eval(folder, src, "--engine", "duckdb") == want
        return
    pq = tmp_path / "leads.parquet"
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT, x JSON, y JSON, o JSON)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [
        (lead["id"], json.dumps(lead["x"]), json.dumps(lead["y"]), json.dumps(lead["o"]))
        for lead in leads])
    con.execute(f"COPY t TO '{pq}' (FORMAT parquet)")
    if source == "parquet":
        assert _eval(folder, pq, "--engine", "duckdb") == _eval(folder, pq)
        return
    got = _parquet_to_parquet(folder, pq, tmp_path, con)
    assert len(got[0]) == len(leads) and got[1] == got[0]
