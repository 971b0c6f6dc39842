"""fit_proxy: exactness of its spectrum, planted recovery, determinism, bad inputs (small, one thread)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from headspex.spectrum.r2 import r2_score
from headspex.spectrum.proxy import fit_proxy
from headspex.spectrum.refine import refine
from headspex.engine.sampling import sample_masks as uniform_masks
from headspex.spectrum.synthetic import planted_game

FAST = dict(depths=(3,), n_trees=(300,), cv_folds=3, thread_count=1)


def test_planted_recovery_96_players_2000_masks():
    game = planted_game(96, n_terms=12, max_order=3, noise=0.1, seed=0)
    masks = uniform_masks(2000, 96, seed=1)
    proxy = fit_proxy(masks, game(masks), seed=0, thread_count=1, depths=(3,), learning_rates=(0.3,), cv_folds=3)
    spec = proxy.spectrum()
    test = uniform_masks(1000, 96, seed=2)
    np.testing.assert_allclose(spec.predict(test), proxy.predict(test), atol=1e-9, rtol=0)
    assert r2_score(game(test), spec.predict(test)) >= 0.95
    planted = game.planted_supports()
    top = set(spec.top(len(planted), keep_constant=False).supports)
    assert top == planted


def test_determinism_and_report():
    game = planted_game(12, n_terms=3, max_order=2, seed=1)
    masks = uniform_masks(120, 12, seed=0)
    y = game(masks)
    a = fit_proxy(masks, y, seed=3, **FAST)
    b = fit_proxy(masks, y, seed=3, **FAST)
    assert a.params_ == b.params_ and a.cv_r2_ == b.cv_r2_
    assert a.spectrum().supports == b.spectrum().supports
    np.testing.assert_array_equal(a.spectrum().coefficients, b.spectrum().coefficients)
    np.testing.assert_array_equal(a.predict(masks), b.predict(masks))
    pd.testing.assert_frame_equal(a.grid_.drop(columns="seconds"), b.grid_.drop(columns="seconds"))
    assert a.grid_["chosen"].sum() == 1
    summary = a.summary()
    assert summary["params"] == a.params_ and summary["cv_r2"] == a.cv_r2_ and summary["seed"] == 3
    assert summary["n_masks"] == 120 and summary["search"]["cv_folds"] == a.search.cv_folds


def test_refinement_and_pruned_grid():
    game = planted_game(10, n_terms=3, max_order=2, noise=0.05, seed=2)
    masks = uniform_masks(200, 10, seed=0)
    y = game(masks)
    proxy = fit_proxy(masks, y, seed=0, depths=(2, 3), n_trees=(200,), cv_folds=3, thread_count=1,
                      refine_spectrum=True, refine_energy="auto")
    ref = proxy.refinement
    assert ref is not None and ref.n_kept <= ref.n_candidates and ref.energy in (0.9, 0.95, 0.99)
    assert set(proxy.grid["status"]) <= {"ok", "pruned after fold 1"}
    r = refine(proxy.spectrum(), masks, y, energy=0.95)
    assert r.kept_energy_share >= 0.95 - 1e-9
    with pytest.raises(ValueError, match="energy"):
        refine(proxy.spectrum(), masks, y, energy=1.5)


def test_constant_game():
    masks = uniform_masks(30, 5, seed=0)
    proxy = fit_proxy(masks, np.full(30, 0.25), **FAST)
    assert proxy.spectrum().as_dict() == {(): 0.25}
    np.testing.assert_allclose(proxy.predict(masks[:3]), 0.25)
    assert np.isnan(proxy.cv_r2)


def test_bad_inputs():
    masks = uniform_masks(30, 5, seed=0)
    y = np.arange(30.0)
    with pytest.raises(ValueError, match="one value per mask"):
        fit_proxy(masks, y[:-1], **FAST)
    with pytest.raises(ValueError, match="binary"):
        fit_proxy(masks * 2, y, **FAST)
    y_nan = y.copy()
    y_nan[4] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit_proxy(masks, y_nan, **FAST)
    with pytest.raises(ValueError, match="at least"):
        fit_proxy(masks[:4], y[:4], **FAST)
    with pytest.raises(ValueError, match="depths"):
        fit_proxy(masks, y, depths=(0,))
    with pytest.raises(ValueError, match="players"):
        fit_proxy(masks, y, players=[(0, 0)], **FAST)
