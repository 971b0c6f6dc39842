"""Do a game's strongest head pairs join heads of particular roles more often than the layers alone imply?

Each head (player) gets one role: its largest attention-pattern score (:func:`headspex.head_roles`) when that
score reaches ``threshold``, else ``"none"`` (:func:`role_pairs`). Among the ``top`` pairs by ``|value|`` each
unordered pair of roles (a *kind*: ``previous_token x induction``, ``induction x induction``, ...) is counted,
with the sign split. The null permutes the role labels among the heads **of one layer** only, every layer on
its own (:func:`within_layer_permutations`): each head keeps its layer, and each layer keeps its roles, so a
kind concentrated in the top pairs only because its heads sit in layers whose heads interact anyway is not
enriched. Per kind the one-sided p-value is ``(1 + #{null >= observed}) / (1 + n_perm)``; kinds are tested
one by one (no correction for the number of kinds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from headspex._checks import check_players, is_integer
from headspex.errors import InputError
from headspex.roles.protocol import SCORES

__all__ = ["NONE", "role_enrichment", "role_pairs", "within_layer_permutations"]

NONE = "none"


def role_pairs(roles: pd.DataFrame, players: Sequence[tuple[int, int]], *, threshold: float = 0.3) -> dict[int, str]:
    """The role of each player: ``{player index: score name or "none"}``.

    Args:
        roles: :func:`headspex.head_roles` output (0-based ``layer``, ``head``, one column per score of
            :data:`~headspex.roles.protocol.SCORES`), or a ``roles.csv`` (its ``layer_1based`` is converted).
            NaN scores (IOI columns with ``n_ioi=0``) are ignored.
        players: ``(layer, head)`` per player of the game, 0-based; player ``i`` is column ``i`` of a mask.
        threshold: the top score must reach it for a role; below it the head is ``"none"``.
    """
    if not isinstance(roles, pd.DataFrame):
        raise InputError(f"roles must be a DataFrame from headspex.head_roles; got {type(roles).__name__}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not np.isfinite(threshold):
        raise InputError(f"threshold must be a finite number (e.g. 0.3); got {threshold!r}")
    plist = _players(players, 1)
    layers = roles["layer"] if "layer" in roles else roles["layer_1based"] - 1 if "layer_1based" in roles else None
    scores = [c for c in SCORES if c in roles]
    if layers is None or "head" not in roles or not scores:
        raise InputError("roles needs columns layer (0-based) or layer_1based, head and at least one score of "
                         f"{tuple(SCORES)}; got {list(roles.columns)}")
    table = roles[scores].to_numpy(np.float64)
    index = {(int(layer), int(head)): row for row, (layer, head) in enumerate(zip(layers, roles["head"]))}
    missing = [p for p in plist if p not in index]
    if missing:
        raise InputError(f"roles has no row for players {missing[:3]} (0-based (layer, head)); "
                         f"{len(missing)} of {len(plist)} missing")
    out = {}
    for i, player in enumerate(plist):
        row = table[index[player]]
        best = int(np.nanargmax(row)) if np.isfinite(row).any() else -1
        out[i] = scores[best] if best >= 0 and row[best] >= threshold else NONE
    return out


def within_layer_permutations(layer_of: Sequence[int], n_perm: int, seed: int = 0) -> np.ndarray:
    """``int64 [n_perm, n]`` index permutations that move each player only among the players of its layer.

    Row ``r`` gives shuffled labels ``labels[perm[r]]``; ``layer_of[perm[r]] == layer_of`` for every row."""
    layer_of = np.asarray(layer_of)
    rng = np.random.default_rng([int(seed), 11])
    perms = np.broadcast_to(np.arange(layer_of.size), (n_perm, layer_of.size)).copy()
    for layer in np.unique(layer_of):
        group = np.nonzero(layer_of == layer)[0]
        order = np.argsort(rng.random((n_perm, group.size)), axis=1)  # a uniform permutation per row
        perms[:, group] = group[order]
    return perms


def _players(players: Any, least: int) -> tuple[tuple[int, int], ...]:
    """``players`` as a checked tuple of at least ``least`` ``(layer, head)`` pairs."""
    if isinstance(players, (str, bytes)) or not hasattr(players, "__len__"):
        raise InputError(f"players must be a sequence of (layer, head) pairs; got {type(players).__name__}")
    plist = check_players(list(players), len(players)) or ()
    if len(plist) < least:
        raise InputError(f"players must name at least {least} (layer, head) player(s); got {len(plist)}")
    return plist


def _count(value: Any, name: str, low: int) -> int:
    if not is_integer(value) or int(value) < low:
        raise InputError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def _top_pairs(pair_values: Any, n_players: int, top: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i [T], j [T], value [T]) of the ``top`` pairs by |value| (stable order on ties), i < j."""
    if not isinstance(pair_values, pd.DataFrame) or not {"i", "j", "value"} <= set(pair_values.columns):
        got = list(pair_values.columns) if isinstance(pair_values, pd.DataFrame) else type(pair_values).__name__
        raise InputError(f"pair_values must be a DataFrame with columns i, j, value; got {got}")
    if pair_values.empty:
        raise InputError("pair_values has no rows")
    ij = pair_values[["i", "j"]].to_numpy()
    if not all(is_integer(x) for x in ij.ravel()):
        raise InputError("pair_values columns i and j must hold integer player indices")
    ij = np.sort(ij.astype(np.int64), axis=1)
    value = pd.to_numeric(pair_values["value"], errors="coerce").to_numpy(np.float64)
    if (ij[:, 0] == ij[:, 1]).any() or ij.min() < 0 or ij.max() >= n_players:
        raise InputError(f"each pair must be two different players in 0..{n_players - 1}")
    if not np.isfinite(value).all():
        raise InputError("pair_values column value must be finite numbers")
    if len(np.unique(ij, axis=0)) != len(ij):
        raise InputError("pair_values repeats a pair (i, j)")
    keep = np.argsort(-np.abs(value), kind="stable")[:top]
    return ij[keep, 0], ij[keep, 1], value[keep]


