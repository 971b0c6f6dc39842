"""``python -m benchmarks.gemma_fast``: Gemma 3 270M masks on the generic path vs the plain-PyTorch Gemma forward.

For each layer range (1-based labels), the same random masks (``sample_masks``, keep 1/2) over the heads
of the range are scored on the first ``--questions`` IOI train questions (``tasks.load("ioi", n_train=N)``
takes the first N of the seeded train order) two ways:

* generic: ``headspex.engine.evaluate_masks(model, task, masks, players=..., backend="generic")``
  (Hugging Face's forward, heads edited by pre-hooks on ``o_proj``, full depth, last position's logits only);
* fast: the same call with ``backend="fast"``: :mod:`headspex.engine.gemma_fast`, the residual stream
  entering the first analysed layer once per question chunk, the layers from there per mask batch, the
  last layer on the last position, answer-token logits only (float32).

Each timed call builds everything anew (evaluator, prefix), as one ``evaluate_masks`` call does. After a
warm-up call each, ``--rounds`` rounds alternate generic, fast (best time of each kept). Reported per
range: masks x questions per second on both paths, the ratio fast / generic, and the max |difference|
between the two paths' values (mean correct-choice logprob per mask) and margins. With
``--fp32-check-masks N`` the float32 model also scores the first N masks both ways (untimed) for the
agreement in float32. Run it with ``OMP_NUM_THREADS=1`` on a shared machine: the ratio measured side by
side in one run is what counts.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Any, Sequence

import numpy as np
import torch

from benchmarks.common import emit_json, provenance
from headspex.engine.evaluate import evaluate_masks
from headspex.engine.evaluator import MaskEvaluator
from headspex.engine.models import load_model
from headspex.engine.sampling import sample_masks
from headspex.players import format_layer_range, layer_players, parse_layer_ranges

MODEL = "gemma3-270m"


def scores(model: Any, task: Any, players: list, masks: np.ndarray, backend: str) -> dict[str, np.ndarray]:
    """logprob and margin per mask through the engine on ``backend`` ("fast" or "generic")."""
    from headspex.engine.game import MaskGame

    with MaskGame(model, task, players, backend=backend) as game:
        return {m: v for m, v in game.scores(masks).items() if m in ("logprob", "margin")}


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    return {f"max_abs_diff_{m}": float(np.abs(a[m] - b[m]).max()) for m in ("logprob", "margin")}


def time_range(model: Any, task: Any, players: list, masks: np.ndarray, rounds: int) -> dict[str, Any]:
    """Warm-up, then ``rounds`` alternating rounds (generic, fast); best seconds of each, and the agreement."""
    n_q = len(task.split("train"))
    gen = lambda: evaluate_masks(model, task, masks, players=players, backend="generic", progress=False)  # noqa: E731
    fast = lambda: evaluate_masks(model, task, masks, players=players, backend="fast", progress=False)  # noqa: E731
    gen(), fast()  # warm-up
    times: dict[str, list[float]] = {"generic": [], "fast": []}
    values: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for name, fn in (("generic", gen), ("fast", fast)):
            t0 = time.perf_counter()
            values[name] = fn()
            times[name].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    rate = {k: len(masks) * n_q / s for k, s in best.items()}
    return {"generic_s": best["generic"], "fast_s": best["fast"], "generic_rounds_s": times["generic"],
            "fast_rounds_s": times["fast"], "generic_mask_questions_per_s": rate["generic"],
            "fast_mask_questions_per_s": rate["fast"], "ratio_fast_over_generic": rate["fast"] / rate["generic"],
            "max_abs_diff_logprob": float(np.abs(values["fast"] - values["generic"]).max()),
            "max_abs_logprob": float(np.abs(values["generic"]).max())}


def run(*, dtypes: Sequence[str], n_questions: int, ranges: str, n_masks: int, rounds: int, seed: int,
        fp32_check_masks: int) -> dict[str, Any]:
    import tasks

    out: dict[str, Any] = {"model": MODEL, "torch_threads": torch.get_num_threads(),
                           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "torch": torch.__version__,
                           "cpu": platform.processor() or platform.machine(), "n_questions": n_questions,
                           "n_masks": n_masks, "rounds": rounds, "load_average_start": os.getloadavg(),
                           "results": {}}
    for dtype in dtypes:
        model = load_model(MODEL, dtype=dtype)
        if model.forward_path != "fast" or model.generic is None:
            raise RuntimeError(f"{MODEL} should load on its fast path with the generic one beside; got {model!r}")
        task = tasks.load("ioi", tokenizer=model.tokenizer, seed=seed, n_train=n_questions)
        lengths = [len(model.tokenizer(q.prompt)["input_ids"]) for q in task.train]
        out["task"] = {"name": "ioi", "split": "train", "n_questions": len(lengths), "seed": seed,
                       "prompt_tokens_min": min(lengths), "prompt_tokens_max": max(lengths),
                       "prompt_tokens_mean": float(np.mean(lengths))}
        rows = []
        for layers in parse_layer_ranges(ranges, model.n_layers, model.n_heads):
            players = layer_players(layers, model.n_heads)
            masks = sample_masks(n_masks, len(players), seed=seed)
            ev = MaskEvaluator(model, [q.prompt for q in task.train], task.choice_token_ids(model.tokenizer, "train"),
                               task.answers("train"), players=players, backend="generic")
            row: dict[str, Any] = {"layers": format_layer_range(layers), "start_layer_0based": min(layers),
                                   "n_players": len(players), "generic_backend": ev.backend,
                                   "generic_prefix_cache": ev.prefix is not None,
                                   "max_batch_tokens": ev.max_batch_tokens,
                                   "n_chunks": len(ev.chunks)}
            row |= time_range(model, task, players, masks, rounds)
            print(dtype, {k: row[k] for k in ("layers", "generic_mask_questions_per_s", "fast_mask_questions_per_s",
                                               "ratio_fast_over_generic", "max_abs_diff_logprob")},
                  file=sys.stderr, flush=True)
            rows.append(row)
        out["results"][dtype] = rows
        del model
    out["ratio_fast_over_generic"] = {dtype: {r["layers"]: round(r["ratio_fast_over_generic"], 3) for r in rows}
                                      for dtype, rows in out["results"].items()}
    out["load_average_end"] = os.getloadavg()
    if fp32_check_masks and "float32" not in dtypes:  # a timed float32 run has compared all masks already
        model = load_model(MODEL, dtype="float32")
        task = tasks.load("ioi", tokenizer=model.tokenizer, seed=seed, n_train=n_questions)
        check = []
        for layers in parse_layer_ranges(ranges, model.n_layers, model.n_heads):
            players = layer_players(layers, model.n_heads)
            masks = sample_masks(n_masks, len(players), seed=seed)[:fp32_check_masks]
            diff = compare(scores(model, task, players, masks, "fast"), scores(model, task, players, masks, "generic"))
            check.append({"layers": format_layer_range(layers), "n_masks": len(masks), **diff})
            print("float32", check[-1], file=sys.stderr, flush=True)
        out["float32_agreement"] = check
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m benchmarks.gemma_fast", description=__doc__.split("\n")[0])
    p.add_argument("--dtypes", default="bfloat16", help="timed dtypes, comma-separated (default: bfloat16)")
    p.add_argument("--questions", type=int, default=32, help="IOI train questions per mask (default: 32)")
    p.add_argument("--layers", default="1-6,7-12,13-18,all", help="layer ranges, 1-based (default: 1-6,7-12,13-18,all)")
    p.add_argument("--masks", type=int, default=32, help="masks per timed call (default: 32)")
    p.add_argument("--rounds", type=int, default=3, help="alternating timing rounds, best kept (default: 3)")
    p.add_argument("--fp32-check-masks", type=int, default=8,
                   help="masks scored both ways in float32 for the agreement, untimed (default: 8; 0: skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int,
                   help="torch threads (default: torch's; on a busy machine run with OMP_NUM_THREADS=1)")
    p.add_argument("--json", metavar="PATH", help="also write the JSON there")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    result = provenance(argv, module="benchmarks.gemma_fast") | run(
        dtypes=[d.strip() for d in a.dtypes.split(",") if d.strip()], n_questions=a.questions, ranges=a.layers,
        n_masks=a.masks, rounds=a.rounds, seed=a.seed, fp32_check_masks=a.fp32_check_masks)
    emit_json(result, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
