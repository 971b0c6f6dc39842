"""Write a pruned checkpoint: the removed heads' weights physically deleted.

``export_pruned(model, keep, path)`` takes a Llama-family :class:`headspex.LoadedModel` and a keep mask.
Per layer it keeps the rows of q_proj of the kept query heads and their input columns of o_proj, and
the rows of k_proj / v_proj of the KV heads some kept query head still reads. The result computes
exactly what the original model computes with the removed heads ablated at the input of o_proj
(TransformerLens ``blocks.{l}.attn.hook_z``): zero ablation drops their contribution, mean ablation
adds it as a constant bias ``sum_h W_o[:, h] @ means[l, h]``. See :mod:`headspex.engine.pruned_modeling`.
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

from headspex.engine import pruned_modeling
from headspex.engine.loaded_model import MARKER_FORMAT, PRUNED_MARKER, LoadedModel
from headspex.engine.pruned_modeling import PrunedLlamaConfig, PrunedLlamaForCausalLM
from headspex.engine.sources import quiet_transformers
from headspex.errors import InputError
from headspex.export.keep import check_head_layout, export_keep_matrix, head_layout, keep_mask_from
from headspex.export.latency import count_parameters
from headspex.export.safety import check_export_target

MODELING_FILE = "modeling_headspex_pruned.py"  # the copy of headspex/engine/pruned_modeling.py in a checkpoint
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
        model: a Llama-family :class:`headspex.LoadedModel` (``model.weights`` is read, not the modules).
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

    A keep mask that keeps no head is refused (InputError). The directory (config.json,
    model.safetensors, tokenizer files, ``modeling_headspex_pruned.py`` and the marker
    ``headspex_pruned.json``, which lists the files written) is written beside ``path`` and renamed into
    place at the end, so an interrupted export leaves no half-written checkpoint. Load it with
    ``headspex.load_model(path)`` or ``AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)``.
    """
    t0 = time.perf_counter()
    w = _check_model(model)
    if ablation not in ABLATIONS:
        raise InputError(f"ablation must be one of {ABLATIONS}; got {ablation!r}")
    keep_mask = export_keep_matrix(keep, n_layers=w.n_layers, n_heads=w.n_heads, players=players)
    mean_t = _check_means(means, ablation, (w.n_layers, w.n_heads, w.d_head))
    target = check_export_target(path, overwrite=overwrite)
    kept, kept_kv = head_layout(keep_mask, w.n_kv_heads)
    check_head_layout(kept, kept_kv, n_heads=w.n_heads, n_kv_heads=w.n_kv_heads)
    o_bias = [lw.o_bias is not None or (mean_t is not None and len(hs) < w.n_heads) for lw, hs in zip(w.layers, kept)]
    pruned = _build_pruned(model, w, kept, kept_kv, o_bias, mean_t)
    before, after = count_parameters(model.hf_model), count_parameters(pruned)
    removed_n, added_n = _parameter_delta(w, kept, kept_kv, o_bias)
    if after != before - removed_n + added_n:
        raise RuntimeError(f"parameter count {after} != {before} - {removed_n} + {added_n}: the source model "
                           "holds parameters the export does not know about")
    summary = ExportSummary(
        path=str(target), source=model.name, ablation=ablation, kept_heads=tuple(map(tuple, kept)),
        kept_kv_heads=tuple(map(tuple, kept_kv)), n_heads_before=w.n_layers * w.n_heads,
        n_heads_after=sum(map(len, kept)), n_kv_heads_before=w.n_layers * w.n_kv_heads,
        n_kv_heads_after=sum(map(len, kept_kv)), parameters_before=before, parameters_after=after,
        parameters_removed=removed_n, parameters_added=added_n, dtype=str(model.dtype).replace("torch.", ""),
        seconds=0.0,
    )
    marker = {"format": MARKER_FORMAT, "source_spec": model.spec, "architecture": model.architecture,
              "n_layers": w.n_layers, "n_heads": w.n_heads, "n_kv_heads": w.n_kv_heads, "d_head": w.d_head,
              **{k: v for k, v in summary.to_dict().items() if k not in ("path", "seconds")}}
    _write_atomically(target, pruned, model.tokenizer, marker, overwrite)
    return ExportSummary(**{**asdict(summary), "seconds": round(time.perf_counter() - t0, 3)})


