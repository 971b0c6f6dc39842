"""The import graph of headspex has no cycle, and the top-level API is small and resolves.

Every module under ``headspex/`` is parsed (no module is executed): every ``import`` counts, at module
top, inside a function or under ``if TYPE_CHECKING``, with relative imports resolved. A ``from pkg import
name`` counts as an import of the submodule ``pkg.name`` when there is one, else of the module that
``pkg``'s lazy exports take ``name`` from, else of ``pkg`` itself. An import by name counts too: any string in
the code (not a docstring) that names a headspex module, such as ``importlib.import_module("headspex.x")`` or a
lazy export's target (``".format"`` in a package's ``__init__``). Only headspex modules are nodes.

The layers are read from the package docstring (``headspex/__init__.py``), the one place they are written.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import deque
from pathlib import Path

import headspex
from headspex import _lazy

PACKAGE = Path(headspex.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    """Every headspex module: dotted name -> file."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _lazy_exports(package: str) -> dict[str, str]:
    """``{name: module}`` of a package's lazy exports (importing a headspex package runs no heavy import)."""
    importlib.import_module(package)
    return _lazy.EXPORTS.get(package, {})


def _targets(module: str, path: Path) -> dict[str, int]:
    """The headspex modules ``module`` imports -> line of the first such import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}

    def add(target: str | None, line: int) -> None:
        if target is not None and target != module and target in MODULES:
            found.setdefault(target, line)

    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            name = node.value
            if is_package and re.fullmatch(r"\.[A-Za-z_][\w.]*", name):
                name = package + name  # a lazy export's relative target
            if re.fullmatch(r"headspex(\.[A-Za-z_]\w*)+", name):  # "headspex" alone is a word (a cache folder)
                add(name, node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name  # import a.b.c imports a.b.c (its packages run their lazy __init__ only)
                while name and name not in MODULES:
                    name = name.rpartition(".")[0]
                add(name or None, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            if not base.startswith("headspex"):
                continue
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    add(f"{base}.{alias.name}", node.lineno)
                elif base in MODULES and alias.name in _lazy_exports(base):
                    add(_lazy_exports(base)[alias.name], node.lineno)
                else:
                    add(base, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported headspex module: line}."""
    return {name: _targets(name, path) for name, path in MODULES.items()}


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def shortest_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> list[str]:
    """A shortest import cycle through the component's first module: [a, b, ..., a]."""
    start, members = component[0], set(component)
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph[v]):
            if w == start:
                path = [v]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1] + [start]
            if w in members and w not in parent:
                parent[w] = v
                queue.append(w)
    return [start, start]


def describe(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    cycle = shortest_cycle(graph, component)
    steps = " -> ".join(cycle)
    edges = "; ".join(f"{a} imports {b} (line {line})" for a in component for b, line in sorted(graph[a].items())
                      if b in component)
    return f"cycle {steps} (all imports among {component}: {edges})"


GRAPH = import_graph()
CYCLES = strongly_connected(GRAPH)


def test_the_graph_sees_imports_of_every_kind():
    """Top-level, function-level, relative and lazy-export imports all become edges."""
    assert "headspex.engine.gemma_fast" in GRAPH["headspex.engine.fast_paths"]  # from headspex.engine import gemma_fast
    assert "headspex.errors" in GRAPH["headspex._checks"]
    assert "headspex.reporting.study_report" in GRAPH["headspex.report"]  # inside a function
    assert "headspex._lazy" in GRAPH["headspex"]
    assert len(MODULES) > 50


def test_no_import_cycles():
    assert not CYCLES, "import cycles:\n" + "\n".join(describe(GRAPH, c) for c in CYCLES)


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imports_of(target: str, within: str) -> list[str]:
    """``a imports b (line n)`` for every module a under ``within`` importing a module b under ``target``."""
    return [f"{a} imports {b} (line {line})" for a in sorted(GRAPH) if _inside(a, within)
            for b, line in sorted(GRAPH[a].items()) if _inside(b, target)]


def test_the_engine_sits_below_export_and_model_loading_is_layered():
    """Export sits above the engine; the model sources and random models never reach back to models.py."""
    assert not _imports_of("headspex.export", "headspex.engine"), _imports_of("headspex.export", "headspex.engine")
    for low in ("headspex.engine.loaded_model", "headspex.engine.sources", "headspex.engine.random_models",
                "headspex.engine.pruned_modeling"):
        assert not _imports_of("headspex.engine.models", low), _imports_of("headspex.engine.models", low)
    for copied in ("headspex.engine.pruned_modeling", "headspex.engine.pruned_gemma"):
        assert GRAPH[copied] == {}, f"{copied} is copied into every checkpoint: no headspex imports"


def test_the_cycles_the_pipeline_change_broke_stay_broken():
    for a, b in [("headspex.selection.iterative", "headspex.selection.methods"),
                 ("headspex.engine.evaluator", "headspex.engine.prefix_cache"),
                 ("headspex.engine.executors", "headspex.engine.ray_pool")]:
        assert not (b in GRAPH[a] and a in GRAPH[b]), f"{a} and {b} import each other"
    for module in ("headspex.selection.iterative", "headspex.engine.prefix_cache", "headspex.engine.ray_pool"):
        assert not any(module in c for c in CYCLES), module


def test_top_level_api_is_small_and_resolves():
    assert len(headspex.__all__) <= 25, headspex.__all__
    assert len(set(headspex.__all__)) == len(headspex.__all__)
    for name in headspex.__all__:
        assert not name.startswith("_"), name
        assert getattr(headspex, name) is not None, name


def _layers() -> list[list[str]]:
    """The layers of the package docstring, bottom first: module or package names, ``headspex.`` prefixed."""
    text = headspex.__doc__.split("Layers, bottom to top", 1)[1].split("::", 1)[1]
    rows = []
    for line in text.split("\n\n", 2)[1].splitlines():
        names = line.split()[1:]
        rows.append(["headspex" if n == "__init__" else f"headspex.{n}" for n in names])
    return rows


LAYERS = _layers()


def _layer_of(module: str) -> int:
    """The index of the layer ``module`` belongs to (its longest listed prefix)."""
    best, where = "", -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, where = name, i
    return where


def test_every_module_has_a_layer():
    assert len(LAYERS) >= 6
    missing = sorted(m for m in MODULES if _layer_of(m) < 0)
    assert not missing, f"modules in no layer of headspex/__init__.py's docstring: {missing}"


def test_no_module_imports_from_a_layer_above_it():
    """Lower layers never import upper ones: records and reporting know nothing of the experiments or the CLI."""
    upward = [f"{a} (layer {_layer_of(a)}) imports {b} (layer {_layer_of(b)}, line {line})"
              for a in sorted(GRAPH) for b, line in sorted(GRAPH[a].items()) if _layer_of(b) > _layer_of(a)]
    assert not upward, "imports that run up the layers:\n" + "\n".join(upward)


def test_records_and_reporting_import_nothing_of_the_experiments():
    for low in ("headspex.records", "headspex.reporting"):
        for high in ("headspex.experiments", "headspex.prune", "headspex.curves"):
            assert not _imports_of(high, low), _imports_of(high, low)


def test_imports_by_name_are_seen():
    """A lazy export's relative target and a string naming a module are edges; a docstring is not."""
    assert "headspex.records.format" in GRAPH["headspex.records"]  # "SCHEMA_VERSION": ".format"
    assert "headspex.engine.models" in GRAPH["headspex"]  # "load_model": "headspex.engine.models"
