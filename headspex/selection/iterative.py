"""Elimination by removal, one round at a time: from the whole set down every level of a descending sweep, the
lowest-scoring kept heads are removed and the scores re-estimated (Michel et al.'s iterative gradient)."""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from headspex.selection.select import Selection


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
