"""Realistic policies, mutated the way marketing ops edit them (twenty-second session).

The long hunt (``tests/hunt_mutants.py``) and its cheap derandomized test
(``tests/test_fuzz22_mutants.py``) share this module:

- :data:`BASES`: the realistic policies in the repository (``rules/``, the starter that
  ``funnel init`` writes, the golden SQL and docs policies) and the acme conformance
  policy (``FUNNEL_CONFORMANCE``);
- :func:`mutate`: one to three edits of a policy's text - a threshold or a weight (to 0,
  negative, a decimal, huge, ±1), a flipped comparison, ``and``/``or`` swapped, a ``not``
  added or dropped, a duration or its unit, a calendar's hours, workdays, holidays or time
  zone, an ``until`` field dropped or added, an escalation dropped or moved, a recycle
  rule dropped or its stages changed, a list entry dropped, added or recased, a route
  order or the funnel's order swapped, a ``keep when`` dropped, a ``per`` cap dropped;
  only mutants that load (``funnel check`` accepts them) are kept;
- :func:`boundary_leads`: the policy's example leads and sample leads, and leads made
  from the policy itself: every numeric literal ±0, ±1, ±0.5 in a field the policy reads
  as a number, every string literal and list entry recased or padded, missing, null,
  empty and wrong-typed fields, timestamps at every calendar window edge, on holidays,
  on daylight-saving changes and at midnight UTC, in several offset spellings;
- :func:`as_ofs`: evaluation instants at the same edges.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import policy

REPO = Path(__file__).resolve().parents[1]


def bases() -> list[Path]:
    """The realistic policies (folders or single files) that load."""
    golden = REPO / "tests" / "golden"
    out = [REPO / "rules", REPO / "cli" / "starter", golden / "sql" / "small.funnel",
           golden / "docs" / "policy"]
    acme = os.environ.get("FUNNEL_CONFORMANCE")
    if acme and Path(acme).is_dir():
        out.insert(1, Path(acme))
    return out


# ----------------------------------------------------------------------------- text


def mask(text: str) -> str:
    """``text`` with strings, backticked keys and comments blanked (same length): regexes
    over it find only code."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = "s"
            i = j + 1
        elif c == "`":
            j = text.find("`", i + 1)
            j = n if j < 0 else j
            for k in range(i + 1, j):
                out[k] = "k"
            i = j + 1
        elif c == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        else:
            i += 1
    return "".join(out)


def strings(text: str) -> list[tuple[int, int]]:
    """Spans of the string literals (quotes included) outside comments."""
    m = mask(text)
    return [(a.start(), a.end()) for a in re.finditer(r'"s*"', m)]


