"""headspex: which attention heads matter, which work together, and how far a model can be pruned.

The pipeline, in the order a study runs it::

    model = headspex.load_model("smollm2")                       # engine: models
    game = headspex.MaskGame(model, task, players)               # engine: f(mask) on a split, stored
    proxy = headspex.Proxy().fit(masks, game(masks))             # spectrum: CatBoost proxy
    spectrum = proxy.spectrum()                                  # spectrum: exact Fourier spectrum
    selection = headspex.select_heads(spectrum, k)               # selection: the best k heads under the proxy
    result = headspex.run_study(model, task, headspex.StudyConfig(ranges=...))
    curve = headspex.run_curves(model, task, headspex.CurveConfig(layers=range(30)))   # curves: whole model
    headspex.export_pruned(model, keep, "pruned/")                # export: removed heads deleted
    roles = headspex.head_roles(model)                            # roles: attention-pattern scores per head

The top level holds that pipeline only; everything else is imported from its sub-package
(``headspex.engine``, ``headspex.spectrum``, ``headspex.selection``, ``headspex.prune``, ``headspex.curves``,
``headspex.export``, ``headspex.roles``),
e.g. ``from headspex.engine.store import ValueStore``.

Conventions: heads are ``(layer, head)`` with 0-based layers; masks are 1 = keep; per-head results are
``[n_layers, n_heads]`` tensors; interactions are ``HeadInteractions`` (shapiq ``InteractionValues`` in
``.values``). Importing headspex loads
no model, no torch and reads no data: names resolve on first use.
"""

from headspex._lazy import lazy_exports

__version__ = "0.3.0"

_EXPORTS = {
    # engine: a model, the masked game on a task's split, masks to evaluate
    **dict.fromkeys(["load_model", "list_models", "LoadedModel"], "headspex.engine.models"),
    "MaskGame": "headspex.engine.game",
    "sample_masks": "headspex.engine.sampling",
    # spectrum: the proxy, its spectra, per-head attributions and interactions
    "Proxy": "headspex.spectrum.proxy",
    **dict.fromkeys(["FourierSpectrum", "MoebiusSpectrum"], "headspex.spectrum.fourier"),
    **dict.fromkeys(["head_attributions", "interaction_values"], "headspex.spectrum.attributions"),
    # prune: select heads; a layer-range study
    **dict.fromkeys(["select_heads", "Selection"], "headspex.selection.select"),
    **dict.fromkeys(["StudyConfig", "run_study"], "headspex.prune.study"),
    # curves: whole-model pruning curves
    **dict.fromkeys(["CurveConfig", "run_curves"], "headspex.curves.run"),
    # export: a checkpoint with the removed heads deleted
    "export_pruned": "headspex.export.checkpoint",
    # roles: what each head attends to (previous token, induction, duplicate, IOI names)
    "head_roles": "headspex.roles.heads",
    # players, ablation hooks, the project's error base
    **dict.fromkeys(["parse_layer_ranges", "player_labels"], "headspex.players"),
    **dict.fromkeys(["HeadAblation", "ablate_heads"], "hooks"),
    "HeadspexError": "headspex.errors",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
