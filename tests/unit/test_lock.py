"""The store's lock: a second writer stops with the holder named, waits with --wait, takes over a dead lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from headspex.engine.lock import DirectoryLock, StoreLockedError
from headspex.engine.store import ValueStore

ROOT = Path(__file__).resolve().parents[2]
HOLD = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    from headspex.engine.lock import DirectoryLock
    lock = DirectoryLock({path!r}).acquire()
    print("locked", flush=True)
    time.sleep({seconds})
    {exit}
""")


def hold(path: Path, seconds: float, exit: str = "") -> subprocess.Popen:
    code = HOLD.format(root=str(ROOT), path=str(path), seconds=seconds, exit=exit)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_is_refused_with_the_holder_named(tmp_path):
    proc = hold(tmp_path, 30)
    try:
        with pytest.raises(StoreLockedError, match=f"in use by process {proc.pid}"):
            ValueStore.open(tmp_path, identity={"x": 1})
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_run_is_taken_over(tmp_path):
    proc = hold(tmp_path, 60)
    proc.kill()  # a hard kill: the kernel drops the flock, the .lock file stays behind
    proc.wait()
    assert (tmp_path / ".lock").exists()
    store = ValueStore.open(tmp_path, identity={"x": 1})
    store.append(np.ones((1, 3), np.uint8), {"accuracy": [1.0], "logprob": [0.0], "margin": [1.0]})
    store.close()
    assert str(__import__("os").getpid()) in (tmp_path / ".lock").read_text()


def test_wait_blocks_until_the_holder_exits(tmp_path, capfd):
    proc = hold(tmp_path, 1.5, exit="os._exit(0)")
    t0 = time.perf_counter()
    with DirectoryLock(tmp_path, wait=True):
        waited = time.perf_counter() - t0
    proc.wait()
    assert waited > 0.5 and "waiting for process" in capfd.readouterr().err


def test_reentrant_within_a_process_and_closed_store_refuses_writes(tmp_path):
    a = ValueStore.open(tmp_path, identity={"x": 1})
    b = ValueStore.open(tmp_path, identity={"x": 1})  # same process: allowed (counted)
    a.close()
    b.append(np.zeros((1, 2), np.uint8), {"accuracy": [0.0], "logprob": [-1.0], "margin": [-1.0]})
    b.close()
    with pytest.raises(RuntimeError, match="not open for writing"):
        b.append(np.zeros((1, 2), np.uint8), {"accuracy": [0.0], "logprob": [-1.0], "margin": [-1.0]})
