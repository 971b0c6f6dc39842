"""``python -m headspex.bench``: naive TransformerLens mask evaluation vs ``evaluate_masks``, side by side.

For each analysed layer range (start, middle and end of the model) it times, in one run:

* naive: what a user would write with TransformerLens: one mask per forward pass through the bridge
  with ``run_with_hooks`` (all questions of the split batched together), full logits, float32;
* fast: :func:`headspex.evaluate_masks` with its fast defaults (plain-PyTorch backend, prefix cached
  below the range, last position only, answer-token logits only) on a model loaded in ``--dtype``.

It prints masked question evaluations per second (masks x questions / seconds) for both, the
speed-up, and the fast path's achieved FLOP rate as a fraction of this machine's matrix-multiply
rate for the dtype (measured in the same run). It also reports agreement: fast float32 vs naive
(max |value difference|), and ``--dtype`` vs float32 (mean |difference|, share of masks whose
accuracy differs, share of clean answers that differ).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import torch

from hooks import HeadAblation, tokenize_left_padded

from headspex.engine.evaluate import evaluate_masks
from headspex.engine.models import load_model
from headspex.players import format_layer_range, layer_players, parse_layer_ranges
from headspex.engine.sampling import sample_masks


@dataclass
class RangeResult:
    """Figures for one analysed layer range (1-based inclusive label, as the CLI writes ranges)."""

    layers: str
    n_players: int
    naive_qps: float  # masked question evaluations per second, naive
    fast_qps: float  # same, evaluate_masks
    speedup: float
    fast_tflops: float
    roofline_fraction: float
    fp32_max_abs_diff: float  # fast float32 vs naive, on the naive masks
    lowp_mean_abs_diff: float  # fast --dtype vs fast float32, logprob values
    lowp_accuracy_differs: float  # share of masks whose accuracy value differs
    lowp_accuracy_mean_abs_diff: float  # mean |accuracy difference| over masks


def matmul_tflops(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    """This machine's dense matrix-multiply rate for ``dtype`` in TFLOP/s (best of ``repeats``)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e12


def flops_per_mask(model: Any, task: Any, split: str, start_layer: int) -> float:
    """Matrix-multiply FLOPs the fast path spends per mask: layers start.. on every token (the last
    layer on the last position only), attention scores, and answer-token logits."""
    cfg = model.hf_model.config
    d, ff, n_h, n_kv, dh = cfg.hidden_size, cfg.intermediate_size, model.n_heads, model.n_kv_heads, model.d_head
    per_token_layer = 2 * (d * n_h * dh + 2 * d * n_kv * dh + n_h * dh * d + 3 * d * ff)
    total = 0.0
    for q in task.split(split):
        t = len(model.tokenizer(q.prompt)["input_ids"])
        attn = 2 * 2 * n_h * dh * t * t  # QK^T and AV (full square; causal half is still computed)
        layers = model.n_layers - start_layer
        total += (layers - 1) * (per_token_layer * t + attn) + per_token_layer + 2 * 2 * n_h * dh * t
        total += 2 * d * task.n_choices
    return total


def naive_values(model: Any, task: Any, masks: np.ndarray, players: Sequence[tuple[int, int]], split: str) -> np.ndarray:
    """Mean correct-choice log-probability per mask, one TransformerLens forward pass per mask."""
    questions = task.split(split)
    ids, am = tokenize_left_padded(model.tokenizer, [q.prompt for q in questions], model.device)
    choice = task.choice_token_ids(model.tokenizer, split)
    answers = task.answers(split)
    out = []
    with torch.inference_mode():
        for mask in masks:
            rows = torch.as_tensor(mask, dtype=torch.float32)[None].expand(len(questions), -1)
            ablation = HeadAblation(rows, n_layers=model.n_layers, n_heads=model.n_heads, players=players)
            logits = model.bridge.run_with_hooks(ids, fwd_hooks=ablation.fwd_hooks(), attention_mask=am)
            picked = logits[:, -1].float().gather(1, choice)
            out.append(float(torch.log_softmax(picked, -1)[torch.arange(len(questions)), answers].mean()))
    return np.array(out)


