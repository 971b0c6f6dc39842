"""gemma_fast: the plain-PyTorch Gemma 3 forward equals Hugging Face's (the generic path), heads masked or not.

Tiny random Gemma 3 text models: 3 layers (sliding, full, sliding) with a window of 4 tokens, shorter than
the longer prompts so it matters (and one model with a window longer than every prompt, where the sliding
layers share the full mask); 4 query heads over 1 or 2 KV heads; query_pre_attn_scalar != head_dim; random
norm weights (Gemma's norms scale by 1 + w, so zeros would hide a missing 1 +); final logit soft-capping on one.
"""

from __future__ import annotations

import copy

import pytest
import numpy as np
import torch

from headspex.engine import gemma_fast as gf
from headspex.engine.models import wrap_hf_model
from hooks import HeadAblation, tokenize_left_padded
from tests.conftest import tiny_llama_hf, word_tokenizer

PROMPTS = ["Paris", "The capital of France is Paris . Answer : A , which ?", "which is the capital of Spain ?"]
N_LAYERS, N_HEADS, D_HEAD = 3, 4, 16


def tiny_gemma(n_kv_heads: int, softcap: float | None = None, window: int = 4, seed: int = 0):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=N_LAYERS,
                           num_attention_heads=N_HEADS, num_key_value_heads=n_kv_heads, head_dim=D_HEAD,
                           query_pre_attn_scalar=24, sliding_window=window, max_position_embeddings=256, pad_token_id=1,
                           layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                           final_logit_softcapping=softcap)
    hf = Gemma3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn_like(p) * 0.1)
    return hf


@pytest.fixture(scope="module", params=[(1, None, 4), (2, 30.0, 4), (1, None, 64)],
                ids=["kv1", "kv2-softcap", "kv1-window-longer-than-prompts"])
def gemma(request):
    """(hf model, generic-path LoadedModel wrapping a copy of it)."""
    hf = tiny_gemma(*request.param)
    return hf, wrap_hf_model(copy.deepcopy(hf), word_tokenizer())


def test_extract_gemma_weights_refuses_other_architectures():
    assert gf.extract_gemma_weights(tiny_llama_hf()) is None


def test_wrapped_model_takes_the_gemma_fast_path_and_keeps_the_generic_one(gemma):
    _, model = gemma
    assert model.forward_path == "fast" and isinstance(model.weights, gf.GemmaWeights)
    assert model.generic is not None and not model.bridge.booted  # the HF modules stay unwrapped


def test_the_engine_on_both_backends_agrees(gemma):
    from headspex.engine import evaluate_masks, sample_masks
    from tests.helpers import players_of, tiny_task

    _, model = gemma
    task, players = tiny_task(), players_of([1, 2], model.n_heads)
    masks = sample_masks(5, len(players), seed=4)
    for ablation in ("zero", "mean"):
        kw = dict(players=players, ablation=ablation, metric="margin", progress=False)
        fast = evaluate_masks(model, task, masks, **kw)
        generic = evaluate_masks(model, task, masks, backend="generic", **kw)
        np.testing.assert_allclose(fast, generic, rtol=0, atol=1e-5)
        assert np.ptp(fast) > 0


def test_hidden_states_of_real_positions_equal_hugging_face(gemma):
    hf, model = gemma
    w = gf.extract_gemma_weights(hf)
    ids, am = tokenize_left_padded(model.tokenizer, PROMPTS)
    assert am.sum(1).min() < 4 < am.sum(1).max()  # padding, and prompts longer than the window
    real = am.bool()
    with torch.inference_mode():
        pos = (am.long().cumsum(-1) - 1).clamp(min=0)
        ref = hf(input_ids=ids, attention_mask=am, position_ids=pos, output_hidden_states=True).hidden_states
        prep = gf.prepare(w, am, torch.float32)
        h = gf.embed(w, ids)
        torch.testing.assert_close(h[real], ref[0][real], rtol=0, atol=1e-6)
        for layer in range(N_LAYERS):
            h = gf.run_layers(w, h, prep, layer, layer + 1)
            # Hugging Face's last hidden state is after the final norm
            got = hf.model.norm(h) if layer == N_LAYERS - 1 else h
            torch.testing.assert_close(got[real], ref[layer + 1][real], rtol=0, atol=1e-5)


