"""What every selection method of one experiment shares: the training game and lazily computed pieces.

A :class:`SelectionContext` holds the training :class:`~headspex.engine.game.MaskGame` (a layer range's heads
or the whole model's), the keep levels where selection happens, the budget and the seed. The proxy's
training masks and values, the fitted proxy, its spectrum, LASSO's weights, the leave-one-out drops and the
first-order gradients are computed on first use and shared by every method (one fit per experiment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from headspex.engine.sampling import sample_masks, sample_mixture
from headspex.errors import InputError

SAMPLINGS = ("uniform", "matched", "mixture")
# how the method "proxyspex" selects: a rule is a registered method "proxyspex-<rule>" (its registration says so)
DEFAULT_RULE = "robust"  # chosen on validation questions by the budget sweeps (results/sweep, *-robust)
LEGACY_RULE = "milp"  # what "proxyspex" meant in runs recorded before the rule was a setting


def training_masks(sampling: str, budget: int, n_players: int, levels: tuple[float, ...], seed: int) -> np.ndarray:
    """The proxy's training masks ``[budget, n_players]``: "uniform" (keep 1/2, the paper's), "matched"
    (Bernoulli at each keep level in turn) or "mixture" (uniform and each keep level in equal shares)."""
    clipped = tuple(min(max(float(p), 0.05), 0.95) for p in levels)  # keep = 1 (all heads) is no distribution
    if sampling == "uniform":
        return sample_masks(budget, n_players, seed=seed)
    if sampling == "matched":
        return sample_mixture(budget, n_players, clipped, seed=seed)
    if sampling == "mixture":
        return sample_mixture(budget, n_players, (0.5, *clipped), seed=seed)
    raise InputError(f"sampling must be one of {SAMPLINGS}; got {sampling!r}")


@dataclass
class SelectionContext:
    """One experiment's shared inputs (one seed).

    game: the training game (true values; ``n_players``, ``players``, callable on masks).
    levels: keep fractions where selection happens (the training masks are sampled there).
    budget: the proxy's training masks (Best-of-N's and iterative ProxySPEX's budget too).
    sampling, refine: how the proxy's masks are drawn; select on the ridge-refined spectrum.
    best_of_n: Best-of-N candidates in total over the levels (None: the budget).
    grad_model, task: the float32 model and task the gradient methods differentiate.
    proxyspex_rule: the rule the method "proxyspex" runs (:func:`~headspex.selection.registry.proxyspex_rules`).
    """

    game: Any
    levels: tuple[float, ...]
    budget: int
    seed: int = 0
    sampling: str = "matched"
    refine: bool = True
    best_of_n: int | None = None
    milp_time_limit: float | None = None
    max_terms: int = 5000
    iterative_fraction: float = 0.1
    proxyspex_rule: str = DEFAULT_RULE
    grad_model: Any = None
    task: Any = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_players(self) -> int:
        return int(self.game.n_players)

    @property
    def players(self) -> list | None:
        return getattr(self.game, "players", None)

    @property
    def n_questions(self) -> int:
        """Training questions per mask (1 for a game without a task: a planted or synthetic one)."""
        if self.task is None or not hasattr(self.game, "split"):
            return 1
        return len(self.task.split(self.game.split))

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per context."""
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def training_set(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The proxy's masks ``[n, n_players]`` and their true values ``[n]``: the first ``n`` (default: the
        budget) of one seeded stream, so a smaller budget's masks are a prefix of a larger one's."""
        n = self.budget if n is None else int(n)

        def draw() -> tuple[np.ndarray, np.ndarray]:
            masks = training_masks(self.sampling, self.budget, self.n_players, self.levels, self.seed)[:n]
            return masks, np.asarray(self.game(masks), dtype=np.float64)
        return self.cached(f"training-{n}", draw)

    def proxy(self, n: int | None = None) -> Any:
        """The CatBoost proxy fitted on :meth:`training_set` (refined when ``refine``)."""
        from headspex.spectrum.proxy import Proxy

        masks, values = self.training_set(n)
        return self.cached(f"proxy-{len(masks)}", lambda: Proxy(seed=self.seed, refine=self.refine,
                                                                players=self.players).fit(masks, values))

    def additive_proxy(self, n: int | None = None) -> Any:
        """:meth:`proxy` with depth-1 trees only (no interaction term): ``proxyspex-additive``'s proxy."""
        from dataclasses import replace as with_fields

        from headspex.selection.controls import ADDITIVE_DEPTHS
        from headspex.spectrum.proxy import Proxy
        from headspex.spectrum.proxy_search import ProxySearch

        masks, values = self.training_set(n)
        search = with_fields(ProxySearch(), depths=ADDITIVE_DEPTHS)
        return self.cached(f"additive-proxy-{len(masks)}", lambda: Proxy(search, seed=self.seed, refine=self.refine,
                                                                         players=self.players).fit(masks, values))

    def spectrum(self, n: int | None = None) -> Any:
        """The spectrum selection maximises: the refined one when the proxy was refined, else the exact one."""
        proxy = self.proxy(n)
        return proxy.refinement_.spectrum if proxy.refinement_ is not None else proxy.spectrum()

    def moebius(self, n: int | None = None) -> Any:
        return self.cached(f"moebius-{n or self.budget}", lambda: self.spectrum(n).to_moebius())

    def lasso_weights(self, n: int | None = None) -> np.ndarray:
        from headspex.spectrum.surrogates import fit_lasso

        masks, values = self.training_set(n)
        return self.cached(f"lasso-{len(masks)}", lambda: fit_lasso(masks, values, seed=self.seed).weights)

    def single_head_drops(self) -> np.ndarray:
        """Per player, how much removing it alone lowers the true value (higher = more important)."""
        return self.cached("single-head", lambda: -np.asarray(self.game(1 - np.eye(self.n_players, dtype=np.uint8))))

    def gradient_importance(self) -> np.ndarray:
        """Per player, the gate gradient around the full model (Michel et al.; one forward and backward pass)."""
        return self.cached("michel", lambda: self.first_order().michel_importance())

    def first_order(self, keep: np.ndarray | None = None) -> Any:
        """Gate gradients of every player around ``keep`` (default: every head kept), on the training split."""
        if self.grad_model is None or self.task is None:
            raise InputError("gradient methods need the context's grad_model and task (a float32 model to "
                             "differentiate); pass them to SelectionContext")
        from headspex.engine.first_order import first_order

        return first_order(self.grad_model, self.task, self.players, split=self.game.split,
                           ablation=self.game.ablation, means=self.game.head_means, keep=keep)

    def best_of_n_per_level(self, n_levels: int) -> int:
        """Best-of-N candidates per level: the total (default: the budget) split over the levels."""
        return max(1, (self.best_of_n or self.budget) // max(1, n_levels))
