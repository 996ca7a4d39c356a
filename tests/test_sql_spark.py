"""The Spark tier: the same SQL on Spark in local mode decides as the python engine.

Skipped, with the reason, only when PySpark or Java is absent (``.ci/run`` installs
both: Java 17 from the Debian packages and the ``[spark]`` extra).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_runs import eval_engines
from funnel_cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policy
from policy.engine.decision import LeadError, dumps
from policy.sql.spark import spark_missing

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "golden" / "sql" / "small.funnel"
AS_OF = 1_796_140_800_000_000  # 2026-12-01T16:00:00Z

pytestmark = pytest.mark.skipif(spark_missing() is not None,
                                reason=f"Spark tier: {spark_missing()}")


def _leads(n: int) -> list[str]:
    rng = random.Random(7)
    pick = rng.choice
    out = []
    for i in range(n):
        lead = {
            "lead_id": pick([f"L{i}", i, None]),
            "email": pick(["a@BigCo.com", "b@gmail.com", "c@it's.com", None, "x", 3]),
            "job_level": pick(["vp", "c-level", "ic", "VP", None, 5]),
            "visits": pick([0, 1, 2.5, 7, -1, None, "3"]),
            "unsubscribed": pick([True, False, None, "no"]),
            "competitor": pick([True, False, None]),
            "mql_at": pick([None, "2026-11-30T14:00:00Z", "2026-11-27 10:00", "2026-12-01",
                            "2026-11-26T15:00:00.5-05:00", "yesterday"]),
            "last_activity_at": pick([None, "2026-11-20T10:00:00+05:30", "2026-01-01"]),
            "company": pick([{"employees": 5000}, {"employees": 10}, {}, None, "n/a"]),
            "accepted_at": pick([None, "2026-11-30T20:00:00Z", "2026-12-02T09:00:00Z"]),
            "rejected_at": pick([None, "2026-11-30T21:00:00Z"]),
            "rejection_reason": pick([None, "bad fit", "meh", 4]),
        }
        out.append(json.dumps({k: v for k, v in lead.items() if rng.random() > 0.1}))
    out[5] = "{not json"
    out[6] = "[1, 2]"
    return out


@pytest.fixture(scope="module")
def spark_engine():
    from policy.sql.spark import SparkEngine

    pol = policy.load(SMALL)
    return pol, SparkEngine(pol, as_of=AS_OF, master="local[2]", years=(2025, 2027))


def test_spark_local_mode_decides_a_few_thousand_leads_as_python(spark_engine):
    pol, engine = spark_engine
    texts = _leads(3000)
    got = engine.decide(list(range(1, len(texts) + 1)), texts)
    import io

    from policy.io.leads import read_records, text_stream

    records = read_records(text_stream(io.BytesIO("\n".join(texts).encode())), fmt="jsonl")
    for (line, record), rec in zip(got, records, strict=True):
        assert line == rec.line
        if rec.error is not None:
            want = LeadError(rec.error, rec.problems, lead=None, line=rec.line)
        else:
            try:
                want = pol.run_prepared(rec.value, pol.prepare(rec.value), AS_OF)
            except LeadError as exc:
                want = exc.with_line(rec.line)
        assert dumps(record) == dumps(want), texts[line - 1]


#: Leads where Spark's reading differs from the python reader's: a key repeated in the
#: record and below it (the last one wins), numbers a VARIANT does not keep as Python
#: reads them (1.0, -0.0, 1e2, beyond a BIGINT, beyond a double), objects (their key
#: order), lone surrogates, business time outside the calendar tables, hostile
#: strings, a line that is not UTF-8 and one that is not JSON.
_ODD = [
    '{"lead_id": "dup", "lead_id": "dup2", "email": "a@b.com", "email": "b@gmail.com"}',
    '{"lead_id": "dupn", "company": {"employees": 5, "employees": 5000}, "job_level": "vp",'
    ' "visits": 20, "email": "a@BigCo.com", "mql_at": "2026-11-30T14:00:00Z"}',
    '{"lead_id": "dupnull", "email": "a@b.com", "email": null, "visits": 3, "visits": 9}',
    '{"lead_id": 1.0, "email": "a@b.com"}', '{"lead_id": -0.0, "email": "a@b.com"}',
    '{"lead_id": 1e2, "email": "a@b.com"}',
    '{"lead_id": 12345678901234567890123, "email": "a@b.com"}',
    '{"lead_id": {"b": 1, "a": [2.0, {"d": 1, "c": 2}]}, "email": "a@b.com"}',
    '{"lead_id": "big", "visits": 1e400}', '{"lead_id": "neg0", "visits": -0.0}',
    '{"lead_id": "\\ud800", "email": "a@b.com"}',
    '{"lead_id": "a\\"b\\\\c\\n\\u0000\\u0085\\u2028=+-@", "email": "=1+1@x.com"}',
    '{"lead_id": "rej", "email": "a@BigCo.com", "job_level": "vp", "visits": 20,'
    ' "mql_at": "2026-11-30T14:00:00Z", "rejected_at": "2026-11-30T15:00:00Z",'
    ' "rejection_reason": {"z": 1.0, "a": 1}}',
    '{"lead_id": "old", "email": "a@BigCo.com", "job_level": "vp", "visits": 20,'
    ' "mql_at": "1950-11-30T14:00:00Z"}',
    '{"lead_id": "fut", "email": "a@BigCo.com", "job_level": "vp", "visits": 20,'
    ' "mql_at": "2090-11-30T14:00:00Z"}',
    '{"lead_id": "nan", "visits": NaN}', '{"lead_id": "comma", "visits": 1,}', '',
    # lower-casing's special rules: "İ" is two characters, a word-final "Σ" is "ς"
    '{"lead_id": "tr", "email": "x@BİGCO.COM", "job_level": "vp", "visits": 20}',
    '{"lead_id": "gr", "email": "ΑΣ@ΟΔΟΣ.COM", "job_level": "vp", "visits": 20}',
]


def test_funnel_eval_engine_spark(spark_engine, tmp_path):
    """Through the CLI, byte for byte the python engine's output: JSON Lines (local
    mode: the staged input, one query that writes the records) and Parquet (written
    from the batches a cluster master decides, so that path is run too)."""
    leads = tmp_path / "leads.jsonl"
    leads.write_bytes(b"\xef\xbb\xbf" + ("\n".join(_leads(40) + _ODD) + "\n").encode()
                      + b'{"lead_id": "\xff"}\r\n{"lead_id": "crlf", "email": "a@b.com"}\r\n')
    runner = CliRunner()
    base = ["eval", str(SMALL), str(leads), "--as-of", "2026-12-01T16:00:00Z"]
    for fmt in ("jsonl", "parquet"):
        outs = []
        for engine in ("python", "spark"):
            target = tmp_path / f"{engine}.{fmt}"
            res = runner.invoke(main, [*base, "--engine", engine, "--spark-master", "local[2]",
                                       "--format", fmt, "-o", str(target)])
            assert res.exit_code == 1, res.output
            outs.append((res.output, target.read_bytes()))
        assert outs[1] == outs[0], fmt


_KEYS = st.sampled_from(["a", "b", "lead_id"])
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.sampled_from(['"x"', '"y"'])
              .map(json.loads)),
    lambda inner: st.lists(st.tuples(_KEYS, inner), max_size=4).map(
        lambda pairs: ("obj", pairs)) | st.lists(inner, max_size=3),
    max_leaves=8)


def _text(value) -> str:
    """JSON text; ("obj", pairs) is an object that may repeat a key."""
    if isinstance(value, tuple):
        return "{" + ", ".join(f"{json.dumps(k)}: {_text(v)}" for k, v in value[1]) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return json.dumps(value)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(_KEYS, _JSON), max_size=5), min_size=1, max_size=40))
def test_spark_reads_repeated_keys_as_the_python_reader(spark_engine, objects):
    """The engine's session reads a JSON text with repeated keys (in the record and
    below) as the python reader does: the last one wins (spec section 9)."""
    _, engine = spark_engine
    texts = [_text(("obj", pairs)) for pairs in objects]
    df = engine.spark.createDataFrame([(t,) for t in texts], "txt STRING")
    got = [r[0] for r in df.selectExpr("to_json(try_parse_json(txt))").collect()]
    assert [json.loads(g) for g in got] == [json.loads(t) for t in texts]


def test_spark_writes_the_python_bytes_for_every_format(spark_engine, tmp_path):
    """Local mode stages the input as Parquet and decides it with one query that also
    builds each record's text (policy.sql.records): the python engine's bytes."""
    import io

    from policy.io.batch import Totals

    pol, engine = spark_engine
    data = ("\n".join(_leads(300) + _ODD) + "\n").encode()
    assert engine.writes_records
    for fmt in ("jsonl", "csv", "json"):
        buf = io.BytesIO()
        out = policy.open_output_stream(buf)
        writer = policy.decision_writer(pol, fmt, out, AS_OF)
        writer.start()
        engine.write_stage(fmt, writer, Totals(), engine.stage_jsonl(io.BytesIO(data)))
        writer.close()
        got = buf.getvalue()
        want = io.BytesIO()
        out = policy.open_output_stream(want)
        writer = policy.decision_writer(pol, fmt, out, AS_OF)
        units = policy.lead_batches(pol, io.BufferedReader(io.BytesIO(data)), "jsonl")
        policy.decide_batches(pol, units, writer, AS_OF, jobs=1)
        out.flush()
        assert got == want.getvalue(), fmt


def test_spark_refuses_scores_past_a_64_bit_integer_as_python(spark_engine, tmp_path):
    """Spark's FLOOR returns a BIGINT; the SQL never gives it a sum past a 64-bit integer
    (or NaN), and refuses those leads as the python engine does."""
    from test_score_range import AS_OF as AT
    from test_score_range import POLICY, _text

    (tmp_path / "p.funnel").write_text(POLICY, encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_bytes(_text())
    runner = CliRunner()
    outs = []
    for engine in ("python", "spark"):
        res = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--as-of", AT,
                                   "--engine", engine, "--spark-master", "local[2]"])
        assert res.exit_code == 1, res.output
        outs.append(res.output)
    assert outs[1] == outs[0]


def test_spark_compares_and_computes_integers_near_2_53_as_doubles(spark_engine, tmp_path):
    """Integers around 2^53 and 2^63, literals past 2^53: Spark's doubles and the
    python engine's give the same bytes (spec section 10). Spark's JSON source does not
    narrow a field by the schema, so no two fields are compared with `==` here."""
    from test_double_numbers import _leads, _write

    text = (_write(tmp_path, True) / "p.funnel").read_text(encoding="utf-8")
    for old, new in (("a == b", "a == -9007199254740993"), ("a != b", "a != 2147483648"),
                     ("a / 1 == b", "a / 3 >= 3002399751580331")):
        text = text.replace(f" if {old}\n", f" if {new}\n")
    (tmp_path / "p.funnel").write_text(text, encoding="utf-8")
    out = eval_engines(tmp_path, _leads(), "--spark-master", "local[2]",
                       engines=("python", "spark"))
    assert out["spark"] == out["python"] and out["python"][0] == 0


def test_spark_computes_infinities_and_nan_as_python(spark_engine, tmp_path):
    """Spark orders NaN above every number and makes it equal to itself; the SQL holds
    an arithmetic NaN as a present value with a NULL number, so it compares as IEEE
    (and Python) compare it; an integer past a double's range is infinite in both."""
    from test_double_numbers import NAN_LEADS, NAN_POLICY

    (tmp_path / "p.funnel").write_text(NAN_POLICY, encoding="utf-8")
    out = eval_engines(tmp_path, NAN_LEADS, "--spark-master", "local[2]",
                       engines=("python", "spark"))
    assert out["spark"] == out["python"] and '"lead": "calm"' in out["python"][1]


