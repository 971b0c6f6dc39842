"""Optional refinement of a spectrum, as in the ProxySPEX reference code.

Keep the fewest largest non-constant Fourier coefficients that together hold a chosen share
(default 95%) of the non-constant energy ``sum_{|S|>=1} F(S)^2``, then re-fit those coefficients
(plus an unpenalised constant) by ridge regression on the same masks, ridge strength chosen by
efficient leave-one-out (``RidgeCV``). It denoises the proxy's long tail of tiny coefficients but
can drop real weak higher-order terms, so it is off unless asked for. ``energy="auto"`` tries the
shares in ``AUTO_ENERGIES`` and keeps the one with the best leave-one-out error on the training
masks (no held-out data involved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from headspex._checks import check_masks
from headspex.spectrum.fourier import FourierSpectrum, fourier_features
from headspex.spectrum.r2 import r2_score

DEFAULT_RIDGE_ALPHAS = tuple(np.logspace(-6, 6, 25).tolist())
# 0.999 is not a candidate: its leave-one-out score is optimistic (the terms were chosen on the same
# masks), it was picked on planted 270-player games and lost held-out R^2 (0.975 vs 0.990 at 0.99), and
# its hundreds of extra terms made it the slowest candidate by far.
AUTO_ENERGIES = (0.9, 0.95, 0.99)


@dataclass(frozen=True, eq=False)
class Refinement:
    """A refined spectrum and what the refinement did.

    Attributes:
        spectrum: the refined spectrum (constant + kept terms with re-fitted coefficients).
        energy: share of non-constant energy used (the chosen one with ``energy="auto"``).
        n_candidates: non-constant terms before refinement.
        n_kept: non-constant terms kept.
        kept_energy_share: share of the original non-constant energy held by the kept terms.
        alpha: ridge strength chosen by leave-one-out.
        train_r2: R^2 of the refined spectrum on the masks it was fitted on.
    """

    spectrum: FourierSpectrum
    energy: float
    n_candidates: int
    n_kept: int
    kept_energy_share: float
    alpha: float
    train_r2: float

    def report(self) -> dict:
        """Everything except the spectrum, as a plain dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "spectrum"}


def _top_energy(spectrum: FourierSpectrum, energy: float) -> tuple[np.ndarray, float]:
    """Indices of the fewest non-constant terms holding ``energy`` of the non-constant energy."""
    idx = np.nonzero(spectrum.orders > 0)[0]
    sq = spectrum.coefficients[idx] ** 2
    total = sq.sum()
    if total == 0.0:
        return np.zeros(0, np.int64), 1.0
    order = np.argsort(-sq, kind="stable")
    cum = np.cumsum(sq[order]) / total
    n_keep = min(int(np.searchsorted(cum, energy - 1e-12)) + 1, len(order))
    return idx[order[:n_keep]], float(cum[n_keep - 1])


def refine(
    spectrum: FourierSpectrum,
    masks: Any,
    values: Any,
    *,
    energy: float | str = 0.95,
    ridge_alphas: Sequence[float] = DEFAULT_RIDGE_ALPHAS,
) -> Refinement:
    """Keep the top-energy terms of ``spectrum`` and re-fit them by ridge on ``(masks, values)``.

    Args:
        spectrum: spectrum to refine (typically ``proxy.spectrum()``).
        masks: binary ``[n_masks, n_players]`` (the proxy's training masks).
        values: ``[n_masks]`` values.
        energy: share in (0, 1] of non-constant energy to keep, or ``"auto"`` (best
            leave-one-out error over ``AUTO_ENERGIES``).
        ridge_alphas: candidate ridge strengths.

    Returns:
        Refinement.
    """
    m = check_masks(masks, n_players=spectrum.n_players)
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    if y.shape[0] != m.shape[0] or not np.isfinite(y).all():
        raise ValueError(f"need {m.shape[0]} finite values (one per mask); got {y.shape[0]}")
    if isinstance(energy, str):
        if energy != "auto":
            raise ValueError(f"energy must be a share in (0, 1] or 'auto'; got {energy!r}")
        # the kept sets are nested (top-energy prefixes): build the features of the largest once
        keep, _ = _top_energy(spectrum, max(AUTO_ENERGIES))
        X = fourier_features(m, [spectrum.supports[k] for k in keep], spectrum.n_players)
        fits = [_refine_one(spectrum, m, y, e, ridge_alphas, X) for e in AUTO_ENERGIES]
        return max(fits, key=lambda f: f[1])[0]
    if not 0.0 < energy <= 1.0:
        raise ValueError(f"energy must be in (0, 1]; got {energy}")
    return _refine_one(spectrum, m, y, float(energy), ridge_alphas)[0]


def _refine_one(
    spectrum: FourierSpectrum, m: np.ndarray, y: np.ndarray, energy: float, ridge_alphas: Sequence[float],
    features: np.ndarray | None = None,
) -> tuple[Refinement, float]:
    """One refinement and its leave-one-out score (negative MSE; -inf when nothing is kept).

    ``features``: Fourier features of a top-energy prefix at least as long as this one's (reused).
    """
    from sklearn.linear_model import RidgeCV

    keep, share = _top_energy(spectrum, energy)
    supports = [spectrum.supports[k] for k in keep]
    n_candidates = int((spectrum.orders > 0).sum())
    if not supports:
        refined = FourierSpectrum(spectrum.n_players, ((),), np.array([y.mean()]), spectrum.players)
        return Refinement(refined, energy, n_candidates, 0, share, float("nan"), 0.0), -np.inf
    X = features[:, : len(supports)] if features is not None else fourier_features(m, supports, spectrum.n_players)
    reg = RidgeCV(alphas=np.asarray(ridge_alphas, dtype=np.float64), fit_intercept=True).fit(X, y)
    coefs = {(): float(reg.intercept_), **dict(zip(supports, reg.coef_.tolist()))}
    refined = FourierSpectrum.from_dict(coefs, spectrum.n_players, players=spectrum.players)
    train_r2 = r2_score(y, refined.predict(m))
    report = Refinement(refined, energy, n_candidates, len(supports), share, float(reg.alpha_), train_r2)
    return report, float(reg.best_score_)
