"""A long hunt with the spec-drawn policies (``spec_policies``): every seed in a range,
every way of deciding (``spec_runs.differences``). Not a test module; run it as

    .venv/bin/python tests/hunt_spec.py FIRST LAST [--leads N] [--no-cli]

It prints each disagreement with its seed, and a count at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from spec_leads import spec_leads  # noqa: E402
from spec_policies import AS_OFS  # noqa: E402
from spec_runs import Unsupported, differences, loaded_draws  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("--leads", type=int, default=30)
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--engines", default="python,duckdb")
    ap.add_argument("--sources", default="jsonl,raw,csv,parquet")
    ap.add_argument("--formats", default="jsonl,json,csv")
    args = ap.parse_args()
    ran = found = 0
    unsupported: dict[str, int] = {}
    leads_run = 0
    start = time.time()
    refused_seeds: list[int] = []
    for seed, rng, drawn, tmp, folder in loaded_draws(args.first, args.last, "hunt",
                                                      refused_seeds):
        leads = spec_leads(rng, drawn.fields, args.leads)
        as_of = rng.choice(AS_OFS)
        ran += 1
        leads_run += len(leads)
        try:
            diffs = differences(folder, leads, as_of, drawn.local_tz, cli=not args.no_cli,
                                engines=tuple(args.engines.split(",")),
                                sources=tuple(args.sources.split(",")),
                                formats=tuple(args.formats.split(",")))
        except Unsupported as exc:
            unsupported[str(exc)[:80]] = unsupported.get(str(exc)[:80], 0) + 1
            diffs = []
        except Exception as exc:  # noqa: BLE001 - a crash is a finding too
            diffs = [f"crash: {type(exc).__name__}: {exc}"]
        if diffs:
            found += 1
            print(f"=== seed {seed} ({folder}) as_of {as_of} local_tz {drawn.local_tz}")
            for d in diffs[:6]:
                print(d)
            sys.stdout.flush()
        else:
            shutil.rmtree(tmp)
    print(f"ran {ran} policies ({leads_run} leads), refused by check {len(refused_seeds)}, "
          f"with differences {found}, {time.time() - start:.0f} s; refused by an SQL engine: "
          f"{unsupported}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
