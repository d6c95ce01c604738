"""No import cycles among the ``cosmicbook`` modules.

Each module is parsed with :mod:`ast` (nothing is imported) and every ``import cosmicbook...`` /
``from cosmicbook... import ...`` / relative import becomes an edge of a module graph. Imports
deferred into a function body count too: the cycles this test was written against
(``cli`` <-> ``deepcr.cli``, ``crayfis.evaluate`` <-> ``crayfis.training``) were deferred
imports, a way of hiding a cycle rather than removing it. Only imports under
``if TYPE_CHECKING:`` are left out (they never run).

A package's ``__init__`` is a node of its own (``from cosmicbook.deepcr import x`` depends on
everything ``deepcr/__init__.py`` imports); the implicit import of a module's parent package is
not an edge, or every package whose ``__init__`` re-exports its modules would be a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cosmicbook"


def module_files(package: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``) for every ``.py`` file."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every import node of ``tree`` except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(modules: dict[str, tuple[Path, bool]]) -> dict[str, set[str]]:
    """Module -> the ``cosmicbook`` modules it imports (anywhere but ``TYPE_CHECKING``)."""

    def resolve(name: str) -> str | None:
        # ``cosmicbook.deepcr.evaluate.roc_curve`` -> ``cosmicbook.deepcr.evaluate``
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    root = PACKAGE.name
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    full = ".".join(base + ([node.module] if node.module else []))
                else:
                    full = node.module or ""
                # ``from pkg import mod`` imports the module ``pkg.mod``, else ``pkg`` itself
                targets = [f"{full}.{alias.name}" if f"{full}.{alias.name}" in modules
                           else full for alias in node.names]
            for target in targets:
                if target == root or target.startswith(root + "."):
                    resolved = resolve(target)
                    if resolved is not None and resolved != name:
                        graph[name].add(resolved)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component with more than one
    module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return [_cycle_in(set(c), graph) for c in components]


def _cycle_in(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the alphabetically first module of a strongly connected
    component (breadth-first search back to it)."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"not a strongly connected component: {sorted(component)}")


def test_the_detector_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_deferred_and_relative_imports(tmp_path):
    pkg = tmp_path / "cosmicbook"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .a import f\n")
    (pkg / "sub" / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from cosmicbook.sub.c import C\n"
        "def f():\n    from cosmicbook.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from . import a\nimport cosmicbook.sub.c\n")
    (pkg / "sub" / "c.py").write_text("from ..sub.a import f\n")
    graph = import_graph(module_files(pkg))
    assert graph == {
        "cosmicbook": set(),
        "cosmicbook.sub": {"cosmicbook.sub.a"},
        "cosmicbook.sub.a": {"cosmicbook.sub.b"},
        "cosmicbook.sub.b": {"cosmicbook.sub.a", "cosmicbook.sub.c"},
        "cosmicbook.sub.c": {"cosmicbook.sub.a"},
    }
    assert find_cycles(graph) == [["cosmicbook.sub.a", "cosmicbook.sub.b", "cosmicbook.sub.a"]]


def test_no_import_cycles():
    modules = module_files()
    assert "cosmicbook.deepcr.cli" in modules
    cycles = find_cycles(import_graph(modules))
    assert not cycles, "import cycles among the cosmicbook modules:\n" + "\n".join(
        "  " + " -> ".join(cycle) for cycle in cycles)
