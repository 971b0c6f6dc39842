"""A plain-PyTorch forward pass for Llama-family models, built for masked head evaluation.

It reads the Hugging Face weights (references, no copies) and runs the same computation as
``LlamaForCausalLM`` with three shortcuts the engine needs:

* the residual stream can enter at any layer (``run_layers(h, start, stop)``), so a prefix that does
  not depend on the mask is computed once per question;
* the last layer computes only the last position (the only one that is scored);
* logits are computed only for the answer tokens at the last position.

Heads are masked exactly where the TransformerLens bridge's ``blocks.{l}.attn.hook_z`` sits: the
per-query-head input of the output projection, through :meth:`hooks.HeadAblation.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F

# (z [batch, pos, n_heads, d_head], layer) -> z
HeadFn = Callable[[torch.Tensor, int], torch.Tensor]


@dataclass
class LayerWeights:
    ln1: torch.Tensor
    q: torch.Tensor
    k: torch.Tensor
    v: torch.Tensor
    o: torch.Tensor
    ln2: torch.Tensor
    gate: torch.Tensor
    up: torch.Tensor
    down: torch.Tensor
    q_bias: torch.Tensor | None = None
    k_bias: torch.Tensor | None = None
    v_bias: torch.Tensor | None = None
    o_bias: torch.Tensor | None = None


@dataclass
class LlamaWeights:
    """Parameters of a Llama-family model, as references to the Hugging Face tensors."""

    embed: torch.Tensor  # [vocab, d_model]
    layers: list[LayerWeights]
    norm: torch.Tensor  # [d_model]
    lm_head: torch.Tensor  # [vocab, d_model]
    rotary: Any  # the model's rotary embedding module: (x, position_ids) -> (cos, sin)
    n_heads: int
    n_kv_heads: int
    d_head: int
    eps: float

    @property
    def n_layers(self) -> int:
        return len(self.layers)


SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2")


def extract_weights(hf_model: Any) -> LlamaWeights | None:
    """Weights for the fast backend, or ``None`` when the architecture is not a supported Llama type."""
    cfg = hf_model.config
    if getattr(cfg, "model_type", None) not in SUPPORTED_MODEL_TYPES or getattr(cfg, "sliding_window", None):
        return None
    base = hf_model.model
    layers = []
    for layer in base.layers:
        a, m = layer.self_attn, layer.mlp
        layers.append(LayerWeights(
            ln1=layer.input_layernorm.weight, q=a.q_proj.weight, k=a.k_proj.weight, v=a.v_proj.weight,
            o=a.o_proj.weight, ln2=layer.post_attention_layernorm.weight, gate=m.gate_proj.weight,
            up=m.up_proj.weight, down=m.down_proj.weight, q_bias=a.q_proj.bias, k_bias=a.k_proj.bias,
            v_bias=a.v_proj.bias, o_bias=a.o_proj.bias,
        ))
    n_heads = cfg.num_attention_heads
    return LlamaWeights(
        embed=base.embed_tokens.weight, layers=layers, norm=base.norm.weight, lm_head=hf_model.lm_head.weight,
        rotary=base.rotary_emb, n_heads=n_heads, n_kv_heads=cfg.num_key_value_heads or n_heads,
        d_head=getattr(cfg, "head_dim", None) or cfg.hidden_size // n_heads, eps=cfg.rms_norm_eps,
    )


@dataclass
class Prepared:
    """Per-batch state shared by every layer: rotary tables and the attention mask."""

    cos: torch.Tensor  # [batch, pos, d_head]
    sin: torch.Tensor
    allowed: torch.Tensor  # bool [batch, 1, pos, pos]: causal, non-pad keys, and the diagonal
    _signed_sin: torch.Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def signed_sin(self) -> torch.Tensor:
        """sin with its first half negated [batch, pos, d_head]: the rotary embedding of x is
        x * cos + roll(x, d_head / 2) * signed_sin (the same products as HF's rotate_half, bit for bit)."""
        if self._signed_sin is None:
            half = self.sin.shape[-1] // 2
            self._signed_sin = torch.cat([-self.sin[..., :half], self.sin[..., half:]], dim=-1)
        return self._signed_sin

    def repeat(self, n: int) -> "Prepared":
        """The same state for ``n`` stacked copies of the batch (copy-major)."""
        return Prepared(self.cos.repeat(n, 1, 1), self.sin.repeat(n, 1, 1), self.allowed.repeat(n, 1, 1, 1))


def prepare(w: LlamaWeights, attention_mask: torch.Tensor, dtype: torch.dtype) -> Prepared:
    """Rotary tables and attention mask for a left-padded batch. attention_mask: [batch, pos] (1 = token)."""
    am = attention_mask.bool()
    b, p = am.shape
    position_ids = (am.long().cumsum(-1) - 1).clamp(min=0)
    dummy = torch.empty(0, dtype=dtype, device=am.device)
    cos, sin = w.rotary(dummy, position_ids)
    causal = torch.ones(p, p, dtype=torch.bool, device=am.device).tril()
    allowed = causal[None] & am[:, None, :]
    allowed = allowed | torch.eye(p, dtype=torch.bool, device=am.device)[None]  # pad queries see themselves (no NaN)
    return Prepared(cos.to(dtype), sin.to(dtype), allowed[:, None])


def embed(w: LlamaWeights, input_ids: torch.Tensor) -> torch.Tensor:
    """[batch, pos] -> residual stream [batch, pos, d_model]."""
    return F.embedding(input_ids, w.embed)


def run_layers(w: LlamaWeights, h: torch.Tensor, prep: Prepared, start: int, stop: int, *,
               head_fn: HeadFn | None = None, last_only_final: bool = False) -> torch.Tensor:
    """Run layers ``start..stop-1`` on the residual stream ``h`` [batch, pos, d_model].

    ``head_fn(z, layer)`` edits the per-head attention output z [batch, pos, n_heads, d_head] before
    the output projection. With ``last_only_final`` the last layer run computes the last position only,
    and the result is [batch, 1, d_model].
    """
    for layer in range(start, stop):
        last_only = last_only_final and layer == stop - 1
        h = _layer(w, w.layers[layer], layer, h, prep, head_fn, last_only)
    return h


def answer_logits(w: LlamaWeights, h_last: torch.Tensor, choice_ids: torch.Tensor) -> torch.Tensor:
    """Logits of the answer tokens at the last position.

    h_last: [copies * n_q, d_model] (copy-major); choice_ids: [n_q, n_choices] -> [copies, n_q, n_choices] (float32).
    The norm and the products run in float32 even for a bfloat16 model: a bfloat16 dot product over
    d_model rounds the logits enough to flip close answers (ties count as wrong).
    """
    n_q = choice_ids.shape[0]
    x = h_last.float()  # the final norm and the answer logits in float32 whatever the model dtype
    x = (w.norm.float() * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + w.eps))).view(-1, n_q, x.shape[-1])
    unembed = w.lm_head[choice_ids].float()  # [n_q, n_choices, d_model]
    return torch.einsum("mqd,qcd->mqc", x, unembed)


