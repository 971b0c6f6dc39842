"""Old flat module paths (``headspex.proxy``, ``headspex.study``, ...) keep importing after the move
into sub-packages: each resolves to the module that now holds its code."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

MOVED = {
    "headspex.models": "headspex.engine.models",
    "headspex.fast_forward": "headspex.engine.fast_forward",
    "headspex.evaluator": "headspex.engine.evaluator",
    "headspex.store": "headspex.engine.store",
    "headspex.sampling": "headspex.engine.sampling",
    "headspex.ray_executor": "headspex.engine.ray_pool",
    "headspex.sparse_sets": "headspex.spectrum.sparse_sets",
    "headspex.tree_spectrum": "headspex.spectrum.tree",
    "headspex.refine": "headspex.spectrum.refine",
    "headspex.attributions": "headspex.spectrum.attributions",
    "headspex.structure": "headspex.spectrum.structure",
    "headspex.surrogates": "headspex.spectrum.surrogates",
    "headspex.faithfulness": "headspex.spectrum.faithfulness",
    "headspex.synthetic": "headspex.spectrum.synthetic",
    "headspex.proxy": "headspex.spectrum.proxy",
    "headspex.select": "headspex.prune.select",
    "headspex.study": "headspex.prune.study",
    "headspex.report": "headspex.prune.report",  # python -m headspex.report DIR rebuilds a run's reports
    # Benchmarks left the library for benchmarks/ (a checkout's folder, not installed): from a checkout's
    # root, python -m headspex.bench still runs them.
    "headspex.bench": "benchmarks.engine",
    "headspex.bench_proxy": "benchmarks.proxy",
    "headspex.bench_ray": "benchmarks.ray_workers",
}


class _MovedModuleLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module(self.target)

    def exec_module(self, module: Any) -> None:  # already executed under its new name
        pass

    def get_code(self, fullname: str) -> Any:
        """The new module's code, so ``python -m headspex.<old name>`` runs it as ``__main__``."""
        spec = importlib.util.find_spec(self.target)
        return spec.loader.get_code(self.target)


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds ``headspex.<old name>`` and hands back the module it moved to (the same object)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _MovedModuleLoader(new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (idempotent)."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
