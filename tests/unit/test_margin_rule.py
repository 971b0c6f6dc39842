"""The margin rule (proxyspex-margin): LASSO's top k is left only for a candidate that beats it on the training
questions by more than their noise. Checked against the paired statistic computed by hand and on planted games."""

from __future__ import annotations

import numpy as np
import pytest

from headspex.selection.context import SelectionContext
from headspex.selection.methods import METHODS
from headspex.selection.select import Selection
from headspex.selection.verify import choose_by_margin, margin_z
from headspex.spectrum.synthetic import planted_game

KEEP = (0.5, 0.66, 0.83)


def _cands(n: int, n_players: int = 8) -> list[Selection]:
    masks = np.eye(n, n_players, dtype=np.uint8) + np.eye(n, n_players, k=1, dtype=np.uint8)
    return [Selection(m, 2, "lasso" if i == 0 else f"swap-{i}", 0.0) for i, m in enumerate(masks)]


def test_a_noisy_winner_does_not_clear_the_margin_but_a_steady_one_does():
    base, signs = np.random.default_rng(0).normal(size=40), np.resize([1.0, -1.0], 40)
    per_q = np.stack([base,  # LASSO's top k
                      base + 0.3 + 3.0 * signs,  # the best mean, but noisy: not clear
                      base + 0.1 + 0.01 * signs])  # a smaller, steady gain: clear
    cands = _cands(3)
    diff = per_q[1:] - per_q[0]
    lower = diff.mean(1) - margin_z(2) * diff.std(1, ddof=1) / np.sqrt(40)
    assert per_q[1].mean() > per_q[2].mean() and lower[0] < 0 < lower[1]  # the premise, by hand
    sel = choose_by_margin(cands, per_q, cands[0].mask)
    assert np.array_equal(sel.mask, cands[2].mask) and not sel.details["is_lasso"]
    assert sel.details["margin_lower"] == pytest.approx(lower[1]) and sel.details["cleared"] == 1
    assert sel.details["true_train_value"] == pytest.approx(per_q[2].mean())
    assert sel.method == "margin:swap-2"


def test_without_a_clear_winner_lassos_top_k_is_kept():
    base, signs = np.random.default_rng(1).normal(size=32), np.resize([1.0, -1.0], 32)
    per_q = np.stack([base + 0.05 + 1.0 * signs, base, base - 0.2])
    cands = _cands(3)
    sel = choose_by_margin(cands, per_q, cands[1].mask)  # LASSO's need not be first
    assert np.array_equal(sel.mask, cands[1].mask) and sel.details["is_lasso"] and sel.details["cleared"] == 0
    # with z = 0 the rule is verify's: the best mean wins
    assert np.array_equal(choose_by_margin(cands, per_q, cands[1].mask, z=0.0).mask, cands[0].mask)


class QuestionGame:
    """A planted game asked on ``n_q`` questions: each question's value is the truth plus a fixed per-(mask,
    question) noise of scale ``noise``; the game's value is their mean, as a MaskGame's is."""

    metric = "logprob"

    def __init__(self, n_players: int, noise: float, n_q: int = 32):
        self.truth = planted_game(n_players, n_terms=20, max_order=3, seed=7).spectrum
        self.n_players, self.noise, self.n_q = n_players, noise, n_q

    def per_question(self, masks):
        masks = np.asarray(masks, dtype=np.uint8)
        noise = np.stack([np.random.default_rng(list(m) + [5]).normal(0, self.noise, self.n_q) for m in masks])
        return {"logprob": self.truth.predict(masks)[:, None] + noise}

    def __call__(self, masks):
        return self.per_question(masks)["logprob"].mean(axis=1)


@pytest.mark.parametrize("noise", [0.0, 1e4])
def test_margin_equals_verify_without_noise_and_keeps_lasso_under_overwhelming_noise(noise):
    game = QuestionGame(30, noise)
    ks = [round(keep * 30) for keep in KEEP]
    ctx = SelectionContext(game, KEEP, 200, seed=0, sampling="matched", refine=False, milp_time_limit=5)
    margin, verify = METHODS["proxyspex-margin"](ctx, ks), METHODS["proxyspex-verify"](ctx, ks)
    assert margin.forward == verify.forward == 200  # the same candidates, the same budget
    for k in ks:
        ours, theirs = margin.selections[k], verify.selections[k]
        if noise == 0.0:  # se = 0: any candidate better than LASSO's top k clears the margin
            assert np.array_equal(ours.mask, theirs.mask), k
        else:
            assert ours.details["is_lasso"], (k, ours.details)


def test_the_margin_is_bonferroni_corrected():
    assert margin_z(1) == pytest.approx(1.6449, abs=1e-4)  # one rival: the one-sided 95% quantile
    assert margin_z(12) == pytest.approx(2.638, abs=1e-3) and margin_z(12, alpha=0.5) < margin_z(12)


def test_margin_refuses_a_game_without_per_question_values():
    game = planted_game(12, n_terms=5, max_order=2, seed=0)
    ctx = SelectionContext(game, KEEP, 60, seed=0, refine=False, milp_time_limit=2)
    with pytest.raises(ValueError, match="proxyspex-margin needs a game with per-question values"):
        METHODS["proxyspex-margin"](ctx, [6])
