"""Rebuild a budget sweep's tables and picture from its stored per-question scores (no model is loaded).

    .venv/bin/python scripts/summarise_sweep.py results/sweep/ioi [more sweep directories]

Reads ``sweep_scores.csv`` in each directory, writes ``sweep_summary.csv``, ``sweep_crossover.csv``,
``sweep_overview.csv``, ``sweep_choice.csv`` (with validation scores) and ``sweep.png`` beside it, and prints
the overview (mean test accuracy over the keep levels; levels significantly better/worse than LASSO and
Best-of-N at the same budget) and the rule chosen on the validation split.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from headspex.prune.sweep import write_tables


def main(dirs: list[str]) -> None:
    for d in map(Path, dirs):
        tables = write_tables(pd.read_csv(d / "sweep_scores.csv"), d)
        print(f"## {d}\n\n" + tables["overview"].to_markdown(index=False, floatfmt=".3f") + "\n")
        if len(tables["choice"]):
            print("chosen on the validation split:\n\n" + tables["choice"].to_markdown(index=False, floatfmt=".3f") + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
