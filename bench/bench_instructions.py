"""Instructions per lead of the peer benchmark's engines, counted by cachegrind: a figure
the machine's load does not move (issue 13, goal 1).

    python bench/bench_instructions.py            # about 2 minutes; needs valgrind
    python bench/bench_instructions.py --python /work/main/.venv/bin/python   # another build

For each engine of ``../shared/bench/peers/vs_peers.py`` (hand-written, zen-engine's
expression, funnel-policy's ``Policy.evaluate`` with the same reading of the decision)
it runs the same leads twice under ``valgrind --tool=cachegrind``, 1,000 and 6,000 of
them after a warm-up, and prints the difference per lead: start-up, imports and loading
cancel out. Instructions are not time (the interpreter's loop and Rust code retire them at
different rates), but on this machine the ratio of zen-engine's count to
funnel-policy's was within 5% of the idle-machine time ratio.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT.parent / "shared" / "bench" / "peers"

_RUN = r"""
import sys, datetime
sys.path.insert(0, {peers!r})
import leads as leadgen, baseline
which, n = sys.argv[1], int(sys.argv[2])
L = leadgen.generate_leads(8000)
if which == "funnel":
    import policy
    AS_OF = datetime.datetime(2026, 12, 1, 16, tzinfo=datetime.timezone.utc)
    p = policy.load({peers!r})
    def run(lead):
        d = p.evaluate(lead, as_of=AS_OF)
        h = d.handoffs
        return (d.stage or "none", d.scores["fit"], d.scores["engagement"],
                h[0].route if h else None)
elif which == "zen":
    import zen
    expr = zen.compile_expression(open({peers!r} + "/zen_expression.txt").read())
    def run(lead):
        r = expr.evaluate(lead)
        return (r[0], r[1], r[2], r[3])
else:
    run = baseline.evaluate
for x in L[:200]:
    run(x)
for x in L[200:200 + n]:
    run(x)
"""


def count(python: str, which: str, n: int) -> int:
    script = _RUN.format(peers=str(PEERS))
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         python, "-c", script, which, str(n)], capture_output=True, text=True, check=True,
        cwd="/")  # not a checkout: `policy` is the one installed for that Python
    for line in done.stderr.splitlines():
        if "I" in line and "refs:" in line:
            return int(line.split(":")[1].replace(",", "").strip())
    raise SystemExit(f"no instruction count from valgrind for {which}:\n{done.stderr[-500:]}")


def per_lead(python: str, which: str) -> float:
    return (count(python, which, 6000) - count(python, which, 1000)) / 5000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=sys.executable,
                    help="the Python (and so the installed policy) to count")
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    if not PEERS.is_dir():
        print(f"no peer benchmark at {PEERS}", file=sys.stderr)
        return 2
    found = {which: per_lead(a.python, which) for which in ("hand", "zen", "funnel")}
    for which, label in (("hand", "hand-written"), ("zen", "zen-engine expression"),
                         ("funnel", "funnel-policy")):
        print(f"{label:24s} {found[which]:>10,.0f} instructions/lead")
    print(f"zen-engine / funnel-policy instructions: {found['zen'] / found['funnel']:.2f} "
          "(the time goal is >= 3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
