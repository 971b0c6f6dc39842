"""``proxyspex-sequential``: spend the budget where selection happens, then keep what was checked.

At a matched budget B: half of it is the first B/2 masks of the shared training stream; the rest is spent in
rounds. Round 1 samples k-head masks around LASSO's top k (a cheap ranking, so the proxy learns the region it
selects from); every later round samples around the current proxy's optimum. Each round evaluates the masks
it sampled (the candidate itself among them), adds them to the training set and refits the proxy. The kept set
at each level is the best TRUE training value among every k-head mask evaluated in the rounds, so the proxy
steers the search and the model has the last word.

``proxyspex-anchored`` is the same loop with round 1 sampled around the top k of every cheap ranking it is given
(LASSO's and the gradient's), so that the proxy is also trained where those rankings would select; the masks of
round 1 are shared out among the distinct centres.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from headspex.selection.select import Selection, select_heads, select_top_k
from headspex.selection.verify import perturbed

ROUNDS = 3
MAX_SWAPS = 3  # masks around a candidate swap 1..MAX_SWAPS kept heads for removed ones


def around(mask: np.ndarray, n_masks: int, rng: np.random.Generator) -> np.ndarray:
    """``[n_masks, n]``: ``mask`` itself, then masks with 1..MAX_SWAPS heads swapped (same size)."""
    return np.stack([mask] + [perturbed(mask, 1 + i % MAX_SWAPS, rng) for i in range(n_masks - 1)])


def around_all(centres: list[np.ndarray], n_masks: int, rng: np.random.Generator) -> np.ndarray:
    """``[n_masks, n]``: :func:`around` each distinct centre, the masks shared out as evenly as possible."""
    distinct = list({c.tobytes(): c for c in centres}.values())
    shares = [n_masks // len(distinct) + (i < n_masks % len(distinct)) for i in range(len(distinct))]
    return np.concatenate([around(c, n, rng) for c, n in zip(distinct, shares) if n > 0])


def sequential(ctx: Any, ks: list[int], anchors: dict[str, np.ndarray] | None = None
               ) -> tuple[dict[int, Selection], int, str]:
    """Selections per k, the masks evaluated, and notes (see the module docstring).

    anchors: ``{name: scores [n_players]}`` of cheap rankings whose top k are centres of round 1 beside LASSO's."""
    from headspex.spectrum.proxy import Proxy

    start = max(20, ctx.budget // 2)
    masks, values = ctx.training_set(start)
    masks, values = masks.copy(), values.copy()
    per_round = max(len(ks), (ctx.budget - start) // ROUNDS)
    per_level = max(2, per_round // len(ks))
    rng = np.random.default_rng([ctx.seed, 13])
    best: dict[int, tuple[float, np.ndarray]] = {}
    weights = ctx.lasso_weights(start)
    rankings = [weights, *(anchors or {}).values()]
    centres = {k: [select_top_k(s, k).mask for s in rankings] for k in ks}
    for r in range(ROUNDS):
        batch = np.concatenate([around_all(centres[k], per_level, rng) for k in ks])
        true = np.asarray(ctx.game(batch), dtype=np.float64)
        for i, k in enumerate(ks):
            rows = slice(i * per_level, (i + 1) * per_level)
            j = int(np.argmax(true[rows]))
            if k not in best or true[rows][j] > best[k][0]:
                best[k] = (float(true[rows][j]), batch[rows][j].copy())
        masks, values = np.concatenate([masks, batch]), np.concatenate([values, true])
        proxy = Proxy(seed=ctx.seed, refine=ctx.refine, players=ctx.players).fit(masks, values)
        spectrum = proxy.refinement_.spectrum if proxy.refinement_ is not None else proxy.spectrum()
        moebius = spectrum.to_moebius()
        centres = {k: [select_heads(moebius, k, time_limit=ctx.milp_time_limit, max_terms=ctx.max_terms).mask]
                   for k in ks}
    out = {k: Selection(mask, k, "anchored" if anchors else "sequential", float(spectrum.predict(mask[None])[0]),
                        details={"true_train_value": value, "rounds": ROUNDS})
           for k, (value, mask) in best.items()}
    spent = start + ROUNDS * per_level * len(ks)
    first = " and ".join(["LASSO's", *(f"{name}'s" for name in anchors or {})])
    return out, spent, (f"{start} stream masks + {ROUNDS} rounds of {per_level} masks per level around {first} "
                        "top k, then the proxy's optimum; the best true k-mask kept")