def role_enrichment(pair_values: pd.DataFrame, roles: pd.DataFrame | Mapping[int, str],
                    players: Sequence[tuple[int, int]], *, top: int = 20, n_perm: int = 999, seed: int = 0,
                    threshold: float = 0.3) -> pd.DataFrame:
    """Role-pair kinds among the ``top`` pairs by ``|value|``, against a within-layer permutation null.

    Args:
        pair_values: one row per pair of players: ``i``, ``j`` (player indices) and ``value`` (an interaction).
        roles: :func:`headspex.head_roles` output (labelled by :func:`role_pairs` with ``threshold``), or the
            labels themselves, ``{player index: role}``, one per player.
        players: ``(layer, head)`` per player (their layers define the null's strata).
        top, n_perm, seed: pairs counted (all when fewer), permutations, their seed.

    Returns:
        One row per kind that the labels allow: ``kind, role_a, role_b, observed, positive, negative,
        null_mean, null_high`` (97.5% quantile), ``enrichment`` (observed / null_mean) and ``p_value``;
        largest ``observed`` first. ``.attrs``: top (pairs counted), n_perm, seed, threshold, role_counts.
    """
    plist = _players(players, 2)
    top, n_perm = _count(top, "top", 1), _count(n_perm, "n_perm", 1)
    labels = role_pairs(roles, plist, threshold=threshold) if isinstance(roles, pd.DataFrame) else roles
    if (not isinstance(labels, Mapping) or set(labels) != set(range(len(plist)))
            or not all(isinstance(r, str) for r in labels.values())):
        raise InputError(f"roles must be a head_roles DataFrame or {{player index: role}} for players "
                         f"0..{len(plist) - 1}")
    i, j, value = _top_pairs(pair_values, len(plist), top)
    names = sorted(set(labels.values()), key=lambda r: (list(SCORES).index(r) if r in SCORES else len(SCORES), r))
    codes = np.array([names.index(labels[k]) for k in range(len(plist))])
    k = len(names)

    def counts(code_rows: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """[B, n] label codes -> [B, k * k] counts of (min, max) code pairs among the top pairs."""
        a, b = code_rows[:, i], code_rows[:, j]
        kind = np.minimum(a, b) * k + np.maximum(a, b) + (k * k) * np.arange(len(code_rows))[:, None]
        w = None if weights is None else np.broadcast_to(weights, kind.shape).ravel()
        return np.bincount(kind.ravel(), weights=w, minlength=len(code_rows) * k * k).reshape(len(code_rows), -1)

    observed = counts(codes[None, :])[0]
    positive = counts(codes[None, :], (value > 0).astype(float))[0]
    negative = counts(codes[None, :], (value < 0).astype(float))[0]
    null = counts(codes[within_layer_permutations([p[0] for p in plist], n_perm, seed)])  # [n_perm, k * k]
    role_counts = {r: int((codes == c).sum()) for c, r in enumerate(names)}
    rows = []
    for a in range(k):
        for b in range(a, k):
            if a == b and role_counts[names[a]] < 2:
                continue  # no pair of this kind exists
            c = a * k + b
            mean = float(null[:, c].mean())
            rows.append(dict(kind=f"{names[a]} x {names[b]}", role_a=names[a], role_b=names[b],
                             observed=int(observed[c]), positive=int(positive[c]), negative=int(negative[c]),
                             null_mean=mean, null_high=float(np.quantile(null[:, c], 0.975)),
                             enrichment=observed[c] / mean if mean > 0 else float("nan"),
                             p_value=float((1 + np.count_nonzero(null[:, c] >= observed[c])) / (1 + n_perm))))
    frame = pd.DataFrame(rows).sort_values("observed", ascending=False, kind="stable").reset_index(drop=True)
    frame.attrs.update(top=int(len(i)), n_perm=n_perm, seed=int(seed), role_counts=role_counts,
                       threshold=threshold if isinstance(roles, pd.DataFrame) else None)
    return frame
