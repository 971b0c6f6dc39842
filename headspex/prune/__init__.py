"""The command line, ``python -m headspex.prune`` (also ``headspex prune``): a layer-range study, a whole-model
curve (``--layers all``) or a budget sweep. The experiments live in :mod:`headspex.experiments`."""

from headspex._lazy import lazy_exports

_EXPORTS = {"main": ".cli", "build_parser": ".cli"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
