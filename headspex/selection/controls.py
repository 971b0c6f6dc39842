"""Controls that say whether the trees' interactions or the checking of candidates wins (registered methods).

The default rule, ``proxyspex-robust``, does two things LASSO does not: it models interactions (CatBoost trees of
depth 3-5 and their bootstrap refits) and it spends a share of the budget checking its candidates on the true
training value. Each control keeps one of the two and removes the other, at the same budget and budget split:

- ``lasso-verify``: the checking without the trees. Candidates come from LASSO only: its top k, the top k of
  ``N_BOOT`` bootstrap LASSO refits, and single swaps of its top k ranked by the linear score; the best
  ``per_level`` by linear score (LASSO's top k always among them) are checked on true training values and the
  best true one is kept, exactly as the robust rule keeps its own.
- ``proxyspex-additive``: the robust rule with an additive proxy: the same CatBoost search and bootstrap refits
  with depth-1 trees (each tree splits on one head, so the proxy has no interaction term), everything else equal.

If ``proxyspex-robust`` beats both, the interactions do the work; if it only beats ``proxyspex-additive``, or
neither, the checking does.
"""

from __future__ import annotations

import numpy as np

from headspex.selection.select import Selection, select_top_k

N_BOOT = 8  # bootstrap LASSO refits (as many as the robust rule's proxy refits)
ADDITIVE_DEPTHS = (1,)  # proxyspex-additive: trees of depth 1 only


def linear_candidates(weights: np.ndarray, k: int, masks: np.ndarray, values: np.ndarray, *, seed: int,
                      n_boot: int = N_BOOT) -> list[Selection]:
    """Distinct k-masks from LASSO alone, best linear score (``weights @ mask``) first: LASSO's top k, the top k of
    ``n_boot`` bootstrap refits (rows resampled, seeded), and every single swap of LASSO's top k.

    weights: [n] LASSO's weights on ``masks [N, n]`` with ``values [N]``."""
    from headspex.spectrum.surrogates import fit_lasso

    n = weights.size
    lasso = select_top_k(weights, k, label="lasso").mask
    found = [(lasso, "lasso")]
    rng = np.random.default_rng([seed, k, 31])
    for b in range(n_boot):
        rows = rng.integers(0, len(values), size=len(values))
        refit = fit_lasso(masks[rows], values[rows], seed=seed + b).weights
        found.append((select_top_k(refit, k).mask, f"bootstrap-lasso-{b}"))
    kept, dropped = np.flatnonzero(lasso), np.flatnonzero(lasso == 0)
    if 0 < k < n:
        for out in kept:
            for into in dropped:
                swap = lasso.copy()
                swap[out], swap[into] = 0, 1
                found.append((swap, "lasso-swap"))
    unique: dict[bytes, Selection] = {}
    scored = [Selection(m, k, how, float(weights @ m)) for m, how in found]
    for sel in sorted(scored, key=lambda s: -s.objective):  # stable: LASSO's top k first among ties
        unique.setdefault(sel.mask.tobytes(), sel)
    return list(unique.values())
