"""Rebuild a budget sweep's tables and picture from its stored per-question scores (no model is loaded).

    .venv/bin/python scripts/summarise_sweep.py results/sweep/ioi [more sweep directories] [--compare OUT.md]

Reads ``sweep_scores.csv`` in each directory, writes ``sweep_summary.csv``, ``sweep_crossover.csv``,
``sweep_overview.csv``, ``sweep_choice.csv`` (with validation scores) and ``sweep.png`` beside it, and prints
the overview (mean test accuracy over the keep levels; levels significantly better/worse than LASSO and
Best-of-N at the same budget) and the rule chosen on the validation split. Directories that are reruns of the same
sweep with more rules (same task and layers) merge in the comparison. ``--compare OUT.md`` also writes
the rule comparison across the sweeps: per sweep and budget each method's mean test accuracy with its levels
better/worse than LASSO, the rule validation chose, and per rule the smallest budget at which it is
significantly better than LASSO / Best-of-N at some keep level (the crossover).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from headspex.experiments.sweep import write_tables



def _label(method: str, config: dict) -> str:
    """Sweeps recorded before ``proxyspex_rule`` existed ran the proxy's optimum as ``proxyspex``."""
    rule = config.get("study", {}).get("proxyspex_rule", "milp")
    return f"proxyspex-{rule}" if method == "proxyspex" else method


def comparison(dirs: list[Path]) -> str:
    """Markdown: the rule comparison table, the validation choices and the crossover budgets."""
    cells, crossings, chosen = [], [], []
    for d in dirs:
        config = json.loads((d / "config.json").read_text())
        name = f"{config['task']} {' '.join(sorted(set(pd.read_csv(d / 'sweep_overview.csv')['layers'].astype(str))))}"
        over = pd.read_csv(d / "sweep_overview.csv")
        for r in over.itertuples():
            better_worse = "" if pd.isna(r.vs_lasso) else f" ({'/'.join(str(r.vs_lasso).split('/')[:2])})"
            cells.append(dict(sweep=name, budget=int(r.budget), method=_label(r.method, config),
                              text=f"{r.accuracy:.3f}{better_worse}"))
        cross = pd.read_csv(d / "sweep_crossover.csv")
        for (method, baseline), g in cross.groupby(["method", "baseline"], sort=False):
            first = g["first_significant_budget"].dropna()
            crossings.append(dict(sweep=name, method=_label(method, config), baseline=baseline,
                                  first_budget="none" if first.empty else str(int(first.min())),
                                  levels_better_at_largest=int(g["budgets_better"].gt(0).sum())))
        choice = pd.read_csv(d / "sweep_choice.csv") if (d / "sweep_choice.csv").is_file() else pd.DataFrame()
        for r in choice.itertuples() if len(choice) else []:
            chosen.append(dict(sweep=name, method=_label(r.method, config), val_accuracy=round(r.val_accuracy, 3)))
    table = pd.DataFrame(cells).pivot_table(index=["sweep", "budget"], columns="method", values="text",
                                            aggfunc="first", sort=False)
    cross = pd.DataFrame(crossings).pivot_table(index=["sweep", "method"], columns="baseline", values="first_budget",
                                                aggfunc="first", sort=False)
    return ("Mean test accuracy over the keep levels and seeds (levels significantly better / worse than LASSO at "
            "the same budget, paired bootstrap 95%):\n\n" + table.reset_index().astype(object).fillna("").to_markdown(index=False) +
            "\n\nValidation accuracy (never the test split); the ProxySPEX rule chosen per sweep is the best of them:\n\n"
            + validation_table(pd.DataFrame(chosen)).astype(object).fillna("").to_markdown(index=False) +
            "\n\nSmallest budget at which each method is significantly better than the baseline at some keep level "
            "(none: at no budget swept):\n\n" + cross.reset_index().to_markdown(index=False) + "\n")


def validation_table(vals: pd.DataFrame) -> pd.DataFrame:
    """One row per sweep: every method's validation accuracy and the ProxySPEX rule with the best. Sweeps given in
    more than one directory (a rerun with more rules, resumed from the same stores) are merged."""
    vals = vals.drop_duplicates(["sweep", "method"])
    table = vals.pivot_table(index="sweep", columns="method", values="val_accuracy", sort=False)
    rules = [m for m in table.columns if str(m).startswith("proxyspex")]
    return table.assign(chosen=table[rules].idxmax(axis=1)).reset_index()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--compare", type=Path, default=None, help="write the rule comparison across sweeps here")
    args = parser.parse_args(argv)
    for d in args.dirs:
        tables = write_tables(pd.read_csv(d / "sweep_scores.csv"), d)
        print(f"## {d}\n\n" + tables["overview"].to_markdown(index=False, floatfmt=".3f") + "\n")
        if len(tables["choice"]):
            print("chosen on the validation split:\n\n" + tables["choice"].to_markdown(index=False, floatfmt=".3f") + "\n")
    if args.compare is not None:
        args.compare.write_text("# Rule comparison across the budget sweeps\n\nBuilt by `python scripts/summarise_sweep.py "
                                + " ".join(map(str, args.dirs)) + f" --compare {args.compare}` from each sweep's "
                                "stored tables.\n\n" + comparison(args.dirs))
        print(args.compare.read_text())


if __name__ == "__main__":
    main()
