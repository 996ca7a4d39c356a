#!/usr/bin/env python3
"""Generate realistic, seeded sample leads for the Halyard Data example policy.

    python rules/generate_leads.py                         # 1000 leads -> rules/leads.jsonl
    python rules/generate_leads.py --count 100000 --seed 7 --out /tmp/leads.jsonl

or, from Python (the benchmark does this)::

    from generate_leads import generate
    for lead in generate(1_000_000, seed=42): ...

The output depends only on ``count`` and ``seed``: every timestamp is relative to a
fixed reference instant (``REFERENCE``), never to the clock, dictionaries are built
in one fixed key order and written as compact JSON, so the same arguments always give
the same bytes.

What the sample holds, roughly:

* company sizes log-normal (median ~150 employees, a long enterprise tail); job levels,
  departments, industries and countries weighted like a real inbound database;
* about one lead in six on a free-mail address, a few without any email;
* activity (webinars, downloads, pricing-page visits, demo and contact-sales requests,
  trials) from days to months before the reference date, so intent decay matters;
* six months of inquiries (``created_at``), a little more each month;
* paid-social MQLs mostly rejected as "not a fit", and the EMEA desk's Monday MQLs left
  until Tuesday (SLA breaches), so that ``funnel report`` has something to show;
* about a quarter handed to sales development (``mql_at``), then accepted or rejected
  (mostly with an agreed reason, a few off-list), some qualified (BANT, ``sql_at``),
  some with opportunities that are open, won or lost;
* optional fields sometimes absent and sometimes ``null``;
* exactly one lead in every 200 (0.5%) invalid on purpose: a missing required field or
  a wrong type, so that refusals show up in ``funnel eval`` output.
"""

from __future__ import annotations

import argparse
import json
import sys
from bisect import bisect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random

# The sample's "now": every timestamp is at or before this instant. Examples in
# examples.funnel are evaluated at the same instant; use `--as-of 2026-12-01T16:00:00Z`.
REFERENCE = datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC)

INVALID_EVERY = 200  # one invalid lead in each block of 200: 0.5%

DEFAULT_OUT = Path(__file__).resolve().parent / "leads.jsonl"

# ---------------------------------------------------------------------------- tables


def _weighted(pairs):
    """(values, cumulative weights, total) for fast weighted choice with bisect."""
    values = tuple(v for v, _ in pairs)
    cum = tuple(accumulate(w for _, w in pairs))
    return values, cum, cum[-1]


JOB_LEVELS = _weighted([("ic", 34), ("manager", 27), ("director", 18), ("vp", 10),
                        ("c-level", 5), (None, 6)])
TITLES = {
    "ic": ("Data Engineer", "Analytics Engineer", "Data Analyst", "Software Engineer",
           "BI Developer", "Platform Engineer"),
    "manager": ("Data Engineering Manager", "Analytics Manager", "BI Manager",
                "Engineering Manager", "Marketing Manager"),
    "director": ("Director of Data", "Director of Analytics", "Director, Data Engineering",
                 "Head of BI", "Director of Engineering"),
    "vp": ("VP Data", "VP Engineering", "VP Analytics", "Head of Data", "VP Data Platform"),
    "c-level": ("Chief Data Officer", "CTO", "CIO", "Chief Analytics Officer"),
    None: ("", "Consultant", "Student"),
}
DEPARTMENTS = _weighted([("data", 30), ("engineering", 22), ("analytics", 14), ("it", 10),
                         ("finance", 5), ("marketing", 7), ("operations", 5), ("other", 4),
                         (None, 3)])
LEAD_TYPES = _weighted([("prospect", 88), ("partner", 3), ("student", 3), ("job_seeker", 2),
                        ("press", 1), (None, 3)])
COUNTRIES = _weighted([("US", 44), ("CA", 5), ("GB", 9), ("DE", 6), ("NL", 3), ("FR", 3),
                       ("IE", 1), ("SE", 1), ("ES", 2), ("IT", 2), ("CH", 1), ("PL", 1),
                       ("AU", 3), ("IN", 6), ("BR", 4), ("MX", 2), ("SG", 2), ("JP", 2),
                       ("IL", 1), ("ZA", 1), (None, 3)])
