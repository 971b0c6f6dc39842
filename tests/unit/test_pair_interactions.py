"""Measured pair interactions: E_b[v11 - v10 - v01 + v00] = 4 F({i, j}) under uniform backgrounds, exactly by
brute force and within noise by sampling; the sign convention; the comparison with a spectrum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from headspex.errors import InputError
from headspex.roles.pairs import PairInteractions, compare_with_spectrum, pair_interactions
from headspex.spectrum.fourier import FourierSpectrum
from headspex.spectrum.synthetic import planted_game


class CountingGame:
    """A callable game that counts its calls and masks."""

    def __init__(self, spectrum: FourierSpectrum, players=None):
        self.spectrum, self.n_players, self.players = spectrum, spectrum.n_players, players
        self.calls, self.masks = 0, 0

    def __call__(self, masks):
        self.calls += 1
        self.masks += len(masks)
        return self.spectrum.predict(masks)


def _all_backgrounds(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.uint8)


def test_sign_convention_on_an_and_game():
    """f(m) = m_0 m_1 (keeping both is worth 1): every second difference is +1, and F({0, 1}) = +1/4."""
    n = 4
    table = _all_backgrounds(n)
    values = (table[:, 0] * table[:, 1]).astype(float)
    # F(S) = E_m[f(m) chi_S(m)] with chi_S(m) = (-1)^(sum_{i in S} m_i)
    f01 = float(np.mean(values * (-1.0) ** (table[:, 0] + table[:, 1])))
    assert f01 == pytest.approx(0.25)

    def and_game(masks):
        return masks[:, 0].astype(float) * masks[:, 1]

    and_game.n_players = n
    measured = pair_interactions(and_game, [(0, 1), (2, 3)], backgrounds=_all_backgrounds(n))
    assert np.all(measured.deltas[0] == 1.0) and np.all(measured.deltas[1] == 0.0)
    assert measured.mean[0] == pytest.approx(4 * f01)


def test_exact_identity_over_all_backgrounds_of_a_planted_game():
    game = planted_game(6, n_terms=5, max_order=3, seed=1)
    spectrum = game.spectrum
    pairs = list(itertools.combinations(range(6), 2))
    measured = pair_interactions(game, pairs, backgrounds=_all_backgrounds(6))
    predicted = np.array([4 * spectrum.coefficient(p) for p in pairs])
    np.testing.assert_allclose(measured.mean, predicted, atol=1e-12)
    assert any(abs(x) > 0.5 for x in predicted)  # the game has real pair terms
    assert measured.seed is None and measured.n_backgrounds == 64


def test_sampled_backgrounds_estimate_4F_with_one_game_call():
    spectrum = FourierSpectrum.from_dict({(): 1.0, (0,): 0.3, (0, 1): 0.5, (0, 1, 2): 0.4, (3, 4): -0.2,
                                          (2, 5, 7): 0.3}, 8)
    game = CountingGame(spectrum)
    measured = pair_interactions(game, [(0, 1), (3, 4), (1, 2)], n_backgrounds=400, seed=0)
    assert game.calls == 1 and game.masks == 3 * 4 * 400 and measured.evaluations == 1600
    np.testing.assert_allclose(measured.mean, [2.0, -0.8, 0.0], atol=0.2)
    ci = measured.ci
    np.testing.assert_allclose(ci[1], [-0.8, -0.8])  # no spread, no width
    half = (ci[[0, 2], 1] - ci[[0, 2], 0]) / 2  # Δ = 4 (F(pair) ± 0.4): spread 1.6 over backgrounds
    np.testing.assert_allclose(half, 1.966 * 1.6 / np.sqrt(400), rtol=0.05)
    np.testing.assert_allclose(measured.deltas[1], -0.8)  # no higher-order term holds (3, 4): no spread
    again = pair_interactions(CountingGame(spectrum), [(0, 1), (3, 4), (1, 2)], n_backgrounds=400, seed=0)
    np.testing.assert_array_equal(again.deltas, measured.deltas)


def test_dataframe_and_comparison_with_the_spectrum():
    spectrum = FourierSpectrum.from_dict({(0, 1): 0.5, (1, 2): -0.25, (2, 3): 0.1, (0, 1, 3): 0.2}, 4)
    players = [(0, 0), (0, 1), (1, 0), (1, 1)]
    measured = pair_interactions(CountingGame(spectrum, players), [(1, 0), (1, 2), (2, 3)], n_backgrounds=50)
    frame = measured.to_dataframe()
    assert list(frame.columns) == ["i", "j", "label", "interaction", "ci_low", "ci_high", "n_backgrounds",
                                   "evaluations"]
    assert frame["label"].tolist() == ["L0H0*L0H1", "L0H1*L1H0", "L1H0*L1H1"]
    assert frame["evaluations"].tolist() == [200, 200, 200]
    table = compare_with_spectrum(measured, spectrum)
    np.testing.assert_allclose(table["predicted"], [2.0, -1.0, 0.4])
    assert table["sign_agrees"].all() and table.attrs["sign_agreement"] == 1.0
    assert table.attrs["spearman"] == pytest.approx(1.0) and table.attrs["n_pairs"] == 3
    other = FourierSpectrum.from_dict({(0, 1): -0.5}, 4)
    flipped = compare_with_spectrum(measured, other)
    assert flipped["sign_agrees"].tolist() == [False, False, False]  # zero predictions count as no sign
    with pytest.raises(InputError, match="players"):
        compare_with_spectrum(measured, FourierSpectrum.from_dict({(0, 1): 1.0}, 5))


class QuestionGame(CountingGame):
    """Per-question values: question q scores spectrum(m) + q * m_0 m_1 (the pair matters more later)."""

    metric = "logprob"

    def per_question(self, masks):
        base = self.spectrum.predict(masks)[:, None]
        both = (masks[:, 0] * masks[:, 1])[:, None].astype(float)
        return {"logprob": base + both * np.arange(5)[None, :]}


def test_by_question_bootstrap_interval():
    spectrum = FourierSpectrum.from_dict({(0, 1): 0.25}, 4)
    measured = pair_interactions(QuestionGame(spectrum), [(0, 1), (2, 3)], n_backgrounds=8, by_question=True)
    # per question q: delta = 1 + q, mean over questions 0..4 = 3
    np.testing.assert_allclose(measured.mean, [3.0, 0.0])
    q_ci = measured.question_ci
    assert q_ci.shape == (2, 2) and q_ci[0, 0] < 3.0 < q_ci[0, 1] and q_ci[0, 0] >= 1.0 and q_ci[0, 1] <= 5.0
    assert {"question_ci_low", "question_ci_high"} <= set(measured.to_dataframe().columns)
    with pytest.raises(InputError, match="per_question"):
        pair_interactions(CountingGame(spectrum), [(0, 1)], by_question=True)


@pytest.mark.parametrize("pairs, kwargs, match", [
    ([(0, 0)], {}, "two different players"),
    ([(0, 9)], {}, "two different players"),
    ([(0, 1.0)], {}, "two player indices"),
    ([], {}, "at least one"),
    ([(0, 1)], {"n_backgrounds": 0}, "n_backgrounds"),
    ([(0, 1)], {"backgrounds": np.full((2, 4), 2)}, "binary"),
    ([(0, 1)], {"level": 1.5}, "level"),
])
def test_bad_inputs_raise_input_errors(pairs, kwargs, match):
    game = CountingGame(FourierSpectrum.from_dict({(0, 1): 1.0}, 4))
    with pytest.raises(InputError, match=match):
        pair_interactions(game, pairs, **kwargs)


def test_one_background_gives_an_undefined_interval():
    measured = PairInteractions(((0, 1),), np.array([[0.5]]), 3)
    assert measured.mean.tolist() == [0.5] and np.isnan(measured.ci).all()
