#!/usr/bin/env python3
"""Benchmark the engine on the example policy in ``rules/`` (issue 3, "Done when").

One run measures, over generated leads (``rules/generate_leads.py``, seeded):

(a) throughput of ``Policy.evaluate_many`` (validation included) beside the
    hand-written ``bench/handwritten.py`` over the same valid leads, and their ratio
    (target: the engine at least half the hand-written throughput); plus where the
    engine's time goes (validation, timestamp parsing, the compiled rules);
(b) single-call latency: ``Policy.evaluate`` and ``decide`` timed one call at a time
    with ``time.perf_counter_ns`` over distinct leads; median and p99 (target: median
    ``evaluate`` under 15 µs);
(c) ``funnel eval`` end to end as a subprocess on a JSONL file, output to a file:
    wall time and leads per second;
(d) peak memory (max RSS of the ``funnel eval`` process, from ``os.wait4``) on two
    input sizes, to show that it does not grow with the input.

It prints a table and writes the figures to ``bench/results.json`` (key ``engine``;
``bench/bench_check.py`` writes key ``check`` of the same file). Generated files go to
a temporary directory that is removed at the end.

    python bench/bench_engine.py            # 100,000 leads; memory on 100k and 1M
    python bench/bench_engine.py --quick    # 10,000 leads; memory on 10k and 100k
    python bench/bench_engine.py --profile  # also print cProfile's top entries

Nothing has to run before it but an installed project (``pip install -e .``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import io
import json
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

import jsonschema_rs
from results_file import save_section  # bench/ is on sys.path

import policy
from policy.engine.decision import LeadError
from policy.engine.timestamps import from_datetime
from policy.engine.validate import LeadValidator

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RULES = ROOT / "rules"
RESULTS = BENCH / "results.json"

#: The generator's reference instant: the sample has fresh and stale activity and SLAs
#: in every status then (rules/README.md).
AS_OF = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
AS_OF_TEXT = "2026-12-01T16:00:00Z"

#: Issue 3's targets.
TARGET_RATIO = 0.5
TARGET_MEDIAN_US = 15.0


def _module(path: Path):
    """Import a script that is not part of an installed package (bench/, rules/)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine() -> dict:
    """What the figures were measured on."""
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def funnel_command() -> list[str]:
    """The installed ``funnel`` console script, the way users run it."""
    beside = Path(sys.executable).with_name("funnel")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("funnel")
    if found:
        return [found]
    sys.exit("bench_engine: no `funnel` command; install the project (pip install -e .)")


# --------------------------------------------------------------------------- timing


def throughputs(work: dict[str, tuple[str, object, int]], repeat: int) -> dict[str, dict]:
    """Time each ``(label, fn, leads)`` of ``work`` ``repeat`` times, interleaved (one run
    of each in turn, so a noisy neighbour slows them alike); leads/s from each median run
    and from each best run."""
    runs: dict[str, list[float]] = {key: [] for key in work}
    for _ in range(repeat):
        for key, (_, fn, _) in work.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            runs[key].append(time.perf_counter() - start)
    out = {}
    for key, (label, _, count) in work.items():
        median, best = statistics.median(runs[key]), min(runs[key])
        out[key] = {"label": label, "leads": count, "median_s": median, "best_s": best,
                    "runs_s": runs[key], "per_s": count / median, "best_per_s": count / best,
                    "us_per_lead": median / count * 1e6}
    return out


