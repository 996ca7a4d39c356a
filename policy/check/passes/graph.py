"""Passes ``types`` (:mod:`policy.check.types`) and ``cycles`` (among defines and scores).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from policy.check.context import Context
from policy.check.types import check_types
from policy.model.namespace import refs_in, walk_expr
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
    """E108 a cycle among defines and scores, direct or indirect, with its path."""
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
