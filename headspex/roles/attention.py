"""Attention probabilities from a model's own Hugging Face forward pass.

Fused kernels (SDPA, flash) never form the attention matrix, so :func:`eager_attention` switches every config of
the model to Hugging Face's eager kernel for the duration of a ``with`` block and restores what was there on the
way out, also on an error. :func:`attention_patterns` then runs ``hf_model(..., output_attentions=True)`` and
stacks the per-layer probabilities (on a Llama-family model, whose attention modules the TransformerLens bridge
wraps in place and computes itself, it reads the bridge's returned pattern instead).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from headspex.errors import UnsupportedModelError

__all__ = ["attention_patterns", "attention_slots", "eager_attention"]

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


def attention_slots(hf_model: Any) -> list[Any]:
    """The module in each layer's attention slot, in layer order: the modules Hugging Face records attentions from
    (``_can_record_outputs["attentions"]``), or the TransformerLens bridge component wrapping one in place (a
    Llama-family model's bridge computes the pattern itself and returns it as the second output)."""
    target = (getattr(hf_model, "_can_record_outputs", None) or {}).get("attentions")
    cls, layer_name = getattr(target, "target_class", target), getattr(target, "layer_name", None)
    if not isinstance(cls, type):
        return []
    modules = dict(hf_model.named_modules())
    slots = []
    for name, module in modules.items():
        if isinstance(module, cls) and (layer_name is None or name.endswith(layer_name + "._original_component")
                                        or name.endswith(layer_name)):
            parent = name.removesuffix("._original_component")
            slots.append(modules[parent] if parent != name else module)
    return slots


@torch.inference_mode()
def attention_patterns(model: Any, input_ids: torch.Tensor) -> torch.Tensor:
    """Attention probabilities of unpadded sequences (call inside :func:`eager_attention`).

    ``hf_model(..., output_attentions=True)``; where that returns nothing (a Llama-family model whose attention
    the TransformerLens bridge wraps in place: Hugging Face's recorder never sees it run) the second output of
    each layer's attention slot (:func:`attention_slots`) is taken, in the same forward pass.

    Args:
        model: a :class:`headspex.LoadedModel` (its ``hf_model`` runs).
        input_ids: ``[batch, pos]`` token ids, no padding.

    Returns:
        ``[batch, n_layers, n_heads, pos, pos]`` float32 on the CPU (query heads; grouped-query models included).
    """
    ids = input_ids.to(model.device)
    captured: list[Any] = []
    hooks = [slot.register_forward_hook(lambda _m, _i, out: captured.append(
        out[1] if isinstance(out, tuple) and len(out) > 1 else None)) for slot in attention_slots(model.hf_model)]
    try:
        out = model.hf_model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True,
                             use_cache=False)
    finally:
        for hook in hooks:
            hook.remove()
    expected = (ids.shape[0], model.n_heads, ids.shape[1], ids.shape[1])
    for attentions in (getattr(out, "attentions", None), captured):
        if _usable(attentions, model.n_layers, expected):
            return torch.stack([a.float() for a in attentions], dim=1).cpu()
    raise UnsupportedModelError(
        f"{model.name}: no attention probabilities came back from the Hugging Face forward with "
        f"output_attentions=True and the eager kernel (expected {model.n_layers} layers of {expected})")


def _usable(attentions: Any, n_layers: int, expected: tuple[int, ...]) -> bool:
    return (attentions is not None and len(attentions) == n_layers
            and all(isinstance(a, torch.Tensor) and tuple(a.shape) == expected for a in attentions))
