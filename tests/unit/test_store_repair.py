"""The value store loses nothing and mixes nothing: bad lines are named (file, line) and repaired on request,
a full disk never leaves a partial line, a lock dropped at interpreter exit stays quiet."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import headspex.engine.store as store_module
from headspex.engine.lock import StoreLockedError
from headspex.engine.store import REJECTED, StoreMismatchError, ValueStore, load_store, mask_key
from headspex.errors import HeadspexError, InputError, OutputError, StoredDataError

ROOT = Path(__file__).resolve().parents[2]
N_PLAYERS = 6
IDENTITY = {"players": [[0, h] for h in range(N_PLAYERS)], "x": 1}


def masks_of(n: int, seed: int = 0) -> np.ndarray:
    """n distinct masks [n, N_PLAYERS]."""
    rows = np.array([[(i >> b) & 1 for b in range(N_PLAYERS)] for i in range(2 ** N_PLAYERS)], np.uint8)
    return rows[np.random.default_rng(seed).permutation(len(rows))[:n]]


def scores_of(masks: np.ndarray) -> dict[str, np.ndarray]:
    """Deterministic stand-in for the model's scores of each mask."""
    s = np.asarray(masks, float) @ np.linspace(0.1, 0.6, N_PLAYERS)
    return {"accuracy": (s > 1).astype(float), "logprob": -s, "margin": s - 1}


def run(path: Path, masks: np.ndarray, chunk: int = 2) -> dict[str, dict[str, float]]:
    """What a game does: open the store, score the masks it lacks chunk by chunk, return every record."""
    store = ValueStore.open(path, identity=IDENTITY)
    try:
        todo = np.array([m for m in masks if mask_key(m) not in store])
        for start in range(0, len(todo), chunk):
            store.append(todo[start:start + chunk], scores_of(todo[start:start + chunk]))
        return {mask_key(m): store.get(mask_key(m)) for m in masks}
    finally:
        store.close()


