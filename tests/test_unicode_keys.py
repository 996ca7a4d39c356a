"""A field key may use any letters, digits and underscores (spec section 1:
`Lead_Source__c`), bare: `empresa.año`, `` company.`x`.straße ``; after a dot a key may
start with a digit (`company.2fa`), where no number can stand; alone, `2fa` is a number
followed by a name, so such a key is written in backticks there. Declared names stay
lowercase ASCII snake_case (E113).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from funnel_cli.main import main

from policy.model.namespace import children, stmt_exprs, walk_expr
from policy.model.schema import format_path
from policy.syntax import nodes as n
from policy.syntax.canonical import path_text as fmt_path
from policy.syntax.formatter import format_source
from policy.syntax.parser import parse

HEADER = 'policy p "P"\nversion "1"\nid lead_id\nteam m "@m"\nfunnel a -> b\n'
POLICY = HEADER + """stage a owned by m {
  require empresa.año >= 2000
}
stage b owned by m {
  require company.2fa and company.`x`.straße == "ja" and Lead_Source__c != "spam"
}
"""
LEADS = [
    {"lead_id": "1", "empresa": {"año": 2020}, "Lead_Source__c": "web",
     "company": {"2fa": True, "x": {"straße": "ja"}}},
    {"lead_id": "2", "empresa": {"año": 1990}},
    {"lead_id": "3", "empresa": {"año": 2021}, "company": {"2fa": False}},
]
AS_OF = "2026-12-01T00:00:00Z"


def _paths(text: str) -> list[tuple[str, ...]]:
    """Every field path the conditions of a policy's text read."""
    result = parse(text, "p.funnel")
    assert not result.diagnostics, result.diagnostics
    found = set()
    stack = list(result.module.decls)
    while stack:
        stmt = stack.pop()
        stack.extend(children(stmt))
        for e in stmt_exprs(stmt):
            found.update(tuple(x.path) for x in walk_expr(e) if isinstance(x, n.Ref))
    return sorted(found - {("lead_id",)})  # the `id` line's


def test_keys_with_letters_of_any_script_and_digits_after_a_dot_parse_bare():
    assert _paths(POLICY) == sorted([("empresa", "año"), ("company", "2fa"),
                                     ("company", "x", "straße"), ("Lead_Source__c",)])
    # a key starting with a digit alone is refused: `2fa` reads as the number 2
    bad = parse(HEADER + "stage a owned by m {\n  require 2fa\n}\nstage b owned by m {\n}\n",
                "p.funnel")
    assert [d.code for d in bad.diagnostics] == ["E100"]


@pytest.mark.parametrize(("path", "text"), [
    (("empresa", "año"), "empresa.año"),
    (("company", "2fa"), "company.2fa"),
    (("2fa", "x"), "`2fa`.x"),
    (("Ñandú", "٣d"), "Ñandú.٣d"),
    (("a", "b c"), "a.`b c`"),
    (("cafe\u0301",), "`cafe\u0301`"),  # a combining mark is no letter: backticks
    (("x", "not"), "x.`not`"),
])
def test_fmt_and_problem_paths_write_keys_bare_where_the_grammar_reads_them(path, text):
    assert fmt_path(path) == text
    assert format_path(path) == text
    source = HEADER + f"stage a owned by m {{\n  require {text} is present\n}}\n"
    source += "stage b owned by m {\n}\n"
    assert _paths(source) == [path]


def test_fmt_prints_such_keys_bare_and_round_trips():
    spelled = POLICY.replace("empresa.año", "empresa.`año`").replace(
        "company.2fa", "company.`2fa`").replace("`x`.straße", "`x`.`straße`")
    out = format_source(spelled, "p.funnel")
    assert not out.diagnostics
    assert "empresa.año >= 2000" in out.text and "company.2fa and" in out.text
    assert "company.x.straße ==" in out.text
    again = format_source(out.text, "p.funnel")
    assert again.text == out.text and not again.changed


def test_declared_names_stay_lowercase_ascii_snake_case(tmp_path):
    (tmp_path / "p.funnel").write_text(
        HEADER + "define año = 1\nstage a owned by m {\n  require año > 0\n}\n"
        "stage b owned by m {\n}\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert res.exit_code == 1 and "E113" in res.output, res.output


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_every_engine_decides_such_keys_alike(tmp_path, fmt):
    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    if fmt == "jsonl":
        leads = tmp_path / "leads.jsonl"
        leads.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in LEADS),
                         encoding="utf-8")
    else:
        leads = tmp_path / "leads.csv"
        rows = ["lead_id,empresa.año,company.2fa,company.x.straße,Lead_Source__c",
                "1,2020,true,ja,web", "2,1990,,,", "3,2021,false,,"]
        leads.write_text("\n".join(rows) + "\n", encoding="utf-8")
    runner = CliRunner()
    out = {}
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", engine,
                                   "--as-of", AS_OF])
        assert res.exit_code == 0, res.output
        out[engine] = res.stdout
    assert out["duckdb"] == out["python"]
    stages = [json.loads(line)["stage"] for line in out["python"].splitlines()]
    assert stages == ["b", None, "a"]


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "snowflake", "bigquery", "postgres",
                                     "trino"])
def test_sql_quotes_such_columns_in_every_dialect(tmp_path, dialect):
    import sqlglot

    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    res = CliRunner().invoke(main, ["sql", str(tmp_path), "--dialect", dialect, "--as-of",
                                    AS_OF])
    assert res.exit_code == 0, res.output
    sql = res.stdout
    sqlglot.parse_one(sql, read=dialect)  # the statement reads back as the dialect's
    spelled = {"duckdb": '"empresa"."año"', "trino": '"empresa"."año"',
               "spark": "`empresa`.`año`", "bigquery": "`empresa`.`año`",
               "snowflake": """GET_PATH("company", '"2fa"')""",
               "postgres": """"empresa" #>> '{"año"}'"""}[dialect]
    assert spelled in sql
