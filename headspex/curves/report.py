"""Write a curve's tables and plot (rebuilt from the saved results by ``python -m headspex.report DIR``).

Files: ``curve.csv``, ``auc.csv``, ``prunable.csv``, ``cost.csv``, ``curves.md`` (all four as tables) and
``curve.png`` (test accuracy against heads kept, 95% bands, one line per method, the unpruned model as a
dashed line, the random baseline in grey).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from headspex._io import atomic_write_text, save_figure
from headspex.curves.results import CurveResult, auc_table, cost_table, curve_table, prunable_table


def write_outputs(results: Sequence[CurveResult], out: str | Path, *, title: str) -> dict[str, pd.DataFrame]:
    """Write every table and ``curve.png`` to ``out``; returns the tables."""
    out = Path(out)
    tables = {"curve": curve_table(results), "auc": auc_table(results), "prunable": prunable_table(results),
              "cost": cost_table(results)}
    for name, table in tables.items():
        atomic_write_text(out / f"{name}.csv", table.to_csv(index=False))
    clean = results[0].clean["test"]["accuracy"]
    seeds = sorted(r.config.seed for r in results)
    lines = [f"# {title}", "", f"Unpruned test accuracy {clean:.3f}; {len(results[0].players)} heads; "
             f"{results[0].n_train} training / {results[0].n_test} test questions; seeds {seeds}.", ""]
    for name, table in tables.items():
        lines += [f"## {name}", "", table.to_markdown(index=False, floatfmt=".3f"), ""]
    atomic_write_text(out / "curves.md", "\n".join(lines))
    plot_curves(tables["curve"], clean, out / "curve.png", title=title)
    return tables


def plot_curves(curve: pd.DataFrame, clean: float, path: str | Path, *, title: str) -> None:
    """Test accuracy against heads kept: one line per method with its 95% band; unpruned and random as references."""
    from matplotlib.figure import Figure  # no pyplot: a notebook user's backend stays as it is

    fig = Figure(figsize=(8, 5), dpi=120)
    ax = fig.subplots()
    for method, part in curve.groupby("method", sort=False):
        part = part.sort_values("k")
        style = dict(color="grey", linestyle=":") if method == "random" else {}
        (line,) = ax.plot(part.k, part.accuracy, marker="o", markersize=3, label=method, **style)
        ax.fill_between(part.k, part.low, part.high, color=line.get_color(), alpha=0.12)
    ax.axhline(clean, color="black", linestyle="--", linewidth=1, label=f"unpruned ({clean:.3f})")
    ax.set_xlabel("heads kept")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save_figure(fig, Path(path))


def title_of(result: CurveResult) -> str:
    return f"How far can {result.model_name or 'the model'} be pruned? {result.task_name}, whole model"
