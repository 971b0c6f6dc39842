"""Which plain-PyTorch forward serves a model: :mod:`~headspex.engine.fast_forward` (Llama family) or
:mod:`~headspex.engine.gemma_fast` (Gemma 3). Both expose the same functions (``prepare``, ``embed``,
``run_layers``, ``answer_logits``), so the evaluator drives either through :func:`fast_module`."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from headspex.engine import fast_forward, gemma_fast

__all__ = ["extract_fast_weights", "fast_module", "is_llama_weights"]


def extract_fast_weights(hf_model: Any) -> Any:
    """The fast forward's weights for ``hf_model`` (``LlamaWeights`` or ``GemmaWeights``), or None."""
    return fast_forward.extract_weights(hf_model) or gemma_fast.extract_gemma_weights(hf_model)


def fast_module(weights: Any) -> ModuleType:
    """The module whose ``prepare``/``embed``/``run_layers``/``answer_logits`` run ``weights``."""
    return gemma_fast if isinstance(weights, gemma_fast.GemmaWeights) else fast_forward


def is_llama_weights(weights: Any) -> bool:
    """Whether ``weights`` are the Llama family's (the prefix cache, the pruned export and the peer use them)."""
    return isinstance(weights, fast_forward.LlamaWeights)
