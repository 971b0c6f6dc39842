"""``python -m headspex.curves``: an alias of ``python -m headspex.prune --layers all`` (one game over the whole
model's heads, scored at every level of a keep sweep). The code lives in :mod:`headspex.experiments`."""
