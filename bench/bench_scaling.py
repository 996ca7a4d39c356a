#!/usr/bin/env python3
"""How `funnel check` scales with the size of a policy (issue 12, item 3).

Policies come from pull requests, so their size is not trusted: every checker pass must
be linear or n·log n in the policy's size. Two families of generated policies are
checked in one process with :func:`policy.model.loader.load_model` (read, parse, build,
every checker pass, the working calendar):

* one ``define`` list of N numbers and N strings used by a gate (N = 1k, 10k, 100k):
  the condition reasoning sees one value set of 2N points;
* M megabytes of ordinary defines (M = 1, 2, 4, 8): many ``define`` lines of
  conditions, lists and comparisons, used by a gate so every pass walks them.

For each size the median of ``--runs`` runs is recorded with the time per item (or per
MB). The script fails (exit 1) when the time per unit of the largest size is more than
``--max-growth`` times that of the smallest size scaled by log2 of the ratio (the
n·log n envelope), so a quadratic pass cannot slip back in. Figures go to
``bench/results.json`` (key ``scaling``; with ``--quick``, ``bench/out/results-quick.json``).

    python bench/bench_scaling.py
    python bench/bench_scaling.py --runs 1 --quick      # 1k/10k and 1/2 MB only
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from results_file import save_section  # noqa: E402 - bench/ is on sys.path

from policy.model.loader import load_model  # noqa: E402

HEADER = '''policy scaling "Scaling"
version "1"
id lead_id
team m "@m"
funnel lead -> mql
stage lead owned by m {
  require email is present
}
'''


def list_policy(n: int) -> str:
    numbers = ",\n  ".join(str(i * 7) for i in range(n))
    strings = ",\n  ".join(f'"item-{i}"' for i in range(n))
    return (HEADER + f"define numbers = [\n  {numbers}\n]\n"
            f"define words = [\n  {strings}\n]\n"
            "stage mql owned by m {\n  require size in numbers or source in words\n"
            "  require size > 10 and size < 900\n}\n")


def defines_policy(megabytes: float) -> str:
    target = int(megabytes * 1024 * 1024)
    parts = [HEADER]
    size = len(HEADER)
    i = 0
    names = []
    while size < target:
        chunk = (f'define d{i} "rule {i}" = company.employees >= {i} and '
                 f'country in ["US", "GB", "D{i}"] or title contains "x{i}"\n'
                 f'define l{i} = ["a{i}", "b{i}", "c{i}", "d{i}", "e{i}"]\n')
        parts.append(chunk)
        names.append(f"d{i}")
        size += len(chunk)
        i += 1
    # the gate uses the last define, so every pass follows the chain to it
    parts.append(f"stage mql owned by m {{\n  require {names[-1]} or email in l{i - 1}\n}}\n")
    return "".join(parts)


def time_check(text: str, runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.funnel"
        path.write_text(text)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            result = load_model(tmp)
            times.append(time.perf_counter() - started)
            errors = [d for d in result.diagnostics if d.is_error]
            if errors:
                raise SystemExit(f"the generated policy has errors: {errors[:3]}")
        return statistics.median(times)


def measure(label: str, sizes: list, make, unit: str, runs: int) -> list[dict]:
    rows = []
    for size in sizes:
        text = make(size)
        seconds = time_check(text, runs)
        rows.append({"size": size, "unit": unit, "bytes": len(text.encode()),
                     "seconds": round(seconds, 3),
                     "per_unit_ms": round(seconds / size * 1000, 6)})
        print(f"{label:8} {size:>8} {unit:5} {len(text) / 1e6:7.2f} MB  {seconds:8.2f} s  "
              f"{seconds / size * 1000:10.4f} ms/{unit}", flush=True)
    return rows


def growth(rows: list[dict]) -> float:
    """Time per unit at the largest size over that at the smallest, divided by the
    n·log n allowance log2(ratio of sizes): about 1 or less for n·log n or better."""
    small, large = rows[0], rows[-1]
    ratio = large["size"] / small["size"]
    allowance = max(1.0, math.log2(ratio))
    return (large["seconds"] / large["size"]) / (small["seconds"] / small["size"]) / allowance


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="the two smallest sizes only")
    ap.add_argument("--max-growth", type=float, default=2.0,
                    help="fail above this growth factor (1 = exactly n·log n)")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    items = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    megabytes = [1, 2] if args.quick else [1, 2, 4, 8]
    lists = measure("list", items, list_policy, "items", args.runs)
    defines = measure("defines", megabytes, defines_policy, "MB", args.runs)
    result = {
        "command": "python bench/bench_scaling.py" + (" --quick" if args.quick else ""),
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "lists": lists,
        "defines": defines,
        "growth_lists": round(growth(lists), 3),
        "growth_defines": round(growth(defines), 3),
    }
    print(f"growth over n·log n: lists {result['growth_lists']}, "
          f"defines {result['growth_defines']} (limit {args.max_growth})")
    if not args.no_save:
        target = HERE / "out" / "results-quick.json" if args.quick else HERE / "results.json"
        save_section("scaling", result, target)
    worst = max(result["growth_lists"], result["growth_defines"])
    return 1 if worst > args.max_growth else 0


if __name__ == "__main__":
    raise SystemExit(main())