@pytest.mark.parametrize("mode", ["zero", "mean"])
@pytest.mark.parametrize("start", [0, 1, 2])
def test_masked_answer_logits_equal_generic_path(gemma, mode, start):
    hf, model = gemma
    w = gf.extract_gemma_weights(hf)
    gen = torch.Generator().manual_seed(start)
    players = [(layer, head) for layer in range(start, N_LAYERS) for head in range(N_HEADS)]
    masks = (torch.rand(4, len(players), generator=gen) < 0.5).float()
    masks[0] = 1.0  # one intact model among the masks
    means = torch.randn(N_LAYERS, N_HEADS, D_HEAD, generator=gen)
    ids, am = tokenize_left_padded(model.tokenizer, PROMPTS)
    choice = torch.randint(0, 512, (len(PROMPTS), 5), generator=gen)
    m, n_q = len(masks), len(PROMPTS)
    ablation = HeadAblation(masks.repeat_interleave(n_q, 0), n_layers=N_LAYERS, n_heads=N_HEADS, players=players,
                            mode=mode, means=means if mode == "mean" else None)
    with torch.inference_mode():
        ref = model.generic.answer_logits(ids.repeat(m, 1), am.repeat(m, 1), choice.repeat(m, 1),
                                          head_fn=ablation.apply, layers=ablation.ablated_layers()).view(m, n_q, -1)
        # as the evaluator does: the prefix below the first analysed layer once, then every mask from there
        prep = gf.prepare(w, am, torch.float32)
        prefix = gf.run_layers(w, gf.embed(w, ids), prep, 0, start)
        h = gf.run_layers(w, prefix.repeat(m, 1, 1), prep.repeat(m), start, N_LAYERS, head_fn=ablation.apply,
                          last_only_final=True)
        assert h.shape[1] == 1
        got = gf.answer_logits(w, h[:, -1], choice)
    assert got.dtype == torch.float32 and got.shape == (m, n_q, choice.shape[1])
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-5)
    assert (got[1:] - got[:1]).abs().max() > 1e-3  # the masks do change the logits


def test_sliding_window_matters_in_this_setup(gemma):
    """Without the window on sliding layers the longest prompt's logits differ: the test above checks it."""
    hf, model = gemma
    if hf.config.sliding_window > 4:
        pytest.skip("the window is longer than the prompts here")
    w = gf.extract_gemma_weights(hf)
    ids, am = tokenize_left_padded(model.tokenizer, PROMPTS)
    choice = torch.arange(8)[None].expand(len(PROMPTS), -1)
    with torch.inference_mode():
        prep = gf.prepare(w, am, torch.float32)
        windowed = gf.answer_logits(w, gf.run_layers(w, gf.embed(w, ids), prep, 0, N_LAYERS)[:, -1], choice)
        prep.allowed["sliding_attention"] = prep.allowed["full_attention"]
        unwindowed = gf.answer_logits(w, gf.run_layers(w, gf.embed(w, ids), prep, 0, N_LAYERS)[:, -1], choice)
    assert (windowed - unwindowed).abs().max() > 1e-3


def test_gradients_reach_head_gates_outside_inference_mode(gemma):
    hf, model = gemma
    w = gf.extract_gemma_weights(hf)
    ids, am = tokenize_left_padded(model.tokenizer, PROMPTS)
    gates = torch.ones(N_LAYERS, N_HEADS, requires_grad=True)
    prep = gf.prepare(w, am, torch.float32)
    h = gf.run_layers(w, gf.embed(w, ids), prep, 0, N_LAYERS, head_fn=lambda z, layer: gates[layer][:, None] * z,
                      last_only_final=True)
    (grad,) = torch.autograd.grad(h.pow(2).sum(), gates)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
