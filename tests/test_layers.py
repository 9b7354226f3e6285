"""The import structure: no cycles between modules, and no import from a higher layer.

The layer order is read from ``docs/architecture.md`` (the line starting ``Layers, lowest
first:``); a module may import from its own package and from packages below it. Imports under
``if TYPE_CHECKING:`` are for type checkers only and are not counted.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def layers() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    sentence = re.search(r"^Layers, lowest first:(.*?)\.$", text, re.MULTILINE | re.DOTALL)
    assert sentence, "docs/architecture.md states no layer order"
    return re.findall(r"`([a-z()]+)`", sentence.group(1))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def runtime_imports(tree: ast.AST) -> Iterator[str]:
    """Every rareflow module imported at run time (module level or inside functions)."""
    for node in ast.iter_child_nodes(tree):
        if _type_checking(node):
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rareflow"):
            yield str(node.module)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("rareflow"))
        yield from runtime_imports(node)


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in (SRC / "rareflow").rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set(runtime_imports(ast.parse(path.read_text())))
        edges[name] = {t for t in targets if t in modules and t != name}
    return edges


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_no_import_from_a_higher_layer() -> None:
    order = {name: rank for rank, name in enumerate(layers())}
    edges = graph()
    missing = {package(m) for m in edges} - set(order)
    assert not missing, f"packages missing from the layer order in docs/architecture.md: {missing}"
    upward = sorted(
        f"{a} -> {b}"
        for a, targets in edges.items()
        for b in targets
        if order[package(b)] > order[package(a)]
    )
    assert upward == []


def test_the_checks_see_a_planted_cycle_and_an_upward_import() -> None:
    edges = {"rareflow.a.x": {"rareflow.a.y"}, "rareflow.a.y": {"rareflow.a.x"}}
    assert cycles(edges) == [["rareflow.a.x", "rareflow.a.y"]]
    tree = ast.parse(
        "if TYPE_CHECKING:\n    import rareflow.cli\ndef f():\n    import rareflow.web\n"
    )
    assert list(runtime_imports(tree)) == ["rareflow.web"]
