"""Attributions from a sparse spectrum: Shapley / Banzhaf per head and interaction indices.

Conventions (DESIGN.md section 2): masks are 1 = keep; Fourier ``chi_S(m) = (-1)^(sum_{i in S} m_i)``;
Moebius ``a(S) = (-2)^|S| sum_{T >= S} F(T)``. Then

- Shapley ``phi_i = sum_{S containing i} a(S) / |S|``;
- Banzhaf ``beta_i = sum_{S containing i} a(S) / 2^(|S|-1) = -2 F({i})``;
- interaction indices (SII, k-SII, FBII, FSII, STII) via shapiq's ``MoebiusConverter``, which
  distributes each Moebius coefficient onto its subsets (checked against brute force in
  ``tests/test_attributions.py``).

Per-head tensors are ``[n_layers, n_heads]``; heads that are not players (outside the analysed range)
hold ``NaN`` by default ("not analysed", distinct from a measured zero); pass ``fill_value=0.0`` to
get zeros instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from headspex._checks import check_players
from headspex.players import player_labels
from headspex.spectrum.fourier import FourierSpectrum, MoebiusSpectrum

INTERACTION_INDICES = ("SII", "k-SII", "FBII", "FSII", "STII")
Spectrum = FourierSpectrum | MoebiusSpectrum


def _moebius(spectrum: Spectrum) -> MoebiusSpectrum:
    if isinstance(spectrum, MoebiusSpectrum):
        return spectrum
    if isinstance(spectrum, FourierSpectrum):
        return spectrum.to_moebius()
    raise ValueError(f"expected a FourierSpectrum or MoebiusSpectrum; got {type(spectrum).__name__}")


def shapley_values(spectrum: Spectrum) -> np.ndarray:
    """Shapley value of each player, ``float64 [n_players]`` (sums to f(all kept) - f(none kept))."""
    moebius = _moebius(spectrum)
    out = np.zeros(moebius.n_players)
    for sup, a in moebius:
        if sup:
            out[list(sup)] += a / len(sup)
    return out


def banzhaf_values(spectrum: Spectrum) -> np.ndarray:
    """Banzhaf value of each player, ``float64 [n_players]``: ``-2 F({i})`` (mean effect of keeping i)."""
    if isinstance(spectrum, MoebiusSpectrum):
        out = np.zeros(spectrum.n_players)
        for sup, a in spectrum:
            if sup:
                out[list(sup)] += a / 2.0 ** (len(sup) - 1)
        return out
    if not isinstance(spectrum, FourierSpectrum):
        raise ValueError(f"expected a FourierSpectrum or MoebiusSpectrum; got {type(spectrum).__name__}")
    out = np.zeros(spectrum.n_players)
    for sup, f in spectrum:
        if len(sup) == 1:
            out[sup[0]] = -2.0 * f
    return out


def to_head_tensor(
    values: Any,
    players: Sequence[tuple[int, int]],
    shape: tuple[int, int],
    *,
    fill_value: float = float("nan"),
):
    """Scatter per-player values ``[n_players]`` into a ``torch.float64 [n_layers, n_heads]`` tensor.

    Args:
        values: one value per player, in the order of ``players``.
        players: ``(layer, head)`` per player (0-based, absolute in the model).
        shape: the model's ``(n_layers, n_heads)``.
        fill_value: value of heads that are not players (default NaN = not analysed).
    """
    import torch

    vals = np.asarray(values, dtype=np.float64).reshape(-1)
    plist = check_players(players, vals.shape[0])
    n_layers, n_heads = (int(s) for s in shape)
    bad = [p for p in plist if p[0] >= n_layers or p[1] >= n_heads]
    if bad:
        raise ValueError(f"players {bad[:3]} lie outside the model shape {(n_layers, n_heads)}")
    out = torch.full((n_layers, n_heads), float(fill_value), dtype=torch.float64)
    if plist:
        layers = torch.tensor([p[0] for p in plist])
        heads = torch.tensor([p[1] for p in plist])
        out[layers, heads] = torch.from_numpy(vals)
    return out


@dataclass(frozen=True, eq=False)
class HeadAttributions:
    """Shapley and Banzhaf value per player.

    Attributes:
        shapley, banzhaf: ``float64 [n_players]``.
        players: ``(layer, head)`` per player, or ``None``.
    """

    shapley: np.ndarray
    banzhaf: np.ndarray
    players: tuple[tuple[int, int], ...] | None = None

    def tensor(self, kind: str, shape: tuple[int, int], *, fill_value: float = float("nan")):
        """``kind`` in {"shapley", "banzhaf"} as a ``[n_layers, n_heads]`` tensor (NaN off-players)."""
        if kind not in ("shapley", "banzhaf"):
            raise ValueError(f"kind must be 'shapley' or 'banzhaf'; got {kind!r}")
        if self.players is None:
            raise ValueError("these attributions have no (layer, head) players")
        return to_head_tensor(getattr(self, kind), self.players, shape, fill_value=fill_value)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per player: ``player, label, layer, head, shapley, banzhaf``."""
        n = self.shapley.shape[0]
        labels = player_labels(self.players) if self.players else [str(i) for i in range(n)]
        return pd.DataFrame({
            "player": np.arange(n), "label": labels,
            "layer": [p[0] for p in self.players] if self.players else np.full(n, -1),
            "head": [p[1] for p in self.players] if self.players else np.full(n, -1),
            "shapley": self.shapley, "banzhaf": self.banzhaf,
        })


