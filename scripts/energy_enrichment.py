"""Within-layer enrichment of the proxy's spectral energy, refitted from a study's committed value stores.

For every task folder given (``python -m headspex.prune`` output: ``config.json``, ``layers-*/train-<dtype>/``,
``seed-*/``), every range and every seed: regenerate that seed's training masks, read their values from the
store (no model), refit the proxy exactly as the study did (its search settings and seed) with ``refine=True``,
and compute :func:`headspex.spectrum.enrichment.layer_enrichment` of the raw and the refined spectrum. The
shares are checked against what the study itself recorded for the seed (``seed-N/results.pkl`` of older runs
or ``seed-N/energy.csv``).

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python scripts/energy_enrichment.py results/smollm2-study/{ioi,induction,facts} \\
        --out results/energy/study-11layers

Writes into ``--out``: ``enrichment_seeds.csv`` (one row per task x range x seed x spectrum),
``enrichment_summary.csv`` / ``.md`` (means over seeds, per-seed p-values and a pooled p-value),
``verify.csv`` (refit vs each seed's recorded shares), ``verify_pooled.csv`` (mean over seeds vs the run's
``energy.csv``) and ``null_samples.npz``.

The pooled p-value: every seed of a range is shuffled with the same label permutations (same ``--perm-seed``,
same players), so the mean over seeds of the permuted within shares is the null of the mean over seeds of the
observed within share; p = (#{null mean >= observed mean} + 1) / (N + 1).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from headspex.engine.store import load_store, mask_key  # noqa: E402
from headspex.experiments.energy import energy_enrichment  # noqa: E402
from headspex.players import format_layer_range  # noqa: E402
from headspex.records.energy import SHARES
from headspex.selection.context import training_masks  # noqa: E402
from headspex.spectrum.proxy import Proxy  # noqa: E402
from headspex.spectrum.proxy_search import ProxySearch  # noqa: E402

PAPER = {"initial": (80.0, 8.0, 12.0), "middle": (67.0, 23.0, 10.0), "final": (51.0, 39.0, 10.0)}
PAPER_RANGES = {"initial": "1-3", "middle": "14-16", "final": "30-32"}


# ---------------------------------------------------------------- what the study recorded for each seed
class _Loose:
    """Stands in for any headspex class of an older pickle: keeps its state as attributes."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        self.__dict__.update(state if isinstance(state, dict) else {"state": state})


class _LooseUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module.startswith("headspex"):
            return _Loose
        return super().find_class(module, name)


def recorded_shares(task_dir: Path, seed: int) -> dict[tuple[str, str], dict[str, float]]:
    """``{(range label, "raw"|"refined"): {share: %}}`` as the study recorded them for ``seed`` (empty if none)."""
    seed_dir = task_dir / f"seed-{seed}"
    out: dict[tuple[str, str], dict[str, float]] = {}
    if (seed_dir / "energy.csv").is_file():
        table = pd.read_csv(seed_dir / "energy.csv")
        for (label, kind), g in table.groupby(["range", "spectrum"]):
            out[(str(label), str(kind))] = dict(zip(g["share"], g["estimate"].astype(float)))
        return out
    if (seed_dir / "results.pkl").is_file():
        with open(seed_dir / "results.pkl", "rb") as fh:
            result = _LooseUnpickler(fh).load()
        for r in result.ranges:
            if getattr(r, "energy", None) is None:
                continue
            for kind in ("raw", "refined"):
                table = getattr(r.energy, kind)
                out[(format_layer_range(r.layers), kind)] = {n: float(table[n].estimate) for n in SHARES}
    return out


# ---------------------------------------------------------------- the refit
def study_setup(task_dir: Path) -> dict:
    config = json.loads((task_dir / "config.json").read_text())
    study, args = config["study"], config["arguments"]
    first = int(args.get("seed", 0))
    return dict(task=config["task"], ranges=[tuple(r) for r in study["ranges"]], budget=int(study["budget"]),
                sampling=study["sampling"], keep=tuple(float(k) for k in study["keep"]), metric=study["metric"],
                seeds=list(range(first, first + int(args.get("seeds") or 1))), dtype=config["dtype"],
                search=ProxySearch(**{k: (tuple(v) if isinstance(v, list) else v)
                                      for k, v in config.get("proxy_search", {}).items()}),
                commit=config.get("commit"), command=config.get("command"))


