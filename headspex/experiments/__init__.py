"""The experiments: one game (:mod:`.core`), a layer-range study (:mod:`.ranges`, one experiment per range), a
whole-model curve (:mod:`.whole_model`, one experiment over a keep sweep) and the budget sweep (:mod:`.sweep`);
:mod:`.runs` drives each from the command line's arguments. Their configurations and results are
:mod:`headspex.records`; their reports, :mod:`headspex.reporting`."""

from headspex._lazy import lazy_exports

_EXPORTS = {
    "run_experiment": ".core", "Games": ".core", "run_study": ".ranges", "run_curves": ".whole_model",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
