"""The package's import graph: layers that import only downwards, and no cycle anywhere.

Every ``import`` counts, including those inside functions and under ``TYPE_CHECKING``: a lazy
import still ties two modules together. A new module must be placed in a layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lensbox"

# Lowest first; a module may import its own layer and those before it.
LAYERS: list[tuple[str, ...]] = [
    (
        "lensbox._version",
        "lensbox._registry",
        "lensbox._usercode",
        "lensbox.errors",
        "lensbox._optional",
        "lensbox._atomic",
        "lensbox._onnx",
        "lensbox._zipcheck",
        "lensbox.manifest",
        "lensbox.results",
        "lensbox.preprocess",
        "lensbox.draw",
        "lensbox.boxes",
        "lensbox.settings",
    ),
    ("lensbox.data", "lensbox.racer", "lensbox.composer"),
    ("lensbox.tasks",),
    ("lensbox.runtime", "lensbox.projects"),
    ("lensbox.evaluation", "lensbox.export", "lensbox.racer.evaluate", "lensbox.racer.league"),
    (
        "lensbox.train",
        "lensbox.racer.train",
        "lensbox.racer.report",
        "lensbox.composer.train",
        "lensbox.composer.gan_train",
        "lensbox.composer.trainers",
        "lensbox.composer.report",
        "lensbox.optimize",
    ),
    ("lensbox.cli", "lensbox.console"),
    ("lensbox", "lensbox.__main__"),
]


def module_files() -> dict[str, Path]:
    modules = {}
    for path in SRC.rglob("*.py"):
        if "templates" in path.parts:  # user files copied out by `project init`
            continue
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the lensbox modules it names (``from a.b import c`` names ``a.b.c`` when that
    is a module, else ``a.b``)."""

    def known(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {known(a.name) for a in node.names if a.name.startswith("lensbox")}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] != "lensbox":
                    continue
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else known(node.module))
        graph[name] = targets - {name}
    return graph


def layer_of(module: str) -> int:
    best, depth = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and prefix.count(".") > depth and (prefix != "lensbox" or module == prefix):
                best, depth = index, prefix.count(".")
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
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

    for node in graph:
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(module_files())


def test_every_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    assert [m for m in graph if layer_of(m) < 0] == []


def test_imports_only_go_down_the_layers(graph: dict[str, set[str]]) -> None:
    upward = [
        f"{source} (layer {layer_of(source)}) imports {target} (layer {layer_of(target)})"
        for source, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(source)
    ]
    assert upward == []


def test_there_is_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_the_checks_catch_a_cycle_and_an_upward_import() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("lensbox.tasks.detect") < layer_of("lensbox.runtime.engine")
    assert layer_of("lensbox.train.registry") > layer_of("lensbox.evaluation")
    assert layer_of("lensbox") > layer_of("lensbox.cli")
