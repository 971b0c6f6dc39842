"""What an export keeps: the keep matrix from its three input forms, and the per-layer head layout.

* a keep matrix [n_layers, n_heads] (numpy or torch, 0/1 or bool; 1 = keep);
* a list of the kept ``(layer, head)`` pairs of the WHOLE model (every head not listed is removed);
* ``players=[(layer, head), ...]`` with a 1-D 0/1 mask over those players (every head not a player is kept).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from headspex._checks import check_pair
from headspex.errors import InputError

__all__ = ["check_head_layout", "export_keep_matrix", "head_layout", "keep_mask_from"]


def keep_mask_from(keep: Any, *, n_layers: int, n_heads: int) -> torch.Tensor:
    """A keep mask (array [n_layers, n_heads], 0/1) or kept (layer, head) pairs -> bool [n_layers, n_heads].

    Pairs list the kept heads of the whole model: a head that is not listed is removed.
    """
    if isinstance(keep, (np.ndarray, torch.Tensor)):
        m = torch.as_tensor(np.asarray(keep) if isinstance(keep, np.ndarray) else keep.detach().cpu())
        if tuple(m.shape) != (n_layers, n_heads):
            raise InputError(f"keep mask must have shape [n_layers={n_layers}, n_heads={n_heads}]; "
                             f"got {tuple(m.shape)}")
        if m.dtype != torch.bool and not ((m == 0) | (m == 1)).all():
            raise InputError("keep mask must be binary (1 = keep, 0 = remove); found other values")
        return m.bool()
    if not isinstance(keep, (list, tuple)):
        raise InputError("keep must be a keep mask [n_layers, n_heads] (numpy array or torch tensor) or a list of "
                         f"kept (layer, head) pairs; got {type(keep).__name__}")
    m = torch.zeros(n_layers, n_heads, dtype=torch.bool)
    for pair in keep:
        layer, head = check_pair(pair, "kept head", " (pass a keep mask as a numpy array or torch tensor)")
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise InputError(f"kept head {tuple(pair)!r} is outside the model: layers 0..{n_layers - 1}, "
                             f"heads 0..{n_heads - 1} (0-based)")
        if m[layer, head]:
            raise InputError(f"kept head {(layer, head)} is listed twice")
        m[layer, head] = True
    return m


def export_keep_matrix(keep: Any, *, n_layers: int, n_heads: int,
                       players: Sequence[tuple[int, int]] | None = None) -> torch.Tensor:
    """The export's keep matrix bool [n_layers, n_heads]; refuses one that keeps no head at all.

    Without ``players``: :func:`keep_mask_from`. With ``players``: ``keep`` is a 1-D 0/1 mask, one entry per
    player, and every head that is not a player is kept.
    """
    m = keep_mask_from(keep, n_layers=n_layers, n_heads=n_heads) if players is None else \
        _players_matrix(keep, players, n_layers, n_heads)
    if not bool(m.any()):
        raise InputError("the keep mask keeps no head: a pruned model needs at least one attention head; keep at "
                         "least one (layer, head)")
    return m


def _players_matrix(keep: Any, players: Sequence[tuple[int, int]], n_layers: int, n_heads: int) -> torch.Tensor:
    """keep [n_players] over ``players`` -> bool [n_layers, n_heads], heads outside the players kept."""
    from hooks import validate_players

    if isinstance(players, (str, bytes)) or not isinstance(players, (Sequence, np.ndarray)):
        raise InputError(f"players must be a list of (layer, head) pairs; got {type(players).__name__}")
    pairs = validate_players(players, n_layers=n_layers, n_heads=n_heads)
    m = np.asarray(keep.detach().cpu() if isinstance(keep, torch.Tensor) else keep)
    if m.shape != (len(pairs),):
        raise InputError(f"with players=..., keep must be a 1-D 0/1 mask with one entry per player "
                         f"({len(pairs)}); got shape {list(m.shape)}")
    if m.dtype != np.bool_ and not (m.dtype.kind in "iuf" and np.isin(m, (0, 1)).all()):
        raise InputError(f"keep must be binary (1 = keep, 0 = remove); found values such as {m[:3].tolist()}")
    full = torch.ones(n_layers, n_heads, dtype=torch.bool)
    for (layer, head), kept in zip(pairs, m.astype(bool)):
        full[layer, head] = bool(kept)
    return full


def head_layout(keep: torch.Tensor, n_kv_heads: int) -> tuple[list[list[int]], list[list[int]]]:
    """(kept query heads, kept KV heads) per layer from a keep matrix bool [n_layers, n_heads]."""
    group = keep.shape[1] // n_kv_heads
    kept = [[int(h) for h in torch.nonzero(row).flatten()] for row in keep]
    return kept, [sorted({h // group for h in hs}) for hs in kept]


def check_head_layout(kept: Sequence[Sequence[int]], kept_kv: Sequence[Sequence[int]], *, n_heads: int,
                      n_kv_heads: int) -> None:
    """InputError unless each layer's kept KV heads are exactly those some kept query head reads.

    Query head ``h`` reads KV head ``h // (n_heads // n_kv_heads)``. Per layer: heads are distinct and in
    range, a layer keeps no more KV heads than query heads, and a KV head is kept iff one of its query heads is.
    """
    if n_kv_heads < 1 or n_heads % n_kv_heads:
        raise InputError(f"n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv_heads})")
    if len(kept) != len(kept_kv):
        raise InputError(f"need kept query and KV heads for every layer; got {len(kept)} and {len(kept_kv)} layers")
    group = n_heads // n_kv_heads
    for layer, (hs, kvs) in enumerate(zip(kept, kept_kv)):
        for name, heads, n in (("query", hs, n_heads), ("KV", kvs, n_kv_heads)):
            if len(set(heads)) != len(heads) or any(not 0 <= h < n for h in heads):
                raise InputError(f"layer {layer}: kept {name} heads {list(heads)} must be distinct indices "
                                 f"in 0..{n - 1}")
        if len(kvs) > len(hs):
            raise InputError(f"layer {layer} would keep {len(kvs)} KV heads {list(kvs)} for {len(hs)} query heads "
                             f"{list(hs)}: a layer cannot keep more KV heads than query heads")
        used = sorted({h // group for h in hs})
        if sorted(kvs) != used:
            raise InputError(f"layer {layer} keeps KV heads {sorted(kvs)} but its kept query heads {list(hs)} read "
                             f"KV heads {used}: a KV head must be kept exactly when one of its query heads is")
