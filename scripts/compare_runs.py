"""Compare the tables of two ``python -m headspex.prune`` output directories (same seed and arguments).

    python scripts/compare_runs.py RUN_A RUN_B [--atol 1e-9]

Every CSV that both runs wrote (accuracy, energy, per-head tables) must have the same rows and
columns, equal text cells and numbers equal within ``--atol``. Columns that hold wall-clock times are
ignored. Exit status 0 when they agree, 1 with a list of differences otherwise. Used to check that a
refactor changes nothing a user sees.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

TIMING_COLUMNS = {"seconds", "fit_seconds", "wall_seconds"}


def compare_tables(a: pd.DataFrame, b: pd.DataFrame, atol: float) -> list[str]:
    """Differences between two tables, as readable lines (empty when they agree)."""
    a, b = (t.drop(columns=[c for c in t.columns if c in TIMING_COLUMNS]) for t in (a, b))
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {list(a.columns)} vs {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{len(a)} rows vs {len(b)} rows"]
    out = []
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if pd.api.types.is_numeric_dtype(a[col]) and pd.api.types.is_numeric_dtype(b[col]):
            bad = ~np.isclose(x.astype(float), y.astype(float), rtol=0, atol=atol, equal_nan=True)
        else:
            bad = x.astype(str) != y.astype(str)
        out += [f"row {i}, {col}: {x[i]} vs {y[i]}" for i in np.flatnonzero(bad)[:5]]
    return out


def compare_runs(run_a: Path, run_b: Path, atol: float = 1e-9) -> dict[str, list[str]]:
    """{csv name: differences} for every CSV present in both runs (a missing file is a difference)."""
    names = sorted({p.name for p in run_a.glob("*.csv")} | {p.name for p in run_b.glob("*.csv")})
    result = {}
    for name in names:
        pa, pb = run_a / name, run_b / name
        if not (pa.is_file() and pb.is_file()):
            result[name] = [f"only in {run_a if pa.is_file() else run_b}"]
            continue
        result[name] = compare_tables(pd.read_csv(pa), pd.read_csv(pb), atol)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--atol", type=float, default=1e-9, help="absolute tolerance on numbers")
    args = parser.parse_args(argv)
    diffs = compare_runs(args.run_a, args.run_b, args.atol)
    for name, lines in diffs.items():
        print(f"{name}: {'same' if not lines else f'{len(lines)} difference(s)'}")
        for line in lines:
            print(f"  {line}")
    return 0 if not any(diffs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