# The countries the policy routes to the EMEA desks (`emea_countries` in policy.funnel).
EMEA = frozenset(["GB", "IE", "DE", "NL", "FR", "BE", "LU", "AT", "CH", "DK", "SE", "NO", "FI",
                  "ES", "PT", "IT", "PL", "IL", "AE", "ZA"])
CONSENT_COUNTRIES = frozenset(["GB", "IE", "DE", "NL", "FR", "BE", "LU", "AT", "DK", "SE",
                               "FI", "ES", "PT", "IT", "PL"])
SOURCES = _weighted([("organic", 24), ("paid_search", 17), ("paid_social", 14), ("webinar", 13),
                     ("event", 8), ("content", 12), ("referral", 5), ("partner", 3),
                     ("outbound", 4), (None, 1)])
CAMPAIGNS = ("2026-q4-observability-report", "2026-q4-webinar-series", "brand-search",
             "competitor-conquest", "dbt-coalesce-2026", "snowflake-summit-followup",
             "pipeline-reliability-guide", "trial-nurture")
INDUSTRIES = _weighted([("software", 24), ("fintech", 10), ("e-commerce", 9), ("healthcare", 8),
                        ("media", 6), ("logistics", 6), ("manufacturing", 8), ("retail", 7),
                        ("education", 5), ("public_sector", 3), ("telecom", 4), ("other", 8),
                        (None, 2)])
TECH = ("snowflake", "databricks", "bigquery", "redshift", "dbt", "airflow", "fivetran",
        "looker", "tableau", "kafka", "postgres", "spark")
FREE_MAIL = _weighted([("gmail.com", 60), ("yahoo.com", 10), ("hotmail.com", 8),
                       ("outlook.com", 10), ("icloud.com", 5), ("proton.me", 2), ("gmx.de", 3),
                       ("web.de", 2)])
FIRST = ("Priya", "Marcus", "Julia", "Sam", "Dana", "Chen", "Olivia", "Raj", "Mia", "Lucas",
         "Noor", "Kwame", "Elena", "Tom", "Aisha", "Hiro", "Sofia", "Mateo", "Ingrid", "Ben",
         "Fatima", "Liam", "Yuki", "Grace", "Omar", "Anna", "Diego", "Chloe", "Ravi", "Zoe")
LAST = ("Raman", "Lee", "Hoffmann", "Ortiz", "Kim", "Wei", "Chen", "Patel", "Walsh", "Moreau",
        "Haddad", "Osei", "Lindqvist", "Becker", "Khan", "Tanaka", "Rossi", "Santos", "Berg",
        "Okafor", "Nguyen", "Murphy", "Sato", "Clarke", "Farouk", "Novak", "Reyes", "Dubois",
        "Iyer", "Fischer")
CO_A = ("Corvid", "Bright", "Kranich", "Tiny", "Quarry", "Atlas", "Crest", "Meridian",
        "North", "Vantage", "Field", "Pine", "Copper", "Tall", "Oak", "Lumen", "Harbor",
        "Shamrock", "Nord", "Erable", "Blue", "Iron", "Silver", "Summit", "River", "Cedar")
CO_B = ("freight", "ledger", "shop", "loop", "works", "grid", "line", "bank", "star", "cloud",
        "peak", "media", "mill", "grass", "pay", "view", "health", "logix", "data", "labs",
        "retail", "foods", "systems", "energy")
CO_TLD = _weighted([("com", 70), ("io", 10), ("co", 5), ("de", 4), ("co.uk", 4), ("nl", 2),
                    ("fr", 2), ("ca", 2), ("com.au", 1)])
REJECT_AGREED = ("not a fit", "no budget", "no active project", "bad timing", "duplicate",
                 "unreachable", "wrong contact")
REJECT_OFF_LIST = ("not interested", "spam", "N/A", "call later??")
AE_REJECT_AGREED = ("no budget confirmed", "no decision maker", "timeline too long",
                    "not a fit", "duplicate opportunity")
