"""Charts for the HTML report: Vega-Lite specs built with Altair, rendered to static SVG
offline by vl-convert (no browser, no network), inlined into the page.

Both libraries come with the optional ``[report]`` extra; :func:`available` says whether
they are installed, and without them the page keeps its tables and says how to get the
charts. Every text in a chart (stage, route and reason names) goes into the spec as data;
vl-convert writes it into the SVG as escaped XML text. The SVG's ``xmlns`` declarations are
dropped: an SVG inlined in HTML needs none, and the page then holds no URL at all.
"""

from __future__ import annotations

import re
from typing import Any

from policy.render.escape import terminal, xml_chars

__all__ = ["available", "charts"]

_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_WIDTH = 420
_BLUE, _RED, _GREY, _AMBER, _GREEN = "#3366aa", "#c0392b", "#95a5a6", "#e0a030", "#2e8b57"


def available() -> bool:
    """Whether Altair and vl-convert are installed (the ``[report]`` extra)."""
    try:
        import altair  # noqa: F401
        import vl_convert  # noqa: F401
    except ImportError:
        return False
    return True


def _svg(key: str, chart: Any) -> str:
    import vl_convert

    svg = _XMLNS.sub("", vl_convert.vegalite_to_svg(chart.to_dict()))
    # Every chart shares one page: its ids (gradients, clip paths) get the chart's key as
    # a prefix, so that one chart's `url(#gradient_0)` never finds another's gradient.
    prefix = "c-" + re.sub(r"[^A-Za-z0-9_-]", "_", key) + "-"
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)


def _labels(value: Any) -> Any:
    """The report with every text (a ``--by`` value, a rejection or recycle reason, from
    the leads) with line breaks, control characters, bidi overrides and lone surrogates
    as visible escapes (``\\x00``): vl-convert refuses U+2028 and U+2029 ("Unexpected
    token ILLEGAL", a traceback) and aborts the whole process on NUL. So are U+FFFE and
    U+FFFF, which XML 1.0 does not allow: vl-convert parses each text it measures as
    SVG, and panicked in Rust on them, aborting the process (SIGABRT) mid-report."""
    if isinstance(value, str):
        return xml_chars(terminal(value))
    if isinstance(value, dict):
        return {_labels(k): _labels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_labels(v) for v in value]
    return value


def _config(chart: Any) -> Any:
    return (chart.configure_axis(labelFontSize=11, titleFontSize=11, labelLimit=220)
            .configure_view(stroke=None).configure_legend(labelLimit=220))


