"""A study over several seeds (same split; masks, folds and baselines resampled): tables with intervals.

- accuracy: per (layers, keep, method) the mean test accuracy and log-prob over seeds with a 95% t-interval;
- significance: per (layers, keep, baseline, metric) a paired bootstrap 95% CI over test questions of
  ProxySPEX minus the baseline, on per-question scores averaged over seeds;
- energy: shares with a t-interval over seeds (each seed fits the proxy on its own masks: independent
  replicates); with one seed, the percentile interval of bootstrap refits (resampling masks with
  replacement duplicates rows, which leans the refits toward interactions: read it as a rough spread).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd

from headspex.players import format_layer_range
from headspex.records.energy import SHARES, pooled_shares
from headspex.records.stats import count_significant, holm_signs, mean_ci, paired_bootstrap_test
from headspex.records.study_result import StudyResult

BASELINE_ORDER = ("lasso", "best-of-n", "single-head")


@dataclass
class SeedSummary:
    """Tables over the seeds of one study (one task): see the module docstring."""

    results: list[StudyResult]

    @property
    def seeds(self) -> list[int]:
        return [r.config.seed for r in self.results]

    @property
    def clean_test_accuracy(self) -> float:
        return self.results[0].clean_test_accuracy

    def accuracy(self) -> pd.DataFrame:
        """Rows (layers, keep, k, method): mean, low, high of test accuracy over seeds, and means of the rest."""
        table = pd.concat([r.accuracy_table().assign(seed=r.config.seed) for r in self.results])
        rows = []
        for (layers, keep, method), g in table.groupby(["layers", "keep", "method"], sort=False):
            ci = mean_ci(g["test_accuracy"].to_numpy())
            rows.append(dict(layers=layers, keep=keep, k=int(g["k"].iloc[0]), method=method, test_accuracy=ci.estimate,
                             low=max(ci.low, 0.0), high=min(ci.high, 1.0),  # an accuracy lies in [0, 1]
                             test_logprob=g["test_logprob"].mean(),
                             train_value=g["train_value"].mean(), predicted=g["predicted"].mean(),
                             evaluations=int(g["evaluations"].iloc[0]), n_seeds=len(g),
                             how=", ".join(sorted(set(g["how"])))))
        return pd.DataFrame(rows)

    def significance(self, *, reference: str = "proxyspex", n_boot: int = 2000) -> pd.DataFrame:
        """Paired bootstrap of ``reference`` (ProxySPEX) minus each other method on seed-averaged per-question
        test scores."""
        rows = []
        first = self.results[0]
        for i, r in enumerate(first.ranges):
            for (keep, method) in r.test:
                if method == reference or (keep, reference) not in r.test:
                    continue
                for metric in ("accuracy", "logprob"):
                    per_seed_a = [res.ranges[i].test[(keep, reference)][metric] for res in self.results]
                    per_seed_b = [res.ranges[i].test[(keep, method)][metric] for res in self.results]
                    a, b = np.mean(per_seed_a, axis=0), np.mean(per_seed_b, axis=0)
                    iv, p = paired_bootstrap_test(a, b, n_boot=n_boot, seed=first.config.seed)
                    seeds = np.sign([np.mean(x) - np.mean(y) for x, y in zip(per_seed_a, per_seed_b)])
                    rows.append(dict(layers=format_layer_range(r.layers), keep=keep, baseline=method, metric=metric,
                                     **iv.to_dict(), p=p, seeds_agree=int((seeds == np.sign(iv.estimate)).sum()),
                                     n_seeds=len(seeds)))
        table = pd.DataFrame(rows)
        if len(table):  # Holm over the cells of each comparison (baseline, metric)
            table["holm_sign"] = 0
            for _, g in table.groupby(["baseline", "metric"], sort=False):
                table.loc[g.index, "holm_sign"] = holm_signs(g["estimate"], g["p"])
        return table

    def significance_counts(self, significance: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per (baseline, metric): cells where ProxySPEX is significantly better, worse, or within noise, with
        Holm's correction over the comparison's cells first (the primary figure), uncorrected beside it, and the
        cells where the difference has the same sign in every seed."""
        sig = self.significance() if significance is None else significance
        return count_table(sig)

    def energy(self) -> pd.DataFrame:
        """Per (layers, spectrum): shares (%) with pooled bootstrap intervals, CV R^2 and unexplained share."""
        rows = []
        for i, r in enumerate(self.results[0].ranges):
            runs = [res.ranges[i].energy for res in self.results if res.ranges[i].energy is not None]
            if not runs:
                continue
            cv = float(np.mean([res.ranges[i].proxy_summary["cv_r2"] for res in self.results]))
            for kind in ("raw", "refined"):
                row = dict(layers=format_layer_range(r.layers), spectrum=kind, cv_r2=cv, unexplained=1 - cv,
                           interval="t over seeds" if len(runs) >= 2 else "bootstrap refits")
                for name, iv in _shares_interval(runs, kind).items():
                    row.update({name: iv.estimate, f"{name}_low": iv.low, f"{name}_high": iv.high})
                rows.append(row)
        return pd.DataFrame(rows)

    def pilot(self) -> pd.DataFrame:
        """The pilot of the first seed (random k-head masks per keep level)."""
        return self.results[0].pilot_table()

    def fit(self) -> pd.DataFrame:
        """Per range: mean over seeds of CV R^2 and held-out R^2 columns."""
        table = pd.concat([r.fit_table() for r in self.results])
        numeric = [c for c in table.columns if c.startswith(("cv_r2", "heldout", "max_train"))]
        return table.groupby("layers", sort=False)[numeric].mean().reset_index()


