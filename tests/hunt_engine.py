"""A long hunt with the engine generator (``engine_strategies.policies()`` and ``leads()``)
through the real command line (eighteenth session): the in-process tests decide these
policies with the library, the CLI paths (``funnel eval`` from JSON Lines, CSV and
Parquet, to jsonl, json, csv and Parquet, ``--engine duckdb``; ``funnel sql`` over a
DuckDB table) differ from it. Each seed draws one policy and its leads; each policy is
decided every way of ``spec_runs.differences`` and ``hunt_paths.extra`` (Parquet output,
the table path). Not a test module; run it as

    .venv/bin/python tests/hunt_engine.py FIRST LAST [--leads N] [--local-tz ZONE] [--edge-as-of]

draws LAST - FIRST policies in one hypothesis run seeded with FIRST (case k is "seed"
FIRST + k), and prints each disagreement with its seed, and a count at the end.

``--edge-as-of`` (twentieth session) decides each policy at an instant of :data:`EDGE_AS_OFS`
instead (drawn by the seed): a second either side of the New York, Berlin and Sydney
daylight-saving changes, holidays of the drawn calendars, the turn of the year.

``--window-edges`` (twenty-first session) puts the instants on the policy's own edges:
the opening and closing instants of each of its calendars on the days around the
leads' dates and the DST changes, and midnight UTC. The as_of is one of them, or a
microsecond either side; in most leads the timestamp fields are too, and an SLA's
`from` field is that edge less the SLA's fixed duration, so that the SLA falls due
exactly at the as_of (pending, not breached) or exactly when a stop arrives (met).
"""

from __future__ import annotations

import argparse
import json
import random
import re
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

from policy.engine.timestamps import format_timestamp, parse_timestamp  # noqa: E402

#: (session 20) evaluation instants at the edges of working time: just before and at the
#: DST changes of New York (2026-03-08, 2026-11-01), Berlin (2026-03-29, 2026-10-25) and
#: Sydney (2026-10-04), on the drawn calendars' holidays, the turn of the year.
EDGE_AS_OFS = (
    "2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-03-29T00:59:59.999999Z",
    "2026-03-29T01:00:00Z", "2026-10-25T00:59:59Z", "2026-10-25T01:00:00Z",
    "2026-10-03T15:59:59Z", "2026-10-03T16:00:00Z", "2026-11-01T05:59:59Z",
    "2026-11-01T06:00:00Z", "2026-11-01T06:30:00.5Z", "2026-11-26T13:59:59Z",
    "2026-11-27T05:00:00Z", "2026-12-25T14:00:00Z", "2026-11-30T23:59:59.999999Z",
    "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z",
)


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


_US = {"minute": 60_000_000, "hour": 3_600_000_000, "day": 86_400_000_000,
       "week": 7 * 86_400_000_000}
_SLA = re.compile(r"^  sla (\S+) (business )?(minute|hour|day|week)s? from (\S+) "
                  r"until (.+)$", re.M)
#: the local dates whose working windows give edges: the leads' week, the DST changes
_EDGE_DAYS = ("2026-11-25", "2026-11-26", "2026-11-27", "2026-11-30", "2026-12-01",
              "2026-12-02", "2026-11-01", "2026-11-02", "2026-10-25", "2026-10-26",
              "2026-10-05", "2026-03-09")


def window_edges(text: str, batch: list[dict], rng: random.Random) -> tuple[list[dict], str]:
    """``batch`` with timestamps moved onto the policy's window edges, and an as_of
    there (see the module's doc)."""
    import datetime as dt

    from engine_strategies import load_text

    model = load_text(text)
    cals = [c for c in (model.work_calendar, *model.work_calendars.values()) if c]
    edges: set[int] = set()
    for cal in cals:
        for day in _EDGE_DAYS:
            bounds = cal._compute_bounds(dt.date.fromisoformat(day).toordinal())
            edges.update(bounds or ())
    for day in ("2026-12-01", "2026-12-02", "2026-11-30", "2026-11-02"):
        edges.add(parse_timestamp(day + "T00:00:00Z"))
    pool = sorted(edges)
    as_of = rng.choice(pool) + rng.choice((0, 0, 0, -1, 1))
    slas = [(float(a) * _US[u] if not biz else None, start, [f.strip() for f in stops.split(",")])
            for a, biz, u, start, stops in _SLA.findall(text)]
    stamps = ("mql_at", "accepted_at", "rejected_at", "last_seen")
    out = []
    for lead in batch:
        lead = json.loads(json.dumps(lead))
        if rng.random() < 0.8:
            for field in stamps:
                if rng.random() < 0.5:
                    lead[field] = format_timestamp(rng.choice(pool + [as_of]))
            for dur, start, stops in slas:
                if "." in start or rng.random() < 0.3:
                    continue
                edge = rng.choice((as_of, as_of, rng.choice(pool)))
                lead[start] = format_timestamp(edge - int(dur) if dur else rng.choice(pool))
                for stop in stops:
                    if "." not in stop and rng.random() < 0.4:
                        lead[stop] = format_timestamp(
                            (edge if dur else rng.choice(pool)) + rng.choice((0, 0, 1, -1)))
        out.append(lead)
    return out, format_timestamp(as_of)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("--leads", type=int, default=30)
    ap.add_argument("--local-tz", default=None)
    ap.add_argument("--no-extra", action="store_true")
    ap.add_argument("--edge-as-of", action="store_true")
    ap.add_argument("--window-edges", action="store_true")
    ap.add_argument("--big", action="store_true", help="also a file of more than one "
                    "block, --jobs 2 against --jobs 1 (hunt_paths.extra)")
    args = ap.parse_args()
    ran = found = unsup = 0
    start = time.time()
    cases = draws(args.first, args.last - args.first, args.leads)
    for seed, (text, batch, as_of) in enumerate(cases, args.first):
        rng = random.Random(seed)
        tz = args.local_tz or rng.choice((None, None, "America/New_York", "Europe/Berlin"))
        if args.edge_as_of:
            as_of = rng.choice(EDGE_AS_OFS)
        if args.window_edges:
            batch, as_of = window_edges(text, batch, rng)
        tmp = Path(tempfile.mkdtemp(prefix=f"he{seed}_"))
        folder = write_folder(tmp / "p", {"policy.funnel": text, **LIST_FILES})
        ran += 1
        diffs: list[str] = []
        try:
            diffs += differences(folder, batch, as_of, tz)
            if not args.no_extra:
                diffs += extra(folder, batch, as_of, tz, args.big, True)
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
