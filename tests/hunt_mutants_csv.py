"""Mutated realistic policies as CRM CSV exports, and through Spark at scale
(twenty-second session).

The same mutants and leads as ``tests/hunt_mutants.py`` (``mutants.mutate``,
``mutants.boundary_leads``), then

- the leads as one quirky CSV export (``mutants.quirky_csv``: booleans and numbers
  spelled every way, some ways no engine may accept, JSON cells, quoted cells, a column
  dropped, a UTF-8 or UTF-16 byte-order mark, CRLF, ``;`` or tab), decided by
  ``funnel eval`` with the python engine and ``--engine duckdb`` (and ``--engine spark``
  with ``--spark``), to jsonl and csv: exit status and output byte for byte;
- with ``--spark``, the leads as JSON texts through one shared Spark session in process
  (``SparkEngine.decide``), field by field in the tabular form and as JSON against the
  python engine.

Every Spark run in one process shares one SparkSession (one JVM start): the command
line's engine finds the session the first one started (``getOrCreate``). Run it as

    nice -n 10 .venv/bin/python tests/hunt_mutants_csv.py FIRST LAST [--spark] [--leads N]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import mutants  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from funnel_cli.main import main as funnel  # noqa: E402
from spec_runs import _first_diff  # noqa: E402

import policy  # noqa: E402
from policy.engine.timestamps import parse_timestamp  # noqa: E402


class Refused(Exception):
    """An engine refused the policy by name (spec section 10)."""


def cli(folder: Path, source: Path, engine: str, fmt: str, as_of: str) -> tuple[int, str]:
    res = CliRunner().invoke(funnel, ["eval", str(folder), str(source), "--engine", engine,
                                      "--format", fmt, "--as-of", as_of,
                                      "--spark-master", "local[2]"])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return -1, f"{type(res.exception).__name__}: {res.exception}\n{res.stderr}"
    if res.exit_code == 2 and engine != "python" and "cannot run this policy" in res.stderr:
        raise Refused(res.stderr.strip().splitlines()[-1])
    return res.exit_code, res.stdout + "\n--stderr--\n" + _summary(res.stderr)


def _summary(stderr: str) -> str:
    """The lines of standard error that say what was read (the delimiter chosen, the
    format hint), not timings."""
    return "\n".join(x for x in stderr.splitlines() if "delimiter" in x or "looks like" in x)


def csv_runs(folder: Path, leads: list[dict], as_of: str, rng, engines) -> list[str]:
    made = mutants.quirky_csv(leads, rng)
    if made is None:
        return []
    data, quirks = made
    path = folder.parent / "leads.csv"
    path.write_bytes(data)
    out = []
    for fmt in ("jsonl", "csv"):
        runs = {e: cli(folder, path, e, fmt, as_of) for e in engines}
        for e in engines[1:]:
            if runs[e] != runs["python"]:
                out.append(f"csv {quirks} -> {fmt}: {e} != python\n"
                           + _first_diff(runs["python"], runs[e]))
    return out


def spark_in_process(session, pol, leads: list[dict], as_of: str) -> list[str]:
    from policy.sql.errors import SqlUnsupported
    from policy.sql.spark import SparkEngine

    at = parse_timestamp(as_of)
    texts = [json.dumps(x) for x in leads]
    try:
        engine = SparkEngine(pol, as_of=at, session=session)
    except SqlUnsupported as exc:
        raise Refused(str(exc)) from exc
    return mutants.engine_diff("spark", engine, pol, texts, at)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("--leads", type=int, default=60)
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--no-csv", action="store_true")
    ap.add_argument("--csv-every", type=int, default=1,
                    help="the CSV runs for every Nth mutant only")
    ap.add_argument("--spark-cli-every", type=int, default=5,
                    help="with --spark, every Nth mutant's CSV also through --engine spark")
    ap.add_argument("--stop-at", help="start no seed after this UTC time (HH:MM)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hunt_mutants_csv_"))
    counts = {"ran": 0, "refused": 0, "unsupported": 0, "differences": 0, "leads": 0,
              "spark leads": 0, "spark cli runs": 0}
    start = time.time()
    session = None
    if args.spark:
        from test_sql_spark import SMALL

        import policy as _p
        from policy.sql.spark import SparkEngine

        first = SparkEngine(_p.load(SMALL), as_of=parse_timestamp("2026-12-01T00:00:00Z"),
                            master="local[2]")
        first.close()
        session = first.spark
    try:
        for seed in range(args.first, args.last):
            if args.stop_at and time.strftime("%H:%M", time.gmtime()) >= args.stop_at:
                print(f"stopped at {args.stop_at} before seed {seed}")
                break
            counts["last seed"] = seed
            one(seed, args, session, root, counts)
    except KeyboardInterrupt:  # a long run stopped: say how far it got
        print("interrupted")
    print(f"{counts}, {time.time() - start:.0f} s")
    return 0


def one(seed: int, args, session, root: Path, counts: dict) -> None:
    rng = random.Random(seed)
    base = rng.choice(mutants.bases())
    folder = mutants.copy_base(base, root / f"m{seed}" / "p")
    pol0 = policy.load(folder)
    stamps = sorted(".".join(p) for p in pol0.model.timestamp_paths)
    edits = mutants.mutate(rng, folder, stamps, list(pol0.model.funnel))
    if edits is None:
        counts["refused"] += 1
        shutil.rmtree(folder.parent, ignore_errors=True)
        return
    pol = policy.load(folder)
    examples = mutants.base_examples(base)
    seeds = [lead for _, lead in examples] + mutants.sample_leads(base, rng, 10)
    leads = [dict(x) for x in seeds[: args.leads // 3]]
    leads += mutants.boundary_leads(rng, folder, pol, seeds, args.leads - len(leads))
    as_of = mutants.as_ofs(rng, pol, [at for at, _ in examples], 1)[0]
    leads += mutants.sla_edge_leads(rng, pol, seeds, parse_timestamp(as_of),
                                    args.leads // 4)
    diffs: list[str] = []
    try:
        if session is not None:
            diffs += spark_in_process(session, pol, leads, as_of)
            counts["spark leads"] += len(leads)
        if not args.no_csv and seed % args.csv_every == 0:
            engines = ["python", "duckdb"]
            if session is not None and seed % args.spark_cli_every == 0:
                engines.append("spark")
                counts["spark cli runs"] += 2
            diffs += csv_runs(folder, leads, as_of, rng, engines)
    except Refused as exc:
        counts["unsupported"] += 1
        print(f"--- seed {seed} refused by name: {str(exc)[:200]} {edits}", flush=True)
        shutil.rmtree(folder.parent, ignore_errors=True)
        return
    except Exception as exc:  # noqa: BLE001
        diffs.append(f"crash: {type(exc).__name__}: {exc}\n{traceback.format_exc()[-1500:]}")
    counts["ran"] += 1
    counts["leads"] += len(leads)
    if diffs:
        counts["differences"] += 1
        print(f"=== seed {seed} {base.name} as_of {as_of} {edits} ({folder})")
        for d in diffs[:4]:
            print(d[:3000])
        sys.stdout.flush()
    else:
        shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
