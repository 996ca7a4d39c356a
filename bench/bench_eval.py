"""`funnel eval` end to end (issue 13): leads a second per core, --jobs, start-up.

Side by side in one run, on the same generated JSON Lines file (``rules/generate_leads.py``,
seed 1, 0.5% invalid on purpose), interleaved rounds, median of each:

(a) **the plain loop**: a Python process that reads each line, ``json.loads`` it,
    ``json.dumps`` it back (the output's separators) and writes it: the least any tool
    that reads and writes JSON in Python does per record;
(b) ``funnel eval rules LEADS --as-of … -o OUT --jobs 1``, and ``--jobs N`` for each N asked
    (default: 2 and the machine's cores).

It reports wall time, leads a second, the CPU time the process (and its workers) used per
lead, the ratio eval / plain loop per record (wall and CPU: the machine-independent figure;
goal <= 1), the --jobs speed-up (goal >= 1.8 on 2 idle cores at 1M leads), and
``/proc/loadavg`` before and after every run: on a machine that other work shares, wall
figures and the speed-up mean little, CPU figures a little more. Before reporting, it checks
that every ``--jobs`` run wrote the same bytes and one record per input line.

(c) **start-up**: ``funnel eval`` of one lead (median of 9 runs), ``python -c pass``, and the
    import time of each command (``python -X importtime``, summed over the top-level
    imports) on a typical invocation.

    python bench/bench_eval.py                  # 1,000,000 leads, 3 rounds (about 5 min idle)
    python bench/bench_eval.py --leads 100000   # a quicker look
    python bench/bench_eval.py --quick          # 20,000 leads, 1 round: smoke run

Figures go to ``bench/results.json`` (key ``eval``; ``--quick``: ``bench/out/``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RULES = ROOT / "rules"
RESULTS = BENCH / "results.json"
AS_OF = "2026-12-01T16:00:00Z"

sys.path.insert(0, str(BENCH))
from results_file import save_section  # noqa: E402

_PLAIN = """
import json, sys
dumps = json.dumps
with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as out:
    write = out.write
    for line in src:
        write(dumps(json.loads(line), ensure_ascii=False, separators=(", ", ": ")) + "\\n")
"""

# Wall and CPU time of one command, its children (the workers) included, measured by a
# small launcher so that this process's own memory and CPU do not count.
_LAUNCHER = """
import json, os, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = proc.stderr.read()
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "exit": os.waitstatus_to_exitcode(status),
                  "cpu_s": kids.ru_utime + kids.ru_stime, "stderr": err.decode()[-300:]}))
