"""A long hunt with the engine generator (``engine_strategies.policies()`` and ``leads()``)
through the real command line (eighteenth session): the in-process tests decide these
policies with the library, the CLI paths (``funnel eval`` from JSON Lines, CSV and
Parquet, to jsonl, json, csv and Parquet, ``--engine duckdb``; ``funnel sql`` over a
DuckDB table) differ from it. Each seed draws one policy and its leads; each policy is
decided every way of ``spec_runs.differences`` and ``hunt_paths.extra`` (Parquet output,
the table path). Not a test module; run it as

    .venv/bin/python tests/hunt_engine.py FIRST LAST [--leads N] [--local-tz ZONE]

draws LAST - FIRST policies in one hypothesis run seeded with FIRST (case k is "seed"
FIRST + k), and prints each disagreement with its seed, and a count at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from engine_strategies import AS_OFS, LIST_FILES, leads, policies  # noqa: E402
from hunt_paths import extra  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hseed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from spec_runs import Unsupported, differences, write_folder  # noqa: E402

from policy.engine.timestamps import format_timestamp  # noqa: E402


def draws(seed: int, count: int, n_leads: int) -> list[tuple[str, list[dict], str]]:
    """``count`` policies, each with its leads and an as_of, drawn by hypothesis from
    ``seed`` (one run of the generate phase: a run's first draw is its simplest)."""
    out: list = []

    @hseed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(text=policies(), batch=st.lists(leads(), min_size=n_leads, max_size=n_leads),
           as_of=st.sampled_from(AS_OFS))
    def one(text, batch, as_of):
        out.append((text, batch, format_timestamp(as_of)))

    one()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("--leads", type=int, default=30)
    ap.add_argument("--local-tz", default=None)
    ap.add_argument("--no-extra", action="store_true")
    args = ap.parse_args()
    ran = found = unsup = 0
    start = time.time()
    cases = draws(args.first, args.last - args.first, args.leads)
    for seed, (text, batch, as_of) in enumerate(cases, args.first):
        rng = random.Random(seed)
        tz = args.local_tz or rng.choice((None, None, "America/New_York", "Europe/Berlin"))
        tmp = Path(tempfile.mkdtemp(prefix=f"he{seed}_"))
        folder = write_folder(tmp / "p", {"policy.funnel": text, **LIST_FILES})
        ran += 1
        diffs: list[str] = []
        try:
            diffs += differences(folder, batch, as_of, tz)
            if not args.no_extra:
                diffs += extra(folder, batch, as_of, tz, False, True)
        except Unsupported:
            unsup += 1
        except Exception as exc:  # noqa: BLE001 - a crash is a finding too
            import traceback
            diffs.append(f"crash: {type(exc).__name__}: {exc}\n{traceback.format_exc()[-800:]}")
        if diffs:
            found += 1
            print(f"=== seed {seed} ({folder}) as_of {as_of} local_tz {tz}")
            for d in diffs[:6]:
                print(d[:3000])
            (tmp / "leads.json").write_text(json.dumps(batch), encoding="utf-8")
            sys.stdout.flush()
        else:
            shutil.rmtree(tmp)
    print(f"ran {ran} policies ({ran * args.leads} leads), with differences {found}, "
          f"refused by an SQL engine {unsup}, {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
