"""Whole-model ranking and selection methods: each picks a kept set at every head count of the sweep.

A method is ``method(context, ks) -> MethodRun``: one :class:`~headspex.prune.select.Selection` per k and
its cost in model passes, counted per question: a forward pass is one (mask, question) through the model
(the fast path starts at the first analysed layer, here layer 1), a backward pass one gradient of it.
Registered in :data:`CURVE_METHODS`; ``random`` is not here (it is a distribution of masks, scored by the
curve driver).

- ``proxyspex``: the CatBoost proxy's optimum at each k on masks sampled at the sweep's keep levels. Exact
  MILP when the Moebius spectrum has at most ``max_terms`` terms, else greedy forward/backward + 1-swap
  local search on the proxy (``Selection.method`` says which ran).
- ``proxyspex-trust``: the same proxy's optimum within trust regions (radius 2%, 5%, 10% of the heads)
  around the best training mask of about that size, the best of the three on the true training value.
  The plain optimum can lie far from every training mask, where the proxy extrapolates (on SmolLM2 it
  predicted log-probs above 0 for every k).
- ``lasso``: top k by linear coefficient on the same masks. ``best-of-n``: the best of N random k-head
  masks on the true value, N = the proxy's budget split over the levels (matched budget).
- ``gradient`` / ``attribution-patching``: :mod:`headspex.curves.first_order`. ``single-head``: leave-one-out.
- ``iterative-gradient``: Michel et al.'s loop, removing the lowest 10% of the heads still kept and
  re-estimating. ``iterative-proxyspex``: from one sweep level to the next, masks sampled around the current
  set, the proxy refitted on every mask so far, the proxy's best subset of the current set kept.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from headspex.curves.first_order import first_order
from headspex.curves.iterative import iterative_proxyspex
from headspex.engine.sampling import sample_k_masks, sample_mixture
from headspex.prune.select import Selection, select_best_of_n, select_heads, select_heads_milp, select_top_k
from headspex.spectrum.proxy import Proxy


@dataclass
class MethodRun:
    """A method's kept sets and what they cost. forward/backward: passes per question, summed (the true
    training values of the selected sets are measured after the choice and are not part of the cost)."""

    selections: dict[int, Selection]
    forward: int
    backward: int = 0
    seconds: float = 0.0
    notes: str = ""
    train_values: dict[int, float] = field(default_factory=dict)  # true training value of each selected set


@dataclass
class CurveContext:
    """What the methods of one curve share (one seed).

    game: the training :class:`~headspex.engine.game.MaskGame` over all players (true values).
    grad_model: the model gradients are taken on (float32). levels: keep fractions of the sweep.
    budget: proxy training masks (also Best-of-N's and iterative ProxySPEX's budget).
    """

    game: Any
    grad_model: Any
    task: Any
    levels: tuple[float, ...]
    budget: int
    seed: int
    milp_time_limit: float
    max_terms: int
    iterative_fraction: float = 0.1
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_players(self) -> int:
        return self.game.n_players

    @property
    def n_questions(self) -> int:
        return len(self.task.split(self.game.split))

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def training_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The proxy's masks (Bernoulli at each sweep level in turn) and their true values."""
        def draw() -> tuple[np.ndarray, np.ndarray]:
            masks = sample_mixture(self.budget, self.n_players, _clip(self.levels), seed=self.seed)
            return masks, self.game(masks)
        return self.cached("training", draw)

    def first_order(self, keep: np.ndarray | None = None) -> Any:
        return first_order(self.grad_model, self.task, self.game.players, split=self.game.split,
                           ablation=self.game.ablation, means=self.game.head_means, keep=keep)


CURVE_METHODS: dict[str, Callable[[CurveContext, list[int]], MethodRun]] = {}
TRUST_RADII = (0.02, 0.05, 0.1)  # proxyspex-trust: trust-region radii as fractions of the players
DETERMINISTIC = ("gradient", "attribution-patching", "single-head", "iterative-gradient")  # no seed involved


def register(name: str) -> Callable:
    def add(fn: Callable) -> Callable:
        CURVE_METHODS[name] = fn
        return fn
    return add


