"""Parquet cells read and written as the python engine does. A NaN or infinite FLOAT or
DOUBLE reads as null in every engine (docs/decisions.md, "NaN and infinities in
Parquet"); a number in a JSON column is written as Python writes it.

JSON has no such number, and pandas writes a missing float as NaN. Before, the python
engine read DuckDB's ``to_json`` text (``NaN``) leniently and DuckDB's typed columns
compared NaN as the largest number, so ``visits > 1`` held for a NaN in one engine only.
"""

from __future__ import annotations

import json

import duckdb
from click.testing import CliRunner
from funnel_cli.main import main

POLICY = """\
policy nan "NaN in Parquet"
version "1"
id lead_id
team m "@m"
funnel a
stage a owned by m {
  require lead_id is present
}
score s owned by m {
  +1 if visits > 1
  +2 if visits is missing
  +4 if c.x < 0
  +8 if c.x is missing
  +16 if c.y > 1
  +32 if tags contains "nan"
  +64 if name == "NaN"
  +128 if f is missing
  +256 if f > 1
  +512 if length(nums) == 2
}
"""
ROWS = """
 ('L1', 'nan'::DOUBLE, {'x': 'nan'::DOUBLE, 'y': 1.5}, ['a,NaN,b'], 'NaN', 5.0::FLOAT,
  [1.0, 'nan'::DOUBLE]),
 ('L2', 'inf'::DOUBLE, {'x': '-inf'::DOUBLE, 'y': NULL}, ['NaN'], 'Infinity', 'nan'::FLOAT,
  NULL),
 ('L3', 3.0, {'x': 2.0, 'y': 'inf'::DOUBLE}, [], 'x', '-inf'::FLOAT, ['inf'::DOUBLE]),
 ('L4', -0.0, NULL, NULL, NULL, NULL, [])
"""


def _write(tmp_path):
    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    path = tmp_path / "nan.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM (VALUES {ROWS}) t(lead_id, visits, c, tags, name, f, nums)) "
        f"TO '{path}' (FORMAT parquet)")
    return path


def test_nan_and_infinities_in_parquet_are_null_in_every_engine_and_format(tmp_path):
    leads = _write(tmp_path)
    runner = CliRunner()
    base = ["eval", str(tmp_path), str(leads), "--as-of", "2026-12-01T00:00:00Z"]
    py = runner.invoke(main, base)
    assert py.exit_code == 0, py.output
    scores = [json.loads(x)["scores"]["s"] for x in py.stdout.splitlines()]
    # L1: visits, c.x missing; c.y 1.5; the text "NaN" is text; f 5.0; the list keeps
    # its two items, the NaN one null. L2: the tag "NaN" is text (contains ignores case).
    # L3: c.y and f are infinite, so null. L4: no c, no f.
    assert scores == [2 + 8 + 16 + 64 + 256 + 512, 2 + 8 + 32 + 128, 1 + 128, 8 + 128]
    duck = runner.invoke(main, [*base, "--engine", "duckdb"])
    assert duck.stdout == py.stdout
    con = duckdb.connect()
    tables = []
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.parquet"
        res = runner.invoke(main, [*base, "--engine", engine, "--format", "parquet",
                                   "-o", str(out)])
        assert res.exit_code == 0, res.output
        tables.append(con.execute(f"SELECT * FROM '{out}'").fetchall())
    assert tables[0] == tables[1]
    reports = [runner.invoke(main, ["report", str(tmp_path), str(leads), "--engine", engine,
                                    "--format", "json", "--as-of", "2026-12-01T00:00:00Z"])
               for engine in ("python", "duckdb")]
    assert reports[0].exit_code == 0, reports[0].output
    assert reports[0].stdout == reports[1].stdout


