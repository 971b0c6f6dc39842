"""Random-weight models from shipped configurations: ``load_model("random:NAME")``, for timing only.

The configurations (:mod:`headspex.engine.random_configs`) are the published ``config.json`` values of the
real models (shipped here as Python data, nothing is downloaded). The weights are random (normal(0, 0.02)
for every matrix, zeros for biases, norms at their identity: ones, or zeros where the norm scales by
1 + weight as Gemma's does; seeded), so the model has the real one's shapes and cost but answers nothing:
a study on it measures nothing, and :func:`refuse_random` says so.

Names (``known_names()``): ``smollm2`` (SmolLM2-135M-Instruct, 30 x 9 heads), ``llama-3.2-1b`` (16 x 32),
``llama-3.1-8b`` (32 x 32, the paper's model), ``qwen2.5-0.5b`` (24 x 14, q/k/v biases), all on the fast
path; ``gemma3-270m`` (18 x 4, sliding-window and global layers) and ``mistral-7b`` (32 x 32, sliding
window), on the generic path; with the aliases ``llama-1b`` and ``llama`` of
:data:`headspex.engine.models.ALIASES`. A suffix ``@N`` keeps only the first N layers
(``random:llama-3.1-8b@4``: the 8B's layer shapes, vocabulary and head in ~4 GB of bfloat16), which is
enough to time one layer of a model too large for this machine.

Tokenizer: every configuration uses SmolLM2's tokenizer (the embedded model's, offline; or the
directory in ``$HEADSPEX_TOKENIZER``). Its ids are < 49,152; for a smaller vocabulary (Mistral's 32,000)
the tokenizer keeps only the ids the model has (its BPE merges stop there, so words split into more,
shorter tokens). Prompts get SmolLM2's token counts, not the real model's (Llama 3's and Gemma's larger
vocabularies usually give somewhat fewer tokens for English text). Timing is all these models are for.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import torch

from headspex.engine.loaded_model import ModelNotAvailableError
from headspex.engine.random_configs import CONFIGS, NAME_ALIASES
from headspex.engine.sources.embedded import embedded_checkpoint
from headspex.errors import InputError

__all__ = ["CONFIGS", "NAME_ALIASES", "build_random_model", "init_weights_", "is_random", "known_names",
           "parse_name", "random_config", "refuse_random", "required_bytes", "smollm2_tokenizer"]

INIT_STD = 0.02
INIT_SEED = 0
_CHUNK = 1 << 24  # elements drawn per normal_ call
HEADROOM_BYTES = 1 << 30  # activations, allocator slack, the tokenizer

REFUSAL = ("random weights exist for timing; a study on them measures nothing (load a real checkpoint: "
           "an alias such as 'smollm2', a hub id or a local directory)")


def known_names() -> list[str]:
    """The configuration names ``random:NAME`` accepts (aliases included)."""
    return sorted(CONFIGS) + sorted(NAME_ALIASES)


def parse_name(name: str) -> tuple[str, int | None]:
    """``"llama-3.1-8b@4"`` -> ("llama-3.1-8b", 4); ``"smollm2"`` -> ("smollm2", None). InputError if unknown."""
    base, _, layers = str(name).strip().lower().partition("@")
    base = NAME_ALIASES.get(base, base)
    if base not in CONFIGS:
        raise InputError(f"unknown random model {name!r}: known names are {', '.join(known_names())} "
                         "(optionally with @N to keep the first N layers, e.g. random:llama-3.1-8b@4)")
    if not layers:
        return base, None
    full = CONFIGS[base]["num_hidden_layers"]
    if not layers.isdigit() or not 1 <= int(layers) <= full:
        raise InputError(f"random:{name}: the layer count after '@' must be an integer in 1..{full}")
    return base, int(layers)


def random_config(name: str) -> Any:
    """The config of ``name`` (its family's class: ``LlamaConfig``, ``Gemma3TextConfig``, ...; ``@N`` applied,
    per-layer lists such as Gemma's ``layer_types`` cut to N), marked as random (``config.headspex_random``)."""
    from transformers import AutoConfig

    base, n_layers = parse_name(name)
    values = copy.deepcopy(CONFIGS[base])
    if n_layers is not None:
        values["num_hidden_layers"] = n_layers
        if "layer_types" in values:
            values["layer_types"] = values["layer_types"][:n_layers]
    cfg = AutoConfig.for_model(values.pop("model_type"), **values)
    cfg.headspex_random = base if n_layers is None else f"{base}@{n_layers}"
    return cfg


def on_fast_path(cfg: Any) -> bool:
    """Whether a model of ``cfg`` runs on the fast path (and so gets a fused q/k/v copy on the CPU)."""
    from headspex.engine.fast_forward import SUPPORTED_MODEL_TYPES

    return cfg.model_type in SUPPORTED_MODEL_TYPES and not getattr(cfg, "sliding_window", None)


def required_bytes(cfg: Any, dtype: torch.dtype, *, fused_qkv: bool | None = None) -> int:
    """Memory the model needs in ``dtype``: parameters, the fast path's fused q/k/v copy (CPU; by default
    when ``cfg`` is on the fast path), headroom."""
    d, ff, v, n = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.num_hidden_layers
    dh = getattr(cfg, "head_dim", None) or d // cfg.num_attention_heads
    qkv = d * dh * (cfg.num_attention_heads + 2 * cfg.num_key_value_heads)
    per_layer = qkv + cfg.num_attention_heads * dh * d + 3 * d * ff + 2 * d
    params = n * per_layer + v * d * (1 if cfg.tie_word_embeddings else 2) + d
    elem = torch.finfo(dtype).bits // 8
    fused = on_fast_path(cfg) if fused_qkv is None else fused_qkv
    return int((params + (n * qkv if fused else 0)) * elem + HEADROOM_BYTES)


def available_bytes() -> int:
    """Memory available to a new allocation on this machine (psutil, else /proc/meminfo)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    raise RuntimeError("cannot tell the available memory (no psutil, no /proc/meminfo)")


def build_random_model(name: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """(hf_model, tokenizer): the causal LM of configuration ``name`` (``architectures[0]``: ``LlamaForCausalLM``,
    ``Gemma3ForCausalLM``, ...) with seeded random weights.

    Built in ``dtype`` with the library's weight initialisation switched off (the parameters are allocated
    once, untouched; buffers such as rotary frequencies and Gemma's embedding scale are computed as usual),
    then filled in place (:func:`init_weights_`). Raises ``MemoryError`` stating the bytes needed when this
    machine lacks them.
    """
    import transformers
    from transformers.initialization import no_init_weights

    cfg = random_config(name)
    need, free = required_bytes(cfg, dtype), available_bytes()
    if need > free:
        extra = "fused q/k/v copy, " if on_fast_path(cfg) else ""
        raise MemoryError(
            f"random:{name} needs about {need / 2**30:.1f} GiB in {str(dtype).replace('torch.', '')} "
            f"(weights, {extra}1 GiB headroom) but {free / 2**30:.1f} GiB is available; "
            f"use fewer layers (random:{name.split('@')[0]}@4 times the same layer shapes) or a smaller dtype"
        )
    model_class = getattr(transformers, cfg.architectures[0])
    with no_init_weights():
        hf = model_class._from_config(cfg, dtype=dtype)
    if cfg.tie_word_embeddings:
        hf.tie_weights()
    init_weights_(hf)
    hf.config.dtype = dtype
    hf.eval()
    return hf, smollm2_tokenizer(max_vocab=cfg.vocab_size)


# Norms that scale by (1 + weight) (Gemma's RMSNorm): their identity is weight 0, not 1
_OFFSET_NORM_PREFIXES = ("Gemma",)


def _identity_value(module: torch.nn.Module, param_name: str) -> float:
    """The value a 1-D parameter gets: 0 for a bias or an offset norm's weight, 1 for a norm's weight."""
    if param_name == "bias":
        return 0.0
    kind = type(module).__name__
    return 0.0 if kind.startswith(_OFFSET_NORM_PREFIXES) and kind.endswith("RMSNorm") else 1.0


@torch.no_grad()
def init_weights_(model: torch.nn.Module, *, std: float = INIT_STD, seed: int = INIT_SEED) -> None:
    """Fill every parameter in place: 1-D ones (norm weights; zeros for biases and for Gemma's norms, which
    scale by 1 + weight), the rest normal(0, std).

    Drawn in chunks of 2^24 elements, chunk i from its own generator seeded ``(seed, i)``, on a thread pool
    (a CPU's normal_ is serial: ~0.2 G values/s, 40 s for an 8B model on one core): deterministic whatever
    the number of threads. Shared (tied) tensors are filled once.
    """
    from concurrent.futures import ThreadPoolExecutor

    jobs: list[torch.Tensor] = []
    seen: set[int] = set()
    for module in model.modules():
        for pname, param in module.named_parameters(recurse=False):
            if id(param) in seen:
                continue
            seen.add(id(param))
            if param.dim() == 1:
                param.fill_(_identity_value(module, pname))
                continue
            flat = param.view(-1)
            jobs += [flat[start:start + _CHUNK] for start in range(0, flat.numel(), _CHUNK)]

    def fill(i: int) -> None:
        with torch.no_grad():  # grad mode is per thread
            jobs[i].normal_(0.0, std, generator=torch.Generator().manual_seed(seed * 1_000_003 + i))

    with ThreadPoolExecutor(max_workers=max(1, torch.get_num_threads())) as pool:
        list(pool.map(fill, range(len(jobs))))


def smollm2_tokenizer(max_vocab: int | None = None) -> Any:
    """SmolLM2's tokenizer, offline: ``$HEADSPEX_TOKENIZER`` (a directory with tokenizer files) if set,
    else the embedded model's converted checkpoint (converting the packaged GGUF on first use).

    ``max_vocab``: when it is below the tokenizer's size, the tokenizer keeps only the ids below it
    (:func:`truncate_bpe`), so every id it produces indexes a vocabulary of that size.
    """
    from transformers import AutoTokenizer

    env = os.environ.get("HEADSPEX_TOKENIZER")
    if env:
        if not Path(env).is_dir():
            raise ModelNotAvailableError(f"HEADSPEX_TOKENIZER={env} is not a directory")
        tok = AutoTokenizer.from_pretrained(env)
    else:
        tok = AutoTokenizer.from_pretrained(str(embedded_checkpoint()))
    return tok if max_vocab is None or len(tok) <= max_vocab else truncate_bpe(tok, max_vocab)


def truncate_bpe(tokenizer: Any, max_vocab: int) -> Any:
    """A copy of a byte-level BPE ``tokenizer`` that produces only ids < ``max_vocab``.

    The BPE vocabulary keeps its ids below ``max_vocab`` and the merges whose result is among them (a merge's
    result has a higher id than its parts, so the merges kept are a prefix of the ranked list): the same
    tokenizer stopped earlier in its training, text splits into more, shorter pieces.
    """
    import json

    from tokenizers import Tokenizer

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    if model.get("type") != "BPE" or any(t["id"] >= max_vocab for t in spec.get("added_tokens", [])):
        raise InputError(f"cannot cut this tokenizer to {max_vocab} ids (not a BPE, or special tokens above it)")
    vocab = {tok: i for tok, i in model["vocab"].items() if i < max_vocab}
    merges = [m for m in model["merges"] if "".join(m if isinstance(m, list) else m.split(" ")) in vocab]
    model["vocab"], model["merges"] = vocab, merges
    out = copy.deepcopy(tokenizer)
    out._tokenizer = Tokenizer.from_str(json.dumps(spec))
    return out


def is_random(model: Any) -> bool:
    """Whether ``model`` (a LoadedModel or a Hugging Face model) has random weights from this module."""
    if getattr(model, "source", None) == "random" or str(getattr(model, "spec", "") or "").startswith("random:"):
        return True
    hf = getattr(model, "hf_model", model)
    return getattr(getattr(hf, "config", None), "headspex_random", None) is not None


def refuse_random(model: Any) -> None:
    """Raise InputError when ``model`` has random weights: studies must run on real ones."""
    if is_random(model):
        raise InputError(f"{getattr(model, 'name', 'this model')}: {REFUSAL}")
