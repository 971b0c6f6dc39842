"""Benchmark: headspex's proxy fit + exact spectrum against shapiq's ProxySPEX, on identical data.

    python -m benchmarks.proxy [--quick] [--json PATH] [--store DIR [--metric logprob]] [--threads 1]

For each data set and training size both methods see exactly the same training masks and values
and are scored on the same held-out masks (R^2 against the held-out values as measured, noise
included). Timed: headspex = ``fit_proxy`` (CV search + final fit) + ``spectrum()`` + ``refine(energy="auto")`` +
``to_moebius()``;
shapiq = ``ProxySPEX.approximate`` (LightGBM 5-fold grid of 8 configurations, tree extraction,
95%-energy ridge refinement, Moebius conversion). shapiq runs LightGBM with ``n_jobs=1``; headspex
uses ``--threads`` CatBoost threads (default 1, the same footing). ``speedup`` = shapiq seconds /
headspex seconds. ``headspex_r2`` is the raw proxy's, ``headspex_refined_r2`` the refined spectrum's
(timed; shapiq's output is always refined, at 95% energy). Planted games: sparse hierarchical interactions up to order 3, relative noise 0.1
(best achievable R^2 ~ 0.99). A stored engine value store (``--store``) is split at random into a
held-out 20% and training subsets of the requested sizes.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from headspex.spectrum.faithfulness import r2_score
from headspex.spectrum.proxy import fit_proxy
from headspex.spectrum.refine import refine
from headspex.spectrum.surrogates import fit_shapiq_proxyspex
from headspex.engine.sampling import sample_masks
from headspex.spectrum.synthetic import planted_game

FULL_SIZES = (500, 1000, 2000, 5000)
QUICK_SIZES = (500, 2000)
N_TEST = 2000


@dataclass(frozen=True)
class BenchRow:
    """One (data set, training size) comparison. Seconds are wall time; R^2 on held-out masks."""

    data: str
    players: int
    masks: int
    headspex_seconds: float
    headspex_r2: float
    headspex_refined_r2: float
    headspex_params: str
    shapiq_seconds: float
    shapiq_r2: float
    speedup: float


@dataclass
class BenchResult:
    """All rows plus the settings used."""

    rows: list[BenchRow] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def to_dataframe(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows])


def compare(
    data: str,
    masks: np.ndarray,
    values: np.ndarray,
    test_masks: np.ndarray,
    test_values: np.ndarray,
    *,
    seed: int = 0,
    thread_count: int = 1,
    run_shapiq: bool = True,
) -> BenchRow:
    """Fit both methods on ``(masks [n, p], values [n])``; score on the held-out pair."""
    t0 = time.perf_counter()
    proxy = fit_proxy(masks, values, seed=seed, thread_count=thread_count)
    spectrum = proxy.spectrum()
    refined = refine(spectrum, masks, values, energy="auto").spectrum  # LOO-chosen energy, as shapiq refines
    refined.to_moebius()
    hs_seconds = time.perf_counter() - t0
    hs_r2 = r2_score(test_values, spectrum.predict(test_masks))
    hs_refined = r2_score(test_values, refined.predict(test_masks))
    sh_seconds, sh_r2 = float("nan"), float("nan")
    if run_shapiq:
        t0 = time.perf_counter()
        sh = fit_shapiq_proxyspex(masks, values, seed=seed)
        sh_seconds = time.perf_counter() - t0
        sh_r2 = r2_score(test_values, sh.predict(test_masks))
    params = f"d{proxy.params.get('depth')} lr{proxy.params.get('learning_rate')} t{proxy.params.get('n_trees')}"
    return BenchRow(data, masks.shape[1], masks.shape[0], hs_seconds, hs_r2, hs_refined, params,
                    sh_seconds, sh_r2, sh_seconds / hs_seconds)


def planted_rows(players: int, sizes: Sequence[int], *, seed: int = 0, thread_count: int = 1,
                 run_shapiq: bool = True, verbose: bool = False) -> list[BenchRow]:
    """Rows for a planted game over ``players`` players (about players/8 top-level planted sets)."""
    game = planted_game(players, n_terms=max(4, players // 8), max_order=3, noise=0.1, seed=seed)
    test_masks = sample_masks(N_TEST, players, seed=seed + 1000)
    test_values = game(test_masks)
    rows = []
    for n in sizes:
        masks = sample_masks(n, players, seed=seed + n)
        row = compare(f"planted-{players}", masks, game(masks), test_masks, test_values,
                      seed=seed, thread_count=thread_count, run_shapiq=run_shapiq)
        if verbose:
            print(row, flush=True)
        rows.append(row)
    return rows


def store_rows(path: str, metric: str, sizes: Sequence[int], *, seed: int = 0, thread_count: int = 1,
               run_shapiq: bool = True, verbose: bool = False) -> list[BenchRow]:
    """Rows for a stored engine value store: random 20% held out, training subsets of ``sizes``."""
    from headspex.engine.store import load_store

    masks, values = load_store(path).arrays(metric)
    if masks.shape[0] < 50:
        raise ValueError(f"the store at {path} has only {masks.shape[0]} masks; need at least 50")
    order = np.random.default_rng(seed).permutation(masks.shape[0])
    n_test = max(10, masks.shape[0] // 5)
    test, pool = order[:n_test], order[n_test:]
    rows = []
    for n in [s for s in sizes if s <= len(pool)] or [len(pool)]:
        row = compare(f"store:{metric}", masks[pool[:n]], values[pool[:n]], masks[test], values[test],
                      seed=seed, thread_count=thread_count, run_shapiq=run_shapiq)
        if verbose:
            print(row, flush=True)
        rows.append(row)
    return rows


def _warm_up(*, run_shapiq: bool) -> None:
    """One untimed tiny fit of each method, so that library imports are not charged to the first row."""
    masks = sample_masks(60, 8, seed=0)
    values = masks.sum(axis=1).astype(np.float64) + 0.1 * masks[:, 0] * masks[:, 1]
    compare("warm-up", masks, values, masks, values, thread_count=1, run_shapiq=run_shapiq)


def main(argv: Sequence[str] | None = None) -> BenchResult:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="96 and 270 players at 500 and 2000 masks only")
    parser.add_argument("--json", help="write the table and settings to this JSON file")
    parser.add_argument("--store", help="also benchmark on this engine value store directory")
    parser.add_argument("--metric", default="logprob", help="store metric (accuracy, logprob, margin)")
    parser.add_argument("--players", default="96,270", help="comma-separated player counts of the planted games")
    parser.add_argument("--sizes", help="comma-separated training sizes (default 500,1000,2000,5000)")
    parser.add_argument("--threads", type=int, default=1, help="CatBoost threads for headspex (shapiq uses 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-shapiq", action="store_true", help="time headspex only")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else (QUICK_SIZES if args.quick else FULL_SIZES)
    kw = dict(seed=args.seed, thread_count=args.threads, run_shapiq=not args.no_shapiq, verbose=True)
    result = BenchResult(settings=dict(sizes=list(sizes), threads=args.threads, seed=args.seed, n_test=N_TEST,
                                       store=args.store, metric=args.metric, noise=0.1, max_order=3))
    _warm_up(run_shapiq=not args.no_shapiq)
    for p in (int(x) for x in args.players.split(",") if x):
        result.rows.extend(planted_rows(p, sizes, **kw))
    if args.store:
        result.rows.extend(store_rows(args.store, args.metric, sizes, **kw))
    df = result.to_dataframe()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.round(4).to_string(index=False))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(dict(settings=result.settings, rows=df.to_dict(orient="records")), fh, indent=2)
    return result


if __name__ == "__main__":
    main()
