"""Energy shares (linear / within-layer / across-layer) with bootstrap intervals, and within-layer enrichment.

The proxy is refitted with its chosen hyper-parameters on masks resampled with replacement; each refit
gives a spectrum (raw, and refined when asked) and its shares. The point estimate is the full-data fit. The
result type, :class:`~headspex.records.energy.EnergyShares`, is stored with the seed.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from headspex.records.energy import SHARES, EnergyShares
from headspex.records.stats import Interval, bootstrap_ci
from headspex.spectrum.proxy import Proxy
from headspex.spectrum.proxy_search import catboost_regressor
from headspex.spectrum.refine import refine
from headspex.spectrum.structure import structure_summary
from headspex.spectrum.tree import spectrum_from_catboost


def _shares(spectrum: Any, players: Sequence[tuple[int, int]]) -> np.ndarray:
    row = structure_summary(spectrum, list(players)).table_row()
    return np.array([row[name] for name in SHARES])


def _refit_spectrum(proxy: Proxy, masks: np.ndarray, values: np.ndarray) -> Any:
    """The proxy's chosen configuration refitted on (masks, values), no search."""
    if proxy.booster_ is None or np.ptp(values) == 0:
        return proxy.spectrum()
    p = proxy.params_
    booster = catboost_regressor(p["depth"], p["learning_rate"], p["n_trees"], proxy.seed, proxy.search.thread_count,
                                 None)
    booster.fit(masks.astype(np.float64), values)
    return spectrum_from_catboost(booster, n_players=masks.shape[1], players=proxy.players_)


def energy_shares(proxy: Proxy, masks: np.ndarray, values: np.ndarray, players: Sequence[tuple[int, int]], *,
                  n_boot: int = 8, seed: int = 0, refine_energy: float | str = 0.95) -> EnergyShares:
    """Shares of the fitted ``proxy`` (on ``masks [n, n_players]``, ``values [n]``) with ``n_boot`` refits."""
    raw_point = _shares(proxy.spectrum(), players)
    refined_point = _shares(refine(proxy.spectrum(), masks, values, energy=refine_energy).spectrum, players)
    rng = np.random.default_rng([seed, 7])
    raw_boot, refined_boot = [], []
    for _ in range(n_boot):
        idx = rng.integers(0, len(masks), len(masks))
        spectrum = _refit_spectrum(proxy, masks[idx], values[idx])
        raw_boot.append(_shares(spectrum, players))
        refined_boot.append(_shares(refine(spectrum, masks[idx], values[idx], energy=refine_energy).spectrum, players))

    def table(point: np.ndarray, boot: list) -> dict[str, Interval]:
        arr = np.array(boot).reshape(-1, len(SHARES))
        return {name: (bootstrap_ci(arr[:, j], point=float(point[j])) if len(arr) >= 2 else
                       Interval(float(point[j]), float("nan"), float("nan"), 0.95, len(arr)))
                for j, name in enumerate(SHARES)}

    return EnergyShares(table(raw_point, raw_boot), table(refined_point, refined_boot), n_boot,
                        np.array(raw_boot).reshape(-1, len(SHARES)), np.array(refined_boot).reshape(-1, len(SHARES)))


def energy_enrichment(proxy: Proxy, masks: np.ndarray, values: np.ndarray, players: Sequence[tuple[int, int]], *,
                      n_perm: int = 999, seed: int = 0, refine_energy: float | str = 0.95) -> dict[str, Any]:
    """Within-layer enrichment of the fitted ``proxy``'s spectrum, raw and refined, with a permutation null.

    ``{"raw": LayerEnrichment, "refined": LayerEnrichment}`` (:mod:`headspex.spectrum.enrichment`); the refined
    spectrum is the same ridge refinement as :func:`energy_shares` (the proxy's own when it was fitted with
    ``refine=True`` at this ``refine_energy``), so the shares agree with that function's point estimates.
    """
    from headspex.spectrum.enrichment import layer_enrichment

    raw = proxy.spectrum()
    own = getattr(proxy, "refinement_", None)
    refined = (own.spectrum if own is not None and proxy.refine_energy == refine_energy else
               refine(raw, masks, values, energy=refine_energy).spectrum)
    return {kind: layer_enrichment(spectrum, players, n_perm=n_perm, seed=seed)
            for kind, spectrum in (("raw", raw), ("refined", refined))}
