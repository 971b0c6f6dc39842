"""The proxy's held-out R^2 where selection happens: on unseen uniform masks and on unseen k-head masks."""

from __future__ import annotations

from typing import Any

import numpy as np

from headspex.engine.sampling import sample_k_masks, sample_masks
from headspex.spectrum.r2 import r2_score


def heldout_r2(predictor: Any, train_game: Any, keep_k: dict[float, int], n_masks: int, seed: int) -> dict:
    """R^2 of ``predictor`` on unseen uniform masks and on unseen masks with exactly k heads per keep level."""
    n = train_game.n_players
    sets = {"uniform": sample_masks(n_masks, n, seed=seed + 2000)}
    sets.update({keep: sample_k_masks(n_masks, n, k, seed=seed + 3000 + i) for i, (keep, k) in enumerate(keep_k.items())})
    true_all = train_game(np.concatenate(list(sets.values())))
    out, start = {}, 0
    for name, masks in sets.items():
        true = true_all[start:start + len(masks)]
        pred = predictor.predict(masks)
        out[name] = {"r2": r2_score(true, pred), "predicted": pred, "true": true}
        start += len(masks)
    return out
