"""``python -m benchmarks.dtypes``: seconds per training mask in each dtype on this machine, side by side, and the
dtype ``--dtype auto`` picks here.

The workload is the one a study runs: :class:`headspex.MaskGame` on a task's training questions (default: the
embedded SmolLM2, IOI, layers 11-20 = 90 heads, 32 questions), the same random masks in float32 and bfloat16,
rounds alternating between the dtypes (best round kept), no store. It also prints each dtype's matmul rate, the
CPU capability and bf16 units, and what the ``auto`` probe measured. Writes ``--out``/dtypes.{json,md} with the
command, commit and time. Timings are ratios measured in one run: run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from benchmarks.common import dtype_line, dtype_report, provenance

DTYPES = ("float32", "bfloat16")


def seconds_per_mask(game: Any, masks: np.ndarray) -> float:
    """Wall seconds per mask for ``game`` on ``masks`` (nothing stored)."""
    t0 = time.perf_counter()
    game.scores(masks)
    return (time.perf_counter() - t0) / len(masks)


def run(*, model: str, task: str, layers: str, n_train: int, n_masks: int, rounds: int, seed: int) -> dict[str, Any]:
    import tasks
    from headspex.engine.game import MaskGame
    from headspex.engine.models import load_model
    from headspex.engine.sampling import sample_masks
    from headspex.players import layer_players, parse_layer_ranges

    dtypes = dtype_report("cpu")
    print(dtype_line(dtypes), flush=True)
    models = {dt: load_model(model, dtype=dt) for dt in DTYPES}
    first = models["float32"]
    the_task = tasks.load(task, tokenizer=first.tokenizer, seed=seed, n_train=n_train, n_test=8)
    players = layer_players(parse_layer_ranges(layers, first.n_layers, first.n_heads)[0], first.n_heads)
    with warnings.catch_warnings():  # bfloat16 is timed on purpose, however slow it is here
        warnings.simplefilter("ignore", RuntimeWarning)
        games = {dt: MaskGame(m, the_task, players) for dt, m in models.items()}
    best = {dt: float("inf") for dt in DTYPES}
    for r in range(rounds):  # fresh masks each round: a game answers masks it has seen from memory
        masks = sample_masks(n_masks, len(players), seed=seed * 1000 + r)
        for dt, game in games.items():
            best[dt] = min(best[dt], seconds_per_mask(game, masks))
    ratio = best["bfloat16"] / best["float32"]
    print("seconds per mask: " + ", ".join(f"{dt} {s:.3f}" for dt, s in best.items())
          + f"; bfloat16 / float32 = {ratio:.2f}; --dtype auto picks {dtypes['study_dtype']}", flush=True)
    return {"model": model, "task": the_task.name, "layers": layers, "n_players": len(players), "n_train": n_train,
            "n_masks": n_masks, "rounds": rounds, "threads": torch.get_num_threads(), "dtypes": dtypes,
            "seconds_per_mask": best, "bf16_over_fp32": ratio, "auto_picks": dtypes["study_dtype"]}


def markdown(result: dict[str, Any]) -> str:
    rows = "\n".join(f"| {dt} | {s:.3f} | {result['dtypes']['matmul_tflops_by_dtype'][dt]:.3g} |"
                     for dt, s in result["seconds_per_mask"].items())
    return (f"# Training dtype on this machine\n\n`{result['command']}` at commit `{result['commit']}`, {result['time']}, "
            f"{result['threads']} threads.\n\n{dtype_line(result['dtypes'])}.\n\n"
            f"MaskGame on {result['model']}, {result['task']}, layers {result['layers']} ({result['n_players']} heads), "
            f"{result['n_train']} training questions, {result['n_masks']} masks, best of {result['rounds']} alternating "
            f"rounds:\n\n| dtype | seconds per mask | matmul TFLOP/s |\n|---|---|---|\n{rows}\n\n"
            f"bfloat16 / float32 = **{result['bf16_over_fp32']:.2f}**; `--dtype auto` picks **{result['auto_picks']}** here.\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.dtypes", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2", help="model (default: smollm2)")
    p.add_argument("--task", default="ioi", help="task (default: ioi)")
    p.add_argument("--layers", default="11-20", help="one 1-based range (default: 11-20, 90 heads)")
    p.add_argument("--n-train", type=int, default=32, help="training questions (default: 32)")
    p.add_argument("--masks", type=int, default=4, help="masks per round (default: 4)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds, best kept (default: 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/benchmarks", help="folder for dtypes.json and .md")
    a = p.parse_args(argv)
    if min(a.n_train, a.masks, a.rounds) < 1:
        p.error("--n-train, --masks and --rounds must be >= 1")
    result = {**provenance(argv, module="benchmarks.dtypes"),
              **run(model=a.model, task=a.task, layers=a.layers, n_train=a.n_train, n_masks=a.masks, rounds=a.rounds,
                    seed=a.seed)}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dtypes.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (out / "dtypes.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
