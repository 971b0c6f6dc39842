"""``python -m benchmarks.engine``: the naive loop, the hand-written Hugging Face peer and ``evaluate_masks``, side by side.

For each analysed layer range (the presets initial, middle and final, and the whole model) it times, in
one run, on the same masks and questions:

* naive: what a user would write with TransformerLens: one mask per forward pass through the bridge
  with ``run_with_hooks`` (all questions of the split batched together), full logits, float32;
* hf: the strong peer (:mod:`benchmarks.hf_peer`): a plain Hugging Face copy in ``--dtype`` with SDPA,
  o_proj pre-hooks, masks x questions in one left-padded batch, ``logits_to_keep=1``;
* fast: :func:`headspex.engine.evaluate_masks` with its fast defaults (plain-PyTorch backend, prefix computed
  once below the range, last position only, answer-token logits only) on a model loaded in ``--dtype``.
  On a model without a fast path (``--model gemma3-270m``) this column is the generic path
  (:mod:`headspex.engine.generic_forward`: the model's own forward, pre-hooks at the output projection),
  which does what the peer does; the printed line names the path.

It prints masked question evaluations per second (masks x questions / seconds), the engine's speed-up
over the naive loop and over the peer, and its achieved FLOP rate as a fraction of this machine's
matrix-multiply rate for the dtype (measured in the same run). Agreement: engine float32 vs naive and
vs the peer in float32 (max |value difference|), and ``--dtype`` vs float32 (mean |difference|, share
of masks whose accuracy differs, share of clean answers that differ). ``--cost-model`` runs
:mod:`benchmarks.cost_model` instead (its own options follow).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import torch

from benchmarks.common import dtype_line, dtype_report, flops_per_mask, matmul_tflops, resolve_dtype, naive_values, peak_tflops, provenance, timed  # noqa: F401
from benchmarks.hf_peer import HFPeer, load_peer, peer_values
from headspex.engine.evaluate import evaluate_masks
from headspex.engine.models import load_model
from headspex.engine.sampling import sample_masks
from headspex.players import format_layer_range, layer_players, parse_layer_ranges

DEFAULT_RANGES = "initial,middle,final,all"


@dataclass
class RangeResult:
    """Figures for one analysed layer range (1-based inclusive label, as the CLI writes ranges)."""

    layers: str
    n_players: int
    naive_qps: float  # masked question evaluations per second, naive
    hf_qps: float  # same, the Hugging Face peer in --dtype
    fast_qps: float  # same, evaluate_masks in --dtype
    speedup: float  # fast over naive
    speedup_vs_hf: float  # fast over the peer
    fast_tflops: float
    roofline_fraction: float
    fp32_max_abs_diff: float  # fast float32 vs naive, on the naive masks
    hf_fp32_max_abs_diff: float  # fast float32 vs the peer in float32, on the naive masks
    lowp_mean_abs_diff: float  # fast --dtype vs fast float32, logprob values
    lowp_accuracy_differs: float  # share of masks whose accuracy value differs
    lowp_accuracy_mean_abs_diff: float  # mean |accuracy difference| over masks


@dataclass
class Setup:
    """Everything one run shares across ranges."""

    fp32: Any
    fast_model: Any
    peer: HFPeer
    task: Any
    split: str
    low: torch.dtype
    peak: float
    peer_budget: int


def _setup(model_name: str, task_name: str, dtype: str, split: str, seed: int, device: str) -> Setup:
    import tasks

    from headspex.engine.evaluator import auto_batch_tokens

    low = getattr(torch, dtype)
    fp32 = load_model(model_name, dtype=torch.float32, device=device)
    fast_model = load_model(model_name, dtype=low, device=device) if low != torch.float32 else fp32
    task = tasks.load(task_name, tokenizer=fp32.tokenizer, seed=seed)
    peer = load_peer(model_name, dtype=torch.float32, device=device)  # float32 for the agreement check first
    budget = auto_batch_tokens(fast_model, max(len(q.prompt) for q in task.split(split)))  # the engine's rule
    return Setup(fp32, fast_model, peer, task, split, low, peak_tflops(low, device), budget)


def _peer_fp32(s: Setup, ranges: list[list[int]], n_fast: int, n_naive: int, seed: int) -> list[np.ndarray]:
    """The float32 peer's values on each range's naive masks; then the peer is converted to --dtype once
    (converting back would round its weights)."""
    out = []
    for layers in ranges:
        players = layer_players(layers, s.fp32.n_heads)
        masks = sample_masks(n_fast, len(players), seed=seed)[:n_naive]  # as in _time_range
        out.append(peer_values(s.peer, s.task, masks, players, split=s.split, max_batch_tokens=s.peer_budget))
    s.peer.to(s.low)
    return out


def _alternating(a: Any, b: Any, device: torch.device, repeats: int) -> tuple[tuple[Any, float], tuple[Any, float]]:
    """((a(), its shortest time), (b(), its shortest time)) over ``repeats`` rounds of a then b: the two
    see the same machine state (load, allocator) in turn."""
    runs_a, runs_b = [], []
    for _ in range(repeats):
        runs_a.append(timed(a, device))
        runs_b.append(timed(b, device))
    return ((runs_a[-1][0], min(t for _, t in runs_a)), (runs_b[-1][0], min(t for _, t in runs_b)))


def _all_scores(model: Any, task: Any, masks: np.ndarray, players: list, split: str) -> dict[str, np.ndarray]:
    """Every metric of every mask from one pass (for the agreement figures, not timed)."""
    from headspex.engine.game import MaskGame

    with MaskGame(model, task, players, split=split, progress=False) as game:
        return game.scores(masks)


def _time_range(s: Setup, layers: list[int], n_fast: int, n_naive: int, n_hf: int, seed: int,
                hf32: np.ndarray, repeats: int = 1) -> RangeResult:
    """Time and compare the three paths on one range; ``hf32``: the float32 peer's values on the naive masks.
    The peer and the engine are timed in ``repeats`` alternating rounds (best kept)."""
    players = layer_players(layers, s.fp32.n_heads)
    masks = sample_masks(n_fast, len(players), seed=seed)
    kw = dict(players=players, metric="logprob", split=s.split, progress=False)
    dev, n_q = s.fp32.device, len(s.task.split(s.split))
    naive, t_naive = timed(lambda: naive_values(s.fp32, s.task, masks[:n_naive], players, s.split), dev)
    peer_values(s.peer, s.task, masks[:1], players, split=s.split, max_batch_tokens=s.peer_budget)  # warm-up
    evaluate_masks(s.fast_model, s.task, masks[:1], **kw)  # warm-up: tokenisation and allocator
    (_, t_hf), (fast, t_fast) = _alternating(
        lambda: peer_values(s.peer, s.task, masks[:n_hf], players, split=s.split, max_batch_tokens=s.peer_budget),
        lambda: evaluate_masks(s.fast_model, s.task, masks, **kw), dev, repeats)
    all32, all_low = (_all_scores(m, s.task, masks, players, s.split) for m in (s.fp32, s.fast_model))
    fast32_all, acc32, acc_low = all32["logprob"], all32["accuracy"], all_low["accuracy"]
    fast32 = fast32_all[:n_naive]  # the engine in float32 on the naive masks
    naive_qps, hf_qps, fast_qps = n_naive * n_q / t_naive, n_hf * n_q / t_hf, n_fast * n_q / t_fast
    start = min(layers) if s.fast_model.forward_path == "fast" else 0  # the generic path runs every layer
    tflops = flops_per_mask(s.fp32, s.task, s.split, start) * n_fast / t_fast / 1e12
    return RangeResult(
        layers=format_layer_range(layers), n_players=len(players), naive_qps=naive_qps, hf_qps=hf_qps,
        fast_qps=fast_qps, speedup=fast_qps / naive_qps, speedup_vs_hf=fast_qps / hf_qps, fast_tflops=tflops,
        roofline_fraction=tflops / s.peak, fp32_max_abs_diff=float(np.abs(fast32 - naive).max()),
        hf_fp32_max_abs_diff=float(np.abs(fast32 - hf32).max()),
        lowp_mean_abs_diff=float(np.abs(fast - fast32_all).mean()),
        lowp_accuracy_differs=float(np.mean(acc32 != acc_low)),
        lowp_accuracy_mean_abs_diff=float(np.mean(np.abs(acc32 - acc_low))))


def run(*, model_name: str = "smollm2", task_name: str = "capitals", ranges: str = DEFAULT_RANGES,
        n_fast: int = 32, n_naive: int = 4, n_hf: int | None = None, dtype: str = "auto", split: str = "train",
        seed: int = 0, device: str = "cpu", repeats: int = 3, out: Any = sys.stdout) -> dict:
    """Run the benchmark; returns the JSON-able result (also printed as a table to ``out``)."""
    dtypes = dtype_report(device)
    dtype = resolve_dtype(dtype, device)
    print(dtype_line(dtypes), file=out)
    s = _setup(model_name, task_name, dtype, split, seed, device)
    n_hf = n_hf or n_fast
    n_q = len(s.task.split(split))
    threads = torch.get_num_threads()
    print(f"model {s.fp32.name} ({s.fp32.n_layers}x{s.fp32.n_heads} heads, engine on the {s.fast_model.forward_path} "
          f"path) on {device}, task {s.task.name} ({split}: "
          f"{n_q} questions), dtype {dtype}, {threads} threads; matmul peak {s.peak:.2f} TFLOP/s ({dtype})", file=out)
    results = []
    layer_ranges = parse_layer_ranges(ranges, s.fp32.n_layers, s.fp32.n_heads)
    hf32_all = _peer_fp32(s, layer_ranges, n_fast, n_naive, seed)
    for layers, hf32 in zip(layer_ranges, hf32_all):
        r = _time_range(s, layers, n_fast, n_naive, n_hf, seed, hf32, repeats)
        results.append(r)
        print(f"layers {r.layers:>6}: naive {r.naive_qps:8.1f} q/s  hf {r.hf_qps:8.1f} q/s  fast {r.fast_qps:9.1f} q/s  "
              f"speed-up {r.speedup:6.1f}x (vs hf {r.speedup_vs_hf:5.2f}x)  {r.fast_tflops:.3f} TFLOP/s = "
              f"{r.roofline_fraction:.1%} of peak  |fp32-naive| {r.fp32_max_abs_diff:.1e} |fp32-hf| "
              f"{r.hf_fp32_max_abs_diff:.1e}  {dtype}: mean|d| {r.lowp_mean_abs_diff:.4f}, accuracy differs on "
              f"{r.lowp_accuracy_differs:.0%} of masks (mean |d| {r.lowp_accuracy_mean_abs_diff:.4f})", file=out)
    clean = _clean_agreement(s.fp32, s.fast_model, s.task, split)
    s.peak = max(s.peak, peak_tflops(s.low, device))  # measured again after the timings: the best of both
    for r in results:
        r.roofline_fraction = r.fast_tflops / s.peak
    print(f"matmul peak, best of before and after: {s.peak:.3f} TFLOP/s; share reached: "
          + ", ".join(f"{r.layers} {r.roofline_fraction:.1%}" for r in results), file=out)
    print(f"clean model, {dtype} vs float32: answers differ on {clean:.1%} of {n_q} questions", file=out)
    return {"model": s.fp32.name, "forward_path": s.fast_model.forward_path, "task": s.task.name, "split": split, "n_questions": n_q, "dtype": dtype,
            "device": str(s.fp32.device), "device_name": _device_name(s.fp32.device), "n_fast_masks": n_fast,
            "n_naive_masks": n_naive, "n_hf_masks": n_hf, "repeats": repeats, "hf_max_batch_tokens": s.peer_budget,
            "threads": threads,
            "matmul_tflops": s.peak, "dtypes": dtypes, "clean_answers_differ": clean, "ranges": [asdict(r) for r in results]}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return platform.processor() or platform.machine()


def _clean_agreement(fp32: Any, low: Any, task: Any, split: str) -> float:
    """Share of questions whose argmax choice differs between the two dtypes (no ablation)."""
    from headspex.engine.evaluator import MaskEvaluator

    def argmax(model: Any) -> torch.Tensor:
        ev = MaskEvaluator(model, [q.prompt for q in task.split(split)], task.choice_token_ids(model.tokenizer, split),
                           task.answers(split), players=[(0, 0)])
        return ev.choice_logits(np.ones((1, 1))).cpu()[0].argmax(-1)

    return float((argmax(fp32) != argmax(low)).double().mean())


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--cost-model" in args:
        from benchmarks.cost_model import main as cost_main

        return cost_main([a for a in args if a != "--cost-model"])
    p = argparse.ArgumentParser(prog="python -m benchmarks.engine", description=__doc__.split("\n")[0],
                                epilog="--cost-model: run the measured cost model instead (python -m benchmarks.engine "
                                       "--cost-model --help)")
    p.add_argument("--model", default="smollm2", help="alias, hub id, path or random:NAME (default: smollm2)")
    p.add_argument("--task", default="capitals", help="task name (default: capitals)")
    p.add_argument("--layers", default=DEFAULT_RANGES,
                   help=f"1-based inclusive ranges or presets, 'all' = the whole model (default: {DEFAULT_RANGES})")
    p.add_argument("--masks", type=int, default=32, help="masks timed on the fast path (default: 32)")
    p.add_argument("--naive-masks", type=int, default=4, help="masks timed on the naive path (default: 4)")
    p.add_argument("--hf-masks", type=int, default=None, help="masks timed on the Hugging Face peer (default: --masks)")
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32", "float16"],
                   help="dtype of the fast path and the peer (default: auto, the dtype a study would use on this "
                        "machine: bfloat16 where it is fast, float32 on CPUs without bf16 units)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device (default: cpu)")
    p.add_argument("--repeats", type=int, default=3,
                   help="alternating timing rounds of the peer and the engine, best kept (default: 3)")
    p.add_argument("--split", default="train", help="task split (default: train)")
    p.add_argument("--seed", type=int, default=0, help="mask and task seed (default: 0)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON (with command, commit and time)")
    a = p.parse_args(args)
    hf_ok = a.hf_masks is None or 1 <= a.hf_masks <= a.masks
    if a.repeats < 1 or a.masks < 1 or not 1 <= a.naive_masks <= a.masks or not hf_ok:
        p.error("need --repeats >= 1, 1 <= --naive-masks <= --masks and 1 <= --hf-masks <= --masks")
    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is visible to PyTorch here")
    result = run(model_name=a.model, task_name=a.task, ranges=a.layers, n_fast=a.masks, n_naive=a.naive_masks,
                 n_hf=a.hf_masks, dtype=a.dtype, split=a.split, seed=a.seed, device=a.device, repeats=a.repeats)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({**provenance(args), **result}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
