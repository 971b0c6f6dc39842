"""A Gemma 3 text model whose layers have different numbers of attention heads: the pruned Gemma 3
checkpoints that ``headspex.export_pruned`` writes.

These classes subclass Hugging Face's Gemma 3 (``Gemma3ForCausalLM``, model_type ``gemma3_text``) and
change one thing: each layer's ``self_attn`` is a :class:`PrunedGemma3Attention` with that layer's own
query and key/value heads. Everything else is Hugging Face Gemma 3: the embedding scaled by
sqrt(hidden_size), the four RMSNorms per layer (``post_attention_layernorm`` applied to the attention
output before the residual add), the GELU-tanh MLP, QK-norm (``q_norm`` / ``k_norm`` act on each head's
``head_dim`` vector with one weight shared by all heads, so they are kept whole), the
``query_pre_attn_scalar ** -0.5`` scaling, sliding-window and full layers (``config.layer_types``), the
per-layer-type rotary embeddings, final logit soft-capping, tied embeddings and the attention kernel
(``config._attn_implementation``; SDPA by default).

The config keeps the original geometry (``num_attention_heads``, ``num_key_value_heads``, ``head_dim``)
and adds, per layer:

* ``kept_heads[l]``: the original indices of the query heads kept (sorted);
* ``kept_kv_heads[l]``: the original indices of the key/value heads kept: exactly those read by a kept
  query head (query head ``h`` reads KV head ``h // (num_attention_heads // num_key_value_heads)``);
* ``o_bias_layers[l]``: whether the layer has an output bias ``o_bias`` [hidden]: a mean-ablation bias
  folded in by the export (plus o_proj's own bias when ``attention_bias``). It is added to o_proj's output
  INSIDE ``self_attn``, so ``post_attention_layernorm`` sees it exactly as it saw the ablated heads' output.

Key/value layout: each kept KV head is stored once (k_proj / v_proj rows and the KV cache hold only the
kept KV heads, never duplicates). When every kept KV head keeps the same number ``g`` of query heads, the
attention kernel repeats KV heads natively (``num_key_value_groups = g``). When the kept query heads split
unevenly over the kept KV heads (e.g. 1 and 2), keys and values are expanded to one per kept query head
(``kv_map``) after the cache update and before the kernel, with ``num_key_value_groups = 1``.

A layer with no query head left has no projections and no QK-norm: its attention adds only ``o_bias`` (or
nothing) to the residual path, through ``post_attention_layernorm`` as before.

This file is self-contained (torch and transformers only): the export copies it into the checkpoint as
``modeling_headspex_pruned_gemma3.py`` and sets ``auto_map`` in config.json, so
``AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)`` loads it without headspex installed.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn
from transformers import Gemma3TextConfig
from transformers.models.gemma3 import modeling_gemma3 as hf_gemma3

PRUNED_GEMMA3_MODEL_TYPE = "headspex_pruned_gemma3"


class PrunedGemma3Config(Gemma3TextConfig):
    """``Gemma3TextConfig`` plus the kept heads of each layer (original indices; ``None`` = all kept)."""

    model_type = PRUNED_GEMMA3_MODEL_TYPE

    kept_heads: list | None = None
    kept_kv_heads: list | None = None
    o_bias_layers: list | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        n, n_q, n_kv = self.num_hidden_layers, self.num_attention_heads, self.num_key_value_heads
        if n_kv < 1 or n_q % n_kv:
            raise ValueError(f"num_attention_heads ({n_q}) must be a multiple of num_key_value_heads ({n_kv})")
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


class PrunedGemma3Attention(nn.Module):
    """Gemma 3 attention with this layer's own heads.

    Projections: q_proj [n_heads * d_head, hidden], k_proj and v_proj [n_kv_heads * d_head, hidden] (biased
    iff ``attention_bias``), o_proj [hidden, n_heads * d_head] (no bias), then ``o_bias`` [hidden] if the
    layer has one; q_norm / k_norm [d_head] as in Gemma 3. ``kv_map[i]``: the kept KV head (an index into
    the kept KV heads) that kept query head i reads.
    """

    def __init__(self, config: PrunedGemma3Config, layer_idx: int) -> None:
        super().__init__()
        self.config, self.layer_idx = config, layer_idx
        self.layer_type = config.layer_types[layer_idx]
        self.head_dim = config.head_dim
        self.scaling = config.query_pre_attn_scalar ** -0.5
        self.attention_dropout = config.attention_dropout
        self.is_causal = not config.use_bidirectional_attention
        self.attn_logit_softcapping = config.attn_logit_softcapping
        self.is_sliding = self.layer_type == "sliding_attention"
        self.sliding_window = config.sliding_window if self.is_sliding else None
        kept, kept_kv = config.kept_heads[layer_idx], config.kept_kv_heads[layer_idx]
        group = config.num_attention_heads // config.num_key_value_heads
        self.n_heads, self.n_kv_heads = len(kept), len(kept_kv)
        self.kv_map = tuple(kept_kv.index(h // group) for h in kept)
        counts = {self.kv_map.count(i) for i in range(self.n_kv_heads)}
        uniform = len(counts) == 1  # kv_map is sorted, so then it is (0,..,0, 1,..,1, ...): the kernel's repeat
        self.num_key_value_groups = counts.pop() if uniform else 1
        self.expand_kv = self.n_heads > 0 and not uniform
        self._kv_index: dict[torch.device, torch.Tensor] = {}
        hidden, d, bias = config.hidden_size, self.head_dim, config.attention_bias
        if self.n_heads:
            self.q_proj = nn.Linear(hidden, self.n_heads * d, bias=bias)
            self.k_proj = nn.Linear(hidden, self.n_kv_heads * d, bias=bias)
            self.v_proj = nn.Linear(hidden, self.n_kv_heads * d, bias=bias)
            self.o_proj = nn.Linear(self.n_heads * d, hidden, bias=False)
            self.q_norm = hf_gemma3.Gemma3RMSNorm(d, eps=config.rms_norm_eps)  # positional: "dim" became "hidden_size" in transformers 5.25
            self.k_norm = hf_gemma3.Gemma3RMSNorm(d, eps=config.rms_norm_eps)  # positional: "dim" became "hidden_size" in transformers 5.25
        self.o_bias = nn.Parameter(torch.zeros(hidden)) if config.o_bias_layers[layer_idx] else None

    def forward(self, hidden_states: torch.Tensor, position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
                attention_mask: torch.Tensor | None = None, cache: Any = None, past_key_values: Any = None,
                **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """hidden_states [batch, pos, hidden] -> ([batch, pos, hidden], attention weights or None)."""
        cache = cache if cache is not None else past_key_values
        if not self.n_heads:
            return self._empty(hidden_states, cache), None
        input_shape = hidden_states.shape[:-1]
        shape = (*input_shape, -1, self.head_dim)
        q = self.q_norm(self.q_proj(hidden_states).view(shape).transpose(1, 2))
        k = self.k_norm(self.k_proj(hidden_states).view(shape).transpose(1, 2))
        v = self.v_proj(hidden_states).view(shape).transpose(1, 2)
        cos, sin = position_embeddings
        q, k = hf_gemma3.apply_rotary_pos_emb(q, k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx, kwargs=kwargs)
        if self.expand_kv:  # [b, n_kv, s, d] -> [b, n_heads, s, d]: one KV head per kept query head
            idx = self._index(k.device)
            k, v = k.index_select(1, idx), v.index_select(1, idx)
        attn, weights = _attention_fn(self.config)(
            self, q, k, v, attention_mask, dropout=self.attention_dropout if self.training else 0.0,
            scaling=self.scaling, sliding_window=self.sliding_window, **kwargs)
        out = self.o_proj(attn.reshape(*input_shape, -1).contiguous())
        return (out + self.o_bias if self.o_bias is not None else out), weights

    def _empty(self, hidden_states: torch.Tensor, cache: Any) -> torch.Tensor:
        """A layer without heads: zeros (plus o_bias).

        It still caches a placeholder [batch, 1, pos, 1] per step, so that the cache's lengths (read from
        layer 0, and kept per layer for sliding windows) count every token.
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


