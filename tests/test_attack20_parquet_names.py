"""A Parquet file with two columns of exactly one name (pyarrow writes one; so do
exports that append a column) is refused, as two names that differ in case are
(tests/test_attack_warehouse.py), but the message said the two `country` columns
"differ only in case"."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner
from funnel_cli.main import main

from policy.sql.parquet import unreadable_names


@pytest.mark.parametrize(("schema", "why"), [
    ([("duckdb_schema", 3), ("lead_id", None), ("country", None), ("country", None)],
     "the column `country` appears twice; rename one of them"),
    ([("duckdb_schema", 2), ("lead_id", None), ("company", 2), ("size", None), ("size", None)],
     "the column `company.size` appears twice; rename one of them"),
    ([("duckdb_schema", 2), ("Country", None), ("country", None)],
     "the columns `Country` and `country` differ only in case, which DuckDB reads as one "
     "name (it would rename the second and the lead would lose it); rename one of them"),
])
def test_a_repeated_name_is_said_as_such(schema, why):
    assert unreadable_names(schema) == why


def test_eval_names_the_repeated_column(tmp_path):
    leads = tmp_path / "l.parquet"
    # DuckDB renames a repeated name as it writes (`country_1`); pyarrow, which writes it
    # as asked, is no dependency: the second name is spelled alike in the file's footer
    # (the names are plain bytes there, and nothing checksums the footer)
    duckdb.execute(f"COPY (SELECT 'a' AS lead_id, 'US' AS country, 'FR' AS countrx) TO "
                   f"'{leads}' (FORMAT parquet)")
    data = leads.read_bytes()
    assert data.count(b"countrx") == 2  # the schema and the column chunk's path
    leads.write_bytes(data.replace(b"countrx", b"country"))
    assert [n for (n,) in duckdb.execute(f"SELECT name FROM parquet_schema('{leads}')"
                                         ).fetchall()][1:] == ["lead_id", "country", "country"]
    (tmp_path / "p.funnel").write_text('policy p "P"\nid lead_id\nteam t "@t"\nfunnel a\n'
                                       'stage a owned by t {\n  require country == "US"\n}\n',
                                       encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(tmp_path / "p.funnel"), str(leads),
                                       "--engine", "duckdb"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"funnel: {leads}: cannot read as Parquet: the column `country` "
                             "appears twice; rename one of them\n")
