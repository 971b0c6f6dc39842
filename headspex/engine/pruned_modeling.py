"""A Llama model whose layers have different numbers of attention heads: the pruned checkpoints that
``headspex.export_pruned`` writes.

The plain Hugging Face ``LlamaForCausalLM`` holds one head count for every layer, so a checkpoint with
heads physically deleted needs its own classes. These subclass the Hugging Face Llama classes and
change one thing: each layer's ``self_attn`` is a :class:`PrunedLlamaAttention` with that layer's own
query and key/value heads. Embeddings, norms, MLPs, rotary embeddings, the causal + padding mask and the
attention kernel (SDPA by default, through ``config._attn_implementation``) are Hugging Face Llama's.

The config keeps the original geometry (``num_attention_heads``, ``num_key_value_heads``, ``head_dim``)
and adds, per layer:

* ``kept_heads[l]``: the original indices of the query heads kept (sorted);
* ``kept_kv_heads[l]``: the original indices of the key/value heads kept, those used by a kept query
  head (query head ``h`` reads KV head ``h // (num_attention_heads // num_key_value_heads)``);
* ``o_bias_layers[l]``: whether the layer has an output bias ``o_bias`` [hidden] (a mean-ablation bias
  folded in by the export, plus the original ``o_proj`` bias of models with ``attention_bias``).

A layer with no heads left keeps its residual path: its attention adds only ``o_bias`` (or nothing).

This file is self-contained (torch and transformers only): the export copies it into the checkpoint
as ``modeling_headspex_pruned.py`` and sets ``auto_map`` in config.json, so
``AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)`` loads the checkpoint without
headspex installed.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn
from transformers import LlamaConfig
from transformers.models.llama import modeling_llama as hf_llama

PRUNED_MODEL_TYPE = "headspex_pruned_llama"


class PrunedLlamaConfig(LlamaConfig):
    """``LlamaConfig`` plus the kept heads of each layer (original indices; ``None`` = all kept)."""

    model_type = PRUNED_MODEL_TYPE

    kept_heads: list | None = None
    kept_kv_heads: list | None = None
    o_bias_layers: list | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        n, n_q, n_kv = self.num_hidden_layers, self.num_attention_heads, self.num_key_value_heads
        group = n_q // n_kv
        if self.kept_heads is None:
            self.kept_heads = [list(range(n_q)) for _ in range(n)]
        self.kept_heads = [sorted(int(h) for h in hs) for hs in self.kept_heads]
        if self.kept_kv_heads is None:
            self.kept_kv_heads = [sorted({h // group for h in hs}) for hs in self.kept_heads]
        self.kept_kv_heads = [sorted(int(h) for h in hs) for hs in self.kept_kv_heads]
        if self.o_bias_layers is None:
            self.o_bias_layers = [bool(self.attention_bias)] * n
        self.o_bias_layers = [bool(b) for b in self.o_bias_layers]
        _check_layout(self.kept_heads, self.kept_kv_heads, self.o_bias_layers, n, n_q, n_kv)


def _check_layout(kept: list, kept_kv: list, o_bias: list, n: int, n_q: int, n_kv: int) -> None:
    if not (len(kept) == len(kept_kv) == len(o_bias) == n):
        raise ValueError(f"kept_heads, kept_kv_heads and o_bias_layers need one entry per layer ({n})")
    group = n_q // n_kv
    for layer, (hs, kvs) in enumerate(zip(kept, kept_kv)):
        if len(set(hs)) != len(hs) or any(not 0 <= h < n_q for h in hs):
            raise ValueError(f"layer {layer}: kept_heads must be distinct indices in 0..{n_q - 1}; got {hs}")
        if kvs != sorted({h // group for h in hs}):
            raise ValueError(f"layer {layer}: kept_kv_heads {kvs} must be the KV heads of kept_heads {hs}")


class PrunedLlamaAttention(nn.Module):
    """Llama attention with this layer's own heads.

    Projections: q_proj [n_heads * d_head, hidden], k_proj and v_proj [n_kv_heads * d_head, hidden],
    o_proj [hidden, n_heads * d_head] (no bias), then ``o_bias`` [hidden] if the layer has one. Each
    kept query head reads its original KV head through ``kv_map`` (an index into the kept KV heads),
    so groups may keep different numbers of query heads. With no heads, there are no projections.
    """

    def __init__(self, config: PrunedLlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx
        self.head_dim = config.head_dim
        self.scaling = self.head_dim ** -0.5
        self.attention_dropout = config.attention_dropout
        self.is_causal = True
        self.num_key_value_groups = 1  # keys and values are expanded per query head before the kernel
        kept, kept_kv = config.kept_heads[layer_idx], config.kept_kv_heads[layer_idx]
        group = config.num_attention_heads // config.num_key_value_heads
        self.n_heads, self.n_kv_heads = len(kept), len(kept_kv)
        self.kv_map = tuple(kept_kv.index(h // group) for h in kept)  # kept query head -> kept KV head
        self._kv_index: dict[torch.device, torch.Tensor] = {}
        hidden, d, bias = config.hidden_size, self.head_dim, config.attention_bias
        if self.n_heads:
            self.q_proj = nn.Linear(hidden, self.n_heads * d, bias=bias)
            self.k_proj = nn.Linear(hidden, self.n_kv_heads * d, bias=bias)
            self.v_proj = nn.Linear(hidden, self.n_kv_heads * d, bias=bias)
            self.o_proj = nn.Linear(self.n_heads * d, hidden, bias=False)
        self.o_bias = nn.Parameter(torch.zeros(hidden)) if config.o_bias_layers[layer_idx] else None

    def forward(self, hidden_states: torch.Tensor, position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
                attention_mask: torch.Tensor | None = None, cache: Any = None, past_key_values: Any = None,
                **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """hidden_states [batch, pos, hidden] -> ([batch, pos, hidden], attention weights or None)."""
        cache = cache if cache is not None else past_key_values
        b, p, _ = hidden_states.shape
        if not self.n_heads:
            return self._empty(hidden_states, cache), None
        q = self.q_proj(hidden_states).view(b, p, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(hidden_states).view(b, p, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(hidden_states).view(b, p, self.n_kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = position_embeddings
        q, k = hf_llama.apply_rotary_pos_emb(q, k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx)
        if self.kv_map != tuple(range(self.n_heads)):  # [b, n_kv, s, d] -> [b, n_heads, s, d]
            idx = self._index(k.device)
            k, v = k.index_select(1, idx), v.index_select(1, idx)
        attn, weights = _attention_fn(self.config)(
            self, q, k, v, attention_mask, dropout=0.0 if not self.training else self.attention_dropout,
            scaling=self.scaling, **kwargs)
        out = self.o_proj(attn.reshape(b, p, -1).contiguous())
        return (out + self.o_bias if self.o_bias is not None else out), weights

    def _empty(self, hidden_states: torch.Tensor, cache: Any) -> torch.Tensor:
        """A layer without heads: zeros (plus o_bias).

        It still caches a placeholder [batch, 1, pos, 1] per step: the cache reads its length from layer 0
        and counts an empty tensor as length 0, which would misplace later tokens.
        """
        b, p, _ = hidden_states.shape
        if cache is not None:
            placeholder = hidden_states.new_zeros(b, 1, p, 1)
            cache.update(placeholder, placeholder.clone(), self.layer_idx)
        out = hidden_states.new_zeros(hidden_states.shape)
        return out + self.o_bias if self.o_bias is not None else out

    def _index(self, device: torch.device) -> torch.Tensor:
        if device not in self._kv_index:
            self._kv_index[device] = torch.tensor(self.kv_map, dtype=torch.long, device=device)
        return self._kv_index[device]


def _attention_fn(config: PrunedLlamaConfig) -> Callable:
    """The attention kernel Hugging Face Llama would use (``config._attn_implementation``; SDPA by default)."""
    impl = config._attn_implementation
    interfaces = hf_llama.ALL_ATTENTION_FUNCTIONS
    if hasattr(interfaces, "get_interface"):
        return interfaces.get_interface(impl, hf_llama.eager_attention_forward)
    return hf_llama.eager_attention_forward if impl in (None, "eager") else interfaces[impl]


class PrunedLlamaDecoderLayer(hf_llama.LlamaDecoderLayer):
    """A Llama decoder layer whose ``self_attn`` is a :class:`PrunedLlamaAttention`."""

    def __init__(self, config: PrunedLlamaConfig, layer_idx: int) -> None:
        nn.Module.__init__(self)  # not LlamaDecoderLayer.__init__: it would build a full-size attention first
        self.hidden_size = config.hidden_size
        self.self_attn = PrunedLlamaAttention(config, layer_idx)
        self.mlp = hf_llama.LlamaMLP(config)
        self.input_layernorm = hf_llama.LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = hf_llama.LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)


class PrunedLlamaPreTrainedModel(hf_llama.LlamaPreTrainedModel):
    config_class = PrunedLlamaConfig
    config: PrunedLlamaConfig
    _no_split_modules = ["PrunedLlamaDecoderLayer"]
    _can_record_outputs = {"hidden_states": PrunedLlamaDecoderLayer, "attentions": PrunedLlamaAttention}

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, PrunedLlamaAttention) and module.o_bias is not None:
            nn.init.zeros_(module.o_bias)


class PrunedLlamaModel(PrunedLlamaPreTrainedModel, hf_llama.LlamaModel):
    """``LlamaModel`` (same forward) built from :class:`PrunedLlamaDecoderLayer` s."""

    def __init__(self, config: PrunedLlamaConfig) -> None:
        PrunedLlamaPreTrainedModel.__init__(self, config)
        self.padding_idx = config.pad_token_id
        self.vocab_size = config.vocab_size
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx)
        self.layers = nn.ModuleList([PrunedLlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers)])
        self.norm = hf_llama.LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = hf_llama.LlamaRotaryEmbedding(config=config)
        self.gradient_checkpointing = False
        self.post_init()


class PrunedLlamaForCausalLM(PrunedLlamaPreTrainedModel, hf_llama.LlamaForCausalLM):
    """``LlamaForCausalLM`` (same forward, generation, tied embeddings) over a :class:`PrunedLlamaModel`."""

    def __init__(self, config: PrunedLlamaConfig) -> None:
        PrunedLlamaPreTrainedModel.__init__(self, config)
        self.model = PrunedLlamaModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()


__all__ = ["PRUNED_MODEL_TYPE", "PrunedLlamaAttention", "PrunedLlamaConfig", "PrunedLlamaForCausalLM",
           "PrunedLlamaModel"]
