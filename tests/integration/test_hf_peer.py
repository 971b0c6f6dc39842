"""The benchmark's hand-written Hugging Face peer computes the engine's values (float32, tiny Llama)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.hf_peer import HFPeer, peer_values
from headspex.engine import evaluate_masks, sample_masks
from hooks import compute_head_means

from tests.conftest import tiny_llama_hf
from tests.helpers import players_of, tiny_task


@pytest.mark.parametrize("ablation", ["zero", "mean"])
@pytest.mark.parametrize("layers", [[0, 1], [3]], ids=["start", "end"])
def test_peer_equals_engine(tiny_llama, ablation, layers):
    hf = tiny_llama_hf()  # a separate copy with the same seeded weights, never bridged
    hf.set_attn_implementation("sdpa")
    peer = HFPeer(hf.eval(), tiny_llama.tokenizer, 4, tiny_llama.n_heads, tiny_llama.d_head, torch.device("cpu"),
                  torch.float32)
    task = tiny_task()
    players = players_of(layers, tiny_llama.n_heads)
    masks = sample_masks(5, len(players), seed=3)
    means = compute_head_means(tiny_llama, [q.prompt for q in task.split("train")]) if ablation == "mean" else None
    engine = evaluate_masks(tiny_llama, task, masks, players=players, ablation=ablation, means=means, metric="margin",
                            split="test", progress=False)
    ours = peer_values(peer, task, masks, players, split="test", metric="margin", mode=ablation, means=means,
                       max_batch_tokens=16)  # several passes
    np.testing.assert_allclose(ours, engine, rtol=0, atol=1e-5)
    assert np.ptp(ours) > 0
