"""Fewer steps for Spark: a chain of projections merged by what each one reads.

The statement of :mod:`policy.sql.compiler` is a chain of CTEs, most of them
``SELECT *, e1 AS c1, … FROM previous``: staging, one per define, three per score. Spark's
analyser resolves such a chain about one step per two passes of its ``Resolution`` batch
(each step's star waits for the step below it to be resolved, its functions for its
columns), so a policy of about 20 scores (some 80 steps) ran past the batch's 100 passes
("Max iterations (100) reached for batch Resolution"), and every pass walks the whole
plan: the time grows with the square of the number of steps.

:func:`merge_steps` puts each step of such a run at the earliest level its columns allow:
one level above the highest step whose columns it reads. Steps of one level become one
projection, in their order. Independent defines and scores thus share their steps (a
policy of 50 scores that do not read each other has three score steps, not 150); only
scores that read scores, and defines that read defines, stay above each other. The
values are the same expressions over the same row: only the number of projections
changes (and the order of the intermediate columns, which the final ``SELECT`` names
one by one).
"""

from __future__ import annotations

from sqlglot import exp

__all__ = ["analyser_passes", "merge_steps", "steps"]


def _projection(sel: exp.Expression) -> str | None:
    """The table a plain ``SELECT *, … FROM t`` reads (None: not such a step)."""
    if not isinstance(sel, exp.Select):
        return None
    cols = sel.expressions
    if not cols or not isinstance(cols[0], exp.Star) or any(cols[0].args.values()):
        return None
    if any(isinstance(c, exp.Star) or not isinstance(c, exp.Alias) for c in cols[1:]):
        return None
    if any(sel.args.get(k) for k in ("joins", "where", "group", "having", "qualify",
                                     "order", "limit", "distinct", "windows", "laterals")):
        return None
    src = sel.args.get("from_")
    table = src.this if src is not None else None
    if not isinstance(table, exp.Table) or table.args.get("db") or table.alias:
        return None
    return table.name


def _readers(stmt: exp.Select) -> dict[str, int]:
    """How many times each name is read as a table in the statement."""
    count: dict[str, int] = {}
    for t in stmt.find_all(exp.Table):
        if not t.args.get("db"):
            count[t.name] = count.get(t.name, 0) + 1
    return count


def merge_steps(stmt: exp.Select) -> exp.Select:
    """``stmt`` (a copy) with each run of chained projections merged by level (see the
    module docstring). A run is a sequence of CTEs, each a plain projection of the one
    before, each read only by the next; the run's last CTE keeps its name."""
    stmt = stmt.copy()
    with_ = stmt.args.get("with_")
    if with_ is None:
        return stmt
    ctes = list(with_.expressions)
    reads = _readers(stmt)
    runs: list[list[exp.CTE]] = []
    for prev, cte in zip([None, *ctes[:-1]], ctes, strict=True):
        base = _projection(cte.this)
        chained = (prev is not None and base == prev.alias and reads.get(prev.alias) == 1
                   and runs and runs[-1][-1] is prev)
        if chained:
            runs[-1].append(cte)
        elif base is not None:
            runs.append([cte])
    for run in runs:
        if len(run) > 1:
            _merge(run)
    return stmt


def _merge(run: list[exp.CTE]) -> None:
    """Rewrite the CTEs of one run in place: the first ones become the levels, the rest
    are removed; the last level takes the run's last name (its reader's)."""
    level_of: dict[str, int] = {}  # column -> level of the step that makes it
    levels: list[list[exp.Expression]] = []
    for cte in run:
        cols = cte.this.expressions[1:]
        level = 1 + max((level_of.get(c.name, 0) for e in cols
                         for c in e.find_all(exp.Column)), default=0)
        while len(levels) < level:
            levels.append([])
        levels[level - 1] += cols
        for c in cols:
            level_of[c.alias] = level
    base = _projection(run[0].this)
    names = [cte.alias for cte in run[:len(levels) - 1]] + [run[-1].alias]
    for k, (cte, cols) in enumerate(zip(run, levels, strict=False)):
        sel = exp.select(exp.Star(), *cols).from_(base if k == 0 else names[k - 1], copy=False)
        cte.set("this", sel)
        cte.set("alias", exp.TableAlias(this=exp.to_identifier(names[k])))
    for cte in run[len(levels):]:
        cte.pop()


def steps(stmt: exp.Select) -> int:
    """How many CTEs the statement has (its depth for Spark's analyser)."""
    with_ = stmt.args.get("with_")
    return len(with_.expressions) if with_ is not None else 0


def analyser_passes(stmt: exp.Select) -> int:
    """The passes of Spark's ``Resolution`` batch a statement may need: about two a
    step (measured: 104 passes for 54 steps, 115 for 50 CTEs), with room to spare, and
    never fewer than Spark's default 100."""
    return max(100, 3 * steps(stmt) + 50)
