"""Passes ``types`` (:mod:`policy.check.types`) and ``cycles`` (among defines and scores;
also defines that nest too deep or grow too large once written out where they are used).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from policy.check.context import Context
from policy.check.types import check_types
from policy.model.namespace import children, define_order, refs_in, stmt_exprs, walk_expr
from policy.syntax import nodes as n
from policy.syntax.diagnostics import Diagnostic, error

# --------------------------------------------------------------------------- types


def check_types_pass(ctx: Context) -> Iterator[Diagnostic]:
    """E102 type mismatches and W208 values outside an `enum` (:mod:`policy.check.types`)."""
    return iter(check_types(ctx.model, ctx.types, locate_duration=ctx.duration))


# --------------------------------------------------------------------------- cycles


def _dependencies(ctx: Context) -> dict[str, list[tuple[str, n.Span]]]:
    """For each define and score: the defines and scores it uses, with where, in order."""
    model = ctx.model
    graph: dict[str, list[tuple[str, n.Span]]] = {}

    def edges(refs: Iterable[n.Ref]) -> list[tuple[str, n.Span]]:
        out: dict[str, n.Span] = {}
        for ref in refs:
            if len(ref.path) == 1:
                name = ref.path[0]
                if (name in model.defines or name in model.scores) and name not in out:
                    out[name] = ref.span
        return list(out.items())

    for name, d in model.defines.items():
        graph[name] = edges(r for r in walk_expr(d.value) if isinstance(r, n.Ref))
    for name, s in model.scores.items():
        if name not in graph:
            graph[name] = edges(refs_in(s))
    return graph


def check_cycles(ctx: Context) -> Iterator[Diagnostic]:
    """E108 a cycle among defines and scores, direct or indirect, with its path; and
    (:func:`check_written_out`) defines that make a rule too deep or too large."""
    yield from _cycles(ctx)
    yield from check_written_out(ctx)


def _cycles(ctx: Context) -> Iterator[Diagnostic]:
    graph = _dependencies(ctx)
    for component in _strong_components(graph):
        members = set(component)
        start = component[0]
        if len(component) == 1 and not any(t == start for t, _ in graph[start]):
            continue
        path = _cycle_path(graph, start, members)
        first_edge = next(span for t, span in graph[start] if t == path[1])
        shown = " -> ".join(f"`{p}`" for p in path)
        yield error("E108", f"`{start}` depends on itself: {shown}", first_edge, kind="cycle",
                    help="a define or score cannot use itself, directly or through others; "
                    "break the cycle")


def _strong_components(graph: dict[str, list[tuple[str, n.Span]]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; each component lists its nodes in declaration order."""
    order = {name: i for i, name in enumerate(graph)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            edges = graph[node]
            if i < len(edges):
                work.append((node, i + 1))
                nxt = edges[i][0]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp, key=order.__getitem__))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    out.sort(key=lambda c: order[c[0]])
    return out


def _cycle_path(graph, start: str, members: set[str]) -> list[str]:
    """The shortest path from ``start`` back to itself inside one component."""
    prev: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for nxt, _ in graph[node]:
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return [start, start]  # unreachable for a real component; keeps the pass total


# --------------------------------------------------------------------------- written out

#: How deep an expression may nest with every define it uses written out in place (a
#: use of a define is a level of its own). The engines walk a rule through its defines
#: (the interpreter, the Python and SQL compilers, the SQL printer), so a chain of
#: defines that each build on the one before nests as deep as the chain is long: a
#: chain of 200 `define d1 = d2 + 1` lines (600 levels: `funnel sql`), or of 3,000
#: `define d1 = d2`, met Python's recursion limit and ended in a traceback.
MAX_WRITTEN_DEPTH = 200
#: How many operations the defines may add to the rules when each use is written out:
#: a define that uses another twice (`define d1 = d2 + d2`, `define d2 = d3 + d3`, …)
#: doubles at every step, and 22 such lines made every engine run for hours.
MAX_WRITTEN_GROWTH = 100_000

_LITERALS = (n.Number, n.String, n.Bool, n.Null)


