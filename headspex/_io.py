"""Every file a run writes goes through here: written beside its target, fsynced, renamed into place, and the
folder fsynced so that the rename survives a power cut.

A write that fails (a full disk, a read-only folder) leaves the previous file as it was and no ``.tmp``
behind, and raises :class:`~headspex.errors.OutputError` naming the file and what to do. Values already
stored (in value stores, per-seed results) are never touched by a failed write.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

from headspex.errors import OutputError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    def write(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)

    return atomic_write_with(path, write)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` (a plotting library's ``savefig``, say), then rename ``tmp`` onto ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
        fsync_directory(path.parent)
    except OSError as err:
        _remove_quietly(tmp)
        raise output_error(err, path) from err
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path


def fsync_directory(directory: str | os.PathLike) -> None:
    """Make a rename into ``directory`` durable (a no-op where directories cannot be opened, as on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_figure(fig: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """A matplotlib figure's ``savefig`` as PNG through an atomic write (a full disk leaves no partial PNG)."""
    return atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", **kwargs))


def output_error(err: OSError, path: Path) -> OutputError:
    """One clear line for an OS error while writing ``path``."""
    if isinstance(err, OutputError):
        return err
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"the disk is full while writing {path}: free some space and rerun the same "
                                      "command (everything stored so far is kept and reused)")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"cannot write {path}: permission denied (read-only location); choose another "
                                      "--out")
    return OutputError(f"cannot write {path}: {err.strerror or err}")


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Clean up after killed atomic directory writes of ``target`` (``.NAME.tmp-PID-XXXXXXXX`` and
    ``.NAME.old-PID-XXXXXXXX`` beside it) whose process is no longer alive; returns what was removed or restored.

    A stale ``.old-`` copy is the previous ``target`` moved aside just before a kill: it is put back when ``target``
    is missing, else removed. Nothing else is touched: only names of exactly this pattern, with a dead pid."""
    target = Path(target)
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(tmp|old)-(\d+)-[0-9a-f]{{8}}$")
    handled = []
    if not target.parent.is_dir():
        return handled
    for item in sorted(target.parent.iterdir()):
        found = pattern.match(item.name)
        if not found or _alive(int(found.group(2))):
            continue
        if found.group(1) == "old" and not target.exists():
            item.replace(target)
        else:
            shutil.rmtree(item, ignore_errors=True) if item.is_dir() else _remove_quietly(item)
        handled.append(item)
    return handled


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
