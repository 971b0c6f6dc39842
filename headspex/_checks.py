"""Input checks shared by the public entry points. Internal code passes validated arrays on.

Each check raises one ``ValueError`` that says what was expected and what came instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from headspex.errors import InputError

Players = tuple[tuple[int, int], ...]


def check_masks(masks: Any, *, n_players: int | None = None, name: str = "masks", min_rows: int = 0) -> np.ndarray:
    """Validate a binary mask matrix (numpy, list or torch) and return it as ``uint8 [n_masks, n_players]``."""
    if hasattr(masks, "detach"):  # a torch tensor
        masks = masks.detach().cpu().numpy()
    arr = np.asarray(masks)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D [n_masks, n_players]; got shape {arr.shape}")
    if n_players is not None and arr.shape[1] != n_players:
        raise ValueError(f"{name} must have n_players={n_players} columns (one per player); got {arr.shape[1]}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s) [n_masks, n_players]; got shape {arr.shape}")
    if arr.dtype != np.bool_ and not np.isin(arr, (0, 1)).all():
        bad = arr[~np.isin(arr, (0, 1))].ravel()[:3]
        raise ValueError(f"{name} must be binary (0 = ablated, 1 = kept); found values such as {bad.tolist()}")
    return arr.astype(np.uint8, copy=False)


def is_integer(value: Any) -> bool:
    """An ``int`` or numpy integer; bools, floats (even 2.0) and strings are not."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_pair(pair: Any, name: str = "player", hint: str = "") -> tuple[int, int]:
    """A ``(layer, head)`` pair of integers as a tuple of ints; InputError naming the pair otherwise."""
    if not (isinstance(pair, (tuple, list, np.ndarray)) and len(pair) == 2 and all(is_integer(x) for x in pair)):
        raise InputError(f"each {name} must be a (layer, head) pair of integers (no bools, floats or strings); "
                         f"got {pair!r}{hint}")
    return int(pair[0]), int(pair[1])


def check_players(players: Sequence[tuple[int, int]] | None, n_players: int) -> Players | None:
    """Validate an optional ``(layer, head)`` list of length ``n_players``; return it as a tuple."""
    if players is None:
        return None
    out = tuple(check_pair(p) for p in players)
    if len(out) != n_players:
        raise InputError(f"players must have one (layer, head) per player: expected {n_players}, got {len(out)}")
    if len(set(out)) != len(out):
        raise InputError("players must not repeat a (layer, head) pair")
    if any(layer < 0 or head < 0 for layer, head in out):
        raise InputError("players must have non-negative layer and head indices")
    return out


def check_count(value: Any, name: str, low: int, high: float = np.inf) -> int:
    """An integer in ``low..high`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be in {low}..{high}; got {value}")
    return int(value)


def check_values(values: Any, n_masks: int) -> np.ndarray:
    """Values: 1-D, finite, one per mask. Returns ``float64 [n_masks]``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"values must be 1-D [n_masks]; got shape {arr.shape}")
    if arr.shape[0] != n_masks:
        raise ValueError(f"need one value per mask: {n_masks} masks but {arr.shape[0]} values")
    if not np.isfinite(arr).all():
        bad = np.nonzero(~np.isfinite(arr))[0][:5].tolist()
        raise ValueError(f"values must be finite; NaN/inf at rows {bad}")
    return arr


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of ``choices``, else one InputError (a ValueError) naming them."""
    if value not in choices:
        raise InputError(f"{name} must be one of {tuple(choices)}; got {value!r}")
    return value
