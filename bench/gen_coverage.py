"""How much of the language the policy generators produce: a measuring tool, not a test.

Draws N policies from each policy generator the differential tests use and parses each
with the project's own parser (``grammar/funnel.lark``, through the post-lexer), then
counts, per generator, the share of policies whose parse tree holds each grammar rule or
alternative (by its alias, such as ``score_per`` or ``starts_with``), each operator, each
built-in function, each duration unit, and each semantic feature of LANGUAGE.md sections
2-4 (``per`` with and without ``up to``, decay, a negative ``range``, fractional points,
``keep when``, excludes, reasons, several handoffs, rejection with a list or a define,
recycle, escalation, several and named calendars, holidays, ``lines`` lists, defines
reading defines, nested and backticked fields, text tests, timestamps compared with
literals and with fields, ...). Generators:

- ``engine``: ``engine_strategies.policies()`` (test_equivalence, test_sql_engine, the
  Spark tier), drawn by hypothesis;
- ``spec``: ``spec_policies.draw_policy`` (test_spec_differential, hunt_spec.py,
  hunt_paths.py), the draws ``funnel check`` accepts (the hunts decide only those);
- ``modules``: ``strategies.modules()`` printed by the formatter (the unchecked-model
  property of test_equivalence), all of them.

Lead side: for ``engine`` (``leads()``) and ``spec`` (``spec_leads``), the share of leads
with each kind of value the brief asks for (missing, null or a wrong kind at each path
depth, Unicode text, timestamps in a DST change or on a holiday, ...).

    .venv/bin/python bench/gen_coverage.py [-n 300] [--seed 1] [--json out.json]

Prints one table: feature, then the percentage per generator.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from lark import Token, Tree  # noqa: E402

from policy.syntax.parser import _JOINER, _lark  # noqa: E402

# ------------------------------------------------------------------------ policies


def _tree(text: str) -> Tree:
    if text.startswith("\ufeff"):
        text = text[1:]
    _JOINER.begin(text)
    return _lark().parse(text)


_KEYS = ("NAME", "QUOTED_KEY", "DIGIT_KEY")


def _path(node: Tree) -> tuple[str, ...]:
    return tuple(str(t).strip("`") for t in node.children
                 if isinstance(t, Token) and t.type in _KEYS)


def _kids(node: Tree) -> list[Tree]:
    """The subtrees among a node's children (the parser keeps every token too)."""
    return [c for c in node.children if isinstance(c, Tree)]


def _toks(node: Tree) -> list[Token]:
    return [c for c in node.children if isinstance(c, Token)]


def _name(ident: Tree) -> str:
    return str(ident.children[0])


def _walk(node, out: list):
    out.append(node)
    if isinstance(node, Tree):
        for c in node.children:
            _walk(c, out)


def _paths_in(node) -> list[tuple[str, ...]]:
    if not isinstance(node, Tree):
        return []
    return [_path(t) for t in node.iter_subtrees() if t.data == "field_path"]


def _bare(node) -> set[str]:
    """One-key names read anywhere in ``node`` (defines and scores are read so)."""
    return {p[0] for p in _paths_in(node) if len(p) == 1}


def _is_literal_string(node) -> bool:
    return isinstance(node, Tree) and node.data == "string"


