"""Shared-prefix caching for :class:`~headspex.engine.evaluator.MaskEvaluator` (fast backend).

When every prompt of a split starts with the same P tokens, a mask costs P + sum(suffix lengths) tokens
instead of sum(prompt lengths):

* below the analysed range (layers < start_layer) nothing depends on the mask: the prefix's residual
  stream entering ``start_layer`` and each question's suffix residual are computed once for the
  evaluator's lifetime;
* per batch of masks, layers start.. run once on the prefix (batch = masks), keeping each layer's keys
  and values, then each chunk of suffixes (batch = masks x questions) attends to its mask's prefix keys.

:func:`plan_prefix_length` decides when this pays (``prefix_cache=None``: automatically).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import torch

from headspex.engine import fast_forward as ff
from headspex.engine.prefix_forward import PrefixKV, prefix_layers, prepare_prefix, prepare_suffix, suffix_layers

if TYPE_CHECKING:
    from hooks import HeadAblation

    from headspex.engine.questions import QuestionChunk

MIN_PREFIX_TOKENS = 16  # auto mode: shorter shared prefixes are not worth a second code path
MIN_SAVING = 1.25  # auto mode: tokens per mask without / with the cache must be at least this ratio


def common_prefix_length(ids: Sequence[Sequence[int]]) -> int:
    """Length of the longest common leading run of token ids, leaving every prompt >= 1 token of its own."""
    if not ids:
        return 0
    shortest = min(len(x) for x in ids)
    first = ids[0]
    n = 0
    while n < shortest - 1 and all(x[n] == first[n] for x in ids):
        n += 1
    return n


def token_saving(lengths: Sequence[int], n_prefix: int) -> float:
    """Tokens per mask without the cache over tokens with it: sum(len) / (P + sum(len - P))."""
    total = sum(lengths)
    return total / (n_prefix + total - n_prefix * len(lengths))


def plan_prefix_length(ids: Sequence[Sequence[int]], mode: bool | None) -> int:
    """How many leading tokens to cache (0: use the plain path).

    ``mode``: False never caches; True caches the longest common prefix (an error when there is none);
    None caches it when it is at least ``MIN_PREFIX_TOKENS`` long and saves ``MIN_SAVING`` x the tokens.
    """
    if mode is False:
        return 0
    n = common_prefix_length(ids)
    if mode is True:
        if n == 0:
            raise ValueError("prefix_cache=True but the prompts share no leading token (or a prompt has one token)")
        return n
    if mode is not None:
        raise ValueError(f"prefix_cache must be True, False or None (auto); got {mode!r}")
    if n < MIN_PREFIX_TOKENS or token_saving([len(x) for x in ids], n) < MIN_SAVING:
        return 0
    return n


def left_pad(seqs: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists -> (input_ids, attention_mask), each [n, max_len], padded on the left."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    am = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, s in enumerate(seqs):
        if s:
            ids[row, width - len(s):] = torch.tensor(list(s), dtype=torch.long)
            am[row, width - len(s):] = 1
    return ids.to(device), am.to(device)


class SharedPrefix:
    """What both prefix caches share: the prefix tokens [P] (``prefix_ids``) and the suffix ``chunks``."""

    prefix_ids: torch.Tensor
    chunks: list

    @property
    def n_prefix(self) -> int:
        return int(self.prefix_ids.numel())

    @property
    def tokens_per_mask(self) -> int:
        return self.n_prefix + sum(c.n_tokens for c in self.chunks)


class PrefixCache(SharedPrefix):
    """The shared prefix of a split and its questions' suffix chunks, with the mask-independent caches.

    Args:
        model: a :class:`headspex.LoadedModel` with fast-backend weights.
        prefix_ids: the shared tokens [P].
        chunks: suffix chunks (``input_ids``/``attention_mask`` [n_q, s], left-padded suffix tokens).
        start_layer: first layer whose heads are masked.
    """

    def __init__(self, model: Any, prefix_ids: torch.Tensor, chunks: list[QuestionChunk], start_layer: int) -> None:
        self.w = model.weights
        self.dtype = model.dtype
        self.prefix_ids = prefix_ids.to(model.device)
        self.chunks = chunks
        self.start_layer = start_layer
        self._prep = prepare_prefix(self.w, len(prefix_ids), model.dtype, model.device)
        self._clean: torch.Tensor | None = None  # prefix residual entering start_layer, [1, P, d_model]

    def masks_per_pass(self, max_batch_tokens: int) -> int:
        """Masks per step: the prefix pass (m x P tokens) and each suffix chunk pass fit the budget."""
        widest = max([self.n_prefix] + [c.n_tokens for c in self.chunks])
        return max(1, max_batch_tokens // widest)

    def prefix_kv(self, ablation: HeadAblation) -> PrefixKV:
        """Keys and values of the prefix at layers start.., per mask: [(k, v)], each [m, n_kv, P, d_head]."""
        self._ensure_clean()
        h = self._clean.expand(ablation.batch_size, -1, -1)
        _, kv = prefix_layers(self.w, h, self._prep, self.start_layer, self.w.n_layers, head_fn=ablation.apply,
                              need_output=False)
        return kv

    def chunk_logits(self, chunk: QuestionChunk, kv: PrefixKV, ablation: HeadAblation, m: int) -> torch.Tensor:
        """Answer logits [m, n_q, n_choices] of one suffix chunk under m masks (``ablation``: m * n_q rows, mask-major)."""
        self._ensure_clean()
        w = self.w
        h = chunk.prefix.repeat(m, 1, 1)
        h = suffix_layers(w, h, chunk.prep.repeat(m), kv, self.start_layer, w.n_layers, head_fn=ablation.apply,
                          last_only_final=True)
        return ff.answer_logits(w, h[:, -1], chunk.choice_ids)

    def _ensure_clean(self) -> None:
        """Once per evaluator: prefix and suffix residuals entering ``start_layer`` (no head masked there)."""
        if self._clean is not None:
            return
        w, start = self.w, self.start_layer
        h, clean_kv = prefix_layers(w, ff.embed(w, self.prefix_ids[None]), self._prep, 0, start)
        for chunk in self.chunks:
            chunk.prep = prepare_suffix(w, chunk.attention_mask, self.n_prefix, self.dtype)
            chunk.prefix = suffix_layers(w, ff.embed(w, chunk.input_ids), chunk.prep, clean_kv, 0, start)
        self._clean = h
