"""Do the head pairs ProxySPEX ranks strongest interact when measured, as often as shapiq's at the same cost, and
which head roles do they join?

On one layer range of a model and a task's training split (the game ``f(mask)``, 1 = keep):

1. ProxySPEX: a proxy fitted on ``--budget`` uniform masks; its spectrum's order-2 k-SII; the top ``--pairs``.
2. shapiq (KernelSHAP-IQ by default) on the game itself with ``--budget`` evaluations: its top ``--pairs``.
3. ``--pairs`` pairs drawn uniformly at random (the null set).
4. Every pair of the three sets measured directly: ``E_b[v11 - v10 - v01 + v00]`` over ``--backgrounds`` random
   backgrounds (:func:`headspex.roles.pair_interactions`; its mean is ``4 F({i, j})``).
5. Per pair set and predictor: sign agreement (prediction x measured > 0) and Spearman rank correlation with the
   measured values; the role enrichment of each method's top pairs (:func:`headspex.roles.role_enrichment`, labels
   from ``head_roles``: ``--roles`` CSV, ``results/roles/<model>/roles.csv`` when present, else computed).

    OMP_NUM_THREADS=2 HF_HUB_OFFLINE=1 python scripts/roles_study.py --model smollm2 --task ioi --layers 15-20 \\
        --budget 200 --pairs 20 --backgrounds 16 --out runs/roles-study-ioi

Smoke run (random weights, tiny sizes; measures nothing): ``--model random:smollm2@2 --layers 1-2 --budget 24
--pairs 3 --backgrounds 2 --n-train 4 --n-perm 99 --smoke``. Writes to ``--out``: ``pairs_spectrum.csv``,
``pairs_shapiq.csv`` (every pair each method scores), ``measured.csv`` (one row per measured pair: its sets,
the measurement and both predictions), ``scores.csv``, ``enrichment.csv``, ``roles_used.csv``, ``values/`` (the
game's value store: a rerun with the same settings reuses it) and ``summary.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import headspex  # noqa: E402
import tasks  # noqa: E402
from headspex._cli import commit  # noqa: E402
from headspex.engine.random_models import is_random  # noqa: E402
from headspex.players import head_label, layer_players, parse_layer_ranges  # noqa: E402
from headspex.roles import pair_interactions, role_enrichment, role_pairs, shapiq_pairs, spectrum_pairs  # noqa: E402

SETS = ("spectrum_top", "shapiq_top", "random")
PREDICTORS = ("spectrum", "shapiq")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smollm2", help="alias, hub id, local directory or random:NAME (smoke only)")
    p.add_argument("--task", default="ioi", choices=["ioi", "induction"])
    p.add_argument("--layers", default="15-20", help="one 1-based inclusive layer range, e.g. 15-20")
    p.add_argument("--budget", type=int, default=200, help="game evaluations for the proxy, and for shapiq")
    p.add_argument("--pairs", type=int, default=20, help="top pairs per method, and random pairs")
    p.add_argument("--backgrounds", type=int, default=16, help="backgrounds per measured pair (4 evaluations each)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--metric", default="logprob", choices=["logprob", "margin", "accuracy"])
    p.add_argument("--approximator", default="kernelshapiq", choices=["kernelshapiq", "svarmiq"])
    p.add_argument("--roles", type=Path, default=None, help="roles.csv (label, layer_1based, head, scores)")
    p.add_argument("--threshold", type=float, default=0.3, help="top role score a head needs for a role")
    p.add_argument("--n-perm", type=int, default=999)
    p.add_argument("--n-train", type=int, default=None, help="training questions (default: all of the split)")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--smoke", action="store_true", help="tiny head_roles protocol when roles are computed")
    return p.parse_args(argv)


def load_roles(args: argparse.Namespace, model, out: Path) -> tuple[pd.DataFrame, str]:
    """(roles with a 0-based ``layer``, where they came from)."""
    path = args.roles
    default = ROOT / "results" / "roles" / args.model / "roles.csv"
    if path is None and not is_random(model) and default.exists():
        path = default
    if path is not None:
        frame = pd.read_csv(path)
        return frame.assign(layer=frame["layer_1based"] - 1), str(path)
    sizes = dict(n_sequences=4, seq_len=8, n_ioi=4, batch_size=4) if args.smoke else {}
    frame = headspex.head_roles(model, seed=args.seed, **sizes)
    frame.assign(label=[head_label(r.layer, r.head) for r in frame.itertuples()], layer_1based=frame["layer"] + 1) \
        .drop(columns="layer").to_csv(out / "roles_computed.csv", index=False)
    sizes = {k: v for k, v in frame.attrs["protocol"].items() if k not in ("scores", "attention")}
    return frame, f"computed here (head_roles, {sizes}), written to roles_computed.csv"


def random_pairs(n: int, k: int, seed: int) -> list[tuple[int, int]]:
    """``k`` distinct pairs ``i < j`` of ``n`` players, uniform without replacement."""
    i, j = np.triu_indices(n, 1)
    pick = np.random.default_rng([seed, 3]).choice(len(i), size=min(k, len(i)), replace=False)
    return [(int(i[p]), int(j[p])) for p in sorted(pick)]


def top_pairs(frame: pd.DataFrame, k: int) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in zip(frame["i"].iloc[:k], frame["j"].iloc[:k])]


def lookup(frame: pd.DataFrame, pairs: list[tuple[int, int]]) -> np.ndarray:
    """Each pair's value in ``frame`` (0 where the frame has no row: a spectrum without the pair)."""
    table = {(int(a), int(b)): v for a, b, v in zip(frame["i"], frame["j"], frame["value"])}
    return np.array([table.get(p, 0.0) for p in pairs], dtype=np.float64)


