"""Baseline surrogates fitted on the same (mask, value) pairs as the proxy.

- ``fit_lasso``: the paper's linear baseline, ``f(m) ~ b + sum_i w_i m_i`` by cross-validated LASSO.
- ``fit_shapiq_proxyspex``: shapiq's own ProxySPEX approximator (LightGBM proxy + 95%-energy ridge
  refinement), as a cross-check. shapiq samples its own coalitions (always the empty and full
  coalition, then size-stratified pairs of complements); to fit it on exactly OUR masks, the
  wrapper swaps its coalition sampler for one that returns the given mask matrix and answers the
  game by looking the values up. Everything after sampling is shapiq's unchanged code. It needs the
  ``lightgbm`` package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from headspex._checks import Players, check_masks, check_players, check_values
from headspex.spectrum.fourier import FourierSpectrum, MoebiusSpectrum


@dataclass(frozen=True, eq=False)
class LassoSurrogate:
    """Linear surrogate ``f(m) = intercept + weights @ m``.

    Attributes:
        model: the fitted ``sklearn.linear_model.LassoCV``.
        intercept: b.
        weights: ``float64 [n_players]``, effect of KEEPING each head (mask basis).
        n_players, players: as elsewhere.
    """

    model: Any
    intercept: float
    weights: np.ndarray
    n_players: int
    players: Players | None = None

    def predict(self, masks: Any) -> np.ndarray:
        """Predictions for masks ``[n_masks, n_players]`` -> ``float64 [n_masks]``."""
        m = check_masks(masks, n_players=self.n_players)
        return self.intercept + m.astype(np.float64) @ self.weights

    def spectrum(self) -> FourierSpectrum:
        """Fourier form: ``m_i = (1 - chi_i) / 2`` so F(()) = b + sum(w)/2, F({i}) = -w_i/2."""
        coefs = {(): self.intercept + 0.5 * float(self.weights.sum())}
        coefs.update({(i,): -0.5 * float(w) for i, w in enumerate(self.weights) if w != 0.0})
        return FourierSpectrum.from_dict(coefs, self.n_players, players=self.players)


def fit_lasso(
    masks: Any,
    values: Any,
    *,
    cv_folds: int = 5,
    seed: int = 0,
    players: list[tuple[int, int]] | None = None,
) -> LassoSurrogate:
    """Fit the linear LASSO baseline with ``cv_folds``-fold CV over the penalty (seeded folds)."""
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import KFold

    m = check_masks(masks)
    y = check_values(values, m.shape[0])
    player_list = check_players(players, m.shape[1])
    if m.shape[0] < 2 * cv_folds:
        raise ValueError(f"{cv_folds}-fold LASSO needs at least {2 * cv_folds} masks; got {m.shape[0]}")
    if np.ptp(y) == 0.0:
        return LassoSurrogate(None, float(y[0]), np.zeros(m.shape[1]), m.shape[1], player_list)
    cv = KFold(cv_folds, shuffle=True, random_state=seed)
    model = LassoCV(cv=cv, random_state=seed, max_iter=20000).fit(m.astype(np.float64), y)
    return LassoSurrogate(model, float(model.intercept_), np.asarray(model.coef_, np.float64), m.shape[1], player_list)


@dataclass(frozen=True, eq=False)
class ShapiqProxySpex:
    """Result of shapiq's ProxySPEX on given masks.

    Attributes:
        interactions: what shapiq returned (``InteractionValues``; with the default FBII at order n
            these are the Moebius coefficients of its refined spectrum).
        moebius: the same as a ``MoebiusSpectrum`` (usable as a predictor).
        seconds: wall time of ``approximate`` (LightGBM grid search, extraction, refinement,
            conversion).
    """

    interactions: Any
    moebius: MoebiusSpectrum
    seconds: float

    @property
    def n_players(self) -> int:
        return self.moebius.n_players

    def predict(self, masks: Any) -> np.ndarray:
        """Predictions of shapiq's refined spectrum on masks ``[n_masks, n_players]``."""
        return self.moebius.predict(masks)

    def spectrum(self) -> FourierSpectrum:
        """Fourier form of shapiq's refined spectrum."""
        return self.moebius.to_fourier()


class _GivenCoalitions:
    """Stand-in for shapiq's CoalitionSampler that 'samples' a fixed mask matrix."""

    def __init__(self, masks: np.ndarray) -> None:
        self._masks = masks.astype(bool)

    def sample(self, sampling_budget: int) -> None:  # noqa: ARG002 - same signature as shapiq's
        return None

    @property
    def coalitions_matrix(self) -> np.ndarray:
        return self._masks.copy()


def fit_shapiq_proxyspex(masks: Any, values: Any, *, seed: int = 0) -> ShapiqProxySpex:
    """Run ``shapiq.approximator.ProxySPEX`` on exactly these masks and values.

    Raises:
        ImportError: if shapiq's ProxySPEX or lightgbm is unavailable.
    """
    try:
        from shapiq.approximator.sparse import ProxySPEX
    except ImportError as err:  # older shapiq
        raise ImportError("this shapiq version has no ProxySPEX approximator (need shapiq >= 1.3)") from err
    m = check_masks(masks)
    y = check_values(values, m.shape[0])
    n = m.shape[1]
    approx = ProxySPEX(n=n, index="FBII", max_order=None, random_state=seed)  # needs lightgbm
    if not hasattr(approx, "_uniform_sampler"):
        raise ImportError("unexpected shapiq ProxySPEX internals (no _uniform_sampler); cannot pin its masks")
    approx._uniform_sampler = _GivenCoalitions(m)
    lookup: dict[bytes, float] = {}
    for row, val in zip(m.astype(bool), y):
        lookup.setdefault(row.tobytes(), float(val))

    def game(coalitions: np.ndarray) -> np.ndarray:
        coalitions = np.asarray(coalitions, dtype=bool)
        if coalitions.shape == m.shape and np.array_equal(coalitions, m.astype(bool)):
            return y.copy()
        return np.array([lookup[row.tobytes()] for row in coalitions])

    t0 = time.perf_counter()
    iv = approx.approximate(budget=m.shape[0], game=game)
    seconds = time.perf_counter() - t0
    moebius = MoebiusSpectrum.from_dict(dict(iv.dict_values), n)
    return ShapiqProxySpex(iv, moebius, seconds)