def _rms(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    dtype = x.dtype
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return weight * xf.to(dtype)


def _layer(w: LlamaWeights, lw: LayerWeights, layer: int, h: torch.Tensor, prep: Prepared,
           head_fn: HeadFn | None, last_only: bool) -> torch.Tensor:
    x = _rms(h, lw.ln1, w.eps)
    q, k, v = project_qkv(w, lw, x, prep, last_only=last_only)
    allowed = prep.allowed[:, :, -1:] if last_only else prep.allowed
    z = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, enable_gqa=w.n_kv_heads != w.n_heads)
    return finish_layer(w, lw, layer, h, z, head_fn, last_only)


def project_qkv(w: LlamaWeights, lw: LayerWeights, x: torch.Tensor, prep: Prepared, *,
                last_only: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rotated queries and keys, and values, of the normed residual x [b, pos, d_model].

    Returns q [b, n_heads, pq, d_head] (pq = 1 with ``last_only``, else pos), k and v
    [b, n_kv_heads, pos, d_head]; rotary tables from ``prep`` (batch b or 1).
    """
    b, p, _ = x.shape
    nq, nkv, dh = w.n_heads, w.n_kv_heads, w.d_head
    cos, sin = prep.cos[:, :, None], prep.signed_sin()[:, :, None]  # [b|1, pos, 1, d_head]
    xq = x[:, -1:] if last_only else x
    cq, sq = (cos[:, -1:], sin[:, -1:]) if last_only else (cos, sin)
    q = _rope(F.linear(xq, lw.q, lw.q_bias).view(b, xq.shape[1], nq, dh), cq, sq)
    k = _rope(F.linear(x, lw.k, lw.k_bias).view(b, p, nkv, dh), cos, sin)
    v = F.linear(x, lw.v, lw.v_bias).view(b, p, nkv, dh)
    return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)


def _rope(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x [b, pos, heads, d_head]; cos, signed_sin broadcast as [b|1, pos, 1, d_head]."""
    return x * cos + x.roll(x.shape[-1] // 2, dims=-1) * signed_sin


def finish_layer(w: LlamaWeights, lw: LayerWeights, layer: int, h: torch.Tensor, z: torch.Tensor,
                 head_fn: HeadFn | None, last_only: bool) -> torch.Tensor:
    """The rest of a layer after attention: head edit, output projection, residual, MLP.

    h: the layer's input [b, pos, d_model]; z: attention output [b, n_heads, pq, d_head].
    Returns [b, pq, d_model] (pq = 1 with ``last_only``).
    """
    b, pq = z.shape[0], z.shape[2]
    z = z.transpose(1, 2)  # [b, pq, n_heads, d_head]: the hook_z site
    if head_fn is not None:
        z = head_fn(z, layer)
    h = (h[:, -1:] if last_only else h) + F.linear(z.reshape(b, pq, -1), lw.o, lw.o_bias)
    return h + mlp(lw, _rms(h, lw.ln2, w.eps))


def mlp(lw: LayerWeights, x: torch.Tensor) -> torch.Tensor:
    """The gated MLP down(silu(gate(x)) * up(x)) of a normed residual x [b, pos, d_model].

    Without autograd the activation and the product run in place on the gate's output: the same values,
    bit for bit, and two [b, pos, d_ff] tensors fewer to allocate per layer (fresh large allocations
    page-fault on the CPU; ~15% of the MLP's time at 8k tokens).
    """
    gate = F.linear(x, lw.gate)
    if torch.is_grad_enabled() and (x.requires_grad or gate.requires_grad):
        return F.linear(F.silu(gate) * F.linear(x, lw.up), lw.down)
    return F.linear(F.silu(gate, inplace=True).mul_(F.linear(x, lw.up)), lw.down)
