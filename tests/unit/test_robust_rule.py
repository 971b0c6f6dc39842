"""The rule that keeps the proxy where it has data: proxyspex-robust (an uncertainty-aware objective from bootstrap
refits). Checked by hand and on planted games, counting every model evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from headspex.selection.context import SelectionContext
from headspex.selection.methods import METHODS
from headspex.selection.robust import RobustObjective, bootstrap_objective
from headspex.selection.select import select_top_k
from headspex.selection.verify import verify_budget
from headspex.spectrum.proxy import Proxy
from headspex.spectrum.synthetic import planted_game

KEEP = (0.5, 0.66, 0.83)


class Fixed:
    """A booster whose prediction is ``scale * (number of kept heads)``."""

    def __init__(self, scale: float):
        self.scale = scale

    def predict(self, x):
        return self.scale * np.asarray(x).sum(axis=1)


class CountingGame:
    def __init__(self, n_players: int):
        self.game = planted_game(n_players, n_terms=20, max_order=3, seed=7)
        self.n_players, self.n_evaluated = n_players, 0

    def __call__(self, masks):
        self.n_evaluated += len(masks)
        return self.game.spectrum.predict(masks)


def test_the_robust_objective_is_the_clipped_mean_minus_the_spread_by_hand():
    objective = RobustObjective([Fixed(1.0), Fixed(2.0), Fixed(3.0)], n_players=4, ceiling=5.0, lam=0.5)
    masks = np.array([[1, 0, 0, 0], [1, 1, 1, 0]], dtype=np.uint8)
    mean, sd = objective.spread(masks)
    assert mean == pytest.approx([2.0, 6.0]) and sd == pytest.approx([1.0, 3.0])
    # the second mask's mean (6) is above every observed value (5): clipped, then penalised
    assert objective.predict(masks) == pytest.approx([2.0 - 0.5, 5.0 - 1.5])


def test_bootstrap_refits_are_seeded_disagree_and_never_exceed_the_best_observed():
    game = planted_game(20, n_terms=15, max_order=2, seed=3)
    rng = np.random.default_rng(0)
    masks = (rng.random((120, 20)) < 0.5).astype(np.uint8)
    values = game.spectrum.predict(masks)
    proxy = Proxy(seed=0).fit(masks, values)
    objective = bootstrap_objective(proxy, masks, values, seed=0, n_boot=4)
    fresh = (rng.random((200, 20)) < 0.8).astype(np.uint8)
    mean, sd = objective.spread(fresh)
    assert (sd > 0).mean() > 0.9  # resampled rows give different trees
    again = bootstrap_objective(proxy, masks, values, seed=0, n_boot=4).spread(fresh)
    assert np.array_equal(again[0], mean) and np.array_equal(again[1], sd)
    assert objective.predict(np.vstack([masks, fresh])).max() <= values.max() + 1e-12


def test_robust_checks_lasso_among_its_candidates_and_counts_what_it_spends():
    game = CountingGame(30)
    ctx = SelectionContext(game, KEEP, 200, seed=0, sampling="matched", refine=False, milp_time_limit=5)
    ks = [round(keep * 30) for keep in KEEP]
    run = METHODS["proxyspex-robust"](ctx, ks)
    assert game.n_evaluated <= run.forward == 200  # charged verify's split, never more than it spent
    lasso = ctx.lasso_weights(verify_budget(200, len(ks))[0])  # the proxy's and LASSO's share
    for k in ks:
        sel = run.selections[k]
        assert sel.k == k and sel.method.startswith("robust:")
        assert sel.details["true_train_value"] == pytest.approx(game.game.spectrum.predict(sel.mask[None])[0])
        lasso_value = game.game.spectrum.predict(select_top_k(lasso, k).mask[None])[0]
        assert sel.details["true_train_value"] >= lasso_value - 1e-12


class Linear:
    """An objective that is a weighted sum of the kept heads: its best k-mask is the top k of ``w``."""

    def __init__(self, w: np.ndarray):
        self.w = np.asarray(w, dtype=np.float64)
        self.n_players = len(self.w)

    def predict(self, x):
        return np.asarray(x, dtype=np.float64).reshape(-1, len(self.w)) @ self.w


def test_local_optima_are_distinct_best_first_and_include_lassos_top_k():
    from headspex.selection.verify import local_optima

    rng = np.random.default_rng(3)
    n, k = 14, 5
    w, lasso_w = rng.normal(size=n), rng.normal(size=n)
    masks = (rng.random((40, n)) < 0.5).astype(np.uint8)
    values = Linear(w).predict(masks)
    found = local_optima(Linear(w), k, lasso_w, masks, values, seed=0)
    keys = [c.mask.tobytes() for c in found]
    assert len(keys) == len(set(keys))  # distinct
    objectives = [c.objective for c in found]
    assert objectives == sorted(objectives, reverse=True)  # best first
    assert all(int(c.mask.sum()) == k for c in found)
    assert any(np.array_equal(c.mask, select_top_k(lasso_w, k).mask) for c in found)
    np.testing.assert_array_equal(found[0].mask, select_top_k(w, k).mask)  # swap polishing finds the optimum


def test_the_refits_share_one_pool_and_predict_exactly_what_each_would_alone():
    """One CatBoost Pool for all refits (the search's main cost) gives bit-identical predictions: the selections
    are the ones each refit's own ``predict(masks)`` would give."""
    game = planted_game(30, n_terms=20, max_order=3, seed=4)
    rng = np.random.default_rng(1)
    masks = (rng.random((150, 30)) < 0.5).astype(np.uint8)
    values = game.spectrum.predict(masks)
    objective = bootstrap_objective(Proxy(seed=0).fit(masks, values), masks, values, seed=2, n_boot=5)
    probe = (rng.random((700, 30)) < rng.uniform(0.1, 0.9, size=(700, 1))).astype(np.uint8)
    alone = np.stack([b.predict(probe.astype(np.float64)) for b in objective.boosters])
    mean, sd = objective.spread(probe)
    assert np.array_equal(mean, alone.mean(axis=0)) and np.array_equal(sd, alone.std(axis=0, ddof=1))
