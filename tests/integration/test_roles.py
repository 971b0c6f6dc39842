"""head_roles on tiny random Llama and GPT-2 models: shape, range, determinism, the eager kernel restored, and
heads with a planted attention pattern (previous token, induction) found with exact scores end to end."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest
import torch

from headspex.errors import InputError
from headspex.roles import head_roles
from headspex.roles.attention import attention_slots
from tasks.ioi import NAMES, OBJECTS, PLACES, TEMPLATES
from tests.conftest import tiny_gpt2_model, tiny_llama_model, word_tokenizer

COLUMNS = ["layer", "head", "previous_token", "induction", "duplicate_token", "ioi_io", "ioi_subject"]
SIZES = dict(n_sequences=4, seq_len=6, n_ioi=6, batch_size=3)
MODULES = {"llama": "transformers.models.llama.modeling_llama", "gpt2": "transformers.models.gpt2.modeling_gpt2"}


def ioi_tokenizer():
    """The tiny models' word tokenizer plus every IOI name and template word: names are single tokens."""
    words = {w for t in TEMPLATES for w in re.findall(r"[A-Za-z]+", t) if w not in ("A", "B", "S")}
    return word_tokenizer(extra_words=[*NAMES, *sorted(words), *PLACES, *OBJECTS])


@pytest.fixture(scope="module")
def models():
    tok = ioi_tokenizer()
    return {"llama": tiny_llama_model(tokenizer=tok), "gpt2": tiny_gpt2_model(tokenizer=tok)}


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_shape_range_and_determinism(models, kind):
    model = models[kind]
    before = model.hf_model.config._attn_implementation
    frame = head_roles(model, **SIZES)
    assert list(frame.columns) == COLUMNS and len(frame) == model.n_layers * model.n_heads
    assert frame["layer"].tolist() == [layer for layer in range(model.n_layers) for _ in range(model.n_heads)]
    assert frame["head"].tolist() == list(range(model.n_heads)) * model.n_layers
    scores = frame[COLUMNS[2:]].to_numpy()
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1 + 1e-6).all()
    assert (frame["ioi_io"] + frame["ioi_subject"] <= 1 + 1e-6).all()
    assert frame.attrs["n_ioi_used"] == 6 and frame.attrs["n_ioi_skipped"] == 0
    assert frame.attrs["protocol"]["seq_len"] == 6 and frame.attrs["prefix_tokens"] == 0
    assert model.hf_model.config._attn_implementation == before  # the kernel setting is restored
    again = head_roles(model, **SIZES)
    assert frame.equals(again)
    other = head_roles(model, **{**SIZES, "seed": 1})
    assert not np.allclose(other[COLUMNS[2:]].to_numpy(), scores)


