"""Baselines and the faithfulness curve on one small planted game (one thread)."""

from __future__ import annotations

import numpy as np
import pytest

from headspex.spectrum.faithfulness import faithfulness_curve
from headspex.spectrum.r2 import r2_score
from headspex.spectrum.surrogates import fit_lasso
from headspex.engine.sampling import sample_masks as uniform_masks
from headspex.spectrum.synthetic import planted_game


def data(n=12, rows=200, seed=0):
    game = planted_game(n, n_terms=4, max_order=2, noise=0.05, seed=seed)
    masks = uniform_masks(rows, n, seed=seed)
    return game, masks, game(masks)


def test_lasso_spectrum_matches_predict():
    game, masks, y = data()
    lasso = fit_lasso(masks, y)
    np.testing.assert_allclose(lasso.spectrum().predict(masks), lasso.predict(masks), atol=1e-9)
    const = fit_lasso(masks, np.ones(len(y)))
    np.testing.assert_allclose(const.predict(masks[:2]), 1.0)
    with pytest.raises(ValueError, match="one value per mask"):
        fit_lasso(masks, y[:5])


def test_shapiq_proxyspex_on_given_masks():
    pytest.importorskip("lightgbm")
    from headspex.spectrum.surrogates import fit_shapiq_proxyspex

    game, masks, y = data(n=8, rows=120)
    sp = fit_shapiq_proxyspex(masks, y, seed=0)
    test = uniform_masks(200, 8, seed=9)
    assert r2_score(game(test), sp.predict(test)) > 0.5
    np.testing.assert_allclose(sp.spectrum().predict(test), sp.predict(test), atol=1e-9)


def test_faithfulness_curve():
    game, masks, y = data()
    test = uniform_masks(300, 12, seed=5)
    res = faithfulness_curve(masks, y, test, game(test), [60, 200], thread_count=1,
                             proxy_kwargs=dict(depths=(2,), n_trees=(150,), cv_folds=3))
    df = res.to_dataframe()
    assert len(df) == 6 and set(df.surrogate) == {"proxy", "refined", "lasso"}
    assert res.table().loc[200, "proxy"] > 0.8
    with pytest.raises(ValueError, match="sizes"):
        faithfulness_curve(masks, y, test, game(test), [500])
    with pytest.raises(ValueError, match="surrogates"):
        faithfulness_curve(masks, y, test, game(test), [60], surrogates=["nope"])
    assert np.isnan(r2_score([1.0, 1.0], [0.0, 1.0]))
