"""fast_forward: equal to Hugging Face's forward, rotary as HF computes it, gradients through head gates."""

from __future__ import annotations

import torch

from headspex.engine import fast_forward as ff
from hooks import tokenize_left_padded

PROMPTS = ["The capital of France is", "Which is the capital of Spain ? Answer :", "Berlin"]


def last_hidden(model, head_fn=None) -> torch.Tensor:
    w = model.weights
    ids, am = tokenize_left_padded(model.tokenizer, PROMPTS)
    prep = ff.prepare(w, am, model.dtype)
    return ff.run_layers(w, ff.embed(w, ids), prep, 0, w.n_layers, head_fn=head_fn, last_only_final=True)[:, -1]


def test_fast_path_equals_hugging_face_logits(tiny_llama):
    w = tiny_llama.weights
    ids, am = tokenize_left_padded(tiny_llama.tokenizer, PROMPTS)
    with torch.inference_mode():
        ref = tiny_llama.hf_model(input_ids=ids, attention_mask=am).logits[:, -1]
        choice = torch.arange(10)[None].expand(len(PROMPTS), -1)
        got = ff.answer_logits(w, last_hidden(tiny_llama), choice)[0]
    torch.testing.assert_close(got, ref[:, :10], rtol=0, atol=1e-5)


def test_rotary_is_hugging_face_rotate_half_bit_for_bit(tiny_llama):
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    w = tiny_llama.weights
    _, am = tokenize_left_padded(tiny_llama.tokenizer, PROMPTS)
    for dtype in (torch.float32, torch.bfloat16):
        prep = ff.prepare(w, am, dtype)
        q = torch.randn(am.shape[0], 4, am.shape[1], 16).to(dtype)  # [b, heads, pos, d_head]
        ref, _ = apply_rotary_pos_emb(q, q, prep.cos, prep.sin)
        got = ff._rope(q.transpose(1, 2), prep.cos[:, :, None], prep.signed_sin()[:, :, None]).transpose(1, 2)
        assert torch.equal(got, ref)


def test_gradients_reach_head_gates_outside_inference_mode(tiny_llama):
    gates = torch.ones(1, tiny_llama.n_layers, tiny_llama.n_heads, requires_grad=True)
    h = last_hidden(tiny_llama, head_fn=lambda z, layer: gates[:, layer][:, None, :, None] * z)
    (grad,) = torch.autograd.grad(h.pow(2).sum(), gates)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
