"""Head-ablation hooks on tiny random models: exactness, batching, cleanup and input errors."""

from __future__ import annotations

import pytest
import torch

from hooks import HeadAblation, ablate_heads, compute_head_means, full_keep_mask, tokenize_left_padded

PROMPTS = ["The capital of France is", "The capital of Italy is Rome .", "Answer :", "which question is the following"]


def _run(model, ids, am, **kw):
    """Full logits: through the HF model itself on the generic path (where ablate_heads hooks), else the bridge."""
    with torch.no_grad():
        if getattr(model, "generic", None) is not None:
            pos = (am.long().cumsum(-1) - 1).clamp(min=0)
            return model.hf_model(input_ids=ids, attention_mask=am, position_ids=pos, **kw).logits
        return model.bridge(ids, attention_mask=am, **kw)


def _inputs(model, prompts=PROMPTS):
    return tokenize_left_padded(model.tokenizer, prompts)


def _random_keep(model, batch, seed=0, p=0.6):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, model.n_layers, model.n_heads, generator=g) < p).float()


@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_batched_masks_equal_rows_run_alone(tiny_model, mode):
    ids, am = _inputs(tiny_model)
    keep = _random_keep(tiny_model, len(PROMPTS))
    means = compute_head_means(tiny_model, PROMPTS) if mode == "mean" else None
    with ablate_heads(tiny_model, keep, mode=mode, means=means):
        batched = _run(tiny_model, ids, am)[:, -1]
    for b in range(len(PROMPTS)):
        with ablate_heads(tiny_model, keep[b:b + 1], mode=mode, means=means):
            alone = _run(tiny_model, ids[b:b + 1], am[b:b + 1])[:, -1]
        torch.testing.assert_close(batched[b:b + 1], alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(batched, _run(tiny_model, ids, am)[:, -1]), "the masks changed nothing"


def test_all_ones_mask_is_clean_model(tiny_model):
    ids, am = _inputs(tiny_model)
    clean = _run(tiny_model, ids, am)
    with ablate_heads(tiny_model, torch.ones(len(PROMPTS), tiny_model.n_layers, tiny_model.n_heads)):
        ones = _run(tiny_model, ids, am)
    torch.testing.assert_close(ones, clean, atol=0, rtol=0)


def test_zeroing_one_head_equals_manual_hook(tiny_model):
    ids, am = _inputs(tiny_model)
    layer, head = 1, 2
    keep = torch.ones(len(PROMPTS), tiny_model.n_layers, tiny_model.n_heads)
    keep[:, layer, head] = 0

    def by_hand(z, hook):
        z = z.clone()
        z[:, :, head, :] = 0.0
        return z

    with torch.no_grad():
        manual = tiny_model.bridge.run_with_hooks(ids, attention_mask=am, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", by_hand)])
    with ablate_heads(tiny_model, keep):
        ours = _run(tiny_model, ids, am)
    real = am.bool()  # padding positions mean nothing (and differ between the bridge and plain HF)
    torch.testing.assert_close(ours[real], manual[real], atol=1e-6, rtol=1e-6)
    assert (ours - _run(tiny_model, ids, am)).abs().max() > 1e-4


def test_players_form_equals_full_form(tiny_llama):
    ids, am = _inputs(tiny_llama)
    players = [(1, 0), (1, 3), (2, 1)]
    part = torch.tensor([[0, 1, 0], [1, 1, 1], [0, 0, 0], [1, 0, 1]])
    full = full_keep_mask(part, n_layers=tiny_llama.n_layers, n_heads=tiny_llama.n_heads, players=players)
    assert full.shape == (4, tiny_llama.n_layers, tiny_llama.n_heads)
    assert full.sum() == 4 * 16 - 6
    with ablate_heads(tiny_llama, part, players=players):
        a = _run(tiny_llama, ids, am)
    with ablate_heads(tiny_llama, full):
        b = _run(tiny_llama, ids, am)
    torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_mean_ablation_replaces_head_output_by_reference_mean(tiny_llama):
    ids, am = _inputs(tiny_llama)
    means = compute_head_means(tiny_llama, PROMPTS)
    layer, head = 2, 1
    # the mean is over all non-pad tokens: recompute it by hand
    seen = {}
    with torch.no_grad():
        tiny_llama.bridge.run_with_hooks(ids, attention_mask=am,
                                         fwd_hooks=[(f"blocks.{layer}.attn.hook_z", lambda z, hook: seen.setdefault("z", z.clone()))])
    z = seen["z"][:, :, head][am.bool()]
    torch.testing.assert_close(means[layer, head], z.mean(0).float(), atol=1e-5, rtol=1e-5)
    keep = torch.ones(len(PROMPTS), tiny_llama.n_layers, tiny_llama.n_heads)
    keep[:, layer, head] = 0
    out = {}
    with ablate_heads(tiny_llama, keep, mode="mean", means=means):
        with torch.no_grad():
            tiny_llama.bridge.run_with_hooks(ids, attention_mask=am,
                                             fwd_hooks=[(f"blocks.{layer}.attn.o.hook_in", lambda z, hook: out.setdefault("z", z.clone()))])
    ablated = out["z"][:, :, head]
    torch.testing.assert_close(ablated, means[layer, head].expand_as(ablated), atol=1e-6, rtol=0)
    torch.testing.assert_close(out["z"][:, :, head - 1], seen["z"][:, :, head - 1], atol=1e-6, rtol=0)


def _n_hooks(bridge):
    return sum(len(hp.fwd_hooks) for hp in set(bridge.hook_dict.values()))


def test_hooks_removed_after_exit_and_after_error(tiny_llama):
    keep = _random_keep(tiny_llama, 2, p=0.3)
    before = _n_hooks(tiny_llama.bridge)
    with ablate_heads(tiny_llama, keep):
        assert _n_hooks(tiny_llama.bridge) > before
    assert _n_hooks(tiny_llama.bridge) == before
    with pytest.raises(RuntimeError, match="boom"):
        with ablate_heads(tiny_llama, keep):
            raise RuntimeError("boom")
    assert _n_hooks(tiny_llama.bridge) == before
    ids, am = _inputs(tiny_llama)  # batch 4 against a mask batch of 2: error inside the forward pass
    with pytest.raises(ValueError, match="mask batch"):
        with ablate_heads(tiny_llama, keep):
            _run(tiny_llama, ids, am)
    assert _n_hooks(tiny_llama.bridge) == before


@pytest.mark.parametrize(
    "masks, kwargs, match",
    [
        (torch.ones(2, 4, 3), {}, r"shape \[batch, n_layers=4, n_heads=4\]"),
        (torch.ones(2, 4), {}, r"shape \[batch, n_layers=4"),
        (torch.full((2, 4, 4), 0.5), {}, "binary"),
        (torch.ones(2, 2), {"players": [(0, 0), (9, 0)]}, "outside the model"),
        (torch.ones(2, 2), {"players": [(0, 0), (0, 4)]}, "outside the model"),
        (torch.ones(2, 3), {"players": [(0, 0), (0, 1)]}, r"n_players=2"),
        (torch.ones(2, 2), {"players": [(0, 0), (0, 0)]}, "distinct"),
        (torch.ones(2, 4, 4), {"mode": "mean"}, "needs means"),
        (torch.ones(2, 4, 4), {"mode": "half"}, "mode must be one of"),
    ],
)
def test_bad_inputs_raise_clear_errors(tiny_llama, masks, kwargs, match):
    with pytest.raises(ValueError, match=match):
        HeadAblation(masks, n_layers=tiny_llama.n_layers, n_heads=tiny_llama.n_heads, **kwargs)


def test_plain_hook_list_for_run_with_hooks(tiny_llama):
    ids, am = _inputs(tiny_llama)
    keep = _random_keep(tiny_llama, len(PROMPTS), seed=3)
    ab = HeadAblation(keep, n_layers=tiny_llama.n_layers, n_heads=tiny_llama.n_heads)
    names = [name for name, _ in ab.fwd_hooks()]
    assert names == [f"blocks.{l}.attn.hook_z" for l in ab.ablated_layers()]
    with torch.no_grad():
        a = tiny_llama.bridge.run_with_hooks(ids, attention_mask=am, fwd_hooks=ab.fwd_hooks())
    with ablate_heads(tiny_llama, keep):
        b = _run(tiny_llama, ids, am)
    torch.testing.assert_close(a, b, atol=0, rtol=0)
