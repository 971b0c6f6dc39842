"""Batched head ablation driven by keep masks (1 = keep), at ``blocks.{l}.attn.hook_z``.

One mask row per example: row b of the mask ablates heads of example b only. A zero-ablated head's
output (the per-head input of the attention output projection) is multiplied by 0; a mean-ablated
head's output is replaced by its mean over a reference set (see :func:`hooks.compute_head_means`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

Player = tuple[int, int]
ABLATION_MODES = ("zero", "mean")


def hook_z_name(layer: int) -> str:
    """The TransformerLens hook point holding the per-head attention output of ``layer``."""
    return f"blocks.{layer}.attn.hook_z"


def full_keep_mask(masks: Any, *, n_layers: int, n_heads: int, players: Sequence[Player] | None = None) -> torch.Tensor:
    """Validate ``masks`` and expand it to a float keep mask [batch, n_layers, n_heads].

    ``masks`` is [batch, n_layers, n_heads], or [batch, n_players] with ``players`` listing the
    (layer, head) of each column (heads not listed are kept). Values must be 0 or 1.
    """
    m = torch.as_tensor(np.asarray(masks) if not isinstance(masks, torch.Tensor) else masks)
    if m.dtype == torch.bool:
        m = m.to(torch.uint8)
    if not torch.isfinite(m.double()).all() or not ((m == 0) | (m == 1)).all():
        bad = m[~((m == 0) | (m == 1))].flatten()[:3].tolist()
        raise ValueError(f"masks must be binary (1 = keep, 0 = ablate); found values {bad}")
    if players is None:
        if m.ndim != 3 or tuple(m.shape[1:]) != (n_layers, n_heads):
            raise ValueError(
                f"masks must have shape [batch, n_layers={n_layers}, n_heads={n_heads}] (or [batch, n_players] "
                f"with players=...); got {tuple(m.shape)}"
            )
        return m.float()
    players = validate_players(players, n_layers=n_layers, n_heads=n_heads)
    if m.ndim != 2 or m.shape[1] != len(players):
        raise ValueError(f"masks must have shape [batch, n_players={len(players)}] to match players; got {tuple(m.shape)}")
    full = torch.ones(m.shape[0], n_layers, n_heads)
    idx = torch.tensor(players, dtype=torch.long)
    full[:, idx[:, 0], idx[:, 1]] = m.float()
    return full


def validate_players(players: Sequence[Player], *, n_layers: int, n_heads: int) -> list[Player]:
    """Check a list of distinct (layer, head) pairs of integers inside the model; return it as int tuples.

    Entries must be ints or numpy integers: bools, floats (even 2.0) and strings are refused, not coerced.
    """
    from headspex._checks import check_pair
    from headspex.errors import InputError

    out: list[Player] = []
    for p in players:
        layer, head = check_pair(p)
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise InputError(
                f"player {p!r} is outside the model: layers are 0..{n_layers - 1}, heads 0..{n_heads - 1} (0-based)"
            )
        out.append((layer, head))
    if len(set(out)) != len(out):
        raise InputError("players must be distinct (layer, head) pairs; found duplicates")
    if not out:
        raise InputError("players must not be empty")
    return out


class HeadAblation:
    """Ablate heads per example according to a batch of keep masks.

    Args:
        masks: [batch, n_layers, n_heads], or [batch, n_players] with ``players``; 1 = keep.
        mode: "zero" multiplies ablated heads' outputs by 0; "mean" replaces them by ``means``.
        means: [n_layers, n_heads, d_head] head-output means (required for ``mode="mean"``).

    Use :meth:`fwd_hooks` with ``run_with_hooks``, :func:`ablate_heads` as a context manager, or
    :meth:`apply` directly on a hook_z tensor (the fast backend does).
    """

    def __init__(self, masks: Any, *, n_layers: int, n_heads: int, players: Sequence[Player] | None = None,
                 mode: str = "zero", means: torch.Tensor | None = None) -> None:
        if mode not in ABLATION_MODES:
            raise ValueError(f"mode must be one of {ABLATION_MODES}; got {mode!r}")
        if mode == "mean":
            if means is None:
                raise ValueError("mode='mean' needs means [n_layers, n_heads, d_head]: see hooks.compute_head_means")
            if means.ndim != 3 or tuple(means.shape[:2]) != (n_layers, n_heads):
                raise ValueError(f"means must have shape [n_layers={n_layers}, n_heads={n_heads}, d_head]; got {tuple(means.shape)}")
        self.keep = full_keep_mask(masks, n_layers=n_layers, n_heads=n_heads, players=players)
        self.mode = mode
        self.means = means
        self.n_layers, self.n_heads = n_layers, n_heads
        self._cache: dict[tuple, torch.Tensor] = {}

    @property
    def batch_size(self) -> int:
        return int(self.keep.shape[0])

    def ablated_layers(self) -> list[int]:
        """Layers where at least one example ablates at least one head."""
        return [int(l) for l in torch.nonzero((self.keep < 1).any(dim=(0, 2))).flatten()]

    def apply(self, z: torch.Tensor, layer: int) -> torch.Tensor:
        """Ablate heads of ``layer`` in z [batch, pos, n_heads, d_head]; batch must equal the mask batch."""
        if z.ndim != 4 or z.shape[2] != self.n_heads:
            raise ValueError(f"expected hook_z of shape [batch, pos, n_heads={self.n_heads}, d_head]; got {tuple(z.shape)}")
        if z.shape[0] != self.batch_size:
            raise ValueError(f"mask batch ({self.batch_size} rows) does not match the input batch ({z.shape[0]} examples)")
        keep = self._keep(layer, z)
        if self.mode == "zero":
            return z * keep
        mean = self.means[layer].to(device=z.device, dtype=z.dtype)  # [n_heads, d_head]
        return z * keep + (1 - keep) * mean

    def hook(self, z: torch.Tensor, hook: Any) -> torch.Tensor:
        """TransformerLens hook function (reads the layer with ``hook.layer()``)."""
        return self.apply(z, hook.layer())

    def fwd_hooks(self) -> list[tuple[str, Callable]]:
        """``[(hook name, fn)]`` for ``run_with_hooks``; only layers with an ablated head get a hook."""
        return [(hook_z_name(layer), self.hook) for layer in self.ablated_layers()]

    def _keep(self, layer: int, z: torch.Tensor) -> torch.Tensor:
        key = (layer, z.dtype, z.device)
        if key not in self._cache:
            self._cache[key] = self.keep[:, layer].to(device=z.device, dtype=z.dtype)[:, None, :, None]
        return self._cache[key]


@contextmanager
def ablate_heads(model: Any, masks: Any, *, players: Sequence[Player] | None = None, mode: str = "zero",
                 means: torch.Tensor | None = None) -> Iterator[HeadAblation]:
    """Context manager: inside it, forward passes of ``model`` ablate heads per example.

    ``model`` is a :class:`headspex.LoadedModel` or a TransformerLens bridge. On a generic-path model the
    hooks sit on ``model.hf_model``'s attention output projections (call ``model.hf_model``); otherwise on
    the bridge (call ``model.bridge``). Hooks are removed on exit, also after an exception.
    """
    generic = getattr(model, "generic", None)
    if generic is not None:  # a generic-path LoadedModel: pre-hooks on its output projections
        ablation = HeadAblation(masks, n_layers=model.n_layers, n_heads=model.n_heads, players=players, mode=mode,
                                means=means)
        with generic.head_hooks(ablation.apply, ablation.ablated_layers()):
            yield ablation
        return
    bridge = getattr(model, "bridge", model)
    cfg = bridge.cfg
    ablation = HeadAblation(masks, n_layers=cfg.n_layers, n_heads=cfg.n_heads, players=players, mode=mode, means=means)
    with bridge.hooks(fwd_hooks=ablation.fwd_hooks()):  # TransformerLens removes exactly these hooks on exit
        yield ablation
