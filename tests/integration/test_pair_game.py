"""pair_interactions on a real MaskGame (tiny Llama): one call, 4 masks per background, the same second
differences as evaluating the masks one by one, and the bootstrap over questions from per_question."""

from __future__ import annotations

import numpy as np

from headspex.engine.game import MaskGame
from headspex.roles.pairs import pair_interactions, pair_masks
from tests.helpers import players_of, tiny_task


def test_pair_interactions_on_a_mask_game(tiny_llama):
    game = MaskGame(tiny_llama, tiny_task(), players_of([2, 3], tiny_llama.n_heads), metric="logprob")
    pairs = [(0, 5), (2, 3)]
    measured = pair_interactions(game, pairs, n_backgrounds=3, seed=0)
    assert measured.deltas.shape == (2, 3) and measured.evaluations == 12
    assert game.n_evaluated <= 2 * 12  # one call; repeated masks evaluated once
    bg = np.random.default_rng(0).integers(0, 2, size=(2, 3, game.n_players), dtype=np.uint8)
    values = game(pair_masks(pairs, bg).reshape(-1, game.n_players)).reshape(2, 3, 4)
    np.testing.assert_allclose(measured.deltas, values @ [1.0, -1.0, -1.0, 1.0])
    frame = measured.to_dataframe()
    assert frame["label"].tolist() == ["L2H0*L3H1", "L2H2*L2H3"]
    by_q = pair_interactions(game, pairs, n_backgrounds=3, seed=0, by_question=True, n_boot=200)
    np.testing.assert_allclose(by_q.deltas, measured.deltas, atol=1e-4)  # per-question means = stored values
    assert by_q.question_ci.shape == (2, 2) and np.all(by_q.question_ci[:, 0] <= by_q.question_ci[:, 1])
