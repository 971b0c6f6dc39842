"""Where a spectrum's energy sits: by interaction order, and within versus across layers.

With uniform random masks the variance of f is its non-constant Fourier energy
``sum_{|S|>=1} F(S)^2`` (Parseval), so the share of that energy held by a group of terms is the share
of the variance they explain. The paper's table splits it three ways:

- ``linear``: terms of order 1;
- ``within_layer``: terms of order >= 2 whose heads all lie in one layer;
- ``across_layer``: terms of order >= 2 spanning two or more layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from headspex._checks import check_players
from headspex.spectrum.fourier import FourierSpectrum


@dataclass(frozen=True)
class StructureSummary:
    """Shares of non-constant Fourier energy (each in [0, 1]; NaN for a constant function).

    Attributes:
        order_share: ``{order: share}`` for every order >= 1 present.
        linear, within_layer, across_layer: the paper's three-way split (sums to 1); the last two
            are NaN when the spectrum has no ``(layer, head)`` players.
        nonconstant_energy: ``sum_{|S|>=1} F(S)^2`` (the variance over uniform masks).
        n_terms: number of non-constant terms.
    """

    order_share: dict[int, float]
    linear: float
    within_layer: float
    across_layer: float
    nonconstant_energy: float
    n_terms: int

    def to_dataframe(self) -> pd.DataFrame:
        """Rows ``kind in {"order", "split"}``, ``name`` (order number or category), ``share``."""
        rows = [dict(kind="order", name=str(k), share=v) for k, v in sorted(self.order_share.items())]
        rows += [dict(kind="split", name=n, share=getattr(self, n)) for n in ("linear", "within_layer", "across_layer")]
        return pd.DataFrame(rows, columns=["kind", "name", "share"])

    def table_row(self) -> dict[str, float]:
        """``{"linear": %, "within_layer": %, "across_layer": %}`` in percent, as the paper prints them."""
        return {n: 100.0 * getattr(self, n) for n in ("linear", "within_layer", "across_layer")}


def structure_summary(
    spectrum: FourierSpectrum, players: Sequence[tuple[int, int]] | None = None
) -> StructureSummary:
    """Energy shares of ``spectrum`` by order and (given players) within/across layers.

    Args:
        spectrum: a Fourier spectrum (e.g. ``proxy.spectrum()``).
        players: ``(layer, head)`` per player; defaults to the spectrum's own.
    """
    if not isinstance(spectrum, FourierSpectrum):
        raise ValueError(f"structure_summary needs a FourierSpectrum; got {type(spectrum).__name__}")
    plist = check_players(players, spectrum.n_players) if players is not None else spectrum.players
    orders = spectrum.orders
    sq = spectrum.coefficients**2
    nonconst = orders > 0
    total = float(sq[nonconst].sum())
    if total == 0.0:
        nan = float("nan")
        return StructureSummary({}, nan, nan, nan, 0.0, 0)
    order_share = {int(d): float(sq[orders == d].sum() / total) for d in np.unique(orders[nonconst])}
    linear = order_share.get(1, 0.0)
    within = across = float("nan")
    if plist is not None:
        layer_of = np.array([p[0] for p in plist])
        higher = np.nonzero(orders >= 2)[0]
        one_layer = np.array([len(set(layer_of[list(spectrum.supports[k])].tolist())) == 1 for k in higher], bool)
        within = float(sq[higher[one_layer]].sum() / total) if higher.size else 0.0
        across = float(sq[higher[~one_layer]].sum() / total) if higher.size else 0.0
    return StructureSummary(order_share, linear, within, across, total, int(nonconst.sum()))
