"""``proxyspex-robust``: an uncertainty-aware objective, so that selection stays where the trees have data.

The proxy's optimum is often where the trees extrapolate: sets they have rarely seen, predicted above every
training value. This rule penalises both. ``N_BOOT`` bootstrap refits of the proxy (its cross-validated
hyper-parameters, training masks resampled with replacement) give each mask a mean ``mu`` and a spread ``sd``;
the objective is

    robust(m) = min(mu(m), best observed training value) - LAMBDA * sd(m),

clipped to the observed range and lowered where the refits disagree. ``LAMBDA`` and ``N_BOOT`` are fixed a priori
(not tuned). Greedy + 1-swap maximises it from verify's starts (LASSO's top k, the best observed mask resized to
k, seeded perturbations of LASSO's top k) and from an unseeded greedy pass. At verify's budget split, the distinct
local optima, best robust objective first, are checked on the true training value (LASSO's top k always among
them), and the best true one is kept, as in :mod:`.verify`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from headspex.selection import verify
from headspex.selection.select import Selection, select_heads_greedy_swap

N_BOOT = 8  # bootstrap refits of the proxy
LAMBDA = 1.0  # penalty on the refits' spread, in standard deviations


class RobustObjective:
    """``predict(masks [N, n]) -> [N]``: ``min(mean, ceiling) - lam * sd`` over bootstrap boosters.

    boosters: fitted regressors with ``predict(float masks [N, n]) -> [N]``; ceiling: the best observed value."""

    def __init__(self, boosters: list[Any], n_players: int, ceiling: float, lam: float = LAMBDA) -> None:
        if not boosters:
            raise ValueError("RobustObjective needs at least one fitted booster")
        self.boosters, self.n_players, self.ceiling, self.lam = list(boosters), int(n_players), float(ceiling), lam

    def spread(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation ``[N]`` of the refits' predictions."""
        masks = np.asarray(masks).reshape(-1, self.n_players)
        data = _shared_pool(masks, self.boosters)
        if data is None:
            data = masks.astype(np.float64)
        preds = np.stack([np.asarray(b.predict(data), dtype=np.float64) for b in self.boosters])
        return preds.mean(axis=0), preds.std(axis=0, ddof=1) if len(self.boosters) > 1 else np.zeros(len(masks))

    def predict(self, masks: np.ndarray) -> np.ndarray:
        mean, sd = self.spread(masks)
        return np.minimum(mean, self.ceiling) - self.lam * sd


def _shared_pool(masks: np.ndarray, boosters: list[Any]) -> Any:
    """``masks [N, n]`` as one CatBoost ``Pool`` for all the refits when they are CatBoost models (building the
    pool is most of a prediction's cost, and the greedy + swap search predicts thousands of batches); otherwise
    None. 0/1 masks are exact in float32, so the predictions are bit-identical to those of ``predict`` on float64
    masks (``tests/unit/test_robust_rule.py``)."""
    if not all(type(b).__module__.startswith("catboost") for b in boosters):
        return None
    from catboost import Pool

    return Pool(np.asfortranarray(masks, dtype=np.float32))


class _Constant:
    """A booster for a constant game: every mask predicts ``value``."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.value)


def bootstrap_objective(proxy: Any, masks: np.ndarray, values: np.ndarray, *, seed: int,
                        n_boot: int = N_BOOT, lam: float = LAMBDA) -> RobustObjective:
    """The robust objective of ``proxy`` (fitted on ``masks [N, n]``, ``values [N]``): ``n_boot`` refits with the
    proxy's hyper-parameters on resampled rows (seeded by ``seed``)."""
    from headspex.spectrum.proxy_search import catboost_regressor

    values = np.asarray(values, dtype=np.float64)
    if proxy.booster_ is None:
        return RobustObjective([_Constant(proxy.constant_value_)], masks.shape[1], float(values.max()), lam)
    rng, params, boosters = np.random.default_rng([seed, 29]), proxy.params_, []
    x = masks.astype(np.float64)
    for b in range(n_boot):
        rows = rng.integers(0, len(values), size=len(values))
        booster = catboost_regressor(params["depth"], params["learning_rate"], params["n_trees"], seed + b,
                                     proxy.search.thread_count, None)
        boosters.append(booster.fit(x[rows], values[rows]))
    return RobustObjective(boosters, masks.shape[1], float(values.max()), lam)


def robust_candidates(objective: RobustObjective, k: int, weights: np.ndarray, masks: np.ndarray,
                      values: np.ndarray, *, seed: int) -> list[Selection]:
    """Distinct local optima of ``objective`` with k heads, best first (LASSO's top k always included): an
    unseeded greedy pass, then :func:`.verify.local_optima`."""
    greedy = select_heads_greedy_swap(objective, k, time_limit=verify.POLISH_SECONDS, start=None)
    return verify.local_optima(objective, k, weights, masks, values, seed=seed, first=[greedy])
