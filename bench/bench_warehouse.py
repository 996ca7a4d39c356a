"""The warehouse path's speed and memory (issue 10), side by side in one run.

Generates leads on the fly (``rules/generate_leads.py``; nothing large is committed) in a
temporary directory, then times ``funnel eval`` end to end in a child process (wall and
CPU time, peak resident memory of the process) for:

1. the python engine and DuckDB on N leads, JSON Lines to JSON Lines (goal: DuckDB at
   least 5x faster); both outputs must be byte for byte the same, or no figure is kept;
2. DuckDB on 10 x N leads, Parquet to Parquet (goal: 300,000 leads a second on 2 cores);
3. with ``--huge``, DuckDB on 100 x N leads, Parquet to Parquet (goal: under 5 minutes,
   peak memory under 2 GB);
4. with ``--spark``, Spark in local mode on N leads, JSON Lines to JSON Lines.

The Parquet inputs repeat the N generated leads (with fresh ids), so they are as varied
as N leads are. ``--leads N`` (default 1,000,000), ``--quick`` (N = 20,000, no huge run),
``--memory-limit`` is handed to nothing: DuckDB keeps its own default (80% of RAM), and
the figure to read is the measured peak. Results go to ``bench/results.json`` under
``warehouse`` (``--quick``: ``bench/out/results.json``).

    python bench/bench_warehouse.py --quick
    python bench/bench_warehouse.py --spark --huge
    python bench/bench_warehouse.py --skip-jsonl --keep-input /tmp/wh   # make L10 once, reuse

``--keep-input DIR`` keeps the Parquet inputs in DIR (``leads-10.parquet``,
``leads-100.parquet``) and reuses one that is already there, so side-by-side runs decide
the same file; delete DIR when done (10M leads are about 140 MiB, 100M about 1.4 GiB).
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

_LAUNCHER = """
import json, os, subprocess, sys, threading, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
# The process tree's CPU and memory, polled: Spark's JVM is a grandchild nobody waits
# for, so os.wait4 below does not count it (last poll's figures: up to 0.5 s short).
tree = {"cpu": {}, "peak_rss": 0}
def poll():
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    while not ended.is_set():  # not proc.poll(): it would reap the child before wait4
        kids, rss, todo = {}, 0, [proc.pid]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except OSError:
                continue
            kids[pid] = (int(fields[11]) + int(fields[12])) / tick
            rss += int(fields[21]) * page
        tree["cpu"].update(kids)
        tree["peak_rss"] = max(tree["peak_rss"], rss)
        time.sleep(0.5)
ended = threading.Event()
watcher = threading.Thread(target=poll, daemon=True)
watcher.start()
err = proc.stderr.read()
_, status, usage = os.wait4(proc.pid, 0)
ended.set()
print(json.dumps({"wall_s": time.perf_counter() - start,
                  "cpu_s": usage.ru_utime + usage.ru_stime,
                  # a child the command waited for is in both figures: the larger
                  "tree_cpu_s": max(sum(tree["cpu"].values()),
                                    usage.ru_utime + usage.ru_stime),
                  "tree_peak_rss": tree["peak_rss"],
                  "exit": os.waitstatus_to_exitcode(status), "max_rss": usage.ru_maxrss,
                  "stderr": err.decode("utf-8", "replace")[-400:]}))
