"""The low layer of model loading: :class:`LoadedModel`, :class:`ModelNotAvailableError` and the
pruned-checkpoint marker. Imports no other engine module but :mod:`headspex.engine.model_inputs`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from headspex.engine.model_inputs import config_context_length
from headspex.errors import MissingResourceError

PRUNED_MARKER = "headspex_pruned.json"  # the marker file of a checkpoint written by headspex.export_pruned
MARKER_FORMAT = "headspex-pruned/1"  # its "format" field

__all__ = ["MARKER_FORMAT", "PRUNED_MARKER", "LoadedModel", "ModelNotAvailableError"]


class ModelNotAvailableError(MissingResourceError):
    """The requested weights cannot be loaded here; the message says what to do."""


@dataclass
class LoadedModel:
    """A model ready for head ablation.

    Attributes:
        name: the spec it was loaded from.
        hf_model: the Hugging Face causal LM (its modules are wrapped in place by the bridge).
        bridge: the TransformerLens ``TransformerBridge``; hook ``blocks.{l}.attn.hook_z`` gives
            ``[batch, pos, n_heads, d_head]``.
        tokenizer: the tokenizer, padding on the left.
        n_layers, n_heads, d_head: query-head geometry (on grouped-query models only query heads).
        weights: references (not copies) to the raw parameters taken before bridging, used by the
            fast backend; ``None`` for architectures it does not support.
        forward_path: which forward pass masks run through by default: ``"fast"`` (Llama family: the
            plain-PyTorch forward of :mod:`headspex.engine.fast_forward`), ``"generic"`` (any other
            Hugging Face causal LM: :mod:`headspex.engine.generic_forward`) or ``"none"`` (a pruned
            checkpoint, which cannot be ablated further).
        generic: the :class:`~headspex.engine.generic_forward.GenericForward` of a generic-path model.
        spec: what ``load_model`` was given (remote workers reload the model from it); ``None`` for a
            model wrapped in memory. source, load_seconds: where the weights came from and how long
            loading took. dtype_choice: how ``dtype="auto"`` was resolved
            (:class:`~headspex.engine.dtype_choice.DtypeChoice`), else None.
    """

    name: str
    hf_model: Any
    bridge: Any
    tokenizer: Any
    n_layers: int
    n_heads: int
    d_head: int
    dtype: torch.dtype
    device: torch.device
    architecture: str
    weights: Any = None
    forward_path: str = "fast"
    generic: Any = None
    spec: str | None = None
    source: str | None = None
    load_seconds: float | None = None
    dtype_choice: Any = None  # a DtypeChoice when load_model resolved dtype="auto"

    @property
    def n_kv_heads(self) -> int:
        return int(getattr(self.hf_model.config, "num_key_value_heads", None) or self.n_heads)

    @property
    def context_length(self) -> int | None:
        """Most tokens a prompt may have: the config's max_position_embeddings (n_positions on GPT-2); None
        if the config declares none. Pass it to ``tasks.load(..., max_tokens=)``."""
        return config_context_length(self.hf_model.config)

    def __repr__(self) -> str:
        return (
            f"LoadedModel({self.name!r}, {self.architecture} ({self.forward_path} path), {self.n_layers} layers x {self.n_heads} query heads"
            f" (kv {self.n_kv_heads}), d_head={self.d_head}, dtype={str(self.dtype).replace('torch.', '')},"
            f" device={self.device})"
        )
