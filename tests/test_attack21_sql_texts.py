"""Policy strings through the printed SQL of every dialect.

- A NUL character (`"\\u0000"` in a policy string) cannot be in Postgres text, nor in a
  statement's text: libpq ends the statement at the NUL, inside the literal, so the
  printed statement stopped with "unterminated quoted string" wherever it ran. The SQL
  path now refuses such a policy for Postgres by name, as it refuses a lone surrogate for
  every dialect; DuckDB and Spark hold it (`\\0` in Spark's literal).
- Every other hostile text (quotes, backslashes, `$$` and `$tag$` dollar quotes, comment
  openers, `;`, line breaks, LIKE and GLOB wildcards, regular expression characters,
  astral and combining characters) reads back from each dialect's text as the one
  literal it was, through sqlglot's parser of that dialect.
"""

from __future__ import annotations

import json

import pytest
import sqlglot
from click.testing import CliRunner
from funnel_cli.main import main
from sqlglot import exp

import policy
from policy.sql import SqlUnsupported, to_sql

HOSTILE = ["'", "''", "\\", "\\'", "\\\\", "$$", "$tag$", "%", "_", "*", "?", "[", "a.*b",
           "--", "/*", "*/", ";", "\n", "\r", "\t", "\u2028", "\U0001F600", "e\u0301", "ß",
           "İ", "x'; DROP TABLE leads; --", "\\n", "\"", "`", "?1", ":a", "@a", "%s", "",
           "'||'", "\u00a0", "\ufeff", "a\x7fb", "\x1b[31m", "\x00"]


def _policy(tmp_path, texts):
    rules = "".join(f"  +1 if s == {json.dumps(t)}\n  +1 if s contains {json.dumps(t)}\n"
                    for t in texts)
    (tmp_path / "p.funnel").write_text(
        'policy texts "Texts"\nid lead_id\nteam t "@t"\nfunnel lead\n'
        f"score fit owned by t {{\n{rules}}}\nstage lead owned by t {{\n}}\n",
        encoding="utf-8")
    return policy.load(tmp_path)


def test_postgres_refuses_a_nul_by_name(tmp_path):
    _policy(tmp_path, ["ok", "a\x00b"])
    res = CliRunner().invoke(main, ["sql", str(tmp_path), "--dialect", "postgres"])
    assert res.exit_code == 1 and res.stdout == ""
    assert res.stderr == (f"error: {tmp_path}: the SQL path cannot print this policy: the "
                          'text "a\\u0000b" holds a NUL character (\\u0000), which Postgres '
                          "text cannot hold\n")


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "snowflake", "bigquery", "postgres",
                                     "trino"])
def test_every_hostile_text_reads_back_as_one_literal(tmp_path, dialect):
    texts = HOSTILE if dialect != "postgres" else [t for t in HOSTILE if "\x00" not in t]
    pol = _policy(tmp_path, texts)
    text = to_sql(pol, dialect=dialect)
    trees = [t for t in sqlglot.parse(text, read=dialect) if t is not None]
    assert len(trees) == 1  # one statement: nothing ended it early, nothing was added
    found = {x.this for x in trees[0].find_all(exp.Literal) if x.is_string}
    assert [t for t in texts if t not in found] == []
    if dialect == "postgres":
        with pytest.raises(SqlUnsupported, match="NUL"):
            to_sql(_policy(tmp_path, HOSTILE), dialect=dialect)
