"""MaskGame: the value function as an object (shapiq's Game contract, one evaluator, one store)."""

from __future__ import annotations

import numpy as np
import pytest

from headspex.engine import MaskGame, evaluate_masks, sample_masks
from headspex.engine.evaluator import MaskEvaluator
from headspex.engine.store import load_store
from tests.helpers import players_of, tiny_task


def test_game_equals_evaluate_masks_and_builds_one_evaluator(tiny_llama, monkeypatch):
    task, players = tiny_task(), players_of([1, 2], tiny_llama.n_heads)
    masks = sample_masks(6, len(players), seed=3)
    expected = evaluate_masks(tiny_llama, task, masks, players=players, progress=False)
    built = []
    real_init = MaskEvaluator.__init__
    monkeypatch.setattr(MaskEvaluator, "__init__", lambda self, *a, **kw: built.append(1) or real_init(self, *a, **kw))
    with MaskGame(tiny_llama, task, players) as game:
        first = game(masks[:3])
        np.testing.assert_allclose(first, expected[:3], atol=1e-6)  # other batch shapes: float round-off
        values = game(masks)
        np.testing.assert_array_equal(values[:3], first)  # stored values come back as they were
        np.testing.assert_allclose(values, expected, atol=1e-6)
        np.testing.assert_array_equal(game.value_function(masks[::-1]), values[::-1])
    assert len(built) == 1 and game.n_evaluated == 6  # one evaluator; repeated masks not re-run


def test_metric_views_share_the_store(tiny_llama, tmp_path):
    task, players = tiny_task(), players_of([3], tiny_llama.n_heads)
    masks = sample_masks(5, len(players), seed=4)
    with MaskGame(tiny_llama, task, players, metric="logprob", store=tmp_path) as game:
        logprob = game(masks)
        acc_view = game.with_metric("accuracy")
        accuracy = acc_view(masks)
        assert acc_view.n_evaluated == game.n_evaluated == len(np.unique(masks, axis=0))
        assert set(np.unique(accuracy)) <= {0.0, 1 / 3, 2 / 3, 1.0}
        per_q = game.per_question(masks)
        np.testing.assert_allclose(per_q["logprob"].mean(axis=1), logprob, atol=1e-9)
        np.testing.assert_allclose(per_q["accuracy"].mean(axis=1), accuracy, atol=1e-12)
    stored_masks, stored = load_store(tmp_path).arrays("accuracy")
    assert len(stored_masks) == len(np.unique(masks, axis=0)) and np.isin(accuracy, stored).all()
    with pytest.raises(ValueError, match="metric must be one of"):
        game.with_metric("f1")


def test_shapiq_approximator_runs_on_heads(tiny_llama):
    shapiq = pytest.importorskip("shapiq")
    task, players = tiny_task(), players_of([2], tiny_llama.n_heads)
    with MaskGame(tiny_llama, task, players, metric="margin") as game:
        values = shapiq.ExactComputer(n_players=game.n_players, game=game)("SV")
        approx = shapiq.KernelSHAP(n=game.n_players, random_state=0).approximate(2 ** game.n_players, game)
        grand = game(np.ones((1, game.n_players), bool))[0] - game(np.zeros((1, game.n_players), bool))[0]
    assert game.n_evaluated == 2 ** game.n_players  # every coalition once, reused by both
    np.testing.assert_allclose(sum(approx.get_n_order_values(1)), grand, atol=1e-6)
    np.testing.assert_allclose(approx.get_n_order_values(1), values.get_n_order_values(1), atol=1e-6)


def test_mean_ablation_means_are_owned_and_shared(tiny_llama, tmp_path):
    task, players = tiny_task(), players_of([0], tiny_llama.n_heads)
    with MaskGame(tiny_llama, task, players, ablation="mean", store=tmp_path / "train") as train:
        means = train.head_means
        assert means.shape == (tiny_llama.n_layers, tiny_llama.n_heads, tiny_llama.d_head)
        with MaskGame(tiny_llama, task, players, ablation="mean", split="test", means=means) as test:
            assert test.head_means is means
    with MaskGame(tiny_llama, task, players, ablation="mean", store=tmp_path / "train") as again:
        np.testing.assert_array_equal(again.head_means.numpy(), means.numpy())  # read back from means.pt


def test_bad_masks_get_one_clear_error(tiny_llama):
    task, players = tiny_task(), players_of([1], tiny_llama.n_heads)
    with MaskGame(tiny_llama, task, players) as game:
        with pytest.raises(ValueError, match="n_players=4 columns"):
            game(np.ones((2, 3)))
        with pytest.raises(ValueError, match="binary"):
            game(np.full((1, 4), 2))
        with pytest.raises(ValueError, match="at least 1 row"):
            game(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="ablation must be one of"):
        MaskGame(tiny_llama, task, players, ablation="resample")


def test_store_refuses_an_edited_jsonl_task(tiny_llama, tmp_path):
    import json

    import tasks
    from headspex.engine.store import StoreMismatchError

    path = tmp_path / "qs.jsonl"
    rows = [{"prompt": f"The capital of {c} is", "choices": [" Paris", " Rome"], "answer": i % 2} for i, c in
            enumerate(["France", "Italy", "Spain", "Germany"])]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    task = tasks.load(str(path), seed=0)
    players = players_of([1], tiny_llama.n_heads)
    with MaskGame(tiny_llama, task, players, store=tmp_path / "store") as game:
        game(np.ones((1, 4)))
    rows[0]["answer"] = 1 - rows[0]["answer"]  # same ids, same size, other content
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(StoreMismatchError, match="task_options"):
        MaskGame(tiny_llama, tasks.load(str(path), seed=0), players, store=tmp_path / "store")
