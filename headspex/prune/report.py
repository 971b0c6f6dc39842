"""Write a study's outputs from its results (no model needed): tables (CSV + Markdown), the accuracy
curve with intervals, Shapley heatmaps and report.md.

    python -m headspex.report DIR      # rebuild the outputs of a finished run from its results
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from headspex._io import atomic_write_text, save_figure
from headspex.players import format_layer_range
from headspex.prune.html import write_html
from headspex.prune.results import StudyResult
from headspex.prune.seeds import SeedSummary, accuracy_pivot, count_cells

METHOD_ORDER = ("proxyspex", "lasso", "best-of-n", "single-head", "random")
PAPER_ENERGY = "Paper (Llama-3.1-8B, accuracy value): layers 1-3 80/8/12 %, 14-16 67/23/10 %, 30-32 51/39/10 %."


def write_outputs(results: StudyResult | Sequence[StudyResult], out: str | Path, *, model_name: str = "",
                  task_name: str = "") -> dict[str, Path]:
    """Write every output file of one task's study (one result per seed) into ``out``; returns {kind: path}."""
    results = [results] if isinstance(results, StudyResult) else list(results)
    summary, out = SeedSummary(results), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {"accuracy": summary.accuracy(), "significance": summary.significance(), "energy": summary.energy(),
              "pilot": summary.pilot(), "fit": summary.fit()}
    tables["significance_counts"] = summary.significance_counts(tables["significance"])
    files = {name: _csv(table, out / f"{name}.csv") for name, table in tables.items()}
    for r in results[0].ranges:
        label = format_layer_range(r.layers)
        files[f"heads_{label}"] = _csv(r.heads, out / f"heads_layers-{label}.csv")
        if r.top_interactions is not None:
            files[f"interactions_{label}"] = _csv(r.top_interactions, out / f"interactions_layers-{label}.csv")
    methods = [m for m in METHOD_ORDER if m in set(tables["accuracy"]["method"])]
    pivot = accuracy_pivot(tables["accuracy"], methods)
    files["accuracy_md"] = _text(out / "accuracy.md", pivot.to_markdown(index=False))
    files["shapley_png"] = plot_shapley(results[0], out / "shapley_heatmaps.png")
    for r in results[0].ranges:
        if r.top_interactions is not None and len(r.top_interactions):
            label = format_layer_range(r.layers)
            files[f"upset_{label}"] = plot_upset(r, out / f"interactions_upset_layers-{label}.png")
    files["accuracy_png"] = plot_accuracy(tables["accuracy"], summary.clean_test_accuracy, out / "accuracy_vs_sparsity.png")
    files["report"] = _text(out / "report.md", _report(summary, tables, pivot, model_name, task_name))
    files["html"] = write_html(results, out / "report.html", title=f"Head pruning study: {model_name} on {task_name}",
                               config=_run_meta(out) or None)
    return files


