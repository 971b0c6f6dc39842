"""``python -m headspex.prune``: which heads to keep at each sparsity level, per layer range.

With no options it runs the layer-range study on the embedded SmolLM2 and the world-capitals task
(where that model is well above chance). A rerun with the same ``--out`` resumes from the stored values.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Sequence

import pandas as pd


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" unless the help text already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        return text if "default" in text else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m headspex.prune", description=__doc__.replace("``", ""),
                                formatter_class=_Help)
    p.add_argument("--model", default="smollm2",
                   help="model alias (see headspex.list_models()), Hugging Face id, local directory or .gguf file")
    p.add_argument("--task", default="capitals", help="task name, e.g. capitals, mmlu, mmlu:high_school_us_history")
    p.add_argument("--layers", default="initial,middle,final",
                   help="layer ranges, 1-based and inclusive as in the paper (e.g. 1-3,14-16,30-32), or the presets "
                        "initial, middle, final (three layers each); each range is analysed on its own")
    p.add_argument("--keep", default="0.5,0.66,0.83", help="fractions of each range's heads to keep, in (0, 1]")
    p.add_argument("--budget", type=int, default=256, help="uniform random masks evaluated per range to fit the proxy")
    p.add_argument("--best-of-n", type=int, default=None,
                   help="random k-head masks per keep level for the Best-of-N baseline (default: --budget)")
    p.add_argument("--methods", default="proxyspex,lasso,best-of-n,single-head,random",
                   help="selection methods to compare")
    p.add_argument("--ablation", choices=["zero", "mean"], default="zero", help="how a removed head is replaced")
    p.add_argument("--metric", choices=["logprob", "accuracy", "margin"], default="logprob",
                   help="training value f(m): mean correct-choice log-probability (smooth), accuracy (the paper's) "
                        "or margin; test results are always accuracy")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None,
                   help="model dtype (default: bfloat16 on CPU, where it is ~4x faster than float32 here; "
                        "bfloat16 on GPU)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--n-train", type=int, default=None, help="training questions (default: the task's split)")
    p.add_argument("--n-test", type=int, default=None, help="test questions (default: the task's split)")
    p.add_argument("--seed", type=int, default=0, help="seed for the task split, masks, folds and baselines")
    p.add_argument("--seeds", type=int, default=1,
                   help="repeat the study with seeds --seed .. --seed+N-1 (outputs in seed-*/) and report the mean "
                        "and spread of test accuracy")
    p.add_argument("--milp-time-limit", type=float, default=20.0,
                   help="seconds per exact selection before falling back to greedy + swap search")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="evaluate masks on Ray actors: --ray starts a local cluster, --ray ADDRESS joins one "
                        "(needs pip install 'headspex[ray]'; default: off)")
    p.add_argument("--workers", type=int, default=None,
                   help="Ray actors (default: one per GPU, else one per 2 CPUs of the cluster)")
    p.add_argument("--out", default="runs/prune", help="output directory (a rerun with the same one resumes)")
    p.add_argument("--wait", action="store_true",
                   help="if another run holds --out, wait for it to finish instead of stopping (default: stop)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def seed_spread(table: "pd.DataFrame") -> "pd.DataFrame":
    """Mean ± std of test accuracy per (layers, keep, method) over seeds, one column per method."""
    stats = table.groupby(["layers", "keep", "method"], sort=False)["test_accuracy"].agg(["mean", "std"])
    cells = stats.apply(lambda r: f"{r['mean']:.3f} ± {r['std']:.3f}", axis=1).rename("test_accuracy")
    wide = cells.reset_index().pivot(index=["layers", "keep"], columns="method", values="test_accuracy")
    unpruned = table.groupby("seed")["unpruned"].first()
    return wide.reset_index().assign(unpruned=f"{unpruned.mean():.3f} ± {unpruned.std():.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"interrupted; rerun the same command to resume from {args.out}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError, ImportError) as err:
        # ModelNotAvailableError, TaskSourceError, StoreMismatchError, RayNotInstalledError, ...
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from headspex.engine.lock import DirectoryLock

    with DirectoryLock(args.out, wait=args.wait):
        return _run_locked(args)


def _run_locked(args: argparse.Namespace) -> int:
    import torch

    import tasks
    from headspex import __version__
    from headspex.engine.executors import make_executor
    from headspex.engine.models import load_model
    from headspex.players import parse_layer_ranges
    from headspex.prune.report import accuracy_pivot, write_outputs
    from headspex.prune.study import StudyConfig, methods_used, parse_keep, run_study, write_config

    t0 = time.perf_counter()
    keep = parse_keep(args.keep)
    methods = methods_used([m.strip() for m in args.methods.split(",") if m.strip()])
    if args.budget < 1:
        raise ValueError(f"--budget must be a positive number of masks; got {args.budget}")
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1; got {args.seeds}")
    if args.task not in tasks.list_tasks():
        tasks.describe(args.task)  # raises the "unknown task ... did you mean" error
    dtype = args.dtype or "bfloat16"
    model = load_model(args.model, dtype=dtype, device=args.device)
    ranges = parse_layer_ranges(args.layers, model.n_layers)
    task = tasks.load(args.task, seed=args.seed, tokenizer=model.tokenizer, n_train=args.n_train, n_test=args.n_test)
    out = Path(args.out)
    executor = make_executor("ray" if args.ray else None, n_workers=args.workers,
                             ray_address=None if args.ray in (None, "local") else args.ray)
    seeds = list(range(args.seed, args.seed + args.seeds))
    tables = []
    for seed in seeds:
        if seed != args.seed:
            task = tasks.load(args.task, seed=seed, tokenizer=model.tokenizer, n_train=args.n_train, n_test=args.n_test)
        config = StudyConfig(ranges=tuple(tuple(r) for r in ranges), keep=keep, budget=args.budget,
                             best_of_n=args.best_of_n, metric=args.metric, ablation=args.ablation, seed=seed,
                             methods=methods, milp_time_limit=args.milp_time_limit)
        for r in ranges:
            config.check_budget(len(r) * model.n_heads)
        seed_out = out if len(seeds) == 1 else out / f"seed-{seed}"
        seed_out.mkdir(parents=True, exist_ok=True)
        write_config(seed_out / "config.json", config, {
            "model": model.name, "architecture": model.architecture, "dtype": dtype, "device": str(model.device),
            "task": task.name, "task_info": task.info, "n_train": len(task.train), "n_test": len(task.test),
            "versions": {"headspex": __version__, "torch": torch.__version__, "python": platform.python_version()},
            "command": "python -m headspex.prune " + " ".join(sys.argv[1:]),
        })
        print(f"{model!r}\n{task!r}; {len(ranges)} range(s); seed {seed}; output in {seed_out}/")
        result = run_study(model, task, config, out=seed_out, progress=not args.no_progress, executor=executor)
        write_outputs(result, seed_out, model_name=model.name, task_name=task.name)
        tables.append(result.accuracy_table().assign(seed=seed, unpruned=result.clean_test_accuracy))
    print(f"\nwrote {out}/ ({time.perf_counter() - t0:.0f} s)\n")
    if len(seeds) == 1:
        print(f"test accuracy (unpruned {result.clean_test_accuracy:.3f}):")
        print(accuracy_pivot(result).to_markdown(index=False, floatfmt=".3f"))
    else:
        spread = seed_spread(pd.concat(tables))
        spread.to_csv(out / "accuracy_seeds.csv", index=False)
        (out / "accuracy_seeds.md").write_text(spread.to_markdown(index=False) + "\n")
        print(f"test accuracy over seeds {seeds[0]}..{seeds[-1]} (mean ± std):")
        print(spread.to_markdown(index=False))
    return 0

