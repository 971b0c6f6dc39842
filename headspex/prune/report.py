"""Write a study's outputs: tables (CSV + Markdown), Shapley heatmaps, the accuracy curve, report.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from headspex.prune.study import StudyResult

ENERGY_FMT = ("", ".3f", ".1f", ".1f", ".1f")  # layers, cv_r2, linear %, within-layer %, across-layer %
METHOD_ORDER = ("best-of-n", "lasso", "proxyspex", "single-head", "random")


def accuracy_pivot(result: StudyResult) -> pd.DataFrame:
    """Test accuracy as the paper prints it: rows (layers, kept), columns methods."""
    table = result.accuracy_table()
    table["kept"] = table["keep"].map(lambda k: f"{k:.0%}")
    pivot = table.pivot_table(index=["layers", "kept", "k"], columns="method", values="test_accuracy", sort=False)
    cols = [m for m in METHOD_ORDER if m in pivot.columns]
    return pivot[cols].reset_index()


def write_outputs(result: StudyResult, out: str | Path, *, model_name: str, task_name: str) -> dict[str, Path]:
    """Write every output file into ``out``; returns {kind: path}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    acc = result.accuracy_table()
    files["accuracy_csv"] = _csv(acc, out / "accuracy.csv")
    pivot = accuracy_pivot(result)
    files["accuracy_md"] = _text(out / "accuracy.md", pivot.to_markdown(index=False, floatfmt=".3f"))
    energy = result.energy_table()
    files["energy_csv"] = _csv(energy, out / "energy.csv")
    files["energy_md"] = _text(out / "energy.md", energy.to_markdown(index=False, floatfmt=ENERGY_FMT))
    for r in result.ranges:
        files[f"heads_{r.label}"] = _csv(r.heads, out / f"heads_layers-{r.label}.csv")
    files["shapley_png"] = plot_shapley(result, out / "shapley_heatmaps.png")
    files["accuracy_png"] = plot_accuracy(result, out / "accuracy_vs_sparsity.png")
    files["report"] = _text(out / "report.md", _report(result, pivot, energy, model_name, task_name))
    return files


def plot_shapley(result: StudyResult, path: Path) -> Path:
    """One heatmap per range: layer on y, head on x, diverging colours centred at 0."""
    fig = _figure(4.2 * len(result.ranges), 3.2)
    axes = fig.subplots(1, len(result.ranges), squeeze=False)
    for ax, r in zip(axes[0], result.ranges):
        grid = r.heads.pivot(index="layer", columns="head", values="shapley")
        lim = float(np.nanmax(np.abs(grid.values))) or 1.0
        im = ax.imshow(grid.values, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_yticks(range(len(grid.index)), [str(layer + 1) for layer in grid.index])
        ax.set_xticks(range(len(grid.columns)), [str(h) for h in grid.columns])
        ax.set_xlabel("head")
        ax.set_ylabel("layer (1-based)")
        ax.set_title(f"Shapley value, layers {r.label}")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_accuracy(result: StudyResult, path: Path) -> Path:
    """Test accuracy against the share of the range's heads kept, one panel per range."""
    table = result.accuracy_table()
    fig = _figure(4.2 * len(result.ranges), 3.4)
    axes = fig.subplots(1, len(result.ranges), squeeze=False, sharey=True)
    for ax, r in zip(axes[0], result.ranges):
        sub = table[table["layers"] == r.label]
        for method in [m for m in METHOD_ORDER if m in set(sub["method"])]:
            line = sub[sub["method"] == method].sort_values("keep")
            ax.plot(line["keep"] * 100, line["test_accuracy"], marker="o", label=method)
        ax.axhline(result.clean_test_accuracy, color="k", ls="--", lw=1, label="unpruned")
        ax.set_title(f"layers {r.label}")
        ax.set_xlabel("heads of the range kept (%)")
    axes[0][0].set_ylabel("test accuracy")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _report(result: StudyResult, pivot: pd.DataFrame, energy: pd.DataFrame, model: str, task: str) -> str:
    c = result.config
    return "\n".join([
        f"# Head pruning study: {model} on {task}", "",
        f"Value f(m): train-split {c.metric}; {c.ablation} ablation; {c.budget} uniform masks per range; "
        f"seed {c.seed}; Best-of-N with N = {c.best_of_n or c.budget} per keep level. "
        f"Unpruned test accuracy: {result.clean_test_accuracy:.3f}. Wall time {result.seconds:.0f} s.", "",
        "## Test accuracy (only the chosen heads of the range kept; every other head intact)", "",
        pivot.to_markdown(index=False, floatfmt=".3f"), "",
        "![accuracy versus sparsity](accuracy_vs_sparsity.png)", "",
        "## Proxy fit and spectral energy (% of non-constant energy)", "",
        energy.to_markdown(index=False, floatfmt=ENERGY_FMT), "",
        "## Per-head Shapley values of the proxy", "",
        "![Shapley heatmaps](shapley_heatmaps.png)", "",
        "Per-head tables (Shapley, Banzhaf, interaction involvement): `heads_layers-*.csv`. "
        "Masks and values: `layers-*/train/values.jsonl` (reload with `headspex.load_store`).", "",
    ])


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure that needs no pyplot state or interactive backend."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def _text(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    return path
