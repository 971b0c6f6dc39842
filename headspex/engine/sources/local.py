"""A local Hugging Face checkpoint directory (config.json, weights, tokenizer files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from headspex.engine.model_inputs import check_model_dir, checkpoint_errors

__all__ = ["load_hf", "load_local_dir"]


def load_hf(path: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """(hf_model, tokenizer) through ``from_pretrained``: a directory, or a hub id the caller has vetted."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    hf = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    return hf, tok


def load_local_dir(directory: Path, dtype: torch.dtype) -> tuple[Any, Any]:
    """(hf_model, tokenizer) from a checkpoint directory; InputError naming a missing or broken file."""
    check_model_dir(directory)
    with checkpoint_errors(directory):
        return load_hf(str(directory), dtype)
