"""Random-weight models from shipped configurations: ``load_model("random:NAME")``, for timing only.

The configurations below are the published ``config.json`` values of the real models (shipped here as
Python data, nothing is downloaded). The weights are random (normal(0, 0.02) for every matrix, ones for
the norms, seeded), so the model has the real one's shapes and cost but answers nothing: a study on it
measures nothing, and :func:`refuse_random` says so.

Names (``known_names()``): ``smollm2`` (SmolLM2-135M-Instruct, 30 x 9 heads), ``llama-3.2-1b`` (16 x 32),
``llama-3.1-8b`` (32 x 32, the paper's model), with the aliases ``llama-1b`` and ``llama`` of
:data:`headspex.engine.models.ALIASES`. A suffix ``@N`` keeps only the first N layers
(``random:llama-3.1-8b@4``: the 8B's layer shapes, vocabulary and head in ~4 GB of bfloat16), which is
enough to time one layer of a model too large for this machine.

Tokenizer: every configuration uses SmolLM2's tokenizer (the embedded model's, offline; or the
directory in ``$HEADSPEX_TOKENIZER``). Its ids are < 49,152, so they index any of these vocabularies;
prompts get SmolLM2's token counts, not Llama 3's (whose larger vocabulary usually gives somewhat fewer
tokens for English text). Timing is all these models are for.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import torch

from headspex.engine.loaded_model import ModelNotAvailableError
from headspex.engine.sources.embedded import embedded_checkpoint
from headspex.errors import InputError

INIT_STD = 0.02
INIT_SEED = 0
_CHUNK = 1 << 24  # elements drawn per normal_ call
HEADROOM_BYTES = 1 << 30  # activations, allocator slack, the tokenizer

_LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192}
_LLAMA_COMMON = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
                 "attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0, "initializer_range": 0.02,
                 "pretraining_tp": 1, "rms_norm_eps": 1e-05, "use_cache": True}

# Published config.json values (Hugging Face: HuggingFaceTB/SmolLM2-135M-Instruct,
# meta-llama/Llama-3.2-1B-Instruct, meta-llama/Llama-3.1-8B-Instruct); rope in transformers 5's form.
CONFIGS: dict[str, dict[str, Any]] = {
    "smollm2": {
        **_LLAMA_COMMON, "vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536,
        "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64,
        "max_position_embeddings": 8192, "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
        "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2,
    },
    "llama-3.2-1b": {
        **_LLAMA_COMMON, "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
        "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
        "max_position_embeddings": 131072, "rope_parameters": {**_LLAMA3_ROPE, "factor": 32.0},
        "tie_word_embeddings": True, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    },
    "llama-3.1-8b": {
        **_LLAMA_COMMON, "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
        "max_position_embeddings": 131072, "rope_parameters": {**_LLAMA3_ROPE, "factor": 8.0},
        "tie_word_embeddings": False, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    },
}
NAME_ALIASES = {"llama-1b": "llama-3.2-1b", "llama": "llama-3.1-8b"}
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
    """The ``LlamaConfig`` of ``name`` (``@N`` applied), marked as random (``config.headspex_random``)."""
    from transformers import LlamaConfig

    base, n_layers = parse_name(name)
    values = copy.deepcopy(CONFIGS[base])
    if n_layers is not None:
        values["num_hidden_layers"] = n_layers
    values.pop("model_type")
    cfg = LlamaConfig(**values)
    cfg.headspex_random = base if n_layers is None else f"{base}@{n_layers}"
    return cfg


def required_bytes(cfg: Any, dtype: torch.dtype, *, fused_qkv: bool = True) -> int:
    """Memory the model needs in ``dtype``: parameters, the fast path's fused q/k/v copy (CPU), headroom."""
    d, ff, v, n = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.num_hidden_layers
    dh = getattr(cfg, "head_dim", None) or d // cfg.num_attention_heads
    qkv = d * dh * (cfg.num_attention_heads + 2 * cfg.num_key_value_heads)
    per_layer = qkv + cfg.num_attention_heads * dh * d + 3 * d * ff + 2 * d
    params = n * per_layer + v * d * (1 if cfg.tie_word_embeddings else 2) + d
    elem = torch.finfo(dtype).bits // 8
    return int((params + (n * qkv if fused_qkv else 0)) * elem + HEADROOM_BYTES)


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
    """(hf_model, tokenizer): a ``LlamaForCausalLM`` of configuration ``name`` with seeded random weights.

    Built on the meta device, materialised on the CPU in ``dtype`` and filled in place (:func:`init_weights_`),
    so nothing is allocated twice. Raises ``MemoryError`` stating the bytes needed when this machine lacks them.
    """
    from transformers import LlamaForCausalLM

    cfg = random_config(name)
    need, free = required_bytes(cfg, dtype), available_bytes()
    if need > free:
        raise MemoryError(
            f"random:{name} needs about {need / 2**30:.1f} GiB in {str(dtype).replace('torch.', '')} "
            f"(weights, fused q/k/v copy, 1 GiB headroom) but {free / 2**30:.1f} GiB is available; "
            f"use fewer layers (random:{name.split('@')[0]}@4 times the same layer shapes) or a smaller dtype"
        )
    with torch.device("meta"):
        hf = LlamaForCausalLM(cfg)
    hf = hf.to(dtype).to_empty(device="cpu")
    hf.model.rotary_emb = type(hf.model.rotary_emb)(config=cfg)  # its buffers are computed, not parameters
    if cfg.tie_word_embeddings:
        hf.tie_weights()
    init_weights_(hf)
    hf.config.dtype = dtype
    hf.eval()
    return hf, smollm2_tokenizer()


@torch.no_grad()
def init_weights_(model: torch.nn.Module, *, std: float = INIT_STD, seed: int = INIT_SEED) -> None:
    """Fill every parameter in place: 1-D ones (RMSNorm weights), the rest normal(0, std).

    Drawn in chunks of 2^24 elements, chunk i from its own generator seeded ``(seed, i)``, on a thread pool
    (a CPU's normal_ is serial: ~0.2 G values/s, 40 s for an 8B model on one core): deterministic whatever
    the number of threads. Shared (tied) tensors are filled once.
    """
    from concurrent.futures import ThreadPoolExecutor

    jobs: list[torch.Tensor] = []
    seen: set[int] = set()
    for _, param in model.named_parameters(remove_duplicate=False):
        if id(param) in seen:
            continue
        seen.add(id(param))
        if param.dim() == 1:
            param.fill_(1.0)
            continue
        flat = param.view(-1)
        jobs += [flat[start:start + _CHUNK] for start in range(0, flat.numel(), _CHUNK)]

    def fill(i: int) -> None:
        with torch.no_grad():  # grad mode is per thread
            jobs[i].normal_(0.0, std, generator=torch.Generator().manual_seed(seed * 1_000_003 + i))

    with ThreadPoolExecutor(max_workers=max(1, torch.get_num_threads())) as pool:
        list(pool.map(fill, range(len(jobs))))


def smollm2_tokenizer() -> Any:
    """SmolLM2's tokenizer, offline: ``$HEADSPEX_TOKENIZER`` (a directory with tokenizer files) if set,
    else the embedded model's converted checkpoint (converting the packaged GGUF on first use)."""
    from transformers import AutoTokenizer

    env = os.environ.get("HEADSPEX_TOKENIZER")
    if env:
        if not Path(env).is_dir():
            raise ModelNotAvailableError(f"HEADSPEX_TOKENIZER={env} is not a directory")
        return AutoTokenizer.from_pretrained(env)
    return AutoTokenizer.from_pretrained(str(embedded_checkpoint()))


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
