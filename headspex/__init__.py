"""headspex: which attention heads matter, which work together, and how far a model can be pruned.

The pipeline, in the order a study runs it::

    model = headspex.load_model("smollm2")                       # engine: models
    game = headspex.MaskGame(model, task, players)               # engine: f(mask) on a split, stored
    proxy = headspex.Proxy().fit(masks, game(masks))             # spectrum: CatBoost proxy
    spectrum = proxy.spectrum()                                  # spectrum: exact Fourier spectrum
    selection = headspex.select_heads(spectrum, k)               # prune: the best k heads under the proxy
    result = headspex.run_study(model, task, headspex.StudyConfig(ranges=...))
    curve = headspex.run_curves(model, task, headspex.CurveConfig(layers=range(30)))   # curves: whole model
    headspex.export_pruned(model, keep, "pruned/")                # export: removed heads deleted

Conventions: heads are ``(layer, head)`` with 0-based layers; masks are 1 = keep; per-head results are
``[n_layers, n_heads]`` tensors; interactions are shapiq ``InteractionValues``. Importing headspex loads
no model, no torch and reads no data: names resolve on first use.
"""

from headspex import _compat
from headspex._lazy import lazy_exports

__version__ = "0.2.0"

_ENGINE = {
    "MaskGame": "game", "evaluate_masks": "evaluate", "evaluate_clean": "evaluate",
    "LoadedModel": "models", "ModelNotAvailableError": "models", "list_models": "models", "load_model": "models",
    "wrap_hf_model": "models", "ValueStore": "store", "StoreMismatchError": "store", "load_store": "store",
    "StoreLockedError": "lock", "sample_masks": "sampling", "sample_k_masks": "sampling",
    "sample_mixture": "sampling", "Executor": "executors", "LocalExecutor": "executors", "RayExecutor": "executors",
}
_SPECTRUM = {
    "FourierSpectrum": "fourier", "MoebiusSpectrum": "fourier", "Proxy": "proxy", "ProxySearch": "proxy_search",
    "fit_proxy": "proxy", "spectrum_from_catboost": "tree", "Refinement": "refine", "refine": "refine",
    "HeadAttributions": "attributions", "HeadInteractions": "attributions", "banzhaf_values": "attributions",
    "head_attributions": "attributions", "interaction_values": "attributions",
    "moebius_interaction_values": "attributions", "shapley_values": "attributions", "to_head_tensor": "attributions",
    "StructureSummary": "structure", "structure_summary": "structure", "LassoSurrogate": "surrogates",
    "ShapiqProxySpex": "surrogates", "fit_lasso": "surrogates", "fit_shapiq_proxyspex": "surrogates",
    "FaithfulnessResult": "faithfulness", "faithfulness_curve": "faithfulness", "r2_score": "r2",
    "PlantedGame": "synthetic", "planted_game": "synthetic", "SetFunction": "protocols",
}
_PRUNE = {
    "Selection": "select", "select_heads": "select", "select_top_k": "select", "select_best_of_n": "select",
    "select_random": "select", "Selector": "methods", "SELECTORS": "methods", "StudyConfig": "study",
    "StudyResult": "study", "run_study": "study", "write_outputs": "report",
}
_CURVES = {"CurveConfig": "run", "run_curves": "run", "CurveResult": "results", "first_order": "first_order",
           "CURVE_METHODS": "methods"}
_EXPORTS = {
    **{k: f"headspex.engine.{v}" for k, v in _ENGINE.items()},
    **{k: f"headspex.spectrum.{v}" for k, v in _SPECTRUM.items()},
    **{k: f"headspex.prune.{v}" for k, v in _PRUNE.items()},
    **{k: f"headspex.curves.{v}" for k, v in _CURVES.items()},
    **dict.fromkeys(["export_pruned", "ExportSummary"], "headspex.export.checkpoint"),
    **dict.fromkeys(["format_layer_range", "layer_players", "parse_layer_ranges", "player_labels"], "headspex.players"),
    **dict.fromkeys(["HeadAblation", "ablate_heads", "compute_head_means"], "hooks"),
}
# Importable for old code, not part of the curated API.
_LEGACY = {"unique_rows": "headspex.engine.sampling"}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, {**_EXPORTS, **_LEGACY})
_compat.install()
