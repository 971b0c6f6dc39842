"""The torch side: models, the fast masked forward, the evaluator, the game, the store, executors.

``MaskGame`` is the entry point: the value function f(mask) of one split of a task, evaluated in
batches, stored durably and resumable. Names resolve lazily (importing this package loads no torch).
"""

from headspex._lazy import lazy_exports

_EXPORTS = {
    "MaskGame": ".game", "evaluate_masks": ".evaluate", "evaluate_clean": ".evaluate", "run_identity": ".evaluate",
    "MaskEvaluator": ".evaluator", "LoadedModel": ".loaded_model", "ModelNotAvailableError": ".loaded_model",
    "load_model": ".models", "wrap_hf_model": ".models", "list_models": ".models", "ValueStore": ".store",
    "load_store": ".store", "StoreMismatchError": ".store", "StoreLockedError": ".lock", "sample_masks": ".sampling",
    "sample_k_masks": ".sampling", "sample_mixture": ".sampling", "EvaluationJob": ".executors",
    "Executor": ".executors", "LocalExecutor": ".executors", "RayExecutor": ".executors",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
