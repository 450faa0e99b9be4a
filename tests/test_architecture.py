"""The package's shape as docs/architecture.md states it: no import cycle (module-level or lazy),
nothing imports the CLI, the measurement studies are a leaf, and the package never looks for a
development data folder."""

from __future__ import annotations

import ast
from pathlib import Path

import ecgbench

ROOT = Path(ecgbench.__file__).parent


def _module_name(p: Path) -> str:
    parts = p.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The ecgbench modules an import statement loads (``from pkg import mod`` names ``pkg.mod``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        pkg = module.split(".")
        if MODULES[module].name != "__init__.py":
            pkg = pkg[:-1]
        pkg = pkg[: len(pkg) - node.level + 1]
        base = ".".join([*pkg, base] if base else pkg)
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def import_graph() -> dict[str, set[str]]:
    """Every import anywhere in a module (inside functions and TYPE_CHECKING blocks too)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, p in MODULES.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                graph[m] |= {t for t in _targets(m, node) if t in MODULES and t != m}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_package() -> None:
    assert cycles(import_graph()) == []


def test_nothing_imports_the_cli_and_only_the_cli_imports_the_studies() -> None:
    graph = import_graph()
    for m, targets in graph.items():
        if m.startswith("ecgbench.cli"):
            continue
        assert not {t for t in targets if t.startswith("ecgbench.cli")}, m
        if not m.startswith("ecgbench.studies"):
            assert not {t for t in targets if t.startswith("ecgbench.studies")}, m


def test_the_package_never_looks_for_a_development_data_folder() -> None:
    for m, p in MODULES.items():
        assert "../shared" not in p.read_text(), m