def features(text: str, stamps: frozenset = frozenset()) -> set[str]:
    """The features of one policy's text; ``stamps`` are the model's timestamp fields."""
    tree = _tree(text)
    nodes: list = []
    _walk(tree, nodes)
    found: set[str] = set()
    trees = [t for t in nodes if isinstance(t, Tree)]
    for t in trees:
        # a parenthesised expression is the one `primary` the parser keeps as a tree
        found.add("parentheses" if t.data == "primary" else f"rule {t.data}")
        if t.data in ("comparison", "arith"):
            found.add(f"op {t.children[1]}")
        elif t.data == "call":
            found.add(f"call {t.children[0]}()")
        elif t.data in ("time_unit", "business_unit"):
            found.add(f"unit {'business ' if t.data == 'business_unit' else ''}"
                      f"{str(t.children[0]).rstrip('s')}")
        elif t.data == "field_path":
            depth = len(_path(t))
            if depth >= 2:
                found.add("field: 2+ keys")
            if depth >= 3:
                found.add("field: 3+ keys")
        elif t.data == "list":
            inner = _kids(t)
            if not inner:
                found.add("list: empty")
            if any(c.data == "number" for c in inner):
                found.add("list: of numbers")
            if len({c.data for c in inner}) > 1:
                found.add("list: mixed kinds")
            if any(c.data == "list" for c in inner):
                found.add("list: nested list")
        elif t.data in ("in_", "not_in"):
            right = _kids(t)[-1]
            if right.data == "field_path":
                found.add(f"{t.data.rstrip('_')}: a defined list or list field")
        elif t.data == "contains" and _kids(t)[-1].data == "list":
            found.add("contains: a list of needles")
        elif t.data == "comparison":
            pass
        elif t.data == "neg":
            found.add("unary minus")
        if t.data == "comparison":
            left, right = _kids(t)
            ts_sides = [x.data == "field_path" and _path(x) in stamps for x in (left, right)]
            if all(ts_sides):
                found.add("timestamp compared with a timestamp field")
            elif any(ts_sides):
                other = right if ts_sides[0] else left
                if _is_literal_string(other):
                    found.add("timestamp compared with a literal")
    for tok in (x for x in nodes if isinstance(x, Token)):
        if tok.type == "QUOTED_KEY":
            found.add("field: backticked key")
        elif tok.type == "DIGIT_KEY":
            found.add("field: digit key after a dot")
        elif tok.type == "NUMBER" and "_" in tok:
            found.add("number with _")
        elif tok.type == "STRING" and "\\" in tok:
            found.add("string with escapes")
        if tok.type == "STRING" and any(ord(ch) > 127 for ch in json.loads(tok)):
            found.add("string: non-ASCII text")
        elif tok.type == "NAME" and any(ord(ch) > 127 for ch in tok):
            found.add("field: non-ASCII key")
    # declarations
    decls = _kids(tree)
    by = Counter(d.data for d in decls)
    for kind, label in (("handoff_decl", "handoffs"), ("calendar_decl", "calendars"),
                        ("recycle_decl", "recycle rules"), ("score_decl", "scores"),
                        ("define_decl", "defines")):
        if by[kind] >= 2:
            found.add(f"several {label}")
    defines = {_name(_kids(d)[0]) for d in decls if d.data in ("define_decl", "define_lines")}
    scores = {_name(_kids(d)[0]) for d in decls if d.data == "score_decl"}
    for d in decls:
        items = _kids(d)
        if d.data == "calendar_decl":
            found.add("calendar: named" if d.children[1] is not None else "calendar: unnamed")
        elif d.data == "define_decl":
            used = _bare(items[-1])
            if used & defines:
                found.add("define reads a define")
            if used & scores:
                found.add("define reads a score")
        elif d.data == "score_decl":
            for item in items:
                if item.data in ("score_if", "score_per"):
                    sign, points = _toks(_kids(item)[0])
                    if "." in str(points):
                        found.add("score: fractional points")
                    if str(sign) == "-":
                        found.add(f"score: -N {item.data.split('_')[1]}")
                    if _bare(_kids(item)[1]) & scores:
                        found.add(f"score: {item.data.split('_')[1]} reads a score")
                if item.data == "score_per":
                    cap = _kids(item)[-1]
                    found.add("score: per ... up to" if cap.children else "score: per, no cap")
                if item.data == "score_range" and _toks(_kids(item)[0])[0].type == "MINUS":
                    found.add("score: range, negative low")
        elif d.data == "stage_decl":
            for i in items:
                if i.data in ("require", "exclude"):
                    has_reason = bool(_kids(i)[-1].children)
                    found.add(f"stage: {i.data} {'with' if has_reason else 'without'} reason")
            if sum(i.data in ("require", "exclude") for i in items) >= 2:
                found.add("stage: 2+ requires/excludes")
        elif d.data == "handoff_decl":
            routes = [i for i in items if i.data in ("route_if", "route_otherwise")]
            for r in routes:
                on = _kids(r)[-1].children
                if on and isinstance(on[-1], Token):
                    found.add("route: on default")
                elif on:
                    found.add("route: on NAME")
            if len(routes) >= 3:
                found.add("handoff: 3+ routes")
            for i in items:
                if i.data == "sla":
                    if len(_kids(_kids(i)[-1])) >= 2:
                        found.add("sla: several until fields")
                    found.add("sla: business duration" if _kids(i)[0].data
                              == "business_duration" else "sla: fixed duration")
                if i.data == "escalate":
                    found.add("escalate: business" if _kids(i)[-1].data
                              == "business_duration" else "escalate: fixed")
                if i.data == "reject":
                    found.add("reject: list literal" if _kids(i)[-1].data == "list"
                              else "reject: defined list")
        elif d.data == "recycle_decl":
            found.add("recycle with reason" if _kids(d)[-1].children
                      else "recycle without reason")
            if sum(i.data == "ident" for i in items) > 2:
                found.add("recycle: several stages")
    found |= _combinations(decls, defines)
    return found


