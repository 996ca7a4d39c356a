"""``funnel eval --engine spark``: the same SQL on Apache Spark through PySpark.

:class:`SparkEngine` starts (or joins) a Spark session on ``master`` (default
``local[*]``) with the session time zone set to UTC explicitly and ANSI mode off (so a
failed cast is NULL, as in the other dialects, and never an error), registers the
calendar tables as temporary views, and decides batches of JSON text with the policy's
statement printed for Spark (records parsed with ``try_parse_json`` into a VARIANT; Spark
4). The batches, the refusals' words and the decisions are the shared ones of
:class:`policy.sql.engine.BatchEngine`. PySpark comes with the ``[spark]`` extra; Spark
needs Java 17.
"""

from __future__ import annotations

import shutil
from typing import Any

from policy.sql.compiler import Options, build
from policy.sql.dialects import dialect
from policy.sql.engine import BatchEngine, Rebuilder

__all__ = ["SparkEngine", "spark_missing"]


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here (None: it can)."""
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError:
        return ("PySpark is not installed: pip install 'funnel-policy[spark]' "
                "(and Java 17)")
    if shutil.which("java") is None:
        import os

        if not os.environ.get("JAVA_HOME"):
            return "Spark needs Java 17 (no `java` on PATH and no JAVA_HOME)"
    return None


class SparkEngine(BatchEngine):
    """Decides leads with Spark SQL; one per run (it holds the session)."""

    def __init__(self, pol: Any, *, as_of: int, master: str = "local[*]",
                 years: tuple[int, int] | None = None, session: Any = None):
        from pyspark.sql import SparkSession

        from policy.engine.timestamps import to_datetime

        self.pol = pol
        self.as_of = as_of
        year = to_datetime(as_of).year
        self.years = years or (min(year - 10, 2000), year + 10)
        if session is None:
            session = (SparkSession.builder.master(master).appName("funnel-policy")
                       .config("spark.sql.session.timeZone", "UTC")
                       .config("spark.sql.ansi.enabled", "false")
                       .config("spark.sql.legacy.sizeOfNull", "false")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       # the decision is one wide expression per column: Java code
                       # generation for it outgrows the JVM's 64 KB method limit and
                       # only costs time before Spark falls back to interpreting it
                       .config("spark.sql.codegen.wholeStage", "false")
                       .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
                       .config("spark.sql.shuffle.partitions", "4")
                       .getOrCreate())
            session.sparkContext.setLogLevel("ERROR")
        self.spark = session
        stmt = build(pol, dialect("spark"),
                     Options(source="json", as_of=as_of, years=self.years,
                             calendars="named", instants="us", hidden=True,
                             local_tz=getattr(pol, "local_tz", None)))
        self.sql = stmt.sql(dialect="spark")
        for index, label in enumerate(sorted(stmt.meta["calendar_tables"])):
            tabs = stmt.meta["calendar_tables"][label]
            for name, rows, cols in ((f"cal{index}_days", tabs.days, tabs.day_columns),
                                     (f"cal{index}_intervals", tabs.intervals,
                                      tabs.interval_columns)):
                schema = ", ".join(f"{c} BIGINT" for c in cols)
                session.createDataFrame(list(rows), schema).cache() \
                    .createOrReplaceTempView(name)
        self.rebuild = Rebuilder(pol)
        from policy.engine.tabular import layout

        self.width = len(layout(pol.model).columns)

    def rows(self, lines: list[int], texts: list[str]) -> list[tuple]:
        df = self.spark.createDataFrame(list(zip(lines, texts, strict=True)),
                                        "line BIGINT, txt STRING")
        df.createOrReplaceTempView("src")
        return [tuple(r) for r in self.spark.sql(self.sql).collect()]

    def stop(self) -> None:
        self.spark.stop()
