"""Spark substitutes ``${…}`` in a statement's text before it parses it
(``spark.sql.variable.substitute``, on by default, also on a cluster): ``${env:NAME}`` is
the driver's environment variable, ``${system:NAME}`` a Java system property, ``${name}``
a setting of the session and an unknown name the empty text. A policy string written so
(`route "${env:AWS_SECRET_ACCESS_KEY}" otherwise`) was therefore a route holding the
driver's secret in every output row of `funnel eval --engine spark` and of the SQL that
`funnel sql --dialect spark` prints, and `s == "${x}"` compared with the empty text: the
decision differed from the python engine's. The Spark text now never holds ``${`` where
Spark reads a value: a text literal is cut there (``CONCAT('$', '{x}')``), and a column
named so, which a backticked Spark name cannot spell otherwise, is refused by name. A
list define used twice (`s in envs`, `s not in envs`) shares its literals between both
uses in the compiler's tree; each use is cut.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlglot
from click.testing import CliRunner
from engine_runs import assert_table_rows, eval_engines
from funnel_cli.main import main
from sqlglot import exp

import policy
from policy.sql.spark import spark_missing

AS_OF = 1_796_140_800_000_000  # 2026-12-01T16:00:00Z

POLICY = '''policy subst "Spark substitution"
version "v${x}"
id lead_id
team marketing "@m${env:HOME}"
team sales "@s"
funnel lead -> mql
define envs = lines "envs.txt"
score fit owned by marketing {
  +1 if s == "${x}"
  +2 if s == "${env:HOME}"
  +4 if s contains "${sys"
  +8 if s in envs
  +16 if s starts with "${system:user.name}"
  +32 if s == "$${x}}"
  +64 if o.`a b` == "${spark.app.name}"
  +128 if s not in envs
}
stage lead owned by marketing {
  require s is present "needs ${x}"
}
stage mql owned by marketing {
  require fit >= 1 "fit ${env:HOME}"
}
handoff mql to sales {
  route "${env:HOME}" if fit >= 4
  route "r${x}" otherwise
  reject to nurture with reason rr in ["${x}", "a${env:HOME}"]
}
state nurture owned by marketing
recycle lead to nurture if s == "recycle" "${env:HOME} stale"
'''

ENVS = "${env:HOME}\n${x}\nplain\n"

LEADS = [{"lead_id": f"L{i}", "s": s, "rr": rr, "rejected_at": "2026-11-30T00:00:00Z",
          "o": {"a b": o}}
         for i, (s, rr, o) in enumerate([
             ("${x}", "${x}", "${spark.app.name}"),
             ("", "", ""),
             ("${env:HOME}", "a${env:HOME}", "x"),
             (os.environ.get("HOME", "/root"), "a" + os.environ.get("HOME", "/root"), "x"),
             ("${system:user.name}z", "a", "funnel"),
             ("$${x}}", "${x}", "x"),
             ("$}", "$", "x"),
             ("plain", "a", "x"),
             ("recycle", "a", "x"),
         ])]


def _folder(tmp_path):
    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    (tmp_path / "envs.txt").write_text(ENVS, encoding="utf-8")
    return tmp_path


def _values(text: str) -> str:
    """The statement's text without its comment lines (Spark substitutes there too, but
    a comment is no value)."""
    return "\n".join(x for x in text.splitlines() if not x.startswith("--"))


def test_the_printed_spark_sql_holds_no_substitution_and_the_texts_as_written(tmp_path):
    pol = policy.load(_folder(tmp_path))
    text = pol.sql(dialect="spark")
    assert "${" not in _values(text)
    # the texts are all there, read back whole: each a literal or the pieces of a CONCAT
    tree = sqlglot.parse_one(text.rstrip().rstrip(";"), read="spark")
    texts = {x.this for x in tree.find_all(exp.Literal) if x.is_string}
    for c in tree.find_all(exp.Concat):
        parts = c.expressions
        if all(isinstance(p, exp.Literal) and p.is_string for p in parts):
            texts.add("".join(p.this for p in parts))
    for want in ("${x}", "${env:HOME}", "${sys", "${system:user.name}", "$${x}}",
                 "${spark.app.name}", "r${x}", "a${env:HOME}", "needs ${x}",
                 "fit ${env:HOME}", "${env:HOME} stale"):
        assert want in texts, want
    # the other dialects read `${` as text: their literals are left whole
    for dialect in ("duckdb", "postgres", "trino", "snowflake", "bigquery"):
        assert "'${env:HOME}'" in pol.sql(dialect=dialect), dialect


def test_a_column_spark_would_substitute_is_refused_by_name(tmp_path):
    (tmp_path / "p.funnel").write_text(
        'policy p "P"\nid lead_id\nteam t "@t"\nfunnel a\n'
        'stage a owned by t {\n  require `${env:HOME}` == "x"\n}\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["sql", str(tmp_path), "--dialect", "spark"])
    # as every policy the SQL path cannot print (docs/warehouse.md): exit 1, one line
    assert res.exit_code == 1, res.output
    assert res.stdout == ""
    assert res.stderr.startswith(f"error: {tmp_path}: the SQL path cannot print this policy: "
                                 "the column `${env:HOME}` holds `${`, which Spark replaces")
    assert res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr
    # the other dialects print it (a quoted name is taken as written there)
    res = CliRunner().invoke(main, ["sql", str(tmp_path), "--dialect", "trino"])
    assert res.exit_code == 0 and '"${env:HOME}"' in res.stdout


@pytest.mark.skipif(spark_missing() is not None, reason=f"Spark tier: {spark_missing()}")
def test_spark_decides_substitution_texts_as_the_python_engine(tmp_path):
    folder = _folder(tmp_path)
    out = eval_engines(folder, LEADS, "--spark-master", "local[1]",
                       engines=("python", "spark"), as_of="2026-12-01T16:00:00Z")
    assert out["python"][0] == 0, out["python"]
    # what a substitution would change is in the python engine's output
    assert '"route": "${env:HOME}"' in out["python"][1]
    assert '"version": "v${x}"' in out["python"][1]
    assert out["spark"] == out["python"]
    # and the printed statement over a table, in the session the engine started
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    spark.createDataFrame(
        [(x["lead_id"], x["s"], x["rr"], x["rejected_at"], {"a b": x["o"]["a b"]})
         for x in LEADS],
        "lead_id STRING, s STRING, rr STRING, rejected_at STRING, "
        "o STRUCT<`a b`: STRING>").createOrReplaceTempView("subst_leads")
    pol = policy.load(folder)
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=AS_OF)
    sql = pol.sql(dialect="spark", table="subst_leads", as_of=at)
    rows = [tuple(r) for r in spark.sql(sql.rstrip().rstrip(";")).collect()]
    assert_table_rows(pol, json.loads(json.dumps(LEADS)), rows, AS_OF)
    assert not re.search(r"\$\{", _values(sql))
