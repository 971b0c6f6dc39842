"""Conformance: every set function (proxy, LASSO, shapiq's ProxySPEX, both spectra) keeps one contract."""

from __future__ import annotations

import numpy as np
import pytest

from headspex import FourierSpectrum, MoebiusSpectrum, Proxy, sample_masks
from headspex.spectrum import ProxySearch, SetFunction, fit_lasso
from headspex.spectrum.synthetic import planted_game

N = 7
GAME = planted_game(N, n_terms=4, max_order=2, seed=2)
MASKS = sample_masks(160, N, seed=1)
VALUES = GAME(MASKS)


def _shapiq():
    pytest.importorskip("lightgbm")
    from headspex.spectrum import fit_shapiq_proxyspex

    return fit_shapiq_proxyspex(MASKS, VALUES, seed=0)


BUILDERS = {
    "proxy": lambda: Proxy(ProxySearch(depths=(3,), thread_count=1), seed=0).fit(MASKS, VALUES),
    "lasso": lambda: fit_lasso(MASKS, VALUES, seed=0),
    "shapiq-proxyspex": _shapiq,
    "fourier": lambda: GAME.spectrum,
    "moebius": lambda: GAME.spectrum.to_moebius(),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_set_function_contract(name):
    f = BUILDERS[name]()
    assert isinstance(f, SetFunction) and f.n_players == N
    test = sample_masks(50, N, seed=9)
    pred = f.predict(test)
    assert pred.shape == (50,) and pred.dtype == np.float64 and np.isfinite(pred).all()
    spectrum = f.spectrum()
    assert isinstance(spectrum, FourierSpectrum) and spectrum.n_players == N
    np.testing.assert_allclose(spectrum.predict(test), pred, atol=1e-9)  # the spectrum IS the function
    np.testing.assert_array_equal(f.predict(test.astype(bool)), pred)  # bool coalitions, as shapiq passes
    with pytest.raises(ValueError, match="columns"):
        f.predict(np.ones((2, N + 1)))


def test_spectra_round_trip_between_bases():
    moebius = GAME.spectrum.to_moebius()
    assert isinstance(moebius, MoebiusSpectrum)
    np.testing.assert_allclose(moebius.spectrum().predict(MASKS), GAME.spectrum.predict(MASKS), atol=1e-12)
