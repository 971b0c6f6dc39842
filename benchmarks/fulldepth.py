"""``python -m benchmarks.fulldepth``: the fast path at full depth (players from layer 0), before vs after.

Every layer runs per mask when the analysed range starts at layer 0, so short prompts (IOI, ~17 tokens)
spend their time in the per-token matrix products and in the small operations between them. This script
times, side by side in one process (alternating rounds, best kept), the evaluator of a reference commit
(``--before``, loaded from git with its ``fast_forward``) and the working tree's at several
``max_batch_tokens`` values, each fed masks in the steps the local executor uses (``masks_per_step``).
It prints one JSON object: masked question evaluations per second (per process-CPU second, the steadier
figure on a shared machine, and per wall second), the speed-up, the achieved matmul FLOP rate as a
fraction of this machine's bf16 matrix-multiply rate measured in the same run (FLOPs counted by
:func:`benchmarks.engine.flops_per_mask`), the float32 agreement of the two versions, and optionally
(``--profile``) the operators the time goes to.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from benchmarks.engine import flops_per_mask, matmul_tflops
from headspex.engine.evaluator import MaskEvaluator
from headspex.engine.models import load_model
from headspex.engine.sampling import sample_masks
from headspex.players import layer_players

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "7fd424bd91a4b5bb85b83377a13afc7195523ac5"  # the engine before the shared-prefix and full-depth work


def load_before(rev: str) -> type:
    """``MaskEvaluator`` of commit ``rev``, running on that commit's ``fast_forward``."""
    def module(name: str, path: str) -> types.ModuleType:
        src = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        mod = types.ModuleType(name)
        mod.__file__ = f"{rev[:12]}:{path}"
        sys.modules[name] = mod  # dataclasses look their module up
        exec(compile(src, mod.__file__, "exec"), mod.__dict__)
        return mod

    old_ff = module("_before_fast_forward", "headspex/engine/fast_forward.py")
    old_ev = module("_before_evaluator", "headspex/engine/evaluator.py")
    old_ev.ff = old_ff
    return old_ev.MaskEvaluator


def make(cls: type, model: Any, task: Any, players: list, batch_tokens: int | None) -> Any:
    qs = task.split("train")
    return cls(model, [q.prompt for q in qs], task.choice_token_ids(model.tokenizer, "train"), task.answers("train"),
               players=players, max_batch_tokens=batch_tokens)


def time_all(evaluators: dict[str, Any], masks: np.ndarray, repeats: int) -> dict[str, dict[str, float]]:
    """Best wall and process-CPU seconds of ``scores(masks)`` per evaluator, rounds alternating, after a warm-up.

    On a shared machine the CPU time of a one-thread run is the steadier figure (it leaves out the time
    the process waits for a core); the rates below use it.
    """
    for ev in evaluators.values():
        like_executor(ev, masks[:2])
    best = {name: {"wall_s": float("inf"), "cpu_s": float("inf")} for name in evaluators}
    for _ in range(repeats):
        for name, ev in evaluators.items():
            t0, c0 = time.perf_counter(), time.process_time()
            like_executor(ev, masks)
            best[name]["wall_s"] = min(best[name]["wall_s"], time.perf_counter() - t0)
            best[name]["cpu_s"] = min(best[name]["cpu_s"], time.process_time() - c0)
    return best


def like_executor(ev: Any, masks: np.ndarray) -> None:
    """Score ``masks`` in the steps :class:`~headspex.engine.executors.LocalExecutor` hands the evaluator."""
    from headspex.engine.executors import MAX_CHUNK

    step = min(MAX_CHUNK, ev.masks_per_step())
    for start in range(0, len(masks), step):
        ev.scores(masks[start:start + step])


