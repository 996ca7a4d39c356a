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
from funnel_cli.main import main

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


def test_funnel_eval_engine_spark(spark_engine, tmp_path):
    leads = tmp_path / "leads.jsonl"
    leads.write_text("\n".join(_leads(40)) + "\n")
    runner = CliRunner()
    base = ["eval", str(SMALL), str(leads), "--as-of", "2026-12-01T16:00:00Z"]
    py = runner.invoke(main, base)
    sp = runner.invoke(main, [*base, "--engine", "spark", "--spark-master", "local[2]"])
    assert sp.exit_code == py.exit_code == 1
    assert sp.stdout == py.stdout


def test_spark_writes_the_python_bytes_for_every_format(spark_engine, tmp_path):
    """Local mode stages the input as Parquet and decides it with one query that also
    builds each record's text (policy.sql.records): the python engine's bytes."""
    import io

    from policy.io.batch import Totals

    pol, engine = spark_engine
    data = ("\n".join(_leads(300)) + "\n").encode()
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
