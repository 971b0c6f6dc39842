"""The generic path: head masks on any Hugging Face causal LM, at the input of its attention output projection.

Every decoder layer's attention ends in one linear map from the concatenated head outputs
``[batch, pos, n_heads * d_head]`` to the residual stream: ``o_proj`` (Llama, Gemma, Qwen, Mistral),
``c_proj`` (GPT-2), ``dense`` (GPT-NeoX, Phi, Falcon) or ``out_proj`` (OPT, GPT-J). Its input, viewed as
``[batch, pos, n_heads, d_head]``, is the same site as TransformerLens's ``blocks.{l}.attn.hook_z`` and
the fast path's head edit, so :class:`hooks.HeadAblation` applies there unchanged (zero or mean, one mask
row per example), through a forward pre-hook that exists only during one call.

The model runs as Hugging Face wrote it (its attention kernel, SDPA by default; sliding windows, QK-norm,
soft-capping and embedding scales included), with left padding, explicit position ids (so a padded
prompt sees the positions it would see alone), no KV cache and ``logits_to_keep=1`` where the model
accepts it: only the last position's logits are computed, and only the answer tokens' are returned.

:class:`GenericForward` finds the projections from the module tree; a model without them gets one
:class:`UnsupportedModelError` line naming what is missing.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any, Callable

import torch
from torch import nn

from headspex.errors import UnsupportedModelError

__all__ = ["ATTENTION_NAMES", "OUTPUT_PROJECTION_NAMES", "GenericForward", "HeadFn", "UnsupportedModelError"]

# (z [batch, pos, n_heads, d_head], layer) -> z
HeadFn = Callable[[torch.Tensor, int], torch.Tensor]

ATTENTION_NAMES = ("self_attn", "attn", "attention", "self_attention")
OUTPUT_PROJECTION_NAMES = ("o_proj", "c_proj", "dense", "out_proj")
_LAYER_LIST_NAMES = ("layers", "h", "blocks", "layer")


class GenericForward:
    """Masked forward passes of a Hugging Face causal LM, heads edited at the output projection's input.

    Args:
        hf_model: a ``*ForCausalLM`` module (not wrapped by a TransformerLens bridge).

    Attributes:
        projections: the output projection of each layer, in layer order.
        n_layers, n_heads, d_head: the query-head geometry read from the config and checked against
            the projections' input width.
    """

    def __init__(self, hf_model: nn.Module) -> None:
        self.hf_model = hf_model
        arch = type(hf_model).__name__
        cfg = hf_model.config
        text = cfg.get_text_config() if callable(getattr(cfg, "get_text_config", None)) else cfg
        layers = _decoder_layers(hf_model, text, arch)
        self.projections = [_output_projection(layer, i, arch) for i, layer in enumerate(layers)]
        self.n_layers = len(layers)
        self.n_heads = int(_first_attr(text, ("num_attention_heads", "n_head", "num_heads"), arch, "number of heads"))
        hidden = _first_attr(text, ("hidden_size", "n_embd", "d_model"), arch, "hidden size")
        self.d_head = int(getattr(text, "head_dim", None) or hidden // self.n_heads)
        width = _in_features(self.projections[0])
        if width != self.n_heads * self.d_head:
            raise UnsupportedModelError(
                f"{arch}: the attention output projection takes {width} inputs, not n_heads x d_head = "
                f"{self.n_heads} x {self.d_head}; headspex cannot split its input into heads")
        params = inspect.signature(hf_model.forward).parameters
        self.keeps_last_only = "logits_to_keep" in params
        self._takes_positions = "position_ids" in params

    @contextlib.contextmanager
    def head_hooks(self, head_fn: HeadFn, layers: list[int] | None = None) -> Iterator[None]:
        """Inside: every forward pass of the model edits the heads of ``layers`` (default all) with ``head_fn``.

        The pre-hooks are removed on exit, also after an exception.
        """
        handles = []
        try:
            for layer in range(self.n_layers) if layers is None else layers:
                handles.append(self.projections[layer].register_forward_pre_hook(self._pre_hook(head_fn, layer)))
            yield
        finally:
            for handle in handles:
                handle.remove()

    def last_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, *, head_fn: HeadFn | None = None,
                    layers: list[int] | None = None) -> torch.Tensor:
        """Logits at the last position [batch, vocab] (model dtype) of a left-padded batch [batch, pos].

        ``head_fn`` edits the heads of ``layers`` (default: every layer) on the way.
        """
        kwargs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask, "use_cache": False}
        if self._takes_positions:
            kwargs["position_ids"] = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        if self.keeps_last_only:
            kwargs["logits_to_keep"] = 1
        hooks = self.head_hooks(head_fn, layers) if head_fn is not None else contextlib.nullcontext()
        with hooks:
            logits = self.hf_model(**kwargs).logits
        return logits[:, -1]

    def answer_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, choice_ids: torch.Tensor, *,
                      head_fn: HeadFn | None = None, layers: list[int] | None = None) -> torch.Tensor:
        """The answer tokens' logits at the last position, float32.

        input_ids, attention_mask: [batch, pos]; choice_ids: [batch, n_choices] -> [batch, n_choices].
        """
        last = self.last_logits(input_ids, attention_mask, head_fn=head_fn, layers=layers)
        return torch.gather(last, 1, choice_ids.to(last.device)).float()

    def _pre_hook(self, head_fn: HeadFn, layer: int) -> Callable:
        n_heads, d_head = self.n_heads, self.d_head

        def hook(module: nn.Module, args: tuple) -> tuple:
            x = args[0]  # [batch, pos, n_heads * d_head]
            z = head_fn(x.view(*x.shape[:-1], n_heads, d_head), layer)
            return (z.reshape(x.shape), *args[1:])

        return hook


def _decoder_layers(hf_model: nn.Module, text_cfg: Any, arch: str) -> nn.ModuleList:
    """The model's list of decoder layers: the ModuleList named layers/h/blocks with one entry per layer."""
    n = getattr(text_cfg, "num_hidden_layers", None) or getattr(text_cfg, "n_layer", None)
    for name, module in hf_model.named_modules():
        if isinstance(module, nn.ModuleList) and name.rsplit(".", 1)[-1] in _LAYER_LIST_NAMES \
                and (n is None or len(module) == n):
            return module
    raise UnsupportedModelError(
        f"{arch}: no list of decoder layers found (a torch ModuleList named one of {_LAYER_LIST_NAMES}"
        + (f" with {n} entries" if n else "") + "); headspex cannot locate its attention heads")


