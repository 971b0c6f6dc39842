"""Selection methods by name: a registry of :class:`Selector` functions (no if/elif on strings).

Every selector takes a :class:`SelectionContext` (one range's train game, fitted proxy spectrum and
lazily computed baselines) and a head count ``k``, and returns a :class:`~headspex.prune.select.Selection`
keeping exactly ``k`` heads. Add a method with ``@register("name")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from headspex.engine.sampling import sample_k_masks
from headspex.prune.select import Selection, select_best_of_n, select_heads, select_random, select_top_k
from headspex.spectrum.fourier import FourierSpectrum


class Selector(Protocol):
    """``selector(context, k) -> Selection`` with exactly ``k`` kept heads."""

    def __call__(self, context: "SelectionContext", k: int) -> Selection:
        ...


@dataclass
class SelectionContext:
    """What the selectors of one range share.

    game: the training :class:`~headspex.engine.game.MaskGame` (true values, for Best-of-N and single-head).
    masks, values: the proxy's training masks [n_masks, n_players] and values [n_masks].
    spectrum: the proxy's Fourier spectrum. seed: baselines' seed. best_of_n: candidate masks per level.
    milp_time_limit: seconds per exact selection.
    """

    game: Any
    masks: np.ndarray
    values: np.ndarray
    spectrum: FourierSpectrum
    seed: int
    best_of_n: int
    milp_time_limit: float
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_players(self) -> int:
        return int(self.masks.shape[1])

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per context (Moebius spectrum, LASSO weights, single-head drops)."""
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]


SELECTORS: dict[str, Selector] = {}


def register(name: str) -> Callable[[Selector], Selector]:
    """Decorator: add a selector to :data:`SELECTORS` under ``name``."""

    def add(fn: Selector) -> Selector:
        SELECTORS[name] = fn
        return fn

    return add


def check_methods(names: Any) -> tuple[str, ...]:
    """Validate a method list (keeps the given order); ValueError naming the unknown ones."""
    names = tuple(names)
    bad = [m for m in names if m not in SELECTORS]
    if bad or not names:
        raise ValueError(f"unknown or no methods {bad}; choose from {', '.join(SELECTORS)}")
    return names


@register("proxyspex")
def _proxyspex(ctx: SelectionContext, k: int) -> Selection:
    moebius = ctx.cached("moebius", ctx.spectrum.to_moebius)
    return select_heads(moebius, k, time_limit=ctx.milp_time_limit)


@register("lasso")
def _lasso(ctx: SelectionContext, k: int) -> Selection:
    from headspex.spectrum.surrogates import fit_lasso

    weights = ctx.cached("lasso", lambda: fit_lasso(ctx.masks, ctx.values, seed=ctx.seed).weights)
    return select_top_k(weights, k, label="lasso")


@register("best-of-n")
def _best_of_n(ctx: SelectionContext, k: int) -> Selection:
    candidates = sample_k_masks(ctx.best_of_n, ctx.n_players, k, seed=ctx.seed + 1)
    return select_best_of_n(candidates, ctx.game(candidates))


@register("single-head")
def _single_head(ctx: SelectionContext, k: int) -> Selection:
    def drops() -> np.ndarray:  # higher = removing the head hurts more
        return -ctx.game(1 - np.eye(ctx.n_players, dtype=np.uint8))

    return select_top_k(ctx.cached("single-head", drops), k, label="single-head")


@register("random")
def _random(ctx: SelectionContext, k: int) -> Selection:
    return select_random(ctx.n_players, k, seed=ctx.seed)


METHODS = tuple(SELECTORS)