def _shares_interval(runs: list, kind: str) -> dict:
    """Energy shares of one range over seeds (t-interval), or the single seed's bootstrap refits."""
    if len(runs) < 2:
        return pooled_shares(runs, kind)
    out = {}
    for name in SHARES:  # a share lies in [0, 100] %: the symmetric t-interval is clipped there
        iv = mean_ci(np.array([getattr(run, kind)[name].estimate for run in runs]))
        out[name] = replace(iv, low=max(iv.low, 0.0), high=min(iv.high, 100.0))
    return out


def format_cell(mean: float, low: float, high: float) -> str:
    """``0.875 [0.840, 0.910]``; no interval with one seed, nor for a method whose pick is the same in
    every seed (single-head, the random baseline's shared pilot masks: its spread is over questions, in the
    paired bootstrap)."""
    return f"{mean:.3f}" if not np.isfinite(low) or high - low < 1e-12 else f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def accuracy_pivot(summary: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Test accuracy with intervals as the paper prints it: rows (layers, kept, k), one column per method."""
    table = summary.assign(kept=summary["keep"].map(lambda k: f"{k:.0%}"),
                           cell=[format_cell(m, lo, hi) for m, lo, hi in
                                 zip(summary["test_accuracy"], summary["low"], summary["high"])])
    pivot = table.pivot_table(index=["layers", "kept", "k"], columns="method", values="cell", aggfunc="first",
                              sort=False)
    return pivot[[m for m in methods if m in pivot.columns]].reset_index()


def count_table(sig: pd.DataFrame) -> pd.DataFrame:
    """Per (baseline, metric) of a significance table: Holm-corrected counts (holm_better, holm_worse,
    holm_within_noise), uncorrected counts (better, worse, within_noise), and the cells better or worse in every
    seed (better_every_seed, worse_every_seed; with one seed, the same as the uncorrected estimate's sign)."""
    rows = []
    for (baseline, metric), g in sig.groupby(["baseline", "metric"], sort=False):
        signs = g["sign"].to_numpy()
        holm = g["holm_sign"].to_numpy() if "holm_sign" in g else np.zeros(len(g), int)
        every = (g["seeds_agree"] == g["n_seeds"]).to_numpy() if "seeds_agree" in g else np.zeros(len(g), bool)
        est = np.sign(g["estimate"].to_numpy())
        rows.append(dict(baseline=baseline, metric=metric, holm_better=int((holm > 0).sum()),
                         holm_worse=int((holm < 0).sum()), holm_within_noise=int((holm == 0).sum()),
                         better=int((signs > 0).sum()), worse=int((signs < 0).sum()),
                         within_noise=int((signs == 0).sum()), better_every_seed=int((every & (est > 0)).sum()),
                         worse_every_seed=int((every & (est < 0)).sum()), cells=len(g)))
    return pd.DataFrame(rows)


def count_cells(significance: pd.DataFrame) -> dict[str, int]:
    """All cells of a significance table counted by sign (see :func:`~headspex.records.stats.count_significant`)."""
    from headspex.records.stats import Interval

    return count_significant([Interval(r.estimate, r.low, r.high, r.level, r.n) for r in significance.itertuples()])


__all__ = ["SHARES", "SeedSummary", "accuracy_pivot", "count_cells", "count_table", "format_cell"]
