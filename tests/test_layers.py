"""The layer order of the package, checked on the source (ast only: nothing is imported).

From the bottom: the ground (errors, labels, config, fileio, metrics, imaging, ...) -> scene ->
render -> dataset -> models -> train | infer (side by side, neither imports the other) -> serve
-> commands and cli. A module may import its own layer and those below, never above, and no
set of modules may import each other in a circle. Imports inside functions count too: a lazy
upward import is still an upward dependency; imports under `if TYPE_CHECKING:` (annotations
only, never run) do not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "segsim"
LAYERS = {
    "scene": 2,
    "assets": 2,
    "render": 3,
    "dataset": 4,
    "models": 5,
    "train": 6,
    "infer": 6,
    "serve": 7,
    "commands": 8,
    "cli": 8,
    "__main__": 8,
}
GROUND = 1  # every other top-level module: errors, labels, config, fileio, metrics, ...
SIBLINGS = {("train", "infer"), ("infer", "train")}


def module_names() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("segsim", *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """segsim modules that `name` imports (a package's submodule when `from pkg import sub`)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if _is_type_checking(block)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    + ([base] if base else [])
                )
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def _is_type_checking(node) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (
        getattr(test, "id", None) == "TYPE_CHECKING"
        or getattr(test, "attr", None) == "TYPE_CHECKING"
    )


def layer_of(module: str) -> tuple[str, int]:
    top = module.split(".")[1] if "." in module else "__init__"
    return top, LAYERS.get(top, GROUND)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def test_the_graph_is_read(graph):
    assert "segsim.dataset.generate" in graph and graph["segsim.dataset.generate"]
    assert "segsim.errors" in graph["segsim.dataset.generate"] | set().union(*graph.values())


def test_no_module_imports_a_higher_layer_or_its_sibling(graph):
    bad = []
    for module, targets in graph.items():
        top, level = layer_of(module)
        for target in targets:
            ttop, tlevel = layer_of(target)
            if tlevel > level or (top, ttop) in SIBLINGS:
                bad.append(f"{module} (layer {level}) imports {target} (layer {tlevel})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles(graph):
    # Tarjan's strongly connected components: any component of two or more modules is a cycle
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule above can fail: a scene module that imports the renderer is caught."""
    (tmp_path / "bad.py").write_text("from segsim.render.gl import Renderer\n")
    modules = {**module_names(), "segsim.scene.bad": tmp_path / "bad.py"}
    targets = imports_of(tmp_path / "bad.py", "segsim.scene.bad", modules)
    assert "segsim.render.gl" in targets
    assert layer_of("segsim.render.gl")[1] > layer_of("segsim.scene.bad")[1]
