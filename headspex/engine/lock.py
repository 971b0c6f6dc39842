"""An exclusive lock on a directory, so two runs never write the same results at once.

The lock is an ``flock`` on ``<dir>/.lock``, which holds the owner's pid, host and start time. The
kernel drops an ``flock`` when its process dies, so a lock left by a killed run is simply taken over.
Within one process the lock is re-entrant (counted), so a study may open the same store twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from headspex.errors import HeadspexError

_HELD: dict[Path, list] = {}  # resolved dir -> [open file, count]: this process's locks


class StoreLockedError(HeadspexError, RuntimeError):
    """Another live process holds the directory's lock; the message names it."""


def _owner(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"process {info['pid']} on {info['host']} (since {info['since']})"
    except (OSError, ValueError, KeyError):
        return "another process"


class DirectoryLock:
    """``with DirectoryLock(dir): ...`` or ``lock.acquire()`` / ``lock.release()``.

    Args:
        path: the directory to lock (created if missing).
        wait: block until the lock is free (printing one line to stderr) instead of raising
            :class:`StoreLockedError` at once.
    """

    def __init__(self, path: str | os.PathLike, *, wait: bool = False) -> None:
        self.path = Path(path).resolve()
        self.wait = wait
        self._held = False

    def acquire(self) -> "DirectoryLock":
        if self._held:
            return self
        held = _HELD.get(self.path)
        if held is not None:
            held[1] += 1
            self._held = True
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        file = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(self.path / ".lock")
            if not self.wait:
                file.close()
                raise StoreLockedError(f"{self.path} is in use by {owner}; wait for it to finish, pass --wait "
                                       "(wait=True) to queue behind it, or use another output directory") from None
            print(f"waiting for {owner} to release {self.path} ...", file=sys.stderr)
            fcntl.flock(file, fcntl.LOCK_EX)
        file.seek(0)
        file.truncate()
        file.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                               "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        file.flush()
        _HELD[self.path] = [file, 1]
        self._held = True
        return self

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        held = _HELD.get(self.path)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self.path]
            fcntl.flock(held[0], fcntl.LOCK_UN)
            held[0].close()

    def __enter__(self) -> "DirectoryLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        """Release a lock dropped without :meth:`release`. At interpreter exit this module's globals (even
        builtins) may be gone: then do nothing, since the kernel drops the flock when the process ends."""
        try:
            if self.__dict__.get("_held"):
                self.release()
        except:  # noqa: E722  (a finaliser must never raise; at shutdown not even BaseException may resolve)
            pass