"""


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def funnel() -> list[str]:
    beside = Path(sys.executable).with_name("funnel")
    if not beside.exists():
        sys.exit("bench_warehouse: no `funnel` beside this Python; pip install -e .")
    return [str(beside)]


def run(command: list[str]) -> dict:
    """Wall and CPU time (user + system of the command and its children), peak RSS,
    and the 1-minute load average before and after: the machine is shared."""
    load_before = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], cwd=ROOT,
                          capture_output=True, check=False)
    found = json.loads(done.stdout)
    return {"wall_s": round(found["wall_s"], 2), "cpu_s": round(found["cpu_s"], 2),
            "exit": found["exit"], "max_rss_mib": round(found["max_rss"] / 1024, 1),
            # with the command's descendants (Spark's JVM), polled every 0.5 s
            "tree_cpu_s": round(found["tree_cpu_s"], 2),
            "tree_peak_rss_mib": round(found["tree_peak_rss"] / 2**20, 1),
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
            "stderr": found["stderr"].strip().splitlines()[-1:] or []}


def rate(count: int, result: dict) -> dict:
    result = dict(result)
    result["leads"] = count
    result["leads_per_s"] = round(count / result["wall_s"]) if result["wall_s"] else None
    return result


def _keep_skipped(out: dict, target: Path, section: str) -> None:
    """A run that skips a part (``--skip-jsonl``, ``--skip-10x``, no ``--huge``) keeps
    that part's figures from the section already saved, and names them in
    ``kept_from_earlier_run``: a 100M-only run must not wipe the 1M and 10M figures."""
    try:
        earlier = json.loads(target.read_text()).get(section) or {}
    except (OSError, ValueError):
        return
    kept = [key for key in ("jsonl_to_jsonl", "parquet_10x", "parquet_100x")
            if key not in out and key in earlier]
    for key in kept:
        out[key] = earlier[key]
    if kept:
        out["kept_from_earlier_run"] = kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="20,000 leads, no huge run")
    ap.add_argument("--huge", action="store_true", help="also 100 x N leads Parquet to Parquet")
    ap.add_argument("--spark", action="store_true", help="also Spark local mode on N leads")
    ap.add_argument("--skip-jsonl", action="store_true",
                    help="skip the JSON Lines comparison (and its byte check)")
    ap.add_argument("--skip-10x", action="store_true", help="skip the 10 x N Parquet run")
    ap.add_argument("--keep-input", metavar="DIR",
                    help="make the Parquet inputs in DIR and keep them; reuse them if there")
    args = ap.parse_args(argv)
    n = 20_000 if args.quick else args.leads
    gen = _module(RULES / "generate_leads.py")
    cmd = funnel()
    out: dict = {"machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                             "load_before": os.getloadavg()[0]},
                 "leads": n, "as_of": AS_OF}
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as tmp:
        work = Path(tmp)
        jsonl = work / "leads.jsonl"
        started = time.perf_counter()
        with open(jsonl, "w", encoding="utf-8", newline="\n") as f:
            gen.write_jsonl(gen.generate(n, 42), f)
        out["generate_s"] = round(time.perf_counter() - started, 1)
        base = ["eval", str(RULES), str(jsonl), "--as-of", AS_OF]
        py: dict = {}
        if not args.skip_jsonl or args.spark:
            py = rate(n, run([*cmd, *base, "-o", str(work / "py.jsonl")]))
        if not args.skip_jsonl:
            dk = rate(n, run([*cmd, *base, "--engine", "duckdb", "-o", str(work / "dk.jsonl")]))
            same = (work / "py.jsonl").read_bytes() == (work / "dk.jsonl").read_bytes()
            out["jsonl_to_jsonl"] = {"python": py, "duckdb": dk, "identical_output": same,
                                     "duckdb_speedup": round(py["wall_s"] / dk["wall_s"], 2),
                                     "cpu_ratio": round(py["cpu_s"] / dk["cpu_s"], 2)}
            print(json.dumps(out["jsonl_to_jsonl"], indent=1), flush=True)
            if not same:
                print("bench_warehouse: the engines' outputs differ; figures not kept")
                return 1
        import duckdb

        for label, times in (("parquet_10x", 10), ("parquet_100x", 100)):
            if times == 100 and (args.quick or not args.huge):
                continue
            if times == 10 and args.skip_10x:
                continue
            kept = Path(args.keep_input) if args.keep_input else None
            src = (kept or work) / f"leads-{times}.parquet"
            started = time.perf_counter()
            if not src.exists():
                src.parent.mkdir(parents=True, exist_ok=True)
                con = duckdb.connect()
                con.execute(
                    "COPY (SELECT * REPLACE (lead_id || '-' || CAST(k AS VARCHAR) AS lead_id) "
                    "FROM read_json(?, format='newline_delimited', sample_size=-1), "
                    f"range({times}) AS r(k)) TO ? (FORMAT parquet)", [str(jsonl), str(src)])
                con.close()
            made = round(time.perf_counter() - started, 1)
            res = rate(n * times, run([*cmd, "eval", str(RULES), str(src), "--as-of", AS_OF,
                                       "--engine", "duckdb", "-o", str(work / "out.parquet")]))
            res["make_input_s"] = made
            res["input_mib"] = round(src.stat().st_size / 2**20, 1)
            out[label] = res
            print(label, json.dumps(res), flush=True)
            if kept is None:
                src.unlink()
        if args.spark:
            sp = rate(n, run([*cmd, *base, "--engine", "spark", "--spark-master", "local[*]",
                              "-o", str(work / "sp.jsonl")]))
            # A failed run (no PySpark, no Java) is reported with its stderr, not a traceback.
            made = work / "sp.jsonl"
            sp["identical_output"] = made.exists() and made.read_bytes() == (
                work / "py.jsonl").read_bytes()
            out["spark_jsonl_to_jsonl"] = sp
            print("spark", json.dumps(sp), flush=True)
    out["machine"]["load_after"] = os.getloadavg()[0]
    results = _module(ROOT / "bench" / "results_file.py")
    target = ROOT / "bench" / ("out/results.json" if args.quick else "results.json")
    # A run with Spark keeps its own section: it is measured at another time (Spark
    # takes minutes) and must not replace the figures of the last DuckDB run.
    section = "warehouse_spark" if args.spark else "warehouse"
    if not args.spark:
        _keep_skipped(out, target, section)
    results.save_section(section, out, target)
    print(f"saved to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
