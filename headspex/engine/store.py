"""An append-only, crash-safe on-disk store of mask values; a rerun resumes from it.

Layout of a store directory:

* ``config.json``: ``identity`` (what makes values comparable: model, its weights' fingerprint, dtype,
  task, split, the prompts' fingerprint, question ids, players, ablation, ...) and ``info`` (recorded
  only: versions, backend, timings).
* ``values.jsonl``: one line per finished mask, ``{"mask": <hex of packed bits>, "accuracy": ..,
  "logprob": .., "margin": .., "sum": <checksum>}`` (:mod:`headspex.engine.store_lines`: a line that fails its
  checksum or holds an impossible value is refused like a corrupt one), flushed and fsynced as produced. A line cut by a hard kill (the last
  one, without its newline) is dropped on the next open; an append that fails (disk full) is undone.
* ``values.rejected.jsonl``: bad lines moved out of ``values.jsonl`` by a repair (``repair=True``,
  ``--repair``), byte for byte; their masks are recomputed.
* ``means.pt``: the head means used for mean ablation, so a rerun uses exactly the same ones.
* ``.lock``: held while a process has the store open for writing (see :mod:`headspex.engine.lock`).

All metrics are stored, so a proxy for any metric can be re-fitted without the model:
``load_store(path).arrays("logprob")``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from headspex._io import atomic_write_bytes
from headspex.engine.fingerprint import identity_changes
from headspex.engine.lock import DirectoryLock
from headspex.engine.store_lines import encode_line, parse_line, value_problem
from headspex.errors import InputError, OutputError, StoredDataError
from tasks.scoring import METRICS as METRIC_NAMES

REJECTED = "values.rejected.jsonl"
REPAIR_HINT = f"rerun with --repair (repair=True) to move bad lines to {REJECTED}; their masks are then recomputed"


class StoreMismatchError(StoredDataError):
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
             wait: bool = False, repair: bool = False) -> "ValueStore":
        """Open (or create) the store at ``path`` for ``identity`` and lock it for writing; refuse a store
        made for another identity (:class:`StoreMismatchError`), one with bad lines in ``values.jsonl``
        (:class:`~headspex.errors.StoredDataError`; with ``repair`` they are moved to ``values.rejected.jsonl``
        and the rest kept) or one held by another live process
        (:class:`~headspex.engine.lock.StoreLockedError`, unless ``wait``)."""
        p = Path(path)
        lock = DirectoryLock(p, wait=wait).acquire()
        try:
            return cls._open_locked(p, identity, info, lock, repair)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(cls, p: Path, identity: dict, info: dict | None, lock: DirectoryLock,
                     repair: bool) -> "ValueStore":
        cfg_path = p / "config.json"
        identity = json.loads(json.dumps(identity))  # normalise tuples -> lists
        if cfg_path.exists():
            config = _read_config(cfg_path)
            changes = identity_changes(config.get("identity", {}), identity)
            if changes:
                raise StoreMismatchError(
                    f"the store at {p} was made with a different configuration: {'; '.join(changes)}. Use another "
                    f"--out (another store path) for this run, or delete {p} to start over"
                )
        else:
            config = {"identity": identity, "info": info or {}}
            atomic_write_bytes(cfg_path, json.dumps(config, indent=2).encode())
        records = _load_values(p / "values.jsonl", _n_players(config), writable=True, repair=repair)
        return cls(p, config, records, lock)

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
        """Durably append finished masks [n, n_players] with their scores (one array [n] per metric), all or
        nothing: when the write fails (disk full) the file is cut back and :class:`~headspex.errors.OutputError`
        raised, and none of these masks counts as stored."""
        if self._lock is None:
            raise RuntimeError(f"the store at {self.path} is not open for writing (closed, or opened by load_store)")
        new, lines = {}, []
        for i, mask in enumerate(np.asarray(masks)):
            rec = {name: float(scores[name][i]) for name in METRIC_NAMES}
            key = mask_key(mask)
            bad = [p for name, v in rec.items() if (p := value_problem(name, v))]
            if bad:
                raise InputError(
                    f"mask {key} scored {bad[0]}, so the model's logits are not usable; nothing of this chunk was "
                    f"stored in {self.path}: check the model, or load it in float32"
                )
            new[key] = rec
            lines.append(encode_line(key, rec))
        _append_bytes(self.path / "values.jsonl", "".join(lines).encode())
        self._records.update(new)

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
    """Open an existing store read-only (no identity check, no lock, no model needed); a store with bad
    lines raises :class:`~headspex.errors.StoredDataError` saying which and how to repair it."""
    p = Path(path)
    if not (p / "config.json").is_file():
        raise FileNotFoundError(f"no value store at {p} (expected {p / 'config.json'})")
    config = _read_config(p / "config.json")
    return ValueStore(p, config, _load_values(p / "values.jsonl", _n_players(config), writable=False, repair=False))


class _Scan(NamedTuple):
    records: dict[str, dict[str, float]]
    good: list[bytes]  # complete good lines, newline included
    bad: list[tuple[int, bytes, str]]  # (1-based line number, raw line, what is wrong)
    unsummed: int = 0  # good lines without a checksum (written by headspex < 0.3)


def _load_values(path: Path, n_players: int | None, *, writable: bool, repair: bool) -> dict[str, dict[str, float]]:
    """Records of ``values.jsonl``. A last line without its newline (cut by a kill) is dropped (and cut off
    the file when ``writable``); other bad lines raise, or with ``repair`` move to ``values.rejected.jsonl``."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # bytes after the last newline are a line cut by a kill
    scan = _scan(data[:end], n_players)
    if scan.bad and not repair:
        n, _, why = scan.bad[0]
        more = f" (and {len(scan.bad) - 1} more bad line{'s' * (len(scan.bad) > 2)})" if len(scan.bad) > 1 else ""
        reader = "" if writable else "load_store only reads; "
        raise StoredDataError(f"{path}: line {n} {why}{more}; {reader}{REPAIR_HINT}")
    if scan.unsummed:
        print(f"note: {path} has {scan.unsummed} line{'s' * (scan.unsummed > 1)} without checksums (written by "
              "headspex < 0.3); they are read as they are, so edits to them cannot be noticed", file=sys.stderr)
    if scan.bad:
        _move_bad_lines(path, scan)
    elif writable and end < len(data):
        with open(path, "r+b") as f:
            f.truncate(end)
    return scan.records


