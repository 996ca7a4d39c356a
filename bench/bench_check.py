#!/usr/bin/env python3
"""Benchmark ``funnel check`` on a generated 5,000-line policy (issue 2, "Done when").

The policy comes from ``bench/gen_policy.py`` (``generate(5000)``), written to a
temporary directory. Measured:

* the whole command, ``funnel check DIR``, as a subprocess: one warm-up run, then the
  median of five (target: under one second). Every run must exit 0 and print nothing:
  the generated policy is check-clean;
* the same work in one process, phase by phase (median of five): reading and parsing
  (``policy.syntax.parser.parse``), building the model, each pass of the checker
  (``policy.check.checker.PASSES``) and the working calendar; and the fixed cost of a
  process: a bare ``python -c pass`` and ``funnel --help``.

The figures go to ``bench/results.json`` (key ``check``; ``bench/bench_engine.py``
writes key ``engine``). Nothing has to run before it but an installed project.

    python bench/bench_check.py
    python bench/bench_check.py --lines 20000 --runs 3 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import io
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from results_file import save_section  # bench/ is on sys.path

from policy.check.checker import PASSES, Context
from policy.model.calendar import work_calendar
from policy.model.loader import load_model
from policy.model.namespace import build_model
from policy.syntax.parser import parse

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results.json"

#: Issue 2's target for the whole command.
TARGET_S = 1.0


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def funnel_command() -> list[str]:
    """The installed ``funnel`` console script, the way users run it."""
    beside = Path(sys.executable).with_name("funnel")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("funnel")
    if found:
        return [found]
    sys.exit("bench_check: no `funnel` command; install the project (pip install -e .)")


def timed_run(command: list[str]) -> tuple[float, int, str]:
    """(wall seconds, exit status, everything printed) of one subprocess."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done.returncode, (done.stdout + done.stderr).strip()


def command_runs(command: list[str], runs: int) -> dict:
    """One warm-up run, then ``runs`` timed ones: median, each, and whether all were clean."""
    timed_run(command)
    walls, exits, outputs = [], set(), set()
    for _ in range(runs):
        wall, status, output = timed_run(command)
        walls.append(wall)
        exits.add(status)
        outputs.add(output)
    return {"median_s": statistics.median(walls), "runs_s": walls, "exit_codes": sorted(exits),
            "output": sorted(outputs)}


def phases(path: Path, runs: int) -> dict:
    """The in-process breakdown (median seconds of ``runs``), as ``load_model`` does it."""
    text = path.read_text(encoding="utf-8")
    parse(text, str(path))  # build (or load the cached) Lark parser before timing anything
    found: dict[str, list[float]] = {}

    def clock(name: str, start: float) -> float:
        now = time.perf_counter()
        found.setdefault(name, []).append(now - start)
        return now

    diagnostics = 0
    for _ in range(runs):
        start = time.perf_counter()
        result = parse(path.read_text(encoding="utf-8"), str(path))
        t = clock("parse", start)
        model = build_model([result.module], schema=None)
        t = clock("model", t)
        ctx = Context(model)
        check_start = t
        for p in PASSES:
            ctx.found.extend(p.run(ctx))
            t = clock(f"check: {p.name}", t)
        work_calendar(model)
        t = clock("check: working calendar", t)
        found.setdefault("check (all passes)", []).append(t - check_start)
        diagnostics = len(ctx.found) + len(result.diagnostics)
        start = time.perf_counter()
        load_model(path)
        clock("load_model (all of it)", start)
        # What the cyclic garbage collector costs: parsing allocates ~1M objects, and
        # every collection walks the ones that survive.
        gc.disable()
        try:
            start = time.perf_counter()
            parse(path.read_text(encoding="utf-8"), str(path))
            clock("parse, with gc disabled", start)
        finally:
            gc.enable()
    return {"median_s": {name: statistics.median(times) for name, times in found.items()},
            "diagnostics": diagnostics}


def profile(path: Path, top: int) -> list[str]:
    """cProfile's top entries (by own time) for one ``load_model`` of the policy."""
    prof = cProfile.Profile()
    prof.enable()
    load_model(path)
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(top)
    lines = text.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return [line.rstrip() for line in lines[start:] if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="example: python bench/bench_check.py --runs 5")
    ap.add_argument("--lines", type=int, default=5000, help="size of the generated policy")
    ap.add_argument("--runs", type=int, default=5, help="timed runs (after one warm-up)")
    ap.add_argument("--profile", type=int, nargs="?", const=25, default=0, metavar="TOP",
                    help="also print cProfile's top entries of one load_model")
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="where to write the figures (default bench/results.json)")
    args = ap.parse_args(argv)

    gen_policy = _module(BENCH / "gen_policy.py")
    cmd = funnel_command()
    with tempfile.TemporaryDirectory(prefix="funnel-bench-check-") as tmp:
        policy_dir = Path(tmp) / "big"
        policy_dir.mkdir()
        policy_file = policy_dir / "big.funnel"
        policy_file.write_text(gen_policy.generate(args.lines), encoding="utf-8")
        lines = len(policy_file.read_text(encoding="utf-8").splitlines())

        whole = command_runs([*cmd, "check", str(policy_dir)], args.runs)
        python_only = command_runs([sys.executable, "-c", "pass"], args.runs)
        help_only = command_runs([*cmd, "--help"], args.runs)
        inner = phases(policy_file, args.runs)
        top = profile(policy_file, args.profile) if args.profile else None

    clean = whole["exit_codes"] == [0] and whole["output"] == [""]
    res = {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python bench/bench_check.py",
                             *(argv if argv is not None else sys.argv[1:])]),
        "policy_lines": lines,
        "policy_bytes": len(gen_policy.generate(args.lines).encode("utf-8")),
        "funnel_check": whole,
        "check_clean": clean,
        "python_startup": python_only,
        "funnel_help": help_only,
        "phases": inner,
        "target_s": TARGET_S,
        "met": whole["median_s"] < TARGET_S and clean,
    }
    if top is not None:
        res["profile"] = top

    print(f"funnel check on a generated {lines:,}-line policy "
          f"({res['policy_bytes'] / 1024:.0f} KiB), {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    print(f"  whole command, median of {args.runs} after a warm-up: "
          f"{whole['median_s']:.3f} s  (runs: "
          + ", ".join(f"{w:.3f}" for w in whole["runs_s"]) + ")")
    print(f"  exit {whole['exit_codes']}, output {'none' if clean else whole['output']}: "
          f"{'check-clean' if clean else 'NOT CLEAN'}")
    print(f"  target < {TARGET_S:.0f} s: {'MET' if res['met'] else 'MISSED'}")
    print(f"  fixed costs: python -c pass {python_only['median_s']:.3f} s, "
          f"funnel --help {help_only['median_s']:.3f} s")
    print("  in-process phases (median):")
    for name, secs in inner["median_s"].items():
        print(f"    {name:32} {secs * 1000:9.1f} ms")
    if top is not None:
        print("\ncProfile of one load_model (sorted by own time):")
        print("\n".join(top))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    save_section("check", res, args.results)
    print(f"\nwritten: {args.results}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
