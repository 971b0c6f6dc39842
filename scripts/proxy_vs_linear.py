"""Why ProxySPEX ties LASSO: does the tree proxy rank unseen k-head sets better than the linear fit?

For every budget sweep given (``python -m headspex.prune --budget-sweep ...`` output), every range, seed and
budget b: the first b training masks of the seed's stream and their stored values (no model run), the proxy
refitted exactly as the sweep did (CatBoost search, ``refine=True``, the seed) and LASSO beside it. Both are
scored on masks neither saw that keep exactly k heads: Best-of-N's random k-head candidates of the largest
budget, whose true training values the sweep stored (the few that are also training masks are dropped).
Per (task, range, seed, budget, level):

- ``r2_*``: R^2 of the predictions on the held-out k-head masks;
- ``spearman_*``: rank correlation with the true values (selection ranks sets, so this is what matters);
- ``top10_*``: mean true value of the 10 held-out masks each predictor ranks best (what picking by it gets);
- ``resid_cv_r2``: the cross-validated R^2 of the same CatBoost search fitted to LASSO's residuals on the
  training masks: how much of what the linear fit misses the trees can learn at this budget (about 0: none).

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python scripts/proxy_vs_linear.py results/sweep/ioi ... --stores /tmp/sweeps \\
        --out results/sweep/proxy_vs_linear

``--stores``: where the sweeps' value stores are, when the result folders do not hold them (``<stores>/<task>``).
Writes ``proxy_vs_linear.csv`` (one row per cell) and ``proxy_vs_linear.md`` (means over seeds and levels, and
the budget where the proxy's ranking would match LASSO's, extrapolated); ``--from-csv`` rebuilds the latter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from energy_enrichment import study_setup  # noqa: E402
from headspex.engine.sampling import sample_k_masks  # noqa: E402
from headspex.engine.store import load_store, mask_key  # noqa: E402
from headspex.experiments.sweep import parse_budgets  # noqa: E402
from headspex.players import format_layer_range  # noqa: E402
from headspex.selection.context import training_masks  # noqa: E402
from headspex.spectrum.proxy import Proxy  # noqa: E402
from headspex.spectrum.surrogates import fit_lasso  # noqa: E402

TOP = 10


def stored_values(store, masks: np.ndarray, metric: str) -> np.ndarray:
    """The stored ``metric`` of each mask (NaN where the store lacks it)."""
    recs = [store.get(mask_key(m)) for m in masks]
    return np.array([np.nan if r is None else r[metric] for r in recs], dtype=np.float64)


def scores(pred: np.ndarray, true: np.ndarray) -> dict:
    resid, spread = np.sum((true - pred) ** 2), np.sum((true - true.mean()) ** 2)
    top = np.argsort(-pred, kind="stable")[:TOP]
    return {"r2": 1.0 - resid / spread, "spearman": float(spearmanr(pred, true).statistic),
            "top10": float(true[top].mean())}


def analyse_range(sweep: Path, store_dir: Path, setup: dict, budgets_text: str, layers: tuple, log) -> list[dict]:
    label = format_layer_range(layers)
    store = load_store(store_dir / f"layers-{label}" / f"train-{setup['dtype']}")
    stored = store.config["identity"]["players"]
    players = [tuple(p) for p in (json.loads(stored) if isinstance(stored, str) else stored)]
    n, rows = len(players), []
    budgets = parse_budgets(budgets_text, n)
    levels = {keep: int(round(keep * n)) for keep in setup["keep"]}
    for seed in setup["seeds"]:
        per_level = max(budgets) // len(levels)  # Best-of-N's candidates per level at the largest budget
        held = {keep: sample_k_masks(per_level, n, k, seed=seed + 1) for keep, k in levels.items()}
        for budget in budgets:
            t0 = time.perf_counter()
            masks = training_masks(setup["sampling"], budget, n, setup["keep"], seed)
            values = stored_values(store, masks, setup["metric"])
            if np.isnan(values).any():
                raise SystemExit(f"{store.path}: {int(np.isnan(values).sum())} training masks of seed {seed} at "
                                 f"budget {budget} are not stored (sampling or budgets differ from the sweep's?)")
            proxy = Proxy(setup["search"], seed=seed, refine=True, players=players).fit(masks, values)
            spectrum = proxy.refinement_.spectrum if proxy.refinement_ is not None else proxy.spectrum()
            lasso = fit_lasso(masks, values, seed=seed)
            residual = Proxy(setup["search"], seed=seed, players=players).fit(masks, values - lasso.predict(masks))
            seen = {mask_key(m) for m in masks}
            for keep, cand in held.items():
                cand = cand[[mask_key(m) not in seen for m in cand]]
                true = stored_values(store, cand, setup["metric"])
                cand, true = cand[~np.isnan(true)], true[~np.isnan(true)]
                row = dict(task=setup["task"], layers=label, seed=seed, budget=budget, keep=keep, k=levels[keep],
                           n_heldout=len(true), cv_r2=proxy.cv_r2_, resid_cv_r2=residual.cv_r2_)
                for name, pred in (("proxy", spectrum.predict(cand)), ("lasso", lasso.predict(cand))):
                    row |= {f"{metric}_{name}": v for metric, v in scores(np.asarray(pred, float), true).items()}
                row["top10_best"] = float(np.sort(true)[-TOP:].mean())
                rows.append(row)
            log(f"{sweep.name} {label} seed {seed} budget {budget}: {time.perf_counter() - t0:.1f} s")
    return rows


def summary(table: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in table.columns if c.split("_")[0] in ("r2", "spearman", "top10")]
    out = table.groupby(["task", "layers", "budget"], sort=False)[["cv_r2", "resid_cv_r2", *cols]].mean().reset_index()
    out["spearman_gap"] = out["spearman_proxy"] - out["spearman_lasso"]
    out["top10_gap"] = out["top10_proxy"] - out["top10_lasso"]
    return out


def crossing(summary_table: pd.DataFrame, gap: str = "spearman_gap") -> pd.DataFrame:
    """Per (task, layers): least squares of ``gap`` on log2(budget) and the budget where the line reaches 0
    (the proxy ranking as well as LASSO), when the gap is negative and closing; else no crossing."""
    rows = []
    for (task, layers), g in summary_table.groupby(["task", "layers"], sort=False):
        x, y = np.log2(g["budget"].to_numpy(float)), g[gap].to_numpy(float)
        slope, intercept = np.polyfit(x, y, 1)
        at = 2 ** (-intercept / slope) if slope > 0 and y[-1] < 0 else np.nan
        rows.append(dict(task=task, layers=layers, gap=gap, per_doubling=slope, at_largest=y[-1],
                         predicted_crossing_budget=round(at) if np.isfinite(at) else "none (not closing)"))
    return pd.DataFrame(rows)


def write(table: pd.DataFrame, out: Path, command: str) -> str:
    """``proxy_vs_linear.md``: the means and the predicted crossing budgets."""
    means = summary(table)
    text = (means.to_markdown(index=False, floatfmt=".3f") + "\n\nWhere the proxy would rank unseen k-head sets as "
            "well as LASSO, extrapolating the gap linearly in log2(budget) (a guess from three budgets):\n\n"
            + pd.concat([crossing(means), crossing(means, "top10_gap")]).to_markdown(index=False, floatfmt=".3f"))
    (out / "proxy_vs_linear.md").write_text("# Tree proxy vs LASSO on unseen k-head masks (means over seeds and keep "
                                            f"levels)\n\nCommand: `{command}`\n\n{text}\n")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweeps", nargs="+", type=Path)
    parser.add_argument("--stores", type=Path, default=None, help="folder holding <task>/layers-*/ value stores")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--from-csv", action="store_true", help="rebuild the summary from --out's stored CSV")
    args = parser.parse_args(argv)
    command = f"python scripts/proxy_vs_linear.py {' '.join(sys.argv[1:])}"
    if args.from_csv:
        print(write(pd.read_csv(args.out / "proxy_vs_linear.csv"), args.out, command))
        return 0
    rows = []
    for sweep in args.sweeps:
        config = json.loads((sweep / "config.json").read_text())
        setup = study_setup(sweep)
        store_dir = sweep if args.stores is None else args.stores / sweep.name
        for layers in setup["ranges"]:
            rows += analyse_range(sweep, store_dir, setup, config["arguments"]["budget_sweep"], layers, print)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "proxy_vs_linear.csv", index=False)
    print(write(table, args.out, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
