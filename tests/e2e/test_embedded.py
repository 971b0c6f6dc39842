"""Integration on the real embedded SmolLM2-135M-Instruct and real task data (offline)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tasks
from headspex import ablate_heads, sample_masks
from headspex.engine import evaluate_clean, evaluate_masks
from headspex.players import layer_players
from tasks.sources import quiz_dir

pytestmark = [pytest.mark.embedded,
              pytest.mark.skipif(not (quiz_dir() / "europe").is_file(), reason="bsdgames quiz files absent")]


def test_model_shape_and_a_known_fact(embedded):
    assert (embedded.n_layers, embedded.n_heads, embedded.d_head, embedded.n_kv_heads) == (30, 9, 64, 3)
    ids = embedded.tokenizer("The capital of France is", return_tensors="pt")["input_ids"]
    logits = embedded.bridge(ids)[0, -1]
    assert embedded.tokenizer.decode(int(logits.argmax())).strip() == "Paris"
    assert "30 layers" in repr(embedded)


def test_capitals_well_above_chance_and_ablation_hurts(embedded):
    task = tasks.load("capitals", tokenizer=embedded.tokenizer)
    clean = evaluate_clean(embedded, task, split="test")
    assert clean["accuracy"] > 0.6  # chance is 0.25
    players = layer_players(range(3), embedded.n_heads)
    all_off = evaluate_masks(embedded, task, np.zeros((1, len(players))), players=players, metric="accuracy",
                             split="test", progress=False)
    assert all_off[0] < clean["accuracy"] - 0.2


def test_fast_path_equals_transformerlens_on_the_real_model(embedded):
    task = tasks.load("capitals:europe", tokenizer=embedded.tokenizer, n_train=12, n_test=12)
    players = layer_players([14, 15, 16], embedded.n_heads)
    masks = sample_masks(2, len(players), seed=0)
    kw = dict(players=players, metric="logprob", progress=False)
    fast = evaluate_masks(embedded, task, masks, backend="fast", **kw)
    plain = evaluate_masks(embedded, task, masks, backend="bridge", **kw)
    np.testing.assert_allclose(fast, plain, atol=1e-4)
    # the same value by hand: TransformerLens hooks, one mask at a time, full logits
    q = task.train[0]
    ids = embedded.tokenizer(q.prompt, return_tensors="pt")["input_ids"]
    choice = task.choice_token_ids(embedded.tokenizer, "train")[0]
    with ablate_heads(embedded, torch.as_tensor(masks[:1]), players=players):
        logits = embedded.bridge(ids)[0, -1, choice]
    one = evaluate_masks(embedded, tasks.Task("one", (q,), ()), masks[:1], **kw)[0]
    assert one == pytest.approx(float(torch.log_softmax(logits, -1)[q.answer]), abs=1e-4)