def scores(measured: pd.DataFrame) -> pd.DataFrame:
    """Per pair set and predictor: n, sign agreement, Spearman (and p), mean |measured|, CI excluding 0."""
    rows = []
    for name in SETS:
        part = measured[measured[name]]
        for pred in PREDICTORS:
            x, y = part[f"{pred}_value"].to_numpy(), part["measured"].to_numpy()
            rho = p = np.nan
            if len(part) >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0:
                result = spearmanr(x, y)
                rho, p = float(result.statistic), float(result.pvalue)
            rows.append(dict(pair_set=name, predictor=pred, n_pairs=len(part),
                             sign_agreement=float(np.mean(x * y > 0)) if len(part) else np.nan,
                             spearman=rho, spearman_p=p, mean_abs_measured=float(np.abs(y).mean()),
                             ci_excludes_zero=float(np.mean((part["ci_low"] > 0) | (part["ci_high"] < 0)))))
    return pd.DataFrame(rows)


def labelled(frame: pd.DataFrame, players) -> pd.DataFrame:
    """``frame`` with ``label`` (``L{layer}H{head}``, 1-based layers) per pair."""
    names = [head_label(*p) for p in players]
    return frame.assign(label=[f"{names[a]}*{names[b]}" for a, b in zip(frame["i"], frame["j"])])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, t0 = datetime.now(timezone.utc), time.perf_counter()
    command = "python scripts/roles_study.py " + " ".join(sys.argv[1:] if argv is None else argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    model = headspex.load_model(args.model, dtype=args.dtype)
    ranges = parse_layer_ranges(args.layers, model.n_layers, model.n_heads)
    if len(ranges) != 1:
        raise SystemExit(f"--layers must be one range; got {args.layers!r}")
    players = layer_players(ranges[0], model.n_heads)
    n = len(players)
    task = tasks.load(args.task, seed=args.seed, tokenizer=model.tokenizer, n_train=args.n_train)
    roles, roles_source = load_roles(args, model, out)
    labels = role_pairs(roles, players, threshold=args.threshold)
    pd.DataFrame({"label": [head_label(*p) for p in players], "layer_1based": [p[0] + 1 for p in players],
                  "head": [p[1] for p in players], "role": [labels[i] for i in range(n)]}) \
        .to_csv(out / "roles_used.csv", index=False)

    with headspex.MaskGame(model, task, players, split="train", metric=args.metric, store=out / "values") as game:
        masks = headspex.sample_masks(args.budget, n, seed=args.seed)
        proxy = headspex.Proxy(players=players, seed=args.seed).fit(masks, game(masks))
        spec = spectrum_pairs(proxy.spectrum(), players)
        peer = shapiq_pairs(game, budget=args.budget, approximator=args.approximator, seed=args.seed)
        sets = {"spectrum_top": top_pairs(spec, args.pairs), "shapiq_top": top_pairs(peer, args.pairs),
                "random": random_pairs(n, args.pairs, args.seed)}
        union = sorted(set().union(*sets.values()))
        measured = pair_interactions(game, union, n_backgrounds=args.backgrounds, seed=args.seed)
    table = measured.to_dataframe()[["i", "j", "interaction", "ci_low", "ci_high", "n_backgrounds"]]
    table = labelled(table.rename(columns={"interaction": "measured"}), players)
    for name, pairs in sets.items():
        table[name] = [p in set(pairs) for p in union]
    table["spectrum_value"], table["shapiq_value"] = lookup(spec, union), lookup(peer, union)
    scored = scores(table)
    enrich = pd.concat([role_enrichment(frame, labels, players, top=args.pairs, n_perm=args.n_perm, seed=args.seed)
                        .assign(method=name) for name, frame in (("spectrum", spec), ("shapiq", peer))])

    labelled(spec, players).to_csv(out / "pairs_spectrum.csv", index=False)
    labelled(peer, players).to_csv(out / "pairs_shapiq.csv", index=False)
    table.to_csv(out / "measured.csv", index=False)
    scored.to_csv(out / "scores.csv", index=False)
    enrich.to_csv(out / "enrichment.csv", index=False)
    facts = dict(command=command, commit=commit(), started=started.isoformat(timespec="seconds"),
                 seconds=time.perf_counter() - t0, model=model.name, random=is_random(model), dtype=str(model.dtype),
                 layers=args.layers, n_players=n, task=args.task, n_train=len(task.split("train")),
                 roles_source=roles_source, cv_r2=proxy.cv_r2_, shapiq_evaluations=peer.attrs["evaluations"],
                 measure_evaluations=measured.evaluations * len(union), overlap=len(set(sets["spectrum_top"])
                                                                                   & set(sets["shapiq_top"])))
    (out / "summary.md").write_text(summary(args, facts, scored, enrich, labels))
    print((out / "summary.md").read_text())
    return 0


def summary(args: argparse.Namespace, f: dict, scored: pd.DataFrame, enrich: pd.DataFrame, labels: dict) -> str:
    counts = pd.Series(list(labels.values())).value_counts()
    warn = "\n**Random weights: a smoke run of the script; these numbers measure nothing.**\n" if f["random"] else ""
    cols = ["kind", "observed", "positive", "negative", "null_mean", "null_high", "enrichment", "p_value"]
    parts = [f"# Roles study: {f['model']}, {args.task}, layers {args.layers} (1-based)\n{warn}",
             f"- command: `{f['command']}`", f"- commit: `{f['commit']}`",
             f"- started (UTC): {f['started']}; took {f['seconds']:.0f} s",
             f"- game: {f['n_players']} heads, metric {args.metric}, train split of {f['n_train']} questions, "
             f"dtype {f['dtype']}, seed {args.seed}",
             f"- ProxySPEX: proxy on {args.budget} uniform masks (cv R^2 {f['cv_r2']:.3f}), order-2 k-SII of its "
             "spectrum",
             f"- shapiq: {args.approximator}, k-SII order 2, {f['shapiq_evaluations']} game evaluations",
             f"- measured: {args.backgrounds} backgrounds per pair, {f['measure_evaluations']} evaluations in all; "
             f"top-{args.pairs} sets share {f['overlap']} pairs",
             f"- roles: {f['roles_source']}; threshold {args.threshold}; heads per role: "
             + ", ".join(f"{r} {c}" for r, c in counts.items()),
             "\n## Predictions against the measured pair interactions\n",
             "Sign agreement: share of pairs with prediction x measured > 0. Spearman: rank correlation over the "
             "set's pairs (NaN with fewer than 2 pairs or a constant column). A pair the spectrum lacks is "
             "predicted 0 (no sign). ci_excludes_zero: share of pairs whose "
             "95% t interval over backgrounds excludes 0.\n",
             scored.to_markdown(index=False, floatfmt=".3f")]
    for method in PREDICTORS:
        part = enrich[enrich["method"] == method]
        parts += [f"\n## Role enrichment of {method}'s top {args.pairs} pairs\n",
                  f"Null: role labels permuted among the heads of each layer ({args.n_perm} permutations, seed "
                  f"{args.seed}); p = (1 + #null >= observed) / (1 + n_perm), per kind, uncorrected.\n",
                  part[cols].to_markdown(index=False, floatfmt=".3f")]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
