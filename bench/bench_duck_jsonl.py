"""Where the floor is for DuckDB on JSON Lines (issue 10): the least any correct engine
must do, beside what ``funnel eval --engine duckdb`` does, on the same generated leads.

Every step runs in its own child process (wall time, CPU time of the process and its
threads from ``os.wait4``, peak RSS, the 1-minute load average before and after):

a. ``lines``: DuckDB reads the file as lines (``read_csv``, one VARCHAR column, no
   quoting) and COPYs them to a JSON file: reading and writing, nothing parsed;
b. ``read_json``: ``read_json`` with the auto-detected schema, COPY to a JSON file: one
   parse of every line into typed columns and one serialisation, no decision;
c. ``stage``: the engine's own steps up to the decision, in one process, each timed
   by ``time.process_time`` (every DuckDB thread included): building the engine
   (compiling and planning the statement, the calendar tables), staging the lines
   (``DuckEngine.stage_jsonl`` without the suspect scan), the suspect scan
   (``find_suspects``);
d. ``decide``: in the same process, the decision statement with every column
   materialised into a sink (``sum(hash(...))`` over each row: nothing leaves DuckDB),
   then the query that also builds each record's text (``policy.sql.records``), counted;
e. ``eval``: ``funnel eval --engine duckdb`` JSONL → JSONL to a file, end to end;
p. ``python``: ``funnel eval`` (python engine, default ``--jobs``), the reference.

    python bench/bench_duck_jsonl.py                    # 1,000,000 leads (seed 42)
    python bench/bench_duck_jsonl.py --leads 200000 --steps c,d
    python bench/bench_duck_jsonl.py --file /tmp/leads.jsonl   # an existing file

Figures go to ``bench/results.json`` under ``duck_jsonl`` (``--leads`` under 1M, or
``--out``: ``bench/out/results.json``). The machine is shared: read the CPU seconds
and the load printed with each row.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
AS_OF = "2026-12-01T16:00:00Z"
AS_OF_US = 1_796_140_800_000_000
STEPS = ("a", "b", "c", "d", "e", "p")


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------- children


def child_lines(leads: str, work: str) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT column0 AS txt FROM read_csv({_quote(leads)}, "
        "columns={'column0': 'VARCHAR'}, delim=chr(1), quote='', escape='', header=false, "
        f"auto_detect=false)) TO {_quote(os.path.join(work, 'a.json'))} (FORMAT json)")
    return {}


def child_read_json(leads: str, work: str) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json({_quote(leads)}, "
                f"format='newline_delimited')) TO {_quote(os.path.join(work, 'b.json'))} "
                "(FORMAT json)")
    return {}


def child_engine(leads: str, work: str, decide: bool) -> dict:
    """Steps c (and d with ``decide``) in one process: CPU and wall of each phase."""
    import policy
    from policy.sql.duck import DuckEngine
    from policy.sql.engine import jsonl_blocks
    from policy.sql.records import record_query

    phases: dict = {}
    mark = [time.process_time(), time.perf_counter()]

    def done(name: str, **extra) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        phases[name] = {"cpu_s": round(cpu - mark[0], 2), "wall_s": round(wall - mark[1], 2),
                        **extra}
        mark[:] = [time.process_time(), time.perf_counter()]

    pol = policy.load(RULES)
    done("load_policy")
    eng = DuckEngine(pol, as_of=AS_OF_US)
    done("engine_init")
    with open(leads, "rb") as f:
        for first, data, text in jsonl_blocks(f):
            eng.stage_block(first, data, text)
    done("stage_lines")
    by_python = eng.find_suspects()
    done("suspect_scan", by_python=len(by_python))
    if decide:
        con = eng.con
        row = con.execute("SELECT count(*), sum(hash(COLUMNS(*))) FROM decided").fetchone()
        done("decision_to_sink", rows=row[0])
        columns = [r[0] for r in con.execute("DESCRIBE SELECT * FROM decided").fetchall()]
        query = record_query(pol, "jsonl", dialect="duckdb", as_of_us=AS_OF_US,
                             relation="decided", columns=columns)
        row = con.execute(f"SELECT count(*), sum(octet_length(out)), count(py) "
                          f"FROM ({query})").fetchone()
        done("records_to_sink", rows=row[0], bytes=row[1], rows_for_python=row[2])
    eng.close()
    return {"phases": phases}


_CHILD = {"a": lambda leads, work: child_lines(leads, work),
          "b": lambda leads, work: child_read_json(leads, work),
          "c": lambda leads, work: child_engine(leads, work, decide=False),
          "d": lambda leads, work: child_engine(leads, work, decide=True)}


# --------------------------------------------------------------------------- parent


def measure(command: list[str]) -> dict:
    """Run ``command`` (a :func:`_timed_child`): wall time, the load before and after,
    and what the child reports (its CPU, peak RSS, exit status, its own figures)."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
    res = {"wall_s": round(time.perf_counter() - started, 2), "load_before": round(load, 2),
           "load_after": round(os.getloadavg()[0], 2)}
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if lines and lines[-1].startswith("{"):
        res.update(json.loads(lines[-1]))
    if done.stderr.strip():
        res["stderr"] = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
    return res