def test_spark_gives_the_python_engines_format_hint(spark_engine, tmp_path):
    """Most records of a JSON Lines input refused and the first bytes plainly CSV: the
    python engine's hint, and its standard output and error (spec section 9)."""
    leads = tmp_path / "export.txt"
    leads.write_text("lead_id,email\nX-1,a@b.com\nX-2,b@b.com\n", "utf-8")
    runner = CliRunner()
    outs = []
    for engine in ("python", "spark"):
        res = runner.invoke(main, ["eval", str(SMALL), str(leads), "--input-format", "jsonl",
                                   "--as-of", "2026-12-01T16:00:00Z", "--engine", engine,
                                   "--spark-master", "local[2]"])
        assert res.exit_code == 1, res.output
        outs.append((res.stdout, res.stderr))
    assert f"funnel: hint: {leads} looks like CSV: use --input-format csv" in outs[1][1]
    assert outs[1] == outs[0]


QUOTED_KEYS = '''policy p "Keys with quotes and backslashes"
id id
team m "@m"
funnel lead
score s owned by m {
  +1 if `it's` == 1
  +2 if `say "hi"` == 1
  +4 if `back\\slash` == 1
  +8 if `a]b`.`it's` == 1
  +16 if `x.y` == 1
  +32 if `o`.`back\\slash` == 1
}
stage lead owned by m {
  require s > 0
}
'''