def _attention_fn(config: PrunedGemma3Config) -> Callable:
    """The attention kernel Hugging Face Gemma 3 would use (``config._attn_implementation``)."""
    impl = config._attn_implementation
    interfaces = hf_gemma3.ALL_ATTENTION_FUNCTIONS
    if hasattr(interfaces, "get_interface"):
        return interfaces.get_interface(impl, hf_gemma3.eager_attention_forward)
    return hf_gemma3.eager_attention_forward if impl in (None, "eager") else interfaces[impl]


class PrunedGemma3DecoderLayer(hf_gemma3.Gemma3DecoderLayer):
    """A Gemma 3 decoder layer (same forward) whose ``self_attn`` is a :class:`PrunedGemma3Attention`."""

    def __init__(self, config: PrunedGemma3Config, layer_idx: int) -> None:
        nn.Module.__init__(self)  # not Gemma3DecoderLayer.__init__: it would build a full-size attention first
        self.config, self.hidden_size, self.layer_idx = config, config.hidden_size, layer_idx
        self.self_attn = PrunedGemma3Attention(config, layer_idx)
        self.mlp = hf_gemma3.Gemma3MLP(config)
        for name in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                     "post_feedforward_layernorm"):
            setattr(self, name, hf_gemma3.Gemma3RMSNorm(config.hidden_size, eps=config.rms_norm_eps))