def matmul_rate(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> dict[str, float]:
    """This machine's matrix-multiply rate in TFLOP/s per wall second (:func:`benchmarks.engine.matmul_tflops`)
    and per process-CPU second (best of ``repeats``)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        c0 = time.process_time()
        a @ b
        best = min(best, time.process_time() - c0)
    return {"wall": matmul_tflops(dtype, n, repeats), "cpu": 2 * n**3 / best / 1e12}


def profile_ops(fn: Callable[[], Any], top: int = 12) -> list[dict[str, Any]]:
    """Share of wall time per torch operator (self time) for one call of ``fn``."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in rows)
    return [{"op": e.key, "share": e.self_cpu_time_total / total, "calls": e.count} for e in rows[:top]]


def run(*, n_questions: int, n_masks: int, caps: Sequence[int], repeats: int, before: str, n_check: int,
        profile: bool, seed: int) -> dict[str, Any]:
    import tasks

    low = load_model("smollm2", dtype=torch.bfloat16)
    task = tasks.load("ioi", n_train=n_questions, n_test=n_questions, tokenizer=low.tokenizer, seed=seed)
    players = layer_players(range(low.n_layers), low.n_heads)
    masks = sample_masks(n_masks, len(players), seed=seed)
    old_cls = load_before(before)
    evaluators = {"before@8192": make(old_cls, low, task, players, 8192)}
    evaluators |= {f"after@{cap}": make(MaskEvaluator, low, task, players, cap) for cap in caps}
    peaks = [matmul_rate(torch.bfloat16)]
    seconds = time_all(evaluators, masks, repeats)
    peaks.append(matmul_rate(torch.bfloat16))  # again after the timings: the machine may be shared
    peak = {k: max(p[k] for p in peaks) for k in ("wall", "cpu")}
    flops = flops_per_mask(low, task, "train", 0) * n_masks
    base = seconds["before@8192"]["cpu_s"]
    rows = {name: {**s, "question_evals_per_cpu_s": n_masks * n_questions / s["cpu_s"],
                   "question_evals_per_wall_s": n_masks * n_questions / s["wall_s"],
                   "speedup_vs_before_cpu": base / s["cpu_s"], "tflops_per_cpu_s": flops / s["cpu_s"] / 1e12,
                   "fraction_of_bf16_matmul_peak_cpu": flops / s["cpu_s"] / 1e12 / peak["cpu"],
                   "fraction_of_bf16_matmul_peak_wall": flops / s["wall_s"] / 1e12 / peak["wall"]}
            for name, s in seconds.items()}
    out: dict[str, Any] = {
        "model": low.name, "dtype": "bfloat16", "threads": torch.get_num_threads(), "before": before,
        "task": {"name": "ioi", "split": "train", "n_questions": n_questions,
                 "prompt_tokens_mean": float(np.mean([len(low.tokenizer(q.prompt)["input_ids"]) for q in task.train]))},
        "layers": f"1-{low.n_layers}", "n_masks": n_masks, "bf16_matmul_tflops": peak, "flops_per_call": flops,
        "prefix_cache_chosen": evaluators[f"after@{caps[0]}"].prefix is not None, "results": rows,
        "fp32_max_abs_diff_logprob_vs_before": fp32_agreement(old_cls, task, players, masks[:n_check])}
    if profile:
        best = max((n for n in rows if n.startswith("after")), key=lambda n: rows[n]["question_evals_per_cpu_s"])
        out["profile"] = {name: profile_ops(lambda: like_executor(evaluators[name], masks)) for name in ("before@8192", best)}
    return out


def fp32_agreement(old_cls: type, task: Any, players: list, masks: np.ndarray) -> float:
    """float32: max |logprob value difference| between the reference commit's fast path and this one."""
    fp32 = load_model("smollm2", dtype=torch.float32)
    old = make(old_cls, fp32, task, players, None).scores(masks)["logprob"]
    new = make(MaskEvaluator, fp32, task, players, None).scores(masks)["logprob"]
    return float(np.abs(old - new).max())


def main(argv: Sequence[str] | None = None) -> int:
    from benchmarks.common import emit_json, provenance

    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m benchmarks.fulldepth", description=__doc__.split("\n")[0])
    p.add_argument("--questions", type=int, default=32, help="IOI questions (default: 32)")
    p.add_argument("--masks", type=int, default=32, help="masks per timed call (default: 32)")
    p.add_argument("--caps", default="4096,8192,16384", help="max_batch_tokens values to time (default: 4096,8192,16384)")
    p.add_argument("--repeats", type=int, default=2, help="alternating timing rounds, best kept (default: 2)")
    p.add_argument("--before", default=BEFORE, help="reference commit (default: the engine before this work)")
    p.add_argument("--check-masks", type=int, default=4, help="masks for the float32 agreement (default: 4)")
    p.add_argument("--profile", action="store_true", help="add the top operators of before and the best after")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's; 1 is steadier on a busy machine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write the JSON there")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    caps = [int(c) for c in a.caps.split(",")]
    result = provenance(argv, module="benchmarks.fulldepth") | run(
        n_questions=a.questions, n_masks=a.masks, caps=caps, repeats=a.repeats, before=a.before,
        n_check=a.check_masks, profile=a.profile, seed=a.seed)
    emit_json(result, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
