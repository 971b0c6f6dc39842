"""Head-ablation hooks for TransformerLens models, driven by batched keep masks (1 = keep).

Ablation happens at ``blocks.{l}.attn.hook_z`` ([batch, pos, n_heads, d_head]), the per-query-head
input of the attention output projection.
"""

from .ablation import ABLATION_MODES, HeadAblation, ablate_heads, full_keep_mask, hook_z_name, validate_players
from .means import compute_head_means, tokenize_left_padded

__headspex__ = True  # marks the project's own package (see headspex._packages)

__all__ = [
    "ABLATION_MODES",
    "HeadAblation",
    "ablate_heads",
    "compute_head_means",
    "full_keep_mask",
    "hook_z_name",
    "tokenize_left_padded",
    "validate_players",
]
