"""The masked original, computed independently of the export: a pruned checkpoint must equal this.

``masked_logits`` runs a plain Hugging Face Llama-family model with forward pre-hooks on every ``o_proj``
that zero (or mean-replace) the removed heads' slices of its input, the site of TransformerLens
``blocks.{l}.attn.hook_z``. Tests and ``scripts/export_check.py`` compare exported checkpoints with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


@torch.no_grad()
def masked_logits(hf_model: Any, keep: Any, ids: torch.Tensor, am: torch.Tensor, *, ablation: str = "zero",
                  means: torch.Tensor | None = None) -> torch.Tensor:
    """Logits [batch, pos, vocab] (float32) of ``hf_model`` with the heads where ``keep`` [n_layers, n_heads]
    is 0 ablated at o_proj's input; ``means`` [n_layers, n_heads, d_head] for ``ablation="mean"``."""
    keep = torch.as_tensor(np.asarray(keep)).bool()
    n_heads = keep.shape[1]

    def pre_hook(layer: int) -> Any:
        def edit(module: Any, args: tuple) -> tuple:
            z = args[0].reshape(*args[0].shape[:-1], n_heads, -1).clone()
            for h in torch.nonzero(~keep[layer]).flatten().tolist():
                z[..., h, :] = 0.0 if ablation == "zero" else means[layer, h].to(z.dtype)
            return (z.reshape(args[0].shape),)
        return edit

    handles = [layer.self_attn.o_proj.register_forward_pre_hook(pre_hook(i))
               for i, layer in enumerate(hf_model.model.layers)]
    try:
        return hf_model(input_ids=ids, attention_mask=am).logits.float()
    finally:
        for h in handles:
            h.remove()