class PrunedGemma3PreTrainedModel(hf_gemma3.Gemma3PreTrainedModel):
    config_class = PrunedGemma3Config
    config: PrunedGemma3Config
    input_modalities = ("text",)
    _no_split_modules = ["PrunedGemma3DecoderLayer"]
    _can_record_outputs = {"hidden_states": PrunedGemma3DecoderLayer, "attentions": PrunedGemma3Attention}

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, PrunedGemma3Attention) and module.o_bias is not None:
            nn.init.zeros_(module.o_bias)


class PrunedGemma3TextModel(PrunedGemma3PreTrainedModel, hf_gemma3.Gemma3TextModel):
    """``Gemma3TextModel`` (same forward) built from :class:`PrunedGemma3DecoderLayer` s."""

    def __init__(self, config: PrunedGemma3Config) -> None:
        PrunedGemma3PreTrainedModel.__init__(self, config)
        self.padding_idx = config.pad_token_id
        self.vocab_size = config.vocab_size
        self.embed_tokens = hf_gemma3.Gemma3TextScaledWordEmbedding(
            config.vocab_size, config.hidden_size, self.padding_idx, embed_scale=config.hidden_size ** 0.5)
        self.layers = nn.ModuleList([PrunedGemma3DecoderLayer(config, i) for i in range(config.num_hidden_layers)])
        self.norm = hf_gemma3.Gemma3RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = hf_gemma3.Gemma3RotaryEmbedding(config)
        self.gradient_checkpointing = False
        self.post_init()


class PrunedGemma3ForCausalLM(PrunedGemma3PreTrainedModel, hf_gemma3.Gemma3ForCausalLM):
    """``Gemma3ForCausalLM`` (same forward, generation, soft-capping, tied embeddings) over a
    :class:`PrunedGemma3TextModel`."""

    def __init__(self, config: PrunedGemma3Config) -> None:
        PrunedGemma3PreTrainedModel.__init__(self, config)
        self.model = PrunedGemma3TextModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()


__all__ = ["PRUNED_GEMMA3_MODEL_TYPE", "PrunedGemma3Attention", "PrunedGemma3Config", "PrunedGemma3ForCausalLM",
           "PrunedGemma3TextModel"]
