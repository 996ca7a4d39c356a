"""Generate a large, realistic, check-clean policy (for `bench/bench_check.py`).

`generate(lines)` returns the text of one policy file of about that many lines:
teams, a calendar, a long funnel, many defines, scores and stages, handoffs at
every team boundary, recycle rules and examples-free. Deterministic.
"""

from __future__ import annotations

import argparse

FIELDS_NUM = ["company.employees", "company.annual_revenue", "webinars_attended",
              "pricing_page_visits", "email_clicks"]
FIELDS_ENUM = [("job_level", ["c-level", "vp", "director", "manager", "ic"]),
               ("source", ["webinar", "content", "paid", "organic", "event"])]
FIELDS_BOOL = ["demo_requested", "competitor", "do_not_contact", "unsubscribed"]


def generate(lines: int = 5000) -> str:
    out: list[str] = [
        'policy big "A generated policy for the checker benchmark"',
        'version "1"',
        "id lead_id",
        "",
        'team marketing "@big/marketing"',
        'team sales "@big/sales"',
        "",
        "calendar {",
        '  timezone "America/New_York"',
        "  workdays mon tue wed thu fri",
        "  hours 09:00 to 17:00",
        '  holidays "2026-11-26" "2026-12-25"',
        "}",
        "",
    ]
    # a funnel of marketing stages then sales stages, one handoff at the boundary
    n_blocks = max(1, (lines - 40) // 24)
    stages = [f"s{i}" for i in range(max(2, n_blocks // 4))]
    half = len(stages) // 2
    out.append("funnel " + " -> ".join(stages))
    out.append("")
    for i in range(n_blocks):
        f = FIELDS_NUM[i % len(FIELDS_NUM)]
        e, values = FIELDS_ENUM[i % len(FIELDS_ENUM)]
        b = FIELDS_BOOL[i % len(FIELDS_BOOL)]
        out.append(f'define d{i} "generated condition {i}" =')
        out.append(f"  {f} >= {100 + i} and {e} in {values[: 2 + i % 3]!r}".replace("'", '"'))
        out.append(f'score sc{i} "generated score {i}" owned by marketing {{')
        for k in range(12):
            out.append(f"  +{k + 1} if {FIELDS_NUM[k % 5]} >= {k * 10} or d{i}")
        out.append(f"  +2 per {f} up to 20")
        out.append(f"  -5 if {b}")
        out.append("  range 0 to 100")
        out.append(f"  decay half-life {7 + i % 30} days since last_activity_at")
        out.append("}")
        out.append("")
    for j, s in enumerate(stages):
        owner = "marketing" if j < half else "sales"
        out.append(f'stage {s} "stage {j}" owned by {owner} {{')
        for k in range(6):
            sc = f"sc{(j * 6 + k) % n_blocks}"
            out.append(f'  require {sc} >= {k} "needs {sc}"')
        out.append("  exclude competitor")
        out.append(f"  keep when {s}_at is present")
        out.append("}")
        out.append("")
    out.append(f"handoff {stages[half - 1]} to sales {{")
    out.append('  route "a" if company.employees >= 1000')
    out.append('  route "b" if company.employees >= 100')
    out.append('  route "c" otherwise')
    out.append(f"  sla 4 business hours from {stages[half - 1]}_at until accepted_at")
    out.append('  escalate to "managers" after 8 business hours')
    out.append('  reject to nurture with reason rejection_reason in ["bad fit", "no budget"]')
    out.append("}")
    out.append("")
    out.append('state nurture "back to marketing" owned by marketing')
    out.append("")
    for j, s in enumerate(stages):
        out.append(f'recycle {s} to nurture if days_since(last_activity_at) > {30 + j} "stale {j}"')
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=5000)
    print(generate(ap.parse_args().lines), end="")
