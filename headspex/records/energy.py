"""Energy shares (linear / within-layer / across-layer) as stored: each share with its bootstrap interval, and
their pooling over seeds. They are computed by :mod:`headspex.experiments.energy`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from headspex.records.stats import Interval, bootstrap_ci

SHARES = ("linear", "within_layer", "across_layer")


@dataclass(frozen=True)
class EnergyShares:
    """Shares (in %) of the proxy's non-constant spectral energy, raw and refined, with intervals."""

    raw: dict[str, Interval]
    refined: dict[str, Interval]
    n_boot: int
    raw_samples: np.ndarray  # [n_boot, 3] bootstrap shares (linear, within, across), for pooling over seeds
    refined_samples: np.ndarray

    def to_dataframe(self) -> pd.DataFrame:
        """Rows (spectrum, share) with estimate, low, high in %."""
        rows = [dict(spectrum=kind, share=name, estimate=iv.estimate, low=iv.low, high=iv.high)
                for kind, table in (("raw", self.raw), ("refined", self.refined)) for name, iv in table.items()]
        return pd.DataFrame(rows)


def pooled_shares(runs: Sequence[EnergyShares], kind: str) -> dict[str, Interval]:
    """Shares over several seeds: mean of the point estimates, interval from all seeds' refits pooled."""
    points = np.array([[getattr(r, kind)[name].estimate for name in SHARES] for r in runs])
    samples = np.concatenate([getattr(r, f"{kind}_samples") for r in runs])
    return {name: bootstrap_ci(samples[:, j], point=float(points[:, j].mean())) if len(samples) >= 2 else
            Interval(float(points[:, j].mean()), float("nan"), float("nan"), 0.95, len(samples))
            for j, name in enumerate(SHARES)}