def charts(report: dict[str, Any]) -> dict[str, str]:
    """Chart key -> inline SVG, for every chart the report has data for."""
    import altair as alt

    report = _labels(report)

    out: dict[str, str] = {}
    stages = list(report["funnel"])
    rows = [{"stage": s, "reached": f["reached"],
             "label": f"{f['reached']:,}" + ("" if f["conversion"] is None
                                             else f"  ({100 * f['conversion']:.1f}%)")}
            for s, f in report["funnel"].items()]
    if rows:
        base = alt.Chart(alt.Data(values=rows)).encode(
            y=alt.Y("stage:N", sort=stages, title=None))
        top = max(r["reached"] for r in rows)
        bars = base.mark_bar(color=_BLUE).encode(
            x=alt.X("reached:Q", **_count_axis(top, "leads reached")))
        text = base.mark_text(align="left", dx=4).encode(x="reached:Q", text="label:N")
        out["funnel"] = _svg("funnel", _config((bars + text).properties(width=_WIDTH - 60)))

    cohorts = report.get("cohorts") or {}
    rows = [{"cohort": period, "stage": s, "leads": c["reached"][s],
             "share": c["reached"][s] / c["leads"] if c["leads"] else 0.0}
            for period, c in cohorts.items() for s in stages]
    if rows:
        # the waterfall as a heat map: one row per cohort, the share of its leads that
        # reached each stage as colour, the count as text
        base = alt.Chart(alt.Data(values=rows)).encode(
            x=alt.X("stage:N", sort=stages, title=None, axis=alt.Axis(orient="top",
                                                                      labelAngle=0)),
            y=alt.Y("cohort:N", sort=list(cohorts), title=None))
        cells = base.mark_rect().encode(color=alt.Color(
            "share:Q", title="of cohort", scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(format="%")))
        text = base.mark_text(fontSize=11).encode(
            text=alt.Text("leads:Q", format=","),
            color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#1f2933")))
        height = max(60, 22 * len(cohorts))
        out["cohorts"] = _svg("cohorts", _config((cells + text).properties(width=_WIDTH - 60,
                                                               height=height)))

    rows = []
    colors = {"met": _GREEN, "breached": _RED, "pending": _AMBER, "unknown": _GREY}
    for h in report["handoffs"]:
        for route, f in h["routes"].items():
            for i, status in enumerate(colors):
                rows.append({"route": f"{h['stage']} · {route}", "status": status, "order": i,
                             "leads": f["sla"][status]})
    if rows and any(r["leads"] for r in rows):
        chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
            y=alt.Y("route:N", title=None, sort=None),
            x=alt.X("leads:Q", stack="normalize", title="share of leads",
                    axis=alt.Axis(format="%")),
            color=alt.Color("status:N", sort=list(colors), title="SLA",
                            scale=alt.Scale(domain=list(colors), range=list(colors.values()))),
            order=alt.Order("order:Q"))
        out["sla"] = _svg("sla", _config(chart.properties(width=_WIDTH - 190)))

    by = report.get("by")
    for h in report["handoffs"]:
        rej = h["rejections"]
        rows = []
        if by:
            for key, g in by.items():
                gh = next((x for x in g["handoffs"] if x["stage"] == h["stage"]), None)
                for reason, n in (gh["rejections"]["reasons"] if gh else {}).items():
                    rows.append({"reason": _label(reason, reason in rej["off_list"]),
                                 "group": key, "leads": n})
            # one colour per key, the same in every handoff's chart; the legend lists
            # only the keys this chart shows
            shown = {r["group"] for r in rows}
            color = alt.Color("group:N", title=report.get("by_field"), sort=list(by),
                              scale=alt.Scale(domain=list(by), scheme="tableau20"),
                              legend=alt.Legend(values=[k for k in by if k in shown]))
        else:
            for reason, n in rej["reasons"].items():
                off = reason in rej["off_list"]
                rows.append({"reason": _label(reason, off), "group":
                             "off-list" if off else "agreed", "leads": n})
            color = alt.Color("group:N", title="reason",
                              scale=alt.Scale(domain=["agreed", "off-list"],
                                              range=[_BLUE, _RED]))
        if rows:
            order = [_label(r, r in rej["off_list"]) for r in rej["reasons"]]
            chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
                y=alt.Y("reason:N", title=None, sort=order),
                x=alt.X("leads:Q", **_count_axis(max(rej["reasons"].values()),
                                                 "rejected leads")),
                color=color)
            key = f"rejections-{h['stage']}"
            out[key] = _svg(key, _config(chart.properties(width=_WIDTH - 160)))

    rows = []
    for v in report["velocity"]:
        pair = f"{v['from']} → {v['to']}"
        for what in ("median_days", "p90_days"):
            if v[what] is not None:
                rows.append({"pair": pair, "measure": what.replace("_days", ""),
                             "days": v[what]})
    if rows:
        chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
            y=alt.Y("pair:N", title=None, sort=None),
            yOffset=alt.YOffset("measure:N", sort=["median", "p90"]),
            x=alt.X("days:Q", title="days"),
            color=alt.Color("measure:N", sort=["median", "p90"], title=None,
                            scale=alt.Scale(range=[_BLUE, "#99b3d9"])))
        out["velocity"] = _svg("velocity", _config(chart.properties(width=_WIDTH - 100)))

    for name, s in report["scores"].items():
        rows = [{"from": b["from"], "to": b["to"], "leads": b["count"]} for b in s["histogram"]]
        if not rows:
            continue
        bars = alt.Chart(alt.Data(values=rows)).mark_bar(color=_BLUE, binSpacing=1).encode(
            x=alt.X("from:Q", bin="binned", title=name), x2="to:Q",
            y=alt.Y("leads:Q", **_count_axis(max(r["leads"] for r in rows), "leads")))
        layers = [bars]
        if s["thresholds"]:
            marks = [{"threshold": t, "label": f"gate {t}"} for t in s["thresholds"]]
            rule = alt.Chart(alt.Data(values=marks)).mark_rule(
                color=_RED, strokeWidth=2, strokeDash=[5, 3]).encode(x="threshold:Q")
            text = alt.Chart(alt.Data(values=marks)).mark_text(
                color=_RED, align="left", dx=4, dy=-4, baseline="top", y=0).encode(
                x="threshold:Q", text="label:N")
            layers += [rule, text]
        out[f"score-{name}"] = _svg(f"score-{name}", _config(alt.layer(*layers).properties(
            width=_WIDTH - 60, height=180)))
    return out


def _count_axis(top: int, title: str, **kw: Any) -> dict[str, Any]:
    """The ``title``/``axis``/``scale`` of a count axis: whole numbers only, so that a
    chart of one or two leads does not label 0.5 as "1" twice (every integer up to 10 is
    a tick; above that Vega's own ticks, at least one apart)."""
    import altair as alt

    if top <= 10:
        return {"title": title, "axis": alt.Axis(values=list(range(top + 1)), format="d"),
                "scale": alt.Scale(domain=[0, max(top, 1)]), **kw}
    return {"title": title, "axis": alt.Axis(tickMinStep=1, format=",d"), **kw}


def _label(reason: str, off: bool) -> str:
    return f"{reason} (off-list)" if off else reason