def _scan(data: bytes, n_players: int | None) -> _Scan:
    records: dict[str, dict[str, float]] = {}
    good: list[bytes] = []
    bad: list[tuple[int, bytes, str]] = []
    unsummed = 0
    for n, raw in enumerate(data.split(b"\n")[:-1], start=1):
        if not raw.strip():
            continue
        parsed = parse_line(raw, n_players)
        if isinstance(parsed, str):
            bad.append((n, raw, parsed))
        else:
            records[parsed[0]] = parsed[1]
            good.append(raw + b"\n")
            unsummed += not parsed[2]
    return _Scan(records, good, bad, unsummed)


def _move_bad_lines(path: Path, scan: _Scan) -> None:
    """Append the bad lines to ``values.rejected.jsonl`` (first: nothing is lost if this is cut short),
    then rewrite ``values.jsonl`` with the good ones atomically."""
    _append_bytes(path.with_name(REJECTED), b"".join(raw + b"\n" for _, raw, _ in scan.bad))
    atomic_write_bytes(path, b"".join(scan.good))
    lines = ", ".join(str(n) for n, _, _ in scan.bad[:10]) + (", ..." if len(scan.bad) > 10 else "")
    print(f"repaired {path}: moved {len(scan.bad)} bad line{'s' * (len(scan.bad) > 1)} ({lines}) to {REJECTED}; "
          "their masks will be recomputed", file=sys.stderr)


def _read_config(path: Path) -> dict:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StoredDataError(f"{path} is not valid JSON ({e}); the store's identity is unreadable: restore the "
                              f"file, or delete {path.parent} to start over") from None
    if not isinstance(config, dict) or not isinstance(config.get("identity", {}), dict):
        raise StoredDataError(f"{path} holds no store configuration (expected a JSON object with an \"identity\"): "
                              f"restore the file, or delete {path.parent} to start over")
    return config


def _n_players(config: dict) -> int | None:
    players = config.get("identity", {}).get("players")
    return len(players) if isinstance(players, list) else None


def _write_failure(path: Path, e: OSError) -> str:
    return (f"could not write {path} ({e.strerror or e}); nothing partial was kept and the values already stored "
            "are kept: free disk space (or fix the directory's permissions) and rerun to compute the rest")


def _append_bytes(path: Path, data: bytes) -> None:
    """Append ``data`` durably, all or nothing: after a failed or short write the file is cut back to its
    old size and :class:`~headspex.errors.OutputError` raised."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as e:
        raise OutputError(_write_failure(path, e)) from e
    try:
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                if written <= 0:
                    raise OSError(errno.ENOSPC, "no bytes written")
                view = view[written:]
            os.fsync(fd)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            raise OutputError(_write_failure(path, e)) from e
    finally:
        os.close(fd)


