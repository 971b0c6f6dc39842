"""Identity is what produced the number: a store resumes only for the same weights, prompts and dtype; a
checkpoint overwritten in place, other prompts under the same question ids or another dtype are refused."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import tasks
from headspex.engine.fingerprint import prompts_fingerprint, score_key, weights_fingerprint
from headspex.engine.game import MaskGame
from headspex.engine.models import load_model
from headspex.engine.sampling import sample_masks
from headspex.errors import StoredDataError
from tests.conftest import save_tiny_llama, tiny_llama_hf, tiny_llama_model
from tests.helpers import players_of, tiny_task

ROOT = Path(__file__).resolve().parents[2]


def play(model, task, store: Path, **kw) -> tuple[np.ndarray, int]:
    """(values of 4 fixed masks, masks sent through the model) of a game on ``store``."""
    players = players_of([1], model.n_heads)
    with MaskGame(model, task, players, store=store, **kw) as game:
        return game(sample_masks(4, len(players), seed=7)), game.n_evaluated


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    """The tiny random Llama saved as a checkpoint directory."""
    return save_tiny_llama(tmp_path / "ckpt")


def load(path: Path, dtype: str = "float32"):
    return load_model(str(path), dtype=dtype, device="cpu")


def test_same_model_and_task_resume_without_evaluating(tiny_llama, tmp_path):
    task = tiny_task()
    first, n_first = play(tiny_llama, task, tmp_path)
    again, n_again = play(tiny_llama_model(), tiny_task(), tmp_path)  # rebuilt: same weights, same prompts
    assert n_first == 4 and n_again == 0
    np.testing.assert_array_equal(again, first)
    identity = json.loads((tmp_path / "config.json").read_text())["identity"]
    assert identity["weights"]["kind"] == "parameters" and not identity["weights"]["sampled"]
    assert identity["prompts"] == prompts_fingerprint(task, "train") != prompts_fingerprint(task, "test")
    assert score_key(tiny_llama, task, "train", ablation="zero") == score_key(tiny_llama_model(), task, "train",
                                                                             ablation="zero")


def test_weights_changed_in_memory_are_refused(tmp_path):
    model, task = tiny_llama_model(), tiny_task()
    play(model, task, tmp_path)
    key = score_key(model, task, "train")
    with torch.no_grad():
        next(model.hf_model.parameters()).view(-1)[5] += 1e-3  # one weight, in place
    with pytest.raises(StoredDataError, match=r"the model's weights changed \(the parameters' content hash differs\)"):
        play(model, task, tmp_path)
    assert score_key(model, task, "train") != key


def test_checkpoint_overwritten_in_place_is_refused(checkpoint, tmp_path):
    task = tiny_task()
    first, _ = play(load(checkpoint), task, tmp_path / "store")
    for f in checkpoint.iterdir():  # touched, same bytes (copied back, a new mtime): still the same weights
        f.write_bytes(f.read_bytes())
        os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    again, n_again = play(load(checkpoint), task, tmp_path / "store")
    assert n_again == 0
    np.testing.assert_array_equal(again, first)
    tiny_llama_hf(seed=1).save_pretrained(checkpoint)  # other weights, same file names and sizes
    with pytest.raises(StoredDataError, match=r"the model's weights changed \(file model\.safetensors: hash differs\)"
                                              r".*Use another --out .*or delete .*store to start over"):
        play(load(checkpoint), task, tmp_path / "store")
    weights = weights_fingerprint(load(checkpoint))["files"]
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(weights)
    assert len(weights["model.safetensors"]["sha256"]) == 64


def test_dtype_changed_is_refused(checkpoint, tmp_path):
    play(load(checkpoint), tiny_task(), tmp_path)
    only_dtype = r'configuration: dtype: stored "float32" vs now "bfloat16"\. Use another'
    with pytest.raises(StoredDataError, match=only_dtype):
        play(load(checkpoint, "bfloat16"), tiny_task(), tmp_path)  # the same files: only the dtype is named


def test_prompts_changed_under_the_same_ids_are_refused(tiny_llama, tmp_path):
    task = tiny_task()
    play(tiny_llama, task, tmp_path / "train")
    play(tiny_llama, task, tmp_path / "test", split="test")
    reworded = [dataclasses.replace(q, prompt="Question : " + q.prompt) for q in task.test]
    other = tasks.Task(task.name, task.train, tuple(reworded), dict(task.info))  # same ids, same options
    assert [q.id for q in other.test] == [q.id for q in task.test]
    assert play(tiny_llama, other, tmp_path / "train")[1] == 0  # the train split did not change
    with pytest.raises(StoredDataError, match=r"configuration: the prompts changed \(the questions' prompt text, "
                                              r"choices or answers differ\)\. Use another"):
        play(tiny_llama, other, tmp_path / "test", split="test")


def test_store_of_an_older_headspex_is_refused_naming_the_new_fields(tiny_llama, tmp_path):
    play(tiny_llama, tiny_task(), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    for field in ("weights", "prompts"):
        del config["identity"][field]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(StoredDataError, match=r"stored without fields weights, prompts \(made by an older headspex\)"):
        play(tiny_llama, tiny_task(), tmp_path)


GAME_LEFT_OPEN = textwrap.dedent("""
    import gc, sys
    sys.path.insert(0, {root!r})
    import headspex.engine.lock as lock_module
    from headspex.engine.game import MaskGame
    from tests.conftest import tiny_llama_model
    from tests.helpers import players_of, tiny_task
    model = tiny_llama_model()
    game = MaskGame(model, tiny_task(), players_of([1], model.n_heads), store={store!r})  # never closed
    vars(lock_module).update({{k: None for k in vars(lock_module) if not k.startswith("__")}})  # as exit does
    del game
    gc.collect()
""")


def test_game_left_open_at_exit_prints_nothing(tmp_path):
    code = GAME_LEFT_OPEN.format(root=str(ROOT), store=str(tmp_path / "store"))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Exception ignored" not in proc.stderr, proc.stderr[-2000:]
