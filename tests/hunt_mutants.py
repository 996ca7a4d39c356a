"""A long hunt over realistic policies, mutated (twenty-second session).

Each seed picks one of the realistic policies (``mutants.bases()``: ``rules/``, the acme
conformance policy, the starter, the golden SQL and docs policies), mutates it the way
marketing ops edit one (``mutants.mutate``: thresholds, weights, comparisons, ``and``/
``or``, ``not``, durations, calendars, ``until`` fields, escalations, recycle rules, list
entries, route and stage order), keeps it only when it loads, and decides the base's
example leads, sample leads and boundary leads made from the mutant's own literals and
calendars (``mutants.boundary_leads``) at edge instants (``mutants.as_ofs``):

- in process: interpreter vs compiled engine vs the compiled JSON-line decider
  (``spec_runs.in_process``), and python vs DuckDB (``DuckEngine``), field by field in
  the tabular form and as JSON;
- ``funnel eval`` python vs ``--engine duckdb`` from JSON Lines, CSV and Parquet to jsonl
  (byte for byte; ``spec_runs.differences``; in three mutants of ten also with
  ``--local-tz`` one of the policy's calendar zones), and from a *typed* Parquet file (timestamps
  as TIMESTAMPTZ, numbers as DOUBLE, booleans as BOOLEAN columns);
- ``funnel sql`` over a DuckDB table (``hunt_paths.table_diff``) and, with ``--pg``, the
  ``--dialect postgres`` statement over a Postgres table (``test_sql_postgres.decide``);
- with ``--big N``, every Nth mutant also through a file of more than one 1 MiB block
  with ``--jobs 2`` against ``--jobs 1`` and Parquet output (``hunt_paths.extra``).

Not a test module; run it as

    .venv/bin/python tests/hunt_mutants.py FIRST LAST [--leads N] [--pg] [--big N]
                                           [--no-cli] [--keep DIR] [--stop-at HH:MM]

It prints each disagreement with its seed and the mutant's edits (the mutant is kept under
``--keep`` or a temporary folder), and the counts at the end.
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
from spec_runs import Unsupported, differences, in_process  # noqa: E402

import policy  # noqa: E402
from policy.engine import tabular  # noqa: E402
from policy.engine.timestamps import parse_timestamp  # noqa: E402


def duck_in_process(pol, leads: list[dict], as_of: str) -> list[str]:
    """Python vs the DuckDB engine in process, field by field and as JSON."""
    from policy.sql.duck import DuckEngine
    from policy.sql.errors import SqlUnsupported

    at = parse_timestamp(as_of)
    texts = [json.dumps(x) for x in leads]
    try:
        engine = DuckEngine(pol, as_of=at)
    except SqlUnsupported as exc:
        raise Unsupported(str(exc)) from exc
    return mutants.engine_diff("duckdb", engine, pol, texts, at, out_of_range=False)


def typed_parquet(folder: Path, leads: list[dict], as_of: str) -> list[str]:
    """``funnel eval`` python vs duckdb from a Parquet file whose columns are typed the
    way a warehouse export types them: the schema's (or the policy's) timestamps as
    TIMESTAMPTZ, numbers DOUBLE or BIGINT, booleans BOOLEAN."""
    import duckdb
    from click.testing import CliRunner
    from funnel_cli.main import main

    from policy.sql.table import field_kinds

    pol = policy.load(folder)
    kinds = field_kinds(pol.program, pol.model.schema)
    stamps = {p for p in pol.model.timestamp_paths if len(p) == 1}
    work = folder.parent / "typed"
    work.mkdir(exist_ok=True)
    src = work / "leads.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in leads), "utf-8")
    target = work / "typed.parquet"
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    try:
        con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, sample_size=-1, "
                    "union_by_name=true)", [str(src)])
    except duckdb.Error:
        return []
    cols = {r[0]: r[1] for r in con.execute("DESCRIBE t").fetchall()}
    casts = []
    for name in cols:
        k = kinds.get((name,), set())
        if (name,) in stamps:
            casts.append(f'TRY_CAST("{name}" AS TIMESTAMPTZ) AS "{name}"')
        elif "integer" in k and "number" not in k:
            casts.append(f'TRY_CAST("{name}" AS BIGINT) AS "{name}"')
        elif "number" in k:
            casts.append(f'TRY_CAST("{name}" AS DOUBLE) AS "{name}"')
        elif "boolean" in k:
            casts.append(f'TRY_CAST("{name}" AS BOOLEAN) AS "{name}"')
    try:
        select = "SELECT * REPLACE (" + ", ".join(casts) + ") FROM t" if casts else \
            "SELECT * FROM t"
        con.execute(f"COPY ({select}) TO '{target}' (FORMAT parquet)")
    except duckdb.Error:
        return []
    runner = CliRunner()
    runs = {}
    for engine in ("python", "duckdb"):
        res = runner.invoke(main, ["eval", str(folder), str(target), "--engine", engine,
                                   "--as-of", as_of])
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            runs[engine] = (-1, f"{type(res.exception).__name__}: {res.exception}")
        else:
            if res.exit_code == 2 and engine == "duckdb" and "cannot run" in res.stderr:
                raise Unsupported(res.stderr)
            runs[engine] = (res.exit_code, res.stdout)
    if runs["python"] != runs["duckdb"]:
        from spec_runs import _first_diff
        return ["typed parquet: duckdb != python\n" + _first_diff(runs["python"],
                                                                  runs["duckdb"])]
    return []


def postgres(con, pol, leads: list[dict], as_of: str) -> list[str]:

    from policy.sql.errors import SqlUnsupported

    seen: set = set()
    leads = [x for x in leads if isinstance(x.get("lead_id"), str) and x["lead_id"] not in seen
             and not seen.add(x["lead_id"])]  # the comparison meets rows by lead id
    try:
        _pg_decide(con, pol, leads, parse_timestamp(as_of))
    except AssertionError as exc:
        return [f"postgres table != python: {str(exc)[:1500]}"]
    except SqlUnsupported as exc:
        raise Unsupported(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - a failed statement is a finding too
        msg = str(exc)
        return [f"postgres: {type(exc).__name__}: {msg[:800]}"]
    return []


def _pg_decide(con, pol, leads: list[dict], as_of_us: int) -> None:
    """``test_sql_postgres.decide``, leaving out the rows whose business time falls
    outside the statement's calendar years (``calendar_out_of_range``, spec section 10:
    the statement says so rather than guess; the python engine has no such limit)."""
    import test_sql_postgres as pgtier
    from engine_runs import assert_table_rows

    from policy.sql import to_sql
    from policy.sql.table import field_kinds

    text = to_sql(pol, dialect="postgres", as_of=as_of_us, years=(2025, 2027))
    kept = pgtier.load_table(con, pgtier.columns(pol, text), leads,
                             field_kinds(pol.program, pol.model.schema))
    rows = con.execute(text).fetchall()
    assert len(rows) == len(kept)
    at = tabular.layout(pol).names.index("violations")
    out = {r[1] for r in rows if r[at] and "calendar_out_of_range" in r[at]}
    assert_table_rows(pol, [x for x in kept if x["lead_id"] not in out],
                      [r for r in rows if r[1] not in out], as_of_us)


def one(seed: int, args, con, root: Path) -> tuple[str, list[str], list[str], Path]:
    rng = random.Random(seed)
    base = rng.choice(mutants.bases())
    folder = mutants.copy_base(base, root / f"m{seed}" / "p")
    pol0 = policy.load(folder)
    stamps = sorted(".".join(p) for p in pol0.model.timestamp_paths)
    stages = list(pol0.model.funnel)
    edits = mutants.mutate(rng, folder, stamps, stages)
    if edits is None:
        return "refused", [], [], folder
    pol = policy.load(folder)
    examples = mutants.base_examples(base)
    seeds = [lead for _, lead in examples] + mutants.sample_leads(base, rng, 10)
    leads = [dict(x) for x in seeds[: args.leads // 3]]
    leads += mutants.boundary_leads(rng, folder, pol, seeds, args.leads - len(leads))
    as_of = mutants.as_ofs(rng, pol, [at for at, _ in examples], 1)[0]
    leads += mutants.sla_edge_leads(rng, pol, seeds, parse_timestamp(as_of), args.leads // 4)
    diffs: list[str] = []
    try:
        diffs += duck_in_process(pol, leads, as_of)
        if args.no_cli:
            diffs += in_process(folder, leads, as_of, None)
        else:
            # a CRM export in local time: naive timestamps read in a calendar's zone
            zones = [c[0] for c in mutants._calendars(pol)]
            local_tz = rng.choice(zones) if zones and rng.random() < 0.3 else None
            diffs += differences(folder, leads, as_of, local_tz,
                                 sources=("jsonl", "csv", "parquet"), formats=("jsonl",))
            diffs += typed_parquet(folder, leads, as_of)
            from click.testing import CliRunner
            from hunt_paths import extra, table_diff

            work = folder.parent / "tbl"
            work.mkdir(exist_ok=True)
            jsonl = work / "leads.jsonl"
            jsonl.write_text("".join(json.dumps(x) + "\n" for x in leads), "utf-8")
            diffs += table_diff(folder, jsonl, as_of, None, CliRunner())
            if args.big and seed % args.big == 0:
                diffs += extra(folder, leads, as_of, None, True, False)
        if con is not None:
            diffs += postgres(con, pol, leads, as_of)
    except Unsupported as exc:
        return "unsupported " + str(exc).strip().splitlines()[-1][:200], edits, [], folder
    except Exception as exc:  # noqa: BLE001
        diffs.append(f"crash: {type(exc).__name__}: {exc}\n{traceback.format_exc()[-1500:]}")
    return f"{base.name} as_of {as_of} leads {len(leads)}", edits, diffs, folder


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("--leads", type=int, default=60)
    ap.add_argument("--pg", action="store_true")
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--stop-at", help="start no seed after this UTC time (HH:MM)")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="hunt_mutants_"))
    root.mkdir(parents=True, exist_ok=True)
    counts = {"ran": 0, "refused": 0, "unsupported": 0, "differences": 0, "leads": 0}
    start = time.time()
    server = con = None
    if args.pg:
        import psycopg
        from pg_server import PgServer

        server = PgServer()
        con = psycopg.connect(server.__enter__(), autocommit=True)
    try:
        for seed in range(args.first, args.last):
            if args.stop_at and time.strftime("%H:%M", time.gmtime()) >= args.stop_at:
                print(f"stopped at {args.stop_at} before seed {seed}")
                break
            counts["last seed"] = seed
            what, edits, diffs, folder = one(seed, args, con, root)
            if what == "refused":
                counts["refused"] += 1
                shutil.rmtree(folder.parent, ignore_errors=True)
                continue
            if what.startswith("unsupported"):
                counts["unsupported"] += 1
                print(f"--- seed {seed} {what} {edits}", flush=True)
                shutil.rmtree(folder.parent, ignore_errors=True)
                continue
            counts["ran"] += 1
            counts["leads"] += int(what.rsplit(" ", 1)[1])
            if diffs:
                counts["differences"] += 1
                print(f"=== seed {seed} {what} {edits} ({folder})")
                for d in diffs[:5]:
                    print(d[:3000])
                sys.stdout.flush()
            else:
                shutil.rmtree(folder.parent, ignore_errors=True)
    except KeyboardInterrupt:  # a long run stopped: say how far it got
        print("interrupted")
    finally:
        if con is not None:
            con.close()
            server.__exit__(None, None, None)
    print(f"{counts}, {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
