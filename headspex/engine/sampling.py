"""Mask samplers, one per distribution. A mask row is ``[n_players]`` uint8 with 1 = head kept.

- :func:`sample_masks`: i.i.d. Bernoulli(keep_prob) per head (the paper's uniform masks at 1/2);
- :func:`sample_k_masks`: exactly ``k`` heads kept, uniform over k-subsets (Best-of-N, random baselines,
  held-out masks where selection happens);
- :func:`sample_mixture`: equal shares of Bernoulli masks at several keep probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from headspex._checks import check_count


def sample_masks(n_masks: int, n_players: int, *, keep_prob: float = 0.5, seed: int = 0) -> np.ndarray:
    """I.i.d. Bernoulli(keep_prob) masks -> ``uint8 [n_masks, n_players]``."""
    check_count(n_masks, "n_masks", 1)
    check_count(n_players, "n_players", 1)
    if not 0.0 < keep_prob < 1.0:
        raise ValueError(f"keep_prob must be in (0, 1); got {keep_prob}")
    rng = np.random.default_rng(seed)
    return (rng.random((n_masks, n_players)) < keep_prob).astype(np.uint8)


def sample_k_masks(n_masks: int, n_players: int, k: int, *, seed: int = 0) -> np.ndarray:
    """Masks keeping exactly ``k`` heads, uniform among k-subsets -> ``uint8 [n_masks, n_players]``."""
    check_count(n_masks, "n_masks", 1)
    check_count(n_players, "n_players", 1)
    check_count(k, "k", 0, n_players)
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((n_masks, n_players)), axis=1)
    masks = np.zeros((n_masks, n_players), dtype=np.uint8)
    np.put_along_axis(masks, order[:, :k], 1, axis=1)
    return masks


def sample_mixture(n_masks: int, n_players: int, keep_probs: Sequence[float], *, seed: int = 0) -> np.ndarray:
    """Bernoulli masks at each of ``keep_probs`` in turn (row i uses ``keep_probs[i % len]``), so every
    keep level gets an equal share -> ``uint8 [n_masks, n_players]``."""
    probs = np.asarray(list(keep_probs), dtype=np.float64)
    if probs.size == 0 or not ((probs > 0) & (probs < 1)).all():
        raise ValueError(f"keep_probs must be a non-empty list of probabilities in (0, 1); got {list(keep_probs)}")
    check_count(n_masks, "n_masks", 1)
    check_count(n_players, "n_players", 1)
    rng = np.random.default_rng(seed)
    p = probs[np.arange(n_masks) % probs.size]
    return (rng.random((n_masks, n_players)) < p[:, None]).astype(np.uint8)


def unique_rows(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unique rows in first-seen order, inverse index such that unique[inverse] == masks)."""
    uniq, first, inverse = np.unique(masks, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return uniq[order], rank[inverse.reshape(-1)]
