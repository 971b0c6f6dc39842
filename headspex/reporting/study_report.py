"""Write a study's outputs from its results (no model needed): tables (CSV + Markdown), the accuracy
curve with intervals, Shapley heatmaps, report.md and report.html. Both reports open on the verdict (sentences
written from the numbers, trust warnings, the accuracy table with intervals, significance counts, the pilot);
the figures follow. Head labels in every output have 1-based layers, as ``--layers``.

    python -m headspex.report DIR      # rebuild the outputs of a finished run from its results
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from headspex._io import atomic_write_text, save_figure
from headspex.players import format_layer_range
from headspex.records.study_result import StudyResult
from headspex.records.summary import accuracy_pivot
from headspex.reporting.escape import escape_markdown
from headspex.reporting.html import write_html
from headspex.reporting.html.common import ordered_methods
from headspex.reporting.labels import (CONVENTION, head_label, heads_for_users, interactions_for_users, label_methods,
                                       method_label)
from headspex.reporting.roles import read_roles, roles_markdown
from headspex.reporting.study_tables import accuracy_caption, n_test_questions, study_tables, verdict_pivot
from headspex.reporting.trust import TrustReport
from headspex.reporting.trust_blocks import details_markdown, warnings_markdown
from headspex.reporting.verdict import ceiling_sentence, study_verdict
from headspex.rundir import missing_seeds_note

PAPER_ENERGY = "Paper (Llama-3.1-8B, accuracy value): layers 1-3 80/8/12 %, 14-16 67/23/10 %, 30-32 51/39/10 %."


def write_outputs(results: StudyResult | Sequence[StudyResult], out: str | Path, *, model_name: str = "",
                  task_name: str = "") -> dict[str, Path]:
    """Write every output file of one task's study (one result per seed) into ``out``; returns {kind: path}."""
    results = [results] if isinstance(results, StudyResult) else list(results)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables, trust = study_tables(results)
    rule = getattr(results[0].config, "proxyspex_rule", None)
    missing = missing_seeds_note(_run_meta(out), [r.config.seed for r in results])
    if missing:
        trust.notes.insert(0, missing)
    files = {name: _csv(table, out / f"{name}.csv") for name, table in tables.items()}
    for r in results[0].ranges:
        label = format_layer_range(r.layers)
        files[f"heads_{label}"] = _csv(heads_for_users(r.heads), out / f"heads_layers-{label}.csv")
        if r.top_interactions is not None:
            files[f"interactions_{label}"] = _csv(interactions_for_users(r.top_interactions),
                                                  out / f"interactions_layers-{label}.csv")
    methods = ordered_methods(list(tables["accuracy"]["method"]))
    pivot = label_methods(accuracy_pivot(tables["accuracy"], methods), rule)
    files["accuracy_md"] = _text(out / "accuracy.md", pivot.to_markdown(index=False))  # the rule named, never bare
    files["shapley_png"] = plot_shapley(results[0], out / "shapley_heatmaps.png")
    for r in results[0].ranges:
        if r.top_interactions is not None and len(r.top_interactions):
            label = format_layer_range(r.layers)
            files[f"upset_{label}"] = plot_upset(r, out / f"interactions_upset_layers-{label}.png")
    files["accuracy_png"] = plot_accuracy(tables["accuracy"], results[0].clean_test_accuracy,
                                          out / "accuracy_vs_sparsity.png", rule=rule)
    roles = read_roles(out)  # the run's roles.csv (--roles), None without one
    files["report"] = _text(out / "report.md", _report(results, tables, trust, model_name, task_name, roles))
    files["html"] = write_html(results, out / "report.html", title=f"Head pruning study: {model_name} on {task_name}",
                               config=_run_meta(out) or None, tables=tables, trust_report=trust, roles=roles)
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
    """shapiq's upset plot of the range's largest Moebius interactions (order >= 2), heads labelled L{l}H{h} with
    1-based layers (as --layers)."""
    import shapiq
    from shapiq.plot import upset_plot

    index = {f"L{layer}H{head}": i for i, (layer, head) in enumerate(run.players)}
    top = run.top_interactions.head(n)
    lookup = {tuple(sorted(index[m] for m in members.split())): j for j, members in enumerate(top["members"])}
    iv = shapiq.InteractionValues(top["value"].to_numpy(float), index="Moebius", max_order=int(top["order"].max()),
                                  n_players=len(run.players), min_order=2, interaction_lookup=lookup)
    names = [head_label(layer, head) for layer, head in run.players]  # as the CSVs: 1-based layers
    fig = upset_plot(iv, n_interactions=n, feature_names=names, all_features=False, show=False)
    fig.suptitle(f"Largest interactions (Moebius, order >= 2), layers {format_layer_range(run.layers)} "
                 "(labels L{layer}H{head}, layers 1-based)", fontsize=9)
    save_figure(fig, path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_accuracy(summary: pd.DataFrame, clean: float, path: Path, rule: str | None = None) -> Path:
    """Test accuracy against the share of the range's heads kept, one panel per range, 95% intervals; ``proxyspex``
    labelled with its ``rule``."""
    ranges = list(dict.fromkeys(summary["layers"]))
    fig = _figure(4.2 * len(ranges), 3.4)
    axes = fig.subplots(1, len(ranges), squeeze=False, sharey=True)
    for ax, label in zip(axes[0], ranges):
        sub = summary[summary["layers"] == label]
        for method in ordered_methods(list(sub["method"])):
            line = sub[sub["method"] == method].sort_values("keep")
            err = np.vstack([line["test_accuracy"] - line["low"], line["high"] - line["test_accuracy"]])
            err = np.nan_to_num(err) if np.isfinite(line["low"]).any() else None
            ax.errorbar(line["keep"] * 100, line["test_accuracy"], yerr=err, marker="o", capsize=3,
                        label=method_label(method, rule))
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


def _settings(results: list[StudyResult], model: str, task: str) -> str:
    c, seconds = results[0].config, sum(r.seconds for r in results)
    return (f"{model} on {task}. Value f(m): train-split {c.metric} ({c.ablation} ablation); {c.budget} {c.sampling} "
            f"training masks per range; refined spectrum: {c.refine}; Best-of-N: {c.best_of_n_per_level()} true "
            f"evaluations per keep level (matched: {c.best_of_n_per_level() * len(c.keep)} in all); random: mean of "
            f"{c.n_random} masks; seeds {[r.config.seed for r in results]}; test split in {c.test_dtype}. Wall time "
            f"{seconds:.0f} s.")


def _verdict_md(results: list[StudyResult], tables: dict, trust: TrustReport) -> list[str]:
    """The opening: the verdict, the trust warnings, the accuracy table, significance counts and the pilot."""
    first, n_test = results[0], n_test_questions(results[0])
    sentences = study_verdict(results, tables, trust)
    counts, pilot = tables["significance_counts"], tables["pilot"]
    return ["## Verdict", "", *[f"- {s}" for s in sentences], "",
            "## Test accuracy", "", accuracy_caption(results, tables), "",
            verdict_pivot(tables["accuracy"], first.clean_test_accuracy,
                          getattr(first.config, "proxyspex_rule", None)).to_markdown(index=False), "",
            *warnings_markdown(trust),
            "## ProxySPEX minus each baseline: significant cells", "",
            f"Per cell, a paired bootstrap 95% CI over the {n_test} test questions of ProxySPEX minus the baseline "
            f"(per-question scores averaged over {len(results)} seed(s)): better = above 0, worse = below 0.", "",
            counts.to_markdown(index=False) if len(counts) else "(none)", "",
            f"## Pilot: do heads of the range matter? (random k-head masks, seed {first.config.seed})", "",
            pilot.to_markdown(index=False, floatfmt=".3f") if len(pilot) else "(no pilot)", "",
            ceiling_sentence(pilot), ""]


def _report(results: list[StudyResult], tables: dict, trust: TrustReport, model: str, task: str,
            roles: pd.DataFrame | None = None) -> str:
    model, task = escape_markdown(model), escape_markdown(task)  # user input: shown as written, never as markup
    first = results[0]
    seed = first.config.seed
    upsets = [f"![interactions {format_layer_range(r.layers)}](interactions_upset_layers-{format_layer_range(r.layers)}"
              ".png)" for r in first.ranges if r.top_interactions is not None and len(r.top_interactions)]
    return "\n".join([
        f"# Head pruning study: {model} on {task}", "", *_verdict_md(results, tables, trust),
        "## Figures and details", "", _settings(results, model, task), "",
        "![accuracy versus sparsity](accuracy_vs_sparsity.png)", "",
        "## What each method optimised: true training value of its mask, and the proxy's prediction "
        "(mean over seeds)", "",
        label_methods(tables["accuracy"][["layers", "keep", "method", "train_value", "predicted", "test_logprob",
                                          "evaluations", "how"]], getattr(first.config, "proxyspex_rule", None)
                      ).to_markdown(index=False, floatfmt=".3f"), "",
        "## Proxy fit (mean over seeds: CV R^2, and held-out R^2 on unseen uniform masks and masks with exactly k "
        "heads)", "", tables["fit"].to_markdown(index=False, floatfmt=".3f"), "",
        "## Trust details (one row per flag, with its seed or \"mean over seeds\")", "", details_markdown(trust), "",
        "## Spectral energy (% of non-constant energy, 95% CI: over seeds, or over bootstrap refits with one seed)",
        "", _energy_md(tables["energy"]), "", PAPER_ENERGY, "",
        f"## Per-head Shapley values of the proxy (seed {seed})", "", "![Shapley heatmaps](shapley_heatmaps.png)", "",
        f"## Largest interactions (seed {seed}; shapiq's upset plot; {CONVENTION})", "", *upsets, "",
        f"Per-head tables: `heads_layers-*.csv`; top interactions: `interactions_layers-*.csv` ({CONVENTION}); "
        f"rebuild every output with `python -m headspex.report DIR`. Seed {seed}'s run: {first.seconds:.0f} s.", "",
        *roles_markdown(first.ranges, roles),
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