def test_spark_reads_keys_with_quotes_and_backslashes(spark_engine, tmp_path):
    # a key with ' made an invalid VARIANT_GET path (`$['it\\'s']`: a Spark traceback),
    # and a backslash was doubled, so `back\\slash` read as missing: Spark's paths have
    # no escapes
    (tmp_path / "p.funnel").write_text(QUOTED_KEYS, encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_text(json.dumps({"id": 1, "it's": 1, 'say "hi"': 1, "back\\slash": 1,
                                 "a]b": {"it's": 1}, "x.y": 1, "o": {"back\\slash": 1}})
                     + "\n" + json.dumps({"id": 2, "back\\\\slash": 1}) + "\n")
    runner = CliRunner()
    outs = []
    for engine in ("python", "spark"):
        res = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--format", "csv",
                                   "--as-of", "2026-12-01T16:00:00Z", "--engine", engine,
                                   "--spark-master", "local[2]"])
        assert res.exit_code == 0, (res.output, res.exception)
        outs.append(res.stdout)
    assert outs[1] == outs[0]
    assert [r.split(",")[9] for r in outs[0].splitlines()[1:]] == ["63", "0"]
    (tmp_path / "p.funnel").write_text(QUOTED_KEYS.replace("`it's`", "`it's \"x\"`"))
    res = runner.invoke(main, ["eval", str(tmp_path), str(leads), "--engine", "spark",
                               "--spark-master", "local[2]"])
    assert res.exit_code == 2
    assert "no way to write a key with both" in res.stderr


