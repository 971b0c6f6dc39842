"""``proxyspex-verify``: trust the proxy only where it can be checked.

At a matched budget B, the proxy is fitted on the first ``(1 - share) * B`` training masks (the same stream
as every other method's, so budgets nest) and the remaining ``share * B`` evaluations check candidates on the
true training value. Per level, the candidates are distinct local optima of the proxy: greedy + 1-swap
polished from LASSO's top k, from the best observed training mask resized to k, from the proxy's global
optimum (MILP or heuristic), and from seeded perturbations of LASSO's top k; LASSO's own top k is always
among them. The best candidates by predicted value are evaluated and the best TRUE one is kept, so the rule
never does worse on the training objective than the best candidate it checked, LASSO's included.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from headspex.selection.select import Selection, proxy_optimum, select_heads_greedy_swap, select_top_k

VERIFY_SHARE = 0.2  # share of the budget spent checking candidates on the true value
N_PERTURBED = 6  # perturbed LASSO starts per level
POLISH_SECONDS = None  # no wall-clock limit on a greedy + swap polish: it stops on rounds (deterministic)


def verify_budget(budget: int, n_levels: int, share: float = VERIFY_SHARE) -> tuple[int, int]:
    """``(training masks, candidates checked per level)`` for a total of ``budget`` true evaluations."""
    per_level = max(1, int(round(share * budget)) // max(1, n_levels))
    return budget - per_level * n_levels, per_level


def resize(mask: np.ndarray, k: int, scores: np.ndarray) -> np.ndarray:
    """``mask`` with exactly ``k`` ones: drop its lowest-scored kept heads, or add the highest-scored others."""
    out = mask.astype(np.uint8).copy()
    kept, other = np.flatnonzero(out), np.flatnonzero(out == 0)
    if kept.size > k:
        out[kept[np.argsort(scores[kept], kind="stable")[:kept.size - k]]] = 0
    elif kept.size < k:
        out[other[np.argsort(-scores[other], kind="stable")[:k - kept.size]]] = 1
    return out


def perturbed(mask: np.ndarray, n_swaps: int, rng: np.random.Generator) -> np.ndarray:
    """``mask`` with ``n_swaps`` random kept heads swapped for random removed ones."""
    out = mask.copy()
    kept, other = np.flatnonzero(out), np.flatnonzero(out == 0)
    n_swaps = min(n_swaps, kept.size, other.size)
    out[rng.choice(kept, n_swaps, replace=False)] = 0
    out[rng.choice(other, n_swaps, replace=False)] = 1
    return out


def candidates(spectrum: object, moebius: object, k: int, weights: np.ndarray, masks: np.ndarray,
               values: np.ndarray, *, seed: int, time_limit: float | None, max_terms: int) -> list[Selection]:
    """Distinct candidate k-masks, best predicted first: the MILP optimum and :func:`local_optima`."""
    milp = proxy_optimum(moebius, k, time_limit=time_limit, max_terms=max_terms)
    return local_optima(spectrum, k, weights, masks, values, seed=seed, first=[milp])


def local_optima(objective: object, k: int, weights: np.ndarray, masks: np.ndarray, values: np.ndarray, *,
                 seed: int, first: Sequence[Selection] = ()) -> list[Selection]:
    """Distinct k-masks, best ``objective.predict`` first: ``first``, then greedy + swap polished from LASSO's
    top k, the best observed mask resized to k and seeded perturbations of LASSO's top k; LASSO's top k itself
    is always among them. masks: [N, n] observed masks with ``values`` [N]; weights: [n] LASSO's weights."""
    rng = np.random.default_rng([seed, k, 11])
    lasso = select_top_k(weights, k, label="lasso").mask
    best_seen = resize(masks[int(np.argmax(values))], k, weights)
    starts = [lasso, best_seen] + [perturbed(lasso, 1 + i % 3, rng) for i in range(N_PERTURBED)]
    found = list(first) + [select_heads_greedy_swap(objective, k, time_limit=POLISH_SECONDS, start=s)
                           for s in starts]
    found.append(Selection(lasso, k, "lasso", float(objective.predict(lasso[None])[0])))
    unique: dict[bytes, Selection] = {}
    for sel in sorted(found, key=lambda s: -s.objective):
        unique.setdefault(sel.mask.tobytes(), sel)
    return list(unique.values())


def choose(cands: list[Selection], true_values: np.ndarray, lasso_mask: np.ndarray, label: str = "verify") -> Selection:
    """The candidate with the best true value among those checked (``true_values`` aligned with ``cands``);
    its method is ``"<label>:<the candidate's method>"``."""
    best = int(np.argmax(true_values))
    sel = cands[best]
    details = dict(sel.details, verified=len(true_values), true_train_value=float(true_values[best]),
                   is_lasso=bool(np.array_equal(sel.mask, lasso_mask)), candidates=len(cands))
    return Selection(sel.mask, sel.k, f"{label}:{sel.method}", sel.objective, False, sel.seconds, details)


def checked(cands: list[Selection], per_level: int, lasso_mask: np.ndarray) -> list[Selection]:
    """The candidates to evaluate: the ``per_level`` best predicted, LASSO's top k always among them."""
    top = cands[:per_level]
    if not any(np.array_equal(c.mask, lasso_mask) for c in top):
        lasso = next(c for c in cands if np.array_equal(c.mask, lasso_mask))
        top = top[:max(0, per_level - 1)] + [lasso]
    return top


