"""The strong hand-written peer of the engine: plain Hugging Face, what a PyTorch user would write.

A separate copy of the model (``AutoModelForCausalLM``, SDPA attention, no TransformerLens), a forward
pre-hook on every analysed layer's ``o_proj`` that zeroes (or mean-replaces) the masked heads' slices
of its input per example, masks x questions packed into one left-padded batch (mask-major, as many
masks per pass as ``max_batch_tokens`` allows), ``logits_to_keep=1``, then the answer tokens' logits
gathered at the last position and scored with :func:`tasks.per_question_scores`, as the engine does.
What it lacks against the engine: the prefix below the range is recomputed per mask, the last layer
runs on every position, and the vocabulary projection is full at the last position.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from hooks import tokenize_left_padded

Player = tuple[int, int]


@dataclass
class HFPeer:
    """A Hugging Face causal LM and its tokenizer (padding on the left), with query-head geometry."""

    hf_model: Any
    tokenizer: Any
    n_layers: int
    n_heads: int
    d_head: int
    device: torch.device
    dtype: torch.dtype

    def to(self, dtype: torch.dtype) -> "HFPeer":
        """The same peer in another dtype (converted in place: no second copy)."""
        self.hf_model.to(dtype)
        self.dtype = dtype
        return self


def load_peer(spec: str, *, dtype: torch.dtype, device: str | torch.device) -> HFPeer:
    """A separate copy of ``spec`` as a plain Hugging Face model with SDPA attention.

    ``random:NAME`` builds the same seeded random weights as ``load_model("random:NAME")``; ``smollm2``
    reads the embedded model's converted checkpoint; anything else goes to ``from_pretrained``.
    """
    from headspex.engine.sources import quiet_transformers

    with quiet_transformers():
        hf, tok = _load_hf_copy(spec, dtype)
    dev = torch.device(device)
    hf = hf.to(dev).eval()
    cfg = hf.config
    n_heads = int(cfg.num_attention_heads)
    d_head = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // n_heads)
    return HFPeer(hf, tok, int(cfg.num_hidden_layers), n_heads, d_head, dev, dtype)


def _load_hf_copy(spec: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """(hf_model with SDPA attention, tokenizer) on the CPU, never through TransformerLens."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from headspex.engine.models import ALIASES
    from headspex.engine.sources.embedded import embedded_checkpoint

    if spec.startswith("random:"):
        from headspex.engine.random_models import build_random_model

        hf, tok = build_random_model(spec.split(":", 1)[1], dtype)
        hf.set_attn_implementation("sdpa")
    else:
        alias = ALIASES.get(spec.lower())
        if alias is not None and alias.source == "embedded:gemma":
            from headspex.engine.sources.gemma import gemma_checkpoint

            path = str(gemma_checkpoint())
        elif alias is not None and alias.source.startswith("embedded:"):
            path = str(embedded_checkpoint())
        else:
            path = alias.source if alias is not None else spec
        tok = AutoTokenizer.from_pretrained(path)
        hf = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="sdpa")
    return hf, tok


@contextmanager
def head_hooks(peer: HFPeer, layers: Sequence[int], state: dict[str, torch.Tensor], *, mode: str = "zero",
               means: torch.Tensor | None = None) -> Iterator[None]:
    """Pre-hooks on ``o_proj`` of ``layers`` reading ``state["keep"]`` [batch, n_layers, n_heads] at call time.

    The hook views the o_proj input [batch, pos, n_heads * d_head] as [batch, pos, n_heads, d_head] and
    multiplies by keep (``mode="zero"``) or blends towards ``means`` [n_layers, n_heads, d_head] (``"mean"``).
    """
    if mode not in ("zero", "mean") or (mode == "mean" and means is None):
        raise ValueError("mode must be 'zero', or 'mean' with means [n_layers, n_heads, d_head]")

    def make(layer: int) -> Any:
        def hook(_module: Any, args: tuple) -> tuple:
            x = args[0]
            b, p, _ = x.shape
            keep = state["keep"][:, layer].to(x.dtype)[:, None, :, None]  # [b, 1, n_heads, 1]
            z = x.view(b, p, peer.n_heads, peer.d_head)
            z = z * keep if mode == "zero" else z * keep + (1 - keep) * means[layer].to(x)
            return (z.reshape(b, p, -1),) + tuple(args[1:])
        return hook

    handles = [peer.hf_model.model.layers[layer].self_attn.o_proj.register_forward_pre_hook(make(layer))
               for layer in sorted(set(layers))]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@torch.inference_mode()
def peer_choice_logits(peer: HFPeer, prompts: Sequence[str], choice_ids: torch.Tensor, masks: np.ndarray,
                       players: Sequence[Player], *, mode: str = "zero", means: torch.Tensor | None = None,
                       max_batch_tokens: int = 8192) -> torch.Tensor:
    """Answer-choice logits at the last position, [n_masks, n_q, n_choices] float32.

    masks: [n_masks, n_players] (1 = keep), column j is head ``players[j]``; other heads intact.
    Each pass holds m masks x n_q questions (mask-major), m * n_q * pos <= ``max_batch_tokens`` (m >= 1).
    """
    ids, am = tokenize_left_padded(peer.tokenizer, list(prompts), peer.device)
    n_q, pos = ids.shape
    position_ids = (am.long().cumsum(-1) - 1).clamp(min=0)  # left padding: positions count real tokens only
    choice = choice_ids.to(peer.device)
    idx = torch.tensor(players, dtype=torch.long)
    masks_t = torch.as_tensor(np.asarray(masks), dtype=torch.float32)
    per_pass = max(1, max_batch_tokens // (n_q * pos))
    state: dict[str, torch.Tensor] = {}
    out = []
    with head_hooks(peer, idx[:, 0].tolist(), state, mode=mode, means=means):
        for start in range(0, len(masks_t), per_pass):
            sub = masks_t[start:start + per_pass]
            m = len(sub)
            keep = torch.ones(m, peer.n_layers, peer.n_heads)
            keep[:, idx[:, 0], idx[:, 1]] = sub
            state["keep"] = keep.repeat_interleave(n_q, 0).to(peer.device)  # [m * n_q, n_layers, n_heads]
            logits = peer.hf_model(input_ids=ids.repeat(m, 1), attention_mask=am.repeat(m, 1),
                                   position_ids=position_ids.repeat(m, 1), logits_to_keep=1, use_cache=False).logits
            last = logits[:, -1].float().view(m, n_q, -1)  # [m, n_q, vocab]
            out.append(torch.gather(last, 2, choice[None].expand(m, -1, -1)).cpu())
    return torch.cat(out)


def peer_values(peer: HFPeer, task: Any, masks: np.ndarray, players: Sequence[Player], *, split: str = "train",
                metric: str = "logprob", max_batch_tokens: int = 8192, mode: str = "zero",
                means: torch.Tensor | None = None) -> np.ndarray:
    """Mean ``metric`` over the split's questions per mask [n_masks] float64, as ``evaluate_masks`` returns it."""
    from tasks import per_question_scores

    questions = task.split(split)
    logits = peer_choice_logits(peer, [q.prompt for q in questions], task.choice_token_ids(peer.tokenizer, split),
                                masks, players, mode=mode, means=means, max_batch_tokens=max_batch_tokens)
    return per_question_scores(logits, task.answers(split))[metric].mean(-1).numpy()
