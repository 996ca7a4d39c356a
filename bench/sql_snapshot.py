"""Snapshot the SQL the compiler prints, to compare two versions of it text for text
(issue 8: the SQL compiler moved onto the intermediate form without changing its output).

    python bench/sql_snapshot.py save /tmp/before     # on the old compiler
    python bench/sql_snapshot.py compare /tmp/before  # on the new one; exit 1 on a change

What it prints, for every policy of the repository that loads without errors (``rules/``,
the acme conformance policy, each loadable ``.funnel`` file under ``tests/``) and for
150 generated policies (``tests/engine_strategies.policies``, derandomized; their texts
are saved with the snapshot so that ``compare`` prints the same ones): ``funnel sql`` for
every dialect, with ``--flat __`` and with ``--local-tz``, and the statements the DuckDB
and Spark engines run (JSON text source, hidden columns, named calendar tables). The
instant and the calendar years are fixed, so the text does not depend on the day.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import policy  # noqa: E402
from policy.api import Policy, PolicyError  # noqa: E402
from policy.sql import DIALECTS, SqlUnsupported, to_sql  # noqa: E402

AS_OF = 1_796_140_800_000_000  # 2026-12-01T16:00:00Z
YEARS = (2025, 2027)
GENERATED = 150


def _generated() -> list[str]:
    from engine_strategies import policies
    from hypothesis import HealthCheck, given, settings

    texts: list[str] = []

    @settings(max_examples=GENERATED, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(policies())
    def collect(text: str) -> None:
        texts.append(text)

    collect()
    return texts


def _engine_sql(pol: Policy, name: str) -> str:
    from policy.sql import compiler
    from policy.sql.dialects import dialect
    from policy.sql.sources import DuckJson, SparkJson

    d = dialect(name)
    opts = compiler.Options(source="json", as_of=AS_OF, years=YEARS, calendars="named",
                            instants="us", hidden=True, local_tz=pol.local_tz)
    source = DuckJson(d) if name == "duckdb" else SparkJson(d)
    if "model" in inspect.signature(compiler.build).parameters:  # before the IR
        stmt = compiler.build(pol.model, pol.info, d, opts, source=source)
    else:
        stmt = compiler.build(pol, d, opts, source=source)
    return stmt.sql(dialect=name)


def _prints(pol: Policy, local: Policy | None) -> dict[str, str]:
    out: dict[str, str] = {}

    def attempt(key: str, fn) -> None:
        try:
            out[key] = fn()
        except SqlUnsupported as exc:
            out[key] = f"SqlUnsupported: {exc}"

    for dialect in DIALECTS:
        attempt(dialect, lambda d=dialect: to_sql(pol, dialect=d, as_of=AS_OF, years=YEARS))
    for dialect in ("duckdb", "snowflake", "postgres"):
        attempt(f"{dialect}.flat", lambda d=dialect: to_sql(pol, dialect=d, as_of=AS_OF,
                                                            years=YEARS, flat="__"))
    for name in ("duckdb", "spark"):
        attempt(f"engine.{name}", lambda name=name: _engine_sql(pol, name))
    if local is not None:
        attempt("duckdb.local", lambda: to_sql(local, dialect="duckdb", as_of=AS_OF, years=YEARS))
        attempt("engine.duckdb.local", lambda: _engine_sql(local, "duckdb"))
    return out


def snapshot(texts: list[str]) -> dict[str, str]:
    from engine_strategies import load_text

    found: dict[str, str] = {}
    paths = [REPO / "rules", REPO.parent / "shared" / "spec" / "conformance" / "acme",
             *sorted((REPO / "tests").rglob("*.funnel"))]
    for path in paths:
        if not path.exists():
            continue
        try:
            pol = policy.load(path)
            local = policy.load(path, local_tz="America/New_York")
        except (PolicyError, OSError, ValueError):
            continue
        key = str(path.relative_to(REPO.parent))
        for what, text in _prints(pol, local).items():
            found[f"{key}:{what}"] = text
    for i, text in enumerate(texts):
        try:
            pol = Policy(load_text(text))
        except (PolicyError, AssertionError):
            continue
        for what, sql in _prints(pol, None).items():
            found[f"generated{i}:{what}"] = sql
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("save", "compare"):
        print(__doc__)
        return 2
    folder = Path(argv[1])
    if argv[0] == "save":
        texts = _generated()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "generated.json").write_text(json.dumps(texts), encoding="utf-8")
        snap = snapshot(texts)
        (folder / "sql.json").write_text(json.dumps(snap, indent=0, sort_keys=True),
                                         encoding="utf-8")
        print(f"saved {len(snap)} statements to {folder}")
        return 0
    texts = json.loads((folder / "generated.json").read_text(encoding="utf-8"))
    before = json.loads((folder / "sql.json").read_text(encoding="utf-8"))
    after = snapshot(texts)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    for key in changed:
        print("changed:", key)
    print(f"{len(before)} statements before, {len(after)} after, {len(changed)} changed")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
