"""The controls that isolate the interactions, on planted games, counting every evaluation: lasso-verify (the
robust rule's checking, LASSO's candidates) and proxyspex-additive (the robust rule with depth-1 trees)."""

from __future__ import annotations

import numpy as np
import pytest

from headspex.selection.context import SelectionContext
from headspex.selection.controls import linear_candidates
from headspex.selection.methods import METHODS
from headspex.selection.select import select_top_k
from headspex.selection.verify import verify_budget
from headspex.spectrum.synthetic import planted_game

KEEP = (0.5, 0.66, 0.83)


class CountingGame:
    def __init__(self, n_players: int, seed: int = 7):
        self.game = planted_game(n_players, n_terms=20, max_order=3, seed=seed)
        self.n_players, self.n_evaluated = n_players, 0

    def __call__(self, masks):
        self.n_evaluated += len(masks)
        return self.game.spectrum.predict(masks)


def test_linear_candidates_are_distinct_best_first_and_start_with_lassos_top_k():
    rng = np.random.default_rng(0)
    masks = (rng.random((60, 12)) < 0.5).astype(np.uint8)
    w = rng.normal(size=12)
    values = masks @ w + rng.normal(scale=0.1, size=60)
    found = linear_candidates(w, 5, masks, values, seed=0)
    keys = [c.mask.tobytes() for c in found]
    assert len(keys) == len(set(keys)) and all(c.k == 5 and c.mask.sum() == 5 for c in found)
    assert np.array_equal(found[0].mask, select_top_k(w, 5).mask)  # the linear optimum is LASSO's own top k
    assert [c.objective for c in found] == sorted((c.objective for c in found), reverse=True)
    assert len(found) >= 5 * 7  # every single swap of the top k is among them


@pytest.mark.parametrize("method", ["lasso-verify", "proxyspex-additive"])
def test_a_control_spends_the_robust_rules_budget_and_never_loses_to_lassos_top_k_in_training(method):
    game = CountingGame(24)
    ctx = SelectionContext(game, KEEP, 160, seed=0, sampling="matched", refine=False)
    ks = [round(keep * 24) for keep in KEEP]
    run = METHODS[method](ctx, ks)
    assert game.n_evaluated <= run.forward == 160  # the robust rule's split: proxy / LASSO masks + checks
    n_train, _ = verify_budget(160, len(ks))
    lasso = ctx.lasso_weights(n_train)
    for k in ks:
        sel = run.selections[k]
        assert sel.k == k and sel.details["true_train_value"] >= \
            game.game.spectrum.predict(select_top_k(lasso, k).mask[None])[0] - 1e-12


def test_the_additive_proxy_has_no_interaction_term():
    game = CountingGame(16)
    ctx = SelectionContext(game, KEEP, 120, seed=0, refine=False)
    spectrum = ctx.additive_proxy().spectrum()
    assert max(len(s) for s, c in spectrum if abs(c) > 1e-12) <= 1
    assert ctx.additive_proxy().params_["depth"] == 1
    assert max(len(s) for s, c in ctx.proxy().spectrum() if abs(c) > 1e-9) >= 2  # the real one has interactions
