"""Leads for the policies of ``spec_policies``: most of them valid, each field missing or
an edge value of its kind (numbers at ±0, 1e308, halves and past 2^53; texts that need
Unicode lower-casing; timestamps in every lenient form, in DST gaps and folds, far
years), some with one fault (null, the wrong kind, a timestamp that does not parse, an
object above a path that is null or not an object), a few with faults anywhere.
"""

from __future__ import annotations

import random

from spec_policies import DATES, EMAILS, NUMBERS, REASONS, TEXTS, TIMESTAMPS, Fields

__all__ = ["spec_leads"]

# --------------------------------------------------------------------------- leads


_GOOD_TS = tuple(t for t in TIMESTAMPS if t[:4].isdigit() and t[4:5] == "-" and len(t) > 10
                 and "24:00:00" not in t and ":60" not in t and ",5" not in t
                 and "+24" not in t and "+05:60" not in t and not t.endswith(" ")
                 and "T1:" not in t and " +" not in t and "+053" not in t
                 and not t.startswith("0000") and "T10Z" not in t and "+1" != t[-2:]
                 and ".Z" not in t and "\u0663" not in t and "02-29T10" not in t
                 and " Z" not in t and "\uff12" not in t)


def _value(rng: random.Random, kind: str, fault: bool) -> object:
    if fault:
        r = rng.random()
        if r < 0.4:
            return None
        if r < 0.7 and kind in ("timestamp", "date"):
            return rng.choice(TIMESTAMPS + DATES)
        return rng.choice((1, "1", True, [], {}, "2026-12-01T10:00:00Z", 2.5, ["a"], {"a": 1}))
    if kind == "number":
        return rng.choice(NUMBERS)
    if kind == "string":
        return rng.choice(TEXTS + EMAILS)
    if kind == "reason":
        return rng.choice(REASONS)
    if kind == "bool":
        return rng.choice((True, False))
    if kind == "timestamp":
        return rng.choice(_GOOD_TS)
    if kind == "date":
        return rng.choice(("2026-12-01", "2024-02-29", "0001-01-01", "9999-12-31", "2026-11-26"))
    return rng.sample(TEXTS, rng.randint(0, 3))


def spec_leads(rng: random.Random, fields: Fields, n: int) -> list[dict]:
    """``n`` leads for a policy reading ``fields``: most of them valid (each field
    missing or an edge value of its kind), some with one fault (null, the wrong kind, a
    timestamp that does not parse, an object above a path that is null or not an
    object), a few with faults anywhere."""
    out = []
    kinds = fields.kinds()
    for i in range(n):
        lead: dict = {}
        if fields.id_keys is not None:
            node = lead
            for key in fields.id_keys[:-1]:
                node = node.setdefault(key, {})
            node[fields.id_keys[-1]] = f"L{i}"
        mode = rng.random()
        chaos = mode < 0.1
        faulty = rng.choice(list(kinds)) if 0.1 <= mode < 0.35 and kinds else None
        for keys, kind in kinds.items():
            if rng.random() < 0.15:
                continue  # missing
            fault = keys == faulty or (chaos and rng.random() < 0.2)
            node = lead
            broken = False
            for key in keys[:-1]:
                if key not in node:
                    if fault and rng.random() < 0.2:
                        node[key] = rng.choice((None, 1, "x"))
                        broken = True
                        break
                    if rng.random() < 0.06:  # (session 18) a null object above the field
                        node[key] = None
                        broken = True
                        break
                    node[key] = {}
                node = node[key]
                if not isinstance(node, dict):
                    broken = True
                    break
            if not broken:
                # (session 18) an explicit null as often as a missing key, at every depth
                null = not fault and rng.random() < 0.1
                node[keys[-1]] = None if null else _value(rng, kind, fault)
        if chaos and rng.random() < 0.2 and "lead_id" in lead:
            lead["lead_id"] = rng.choice((None, 7, "İ", ""))
        out.append(lead)
    return out
