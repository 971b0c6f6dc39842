"""Fit the ProxySPEX proxy: a CatBoost regressor over head masks, chosen by cross-validation.

The reference code grid-searches depth {3, 5} x trees {500, 1000, 5000} x learning rate
{0.01, 0.1} with 5-fold R^2, refitting every grid point. Here a tree-count grid costs one fit:
for each (depth, learning rate, fold) the model is grown once to the largest tree count and the
validation R^2 of every prefix of the ensemble is read from CatBoost's per-iteration eval metric
(R^2 = 1 - RMSE^2 / Var(y_val), identical to sklearn's ``r2_score`` of the staged predictions).

Default search (``ProxySearch()``): depth {3, 5} x learning rate {0.2} x every tree count up to
2000, stopped per fold 50 trees after the validation score last improved (CatBoost's own early
stopping), 3 folds, raced: every configuration is scored on the first fold, and those whose
first-fold unexplained variance 1 - R^2 exceeds the best one's by more than ``prune_margin``
(relative, default 0.1 = 10%) are dropped before the other folds.
That is the paper's grid with the tree count made continuous, one faster learning rate and fewer
folds; on planted games (96 and 270 players) it loses at most 0.005 held-out R^2 against 5 folds at
rate 0.1, at 2-5x less time, and ``refine(energy="auto")`` more than makes that up
(``python -m benchmarks.proxy``). For the paper's grid pass
``learning_rates=(0.01, 0.1), n_trees=(500, 1000, 5000), early_stopping_rounds=None, prune_margin=None``.
Trees use no bootstrap (deterministic for a given seed and thread count) and one border (0.5).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MIN_ROWS_PER_FOLD = 2


@dataclass(frozen=True)
class ProxySearch:
    """Hyper-parameter search of ``fit_proxy`` (see module docstring for the defaults' rationale).

    Attributes:
        depths: tree depths tried (depth caps the interaction order of each tree).
        n_trees: candidate ensemble sizes. Without early stopping exactly these counts are scored;
            with early stopping every count up to ``max(n_trees)`` is a candidate.
        learning_rates: learning rates tried.
        early_stopping_rounds: stop a fold's fit once its validation score has not improved for
            this many trees; ``None`` grows every fold to ``max(n_trees)``.
        cv_folds: number of cross-validation folds (>= 2).
        prune_margin: after the first fold, drop configurations whose first-fold 1 - R^2 exceeds
            the best configuration's by more than this fraction (0.1 = 10%); ``None`` scores every
            configuration on every fold.
        max_search_time: seconds; once exceeded, no new (depth, rate) configuration is started
            (configurations run cheapest first; at least one always completes). ``None``: no limit.
        thread_count: CatBoost threads (-1 = all cores).
    """

    depths: tuple[int, ...] = (3, 5)
    n_trees: tuple[int, ...] = (2000,)
    learning_rates: tuple[float, ...] = (0.2,)
    early_stopping_rounds: int | None = 50
    cv_folds: int = 3
    prune_margin: float | None = 0.1
    max_search_time: float | None = None
    thread_count: int = -1

    def __post_init__(self) -> None:
        for name in ("depths", "n_trees", "learning_rates"):
            vals = tuple(getattr(self, name))
            if not vals:
                raise ValueError(f"{name} must not be empty")
            object.__setattr__(self, name, vals)
        if any(not 1 <= int(d) <= 16 for d in self.depths):
            raise ValueError(f"depths must be in 1..16 (CatBoost's limit); got {self.depths}")
        if any(int(t) < 1 for t in self.n_trees):
            raise ValueError(f"n_trees must be >= 1; got {self.n_trees}")
        if any(not 0 < float(r) <= 1 for r in self.learning_rates):
            raise ValueError(f"learning_rates must be in (0, 1]; got {self.learning_rates}")
        if self.early_stopping_rounds is not None and self.early_stopping_rounds < 1:
            raise ValueError(f"early_stopping_rounds must be >= 1 or None; got {self.early_stopping_rounds}")
        if self.prune_margin is not None and not self.prune_margin >= 0:
            raise ValueError(f"prune_margin must be >= 0 or None; got {self.prune_margin}")
        if self.cv_folds < 2:
            raise ValueError(f"cv_folds must be >= 2; got {self.cv_folds}")


def catboost_regressor(depth: int, rate: float, trees: int, seed: int, threads: int, stop: int | None):
    from catboost import CatBoostRegressor  # deferred: importing catboost costs ~0.5 s

    return CatBoostRegressor(
        loss_function="RMSE",
        depth=int(depth),
        learning_rate=float(rate),
        iterations=int(trees),
        boosting_type="Plain",
        bootstrap_type="No",
        border_count=1,
        random_seed=int(seed),
        thread_count=int(threads),
        early_stopping_rounds=stop,
        use_best_model=False,
        allow_writing_files=False,
        verbose=False,
    )


def _fold_r2_curve(model, y_val: np.ndarray) -> np.ndarray:
    """Validation R^2 after each tree, from CatBoost's per-iteration RMSE."""
    rmse = np.asarray(model.get_evals_result()["validation"]["RMSE"], dtype=np.float64)
    var = float(np.var(y_val))
    return 1.0 - rmse**2 / var if var > 0 else np.full(rmse.shape, np.nan)


class _RaceStop:
    """CatBoost callback: stop a first-fold fit that is clearly losing the race.

    Once the fit has as many trees as half the best configuration so far needed (at least 50), it stops
    when its validation 1 - R^2 exceeds that configuration's best by more than twice ``prune_margin``
    (relative): such a configuration is pruned after the first fold anyway, and deeper trees, the
    usual losers, are the slow ones.
    """

    def __init__(self, var_val: float, best_unexplained: float, min_iter: int, margin: float) -> None:
        self.var_val, self.limit, self.min_iter = var_val, best_unexplained * (1.0 + 2.0 * margin), min_iter

    def after_iteration(self, info: Any) -> bool:
        if info.iteration < self.min_iter:
            return True
        unexplained = info.metrics["validation"]["RMSE"][-1] ** 2 / self.var_val  # 1 - R^2
        return unexplained <= self.limit  # False stops the fit


def _race_stop(curves: dict, y_val: np.ndarray, margin: float | None) -> _RaceStop | None:
    """A race callback against the best first-fold curve so far, or None (first config, no race, flat y)."""
    firsts = [c[0] for c in curves.values() if c and np.isfinite(c[0]).any()]
    var = float(np.var(y_val))
    if margin is None or not firsts or var <= 0:
        return None
    best = max(firsts, key=np.nanmax)
    return _RaceStop(var, 1.0 - float(np.nanmax(best)), max(50, (int(np.nanargmax(best)) + 1) // 2), margin)


def cross_validate(masks: np.ndarray, values: np.ndarray, search: ProxySearch, seed: int) -> pd.DataFrame:
    """Cross-validate every (depth, rate), raced over folds; one row per scored (depth, rate, n_trees)."""
    from sklearn.model_selection import KFold

    folds = list(KFold(search.cv_folds, shuffle=True, random_state=seed).split(masks))
    max_trees = max(search.n_trees)
    configs = [(d, r) for d in sorted(set(search.depths)) for r in sorted(set(search.learning_rates), reverse=True)]
    curves: dict = {c: [] for c in configs}
    seconds = dict.fromkeys(configs, 0.0)
    status = dict.fromkeys(configs, "ok")
    start = time.perf_counter()
    for k, (train, val) in enumerate(folds):
        for c in configs:
            if status[c] != "ok":
                continue
            late = search.max_search_time is not None and time.perf_counter() - start > search.max_search_time
            if k == 0 and late and any(curves.values()):
                status[c] = "skipped (max_search_time)"
                continue
            t0 = time.perf_counter()
            model = catboost_regressor(c[0], c[1], max_trees, seed, search.thread_count, search.early_stopping_rounds)
            race = _race_stop(curves, values[val], search.prune_margin) if k == 0 else None
            model.fit(masks[train], values[train], eval_set=(masks[val], values[val]),
                      callbacks=[race] if race is not None else None)
            curves[c].append(_fold_r2_curve(model, values[val]))
            seconds[c] += time.perf_counter() - t0
        if k == 0 and search.prune_margin is not None:
            first = {c: float(np.nanmax(curves[c][0])) if np.isfinite(curves[c][0]).any() else -np.inf
                     for c in configs if status[c] == "ok"}
            worst_allowed = (1.0 - max(first.values())) * (1.0 + search.prune_margin)
            for c, score in first.items():
                if 1.0 - score > worst_allowed:
                    status[c] = "pruned after fold 1"
    rows = []
    for c in configs:
        if not curves[c]:
            rows.append(dict(depth=c[0], learning_rate=c[1], n_trees=np.nan, cv_r2=np.nan, cv_r2_std=np.nan,
                             folds=0, seconds=0.0, status=status[c]))
            continue
        reached = min(len(x) for x in curves[c])
        table = np.stack([x[:reached] for x in curves[c]])  # [folds scored, trees]
        mean = np.nanmean(table, axis=0) if np.isfinite(table).any() else np.full(reached, np.nan)
        counts = set(t for t in search.n_trees if t <= reached)
        if search.early_stopping_rounds is not None and np.isfinite(mean).any():
            counts.add(int(np.nanargmax(mean)) + 1)
        if not counts:
            counts.add(reached)
        for t in sorted(counts):
            rows.append(dict(depth=c[0], learning_rate=c[1], n_trees=t, cv_r2=float(mean[t - 1]),
                             cv_r2_std=float(np.nanstd(table[:, t - 1])), folds=len(curves[c]),
                             seconds=seconds[c], status=status[c]))
    return pd.DataFrame(rows)


