"""No import cycles: not between two modules, not between two rooms (ARCHITECTURE.md, HOUSE_STYLE.md 12).

The graph is read from the source (`ast`), so imports under `TYPE_CHECKING` and inside functions count too:
"two files never import each other" is about the design, not about what happens to run at import time.
A package's `__init__` is a module like any other; a room is a package (or a lone module) one level below the
layer it lives in (`commerce.domain.checkout`, `commerce.adapters.dynamodb`, `localcloud.http_api`, ...).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (source root, top-level package, how many name parts make a room)
PACKAGES = {
    "commerce": (ROOT / "layers" / "common", 3),
    "localcloud": (ROOT, 2),
}


def _modules(root: Path, package: str) -> dict[str, Path]:
    found = {}
    for path in (root / package).rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports (a name inside a module counts as the module)."""
    modules = _modules(root, package)
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module, path in modules.items():
        for name in _imported(module, path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph[module].add(name)
    return graph


def collapsed(graph: dict[str, set[str]], parts: int) -> dict[str, set[str]]:
    """The same graph between rooms: every module stands for the room its first `parts` name parts name."""
    rooms: dict[str, set[str]] = {}
    for module, imports in graph.items():
        room = ".".join(module.split(".")[:parts])
        rooms.setdefault(room, set()).update(
            other for other in (".".join(name.split(".")[:parts]) for name in imports) if other != room
        )
    for imports in list(rooms.values()):
        for other in imports:
            rooms.setdefault(other, set())
    return rooms


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
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
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    # Given a graph with a two-module cycle and a tail; When it is searched; Then exactly the cycle is reported
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": set()}
    assert cycles(graph) == [["a", "b"]]
    assert cycles(collapsed({"p.x.m": {"p.y.n"}, "p.y.n": {"p.x.k"}, "p.x.k": set()}, 2)) == [["p.x", "p.y"]]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_module_imports_itself_through_others(package: str) -> None:
    root, _ = PACKAGES[package]
    assert cycles(import_graph(root, package)) == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_rooms_depend_one_way(package: str) -> None:
    root, parts = PACKAGES[package]
    assert cycles(collapsed(import_graph(root, package), parts)) == []