def training_data(store, setup: dict, n_players: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    masks = training_masks(setup["sampling"], setup["budget"], n_players, setup["keep"], seed)
    values = []
    for m in masks:
        rec = store.get(mask_key(m))
        if rec is None:
            raise SystemExit(f"{store.path}: a training mask of seed {seed} is not in the store "
                             f"(sampling or budget differ from the run's?)")
        values.append(rec[setup["metric"]])
    return masks, np.asarray(values, dtype=np.float64)


def top_terms(spectrum, players, top: int = 3) -> dict:
    """The ``top`` largest interaction terms (order >= 2): labels, share of the interaction energy, within a layer."""
    inter = [(sup, c * c) for sup, c in spectrum if len(sup) >= 2]
    total = sum(e for _, e in inter)
    inter.sort(key=lambda t: -t[1])
    cells = []
    for sup, e in inter[:top]:
        layers = {players[i][0] for i in sup}
        cells.append("*".join(f"L{players[i][0]}H{players[i][1]}" for i in sup)
                     + f" {100 * e / total:.0f}%{' (within)' if len(layers) == 1 else ''}")
    return {"top_interactions": "; ".join(cells)}


def analyse_task(task_dir: Path, *, n_perm: int, perm_seed: int, log) -> tuple[list[dict], dict, list[dict]]:
    setup = study_setup(task_dir)
    rows, nulls, verify = [], {}, []
    for layers in setup["ranges"]:
        label = format_layer_range(layers)
        store = load_store(task_dir / f"layers-{label}" / f"train-{setup['dtype']}")
        stored = store.config["identity"]["players"]
        players = [tuple(p) for p in (json.loads(stored) if isinstance(stored, str) else stored)]
        for seed in setup["seeds"]:
            t0 = time.perf_counter()
            masks, values = training_data(store, setup, len(players), seed)
            proxy = Proxy(setup["search"], seed=seed, refine=True, players=players).fit(masks, values)
            fit_s = time.perf_counter() - t0
            result = energy_enrichment(proxy, masks, values, players, n_perm=n_perm, seed=perm_seed)
            spectra = {"raw": proxy.spectrum(), "refined": proxy.refinement_.spectrum}
            recorded = recorded_shares(task_dir, seed)
            for kind, res in result.items():
                row = dict(task=setup["task"], range=label, seed=seed, spectrum=kind, metric=setup["metric"],
                           value_mean=float(values.mean()), value_sd=float(values.std()), cv_r2=proxy.cv_r2_,
                           depth=proxy.params_.get("depth"), n_trees=proxy.params_.get("n_trees"),
                           n_terms=len(proxy.spectrum()) if kind == "raw" else len(proxy.refinement_.spectrum),
                           fit_seconds=fit_s) | res.to_dataframe().iloc[0].to_dict() | top_terms(spectra[kind], players)
                rows.append(row)
                nulls[(setup["task"], label, seed, kind)] = res.null_samples
                rec = recorded.get((label, kind))
                if rec is not None:
                    mine = {"linear": 100 * res.linear, "within_layer": 100 * res.within_layer,
                            "across_layer": 100 * res.across_layer}
                    verify.append(dict(task=setup["task"], range=label, seed=seed, spectrum=kind,
                                       **{f"{n}_recorded": rec[n] for n in SHARES},
                                       **{f"{n}_refit": mine[n] for n in SHARES},
                                       max_abs_diff=max(abs(rec[n] - mine[n]) for n in SHARES)))
            log(f"{setup['task']} {label} seed {seed}: cv R2 {proxy.cv_r2_:.3f}, fit {fit_s:.0f}s; "
                + "; ".join(f"{k} {100 * r.linear:.1f}/{100 * r.within_layer:.1f}/{100 * r.across_layer:.1f} "
                            f"enr {r.enrichment:.2f} p {r.p_value:.3f}" for k, r in result.items()))
    return rows, nulls, verify


# ---------------------------------------------------------------- the summary
def position(label: str, n_layers_model: int = 30) -> str:
    first, last = (int(x) for x in label.split("-"))
    if first == 1:
        return "initial"
    if last == n_layers_model:
        return "final"
    return "middle"


def summarise(seeds: pd.DataFrame, nulls: dict) -> pd.DataFrame:
    out = []
    for (task, label, kind), g in seeds.groupby(["task", "range", "spectrum"], sort=False):
        null = np.mean([nulls[(task, label, s, kind)] for s in g["seed"]], axis=0)
        obs = float(g["within_of_interactions"].mean())
        pooled = (np.count_nonzero(null >= obs - 1e-12) + 1) / (null.size + 1) if null.size else np.nan
        pooled_low = (np.count_nonzero(null <= obs + 1e-12) + 1) / (null.size + 1) if null.size else np.nan
        paper = PAPER[position(label)]
        out.append(dict(
            task=task, range=label, spectrum=kind, n_seeds=len(g), cv_r2=g["cv_r2"].mean(),
            value_mean=g["value_mean"].mean(), value_sd=g["value_sd"].mean(),
            n_players=int(g["n_players"].iloc[0]), n_layers=int(g["n_layers"].iloc[0]),
            linear=100 * g["linear"].mean(), within_layer=100 * g["within_layer"].mean(),
            across_layer=100 * g["across_layer"].mean(),
            within_layer_sd=100 * g["within_layer"].std(ddof=1) if len(g) > 1 else np.nan,
            within_of_interactions=100 * obs,
            effective_interaction_terms=g["effective_interaction_terms"].mean(), pair_share=100 * g["pair_share"].iloc[0],
            null_energy_share=100 * g["null_energy_share"].mean(),
            enrichment=g["enrichment"].mean(), enrichment_min=g["enrichment"].min(),
            enrichment_max=g["enrichment"].max(), enrichment_vs_null=g["enrichment_vs_null"].mean(),
            pair_enrichment=g["pair_enrichment"].mean(),
            p_values=" ".join(f"{p:.3f}" for p in g["p_value"]), pooled_p=pooled,
            p_values_low=" ".join(f"{p:.3f}" for p in g["p_value_low"]), pooled_p_low=pooled_low,
            null_mean=100 * float(null.mean()) if null.size else np.nan,
            null_low=100 * float(np.quantile(null, 0.025)) if null.size else np.nan,
            null_high=100 * float(np.quantile(null, 0.975)) if null.size else np.nan,
            pair_p_values=" ".join(f"{p:.3f}" for p in g["pair_p_value"]),
            paper_range=PAPER_RANGES[position(label)], paper="/".join(f"{x:.0f}" for x in paper),
            paper_enrichment=(paper[1] / (paper[1] + paper[2])) / (3 * 496 / 4560)))
    return pd.DataFrame(out)


def markdown(summary: pd.DataFrame) -> str:
    lines = []
    for task, g in summary.groupby("task", sort=False):
        lines += [f"### {task}", "",
                  "| range | spectrum | CV R² | linear / within / across % | within % of interactions "
                  "[null 95%] | eff. terms | within pair share % | enrichment (seeds' range) | vs exact null | "
                  "p per seed (enriched) | pooled p enriched / depleted | paper (1-based) | paper enrichment |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in g.itertuples():
            lines.append(
                f"| {r.range} | {r.spectrum} | {r.cv_r2:.2f} | {r.linear:.1f} / {r.within_layer:.1f} / "
                f"{r.across_layer:.1f} | {r.within_of_interactions:.1f} [{r.null_low:.1f}, {r.null_high:.1f}] | {r.effective_interaction_terms:.0f} | "
                f"{r.pair_share:.1f} | {r.enrichment:.2f} ({r.enrichment_min:.2f}-{r.enrichment_max:.2f}) | "
                f"{r.enrichment_vs_null:.2f} | {r.p_values} | {r.pooled_p:.3f} / {r.pooled_p_low:.3f} | "
                f"{r.paper_range}: {r.paper} | {r.paper_enrichment:.2f} |")
        lines.append("")
    return "\n".join(lines)


def verify_pooled(task_dirs: list[Path], summary: pd.DataFrame) -> pd.DataFrame:
    """The run's own ``energy.csv`` (mean over seeds of each seed's shares) against the refits' means."""
    rows = []
    for task_dir in task_dirs:
        path = task_dir / "energy.csv"
        if not path.is_file():
            continue
        task = json.loads((task_dir / "config.json").read_text())["task"]
        for r in pd.read_csv(path).itertuples():
            mine = summary[(summary["task"] == task) & (summary["range"] == str(r.layers))
                           & (summary["spectrum"] == r.spectrum)]
            if mine.empty:
                continue
            rows.append(dict(task=task, range=r.layers, spectrum=r.spectrum,
                             **{f"{n}_committed": getattr(r, n) for n in SHARES},
                             **{f"{n}_refit": float(mine[n].iloc[0]) for n in SHARES},
                             max_abs_diff=max(abs(getattr(r, n) - float(mine[n].iloc[0])) for n in SHARES)))
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", nargs="+", type=Path, help="task folders of a prune run (config.json, layers-*, seed-*)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-perm", type=int, default=999)
    ap.add_argument("--perm-seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, nulls, verify = [], {}, []
    for task_dir in args.tasks:
        r, n, v = analyse_task(task_dir, n_perm=args.n_perm, perm_seed=args.perm_seed,
                               log=lambda s: print(s, flush=True))
        rows += r
        nulls.update(n)
        verify += v
    seeds = pd.DataFrame(rows)
    summary = summarise(seeds, nulls)
    seeds.to_csv(args.out / "enrichment_seeds.csv", index=False)
    summary.to_csv(args.out / "enrichment_summary.csv", index=False)
    (args.out / "enrichment_summary.md").write_text(markdown(summary))
    pd.DataFrame(verify).to_csv(args.out / "verify.csv", index=False)
    pooled = verify_pooled(args.tasks, summary)
    pooled.to_csv(args.out / "verify_pooled.csv", index=False)
    if not pooled.empty:
        print(f"refit means vs the run's energy.csv, largest |difference|: {pooled['max_abs_diff'].max():.3g} pp")
    np.savez_compressed(args.out / "null_samples.npz",
                        **{"|".join(map(str, k)): v.astype(np.float32) for k, v in nulls.items()})
    if verify:
        worst = pd.DataFrame(verify).groupby("spectrum")["max_abs_diff"].max()
        print("refit vs recorded shares, largest |difference| (percentage points): "
              + ", ".join(f"{k} {v:.3g}" for k, v in worst.items()))
    print(markdown(summary))
    print(f"done in {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
