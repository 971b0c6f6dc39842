"""A plain-PyTorch forward pass for Gemma 3 (text), built for masked head evaluation.

The same interface and shortcuts as :mod:`headspex.engine.fast_forward` (Llama family): the residual
stream can enter at any layer, the last layer computes only the last position, and only the answer
tokens' logits are computed. It reads the Hugging Face weights of a ``Gemma3ForCausalLM`` (references, no
copies) and runs the computation of ``transformers.models.gemma3.modeling_gemma3``:

* the embedding times sqrt(hidden_size), the scale cast to the weights' dtype first;
* Gemma's RMSNorm, ``(normed(x.float()) * (1 + w.float())).type_as(x)``, four per layer (before and after
  attention, before and after the MLP) plus one on the queries and one on the keys of each head;
* attention scaled by ``query_pre_attn_scalar ** -0.5``; "sliding_attention" layers see only the
  ``sliding_window`` most recent positions (themselves included), "full_attention" layers everything
  before them; each layer type has its own rotary table (the model's rotary module computes both);
* the gated MLP ``down(act(gate(x)) * up(x))`` (GELU-tanh for Gemma 3);
* ``final_logit_softcapping`` on the answer logits when the config sets it. (``attn_logit_softcapping``
  is not applied: Hugging Face's Gemma 3 attention does not pass it to its kernels either.)

Heads are masked at the input of ``o_proj``, the generic path's site (``head_fn(z, layer)`` with z
[batch, pos, n_heads, d_head]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F


# (z [batch, pos, n_heads, d_head], layer) -> z
HeadFn = Callable[[torch.Tensor, int], torch.Tensor]

SUPPORTED_MODEL_TYPES = ("gemma3_text",)
SLIDING = "sliding_attention"


@dataclass
class GemmaLayer:
    kind: str  # "sliding_attention" or "full_attention"
    ln_in: torch.Tensor
    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    q_norm: torch.Tensor
    k_norm: torch.Tensor
    o: torch.Tensor
    ln_post_attn: torch.Tensor
    ln_pre_mlp: torch.Tensor
    gate: torch.Tensor
    up: torch.Tensor
    down: torch.Tensor
    ln_post_mlp: torch.Tensor
    act: Callable[[torch.Tensor], torch.Tensor]
    q_bias: torch.Tensor | None = None
    k_bias: torch.Tensor | None = None
    v_bias: torch.Tensor | None = None
    o_bias: torch.Tensor | None = None


@dataclass
class GemmaWeights:
    """Parameters of a Gemma 3 text model, as references to the Hugging Face tensors."""

    embed: torch.Tensor  # [vocab, d_model]
    embed_scale: torch.Tensor  # scalar buffer (float32): sqrt(d_model)
    layers: list[GemmaLayer]
    norm: torch.Tensor  # [d_model]
    lm_head: torch.Tensor  # [vocab, d_model]
    rotary: Any  # the model's rotary module: (x, position_ids, layer_type) -> (cos, sin)
    n_heads: int
    n_kv_heads: int
    d_head: int
    eps: float
    scaling: float  # query_pre_attn_scalar ** -0.5
    sliding_window: int | None
    final_softcap: float | None

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def layer_types(self) -> list[str]:
        return [lw.kind for lw in self.layers]


def extract_gemma_weights(hf_model: Any) -> GemmaWeights | None:
    """Weights for the Gemma fast forward, or ``None`` when ``hf_model`` is not a Gemma 3 text causal LM."""
    cfg = getattr(hf_model, "config", None)
    if getattr(cfg, "model_type", None) not in SUPPORTED_MODEL_TYPES \
            or getattr(cfg, "use_bidirectional_attention", False):
        return None
    base = getattr(hf_model, "model", None)
    if base is None or not hasattr(base, "layers") or not hasattr(hf_model, "lm_head"):
        return None
    types = list(cfg.layer_types)
    layers = []
    for layer, kind in zip(base.layers, types):
        a, m = layer.self_attn, layer.mlp
        layers.append(GemmaLayer(
            kind=kind, ln_in=layer.input_layernorm.weight, q=a.q_proj.weight, k=a.k_proj.weight, v=a.v_proj.weight,
            q_norm=a.q_norm.weight, k_norm=a.k_norm.weight, o=a.o_proj.weight,
            ln_post_attn=layer.post_attention_layernorm.weight, ln_pre_mlp=layer.pre_feedforward_layernorm.weight,
            gate=m.gate_proj.weight, up=m.up_proj.weight, down=m.down_proj.weight,
            ln_post_mlp=layer.post_feedforward_layernorm.weight, act=m.act_fn,
            q_bias=a.q_proj.bias, k_bias=a.k_proj.bias, v_bias=a.v_proj.bias, o_bias=a.o_proj.bias,
        ))
    n_heads = cfg.num_attention_heads
    return GemmaWeights(
        embed=base.embed_tokens.weight, embed_scale=base.embed_tokens.embed_scale, layers=layers,
        norm=base.norm.weight, lm_head=hf_model.lm_head.weight, rotary=base.rotary_emb, n_heads=n_heads,
        n_kv_heads=cfg.num_key_value_heads or n_heads, d_head=cfg.head_dim or cfg.hidden_size // n_heads,
        eps=cfg.rms_norm_eps, scaling=float(cfg.query_pre_attn_scalar) ** -0.5,
        sliding_window=cfg.sliding_window if SLIDING in types else None,
        final_softcap=getattr(cfg, "final_logit_softcapping", None),
    )


@dataclass
class Prepared:
    """Per-batch state shared by every layer, per layer type: rotary tables and attention masks."""

    cos: dict[str, torch.Tensor]  # layer type -> [batch, pos, d_head]
    sin: dict[str, torch.Tensor]
    allowed: dict[str, torch.Tensor]  # layer type -> bool [batch, 1, pos, pos]
    _signed_sin: dict[str, torch.Tensor] = field(default_factory=dict, init=False, repr=False, compare=False)

    def signed_sin(self, kind: str) -> torch.Tensor:
        """sin with its first half negated (see :meth:`fast_forward.Prepared.signed_sin`)."""
        if kind not in self._signed_sin:
            sin = self.sin[kind]
            half = sin.shape[-1] // 2
            self._signed_sin[kind] = torch.cat([-sin[..., :half], sin[..., half:]], dim=-1)
        return self._signed_sin[kind]

    def repeat(self, n: int) -> "Prepared":
        """The same state for ``n`` stacked copies of the batch (copy-major); shared tensors stay shared."""
        done: dict[int, torch.Tensor] = {}

        def rep(t: torch.Tensor) -> torch.Tensor:
            if id(t) not in done:
                done[id(t)] = t.repeat(n, *([1] * (t.dim() - 1)))
            return done[id(t)]

        return Prepared({k: rep(v) for k, v in self.cos.items()}, {k: rep(v) for k, v in self.sin.items()},
                        {k: rep(v) for k, v in self.allowed.items()})


def prepare(w: GemmaWeights, attention_mask: torch.Tensor, dtype: torch.dtype) -> Prepared:
    """Rotary tables and attention masks of each layer type for a left-padded batch [batch, pos] (1 = token).

    Full layers: causal over real tokens; sliding layers: also at most ``sliding_window - 1`` positions back
    (positions counted in real tokens, as Hugging Face's mask does for a left-padded batch). Pad queries see
    themselves (no NaN); nothing real sees a pad.
    """
    am = attention_mask.bool()
    p = am.shape[1]
    pos = (am.long().cumsum(-1) - 1).clamp(min=0)
    dummy = torch.empty(0, dtype=dtype, device=am.device)
    cos, sin = {}, {}
    for kind in sorted(set(w.layer_types)):
        c, s = w.rotary(dummy, pos, kind)
        cos[kind], sin[kind] = c.to(dtype), s.to(dtype)
    causal = torch.ones(p, p, dtype=torch.bool, device=am.device).tril()
    eye = torch.eye(p, dtype=torch.bool, device=am.device)[None]
    full = ((causal[None] & am[:, None, :]) | eye)[:, None]
    allowed = {}
    for kind in cos:
        if kind == SLIDING and w.sliding_window is not None and p > w.sliding_window:
            near = (pos[:, :, None] - pos[:, None, :]) < w.sliding_window  # [batch, q, k]
            allowed[kind] = ((causal[None] & am[:, None, :] & near) | eye)[:, None]
        else:  # a window longer than the batch changes nothing: share the full mask
            allowed[kind] = full
    return Prepared(cos, sin, allowed)


def embed(w: GemmaWeights, input_ids: torch.Tensor) -> torch.Tensor:
    """[batch, pos] -> residual stream [batch, pos, d_model] (scaled as Hugging Face does, in the weights' dtype)."""
    return F.embedding(input_ids, w.embed) * w.embed_scale.to(w.embed.dtype)


def run_layers(w: GemmaWeights, h: torch.Tensor, prep: Prepared, start: int, stop: int, *,
               head_fn: HeadFn | None = None, last_only_final: bool = False) -> torch.Tensor:
    """Run layers ``start..stop-1`` on the residual stream ``h`` [batch, pos, d_model].

    ``head_fn(z, layer)`` edits the per-head attention output z [batch, pos, n_heads, d_head] before
    ``o_proj``. With ``last_only_final`` the last layer run computes the last position only, and the
    result is [batch, 1, d_model].
    """
    for layer in range(start, stop):
        h = _layer(w, w.layers[layer], layer, h, prep, head_fn, last_only_final and layer == stop - 1)
    return h


def answer_logits(w: GemmaWeights, h_last: torch.Tensor, choice_ids: torch.Tensor) -> torch.Tensor:
    """Logits of the answer tokens at the last position, float32.

    h_last: [copies * n_q, d_model] (copy-major); choice_ids: [n_q, n_choices] -> [copies, n_q, n_choices].
    The final norm and the products run in float32 whatever the model dtype (as fast_forward.answer_logits).
    """
    n_q = choice_ids.shape[0]
    x = h_last.float()
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + w.eps) * (1.0 + w.norm.float())
    logits = torch.einsum("mqd,qcd->mqc", x.view(-1, n_q, x.shape[-1]), w.lm_head[choice_ids].float())
    if w.final_softcap:
        logits = torch.tanh(logits / w.final_softcap) * w.final_softcap
    return logits


def _norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Gemma's RMSNorm: in float32, scaled by (1 + weight), then back to x's dtype.

    Hugging Face's operations in its order (the same values, bit for bit), with the products in place on
    a fresh tensor: fewer passes over memory, which the elementwise work on one CPU thread feels."""
    xf = x.float()
    scale = xf.pow(2).mean(-1, keepdim=True).add_(eps).rsqrt_()
    w1 = 1.0 + weight.float()
    if _tracks_grad(xf, weight):
        return (xf * scale * w1).type_as(x)
    out = xf.mul_(scale) if xf is not x else xf * scale  # x.float() is x itself in float32
    return out.mul_(w1).type_as(x)


def _tracks_grad(*ts: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in ts)


def _rope(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x [b, pos, heads, d_head] (cos, signed_sin [b, pos, 1, d_head]): x * cos +
    roll(x, d_head / 2) * signed_sin, as fast_forward._rope (Hugging Face's rotate_half, bit for bit)."""
    if _tracks_grad(x):
        return x * cos + x.roll(x.shape[-1] // 2, dims=-1) * signed_sin
    rolled = x.roll(x.shape[-1] // 2, dims=-1).mul_(signed_sin)
    return (x * cos).add_(rolled)


def _layer(w: GemmaWeights, lw: GemmaLayer, layer: int, h: torch.Tensor, prep: Prepared,
           head_fn: HeadFn | None, last_only: bool) -> torch.Tensor:
    b, p, _ = h.shape
    nq, nkv, dh, eps = w.n_heads, w.n_kv_heads, w.d_head, w.eps
    x = _norm(h, lw.ln_in, eps)
    cos, sin = prep.cos[lw.kind][:, :, None], prep.signed_sin(lw.kind)[:, :, None]  # [b, pos, 1, d_head]
    xq, cq, sq = (x[:, -1:], cos[:, -1:], sin[:, -1:]) if last_only else (x, cos, sin)
    pq = xq.shape[1]
    q = _rope(_norm(F.linear(xq, lw.q, lw.q_bias).view(b, pq, nq, dh), lw.q_norm, eps), cq, sq)
    k = _rope(_norm(F.linear(x, lw.k, lw.k_bias).view(b, p, nkv, dh), lw.k_norm, eps), cos, sin)
    v = F.linear(x, lw.v, lw.v_bias).view(b, p, nkv, dh)
    allowed = prep.allowed[lw.kind]
    if last_only:
        allowed = allowed[:, :, -1:]
    z = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=allowed,
                                       scale=w.scaling, enable_gqa=nkv != nq)
    z = z.transpose(1, 2)  # [b, pq, n_heads, d_head]: the input of o_proj
    if head_fn is not None:
        z = head_fn(z, layer)
    attn = F.linear(z.reshape(b, pq, nq * dh), lw.o, lw.o_bias)
    h = (h[:, -1:] if last_only else h) + _norm(attn, lw.ln_post_attn, eps)
    return h + _norm(_mlp(lw, _norm(h, lw.ln_pre_mlp, eps)), lw.ln_post_mlp, eps)


def _mlp(lw: GemmaLayer, x: torch.Tensor) -> torch.Tensor:
    """down(act(gate(x)) * up(x)); without autograd the product runs in place on the activation's output."""
    act = lw.act(F.linear(x, lw.gate))
    up = F.linear(x, lw.up)
    if torch.is_grad_enabled() and (act.requires_grad or up.requires_grad):
        return F.linear(act * up, lw.down)
    return F.linear(act.mul_(up), lw.down)
