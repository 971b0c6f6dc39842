"""Pruning: select heads under a proxy, the layer-range study, its report, and the CLI
(``python -m headspex.prune``)."""

from headspex._lazy import lazy_exports

_EXPORTS = {
    "Selection": ".select", "select_heads": ".select", "select_top_k": ".select", "select_best_of_n": ".select",
    "select_random": ".select", "StudyConfig": ".study", "StudyResult": ".study", "run_study": ".study",
    "write_outputs": ".report", "main": ".cli", "build_parser": ".cli", "Selector": ".methods",
    "SELECTORS": ".methods",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
