"""headspex: which attention heads matter, which work together, and how far a model can be pruned.

Conventions: heads are ``(layer, head)`` with 0-based layers; masks are 1 = keep; per-head results are
``[n_layers, n_heads]`` tensors. Importing headspex loads no model and reads no data.
"""

from hooks import HeadAblation, ablate_heads, compute_head_means

from .engine import evaluate_clean, evaluate_masks
from .models import LoadedModel, ModelNotAvailableError, list_models, load_model, wrap_hf_model
from .players import format_layer_range, layer_players, parse_layer_ranges, player_labels
from .sampling import sample_k_masks, sample_masks, unique_rows
from .store import StoreMismatchError, ValueStore, load_store

__version__ = "0.1.0"

__all__ = [
    "HeadAblation",
    "LoadedModel",
    "ModelNotAvailableError",
    "StoreMismatchError",
    "ValueStore",
    "ablate_heads",
    "compute_head_means",
    "evaluate_clean",
    "evaluate_masks",
    "format_layer_range",
    "layer_players",
    "list_models",
    "load_model",
    "load_store",
    "parse_layer_ranges",
    "player_labels",
    "sample_k_masks",
    "sample_masks",
    "unique_rows",
    "wrap_hf_model",
]
