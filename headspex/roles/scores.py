"""Head scores from attention patterns: pure tensor reductions, no model.

``patterns`` are attention probabilities ``[batch, n_layers, n_heads, q, k]`` (row ``q`` sums to 1 over the keys
``k <= q``). Each function returns one value per sequence and head, ``[batch, n_layers, n_heads]``; the caller
averages over sequences. Definitions: :data:`headspex.roles.protocol.SCORES`.

A repeated sequence is laid out as ``prefix + r + r`` with ``len(prefix) = offset`` and ``len(r) = seq_len``:
the first copy sits at positions ``offset .. offset + seq_len - 1``, the second at ``offset + seq_len ..
offset + 2 * seq_len - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from headspex.errors import InputError

__all__ = ["ioi_scores", "scores_from_patterns"]


def _check_patterns(patterns: torch.Tensor, ndim: int, what: str) -> None:
    if not isinstance(patterns, torch.Tensor) or patterns.ndim != ndim:
        shape = tuple(patterns.shape) if isinstance(patterns, torch.Tensor) else type(patterns).__name__
        raise InputError(f"{what} must be a {ndim}-D tensor; got {shape}")


def scores_from_patterns(patterns: torch.Tensor, *, seq_len: int, offset: int = 0) -> dict[str, torch.Tensor]:
    """previous_token, induction and duplicate_token of repeated random sequences.

    Args:
        patterns: ``[batch, n_layers, n_heads, pos, pos]`` with ``pos = offset + 2 * seq_len``.
        seq_len: tokens per copy of the random sequence (at least 2).
        offset: tokens before the first copy (the tokenizer's BOS, say).

    Returns:
        ``{score: [batch, n_layers, n_heads]}`` float32: for each sequence, the mean over its query positions of
        ``patterns[q, q - 1]`` (queries 2nd..last of the first copy), ``patterns[q, q - seq_len + 1]`` (induction:
        every query of the second copy) and ``patterns[q, q - seq_len]`` (duplicate: every query of the second copy).
    """
    _check_patterns(patterns, 5, "patterns [batch, n_layers, n_heads, q, k]")
    if seq_len < 2 or offset < 0:
        raise InputError(f"need seq_len >= 2 and offset >= 0; got seq_len={seq_len}, offset={offset}")
    pos = offset + 2 * seq_len
    if tuple(patterns.shape[-2:]) != (pos, pos):
        raise InputError(f"patterns must be [..., {pos}, {pos}] for offset {offset} + 2 x seq_len {seq_len}; "
                         f"got {tuple(patterns.shape)}")
    p = patterns.float()
    first = torch.arange(offset + 1, offset + seq_len)
    second = torch.arange(offset + seq_len, offset + 2 * seq_len)
    return {
        "previous_token": p[..., first, first - 1].mean(-1),
        "induction": p[..., second, second - seq_len + 1].mean(-1),
        "duplicate_token": p[..., second, second - seq_len].mean(-1),
    }


def ioi_scores(last_rows: torch.Tensor, io_positions: Sequence[int],
               subject_positions: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
    """ioi_io and ioi_subject from the final position's attention row of IOI prompts.

    Args:
        last_rows: ``[batch, n_layers, n_heads, pos]``, the attention of the final query over all keys.
        io_positions: per prompt, the position of the indirect object's name token.
        subject_positions: per prompt, the positions of the subject's name tokens (both occurrences).

    Returns:
        ``{"ioi_io": [batch, n_layers, n_heads], "ioi_subject": [batch, n_layers, n_heads]}`` float32; the subject's
        score sums its positions (so ``ioi_io + ioi_subject <= 1``).
    """
    _check_patterns(last_rows, 4, "last_rows [batch, n_layers, n_heads, k]")
    batch, pos = last_rows.shape[0], last_rows.shape[-1]
    if len(io_positions) != batch or len(subject_positions) != batch:
        raise InputError(f"need one IO position and one subject position list per prompt ({batch}); got "
                         f"{len(io_positions)} and {len(subject_positions)}")
    for where in [*io_positions, *(s for group in subject_positions for s in group)]:
        if not 0 <= int(where) < pos:
            raise InputError(f"name position {where} is outside the prompt's {pos} positions")
    rows = last_rows.float()
    io = torch.stack([rows[b, :, :, int(io_positions[b])] for b in range(batch)])
    subject = torch.stack([rows[b][:, :, [int(s) for s in subject_positions[b]]].sum(-1) for b in range(batch)])
    return {"ioi_io": io, "ioi_subject": subject}
