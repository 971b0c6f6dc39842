"""Exactness of the tree transform and of the sparse spectra (small n, few trees, one thread)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import headspex.spectrum.sparse_sets as ss
from headspex.spectrum.fourier import FourierSpectrum, MoebiusSpectrum, fourier_features
from headspex.spectrum.tree import catboost_json, spectrum_from_catboost

catboost = pytest.importorskip("catboost")


def all_masks(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.uint8)


def fit_cb(X, y, depth=3, iterations=20, seed=0):
    model = catboost.CatBoostRegressor(depth=depth, iterations=iterations, thread_count=1, verbose=False,
                                       allow_writing_files=False, random_seed=seed)
    return model.fit(X.astype(float), y)


def game_data(n=7, rows=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (rows, n))
    y = X[:, 0] * X[:, 1] - 0.5 * X[:, 2] * X[:, 3] * X[:, 4] + 0.3 * X[:, -1] + rng.normal(0, 0.05, rows)
    return X, y


@pytest.mark.parametrize("depth", [1, 2, 3, 6])
def test_catboost_spectrum_matches_predict(depth):
    X, y = game_data()
    model = fit_cb(X, y, depth=depth)
    spec = spectrum_from_catboost(model)
    A = all_masks(X.shape[1])
    np.testing.assert_allclose(spec.predict(A), model.predict(A.astype(float)), atol=1e-9, rtol=0)
    assert spec.max_order <= depth


def test_unused_features_and_wider_n_players():
    X, y = game_data(n=6)
    X[:, 2] = 1  # a constant column: CatBoost never splits on it
    model = fit_cb(X, y)
    spec = spectrum_from_catboost(model, n_players=8)
    assert spec.n_players == 8
    A = all_masks(6)
    np.testing.assert_allclose(spec.predict(np.c_[A, np.zeros((len(A), 2), np.uint8)]),
                               model.predict(A.astype(float)), atol=1e-9, rtol=0)
    assert all(2 not in s and 6 not in s and 7 not in s for s in spec.supports)


def _edited_model(tmp_path, edit):
    """A CatBoost model whose JSON dump was edited by ``edit(dump)`` and loaded back by CatBoost."""
    X, y = game_data(n=5, seed=1)
    dump = catboost_json(fit_cb(X, y, depth=3, iterations=4))
    edit(dump)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(dump))
    model = catboost.CatBoostRegressor()
    model.load_model(str(path), format="json")
    return model


def test_repeated_feature_and_constant_and_depth0_trees(tmp_path):
    rng = np.random.default_rng(3)

    def edit(dump):
        trees = dump["oblivious_trees"]
        template = trees[0]["splits"][0]
        split = lambda f: {**template, "float_feature_index": f}  # noqa: E731
        trees[0]["splits"] = [split(0), split(0), split(1)]  # feature 0 split twice
        trees[0]["leaf_values"] = rng.normal(size=8).tolist()
        trees[1]["splits"] = [split(2), split(2)]  # only repeats
        trees[1]["leaf_values"] = rng.normal(size=4).tolist()
        trees[1]["leaf_weights"] = [1.0] * 4
        trees[2]["leaf_values"] = [0.7] * 8  # a constant tree
        trees[3]["splits"] = []  # depth 0
        trees[3]["leaf_values"] = [0.25]
        trees[3]["leaf_weights"] = [1.0]
        dump["scale_and_bias"] = [1.5, [0.125]]

    model = _edited_model(tmp_path, edit)
    spec = spectrum_from_catboost(model)
    A = all_masks(5)
    np.testing.assert_allclose(spec.predict(A), model.predict(A.astype(float)), atol=1e-9, rtol=0)


def test_constant_game_spectrum():
    spec = FourierSpectrum(3, ((),), np.array([2.5]))
    np.testing.assert_allclose(spec.predict(all_masks(3)), 2.5)
    assert spec.nonconstant_energy == 0.0
    assert spec.to_moebius().as_dict() == {(): 2.5}


def brute_moebius(values: np.ndarray, n: int) -> dict:
    """a(S) = sum_{T subset S} (-1)^{|S|-|T|} f(T) over all 2^n masks (mask index = bits, MSB first)."""
    A = all_masks(n)
    f = {tuple(np.nonzero(row)[0]): v for row, v in zip(A, values)}
    out = {}
    for S in f:
        out[S] = sum((-1) ** (len(S) - r) * f[T] for r in range(len(S) + 1) for T in itertools.combinations(S, r))
    return out


def test_moebius_and_fourier_roundtrip_against_brute_force():
    rng = np.random.default_rng(0)
    n = 5
    coefs = {s: rng.normal() for r in range(4) for s in itertools.combinations(range(n), r) if rng.random() < 0.5}
    spec = FourierSpectrum.from_dict(coefs, n)
    A = all_masks(n)
    values = spec.predict(A)
    chi = fourier_features(A, list(spec.supports), n)
    np.testing.assert_allclose(chi @ spec.coefficients, values, atol=1e-12)
    moeb = spec.to_moebius()
    np.testing.assert_allclose(moeb.predict(A), values, atol=1e-12)
    brute = brute_moebius(values, n)
    for S, a in brute.items():
        assert abs(moeb.coefficient(S) - a) < 1e-9
    back = moeb.to_fourier()
    for S, F in spec.as_dict().items():
        assert abs(back.coefficient(S) - F) < 1e-12


def test_truncate_top_energy():
    spec = FourierSpectrum.from_dict({(): 1.0, (0,): -3.0, (1, 2): 2.0, (0, 1, 2): 0.5}, 4)
    assert spec.truncate(1).supports == ((), (0,))
    assert spec.top(1).supports == ((), (0,))
    assert spec.top(2, keep_constant=False).supports == ((0,), (1, 2))
    assert spec.energy_by_order() == {0: 1.0, 1: 9.0, 2: 4.0, 3: 0.25}
    assert spec.nonconstant_energy == pytest.approx(13.25)
    df = spec.to_dataframe()
    assert list(df.columns) == ["support", "label", "order", "coefficient"] and df.iloc[0].support == (0,)


def test_sparse_sets_multiword():
    n = 150
    sups = [(), (3,), (64, 140), (0, 63, 64, 149)]
    bits = ss.supports_to_bits(sups, n)
    assert bits.shape == (4, 3)
    assert ss.bits_to_supports(bits) == sups
    np.testing.assert_array_equal(ss.popcounts(bits), [0, 1, 2, 4])
    xors = ss.subset_xors(ss.player_bits(np.array([[5, 5, 70]]), n))  # repeated element cancels
    assert ss.bits_to_supports(xors[0]) == [(), (5,), (5,), (), (70,), (5, 70), (5, 70), (70,)]
    u, sums = ss.sum_by_set(xors[0], np.arange(8.0))
    assert dict(zip(ss.bits_to_supports(u), sums)) == {(): 3.0, (5,): 3.0, (70,): 11.0, (5, 70): 11.0}


def test_bad_inputs():
    spec = FourierSpectrum.from_dict({(0,): 1.0}, 3)
    with pytest.raises(ValueError, match="binary"):
        spec.predict(np.array([[0, 2, 1]]))
    with pytest.raises(ValueError, match="columns"):
        spec.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="2-D"):
        spec.predict(np.zeros(3))
    with pytest.raises(ValueError, match="outside"):
        FourierSpectrum.from_dict({(5,): 1.0}, 3)
    with pytest.raises(ValueError, match="finite"):
        MoebiusSpectrum.from_dict({(0,): np.nan}, 3)
    with pytest.raises(ValueError, match="one .* per player"):
        FourierSpectrum.from_dict({(0,): 1.0}, 3, players=[(0, 0), (0, 1)])