"""


def loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def measure(command: list[str]) -> dict:
    before = loadavg()
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True,
                          check=False, cwd=ROOT)
    try:
        found = json.loads(done.stdout)
    except ValueError:
        sys.exit(f"bench_eval: cannot measure {command}: {done.stderr.decode()[-500:]}")
    found["load_before"], found["load_after"] = before, loadavg()
    return found


def funnel() -> list[str]:
    exe = Path(sys.executable).with_name("funnel")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "funnel_cli.main"]


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def import_times() -> dict[str, float]:
    """Milliseconds of imports for a typical run of each command (-X importtime)."""
    one = RULES / "leads.jsonl"
    runs = {
        "eval": ["eval", "rules", str(one), "--as-of", AS_OF, "-o", os.devnull, "--jobs", "1"],
        "check": ["check", "rules"],
        "fmt": ["fmt", "--check", "rules"],
        "test": ["test", "rules"],
        "explain": ["explain", "rules", f"{one}:1", "--as-of", AS_OF],
        "docs": ["docs", "rules", "-o", os.devnull],
        "--help": ["--help"],
    }
    out = {}
    for name, args in runs.items():
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "funnel_cli.main",
                               *args], capture_output=True, cwd=ROOT, check=False)
        total = 0
        for line in done.stderr.decode("utf-8", "replace").splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            _, cumulative, package = line.split("|", 2)
            # top-level imports only: their cumulative time includes what they import
            if cumulative.strip().isdigit() and package.startswith(" ") and \
                    not package.startswith("  "):
                total += int(cumulative)
        out[name] = round(total / 1000, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leads", type=int, default=None, help="leads (default 1,000,000)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3)")
    ap.add_argument("--jobs", default=None, help="comma-separated --jobs values besides 1 "
                    "(default: 2 and the machine's cores)")
    ap.add_argument("--quick", action="store_true", help="20,000 leads, 1 round")
    ap.add_argument("--results", type=Path, default=None)
    args = ap.parse_args(argv)
    count = args.leads or (20_000 if args.quick else 1_000_000)
    rounds = args.rounds or (1 if args.quick else 3)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    jobs = sorted({int(j) for j in args.jobs.split(",")} if args.jobs else {2, cores or 1})
    jobs = [j for j in jobs if j > 1]
    results_path = args.results or (BENCH / "out" / "results-quick.json" if args.quick
                                    else RESULTS)

    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp_name:
        tmp = Path(tmp_name)
        leads = tmp / "leads.jsonl"
        subprocess.run([sys.executable, str(RULES / "generate_leads.py"), "--count", str(count),
                        "--seed", "1", "--out", str(leads)], check=True, cwd=ROOT)
        size_mib = leads.stat().st_size / 2**20
        print(f"{count:,} leads, {size_mib:.0f} MiB, {rounds} round(s), cores {cores}, "
              f"load {loadavg():.2f}")
        commands = {"plain loop": [sys.executable, "-c", _PLAIN, str(leads), str(tmp / "p.out")]}
        for j in [1, *jobs]:
            commands[f"eval --jobs {j}"] = [*funnel(), "eval", "rules", str(leads), "--as-of",
                                            AS_OF, "-o", str(tmp / f"j{j}.out"), "--jobs", str(j)]
        runs: dict[str, list[dict]] = {name: [] for name in commands}
        names = list(commands)
        for k in range(rounds):
            for name in names[k % len(names):] + names[:k % len(names)]:
                runs[name].append(measure(commands[name]))
        digests = {j: digest(tmp / f"j{j}.out") for j in [1, *jobs]}
        lines = sum(1 for _ in (tmp / "j1.out").open("rb"))
        if len(set(digests.values())) != 1 or lines != count:
            sys.exit(f"bench_eval: outputs differ or lose records: {digests}, {lines} lines")

    table = {}
    print(f"\n{'':18}{'wall s':>8}{'leads/s':>11}{'µs/lead':>9}{'CPU µs/lead':>13}"
          f"{'load before/after':>20}")
    for name, measured in runs.items():
        wall = statistics.median(r["wall_s"] for r in measured)
        cpu = statistics.median(r["cpu_s"] for r in measured)
        loads = [(r["load_before"], r["load_after"]) for r in measured]
        table[name] = {"wall_s": round(wall, 3), "leads_per_s": round(count / wall),
                       "us_per_lead": round(wall / count * 1e6, 2),
                       "cpu_us_per_lead": round(cpu / count * 1e6, 2), "loadavg": loads,
                       "exit": [r["exit"] for r in measured]}
        shown = ", ".join(f"{a:.1f}/{b:.1f}" for a, b in loads)
        print(f"{name:18}{wall:8.2f}{count / wall:11,.0f}{wall / count * 1e6:9.2f}"
              f"{cpu / count * 1e6:13.2f}   {shown}")
    plain, one = table["plain loop"], table["eval --jobs 1"]
    ratio_wall = one["wall_s"] / plain["wall_s"]
    ratio_cpu = one["cpu_us_per_lead"] / plain["cpu_us_per_lead"]
    print(f"\neval --jobs 1 / plain loop per record: wall {ratio_wall:.2f}, CPU {ratio_cpu:.2f}"
          f" (goal <= 1); one core: {one['leads_per_s']:,} leads/s (goal >= 100,000)")
    speedups = {}
    for j in jobs:
        speedups[j] = round(one["wall_s"] / table[f"eval --jobs {j}"]["wall_s"], 2)
        print(f"--jobs {j} speed-up over --jobs 1: {speedups[j]:.2f}x (goal >= 1.8 with 2 idle "
              "cores; judge it only with the load figures above near 0)")
    print("outputs of every --jobs: identical bytes, one record per lead")

    startup = []
    one_lead = RULES / "leads.jsonl"
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp_name:
        single = Path(tmp_name) / "one.jsonl"
        single.write_bytes(one_lead.read_bytes().split(b"\n", 1)[0] + b"\n")
        for _ in range(9):
            startup.append(measure([*funnel(), "eval", "rules", str(single), "--as-of", AS_OF])
                           ["wall_s"])
    python = statistics.median(measure([sys.executable, "-c", "pass"])["wall_s"]
                               for _ in range(5))
    imports = import_times()
    print(f"\nstart-up: funnel eval of one lead {statistics.median(startup) * 1000:.0f} ms "
          f"(median of 9; goal < 150 ms), python -c pass {python * 1000:.0f} ms, load "
          f"{loadavg():.2f}")
    print("import time by command (ms): " + ", ".join(f"{k} {v}" for k, v in imports.items()))

    save_section("eval", {
        "command": "python bench/bench_eval.py" + (" " + " ".join(argv or sys.argv[1:])
                                                   if (argv or sys.argv[1:]) else ""),
        "leads": count, "rounds": rounds, "cores": cores, "runs": table,
        "ratio_eval_over_plain_loop": {"wall": round(ratio_wall, 2), "cpu": round(ratio_cpu, 2)},
        "jobs_speedup": speedups, "startup_one_lead_ms": round(statistics.median(startup) * 1000),
        "python_startup_ms": round(python * 1000), "import_ms_by_command": imports,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }, results_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