def write_lines(path: Path, lines: list[bytes]) -> None:
    (path / "values.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def stored_lines(path: Path) -> list[bytes]:
    return (path / "values.jsonl").read_bytes().split(b"\n")[:-1]


def test_corrupt_middle_line_is_named_with_file_and_line(tmp_path):
    run(tmp_path, masks_of(5))
    lines = stored_lines(tmp_path)
    lines[2] = lines[2][:30] + b"]" + lines[2][31:]  # line 3: a flipped byte in the middle of the file
    write_lines(tmp_path, lines)
    values = str(tmp_path / "values.jsonl")
    with pytest.raises(StoredDataError, match=rf"{values}: line 3 is not valid JSON .*rerun with --repair.*{REJECTED}"):
        ValueStore.open(tmp_path, identity=IDENTITY)
    with pytest.raises(StoredDataError, match=r"line 3 .*load_store only reads; rerun with --repair"):
        load_store(tmp_path)
    ValueStore.open(tmp_path, identity=IDENTITY, repair=True).close()  # the refusal released the lock
    assert stored_lines(tmp_path) == lines[:2] + lines[3:] and (tmp_path / REJECTED).read_bytes() == lines[2] + b"\n"


def test_non_utf8_line_is_named(tmp_path):
    run(tmp_path, masks_of(4))
    lines = stored_lines(tmp_path)
    lines[1] = b'{"mask": "\xff\xfe", "accuracy": 0.0}'
    write_lines(tmp_path, lines)
    with pytest.raises(StoredDataError, match=r"values\.jsonl: line 2 is not UTF-8 text"):
        ValueStore.open(tmp_path, identity=IDENTITY)


def test_truncated_last_line_is_still_dropped_silently(tmp_path):
    expected = run(tmp_path, masks_of(4))
    with open(tmp_path / "values.jsonl", "ab") as f:
        f.write(b'{"mask": "ff", "accu')  # a hard kill in the middle of a line
    assert len(load_store(tmp_path)) == 4  # read-only: dropped, file untouched
    store = ValueStore.open(tmp_path, identity=IDENTITY)
    store.close()
    assert len(store) == 4 and (tmp_path / "values.jsonl").read_bytes().endswith(b"}\n")
    assert run(tmp_path, masks_of(4)) == expected and not (tmp_path / REJECTED).exists()


def test_repair_moves_bad_lines_and_keeps_the_rest(tmp_path, capsys):
    masks = masks_of(8)
    expected = run(tmp_path, masks)
    lines = stored_lines(tmp_path)
    bad = {
        1: b'{"mask": "0c", "accuracy": 1.0, "logprob": -0.5, "marg',  # cut in the middle
        2: b"\xff\xfe\x00 not text",
        4: b'{"accuracy": 1.0, "logprob": -0.5, "margin": 0.5}',  # no mask
        5: b'{"mask": "zz", "accuracy": 1.0, "logprob": -0.5, "margin": 0.5}',
        6: json.dumps({"mask": json.loads(lines[6])["mask"], "accuracy": 1.0, "logprob": -0.5}).encode(),
        7: json.dumps({"mask": json.loads(lines[7])["mask"], "accuracy": 1.0, "logprob": float("nan"),
                       "margin": 0.5}).encode(),
    }
    (tmp_path / REJECTED).write_bytes(b"from an earlier repair\n")
    write_lines(tmp_path, [bad.get(i, line) for i, line in enumerate(lines)])
    store = ValueStore.open(tmp_path, identity=IDENTITY, repair=True)
    store.close()
    kept = {json.loads(lines[i])["mask"] for i in (0, 3)}
    assert set(store._records) == kept
    assert stored_lines(tmp_path) == [lines[0], lines[3]]
    assert (tmp_path / REJECTED).read_bytes() == b"from an earlier repair\n" + b"".join(
        bad[i] + b"\n" for i in sorted(bad))  # appended, byte for byte
    assert "moved 6 bad lines (2, 3, 5, 6, 7, 8)" in capsys.readouterr().err
    assert run(tmp_path, masks) == expected  # the dropped masks are simply recomputed
    assert len(load_store(tmp_path)) == 8


@pytest.mark.parametrize("how", ["raises", "short"])
def test_full_disk_keeps_stored_values_and_a_rerun_completes(tmp_path, monkeypatch, how):
    masks = masks_of(10)
    expected = run(tmp_path / "fresh", masks)
    store_dir = tmp_path / "store"
    faulty = FaultyOS(fail_on=3, short=how == "short")
    monkeypatch.setattr(store_module, "os", faulty)
    store = ValueStore.open(store_dir, identity=IDENTITY)
    store.append(masks[:2], scores_of(masks[:2]))
    store.append(masks[2:4], scores_of(masks[2:4]))
    before = (store_dir / "values.jsonl").read_bytes()
    with pytest.raises(OutputError, match=rf"could not write {store_dir / 'values.jsonl'} .*free disk space.*rerun"):
        store.append(masks[4:6], scores_of(masks[4:6]))
    assert faulty.calls >= 3
    assert (store_dir / "values.jsonl").read_bytes() == before  # no partial line, nothing stored lost
    assert len(store) == 4 and mask_key(masks[4]) not in store  # the failed chunk is not counted as stored
    store.close()
    monkeypatch.undo()
    assert run(store_dir, masks) == expected
    assert len(stored_lines(store_dir)) == 10


def test_atomic_write_leaves_no_tmp_behind(tmp_path, monkeypatch):
    import headspex._io as io_module

    faulty = FaultyOS(fail_on=0)
    faulty.replace = lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device"))
    monkeypatch.setattr(io_module, "os", faulty)
    with pytest.raises(OutputError, match="disk is full while writing .*config.json.*free some space"):
        ValueStore.open(tmp_path, identity=IDENTITY)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock"]


def test_non_finite_scores_are_refused_before_anything_is_written(tmp_path):
    store = ValueStore.open(tmp_path, identity=IDENTITY)
    scores = scores_of(masks_of(2))
    scores["logprob"][1] = -np.inf
    with pytest.raises(InputError, match="logprob=-inf .*not finite.*nothing of this chunk was stored"):
        store.append(masks_of(2), scores)
    store.close()
    assert len(store) == 0 and not (tmp_path / "values.jsonl").exists()


def test_unreadable_config_and_error_types(tmp_path):
    run(tmp_path, masks_of(2))
    (tmp_path / "config.json").write_text('{"identity": {"x": ')
    with pytest.raises(StoredDataError, match=r"config\.json is not valid JSON .*delete .* to start over"):
        ValueStore.open(tmp_path, identity=IDENTITY)
    assert issubclass(StoreMismatchError, StoredDataError) and issubclass(StoreMismatchError, ValueError)
    assert issubclass(StoreLockedError, HeadspexError) and issubclass(StoreLockedError, RuntimeError)


def test_mismatch_names_fields_of_an_older_store(tmp_path):
    run(tmp_path, masks_of(2))
    wanted = {**IDENTITY, "weights": {"kind": "parameters", "sha256": "ab"}, "x": 2}
    with pytest.raises(StoreMismatchError, match=r"stored without field weights \(made by an older headspex\); "
                                                 r"x: stored 1 vs now 2\. Use another --out"):
        ValueStore.open(tmp_path, identity=wanted)


DROPPED_AT_EXIT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    import headspex.engine.lock as lock_module
    from headspex.engine.store import ValueStore
    sys.headspex_kept = lock_module.DirectoryLock({path!r} + "/a").acquire()  # dropped by the very last clean-up
    store = ValueStore.open({path!r} + "/b", identity={{"x": 1}})
    vars(lock_module).update({{k: None for k in vars(lock_module) if not k.startswith("__")}})  # as exit does
    del store
""")


def test_locks_left_open_at_exit_print_nothing(tmp_path):
    code = DROPPED_AT_EXIT.format(root=str(ROOT), path=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Exception ignored" not in proc.stderr, proc.stderr


class FaultyOS:
    """``os`` as seen by headspex.engine.store, with ``write`` failing (ENOSPC) on call ``fail_on``; with
    ``short`` that call writes half its bytes and the next one fails."""

    def __init__(self, fail_on: int, short: bool = False) -> None:
        self.fail_on, self.short, self.calls = fail_on, short, 0

    def __getattr__(self, name: str):
        return getattr(os, name)

    def write(self, fd: int, data) -> int:
        self.calls += 1
        if self.calls == self.fail_on and self.short:
            return os.write(fd, bytes(data[: len(data) // 2]))
        if self.calls == self.fail_on or (self.short and self.calls == self.fail_on + 1):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)
