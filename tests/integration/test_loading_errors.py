"""Model loading refuses bad input in one line of a project error type, before anything heavy runs.

A device this machine lacks, a path-like spec with nothing at it, a checkpoint directory with a broken
config.json, no weights, damaged weights or a broken tokenizer file, and prompts longer than the model's
context (`LoadedModel.context_length` passed to `tasks.load(..., max_tokens=)`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import tasks
from headspex.engine import models
from headspex.engine.models import ModelNotAvailableError, load_model, wrap_hf_model
from headspex.errors import InputError, MissingResourceError
from tests.conftest import save_tiny_llama, tiny_llama_hf, word_tokenizer


@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory) -> Path:
    """A tiny Llama checkpoint directory (config.json, model.safetensors, tokenizer files)."""
    return save_tiny_llama(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture()
def checkpoint(saved_tiny, tmp_path) -> Path:
    """A fresh copy of the tiny checkpoint, for a test to break."""
    return Path(shutil.copytree(saved_tiny, tmp_path / "tiny"))


def _no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_a, **_k):
        raise AssertionError("weights were loaded before the device was checked")

    monkeypatch.setattr(models, "_load_weights", fail)


def test_intact_checkpoint_loads_and_reports_its_context_length(checkpoint):
    model = load_model(str(checkpoint), device="cpu", dtype="float32")
    assert model.source == "local" and model.context_length == 256


def test_cuda_without_cuda_is_one_line_before_anything_loads(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _no_loading(monkeypatch)
    with pytest.raises(MissingResourceError) as err:
        load_model("smollm2", device="cuda")
    msg = str(err.value)
    assert "CUDA was requested (--device cuda)" in msg and "torch.cuda.is_available() is False" in msg
    assert f"torch {torch.__version__}" in msg and msg.endswith("use --device cpu") and "\n" not in msg


def test_missing_cuda_index_and_unknown_device_names(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    _no_loading(monkeypatch)
    with pytest.raises(MissingResourceError, match=r"cuda:3 was requested .* has 1 CUDA device\(s\), cuda:0\.\.cuda:0"):
        load_model("smollm2", device="cuda:3")
    with pytest.raises(InputError, match="device must be cpu, cuda, cuda:N or mps; got 'gpu'"):
        load_model("smollm2", device="gpu")


@pytest.mark.parametrize("spec", ["models/x", "./x", "a/b/c", "~/no-such-headspex-model", "x.gguf", "x.safetensors"])
def test_path_like_spec_with_nothing_there_is_not_taken_for_a_hub_id(spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    with pytest.raises(InputError) as err:
        load_model(spec, device="cpu")
    resolved = Path(spec).expanduser().absolute()
    assert str(err.value).startswith(f"no model directory or file at {spec} (resolved to {resolved});")


def test_one_slash_spec_is_still_a_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingResourceError, match="no-such-org/no-such-model is not in the local Hugging Face") as err:
        load_model("no-such-org/no-such-model", device="cpu")
    assert err.type is ModelNotAvailableError


def test_broken_config_json_names_the_directory_and_the_line(checkpoint):
    text = (checkpoint / "config.json").read_text()
    (checkpoint / "config.json").write_text(text.replace('"hidden_size": 64,', '"hidden_size": 64,,', 1))
    line = text.splitlines().index(next(ln for ln in text.splitlines() if '"hidden_size"' in ln)) + 1
    with pytest.raises(InputError) as err:
        load_model(str(checkpoint), device="cpu")
    msg = str(err.value)
    assert msg.startswith(f"config.json in {checkpoint} is not valid JSON (line {line},") and "\n" not in msg


def test_checkpoint_without_weights_or_config_or_tokenizer(checkpoint):
    (checkpoint / "model.safetensors").unlink()
    with pytest.raises(InputError, match=r"^no weights \(\*\.safetensors, \*\.bin, \*\.gguf\) in " + str(checkpoint)):
        load_model(str(checkpoint), device="cpu")
    (checkpoint / "x.gguf").write_bytes(b"")
    with pytest.raises(InputError, match=r"no Hugging Face weights .* it holds x\.gguf: pass that file itself"):
        load_model(str(checkpoint), device="cpu")
    (checkpoint / "config.json").unlink()
    with pytest.raises(InputError, match=f"^no config.json in the model directory {checkpoint};"):
        load_model(str(checkpoint), device="cpu")


def test_checkpoint_without_tokenizer(checkpoint):
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (checkpoint / name).unlink()
    with pytest.raises(InputError, match=f"^no tokenizer .* in {checkpoint}; save it beside the weights"):
        load_model(str(checkpoint), device="cpu")


def test_damaged_weights_and_tokenizer_files_are_named(checkpoint, saved_tiny):
    (checkpoint / "tokenizer.json").write_text('{"version": "1.0",, }')
    with pytest.raises(InputError, match=f"^tokenizer.json in {checkpoint} is not valid JSON \\(line 1, column 19"):
        load_model(str(checkpoint), device="cpu")
    shutil.copy(saved_tiny / "tokenizer.json", checkpoint / "tokenizer.json")
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(InputError, match=f"^a weight file in {checkpoint} cannot be read"):
        load_model(str(checkpoint), device="cpu")


def test_prompt_longer_than_the_context_is_refused_when_the_task_loads(tmp_path):
    model = wrap_hf_model(tiny_llama_hf(), word_tokenizer(), name="tiny-llama")  # conftest's tiny_llama_model()
    assert model.context_length == 256
    lines = [{"prompt": f"The capital of {c} is", "choices": [" Paris", " Rome"], "answer": 0, "id": c}
             for c in ("France", "Spain", "Italy")]
    lines.append({"prompt": " ".join(["Paris"] * 300), "choices": [" Paris", " Rome"], "answer": 0, "id": "long/7"})
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(InputError) as err:
        tasks.load(str(path), tokenizer=model.tokenizer, max_tokens=model.context_length)
    msg = str(err.value)
    assert "question 'long/7'" in msg and "300 tokens" in msg and "at most 256 tokens" in msg and "\n" not in msg
    path.write_text("".join(json.dumps(x) + "\n" for x in lines[:3]))
    assert tasks.load(str(path), tokenizer=model.tokenizer, max_tokens=model.context_length).n_choices == 2
