"""headspex: which attention heads matter, which work together, and how far a model can be pruned.

Conventions: heads are ``(layer, head)`` with 0-based layers; masks are 1 = keep; per-head results are
``[n_layers, n_heads]`` tensors; interactions are shapiq ``InteractionValues``. Importing headspex loads
no model and reads no data.
"""

from hooks import HeadAblation, ablate_heads, compute_head_means

from .attributions import (HeadAttributions, HeadInteractions, banzhaf_values, head_attributions,
                           interaction_values, moebius_interaction_values, shapley_values, to_head_tensor)
from .engine import evaluate_clean, evaluate_masks
from .faithfulness import FaithfulnessResult, faithfulness_curve, r2_score
from .models import LoadedModel, ModelNotAvailableError, list_models, load_model, wrap_hf_model
from .players import format_layer_range, layer_players, parse_layer_ranges, player_labels
from .proxy import Proxy, ProxySearch, fit_proxy
from .refine import Refinement, refine
from .sampling import sample_k_masks, sample_masks, unique_rows
from .spectrum import FourierSpectrum, MoebiusSpectrum
from .store import StoreMismatchError, ValueStore, load_store
from .structure import StructureSummary, structure_summary
from .surrogates import LassoSurrogate, ShapiqProxySpex, fit_lasso, fit_shapiq_proxyspex
from .synthetic import PlantedGame, planted_game
from .tree_spectrum import spectrum_from_catboost

__version__ = "0.1.0"

__all__ = [
    "FaithfulnessResult", "FourierSpectrum", "HeadAblation", "HeadAttributions", "HeadInteractions",
    "LassoSurrogate", "LoadedModel", "ModelNotAvailableError", "MoebiusSpectrum", "PlantedGame", "Proxy",
    "ProxySearch", "Refinement", "ShapiqProxySpex", "StoreMismatchError", "StructureSummary", "ValueStore",
    "ablate_heads", "banzhaf_values", "compute_head_means", "evaluate_clean", "evaluate_masks",
    "faithfulness_curve", "fit_lasso", "fit_proxy", "fit_shapiq_proxyspex", "format_layer_range",
    "head_attributions", "interaction_values", "layer_players", "list_models", "load_model", "load_store",
    "moebius_interaction_values", "parse_layer_ranges", "planted_game", "player_labels", "r2_score", "refine",
    "sample_k_masks", "sample_masks", "shapley_values", "spectrum_from_catboost", "structure_summary",
    "to_head_tensor", "unique_rows", "wrap_hf_model",
]
