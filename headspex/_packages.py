"""The project's own top-level packages ``tasks`` and ``hooks``, told apart from folders that shadow them.

headspex installs two top-level packages beside itself, ``tasks`` and ``hooks``. Python finds the
working directory (``python -m ...``, scripts) or ``$PYTHONPATH`` first, so a user's own ``tasks/``
folder (even one without ``__init__.py``) is imported in their place and fails far away ("module 'tasks'
has no attribute 'list_tasks'"). :func:`check_project_packages` says so in one line, before anything runs.

A package is the project's own when it lies beside headspex's package directory (site-packages, or the
checkout for an editable install) and, once imported, carries ``__headspex__ = True``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from headspex.errors import InputError, MissingResourceError

__all__ = ["PROJECT_PACKAGES", "check_project_packages", "project_package_dir"]

PROJECT_PACKAGES = ("tasks", "hooks")


def project_package_dir(name: str) -> Path:
    """Where the project's own package ``name`` lies: beside the ``headspex`` package directory."""
    return Path(__file__).resolve().parent.parent / name


def check_project_packages(names: Sequence[str] = PROJECT_PACKAGES) -> None:
    """Refuse, with one InputError line, a ``tasks``/``hooks`` that is not the project's own package.

    Does not import a package that is not imported yet (a shadowing folder's code is never run): it
    asks the import system where ``import NAME`` would load it from. An already imported one must also
    carry the ``__headspex__`` marker. A package that cannot be found at all raises MissingResourceError.
    """
    for name in names:
        module = sys.modules.get(name)
        spec = getattr(module, "__spec__", None) if module is not None else _find_spec(name)
        expected = project_package_dir(name)
        if spec is None and module is None:
            raise MissingResourceError(
                f"the package {name!r} that headspex needs is not installed (expected at {expected}); reinstall "
                "headspex (pip install -e . in its checkout, or pip install the wheel)"
            )
        where, kind = _location(module, spec)
        ours = where is not None and where.resolve() == expected.resolve()
        if ours and (module is None or getattr(module, "__headspex__", False) is True):
            continue
        raise InputError(
            f"'import {name}' finds {kind} at {where or '(unknown location)'}, not headspex's own {name!r} package "
            f"({expected}); a {name}/ folder or {name}.py in the working directory or on PYTHONPATH shadows it: "
            "rename it or run from another directory"
        )


def _find_spec(name: str) -> Any:
    """``importlib.util.find_spec(name)`` without importing; None when it cannot be found."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def _location(module: ModuleType | None, spec: Any) -> tuple[Path | None, str]:
    """(the package directory or module file that ``import`` uses, what it is in words)."""
    origin = getattr(spec, "origin", None) or (getattr(module, "__file__", None) if module is not None else None)
    search = list(getattr(spec, "submodule_search_locations", None) or getattr(module, "__path__", None) or [])
    if origin and origin not in ("namespace", "built-in", "frozen") and Path(origin).exists():
        path = Path(origin)
        if path.name == "__init__.py":
            return path.parent, "a package"
        return path, "a module file"
    if search:  # a folder without __init__.py: a namespace package
        return Path(search[0]), "a folder without __init__.py (a namespace package)"
    return None, "a module"
