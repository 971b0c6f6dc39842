"""The Llama side of ``export_pruned``: the pruned config, weights and parameter count of a Llama-family model.

Read from the fast-path weights ``model.weights`` (``LlamaWeights``: references to the raw parameters), not
the modules. Per layer the export keeps the rows of q_proj of the kept query heads and their input columns of
o_proj, and the rows of k_proj / v_proj of the KV heads some kept query head still reads; mean ablation folds
``sum_h W_o[:, h] @ means[l, h]`` over the removed heads into ``o_bias``. The model classes are
:mod:`headspex.engine.pruned_modeling`; :mod:`headspex.export.checkpoint` instantiates and writes them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from headspex.engine import pruned_modeling
from headspex.engine.loaded_model import LoadedModel
from headspex.engine.pruned_modeling import PrunedLlamaConfig, PrunedLlamaForCausalLM
from headspex.errors import InputError

MODELING_FILE = "modeling_headspex_pruned.py"  # the copy of headspex/engine/pruned_modeling.py in a checkpoint
__all__ = ["MODELING_FILE", "LlamaSource", "head_rows", "llama_source"]


@dataclass
class LlamaSource:
    """A Llama-family model's config and fast-path weights, behind the interface ``GemmaSource`` also has."""

    config: Any
    w: Any  # LlamaWeights
    model_class = PrunedLlamaForCausalLM
    modeling_source = pruned_modeling.__file__
    modeling_file = MODELING_FILE

    def __post_init__(self) -> None:
        self.n_layers, self.n_heads, self.n_kv_heads, self.d_head = (
            self.w.n_layers, self.w.n_heads, self.w.n_kv_heads, self.w.d_head)

    def o_bias_layers(self, kept: list, means: torch.Tensor | None) -> list[bool]:
        return [lw.o_bias is not None or (means is not None and len(hs) < self.w.n_heads)
                for lw, hs in zip(self.w.layers, kept)]

    def pruned_config(self, kept: list, kept_kv: list, o_bias: list[bool]) -> PrunedLlamaConfig:
        return _pruned_config(self.config, self.w, kept, kept_kv, o_bias)

    def state_dict(self, kept: list, kept_kv: list, means: torch.Tensor | None) -> dict[str, torch.Tensor]:
        return _pruned_state_dict(self.w, kept, kept_kv, means)

    def parameter_delta(self, kept: list, kept_kv: list, o_bias: list[bool]) -> tuple[int, int]:
        return _parameter_delta(self.w, kept, kept_kv, o_bias)


def llama_source(model: LoadedModel) -> LlamaSource:
    """The :class:`LlamaSource` of a Llama-family model (``model.weights`` set); InputError for a layout it
    cannot export."""
    w = model.weights
    if getattr(model.hf_model.config, "mlp_bias", False):
        raise InputError("export_pruned does not support Llama models with MLP biases (config.mlp_bias)")
    if w.n_heads % w.n_kv_heads:
        raise InputError(f"n_heads ({w.n_heads}) must be a multiple of n_kv_heads ({w.n_kv_heads})")
    return LlamaSource(model.hf_model.config, w)


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


def head_rows(heads: Sequence[int], d_head: int, device: torch.device) -> torch.Tensor:
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
        q_rows, kv_rows = head_rows(hs, w.d_head, lw.q.device), head_rows(kvs, w.d_head, lw.q.device)
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
        cols = head_rows(gone, w.d_head, lw.o.device)
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
