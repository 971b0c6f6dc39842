"""A checkpoint written by :func:`headspex.export_pruned`: the Hugging Face model, and a
:class:`~headspex.engine.loaded_model.LoadedModel` around it for ``headspex.load_model(path)``.

A pruned model has no TransformerLens bridge and no fast-path weights (its layers have different head
counts); :class:`PrunedBridge` stands in for the bridge so clean forward passes and clean evaluation
work, while head ablation raises a ValueError saying why. The model classes are
:mod:`headspex.engine.pruned_modeling` (Llama family, model_type ``headspex_pruned_llama``) and
:mod:`headspex.engine.pruned_gemma` (Gemma 3, ``headspex_pruned_gemma3``); config.json's model_type says which.
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import torch

from headspex.engine.loaded_model import MARKER_FORMAT, PRUNED_MARKER, LoadedModel
from headspex.errors import StoredDataError

NO_ABLATION = ("this model is a pruned checkpoint written by headspex.export_pruned: its removed heads are "
               "deleted and its layers have different head counts, so head ablation (masks, hooks, head "
               "means) is not supported on it; ablate heads on the original model instead")
__all__ = ["MARKER_FORMAT", "NO_ABLATION", "PrunedBridge", "is_pruned_checkpoint", "load_pruned_hf",
           "pruned_model_class", "read_marker", "wrap_pruned"]


def is_pruned_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory holding the marker of a checkpoint written by ``export_pruned``."""
    p = Path(path)
    return p.is_dir() and (p / PRUNED_MARKER).is_file()


def read_marker(path: str | os.PathLike) -> dict[str, Any]:
    """The ``headspex_pruned.json`` of a pruned checkpoint; StoredDataError when missing or malformed."""
    marker = Path(path) / PRUNED_MARKER
    try:
        data = json.loads(marker.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StoredDataError(f"{path} is not a pruned checkpoint written by headspex.export_pruned: {e}") from e
    if not isinstance(data, dict) or data.get("format") != MARKER_FORMAT or "kept_heads" not in data:
        raise StoredDataError(f"{marker} is not a {MARKER_FORMAT} marker: re-export the checkpoint with "
                              "headspex.export_pruned")
    return data


def pruned_model_class(path: str | os.PathLike) -> type:
    """The model class of the pruned checkpoint at ``path``, from config.json's model_type (the marker's when
    config.json lacks one): ``PrunedLlamaForCausalLM`` or ``PrunedGemma3ForCausalLM``; StoredDataError otherwise."""
    from headspex.engine.pruned_gemma import PRUNED_GEMMA3_MODEL_TYPE, PrunedGemma3ForCausalLM
    from headspex.engine.pruned_modeling import PRUNED_MODEL_TYPE, PrunedLlamaForCausalLM

    classes = {PRUNED_MODEL_TYPE: PrunedLlamaForCausalLM, PRUNED_GEMMA3_MODEL_TYPE: PrunedGemma3ForCausalLM}
    try:
        model_type = json.loads((Path(path) / "config.json").read_text()).get("model_type")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as e:
        raise StoredDataError(f"{path}: the pruned checkpoint's config.json cannot be read: {e}") from e
    model_type = model_type or read_marker(path).get("model_type", PRUNED_MODEL_TYPE)
    if model_type not in classes:
        raise StoredDataError(f"{path}: config.json has model_type {model_type!r}, not one of a pruned checkpoint "
                              f"({', '.join(sorted(classes))}): re-export it with headspex.export_pruned")
    return classes[model_type]


def load_pruned_hf(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """(PrunedLlamaForCausalLM or PrunedGemma3ForCausalLM, tokenizer or None) from a checkpoint written by
    :func:`export_pruned`."""
    from transformers import AutoTokenizer

    read_marker(path)
    hf = pruned_model_class(path).from_pretrained(str(path), dtype=dtype)
    has_tok = (Path(path) / "tokenizer_config.json").is_file()  # config= spares AutoConfig (and its remote-code prompt)
    tok = AutoTokenizer.from_pretrained(str(path), config=hf.config) if has_tok else None
    return hf.eval(), tok


class PrunedBridge:
    """Stands in for the TransformerLens bridge of a pruned model: plain forward passes only.

    ``bridge(ids, attention_mask=...)`` and ``run_with_hooks`` / ``hooks`` without hooks give logits
    [batch, pos, vocab], so clean evaluation (``evaluate_clean``) works; any hook, or any other bridge
    feature, raises a ValueError saying why.
    """

    def __init__(self, hf_model: Any) -> None:
        c = hf_model.config
        self.hf_model = hf_model
        self.cfg = SimpleNamespace(n_layers=c.num_hidden_layers, n_heads=c.num_attention_heads, d_head=c.head_dim,
                                   d_model=c.hidden_size, n_key_value_heads=c.num_key_value_heads)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> torch.Tensor:
        return self.hf_model(input_ids=input_ids, attention_mask=attention_mask).logits

    def run_with_hooks(self, input_ids: torch.Tensor, fwd_hooks: Sequence = (), attention_mask: torch.Tensor | None = None,
                       **kwargs: Any) -> torch.Tensor:
        if fwd_hooks or kwargs.get("bwd_hooks"):
            raise ValueError(NO_ABLATION)
        return self(input_ids, attention_mask=attention_mask)

    def hooks(self, fwd_hooks: Sequence = (), **kwargs: Any) -> Any:
        if fwd_hooks or kwargs.get("bwd_hooks"):
            raise ValueError(NO_ABLATION)
        return nullcontext(self)

    def eval(self) -> "PrunedBridge":
        return self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ValueError(f"{NO_ABLATION} (bridge.{name} does not exist here)")


def wrap_pruned(hf_model: Any, tokenizer: Any, *, name: str, device: torch.device, dtype: torch.dtype) -> LoadedModel:
    """A :class:`LoadedModel` for a pruned model (no fast-path weights, a :class:`PrunedBridge`).

    ``n_heads`` is the original number of query heads per layer (heads keep their original indices).
    """
    from headspex.engine.pruned_gemma import PRUNED_GEMMA3_MODEL_TYPE
    from headspex.engine.pruned_modeling import PRUNED_MODEL_TYPE

    model_type = getattr(hf_model.config, "model_type", None)
    if model_type not in (PRUNED_MODEL_TYPE, PRUNED_GEMMA3_MODEL_TYPE):
        raise ValueError(f"expected a {PRUNED_MODEL_TYPE} or {PRUNED_GEMMA3_MODEL_TYPE} model; got {model_type!r}")
    c = hf_model.config
    return LoadedModel(name=name, hf_model=hf_model, bridge=PrunedBridge(hf_model), tokenizer=tokenizer,
                       n_layers=int(c.num_hidden_layers), n_heads=int(c.num_attention_heads), d_head=int(c.head_dim),
                       dtype=dtype, device=device, architecture=type(hf_model).__name__, weights=None,
                       forward_path="none")