def run(*, model_name: str = "smollm2", task_name: str = "capitals", ranges: str = "initial,middle,final",
        n_fast: int = 64, n_naive: int = 4, dtype: str = "bfloat16", split: str = "train", seed: int = 0,
        out: Any = sys.stdout) -> dict:
    """Run the benchmark; returns the JSON-able result (also printed as a table to ``out``)."""
    import tasks

    low = getattr(torch, dtype)
    fp32 = load_model(model_name, dtype=torch.float32)
    fast_model = load_model(model_name, dtype=low) if low != torch.float32 else fp32
    task = tasks.load(task_name, tokenizer=fp32.tokenizer, seed=seed)
    n_q = len(task.split(split))
    peak = matmul_tflops(low)
    print(f"model {fp32.name} ({fp32.n_layers}x{fp32.n_heads} heads), task {task.name} ({split}: {n_q} questions), "
          f"fast dtype {dtype}, {torch.get_num_threads()} threads; matmul peak {peak:.2f} TFLOP/s ({dtype})", file=out)
    results = []
    for layers in parse_layer_ranges(ranges, fp32.n_layers):
        players = layer_players(layers, fp32.n_heads)
        masks = sample_masks(n_fast, len(players), seed=seed)
        kw = dict(players=players, metric="logprob", split=split, progress=False)
        t0 = time.perf_counter()
        naive = naive_values(fp32, task, masks[:n_naive], players, split)
        t_naive = time.perf_counter() - t0
        fast32 = evaluate_masks(fp32, task, masks[:n_naive], **kw)
        evaluate_masks(fast_model, task, masks[:1], **kw)  # warm-up: tokenisation and allocator
        t0 = time.perf_counter()
        fast = evaluate_masks(fast_model, task, masks, **kw)
        t_fast = time.perf_counter() - t0
        fast32_all = evaluate_masks(fp32, task, masks, **kw) if low != torch.float32 else fast
        acc32 = evaluate_masks(fp32, task, masks, **{**kw, "metric": "accuracy"})
        acc_low = evaluate_masks(fast_model, task, masks, **{**kw, "metric": "accuracy"})
        naive_qps, fast_qps = n_naive * n_q / t_naive, n_fast * n_q / t_fast
        tflops = flops_per_mask(fp32, task, split, min(layers)) * n_fast / t_fast / 1e12
        results.append(RangeResult(
            layers=format_layer_range(layers), n_players=len(players), naive_qps=naive_qps, fast_qps=fast_qps,
            speedup=fast_qps / naive_qps, fast_tflops=tflops, roofline_fraction=tflops / peak,
            fp32_max_abs_diff=float(np.abs(fast32 - naive).max()),
            lowp_mean_abs_diff=float(np.abs(fast - fast32_all).mean()),
            lowp_accuracy_differs=float(np.mean(acc32 != acc_low)),
            lowp_accuracy_mean_abs_diff=float(np.mean(np.abs(acc32 - acc_low)))))
        r = results[-1]
        print(f"layers {r.layers:>6}: naive {r.naive_qps:8.1f} q/s  fast {r.fast_qps:9.1f} q/s  speed-up {r.speedup:6.1f}x  "
              f"{r.fast_tflops:.3f} TFLOP/s = {r.roofline_fraction:.1%} of peak  |fp32-naive| {r.fp32_max_abs_diff:.1e}  "
              f"{dtype}: mean|d| {r.lowp_mean_abs_diff:.4f}, accuracy differs on {r.lowp_accuracy_differs:.0%} of masks "
              f"(mean |d| {r.lowp_accuracy_mean_abs_diff:.4f})",
              file=out)
    clean = _clean_agreement(fp32, fast_model, task, split)
    print(f"clean model, {dtype} vs float32: answers differ on {clean:.1%} of {n_q} questions", file=out)
    return {"model": fp32.name, "task": task.name, "split": split, "n_questions": n_q, "dtype": dtype,
            "n_fast_masks": n_fast, "n_naive_masks": n_naive, "threads": torch.get_num_threads(),
            "matmul_tflops": peak, "clean_answers_differ": clean, "ranges": [asdict(r) for r in results]}


def _clean_agreement(fp32: Any, low: Any, task: Any, split: str) -> float:
    """Share of questions whose argmax choice differs between the two dtypes (no ablation)."""
    from headspex.engine.evaluator import MaskEvaluator

    def argmax(model: Any) -> torch.Tensor:
        ev = MaskEvaluator(model, [q.prompt for q in task.split(split)], task.choice_token_ids(model.tokenizer, split),
                           task.answers(split), players=[(0, 0)])
        return ev.choice_logits(np.ones((1, 1)))[0].argmax(-1)

    return float((argmax(fp32) != argmax(low)).double().mean())


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m headspex.bench", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2", help="model alias, hub id or path (default: smollm2)")
    p.add_argument("--task", default="capitals", help="task name (default: capitals)")
    p.add_argument("--layers", default="initial,middle,final",
                   help="1-based inclusive ranges or presets (default: initial,middle,final)")
    p.add_argument("--masks", type=int, default=64, help="masks timed on the fast path (default: 64)")
    p.add_argument("--naive-masks", type=int, default=4, help="masks timed on the naive path (default: 4)")
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32", "float16"],
                   help="dtype of the fast path (default: bfloat16)")
    p.add_argument("--split", default="train", help="task split (default: train)")
    p.add_argument("--seed", type=int, default=0, help="mask and task seed (default: 0)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    a = p.parse_args(argv)
    if a.masks < 1 or a.naive_masks < 1 or a.naive_masks > a.masks:
        p.error("need 1 <= --naive-masks <= --masks")
    result = run(model_name=a.model, task_name=a.task, ranges=a.layers, n_fast=a.masks, n_naive=a.naive_masks,
                 dtype=a.dtype, split=a.split, seed=a.seed)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
