"""SQL text of a string literal and of an identifier, the two ways a name or a value from a
policy or a file reaches a statement written as text (DuckDB's and the ANSI spelling:
quotes doubled). The statements built as sqlglot trees quote through sqlglot instead."""

from __future__ import annotations

from typing import Any

__all__ = ["SPARK_SUBSTITUTION", "spark_pieces", "spark_unsubstituted", "sql_ident",
           "sql_string"]


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


#: Spark substitutes ``${…}`` in a statement's text before it parses it
#: (``spark.sql.variable.substitute``, on by default): ``${env:NAME}`` is the driver's
#: environment variable, ``${system:NAME}`` a Java property, ``${name}`` a setting and an
#: unknown name the empty text, in a string literal and in a backticked name alike
SPARK_SUBSTITUTION = "${"


def spark_pieces(text: str) -> list[str]:
    """``text`` cut before every ``{`` that follows a ``$``, so that no piece holds
    ``${``: written as literals side by side (``'a$', '{b}'``), Spark's substitution,
    which needs the two characters together, finds nothing to replace."""
    parts = text.split(SPARK_SUBSTITUTION)
    return [parts[0] + "$", *("{" + p + "$" for p in parts[1:-1]), "{" + parts[-1]]


def spark_unsubstituted(tree: Any) -> None:
    """Rewrite the sqlglot ``tree`` of a Spark statement so that its text holds no
    ``${`` where Spark reads a value: a text literal holding one becomes the CONCAT of
    its pieces (:func:`spark_pieces`); a name holding one (a backticked key: Spark's
    backticked names have no escapes) raises :class:`SqlUnsupported`."""
    from sqlglot import exp

    from policy.sql.errors import SqlUnsupported

    for node in list(tree.find_all(exp.Identifier)):
        if SPARK_SUBSTITUTION in node.name:
            raise SqlUnsupported(
                f"the column `{node.name}` holds `${{`, which Spark replaces before it reads "
                "a statement (its variable substitution: `${env:NAME}` is an environment "
                "variable), and a Spark name cannot spell it otherwise; rename the field")
    def cut(value: Any) -> Any:
        if isinstance(value, exp.Literal) and value.is_string and \
                SPARK_SUBSTITUTION in value.this:
            return exp.Concat(expressions=[exp.Literal.string(p)
                                           for p in spark_pieces(value.this)])
        return value

    # from each parent: the compiler shares one literal between several (a list define
    # used twice), and a node's own `replace` reaches only its last parent
    for node in list(tree.walk()):
        for key, value in list(node.args.items()):
            if isinstance(value, list):
                new = [cut(v) for v in value]
                if any(a is not b for a, b in zip(new, value, strict=True)):
                    node.set(key, new)
            else:
                new_value = cut(value)
                if new_value is not value:
                    node.set(key, new_value)
