"""Benchmark `funnel report` against `funnel eval` alone on the same generated leads.

For each size, leads come from ``rules/generate_leads.py`` (seeded) into a temporary JSONL
file; then, interleaved and repeated, ``funnel eval rules LEADS -o decisions.jsonl`` and
``funnel report rules LEADS --format json -o report.json`` run with the same engine and
``--as-of``. Each run's wall time and peak RSS come from ``os.wait4`` on that child alone.
The goal (issue 11): the report costs at most 1.5x the evaluation alone, and 10M leads
take under 2 minutes with the DuckDB engine on 2 cores.

    python bench/bench_report.py                         # 1M and 10M leads
    python bench/bench_report.py --counts 100000 --runs 1 --engine python
    python bench/bench_report.py --quick                 # 20,000 leads, one run
    python bench/bench_report.py --runs 1 --leads-dir /tmp/leads   # keep and reuse the leads

Figures go to ``bench/results.json`` under ``report`` (``--quick``: ``bench/out/``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
AS_OF = "2026-12-01T16:00:00Z"

_LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(proc.pid, 0)
err = proc.stderr.read().decode("utf-8", "replace")[-400:]
print(json.dumps({"wall_s": time.perf_counter() - start,
                  "cpu_s": usage.ru_utime + usage.ru_stime,
                  "exit": os.waitstatus_to_exitcode(status), "max_rss": usage.ru_maxrss,
                  "stderr": err}))
"""


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def funnel_command() -> list[str]:
    beside = Path(sys.executable).with_name("funnel")
    if beside.exists():
        return [str(beside)]
    sys.exit("bench_report: no `funnel` command beside this Python; pip install -e '.[report]'")


def run_child(command: list[str]) -> dict:
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], cwd=ROOT,
                          capture_output=True, check=False)
    found = json.loads(done.stdout)
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"wall_s": round(found["wall_s"], 3), "cpu_s": round(found["cpu_s"], 3),
            "exit": found["exit"],
            "max_rss_mib": round(found["max_rss"] / 1024, 1), "stderr": found["stderr"],
            # the machine is shared: the 1-minute load average around the run
            "load_1min": [load_before, load_after]}


def write_leads(count: int, seed: int, path: Path) -> float:
    gen = _module(RULES / "generate_leads.py")
    started = time.perf_counter()
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        gen.write_jsonl(gen.generate(count, seed), f)
    return time.perf_counter() - started


def measure(cmd: list[str], engine: str, count: int, seed: int, runs: int, work: Path,
            leads_dir: Path | None = None) -> dict:
    """One size: ``runs`` interleaved runs of each command. With ``leads_dir`` the
    generated file is kept there (``leads-COUNT-SEED.jsonl``) and reused next time."""
    if leads_dir is not None:
        leads = leads_dir / f"leads-{count}-{seed}.jsonl"
        gen_s = 0.0 if leads.exists() else write_leads(count, seed, leads)
    else:
        leads = work / f"leads-{count}.jsonl"
        gen_s = write_leads(count, seed, leads)
    # the python engine is both commands' default (and `eval` may not name it)
    engine_args = [] if engine == "python" else ["--engine", engine]
    eval_cmd = [*cmd, "eval", "rules", str(leads), "--as-of", AS_OF, *engine_args,
                "-o", str(work / "decisions.jsonl")]
    report_cmd = [*cmd, "report", "rules", str(leads), "--as-of", AS_OF, *engine_args,
                  "--by", "source", "--format", "json", "-o", str(work / "report.json")]
    evals, reports = [], []
    for _ in range(runs):  # interleaved, so that load on a shared machine hits both alike
        evals.append(run_child(eval_cmd))
        reports.append(run_child(report_cmd))
    for r in reports:
        if r["exit"] != 0:
            sys.exit(f"bench_report: the report failed: {r['stderr']}")
    report = json.loads((work / "report.json").read_text())
    eval_s = statistics.median(r["wall_s"] for r in evals)
    report_s = statistics.median(r["wall_s"] for r in reports)
    eval_cpu = statistics.median(r["cpu_s"] for r in evals)
    report_cpu = statistics.median(r["cpu_s"] for r in reports)
    if leads_dir is None:
        leads.unlink()
    return {
        "leads": count, "engine": engine, "generate_s": round(gen_s, 2),
        "eval_s": eval_s, "report_s": report_s, "ratio": round(report_s / eval_s, 3),
        # CPU seconds (user + system, children included): steadier than wall time when
        # the machine is shared
        "eval_cpu_s": eval_cpu, "report_cpu_s": report_cpu,
        "cpu_ratio": round(report_cpu / eval_cpu, 3),
        "eval_runs_s": [r["wall_s"] for r in evals],
        "report_runs_s": [r["wall_s"] for r in reports],
        "eval_load_1min": [r["load_1min"] for r in evals],
        "report_load_1min": [r["load_1min"] for r in reports],
        "eval_max_rss_mib": max(r["max_rss_mib"] for r in evals),
        "report_max_rss_mib": max(r["max_rss_mib"] for r in reports),
        "report_leads_counted": report["leads"], "report_refused": report["refused"]["count"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="example: python bench/bench_report.py --quick")
    ap.add_argument("--counts", default="1000000,10000000",
                    help="comma-separated lead counts (default 1M and 10M)")
    ap.add_argument("--engine", default="duckdb", help="engine for both commands")
    ap.add_argument("--runs", type=int, default=3, help="runs of each command per size")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="20,000 leads, one run")
    ap.add_argument("--leads-dir", type=Path, default=None,
                    help="keep the generated leads in this directory and reuse them")
    args = ap.parse_args(argv)
    counts = [20_000] if args.quick else [int(c) for c in args.counts.split(",")]
    runs = 1 if args.quick else args.runs
    cmd = funnel_command()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        rows = [measure(cmd, args.engine, c, args.seed, runs, Path(tmp), args.leads_dir)
                for c in counts]
    for row in rows:
        print(f"{row['leads']:>11,} leads  eval {row['eval_s']:8.2f} s  report "
              f"{row['report_s']:8.2f} s  ratio {row['ratio']:.2f} (CPU {row['eval_cpu_s']:.2f} s"
              f" vs {row['report_cpu_s']:.2f} s: {row['cpu_ratio']:.2f})  peak RSS eval "
              f"{row['eval_max_rss_mib']:.0f} MiB, report {row['report_max_rss_mib']:.0f} MiB")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    section = {"command": " ".join(["python bench/bench_report.py", *(argv or sys.argv[1:])]),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_1min_at_end": load},
               "sizes": rows}
    sys.path.insert(0, str(ROOT / "bench"))
    from results_file import save_section

    target = (ROOT / "bench" / "out" / "results.json") if args.quick else (
        ROOT / "bench" / "results.json")
    save_section("report", section, target)
    print(f"written to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
