"""``head_roles``: what each attention head does, read from its attention pattern on synthetic inputs.

Protocol (defaults: :class:`~headspex.roles.protocol.RoleProtocol`):

1. ``n_sequences`` random sequences ``r`` of ``seq_len`` distinct ordinary tokens (seeded), each run once as
   ``prefix + r + r`` in fixed-length batches (no padding); previous_token is read on the first copy, induction
   and duplicate_token on the second (:func:`headspex.roles.scores.scores_from_patterns`).
2. ``n_ioi`` IOI prompts (``tasks.load("ioi", seed=seed)``, test split) tokenized as the engine does, the IO and
   subject name tokens located by id; prompts of one length run together (no padding), and the final
   position's attention to IO and to both subject tokens is read (:func:`headspex.roles.scores.ioi_scores`).

Every pass is the model's own Hugging Face forward with the eager kernel and ``output_attentions=True``; the
kernel setting is restored afterwards (a Llama-family model's TransformerLens bridge returns the pattern itself:
:func:`headspex.roles.attention.attention_patterns`). Each score is the mean over sequences (prompts) of a
per-sequence mean, so it lies in [0, 1].
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import torch

from headspex.errors import InputError, UnsupportedModelError
from headspex.roles.attention import attention_patterns, eager_attention
from headspex.roles.inputs import IOIPrompt, ioi_prompts, prefix_ids, random_sequences, token_pool
from headspex.roles.protocol import IOI_SCORES, REPEAT_SCORES, RoleProtocol
from headspex.roles.scores import ioi_scores, scores_from_patterns

__all__ = ["head_roles"]


def head_roles(model: Any, *, n_sequences: int = 64, seq_len: int = 40, n_ioi: int = 100, seed: int = 0,
               batch_size: int = 8) -> pd.DataFrame:
    """One row per head: ``layer``, ``head`` (0-based, row ``layer * n_heads + head``) and one column per score.

    Args:
        model: a :class:`headspex.LoadedModel` (Llama family, GPT-2, Gemma 3 or any Hugging Face causal LM whose
            eager attention returns probabilities; not a pruned checkpoint).
        n_sequences, seq_len, n_ioi, seed, batch_size: see :class:`~headspex.roles.protocol.RoleProtocol`.

    Returns:
        DataFrame with columns ``layer, head, previous_token, induction, duplicate_token, ioi_io, ioi_subject``
        (float64 in [0, 1]; the IOI columns are NaN with ``n_ioi=0``). ``.attrs`` holds ``protocol`` (every size
        and definition), ``model``, ``prefix_tokens`` and ``n_ioi_used`` / ``n_ioi_skipped``.
    """
    protocol = RoleProtocol(n_sequences, seq_len, n_ioi, seed, batch_size)
    _check_model(model, protocol)
    with eager_attention(model.hf_model):
        repeat, offset = _repeat_part(model, protocol)
        ioi, used, skipped = _ioi_part(model, protocol)
    frame = _frame(model.n_layers, model.n_heads, {**repeat, **ioi})
    frame.attrs.update(protocol=protocol.to_dict(), model=model.name, prefix_tokens=offset, n_ioi_used=used,
                       n_ioi_skipped=skipped)
    return frame


def _check_model(model: Any, protocol: RoleProtocol) -> None:
    if getattr(model, "hf_model", None) is None or getattr(model, "tokenizer", None) is None:
        raise InputError("head_roles needs a headspex.LoadedModel with a Hugging Face model and its tokenizer "
                         "(headspex.load_model)")
    if getattr(model, "forward_path", None) == "none":
        raise UnsupportedModelError(f"{model.name} is a pruned checkpoint (heads per layer differ): run head_roles "
                                    "on the unpruned model")
    length = len(prefix_ids(model.tokenizer)) + 2 * protocol.seq_len
    context = getattr(model, "context_length", None)
    if context is not None and length > context:
        raise InputError(f"seq_len={protocol.seq_len} makes sequences of {length} tokens, more than {model.name}'s "
                         f"context of {context}")


def _batches(n: int, size: int) -> Iterable[slice]:
    return (slice(start, min(n, start + size)) for start in range(0, n, size))


def _repeat_part(model: Any, protocol: RoleProtocol) -> tuple[dict[str, torch.Tensor], int]:
    """({score: [n_layers, n_heads]} means over the random sequences, prefix length)."""
    prefix = prefix_ids(model.tokenizer)
    pool = token_pool(model.tokenizer, model.hf_model.get_input_embeddings().num_embeddings)
    seqs = random_sequences(pool, protocol.n_sequences, protocol.seq_len, protocol.seed)
    start = torch.tensor(prefix, dtype=torch.long).expand(seqs.shape[0], len(prefix))
    ids = torch.cat([start, seqs, seqs], dim=1)
    sums = {name: torch.zeros(model.n_layers, model.n_heads) for name in REPEAT_SCORES}
    for rows in _batches(ids.shape[0], protocol.batch_size):
        scores = scores_from_patterns(attention_patterns(model, ids[rows]), seq_len=protocol.seq_len,
                                      offset=len(prefix))
        for name in REPEAT_SCORES:
            sums[name] += scores[name].sum(0)
    return {name: total / ids.shape[0] for name, total in sums.items()}, len(prefix)


def _ioi_part(model: Any, protocol: RoleProtocol) -> tuple[dict[str, torch.Tensor], int, int]:
    """({score: [n_layers, n_heads]} means over the located IOI prompts, prompts used, prompts skipped)."""
    if protocol.n_ioi == 0:
        return {name: torch.full((model.n_layers, model.n_heads), float("nan")) for name in IOI_SCORES}, 0, 0
    prompts, skipped = ioi_prompts(model.tokenizer, protocol.n_ioi, protocol.seed)
    if not prompts:
        raise InputError(f"none of the {protocol.n_ioi} IOI prompts has its names as single tokens in context for "
                         f"{model.name}'s tokenizer; pass n_ioi=0 (--n-ioi 0) to skip the IOI scores")
    by_length: dict[int, list[IOIPrompt]] = {}
    for prompt in prompts:
        by_length.setdefault(len(prompt.ids), []).append(prompt)
    sums = {name: torch.zeros(model.n_layers, model.n_heads) for name in IOI_SCORES}
    for length in sorted(by_length):
        group = by_length[length]
        for rows in _batches(len(group), protocol.batch_size):
            chunk = group[rows]
            ids = torch.tensor([p.ids for p in chunk], dtype=torch.long)
            last = attention_patterns(model, ids)[:, :, :, -1, :]
            scores = ioi_scores(last, [p.io_position for p in chunk], [p.subject_positions for p in chunk])
            for name in IOI_SCORES:
                sums[name] += scores[name].sum(0)
    return {name: total / len(prompts) for name, total in sums.items()}, len(prompts), skipped


def _frame(n_layers: int, n_heads: int, scores: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Rows in player order (``layer * n_heads + head``)."""
    columns: dict[str, Any] = {
        "layer": torch.arange(n_layers).repeat_interleave(n_heads).numpy(),
        "head": torch.arange(n_heads).repeat(n_layers).numpy(),
    }
    for name in (*REPEAT_SCORES, *IOI_SCORES):
        columns[name] = scores[name].double().flatten().numpy()
    return pd.DataFrame(columns)
