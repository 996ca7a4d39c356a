"""The layout keeps its rules: no import cycle inside ``policy``, no module too long.

Imports are read from the source (``ast``), not by importing, and count wherever they
stand: an import inside a function ties two modules as firmly as one at the top, it
only hides the tie until run time. Imports under ``if TYPE_CHECKING:`` are skipped:
they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "policy"

#: Lines a module of ``policy`` or ``cli`` may hold (docs/architecture.md).
MAX_LINES = 600

#: Modules allowed over the limit while someone splits them: none now. A module added here
#: must leave once it is under the limit (the last test says when).
KNOWN_LONG: frozenset[str] = frozenset()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The ``policy`` modules that ``name`` imports, anywhere in its body."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node.test):
            skipped.update(id(x) for stmt in node.body for x in ast.walk(stmt))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    out.add(sub)
                elif base in known:
                    out.add(base)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in sorted(graph):
        if state.get(root):
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            nxt = todo.pop(0)
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph.get(nxt, ()))))
    return None


def test_the_graph_sees_the_imports_it_should():
    """The reader itself: it finds top-level and lazy imports, and skips type-only ones."""
    graph = import_graph()
    assert "policy.syntax.syntax_errors" in graph["policy.syntax.parser"]
    assert "policy.check.checker" in graph["policy.model.loader"]  # imported inside a function
    # semdiff names impact's types only for annotations
    assert "policy.review.impact" not in graph["policy.review.semdiff"]


def test_no_import_cycle_inside_policy():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


#: Backends that compile the intermediate form (docs/architecture.md, "Adding a backend"):
#: they read policy.engine.ir, never the AST or the checked model. The schema (for the
#: validation SQL does) and the calendar code (business time as tables) are allowed.
IR_BACKENDS = ("policy.engine.compiler", "policy.engine.codegen",
               "policy.engine.compile_handoffs", "policy.sql.compiler", "policy.sql.values",
               "policy.sql.handoffs", "policy.sql.sqlparts", "policy.sql.sources")
NOT_FOR_BACKENDS = ("policy.syntax", "policy.check", "policy.model.namespace",
                    "policy.model.loader")


def test_the_compilers_read_the_intermediate_form_not_the_model():
    graph = import_graph()
    for name in IR_BACKENDS:
        wrong = sorted(m for m in graph[name] if m.startswith(NOT_FOR_BACKENDS))
        assert not wrong, f"{name} imports {wrong}: read policy.engine.ir instead"


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"b"}}) is None


def test_no_module_over_the_line_limit():
    too_long = {}
    for path in [*modules().values(), *sorted((ROOT / "cli").glob("*.py"))]:
        rel = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text("utf-8").splitlines())
        if lines > MAX_LINES and rel not in KNOWN_LONG:
            too_long[rel] = lines
    assert not too_long, f"modules over {MAX_LINES} lines (split them by concern): {too_long}"


def test_the_known_long_modules_are_still_long():
    """A module split below the limit leaves KNOWN_LONG, so the limit holds for it again."""
    done = [rel for rel in KNOWN_LONG
            if not (ROOT / rel).exists()
            or len((ROOT / rel).read_text("utf-8").splitlines()) <= MAX_LINES]
    assert not done, f"split below {MAX_LINES} lines: remove {done} from KNOWN_LONG"


# --------------------------------------------------------------------------- the CLI

def test_cli_commands_import_only_the_public_package():
    """The click commands are thin: they call what ``policy`` exports, not its modules."""
    offenders = {}
    for path in sorted((ROOT / "cli").glob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text("utf-8"))
        inner = sorted({
            node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("policy.")
        } | {
            a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
            for a in node.names if a.name.startswith("policy.")
        })
        if inner:
            offenders[rel] = inner
    assert offenders == {}


def test_cli_uses_only_names_policy_exports():
    """``from policy import X`` and ``policy.X`` in a command name an export, so a
    command never reaches a module through the package's lazy attributes."""
    import policy

    exported = {*policy._EXPORTS, *policy._TOOLING}
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "cli").glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        names = {a.name for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module == "policy"
                 for a in node.names}
        names |= {node.attr for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id == "policy"}
        if names - exported:
            used[path.name] = names - exported
    assert used == {}


def test_every_name_policy_exports_resolves():
    import policy

    for name in sorted({*policy._EXPORTS, *policy._TOOLING}):
        assert getattr(policy, name) is not None, name
    assert set(policy.__all__) == set(policy._EXPORTS)  # `import *` stays the library API
    assert "render_docs" in dir(policy)