def _timed_child(argv: list[str]) -> list[str]:
    """A child whose own CPU time and peak RSS are reported (``resource`` on exit)."""
    return [sys.executable, "-c", (
        "import json, resource, subprocess, sys\n"
        "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)\n"
        "out, _ = p.communicate()\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "last = out.decode().strip().splitlines()[-1:] or ['{}']\n"
        "d = json.loads(last[0]) if last[0].startswith('{') else {}\n"
        "d.update(cpu_s=round(u.ru_utime + u.ru_stime, 2),"
        " max_rss_mib=round(u.ru_maxrss / 1024, 1), exit=p.returncode)\n"
        "print(json.dumps(d))\n"), *argv]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--file", help="an existing JSON Lines file of leads (not generated)")
    ap.add_argument("--steps", default=",".join(STEPS),
                    help="which of a,b,c,d,e,p to run (default: all)")
    ap.add_argument("--out", action="store_true", help="save to bench/out/results.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_CHILD[args.child](args.file, args.work)))
        return 0
    steps = [s for s in args.steps.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        ap.error(f"unknown steps: {', '.join(sorted(unknown))}")
    funnel = Path(sys.executable).with_name("funnel")
    out: dict = {"machine": {"nproc": os.cpu_count(), "python": platform.python_version()},
                 "as_of": AS_OF}
    with tempfile.TemporaryDirectory(prefix="bench-duck-jsonl-") as tmp:
        if args.file:
            leads = args.file
            with open(leads, "rb") as f:
                n = sum(1 for line in f if line.strip())
        else:
            n = args.leads
            leads = os.path.join(tmp, "leads.jsonl")
            gen = _module(RULES / "generate_leads.py")
            with open(leads, "w", encoding="utf-8", newline="\n") as f:
                gen.write_jsonl(gen.generate(n, 42), f)
        out["leads"] = n
        out["input_mib"] = round(os.path.getsize(leads) / 2**20, 1)
        rows = {}
        for step in steps:
            if step in _CHILD:
                cmd = _timed_child([sys.executable, __file__, "--child", step, "--file", leads,
                                    "--work", tmp])
            else:
                engine = ["--engine", "duckdb"] if step == "e" else []
                cmd = _timed_child([str(funnel), "eval", str(RULES), leads, "--as-of", AS_OF,
                                    *engine, "-o", os.path.join(tmp, f"{step}.jsonl")])
            res = measure(cmd)
            res["us_cpu_per_lead"] = round(res["cpu_s"] * 1e6 / n, 2) if n else None
            res["leads_per_s"] = round(n / res["wall_s"]) if res["wall_s"] else None
            rows[step] = res
            print(step, json.dumps(res), flush=True)
        if "e" in rows and "p" in rows:
            same = Path(tmp, "e.jsonl").read_bytes() == Path(tmp, "p.jsonl").read_bytes()
            rows["e"]["identical_to_python"] = same
            print("e and p outputs identical:", same)
        out["steps"] = rows
    results = _module(ROOT / "bench" / "results_file.py")
    quick = args.out or n < 1_000_000
    target = ROOT / "bench" / ("out/results.json" if quick else "results.json")
    results.save_section("duck_jsonl", out, target)
    print(f"saved to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
