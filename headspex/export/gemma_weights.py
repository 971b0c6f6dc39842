"""The Gemma 3 side of ``export_pruned``: the pruned config, weights and parameter count of a Gemma 3 text model.

A Gemma 3 model (``Gemma3ForCausalLM``, model_type ``gemma3_text``) stays a plain Hugging Face model after
loading (its fast-path weights are ``GemmaWeights``, not the Llama ones), so its weights are read from the modules
``hf_model.model.layers[l].self_attn.{q,k,v,o}_proj``. Per layer the export keeps the rows of q_proj of the
kept query heads and their input columns of o_proj, and the rows of k_proj / v_proj of the KV heads some
kept query head still reads; q_norm / k_norm act per head on ``head_dim`` with one shared weight, so they
are kept whole (and dropped only with the layer's last head). Mean ablation folds
``sum_h W_o[:, h] @ means[l, h]`` over the removed heads into ``o_bias``, which the pruned attention adds to
o_proj's output before ``post_attention_layernorm``. The model classes are
:mod:`headspex.engine.pruned_gemma`; :mod:`headspex.export.checkpoint` instantiates and writes them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from headspex.engine import pruned_gemma
from headspex.engine.pruned_gemma import PrunedGemma3Config, PrunedGemma3ForCausalLM
from headspex.errors import InputError
from headspex.export.llama_weights import head_rows

GEMMA_MODEL_TYPE = "gemma3_text"
GEMMA_MODELING_FILE = "modeling_headspex_pruned_gemma3.py"  # the copy of headspex/engine/pruned_gemma.py
# Gemma3TextConfig fields carried over as they are (read from to_dict(): the values a config is built from)
CONFIG_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads", "head_dim", "hidden_activation", "max_position_embeddings", "initializer_range",
               "rms_norm_eps", "use_cache", "pad_token_id", "bos_token_id", "eos_token_id", "tie_word_embeddings",
               "rope_parameters", "attention_bias", "attention_dropout", "query_pre_attn_scalar", "sliding_window",
               "layer_types", "final_logit_softcapping", "attn_logit_softcapping", "use_bidirectional_attention")
__all__ = ["GEMMA_MODELING_FILE", "GemmaSource", "gemma_source", "is_gemma3_text"]


def is_gemma3_text(hf_model: Any) -> bool:
    """Whether ``hf_model`` is a plain Hugging Face ``Gemma3ForCausalLM`` (not an exported pruned one)."""
    from transformers import Gemma3ForCausalLM

    return isinstance(hf_model, Gemma3ForCausalLM) and getattr(hf_model.config, "model_type", None) == GEMMA_MODEL_TYPE


@dataclass
class GemmaSource:
    """A Gemma 3 text model's attention geometry and modules, read by the export."""

    hf_model: Any
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_head: int
    d_model: int
    attn: list  # each layer's Gemma3Attention
    model_class = PrunedGemma3ForCausalLM
    modeling_source = pruned_gemma.__file__
    modeling_file = GEMMA_MODELING_FILE

    def o_bias_layers(self, kept: list, means: torch.Tensor | None) -> list[bool]:
        """Which layers of the pruned model get an ``o_bias``: o_proj had a bias, or mean ablation removed a head."""
        return [a.o_proj.bias is not None or (means is not None and len(hs) < self.n_heads)
                for a, hs in zip(self.attn, kept)]

    def pruned_config(self, kept: list, kept_kv: list, o_bias: list[bool]) -> PrunedGemma3Config:
        """The source model's Gemma 3 configuration plus the kept heads of each layer."""
        d = self.hf_model.config.to_dict()
        kw = {k: copy.deepcopy(d[k]) for k in CONFIG_KEYS if k in d}
        name = GEMMA_MODELING_FILE[:-3]
        return PrunedGemma3Config(
            **kw, kept_heads=kept, kept_kv_heads=kept_kv, o_bias_layers=o_bias,
            architectures=["PrunedGemma3ForCausalLM"],
            auto_map={"AutoConfig": f"{name}.PrunedGemma3Config", "AutoModelForCausalLM": f"{name}.PrunedGemma3ForCausalLM"})

    def state_dict(self, kept: list, kept_kv: list, means: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The pruned model's tensors: the source's own outside attention, sliced q/k/v/o inside it."""
        sd = {k: v for k, v in self.hf_model.state_dict().items() if ".self_attn." not in k}
        for layer, (a, hs, kvs) in enumerate(zip(self.attn, kept, kept_kv)):
            p = f"model.layers.{layer}.self_attn."
            if hs:
                dev = a.q_proj.weight.device
                q_rows, kv_rows = head_rows(hs, self.d_head, dev), head_rows(kvs, self.d_head, dev)
                sd.update({p + "q_proj.weight": a.q_proj.weight.detach()[q_rows],
                           p + "k_proj.weight": a.k_proj.weight.detach()[kv_rows],
                           p + "v_proj.weight": a.v_proj.weight.detach()[kv_rows],
                           p + "o_proj.weight": a.o_proj.weight.detach()[:, q_rows],
                           p + "q_norm.weight": a.q_norm.weight.detach(), p + "k_norm.weight": a.k_norm.weight.detach()})
                for name, rows in (("q", q_rows), ("k", kv_rows), ("v", kv_rows)):
                    bias = getattr(a, f"{name}_proj").bias
                    if bias is not None:
                        sd[p + f"{name}_proj.bias"] = bias.detach()[rows]
            bias = self._output_bias(layer, hs, means)
            if bias is not None:
                sd[p + "o_bias"] = bias
        return sd

    def _output_bias(self, layer: int, kept: list[int], means: torch.Tensor | None) -> torch.Tensor | None:
        """o_proj's own bias plus, for mean ablation, sum over removed heads h of W_o[:, h] @ means[layer, h]."""
        o = self.attn[layer].o_proj
        w, own = o.weight.detach(), (o.bias.detach() if o.bias is not None else None)
        gone = [h for h in range(self.n_heads) if h not in kept]
        folded = None
        if means is not None and gone:
            folded = w[:, head_rows(gone, self.d_head, w.device)].double() @ means[layer, gone].flatten().to(w.device)
        if own is None:
            return None if folded is None else folded.to(w.dtype)
        return own.clone() if folded is None else (own.double() + folded).to(w.dtype)

    def parameter_delta(self, kept: list, kept_kv: list, o_bias: list[bool]) -> tuple[int, int]:
        """(parameters deleted, parameters added): q/k/v rows and biases, o_proj columns and the q/k norms
        of layers left without heads; new output biases."""
        dh, removed, added = self.d_head, 0, 0
        for a, hs, kvs, has_bias in zip(self.attn, kept, kept_kv, o_bias):
            gone_q, gone_kv = self.n_heads - len(hs), self.n_kv_heads - len(kvs)
            removed += (gone_q + gone_kv) * dh * self.d_model * 2  # q rows + o columns, k + v rows
            removed += (gone_q + 2 * gone_kv) * dh if a.q_proj.bias is not None else 0
            removed += 0 if hs else a.q_norm.weight.numel() + a.k_norm.weight.numel()
            added += self.d_model if has_bias and a.o_proj.bias is None else 0
        return removed, added


def gemma_source(model: Any) -> GemmaSource:
    """The :class:`GemmaSource` of a LoadedModel holding a Gemma 3 text model; InputError if its layout is off."""
    hf = model.hf_model
    c = hf.config
    n_layers, n_heads, n_kv, d_head, d_model = (int(c.num_hidden_layers), int(c.num_attention_heads),
                                                int(c.num_key_value_heads), int(c.head_dim), int(c.hidden_size))
    if n_kv < 1 or n_heads % n_kv:
        raise InputError(f"n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv})")
    layers = hf.model.layers
    if len(layers) != n_layers:
        raise InputError(f"{model.name!r} has {len(layers)} decoder layers but its config says {n_layers}")
    attn = [layer.self_attn for layer in layers]
    expected = {"q_proj": (n_heads * d_head, d_model), "k_proj": (n_kv * d_head, d_model),
                "v_proj": (n_kv * d_head, d_model), "o_proj": (d_model, n_heads * d_head)}
    for i, a in enumerate(attn):
        for name, shape in expected.items():
            got = tuple(getattr(getattr(a, name, None), "weight", torch.empty(0)).shape)
            if got != shape:
                raise InputError(f"layer {i}: self_attn.{name}.weight has shape {list(got)}, expected {list(shape)} "
                                 f"for {n_heads} query / {n_kv} KV heads of {d_head}: export_pruned cannot slice it")
    return GemmaSource(hf_model=hf, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv, d_head=d_head,
                       d_model=d_model, attn=attn)
