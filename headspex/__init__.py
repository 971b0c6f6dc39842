"""headspex: which attention heads matter, which work together, and how far a model can be pruned.

Conventions: heads are ``(layer, head)`` with 0-based layers; masks are 1 = keep; per-head results are
``[n_layers, n_heads]`` tensors.
"""

from hooks import HeadAblation, ablate_heads, compute_head_means

from .models import LoadedModel, ModelNotAvailableError, list_models, load_model, wrap_hf_model

__version__ = "0.1.0"

__all__ = [
    "HeadAblation",
    "LoadedModel",
    "ModelNotAvailableError",
    "ablate_heads",
    "compute_head_means",
    "list_models",
    "load_model",
    "wrap_hf_model",
]