#: (session 21) the fields a rejection is recorded in (engine_strategies' vocabulary)
_REJECTION_FIELDS = {("rejection_reason",), ("rejected_at",)}


def _combinations(decls: list[Tree], defines: set[str]) -> set[str]:
    """(session 21) what a marketing-ops policy combines across its declarations: an
    escalation chain, a recycle after a rejection, a whole scoring model in one score,
    one define read in a gate, a score and a route, an SLA with three or more stops."""
    found: set[str] = set()
    escalating = rejecting = 0
    places: dict[str, set[str]] = {}
    for d in decls:
        items = _kids(d)
        if d.data == "handoff_decl":
            escalating += any(i.data == "escalate" for i in items)
            rejecting += any(i.data == "reject" for i in items)
            for i in items:
                if i.data == "route_if":
                    for name in _bare(i) & defines:
                        places.setdefault(name, set()).add("route")
                if i.data == "sla" and len(_kids(_kids(i)[-1])) >= 3:
                    found.add("combo: sla with 3+ until fields")
        elif d.data == "stage_decl":
            for name in _bare(d) & defines:
                places.setdefault(name, set()).add("gate")
        elif d.data == "score_decl":
            for name in _bare(d) & defines:
                places.setdefault(name, set()).add("score")
            kinds = {i.data for i in items}
            capped = any(i.data == "score_per" and _kids(i)[-1].children for i in items)
            if capped and {"score_range", "score_decay"} <= kinds:
                found.add("combo: score with per/up to, range and decay")
        elif d.data == "recycle_decl" and set(_paths_in(_kids(d)[-2])) & _REJECTION_FIELDS:
            found.add("combo: recycle on a rejection field")
            if _kids(d)[-1].children:
                found.add("combo: recycle on a rejection field, with reason")
    if escalating >= 2:
        found.add("combo: escalation in 2+ handoffs")
    if rejecting and "combo: recycle on a rejection field" in found:
        found.add("combo: reject, then recycle on the rejection")
    if any(p == {"gate", "score", "route"} for p in places.values()):
        found.add("combo: a define read in a gate, a score and a route")
    return found


def _engine_texts(n: int, seed: int) -> list[tuple[str, frozenset]]:
    from engine_strategies import load_text, policies
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    texts: list[str] = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(policies())
    def collect(text):
        texts.append(text)

    collect()
    return [(t, load_text(t).timestamp_paths) for t in texts]


def _spec_texts(n: int, seed: int) -> tuple[list[tuple[str, frozenset]], int]:
    from spec_policies import draw_policy
    from spec_runs import write_folder

    import policy

    out, refused = [], 0
    s = seed * 1_000_003
    while len(out) < n:
        drawn = draw_policy(random.Random(s))
        s += 1
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_folder(Path(tmp) / "p", drawn.files)
            try:
                pol = policy.load(folder)
            except Exception:  # noqa: BLE001 - the hunts skip a draw that does not load
                refused += 1
                continue
        out.append((drawn.files["policy.funnel"], pol.model.timestamp_paths))
    return out, refused


def _module_texts(n: int, seed: int) -> list[tuple[str, frozenset]]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from strategies import modules

    from policy.model.namespace import build_model
    from policy.syntax.formatter import format_module

    out: list = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(modules(max_decls=8))
    def collect(module):
        out.append((format_module(module), build_model([module]).timestamp_paths))

    collect()
    return out


# ------------------------------------------------------------------------ leads

#: DST changes and holidays near the generators' as_of values (New York, Europe, Sydney).
_DST_DAYS = ("2026-03-08", "2026-11-01", "2026-03-29", "2026-10-25", "2026-10-04",
             "2026-04-05")
_HOLIDAYS = ("2026-11-26", "2026-11-27", "2026-12-25", "2026-12-01", "2027-01-01")


