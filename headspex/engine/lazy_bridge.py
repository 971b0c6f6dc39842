"""A TransformerLens bridge booted only when it is first used, on a copy of the model.

``TransformerBridge.boot_transformers`` replaces a Hugging Face model's modules with its own wrappers, in
place. A generic-path model must stay as Hugging Face wrote it (the engine hooks its output projections
and runs its own attention kernel), so its bridge, if a user asks for one, wraps a deep copy. The copy
costs the model's memory once, and nothing at all when the bridge is never touched.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

__all__ = ["LazyBridge", "boot_bridge"]


def boot_bridge(hf_model: Any, tokenizer: Any, *, name: str, device: torch.device, dtype: torch.dtype) -> Any:
    """A TransformerLens ``TransformerBridge`` around ``hf_model`` (its modules are wrapped in place)."""
    from transformer_lens.model_bridge import TransformerBridge

    bridge = TransformerBridge.boot_transformers(name, hf_model=hf_model, tokenizer=tokenizer, device=device, dtype=dtype)
    bridge.eval()
    return bridge


class LazyBridge:
    """Stands in for a TransformerLens bridge; boots the real one on a deep copy at the first attribute read."""

    def __init__(self, hf_model: Any, tokenizer: Any, *, name: str, device: torch.device, dtype: torch.dtype) -> None:
        self._args = (hf_model, tokenizer, name, device, dtype)
        self._bridge: Any = None

    @property
    def booted(self) -> bool:
        """Whether the real bridge exists yet."""
        return self._bridge is not None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr in ("_args", "_bridge"):
            raise AttributeError(attr)
        return getattr(self._boot(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._boot()(*args, **kwargs)

    def _boot(self) -> Any:
        if self._bridge is None:
            hf_model, tokenizer, name, device, dtype = self._args
            self._bridge = boot_bridge(copy.deepcopy(hf_model), tokenizer, name=name, device=device, dtype=dtype)
        return self._bridge

    def __repr__(self) -> str:
        return f"LazyBridge(booted={self.booted})"
