"""A ``.gguf`` file, de-quantised to floats by transformers (needs the ``gguf`` package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import torch

from headspex.engine.loaded_model import ModelNotAvailableError

__all__ = ["load_gguf"]


def load_gguf(directory: Path, filename: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """(hf_model, tokenizer) from ``directory / filename``; ModelNotAvailableError without ``gguf``."""
    if importlib.util.find_spec("gguf") is None:
        raise ModelNotAvailableError("loading a .gguf file needs the gguf package: run `pip install gguf`")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(directory), gguf_file=filename)
    hf = AutoModelForCausalLM.from_pretrained(str(directory), gguf_file=filename, dtype=dtype)
    hf.config.architectures = [type(hf).__name__]
    return hf, tok
