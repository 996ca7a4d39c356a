"""`bench/results.json`: one section per benchmark script, the others left as they are."""

from __future__ import annotations

import json
import os
import tempfile
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
    # beside the file, then renamed over it: an interrupted run leaves the old figures,
    # never an empty or torn file (the other sections are other runs' only copy)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
