"""The Parquet file `funnel eval -o x.parquet` writes has one schema, whatever the leads
and the engine: every column OPTIONAL (nullable).

DuckDB, which writes every engine's Parquet output, marks a column REQUIRED when its
statistics say it holds no NULL. So the schema followed the data: a day's file without a
refused lead had ``lead``, ``stage``, ``reached`` … as ``not null``, the next day's (one
refused lead) had them nullable; and `--engine duckdb` over a Parquet input (which decides
inside DuckDB) marked other columns than `--engine python` did for the same leads. Read
together (``pyarrow.dataset`` takes the first file's schema), the second file's NULLs
landed in a column declared ``not null``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

AS_OF = "2026-12-01T16:00:00Z"

POLICY = '''policy nn "N"
id lead_id
team t "@t"
funnel a -> b
stage a owned by t {
  require email is present
}
stage b owned by t {
  require n >= 10
}
'''

#: every lead decided, every column that can hold a value holding one
LEADS = [{"lead_id": "x", "email": "e", "n": 20}, {"lead_id": "y", "email": "f", "n": 30}]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nullability")
    (folder / "p.funnel").write_text(POLICY, encoding="utf-8")
    (folder / "leads.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LEADS),
                                        encoding="utf-8")
    duckdb.execute(f"COPY (SELECT * FROM read_json('{folder / 'leads.jsonl'}')) TO "
                   f"'{folder / 'leads.parquet'}' (FORMAT parquet)")
    return folder


def _schema(folder: Path, leads: str, engine: str) -> list[tuple]:
    """The file's Parquet schema below its root: name, physical and logical type,
    and repetition (``REQUIRED`` is a column declared not null)."""
    out = folder / f"{leads}.{engine}.parquet"
    result = CliRunner().invoke(main, ["eval", str(folder / "p.funnel"), str(folder / leads),
                                       "--as-of", AS_OF, "--engine", engine, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return duckdb.execute(
        "SELECT name, type, CAST(logical_type AS VARCHAR), repetition_type "
        f"FROM parquet_schema('{out}')").fetchall()[1:]


@pytest.mark.parametrize(("leads", "engine"), [("leads.jsonl", "python"),
                                               ("leads.parquet", "duckdb")])
def test_every_column_is_nullable_whatever_the_data(folder, leads, engine):
    schema = _schema(folder, leads, engine)
    assert len(schema) >= 15  # the tabular columns, and a list column's inner levels
    assert [name for name, _, _, rep in schema if rep == "REQUIRED"] == []


def test_the_engines_write_one_schema(folder):
    assert _schema(folder, "leads.parquet", "duckdb") == _schema(folder, "leads.parquet",
                                                                 "python")