def test_funnel_eval_engine_spark_says_only_the_tools_own_words(tmp_path):
    """In a fresh process (the JVM starts there): standard error holds the python
    engine's summary and nothing of Java's, the launcher's or Spark's log (before:
    "WARNING: Using incubator modules", "Using Spark's default log4j profile", "Setting
    default log level", WARN lines of Utils and NativeCodeLoader); standard output the
    same bytes."""
    import subprocess
    import sys

    leads = tmp_path / "leads.jsonl"
    leads.write_text("\n".join(_leads(30) + _ODD[:3]) + "\n", encoding="utf-8")
    outs = {}
    for engine in ("python", "spark"):
        proc = subprocess.run(
            [sys.executable, "-m", "funnel_cli.main", "eval", str(SMALL), str(leads),
             "--as-of", "2026-12-01T16:00:00Z", "--engine", engine,
             "--spark-master", "local[1]"],
            cwd=tmp_path, capture_output=True, text=True, timeout=600)
        outs[engine] = (proc.returncode, proc.stdout, proc.stderr)
    assert outs["spark"] == outs["python"]
    assert outs["python"][0] == 1 and outs["python"][2].startswith("4 of 33 leads refused")
    assert len(outs["spark"][2].splitlines()) == 1


#: CSV rows the python reader refuses, beside rows it takes: a number cell that is not
#: a number, two past a double's range (1e400, 400 nines), a boolean that is none, a
#: timestamp that is none, an object cell that is not JSON, a row with a cell too many
#: and one too few; 10^308 is taken.
_CSV = ("lead_id,email,job_level,visits,unsubscribed,competitor,company.employees,mql_at\n"
        "C1,a@BigCo.com,vp,7,false,false,5000,2026-11-30T14:00:00Z\n"
        "C2,b@gmail.com,ic,seven,false,false,10,\n"
        "C3,c@BigCo.com,vp,1e400,no,false,10,2026-11-30T14:00:00Z\n"
        "C4,d@BigCo.com,vp,3,maybe,false,10,2026-11-30T14:00:00Z\n"
        "C5,e@BigCo.com,vp,3,no,false,10,yesterday\n"
        'C6,f@BigCo.com,vp,3,no,false,"{""a"": ",2026-11-30T14:00:00Z\n'
        "C7,g@BigCo.com,vp,3,no,false,10,2026-11-30T14:00:00Z,extra\n"
        "C8,h@BigCo.com,vp\n"
        "C9,i@BigCo.com,VP,-0.0,YES,0,1e2,2026-11-30 10:00\n"
        f"C10,j@BigCo.com,vp,{'9' * 400},no,false,10,2026-11-30T14:00:00Z\n"
        f"C11,k@BigCo.com,vp,{'1' + '0' * 308},no,false,10,2026-11-30T14:00:00Z\n")