def _check_model(model: Any) -> Any:
    """The model's fast-path weights (``LlamaWeights``); InputError for anything else."""
    if not isinstance(model, LoadedModel):
        raise InputError(f"model must be a headspex.LoadedModel (headspex.load_model(...)); got {type(model).__name__}")
    w = model.weights
    if w is None:
        raise InputError(f"export_pruned supports Llama-family models (llama, mistral, qwen2 without sliding window); "
                         f"{model.name!r} is {model.architecture}")
    if getattr(model.hf_model.config, "mlp_bias", False):
        raise InputError("export_pruned does not support Llama models with MLP biases (config.mlp_bias)")
    if w.n_heads % w.n_kv_heads:
        raise InputError(f"n_heads ({w.n_heads}) must be a multiple of n_kv_heads ({w.n_kv_heads})")
    return w


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


def _pruned_config(src: Any, w: Any, kept: list, kept_kv: list, o_bias: list[bool]) -> PrunedLlamaConfig:
    """The source model's Llama geometry plus the kept heads of each layer."""
    lw0 = w.layers[0]
    names = ("vocab_size", "hidden_size", "intermediate_size", "hidden_act", "max_position_embeddings",
             "initializer_range", "rms_norm_eps", "use_cache", "pad_token_id", "bos_token_id", "eos_token_id",
             "tie_word_embeddings", "attention_dropout")
    kw = {k: copy.deepcopy(getattr(src, k)) for k in names if getattr(src, k, None) is not None}
    rope = getattr(src, "rope_parameters", None)
    if rope is not None:
        kw["rope_parameters"] = copy.deepcopy(dict(rope))
    return PrunedLlamaConfig(
        **kw, num_hidden_layers=w.n_layers, num_attention_heads=w.n_heads, num_key_value_heads=w.n_kv_heads,
        head_dim=w.d_head, attention_bias=lw0.q_bias is not None, mlp_bias=False,
        kept_heads=kept, kept_kv_heads=kept_kv, o_bias_layers=o_bias, architectures=["PrunedLlamaForCausalLM"],
        auto_map={"AutoConfig": f"{MODELING_FILE[:-3]}.PrunedLlamaConfig",
                  "AutoModelForCausalLM": f"{MODELING_FILE[:-3]}.PrunedLlamaForCausalLM"},
    )


def _build_pruned(model: LoadedModel, w: Any, kept: list, kept_kv: list, o_bias: list[bool],
                  means: torch.Tensor | None) -> PrunedLlamaForCausalLM:
    """The pruned model on the CPU, in the source dtype, holding copies of the kept weights."""
    try:
        from transformers.initialization import no_init_weights  # skip the random init: every weight is loaded
    except ImportError:  # older transformers
        from contextlib import nullcontext as no_init_weights
    config = _pruned_config(model.hf_model.config, w, kept, kept_kv, o_bias)
    with no_init_weights():
        pruned = PrunedLlamaForCausalLM(config)
    pruned.tie_weights()  # tied embeddings share one tensor (no_init_weights leaves them apart)
    pruned = pruned.to(model.dtype).eval()
    pruned.load_state_dict(_pruned_state_dict(w, kept, kept_kv, means), strict=True)
    if getattr(model.hf_model, "generation_config", None) is not None:
        pruned.generation_config = copy.deepcopy(model.hf_model.generation_config)
    return pruned


def _rows(heads: Sequence[int], d_head: int, device: torch.device) -> torch.Tensor:
    """Row indices [len(heads) * d_head] of the given heads in a projection's output dimension."""
    h = torch.as_tensor(list(heads), dtype=torch.long, device=device)
    return (h[:, None] * d_head + torch.arange(d_head, device=device)).flatten()


