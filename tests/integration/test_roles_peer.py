"""shapiq_pairs (shapiq on the game itself, at a matched budget) and spectrum_pairs (ProxySPEX's k-SII) on planted
games: the planted strongest pair's sign, the evaluations spent, exact values where both are exact, the
keep = present convention, a real MaskGame, and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from headspex.errors import InputError
from headspex.roles.peer import shapiq_pairs, spectrum_pairs
from headspex.spectrum.fourier import FourierSpectrum
from headspex.spectrum.synthetic import planted_game


class Counted:
    """A game that counts the mask rows it evaluates."""

    def __init__(self, game):
        self.game, self.n_players, self.rows = game, game.n_players, 0

    def __call__(self, masks):
        assert masks.dtype == np.uint8  # shapiq's boolean coalitions arrive as masks
        self.rows += len(masks)
        return self.game(masks)


def strongest_pair(spectrum: FourierSpectrum) -> tuple[tuple[int, int], float]:
    pairs = {s: f for s, f in spectrum.as_dict().items() if len(s) == 2}
    best = max(pairs, key=lambda s: abs(pairs[s]))
    return best, pairs[best]


def value_of(frame, pair) -> float:
    return float(frame.loc[(frame["i"] == pair[0]) & (frame["j"] == pair[1]), "value"].iloc[0])


@pytest.mark.parametrize("approximator", ["kernelshapiq", "svarmiq"])
def test_shapiq_recovers_the_strongest_planted_pair_at_a_modest_budget(approximator):
    game = planted_game(14, n_terms=6, max_order=2, noise=0.05, seed=4)
    (pair, coefficient) = strongest_pair(game.spectrum)
    counted = Counted(game)
    frame = shapiq_pairs(counted, budget=300, approximator=approximator, seed=0)
    assert list(frame.columns) == ["i", "j", "value"] and len(frame) == 14 * 13 // 2
    assert (frame["i"] < frame["j"]).all() and frame["value"].abs().is_monotonic_decreasing
    assert np.sign(value_of(frame, pair)) == np.sign(coefficient)
    assert frame.attrs["evaluations"] == 300 == counted.rows  # exactly the budget
    assert frame.attrs["distinct"] <= 300 and frame.attrs["approximator"] == approximator


def test_all_coalitions_give_the_exact_pairs_and_no_more_than_two_to_the_n_evaluations():
    game = planted_game(6, n_terms=5, max_order=2, seed=3)
    frame = shapiq_pairs(game, budget=500)
    assert frame.attrs["evaluations"] == 2 ** 6 and frame.attrs["budget"] == 500
    for (i, j) in itertools.combinations(range(6), 2):  # order-2 game: k-SII of a pair = 4 F({i, j})
        assert value_of(frame, (i, j)) == pytest.approx(4 * game.spectrum.coefficient((i, j)), abs=1e-6)


def test_present_means_kept():
    """f(m) = m_0 m_1 (1 = keep): keeping both is worth 1 more than the parts, so the pair's value is +1."""
    class And:
        n_players = 4

        def __call__(self, masks):
            return (masks[:, 0] * masks[:, 1]).astype(float)

    frame = shapiq_pairs(And(), budget=16)
    assert value_of(frame, (0, 1)) == pytest.approx(1.0, abs=1e-6)
    assert frame["value"].abs().iloc[1] == pytest.approx(0.0, abs=1e-6)


def test_spectrum_pairs_are_the_planted_pair_values():
    game = planted_game(10, n_terms=6, max_order=2, seed=2)
    frame = spectrum_pairs(game.spectrum)
    planted = {s: f for s, f in game.spectrum.as_dict().items() if len(s) == 2}
    assert planted and {(int(i), int(j)) for i, j in zip(frame["i"], frame["j"])} == set(planted)
    for pair, f in planted.items():
        assert value_of(frame, pair) == pytest.approx(4 * f, abs=1e-9)
    (pair, coefficient) = strongest_pair(game.spectrum)
    assert (frame.iloc[0]["i"], frame.iloc[0]["j"]) == pair and frame.attrs["index"] == "k-SII"
    moebius = spectrum_pairs(game.spectrum.to_moebius())
    np.testing.assert_allclose(moebius["value"], frame["value"])


def test_shapiq_pairs_on_a_mask_game(tiny_llama):
    from headspex.engine.game import MaskGame
    from tests.helpers import players_of, tiny_task

    game = MaskGame(tiny_llama, tiny_task(), players_of([3], tiny_llama.n_heads), metric="logprob")
    frame = shapiq_pairs(game, budget=12, seed=1)
    assert frame.attrs["evaluations"] == 12 and game.n_evaluated == frame.attrs["distinct"]
    assert np.isfinite(frame["value"]).all() and len(frame) == game.n_players * (game.n_players - 1) // 2


@pytest.mark.parametrize("call, match", [
    (lambda g: shapiq_pairs(g, budget=0), "budget"),
    (lambda g: shapiq_pairs(g, budget=2.5), "budget"),
    (lambda g: shapiq_pairs(g, budget=10, approximator="lasso"), "approximator"),
    (lambda g: shapiq_pairs(g, budget=10, max_order=1), "max_order"),
    (lambda g: shapiq_pairs(object(), budget=10), "n_players"),
    (lambda g: spectrum_pairs("spectrum"), "FourierSpectrum"),
    (lambda g: spectrum_pairs(g.spectrum, players=[(0, 0)]), "players"),
])
def test_bad_input_is_one_input_error(call, match):
    with pytest.raises(InputError, match=match):
        call(planted_game(5, n_terms=2, max_order=2, seed=0))