def head_attributions(spectrum: Spectrum, players: Sequence[tuple[int, int]] | None = None) -> HeadAttributions:
    """Shapley and Banzhaf values of every player of ``spectrum`` (players default to the spectrum's)."""
    plist = check_players(players, spectrum.n_players) if players is not None else spectrum.players
    return HeadAttributions(shapley_values(spectrum), banzhaf_values(spectrum), plist)


def moebius_interaction_values(spectrum: Spectrum):
    """The Moebius coefficients as a shapiq ``InteractionValues`` (index "Moebius", all orders)."""
    from shapiq import InteractionValues

    moebius = _moebius(spectrum)
    supports = list(moebius.supports)
    if () not in supports:
        supports, coefs = [(), *supports], np.concatenate([[0.0], moebius.coefficients])
    else:
        coefs = moebius.coefficients.copy()
    return InteractionValues(
        values=coefs, index="Moebius", min_order=0, max_order=max(moebius.max_order, 1),
        n_players=moebius.n_players, interaction_lookup={s: i for i, s in enumerate(supports)},
        estimated=False, baseline_value=float(coefs[supports.index(())]),
    )


@dataclass(frozen=True, eq=False)
class HeadInteractions:
    """Interaction values with head names.

    Attributes:
        values: shapiq ``InteractionValues`` (its ``index`` and ``max_order`` as requested).
        player_names: ``"L{l}H{h}"`` per player (or ``"0".."n-1"`` without players); pass them as
            ``feature_names`` to shapiq's plots.
    """

    values: Any
    player_names: tuple[str, ...]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per interaction, largest ``|value|`` first: ``support, label, order, value``."""
        lookup = self.values.interaction_lookup
        sups = list(lookup)
        vals = np.asarray([self.values.values[lookup[s]] for s in sups], dtype=np.float64)
        labels = ["*".join(self.player_names[i] for i in s) if s else "const" for s in sups]
        df = pd.DataFrame({"support": sups, "label": labels, "order": [len(s) for s in sups], "value": vals})
        return df.iloc[np.argsort(-np.abs(vals), kind="stable")].reset_index(drop=True)


def interaction_values(
    spectrum: Spectrum,
    index: str = "k-SII",
    max_order: int = 2,
    *,
    players: Sequence[tuple[int, int]] | None = None,
) -> HeadInteractions:
    """Interaction index of the spectrum's set function, computed exactly from its Moebius form.

    Args:
        spectrum: Fourier or Moebius spectrum over ``n`` players.
        index: one of ``INTERACTION_INDICES`` ("SII", "k-SII", "FBII", "FSII", "STII").
        max_order: largest interaction order reported (1..n).
        players: ``(layer, head)`` per player for names (default: the spectrum's players).

    Returns:
        HeadInteractions wrapping a shapiq ``InteractionValues``.
    """
    from shapiq.game_theory.moebius_converter import MoebiusConverter

    if index not in INTERACTION_INDICES:
        raise ValueError(f"index must be one of {INTERACTION_INDICES}; got {index!r}")
    if not 1 <= int(max_order) <= spectrum.n_players:
        raise ValueError(f"max_order must be in 1..{spectrum.n_players}; got {max_order}")
    plist = check_players(players, spectrum.n_players) if players is not None else spectrum.players
    names = tuple(player_labels(plist)) if plist else tuple(str(i) for i in range(spectrum.n_players))
    converter = MoebiusConverter(moebius_coefficients=moebius_interaction_values(spectrum))
    return HeadInteractions(converter(index=index, order=int(max_order)), names)