def _pruned_state_dict(w: Any, kept: list, kept_kv: list, means: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """The pruned model's tensors, sliced out of the source weights ``w``; means [L, H, d_head] float64."""
    sd = {"model.embed_tokens.weight": w.embed, "model.norm.weight": w.norm, "lm_head.weight": w.lm_head}
    for layer, (lw, hs, kvs) in enumerate(zip(w.layers, kept, kept_kv)):
        p = f"model.layers.{layer}."
        sd.update({p + "input_layernorm.weight": lw.ln1, p + "post_attention_layernorm.weight": lw.ln2,
                   p + "mlp.gate_proj.weight": lw.gate, p + "mlp.up_proj.weight": lw.up,
                   p + "mlp.down_proj.weight": lw.down})
        q_rows, kv_rows = _rows(hs, w.d_head, lw.q.device), _rows(kvs, w.d_head, lw.q.device)
        if hs:
            a = p + "self_attn."
            sd.update({a + "q_proj.weight": lw.q[q_rows], a + "k_proj.weight": lw.k[kv_rows],
                       a + "v_proj.weight": lw.v[kv_rows], a + "o_proj.weight": lw.o[:, q_rows]})
            for name, bias, rows in (("q", lw.q_bias, q_rows), ("k", lw.k_bias, kv_rows), ("v", lw.v_bias, kv_rows)):
                if bias is not None:
                    sd[a + f"{name}_proj.bias"] = bias[rows]
        bias = _output_bias(w, lw, layer, hs, means)
        if bias is not None:
            sd[p + "self_attn.o_bias"] = bias
    return sd


def _output_bias(w: Any, lw: Any, layer: int, kept: list[int], means: torch.Tensor | None) -> torch.Tensor | None:
    """o_proj's own bias plus, for mean ablation, sum over removed heads h of W_o[:, h] @ means[layer, h]: [d_model]."""
    gone = [h for h in range(w.n_heads) if h not in kept]
    folded = None
    if means is not None and gone:
        cols = _rows(gone, w.d_head, lw.o.device)
        folded = lw.o[:, cols].double() @ means[layer, gone].flatten().to(lw.o.device)
    if lw.o_bias is None:
        return None if folded is None else folded.to(lw.o.dtype)
    return lw.o_bias if folded is None else (lw.o_bias.double() + folded).to(lw.o.dtype)


def _parameter_delta(w: Any, kept: list, kept_kv: list, o_bias: list[bool]) -> tuple[int, int]:
    """(parameters deleted, parameters added): q/k/v rows and biases and o_proj columns; new output biases."""
    d_model, dh = w.embed.shape[1], w.d_head
    removed = added = 0
    for lw, hs, kvs, has_bias in zip(w.layers, kept, kept_kv, o_bias):
        gone_q, gone_kv = w.n_heads - len(hs), w.n_kv_heads - len(kvs)
        removed += gone_q * dh * d_model * 2 + gone_kv * dh * d_model * 2  # q rows + o columns, k + v rows
        removed += (gone_q + 2 * gone_kv) * dh if lw.q_bias is not None else 0
        added += d_model if has_bias and lw.o_bias is None else 0
    return removed, added


def _write_atomically(target: Path, pruned: Any, tokenizer: Any, marker: dict, overwrite: bool) -> None:
    """Write everything into a hidden sibling directory, then rename it to ``target``.

    Only ``target`` itself is ever moved aside and removed, and only after :func:`check_export_target`
    passes again right before the swap (an empty directory, or a checkpoint this export wrote).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp, old = target.parent / f".{target.name}.tmp-{tag}", target.parent / f".{target.name}.old-{tag}"
    try:
        with quiet_transformers():
            pruned.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        shutil.copyfile(pruned_modeling.__file__, tmp / MODELING_FILE)
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