def test_numbers_in_a_json_column_are_written_as_the_python_engine_writes_them(tmp_path):
    # a lead id column that read_json typed as JSON (mixed kinds): DuckDB keeps its own
    # spelling of a number (1e-7, 1e22); the Parquet -> Parquet path writes Python's
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nversion "1"\nid lead_id\nteam m "@m"\nfunnel a\n'
        'stage a owned by m {\n  require x is present\n}\n', encoding="utf-8")
    ids = ["3.626976419311037e-9", "1e22", "1E-7", "-0", "-0.0", "[2]", "false", '"L1"',
           "12345678901234567890", "2.5"]
    lines = tmp_path / "l.jsonl"
    lines.write_text("".join(f'{{"lead_id": {i}, "x": 1}}\n' for i in ids), encoding="utf-8")
    path = tmp_path / "l.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json('{lines}', format='newline_delimited', "
                f"sample_size=-1)) TO '{path}' (FORMAT parquet)")
    runner = CliRunner()
    got = []
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.parquet"
        res = runner.invoke(main, ["eval", str(tmp_path), str(path), "--as-of",
                                   "2026-12-01T00:00:00Z", "--engine", engine,
                                   "--format", "parquet", "-o", str(out)])
        assert res.exit_code == 0, res.output
        got.append([r[0] for r in con.execute(f"SELECT lead FROM '{out}'").fetchall()])
    assert got[0][:5] == ["3.626976419311037e-09", "1e+22", "1e-07", "0", "-0.0"]
    assert got[1] == got[0]


KEYS_BELOW = """policy below "Keys below a JSON or MAP column"
id id
team m "@m"
funnel lead
score s owned by m {
  +1 if o.a == "a"
  +2 if o.b.c > 1
  +4 if o.a is missing
  +8 if m.k == 1
  +16 if m.z is present
  +32 if o.a == o.b.c
}
stage lead "L" owned by m {
  require s >= 0
}
"""


def test_keys_below_a_json_or_map_column_are_read_as_the_python_engine_reads_them(tmp_path):
    """The python engine reads a Parquet row as ``to_json`` makes it, so a JSON or MAP
    cell holding an object has keys below it; DuckDB's typed source used to find no key
    below a column that is not a STRUCT (`o.a == "a"` false in DuckDB, true in python)."""
    (tmp_path / "p.funnel").write_text(KEYS_BELOW, encoding="utf-8")
    src = tmp_path / "in.parquet"
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT, o JSON, m MAP(VARCHAR, INTEGER))")
    con.executemany("INSERT INTO t VALUES (?, ?, MAP(?, ?))", [
        (1, '{"a": "a", "b": {"c": 2}}', ["k"], [1]), (2, '{"a": null, "b": {"c": 1}}', ["z"], [0]),
        (3, '{"b": 5}', [], []), (4, '"a"', ["k", "z"], [2, 3]), (5, None, [], []),
        (6, '{"a": 2, "b": {"c": 2.0}}', ["k"], [1])])
    con.execute(f"COPY t TO '{src}' (FORMAT parquet)")
    runner = CliRunner()
    outs = {}
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["eval", str(tmp_path), str(src), "--engine", engine,
                                   "--as-of", "2026-12-01T00:00:00Z"])
        assert res.exit_code == 0, res.output
        outs[engine] = res.output
        target = tmp_path / f"{engine}.parquet"
        res = runner.invoke(main, ["eval", str(tmp_path), str(src), "--engine", engine,
                                   "--as-of", "2026-12-01T00:00:00Z", "-o", str(target)])
        assert res.exit_code == 0, res.output
        outs[engine + "-pq"] = con.execute(f"SELECT * FROM '{target}' ORDER BY line").fetchall()
    assert outs["duckdb"] == outs["python"] and outs["duckdb-pq"] == outs["python-pq"]
    scores = [json.loads(line)["scores"]["s"] for line in outs["python"].splitlines()]
    assert scores == [1 + 2 + 8, 4 + 16, 4, 4 + 16, 4, 2 + 8 + 32]


def test_the_json_text_of_a_few_rows_is_built_for_those_rows_only(tmp_path):
    """The refusal summary of Parquet to Parquet reads a few rows' JSON text again: the
    filter is inside the query, so DuckDB builds only their text (a filter outside it
    built every row's, half again the CPU of the whole run: bench/README.md)."""
    from policy.sql.parquet import json_select, parquet_types

    src = tmp_path / "in.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT range AS id, 'x' || range AS s FROM range(1000)) TO '{src}' "
                "(FORMAT parquet)")
    cols = parquet_types(con, str(src))
    every = dict(con.execute(json_select(str(src), cols)).fetchall())
    few = con.execute(json_select(str(src), cols, [3, 500, 1000])).fetchall()
    assert few == [(n, every[n]) for n in (3, 500, 1000)]
    assert con.execute(json_select(str(src), cols, [])).fetchall() == []
    assert json_select(str(src), cols, [3]).endswith("WHERE file_row_number IN (2)")
