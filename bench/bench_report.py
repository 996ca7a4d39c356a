"""Benchmark `funnel report` against `funnel eval` alone on the same generated leads.

For each size, leads come from ``rules/generate_leads.py`` (seeded) into a temporary JSONL
file; then, interleaved and repeated, ``funnel eval rules LEADS -o decisions.jsonl`` and
``funnel report rules LEADS --format json -o report.json`` run with the same engine and
``--as-of``. Each run's wall time and peak RSS come from ``os.wait4`` on that child alone.
The goal (issue 11): the report costs at most 1.5x the evaluation alone, and 10M leads
take under 2 minutes on 2 cores. ``--engine`` takes one engine or several
(``--engine python,duckdb``, the default): each size runs with each engine on the same
leads, so that their rows stand side by side.

    python bench/bench_report.py                         # 1M and 10M leads
    python bench/bench_report.py --counts 100000 --runs 1 --engine python
    python bench/bench_report.py --counts 10000000 --runs 1 --engine python --leads-dir /tmp/leads
    python bench/bench_report.py --quick                 # 20,000 leads, one run
    python bench/bench_report.py --runs 1 --leads-dir /tmp/leads   # keep and reuse the leads
    python bench/bench_report.py --counts 1000000,10000000 --runs 1 --parquet

10M leads are the 1M of the story generator repeated ten times (``--base``), each copy
with fresh lead ids and its timestamps whole weeks earlier (:func:`replicate`): the
generator alone takes minutes for 10M. ``--parquet`` also runs both commands on the same
leads written as Parquet by DuckDB (typed as a warehouse export: timestamps, structs),
eval from Parquet to Parquet, and says whether the two reports are the same bytes.

Figures go to ``bench/results.json`` under ``report`` (``--quick``: ``bench/out/``): a
row replaces the row of the same size, engine and input (and ``--parquet`` or not), the
others are kept.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
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


def write_leads(count: int, seed: int, path: Path, base: int = 0,
                base_dir: Path | None = None) -> float:
    """Generate ``count`` leads into ``path``; the seconds it took. A count that is a
    multiple (2 or more) of ``base`` is ``base`` leads of the story generator repeated
    (:func:`replicate`), the base file kept in ``base_dir`` (or beside ``path``)."""
    gen = _module(RULES / "generate_leads.py")
    started = time.perf_counter()
    if base and count > base and count % base == 0:
        source = (base_dir or path.parent) / f"leads-{base}-{seed}.jsonl"
        if not source.exists():
            write_leads(base, seed, source)
        with open(source, "rb") as src, open(path, "wb") as out:
            replicate(src, out, count // base)
        return time.perf_counter() - started
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        gen.write_jsonl(gen.generate(count, seed), f)
    return time.perf_counter() - started


_DATE = re.compile(rb'"([0-9]{4}-[0-9]{2}-[0-9]{2})T')


def replicate(src, out, copies: int, chunk: int = 1 << 24) -> None:
    """Write the leads of ``src`` (the generator's compact JSON Lines) ``copies`` times:
    copy ``k`` has fresh lead ids (``HAL-0000001`` becomes ``HAL-k0000001``) and every
    timestamp ``7 * k`` days earlier, so the story stays as it is (the weekday of each
    instant, the hours between stages, the sources, routes and reasons, the invalid
    leads) while the copies spread the inquiries over earlier weeks."""
    from datetime import date, timedelta

    for k in range(copies):
        shift = timedelta(days=7 * k)
        dates: dict[bytes, bytes] = {}

        def moved(m: re.Match, shift=shift, dates=dates) -> bytes:
            day = m.group(1)
            got = dates.get(day)
            if got is None:
                got = dates[day] = (b'"' + (date.fromisoformat(day.decode()) - shift)
                                    .isoformat().encode() + b"T")
            return got

        src.seek(0)
        rest = b""
        while True:
            block = src.read(chunk)
            if not block:
                break
            block = rest + block
            cut = block.rfind(b"\n") + 1
            block, rest = block[:cut], block[cut:]
            if k:
                block = _DATE.sub(moved, block.replace(b'"lead_id":"HAL-',
                                                       b'"lead_id":"HAL-%d' % k))
            out.write(block)
        if rest:
            raise ValueError("replicate: the last lead has no newline")


def write_parquet(jsonl: Path, target: Path, sample: Path) -> float:
    """The leads of ``jsonl`` as Parquet, typed as DuckDB reads the whole of ``sample``
    (a warehouse export: timestamps as TIMESTAMP, objects as STRUCT); the seconds."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    try:
        # a session setting: as a connect() config DuckDB refuses it ("Could not set
        # option as a global option") once this process has opened another database
        con.execute("SET enable_progress_bar = false")
        cols = con.execute("DESCRIBE SELECT * FROM read_json(?, format = 'newline_delimited', "
                           "sample_size = -1)", [str(sample)]).fetchall()
        spec = "{" + ", ".join("'" + name.replace("'", "''") + "': '" + ty.replace("'", "''")
                               + "'" for name, ty, *_ in cols) + "}"
        con.execute(f"COPY (SELECT * FROM read_json(?, format = 'newline_delimited', "
                    f"columns = {spec})) TO ? (FORMAT parquet)", [str(jsonl), str(target)])
    finally:
        con.close()
    return time.perf_counter() - started


def measure(cmd: list[str], engine: str, count: int, seed: int, runs: int, work: Path,
            leads_dir: Path | None = None, base: int = 0, parquet: bool = False) -> dict:
    """One size: ``runs`` interleaved runs of each command on JSON Lines (and with
    ``parquet`` on the same leads as Parquet). With ``leads_dir`` the generated files are
    kept there (``leads-COUNT-SEED.jsonl``/``.parquet``) and reused next time."""
    keep = leads_dir if leads_dir is not None else work
    leads = keep / f"leads-{count}-{seed}.jsonl"
    gen_s = 0.0 if leads.exists() else write_leads(count, seed, leads, base, keep)
    row = {"leads": count, "engine": engine, "generate_s": round(gen_s, 2),
           "input": "jsonl", **_pair(cmd, engine, leads, runs, work, "jsonl")}
    if parquet:
        pq = keep / f"leads-{count}-{seed}.parquet"
        sample = keep / f"leads-{base}-{seed}.jsonl" if base and count > base else leads
        made = 0.0 if pq.exists() else write_parquet(leads, pq, sample)
        got = _pair(cmd, engine, pq, runs, work, "parquet")
        same = (work / "report-parquet.json").read_bytes() == (
            work / "report-jsonl.json").read_bytes()
        row["parquet"] = {"input": "parquet", "make_parquet_s": round(made, 2),
                          "input_mib": round(pq.stat().st_size / 2**20, 1), **got,
                          "report_same_as_jsonl": same}
        if leads_dir is None:
            pq.unlink()
    if leads_dir is None:
        leads.unlink()
    return row


def _pair(cmd: list[str], engine: str, leads: Path, runs: int, work: Path, kind: str) -> dict:
    """``funnel eval`` and ``funnel report`` on one input file, interleaved ``runs``
    times. From Parquet, eval writes Parquet (its fast path, no row leaves DuckDB)."""
    # the python engine is both commands' default (and `eval` may not name it)
    engine_args = [] if engine == "python" else ["--engine", engine]
    out = work / ("decisions.parquet" if kind == "parquet" else "decisions.jsonl")
    report_out = work / f"report-{kind}.json"
    eval_cmd = [*cmd, "eval", "rules", str(leads), "--as-of", AS_OF, *engine_args,
                "-o", str(out)]
    report_cmd = [*cmd, "report", "rules", str(leads), "--as-of", AS_OF, *engine_args,
                  "--by", "source", "--format", "json", "-o", str(report_out)]
    evals, reports = [], []
    for _ in range(runs):  # interleaved, so that load on a shared machine hits both alike
        evals.append(run_child(eval_cmd))
        out.unlink(missing_ok=True)
        reports.append(run_child(report_cmd))
    # eval's exit status is 1 when some leads are refused (the generator makes 0.5%)
    for r in [*(e for e in evals if e["exit"] not in (0, 1)), *reports]:
        if r["exit"] != 0:
            sys.exit(f"bench_report: a command failed: {r['stderr']}")
    report = json.loads(report_out.read_text())
    eval_s = statistics.median(r["wall_s"] for r in evals)
    report_s = statistics.median(r["wall_s"] for r in reports)
    eval_cpu = statistics.median(r["cpu_s"] for r in evals)
    report_cpu = statistics.median(r["cpu_s"] for r in reports)
    return {
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


def _section(target: Path) -> dict:
    try:
        return json.loads(target.read_text()).get("report") or {}
    except (OSError, ValueError):
        return {}


def merged_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """The rows of ``old`` that no row of ``new`` replaces (same size, engine and
    input, and both with or both without a ``--parquet`` row), then ``new``; ordered by
    size, then engine."""
    def key(r: dict) -> tuple:
        return r.get("leads"), r.get("engine"), r.get("input"), "parquet" in r

    fresh = {key(r) for r in new}
    rows = [r for r in old if key(r) not in fresh] + list(new)
    return sorted(rows, key=lambda r: (r.get("leads") or 0, str(r.get("engine"))))


def _print(row: dict) -> None:
    for r in (row, row.get("parquet")):
        if r is None:
            continue
        extra = (f"  same report as JSONL: {r['report_same_as_jsonl']}"
                 if "report_same_as_jsonl" in r else "")
        print(f"{row['leads']:>11,} leads {row['engine']:>6} {r['input']:>7}  eval "
              f"{r['eval_s']:8.2f} s  report "
              f"{r['report_s']:8.2f} s  ratio {r['ratio']:.2f} (CPU {r['eval_cpu_s']:.2f} s"
              f" vs {r['report_cpu_s']:.2f} s: {r['cpu_ratio']:.2f})  peak RSS eval "
              f"{r['eval_max_rss_mib']:.0f} MiB, report {r['report_max_rss_mib']:.0f} MiB"
              f"{extra}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="example: python bench/bench_report.py --quick")
    ap.add_argument("--counts", default="1000000,10000000",
                    help="comma-separated lead counts (default 1M and 10M)")
    ap.add_argument("--engine", default="python,duckdb",
                    help="engine for both commands; several, comma-separated, run side by side")
    ap.add_argument("--runs", type=int, default=3, help="runs of each command per size")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="20,000 leads, one run")
    ap.add_argument("--leads-dir", type=Path, default=None,
                    help="keep the generated leads in this directory and reuse them")
    ap.add_argument("--base", type=int, default=1_000_000,
                    help="a count that is a multiple of this is BASE generated leads "
                         "repeated with fresh ids and earlier times (0: generate all)")
    ap.add_argument("--parquet", action="store_true",
                    help="also both commands on the same leads as Parquet")
    args = ap.parse_args(argv)
    counts = [20_000] if args.quick else [int(c) for c in args.counts.split(",")]
    runs = 1 if args.quick else args.runs
    engines = [e.strip() for e in args.engine.split(",") if e.strip()]
    cmd = funnel_command()
    command = " ".join(["python bench/bench_report.py", *(argv or sys.argv[1:])])
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        # several engines: the leads are generated once, for all of them
        keep = args.leads_dir or (Path(tmp) / "leads" if len(engines) > 1 else None)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        rows = []
        for c in counts:
            for engine in engines:
                rows.append({**measure(cmd, engine, c, args.seed, runs, Path(tmp), keep,
                                       args.base, args.parquet), "command": command})
                _print(rows[-1])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    sys.path.insert(0, str(ROOT / "bench"))
    from results_file import save_section

    target = (ROOT / "bench" / "out" / "results.json") if args.quick else (
        ROOT / "bench" / "results.json")
    section = {"command": command,
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_1min_at_end": load},
               "sizes": merged_rows(_section(target).get("sizes", []), rows)}
    save_section("report", section, target)
    print(f"written to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
