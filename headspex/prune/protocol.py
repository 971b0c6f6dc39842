"""What one range of the layer-range study measures (:class:`RangeRun`) beyond its experiment: the proxy's
held-out R^2 where selection happens. Every model evaluation goes through a stored
:class:`~headspex.engine.game.MaskGame`, so a rerun resumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from headspex.engine.sampling import sample_k_masks, sample_masks
from headspex.selection.select import Selection
from headspex.spectrum.r2 import r2_score

CEILING_DROP = 0.05  # a range whose random masks lose less test accuracy than this is "at ceiling"


@dataclass
class RangeRun:
    """Everything measured on one range for one seed (plain arrays; saved and reloaded by ``results``).

    random: keep -> {"accuracy", "logprob"}: [n_random] test scores of random k-head masks (the pilot).
    test: (keep, method) -> {"accuracy", "logprob"}: [n_test] per-question float32 test scores.
    train: (keep, method) -> {"accuracy", "logprob", "margin"}: true training value of the selected mask.
    heldout: "uniform" or keep -> {"r2", "predicted", "true"} of the proxy on masks it never saw.
    evaluations: method -> model evaluations (masks x training questions are one evaluation per mask).
    """

    layers: tuple[int, ...]
    players: list[tuple[int, int]]
    keep_k: dict[float, int]
    proxy_summary: dict
    heads: pd.DataFrame
    selections: dict[tuple[float, str], Selection] = field(default_factory=dict)
    random: dict[float, dict[str, np.ndarray]] = field(default_factory=dict)
    test: dict[tuple[float, str], dict[str, np.ndarray]] = field(default_factory=dict)
    train: dict[tuple[float, str], dict[str, float]] = field(default_factory=dict)
    heldout: dict[Any, dict[str, Any]] = field(default_factory=dict)
    evaluations: dict[str, int] = field(default_factory=dict)
    energy: Any = None
    top_interactions: pd.DataFrame | None = None


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
