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

import contextlib
import json
import os
import shutil
import weakref
from collections.abc import Iterator
from typing import Any

from sqlglot import exp

from policy.engine.decision import Decision, LeadError
from policy.io.atomic import drop_scratch, scratch, scratch_folder
from policy.sql.calendars import engine_years
from policy.sql.compiler import Options, build
from policy.sql.dialects import dialect
from policy.sql.engine import _NOT_JSON, BAD_UTF8, BatchEngine, Rebuilder, python_decision
from policy.sql.layers import analyser_passes, merge_steps
from policy.sql.spark_failures import DEFAULT_DRIVER_MEMORY, driver_memory, remember_jvm_errors

__all__ = ["SparkEngine", "spark_missing"]

#: The driver's heap in local mode (the JVM starts with the first session; a session
#: that already runs keeps its own): 2g, or ``FUNNEL_SPARK_DRIVER_MEMORY``
#: (:func:`policy.sql.spark_failures.driver_memory`).
DRIVER_MEMORY = DEFAULT_DRIVER_MEMORY

#: DuckDB's memory while it orders the decided records (it spills beyond that)
_DUCK_MEMORY = "512MB"

#: The size of a task's share of the staged input (its Parquet row groups are
#: _ROW_GROUP rows, a few MB): about 15 tasks for 1M leads, so two cores stay busy to
#: the end.
_SPLIT_BYTES = "16m"
_ROW_GROUP = 20_000

#: A key repeated in one JSON object: the last one wins (spec section 9), as in the
#: python reader. Spark's ``parse_json`` refuses such a text by default (and
#: ``try_parse_json`` gives NULL, a refusal); with this setting its VARIANT keeps the
#: last value of a repeated key, in the record and in every object below it, so Spark
#: itself decides those lines as the python engine does, on a cluster too.
_LAST_KEY_WINS = "spark.sql.variant.allowDuplicateKeys"

#: From this many staged leads on, the decision runs as Java code Spark generates
#: (whole-stage code): measured on rules/ (bench/README.md, thirteenth session), the
#: run itself took about half the CPU (31.4-32.3 CPU-s on 100,000 leads against
#: 60.0-69.6 interpreted, in one warm JVM), but compiling the code of a ~160 KB
#: statement costs about as much again in a fresh JVM: 100,000 leads end to end took
#: 110-122 CPU-s with it and 108 without. Below this, and for the batches of
#: BatchEngine.decide (a cluster, the table view, the tests), Spark interprets it.
_CODEGEN_ROWS = 100_000

#: The analyser's passes over a plan before it gives up ("Max iterations (100) reached
#: for batch Resolution"); raised to what a statement's depth needs
#: (:func:`policy.sql.layers.analyser_passes`).
_PASSES = "spark.sql.analyzer.maxIterations"


def _settings(master: str) -> dict[str, str]:
    """The session the engine starts: its master and settings."""
    return {
        "spark.master": master, "spark.app.name": "funnel-policy",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.legacy.sizeOfNull": "false",
        _LAST_KEY_WINS: "true",
        # the driver holds the plans of a ~300 KB statement (analysed, optimised,
        # physical): Spark's default 1 GB heap ran out on rules/ after a few runs in one
        # process
        "spark.driver.memory": driver_memory(),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # Java code generation: off for batches and small inputs (compiling the
        # decision's code costs about what it saves on 100,000 leads); write_stage
        # turns it on for a larger staged input (:func:`_codegen`)
        **_codegen(0),
        "spark.sql.shuffle.partitions": "4",
        # the staged input is one Parquet file of small row groups: split it so that
        # every core has tasks (at Spark's default 128 MB, 100,000 leads were one task
        # on one core)
        "spark.sql.files.maxPartitionBytes": _SPLIT_BYTES,
        # planning the ~300 KB statement costs more than running it on a million
        # leads: skip the optimiser's passes that find nothing in it (no partitioned
        # table to prune, no constraint worth inferring; both cost seconds per plan on
        # a statement this size), and adaptive execution, which plans again per stage
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.optimizer.dynamicPartitionPruning.enabled": "false",
        "spark.sql.constraintPropagation.enabled": "false",
    }


