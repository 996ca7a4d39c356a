"""The benchmark's baseline: the Halyard Data policy of ``rules/`` written by hand in Python.

:func:`decide` is what a competent engineer would write for speed if there were no
policy language: the rules of ``rules/*.funnel`` read off the page and typed in as
plain Python (locals, direct ``dict`` access, frozensets, no interpretation), with
the semantics of spec section 4 (``/work/shared/spec/LANGUAGE.md``). It returns the
decision as the dict that ``Decision.to_dict()`` gives, key for key, so the
benchmark compares like with like and ``tests/test_bench_handwritten.py`` can use it
as an independent cross-check of the engine.

It does no validation: a lead is assumed to be valid against ``rules/lead.schema.json``
(a JSON object, every field of its schema type, every timestamp parseable). Like any
hand-writer it uses libraries for the hard parts: :func:`policy.model.calendar.make_calendar`
for business time and :mod:`policy.engine.timestamps` to read and print instants.

Nothing runs before it. The one thing taken from the engine is the policy's digest
(spec section 5), computed once at import by :func:`policy_info` from ``rules/``: it
names the policy version this function implements, and no per-lead work depends on it.
If ``rules/`` changes meaning, this file is stale, and the cross-check test says so.
"""

from __future__ import annotations

import json
from pathlib import Path

from policy.engine.timestamps import format_timestamp, parse_timestamp
from policy.model.calendar import make_calendar

__all__ = ["CALENDAR", "POLICY", "RULES", "decide", "policy_info"]

#: The policy this module implements.
RULES = Path(__file__).resolve().parent.parent / "rules"

#: Sales development's working time in Chicago (policy.funnel, `calendar`).
CALENDAR = make_calendar(
    timezone="America/Chicago",
    workdays=("mon", "tue", "wed", "thu", "fri"),
    start_minute="08:30",
    end_minute="17:30",
    holidays=("2026-11-26", "2026-11-27", "2026-12-24", "2026-12-25", "2026-12-31",
              "2027-01-01"),
)

#: The EMEA SDR desk's working time in Berlin (policy.funnel, `calendar emea_sdr`): the
#: "emea-sdr" route counts its SLA and escalation on it.
BERLIN = make_calendar(
    timezone="Europe/Berlin",
    workdays=("mon", "tue", "wed", "thu", "fri"),
    start_minute="09:00",
    end_minute="18:00",
    holidays=("2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01"),
)

_HOUR = 3_600_000_000
_DAY = 86_400_000_000
_BUSINESS_DAY = CALENDAR.day_us  # nine working hours

# Durations of handoffs.funnel, in microseconds (business time where it says so).
_SDR_SLA = 2 * _HOUR
_SDR_ESCALATE = 4 * _HOUR
_AE_SLA = 2 * _BUSINESS_DAY
_AE_ESCALATE = 3 * _BUSINESS_DAY
# Half-lives of scoring.funnel (fixed time: a day is 86,400 s).
_FIT_HALF_LIFE = 180 * _DAY
_INTENT_HALF_LIFE = 14 * _DAY
# Recycle thresholds of handoffs.funnel: `days_since(t) > N` is `as_of - t > N days`.
_MQL_COLD = 30 * _DAY
_STALLED = 45 * _DAY

# The `define`s of policy.funnel and the lists inside scores and handoffs.
def _list_file(name: str) -> frozenset[str]:
    """A `lines` list of policy.funnel, read as the spec says: trimmed lines, no blanks,
    no `#` comments (a hand-writer reads the same files the policy names)."""
    text = (RULES / "lists" / name).read_text("utf-8-sig")
    entries = (line.strip() for line in text.split("\n"))
    return frozenset(e for e in entries if e and not e.startswith("#"))


_FREE_MAIL = _list_file("free_email_domains.txt")
_COMPETITOR_DOMAINS = _list_file("competitor_domains.txt")
_INTERNAL = frozenset(["halyard.io", "halyard-data.com"])
_CONSENT = frozenset(["GB", "IE", "DE", "NL", "FR", "BE", "LU", "AT", "DK", "SE", "FI", "ES",
                      "PT", "IT", "PL"])
_SALES_COUNTRIES = frozenset(["US", "CA", "GB", "IE", "DE", "NL", "AU"])
_EMEA = frozenset(["GB", "IE", "DE", "NL", "FR", "BE", "LU", "AT", "CH", "DK", "SE", "NO", "FI",
                   "ES", "PT", "IT", "PL", "IL", "AE", "ZA"])
_CORE_INDUSTRIES = frozenset(["software", "fintech", "e-commerce", "healthcare", "media"])
_NON_BUYERS = frozenset(["student", "job_seeker", "press"])
_DATA_TEAMS = frozenset(["data", "engineering", "analytics"])
_NAMED_TIERS = frozenset(["tier1", "tier2"])
# `contains` ignores case; the needles are already folded.
_WAREHOUSES = frozenset(["snowflake", "databricks", "bigquery", "redshift"])

