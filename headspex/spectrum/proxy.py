"""The ProxySPEX proxy: a CatBoost regressor over head masks, chosen by cross-validation
(:mod:`headspex.spectrum.proxy_search`), with its exact Fourier spectrum read out of the trees."""

from __future__ import annotations

import time
from dataclasses import asdict
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from headspex._checks import Players, check_masks, check_players, check_values
from headspex.spectrum.fourier import FourierSpectrum
from headspex.spectrum.proxy_search import MIN_ROWS_PER_FOLD, ProxySearch, catboost_regressor, cross_validate
from headspex.spectrum.refine import refine
from headspex.spectrum.tree import spectrum_from_catboost

class Proxy:
    """The ProxySPEX proxy as an estimator: ``Proxy(...).fit(masks, values)`` returns the fitted proxy.

    Args:
        search: the cross-validated hyper-parameter search (``ProxySearch()``: see the module docstring).
        seed: seeds the folds and CatBoost (same seed and thread count -> same proxy).
        refine: also compute the ridge-refined spectrum (``refinement_``).
        refine_energy: share of non-constant energy kept by the refinement, or ``"auto"``.
        players: optional ``(layer, head)`` per player, carried to spectra for labels.

    Fitted attributes (after :meth:`fit`):
        booster_: the fitted ``CatBoostRegressor`` (``None`` for a constant game).
        params_: chosen ``{"depth", "learning_rate", "n_trees"}`` (empty for a constant game).
        cv_r2_: mean cross-validated R^2 of the chosen configuration (NaN for a constant game).
        grid_: one row per scored (depth, learning_rate, n_trees) with cv_r2, cv_r2_std, seconds, status, chosen.
        n_players_, n_masks_: training data shape. constant_value_: the value of a constant game, else None.
        refinement_: the refined spectrum and its report when ``refine=True``, else None.
        fit_seconds_: wall time of search + final fit (+ refinement). players_: validated players or None.
    """

    def __init__(self, search: ProxySearch | None = None, *, seed: int = 0, refine: bool = False,
                 refine_energy: float | str = 0.95, players: Players | None = None) -> None:
        self.search = search if search is not None else ProxySearch()
        self.seed, self.refine, self.refine_energy, self.players = int(seed), refine, refine_energy, players

    def fit(self, masks: Any, values: Any) -> "Proxy":
        """Search, fit and (optionally) refine on ``masks [n_masks, n_players]`` (1 = kept) and ``values [n_masks]``.

        Raises:
            ValueError: non-binary or non-2-D masks, mismatched lengths, non-finite values, or too few
                masks for the folds (at least ``2 * cv_folds``).
        """
        t0 = time.perf_counter()
        m = check_masks(masks)
        y = check_values(values, m.shape[0])
        self.players_ = check_players(self.players, m.shape[1])
        need = MIN_ROWS_PER_FOLD * self.search.cv_folds
        if m.shape[0] < need:
            raise ValueError(f"{self.search.cv_folds}-fold cross-validation needs at least {need} masks; got {m.shape[0]}")
        self.n_masks_, self.n_players_ = m.shape
        self.__dict__.pop("_exact_spectrum", None)
        if np.ptp(y) == 0.0:
            self.booster_, self.params_, self.cv_r2_, self.constant_value_ = None, {}, float("nan"), float(y[0])
            self.grid_ = pd.DataFrame([dict(depth=np.nan, learning_rate=np.nan, n_trees=0, cv_r2=np.nan,
                                            cv_r2_std=np.nan, seconds=0.0, status="constant values", chosen=True)])
        else:
            self._fit_catboost(m.astype(np.float64), y)
        self.refinement_, self.fit_seconds_ = None, float("nan")  # fitted from here on
        if self.refine:
            self.refinement_ = refine(self.spectrum(), m, y, energy=self.refine_energy)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _fit_catboost(self, mf: np.ndarray, y: np.ndarray) -> None:
        grid = cross_validate(mf, y, self.search, self.seed)
        best = grid[grid["status"] == "ok"]["cv_r2"].fillna(-np.inf).idxmax()
        grid["chosen"] = grid.index == best
        row = grid.loc[best]
        self.params_ = dict(depth=int(row.depth), learning_rate=float(row.learning_rate), n_trees=int(row.n_trees))
        self.booster_ = catboost_regressor(self.params_["depth"], self.params_["learning_rate"], self.params_["n_trees"],
                                  self.seed, self.search.thread_count, None)
        self.booster_.fit(mf, y)
        self.grid_, self.cv_r2_, self.constant_value_ = grid, float(row.cv_r2), None

    @property
    def n_players(self) -> int:
        """Number of players (the set-function protocol)."""
        self._check_fitted()
        return self.n_players_

    def predict(self, masks: Any) -> np.ndarray:
        """Proxy predictions for masks ``[n_masks, n_players]`` -> ``float64 [n_masks]``."""
        self._check_fitted()
        m = check_masks(masks, n_players=self.n_players_)
        if self.booster_ is None:
            return np.full(m.shape[0], float(self.constant_value_))
        return np.asarray(self.booster_.predict(m.astype(np.float64)), dtype=np.float64)

    def spectrum(self) -> FourierSpectrum:
        """Exact Fourier spectrum of the proxy (cached); ``refinement_.spectrum`` is the refined one."""
        return self._exact_spectrum

    @cached_property
    def _exact_spectrum(self) -> FourierSpectrum:
        self._check_fitted()
        if self.booster_ is None:
            return FourierSpectrum(self.n_players_, ((),), np.array([self.constant_value_]), self.players_)
        return spectrum_from_catboost(self.booster_, n_players=self.n_players_, players=self.players_)

    def summary(self) -> dict:
        """Plain-dict record of the fit (for results files)."""
        self._check_fitted()
        return dict(params=self.params_, cv_r2=self.cv_r2_, seed=self.seed, n_players=self.n_players_,
                    n_masks=self.n_masks_, search=asdict(self.search), fit_seconds=self.fit_seconds_,
                    refinement=None if self.refinement_ is None else self.refinement_.report())

    def _check_fitted(self) -> None:
        if not hasattr(self, "fit_seconds_"):
            raise RuntimeError("this Proxy is not fitted yet: call proxy.fit(masks, values) first")

    def __getattr__(self, name: str) -> Any:
        """Old attribute names (``cv_r2``, ``params``, ``grid``, ``refinement``, ``model``) still read."""
        old = {"model": "booster_", "cv_r2": "cv_r2_", "params": "params_", "grid": "grid_",
               "refinement": "refinement_", "n_masks": "n_masks_", "constant_value": "constant_value_",
               "fit_seconds": "fit_seconds_"}
        if name in old:
            return getattr(self, old[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        fitted = f", cv_r2_={self.cv_r2_:.3f}, params_={self.params_}" if hasattr(self, "fit_seconds_") else ""
        return f"Proxy(seed={self.seed}, refine={self.refine}{fitted})"


def fit_proxy(masks: Any, values: Any, *, seed: int = 0, refine_spectrum: bool = False,
              refine_energy: float | str = 0.95, players: list[tuple[int, int]] | None = None,
              **search: Any) -> Proxy:
    """``Proxy(ProxySearch(**search), seed=..., refine=refine_spectrum, ...).fit(masks, values)``.

    ``search``: any :class:`ProxySearch` field (depths, n_trees, learning_rates, early_stopping_rounds,
    cv_folds, prune_margin, max_search_time, thread_count).
    """
    return Proxy(ProxySearch(**search), seed=seed, refine=refine_spectrum, refine_energy=refine_energy,
                 players=players).fit(masks, values)
