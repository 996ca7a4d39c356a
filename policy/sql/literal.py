"""A file path as DuckDB reads it: literally, never as a pattern.

DuckDB's ``read_parquet``, ``parquet_metadata`` and ``parquet_schema`` take a path as a
glob pattern (``*``, ``?``, ``[…]``; ``~`` at its start is the home folder), so a leads
file named ``b[1].parquet`` was read as ``b1.parquet``, silently, by every engine. A path
that holds such a character is read through a symbolic link of a plain name in a
scratch folder (removed on the way out); every other path is read as it is.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from policy.io.atomic import scratch

__all__ = ["literal_path", "needs_alias"]

_PATTERN = re.compile(r"[*?\[\]{}]")


def needs_alias(path: str | None) -> bool:
    """Whether DuckDB would read ``path`` as something other than the file it names."""
    return bool(path) and path != "-" and (
        path.startswith("~") or _PATTERN.search(path) is not None)


@contextlib.contextmanager
def literal_path(path: str, name: str = "leads.parquet") -> Iterator[str]:
    """``path``, or a link to it named ``name`` that DuckDB reads literally (the file
    need not exist yet: an output is linked before it is written). Where the system
    cannot make a link, ``path`` itself."""
    if not needs_alias(path):
        yield path
        return
    with scratch("funnel-path-") as folder:
        alias = os.path.join(folder, name)
        try:
            os.symlink(os.path.abspath(path), alias)
        except OSError:
            alias = path
        yield alias
