"""``python -m headspex.curves``: ``python -m headspex.prune`` with ``--layers all`` as its default and ``--layers``
always one game (each method's kept set scored at every level of a keep sweep, default 10%..90%)."""

from headspex.prune.cli import main

raise SystemExit(main(prog="python -m headspex.curves", layers="all", one_game=True))
