"""``python benchmarks/ray_workers.py``: the mask sweep in one process vs on Ray actors, same masks, no store.

On a local Ray instance of ``--cpus`` CPUs it times, for the same unique masks on the same task split:

* single: :func:`headspex.engine.evaluate_masks` in this process, for each of ``--single-threads`` torch thread
  counts (the first is the reference for the value check and the overhead);
* ray xN: ``evaluate_masks(executor=RayExecutor(n_workers=N))`` for each N in ``--workers`` (each actor gets
  cpus/N CPUs and as many torch threads). Startup (actor start, model load, evaluator build: up to the
  first chunk handed out) and sweep (first chunk handed out to last chunk stored) are split using the
  executor's ``on_dispatch`` hook.

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

from headspex.engine.evaluate import evaluate_masks
from headspex.engine.executors import RayExecutor
from headspex.engine.models import load_model
from headspex.engine.sampling import sample_masks
from headspex.players import layer_players


def timed_ray_run(model: Any, task: Any, masks: np.ndarray, players: list, n_workers: int, split: str) -> dict:
    """One Ray sweep: total, startup and sweep seconds, and the values."""
    first: list[float] = []

    def on_dispatch(actor: Any, cid: int, chunk: np.ndarray) -> None:
        if not first:
            first.append(time.perf_counter())

    executor = RayExecutor(n_workers=n_workers, on_dispatch=on_dispatch)
    t0 = time.perf_counter()
    values = evaluate_masks(model, task, masks, players=players, split=split, progress=False, executor=executor)
    total = time.perf_counter() - t0
    startup = first[0] - t0
    return {"total_s": total, "startup_s": startup, "sweep_s": total - startup, "values": values}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python benchmarks/ray_workers.py", description=__doc__.splitlines()[0])
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
    return p.parse_args(argv)


def single_runs(model: Any, task: Any, masks: np.ndarray, players: list, args: argparse.Namespace) -> list[dict]:
    """One in-process sweep per ``--single-threads`` count; the first row's values are the reference."""
    rows, default_threads, single = [], torch.get_num_threads(), None
    for threads in (int(x) for x in args.single_threads.split(",")):
        torch.set_num_threads(threads or default_threads)
        t0 = time.perf_counter()
        values = evaluate_masks(model, task, masks, players=players, split=args.split, progress=False)
        elapsed = time.perf_counter() - t0
        torch.set_num_threads(default_threads)
        single = values if single is None else single
        rows.append({"run": f"single ({threads or default_threads} thr)", "total_s": elapsed, "startup_s": 0.0,
                     "sweep_s": elapsed, "max_abs_diff": float(np.abs(values - single).max()), "values": values})
    return rows


def ray_runs(model: Any, task: Any, masks: np.ndarray, players: list, args: argparse.Namespace,
             single: np.ndarray) -> tuple[float, list[dict]]:
    """(ray.init seconds, one row per ``--workers`` count) on a local Ray instance of ``--cpus`` CPUs."""
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    ray_init_s, rows = time.perf_counter() - t0, []
    try:
        for n in (int(x) for x in args.workers.split(",")):
            r = timed_ray_run(model, task, masks, players, n, args.split)
            r["max_abs_diff"] = float(np.abs(r.pop("values") - single).max())
            rows.append({"run": f"ray x{n} ({args.cpus / n:g} CPU each)", **r})
    finally:
        ray.shutdown()
    return ray_init_s, rows


def print_table(rows: list[dict], n_masks: int, work: int, ray_init_s: float, cpus: int) -> None:
    """The figures per run, then the overhead of ray x1 over the first single-process run."""
    print(f"ray.init (local, {cpus} CPUs): {ray_init_s:.1f} s (once per run, not counted below)")
    print(f"{'run':<24} {'total s':>8} {'startup s':>10} {'sweep s':>8} {'masks/s':>8} {'q-evals/s':>10} "
          f"{'sweep q-evals/s':>16} {'max|diff|':>10}")
    for r in rows:
        r.update(masks_per_s=n_masks / r["total_s"], qevals_per_s=work / r["total_s"],
                 sweep_qevals_per_s=work / r["sweep_s"])
        diff = f"{r['max_abs_diff']:.1e}" if "max_abs_diff" in r else "-"
        print(f"{r['run']:<24} {r['total_s']:>8.1f} {r['startup_s']:>10.1f} {r['sweep_s']:>8.1f} "
              f"{r['masks_per_s']:>8.2f} {r['qevals_per_s']:>10.1f} {r['sweep_qevals_per_s']:>16.1f} {diff:>10}")
    one, single_s = next((r for r in rows if r["run"].startswith("ray x1 ")), None), rows[0]["total_s"]
    if one is not None:
        print(f"overhead of ray x1 over {rows[0]['run']}: {one['total_s'] - single_s:+.1f} s total "
              f"({(one['total_s'] / single_s - 1) * 100:+.0f}%) = ray.init {ray_init_s:.1f} s (extra, once) + "
              f"actor startup {one['startup_s']:.1f} s + sweep {one['sweep_s'] - single_s:+.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
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
    rows = single_runs(model, task, masks, players, args)
    single = rows[0]["values"]
    for r in rows:
        del r["values"]
    ray_init_s, ray_rows = ray_runs(model, task, masks, players, args, single)
    rows += ray_rows
    print_table(rows, len(masks), work, ray_init_s, args.cpus)
    if args.json:
        print(json.dumps({"ray_init_s": ray_init_s, "model_load_s": load_s, "n_masks": len(masks),
                          "n_questions": n_q, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
