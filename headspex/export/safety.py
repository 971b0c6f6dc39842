"""Where an export may write: it never deletes what it did not write.

``check_export_target(path, overwrite=..., out=...)`` is the one gate every export passes before any work:

* a new path, or an existing empty directory, is used;
* an existing directory holding a headspex checkpoint (a valid ``headspex_pruned.json`` and only the files
  that checkpoint wrote) is replaced only with ``overwrite=True``;
* any other existing directory or file is refused, with or without ``overwrite``;
* a directory holding headspex run data (:func:`holds_run_data`) is always refused, and so is the run's
  own ``--out`` directory, any directory containing it, and a path inside it at a name the run writes.
"""

from __future__ import annotations

import json
import os
from fnmatch import fnmatch
from pathlib import Path

from headspex.engine.loaded_model import PRUNED_MARKER
from headspex.engine.sources.pruned import read_marker
from headspex.errors import OutputError, StoredDataError

RUN_FILES = (".lock", "values.jsonl", "accuracy.csv", "report.html", "curve.pkl", "results.pkl",  # pickles: old seeds
             "record.json", "masks.npz", "scores.csv", "selections.csv")  # a seed's stored tables (headspex.records)
RUN_DIRS = ("seed-*", "methods", "layers-*", "train-*", "test-*")
RUN_CONFIG_KEYS = {"identity": "a value store", "study": "a study run", "curve": "a curve run",
                   "arguments": "a study run", "settings": "a run"}
# names a run writes directly into its --out: an export path inside --out must not start with one
RUN_NAMES = (*RUN_FILES, *RUN_DIRS, "config.json", "export.json", "*.csv", "*.md", "*.png", "*.pkl", "*.html",
             "*.jsonl", "*.npz")
__all__ = ["TargetExistsError", "check_export_target", "check_outside_run", "holds_run_data"]


class TargetExistsError(OutputError, FileExistsError):
    """The export path already holds something the export may not (or, without overwrite, will not) replace."""


def holds_run_data(path: str | os.PathLike) -> str | None:
    """Why the directory ``path`` holds headspex run data (a value store, a study or curve run), or None.

    Looks at the directory's own entries only: a ``.lock``, ``values.jsonl``, ``accuracy.csv``,
    ``report.html``, ``record.json``, ``masks.npz``, ``scores.csv``, ``selections.csv`` (a seed's tables),
    ``curve.pkl`` or ``results.pkl`` file; a ``config.json`` with an "identity", "study",
    "curve", "arguments" or "settings" key; a ``seed-*``, ``methods``, ``layers-*``, ``train-*`` or
    ``test-*`` directory.
    """
    p = Path(path)
    if not p.is_dir():
        return None
    for entry in sorted(p.iterdir()):
        name = entry.name
        if name == "config.json" and entry.is_file():
            keys = [k for k in RUN_CONFIG_KEYS if k in _json_keys(entry)]
            if keys:
                return f"config.json has the key {keys[0]!r} of {RUN_CONFIG_KEYS[keys[0]]}"
        elif name in RUN_FILES:
            return f"it holds {name}"
        elif entry.is_dir() and any(fnmatch(name, pattern) for pattern in RUN_DIRS):
            return f"it holds the run directory {name}/"
    return None


def check_outside_run(path: str | os.PathLike, out: str | os.PathLike) -> None:
    """OutputError when ``path`` is the run's output directory ``out``, contains it, or lies inside it at a
    name the run writes (``seed-*``, ``methods``, ``config.json``, ...)."""
    target, run = Path(path).resolve(), Path(out).resolve()
    example = Path(out) / "pruned"
    if target == run:
        raise OutputError(f"export path {path} is the run's own output directory (--out {out}): exporting there "
                          f"would replace its value stores, per-seed results and tables; choose another directory, "
                          f"e.g. {example}")
    if target in run.parents:
        raise OutputError(f"export path {path} contains the run's output directory {out}: replacing it would "
                          f"delete the run; choose a directory outside it, e.g. {example}")
    if run in target.parents:
        first = target.relative_to(run).parts[0]
        if any(fnmatch(first, pattern) for pattern in RUN_NAMES):
            raise OutputError(f"export path {path} lies inside the run's output directory {out} at {first!r}, a "
                              f"name the run writes; choose another name, e.g. {example}")


def check_export_target(path: str | os.PathLike, *, overwrite: bool = False,
                        out: str | os.PathLike | None = None) -> Path:
    """``path`` as a Path if an export may write there; OutputError / TargetExistsError (a FileExistsError)
    saying why not. ``out``: the run's output directory, when exporting from a run."""
    target = Path(path)
    if out is not None:
        check_outside_run(target, out)
    if target.is_symlink():
        raise TargetExistsError(f"export path {target} is a symbolic link: pass the directory it points to, or "
                                "choose a new or empty directory")
    if not target.exists():
        parent = next((p for p in target.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise OutputError(f"export path {target} cannot be created: {parent} is a file; choose another path")
        return target
    if not target.is_dir():
        raise TargetExistsError(f"export path {target} exists and is not a directory; choose a new or empty directory")
    reason = holds_run_data(target)
    if reason is not None:
        raise OutputError(f"export path {target} holds headspex run data ({reason}): an export never writes there, "
                          "even with overwrite=True; choose a new or empty directory")
    if not any(target.iterdir()):
        return target
    _check_own_checkpoint(target)
    if not overwrite:
        raise TargetExistsError(f"export path {target} already holds a headspex checkpoint: pass overwrite=True "
                                "(--overwrite) to replace it, or choose another path")
    return target


def _check_own_checkpoint(target: Path) -> None:
    """TargetExistsError unless the non-empty directory ``target`` holds only a checkpoint export_pruned wrote."""
    try:
        marker = read_marker(target)
    except StoredDataError:
        raise TargetExistsError(
            f"export path {target} is a non-empty directory that is not a headspex checkpoint (no valid "
            f"{PRUNED_MARKER}): an export only replaces its own checkpoints, even with overwrite=True; choose a "
            "new or empty directory") from None
    written = marker.get("files")
    allowed = {*written, PRUNED_MARKER} if isinstance(written, list) else None  # None: an older marker, no file list
    strays = sorted(e.name for e in target.iterdir()
                    if e.is_symlink() or not e.is_file() or (allowed is not None and e.name not in allowed))
    if strays:
        shown = ", ".join(strays[:5]) + (f" and {len(strays) - 5} more" if len(strays) > 5 else "")
        raise TargetExistsError(f"export path {target} is a headspex checkpoint but also holds entries the export "
                                f"did not write ({shown}): move them out, or choose a new or empty directory")


def _json_keys(path: Path) -> set[str]:
    """The top-level keys of a JSON object file (empty when unreadable, too big or not an object)."""
    try:
        if path.stat().st_size > 50_000_000:
            return set()
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return set()
    return set(data) if isinstance(data, dict) else set()
