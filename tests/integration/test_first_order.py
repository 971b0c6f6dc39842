"""Gradient and attribution-patching head importance: exact against finite differences and the engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from headspex.engine.first_order import first_order, gated_logprob
from headspex.engine.game import MaskGame
from tests.helpers import players_of, tiny_task


def _inputs(model, task):
    qs = task.split("train")
    return [q.prompt for q in qs], task.choice_token_ids(model.tokenizer, "train"), task.answers("train")


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_gated_logprob_at_binary_gates_equals_the_engine(tiny_llama, ablation):
    task = tiny_task()
    players = players_of(range(4), 4)
    keep = (np.random.default_rng(0).random(len(players)) < 0.6).astype(np.uint8)
    with MaskGame(tiny_llama, task, players, ablation=ablation) as game:
        expected = game(keep[None])[0]
        means = game.head_means
    prompts, choice_ids, answers = _inputs(tiny_llama, task)
    gates = torch.tensor(keep, dtype=torch.float32).view(1, 4, 4).repeat(len(prompts), 1, 1)
    got = gated_logprob(tiny_llama, prompts, choice_ids, answers, gates, means if ablation == "mean" else None)
    assert got.mean().item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_gate_gradient_matches_finite_differences(tiny_llama, ablation):
    task = tiny_task()
    players = players_of(range(4), 4)
    means = None
    if ablation == "mean":
        with MaskGame(tiny_llama, task, players, ablation="mean") as game:
            means = game.head_means
    fo = first_order(tiny_llama, task, players, ablation=ablation, means=means)
    prompts, choice_ids, answers = _inputs(tiny_llama, task)
    eps = 1e-3
    for j in (0, 5, 15):  # first layer, a middle head, last layer
        layer, head = players[j]
        lo = torch.ones(len(prompts), 4, 4)
        hi = lo.clone()
        lo[:, layer, head] -= eps
        hi[:, layer, head] += eps
        with torch.no_grad():
            fd = -(gated_logprob(tiny_llama, prompts, choice_ids, answers, hi, means)
                   - gated_logprob(tiny_llama, prompts, choice_ids, answers, lo, means)) / (2 * eps)
        np.testing.assert_allclose(fo.gate_grad[:, j], fd.double().numpy(), atol=2e-4, rtol=1e-2)


def test_attribution_patching_tracks_true_single_head_effects(tiny_llama):
    task = tiny_task()
    players = players_of(range(4), 4)
    fo = first_order(tiny_llama, task, players)
    with MaskGame(tiny_llama, task, players) as game:
        clean = game(np.ones((1, 16), np.uint8))[0]
        true = game(1 - np.eye(16, dtype=np.uint8)) - clean
    estimate = fo.attribution_patching()
    assert np.corrcoef(estimate, true)[0, 1] > 0.8  # a random tiny model is close to linear in one head


def test_michel_importance_is_normalised_per_layer_and_respects_keep(tiny_llama):
    task = tiny_task()
    players = players_of(range(4), 4)
    keep = np.ones(16, np.uint8)
    keep[[1, 6]] = 0
    fo = first_order(tiny_llama, task, players, keep=keep)
    imp = fo.michel_importance().reshape(4, 4)
    np.testing.assert_allclose(np.linalg.norm(imp, axis=1), 1.0, rtol=1e-9)
    with pytest.raises(ValueError, match="keep must be a 0/1 vector"):
        first_order(tiny_llama, task, players, keep=np.ones(3))
    with pytest.raises(ValueError, match="needs means"):
        first_order(tiny_llama, task, players, ablation="mean")
