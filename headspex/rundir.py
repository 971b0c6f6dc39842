"""A run's output directory (``--out``): usable before work starts, one set of settings, nothing left on failure.

- :func:`prepare_out` refuses a path that is a file, cannot be written, or is a non-empty directory that is not a
  headspex run (a symlink judged by its target), before any model loads.
- :func:`run_settings` is everything that can change a number of a run except its seed: the configuration,
  the model's weights fingerprint and dtypes, the task and the exact prompts of both splits.
- :func:`check_settings` refuses a rerun on an ``--out`` made under other settings, naming each difference,
  before anything is written (``config.json`` included).
- :func:`remove_if_empty_run` removes an ``--out`` that this run created and left holding nothing but its
  lock and config, so a failed first run leaves no debris.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from headspex.errors import OutputError, StoredDataError

SETTINGS_KEY = "settings"  # the key of config.json holding run_settings()
DEBRIS = {".lock", "config.json", "config.json.tmp"}  # what a run writes before its first result


def prepare_out(path: str | os.PathLike) -> bool:
    """Check that ``path`` can hold a run; returns whether it already existed. Raises OutputError.

    A run writes only into a new directory, an empty one, or a headspex run directory (its ``config.json`` says
    so); a symlink is judged by its target. Anything else is refused before any model loads or any file is
    written, naming what is there and suggesting a subdirectory."""
    given = Path(path)
    p = given.resolve() if given.is_symlink() or given.exists() else given
    via = f" (a link to {p})" if given.is_symlink() else ""
    if p.exists() and not p.is_dir():
        raise OutputError(f"--out {given}{via} is a file; a directory is expected (choose another --out)")
    existed = p.is_dir()
    if existed and not is_run_dir(p):
        theirs = sorted(item.name for item in p.iterdir() if item.name not in DEBRIS)
        if theirs:
            shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
            raise OutputError(f"--out {given}{via} holds files headspex did not write ({shown}); a run writes only into "
                              f"a new or empty directory or one of its own runs: choose a subdirectory, e.g. --out "
                              f"{given / 'run'}")
    parent = p if existed else _existing_parent(p)
    if parent is not None and not parent.is_dir():
        raise OutputError(f"--out {p}: {parent} is a file, so the directory cannot be created there")
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"--out {p} cannot be written ({parent} is read-only for this user); choose another --out")
    return existed


def is_run_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a headspex run: its ``config.json`` is a JSON object with the run's ``settings`` (or, from
    an older headspex, its ``study``/``curve`` configuration and ``arguments``)."""
    try:
        record = json.loads((Path(path) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and (SETTINGS_KEY in record or
                                         ("arguments" in record and ("study" in record or "curve" in record)))


def run_settings(config: dict, model: Any, task: Any, test_dtype: str) -> dict:
    """What makes two runs' numbers comparable: ``config`` (without its seed), the weights, dtypes and prompts."""
    from headspex.engine.fingerprint import prompts_fingerprint, weights_fingerprint

    config = _without_unused_rule({k: v for k, v in config.items() if k != "seed"})
    return json.loads(json.dumps({
        "config": config, "model": model.name, "weights": weights_fingerprint(model),
        "dtype": str(model.dtype).replace("torch.", ""), "test_dtype": test_dtype, "task": task.name,
        "task_options": {k: task.info.get(k) for k in ("seed", "n_shots", "exemplars", "source", "sha256")},
        "n_train": len(task.train), "n_test": len(task.test),
        "prompts": {split: prompts_fingerprint(task, split) for split in ("train", "test")},
    }, default=str))


def _without_unused_rule(config: dict) -> dict:
    """``config`` without ``proxyspex_rule`` when its methods are listed and ``proxyspex`` is not among them: only
    the method ``proxyspex`` runs the rule (``proxyspex-<rule>`` names its own), so it changes no number then."""
    methods = config.get("methods")
    if methods is not None and "proxyspex" not in methods:
        return {k: v for k, v in config.items() if k != "proxyspex_rule"}
    return config


def check_settings(out: str | os.PathLike, settings: dict) -> None:
    """Refuse when ``out/config.json`` records a run made under other settings (names each difference)."""
    path = Path(out) / "config.json"
    if not path.is_file():
        return
    try:
        stored = json.loads(path.read_text()).get(SETTINGS_KEY)
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise StoredDataError(f"{path} is not a headspex run configuration (unreadable JSON); choose another --out")
    if stored is None:
        raise StoredDataError(f"{path} was written by an older headspex (no recorded settings), so its stored values "
                              "cannot be checked against this run; choose another --out")
    if isinstance(stored, dict) and isinstance(stored.get("config"), dict):
        from headspex.records.format import legacy_config

        stored = {**stored, "config": _without_unused_rule(legacy_config(stored["config"]))}
    diff = list(dict.fromkeys(settings_diff(stored, json.loads(json.dumps(settings, default=str)))))
    if diff:
        raise StoredDataError(f"--out {Path(out)} holds a run made with other settings ({'; '.join(diff)}); rerun with "
                              "the same settings to resume, or choose another --out")


def settings_diff(stored: Any, wanted: Any, prefix: str = "") -> list[str]:
    """Human-readable differences between two settings records (nested dicts compared key by key)."""
    if isinstance(stored, dict) and isinstance(wanted, dict):
        out = []
        for key in sorted(set(stored) | set(wanted), key=str):
            out += settings_diff(stored.get(key), wanted.get(key), f"{prefix}{key}.")
        return out
    if stored == wanted:
        return []
    name = prefix.rstrip(".")
    if name.startswith(("weights", "prompts")):  # fingerprints: say what changed, not the hashes
        return [f"the model's {name.split('.')[0]} changed" if name.startswith("weights")
                else f"the prompts changed ({name})"]
    return [f"{name}: stored {_short(stored)}, now {_short(wanted)}"]


def missing_seeds_note(config: dict | None, finished: list[int]) -> str | None:
    """"2 seeds asked, 1 finished (seed 5 has no results: rerun the command to finish it)" when the run recorded in
    ``config`` (its ``config.json``) asked for seeds that ``finished`` lacks, else None."""
    args = (config or {}).get("arguments") or {}
    first, count = args.get("seed"), args.get("seeds")
    if not isinstance(first, int) or not isinstance(count, int):
        return None
    missing = [s for s in range(first, first + count) if s not in set(finished)]
    if not missing:
        return None
    which = ", ".join(str(s) for s in missing)
    return (f"{count} seed{'s' * (count > 1)} asked, {count - len(missing)} finished (seed{'s' * (len(missing) > 1)} "
            f"{which} {'have' if len(missing) > 1 else 'has'} no results: rerun the command to finish "
            f"{'them' if len(missing) > 1 else 'it'})")


def remove_if_empty_run(out: str | os.PathLike) -> bool:
    """Remove ``out`` if it holds only a run's lock/config debris (no value, result or table); returns whether."""
    p = Path(out)
    if not p.is_dir():
        return False
    for item in p.rglob("*"):
        if item.is_file() and item.name not in DEBRIS:
            return False
    shutil.rmtree(p, ignore_errors=True)
    return True


def _existing_parent(p: Path) -> Path | None:
    for parent in p.absolute().parents:
        if parent.exists():
            return parent
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 50 else text[:47] + "..."
