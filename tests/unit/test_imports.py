"""The project's modules depend downwards: no import cycle, and the HTTP layer knows nothing of the run or the
application's settings. Read from the source (every import statement, also those inside functions and under
TYPE_CHECKING: a cycle there is still two modules that need each other)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("async_core", "sources", "benchmarks", "tools", "connector")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in PACKAGES:
        paths = [ROOT / "connector.py"] if top == "connector" else sorted((ROOT / top).rglob("*.py"))
        found.update({module_name(path): path for path in paths})
    return found


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports (`from pkg import module` counts as importing the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    return {target for target in targets if target in modules and target != name}


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_walk_finds_a_cycle_when_there_is_one() -> None:
    """The checker itself: two modules that import each other are one cycle; a chain is none."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_module_of_the_project_imports_itself_back() -> None:
    """No import cycle in async_core, sources, benchmarks, tools and connector.py."""
    assert cycles(graph()) == []


def test_the_http_layer_imports_nothing_from_the_run_or_the_settings() -> None:
    """async_core.http takes a policy object and reports into counters: it depends on errors and itself only."""
    edges = graph()
    http = {name: targets for name, targets in edges.items() if name.startswith("async_core.http")}
    assert http
    outside = {
        (name, target)
        for name, targets in http.items()
        for target in targets
        if not target.startswith("async_core.http") and target not in ("async_core", "async_core.errors")
    }
    assert outside == set()
