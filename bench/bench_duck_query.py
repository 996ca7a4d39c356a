"""The DuckDB engine's decision query on typed input (Parquet to Parquet), in process.

``bench_warehouse.py`` times ``funnel eval`` end to end; this script times only the
``COPY (decision query) TO … (FORMAT parquet)`` that ``funnel eval --engine duckdb``
runs for a Parquet input, with DuckDB's ``threads`` chosen (1 by default: CPU seconds
of one thread are the cleanest figure on a shared machine), and can set it beside other
statements in the same run:

    python bench/bench_duck_query.py --leads 300000                 # this checkout
    python bench/bench_duck_query.py --save-sql /tmp/new.sql        # keep the statement
    python bench/bench_duck_query.py --compare /tmp/old.sql         # old and new, alternately
    python bench/bench_duck_query.py --profile /tmp/prof.json       # DuckDB's operator profile
    python bench/bench_duck_query.py --jsonl-phases --leads 100000  # JSON Lines path, per phase
    python bench/bench_duck_query.py --input /tmp/L2.parquet --threads 2 \
        --copy-option "COMPRESSION zstd" --copy-option "ROW_GROUP_SIZE 245760"

A statement saved by ``--save-sql`` from an older checkout (run this script there, or
copy it) is compared with this checkout's, each run ``--repeat`` times in turn on the
same connection and the same input; the least CPU time of each is reported, and the
outputs must be the same rows in the same order, or the figures are not kept.
The leads are ``rules/generate_leads.py``'s, read by ``read_json`` and written to
Parquet as ``bench_warehouse.py`` does (timestamps become TIMESTAMP columns), or
read from ``--input`` (a file made once and reused: the 10M file of
``bench_warehouse.py --keep-input``). Each ``--copy-option`` is one more run of this
checkout's statement with that text added to the COPY's options (the writer's codec,
row-group size…), beside the plain one.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RULES = ROOT / "rules"
AS_OF = "2026-12-01T16:00:00Z"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _statement(engine, source: str) -> str:
    """The query ``parquet_to_parquet`` copies to its target (its view created)."""
    seen: list[str] = []
    real = engine.con

    class Spy:
        def execute(self, q, *a):
            if q.startswith("COPY ("):
                seen.append(q[len("COPY ("):q.rindex(") TO ")])
                return real.execute("SELECT 1")
            return real.execute(q, *a)

        def __getattr__(self, name):
            return getattr(real, name)

    engine.con = Spy()
    try:
        engine.parquet_to_parquet(source, os.devnull)
    except Exception:  # noqa: BLE001 - the count of the empty target may fail
        pass
    finally:
        engine.con = real
    return seen[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=300_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compare", action="append", default=[], metavar="FILE.sql")
    ap.add_argument("--save-sql", metavar="FILE.sql")
    ap.add_argument("--profile", metavar="FILE.json")
    ap.add_argument("--input", metavar="FILE.parquet",
                    help="decide this Parquet file (no leads generated; --leads ignored)")
    ap.add_argument("--copy-option", action="append", default=[], metavar="TEXT",
                    help="also run the statement with TEXT among the COPY options")
    ap.add_argument("--jsonl-phases", action="store_true",
                    help="instead: JSON Lines staging, suspect scan, records query (CPU s)")
    args = ap.parse_args(argv)

    import duckdb

    import policy
    from policy.sql.duck import MEMORY_LIMIT, DuckEngine, _no_joins, copy_memory

    spec = importlib.util.spec_from_file_location("_gen", RULES / "generate_leads.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with tempfile.TemporaryDirectory(prefix="bench-duckq-") as tmp:
        jsonl, src = Path(tmp) / "leads.jsonl", Path(tmp) / "leads.parquet"
        if args.input and not args.jsonl_phases:
            src = Path(args.input)
            args.leads = duckdb.connect().execute(
                "SELECT count(*) FROM read_parquet(?)", [str(src)]).fetchone()[0]
        else:
            with open(jsonl, "w", encoding="utf-8", newline="\n") as f:
                gen.write_jsonl(gen.generate(args.leads, 42), f)
            if args.jsonl_phases:
                return _jsonl_phases(jsonl, args)
            duckdb.connect().execute(
                "COPY (SELECT * FROM read_json(?, format='newline_delimited', "
                "sample_size=-1)) TO ? (FORMAT parquet)", [str(jsonl), str(src)])
            jsonl.unlink()
        engine = DuckEngine(policy.load(RULES), as_of=policy.parse_timestamp(AS_OF),
                            threads=args.threads)
        con = engine.con
        statements = {"this checkout": _statement(engine, str(src))}
        if args.save_sql:
            Path(args.save_sql).write_text(statements["this checkout"], encoding="utf-8")
        for path in args.compare:
            statements[path] = Path(path).read_text(encoding="utf-8")
        options = {label: "" for label in statements}
        for text in args.copy_option:
            statements[f"with {text}"] = statements["this checkout"]
            options[f"with {text}"] = ", " + text
        best: dict[str, tuple[float, float]] = {}
        outs = {}
        for _ in range(args.repeat):
            for k, (label, sql) in enumerate(statements.items()):
                out = str(Path(tmp) / f"out{k}.parquet")
                cpu, wall = _cpu(), time.perf_counter()
                with _no_joins(con), copy_memory(con, MEMORY_LIMIT):
                    con.execute(f"COPY ({sql}) TO '{out}' "
                                f"(FORMAT parquet, PRESERVE_ORDER true{options[label]})")
                cpu, wall = _cpu() - cpu, time.perf_counter() - wall
                old = best.get(label, (1e18, 1e18))
                best[label] = (min(old[0], cpu), min(old[1], wall))
                outs[label] = out
        cols = [r[0] for r in con.execute(
            f"DESCRIBE SELECT * FROM '{outs['this checkout']}'").fetchall()]
        report = {"leads": args.leads, "threads": args.threads, "repeat": args.repeat,
                  "load_after": round(os.getloadavg()[0], 1), "runs": {}}
        for label, out in outs.items():
            differ = con.execute(
                f"SELECT count(*) FROM '{outs['this checkout']}' a POSITIONAL JOIN "
                f"'{out}' b WHERE " + " OR ".join(
                    f'a."{c}" IS DISTINCT FROM b."{c}"' for c in cols)).fetchone()[0]
            cpu, wall = best[label]
            report["runs"][label] = {"cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                                     "cpu_us_per_lead": round(cpu / args.leads * 1e6, 2),
                                     "rows_differing": differ,
                                     "output_mib": round(os.path.getsize(out) / 2**20, 1)}
        print(json.dumps(report, indent=1))
        if args.profile:
            con.execute("PRAGMA enable_profiling='json'")
            con.execute(f"PRAGMA profiling_output='{args.profile}'")
            with _no_joins(con), copy_memory(con, MEMORY_LIMIT):
                con.execute(f"COPY ({statements['this checkout']}) TO "
                            f"'{Path(tmp) / 'prof.parquet'}' (FORMAT parquet, PRESERVE_ORDER true)")
            con.execute("PRAGMA disable_profiling")
            _top(json.loads(Path(args.profile).read_text()))
        engine.close()
        return 1 if any(r["rows_differing"] for r in report["runs"].values()) else 0


def _jsonl_phases(path: Path, args) -> int:
    """CPU seconds of the JSON Lines path's phases, in process, the least of
    ``--repeat`` runs: staging the blocks, the suspect-line scan, the records query
    with fetching its rows (what ``funnel eval --engine duckdb`` does for JSONL)."""
    import policy
    from policy.sql.duck import DuckEngine
    from policy.sql.engine import jsonl_blocks
    from policy.sql.records import record_query

    engine = DuckEngine(policy.load(RULES), as_of=policy.parse_timestamp(AS_OF),
                        threads=args.threads)
    con, best = engine.con, {}
    for _ in range(args.repeat):
        t0 = _cpu()
        con.execute("DELETE FROM src")
        with open(path, "rb") as f:
            for first, data, text in jsonl_blocks(f):
                engine.stage_block(first, data, text)
        t1 = _cpu()
        engine.find_suspects()
        t2 = _cpu()
        cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM decided").fetchall()]
        con.execute(record_query(engine.pol, "jsonl", dialect="duckdb", as_of_us=engine.as_of,
                                 relation="decided", columns=cols))
        while con.fetchmany(10_000):
            pass
        t3 = _cpu()
        for key, value in (("stage", t1 - t0), ("suspects", t2 - t1), ("query", t3 - t2)):
            best[key] = min(best.get(key, 1e18), value)
    engine.close()
    print(json.dumps({"leads": args.leads, "threads": args.threads,
                      "cpu_s": {k: round(v, 2) for k, v in best.items()},
                      "load_after": round(os.getloadavg()[0], 1)}))
    return 0


def _top(profile: dict, count: int = 15) -> None:
    """The operators that took longest (DuckDB's own timing, inflated by profiling)."""
    found = []

    def walk(node, depth):
        found.append((node.get("timing", 0.0), depth, node.get("name")))
        for child in node.get("children", []):
            walk(child, depth + 1)

    for node in profile.get("operator", []):
        walk(node, 0)
    for timing, depth, name in sorted(found, reverse=True)[:count]:
        print(f"{timing:8.3f} s  depth {depth:3d}  {name}")


if __name__ == "__main__":
    raise SystemExit(main())
