"""``python -m headspex.curves``: how far can the whole model be pruned? ``python -m headspex.prune`` with
``--layers all`` as its default and ``--layers`` always one game: every head of ``--layers`` is a player of one game, and each method's kept
set is scored at every level of a keep sweep (default 10%..90%). See ``python -m headspex.prune --help``."""

from __future__ import annotations

from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from headspex.prune.cli import main as prune_main

    return prune_main(argv, prog="python -m headspex.curves", layers="all", one_game=True)