# Rejection reasons, kept as lists for the violation message (it prints them in order).
_SDR_REASONS = ["not a fit", "no budget", "no active project", "bad timing", "duplicate",
                "unreachable", "wrong contact"]
_AE_REASONS = ["no budget confirmed", "no decision maker", "timeline too long", "not a fit",
               "duplicate opportunity"]
_SDR_REASON_SET = frozenset(_SDR_REASONS)
_AE_REASON_SET = frozenset(_AE_REASONS)
_SDR_AGREED_TEXT = ", ".join(json.dumps(r, ensure_ascii=False) for r in _SDR_REASONS)
_AE_AGREED_TEXT = ", ".join(json.dumps(r, ensure_ascii=False) for r in _AE_REASONS)

_DISQUALIFIED_REASON = "never a buyer: competitor, student, job seeker or press"
_COLD_REASON = "MQL went cold before anyone accepted it"
_STALLED_REASON = "stalled: no buyer activity for 45 days"
_LOST_REASON = "closed-lost: back to marketing nurture"


def policy_info(rules: Path = RULES) -> dict:
    """The ``policy`` member of every decision: name, version and the digest of ``rules``.

    The name and version are the ones this function was written for; the digest is the
    engine's (spec section 5), because no hand-writer re-implements the canonical printer.
    """
    from policy.model.loader import load_model
    from policy.syntax.formatter import policy_digest

    model = load_model(rules).model
    if model is None:
        raise RuntimeError(f"{rules} does not parse; the hand-written function has no policy")
    return {"name": "halyard_inbound", "version": "2026.12.0", "digest": policy_digest(model)}


#: What every decision says about the policy (a fresh copy goes into each decision).
POLICY = policy_info()
_NAME, _VERSION, _DIGEST = POLICY["name"], POLICY["version"], POLICY["digest"]

# `as_of` is the same for a whole batch: print it once per distinct instant.
_AS_OF_TEXT: dict[int, str] = {}


