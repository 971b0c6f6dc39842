"""Attention probabilities from a model's own Hugging Face forward pass.

Fused kernels (SDPA, flash) never form the attention matrix, so :func:`eager_attention` switches every config of
the model to Hugging Face's eager kernel for the duration of a ``with`` block and restores what was there on the
way out, also on an error. :func:`attention_patterns` then runs ``hf_model(..., output_attentions=True)`` and
stacks the per-layer probabilities.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from headspex.errors import UnsupportedModelError

__all__ = ["attention_patterns", "eager_attention"]

_FIELD = "_attn_implementation_internal"  # where transformers' config keeps the kernel's name
_ABSENT = object()


def _configs(hf_model: Any) -> list[Any]:
    """Every distinct config object held by the model or one of its modules (sub-configs included)."""
    found: dict[int, Any] = {}
    for module in [hf_model, *hf_model.modules()]:
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "_attn_implementation"):
            found.setdefault(id(config), config)
    for config in list(found.values()):
        for key in getattr(config, "sub_configs", {}) or {}:
            sub = getattr(config, key, None)
            if sub is not None and hasattr(sub, "_attn_implementation"):
                found.setdefault(id(sub), sub)
    return list(found.values())


@contextmanager
def eager_attention(hf_model: Any) -> Iterator[None]:
    """Inside the block every config of ``hf_model`` asks for the eager attention kernel; restored after."""
    configs = _configs(hf_model)
    saved = [config.__dict__.get(_FIELD, _ABSENT) for config in configs]  # each config's own value, not its subs'
    try:
        for config in configs:
            config._attn_implementation = "eager"
        yield
    finally:
        for config, value in zip(configs, saved):
            if value is _ABSENT:
                config.__dict__.pop(_FIELD, None)
            else:
                config.__dict__[_FIELD] = value


@torch.inference_mode()
def attention_patterns(model: Any, input_ids: torch.Tensor) -> torch.Tensor:
    """Attention probabilities of unpadded sequences (call inside :func:`eager_attention`).

    Args:
        model: a :class:`headspex.LoadedModel` (its ``hf_model`` runs).
        input_ids: ``[batch, pos]`` token ids, no padding.

    Returns:
        ``[batch, n_layers, n_heads, pos, pos]`` float32 on the CPU (query-head count; grouped-query models
        included).
    """
    ids = input_ids.to(model.device)
    out = model.hf_model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True, use_cache=False)
    attentions = getattr(out, "attentions", None)
    expected = (ids.shape[0], model.n_heads, ids.shape[1], ids.shape[1])
    if (attentions is None or len(attentions) != model.n_layers
            or any(a is None or tuple(a.shape) != expected for a in attentions)):
        got = None if attentions is None else [None if a is None else tuple(a.shape) for a in attentions][:3]
        raise UnsupportedModelError(
            f"{model.name}: the Hugging Face forward returned no usable attention probabilities with "
            f"output_attentions=True (expected {model.n_layers} layers of {expected}, got {got})")
    return torch.stack([a.float() for a in attentions], dim=1).cpu()
