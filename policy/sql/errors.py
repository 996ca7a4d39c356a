"""The SQL path's one error: a policy or schema it cannot print or run."""

from __future__ import annotations

__all__ = ["SqlUnsupported"]


class SqlUnsupported(ValueError):
    """A policy or schema the SQL path cannot print; the message says what and where."""