def _round(x: float) -> int:
    """Nearest integer, halves away from zero (spec section 4, step 2)."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def _ts(us: int | None) -> str | None:
    return None if us is None else format_timestamp(us)


def _sla(start: int | None, stop: int | None, amount: int, escalate_after: int,
         escalate_to: str, as_of: int, calendar=CALENDAR) -> tuple[dict, str | None]:
    """The ``sla`` member of a handoff and its escalation target (or None)."""
    if start is None:
        return {"status": "unknown", "start": None, "due": None, "stop": _ts(stop)}, None
    due = calendar.add_business(start, amount)
    if stop is not None:
        status = "met" if stop <= due else "breached"
        escalated = None
    else:
        status = "breached" if as_of > due else "pending"
        escalated = (escalate_to if as_of > calendar.add_business(start, escalate_after)
                     else None)
    return ({"status": status, "start": format_timestamp(start), "due": format_timestamp(due),
             "stop": _ts(stop)}, escalated)


def _earliest(a: str | None, b: str | None) -> int | None:
    """The earliest present one of two `until` timestamps, as an instant."""
    if a is None:
        return None if b is None else parse_timestamp(b)
    ta = parse_timestamp(a)
    if b is None:
        return ta
    tb = parse_timestamp(b)
    return ta if ta <= tb else tb


def decide(lead: dict, as_of_us: int) -> dict:
    """Decide one valid Halyard Data lead at ``as_of_us`` (µs since the epoch, UTC).

    Returns exactly what ``policy.load("rules").evaluate(lead, as_of=…).to_dict()``
    returns for a lead that passes validation.
    """
    get = lead.get
    company = get("company")
    if company is not None:
        employees = company.get("employees")
        revenue = company.get("annual_revenue")
        industry = company.get("industry")
        tier = company.get("abm_tier")
        stack = company.get("tech_stack")
        is_customer = company.get("is_customer") is True
        enriched = company.get("enriched_at")
    else:
        employees = revenue = industry = tier = stack = enriched = None
        is_customer = False
    email = get("email")
    domain = email.rsplit("@", 1)[1].lower() if email is not None and "@" in email else None
    country = get("country")
    level = get("job_level")
    enterprise = ((employees is not None and employees >= 2000)
                  or (revenue is not None and revenue >= 250_000_000))

    # ---- fit: who they are
    fit = 0
    if level == "c-level" or level == "vp":
        fit = 25
    elif level == "director":
        fit = 15
    elif level == "manager":
        fit = 5
    if get("department") in _DATA_TEAMS:
        fit += 15
    if enterprise:
        fit += 20
    elif employees is not None and employees >= 200:  # mid-market: 200+ and not enterprise
        fit += 10
    if industry in _CORE_INDUSTRIES:
        fit += 10
    if stack:
        for tech in stack:
            if type(tech) is str and tech.lower() in _WAREHOUSES:
                fit += 10
                break
    if country in _SALES_COUNTRIES:
        fit += 10
    if domain in _FREE_MAIL:
        fit -= 30
    # Decay multiplies by a factor in (0, 1], so a sum at or below 0 ends at the floor 0.
    if fit <= 0:
        fit = 0
    else:
        if enriched is not None:
            since = parse_timestamp(enriched)
            if since <= as_of_us:
                fit = fit * 0.5 ** ((as_of_us - since) / _FIT_HALF_LIFE)
        fit = _round(fit)
        if fit > 100:
            fit = 100

    # ---- intent: what they did lately
    demo = get("demo_requested") is True
    contact = get("contact_sales_requested") is True
    intent = 0
    if demo:
        intent = 30
    if contact:
        intent += 30
    if get("trial_started_at") is not None:
        intent += 20
    count = get("pricing_page_visits")
    if count:
        intent += 5 * count if count < 4 else 20
    count = get("webinars_attended")
    if count:
        intent += 4 * count if count < 3 else 12
    count = get("content_downloads")
    if count:
        intent += 2 * count if count < 5 else 10
    if get("email_bounced") is True:
        intent -= 15
    last_activity_raw = get("last_activity_at")
    last_activity = None if last_activity_raw is None else parse_timestamp(last_activity_raw)
    if intent <= 0:
        intent = 0
    else:
        if last_activity is not None and last_activity <= as_of_us:
            intent = intent * 0.5 ** ((as_of_us - last_activity) / _INTENT_HALF_LIFE)
        intent = _round(intent)
        if intent > 100:
            intent = 100

    # ---- gates, in funnel order; the first that fails gives the next step
    competitor = get("competitor") is True or domain in _COMPETITOR_DOMAINS
    not_a_buyer = get("lead_type") in _NON_BUYERS
    unsubscribed = get("unsubscribed") is True
    consent_ok = ((country is not None and country not in _CONSENT)
                  or get("marketing_consent") is True)
    internal = domain in _INTERNAL
    mql_at = get("mql_at")
    nxt: dict | None
    if email is None or unsubscribed or not consent_ok or internal:
        reached = None
        unmet = []
        if email is None:
            unmet.append("no email address")
        if unsubscribed:
            unmet.append("unsubscribed contacts are never worked")
        if not consent_ok:
            unmet.append("EU and UK contacts need recorded marketing consent")
        if internal:
            unmet.append("our own staff and test sign-ups")
        nxt = {"stage": "inquiry", "unmet": unmet}
    else:
        fit_ok = fit >= 45
        intent_ok = intent >= 35 or demo or contact
        dnc = get("do_not_contact") is True
        if (competitor or not_a_buyer or is_customer or dnc
                or (not (fit_ok and intent_ok) and mql_at is None)):
            reached = "inquiry"
            unmet = []
            # while `keep when mql_at is present` holds, failing requires are not listed
            if not fit_ok and mql_at is None:
                unmet.append("fit below 45: not our buyer profile")
            if not intent_ok and mql_at is None:
                unmet.append("not enough recent buying intent")
            if competitor:
                unmet.append("competitors never qualify")
            if not_a_buyer:
                unmet.append("students, job seekers and press are not buyers")
            if is_customer:
                unmet.append("existing customers belong to account management")
            if dnc:
                unmet.append("not do_not_contact")
            nxt = {"stage": "mql", "unmet": unmet}
        else:
            accepted = get("accepted_at") is not None
            owner = get("sdr_owner") is not None
            if not (accepted and owner):
                reached = "mql"
                unmet = []
                if not accepted:
                    unmet.append("an SDR has not accepted it yet")
                if not owner:
                    unmet.append("accepted without an SDR owner")
                nxt = {"stage": "sal", "unmet": unmet}
            else:
                bant = get("bant")
                if bant is not None:
                    budget = bant.get("budget") is True
                    authority = bant.get("authority") is True
                    need = bant.get("need") is True
                    months = bant.get("timeline_months")
                    soon = months is not None and months <= 6
                else:
                    budget = authority = need = soon = False
                if not (budget and authority and need and soon) and get("sql_at") is None:
                    reached = "sal"
                    unmet = []
                    if get("sql_at") is None:  # `keep when sql_at is present`
                        if not budget:
                            unmet.append("no confirmed budget")
                        if not authority:
                            unmet.append("not yet talking to someone who can sign")
                        if not need:
                            unmet.append("no confirmed pipeline-reliability problem")
                        if not soon:
                            unmet.append("buying more than six months out")
                    nxt = {"stage": "sql", "unmet": unmet}
                else:
                    opened = get("opp_created_at") is not None
                    amount = get("opp_amount")
                    big_enough = amount is not None and amount >= 15_000
                    if not (opened and big_enough):
                        reached = "sql"
                        unmet = []
                        if not opened:
                            unmet.append("no opportunity opened yet")
                        if not big_enough:
                            unmet.append(
                                "below the 15,000 annual-contract floor for an AE-led deal")
                        nxt = {"stage": "opportunity", "unmet": unmet}
                    else:
                        reached = "opportunity"
                        nxt = None

    # ---- handoffs that apply: mql -> sdr from mql on, sql -> sales from sql on
    handoffs: list[dict] = []
    violations: list[dict] = []
    placed = reason = None
    mql_start = None
    if reached is not None and reached != "inquiry":
        if tier in _NAMED_TIERS:
            route = "strategic-sdr"
        elif country in _EMEA:
            route = "emea-sdr"
        elif enterprise:
            route = "enterprise-sdr"
        else:
            route = "velocity-sdr"
        mql_start = None if mql_at is None else parse_timestamp(mql_at)
        if mql_start is None:
            violations.append({"code": "missing_sla_start", "message":
                               "the SLA of the mql handoff cannot start: `mql_at` is missing"})
        sla, escalate_to = _sla(mql_start, _earliest(get("accepted_at"), get("rejected_at")),
                                _SDR_SLA, _SDR_ESCALATE, "sdr-managers", as_of_us,
                                BERLIN if route == "emea-sdr" else CALENDAR)
        why = get("rejection_reason")
        if why is not None:
            placed, reason = "nurture", why
            if why not in _SDR_REASON_SET:
                violations.append({"code": "invalid_rejection_reason", "message":
                                   f"rejection reason {json.dumps(why, ensure_ascii=False)} "
                                   f"is not one of the agreed reasons: {_SDR_AGREED_TEXT}"})
        handoffs.append({"stage": "mql", "team": "sdr", "route": route, "sla": sla,
                         "escalate_to": escalate_to, "rejected": why is not None,
                         "rejection_reason": why})

        if reached == "sql" or reached == "opportunity":
            if tier in _NAMED_TIERS or enterprise:
                route = "strategic-ae"
            elif country in _EMEA:
                route = "emea-commercial-ae"
            else:
                route = "commercial-ae"
            sql_at = get("sql_at")
            start = None if sql_at is None else parse_timestamp(sql_at)
            if start is None:
                violations.append({"code": "missing_sla_start", "message":
                                   "the SLA of the sql handoff cannot start: `sql_at` is missing"})
            sla, escalate_to = _sla(start, _earliest(get("opp_created_at"),
                                                     get("ae_rejected_at")),
                                    _AE_SLA, _AE_ESCALATE, "sales-directors", as_of_us)
            why = get("ae_rejection_reason")
            if why is not None:
                placed, reason = "requalify", why  # the deeper handoff's rejection wins
                if why not in _AE_REASON_SET:
                    violations.append({"code": "invalid_rejection_reason", "message":
                                       f"rejection reason {json.dumps(why, ensure_ascii=False)} "
                                       f"is not one of the agreed reasons: {_AE_AGREED_TEXT}"})
            handoffs.append({"stage": "sql", "team": "sales", "route": route, "sla": sla,
                             "escalate_to": escalate_to, "rejected": why is not None,
                             "rejection_reason": why})

    # ---- placement: a rejection, else the first recycle rule for the reached stage
    if placed is None:
        placed = reached
        if reached == "inquiry":
            if competitor or not_a_buyer:
                placed, reason = "disqualified", _DISQUALIFIED_REASON
        elif reached == "mql":
            if intent < 10 and mql_start is not None and as_of_us - mql_start > _MQL_COLD:
                placed, reason = "nurture", _COLD_REASON
        elif reached == "sal" or reached == "sql":
            if last_activity is not None and as_of_us - last_activity > _STALLED:
                placed, reason = "nurture", _STALLED_REASON
        elif reached == "opportunity" and get("opp_status") == "closed_lost":
            placed, reason = "nurture", _LOST_REASON

    as_of_text = _AS_OF_TEXT.get(as_of_us)
    if as_of_text is None:
        as_of_text = format_timestamp(as_of_us)
        if len(_AS_OF_TEXT) < 1024:
            _AS_OF_TEXT[as_of_us] = as_of_text
    return {
        "lead": get("lead_id"),
        "policy": {"name": _NAME, "version": _VERSION, "digest": _DIGEST},
        "as_of": as_of_text,
        "stage": placed,
        "reached": reached,
        "reason": reason,
        "scores": {"fit": fit, "intent": intent},
        "next": nxt,
        "handoffs": handoffs,
        "violations": violations,
    }