def _shift(pos: int, by: int) -> torch.Tensor:
    """[pos, pos]: row q attends to q - by (the second half only for by < pos // 2; others attend to themselves)."""
    rows = torch.arange(pos)
    keys = torch.where(rows >= by if by == 1 else rows >= pos // 2, rows - by, rows)
    return torch.nn.functional.one_hot(keys, pos).float()


def _plant(weights: torch.Tensor, layer: int, last: int) -> torch.Tensor:
    """L1H2 attends to the previous token; L{last}H0 is an induction head (second copy -> after its first copy)."""
    weights, pos = weights.clone(), weights.shape[-1]
    if layer == 1:
        weights[:, 2] = _shift(pos, 1)
    if layer == last:
        weights[:, 0] = _shift(pos, pos // 2 - 1)
    return weights


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_planted_heads_are_found_exactly(models, kind, monkeypatch):
    """The pattern is planted inside the model: GPT-2 through Hugging Face's eager kernel, the Llama (whose
    attention the TransformerLens bridge computes) at the bridge's hook_pattern; either way the planted weights
    also drive the attention output."""
    model = models[kind]
    last = model.n_layers - 1
    handles = []
    if kind == "gpt2":
        module = importlib.import_module(MODULES[kind])
        original = module.eager_attention_forward

        def planted(attn, *args, **kwargs):
            out, weights = original(attn, *args, **kwargs)
            return out, _plant(weights, attn.layer_idx, last)

        monkeypatch.setattr(module, "eager_attention_forward", planted)
    else:
        for layer, slot in enumerate(attention_slots(model.hf_model)):
            handles.append(slot.hook_pattern.register_forward_hook(
                lambda _m, _i, out, layer=layer: _plant(out, layer, last)))
    try:
        frame = head_roles(model, n_sequences=3, seq_len=5, n_ioi=4, batch_size=2).set_index(["layer", "head"])
    finally:
        for handle in handles:
            handle.remove()
    prev, ind = frame.loc[(1, 2)], frame.loc[(last, 0)]
    assert (prev.previous_token, prev.induction, prev.duplicate_token) == (1.0, 0.0, 0.0)
    assert (ind.previous_token, ind.induction, ind.duplicate_token) == (0.0, 1.0, 0.0)
    assert prev.ioi_io == 0.0 and prev.ioi_subject == 0.0  # the token before the last is never a name
    assert frame["previous_token"].idxmax() == (1, 2) and frame["induction"].idxmax() == (last, 0)


def test_ioi_needs_single_token_names_and_can_be_skipped(tiny_llama):
    with pytest.raises(InputError, match="n_ioi=0"):
        head_roles(tiny_llama, n_sequences=2, seq_len=4, n_ioi=3)
    frame = head_roles(tiny_llama, n_sequences=2, seq_len=4, n_ioi=0)
    assert frame[["ioi_io", "ioi_subject"]].isna().all().all()
    assert frame["previous_token"].notna().all() and frame.attrs["n_ioi_used"] == 0


def test_bad_sizes_and_a_restored_kernel_after_an_error(tiny_gpt2):
    config = tiny_gpt2.hf_model.config
    before = config._attn_implementation
    config._attn_implementation = "sdpa"
    try:
        with pytest.raises(InputError, match="seq_len"):
            head_roles(tiny_gpt2, seq_len=1)
        with pytest.raises(InputError, match="distinct ordinary tokens"):
            head_roles(tiny_gpt2, seq_len=100, n_ioi=0)  # the word tokenizer has fewer ordinary tokens
        assert config._attn_implementation == "sdpa"  # restored after the error inside the eager block
        head_roles(tiny_gpt2, n_sequences=1, seq_len=3, n_ioi=0)
        assert config._attn_implementation == "sdpa"
    finally:
        config._attn_implementation = before


def test_gemma3_sliding_layers_see_no_earlier_copy():
    """A tiny Gemma 3 (generic path, sliding window 4 on layers 0 and 2): its eager patterns carry the window, so a
    copy 6 tokens back gets exactly no attention there, and the full-attention layer does see it."""
    from headspex.engine import wrap_hf_model
    from tests.integration.test_gemma_fast import tiny_gemma

    model = wrap_hf_model(tiny_gemma(1), ioi_tokenizer(), name="tiny-gemma3")
    frame = head_roles(model, **SIZES)
    assert list(frame.columns) == COLUMNS and len(frame) == 3 * 4
    scores = frame[COLUMNS[2:]].to_numpy()
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1 + 1e-6).all()
    sliding = frame[frame["layer"] != 1]
    assert (sliding["induction"] == 0).all() and (sliding["duplicate_token"] == 0).all()
    assert (frame.loc[frame["layer"] == 1, "duplicate_token"] > 0).all()


def test_the_bridge_pattern_on_llama_is_hugging_face_eager():
    """On a Llama-family model the bridge computes attention itself: its pattern equals an unbridged copy's eager
    one."""
    from headspex.roles.attention import attention_patterns, eager_attention
    from tests.conftest import tiny_llama_hf

    model, plain = tiny_llama_model(), tiny_llama_hf().eval()  # same seed, same weights
    plain.config._attn_implementation = "eager"
    ids = torch.randint(2, 40, (2, 9), generator=torch.Generator().manual_seed(0))
    with eager_attention(model.hf_model):
        got = attention_patterns(model, ids)
    with torch.no_grad():
        want = torch.stack(plain(input_ids=ids, output_attentions=True).attentions, dim=1)
    torch.testing.assert_close(got, want)
