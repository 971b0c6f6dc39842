"""The project's own error types: what a CLI turns into one line and exit status 2.

Every error headspex raises on purpose for bad input, unusable files or stored data that does not match
derives from :class:`HeadspexError`. The CLIs print those as one ``error: ...`` line (a traceback only with
``--debug``); any other exception, torch's own ``RuntimeError`` included, keeps its traceback, because it
is a bug or an environment fault that a one-line message would hide.

The classes also derive from the builtin a caller would expect (``ValueError``, ``OSError``, ...), so
``except ValueError`` in user code keeps working.
"""

from __future__ import annotations


class HeadspexError(Exception):
    """Base of every error headspex raises on purpose."""


class InputError(HeadspexError, ValueError):
    """An argument, file or setting is not what was expected; the message says what was."""


class UnsupportedModelError(InputError):
    """headspex cannot find the attention heads of a model's architecture; the message names what is missing."""


class StoredDataError(HeadspexError, ValueError):
    """Stored data (a value store, a results table, a run directory) is corrupt, partial or was made under
    other settings; the message names the file and what to do."""


class OutputError(HeadspexError, OSError):
    """An output location cannot be used (a file where a directory is needed, read-only, disk full, or a
    directory headspex must not overwrite)."""


class MissingResourceError(HeadspexError, RuntimeError):
    """Something the run needs is not available here (a model without hub access, CUDA, an optional
    package); the message says how to get it."""
