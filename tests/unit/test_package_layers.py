"""The package map has no import cycle, and only the runtime knows the stream framework.

A cycle between packages means neither can be read, tested or replaced
without the other. Every import counts, including those inside functions
(a lazy import is still a dependency); only ``if TYPE_CHECKING:`` blocks are
left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import riskmon

ROOT = Path(riskmon.__file__).parent
FRAMEWORK = ("faust", "aiokafka", "mode")


def _package_of(module: str) -> str:
    """``riskmon.x.y.z`` -> ``riskmon.x`` (top-level modules such as ``riskmon.config`` are their own node)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # riskmon imports absolutely, so that this walk (and a reader) sees every dependency
            assert not node.level, f"{module}: relative import at line {node.lineno}"
            if node.module:
                found.add(node.module)
    return found


def package_graph() -> dict[str, set[str]]:
    """Which riskmon package imports which."""
    graph: dict[str, set[str]] = {}
    for module, path in _modules().items():
        source = _package_of(module)
        for imported in _imports(path, module):
            if imported.startswith("riskmon.") and _package_of(imported) != source:
                graph.setdefault(source, set()).add(_package_of(imported))
        graph.setdefault(source, set())
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_riskmon_packages() -> None:
    graph = package_graph()
    assert "riskmon.runtime" in graph and "riskmon.applications" in graph  # the walk saw the tree
    assert cycles(graph) == [], "import cycles between packages: " + "; ".join(" <-> ".join(c) for c in cycles(graph))


def test_only_the_runtime_imports_the_stream_framework() -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in _modules().items()
        if not module.startswith("riskmon.runtime")
        for name in _imports(path, module)
        if name.split(".")[0] in FRAMEWORK
    )
    assert offenders == []


def test_domain_packages_never_import_the_runtime_or_the_command_line() -> None:
    graph = package_graph()
    domains = [
        "riskmon.applications",
        "riskmon.transactions",
        "riskmon.learning",
        "riskmon.reviews",
        "riskmon.portfolio",
        "riskmon.alerting",
        "riskmon.audit",
        "riskmon.shadow",
        "riskmon.pipeline",
        "riskmon.backtest",
        "riskmon.intake",
    ]
    assert {d: sorted(graph[d] & {"riskmon.runtime", "riskmon.cli"}) for d in domains} == {d: [] for d in domains}
