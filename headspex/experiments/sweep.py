"""Sample-efficiency curves: every method at several budgets, on the same seeds and test questions.

For each range and each budget b (model evaluations on the training split: the proxy's masks, Best-of-N's
candidates, the verify rule's checks), one experiment runs every method with ``budget=b``. Training masks
are one seeded stream per seed, so a smaller budget's masks are a prefix of a larger one's and the value
store evaluates each mask once across the sweep. Per (range, budget, level) the tables give each method's
test accuracy and paired bootstrap 95% intervals against LASSO and Best-of-N at the same budget, and the
smallest budget at which a rule is significantly better than each baseline. With a validation game, every
selection is also scored on training-split questions the proxy never saw, and :func:`choose_rule` picks the
ProxySPEX rule on those, never on the test split.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from headspex.errors import InputError
from headspex.experiments.core import Games, run_experiment
from headspex.players import format_layer_range
from headspex.records.stats import paired_bootstrap

BASELINES = ("lasso", "best-of-n")


def parse_budgets(text: str, n_players: int) -> list[int]:
    """``"1n,2n,4n"`` (multiples of the players) or ``"100,200"`` -> sorted budgets."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            out.append(int(round(float(part[:-1]) * n_players)) if part.endswith("n") else int(part))
        except ValueError:
            raise InputError(f"--budget-sweep expects budgets such as 1n,2n,4n or 100,200; got {part!r}") from None
    if not out or min(out) < 1:
        raise InputError(f"--budget-sweep needs budgets >= 1; got {text!r}")
    return sorted(set(out))


def sweep_range(games: Games, keep_k: dict[float, int], config: Any, budgets: Sequence[int], *, label: str,
                baseline_seed: int, grad_model: Any, task: Any, log: Callable[[str], None]) -> pd.DataFrame:
    """Per-question test scores of every method at every budget of one range -> a tidy table."""
    rows = []
    for budget in budgets:
        replace(config, budget=budget).check_budget(games.train.n_players)
    for budget in budgets:
        exp = run_experiment(games, keep_k, replace(config, budget=budget), baseline_seed=baseline_seed,
                             grad_model=grad_model, task=task, log=lambda _: None)
        n_q = exp.context.n_questions
        for keep, k in keep_k.items():
            for method, run in exp.runs.items():
                test, val = exp.test[(k, method)], exp.validation.get((k, method))
                means = {f"val_{m}": float(np.mean(val[m])) if val is not None else np.nan for m in ("accuracy", "logprob")}
                rows += [dict(layers=label, budget=budget, keep=keep, k=k, method=method, seed=config.seed,
                              evaluations=run.evaluations(n_q), question=q, accuracy=float(test["accuracy"][q]),
                              logprob=float(test["logprob"][q]), train_value=exp.train[(k, method)][config.metric],
                              **means)
                         for q in range(len(test["accuracy"]))]
        log(f"layers {label}, budget {budget}: " + "; ".join(
            f"{m} {np.mean([exp.test[(k, m)]['accuracy'].mean() for k in keep_k.values()]):.3f}" for m in exp.runs))
    return pd.DataFrame(rows)


def sweep_summary(scores: pd.DataFrame, *, n_boot: int = 2000) -> pd.DataFrame:
    """Per (layers, budget, keep, method): mean test accuracy over seeds and questions, and paired bootstrap
    intervals (over questions, seeds averaged first) of the method minus LASSO and minus Best-of-N."""
    per_q = scores.groupby(["layers", "budget", "keep", "method", "question"], as_index=False)[
        ["accuracy", "logprob", "evaluations"]].mean()
    rows = []
    for (layers, budget, keep), part in per_q.groupby(["layers", "budget", "keep"]):
        by = {m: g.sort_values("question") for m, g in part.groupby("method")}
        for method, g in by.items():
            row = dict(layers=layers, budget=budget, keep=keep, method=method, accuracy=g["accuracy"].mean(),
                       logprob=g["logprob"].mean(), evaluations=g["evaluations"].mean())
            for base in BASELINES:
                if base in by and base != method:
                    iv = paired_bootstrap(g["accuracy"].to_numpy(), by[base]["accuracy"].to_numpy(), n_boot=n_boot)
                    row.update({f"minus_{base}": iv.estimate, f"minus_{base}_low": iv.low,
                                f"minus_{base}_high": iv.high})
            rows.append(row)
    return pd.DataFrame(rows)


