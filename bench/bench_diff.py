#!/usr/bin/env python3
"""Benchmark ``funnel diff --leads`` over 100,000 leads (issue 5: "well under a minute").

Builds a throw-away git repository holding a copy of ``rules/``, commits it, raises the
MQL fit threshold in the working tree (a change of meaning in a jointly reviewed block),
writes 100,000 generated leads (``rules/generate_leads.py``), and times, as a
subprocess, the command a CI job runs:

    funnel diff HEAD --policy rules --leads leads.jsonl --as-of … --format json

with ``--jobs 1`` and with the default ``--jobs`` (the machine's cores), interleaved,
and checks that both give the same report (``--jobs``: issue 13, goal 6). Beside each
diff it times ``funnel eval`` of the same leads by BASE and by HEAD (output discarded)
and prints diff's leads a second beside those of the two evals together (diff decides
every lead with both versions): diff's CPU over the two evals' is the figure that does
not depend on the machine's load.

It checks the report before trusting the time: the change is found, and the number
of leads that moved equals what evaluating both versions separately says (on the
first 5,000 leads, to keep the check quick). The figures go to ``bench/results.json``
(key ``diff``).

    python bench/bench_diff.py
    python bench/bench_diff.py --count 20000 --runs 1
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
from datetime import UTC, datetime
from pathlib import Path

from results_file import save_section  # bench/ is on sys.path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results.json"
AS_OF = "2026-12-01T16:00:00Z"
TARGET_S = 60.0
OLD, NEW = "require fit >= 45", "require fit >= 50"


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def make_repo(where: Path) -> Path:
    repo = where / "repo"
    shutil.copytree(ROOT / "rules", repo / "rules",
                    ignore=shutil.ignore_patterns("leads.jsonl", "__pycache__"))
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    policy_file = repo / "rules" / "policy.funnel"
    text = policy_file.read_text()
    if OLD not in text:
        raise SystemExit(f"bench_diff: rules/policy.funnel no longer holds {OLD!r}")
    policy_file.write_text(text.replace(OLD, NEW, 1))
    return repo


def write_leads(path: Path, count: int, seed: int) -> None:
    sys.path.insert(0, str(ROOT / "rules"))
    from generate_leads import generate

    with path.open("w") as f:
        for lead in generate(count, seed):
            f.write(json.dumps(lead, separators=(",", ":")) + "\n")


def moved_by_separate_evaluation(repo: Path, leads: Path, limit: int) -> int:
    """How many of the first ``limit`` leads change placement, deciding each version apart."""
    import policy

    base_dir = base_tree(repo)
    as_of = datetime.fromisoformat(AS_OF.replace("Z", "+00:00"))
    base, head = policy.load(base_dir / "rules"), policy.load(repo / "rules")
    moved = 0
    with leads.open() as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            lead = json.loads(line)
            try:
                a = base.evaluate(lead, as_of=as_of).stage
            except policy.LeadError:
                a = "(refused)"
            try:
                b = head.evaluate(lead, as_of=as_of).stage
            except policy.LeadError:
                b = "(refused)"
            moved += a != b
    return moved


def base_tree(repo: Path) -> Path:
    """The committed (BASE) version, checked out beside the repository once."""
    base_dir = repo.parent / "base"
    if not base_dir.exists():
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", str(base_dir), "HEAD"],
                       check=True, capture_output=True)
    return base_dir


def run_eval_timed(policy_dir: Path, leads: Path, jobs: int | None) -> tuple[float, float]:
    """Wall and CPU seconds of ``funnel eval`` of the same leads by one version (output
    discarded): what ``diff --leads`` does twice per lead, for the comparison."""
    cmd = [sys.executable, "-m", "funnel_cli.main", "eval", str(policy_dir), str(leads),
           "--as-of", AS_OF, "-o", os.devnull]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # 1: some leads refused
        raise SystemExit(f"bench_diff: funnel eval exited {proc.returncode}\n{proc.stderr}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def run_diff(repo: Path, leads: Path, jobs: int | None = None) -> tuple[float, dict]:
    wall, _cpu, report = run_diff_timed(repo, leads, jobs)
    return wall, report


def run_diff_timed(repo: Path, leads: Path, jobs: int | None = None
                   ) -> tuple[float, float, dict]:
    """Wall and CPU seconds (the command and its workers) of one diff, and its report."""
    cmd = [sys.executable, "-m", "funnel_cli.main", "diff", "HEAD", "--policy", "rules",
           "--leads", str(leads), "--as-of", AS_OF, "--format", "json"]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"bench_diff: funnel diff exited {proc.returncode}\n{proc.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=100_000, help="leads to generate")
    ap.add_argument("--runs", type=int, default=3, help="timed runs (median reported)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-diff-") as tmp:
        tmp_path = Path(tmp)
        repo = make_repo(tmp_path)
        leads = tmp_path / "leads.jsonl"
        write_leads(leads, args.count, args.seed)
        times, report = [], {}
        # --jobs 1 and the default (the machine's cores) interleaved: the same report,
        # and the speed-up of the worker processes
        cpus: dict[str, list[float]] = {"1": [], "default": []}
        walls: dict[str, list[float]] = {"1": [], "default": []}
        reports = {}
        # funnel eval of the same leads by each version, interleaved with the diffs:
        # diff decides every lead twice, so its time a lead is set beside the sum
        base_dir = base_tree(repo)
        evals: dict[str, list[tuple[float, float]]] = {"1": [], "default": []}
        for _ in range(args.runs):
            for key, jobs in (("1", 1), ("default", None)):
                wall, cpu, reports[key] = run_diff_timed(repo, leads, jobs)
                walls[key].append(wall)
                cpus[key].append(cpu)
                a = run_eval_timed(base_dir / "rules", leads, jobs)
                b = run_eval_timed(repo / "rules", leads, jobs)
                evals[key].append((a[0] + b[0], a[1] + b[1]))
        if reports["1"] != reports["default"]:
            raise SystemExit("bench_diff: --jobs 1 and the default --jobs report differently")
        times, report = walls["default"], reports["default"]
        impact = report.get("impact") or {}
        changes = report.get("changes") or []
        if not changes:
            raise SystemExit("bench_diff: the report shows no change")
        check_limit = min(5_000, args.count)
        separate = moved_by_separate_evaluation(repo, leads, check_limit)
        # the same check on the report's side: rerun diff on the first leads only
        head5k = tmp_path / "first.jsonl"
        with leads.open() as src, head5k.open("w") as dst:
            for i, line in enumerate(src):
                if i >= check_limit:
                    break
                dst.write(line)
        _, small = run_diff(repo, head5k)
        reported = (small.get("impact") or {}).get("moved")
        if reported != separate:
            raise SystemExit(f"bench_diff: diff says {reported} leads moved, "
                             f"separate evaluation says {separate}")

    median = statistics.median(times)
    eval_wall = {k: statistics.median(w for w, _ in v) for k, v in evals.items()}
    eval_cpu = {k: statistics.median(c for _, c in v) for k, v in evals.items()}
    diff_wall = {"1": statistics.median(walls["1"]), "default": median}
    side_by_side = {
        k: {"diff_wall_s": round(diff_wall[k], 3),
            "diff_leads_per_s": round(args.count / diff_wall[k]),
            "diff_cpu_s": round(statistics.median(cpus[k]), 3),
            "eval_both_wall_s": round(eval_wall[k], 3),
            "eval_both_leads_per_s": round(args.count / eval_wall[k]),
            "eval_both_cpu_s": round(eval_cpu[k], 3),
            "diff_over_eval_both_cpu": round(statistics.median(cpus[k]) / eval_cpu[k], 2)}
        for k in ("1", "default")}
    section = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "funnel diff HEAD --policy rules --leads leads.jsonl --as-of "
                   f"{AS_OF} --format json",
        "leads": args.count,
        "runs_s": [round(t, 3) for t in times],
        "median_s": round(median, 3),
        "leads_per_s": round(args.count / median),
        "jobs_1_median_s": round(statistics.median(walls["1"]), 3),
        "cpu_s": {k: round(statistics.median(v), 3) for k, v in cpus.items()},
        "jobs_speedup": round(statistics.median(walls["1"]) / median, 2),
        "load": os.getloadavg()[0],
        "vs_eval": side_by_side,
        "moved": impact.get("moved"),
        "moved_check": {"first_leads": check_limit, "by_diff": reported, "separately": separate},
        "target_s": TARGET_S,
        "met": median < TARGET_S,
    }
    save_section("diff", section, args.results)
    print(f"funnel diff --leads over {args.count:,} leads: median {median:.2f} s "
          f"({args.count / median:,.0f} leads/s; runs {', '.join(f'{t:.2f}' for t in times)})")
    print(f"  --jobs 1: median {section['jobs_1_median_s']:.2f} s; default --jobs "
          f"({os.cpu_count()} cores) {section['jobs_speedup']:.2f}x faster; CPU s (all "
          f"processes) {section['cpu_s']}; same report; load {section['load']:.1f}")
    for k, row in side_by_side.items():
        print(f"  --jobs {k}: diff {row['diff_leads_per_s']:,} leads/s ({row['diff_cpu_s']} "
              f"CPU s); funnel eval of base + head {row['eval_both_leads_per_s']:,} leads/s "
              f"({row['eval_both_cpu_s']} CPU s); diff CPU / eval-both CPU "
              f"{row['diff_over_eval_both_cpu']}")
    print(f"  {impact.get('moved')} leads moved; on the first {check_limit:,}: diff {reported}, "
          f"separate evaluation {separate}")
    print(f"  target < {TARGET_S:.0f} s: {'met' if median < TARGET_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
