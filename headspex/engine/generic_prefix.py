"""Shared-prefix caching on the generic path, through the model's own Hugging Face KV cache.

The interface is :class:`~headspex.engine.prefix_cache.PrefixCache`'s, so the evaluator drives both the
same way: per batch of m masks, the shared prefix runs once (batch = m, heads edited by the masks) and
keeps its keys and values in the model's cache; each chunk of left-padded question suffixes then runs
with that cache repeated per question (batch = m x n_q, mask-major), an attention mask that covers the
prefix and the suffix's real tokens, and position ids that continue the prefix's.

Unlike the fast path, the layers below the analysed range are not skipped (the generic path cannot enter
a model halfway), so the saving is the prefix's tokens only. Works for any model whose forward accepts
a KV cache (``cache``, ``past_key_values`` before transformers 5.2x) (Llama, Gemma 3 with its sliding-window layers, Qwen2,
Mistral, GPT-2, ...) whose sliding window, if any, is longer than the prompts; :func:`supports_prefix_cache`
says whether it does.
"""

from __future__ import annotations

import copy
import inspect
from typing import TYPE_CHECKING, Any

import torch

from headspex.engine.prefix_cache import SharedPrefix

if TYPE_CHECKING:
    from hooks import HeadAblation

    from headspex.engine.questions import QuestionChunk

__all__ = ["GenericPrefixCache", "supports_prefix_cache"]


def cache_argument(hf_model: Any) -> str | None:
    """The name under which the model's forward takes a KV cache (``cache`` from transformers 5.2x on,
    ``past_key_values`` before), or None when it takes none or no ``position_ids``."""
    params = inspect.signature(hf_model.forward).parameters
    if "position_ids" not in params:
        return None
    return next((name for name in ("cache", "past_key_values") if name in params), None)


def supports_prefix_cache(hf_model: Any, longest_prompt: int) -> bool:
    """Whether a cached prefix can be resumed exactly: the forward takes a KV cache and ``position_ids``, and
    no sliding attention window is shorter than ``longest_prompt`` tokens (the padding between the prefix
    and a left-padded suffix would count against the window)."""
    window = sliding_window(hf_model.config)
    return cache_argument(hf_model) is not None and (window is None or longest_prompt <= window)


def sliding_window(config: Any) -> int | None:
    """The model's sliding attention window in tokens, or None when no layer uses one."""
    text = config.get_text_config() if callable(getattr(config, "get_text_config", None)) else config
    window = getattr(text, "sliding_window", None)
    if not isinstance(window, int) or window <= 0 or getattr(text, "use_sliding_window", True) is False:
        return None
    return window


class GenericPrefixCache(SharedPrefix):
    """The shared prefix of a split and its questions' suffix chunks, on a generic-path model.

    Args:
        model: a :class:`headspex.LoadedModel` on the generic path.
        prefix_ids: the shared tokens [P].
        chunks: suffix chunks (``input_ids``/``attention_mask`` [n_q, s], left-padded suffix tokens).
    """

    def __init__(self, model: Any, prefix_ids: torch.Tensor, chunks: list[QuestionChunk]) -> None:
        self.generic = model.generic
        self.prefix_ids = prefix_ids.to(model.device)
        self.chunks = chunks
        self._cache_arg = cache_argument(model.hf_model)

    def masks_per_pass(self, max_batch_tokens: int) -> int:
        """Masks per step: each suffix chunk pass (m x n_q x (P + s) attended tokens) fits the budget."""
        widest = max([self.n_prefix] + [c.n_tokens + len(c.index) * self.n_prefix for c in self.chunks])
        return max(1, max_batch_tokens // widest)

    def prefix_kv(self, ablation: HeadAblation) -> Any:
        """The model's KV cache after the prefix, one batch row per mask (``ablation``: m rows)."""
        ids = self.prefix_ids[None].expand(ablation.batch_size, -1)
        hf = self.generic.hf_model
        with self.generic.head_hooks(ablation.apply, ablation.ablated_layers()):
            out = hf(input_ids=ids, use_cache=True, **self._last_only())
        return out[self._cache_arg] if self._cache_arg in out else out["past_key_values"]

    def chunk_logits(self, chunk: QuestionChunk, kv: Any, ablation: HeadAblation, m: int) -> torch.Tensor:
        """Answer logits [m, n_q, n_choices] of one suffix chunk under m masks (``ablation``: m * n_q rows, mask-major)."""
        n_q, p = len(chunk.index), self.n_prefix
        cache = copy.deepcopy(kv)
        cache.batch_repeat_interleave(n_q)  # [m0 x n_q, m1 x n_q, ...]: mask-major, as the ablation rows
        suffix_am = chunk.attention_mask.repeat(m, 1)
        am = torch.cat([suffix_am.new_ones(len(suffix_am), p), suffix_am], dim=1)
        positions = p + (suffix_am.long().cumsum(-1) - 1).clamp(min=0)
        with self.generic.head_hooks(ablation.apply, ablation.ablated_layers()):
            out = self.generic.hf_model(input_ids=chunk.input_ids.repeat(m, 1), attention_mask=am, position_ids=positions,
                                        use_cache=True, **{self._cache_arg: cache}, **self._last_only())
        last = out.logits[:, -1]
        return torch.gather(last, 1, chunk.choice_ids.repeat(m, 1)).float().view(m, n_q, -1)

    def _last_only(self) -> dict[str, int]:
        return {"logits_to_keep": 1} if self.generic.keeps_last_only else {}