def _measure(e: n.Expr, written: dict[str, tuple[int, int]], *, direct: bool = False
             ) -> tuple[int, int]:
    """``(operations, depth)`` of ``e`` with each define it names written out (the
    define's figures from ``written``, one level deeper; a define not there yet, in a
    cycle, counts as a name), or as written with ``direct``. A list of literals is one
    constant, as every engine holds it. The parser bounds the expression's own depth, so
    this recursion is shallow."""
    if isinstance(e, n.Ref):
        if not direct and len(e.path) == 1 and e.path[0] in written:
            size, depth = written[e.path[0]]
            return size, depth + 1  # the engines take a step into the define, too
        return 1, 1
    if isinstance(e, n.ListExpr):
        if all(isinstance(i, _LITERALS) for i in e.items):
            return 1, 1
        parts = [_measure(i, written, direct=direct) for i in e.items]
    elif isinstance(e, n.Binary):
        parts = [_measure(e.left, written, direct=direct),
                 _measure(e.right, written, direct=direct)]
    elif isinstance(e, (n.Not, n.Neg, n.Presence)):
        parts = [_measure(e.operand, written, direct=direct)]
    elif isinstance(e, n.Call):
        parts = [_measure(a, written, direct=direct) for a in e.args]
    else:
        return 1, 1
    return 1 + sum(p[0] for p in parts), 1 + max((p[1] for p in parts), default=0)


def _rule_exprs(ctx: Context) -> Iterator[n.Expr]:
    """Every expression the engines evaluate outside a define's own value."""
    for located in ctx.model.all_decls():
        todo = [located.decl]
        while todo:
            stmt = todo.pop()
            if not isinstance(stmt, (n.Define, n.Example)):
                yield from stmt_exprs(stmt)
                todo.extend(reversed(children(stmt)))


def _deepest_path(defines, written, start: str) -> list[str]:
    """The chain of defines that makes ``start`` deep: each step the deepest define used."""
    path = [start]
    while len(path) <= MAX_WRITTEN_DEPTH + 1:
        used = [r.path[0] for r in walk_expr(defines[path[-1]].value)
                if isinstance(r, n.Ref) and len(r.path) == 1 and r.path[0] in written
                and r.path[0] not in path]
        if not used:
            break
        path.append(max(used, key=lambda d: written[d][1]))
    return path


def check_written_out(ctx: Context) -> Iterator[Diagnostic]:
    """E108 (kind ``expansion``): a define or rule that nests deeper than
    :data:`MAX_WRITTEN_DEPTH` with its defines written out (reported once, at the define
    that first crosses it), and defines whose uses add more than
    :data:`MAX_WRITTEN_GROWTH` operations to the rules (reported at the use that crosses
    it). Each define is measured once, after those it uses, so this is linear."""
    defines = ctx.model.defines
    written: dict[str, tuple[int, int]] = {}
    too_deep: set[str] = set()
    for name in define_order(defines):
        value = defines[name].value
        size, depth = written[name] = _measure(value, written)
        uses = {r.path[0] for r in walk_expr(value) if isinstance(r, n.Ref)
                and len(r.path) == 1 and r.path[0] in defines}
        if depth > MAX_WRITTEN_DEPTH:
            too_deep.add(name)
            if not uses & too_deep:
                path = _deepest_path(defines, written, name)
                shown = " -> ".join(f"`{p}`" for p in path[:4])
                if len(path) > 4:
                    shown += f" -> … {len(path) - 4} more"
                yield error("E108", f"`{name}` nests {depth} levels deep once the defines it "
                            f"uses are written out in place, past the {MAX_WRITTEN_DEPTH} the "
                            f"engines evaluate: {shown}", defines[name].name.span,
                            kind="expansion",
                            help="compute it in fewer steps: combine the defines of a long "
                            "chain into fewer, wider ones")
    growth = 0
    for e in _rule_exprs(ctx):
        size, depth = _measure(e, written)
        refs = [r for r in walk_expr(e) if isinstance(r, n.Ref) and len(r.path) == 1
                and r.path[0] in written]
        if not refs:
            continue
        if depth > MAX_WRITTEN_DEPTH and not any(r.path[0] in too_deep for r in refs):
            yield error("E108", f"this expression nests {depth} levels deep once the defines "
                        f"it uses are written out in place, past the {MAX_WRITTEN_DEPTH} the "
                        "engines evaluate", refs[0].span, kind="expansion",
                        help="compute it in fewer steps: combine defines into fewer, "
                        "wider ones")
        growth += size - _measure(e, written, direct=True)[0]
        if growth > MAX_WRITTEN_GROWTH:
            biggest = max(refs, key=lambda r: written[r.path[0]][0])
            yield error("E108", f"written out where the rules use them, the defines add "
                        f"{growth:,} operations to the rules, past the {MAX_WRITTEN_GROWTH:,} the "
                        f"engines evaluate (`{biggest.path[0]}` alone holds "
                        f"{written[biggest.path[0]][0]:,})", biggest.span, kind="expansion",
                        help="a define that uses another several times multiplies its size; "
                        "combine the defines into fewer steps, or the rules into fewer")
            return
