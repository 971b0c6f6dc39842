"""Is a spectrum's interaction energy concentrated within layers more than the layer sizes imply?

The paper's three-way split (linear / within-layer / across-layer, :mod:`headspex.spectrum.structure`) is
not comparable between ranges of different shapes: in 3 layers x 32 heads a third of all head pairs lie in
one layer, in 11 layers x 9 heads fewer than a tenth. This module normalises the within-layer share:

- ``pair_share``: the share of all head pairs of the range that lie in one layer,
  ``sum_l C(h_l, 2) / C(n, 2)``;
- ``within_of_interactions``: the within-layer share of the interaction energy (order >= 2),
  ``E_within / (E_within + E_across)``;
- ``enrichment = within_of_interactions / pair_share``: 1 when interactions ignore layers, ``1 / pair_share``
  when every interaction lies in one layer;
- a permutation null: the layer labels are shuffled among the players (each layer keeps its number of
  heads), the within share of interaction energy is recomputed, and the one-sided p-value is
  ``(#{null >= observed} + 1) / (N + 1)``. Its exact mean is ``null_energy_share``: for a term of order k the
  chance that shuffled labels put all its heads in one layer is ``sum_l C(h_l, k) / C(n, k)`` (for k = 2 the
  pair share), weighted by the term's energy. ``enrichment_vs_null`` divides by that instead of the pair share
  (the two agree when all interaction energy is in pairs).

The same quantities restricted to order-2 terms (``pair_*``) compare pairs of heads with pairs of heads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from math import comb

import numpy as np
import pandas as pd

from headspex.spectrum.fourier import FourierSpectrum

_BLOCK_ELEMENTS = 4_000_000  # permutations x terms x order gathered at once in the null


@dataclass(frozen=True)
class LayerEnrichment:
    """Energy split, within-layer enrichment and its permutation null for one spectrum (shares in [0, 1]).

    Attributes:
        n_players, heads_per_layer: the range's shape (``{layer: heads}``).
        nonconstant_energy: ``sum_{|S|>=1} F(S)^2``; interaction_energy: its part of order >= 2.
        linear, within_layer, across_layer: shares of the non-constant energy (the paper's split).
        within_of_interactions: ``within_layer / (within_layer + across_layer)`` (NaN without interactions).
        pair_share: share of the range's head pairs that lie in one layer.
        enrichment: ``within_of_interactions / pair_share``.
        n_interaction_terms, within_term_share: interaction supports, and the share of them in one layer.
        effective_interaction_terms: ``(sum e)^2 / sum e^2`` over the interaction terms' energies ``e``: how many
            terms carry the interaction energy (a null over few effective terms is wide).
        null_term_share: expected ``within_term_share`` under shuffled labels (mean over supports of
            ``sum_l C(h_l, k) / C(n, k)``).
        null_energy_share: expected ``within_of_interactions`` under shuffled labels (exact);
            enrichment_vs_null: ``within_of_interactions / null_energy_share``.
        n_perm, perm_seed: the permutation null's size and seed; null_mean, null_low, null_high: mean and
            2.5% / 97.5% quantiles of the null's within shares; p_value: one-sided for enrichment,
            ``(#{null >= observed} + 1) / (N + 1)``; p_value_low: the other side (depletion),
            ``(#{null <= observed} + 1) / (N + 1)``.
        pair_energy, pair_within, pair_enrichment, pair_p_value: the same for order-2 terms only.
        null_samples: the permuted within shares of interaction energy ``[n_perm]`` (not in the table).
    """

    n_players: int
    heads_per_layer: dict[int, int]
    nonconstant_energy: float
    interaction_energy: float
    linear: float
    within_layer: float
    across_layer: float
    within_of_interactions: float
    pair_share: float
    enrichment: float
    n_interaction_terms: int
    effective_interaction_terms: float
    within_term_share: float
    null_term_share: float
    null_energy_share: float
    enrichment_vs_null: float
    n_perm: int
    perm_seed: int
    null_mean: float
    null_low: float
    null_high: float
    p_value: float
    p_value_low: float
    pair_energy: float
    pair_within: float
    pair_enrichment: float
    pair_p_value: float
    null_samples: np.ndarray = field(repr=False, compare=False)

    def to_dataframe(self) -> pd.DataFrame:
        """One row: every scalar attribute (shares as fractions); ``heads_per_layer`` as ``"L:h ..."`` text."""
        row = {k: v for k, v in asdict(self).items() if k not in ("null_samples", "heads_per_layer")}
        row["n_layers"] = len(self.heads_per_layer)
        row["heads_per_layer"] = " ".join(f"{layer}:{h}" for layer, h in sorted(self.heads_per_layer.items()))
        return pd.DataFrame([row])


def within_probability(heads_per_layer: Sequence[int], order: int) -> float:
    """Chance that ``order`` distinct players drawn at random all lie in one layer: ``sum_l C(h_l, k) / C(n, k)``."""
    n = int(sum(heads_per_layer))
    if order < 1 or order > n:
        raise ValueError(f"order must be in 1..{n}; got {order}")
    return sum(comb(int(h), order) for h in heads_per_layer) / comb(n, order)


def pair_share(players: Sequence[tuple[int, int]]) -> float:
    """Share of all pairs of ``players`` (``(layer, head)``) that lie in one layer: ``sum_l C(h_l,2) / C(n,2)``."""
    counts = _layer_counts(players)
    if sum(counts.values()) < 2:
        raise ValueError("a pair share needs at least two players")
    return within_probability(list(counts.values()), 2)


def layer_enrichment(spectrum: FourierSpectrum, players: Sequence[tuple[int, int]] | None = None, *,
                     n_perm: int = 999, seed: int = 0) -> LayerEnrichment:
    """Energy split, within-layer enrichment and permutation null of ``spectrum`` (see the module docstring).

    Args:
        spectrum: a Fourier spectrum (``proxy.spectrum()`` or ``proxy.refinement_.spectrum``).
        players: ``(layer, head)`` per player; defaults to the spectrum's own.
        n_perm: shuffles of the layer labels in the null (0: none; p-values are then NaN).
        seed: seeds the shuffles.
    """
    if not isinstance(spectrum, FourierSpectrum):
        raise ValueError(f"layer_enrichment needs a FourierSpectrum; got {type(spectrum).__name__}")
    plist = list(players) if players is not None else (list(spectrum.players) if spectrum.players else None)
    if plist is None or len(plist) != spectrum.n_players:
        raise ValueError(f"layer_enrichment needs one (layer, head) per player ({spectrum.n_players}); "
                         f"got {None if plist is None else len(plist)}")
    if n_perm < 0:
        raise ValueError(f"n_perm must be >= 0; got {n_perm}")
    counts = _layer_counts(plist)
    sizes = list(counts.values())
    layer_of = np.array([int(p[0]) for p in plist], dtype=np.int64)
    # the layer labels as 0..L-1, so a shuffle is a permutation of this vector
    _, labels = np.unique(layer_of, return_inverse=True)

    orders = spectrum.orders
    sq = spectrum.coefficients ** 2
    total = float(sq[orders >= 1].sum())
    inter_idx = np.nonzero(orders >= 2)[0]
    sup_idx = _padded_supports(spectrum, inter_idx)
    inter_sq = sq[inter_idx]
    inter_orders = orders[inter_idx]
    inter_energy = float(inter_sq.sum())
    within_mask = _within(labels[None, :], sup_idx)[0] if inter_idx.size else np.zeros(0, bool)
    within_energy = float(inter_sq[within_mask].sum())
    nan = float("nan")

    def share(x: float, of: float) -> float:
        return x / of if of > 0 else nan

    p_k = {int(k): within_probability(sizes, int(k)) for k in np.unique(inter_orders)}
    prob = np.array([p_k[int(k)] for k in inter_orders], dtype=np.float64)
    ps = within_probability(sizes, 2) if len(plist) >= 2 else nan
    within_share = share(within_energy, inter_energy)
    null_energy = share(float((prob * inter_sq).sum()), inter_energy)

    is_pair = inter_orders == 2
    pair_energy = float(inter_sq[is_pair].sum())
    pair_within = share(float(inter_sq[is_pair & within_mask].sum()), pair_energy)

    null, null_pairs = _permutation_null(labels, sup_idx, inter_sq, is_pair, n_perm, seed)
    return LayerEnrichment(
        n_players=len(plist), heads_per_layer=dict(counts), nonconstant_energy=total,
        interaction_energy=inter_energy,
        linear=share(float(sq[orders == 1].sum()), total), within_layer=share(within_energy, total),
        across_layer=share(inter_energy - within_energy, total),
        within_of_interactions=within_share, pair_share=ps, enrichment=share(within_share, ps),
        n_interaction_terms=int(inter_idx.size),
        effective_interaction_terms=share(inter_energy ** 2, float((inter_sq ** 2).sum())),
        within_term_share=float(within_mask.mean()) if inter_idx.size else nan,
        null_term_share=float(prob.mean()) if inter_idx.size else nan,
        null_energy_share=null_energy, enrichment_vs_null=share(within_share, null_energy),
        n_perm=int(n_perm), perm_seed=int(seed),
        null_mean=float(null.mean()) if null.size else nan,
        null_low=float(np.quantile(null, 0.025)) if null.size else nan,
        null_high=float(np.quantile(null, 0.975)) if null.size else nan,
        p_value=_p_value(null, within_share), p_value_low=_p_value(-null, -within_share), pair_energy=share(pair_energy, total), pair_within=pair_within,
        pair_enrichment=share(pair_within, ps), pair_p_value=_p_value(null_pairs, pair_within),
        null_samples=null)


def _layer_counts(players: Sequence[tuple[int, int]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for layer, _ in players:
        counts[int(layer)] = counts.get(int(layer), 0) + 1
    return dict(sorted(counts.items()))


def _padded_supports(spectrum: FourierSpectrum, idx: np.ndarray) -> np.ndarray:
    """Supports ``idx`` as an int array ``[T, max_order]``, short ones padded with their first member."""
    if idx.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    width = max(len(spectrum.supports[k]) for k in idx)
    out = np.empty((idx.size, width), dtype=np.int64)
    for row, k in enumerate(idx):
        sup = spectrum.supports[k]
        out[row, :len(sup)] = sup
        out[row, len(sup):] = sup[0]
    return out


def _within(labels: np.ndarray, sup_idx: np.ndarray) -> np.ndarray:
    """For label rows ``[B, n]``: whether each support's members share one label, ``bool [B, T]``."""
    lab = labels[:, sup_idx]  # [B, T, width]
    return (lab == lab[:, :, :1]).all(axis=2)


def _permutation_null(labels: np.ndarray, sup_idx: np.ndarray, inter_sq: np.ndarray, is_pair: np.ndarray,
                      n_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Within shares of interaction energy (all orders, and pairs only) under ``n_perm`` label shuffles."""
    total, pair_total = float(inter_sq.sum()), float(inter_sq[is_pair].sum())
    if n_perm == 0 or total <= 0:
        return np.zeros(0), np.zeros(0)
    rng = np.random.default_rng([int(seed), 5])
    shuffled = np.stack([rng.permutation(labels) for _ in range(n_perm)])  # [N, n]
    block = max(1, _BLOCK_ELEMENTS // max(1, sup_idx.size))
    null, null_pairs = np.empty(n_perm), np.empty(n_perm)
    pair_sq = np.where(is_pair, inter_sq, 0.0)
    for start in range(0, n_perm, block):
        within = _within(shuffled[start:start + block], sup_idx).astype(np.float64)
        null[start:start + block] = within @ inter_sq / total
        null_pairs[start:start + block] = within @ pair_sq / pair_total if pair_total > 0 else np.nan
    return null, (null_pairs if pair_total > 0 else np.zeros(0))


def _p_value(null: np.ndarray, observed: float) -> float:
    """One-sided ``(#{null >= observed} + 1) / (N + 1)``; ties within float rounding count as reaching it."""
    if null.size == 0 or not np.isfinite(observed):
        return float("nan")
    tol = 1e-12 * max(abs(observed), 1e-300)
    return float((np.count_nonzero(null >= observed - tol) + 1) / (null.size + 1))
