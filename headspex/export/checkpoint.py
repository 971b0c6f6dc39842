"""Write a pruned checkpoint: the removed heads' weights physically deleted.

``export_pruned(model, keep, path)`` takes a Llama-family or Gemma 3 :class:`headspex.LoadedModel` and a keep
mask. Per layer it keeps the rows of q_proj of the kept query heads and their input columns of o_proj, and
the rows of k_proj / v_proj of the KV heads some kept query head still reads. The result computes
exactly what the original model computes with the removed heads ablated at the input of o_proj
(TransformerLens ``blocks.{l}.attn.hook_z``): zero ablation drops their contribution, mean ablation
adds it as a constant bias ``sum_h W_o[:, h] @ means[l, h]``. The model classes are
:mod:`headspex.engine.pruned_modeling` (Llama family; :mod:`headspex.export.llama_weights` reads the fast-path
weights ``model.weights``) and :mod:`headspex.engine.pruned_gemma` (Gemma 3;
:mod:`headspex.export.gemma_weights` reads its Hugging Face modules).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from headspex._io import remove_stale_temporaries
from headspex.engine.loaded_model import MARKER_FORMAT, PRUNED_MARKER, LoadedModel
from headspex.engine.sources import quiet_transformers
from headspex.errors import InputError
from headspex.export.gemma_weights import gemma_source, is_gemma3_text
from headspex.export.keep import check_head_layout, export_keep_matrix, head_layout, keep_mask_from
from headspex.export.latency import count_parameters
from headspex.export.llama_weights import llama_source
from headspex.export.safety import check_export_target

ABLATIONS = ("zero", "mean")
__all__ = ["ExportSummary", "export_pruned", "keep_mask_from"]


@dataclass(frozen=True)
class ExportSummary:
    """What ``export_pruned`` wrote. Heads are original 0-based indices, listed per layer."""

    path: str
    source: str
    ablation: str
    kept_heads: tuple[tuple[int, ...], ...]
    kept_kv_heads: tuple[tuple[int, ...], ...]
    n_heads_before: int  # query heads over all layers
    n_heads_after: int
    n_kv_heads_before: int
    n_kv_heads_after: int
    parameters_before: int
    parameters_after: int  # = before - removed + added
    parameters_removed: int  # deleted rows of q/k/v_proj (and biases) and columns of o_proj
    parameters_added: int  # output biases added by mean ablation
    dtype: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kept_heads"] = [list(h) for h in self.kept_heads]
        d["kept_kv_heads"] = [list(h) for h in self.kept_kv_heads]
        return d


def export_pruned(model: LoadedModel, keep: Any, path: str | os.PathLike, *,
                  players: Sequence[tuple[int, int]] | None = None, ablation: str = "zero", means: Any = None,
                  overwrite: bool = False) -> ExportSummary:
    """Write ``model`` with the heads not in ``keep`` deleted to the directory ``path``.

    Args:
        model: a :class:`headspex.LoadedModel` of a Llama-family model (``model.weights`` is read, not the
            modules) or of a Gemma 3 text model (``Gemma3ForCausalLM``; its modules are read).
        keep: one of
            * a keep matrix [n_layers, n_heads] (numpy or torch, 0/1 or bool; 1 = keep);
            * a list of kept ``(layer, head)`` pairs (0-based integers). NOTE: these are the kept heads of
              the WHOLE model: every head NOT listed is removed, in every layer, including layers the list
              never mentions. To export a layer range's selection, use ``players=`` instead;
            * with ``players``: a 1-D 0/1 mask [n_players] over those players.
        players: the ``(layer, head)`` of each entry of a 1-D ``keep`` (e.g. a game's players): every head
            that is not a player is KEPT.
        path: the checkpoint directory: a new path, an empty directory, or (only with ``overwrite``) a
            checkpoint this function wrote before. Anything else is refused (OutputError; a non-empty
            directory raises a TargetExistsError, also a FileExistsError): an export never deletes what it
            did not write, and never writes into headspex run data. See :mod:`headspex.export.safety`.
        ablation: "zero", or "mean" with ``means`` [n_layers, n_heads, d_head] (as from
            ``hooks.compute_head_means``): the removed heads' mean output becomes an o_proj bias.

    A keep mask that keeps no head is refused (InputError). The directory (config.json, model.safetensors,
    tokenizer files, ``modeling_headspex_pruned.py`` or, for Gemma 3, ``modeling_headspex_pruned_gemma3.py``,
    and the marker ``headspex_pruned.json``, which lists the files written) is written beside ``path`` and
    renamed into place at the end, so an interrupted export leaves no half-written checkpoint. Load it with
    ``headspex.load_model(path)`` or ``AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)``.
    """
    t0 = time.perf_counter()
    src = _source_of(model)
    if ablation not in ABLATIONS:
        raise InputError(f"ablation must be one of {ABLATIONS}; got {ablation!r}")
    keep_mask = export_keep_matrix(keep, n_layers=src.n_layers, n_heads=src.n_heads, players=players)
    mean_t = _check_means(means, ablation, (src.n_layers, src.n_heads, src.d_head))
    target = check_export_target(path, overwrite=overwrite)
    kept, kept_kv = head_layout(keep_mask, src.n_kv_heads)
    check_head_layout(kept, kept_kv, n_heads=src.n_heads, n_kv_heads=src.n_kv_heads)
    o_bias = src.o_bias_layers(kept, mean_t)
    pruned = _build_pruned(model, src.model_class, src.pruned_config(kept, kept_kv, o_bias),
                           src.state_dict(kept, kept_kv, mean_t))
    before, after = count_parameters(model.hf_model), count_parameters(pruned)
    removed_n, added_n = src.parameter_delta(kept, kept_kv, o_bias)
    if after != before - removed_n + added_n:
        raise RuntimeError(f"parameter count {after} != {before} - {removed_n} + {added_n}: the source model "
                           "holds parameters the export does not know about")
    summary = ExportSummary(
        path=str(target), source=model.name, ablation=ablation, kept_heads=tuple(map(tuple, kept)),
        kept_kv_heads=tuple(map(tuple, kept_kv)), n_heads_before=src.n_layers * src.n_heads,
        n_heads_after=sum(map(len, kept)), n_kv_heads_before=src.n_layers * src.n_kv_heads,
        n_kv_heads_after=sum(map(len, kept_kv)), parameters_before=before, parameters_after=after,
        parameters_removed=removed_n, parameters_added=added_n, dtype=str(model.dtype).replace("torch.", ""),
        seconds=0.0,
    )
    marker = {"format": MARKER_FORMAT, "source_spec": model.spec, "architecture": model.architecture,
              "model_type": pruned.config.model_type, "n_layers": src.n_layers, "n_heads": src.n_heads,
              "n_kv_heads": src.n_kv_heads, "d_head": src.d_head,
              **{k: v for k, v in summary.to_dict().items() if k not in ("path", "seconds")}}
    _write_atomically(target, pruned, model.tokenizer, marker, overwrite, (src.modeling_source, src.modeling_file))
    return ExportSummary(**{**asdict(summary), "seconds": round(time.perf_counter() - t0, 3)})


def _source_of(model: Any) -> Any:
    """What the export reads from ``model``: a ``LlamaSource`` or a ``GemmaSource``.

    InputError for anything else, naming the supported architectures.
    """
    if not isinstance(model, LoadedModel):
        raise InputError(f"model must be a headspex.LoadedModel (headspex.load_model(...)); got {type(model).__name__}")
    if is_gemma3_text(model.hf_model):  # before the Llama check: Gemma 3 has fast-path weights of its own
        return gemma_source(model)
    if model.weights is not None:
        return llama_source(model)
    if model.forward_path == "none":
        raise InputError(f"{model.name!r} is a pruned checkpoint: export_pruned cannot prune it again; export "
                         "from the original model with a keep mask that removes all the heads to go")
    raise InputError(f"export_pruned supports Llama-family models (llama, mistral, qwen2 without sliding window) and "
                     f"Gemma 3 text models (Gemma3ForCausalLM); {model.name!r} is {model.architecture}")


def _check_means(means: Any, ablation: str, shape: tuple[int, int, int]) -> torch.Tensor | None:
    """means [n_layers, n_heads, d_head] as float64 for ablation="mean"; None for "zero"."""
    if ablation == "zero":
        if means is not None:
            raise InputError("means are used only with ablation='mean'")
        return None
    if means is None:
        raise InputError("ablation='mean' needs means [n_layers, n_heads, d_head]: see hooks.compute_head_means")
    m = torch.as_tensor(np.asarray(means) if not isinstance(means, torch.Tensor) else means.detach().cpu())
    if tuple(m.shape) != shape:
        raise InputError(f"means must have shape [n_layers, n_heads, d_head] = {list(shape)}; got {list(m.shape)}")
    if not torch.isfinite(m.double()).all():
        raise InputError("means must be finite")
    return m.double()


def _build_pruned(model: LoadedModel, model_class: type, config: Any, state_dict: dict[str, torch.Tensor]) -> Any:
    """The pruned model on the CPU, in the source dtype, holding copies of the kept weights (``state_dict``)."""
    try:
        from transformers.initialization import no_init_weights  # skip the random init: every weight is loaded
    except ImportError:  # older transformers
        from contextlib import nullcontext as no_init_weights
    with no_init_weights():
        pruned = model_class(config)
    pruned.tie_weights()  # tied embeddings share one tensor (no_init_weights leaves them apart)
    pruned = pruned.to(model.dtype).eval()
    pruned.load_state_dict(state_dict, strict=True)  # copies: the pruned model shares no tensor with the source
    if getattr(model.hf_model, "generation_config", None) is not None:
        pruned.generation_config = copy.deepcopy(model.hf_model.generation_config)
    return pruned


def _write_atomically(target: Path, pruned: Any, tokenizer: Any, marker: dict, overwrite: bool,
                      modeling: tuple[str, str]) -> None:
    """Write everything into a hidden sibling directory, then rename it to ``target``.

    ``modeling``: (the model classes' source file, its name in the checkpoint).

    Only ``target`` itself is ever moved aside and removed, and only after :func:`check_export_target`
    passes again right before the swap (an empty directory, or a checkpoint this export wrote).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)  # a killed export's hidden copies (their process is dead), never anything else
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp, old = target.parent / f".{target.name}.tmp-{tag}", target.parent / f".{target.name}.old-{tag}"
    try:
        with quiet_transformers():
            pruned.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        shutil.copyfile(modeling[0], tmp / modeling[1])
        files = sorted({p.name for p in tmp.iterdir()} | {PRUNED_MARKER})
        (tmp / PRUNED_MARKER).write_text(json.dumps({**marker, "files": files}, indent=1) + "\n")
        check_export_target(target, overwrite=overwrite)  # the directory may have changed while we wrote
        if target.exists():
            target.replace(old) if any(target.iterdir()) else target.rmdir()
        tmp.replace(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.replace(target)  # put the previous checkpoint back
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