def _looks_ts(v) -> bool:
    return isinstance(v, str) and bool(re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", v))


def lead_features(lead, stamp_paths=()) -> set[str]:
    found: set[str] = set()

    def walk(v, depth: int):
        if isinstance(v, dict):
            for sub in v.values():
                if sub is None:
                    found.add(f"null at depth {depth}")
                if isinstance(sub, dict):
                    if not sub:
                        found.add(f"empty object at depth {depth}")
                    walk(sub, depth + 1)
                elif isinstance(sub, list):
                    if any(isinstance(x, dict) for x in sub):
                        found.add("list of objects")
                    if len({type(x).__name__ for x in sub}) > 1:
                        found.add("list of mixed kinds")
                    walk_leaf(sub)
                else:
                    walk_leaf(sub)

    def walk_leaf(v):
        if isinstance(v, list):
            for x in v:
                walk_leaf(x)
            return
        if isinstance(v, str):
            if any(ord(c) > 127 for c in v):
                found.add("non-ASCII text")
            if v.lower() != v.casefold() or len(v.lower()) != len(v):
                found.add("text whose lower() is not its case fold, or grows")
            if _looks_ts(v):
                if v[:10] in _DST_DAYS:
                    found.add("timestamp on a DST change day")
                if v[:10] in _HOLIDAYS:
                    found.add("timestamp on a holiday")
                if re.search(r"[+-][0-9]{2}(:?[0-9]{2})?$", v[10:]):
                    found.add("timestamp with an offset")
                if "." in v[10:]:
                    found.add("timestamp with a fraction")
                if len(v) == 10:
                    found.add("date-only timestamp")
        if isinstance(v, float) and abs(v) < 1e300 and not v.is_integer():
            found.add("fractional number")
        if isinstance(v, bool):
            found.add("boolean")

    walk(lead, 1)
    return found


def _engine_leads(n: int, seed: int) -> list[dict]:
    from engine_strategies import leads
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    out: list = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(leads())
    def collect(lead):
        out.append(lead)

    collect()
    return out


def _spec_leads(n: int, seed: int) -> list[dict]:
    from spec_leads import spec_leads
    from spec_policies import draw_policy

    rng = random.Random(seed)
    out: list = []
    while len(out) < n:
        drawn = draw_policy(rng)
        out += spec_leads(rng, drawn.fields, 10)
    return out[:n]


# ------------------------------------------------------------------------ main


def _table(columns: dict[str, list[set[str]]]) -> list[tuple[str, dict[str, float]]]:
    every = sorted(set().union(*(set().union(*c) if c else set() for c in columns.values())))
    rows = []
    for feat in every:
        rows.append((feat, {name: 100.0 * sum(feat in s for s in sets) / max(1, len(sets))
                            for name, sets in columns.items()}))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--only", default="engine,spec,modules")
    args = ap.parse_args()
    only = args.only.split(",")
    columns: dict[str, list[set[str]]] = {}
    notes = []
    if "engine" in only:
        columns["engine"] = [features(t, s) for t, s in _engine_texts(args.n, args.seed)]
    if "spec" in only:
        texts, refused = _spec_texts(args.n, args.seed)
        notes.append(f"spec: {refused} draws refused by check, not counted")
        columns["spec"] = [features(t, s) for t, s in texts]
    if "modules" in only:
        columns["modules"] = [features(t, s) for t, s in _module_texts(args.n, args.seed)]
    rows = _table(columns)
    # every alias the grammar defines, so a rule no generator draws shows as 0
    from policy.syntax.parser import lark_parser
    grammar_rules = {f"rule {r.alias or r.origin.name}" for r in lark_parser().rules
                     if not str(r.alias or r.origin.name).startswith(("_", "json", "ex_",
                                                                       "expect_"))
                     and not r.options.expand1}
    seen = {r[0] for r in rows}
    rows += [(g, dict.fromkeys(columns, 0.0)) for g in sorted(grammar_rules - seen)]
    rows.sort()
    names = list(columns)
    print(f"policies per generator: {args.n}, seed {args.seed}; " + "; ".join(notes))
    print(f"{'feature':48s}" + "".join(f"{c:>9s}" for c in names))
    for feat, share in rows:
        low = " <5%" if min(share.values()) < 5 else ""
        print(f"{feat:48s}" + "".join(f"{share[c]:8.1f}%" for c in names) + low)
    lead_cols = {}
    if "engine" in only:
        lead_cols["engine"] = [lead_features(x) for x in _engine_leads(args.n, args.seed)]
    if "spec" in only:
        lead_cols["spec"] = [lead_features(x) for x in _spec_leads(args.n, args.seed)]
    lead_rows = _table(lead_cols) if lead_cols else []
    print()
    print(f"{'lead feature':48s}" + "".join(f"{c:>9s}" for c in lead_cols))
    for feat, share in lead_rows:
        print(f"{feat:48s}" + "".join(f"{share[c]:8.1f}%" for c in lead_cols))
    if args.json:
        Path(args.json).write_text(json.dumps({"policies": rows, "leads": lead_rows},
                                              indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
