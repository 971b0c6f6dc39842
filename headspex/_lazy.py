"""Lazy exports for package ``__init__`` files: names resolve on first use, so importing a package
loads no model, no torch and no CatBoost until something is asked for."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable

# package -> {name: absolute module defining it}: every lazy export, for tools that follow imports through
# a package (tests/unit/test_import_graph.py resolves ``from headspex.engine import MaskGame`` with it)
EXPORTS: dict[str, dict[str, str]] = {}


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` resolving ``name`` from module ``exports[name]``.

    ``exports`` maps a public name to the dotted module (relative to ``package`` when it starts with
    a dot) that defines it.
    """
    EXPORTS[package] = {name: importlib.util.resolve_name(module, package) for name, module in exports.items()}

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        importlib.import_module(package).__dict__[name] = value  # cache: next access is a plain lookup
        return value

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(importlib.import_module(package).__dict__))

    return __getattr__, __dir__
