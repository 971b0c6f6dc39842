"""The result of a pruning curve: per method and head count, the test scores; and its summaries.

Summaries (each a DataFrame, pooled over the seeds given):

* ``curve``: test accuracy per (method, k) with a 95% bootstrap interval over test questions (the
  per-question score averaged over seeds first), the test log-prob, the set's true training value beside the
  value its method predicted (proxy methods; NaN for rankings), and how the set was chosen;
* ``auc``: the area under each accuracy curve, normalised by the swept range of the kept fraction (so it
  is the mean accuracy over the sweep), with a bootstrap interval, and its paired difference to ProxySPEX;
* ``prunable``: the largest fraction of heads removed at a sweep level where test accuracy is within 1
  (and 5) points of the unpruned model;
* ``cost``: forward and backward passes per method (per question, summed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from headspex.records.stats import bootstrap_indices

N_BOOT = 2000


@dataclass
class CurveResult:
    """One seed's curve. test[method][k] = {"accuracy": [n_test], "logprob": [n_test]}; random[k] = [n_random]."""

    config: Any
    players: list
    ks: list[int]
    clean: dict
    runs: dict
    test: dict
    random: dict
    n_train: int
    n_test: int
    seconds: float
    model_name: str = ""
    task_name: str = ""


    def to_dataframe(self) -> pd.DataFrame:
        return curve_table([self])


def _per_question(results: Sequence[CurveResult], method: str, k: int, metric: str = "accuracy") -> np.ndarray:
    """[n_test]: the per-question score averaged over seeds."""
    return np.mean([r.test[method][k][metric] for r in results], axis=0)


def _boot_index(n: int, seed: int = 0) -> np.ndarray:
    """[N_BOOT, n] resampled question indices: :func:`~headspex.records.stats.bootstrap_indices`, in one array."""
    return np.concatenate([idx for _, idx in bootstrap_indices(n, N_BOOT, seed)])


def curve_table(results: Sequence[CurveResult]) -> pd.DataFrame:
    """Test accuracy per (method, k) with a 95% interval over questions; random: mean and spread of masks."""
    first = results[0]
    idx = _boot_index(first.n_test)
    rows = []
    n = len(first.players)
    for method in first.test:
        for k in first.ks:
            acc = _per_question(results, method, k)
            boots = acc[idx].mean(axis=1)
            how = sorted({r.runs[method].selections[k].method for r in results})
            train = [getattr(r.runs[method], "train_values", {}).get(k, np.nan) for r in results]
            predicted = [r.runs[method].selections[k].objective for r in results]
            rows.append(dict(method=method, k=k, kept=k / n, accuracy=acc.mean(), low=np.quantile(boots, 0.025),
                             high=np.quantile(boots, 0.975),
                             logprob=_per_question(results, method, k, "logprob").mean(),
                             train_value=float(np.mean(train)), predicted=float(np.mean(predicted)),
                             selected_by="/".join(how), seeds=len(results)))
    for k in first.ks:
        r = first.random[k]
        half = 1.96 * r.std(ddof=1) / np.sqrt(len(r)) if len(r) > 1 else np.nan
        rows.append(dict(method="random", k=k, kept=k / n, accuracy=r.mean(), low=r.mean() - half,
                         high=r.mean() + half, logprob=np.nan, selected_by=f"mean of {len(r)} masks", seeds=1))
    return pd.DataFrame(rows)


def _auc(kept: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Trapezoid area over the kept fraction, divided by the swept width (the mean accuracy over the sweep);
    with one level, that level's accuracy. acc: [..., n_levels]."""
    order = np.argsort(kept)
    x, y = kept[order], acc[..., order]
    if x[-1] == x[0]:
        return y.mean(axis=-1)
    return np.trapezoid(y, x, axis=-1) / (x[-1] - x[0])


def auc_table(results: Sequence[CurveResult], reference: str = "proxyspex") -> pd.DataFrame:
    """AUC per method with a bootstrap interval over questions, and the paired difference to ``reference``."""
    first = results[0]
    kept = np.array(first.ks) / len(first.players)
    idx = _boot_index(first.n_test, seed=1)
    per_method = {m: np.stack([_per_question(results, m, k) for k in first.ks], axis=-1) for m in first.test}
    boot = {m: _auc(kept, a[idx].mean(axis=1)) for m, a in per_method.items()}  # [N_BOOT]
    rows = []
    for m, a in per_method.items():
        row = dict(method=m, auc=float(_auc(kept, a.mean(axis=0))), low=np.quantile(boot[m], 0.025),
                   high=np.quantile(boot[m], 0.975))
        if reference in boot and m != reference:
            diff = boot[m] - boot[reference]
            row.update(diff_vs_ref=row["auc"] - float(_auc(kept, per_method[reference].mean(axis=0))),
                       diff_low=np.quantile(diff, 0.025), diff_high=np.quantile(diff, 0.975))
        rows.append(row)
    rand = np.stack([first.random[k].mean() for k in first.ks])
    rows.append(dict(method="random", auc=float(_auc(kept, rand)), low=np.nan, high=np.nan))
    return pd.DataFrame(rows)


def auc_difference_test(results: Sequence[CurveResult], a: str, b: str) -> tuple[float, float, float, float]:
    """AUC of method ``a`` minus ``b`` (per-question scores averaged over seeds): ``(estimate, low, high, p)``, the
    95% bootstrap interval over test questions (the same draws as :func:`auc_table`'s) and the two-sided p-value
    ``min(1, 2 (1 + #{resamples on the far side of 0}) / (1 + N_BOOT))``."""
    first = results[0]
    kept = np.array(first.ks) / len(first.players)
    idx = _boot_index(first.n_test, seed=1)
    per = {m: np.stack([_per_question(results, m, k) for k in first.ks], axis=-1) for m in (a, b)}
    boot = _auc(kept, per[a][idx].mean(axis=1)) - _auc(kept, per[b][idx].mean(axis=1))  # [N_BOOT]
    estimate = float(_auc(kept, per[a].mean(axis=0)) - _auc(kept, per[b].mean(axis=0)))
    far = min(int((boot <= 0).sum()), int((boot >= 0).sum()))
    return estimate, float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975)), min(1.0, 2 * (1 + far) / (1 + N_BOOT))


def prunable_table(results: Sequence[CurveResult], thresholds: tuple[float, ...] = (0.01, 0.05)) -> pd.DataFrame:
    """Per method: the largest fraction of heads removed at a level within each threshold of the unpruned accuracy."""
    curve = curve_table(results)
    clean = results[0].clean["test"]["accuracy"]
    rows = []
    for method, part in curve.groupby("method", sort=False):
        row = {"method": method}
        for t in thresholds:
            ok = part[part.accuracy >= clean - t - 1e-12]
            row[f"removable_within_{round(t * 100)}pt"] = float(1 - ok.kept.min()) if len(ok) else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def cost_table(results: Sequence[CurveResult]) -> pd.DataFrame:
    """Model passes (per question, summed) and seconds each method spent choosing its sets (first seed)."""
    first = results[0]
    rows = [dict(method=m, forward_passes=r.forward, backward_passes=r.backward,
                 forward_per_question=r.forward / first.n_train, seconds=round(r.seconds, 1), notes=r.notes)
            for m, r in first.runs.items()]
    return pd.DataFrame(rows)
