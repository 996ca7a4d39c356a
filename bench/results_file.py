"""`bench/results.json`: one section per benchmark script, the others left as they are."""

from __future__ import annotations

import json
from pathlib import Path


def save_section(key: str, section: dict, path: Path) -> None:
    """Write ``section`` under ``key`` in the JSON file at ``path``, keeping its other keys."""
    data: dict = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except ValueError:
            data = {}
    data[key] = section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