def sweep_overview(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (layers, budget, method): mean test accuracy over the keep levels, and in how many levels the method is
    significantly better / worse than LASSO and than Best-of-N at that budget ("better/worse/levels")."""
    rows = []
    for (layers, budget, method), part in summary.groupby(["layers", "budget", "method"]):
        row = dict(layers=layers, budget=budget, method=method, accuracy=part["accuracy"].mean(),
                   evaluations=part["evaluations"].mean())
        for base in BASELINES:
            low, high = f"minus_{base}_low", f"minus_{base}_high"
            if low in part and part[low].notna().any():
                row[f"vs_{base}"] = f"{int((part[low] > 0).sum())}/{int((part[high] < 0).sum())}/{len(part)}"
        rows.append(row)
    return pd.DataFrame(rows)


def write_tables(scores: pd.DataFrame, out: Path) -> dict[str, pd.DataFrame]:
    """Every table and the picture of a sweep from its per-question scores (``sweep_scores.csv``) into ``out``."""
    from headspex._io import atomic_write_text

    summary = sweep_summary(scores)
    tables = {"scores": scores, "summary": summary, "crossover": crossover(summary),
              "overview": sweep_overview(summary), "choice": choose_rule(scores)}
    for name, table in tables.items():
        if len(table):
            atomic_write_text(Path(out) / f"sweep_{name}.csv", table.to_csv(index=False))
    plot_sweep(summary, scores, Path(out) / "sweep.png")
    return tables


def choose_rule(scores: pd.DataFrame, prefix: str = "proxyspex") -> pd.DataFrame:
    """Every method's mean validation accuracy and log-prob over all (range, budget, level, seed) cells, with
    its test accuracy beside it for reference; ``chosen`` marks the ``prefix*`` rule with the best validation
    accuracy (ties: log-prob). The choice never reads the test split. Empty without validation scores."""
    if "val_accuracy" not in scores or scores["val_accuracy"].isna().all():
        return pd.DataFrame()
    cells = scores.drop_duplicates(["layers", "budget", "keep", "method", "seed"])
    table = cells.groupby("method", as_index=False).agg(
        val_accuracy=("val_accuracy", "mean"), val_logprob=("val_logprob", "mean"), cells=("val_accuracy", "size"))
    test = scores.groupby("method")["accuracy"].mean()
    table["test_accuracy"] = table["method"].map(test)
    rules = table[table["method"].str.startswith(prefix)].sort_values(["val_accuracy", "val_logprob"], ascending=False)
    table["chosen"] = table["method"] == (rules["method"].iloc[0] if len(rules) else None)
    return table.sort_values("val_accuracy", ascending=False, ignore_index=True)


def crossover(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (layers, keep, method, baseline): the smallest budget at which the method is significantly better
    than the baseline (its interval above 0), or NaN when no budget of the sweep reaches it."""
    rows = []
    for (layers, keep, method), part in summary.groupby(["layers", "keep", "method"]):
        for base in BASELINES:
            col = f"minus_{base}_low"
            if method in BASELINES or col not in part:
                continue
            better = part[part[col] > 0].sort_values("budget")
            worse = part[part[f"minus_{base}_high"] < 0]
            rows.append(dict(layers=layers, keep=keep, method=method, baseline=base,
                             first_significant_budget=float(better["budget"].iloc[0]) if len(better) else np.nan,
                             budgets_better=len(better), budgets_worse=len(worse), budgets=len(part)))
    return pd.DataFrame(rows)


def plot_sweep(summary: pd.DataFrame, scores: pd.DataFrame, path: str | Path) -> Path:
    """Test accuracy against model evaluations, one line per method with a 95% band, per range and level."""
    from matplotlib.figure import Figure

    from headspex._io import save_figure

    cells = summary[["layers", "keep"]].drop_duplicates().sort_values(["layers", "keep"]).to_numpy().tolist()
    fig = Figure(figsize=(4.2 * min(3, len(cells)), 3.4 * int(np.ceil(len(cells) / 3))), dpi=110)
    axes = fig.subplots(int(np.ceil(len(cells) / 3)), min(3, len(cells)), squeeze=False).ravel()
    for ax, (layers, keep) in zip(axes, cells):
        for method, part in summary[(summary.layers == layers) & (summary.keep == keep)].groupby("method"):
            part = part.sort_values("budget")
            band = _band(scores, layers, keep, method)
            (line,) = ax.plot(part["budget"], part["accuracy"], marker="o", markersize=3, label=method)
            ax.fill_between(band.index, band["low"], band["high"], color=line.get_color(), alpha=0.12)
        ax.set_title(f"layers {layers}, keep {keep:.0%}", fontsize=9)
        ax.set_xlabel("model evaluations (training masks)")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, Path(path))


def _band(scores: pd.DataFrame, layers: str, keep: float, method: str) -> pd.DataFrame:
    """95% bootstrap band over test questions (seeds averaged first) per budget."""
    part = scores[(scores.layers == layers) & (scores.keep == keep) & (scores.method == method)]
    out = {}
    rng = np.random.default_rng(0)
    for budget, g in part.groupby("budget"):
        acc = g.groupby("question")["accuracy"].mean().to_numpy()
        boots = acc[rng.integers(0, len(acc), size=(1000, len(acc)))].mean(axis=1)
        out[budget] = dict(low=float(np.percentile(boots, 2.5)), high=float(np.percentile(boots, 97.5)))
    return pd.DataFrame(out).T.sort_index()


def range_label(layers: Sequence[int]) -> str:
    return format_layer_range(layers)
