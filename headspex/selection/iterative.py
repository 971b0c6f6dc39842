"""Iterative ProxySPEX: prune from one sweep level to the next, refitting the proxy around the current set.

Round r goes from the current kept set S (|S| = s) to the next sweep level t < s:

1. sample ``budget / rounds`` masks around S: heads outside S stay removed, each head of S is kept with a
   probability drawn per mask from [t/s - 0.1, t/s + 0.1] (clipped to (0.05, 0.95));
2. evaluate them on the training split and refit the proxy on every mask evaluated so far;
3. keep the proxy's best t-subset of S (exact MILP on the Moebius spectrum restricted to S when small
   enough, else the heuristic).

The total budget equals one-shot ProxySPEX's, so the two compare at a matched cost.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np

from headspex.selection.select import Selection, select_heads
from headspex.spectrum.proxy import Proxy

SPREAD = 0.1  # half-width of the keep-probability band around the next level


def masks_around(current: np.ndarray, target: int, n_masks: int, seed: int) -> np.ndarray:
    """[n_masks, n] masks keeping a random subset of ``current``'s heads, about ``target`` of them."""
    rng = np.random.default_rng(seed)
    kept = np.flatnonzero(current)
    centre = target / max(1, kept.size)
    probs = np.clip(rng.uniform(centre - SPREAD, centre + SPREAD, size=n_masks), 0.05, 0.95)
    out = np.zeros((n_masks, current.size), dtype=np.uint8)
    out[:, kept] = (rng.random((n_masks, kept.size)) < probs[:, None]).astype(np.uint8)
    return out


def iterative_proxyspex(ctx: Any, ks: list[int]) -> tuple[dict[int, Selection], int, str]:
    """Nested selections for every k in ``ks`` (descending sweep), the masks evaluated, and notes."""
    n = ctx.n_players
    targets = sorted({int(k) for k in ks}, reverse=True)
    per_round = max(8, ctx.budget // len(targets))
    current = np.ones(n, dtype=np.uint8)
    all_masks, all_values, out, how = [], [], {}, []
    t0 = time.perf_counter()
    for r, target in enumerate(targets):
        masks = masks_around(current, target, per_round, seed=ctx.seed + 7919 * (r + 1))
        all_masks.append(masks)
        all_values.append(ctx.game(masks))
        proxy = Proxy(seed=ctx.seed, refine=True, players=ctx.game.players).fit(np.concatenate(all_masks),
                                                                                np.concatenate(all_values))
        spectrum = proxy.refinement_.spectrum if proxy.refinement_ is not None else proxy.spectrum()
        kept = np.flatnonzero(current)
        local = select_heads(spectrum.to_moebius().restrict(kept), target, time_limit=ctx.milp_time_limit,
                             max_terms=ctx.max_terms)
        how.append(local.method)
        current = np.zeros(n, dtype=np.uint8)
        current[kept[np.flatnonzero(local.mask)]] = 1
        out[target] = Selection(current.copy(), target, "iterative-proxyspex", objective=local.objective,
                                seconds=time.perf_counter() - t0, details={"round": r, "selection": local.method})
    n_masks = per_round * len(targets)
    return out, n_masks, f"{len(targets)} rounds of {per_round} masks; selection by {', '.join(sorted(set(how)))}"


def eliminate(n: int, ks: list[int], remove: Callable[[np.ndarray, int], np.ndarray], *, fraction: float,
              label: str) -> dict[int, Selection]:
    """Nested kept sets by repeated removal: each round removes ``ceil(fraction * kept)`` heads chosen by
    ``remove(current_mask, n_remove) -> indices``, fewer where that would step past a requested k."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie in (0, 1); got {fraction}")
    targets = sorted({int(k) for k in ks if 0 <= k <= n}, reverse=True)
    current, out = np.ones(n, dtype=np.uint8), {}
    t0 = time.perf_counter()
    for target in targets:
        while int(current.sum()) > target:
            size = int(current.sum())
            n_remove = min(max(1, math.ceil(fraction * size)), size - target)
            gone = np.asarray(remove(current.copy(), n_remove))
            if gone.size != n_remove or not current[gone].all():
                raise RuntimeError(f"remove() must return {n_remove} currently kept indices; got {gone.tolist()}")
            current[gone] = 0
        out[target] = Selection(current.copy(), target, label, seconds=time.perf_counter() - t0)
    return out