def _output_projection(layer: nn.Module, index: int, arch: str) -> nn.Module:
    """The attention output projection of one decoder layer."""
    for attn_name in ATTENTION_NAMES:
        attn = getattr(layer, attn_name, None)
        if isinstance(attn, nn.Module):
            for proj_name in OUTPUT_PROJECTION_NAMES:
                proj = getattr(attn, proj_name, None)
                if isinstance(proj, nn.Module) and _in_features(proj) is not None:
                    return proj
            raise UnsupportedModelError(
                f"{arch}: layer {index}'s attention module ({attn_name}: {type(attn).__name__}) has no output "
                f"projection named one of {OUTPUT_PROJECTION_NAMES}; headspex masks heads at that projection's input")
    raise UnsupportedModelError(
        f"{arch}: layer {index} ({type(layer).__name__}) has no attention module named one of {ATTENTION_NAMES}; "
        "headspex masks heads at the input of the attention output projection")


def _in_features(proj: nn.Module) -> int | None:
    """Input width of a Linear (in_features) or of GPT-2's Conv1D (weight [in, out])."""
    if isinstance(proj, nn.Linear):
        return int(proj.in_features)
    weight = getattr(proj, "weight", None)
    if type(proj).__name__ == "Conv1D" and isinstance(weight, torch.Tensor) and weight.ndim == 2:
        return int(weight.shape[0])
    return None


def _first_attr(cfg: Any, names: tuple[str, ...], arch: str, what: str) -> int:
    for name in names:
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 0:
            return value
    raise UnsupportedModelError(f"{arch}: its config gives no {what} (looked for {', '.join(names)})")
