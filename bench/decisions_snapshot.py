"""Snapshot every decision the engines make on the repository's policies, to compare
two versions of the engine byte for byte (issue 8: "decisions byte-identical before
and after, apart from the digest").

    python bench/decisions_snapshot.py save /tmp/before     # on the old engine
    python bench/decisions_snapshot.py compare /tmp/before  # on the new one; exit 1 on a change

What it writes, for ``rules/`` (its 1,000 sample leads) and for the acme conformance
policy (its example leads), at three ``as_of`` instants: each engine's JSON Lines
(``interpreter``, ``compiled``), every decision's trace (``--explain``), and the
``explain`` text of the first 50 leads. The policy digest is masked (``sha256:…``):
it is the one field allowed to change.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from policy.api import Policy  # noqa: E402
from policy.engine.decision import LeadError, dumps  # noqa: E402
from policy.engine.timestamps import parse_timestamp  # noqa: E402
from policy.model.loader import load_model  # noqa: E402
from policy.syntax import nodes as n  # noqa: E402

AS_OFS = ("2026-11-02T15:00:00Z", "2026-12-01T16:00:00Z", "2027-03-01T09:30:00Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def _policies() -> dict[str, Path]:
    found = {"rules": REPO / "rules"}
    acme = REPO.parent / "shared" / "spec" / "conformance" / "acme"
    if acme.is_dir():
        found["acme"] = acme
    return found


def _leads(name: str, path: Path, model) -> list:
    if name == "rules":
        text = (path / "leads.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    leads = []
    for located in model.examples:
        for item in located.decl.items:
            if isinstance(item, n.LeadLiteral):
                leads.append(item.data)
    return leads


def _record(r) -> str:
    return _DIGEST.sub("sha256:…", dumps(r))


def snapshot() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, path in _policies().items():
        result = load_model(path)
        if not result.ok:
            raise SystemExit(f"{path}: the policy has errors")
        leads = _leads(name, path, result.model)
        for engine in ("interpreter", "compiled"):
            policy = Policy(result.model, diagnostics=result.diagnostics, engine=engine)
            for as_of in AS_OFS:
                at = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
                lines = [_record(r) for r in policy.evaluate_many(leads, as_of=at)]
                out[f"{name}.{engine}.{as_of}.jsonl"] = "\n".join(lines) + "\n"
        policy = Policy(result.model, diagnostics=result.diagnostics, engine="interpreter")
        at = datetime.fromisoformat(AS_OFS[1].replace("Z", "+00:00"))
        traces, texts = [], []
        for i, lead in enumerate(leads):
            try:
                traces.append(_record(policy.trace(lead, as_of=at)))
                if i < 50:
                    texts.append(_DIGEST.sub("sha256:…", policy.explain(lead, as_of=at)))
            except LeadError as exc:
                traces.append(_record(exc))
        out[f"{name}.trace.jsonl"] = "\n".join(traces) + "\n"
        out[f"{name}.explain.txt"] = "\n\n".join(texts) + "\n"
    assert parse_timestamp(AS_OFS[0]) is not None
    return out


def _only_kept_unmet(before: str, now: str) -> bool:
    """Whether every changed record differs only in ``next.unmet`` (and the trace's
    ``next`` event), with the new list a part of the old one: the one change of meaning
    spec v1.1 made to a decision (section 4, step 6: a stage's failing requires are not
    listed while its ``keep when`` holds)."""
    old, new = before.splitlines(), now.splitlines()
    if len(old) != len(new):
        return False
    for a, b in zip(old, new, strict=True):
        if a == b:
            continue
        x, y = json.loads(a), json.loads(b)
        ux, uy = (x.get("next") or {}).get("unmet"), (y.get("next") or {}).get("unmet")
        if ux is None or uy is None or not set(uy) < set(ux):
            return False
        for d in (x, y):
            d["next"]["unmet"] = None
            for event in d.get("trace") or ():
                if event["kind"] == "next":
                    event["result"] = None
        if x != y:
            return False
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("save", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1])
    now = snapshot()
    if argv[0] == "save":
        folder.mkdir(parents=True, exist_ok=True)
        for key, text in now.items():
            (folder / key).write_text(text, encoding="utf-8")
        print(f"saved {len(now)} files to {folder}")
        return 0
    changed = same = 0
    for key, text in now.items():
        before = (folder / key).read_text(encoding="utf-8")
        same += before == text
        if before != text and key.endswith(".jsonl") and _only_kept_unmet(before, text):
            print(f"{key}: differs only where v1.1 leaves out failing requires of a kept "
                  "stage from next.unmet")
            continue
        if before != text:
            changed += 1
            old, new = before.splitlines(), text.splitlines()
            for i, (a, b) in enumerate(zip(old, new, strict=False)):
                if a != b:
                    print(f"{key}: first difference at line {i + 1}\n- {a[:400]}\n+ {b[:400]}")
                    break
            else:
                print(f"{key}: {len(old)} lines before, {len(new)} now")
    print(f"{same} of {len(now)} files identical, {len(now) - changed - same} changed only as "
          f"v1.1 says, {changed} changed otherwise")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
