"""SQL text of a string literal and of an identifier, the two ways a name or a value from a
policy or a file reaches a statement written as text (DuckDB's and the ANSI spelling:
quotes doubled). The statements built as sqlglot trees quote through sqlglot instead."""

from __future__ import annotations

__all__ = ["sql_ident", "sql_string"]


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