ZONES = ("UTC", "Europe/London", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe",
         "America/St_Johns", "Asia/Kathmandu", "Europe/Berlin", "America/Sao_Paulo",
         "Pacific/Chatham", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMES = ("00:00", "01:30", "02:00", "07:45", "08:30", "09:00", "12:00", "17:00", "17:30",
         "18:00", "23:30", "24:00")
DATES = ("2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01", "2026-11-26", "2026-11-27",
         "2026-11-30", "2026-12-01", "2026-12-02", "2026-12-05", "2026-12-25", "2027-01-01",
         "2026-02-28", "2026-06-30", "2026-04-05", "2026-09-27", "2026-10-04")
UNITS_PLAIN = ("minutes", "hours", "days", "weeks")
UNITS_BUSINESS = ("business hours", "business days")
CMPS = (">=", "<=", "==", "!=", ">", "<")


def _sub(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _pick(rng, pattern: str, text: str, masked: str | None = None, flags=0):
    found = list(re.finditer(pattern, masked if masked is not None else mask(text), flags))
    return rng.choice(found) if found else None


def _number(rng, text):
    m = _pick(rng, r"(?<![\w:.])(\d[\d_]*(?:\.\d+)?)(?![\w:])", text)
    if m is None:
        return None
    v = float(m.group(1).replace("_", ""))
    iv = int(v)
    new = rng.choice(["0", str(iv + 1), str(max(iv - 1, 0)), f"{iv}.5", str(iv * 1000),
                      "1_000_000_000_000", "0.1", f"{v / 2:g}", "0.25", "9_007_199_254_740_993"])
    before = text[:m.start(1)].rstrip(" ")
    if rng.random() < 0.2 and before and before[-1] in "+-":  # a weight's sign
        new = ("-" if before[-1] == "+" else "+")
        return _sub(text, len(before) - 1, len(before), new)
    if rng.random() < 0.15:
        new = "-" + new
    return _sub(text, m.start(1), m.end(1), new)


def _compare(rng, text):
    m = _pick(rng, r"(>=|<=|==|!=|(?<![-=])>|<)", text)
    if m is None:
        return None
    return _sub(text, m.start(), m.end(), rng.choice([c for c in CMPS if c != m.group()]))


def _andor(rng, text):
    m = _pick(rng, r"\b(and|or)\b", text)
    if m is None:
        return None
    return _sub(text, m.start(), m.end(), "or" if m.group() == "and" else "and")


def _not(rng, text):
    if rng.random() < 0.3:
        m = _pick(rng, r"\bnot (?!in\b)", text)
        if m is not None:
            return _sub(text, m.start(), m.end(), "")
    m = _pick(rng, r"^\s*(require|exclude|keep when|[+-]\s*[\d.]+ if|route \"s*\" if|"
                   r"recycle [\w, ]+ to \w+ if)\s+", text, flags=re.M)
    if m is None:
        return None
    return _sub(text, m.end(), m.end(), "not ")


def _duration(rng, text):
    m = _pick(rng, r"(\d[\d_]*(?:\.\d+)?)\s+(business hours|business days|minutes|hours|"
                   r"days|weeks)\b", text)
    if m is None:
        return None
    units = UNITS_BUSINESS if m.group(2).startswith("business") else UNITS_PLAIN
    n = rng.choice(["0", "1", "2", "3", "8", "9", "24", "30", "45", "0.5", "1.5", "100"])
    u = rng.choice(units) if rng.random() < 0.5 else m.group(2)
    return _sub(text, m.start(), m.end(), f"{n} {u}")


def _hours(rng, text):
    m = _pick(rng, r"hours \d\d:\d\d to \d\d:\d\d", text)
    if m is None:
        return None
    a, b = sorted(rng.sample(TIMES, 2))
    return _sub(text, m.start(), m.end(), f"hours {a} to {b}")


def _workdays(rng, text):
    m = _pick(rng, r"workdays( (mon|tue|wed|thu|fri|sat|sun))+", text)
    if m is None:
        return None
    days = sorted(rng.sample(DAYS, rng.randint(1, 7)), key=DAYS.index)
    return _sub(text, m.start(), m.end(), "workdays " + " ".join(days))


def _holidays(rng, text):
    m = _pick(rng, r"holidays( \"s+\")+", text)
    if m is None:
        return None
    found = re.findall(r'"[^"]+"', text[m.start():m.end()])
    r = rng.random()
    if r < 0.4 and len(found) > 1:
        found.remove(rng.choice(found))
    elif r < 0.7:
        found.append(f'"{rng.choice(DATES)}"')
    else:
        found[rng.randrange(len(found))] = f'"{rng.choice(DATES)}"'
    found = list(dict.fromkeys(found))
    return _sub(text, m.start(), m.end(), "holidays " + " ".join(found))


def _timezone(rng, text):
    m = _pick(rng, r"timezone \"s+\"", text)
    if m is None:
        return None
    return _sub(text, m.start(), m.end(), f'timezone "{rng.choice(ZONES)}"')


def _until(rng, text, stamps):
    m = _pick(rng, r"until ([\w.`k]+(?:, [\w.`k]+)*)", text)
    if m is None:
        return None
    fields = [f.strip() for f in text[m.start(1):m.end(1)].split(",")]
    if rng.random() < 0.5 and len(fields) > 1:
        fields.remove(rng.choice(fields))
    elif stamps:
        fields.append(rng.choice(stamps))
        fields = list(dict.fromkeys(fields))
    else:
        return None
    return _sub(text, m.start(), m.end(), "until " + ", ".join(fields))


def _escalate(rng, text):
    m = _pick(rng, r"^[ \t]*escalate to \"s+\" after [^\n]*\n", text, flags=re.M)
    if m is not None and rng.random() < 0.5:
        return _sub(text, m.start(), m.end(), "")
    m2 = _pick(rng, r"^([ \t]*)sla [^\n]*\n", text, flags=re.M)
    if m2 is None or m is not None:
        return None
    unit = rng.choice(("0 business hours", "1 business hours", "1 business days",
                       "3 business days", "30 minutes", "2 days"))
    return _sub(text, m2.end(), m2.end(),
                f'{m2.group(1)}escalate to "added-managers" after {unit}\n')


def _recycle(rng, text, stages):
    m = _pick(rng, r"^recycle ([\w, ]+) to (\w+) if ([^\n]*)$", text, flags=re.M)
    if m is None:
        return None
    tail = mask(text)[m.start(3):m.end(3)].rstrip()
    continues = re.search(r"(\band|\bor|\bnot|,|=|[<>+\-*/])$", tail)
    r = rng.random()
    if r < 0.35 and not continues:
        return _sub(text, m.start(), m.end() + 1, "")
    if r < 0.7 and stages:
        picked = sorted(rng.sample(stages, rng.randint(1, min(3, len(stages)))),
                        key=stages.index)
        return _sub(text, m.start(1), m.end(1), ", ".join(picked))
    if not continues and stages:  # a new rule in front: first match wins
        rule = (f"recycle {rng.choice(stages)} to {m.group(2)} if "
                f"{rng.choice(['days_since(created_at) > 0', 'true', 'lead_id is present'])}"
                f' "added"\n')
        return _sub(text, m.start(), m.start(), rule)
    return None


def _list_entry(rng, text):
    masked = mask(text)
    lists = list(re.finditer(r"\[[^\[\]]*\]", masked))
    lists = [m for m in lists if '"' in m.group()]
    if not lists:
        return None
    m = rng.choice(lists)
    body = text[m.start() + 1:m.end() - 1]
    items = [x.strip() for x in re.findall(r'"(?:[^"\\]|\\.)*"', body)]
    if not items:
        return None
    r = rng.random()
    if r < 0.35 and len(items) > 1:
        items.remove(rng.choice(items))
    elif r < 0.7:
        x = json.loads(rng.choice(items))
        items.append(json.dumps(rng.choice([x.upper(), x.title(), f" {x}", x + " ", "",
                                            "new-entry", "ß", "İ"])))
    else:
        rng.shuffle(items)
    items = list(dict.fromkeys(items))
    return _sub(text, m.start(), m.end(), "[" + ", ".join(items) + "]")


def _string_case(rng, text):
    m = _pick(rng, r"(==|!=|contains|with|\bin \[[^\]]*?)\s*\"s+\"", text)
    if m is None:
        return None
    q = mask(text).rfind('"', m.start(), m.end() - 1)
    s = json.loads(text[q:m.end()])
    new = rng.choice([s.upper(), s.capitalize(), f" {s}", f"{s} ", s.lower(), s[:-1] or "x"])
    return _sub(text, q, m.end(), json.dumps(new))


def _routes(rng, text):
    masked = mask(text)
    routes = list(re.finditer(r"^[ \t]*route \"s+\" if [^\n]*\n", masked, re.M))
    pairs = [(a, b) for a, b in zip(routes, routes[1:], strict=False) if a.end() == b.start()]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    return text[:a.start()] + text[b.start():b.end()] + text[a.start():a.end()] + text[b.end():]


def _funnel(rng, text):
    m = _pick(rng, r"^funnel (\w+(?: -> \w+)+)", text, flags=re.M)
    if m is None:
        return None
    stages = m.group(1).split(" -> ")
    i = rng.randrange(len(stages) - 1)
    stages[i], stages[i + 1] = stages[i + 1], stages[i]
    return _sub(text, m.start(1), m.end(1), " -> ".join(stages))


def _keep(rng, text, stamps):
    m = _pick(rng, r"^[ \t]*keep when [^\n]*\n", text, flags=re.M)
    if m is not None and rng.random() < 0.6:
        return _sub(text, m.start(), m.end(), "")
    m = _pick(rng, r"^stage \w+[^\n]*\{\n", text, flags=re.M)
    if m is None or not stamps:
        return None
    return _sub(text, m.end(), m.end(), f"  keep when {rng.choice(stamps)} is present\n")


def _per(rng, text):
    m = _pick(rng, r" up to \d[\d_]*(?:\.\d+)?", text)
    if m is None:
        return None
    return _sub(text, m.start(), m.end(), "")


def _decay(rng, text, stamps):
    m = _pick(rng, r"since ([\w.]+)", text)
    if m is None or not stamps:
        return None
    return _sub(text, m.start(1), m.end(1), rng.choice(stamps))


MUTATORS = {
    "number": _number, "compare": _compare, "andor": _andor, "not": _not,
    "duration": _duration, "hours": _hours, "workdays": _workdays, "holidays": _holidays,
    "timezone": _timezone, "until": _until, "escalate": _escalate, "recycle": _recycle,
    "list": _list_entry, "case": _string_case, "routes": _routes, "funnel": _funnel,
    "keep": _keep, "per": _per, "decay": _decay,
}
_NEEDS_STAMPS = {"until", "keep", "decay"}
_NEEDS_STAGES = {"recycle"}
#: the number mutation is the commonest edit; weights of the draw
_WEIGHTS = {"number": 5, "compare": 3, "andor": 2, "not": 2, "duration": 3, "hours": 2,
            "workdays": 1, "holidays": 2, "timezone": 2, "until": 2, "escalate": 1,
            "recycle": 2, "list": 3, "case": 2, "routes": 1, "funnel": 1, "keep": 1,
            "per": 1, "decay": 1}


# ----------------------------------------------------------------------------- policies


def copy_base(base: Path, target: Path) -> Path:
    """A copy of ``base`` (a folder, or a file with its schema) in ``target``, without
    the files that hold only examples (they test the base, not the mutant)."""
    if target.exists():
        shutil.rmtree(target)
    if base.is_dir():
        shutil.copytree(base, target)
    else:
        target.mkdir(parents=True)
        shutil.copy(base, target / base.name)
        text = base.read_text("utf-8")
        for ref in re.findall(r'^schema "([^"]+)"', text, re.M):
            if (base.parent / ref).exists():
                (target / ref).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(base.parent / ref, target / ref)
    for f in sorted(target.rglob("*.funnel")):
        text = f.read_text("utf-8")
        if re.match(r"\s*(#[^\n]*\n\s*)*example\b", text) and not re.search(
                r"^(policy|stage|score|define|handoff|recycle|funnel|team|state|calendar)\b",
                text, re.M):
            f.unlink()
    return target


def base_examples(base: Path) -> list[tuple[str, dict]]:
    """``(at, lead)`` of every example of ``base`` with an inline lead."""
    from policy.syntax import nodes as n

    pol = policy.load(base)
    out = []
    for loc in pol.model.examples:
        ex = loc.decl
        at = next((i.timestamp for i in ex.items if isinstance(i, n.At)), None)
        lead = next((i.data for i in ex.items if isinstance(i, n.LeadLiteral)), None)
        if at and lead is not None:
            out.append((at, lead))
    return out


def sample_leads(base: Path, rng: random.Random, count: int) -> list[dict]:
    folder = base if base.is_dir() else base.parent
    path = folder / "leads.jsonl"
    if not path.exists():
        return []
    lines = [x for x in path.read_text("utf-8").splitlines() if x.strip()]
    out = []
    for line in rng.sample(lines, min(count, len(lines))):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def _schema_nodes(node: dict, path: tuple = ()):
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, dict):
            yield (*path, key), sub
            yield from _schema_nodes(sub, (*path, key))


def mutate_schema(rng: random.Random, folder: Path) -> str | None:
    """One edit of the policy's lead schema the way a CRM admin makes one: a bound on a
    number (``minimum``, ``exclusiveMaximum``, ...), a length or an ``enum`` on a text,
    ``integer`` for ``number`` (or back), a date-time field made a ``date``, a field
    made required. The edit, or None (no schema)."""
    files = [f for f in folder.rglob("*.json") if f.name.endswith("schema.json")]
    if not files:
        return None
    f = rng.choice(files)
    doc = json.loads(f.read_text("utf-8"))
    nodes = list(_schema_nodes(doc))
    if not nodes:
        return None
    path, node = rng.choice(nodes)
    kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    if "integer" in kinds or "number" in kinds:
        r = rng.random()
        if r < 0.6:
            key = rng.choice(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"))
            node[key] = rng.choice((0, 1, -1, 0.5, 2, 10, 100, 1000, 1e15))
            what = f"{key} {node[key]}"
        else:
            node["type"] = [("number" if k == "integer" else "integer" if k == "number"
                             else k) for k in kinds]
            what = f"type {node['type']}"
    elif node.get("format") == "date-time" and rng.random() < 0.5:
        node["format"] = "date"
        what = "format date"
    elif "string" in kinds:
        r = rng.random()
        if r < 0.5:
            key = rng.choice(("minLength", "maxLength"))
            node[key] = rng.choice((0, 1, 2, 3, 5, 12))
            what = f"{key} {node[key]}"
        else:
            node["enum"] = rng.sample(["vp", "VP", "director", "", "ß", "c-level", "US", "x",
                                       "gmail.com", None], rng.randint(1, 5))
            what = f"enum {node['enum']}"
    else:
        parent = doc
        for k in path[:-1]:
            parent = parent["properties"][k]
        parent.setdefault("required", [])
        if path[-1] in parent["required"]:
            return None
        parent["required"].append(path[-1])
        what = "required"
    f.write_text(json.dumps(doc, indent=2), "utf-8")
    return f"{f.name}: {'.'.join(path)} {what}"


def mutate(rng: random.Random, folder: Path, stamps: list[str], stages: list[str],
           tries: int = 30) -> list[str] | None:
    """Edit the policy in ``folder`` in place (one to three edits, in one file) until it
    loads; the edits made, or None (the folder is then as it was)."""
    files = [f for f in sorted(folder.rglob("*.funnel"))]
    names = list(_WEIGHTS)
    weights = [_WEIGHTS[k] for k in names]
    for _ in range(tries):
        f = rng.choice(files)
        old = f.read_text("utf-8")
        text, done = old, []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            kind = rng.choices(names, weights)[0]
            fn = MUTATORS[kind]
            if kind in _NEEDS_STAMPS:
                new = fn(rng, text, stamps)
            elif kind in _NEEDS_STAGES:
                new = fn(rng, text, stages)
            else:
                new = fn(rng, text)
            if new is not None and new != text:
                text = new
                done.append(kind)
        if not done:
            continue
        f.write_text(text, "utf-8")
        schemas = {g: g.read_bytes() for g in folder.rglob("*schema.json")}
        if schemas and rng.random() < 0.3:
            edit = mutate_schema(rng, folder)
            if edit:
                done.append(edit)
        try:
            policy.load(folder)
        except policy.PolicyError:
            f.write_text(old, "utf-8")
            for g, data in schemas.items():
                g.write_bytes(data)
            continue
        except Exception as exc:  # noqa: BLE001 - a crash in the checker is a finding
            f.write_text(text, "utf-8")
            raise RuntimeError(f"policy.load crashed on a mutant of {f}: {exc!r}") from exc
        return [k if ":" in k else f"{f.name}: {k}" for k in done]
    return None


# ----------------------------------------------------------------------------- leads


def _literals(folder: Path) -> tuple[list[float], list[str]]:
    nums, texts = set(), set()
    for f in folder.rglob("*.funnel"):
        text = f.read_text("utf-8")
        masked = mask(text)
        for m in re.finditer(r"(?<![\w:.])(\d[\d_]*(?:\.\d+)?)(?![\w:])", masked):
            nums.add(float(m.group(1).replace("_", "")))
        for a, b in strings(text):
            try:
                s = json.loads(text[a:b])
            except ValueError:
                continue
            if (len(s) < 40 and len(s.split()) <= 3 and "/" not in s
                    and not re.fullmatch(r"\d{4}-\d\d-\d\d", s)
                    and not re.search(r"\.(json|txt)$", s)):
                texts.add(s)
    return sorted(nums), sorted(texts)


def _calendars(pol) -> list[tuple[str, str, str, tuple[str, ...]]]:
    from policy.syntax import nodes as n

    out = []
    cals = list(pol.model.calendars.values())
    if pol.model.calendar is not None:
        cals.append(pol.model.calendar)
    for cal in cals:
        tz = next((i.name for i in cal.items if isinstance(i, n.Timezone)), "UTC")
        hours = next((i for i in cal.items if isinstance(i, n.Hours)), None)
        hol = next((i.dates for i in cal.items if isinstance(i, n.Holidays)), ())
        out.append((tz, hours.start if hours else "09:00", hours.end if hours else "17:00",
                    tuple(hol)))
    return out


def _spell(instant: datetime, rng: random.Random, tz: str) -> str:
    """An instant written as a CRM might: Z, an offset, local with its offset, no offset
    (UTC), a space, a fraction."""
    r = rng.random()
    if r < 0.45:
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if r < 0.65:
        return instant.astimezone(ZoneInfo(tz)).isoformat()
    if r < 0.75:
        return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if r < 0.85:
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    if r < 0.9:
        return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M%z")
    if r < 0.95:  # a local-time export: the zone's wall time, no offset (--local-tz)
        return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M:%S")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def edge_instants(pol) -> list[datetime]:
    """Instants at every calendar window edge (opening, closing, a minute and a
    microsecond either side) on workdays, holidays, weekends and daylight-saving change
    days, and midnight UTC."""
    out = []
    days = set(DATES) | {"2026-11-02", "2026-11-04", "2026-12-04", "2026-12-07",
                         "2026-12-31", "2026-12-24"}
    for tz, start, end, hol in _calendars(pol):
        zone = ZoneInfo(tz)
        for day in sorted(days | set(hol)):
            d = datetime.fromisoformat(day)
            for hm in (start, end):
                h, mi = map(int, hm.split(":"))
                local = d.replace(tzinfo=zone) + timedelta(hours=h, minutes=mi)
                for delta in (timedelta(0), timedelta(minutes=-1), timedelta(microseconds=1),
                              timedelta(minutes=1)):
                    out.append((local + delta).astimezone(UTC))
    for day in sorted(days):
        out.append(datetime.fromisoformat(day).replace(tzinfo=UTC))
    return out


def _set(lead: dict, path: tuple[str, ...], value, delete: bool = False) -> None:
    node = lead
    for k in path[:-1]:
        nxt = node.get(k)
        if not isinstance(nxt, dict):
            nxt = node[k] = {}
        node = nxt
    if delete:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def boundary_leads(rng: random.Random, folder: Path, pol, seeds: list[dict],
                   count: int) -> list[dict]:
    """``count`` leads, each a seed lead with one to three fields set to an edge."""
    from policy.sql.table import field_kinds

    nums, texts = _literals(folder)
    kinds = field_kinds(pol.program, pol.model.schema)
    stamps = sorted(pol.model.timestamp_paths)
    instants = edge_instants(pol)
    tzs = [c[0] for c in _calendars(pol)] or ["UTC"]
    paths = sorted(p for p in kinds if p != ("lead_id",) and p not in pol.model.timestamp_paths)
    bounds, lengths = [], []
    for f in folder.rglob("*schema.json"):
        try:
            doc = json.loads(f.read_text("utf-8"))
        except ValueError:
            continue
        for _, node in _schema_nodes(doc):
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if isinstance(node.get(key), (int, float)):
                    bounds.append(node[key])
            for key in ("minLength", "maxLength"):
                if isinstance(node.get(key), int):
                    lengths.append(node[key])
    numbers = [x + d for x in nums + bounds for d in (0, 1, -1, 0.5, -0.5)] + [
        0, -1, 1e15, -0.0, 1.0, 2.0 ** 53 + 1]
    for n_ in lengths:  # texts of the bound's length and either side, in code points
        for k in (n_ - 1, n_, n_ + 1):
            if k > 0:
                texts += ["x" * k, "\U0001F600" * k, ("e\u0301" * k)[:k], "ß" * k]
    wrong = ["", " ", "12", "1,200", "true", 0, 1, True, False, [], {}, ["a"], None, "N/A"]
    out = []
    for i in range(count):
        lead = copy.deepcopy(rng.choice(seeds)) if seeds else {}
        for _ in range(rng.randint(1, 3)):
            if stamps and rng.random() < 0.35:
                path = rng.choice(stamps)
                r = rng.random()
                if r < 0.85:
                    _set(lead, path, _spell(rng.choice(instants), rng, rng.choice(tzs)))
                elif r < 0.92:
                    _set(lead, path, None, delete=True)
                else:
                    _set(lead, path, rng.choice(["", None, "2026-11-02", "2026-13-01T00:00:00Z",
                                                 "2026-11-02T24:00:00Z", 5,
                                                 # wall times in a DST gap or fold
                                                 "2026-03-08T02:30:00", "2026-11-01T01:30:00",
                                                 "2026-03-29T02:30:00", "2026-10-25T02:30:00",
                                                 "2026-04-05T02:30:00"]))
                continue
            if not paths:
                break
            path = rng.choice(paths)
            kind = kinds[path]
            r = rng.random()
            if r < 0.08:
                _set(lead, path, None, delete=True)
            elif r < 0.14:
                _set(lead, path, rng.choice(wrong))
            elif kind & {"number", "integer"}:
                v = rng.choice(numbers)
                if "integer" in kind and rng.random() < 0.7:
                    v = int(v)
                _set(lead, path, v)
            elif "boolean" in kind:
                _set(lead, path, rng.choice([True, False, True, False, None, "true", 1]))
            elif "array" in kind:
                _set(lead, path, rng.sample(texts, min(len(texts), rng.randint(0, 3)))
                     + ([rng.choice(wrong)] if rng.random() < 0.1 else []))
            elif "object" in kind:
                _set(lead, path, rng.choice([{}, None, "x", []]))
            else:
                s = rng.choice(texts) if texts else "x"
                if path[-1] in ("email",) or "@" in s or rng.random() < 0.1:
                    dom = rng.choice([t for t in texts if "." in t] or ["example.com"])
                    s = rng.choice([f"a@{dom}", f"a@{dom.upper()}", f"a@b@{dom}", dom,
                                    f"a@ {dom}", f"A.B@{dom} "])
                else:
                    s = rng.choice([s, s, s.upper(), s.title(), f" {s}", f"{s} ", s[:-1],
                                    s + s])
                _set(lead, path, s)
        lead["lead_id"] = f"M{i}"
        out.append(lead)
    return out


def as_ofs(rng: random.Random, pol, ats: list[str], k: int = 2) -> list[str]:
    """Evaluation instants: an example's ``at``, calendar edges, midnight UTC."""
    from policy.engine.timestamps import format_timestamp, parse_timestamp

    picks = []
    for _ in range(k):
        if ats and rng.random() < 0.4:
            picks.append(format_timestamp(parse_timestamp(rng.choice(ats), kind="any")))
        else:
            inst = rng.choice(edge_instants(pol))
            picks.append(inst.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z"))
    return picks


# ----------------------------------------------------------------------------- CSV

_TRUE = ("true", "TRUE", "True", "yes", "YES", "Yes", "1", "tRuE")
_FALSE = ("false", "FALSE", "False", "no", "NO", "No", "0", "fAlSe")
#: spellings no CSV cell may read as a boolean (spec section 9: true/false/yes/no/1/0)
_NOT_BOOLS = ("y", "n", "t", "f", "on", "off", " true", "true ", "01", "1.0", "ja")


def _number_cell(value, rng) -> str:
    """A number as a CRM export writes it: JSON number syntax several ways, and now and
    then a spelling JSON does not allow (leading zeros, a plus, a bare point, spaces,
    thousands separators): spec section 9 says numbers use JSON number syntax."""
    text = json.dumps(value)
    r = rng.random()
    if r < 0.04:  # JSON numbers at a double's edges
        return rng.choice(("-0", "-0.0", "1E-400", "12345678901234567890", "9007199254740993",
                           "4.9e-324", "1.7976931348623157e308", "0.1e1", "1e309"))
    if r < 0.55:
        return text
    if r < 0.97 and type(value) is int:
        return rng.choice((f"{value}.0", f"{value}e0", f"{value}E+0", f"{value}.000",
                           f"{value * 10}e-1"))
    if r < 0.97 and isinstance(value, float):
        return rng.choice((repr(value), f"{value:e}", f"{value:E}"))
    bad = [f"+{text}", f"0{text}" if not text.startswith("-") else f"-0{text[1:]}",
           f" {text}", f"{text} ", f"{text}.", "1,200", "1_000", "NaN", "Infinity", "-",
           "0x1F", ".5", "1e400", "00"]
    return rng.choice(bad)


def _flat(value, prefix: str, row: dict, kinds: dict, path: tuple, rng) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            key = f"`{k}`" if "." in k or "`" in k else k
            _flat(v, f"{prefix}.{key}" if prefix else key, row, kinds, (*path, k), rng)
        return
    if value is None:
        row[prefix] = ""
    elif isinstance(value, bool):
        r = rng.random()
        row[prefix] = rng.choice(_TRUE if value else _FALSE) if r < 0.97 else rng.choice(
            _NOT_BOOLS)
    elif isinstance(value, (int, float)):
        row[prefix] = _number_cell(value, rng)
    elif isinstance(value, str):
        if value and rng.random() < 0.05:  # what a quoted cell may hold
            value += rng.choice(("\n", "\r\n", '"', ",", ";", "\t", "\u2028", "\u00a0",
                                 "\ufeff")) + value
        row[prefix] = value
    else:
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.05:
            text = text.replace('"', "")  # not JSON: refused
        row[prefix] = text


def quirky_csv(leads: list[dict], rng: random.Random) -> tuple[bytes, list[str]]:
    """The leads as one CRM export: nested keys as ``a.b`` headers, booleans and numbers
    spelled every way (and some ways no engine may accept), lists and objects as JSON
    cells, some cells quoted, a column dropped (a missing field, not an empty cell), and
    the file's own quirks: a UTF-8 or UTF-16 byte-order mark, CRLF line ends, a
    delimiter of ``;`` or tab (sniffed). The bytes and the quirks; None when one header
    would be both a field and an object (the reader refuses the whole file)."""
    import csv
    import io

    rows, header = [], []
    for lead in leads:
        row: dict = {}
        _flat(lead, "", row, {}, (), rng)
        rows.append(row)
        for k in row:
            if k not in header:
                header.append(k)
    names = set(header)
    quirks = []
    for h in list(header):  # a field that is an object elsewhere: its column left out
        parts = h.split(".")
        for i in range(1, len(parts)):
            if ".".join(parts[:i]) in header:
                header.remove(".".join(parts[:i]))
                quirks.append(f"no column {'.'.join(parts[:i])}")
    del names
    if len(header) > 2 and rng.random() < 0.3:
        gone = rng.choice([h for h in header if h != "lead_id"])
        header.remove(gone)
        quirks.append(f"no column {gone}")
    rng.shuffle(header)
    delim = rng.choice([",", ",", ",", ";", "\t"])
    if delim != ",":
        quirks.append(f"delimiter {delim!r}")
    end = "\r\n" if rng.random() < 0.4 else "\n"
    if end == "\r\n":
        quirks.append("CRLF")
    quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
    if quoting == csv.QUOTE_ALL:
        quirks.append("every cell quoted")
    buf = io.StringIO()
    w = csv.DictWriter(buf, header, delimiter=delim, lineterminator=end, quoting=quoting,
                       extrasaction="ignore")
    w.writeheader()
    for row in rows:
        w.writerow({k: row.get(k, "") for k in header})
    text = buf.getvalue()
    r = rng.random()
    if r < 0.2:
        quirks.append("UTF-8 BOM")
        return b"\xef\xbb\xbf" + text.encode("utf-8"), quirks
    if r < 0.3:
        quirks.append("UTF-16 BOM")
        return text.encode("utf-16"), quirks
    return text.encode("utf-8"), quirks


# ----------------------------------------------------------------------------- SLA edges


def sla_edge_leads(rng: random.Random, pol, seeds: list[dict], as_of_us: int,
                   count: int) -> list[dict]:
    """Leads whose SLA or escalation falls due exactly at ``as_of`` or exactly when a
    stop arrives (and a microsecond either side): the start on a calendar edge and a
    stop at the due instant the python calendar gives (business time), or the start the
    duration before ``as_of`` (fixed durations), on every route's calendar."""
    from policy.engine.timestamps import format_timestamp
    from policy.syntax import nodes as n
    from policy.syntax.expr_nodes import UNIT_SECONDS

    edges = [int((e - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
             for e in edge_instants(pol)]
    plans = []
    for h in pol.model.handoffs:
        sla = next((i for i in h.items if isinstance(i, n.Sla)), None)
        esc = next((i for i in h.items if isinstance(i, n.Escalate)), None)
        if sla is None:
            continue
        routes = [i for i in h.items if isinstance(i, n.Route)] or [None]
        for dur in [sla.duration] + ([esc.after] if esc else []):
            for route in routes:
                plans.append((h, route, sla, dur))
    if not plans or not edges:
        return []
    out = []
    for i in range(count):
        h, route, sla, dur = rng.choice(plans)
        lead = copy.deepcopy(rng.choice(seeds)) if seeds else {}
        if dur.unit.is_business:
            cal = pol.model.work_calendar_for(h, route)
            if cal is None:
                continue
            unit = 3_600_000_000 if dur.unit.value == "business hours" else cal.day_us
            amount = round(dur.amount * unit)
            start = rng.choice(edges) if rng.random() < 0.7 else as_of_us - rng.choice(
                (0, 1, amount))
            try:
                due = cal.add_business(start, amount)
            except (ArithmeticError, ValueError):
                continue
        else:
            amount = round(dur.amount * UNIT_SECONDS[dur.unit] * 1_000_000)
            due = as_of_us
            start = as_of_us - amount
        shift = rng.choice((0, 0, 1, -1))
        if not isinstance(sla.start, n.Ref):
            continue
        _set(lead, sla.start.path, format_timestamp(start))
        for stop in sla.stops:
            if isinstance(stop, n.Ref):
                _set(lead, stop.path, None, delete=True)
        if sla.stops and rng.random() < 0.5 and isinstance(sla.stops[0], n.Ref):
            stop = rng.choice(sla.stops)
            if isinstance(stop, n.Ref):
                _set(lead, stop.path, format_timestamp(due + shift))
        elif due != as_of_us:
            pass  # start on an edge, no stop: pending or breached by the as_of
        lead["lead_id"] = f"S{i}"
        out.append(lead)
    return out


def engine_diff(name: str, engine, pol, texts: list[str], at: int, *,
                out_of_range: bool = True) -> list[str]:
    """``engine`` (a DuckDB or Spark engine, in process; closed here) against the python
    engine on the JSON ``texts``, field by field in the tabular form and as JSON: one
    report per line that differs. ``out_of_range=False`` leaves out rows the engine
    marks ``calendar_out_of_range`` (spec section 10: business time past its tables)."""
    from test_sql_engine import _python

    from policy.engine import tabular
    from policy.engine.decision import dumps

    try:
        got = list(engine.decide(list(range(1, len(texts) + 1)), texts))
    finally:
        engine.close()
    want = _python(pol, texts, at)
    lay = tabular.layout(pol)
    out = []
    for (line, g), w, text in zip(got, want, texts, strict=True):
        a = tabular.row_dict(g, lay, line=line, info=pol.info, as_of=at)
        b = tabular.row_dict(w, lay, line=line, info=pol.info, as_of=at)
        if not out_of_range and "calendar_out_of_range" in (a.get("violations") or ()):
            continue
        keys = [k for k in b if a[k] != b[k]]
        if keys or dumps(g) != dumps(w):
            out.append(f"{name}(in process) != python, line {line} {text[:700]}\n"
                       + "".join(f"  {k}: python {b[k]!r} {name} {a[k]!r}\n" for k in keys[:6])
                       + ("" if keys else f"  python {dumps(w)[:600]}\n  {name} {dumps(g)[:600]}"))
    return out
