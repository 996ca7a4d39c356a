"""`==` between two values of a typed Parquet file that may be objects or lists.

The python engine compares them as Python does (``{"k": 1} == {"k": 1}``, ``["a"] ==
["a"]``). DuckDB's JSON source marks such rows for the python engine to decide; its
typed Parquet source gave a STRUCT column no list slots, so ``accepted_at ==
accepted_at`` over a STRUCT was false there (found by the widened engine generators,
session 19), and two ``VARCHAR[]`` columns compared with ``==`` stopped the run with a
traceback ("comparing two list fields with `==` has no SQL form").
"""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

POLICY = """\
policy eq "Compound equality"
version "1"
id lead_id
team m "@m"
funnel a
stage a owned by m {
  require lead_id is present
}
score s owned by m {
  +1 if obj == obj
  +2 if obj == other_obj
  +4 if tags == other_tags
  +8 if tags == obj
  +16 if obj != other_obj
}
"""

ROWS = """SELECT * FROM (VALUES
  ('1', {'k': 1}, {'k': 1}, ['a', 'b'], ['a', 'b']),
  ('2', {'k': 1}, {'k': 2}, ['a'], ['b']),
  ('3', {'k': NULL}, NULL, NULL, ['a']),
  ('4', NULL, {'k': 3}, [], []),
  ('5', {'k': 2}, {'k': 2}, ['x', NULL], ['x', NULL])
) t(lead_id, obj, other_obj, tags, other_tags)"""

AS_OF = "2026-12-01T00:00:00Z"


def _rows(path) -> list[tuple]:
    return duckdb.sql(f"SELECT * FROM '{path}' ORDER BY line").fetchall()


def _scores(path) -> list[tuple]:
    return duckdb.sql(f"SELECT lead, score_s FROM '{path}' ORDER BY line").fetchall()


@pytest.mark.parametrize("out", ["csv", "parquet"])
def test_compound_equality_over_typed_parquet_is_the_python_engines(tmp_path, out):
    (tmp_path / "eq.funnel").write_text(POLICY)
    leads = tmp_path / "leads.parquet"
    duckdb.sql(f"COPY ({ROWS}) TO '{leads}' (FORMAT parquet)")
    runner = CliRunner()
    got = {}
    for engine in ("python", "duckdb"):
        target = tmp_path / f"{engine}.{out}"
        result = runner.invoke(main, ["eval", str(tmp_path / "eq.funnel"), str(leads),
                                      "--engine", engine, "--as-of", AS_OF, "-o", str(target)])
        assert result.exit_code == 0, result.output
        got[engine] = target.read_bytes() if out == "csv" else _rows(target)
    assert got["duckdb"] == got["python"]  # every column, violations included
    if out == "parquet":
        got["python"] = _scores(tmp_path / "python.parquet")
        # by hand: obj == obj holds for every present object (1, 2, 3, 5: 1);
        # {'k': 1} == {'k': 1} (2), equal lists (4), != on present objects (16); lists
        # compare item by item and a null item is missing, never equal (lead 5's tags)
        assert got["python"] == [("1", 1 + 2 + 4), ("2", 1 + 16), ("3", 1),
                                 ("4", 4), ("5", 1 + 2)]