AE_REJECT_OFF_LIST = ("bad lead", "other")
SDRS = ("m.okafor", "j.alvarez", "t.brooks", "s.berg", "h.clarke", "a.ferreira")
AES = ("d.fischer", "r.osei", "l.moreau", "k.tanaka")

# Timestamps: seconds since BASE, formatted through two lookup tables (fast and exact).
_DAYS_BEFORE = 800
BASE = REFERENCE.replace(hour=0, minute=0, second=0) - timedelta(days=_DAYS_BEFORE)
_REF_S = int((REFERENCE - BASE).total_seconds())
BASE_WEEKDAY = BASE.weekday()
SPAN_DAYS = 183  # six months of inquiries before REFERENCE
_DAY_STR = tuple((BASE + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(_DAYS_BEFORE + 2))
_TOD_STR = tuple(f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86400))
DAY = 86400
HOUR = 3600


def _ts(sec: int) -> str:
    d, s = divmod(sec, DAY)
    return _DAY_STR[d] + _TOD_STR[s]


# ---------------------------------------------------------------------------- generator


def generate(count: int = 1000, seed: int = 42) -> Iterator[dict]:
    """Yield ``count`` lead dicts, deterministically for a given ``seed``."""
    rng = Random(seed)
    rnd = rng.random
    randrange = rng.randrange
    lognorm = rng.lognormvariate
    expo = rng.expovariate
    sample = rng.sample

    def pick(table):
        values, cum, total = table
        return values[bisect(cum, rnd() * total)]

    def choice(seq):
        return seq[int(rnd() * len(seq))]

    def working_instant(not_before: int, mean_delay: float) -> int:
        """An instant after ``not_before``, biased to US working hours (13:00-23:00Z)."""
        t = not_before + int(expo(1.0 / mean_delay))
        if rnd() < 0.8:
            day, sec = divmod(t, DAY)
            if not 13 * HOUR <= sec < 23 * HOUR:
                t = day * DAY + 13 * HOUR + randrange(10 * HOUR)
                if t < not_before:
                    t += DAY
        return t

    invalid_at = -1
    for i in range(count):
        if i % INVALID_EVERY == 0:
            invalid_at = i + randrange(INVALID_EVERY)

        # ---- who and where
        level = pick(JOB_LEVELS)
        first = choice(FIRST)
        last = choice(LAST)
        country = pick(COUNTRIES)
        employees = max(1, int(lognorm(5.0, 1.6)))
        name = choice(CO_A) + choice(CO_B)
        co_domain = name.lower() + "." + pick(CO_TLD)
        u = rnd()
        if u < 0.16:
            email = f"{first.lower()}.{last.lower()}{randrange(10, 99)}@{pick(FREE_MAIL)}"
        elif u < 0.18:
            email = None  # badge scans and imports without an address
        else:
            email = f"{first[0].lower()}.{last.lower()}@{co_domain}"
        if u >= 0.18 and rnd() < 0.003:
            email = f"qa+{randrange(1000)}@halyard.io"  # staff test sign-ups

        # six months of inquiries, a few more each month than the month before
        created = _REF_S - int(rnd() ** 1.15 * SPAN_DAYS * DAY)
        lead = {"lead_id": f"HAL-{i + 1:07d}", "created_at": _ts(created)}
        if email is not None or rnd() < 0.5:
            lead["email"] = email
        lead["first_name"] = first
        lead["last_name"] = last if rnd() < 0.97 else None
        if rnd() < 0.9:
            lead["title"] = choice(TITLES[level]) or None
        lead["job_level"] = level
        lead["department"] = pick(DEPARTMENTS)
        lead_type = pick(LEAD_TYPES)
        if lead_type is not None or rnd() < 0.5:
            lead["lead_type"] = lead_type
        lead["country"] = country
        lead["source"] = pick(SOURCES)
        if rnd() < 0.6:
            lead["utm_campaign"] = choice(CAMPAIGNS)
        if country in CONSENT_COUNTRIES:
            lead["marketing_consent"] = rnd() < 0.72
        elif rnd() < 0.3:
            lead["marketing_consent"] = rnd() < 0.5 or None
        lead["unsubscribed"] = rnd() < 0.04
        if rnd() < 0.02:
            lead["do_not_contact"] = True
        if rnd() < 0.01:
            lead["competitor"] = True
        if rnd() < 0.03:
            lead["email_bounced"] = True

        # ---- company (firmographics from enrichment)
        named = False
        if rnd() < 0.04:
            lead["company"] = None
        else:
            company = {"name": name.capitalize() if rnd() < 0.5 else name,
                       "domain": co_domain}
            if rnd() < 0.93:
                company["employees"] = employees
            if rnd() < 0.6:
                company["annual_revenue"] = int(round(employees * lognorm(12.2, 0.5), -3))
            company["industry"] = pick(INDUSTRIES)
            if rnd() < 0.03:
                company["is_customer"] = True
            tier = rnd() * (1.0 if employees < 1000 else 0.25)
            company["abm_tier"] = ("tier1" if tier < 0.02 else "tier2" if tier < 0.05
                                   else "tier3" if tier < 0.09 else None)
            named = company["abm_tier"] in ("tier1", "tier2")
            if rnd() < 0.75:
                company["tech_stack"] = sample(TECH, randrange(0, 5))
            if rnd() < 0.7:
                enriched = min(created + randrange(3 * DAY), _REF_S) - randrange(30 * DAY)
                if rnd() < 0.3:
                    enriched -= randrange(240 * DAY)  # stale enrichment: fit decays
                company["enriched_at"] = _ts(max(enriched, 0))
            lead["company"] = company

        # ---- engagement
        engaged = rnd()
        webinars = int(expo(1.2)) if engaged < 0.55 else 0
        downloads = int(expo(0.7)) if engaged < 0.7 else 0
        pricing = int(expo(1.0)) if engaged < 0.45 else 0
        demo = rnd() < 0.09
        contact = rnd() < 0.05
        if webinars or rnd() < 0.5:
            lead["webinars_attended"] = webinars
        if downloads or rnd() < 0.5:
            lead["content_downloads"] = downloads
        if pricing or rnd() < 0.5:
            lead["pricing_page_visits"] = pricing
        lead["demo_requested"] = demo
        if contact or rnd() < 0.3:
            lead["contact_sales_requested"] = contact
        span = _REF_S - created
        if rnd() < 0.1:
            lead["trial_started_at"] = _ts(created + randrange(max(span // 2, 1)))
        active = webinars or downloads or pricing or demo or contact
        last_activity = None
        if active or rnd() < 0.4:
            # recent for most, weeks or months ago for a long tail: intent decay matters
            ago = min(int(expo(1 / (9.0 * DAY))), span)
            last_activity = _REF_S - ago
            lead["last_activity_at"] = _ts(last_activity)

        # ---- handoffs: marketing -> SDR -> AE
        # Paid social's gated e-books download well, so its leads score like buyers.
        social = lead["source"] == "paid_social"
        hot = (demo or contact or pricing >= 3 or webinars + downloads >= 4
               or (social and downloads >= 1))
        if rnd() < (0.75 if hot else 0.08) and level is not None:
            # marketing automation stamps mql_at within a day or two of the inquiry
            mql = working_instant(created + int(expo(1 / (1.5 * DAY))), 6 * HOUR)
            mql = max(min(mql, _REF_S - randrange(2 * HOUR)), created)
            lead["mql_at"] = _ts(mql)
            outcome = rnd()
            waiting = 0.18 if _REF_S - mql < 3 * DAY else 0.03
            # The story: SDRs accept paid-social MQLs half as often and reject them
            # "not a fit"; the EMEA desk's Monday pipeline review leaves its Monday
            # MQLs unanswered until Tuesday (Monday in Chicago, roughly UTC-6).
            accept, reject = (0.35, 0.95 - waiting) if social else (0.78 - waiting, 0.97 - waiting)
            emea_monday = (country in EMEA and not named
                           and (BASE_WEEKDAY + (mql - 6 * HOUR) // DAY) % 7 == 0)
            if outcome < accept and _REF_S - mql > HOUR:
                # accepted: mostly within the 2-business-hour SLA, a tail that is late
                if emea_monday:
                    delay = 26 * HOUR + expo(1 / (6.0 * HOUR))
                elif rnd() < 0.9:
                    delay = expo(1 / (1.0 * HOUR))
                else:
                    delay = expo(1 / (40.0 * HOUR))
                accepted = min(mql + int(delay) + 60, _REF_S)
                if rnd() < 0.01:
                    # accepted from a call list before the automation stamped mql_at:
                    # the CRM's times run backwards (the report counts it as negative)
                    accepted = mql - randrange(60, 1800)
                lead["accepted_at"] = _ts(accepted)
                lead["sdr_owner"] = choice(SDRS) if rnd() < 0.95 else None
                if rnd() < 0.6:
                    timeline = min(int(expo(1 / 4.0)), 24)
                    bant = {"budget": rnd() < 0.8, "authority": rnd() < 0.75,
                            "need": rnd() < 0.9}
                    if rnd() < 0.9:
                        bant["timeline_months"] = timeline
                    lead["bant"] = bant
                    qualified = bant["budget"] and bant["authority"] and bant["need"]
                    sql = accepted + DAY + int(expo(1 / (8.0 * DAY)))
                    if qualified and timeline <= 6 and sql <= _REF_S and rnd() < 0.8:
                        lead["sql_at"] = _ts(sql)
                        ae = rnd()
                        if ae < 0.55:
                            opp = min(sql + int(expo(1 / (30.0 * HOUR))), _REF_S)
                            lead["opp_created_at"] = _ts(opp)
                            lead["ae_owner"] = choice(AES)
                            lead["opp_amount"] = int(round(lognorm(10.4, 0.9), -2))
                            status = rnd()
                            lead["opp_status"] = ("open" if status < 0.7 else
                                                  "closed_won" if status < 0.82 else
                                                  "closed_lost")
                        elif ae < 0.65:
                            lead["ae_rejected_at"] = _ts(min(sql + randrange(3 * DAY), _REF_S))
                            lead["ae_rejection_reason"] = (
                                choice(AE_REJECT_AGREED) if rnd() < 0.9
                                else choice(AE_REJECT_OFF_LIST))
            elif outcome < reject and _REF_S - mql > HOUR:
                delay = 26 * HOUR if emea_monday else 0
                rejected = min(mql + delay + int(expo(1 / (3.0 * HOUR))) + 60, _REF_S)
                lead["rejected_at"] = _ts(rejected)
                if social and rnd() < 0.85:
                    lead["rejection_reason"] = "not a fit"
                else:
                    lead["rejection_reason"] = (choice(REJECT_AGREED) if rnd() < 0.92
                                                else choice(REJECT_OFF_LIST))
            # else: still waiting for an SDR (pending, breached or escalated)

        # ---- 0.5% invalid on purpose
        if i == invalid_at:
            kind = randrange(5)
            if kind == 0:
                del lead["lead_id"]                        # missing required field
            elif kind == 1:
                del lead["created_at"]                     # missing required field
            elif kind == 2:
                if isinstance(lead.get("company"), dict):
                    lead["company"]["employees"] = f"{employees:,}"  # "1,200": text
                else:
                    lead["company"] = {"employees": f"{employees:,}"}
            elif kind == 3:
                lead["demo_requested"] = "yes"             # boolean exported as text
            else:
                lead["webinars_attended"] = str(webinars)  # integer exported as text
        yield lead


# ---------------------------------------------------------------------------- command line


def write_jsonl(leads, out) -> int:
    """Write leads as JSONL (one compact object per line, keys in generation order)."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    n = 0
    buf = []
    for lead in leads:
        buf.append(dumps(lead))
        n += 1
        if len(buf) >= 10_000:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Generate seeded sample leads (JSONL) for the Halyard Data policy.",
        epilog="example: python rules/generate_leads.py --count 100000 --seed 7 --out /tmp/l.jsonl",
    )
    ap.add_argument("--count", type=int, default=1000, help="number of leads (default 1000)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help="output file, '-' for standard output (default rules/leads.jsonl)")
    args = ap.parse_args(argv)
    if args.count < 0:
        ap.error("--count must be 0 or more")
    if args.out == "-":
        write_jsonl(generate(args.count, args.seed), sys.stdout)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as f:
            write_jsonl(generate(args.count, args.seed), f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
