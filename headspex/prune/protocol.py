"""One range of the layer-range study, step by step: pilot, training masks, proxy, held-out R^2,
selections, their true training values and their float32 test scores.

Every model evaluation goes through a :class:`~headspex.engine.game.MaskGame`, so it is stored and a rerun
resumes. Each method's number of model evaluations is counted where it is spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from headspex.engine.sampling import sample_k_masks, sample_masks, sample_mixture
from headspex.prune.methods import SELECTORS, SelectionContext
from headspex.prune.select import Selection
from headspex.spectrum.proxy import Proxy
from headspex.spectrum.r2 import r2_score

SAMPLINGS = ("uniform", "matched", "mixture")
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


def training_masks(sampling: str, budget: int, n_players: int, keep: tuple[float, ...], seed: int) -> np.ndarray:
    """The proxy's training masks: "uniform" (keep 1/2, the paper's), "matched" (Bernoulli at each keep
    level in turn) or "mixture" (uniform and each keep level in equal shares)."""
    levels = tuple(min(max(float(p), 0.05), 0.95) for p in keep)  # keep = 1 (all heads) is no distribution
    if sampling == "uniform":
        return sample_masks(budget, n_players, seed=seed)
    if sampling == "matched":
        return sample_mixture(budget, n_players, levels, seed=seed)
    if sampling == "mixture":
        return sample_mixture(budget, n_players, (0.5, *levels), seed=seed)
    raise ValueError(f"sampling must be one of {SAMPLINGS}; got {sampling!r}")


def run_pilot(test_game: Any, keep_k: dict[float, int], n_random: int, seed: int) -> dict[float, dict[str, np.ndarray]]:
    """Test scores of ``n_random`` random k-head masks per keep level, one batched call (the random
    baseline and the pilot of whether the range is sensitive)."""
    n = test_game.n_players
    batches = {keep: sample_k_masks(n_random, n, k, seed=seed + 1000 + i) for i, (keep, k) in enumerate(keep_k.items())}
    scores = test_game.scores(np.concatenate(list(batches.values())))
    out, start = {}, 0
    for keep, masks in batches.items():
        out[keep] = {m: scores[m][start:start + len(masks)] for m in ("accuracy", "logprob")}
        start += len(masks)
    return out


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


def select_all(ctx: SelectionContext, keep_k: dict[float, int], methods: tuple[str, ...],
               log: Callable[[str], None]) -> dict[tuple[float, str], Selection]:
    """Every method's selection at every keep level (random is the pilot's distribution, not a mask)."""
    out = {}
    for keep, k in keep_k.items():
        for method in methods:
            if method != "random":
                out[(keep, method)] = SELECTORS[method](ctx, k)
        how = out.get((keep, "proxyspex"))
        if how is not None and how.method != "milp-optimal":
            log(f"  keep {keep:.0%}: proxy optimum by {how.method} ({how.details.get('fallback_reason', '')})")
    return out


def score_selections(run: RangeRun, train_game: Any, test_game: Any) -> None:
    """True training values (all metrics, stored) and float32 per-question test scores of every selection."""
    keys = list(run.selections)
    masks = np.stack([run.selections[key].mask for key in keys])
    train = train_game.scores(masks)
    test = test_game.per_question(masks)
    for i, key in enumerate(keys):
        run.train[key] = {m: float(v[i]) for m, v in train.items()}
        run.test[key] = {m: test[m][i] for m in ("accuracy", "logprob")}


def fit_range_proxy(masks: np.ndarray, values: np.ndarray, players: list, seed: int, refine: bool) -> Proxy:
    """The proxy the selection maximises (refined spectrum when ``refine``)."""
    return Proxy(seed=seed, refine=refine, players=players).fit(masks, values)


def selection_spectrum(proxy: Proxy) -> Any:
    """The spectrum selection maximises: the refined one when the proxy was refined, else the exact one."""
    return proxy.refinement_.spectrum if proxy.refinement_ is not None else proxy.spectrum()
