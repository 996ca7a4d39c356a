"""Start-up of the short commands (issue 13, goals 5 and 6): one process per run.

    python bench/bench_startup.py                  # 21 runs of each, the minimum
    python bench/bench_startup.py --runs 41 --only eval

For each command it prints the **minimum** wall time and the minimum CPU time (user +
system of the child, ``RUSAGE_CHILDREN``) over ``--runs`` runs, and the median wall: on
a loaded machine the minimum is the figure closest to an idle one (nothing makes a run
faster than its own work). Beside them, two figures that do not depend on the load: the
number of modules the command imports (``sys.modules`` at exit, the interpreter's own
included) and the import time its ``python -X importtime`` run reports (top-level
imports' cumulative µs, summed; one run, so it does depend on the load).

Commands run with the policy already in the policy cache (and its compiled engine in
the engine cache: ``policy/engine/engine_cache.py``) in a temporary cache folder;
``eval (cache empty)`` is a first run, cache folder removed before every run. The
project's bytecode is compiled first (``compileall``), as an installed wheel has it
(this workplace sets ``PYTHONDONTWRITEBYTECODE=1``). The load average is printed before
and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
ACME = ROOT.parent / "shared" / "spec" / "conformance" / "acme"
AS_OF = "2026-11-02T15:00:00Z"

# Counts the modules a command imports: run as the child, then the command in-process.
_COUNTING = """
import atexit, os, sys
def _count():
    with open(os.environ["BENCH_MODULES_OUT"], "w") as f:
        f.write(str(len(sys.modules)))
atexit.register(_count)
sys.argv = ["funnel", *sys.argv[1:]]
from funnel_cli.main import main
main()
"""


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def commands(one_lead: Path) -> dict[str, list[str]]:
    runs = {
        "eval": ["eval", "rules", str(one_lead), "--as-of", AS_OF],
        "explain": ["explain", "rules", f"{RULES / 'leads.jsonl'}:1", "--as-of", AS_OF],
        "test rules": ["test", "rules"],
        "check": ["check", "rules"],
        "fmt --check": ["fmt", "--check", "rules"],
        "docs": ["docs", "rules", "-o", os.devnull],
        "diff --leads": ["diff", "rules", "rules", "--leads", str(one_lead), "--as-of", AS_OF],
        "--help": ["--help"],
    }
    if ACME.is_dir():
        runs["test acme"] = ["test", str(ACME)]
    return runs


def timed(argv: list[str], env: dict) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def modules_and_imports(args: list[str], env: dict, tmp: Path) -> tuple[int, float]:
    out = tmp / "modules.txt"
    subprocess.run([sys.executable, "-c", _COUNTING, *args], cwd=ROOT,
                   env={**env, "BENCH_MODULES_OUT": str(out)}, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    count = int(out.read_text()) if out.exists() else -1
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", _COUNTING, *args],
                          cwd=ROOT, env={**env, "BENCH_MODULES_OUT": str(out)},
                          capture_output=True, check=False)
    total = 0
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, package = line.split("|", 2)
        # top-level imports only: their cumulative time includes what they import
        if cumulative.strip().isdigit() and package.startswith(" ") and \
                not package.startswith("  "):
            total += int(cumulative)
    return count, total / 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--only", action="append", help="a command's name (repeatable)")
    ap.add_argument("--results", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "policy", "cli"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    exe = Path(sys.executable).with_name("funnel")
    funnel = [str(exe)] if exe.exists() else [sys.executable, "-m", "funnel_cli.main"]
    results: dict[str, dict] = {}
    print(f"load average before: {loadavg()}; {args.runs} runs of each")
    print(f"{'command':<20} {'min wall ms':>11} {'median':>7} {'min CPU ms':>10} "
          f"{'modules':>7} {'import ms':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp_name:
        tmp = Path(tmp_name)
        one = tmp / "one.jsonl"
        one.write_bytes((RULES / "leads.jsonl").read_bytes().split(b"\n", 1)[0] + b"\n")
        cache = tmp / "cache"
        env = {**os.environ, "FUNNEL_CACHE_DIR": str(cache)}
        env.pop("FUNNEL_NO_CACHE", None)
        todo = {"python -c pass": None, **commands(one), "eval (cache empty)": None}
        for name, cmd in todo.items():
            if args.only and name not in args.only and name != "python -c pass":
                continue
            if name == "python -c pass":
                argv, run_args = [sys.executable, "-c", "pass"], None
            elif name == "eval (cache empty)":
                run_args = commands(one)["eval"]
                argv = [*funnel, *run_args]
            else:
                run_args = cmd
                argv = [*funnel, *cmd]
                timed(argv, env)  # fills the policy and engine caches
            runs = []
            for _ in range(args.runs):
                if name == "eval (cache empty)":
                    shutil.rmtree(cache, ignore_errors=True)
                runs.append(timed(argv, env))
            walls = [w for w, _ in runs]
            row = {"min_wall_ms": round(min(walls) * 1000, 1),
                   "median_wall_ms": round(statistics.median(walls) * 1000, 1),
                   "min_cpu_ms": round(min(c for _, c in runs) * 1000, 1)}
            if run_args is not None and name != "eval (cache empty)":
                row["modules"], row["import_ms"] = modules_and_imports(run_args, env, tmp)
            results[name] = row
            print(f"{name:<20} {row['min_wall_ms']:>11} {row['median_wall_ms']:>7} "
                  f"{row['min_cpu_ms']:>10} {row.get('modules', ''):>7} "
                  f"{row.get('import_ms', ''):>9}", flush=True)
    print(f"load average after: {loadavg()}")
    if args.results:
        Path(args.results).write_text(json.dumps({"load": loadavg(), "runs": args.runs,
                                                  "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
