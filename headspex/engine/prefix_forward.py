"""The fast forward split at a shared token prefix: the prefix once per mask, each question's suffix on top.

When the prompts of a split begin with the same tokens (few-shot exemplars, a chat template, an
instruction), the prefix's keys and values at each layer depend on the mask only, not on the question.
:func:`prefix_layers` runs the prefix once per mask (batch = masks) and keeps each layer's rotated keys
and values; :func:`suffix_layers` runs the questions' own tokens (batch = masks x questions, mask-major)
with every query attending to ``[prefix keys of its mask ; its own suffix keys]``.

Layout of a suffix batch: each question's suffix tokens are left-padded to a common length s; real
tokens sit at rotary positions ``P + index among the real suffix tokens``, exactly the positions the
same tokens have in the unsplit prompt, so the values equal :func:`fast_forward.run_layers` on the
whole prompts (up to summation order).

No input tensor is edited in place: gradients flow through ``head_fn`` as in ``run_layers``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from headspex.engine.fast_forward import HeadFn, LlamaWeights, Prepared, _rms, finish_layer, project_qkv

# per layer: (keys, values), each [m, n_kv_heads, P, d_head], keys rotated
PrefixKV = list[tuple[torch.Tensor, torch.Tensor]]


def prepare_prefix(w: LlamaWeights, n_prefix: int, dtype: torch.dtype, device: torch.device) -> Prepared:
    """Rotary tables (positions 0..P-1) and causal mask of the prefix, batch 1 (broadcast over masks)."""
    position_ids = torch.arange(n_prefix, device=device)[None]
    cos, sin = w.rotary(torch.empty(0, dtype=dtype, device=device), position_ids)
    causal = torch.ones(n_prefix, n_prefix, dtype=torch.bool, device=device).tril()
    return Prepared(cos.to(dtype), sin.to(dtype), causal[None, None])


def prepare_suffix(w: LlamaWeights, attention_mask: torch.Tensor, n_prefix: int, dtype: torch.dtype) -> Prepared:
    """State for left-padded suffixes behind a prefix of ``n_prefix`` = P tokens. attention_mask: [n_q, s] (1 = token).

    cos, sin: [n_q, s, d_head] at positions P + index among the real suffix tokens; allowed: bool
    [n_q, 1, s, P + s]: prefix keys always, suffix keys causal and non-pad, and the diagonal (pad queries
    see something).
    """
    am = attention_mask.bool()
    n_q, s = am.shape
    position_ids = n_prefix + (am.long().cumsum(-1) - 1).clamp(min=0)
    cos, sin = w.rotary(torch.empty(0, dtype=dtype, device=am.device), position_ids)
    causal = torch.ones(s, s, dtype=torch.bool, device=am.device).tril()
    own = (causal[None] & am[:, None, :]) | torch.eye(s, dtype=torch.bool, device=am.device)[None]
    prefix = torch.ones(n_q, s, n_prefix, dtype=torch.bool, device=am.device)
    return Prepared(cos.to(dtype), sin.to(dtype), torch.cat([prefix, own], dim=-1)[:, None])


def prefix_layers(w: LlamaWeights, h: torch.Tensor, prep: Prepared, start: int, stop: int, *,
                  head_fn: HeadFn | None = None, need_output: bool = True) -> tuple[torch.Tensor | None, PrefixKV]:
    """Run the prefix h [m, P, d_model] through layers ``start..stop-1``, keeping each layer's keys and values.

    Returns (h after layer stop-1 [m, P, d_model], or None without ``need_output``; [(k, v)] per layer,
    each [m, n_kv_heads, P, d_head]). Without ``need_output`` the last layer computes its keys and values only.
    """
    kv: PrefixKV = []
    for layer in range(start, stop):
        lw = w.layers[layer]
        q, k, v = project_qkv(w, lw, _rms(h, lw.ln1, w.eps), prep)
        kv.append((k, v))
        if layer == stop - 1 and not need_output:
            return None, kv
        z = F.scaled_dot_product_attention(q, k, v, attn_mask=prep.allowed, enable_gqa=w.n_kv_heads != w.n_heads)
        h = finish_layer(w, lw, layer, h, z, head_fn, False)
    return h, kv


def suffix_layers(w: LlamaWeights, h: torch.Tensor, prep: Prepared, kv: PrefixKV, start: int, stop: int, *,
                  head_fn: HeadFn | None = None, last_only_final: bool = False) -> torch.Tensor:
    """Run suffixes h [m * n_q, s, d_model] (mask-major) through layers ``start..stop-1`` behind a prefix.

    ``prep``: the suffix state repeated to batch m * n_q; ``kv[i]``: the prefix's keys and values at layer
    ``start + i``, [m, n_kv_heads, P, d_head] (m = 1 broadcasts over masks). With ``last_only_final`` the
    last layer computes the last position only and the result is [m * n_q, 1, d_model].
    """
    if len(kv) < stop - start:
        raise ValueError(f"prefix keys/values cover {len(kv)} layers; layers {start}..{stop - 1} need {stop - start}")
    for layer in range(start, stop):
        last_only = last_only_final and layer == stop - 1
        lw = w.layers[layer]
        q, k, v = project_qkv(w, lw, _rms(h, lw.ln1, w.eps), prep, last_only=last_only)
        k_pre, v_pre = kv[layer - start]
        keys, values = _join(k_pre, k), _join(v_pre, v)
        allowed = prep.allowed[:, :, -1:] if last_only else prep.allowed
        z = F.scaled_dot_product_attention(q, keys, values, attn_mask=allowed, enable_gqa=w.n_kv_heads != w.n_heads)
        h = finish_layer(w, lw, layer, h, z, head_fn, last_only)
    return h


def _join(pre: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """[m, kv, P, d] prefix and [m * n_q, kv, s, d] suffix -> [m * n_q, kv, P + s, d] (one copy)."""
    m, b = pre.shape[0], own.shape[0]
    if b % m:
        raise ValueError(f"suffix batch {b} is not a multiple of the prefix batch {m}")
    n_q = b // m
    own = own.reshape(m, n_q, *own.shape[1:])
    both = torch.cat([pre[:, None].expand(m, n_q, *pre.shape[1:]), own], dim=3)
    return both.view(b, *both.shape[2:])