def plot_shapley(result: StudyResult, path: Path) -> Path:
    """One heatmap per range: layer on y, head on x, diverging colours centred at 0."""
    fig = _figure(4.2 * len(result.ranges), 3.6)
    axes = fig.subplots(1, len(result.ranges), squeeze=False)
    for ax, r in zip(axes[0], result.ranges):
        grid = r.heads.pivot(index="layer", columns="head", values="shapley")
        lim = float(np.nanmax(np.abs(grid.values))) or 1.0
        im = ax.imshow(grid.values, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_yticks(range(len(grid.index)), [str(layer + 1) for layer in grid.index])
        ax.set_xticks(range(len(grid.columns)), [str(h) for h in grid.columns])
        ax.set_xlabel("head")
        ax.set_ylabel("layer (1-based)")
        ax.set_title(f"Shapley value, layers {format_layer_range(r.layers)}")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def plot_upset(run: Any, path: Path, n: int = 15) -> Path:
    """shapiq's upset plot of the range's largest Moebius interactions (order >= 2), heads labelled L{l}H{h}."""
    import shapiq
    from shapiq.plot import upset_plot

    index = {f"L{layer}H{head}": i for i, (layer, head) in enumerate(run.players)}
    top = run.top_interactions.head(n)
    lookup = {tuple(sorted(index[m] for m in members.split())): j for j, members in enumerate(top["members"])}
    iv = shapiq.InteractionValues(top["value"].to_numpy(float), index="Moebius", max_order=int(top["order"].max()),
                                  n_players=len(run.players), min_order=2, interaction_lookup=lookup)
    names = [f"L{layer}H{head}" for layer, head in run.players]  # the labels of the CSVs: 0-based layers
    fig = upset_plot(iv, n_interactions=n, feature_names=names, all_features=False, show=False)
    fig.suptitle(f"Largest interactions (Moebius, order >= 2), layers {format_layer_range(run.layers)} "
                 "(labels: 0-based layers)", fontsize=9)
    save_figure(fig, path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_accuracy(summary: pd.DataFrame, clean: float, path: Path) -> Path:
    """Test accuracy against the share of the range's heads kept, one panel per range, 95% intervals."""
    ranges = list(dict.fromkeys(summary["layers"]))
    fig = _figure(4.2 * len(ranges), 3.4)
    axes = fig.subplots(1, len(ranges), squeeze=False, sharey=True)
    for ax, label in zip(axes[0], ranges):
        sub = summary[summary["layers"] == label]
        for method in [m for m in METHOD_ORDER if m in set(sub["method"])]:
            line = sub[sub["method"] == method].sort_values("keep")
            err = np.vstack([line["test_accuracy"] - line["low"], line["high"] - line["test_accuracy"]])
            err = np.nan_to_num(err) if np.isfinite(line["low"]).any() else None
            ax.errorbar(line["keep"] * 100, line["test_accuracy"], yerr=err, marker="o", capsize=3, label=method)
        ax.axhline(clean, color="k", ls="--", lw=1, label="unpruned")
        ax.set_title(f"layers {label}")
        ax.set_xlabel("heads of the range kept (%)")
    axes[0][0].set_ylabel("test accuracy (float32)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    return path


def _energy_md(energy: pd.DataFrame) -> str:
    if energy.empty:
        return "(no energy shares)"
    cells = energy[["layers", "spectrum", "cv_r2", "unexplained", "interval"]].copy()
    for name in ("linear", "within_layer", "across_layer"):
        cells[name] = [f"{m:.0f} [{lo:.0f}, {hi:.0f}]" for m, lo, hi in
                       zip(energy[name], energy[f"{name}_low"], energy[f"{name}_high"])]
    return cells.to_markdown(index=False, floatfmt=".2f")


def _report(summary: SeedSummary, tables: dict, pivot: pd.DataFrame, model: str, task: str) -> str:
    c, first = summary.results[0].config, summary.results[0]
    pilot = tables["pilot"]
    ceiling = sorted(set(pilot.loc[pilot["at_ceiling"], "layers"])) if len(pilot) else []
    counts = count_cells(tables["significance"][tables["significance"]["metric"] == "accuracy"]) \
        if len(tables["significance"]) else {}
    return "\n".join([
        f"# Head pruning study: {model} on {task}", "",
        f"Value f(m): train-split {c.metric} ({c.ablation} ablation); {c.budget} {c.sampling} training masks per range; "
        f"refined spectrum: {c.refine}; Best-of-N: {c.best_of_n_per_level()} true evaluations per keep level "
        f"(matched: {c.best_of_n_per_level() * len(c.keep)} in all); random: mean of {c.n_random} masks; seeds "
        f"{summary.seeds}; test split in {c.test_dtype}. Unpruned test accuracy {summary.clean_test_accuracy:.3f}. "
        f"Wall time {sum(r.seconds for r in summary.results):.0f} s.", "",
        "## Pilot: do heads of the range matter? (test accuracy of random k-head masks)", "",
        pilot.to_markdown(index=False, floatfmt=".3f"), "",
        (f"**At ceiling (random masks lose < 5 points): {', '.join(ceiling)}: methods cannot differ there.**"
         if ceiling else "Every range is sensitive (random masks lose >= 5 points)."), "",
        "## Test accuracy (mean over seeds [95% CI]; only the chosen heads of the range kept)", "",
        pivot.to_markdown(index=False), "", "![accuracy versus sparsity](accuracy_vs_sparsity.png)", "",
        "## ProxySPEX minus each baseline (paired bootstrap 95% CI over test questions)", "",
        f"Accuracy cells: {counts.get('better', 0)} significantly better, {counts.get('worse', 0)} worse, "
        f"{counts.get('within_noise', 0)} within noise.", "",
        tables["significance_counts"].to_markdown(index=False), "",
        "## What each method optimised: true training value of its mask, and the proxy's prediction", "",
        tables["accuracy"][["layers", "keep", "method", "train_value", "predicted", "test_logprob", "evaluations",
                            "how"]].to_markdown(index=False, floatfmt=".3f"), "",
        "## Proxy fit (CV R^2, and held-out R^2 on unseen uniform masks and masks with exactly k heads)", "",
        tables["fit"].to_markdown(index=False, floatfmt=".3f"), "",
        "## Spectral energy (% of non-constant energy, 95% CI: over seeds, or over bootstrap refits with one seed)", "",
        _energy_md(tables["energy"]), "", PAPER_ENERGY, "",
        "## Per-head Shapley values of the proxy (first seed)", "", "![Shapley heatmaps](shapley_heatmaps.png)", "",
        "## Largest interactions (first seed; shapiq's upset plot; labels L{layer}H{head} with 0-based layers)", "",
        *[f"![interactions {format_layer_range(r.layers)}](interactions_upset_layers-{format_layer_range(r.layers)}.png)"
          for r in first.ranges if r.top_interactions is not None and len(r.top_interactions)], "",
        f"Per-head tables: `heads_layers-*.csv`; top interactions: `interactions_layers-*.csv`; all numbers: "
        f"`seed-*/results.pkl` (rebuild with `python -m headspex.report DIR`). First seed's run: "
        f"{first.seconds:.0f} s.", "",
    ])


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure that needs no pyplot state or interactive backend."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _csv(df: pd.DataFrame, path: Path) -> Path:
    return atomic_write_text(path, df.to_csv(index=False))


def _text(path: Path, text: str) -> Path:
    return atomic_write_text(path, text + "\n")



def _run_meta(directory: Path) -> dict:
    import json

    path = directory / "config.json"
    return json.loads(path.read_text()) if path.is_file() else {}
