"""Where the caches live (:mod:`policy.model.cache`, :mod:`policy.engine.engine_cache`,
the grammar's parse table in :mod:`policy.syntax.grammar`): a module of its own, which
imports nothing of ``policy``, so the parser can ask without an import cycle."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path | None:
    """Where entries go, or None when caching is off."""
    if os.environ.get("FUNNEL_NO_CACHE", "") not in ("", "0"):
        return None
    where = os.environ.get("FUNNEL_CACHE_DIR")
    if where:
        return Path(where)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "funnel-policy"
