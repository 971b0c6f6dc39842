"""evaluate_masks: fast path == plain path, deduplication, resumable store, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch
import pytest

import tasks
from headspex.engine import MaskGame, evaluate_masks, sample_masks
from headspex.engine.evaluator import MaskEvaluator
from headspex.engine.store import StoreMismatchError, load_store

from tests.helpers import players_of, tiny_task

ROOT = Path(__file__).resolve().parents[2]
@pytest.mark.parametrize("ablation", ["zero", "mean"])
@pytest.mark.parametrize("layers", [[0, 1], [1, 2], [3]], ids=["start", "middle", "end"])
def test_fast_backend_equals_bridge(tiny_llama, ablation, layers):
    task = tiny_task()
    players = players_of(layers, tiny_llama.n_heads)
    masks = sample_masks(6, len(players), seed=1)
    kw = dict(players=players, ablation=ablation, metric="margin", progress=False)
    fast = evaluate_masks(tiny_llama, task, masks, backend="fast", **kw)
    plain = evaluate_masks(tiny_llama, task, masks, backend="bridge", **kw)
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-4)
    assert np.ptp(fast) > 0  # the masks matter


def test_masks_batched_equal_one_at_a_time(tiny_llama):
    task = tiny_task()
    players = players_of([1, 2], tiny_llama.n_heads)
    masks = sample_masks(5, len(players), seed=2)
    together = evaluate_masks(tiny_llama, task, masks, players=players, progress=False)
    alone = [evaluate_masks(tiny_llama, task, m[None], players=players, progress=False, max_batch_tokens=16)[0]
             for m in masks]
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_gpt2_uses_generic_backend(tiny_gpt2):
    task = tiny_task()
    players = players_of([1], tiny_gpt2.n_heads)
    masks = sample_masks(3, len(players), seed=0)
    assert tiny_gpt2.forward_path == "generic"
    with MaskGame(tiny_gpt2, task, players) as game:
        vals = game(masks)
        assert game.backend == "generic"
    with MaskGame(tiny_gpt2, task, players, backend="bridge") as bridge:  # still selectable: another kernel, same values
        assert bridge.backend == "bridge"
        np.testing.assert_allclose(vals, bridge(masks), rtol=0, atol=1e-5)
    assert vals.shape == (3,) and np.isfinite(vals).all() and np.ptp(vals) > 0
    with pytest.raises(ValueError, match="Llama-family"):
        evaluate_masks(tiny_gpt2, task, np.ones((1, 4)), players=players, backend="fast", progress=False)


def test_all_kept_equals_clean_model(tiny_llama):
    from headspex.engine import evaluate_clean

    task = tiny_task()
    players = players_of([2], tiny_llama.n_heads)
    kept = evaluate_masks(tiny_llama, task, np.ones((1, 4)), players=players, metric="logprob", progress=False)
    clean = evaluate_clean(tiny_llama, task, split="train")
    assert kept[0] == pytest.approx(clean["logprob"], abs=1e-5)


def test_duplicate_masks_are_evaluated_once(tiny_llama, monkeypatch):
    seen = []
    real = MaskEvaluator.scores
    monkeypatch.setattr(MaskEvaluator, "scores", lambda self, m: seen.append(len(m)) or real(self, m))
    players = players_of([3], tiny_llama.n_heads)
    base = sample_masks(3, 4, seed=3)
    masks = np.concatenate([base, base[::-1], base[:1]])
    vals = evaluate_masks(tiny_llama, tiny_task(), masks, players=players, progress=False)
    assert sum(seen) == len(np.unique(base, axis=0))
    np.testing.assert_array_equal(vals[:3], vals[3:6][::-1])


def test_store_resumes_and_refuses_other_configurations(tiny_llama, tmp_path, monkeypatch):
    task = tiny_task()
    players = players_of([2, 3], tiny_llama.n_heads)
    masks = sample_masks(8, len(players), seed=4)
    first = evaluate_masks(tiny_llama, task, masks[:5], players=players, store=tmp_path, progress=False)
    seen = []
    real = MaskEvaluator.scores
    monkeypatch.setattr(MaskEvaluator, "scores", lambda self, m: seen.append(len(m)) or real(self, m))
    again = evaluate_masks(tiny_llama, task, masks, players=players, store=tmp_path, progress=False)
    assert sum(seen) == 3
    np.testing.assert_array_equal(again[:5], first)
    stored_masks, stored = load_store(tmp_path).arrays("logprob")
    assert stored_masks.shape == (8, len(players)) and np.isin(stored, again).all()
    with pytest.raises(StoreMismatchError, match="ablation"):
        evaluate_masks(tiny_llama, task, masks, players=players, store=tmp_path, ablation="mean", progress=False)
    with pytest.raises(StoreMismatchError, match="players"):
        evaluate_masks(tiny_llama, task, masks[:, :4], players=players[:4], store=tmp_path, progress=False)


KILLED_RUN = textwrap.dedent("""
    import os, sys
    import numpy as np
    sys.path.insert(0, {root!r})
    from tests.conftest import tiny_llama_model
    from tests.helpers import tiny_task, players_of
    from headspex.engine import evaluate_masks, sample_masks
    from headspex.engine.store import ValueStore
    real, calls = ValueStore.append, []
    def append(self, masks, scores):
        real(self, masks, scores)
        calls.append(1)
        if len(calls) == 2:  # a hard kill after two chunks, in the middle of writing a third line
            with open(self.path / "values.jsonl", "a") as f:
                f.write('{{"mask": "ff", "accu')
            os._exit(9)
    ValueStore.append = append
    model = tiny_llama_model()
    players = players_of([1, 2], model.n_heads)
    evaluate_masks(model, tiny_task(), sample_masks(12, len(players), seed=5), players=players,
                   store={store!r}, max_batch_tokens=64, progress=False)
