"""Write a curve's tables and plot, and rebuild them from the saved results: ``python -m headspex.curves.report DIR``.

Files: ``curve.csv``, ``auc.csv``, ``prunable.csv``, ``cost.csv``, ``curves.md`` (all four as tables) and
``curve.png`` (test accuracy against heads kept, 95% bands, one line per method, the unpruned model as a
dashed line, the random baseline in grey).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from headspex.curves.results import CurveResult, auc_table, cost_table, curve_table, prunable_table


def write_outputs(results: Sequence[CurveResult], out: str | Path, *, title: str) -> dict[str, pd.DataFrame]:
    """Write every table and ``curve.png`` to ``out``; returns the tables."""
    out = Path(out)
    tables = {"curve": curve_table(results), "auc": auc_table(results), "prunable": prunable_table(results),
              "cost": cost_table(results)}
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    clean = results[0].clean["test"]["accuracy"]
    seeds = sorted(r.config.seed for r in results)
    lines = [f"# {title}", "", f"Unpruned test accuracy {clean:.3f}; {len(results[0].players)} heads; "
             f"{results[0].n_train} training / {results[0].n_test} test questions; seeds {seeds}.", ""]
    for name, table in tables.items():
        lines += [f"## {name}", "", table.to_markdown(index=False, floatfmt=".3f"), ""]
    (out / "curves.md").write_text("\n".join(lines))
    plot_curves(tables["curve"], clean, out / "curve.png", title=title)
    return tables


def plot_curves(curve: pd.DataFrame, clean: float, path: str | Path, *, title: str) -> None:
    """Test accuracy against heads kept: one line per method with its 95% band; unpruned and random as references."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
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
    fig.savefig(path)
    plt.close(fig)


def rebuild(out: str | Path) -> dict[str, pd.DataFrame]:
    """Rebuild every table and the plot from ``out/seed-*/curve.pkl``."""
    out = Path(out)
    paths = sorted(out.glob("seed-*/curve.pkl"))
    if not paths:
        raise FileNotFoundError(f"no seed-*/curve.pkl under {out}: is it the --out of python -m headspex.curves?")
    results = [CurveResult.load(p) for p in paths]
    return write_outputs(results, out, title=title_of(results[0]))


def title_of(result: CurveResult) -> str:
    return f"How far can {result.model_name or 'the model'} be pruned? {result.task_name}, whole model"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m headspex.curves.report DIR", file=sys.stderr)
        sys.exit(2)
    rebuild(sys.argv[1])
    print(f"rebuilt {sys.argv[1]}")
