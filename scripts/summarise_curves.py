"""Print the README's summary of a curve folder: AUC with its interval, the paired difference to ProxySPEX,
the prunable fraction within 1 and 5 points, and the cost in passes per training question.

    python scripts/summarise_curves.py results/curves/facts
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def summary(folder: Path) -> pd.DataFrame:
    auc, prunable, cost = (pd.read_csv(folder / f"{n}.csv") for n in ("auc", "prunable", "cost"))
    table = auc.merge(prunable, on="method").merge(cost, on="method", how="left")
    fmt = lambda a, lo, hi: "" if pd.isna(a) else (f"{a:+.3f} [{lo:+.3f}, {hi:+.3f}]" if not pd.isna(lo) else f"{a:.3f}")  # noqa: E731
    return pd.DataFrame({
        "method": table.method,
        "AUC [95% CI]": [f"{a:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if not pd.isna(lo) else "")
                         for a, lo, hi in zip(table.auc, table.low, table.high)],
        "minus proxyspex": [fmt(a, lo, hi) for a, lo, hi in zip(table.get("diff_vs_ref"), table.get("diff_low"),
                                                                 table.get("diff_high"))],
        "removable <=1 pt": table.removable_within_1pt.map("{:.0%}".format),
        "removable <=5 pt": table.removable_within_5pt.map("{:.0%}".format),
        "forward / question": table.forward_per_question.map(lambda v: "" if pd.isna(v) else f"{v:g}"),
        "backward / question": (table.backward_passes / (table.forward_passes / table.forward_per_question)).map(
            lambda v: "" if pd.isna(v) else f"{v:g}"),
    })


if __name__ == "__main__":
    print(summary(Path(sys.argv[1])).to_markdown(index=False))
