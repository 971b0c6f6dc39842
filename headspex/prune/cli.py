"""``python -m headspex.prune``: which heads to keep at each sparsity level, per layer range.

With no options it runs the layer-range study on the embedded SmolLM2 and the IOI task, with the fair
protocol (a pilot of random masks that is also the random baseline, matched budgets, float32 test scores,
paired bootstrap intervals), sized to finish in about 9 minutes on 2 CPU cores. A rerun with the same
``--out`` resumes from the stored values; ``python -m headspex.report OUT`` rebuilds its reports.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from headspex._cli import HelpFormatter, add_debug_flag, commit, guarded, versions

METHODS = "proxyspex,lasso,best-of-n,single-head,random"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m headspex.prune", description=__doc__.replace("``", ""),
                                formatter_class=HelpFormatter)
    _model_args(p.add_argument_group("model and task"))
    _protocol_args(p.add_argument_group("protocol"))
    _run_args(p.add_argument_group("running"))
    return p


def _model_args(g: Any) -> None:
    g.add_argument("--model", default="smollm2",
                   help="model alias (see headspex.list_models()), Hugging Face id, local directory or .gguf file")
    g.add_argument("--task", default="ioi",
                   help="task name (ioi, induction, facts, capitals, mmlu, mmlu:<subject>, ...) or a .jsonl file "
                        "of your own questions")
    g.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None,
                   help="model dtype for the training masks (default: bfloat16, ~4x faster than float32 on this CPU)")
    g.add_argument("--test-dtype", choices=["float32", "bfloat16"], default="float32",
                   help="dtype of the test-split evaluation of every selected mask (the random baseline runs in --dtype, with "
                        "float32 answer logits)")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    g.add_argument("--n-train", type=int, default=32,
                   help="training questions (default: 32, sized for a 2-core CPU; 0 = the task's whole split)")
    g.add_argument("--n-test", type=int, default=80,
                   help="test questions (default: 80, sized for a 2-core CPU; 0 = the task's whole split)")
    g.add_argument("--n-shots", type=int, default=0, help="few-shot exemplars per prompt, from the train split (default: 0)")
    g.add_argument("--exemplars", choices=["per-question", "shared"], default="per-question",
                   help="per-question: each prompt its own exemplars; shared: one set before every prompt (the "
                        "original MMLU protocol; the engine then computes the shared block once per mask)")


def load_task(args: argparse.Namespace, tokenizer: Any, max_tokens: int | None = None) -> Any:
    """The task the model-and-task options name, split with --seed; prompts over ``max_tokens`` are refused."""
    import tasks

    return tasks.load(args.task, seed=args.seed, tokenizer=tokenizer, n_train=args.n_train or None,
                      n_test=args.n_test or None, n_shots=args.n_shots, exemplars=args.exemplars, max_tokens=max_tokens)


def _protocol_args(g: Any) -> None:
    g.add_argument("--layers", default="initial,middle,final",
                   help="layer ranges, 1-based and inclusive as in the paper (e.g. 1-3,14-16,30-32), or the presets "
                        "initial, middle, final (ceil(96 / heads per layer) layers each: 96 heads, as the paper's "
                        "ranges); each range is analysed on its own")
    g.add_argument("--keep", default="0.5,0.66,0.83", help="fractions of each range's heads to keep, in (0, 1]")
    g.add_argument("--budget", type=int, default=120, help="training masks evaluated per range to fit the proxy")
    g.add_argument("--sampling", choices=["uniform", "matched", "mixture"], default="matched",
                   help="training masks: uniform (keep 1/2, the paper's), matched (keep-probability at the keep "
                        "levels) or mixture (uniform and matched); matched + --refine gave the best test accuracy "
                        "at a matched budget on ioi, induction and facts")
    g.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                   help="select on the ridge-refined spectrum (95%% of the energy) instead of the exact one")
    g.add_argument("--best-of-n", type=int, default=None,
                   help="Best-of-N candidates in total over the keep levels (default: --budget, a matched budget)")
    g.add_argument("--n-random", type=int, default=20, help="random k-head masks per keep level (pilot and baseline)")
    g.add_argument("--n-heldout", type=int, default=10, help="unseen masks per keep level for held-out R^2")
    g.add_argument("--energy-boot", type=int, default=3, help="proxy refits for the energy shares' intervals")
    g.add_argument("--methods", default=METHODS, help="selection methods to compare")
    g.add_argument("--ablation", choices=["zero", "mean"], default="zero", help="how a removed head is replaced")
    g.add_argument("--metric", choices=["logprob", "accuracy", "margin"], default="logprob",
                   help="training value f(m): mean correct-choice log-probability (smooth), accuracy (the paper's) "
                        "or margin; the test split reports accuracy and log-probability")
    g.add_argument("--milp-time-limit", type=float, default=5.0,
                   help="seconds per exact selection before falling back to greedy + swap search")


def _run_args(g: Any) -> None:
    g.add_argument("--seed", type=int, default=0, help="seed of the task split and of the first study seed")
    g.add_argument("--seeds", type=int, default=1,
                   help="study seeds --seed .. --seed+N-1 (masks, folds and baselines resampled; the split fixed); "
                        "tables give the mean and a 95%% CI over seeds")
    g.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="evaluate masks on Ray actors: --ray starts a local cluster, --ray ADDRESS joins one "
                        "(needs pip install 'headspex[ray]'; default: off)")
    g.add_argument("--workers", type=int, default=None,
                   help="Ray actors (default: one per GPU, else one per 2 CPUs of the cluster)")
    g.add_argument("--out", default="runs/prune", help="output directory (a rerun with the same one resumes)")
    g.add_argument("--wait", action="store_true",
                   help="if another run holds --out, wait for it to finish instead of stopping (default: stop)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g.add_argument("--repair", action="store_true",
                   help="move corrupt lines of the value stores to values.rejected.jsonl and recompute their masks")
    add_debug_flag(g)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(_run, args)


def _run(args: argparse.Namespace) -> int:
    from headspex.engine.lock import DirectoryLock

    for name in ("budget", "seeds", "n_random", "n_heldout"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    with DirectoryLock(args.out, wait=args.wait):
        return _run_locked(args)


def _run_locked(args: argparse.Namespace) -> int:
    import tasks
    from headspex.engine.executors import make_executor
    from headspex.engine.models import load_model
    from headspex.players import parse_layer_ranges
    from headspex.prune.report import write_outputs
    from headspex.prune.study import run_study, test_model_for
    from headspex.rundir import check_settings

    t0 = time.perf_counter()
    config = _config(args)  # validates --keep, --methods, ... before the model loads
    if args.task not in tasks.list_tasks() and not args.task.endswith(".jsonl"):
        tasks.describe(args.task)  # raises the "unknown task ... did you mean" error
    model = load_model(args.model, dtype=args.dtype or "bfloat16", device=args.device)
    ranges = parse_layer_ranges(args.layers, model.n_layers, model.n_heads)
    task = load_task(args, model.tokenizer, max_tokens=getattr(model, "context_length", None))
    out = Path(args.out)
    settings = study_settings(_config(args, ranges=ranges), model, task)
    check_settings(out, settings)  # before anything is written: a refused rerun changes nothing
    executor = make_executor("ray" if args.ray else None, n_workers=args.workers,
                             ray_address=None if args.ray in (None, "local") else args.ray)
    print(f"{model!r}\n{task!r}; {len(ranges)} range(s); seeds {args.seed}..{args.seed + args.seeds - 1}; output in {out}/")
    results, test_model = [], test_model_for(model, args.test_dtype)
    for seed in range(args.seed, args.seed + args.seeds):
        config = _config(args, ranges=ranges, seed=seed)
        _write_config(out / "config.json", config, model, task, args, settings, time.perf_counter() - t0)
        result = run_study(model, task, config, out=out, progress=not args.no_progress, executor=executor,
                           test_model=test_model, repair=args.repair)
        (out / f"seed-{seed}").mkdir(exist_ok=True)
        result.save(out / f"seed-{seed}")
        results.append(result)
    write_outputs(results, out, model_name=model.name, task_name=task.name)
    _write_config(out / "config.json", config, model, task, args, settings, time.perf_counter() - t0)
    print(f"\nwrote {out}/ ({time.perf_counter() - t0:.0f} s)\n")
    print((out / "accuracy.md").read_text())
    return 0


def study_settings(config: Any, model: Any, task: Any) -> dict:
    """Everything that can change a number of this study but its seed (see :func:`headspex.rundir.run_settings`)."""
    from dataclasses import asdict

    from headspex.rundir import run_settings

    import json

    settings = run_settings(asdict(config), model, task, config.test_dtype)
    extra = {"proxy_search": _proxy_search(), "device": str(model.device.type)}
    return settings | json.loads(json.dumps(extra))  # as stored: tuples become lists


def _config(args: argparse.Namespace, *, ranges: Any = None, seed: int | None = None) -> Any:
    from headspex.prune.study import StudyConfig, parse_keep

    return StudyConfig(ranges=tuple(tuple(r) for r in ranges) if ranges else ((0,),), keep=parse_keep(args.keep),
                       budget=args.budget, sampling=args.sampling, refine=args.refine, best_of_n=args.best_of_n,
                       n_random=args.n_random, n_heldout=args.n_heldout, metric=args.metric, ablation=args.ablation,
                       seed=args.seed if seed is None else seed,
                       methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()),
                       milp_time_limit=args.milp_time_limit, energy_boot=args.energy_boot, test_dtype=args.test_dtype)


def _write_config(path: Path, config: Any, model: Any, task: Any, args: argparse.Namespace, settings: dict,
                  seconds: float) -> None:
    """``config.json``: the study configuration, every default used, model, task, versions, commit, command, and
    the settings a rerun on the same ``--out`` must match (``settings``)."""
    import json
    from dataclasses import asdict

    from headspex._io import atomic_write_text

    record = {"study": asdict(config), "arguments": vars(args), "model": model.name, "architecture": model.architecture,
              "dtype": str(model.dtype).replace("torch.", ""), "device": str(model.device), "task": task.name,
              "task_info": task.info, "n_train": len(task.train), "n_test": len(task.test), "versions": versions(),
              "commit": commit(), "command": "python -m headspex.prune " + " ".join(sys.argv[1:]),
              "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds_so_far": round(seconds, 1),
              "proxy_search": _proxy_search(), "settings": settings}
    atomic_write_text(path, json.dumps(record, indent=2, default=str))


def _proxy_search() -> dict:
    from dataclasses import asdict

    from headspex.spectrum.proxy_search import ProxySearch

    return asdict(ProxySearch())

