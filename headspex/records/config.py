"""What a run is: the configurations of an experiment, a layer-range study and a whole-model curve.

They are data: written to ``config.json`` and each seed's ``record.json``, and read back to rebuild a report, so
they sit here beside the results rather than with the code that runs them. The CLI's defaults are these.

The base :class:`ExperimentConfig` has one meaning of ``keep``: fractions of the players kept; ``head_counts``
gives levels as head counts instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headspex.errors import InputError
from headspex.selection.context import DEFAULT_RULE, SAMPLINGS, SelectionContext
from headspex.selection.methods import check_methods, check_rule


@dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """What every experiment needs (the study's and the curves' configurations extend it).

    keep: fractions of the players kept, each in (0, 1]. head_counts: levels as head counts instead (then
    ``keep`` is ignored). budget: the proxy's training masks. sampling: "uniform", "matched" or "mixture".
    refine: select on the ridge-refined spectrum. best_of_n: Best-of-N candidates in total (None: the budget).
    n_random: random k-head masks per level (the baseline). metric: the training value f(m).
    proxyspex_rule: how the method ``proxyspex`` turns the proxy into a selection (:func:`~headspex.selection.registry.proxyspex_rules`;
    default "robust", chosen on validation questions by the budget sweeps in ``results/sweep``).
    """

    keep: tuple[float, ...] = (0.5, 0.66, 0.83)
    head_counts: tuple[int, ...] | None = None
    budget: int = 120
    sampling: str = "matched"
    refine: bool = True
    best_of_n: int | None = None
    n_random: int = 20
    metric: str = "logprob"
    ablation: str = "zero"
    seed: int = 0
    methods: tuple[str, ...] = ("proxyspex", "lasso", "best-of-n", "single-head", "random")
    milp_time_limit: float | None = None  # a wall-clock cap on each MILP: off (selections then depend on load)
    max_terms: int = 5000
    iterative_fraction: float = 0.1
    test_dtype: str = "float32"
    proxyspex_rule: str = DEFAULT_RULE

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", check_methods(self.methods))
        check_rule(self.proxyspex_rule)
        if not self.keep or any(not 0.0 < float(v) <= 1.0 for v in self.keep):
            raise InputError(f"keep must list fractions in (0, 1]; got {self.keep}")
        if self.head_counts is not None and (not self.head_counts or any(int(k) < 1 for k in self.head_counts)):
            raise InputError(f"head_counts must list integers >= 1; got {self.head_counts}")
        if self.sampling not in SAMPLINGS:
            raise InputError(f"sampling must be one of {SAMPLINGS}; got {self.sampling!r}")
        for name in ("budget", "n_random"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1; got {getattr(self, name)}")
        if self.best_of_n is not None and self.best_of_n < 1:
            raise InputError(f"best_of_n must be >= 1; got {self.best_of_n}")
        if not 0 < self.iterative_fraction < 1:
            raise InputError(f"iterative_fraction must lie in (0, 1); got {self.iterative_fraction}")

    def selection_context(self, game: Any, levels: tuple[float, ...], **extra: Any) -> SelectionContext:
        return SelectionContext(game, levels, self.budget, seed=self.seed, sampling=self.sampling, refine=self.refine,
                                best_of_n=self.best_of_n, milp_time_limit=self.milp_time_limit,
                                max_terms=self.max_terms, iterative_fraction=self.iterative_fraction,
                                proxyspex_rule=self.proxyspex_rule, **extra)


@dataclass(frozen=True, kw_only=True)
class StudyConfig(ExperimentConfig):
    """What a study runs; written to ``config.json`` beside its results (the CLI's defaults are these).

    ranges: 0-based layer lists, each analysed on its own (one experiment each). n_heldout: unseen masks per
    keep level (and uniform) for held-out R^2. energy_boot: proxy refits for the energy shares' intervals.
    The other fields are :class:`~headspex.experiments.core.ExperimentConfig`'s.
    """

    ranges: tuple[tuple[int, ...], ...]
    n_heldout: int = 10
    energy_boot: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.ranges:
            raise InputError("at least one layer range is needed")
        if self.head_counts is not None:
            raise InputError("a study's levels are keep fractions (keep=...): each range has its own head count")
        if self.n_heldout < 1:
            raise InputError(f"n_heldout must be >= 1; got {self.n_heldout}")

    def check_budget(self, n_players: int, cv_folds: int = 5) -> None:
        """The proxy needs enough masks for its cross-validation and more than a handful per player."""
        need = max(4 * cv_folds, n_players // 2)
        if self.budget < need:
            raise InputError(f"budget {self.budget} is too small for {n_players} players: use at least {need} masks")

    def best_of_n_per_level(self) -> int:
        """Best-of-N candidates per keep level: the total (default: the budget) split over the levels."""
        return max(1, (self.best_of_n or self.budget) // len(self.keep))


SWEEP = tuple(round(0.1 * i, 1) for i in range(1, 10))  # keep 10%, 20%, ..., 90% of the heads


CURVE_METHODS = ("proxyspex", "proxyspex-trust", "lasso", "gradient", "iterative-gradient",
           "attribution-patching", "single-head", "best-of-n")


@dataclass(frozen=True, kw_only=True)
class CurveConfig(ExperimentConfig):
    """What a curve runs (written to ``config.json``): one experiment over a sweep of levels.

    layers: 0-based analysed layers (their heads are the players). keep: fractions in (0, 1) of the sweep, or
    head_counts. Best-of-N and iterative ProxySPEX get the proxy's budget. The other fields are
    :class:`~headspex.experiments.core.ExperimentConfig`'s (the proxy's masks are matched to the sweep's levels).
    """

    layers: tuple[int, ...]
    keep: tuple[float, ...] = SWEEP
    budget: int = 400
    n_random: int = 100
    methods: tuple[str, ...] = CURVE_METHODS
    milp_time_limit: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.layers:
            raise InputError("at least one layer is needed")

    def ks(self, n_players: int) -> list[int]:
        """The sweep as head counts, descending."""
        raw = self.head_counts if self.head_counts is not None else [round(v * n_players) for v in self.keep]
        ks = sorted({int(k) for k in raw}, reverse=True)
        if ks[-1] < 1 or ks[0] >= n_players:
            raise InputError(f"keep {self.head_counts or self.keep} gives head counts {ks}: each must lie in "
                             f"1..{n_players - 1}")
        return ks
