"""headspex: which attention heads matter, which work together, and how far a model can be pruned.

The pipeline, in the order a study runs it::

    model = headspex.load_model("smollm2")                       # engine: models
    game = headspex.MaskGame(model, task, players)               # engine: f(mask) on a split, stored
    proxy = headspex.Proxy().fit(masks, game(masks))             # spectrum: CatBoost proxy
    spectrum = proxy.spectrum()                                  # spectrum: exact Fourier spectrum
    selection = headspex.select_heads(game, k)                   # selection: k heads by the default rule (robust)
    result = headspex.run_study(model, task, headspex.StudyConfig(ranges=...))
    curve = headspex.run_curves(model, task, headspex.CurveConfig(layers=range(30)))   # curves: whole model
    headspex.export_pruned(model, keep, "pruned/")                # export: removed heads deleted
    roles = headspex.head_roles(model)                            # roles: attention-pattern scores per head

The top level holds that pipeline only; everything else is imported from its sub-package
(``headspex.engine``, ``headspex.spectrum``, ``headspex.selection``, ``headspex.records``, ``headspex.reporting``,
``headspex.experiments``, ``headspex.export``, ``headspex.roles``),
e.g. ``from headspex.engine.store import ValueStore``.

Layers, bottom to top (a module imports only from its own layer or the ones below; ``tests/unit/test_import_graph.py``
reads this list and enforces it, imports by name included)::

    base         _lazy _version errors _checks _io _packages players
    models       engine spectrum
    selection    selection
    records      records
    services     rundir _cli export roles
    reporting    reporting
    experiments  experiments
    commands     prune curves report command __main__ __init__

Results and their storage (``records``) sit below the reports and the experiments: a report is rebuilt from
stored records alone, and nothing below ``experiments`` knows how a result was produced.

Conventions: heads are ``(layer, head)`` with 0-based layers; masks are 1 = keep; per-head results are
``[n_layers, n_heads]`` tensors; interactions are ``HeadInteractions`` (shapiq ``InteractionValues`` in
``.values``). Importing headspex loads
no model, no torch and reads no data: names resolve on first use.
"""

from headspex._lazy import lazy_exports
from headspex._version import __version__  # noqa: F401  (headspex.__version__)

_EXPORTS = {
    # engine: a model, the masked game on a task's split, masks to evaluate
    **dict.fromkeys(["load_model", "list_models", "LoadedModel"], "headspex.engine.models"),
    "MaskGame": "headspex.engine.game",
    "sample_masks": "headspex.engine.sampling",
    # spectrum: the proxy, its spectra, per-head attributions and interactions
    "Proxy": "headspex.spectrum.proxy",
    **dict.fromkeys(["FourierSpectrum", "MoebiusSpectrum"], "headspex.spectrum.fourier"),
    **dict.fromkeys(["head_attributions", "interaction_values"], "headspex.spectrum.attributions"),
    # selection: the heads to keep
    "select_heads": "headspex.selection.choose",
    "Selection": "headspex.selection.select",
    # experiments: a layer-range study, a whole-model pruning curve (their configurations are records)
    **dict.fromkeys(["StudyConfig", "CurveConfig"], "headspex.records.config"),
    "run_study": "headspex.experiments.ranges",
    "run_curves": "headspex.experiments.whole_model",
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
