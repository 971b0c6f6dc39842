"""``python -m headspex.bench_ray``: the mask sweep in one process vs on Ray actors, same masks, no store.

On a local Ray instance of ``--cpus`` CPUs it times, for the same unique masks on the same task split:

* single: :func:`headspex.evaluate_masks` in this process, for each of ``--single-threads`` torch thread
  counts (the first is the reference for the value check and the overhead);
* ray xN: ``evaluate_masks(executor="ray", n_workers=N)`` for each N in ``--workers`` (each actor gets
  cpus/N CPUs and as many torch threads). Startup (actor start, model load, evaluator build: up to the
  first chunk handed out) and sweep (first chunk handed out to last chunk stored) are split using the
  executor's dispatch hook.

It prints masks/s and masked question evaluations/s (masks x questions / s), and the overhead of the Ray
path over the single-process path: Ray start, actor startup, and the sweep-time difference. It also
checks the values agree with the reference (max |difference|; thread counts may change the last bits).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Sequence

import numpy as np
import torch

from . import ray_executor
from .engine import evaluate_masks
from .models import load_model
from .players import layer_players
from .sampling import sample_masks


def timed_ray_run(model: Any, task: Any, masks: np.ndarray, players: list, n_workers: int, split: str) -> dict:
    """One Ray sweep: total, startup and sweep seconds, and the values."""
    first: list[float] = []
    ray_executor._on_dispatch = lambda actor, cid, m: first.append(time.perf_counter()) if not first else None
    try:
        t0 = time.perf_counter()
        values = evaluate_masks(model, task, masks, players=players, split=split, progress=False, executor="ray",
                                n_workers=n_workers)
        total = time.perf_counter() - t0
    finally:
        ray_executor._on_dispatch = None
    startup = first[0] - t0
    return {"total_s": total, "startup_s": startup, "sweep_s": total - startup, "values": values}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m headspex.bench_ray", description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--task", default="capitals")
    p.add_argument("--split", default="train")
    p.add_argument("--layers", default="27,28,29", help="0-based layers whose heads are the players")
    p.add_argument("--masks", type=int, default=128)
    p.add_argument("--workers", default="1,2", help="actor counts to time, comma-separated")
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    p.add_argument("--single-threads", default="0,1",
                   help="torch thread counts for the single-process runs (0: torch's default), comma-separated")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)

    import ray
    import tasks

    t0 = time.perf_counter()
    model = load_model(args.model, dtype=args.dtype, device="cpu")
    load_s = time.perf_counter() - t0
    task = tasks.load(args.task, tokenizer=model.tokenizer)
    players = layer_players([int(x) for x in args.layers.split(",")], model.n_heads)
    masks = np.unique(sample_masks(args.masks, len(players), seed=0), axis=0)
    n_q = len(task.split(args.split))
    work = len(masks) * n_q
    print(f"{args.model} ({args.dtype}, CPU, torch threads {torch.get_num_threads()}): {len(players)} players, "
          f"{len(masks)} unique masks x {n_q} questions = {work} masked question evaluations; model load {load_s:.1f} s")

    rows, default_threads, single, single_s = [], torch.get_num_threads(), None, None
    for threads in (int(x) for x in args.single_threads.split(",")):
        torch.set_num_threads(threads or default_threads)
        t0 = time.perf_counter()
        values = evaluate_masks(model, task, masks, players=players, split=args.split, progress=False)
        elapsed = time.perf_counter() - t0
        torch.set_num_threads(default_threads)
        if single is None:
            single, single_s = values, elapsed
        rows.append({"run": f"single ({threads or default_threads} thr)", "total_s": elapsed, "startup_s": 0.0,
                     "sweep_s": elapsed, "max_abs_diff": float(np.abs(values - single).max())})

    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    ray_init_s = time.perf_counter() - t0
    try:
        for n in (int(x) for x in args.workers.split(",")):
            r = timed_ray_run(model, task, masks, players, n, args.split)
            r["max_abs_diff"] = float(np.abs(r.pop("values") - single).max())
            rows.append({"run": f"ray x{n} ({args.cpus / n:g} CPU each)", **r})
    finally:
        ray.shutdown()

    print(f"ray.init (local, {args.cpus} CPUs): {ray_init_s:.1f} s (once per run, not counted below)")
    print(f"{'run':<24} {'total s':>8} {'startup s':>10} {'sweep s':>8} {'masks/s':>8} {'q-evals/s':>10} "
          f"{'sweep q-evals/s':>16} {'max|diff|':>10}")
    for r in rows:
        r.update(masks_per_s=len(masks) / r["total_s"], qevals_per_s=work / r["total_s"],
                 sweep_qevals_per_s=work / r["sweep_s"])
        diff = f"{r['max_abs_diff']:.1e}" if "max_abs_diff" in r else "-"
        print(f"{r['run']:<24} {r['total_s']:>8.1f} {r['startup_s']:>10.1f} {r['sweep_s']:>8.1f} "
              f"{r['masks_per_s']:>8.2f} {r['qevals_per_s']:>10.1f} {r['sweep_qevals_per_s']:>16.1f} {diff:>10}")
    one = next((r for r in rows if r["run"].startswith("ray x1 ")), None)
    if one is not None:
        print(f"overhead of ray x1 over {rows[0]['run']}: {one['total_s'] - single_s:+.1f} s total "
              f"({(one['total_s'] / single_s - 1) * 100:+.0f}%) = ray.init {ray_init_s:.1f} s (extra, once) + "
              f"actor startup {one['startup_s']:.1f} s + sweep {one['sweep_s'] - single_s:+.1f} s")
    if args.json:
        print(json.dumps({"ray_init_s": ray_init_s, "model_load_s": load_s, "n_masks": len(masks),
                          "n_questions": n_q, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
