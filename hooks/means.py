"""Reference means of each head's output, for mean ablation."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from .ablation import hook_z_name


def tokenize_left_padded(tokenizer: Any, prompts: Sequence[str], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenize with padding on the left. Returns (input_ids, attention_mask), each [batch, pos]."""
    if isinstance(prompts, str) or not prompts:
        raise ValueError("prompts must be a non-empty sequence of strings")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    enc = tokenizer(list(prompts), return_tensors="pt", padding=True)
    return enc["input_ids"].to(device), enc["attention_mask"].to(device)


@torch.no_grad()
def compute_head_means(model: Any, prompts: Sequence[str], *, batch_size: int = 16) -> torch.Tensor:
    """Mean of every head's output at ``blocks.{l}.attn.hook_z`` over a reference set of prompts (on a
    generic-path model: the input of each layer's attention output projection, the same site).

    The mean is taken over ALL non-pad token positions of all prompts (not only the last position),
    in float32. ``model`` is a :class:`headspex.LoadedModel`.

    Returns:
        [n_layers, n_heads, d_head] float32.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    n_layers, n_heads, d_head = model.n_layers, model.n_heads, model.d_head
    total = torch.zeros(n_layers, n_heads, d_head, dtype=torch.float64)
    count = 0
    current: dict[str, torch.Tensor] = {}

    def add(z: torch.Tensor, layer: int) -> torch.Tensor:  # z [batch, pos, n_heads, d_head]
        keep = current["mask"][:, :, None, None].double()
        total[layer] += (z.double() * keep).sum(dim=(0, 1)).cpu()  # summed in float64, not model dtype
        return z

    generic = getattr(model, "generic", None)  # a generic-path model: its output projections' inputs
    hooks = [(hook_z_name(layer), lambda z, hook: add(z, hook.layer())) for layer in range(n_layers)]
    for start in range(0, len(prompts), batch_size):
        ids, mask = tokenize_left_padded(model.tokenizer, prompts[start:start + batch_size], model.device)
        current["mask"] = mask
        if generic is not None:
            generic.last_logits(ids, mask, head_fn=add)
        else:
            model.bridge.run_with_hooks(ids, fwd_hooks=hooks, attention_mask=mask)
        count += int(mask.sum())
    return (total / count).float()
