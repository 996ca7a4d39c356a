"""What the report's renderers share: JSON output, number formats and table rows.

The figures arrive as the dict :func:`policy.report.build.build_report` returns; nothing
here computes a figure, it only formats one. :func:`tables` lays the report out as
titled tables of plain text cells, which the Markdown and HTML renderers escape each in
their own way, so the two always show the same numbers.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["Table", "count", "days", "hours", "percent", "tables", "to_json"]

DASH = "–"


def to_json(report: dict[str, Any]) -> str:
    """The report as JSON: stable key order, two-space indent, UTF-8 text; U+2028,
    U+2029, U+0085 and lone surrogates (a policy string may hold one) as ``\\u``
    escapes, as every JSON writer of the project (:func:`json_safe`)."""
    from policy.render.escape import json_safe

    return json_safe(json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False)) + "\n"


def count(n: int | None) -> str:
    return DASH if n is None else f"{n:,}"


def percent(x: float | None) -> str:
    return DASH if x is None else f"{100 * x:.1f}%"


def hours(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}"


def days(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}"


class Table:
    """A titled table: ``key`` names it for charts, ``rows`` are text cells; ``marks``
    holds, per row, words the HTML shows as badges (``off-list``)."""

    def __init__(self, key: str, title: str, header: list[str], note: str | None = None):
        self.key = key
        self.title = title
        self.header = header
        self.rows: list[list[str]] = []
        self.note = note
        #: what to say instead of an empty table
        self.empty = "no leads"


def _summary(report: dict) -> list[tuple[str, str]]:
    out = [("leads", count(report["leads"])), ("decided", count(report["decided"])),
           ("refused", count(report["refused"]["count"]))]
    return out


def funnel_table(figures: dict) -> Table:
    t = Table("funnel", "Funnel", ["stage", "reached", "conversion", "cumulative", "placed"],
              "reached: decided leads whose reached stage is this one or deeper; conversion: "
              "÷ the stage before; cumulative: ÷ decided leads; placed: leads placed here")
    for stage, f in figures["funnel"].items():
        t.rows.append([stage, count(f["reached"]), percent(f["conversion"]),
                       percent(f["cumulative"]), count(f["placed"])])
    return t


def states_table(figures: dict) -> Table:
    t = Table("states", "Off-funnel states", ["state", "reason", "leads"])
    for state, f in figures["states"].items():
        if not f["reasons"]:
            t.rows.append([state, DASH, count(f["count"])])
        for reason, n in f["reasons"].items():
            t.rows.append([state, reason, count(n)])
    return t


def handoff_tables(figures: dict) -> list[tuple[dict, Table, Table]]:
    out = []
    for h in figures["handoffs"]:
        routes = Table(f"sla-{h['stage']}", f"Handoff {h['stage']} → {h['team']}: SLA by route",
                       ["route", "leads", "met", "breached", "pending", "unknown",
                        "compliance", "median business h", "p90 business h", "escalated"],
                       "compliance: met ÷ (met + breached); response: business hours from the "
                       "SLA's start to its stop, on the route's calendar")
        for route, f in h["routes"].items():
            sla = f["sla"]
            resp = f["response_business_hours"] or {"median": None, "p90": None}
            routes.rows.append([route, count(f["leads"]), count(sla["met"]),
                                count(sla["breached"]), count(sla["pending"]),
                                count(sla["unknown"]), percent(f["compliance"]),
                                hours(resp["median"]), hours(resp["p90"]), count(f["escalated"])])
        rej = h["rejections"]
        reasons = Table(f"rejections-{h['stage']}",
                        f"Handoff {h['stage']} → {h['team']}: rejection reasons",
                        ["reason", "leads", "agreed"],
                        f"{count(rej['count'])} rejected of {count(h['applies'])} handed over "
                        f"({percent(rej['rate'])})")
        for reason, n in rej["reasons"].items():
            reasons.rows.append([reason, count(n), "off-list" if reason in rej["off_list"]
                                 else "yes"])
        # under "0 rejected of 6 handed over" it said "no leads", as if none were handed over
        reasons.empty = "no lead was rejected" if h["applies"] else "no lead was handed over"
        out.append((h, routes, reasons))
    return out


def sla_summary_table(figures: dict) -> Table:
    t = Table("sla", "SLA compliance by route",
              ["route", "leads", "compliance", "median business h", "p90 business h",
               "escalated"],
              "compliance: met ÷ (met + breached); response: business hours from the SLA's "
              "start to its stop, on the route's calendar")
    for h in figures["handoffs"]:
        for route, f in h["routes"].items():
            resp = f["response_business_hours"] or {"median": None, "p90": None}
            t.rows.append([f"{h['stage']} · {route}", count(f["leads"]),
                           percent(f["compliance"]), hours(resp["median"]),
                           hours(resp["p90"]), count(f["escalated"])])
    return t


def velocity_table(figures: dict) -> Table:
    t = Table("velocity", "Velocity between stages",
              ["from", "to", "leads", "median days", "p90 days", "negative"],
              "days from one stage's `entered at` time to the next's; leads whose later time "
              "comes first are left out and counted as negative")
    if not figures["velocity"]:
        t.empty = "no two neighbouring stages both declare `entered at`"
    for v in figures["velocity"]:
        t.rows.append([v["from"], v["to"], count(v["leads"]), days(v["median_days"]),
                       days(v["p90_days"]), count(v["negative"])])
    return t


def cohort_table(figures: dict, stages: list[str]) -> Table:
    t = Table("cohorts", "Cohorts", ["cohort", "leads", *stages])
    if figures["cohorts"] is None:
        t.empty = "no cohort field: give --cohort, or declare `entered at` on the first stage"
    for period, c in (figures["cohorts"] or {}).items():
        t.rows.append([period, count(c["leads"]), *(count(c["reached"][s]) for s in stages)])
    return t


def score_tables(figures: dict) -> list[tuple[str, dict, Table]]:
    out = []
    for name, s in figures["scores"].items():
        thresholds = ", ".join(_number(x) for x in s["thresholds"]) or "none"
        t = Table(f"score-{name}", f"Score {name}", ["bin", "leads"],
                  f"gate thresholds: {thresholds}")
        last = len(s["histogram"]) - 1
        for i, b in enumerate(s["histogram"]):
            close = "]" if i == last and s.get("range") is not None else ")"
            t.rows.append([f"[{_number(b['from'])}, {_number(b['to'])}{close}",
                           count(b["count"])])
        out.append((name, s, t))
    return out


def refused_table(figures: dict) -> Table:
    t = Table("refused", "Refused leads: first problem path", ["path", "leads"],
              "the 10 most common first problem paths")
    for path, n in figures["refused"]["paths"].items():
        t.rows.append([path or "(the record)", count(n)])
    return t


def by_table(report: dict) -> Table:
    stages = list(report["funnel"])
    header = ["value", "leads", "refused", *stages]
    handoffs = report["handoffs"]
    for h in handoffs:
        header += [f"{h['stage']} SLA compliance", f"{h['stage']} rejected"]
    t = Table("by", f"By {report['by_field']}", header,
              "the 20 most common values; the rest are (other)")
    for key, g in report["by"].items():
        row = [key, count(g["leads"]), count(g["refused"]["count"]),
               *(count(g["funnel"][s]["reached"]) for s in stages)]
        for h in g["handoffs"]:
            met = sum(r["sla"]["met"] for r in h["routes"].values())
            breached = sum(r["sla"]["breached"] for r in h["routes"].values())
            row += [percent(met / (met + breached) if met + breached else None),
                    percent(h["rejections"]["rate"])]
        t.rows.append(row)
    return t


def _number(x: int | float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def tables(report: dict) -> dict[str, Any]:
    """Every table of the report, by section."""
    return {
        "summary": _summary(report),
        "funnel": funnel_table(report),
        "states": states_table(report),
        "handoffs": handoff_tables(report),
        "sla": sla_summary_table(report),
        "velocity": velocity_table(report),
        "cohorts": cohort_table(report, list(report["funnel"])),
        "scores": score_tables(report),
        "refused": refused_table(report),
        "by": by_table(report) if report.get("by") is not None else None,
    }