def _stats(samples: list[int]) -> dict:
    """Median, p90, p99, min and max of nanosecond samples, in µs."""
    samples = sorted(samples)
    count = len(samples)
    return {
        "calls": count,
        "median_us": samples[count // 2] / 1000,
        "p90_us": samples[int(count * 0.90)] / 1000,
        "p99_us": samples[int(count * 0.99)] / 1000,
        "min_us": samples[0] / 1000,
        "max_us": samples[-1] / 1000,
    }


def engine_latency(p: policy.Policy, leads: list) -> dict:
    """``p.evaluate(lead, as_of=…)`` timed one call at a time, each on a different lead."""
    clock, evaluate, at = time.perf_counter_ns, p.evaluate, AS_OF
    samples = []
    append = samples.append
    for lead in leads:
        start = clock()
        evaluate(lead, as_of=at)
        append(clock() - start)
    return _stats(samples)


def hand_latency(decide, leads: list, as_of_us: int) -> dict:
    """``decide(lead, as_of_us)`` timed the same way."""
    clock = time.perf_counter_ns
    samples = []
    append = samples.append
    for lead in leads:
        start = clock()
        decide(lead, as_of_us)
        append(clock() - start)
    return _stats(samples)


def timer_overhead() -> float:
    """Median cost of the two clock reads around each timed call, in µs."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(100_000):
        start = clock()
        samples.append(clock() - start)
    return statistics.median(samples) / 1000


# The child is started by this small launcher, not by the benchmark itself: a process
# started with vfork (as subprocess and posix_spawn do) keeps its parent's peak RSS across
# exec on Linux, so a child of this process, which holds every lead in memory, would
# report this process's peak, not its own. The launcher is a fresh, small Python.
_LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps({"wall_s": time.perf_counter() - start, "exit": proc.returncode,
                  "max_rss": usage.ru_maxrss}))
"""


def run_child(command: list[str], *, cwd: Path) -> dict:
    """Run ``command``: its wall time, exit status and peak RSS (``os.wait4`` on that
    child alone, so each measurement is independent of the others)."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], cwd=cwd,
                          capture_output=True, check=False)
    try:
        found = json.loads(done.stdout)
    except ValueError:
        sys.exit(f"bench_engine: cannot measure {command}: {done.stderr.decode()[-500:]}")
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    rss_kib = found["max_rss"] / 1024 if sys.platform == "darwin" else found["max_rss"]
    return {"wall_s": found["wall_s"], "exit": found["exit"], "max_rss_mib": rss_kib / 1024,
            "stderr": done.stderr.decode("utf-8", "replace").strip()[:300]}


# --------------------------------------------------------------------------- the parts


def split_valid(p: policy.Policy, leads: list) -> tuple[list, list]:
    """The leads the policy accepts, and the prepared timestamps of each."""
    valid, prepared = [], []
    for lead in leads:
        try:
            prepared.append(p.prepare(lead))
        except LeadError:
            continue
        valid.append(lead)
    return valid, prepared


def agree(p: policy.Policy, decide, leads: list, as_of_us: int) -> int:
    """How many of ``leads`` the engine and the hand-written function decide differently
    (the comparison is only fair when both do the same work)."""
    return sum(1 for lead in leads
               if decide(lead, as_of_us) != p.evaluate(lead, as_of=AS_OF).to_dict())


def part_a(p, decide, leads, valid, prepared, as_of_us, repeat) -> dict:
    evaluate_many, run_prepared, prepare = p.evaluate_many, p.run_prepared, p.prepare
    validator = LeadValidator(p.model.schema)
    # The same schema compiled by jsonschema-rs without the Python `date-time` callbacks
    # LeadValidator registers: what validation costs when timestamps are left to prepare.
    bare = jsonschema_rs.validator_for(p.model.schema.document)

    def engine_valid():
        for _ in evaluate_many(valid, as_of=AS_OF):
            pass

    def engine_all():
        for _ in evaluate_many(leads, as_of=AS_OF):
            pass

    def engine_dicts():
        for d in evaluate_many(valid, as_of=AS_OF):
            d.to_dict()

    def hand():
        for lead in valid:
            decide(lead, as_of_us)

    def only_validate():
        is_valid = validator.is_valid
        for lead in valid:
            is_valid(lead)

    def only_bare_validate():
        is_valid = bare.is_valid
        for lead in valid:
            is_valid(lead)

    def only_prepare():
        for lead in valid:
            prepare(lead)

    def only_rules():
        for lead, ts in zip(valid, prepared, strict=True):
            run_prepared(lead, ts, as_of_us)

    # Warm both (calendar caches, first-call costs) before anything is timed.
    for lead in valid[:2000]:
        decide(lead, as_of_us)
        p.evaluate(lead, as_of=AS_OF)

    n_valid = len(valid)
    rows = throughputs({
        "engine": ("evaluate_many, valid leads (validation included)", engine_valid, n_valid),
        "handwritten": ("hand-written decide(), same leads (no validation)", hand, n_valid),
        "engine_all": ("evaluate_many, all leads (0.5% refused)", engine_all, len(leads)),
        "engine_to_dict": ("evaluate_many + to_dict() (a dict, like decide)", engine_dicts,
                           n_valid),
        "validate_only": ("  of which: schema validation (jsonschema-rs)", only_validate,
                          n_valid),
        "bare_validate_only": ("    (jsonschema-rs without format callbacks)",
                               only_bare_validate, n_valid),
        "prepare_only": ("  of which: prepare (validation + 10 timestamps)", only_prepare,
                         n_valid),
        "rules_only": ("  of which: compiled rules (run_prepared)", only_rules, n_valid),
    }, repeat)
    ratio = rows["engine"]["per_s"] / rows["handwritten"]["per_s"]
    return {"rows": rows, "ratio": ratio, "target_ratio": TARGET_RATIO,
            "met": ratio >= TARGET_RATIO}


def part_b(p, decide, valid, as_of_us) -> dict:
    engine = engine_latency(p, valid)
    hand = hand_latency(decide, valid, as_of_us)
    return {"engine": engine, "handwritten": hand, "timer_overhead_us": timer_overhead(),
            "target_median_us": TARGET_MEDIAN_US,
            "met": engine["median_us"] < TARGET_MEDIAN_US}


def write_leads(generate_leads, count: int, seed: int, path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        generate_leads.write_jsonl(generate_leads.generate(count, seed), f)
    return path


def count_output(path: Path) -> tuple[int, int]:
    """(records, error records) in a JSONL output of ``funnel eval``."""
    records = errors = 0
    with open(path, "rb") as f:
        for line in f:
            records += 1
            # an error record's second key is "line"; a decision's is "policy"
            if b', "line": ' in line[:100]:
                errors += 1
    return records, errors


def eval_run(cmd: list[str], leads_file: Path, out_file: Path, count: int) -> dict:
    """``funnel eval rules LEADS --as-of … -o OUT``: wall time, RSS, and a check that every
    record got an output record."""
    result = run_child([*cmd, "eval", "rules", str(leads_file), "--as-of", AS_OF_TEXT,
                        "-o", str(out_file)], cwd=ROOT)
    records, errors = count_output(out_file)
    result.update(leads=count, per_s=count / result["wall_s"], output_records=records,
                  error_records=errors, complete=records == count)
    out_file.unlink()
    return result


def part_c(cmd, generate_leads, count, seed, work: Path) -> dict:
    empty = work / "empty.jsonl"
    empty.write_text("")
    fixed = run_child([*cmd, "eval", "rules", str(empty), "--as-of", AS_OF_TEXT,
                       "-o", str(work / "empty.out")], cwd=ROOT)
    leads_file = write_leads(generate_leads, count, seed, work / f"leads-{count}.jsonl")
    runs = [eval_run(cmd, leads_file, work / "decisions.jsonl", count) for _ in range(3)]
    wall = statistics.median(r["wall_s"] for r in runs)
    best = min(runs, key=lambda r: r["wall_s"])
    return {"leads": count, "input_mib": leads_file.stat().st_size / 2**20,
            "wall_s": wall, "per_s": count / wall, "runs_s": [r["wall_s"] for r in runs],
            "exit": best["exit"], "output_records": best["output_records"],
            "error_records": best["error_records"], "complete": best["complete"],
            "startup_s": fixed["wall_s"], "startup_max_rss_mib": fixed["max_rss_mib"],
            "per_s_after_startup": count / (wall - fixed["wall_s"])}


def part_d(cmd, generate_leads, counts, seed, work: Path) -> dict:
    rows = []
    for count in counts:
        leads_file = work / f"leads-{count}.jsonl"
        if not leads_file.exists():
            write_leads(generate_leads, count, seed, leads_file)
        run = eval_run(cmd, leads_file, work / "decisions.jsonl", count)
        run["input_mib"] = leads_file.stat().st_size / 2**20
        rows.append(run)
        leads_file.unlink()
    small, large = rows[0], rows[-1]
    growth = large["max_rss_mib"] / small["max_rss_mib"]
    # "Flat": ten times the input costs less than 10% more memory.
    return {"rows": rows, "rss_growth": growth, "met": growth < 1.10}


def profile(p, valid, top: int) -> list[str]:
    """cProfile's top entries (by own time) for ``evaluate_many`` over ``valid``."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in p.evaluate_many(valid, as_of=AS_OF):
        pass
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(top)
    lines = text.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return [line.rstrip() for line in lines[start:] if line.strip()]


# --------------------------------------------------------------------------- report


def report(res: dict) -> str:
    a, b, c, d = res["throughput"], res["latency"], res["funnel_eval"], res["memory"]
    out = [f"machine: {res['machine']['nproc']} CPUs ({res['machine']['cpu']}), "
           f"Python {res['machine']['python']}; {res['leads']:,} leads, seed {res['seed']}, "
           f"as of {AS_OF_TEXT}",
           "load average (1 min) before/after: "
           f"{res['load_average_before'][0]:.2f} / {res['load_average_after'][0]:.2f}", ""]
    out.append(f"(a) throughput (median of {res['repeat']} interleaved runs)")
    out.append(f"    {'':52} {'leads/s':>10} {'µs/lead':>9}")
    for row in a["rows"].values():
        out.append(f"    {row['label']:52} {row['per_s']:>10,.0f} {row['us_per_lead']:>9.2f}")
    out.append(f"    engine / hand-written = {a['ratio']:.2f}   target >= {TARGET_RATIO}: "
               f"{'MET' if a['met'] else 'MISSED'}")
    out.append("")
    out.append(f"(b) single-call latency over {b['engine']['calls']:,} distinct leads "
               f"(clock overhead {b['timer_overhead_us']:.2f} µs, included)")
    out.append(f"    {'':30} {'median':>8} {'p90':>8} {'p99':>8}  µs")
    for key, label in (("engine", "Policy.evaluate"), ("handwritten", "hand-written decide")):
        s = b[key]
        out.append(f"    {label:30} {s['median_us']:>8.2f} {s['p90_us']:>8.2f} "
                   f"{s['p99_us']:>8.2f}")
    out.append(f"    median evaluate target < {TARGET_MEDIAN_US} µs: "
               f"{'MET' if b['met'] else 'MISSED'}")
    out.append("")
    out.append(f"(c) funnel eval, {c['leads']:,} leads ({c['input_mib']:.0f} MiB JSONL) -> file: "
               f"{c['wall_s']:.2f} s wall (median of 3), {c['per_s']:,.0f} leads/s "
               f"({c['per_s_after_startup']:,.0f} after startup); "
               f"startup {c['startup_s']:.2f} s ({c['startup_max_rss_mib']:.1f} MiB on an "
               f"empty file); exit {c['exit']}, "
               f"{c['output_records']:,} records ({c['error_records']} errors), "
               f"{'complete' if c['complete'] else 'INCOMPLETE'}")
    out.append("")
    out.append("(d) peak memory of funnel eval (max RSS)")
    for row in d["rows"]:
        out.append(f"    {row['leads']:>10,} leads ({row['input_mib']:>5.0f} MiB): "
                   f"{row['max_rss_mib']:6.1f} MiB, {row['wall_s']:6.1f} s, "
                   f"{row['per_s']:,.0f} leads/s, "
                   f"{'complete' if row['complete'] else 'INCOMPLETE'}")
    times = d["rows"][-1]["leads"] // d["rows"][0]["leads"]
    out.append(f"    growth x{d['rss_growth']:.3f} for x{times} the input: "
               f"{'FLAT' if d['met'] else 'NOT FLAT'}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="example: python bench/bench_engine.py --quick")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 10,000 leads, memory on 10k and 100k")
    ap.add_argument("--count", type=int, help="leads for (a)-(c) (default 100,000)")
    ap.add_argument("--memory", help="comma-separated input sizes for (d) "
                                     "(default 100000,1000000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5, help="runs per throughput figure")
    ap.add_argument("--profile", type=int, nargs="?", const=25, default=0, metavar="TOP",
                    help="also print cProfile's top entries of evaluate_many")
    ap.add_argument("--results", type=Path,
                    help=f"where to write the figures (default {RESULTS.relative_to(ROOT)}; "
                         "bench/out/results-quick.json with --quick)")
    args = ap.parse_args(argv)
    count = args.count or (10_000 if args.quick else 100_000)
    mem = ([int(x) for x in args.memory.split(",")] if args.memory
           else [10_000, 100_000] if args.quick else [100_000, 1_000_000])
    results_path = args.results or (BENCH / "out" / "results-quick.json" if args.quick
                                    else RESULTS)

    generate_leads = _module(RULES / "generate_leads.py")
    decide = _module(BENCH / "handwritten.py").decide
    cmd = funnel_command()
    as_of_us = from_datetime(AS_OF)

    started = time.perf_counter()
    p = policy.load(RULES)
    load_s = time.perf_counter() - started
    if p.engine != "compiled":
        print(f"warning: the engine is {p.engine!r}, not the compiled one", file=sys.stderr)
    leads = list(generate_leads.generate(count, args.seed))
    valid, prepared = split_valid(p, leads)
    differ = agree(p, decide, valid[:2000], as_of_us)
    if differ:
        sys.exit(f"bench_engine: the engine and bench/handwritten.py disagree on {differ} of "
                 "2,000 leads; run tests/test_bench_handwritten.py. No figures written.")

    res: dict = {"machine": machine(), "measured_at": datetime.now(UTC).isoformat(
        timespec="seconds"), "command": " ".join(["python bench/bench_engine.py",
                                                   *(argv if argv is not None else sys.argv[1:])]),
                 "leads": count, "valid_leads": len(valid), "seed": args.seed,
                 "repeat": args.repeat, "as_of": AS_OF_TEXT, "engine": p.engine,
                 "policy_load_s": load_s, "load_average_before": os.getloadavg()}
    gc.collect()
    res["throughput"] = part_a(p, decide, leads, valid, prepared, as_of_us, args.repeat)
    res["latency"] = part_b(p, decide, valid, as_of_us)
    del prepared
    with tempfile.TemporaryDirectory(prefix="funnel-bench-") as tmp:
        work = Path(tmp)
        res["funnel_eval"] = part_c(cmd, generate_leads, count, args.seed, work)
        res["memory"] = part_d(cmd, generate_leads, mem, args.seed, work)
    if args.profile:
        res["profile"] = profile(p, valid, args.profile)
    res["load_average_after"] = os.getloadavg()

    print(report(res))
    if args.profile:
        print("\ncProfile of evaluate_many (sorted by own time):")
        print("\n".join(res["profile"]))
    results_path.parent.mkdir(parents=True, exist_ok=True)
    save_section("engine", res, results_path)
    print(f"\nwritten: {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
