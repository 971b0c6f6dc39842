"""Attributions and interaction indices against brute force over all 2^n masks (n <= 8)."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

from headspex.spectrum.attributions import banzhaf_values, head_attributions, interaction_values, shapley_values, to_head_tensor
from headspex.spectrum.proxy import fit_proxy
from headspex.spectrum.fourier import FourierSpectrum
from headspex.spectrum.structure import structure_summary
from headspex.engine.sampling import sample_masks as uniform_masks
from headspex.spectrum.synthetic import planted_game

N = 7
PLAYERS = [(1, h) for h in range(4)] + [(2, h) for h in range(3)]


@pytest.fixture(scope="module")
def proxy():
    game = planted_game(N, n_terms=4, max_order=3, noise=0.05, seed=4)
    masks = uniform_masks(160, N, seed=0)
    return fit_proxy(masks, game(masks), seed=0, depths=(3,), n_trees=(100,), cv_folds=3, thread_count=1,
                     players=PLAYERS)


def table(proxy):
    A = np.array(list(itertools.product([0, 1], repeat=N)), dtype=np.uint8)
    vals = proxy.predict(A)  # brute force from the CatBoost model itself
    return {tuple(np.nonzero(r)[0]): v for r, v in zip(A, vals)}


def brute_shapley_banzhaf(f):
    phi, beta = np.zeros(N), np.zeros(N)
    for S, v in f.items():
        for i in range(N):
            if i in S:
                continue
            d = f[tuple(sorted(S + (i,)))] - v
            phi[i] += factorial(len(S)) * factorial(N - len(S) - 1) / factorial(N) * d
            beta[i] += d / 2 ** (N - 1)
    return phi, beta


def delta(f, T, S):
    return sum((-1) ** (len(T) - r) * f[tuple(sorted(S + L))] for r in range(len(T) + 1)
               for L in itertools.combinations(T, r))


def test_shapley_banzhaf_exact(proxy):
    phi, beta = brute_shapley_banzhaf(table(proxy))
    spec = proxy.spectrum()
    np.testing.assert_allclose(shapley_values(spec), phi, atol=1e-9, rtol=0)
    np.testing.assert_allclose(banzhaf_values(spec), beta, atol=1e-9, rtol=0)
    np.testing.assert_allclose(banzhaf_values(spec.to_moebius()), beta, atol=1e-9, rtol=0)
    att = head_attributions(spec)
    t = att.tensor("shapley", (4, 5))
    assert tuple(t.shape) == (4, 5) and bool(t[0].isnan().all()) and float(t[1, 0]) == pytest.approx(phi[0])
    assert float(att.tensor("banzhaf", (4, 5), fill_value=0.0)[3, 4]) == 0.0
    assert list(att.to_dataframe().label[:2]) == ["L1H0", "L1H1"]
    with pytest.raises(ValueError, match="outside"):
        to_head_tensor(phi, PLAYERS, (2, 4))


def test_sii_against_brute_force(proxy):
    f = table(proxy)
    iv = interaction_values(proxy.spectrum(), "SII", 2)
    assert iv.player_names[4] == "L2H0"
    for T in [(0,), (2, 5), (1, 3)]:
        rest = [j for j in range(N) if j not in T]
        brute = sum(factorial(len(S)) * factorial(N - len(S) - len(T)) / factorial(N - len(T) + 1) * delta(f, T, S)
                    for r in range(len(rest) + 1) for S in itertools.combinations(rest, r))
        assert iv.values[T] == pytest.approx(brute, abs=1e-9)
    assert list(iv.to_dataframe().columns) == ["support", "label", "order", "value"]


@pytest.mark.parametrize("index", ["k-SII", "FBII", "SII", "FSII"])
def test_indices_match_shapiq_exact_computer(proxy, index):
    from shapiq import ExactComputer

    f = table(proxy)
    exact = ExactComputer(n_players=N, game=lambda c: np.array([f[tuple(np.nonzero(r)[0])] for r in c]))
    want = exact(index=index, order=2)
    got = interaction_values(proxy.spectrum(), index, 2).values
    tol = 1e-6 if index == "FSII" else 1e-9  # shapiq's exact FSII is a least-squares solve with big weights
    for T in itertools.chain.from_iterable(itertools.combinations(range(N), r) for r in (1, 2)):
        assert got[T] == pytest.approx(want[T], abs=tol), (index, T)


def test_fbii_is_fourier_truncation(proxy):
    spec = proxy.spectrum()
    fb = interaction_values(spec, "FBII", 2).values
    trunc = spec.truncate(2).to_moebius()
    for S, a in trunc.as_dict().items():
        if S:
            assert fb[S] == pytest.approx(a, abs=1e-9)


def test_structure_summary():
    players = [(0, 0), (0, 1), (1, 0), (1, 1)]
    spec = FourierSpectrum.from_dict({(): 5.0, (0,): 2.0, (0, 1): 1.0, (1, 2): 1.0, (0, 1, 3): 1.0}, 4, players=players)
    s = structure_summary(spec)
    assert s.linear == pytest.approx(4 / 7) and s.within_layer == pytest.approx(1 / 7)
    assert s.across_layer == pytest.approx(2 / 7) and s.order_share == {1: 4 / 7, 2: 2 / 7, 3: 1 / 7}
    assert set(s.to_dataframe().name) >= {"linear", "within_layer", "across_layer", "1", "2", "3"}
    assert np.isnan(structure_summary(FourierSpectrum(4, ((),), np.array([1.0]))).linear)


def test_bad_index():
    spec = FourierSpectrum.from_dict({(0,): 1.0}, 3)
    with pytest.raises(ValueError, match="index"):
        interaction_values(spec, "XYZ")
    with pytest.raises(ValueError, match="max_order"):
        interaction_values(spec, "SII", 5)