def _clip(levels: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(min(max(p, 0.05), 0.95) for p in levels)


@register("proxyspex")
def _proxyspex(ctx: CurveContext, ks: list[int]) -> MethodRun:
    masks, values = ctx.training_set()
    proxy = ctx.cached("proxy", lambda: Proxy(seed=ctx.seed, refine=True, players=ctx.game.players).fit(masks, values))
    spectrum = proxy.refinement_.spectrum if proxy.refinement_ is not None else proxy.spectrum()
    moebius = spectrum.to_moebius()
    sel = {k: select_heads(moebius, k, time_limit=ctx.milp_time_limit, max_terms=ctx.max_terms) for k in ks}
    ran = sorted({s.method for s in sel.values()})
    return MethodRun(sel, forward=len(masks) * ctx.n_questions,
                     notes=f"CV R2 {proxy.cv_r2_:.3f}; best training value {values.max():.3f}; {len(moebius)} Moebius "
                           f"terms; selection by {', '.join(ran)}")


@register("proxyspex-trust")
def _proxyspex_trust(ctx: CurveContext, ks: list[int]) -> MethodRun:
    """The proxy's optimum within trust regions around the best training mask of about k heads (true value),
    at radii of 2%, 5% and 10% of the players; the candidate with the best true training value is kept."""
    masks, values = ctx.training_set()
    proxy = ctx.cached("proxy", lambda: Proxy(seed=ctx.seed, refine=True, players=ctx.game.players).fit(masks, values))
    spectrum = proxy.refinement_.spectrum if proxy.refinement_ is not None else proxy.spectrum()
    moebius, sizes, n = spectrum.to_moebius(), masks.sum(axis=1), ctx.n_players
    radii = sorted({max(2, math.ceil(f * n)) for f in TRUST_RADII})
    sel, checked = {}, 0
    for k in ks:
        near = np.flatnonzero(np.abs(sizes - k) <= radii[0] // 2)
        if near.size == 0:
            raise ValueError(f"no training mask keeps about {k} heads: sample masks at that keep level")
        anchor = masks[near[np.argmax(values[near])]]
        candidates = [select_heads_milp(moebius, k, time_limit=ctx.milp_time_limit, max_terms=ctx.max_terms,
                                        trust=(anchor, r)) for r in radii]
        true = ctx.game(np.stack([c.mask for c in candidates]))
        checked += len(candidates)
        best = int(np.argmax(true))
        sel[k] = replace(candidates[best], details=dict(candidates[best].details, radius=radii[best],
                                                        true_train_value=float(true[best])))
    ran = sorted({s.method for s in sel.values()})
    return MethodRun(sel, forward=(len(masks) + checked) * ctx.n_questions,
                     notes=f"radii {radii} around the best training mask, {checked} candidates checked on the true "
                           f"value; selection by {', '.join(ran)}")


@register("lasso")
def _lasso(ctx: CurveContext, ks: list[int]) -> MethodRun:
    from headspex.spectrum.surrogates import fit_lasso

    masks, values = ctx.training_set()
    weights = fit_lasso(masks, values, seed=ctx.seed).weights
    return MethodRun({k: select_top_k(weights, k, label="lasso") for k in ks}, forward=len(masks) * ctx.n_questions,
                     notes="the proxy's training masks")


@register("best-of-n")
def _best_of_n(ctx: CurveContext, ks: list[int]) -> MethodRun:
    per_level = max(1, ctx.budget // len(ks))
    out = {}
    for i, k in enumerate(ks):
        candidates = sample_k_masks(per_level, ctx.n_players, k, seed=ctx.seed + 1 + i)
        out[k] = select_best_of_n(candidates, ctx.game(candidates))
    return MethodRun(out, forward=per_level * len(ks) * ctx.n_questions, notes=f"{per_level} candidates per level")


@register("gradient")
def _gradient(ctx: CurveContext, ks: list[int]) -> MethodRun:
    importance = ctx.first_order().michel_importance()
    return MethodRun({k: select_top_k(importance, k, label="gradient") for k in ks},
                     forward=ctx.n_questions, backward=ctx.n_questions)


@register("attribution-patching")
def _attribution_patching(ctx: CurveContext, ks: list[int]) -> MethodRun:
    drop = -ctx.first_order().attribution_patching()  # predicted loss of log-prob when the head is removed
    return MethodRun({k: select_top_k(drop, k, label="attribution-patching") for k in ks},
                     forward=ctx.n_questions, backward=ctx.n_questions)


@register("single-head")
def _single_head(ctx: CurveContext, ks: list[int]) -> MethodRun:
    n = ctx.n_players
    drops = -ctx.game(1 - np.eye(n, dtype=np.uint8))
    return MethodRun({k: select_top_k(drops, k, label="single-head") for k in ks}, forward=n * ctx.n_questions)


@register("iterative-gradient")
def _iterative_gradient(ctx: CurveContext, ks: list[int]) -> MethodRun:
    rounds = []

    def lowest(current: np.ndarray, n_remove: int) -> np.ndarray:
        rounds.append(1)
        importance = ctx.first_order(keep=current).michel_importance()
        kept = np.flatnonzero(current)
        return kept[np.argsort(importance[kept], kind="stable")[:n_remove]]

    sel = eliminate(ctx.n_players, ks, lowest, fraction=ctx.iterative_fraction, label="iterative-gradient")
    passes = len(rounds) * ctx.n_questions
    return MethodRun(sel, forward=passes, backward=passes, notes=f"{len(rounds)} rounds")


@register("iterative-proxyspex")
def _iterative_proxyspex(ctx: CurveContext, ks: list[int]) -> MethodRun:
    sel, n_masks, notes = iterative_proxyspex(ctx, ks)
    return MethodRun(sel, forward=n_masks * ctx.n_questions, notes=notes)


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

