"""The numpy/CatBoost side: sparse spectra, the CatBoost proxy and its exact tree spectrum,
refinement, attributions, structure, surrogates, faithfulness and planted games. No torch here."""

from headspex._lazy import lazy_exports

_EXPORTS = {
    "FourierSpectrum": ".fourier", "MoebiusSpectrum": ".fourier", "fourier_features": ".fourier",
    "Proxy": ".proxy", "fit_proxy": ".proxy", "ProxySearch": ".proxy_search", "spectrum_from_catboost": ".tree",
    "Refinement": ".refine", "refine": ".refine", "head_attributions": ".attributions",
    "shapley_values": ".attributions", "banzhaf_values": ".attributions", "interaction_values": ".attributions",
    "structure_summary": ".structure", "StructureSummary": ".structure", "LassoSurrogate": ".surrogates",
    "fit_lasso": ".surrogates", "ShapiqProxySpex": ".surrogates", "fit_shapiq_proxyspex": ".surrogates",
    "faithfulness_curve": ".faithfulness", "r2_score": ".r2", "planted_game": ".synthetic",
    "PlantedGame": ".synthetic", "SetFunction": ".protocols",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