""")


def test_resume_after_hard_kill_matches_uninterrupted_run(tiny_llama, tmp_path):
    store = tmp_path / "store"
    code = KILLED_RUN.format(root=str(ROOT), store=str(store))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr[-2000:]
    lines = (store / "values.jsonl").read_text().splitlines()
    finished = [json.loads(line) for line in lines[:-1]]
    assert 0 < len(finished) < 12
    players = players_of([1, 2], tiny_llama.n_heads)
    masks = sample_masks(12, len(players), seed=5)
    resumed = evaluate_masks(tiny_llama, tiny_task(), masks, players=players, store=store, progress=False)
    fresh = evaluate_masks(tiny_llama, tiny_task(), masks, players=players, progress=False)
    np.testing.assert_allclose(resumed, fresh, atol=1e-6)
    assert len(load_store(store)) == 12


@pytest.mark.parametrize(
    ("masks", "players", "match"),
    [(np.ones((2, 3)), [(0, 0), (0, 1)], "n_players=2"),
     (np.full((2, 2), 2), [(0, 0), (0, 1)], "binary"),
     (np.ones((2, 2)), [(0, 0), (9, 1)], "layer"),
     (np.ones((2, 2)), [(0, 0), (0, 7)], "head")],
)
def test_bad_masks_and_players(tiny_llama, masks, players, match):
    with pytest.raises(ValueError, match=match):
        evaluate_masks(tiny_llama, tiny_task(), masks, players=players, progress=False)


def test_bad_metric_and_ablation(tiny_llama):
    p = players_of([0], tiny_llama.n_heads)
    with pytest.raises(ValueError, match="metric"):
        evaluate_masks(tiny_llama, tiny_task(), np.ones((1, 4)), players=p, metric="f1")
    with pytest.raises(ValueError, match="ablation"):
        evaluate_masks(tiny_llama, tiny_task(), np.ones((1, 4)), players=p, ablation="resample")


def test_out_of_memory_halves_the_batch_and_keeps_values(tiny_llama, monkeypatch):
    task = tiny_task()
    players = players_of([1, 2], tiny_llama.n_heads)
    masks = sample_masks(8, len(players), seed=6)
    expected = evaluate_masks(tiny_llama, task, masks, players=players, progress=False)
    real = MaskEvaluator._chunk_logits
    sizes = []

    def flaky(self, chunk, sub):  # pretend memory runs out above 2 masks per pass
        sizes.append(len(sub))
        if len(sub) > 2:
            raise torch.OutOfMemoryError("simulated")
        return real(self, chunk, sub)

    monkeypatch.setattr(MaskEvaluator, "_chunk_logits", flaky)
    got = evaluate_masks(tiny_llama, task, masks, players=players, progress=False, max_batch_tokens=4096)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert max(sizes) > 2 and sizes[-1] <= 2


def test_choice_logits_in_question_order_agree_with_scores(tiny_llama):
    task = tiny_task()
    players = players_of([2], tiny_llama.n_heads)
    ev = MaskEvaluator(tiny_llama, [q.prompt for q in task.train], task.choice_token_ids(tiny_llama.tokenizer, "train"),
                       task.answers("train"), players=players)
    masks = sample_masks(3, len(players), seed=7)
    logits = ev.choice_logits(masks)
    assert logits.shape == (3, len(task.train), task.n_choices)
    by_hand = tasks.mean_scores(logits, task.answers("train"))
    for name, values in ev.scores(masks).items():
        np.testing.assert_allclose(by_hand[name].numpy(), values, atol=1e-9)
