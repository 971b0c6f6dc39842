"""Mask samplers. A mask row is ``[n_players]`` uint8 with 1 = head kept."""

from __future__ import annotations

import numpy as np


def sample_masks(n_masks: int, n_players: int, *, keep_prob: float = 0.5, paired: bool = False, seed: int = 0) -> np.ndarray:
    """I.i.d. Bernoulli(keep_prob) masks (the paper's uniform masks at keep_prob=0.5).

    With ``paired=True`` every sampled mask is followed by its complement (n_masks must be even),
    which balances each head's keep rate exactly. Returns [n_masks, n_players] uint8.
    """
    if n_masks < 1 or n_players < 1:
        raise ValueError(f"n_masks and n_players must be >= 1; got {n_masks}, {n_players}")
    if not 0.0 < keep_prob < 1.0:
        raise ValueError(f"keep_prob must be in (0, 1); got {keep_prob}")
    if paired and n_masks % 2:
        raise ValueError(f"paired sampling needs an even n_masks; got {n_masks}")
    rng = np.random.default_rng(seed)
    n_draw = n_masks // 2 if paired else n_masks
    masks = (rng.random((n_draw, n_players)) < keep_prob).astype(np.uint8)
    if paired:
        masks = np.stack([masks, 1 - masks], axis=1).reshape(n_masks, n_players)
    return masks


def sample_k_masks(n_masks: int, n_players: int, k: int, *, seed: int = 0) -> np.ndarray:
    """Masks keeping exactly ``k`` heads, uniformly among k-subsets. Returns [n_masks, n_players] uint8."""
    if not 0 <= k <= n_players:
        raise ValueError(f"k must be in 0..{n_players}; got {k}")
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((n_masks, n_players)), axis=1)
    masks = np.zeros((n_masks, n_players), dtype=np.uint8)
    np.put_along_axis(masks, order[:, :k], 1, axis=1)
    return masks


def unique_rows(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unique rows in first-seen order, inverse index such that unique[inverse] == masks)."""
    uniq, first, inverse = np.unique(masks, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return uniq[order], rank[inverse.reshape(-1)]
