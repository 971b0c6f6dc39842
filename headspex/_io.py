"""Every file a run writes goes through here: written beside its target, fsynced, renamed into place.

A write that fails (a full disk, a read-only folder) leaves the previous file as it was and no ``.tmp``
behind, and raises :class:`~headspex.errors.OutputError` naming the file and what to do. Values already
stored (in value stores, per-seed results) are never touched by a failed write.
"""

from __future__ import annotations

import errno
import os
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
    except OSError as err:
        _remove_quietly(tmp)
        raise output_error(err, path) from err
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path


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


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
