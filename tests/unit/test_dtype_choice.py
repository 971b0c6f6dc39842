"""dtype="auto": the choice follows the measured probe and the CPU's bf16 units (both mocked here), an agreement
check can veto a low-precision choice, and the one line says why."""

from __future__ import annotations

import pytest
import torch

from headspex.engine import dtype_choice as dc


def probe(bf16_over_fp32: float):
    return lambda dtype: 0.1 * (bf16_over_fp32 if dtype == "bfloat16" else 1.0)


def test_an_avx2_cpu_trains_in_float32_and_says_how_much_slower_bfloat16_is():
    choice = dc.choose_dtype("cpu", probe=probe(8.5), capability="AVX2", units=False)
    assert choice.dtype == "float32" and choice.requested == "auto"
    assert choice.bf16_slowdown == pytest.approx(8.5)
    assert choice.line() == "training masks in float32: bfloat16 is 8.5x slower on this CPU (AVX2, no bf16 units)"


def test_a_cpu_with_bf16_units_keeps_bfloat16_as_before():
    choice = dc.choose_dtype("cpu", probe=probe(0.25), capability="AVX512", units=True)
    assert choice.dtype == "bfloat16"
    assert "4.0x faster" in choice.line() and "with bf16 units" in choice.line()


def test_bf16_units_that_measure_slower_than_float32_are_not_trusted():
    assert dc.choose_dtype("cpu", probe=probe(1.3), capability="AVX512", units=True).dtype == "float32"


def test_without_units_a_near_tie_stays_in_exact_float32():
    choice = dc.choose_dtype("cpu", probe=probe(0.9), capability="AVX2", units=False)
    assert choice.dtype == "float32" and "only 1.11x faster" in choice.reason
    assert dc.choose_dtype("cpu", probe=probe(0.5), capability="AVX2", units=False).dtype == "bfloat16"


def test_cuda_follows_the_devices_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert dc.choose_dtype("cuda").dtype == "bfloat16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert dc.choose_dtype("cuda").dtype == "float32"


def test_answers_that_disagree_with_float32_veto_bfloat16():
    fast = dc.choose_dtype("cpu", probe=probe(0.25), capability="AVX512", units=True)
    kept = dc.with_agreement(fast, 0.97)
    assert kept.dtype == "bfloat16" and kept.agreement == 0.97
    vetoed = dc.with_agreement(fast, 0.8)
    assert vetoed.dtype == "float32" and "80%" in vetoed.reason
    assert vetoed.to_dict()["agreement"] == 0.8


def test_the_slowdown_line_names_a_much_slower_dtype_only():
    here = dc.choose_dtype("cpu", probe=probe(8.5), capability="AVX2", units=False)
    assert "bfloat16 is 8.5x slower than float32" in dc.slowdown_line("bfloat16", here)
    assert dc.slowdown_line("float32", here) is None
    mild = dc.choose_dtype("cpu", probe=probe(1.5), capability="AVX2", units=False)
    assert dc.slowdown_line("bfloat16", mild) is None  # under the factor of 2


def test_the_real_probe_measures_both_candidates():
    seconds = dc.probe_seconds("float32", width=64, rows=16, repeats=2)
    assert 0 < seconds < 5
    choice = dc.choose_dtype("cpu")
    assert set(choice.seconds) == {"float32", "bfloat16"} and choice.capability == dc.cpu_capability()
    assert choice.dtype in ("float32", "bfloat16") and choice.bf16_units == dc.bf16_units()


def test_an_explicit_dtype_is_obeyed_and_recorded():
    rec = dc.explicit("bfloat16", "cpu")
    assert rec.dtype == "bfloat16" and rec.requested == "bfloat16" and rec.seconds == {}
