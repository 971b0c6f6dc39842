"""``python -m headspex.curves``: how far can the whole model be pruned? Accuracy against heads kept, per method.

Every head of ``--layers`` (default: all layers) is a player of one game. At each keep level of the sweep
(default 10%..90%), each method picks the heads to keep; the pruned model is scored on the test split in
float32. Writes the curve (with 95% intervals), the area under each curve, the prunable fraction at <= 1
and <= 5 points of loss, each method's cost in model passes, and ``curve.png``. ``--export DIR`` writes a
real pruned checkpoint (removed heads deleted) of one method at one level. A rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from headspex._cli import HelpFormatter, add_debug_flag, commit, guarded, versions
from headspex.curves.run import METHODS, SWEEP
from headspex.prune.cli import _model_args, load_task


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m headspex.curves", description=__doc__.replace("``", ""),
                                formatter_class=HelpFormatter)
    _model_args(p.add_argument_group("model and task"))
    g = p.add_argument_group("curve")
    g.add_argument("--layers", default="all",
                   help="analysed layers, one game: all, a 1-based range (1-30) or a union (1-10+21-30)")
    g.add_argument("--keep", default=",".join(str(v) for v in SWEEP),
                   help="keep levels: fractions in (0, 1) or head counts (integers)")
    g.add_argument("--budget", type=int, default=400,
                   help="training masks for the proxy (Best-of-N and iterative ProxySPEX get the same)")
    g.add_argument("--n-random", type=int, default=100, help="random masks per level (the random baseline)")
    g.add_argument("--methods", default=",".join(METHODS), help="ranking and selection methods")
    g.add_argument("--ablation", choices=["zero", "mean"], default="zero", help="how a removed head is replaced")
    g.add_argument("--metric", choices=["logprob", "accuracy", "margin"], default="logprob",
                   help="training value f(m) the proxy, Best-of-N and single-head use")
    g.add_argument("--milp-time-limit", type=float, default=10.0, help="seconds per exact selection")
    g.add_argument("--max-terms", type=int, default=5000,
                   help="Moebius terms above which the greedy + swap heuristic replaces the exact MILP")
    r = p.add_argument_group("running and export")
    r.add_argument("--seed", type=int, default=0, help="seed of the task split and the first study seed")
    r.add_argument("--seeds", type=int, default=1, help="study seeds --seed .. --seed+N-1 (the split fixed)")
    r.add_argument("--out", default="runs/curves", help="output directory (a rerun with the same one resumes)")
    r.add_argument("--wait", action="store_true", help="wait for another run holding --out instead of stopping")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument("--export", default=None, metavar="DIR",
                   help="write a pruned checkpoint here: a new or empty directory, or a previous headspex checkpoint "
                        "with --overwrite; never the run's --out (default: none)")
    r.add_argument("--overwrite", action="store_true",
                   help="let --export replace a checkpoint headspex wrote before (never any other directory)")
    r.add_argument("--repair", action="store_true",
                   help="move corrupt lines of the value stores to values.rejected.jsonl and recompute their masks")
    add_debug_flag(r)
    r.add_argument("--export-method", default="proxyspex", help="the method whose kept set is exported")
    r.add_argument("--export-keep", type=float, default=0.5,
                   help="the keep level exported: a fraction of the sweep or a head count")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(_locked, args)


def _locked(args: argparse.Namespace) -> int:
    from headspex.engine.lock import DirectoryLock

    with DirectoryLock(args.out, wait=args.wait):
        return _run(args)


def _config(args: argparse.Namespace, layers: Any, seed: int) -> Any:
    from headspex.curves.run import CurveConfig

    try:
        keep = tuple(float(v) for v in args.keep.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--keep expects fractions or head counts separated by commas; got {args.keep!r}") from None
    return CurveConfig(layers=tuple(layers), keep=keep, budget=args.budget, n_random=args.n_random,
                       methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()), metric=args.metric,
                       ablation=args.ablation, seed=seed, milp_time_limit=args.milp_time_limit,
                       max_terms=args.max_terms, test_dtype=args.test_dtype)


def _run(args: argparse.Namespace) -> int:
    from headspex.curves.report import title_of, write_outputs
    from headspex.curves.run import run_curves
    from headspex.engine.models import load_model
    from headspex.players import parse_layer_ranges
    from headspex.prune.study import test_model_for
    from headspex.rundir import check_settings, run_settings

    t0 = time.perf_counter()
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1; got {args.seeds}")
    _config(args, (0,), args.seed)  # validates the options before the model loads
    if args.export:
        from headspex.export.safety import check_export_target

        check_export_target(args.export, overwrite=args.overwrite, out=args.out)
    model = load_model(args.model, dtype=args.dtype or "bfloat16", device=args.device)
    ranges = parse_layer_ranges(args.layers, model.n_layers, model.n_heads)
    if len(ranges) != 1:
        raise ValueError(f"--layers must name one game (join ranges with '+', e.g. 1-10+21-30); got {args.layers!r}")
    task = load_task(args, model.tokenizer, max_tokens=getattr(model, "context_length", None))
    out = Path(args.out)
    settings = run_settings(asdict(_config(args, ranges[0], args.seed)), model, task, args.test_dtype)
    check_settings(out, settings)  # before anything is written: a refused rerun changes nothing
    test_model = test_model_for(model, args.test_dtype)
    results = []
    for seed in range(args.seed, args.seed + args.seeds):
        config = _config(args, ranges[0], seed)
        _write_config(out / "config.json", config, model, task, settings, time.perf_counter() - t0)
        result = run_curves(model, task, config, out=out, test_model=test_model, progress=not args.no_progress,
                            repair=args.repair)
        (out / f"seed-{seed}").mkdir(exist_ok=True)
        result.save(out / f"seed-{seed}" / "curve.pkl")
        results.append(result)
    tables = write_outputs(results, out, title=title_of(results[0]))
    if args.export:
        from headspex.curves.export import export_selection

        export_selection(results[0], test_model, task, args.export_method, args.export_keep, args.export, out,
                         overwrite=args.overwrite)
    _write_config(out / "config.json", config, model, task, settings, time.perf_counter() - t0)
    print(f"\nwrote {out}/ ({time.perf_counter() - t0:.0f} s)\n")
    for name in ("auc", "prunable", "cost"):
        print(tables[name].to_markdown(index=False, floatfmt=".3f"), "\n")
    return 0


def _write_config(path: Path, config: Any, model: Any, task: Any, settings: dict, seconds: float) -> None:
    from headspex._io import atomic_write_text

    record = {"curve": asdict(config), "model": model.name, "dtype": str(model.dtype).replace("torch.", ""),
              "task": task.name, "task_info": task.info, "n_train": len(task.train), "n_test": len(task.test),
              "versions": versions(), "commit": commit(),
              "command": "python -m headspex.curves " + " ".join(sys.argv[1:]),
              "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds_so_far": round(seconds, 1),
              "settings": settings}
    atomic_write_text(path, json.dumps(record, indent=2, default=str))
