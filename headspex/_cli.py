"""What every ``python -m headspex.*`` command shares: help formatting, one-line errors, run records.

:func:`guarded` runs a command so that a user's mistake (a :class:`~headspex.errors.HeadspexError`, an input
check of headspex's own, a full disk or a read-only folder) prints one ``error: ...`` line and exits with
status 2, while a bug (torch's ``RuntimeError``, say) keeps its traceback. ``--debug`` shows the traceback
of a user error too. A run that fails before writing anything removes the ``--out`` it created.
"""

from __future__ import annotations

import argparse
import errno
import platform
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

from headspex.errors import HeadspexError

ROOT = Path(__file__).resolve().parents[1]
OUR_PACKAGES = tuple(str(ROOT / name) + "/" for name in ("headspex", "tasks", "hooks"))
OS_USER_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" unless the help text already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        return text if "default" in text else super()._get_help_string(action)


def add_debug_flag(parser: argparse.ArgumentParser | Any) -> None:
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error (default: one line)")


def guarded(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``run(args)`` with one line and exit status 2 for a user error, 130 (and a resume hint) on Ctrl-C."""
    from headspex.rundir import prepare_out, remove_if_empty_run

    out, created, ok = getattr(args, "out", None), False, False
    try:
        from headspex._packages import check_project_packages

        check_project_packages()  # a user's tasks/ or hooks/ folder must not stand in for ours
        if out is not None:
            created = not prepare_out(out)
        code = run(args)
        ok = True
        return code
    except KeyboardInterrupt:
        print(f"interrupted; rerun the same command to resume from {out}", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - sorted into user errors and bugs below
        if getattr(args, "debug", False) or not is_user_error(err):
            raise
        print(f"error: {user_message(err)}", file=sys.stderr)
        return 2
    finally:
        if created and not ok:
            remove_if_empty_run(out)


def is_user_error(err: BaseException) -> bool:
    """A project error, an OS refusal to write (full disk, read-only), or an input check raised by our code."""
    if isinstance(err, HeadspexError):
        return True
    if isinstance(err, OSError) and err.errno in OS_USER_ERRORS:
        return True
    return isinstance(err, (ValueError, FileNotFoundError, ImportError)) and raised_by_us(err)


def raised_by_us(err: BaseException) -> bool:
    """Whether the innermost frame of ``err``'s traceback is in headspex, tasks or hooks."""
    tb = err.__traceback__
    if tb is None:
        return False
    frames = traceback.extract_tb(tb)
    return bool(frames) and frames[-1].filename.startswith(OUR_PACKAGES)


def user_message(err: BaseException) -> str:
    if isinstance(err, OSError) and not isinstance(err, HeadspexError) and err.errno in OS_USER_ERRORS:
        from headspex._io import output_error

        return str(output_error(err, Path(err.filename or "the output")))
    return str(err)


def versions() -> dict:
    import catboost
    import torch
    import transformers

    from headspex._version import __version__

    return {"headspex": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "catboost": catboost.__version__, "python": platform.python_version()}


def commit() -> str | None:
    """The git commit of the code that ran (with ``+dirty`` when the work tree differs), or None."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "headspex", "hooks", "tasks"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return sha.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None
