"""What `--local-tz` costs (issue 14): the same leads, their timestamps without an offset,
decided with and without `--local-tz America/New_York`, by the python engine and by
DuckDB; and the one-time cost of the zone table the SQL carries.

    python bench/bench_local_tz.py              # 4,000 leads (rules/leads.jsonl x 4)
    python bench/bench_local_tz.py --copies 1   # 1,000 leads

Prints one line per measurement (best of ``--runs``); writes nothing. The figures in
bench/README.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import policy
from policy.engine.timestamps import parse_timestamp
from policy.sql.localtz import zone_table

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-12-01T00:00:00Z"
ZONE = "America/New_York"


def _best(fn, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    # every timestamp without its offset: what a CRM export in local time looks like
    lines = (ROOT / "rules" / "leads.jsonl").read_text("utf-8").replace('Z"', '"')
    texts = lines.splitlines() * args.copies
    leads = [json.loads(t) for t in texts]
    at = parse_timestamp(AS_OF)
    start = time.perf_counter()
    zone_table.cache_clear()
    zone_table(ZONE)
    print(f"zone table for {ZONE}: {time.perf_counter() - start:.2f} s "
          f"({len(zone_table(ZONE).rows)} rows)")
    for tz in (None, ZONE):
        pol = policy.load(ROOT / "rules", local_tz=tz)

        def python(pol=pol) -> None:
            for lead in leads:
                try:
                    pol.run_prepared(lead, pol.prepare(lead), at)
                except policy.LeadError:
                    pass

        took = _best(python, args.runs)
        print(f"python engine, local_tz={tz}: {len(leads)} leads in {took:.2f} s "
              f"({len(leads) / took:,.0f} leads/s)")
    try:
        from policy.sql.duck import DuckEngine
    except ModuleNotFoundError:
        return
    for tz in (None, ZONE):
        pol = policy.load(ROOT / "rules", local_tz=tz)
        engine = DuckEngine(pol, as_of=at)

        def duck(engine=engine, batch=1000) -> None:
            for i in range(0, len(texts), batch):
                engine.rows(list(range(i + 1, i + 1 + len(texts[i:i + batch]))),
                            texts[i:i + batch])

        took = _best(duck, args.runs)
        print(f"duckdb engine, local_tz={tz}: {len(texts)} leads in {took:.2f} s "
              f"({len(texts) / took:,.0f} leads/s), statement {len(engine.sql):,} chars")


if __name__ == "__main__":
    main()
