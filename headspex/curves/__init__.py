"""Whole-model pruning curves: how far can the model be pruned, by which method, at what cost.

``run_curves(model, task, CurveConfig(layers=...))`` scores every method's kept set at every level of a
keep sweep; :mod:`headspex.curves.results` summarises (AUC, prunable fraction, cost) and
:mod:`headspex.curves.report` writes tables and ``curve.png``. ``python -m headspex.curves`` runs it.
"""

from headspex._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "CurveConfig": "headspex.curves.run", "run_curves": "headspex.curves.run", "CurveResult": "headspex.curves.results",
    "METHODS": "headspex.curves.run", "SWEEP": "headspex.curves.run",
})
