"""An append-only, crash-safe on-disk store of mask values; a rerun resumes from it.

Layout of a store directory:

* ``config.json``: ``identity`` (what makes values comparable: model, dtype, task, split, question
  ids, players, ablation, ...) and ``info`` (recorded only: versions, backend, timings).
* ``values.jsonl``: one line per finished mask, ``{"mask": <hex of packed bits>, "accuracy": ..,
  "logprob": .., "margin": ..}``, flushed and fsynced as produced. A line cut by a hard kill is
  dropped on the next open; every complete line is kept.
* ``means.pt``: the head means used for mean ablation, so a rerun uses exactly the same ones.
* ``.lock``: held while a process has the store open for writing (see :mod:`headspex.engine.lock`).

All metrics are stored, so a proxy for any metric can be re-fitted without the model:
``load_store(path).arrays("logprob")``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from headspex.engine.lock import DirectoryLock
from tasks.scoring import METRICS as METRIC_NAMES


class StoreMismatchError(ValueError):
    """The store at this path was made with a different configuration."""


def mask_key(mask: np.ndarray) -> str:
    """Stable text key of one binary mask row."""
    return np.packbits(np.asarray(mask, dtype=np.uint8)).tobytes().hex()


def key_to_mask(key: str, n_players: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(key), dtype=np.uint8))[:n_players]


class ValueStore:
    """Values of masks, keyed by mask content. Open with :meth:`open` (checks identity) or :func:`load_store`."""

    def __init__(self, path: Path, config: dict, records: dict[str, dict[str, float]],
                 lock: DirectoryLock | None = None) -> None:
        self.path = path
        self.config = config
        self._records = records
        self._lock = lock

    @classmethod
    def open(cls, path: str | os.PathLike, *, identity: dict, info: dict | None = None,
             wait: bool = False) -> "ValueStore":
        """Open (or create) the store at ``path`` for ``identity`` and lock it for writing; refuse a store
        made for another identity (:class:`StoreMismatchError`) or held by another live process
        (:class:`~headspex.engine.lock.StoreLockedError`, unless ``wait``)."""
        p = Path(path)
        lock = DirectoryLock(p, wait=wait).acquire()
        try:
            return cls._open_locked(p, identity, info, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(cls, p: Path, identity: dict, info: dict | None, lock: DirectoryLock) -> "ValueStore":
        cfg_path = p / "config.json"
        identity = json.loads(json.dumps(identity))  # normalise tuples -> lists
        if cfg_path.exists():
            config = json.loads(cfg_path.read_text())
            diff = _diff(config.get("identity", {}), identity)
            if diff:
                raise StoreMismatchError(
                    f"the store at {p} was made with a different configuration ({diff}); use another path, "
                    "or delete it to start over"
                )
        else:
            config = {"identity": identity, "info": info or {}}
            _atomic_write(cfg_path, json.dumps(config, indent=2))
        return cls(p, config, _read_records(p / "values.jsonl", repair=True), lock)

    def close(self) -> None:
        """Release the write lock (the values are already on disk)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def n_players(self) -> int:
        return len(self.config["identity"]["players"])

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def get(self, key: str) -> dict[str, float] | None:
        return self._records.get(key)

    def append(self, masks: np.ndarray, scores: dict[str, np.ndarray]) -> None:
        """Durably append finished masks [n, n_players] with their scores (one array [n] per metric)."""
        if self._lock is None:
            raise RuntimeError(f"the store at {self.path} is not open for writing (closed, or opened by load_store)")
        lines = []
        for i, mask in enumerate(np.asarray(masks)):
            rec = {name: float(scores[name][i]) for name in METRIC_NAMES}
            key = mask_key(mask)
            self._records[key] = rec
            lines.append(json.dumps({"mask": key, **rec}) + "\n")
        fd = os.open(self.path / "values.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, "".join(lines).encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def arrays(self, metric: str = "logprob") -> tuple[np.ndarray, np.ndarray]:
        """All stored (masks [n, n_players] uint8, values [n] float64) for ``metric``, in write order."""
        if metric not in METRIC_NAMES:
            raise ValueError(f"metric must be one of {METRIC_NAMES}; got {metric!r}")
        n = self.n_players
        keys = list(self._records)
        masks = np.stack([key_to_mask(k, n) for k in keys]) if keys else np.zeros((0, n), np.uint8)
        values = np.array([self._records[k][metric] for k in keys], dtype=np.float64)
        return masks, values


def load_store(path: str | os.PathLike) -> ValueStore:
    """Open an existing store read-only in spirit (no identity check, no model needed)."""
    p = Path(path)
    if not (p / "config.json").is_file():
        raise FileNotFoundError(f"no value store at {p} (expected {p / 'config.json'})")
    return ValueStore(p, json.loads((p / "config.json").read_text()), _read_records(p / "values.jsonl", repair=False))


def _read_records(path: Path, *, repair: bool) -> dict[str, dict[str, float]]:
    if not path.exists():
        return {}
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # bytes after the last newline are a line cut by a kill
    if repair and end < len(data):
        with open(path, "r+b") as f:
            f.truncate(end)
    records = {}
    for line in data[:end].decode().splitlines():
        if line.strip():
            rec = json.loads(line)
            records[rec.pop("mask")] = rec
    return records


def _diff(stored: dict, wanted: dict) -> str:
    keys = sorted(set(stored) | set(wanted))
    bad = [k for k in keys if stored.get(k) != wanted.get(k)]
    return ", ".join(f"{k}: stored {_short(stored.get(k))} vs now {_short(wanted.get(k))}" for k in bad)


def _short(v: Any) -> str:
    s = json.dumps(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
