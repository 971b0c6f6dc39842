"""Faithfulness: held-out R^2 of each surrogate as a function of the number of training masks.

Surrogates (all fitted on the same first ``n`` training masks):

- ``proxy``: the CatBoost proxy (== its exact spectrum), ``fit_proxy``;
- ``refined``: the proxy's spectrum after the 95%-energy ridge refinement, ``refine``;
- ``lasso``: the linear LASSO baseline, ``fit_lasso``;
- ``shapiq``: shapiq's own ProxySPEX approximator, ``fit_shapiq_proxyspex`` (needs lightgbm).

R^2 = 1 - mean((y - y_hat)^2) / var(y) on the held-out masks (can be negative).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from headspex._checks import check_masks, check_values
from headspex.spectrum.proxy import fit_proxy
from headspex.spectrum.r2 import r2_score
from headspex.spectrum.refine import refine
from headspex.spectrum.surrogates import fit_lasso, fit_shapiq_proxyspex

SURROGATES = ("proxy", "refined", "lasso", "shapiq")


@dataclass(frozen=True)
class FaithfulnessPoint:
    """Held-out R^2 of one surrogate trained on ``n_masks`` masks (``seconds`` = its fit time)."""

    n_masks: int
    surrogate: str
    r2: float
    seconds: float


@dataclass
class FaithfulnessResult:
    """Faithfulness curve: one point per (training size, surrogate)."""

    points: list[FaithfulnessPoint] = field(default_factory=list)
    n_test: int = 0
    seed: int = 0

    def to_dataframe(self) -> pd.DataFrame:
        """Columns ``n_masks, surrogate, r2, seconds`` (long format)."""
        return pd.DataFrame([asdict(p) for p in self.points], columns=["n_masks", "surrogate", "r2", "seconds"])

    def table(self) -> pd.DataFrame:
        """Wide format: one row per training size, one R^2 column per surrogate."""
        return self.to_dataframe().pivot(index="n_masks", columns="surrogate", values="r2")


def faithfulness_curve(
    masks: Any,
    values: Any,
    test_masks: Any,
    test_values: Any,
    sizes: Sequence[int],
    *,
    surrogates: Sequence[str] = ("proxy", "refined", "lasso"),
    seed: int = 0,
    thread_count: int = -1,
    proxy_kwargs: dict | None = None,
) -> FaithfulnessResult:
    """Fit each surrogate on the first ``n`` training masks for every ``n`` in ``sizes``.

    Args:
        masks: training masks ``[n_masks, n_players]`` (1 = keep), values ``[n_masks]``.
        test_masks: held-out masks ``[n_test, n_players]``, test_values ``[n_test]``.
        sizes: training sizes, each ``<= n_masks`` (prefixes of ``masks``, so curves are nested).
        surrogates: any of ``SURROGATES``; ``"shapiq"`` is slow and needs lightgbm.
        seed, thread_count: passed to the fits; proxy_kwargs: extra ``fit_proxy`` arguments.

    Returns:
        FaithfulnessResult.
    """
    m = check_masks(masks)
    y = check_values(values, m.shape[0])
    mt = check_masks(test_masks, n_players=m.shape[1], name="test_masks")
    yt = check_values(test_values, mt.shape[0])
    unknown = set(surrogates) - set(SURROGATES)
    if unknown:
        raise ValueError(f"unknown surrogates {sorted(unknown)}; choose from {SURROGATES}")
    if not sizes or any(int(n) < 1 or int(n) > m.shape[0] for n in sizes):
        raise ValueError(f"sizes must be in 1..{m.shape[0]} (the number of training masks); got {list(sizes)}")
    result = FaithfulnessResult(n_test=mt.shape[0], seed=seed)
    for n in sorted(int(s) for s in sizes):
        mn, yn = m[:n], y[:n]
        proxy = None
        for name in surrogates:
            t0 = time.perf_counter()
            if name in ("proxy", "refined"):
                if proxy is None:
                    proxy = fit_proxy(mn, yn, seed=seed, thread_count=thread_count, **(proxy_kwargs or {}))
                    proxy_seconds = time.perf_counter() - t0
                if name == "proxy":
                    pred, seconds = proxy.predict(mt), proxy_seconds
                else:
                    pred = refine(proxy.spectrum(), mn, yn).spectrum.predict(mt)
                    seconds = proxy_seconds + time.perf_counter() - t0
            elif name == "lasso":
                pred = fit_lasso(mn, yn, seed=seed).predict(mt)
                seconds = time.perf_counter() - t0
            else:
                pred = fit_shapiq_proxyspex(mn, yn, seed=seed).predict(mt)
                seconds = time.perf_counter() - t0
            result.points.append(FaithfulnessPoint(n, name, r2_score(yt, pred), seconds))
    return result