#: JSON Lines the python reader refuses: broken JSON, a number past a double's range
#: (in the record and below; a fraction or exponent, or an integer), a key repeated
#: (the last one wins: not refused, but the repeated key decides), a record that is not
#: an object, and a line of spaces (no record).
_JSONL = ['{"lead_id": "J1", "email": "a@BigCo.com", "visits": 7}',
          '{"lead_id": "J2", "email": ',
          '{"lead_id": "J3", "visits": 1e999}',
          '{"lead_id": "J4", "company": {"employees": -1e400}}',
          '{"lead_id": "J5", "visits": 1, "visits": "many"}',
          '{"lead_id": "J6", "visits": "many", "visits": 30, "job_level": "vp",'
          ' "email": "x@BigCo.com"}',
          '   ', '"just text"', '{"lead_id": "J7", "visits": 3} trailing',
          '{"lead_id": "J8", "email": "a@b.com", "mql_at": "2026-02-30T10:00:00Z"}',
          # integers beyond a double's range (read or not, below), refused as 1e400;
          # 309 digits inside a string and 10^308 are decided
          '{"lead_id": "J9", "visits": ' + "9" * 400 + "}",
          '{"lead_id": "J10", "visits": 2, "x": [1, {"y": -' + "9" * 309 + "}]}",
          '{"lead_id": "J11", "visits": 1' + "0" * 308 + ', "s": "' + "9" * 400 + '"}']


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_spark_refuses_the_lines_python_refuses(spark_engine, tmp_path, kind):
    """CSV and JSON Lines with refused records: the same error records (lines, problem
    paths, messages), the same summary on standard error, the same exit status, in
    every output format."""
    leads = tmp_path / f"leads.{kind}"
    leads.write_text(_CSV if kind == "csv" else "\n".join(_JSONL) + "\n", encoding="utf-8")
    runner = CliRunner()
    for fmt in ("jsonl", "csv"):
        outs = []
        for engine in ("python", "spark"):
            res = runner.invoke(main, ["eval", str(SMALL), str(leads), "--format", fmt,
                                       "--as-of", "2026-12-01T16:00:00Z", "--engine", engine,
                                       "--spark-master", "local[2]"])
            outs.append((res.exit_code, res.stdout, res.stderr))
        assert outs[1] == outs[0], (kind, fmt)
        assert outs[0][0] == 1 and "leads refused" in outs[0][2]



_SIZE_POLICY = """policy lists "Lists"
id lead_id
schema "lead.schema.json"
team marketing "@acme/marketing"
funnel lead
score fit "Fit" owned by marketing {
  +1 if length(tags) == 0
  +2 if length(tags) < 2
  +4 if tags is present
}
stage lead "Lead" owned by marketing {
}
"""


def test_printed_spark_sql_reads_a_list_columns_length_whatever_size_of_null(spark_engine,
                                                                            tmp_path):
    """`length(tags)` over a Spark table: sqlglot's ``SIZE(tags)`` is -1 for a NULL array
    wherever ``spark.sql.legacy.sizeOfNull`` is on (Spark 3's default; the engine's own
    session turns it off, a cluster running `funnel sql --dialect spark` may not), so a
    missing list had length -1 and `length(tags) < 2` held. The printed statement reads
    ``ARRAY_SIZE``, NULL for NULL: the same scores with the setting on and off."""
    from datetime import UTC, datetime, timedelta

    (tmp_path / "p.funnel").write_text(_SIZE_POLICY, encoding="utf-8")
    (tmp_path / "lead.schema.json").write_text(json.dumps({"type": "object", "properties": {
        "lead_id": {"type": "string"},
        "tags": {"type": ["array", "null"]}}}), encoding="utf-8")
    pol = policy.load(tmp_path)
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=AS_OF)
    leads = (("none", None), ("empty", []), ("one", ["a"]))
    want = {lead: pol.evaluate({"lead_id": lead, **({} if tags is None else {"tags": tags})},
                               as_of=at).scores["fit"] for lead, tags in leads}
    assert want == {"none": 0, "empty": 1 + 2 + 4, "one": 2 + 4}  # spec section 3
    spark = spark_engine[1].spark
    spark.createDataFrame(list(leads), "lead_id STRING, tags ARRAY<STRING>"
                          ).createOrReplaceTempView("size_leads")
    sql = pol.sql(dialect="spark", table="size_leads", as_of=at)
    for legacy in ("true", "false"):
        spark.conf.set("spark.sql.legacy.sizeOfNull", legacy)
        try:
            rows = spark.sql(sql.rstrip().rstrip(";")).collect()
        finally:
            spark.conf.set("spark.sql.legacy.sizeOfNull", "false")
        assert {r["lead"]: r["score_fit"] for r in rows} == want, legacy


def test_the_suites_jvm_runs_with_the_options_conftest_gives_it(spark_engine):
    """tests/conftest.py gives the suite's Spark JVMs the quick JIT compiler only
    (``SPARK_SUBMIT_OPTS``): the option reaches the JVM the engine runs in (a launcher
    that dropped it would leave the suite minutes slower, and nothing else would say so)."""
    import os

    jvm = spark_engine[1].spark.sparkContext._jvm
    args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
                .getInputArguments())
    assert os.environ["SPARK_SUBMIT_OPTS"]
    for option in os.environ["SPARK_SUBMIT_OPTS"].split():
        assert option in args, args
