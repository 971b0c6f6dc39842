"""Score a batch of head masks on a fixed list of questions: the forward passes behind ``evaluate_masks``.

Two backends compute the same thing:

* ``"fast"`` (Llama family and Gemma 3): the plain-PyTorch forward of :mod:`headspex.engine.fast_forward`
  (:mod:`headspex.engine.gemma_fast` for Gemma 3). The
  residual stream entering the first analysed layer does not depend on the mask, so it is computed
  once per question and only the later layers run per mask; the last layer runs on the last position
  only; only the answer tokens' logits are computed. When the prompts share leading tokens (few-shot
  exemplars, a chat template), those run once per mask (:mod:`headspex.engine.prefix_cache`).
* ``"generic"`` (any other Hugging Face causal LM): the model's own forward with the heads edited at the
  input of its attention output projection (:mod:`headspex.engine.generic_forward`); full depth, the
  last position's logits only.
* ``"bridge"`` (any model TransformerLens supports): the TransformerLens bridge with
  :class:`hooks.HeadAblation` hooks, full forward, full logits. A reference for tests.

Both pack (mask, question) pairs into one batch (mask-major) and back off on out-of-memory.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch

from hooks import HeadAblation, tokenize_left_padded

from headspex.engine.fast_paths import fast_module, is_llama_weights
from headspex.engine.generic_prefix import GenericPrefixCache, supports_prefix_cache
from headspex.engine.prefix_cache import PrefixCache, left_pad, plan_prefix_length
from headspex.engine.questions import QuestionChunk, group_by_length
from headspex.players import Player

BACKENDS = ("auto", "fast", "generic", "bridge")


class MaskEvaluator:
    """Per-mask mean scores (accuracy, logprob, margin) over a fixed list of questions.

    Args:
        model: a :class:`headspex.LoadedModel`.
        prompts: the questions' prompts; choice_ids [n_q, n_choices]; answers [n_q].
        players: the (layer, head) of each mask column; other heads stay intact.
        ablation: "zero" or "mean"; means [n_layers, n_heads, d_head] for "mean".
        max_batch_tokens: tokens per forward pass (masks x questions x positions); None picks one
            from free memory. Halved automatically on out-of-memory.
        prefix_cache: when the prompts share leading tokens (few-shot exemplars, a chat template), run
            them once per mask and only each question's own tokens per (mask, question) (Llama fast path:
            :mod:`headspex.engine.prefix_cache`; Gemma 3 and the generic path: :mod:`headspex.engine.generic_prefix`).
            None (default): when it saves enough; True: always (an error if the prompts share no token); False: never.
    """

    def __init__(self, model: Any, prompts: Sequence[str], choice_ids: torch.Tensor, answers: torch.Tensor, *,
                 players: Sequence[Player], ablation: str = "zero", means: torch.Tensor | None = None,
                 backend: str = "auto", max_batch_tokens: int | None = None,
                 prefix_cache: bool | None = None) -> None:
        self.model = model
        self.backend = resolve_backend(model, backend)
        self.players = list(players)
        self.ablation = ablation
        self.means = means
        self.n_questions = len(prompts)
        self.start_layer = min(layer for layer, _ in self.players)
        self.max_batch_tokens = max_batch_tokens or auto_batch_tokens(model, max(len(p) for p in prompts))
        ids = [list(model.tokenizer(p)["input_ids"]) for p in prompts]
        self.prefix: PrefixCache | None = self._plan_prefix(ids, choice_ids, answers, prefix_cache)
        # the chunks that run: whole prompts, or the questions' own tokens behind the cached prefix
        self.chunks = self._chunk_questions(prompts, ids, choice_ids, answers) if self.prefix is None else self.prefix.chunks

    @property
    def tokens_per_mask(self) -> int:
        return self.prefix.tokens_per_mask if self.prefix is not None else sum(c.n_tokens for c in self.chunks)

    def masks_per_step(self) -> int:
        """How many masks fit in one forward pass when all questions ride along (with the prefix cache: the
        prefix once and every question's own tokens). Wider passes, one chunk at a time, measured slower on
        CPU (benchmarks/fulldepth.py: activations leave the cache)."""
        return max(1, self.max_batch_tokens // max(1, self.tokens_per_mask))

    @torch.inference_mode()
    def choice_logits(self, masks: np.ndarray) -> torch.Tensor:
        """Answer-choice logits at the last position, [n_masks, n_questions, n_choices] float32, questions
        in their original order. One forward pass per question chunk (no batching by memory: few masks)."""
        masks_t = torch.tensor(np.asarray(masks), dtype=torch.float32)  # a copy: masks may be read-only
        if self.prefix is not None:
            blocks = self._cached_logits(masks_t)
        else:
            blocks = [(chunk, self._chunk_logits(chunk, masks_t)) for chunk in self.chunks]
        out = None
        for chunk, logits in blocks:
            if out is None:
                out = logits.new_empty(len(masks_t), self.n_questions, logits.shape[-1])
            out[:, chunk.index] = logits
        return out

    @torch.inference_mode()
    def scores(self, masks: np.ndarray) -> dict[str, np.ndarray]:
        """Mean scores over all questions for each mask row [n_masks, n_players] -> {metric: [n_masks]}."""
        from tasks import per_question_scores

        masks_t = torch.as_tensor(np.asarray(masks), dtype=torch.float32)
        totals: dict[str, torch.Tensor] = {}
        blocks = self._blocks_cached(masks_t) if self.prefix is not None else self._blocks_plain(masks_t)
        for start, chunk, logits in blocks:  # logits [m, n_q, n_choices] for masks start..start+m-1
            for name, val in per_question_scores(logits, chunk.answers).items():
                prev = totals.setdefault(name, torch.zeros(len(masks_t), dtype=torch.float64))
                prev[start:start + len(logits)] += val.double().sum(-1)
        return {name: (t / self.n_questions).numpy() for name, t in totals.items()}

    # -- internals ---------------------------------------------------------------------------

    def _blocks_plain(self, masks: torch.Tensor) -> Iterator[tuple[int, QuestionChunk, torch.Tensor]]:
        """(first mask, chunk, logits [m, n_q, n_choices]): chunk by chunk, masks in batches that fit."""
        for chunk in self.chunks:
            start = 0
            while start < len(masks):
                sub = masks[start:start + max(1, self.max_batch_tokens // chunk.n_tokens)]
                try:
                    logits = self._chunk_logits(chunk, sub)
                except (torch.OutOfMemoryError, MemoryError):
                    if not self._halve_batch(chunk.n_tokens):
                        raise
                    continue
                yield start, chunk, logits
                start += len(sub)

    def _blocks_cached(self, masks: torch.Tensor) -> Iterator[tuple[int, QuestionChunk, torch.Tensor]]:
        """As :meth:`_blocks_plain` with the prefix cache: per batch of masks, the prefix once, then every chunk."""
        start = 0
        while start < len(masks):
            sub = masks[start:start + self.prefix.masks_per_pass(self.max_batch_tokens)]
            try:
                blocks = self._cached_logits(sub)
            except (torch.OutOfMemoryError, MemoryError):
                if not self._halve_batch(max([self.prefix.n_prefix] + [c.n_tokens for c in self.chunks])):
                    raise
                continue
            for chunk, logits in blocks:
                yield start, chunk, logits
            start += len(sub)

    def _halve_batch(self, needed: int) -> bool:
        """After an out-of-memory error: halve the tokens per pass; False when one mask already needs them all."""
        if self.max_batch_tokens <= needed:
            return False
        self.max_batch_tokens //= 2
        return True

    def _ablation(self, rows: torch.Tensor) -> HeadAblation:
        return HeadAblation(rows, n_layers=self.model.n_layers, n_heads=self.model.n_heads, players=self.players,
                            mode=self.ablation, means=self.means)

    def _plan_prefix(self, ids: list[list[int]], choice_ids: torch.Tensor, answers: torch.Tensor,
                     mode: bool | None) -> PrefixCache | None:
        """The prefix cache over the questions' own tokens, or None when it is off or does not pay."""
        longest = max(len(x) for x in ids) + 1  # + 1: a suffix's left padding
        llama = self.backend == "fast" and is_llama_weights(self.model.weights)
        generic = (not llama and self.backend != "bridge" and getattr(self.model, "generic", None) is not None
                   and supports_prefix_cache(self.model.hf_model, longest))  # Gemma's fast path too: HF's KV cache
        if not llama and not generic:
            if mode:
                raise ValueError("prefix_cache=True needs the fast backend, or the generic backend on a model whose "
                                 "forward takes a KV cache and position_ids and whose sliding window (if any) is "
                                 f"longer than the prompts ({longest} tokens)")
            return None
        n = plan_prefix_length(ids, mode)
        if n == 0:
            return None
        own = [x[n:] for x in ids]
        pad = self.model.tokenizer.pad_token_id
        chunks = []
        for idx in group_by_length([len(x) for x in own], self.max_batch_tokens):
            sub, am = left_pad([own[i] for i in idx], 0 if pad is None else pad, self.model.device)
            sel = torch.tensor(idx)
            chunks.append(QuestionChunk(sel, sub, am, choice_ids[sel].to(self.model.device), answers[sel]))
        if generic:
            return GenericPrefixCache(self.model, torch.tensor(ids[0][:n]), chunks)
        return PrefixCache(self.model, torch.tensor(ids[0][:n]), chunks, self.start_layer)

    def _cached_logits(self, masks: torch.Tensor) -> list[tuple[QuestionChunk, torch.Tensor]]:
        """[(chunk, logits [m, n_q, n_choices])] for every suffix chunk, the prefix run once for the m masks."""
        kv = self.prefix.prefix_kv(self._ablation(masks))
        return [(chunk, self.prefix.chunk_logits(chunk, kv, self._ablation(masks.repeat_interleave(len(chunk.index), 0)),
                                                 len(masks)))
                for chunk in self.chunks]

    def _chunk_questions(self, prompts: Sequence[str], ids: list[list[int]], choice_ids: torch.Tensor,
                         answers: torch.Tensor) -> list[QuestionChunk]:
        out = []
        for idx in group_by_length([len(x) for x in ids], self.max_batch_tokens):
            tokens, am = tokenize_left_padded(self.model.tokenizer, [prompts[i] for i in idx], self.model.device)
            sel = torch.tensor(idx)
            out.append(QuestionChunk(sel, tokens, am, choice_ids[sel].to(self.model.device), answers[sel]))
        return out

    def _chunk_logits(self, chunk: QuestionChunk, masks: torch.Tensor) -> torch.Tensor:
        m, n_q = len(masks), len(chunk.index)
        ablation = self._ablation(masks.repeat_interleave(n_q, dim=0))
        if self.backend == "fast":
            return self._fast_logits(chunk, ablation, m)
        ids, am = chunk.input_ids.repeat(m, 1), chunk.attention_mask.repeat(m, 1)
        if self.backend == "generic":
            logits = self.model.generic.answer_logits(ids, am, chunk.choice_ids.repeat(m, 1), head_fn=ablation.apply,
                                                      layers=ablation.ablated_layers())
            return logits.view(m, n_q, -1)
        logits = self.model.bridge.run_with_hooks(ids, fwd_hooks=ablation.fwd_hooks(), attention_mask=am)
        last = logits[:, -1].view(m, n_q, -1).float()
        return torch.gather(last, 2, chunk.choice_ids[None].expand(m, -1, -1))

    def _fast_logits(self, chunk: QuestionChunk, ablation: HeadAblation, m: int) -> torch.Tensor:
        w, start = self.model.weights, self.start_layer
        fwd = fast_module(w)  # fast_forward (Llama family) or gemma_fast (Gemma 3): one interface
        if chunk.prefix is None:
            chunk.prep = fwd.prepare(w, chunk.attention_mask, self.model.dtype)
            chunk.prefix = fwd.run_layers(w, fwd.embed(w, chunk.input_ids), chunk.prep, 0, start)
        h = chunk.prefix.repeat(m, 1, 1)
        h = fwd.run_layers(w, h, chunk.prep.repeat(m), start, w.n_layers, head_fn=ablation.apply, last_only_final=True)
        return fwd.answer_logits(w, h[:, -1], chunk.choice_ids)


def resolve_backend(model: Any, backend: str) -> str:
    """The backend that runs ``model``'s masks: ``backend``, or for "auto" the model's own forward path."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    path = getattr(model, "forward_path", "fast" if model.weights is not None else "none")
    if backend == "auto":
        return path if path in ("fast", "generic") else "bridge"
    if backend == "fast" and model.weights is None:
        raise ValueError(f"the fast backend supports Llama-family models and Gemma 3 only; {model.architecture} runs on "
                         "backend='generic' (or 'bridge')")
    if backend == "generic" and getattr(model, "generic", None) is None:
        raise ValueError(f"backend='generic' needs a model loaded on the generic path; {model.architecture} "
                         f"is on the {path} path")
    return backend


def auto_batch_tokens(model: Any, max_len: int) -> int:
    """Tokens per forward pass that fit comfortably in free memory (activations of one layer at a time)."""
    d_model = model.n_heads * model.d_head
    d_ff = int(getattr(model.hf_model.config, "intermediate_size", 4 * d_model))
    elem = torch.finfo(model.dtype).bits // 8
    per_token = (8 * d_model + 3 * d_ff + 2 * model.n_heads * max_len) * max(elem, 4)
    generic = getattr(model, "generic", None)
    if generic is not None and not generic.keeps_last_only:  # full logits at every position
        per_token += int(getattr(model.hf_model.config, "vocab_size", 0)) * max(elem, 4)
    if model.device.type == "cuda":
        free = torch.cuda.mem_get_info(model.device)[0]
    else:
        import psutil

        free = psutil.virtual_memory().available
    budget = int(free * 0.25 / per_token)
    cap = 65536 if model.device.type == "cuda" else 8192  # on CPU larger batches stop paying off
    return int(max(256, min(cap, budget)))