def _codegen(rows: int) -> dict[str, str]:
    """Spark's code generation settings for a query over ``rows`` staged leads: on
    (Spark's defaults) from :data:`_CODEGEN_ROWS` on, else off. Where a generated
    method outgrows the JVM's limit, Spark interprets that stage by itself, with the
    same results."""
    if rows >= _CODEGEN_ROWS:
        return {"spark.sql.codegen.wholeStage": "true",
                "spark.sql.codegen.factoryMode": "FALLBACK"}
    return {"spark.sql.codegen.wholeStage": "false",
            "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here (None: it can)."""
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError:
        return ("PySpark is not installed: pip install 'funnel-policy[spark]' "
                "(and Java 17)")
    except ImportError as exc:  # installed but broken (a dependency, a bad build)
        return (f"PySpark cannot be imported ({exc}): reinstall it with "
                "pip install 'funnel-policy[spark]'")
    if shutil.which("java") is None:
        import os

        if not os.environ.get("JAVA_HOME"):
            return "Spark needs Java 17 (no `java` on PATH and no JAVA_HOME)"
    return None


class SparkEngine(BatchEngine):
    """Decides leads with Spark SQL; one per run (it holds the session)."""

    def __init__(self, pol: Any, *, as_of: int, master: str = "local[*]",
                 years: tuple[int, int] | None = None, session: Any = None):
        from pyspark.sql.functions import broadcast

        from policy.engine.timestamps import to_datetime

        self.pol = pol
        self.as_of = as_of
        self.years = years or engine_years(to_datetime(as_of).year)
        #: whether the engine started the session (and sets its code generation)
        self._own = session is None
        if session is None:
            session = _started(_settings(master))
        else:  # a session the caller made: the one setting the decisions depend on
            session.conf.set(_LAST_KEY_WINS, "true")
        self.spark = session
        # fewer, wider steps (policy.sql.layers): Spark's analyser resolves about one
        # step per two passes, and each pass walks the whole plan
        stmt = merge_steps(build(pol, dialect("spark"),
                                 Options(source="json", as_of=as_of, years=self.years,
                                         calendars="named", instants="us", hidden=True,
                                         local_tz=getattr(pol, "local_tz", None))))
        # a policy whose scores read scores keeps a step per score: let the analyser
        # make the passes its depth needs (it stops as soon as the plan is resolved)
        passes = analyser_passes(stmt)
        if passes > int(session.conf.get(_PASSES, "100")):
            session.conf.set(_PASSES, str(passes))
        self.sql = stmt.sql(dialect="spark")
        # The staged query's python fallback decides from the lead's own text, and it
        # also takes rows the statement keeps no text for (a float, an object: see
        # _inexact), so there every row keeps its text (written only for those rows).
        whole = stmt.copy()
        for sel in whole.selects:
            if sel.alias == "_txt":
                sel.set("this", exp.column("txt"))
        # ... and is unordered: a global ORDER BY makes Spark sample its input for the
        # range partitioning, which runs the whole decision a second time; write_stage
        # orders the written rows instead
        whole.set("order", None)
        self.stage_sql = whole.sql(dialect="spark")
        for index, label in enumerate(sorted(stmt.meta["calendar_tables"])):
            tabs = stmt.meta["calendar_tables"][label]
            for name, rows, cols in ((f"cal{index}_days", tabs.days, tabs.day_columns),
                                     (f"cal{index}_intervals", tabs.intervals,
                                      tabs.interval_columns)):
                schema = ", ".join(f"{c} BIGINT" for c in cols)
                # A DataFrame made from Python rows has no size estimate, so Spark
                # would sort and shuffle every lead to join it: the hint makes each
                # (small) calendar table a broadcast hash join's build side.
                broadcast(session.createDataFrame(list(rows), schema)) \
                    .createOrReplaceTempView(name)
        self.rebuild = Rebuilder(pol)
        from policy.engine.tabular import layout

        self.width = len(layout(pol).columns)
        import duckdb

        # the staging of whole inputs (write_stage): DuckDB writes them as Parquet
        self._tmp = scratch_folder("funnel-spark-")
        self._duck = duckdb.connect()
        # it also orders the decided records (write_stage): spill to the temporary
        # directory rather than hold a million records in memory
        self._duck.execute(f"SET temp_directory = '{_sql_text(self._tmp)}'")
        self._duck.execute(f"SET memory_limit = '{_DUCK_MEMORY}'")
        self._staged = 0
        self._rows = 0  # the leads staged last (_stager)
        #: whether the texts handed to Spark are leads as JSON (CSV, JSON arrays,
        #: Parquet rows: the python engine reads them with json.loads) rather than
        #: JSON Lines lines (read by the python reader, which also refuses); the
        #: stage_* and decide_* methods set it, a caller of decide() sets it itself
        self.texts_are_leads = False
        self._finalizer = weakref.finalize(self, _remove, self._duck, self._tmp)

    # ------------------------------------------------------------------ staged runs
    @property
    def writes_records(self) -> bool:
        """Whether :meth:`write_stage` can run: the input is staged as a Parquet file
        on this machine, which a local-mode Spark reads (a cluster's executors would
        not see it; there the batches of :class:`BatchEngine` decide)."""
        return self.spark.sparkContext.master.startswith("local")

    def stage_jsonl(self, stream: Any, progress: Any = None) -> dict[int, str]:
        """Stage a JSON Lines stream: its non-blank lines as (line, text) in a Parquet
        file Spark reads as ``src``, a few MB at a time (memory holds one block). No
        line goes to the python engine (Spark keeps the first of repeated keys, see
        docs/warehouse.md), so the result is empty."""
        from policy.sql.engine import jsonl_batches

        self.texts_are_leads = False
        with self._stager() as put:
            for lines, texts in jsonl_batches(stream):
                put(lines, texts)
                if progress is not None:
                    progress()
        return {}

    def stage_records(self, records: Any, progress: Any = None) -> dict[int, Any]:
        """Stage the python reader's records (CSV, JSON arrays); its error records by
        line."""
        from policy.sql.engine import record_batches

        errors: dict[int, Any] = {}
        self.texts_are_leads = True
        with self._stager() as put:
            for lines, texts, errs in record_batches(records):
                errors.update(errs)
                put(lines, texts)
                if progress is not None:
                    progress()
        return errors

    def stage_parquet(self, path: str) -> None:
        """Stage a Parquet file's rows as the JSON text DuckDB's ``to_json`` makes of
        them (as every other engine reads a Parquet row)."""
        from policy.sql.duck import parquet_batches

        self.texts_are_leads = True
        with self._stager() as put:
            for lines, texts in parquet_batches(self._duck, path):
                put(lines, texts)

    @contextlib.contextmanager
    def _stager(self) -> Iterator[Any]:
        """``put(lines, texts)`` into a DuckDB table, written as one Parquet file when
        the block ends and registered as Spark's view ``src``."""
        from policy.sql.engine import sendable_texts

        con = self._duck
        con.execute("CREATE OR REPLACE TABLE stage (line BIGINT, txt VARCHAR)")

        self._rows = 0

        def put(lines: list[int], texts: list[str]) -> None:
            self._rows += len(lines)
            if lines:
                con.execute("INSERT INTO stage SELECT unnest($1), unnest($2)",
                            [lines, sendable_texts(texts)])

        yield put
        self._staged += 1
        target = os.path.join(self._tmp, f"src{self._staged}.parquet")
        con.execute(f"COPY stage TO '{_sql_text(target)}' "
                    f"(FORMAT parquet, ROW_GROUP_SIZE {_ROW_GROUP})")
        con.execute("DROP TABLE stage")
        self.spark.read.parquet("file://" + target).createOrReplaceTempView("src")

    def write_stage(self, fmt: str, writer: Any, totals: Any,
                    by_python: dict[int, str] | None = None,
                    errors: dict[int, Any] | None = None) -> None:
        """Decide the staged records with one query and write them: Spark builds each
        record's text (:mod:`policy.sql.records`), Python writes only the rows it must
        (:func:`policy.sql.output.write_rows`)."""
        from policy.engine.decision import LeadError
        from policy.sql.output import write_rows
        from policy.sql.records import record_query

        spark = self.spark
        if self._own:  # a session the caller made keeps its settings
            for key, value in _codegen(self._rows).items():
                spark.conf.set(key, value)
        spark.sql(self.stage_sql).createOrReplaceTempView("decided")
        columns = spark.table("decided").columns
        query = record_query(self.pol, fmt, dialect="spark", as_of_us=self.as_of,
                             relation="decided", columns=columns, ordered=False)
        pol, rebuild, w = self.pol, self.rebuild, self.width
        extra = 3 + len(rebuild.handoffs)

        def python(line: int, payload: Any) -> Any:
            values = list(payload)
            if values[-1] == BAD_UTF8:  # the SQL's refusal says it as the reader does
                return rebuild.record(tuple(values[:w]), tuple(values[w:w + extra]))[1]
            # the row's text is the hidden last column: the python engine decides it
            return self._python(line, values[-1])

        # Spark decides every row once, in parallel, into Parquet files (no ORDER BY:
        # see __init__); DuckDB then reads the records' text back in line order
        # (spilling to the temporary directory), and Spark the few rows Python
        # writes, with their values as Spark's rows hold them, also in line order.
        out = os.path.join(self._tmp, f"decided{self._staged}")
        spark.sql(query).write.mode("overwrite").parquet("file://" + out)
        parts = _sql_text(os.path.join(out, "*.parquet"))

        def chunks(size: int = 20_000) -> Iterator[list[tuple]]:
            payloads = spark.read.parquet("file://" + out).where("py IS NOT NULL") \
                .select("line", "py").orderBy("line").toLocalIterator()
            ahead = next(payloads, None)
            cur = self._duck.execute(f"SELECT line, encode(out) FROM read_parquet('{parts}') "
                                     "ORDER BY line")
            while rows := cur.fetchmany(size):
                chunk = []
                for line, text in rows:
                    payload = None
                    if ahead is not None and ahead[0] == line:
                        payload = ahead[1]
                        ahead = next(payloads, None)
                    chunk.append((line, text, payload))
                yield chunk

        inserted = {line: LeadError(rec.error, rec.problems, lead=pol.lead_id(rec.value),
                                    line=rec.line) for line, rec in (errors or {}).items()}
        write_rows(chunks(), writer, totals, python=python, special=by_python,
                   inserted=inserted)

    def _python(self, line: int, text: str) -> Any:
        """The python engine's record for a staged row Spark cannot write exactly: a
        refusal (the python reader's and validator's own words), business time
        beyond the calendar tables, a value Spark's VARIANT does not keep as the
        python reader reads it (a float, an object's key order), an instant outside
        the years SQL prints. ``text``: the staged text (JSON Lines: the line, marked
        when it is not JSON; CSV and JSON arrays: the reader's lead as JSON)."""
        if text.startswith(_NOT_JSON):
            text = text[1:]
        if self.texts_are_leads and text != BAD_UTF8:
            lead = json.loads(text)
            try:
                return self.pol.run_prepared(lead, self.pol.prepare(lead), self.as_of)
            except LeadError as exc:
                return exc.with_line(line)
        return python_decision(self.pol, line, text, self.as_of)

    def decide(self, lines: list[int], texts: list[str]) -> list[tuple[int, Any]]:
        """One batch (a cluster's path, and the table view and Parquet output): the
        shared decisions, with the python engine deciding every row
        :meth:`_python` lists."""
        out = super().decide(lines, texts)
        by_line = None
        for i, (line, record) in enumerate(out):
            if isinstance(record, LeadError) or _inexact(record):
                if by_line is None:
                    by_line = dict(zip(lines, texts, strict=True))
                text = by_line[line]
                if text != BAD_UTF8:
                    out[i] = (line, self._python(line, text))
        return out

    def decide_jsonl(self, stream: Any, progress: Any = None) -> Iterator[tuple[int, Any]]:
        self.texts_are_leads = False
        return super().decide_jsonl(stream, progress)

    def decide_records(self, records: Any, progress: Any = None) -> Iterator[tuple[int, Any]]:
        self.texts_are_leads = True
        return super().decide_records(records, progress)

    def rows(self, lines: list[int], texts: list[str]) -> list[tuple]:
        df = self.spark.createDataFrame(list(zip(lines, texts, strict=True)),
                                        "line BIGINT, txt STRING")
        df.createOrReplaceTempView("src")
        return [tuple(r) for r in self.spark.sql(self.sql).collect()]

    def stop(self) -> None:
        self.close()
        self.spark.stop()

    def close(self) -> None:
        """Remove the staged files (the session stays for whoever shares it)."""
        self._finalizer()


def _inexact(record: Any) -> bool:
    """Whether a decision rebuilt from Spark's row holds a value the python reader
    reads otherwise: a float (Spark's VARIANT writes 1.0 as 1 and loses -0.0's sign;
    the SQL gives every such number as a double's text, see
    :class:`policy.sql.sources.SparkJson`), an object (its keys come back sorted) or a
    list (it may hold either)."""
    if not isinstance(record, Decision):
        return False
    values = [record.lead, record.reason, *(h.rejection_reason for h in record.handoffs)]
    return any(isinstance(v, (float, dict, list)) for v in values)


def _sql_text(text: str) -> str:
    """``text`` inside a single-quoted SQL string (a temporary directory's path)."""
    return text.replace("'", "''")


def _started(settings: dict[str, str]) -> Any:
    """A Spark session with ``settings``, its JVM quiet, leaving nothing behind when
    Ctrl-C ends the start.

    The JVM's standard output and error go to a file without a name (read only to
    say why the JVM failed): a user of ``funnel
    eval --engine spark`` sees the tool's own messages only, not Java's ("WARNING:
    Using incubator modules"), the launcher's ("Using Spark's default log4j profile",
    "Setting default log level") or Spark's WARN lines (a loopback host name, no
    native Hadoop library), and nothing of it can reach the decisions on standard
    output. A failure still reaches Python as an exception, which ``funnel eval``
    says in one line (:mod:`policy.sql.spark_failures`).

    Python's temporary folder is a listed scratch folder (policy.io.atomic) meanwhile:
    PySpark's gateway start makes a folder there and removes it only when the start
    finishes, so a Ctrl-C during the seconds Spark takes to start left it in the shared
    temporary folder. And where the caller has its own Ctrl-C handler (the command
    line's: end the JVM, remove the scratch folders, one line, exit 130), the start
    runs in a thread of its own: on the main thread PySpark replaces that handler with
    one that raises KeyboardInterrupt from inside a py4j call and logs tracebacks."""
    import signal
    import tempfile
    import threading

    from pyspark.sql import SparkSession

    def session() -> Any:
        _quiet_jvm(settings)
        started = SparkSession.builder.config(map=settings).getOrCreate()
        started.sparkContext.setLogLevel("ERROR")
        return started

    own = (threading.current_thread() is threading.main_thread()
           and signal.getsignal(signal.SIGINT) not in (signal.default_int_handler,
                                                       signal.SIG_DFL, signal.SIG_IGN))
    with scratch("funnel-spark-start-") as folder:
        before, tempfile.tempdir = tempfile.tempdir, folder
        try:
            if not own:
                return session()
            done: dict[str, Any] = {}

            def start() -> None:
                try:
                    done["session"] = session()
                except BaseException as exc:  # noqa: BLE001 - raised again below
                    done["error"] = exc

            starter = threading.Thread(target=start, name="funnel-spark-start", daemon=True)
            starter.start()
            starter.join()
            if "error" in done:
                raise done["error"]
            return done["session"]
        finally:
            tempfile.tempdir = before


def _quiet_jvm(settings: dict[str, str]) -> None:
    """Start PySpark's JVM with ``settings`` (those a JVM takes at its start, such as
    the driver's memory, among them) and its standard output and error in a file
    without a name, through PySpark's own ``launch_gateway(popen_kwargs=...)``; nothing when
    this process runs a JVM already (a session started before, or ``spark-submit``)."""
    import subprocess
    import tempfile

    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None or "PYSPARK_GATEWAY_PORT" in os.environ:
        return
    conf = SparkConf()
    for key, value in settings.items():
        conf.set(key, value)
    # its standard output and error go to a file without a name (gone with the
    # process), read only to say why the JVM did not start or ended
    # (policy.sql.spark_failures)
    errors = tempfile.TemporaryFile(prefix="funnel-spark-jvm-")
    remember_jvm_errors(errors)
    gateway = launch_gateway(conf, popen_kwargs={"stdout": errors,
                                                 "stderr": subprocess.STDOUT})
    SparkContext._ensure_initialized(gateway=gateway)


def _remove(con: Any, path: str) -> None:
    con.close()
    drop_scratch(path)
