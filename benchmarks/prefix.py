"""``python -m benchmarks.prefix``: 5-shot MMLU with and without the shared-prefix cache, side by side.

It loads MMLU with ``exemplars="shared"`` (the original protocol: one seeded set of exemplars from the
train split before every question; see :mod:`tasks.exemplars`), so every prompt starts with the same
exemplar block. (With the default per-question exemplars the prompts share only the subject header,
~15-27 tokens, and the automatic choice leaves the cache off.) It scores the test split. It prints
one JSON object: for each layer range, seconds per mask on the plain fast path and with the prefix
cache (best of ``--repeats`` alternating rounds, after a warm-up that also builds the once-per-evaluator
caches), the speed-up, and the float32 agreement of the two paths (max |logprob value difference| and
max |choice logit difference|).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Sequence

import numpy as np
import torch

from benchmarks.common import emit_json, provenance
from headspex.engine.evaluator import MaskEvaluator
from headspex.engine.models import load_model
from headspex.engine.prefix_cache import common_prefix_length, token_saving
from headspex.engine.sampling import sample_masks
from headspex.players import format_layer_range, layer_players, parse_layer_ranges



def build(model: Any, task: Any, players: list, cache: bool | None) -> MaskEvaluator:
    """An evaluator of the test split; ``cache``: the prefix cache on, off, or None (the automatic choice)."""
    qs = task.split("test")
    return MaskEvaluator(model, [q.prompt for q in qs], task.choice_token_ids(model.tokenizer, "test"),
                         task.answers("test"), players=players, prefix_cache=cache)


def time_pair(plain: MaskEvaluator, cached: MaskEvaluator, masks: np.ndarray, repeats: int) -> dict[str, float]:
    """Warm-up (clean caches, allocator), then best-of-``repeats`` seconds per mask, rounds alternating."""
    warm = {}
    for name, ev in (("plain", plain), ("cached", cached)):
        t0 = time.perf_counter()
        ev.scores(masks[:1])
        warm[name] = time.perf_counter() - t0
    best = {"plain": float("inf"), "cached": float("inf")}
    for _ in range(repeats):
        for name, ev in (("plain", plain), ("cached", cached)):
            t0 = time.perf_counter()
            ev.scores(masks)
            best[name] = min(best[name], (time.perf_counter() - t0) / len(masks))
    return {"plain_s_per_mask": best["plain"], "cached_s_per_mask": best["cached"],
            "speedup": best["plain"] / best["cached"], "first_call_s_plain": warm["plain"],
            "first_call_s_cached": warm["cached"]}


def agreement(fp32: Any, task: Any, players: list, masks: np.ndarray) -> dict[str, float]:
    """float32: cached vs plain, max |logprob value difference| and max |choice logit difference|."""
    plain, cached = build(fp32, task, players, False), build(fp32, task, players, True)
    a, b = plain.scores(masks), cached.scores(masks)
    logits = (plain.choice_logits(masks[:1]) - cached.choice_logits(masks[:1])).abs().max()
    return {"fp32_max_abs_diff_logprob": float(np.abs(a["logprob"] - b["logprob"]).max()),
            "fp32_max_abs_diff_margin": float(np.abs(a["margin"] - b["margin"]).max()),
            "fp32_accuracy_equal": bool(np.array_equal(a["accuracy"], b["accuracy"])),
            "fp32_max_abs_diff_choice_logits": float(logits)}


def run(*, subject: str, n_shots: int, n_questions: int, ranges: str, n_masks: int, n_check: int, repeats: int,
        seed: int) -> dict:
    import tasks

    low = load_model("smollm2", dtype=torch.bfloat16)
    fp32 = load_model("smollm2", dtype=torch.float32)
    kw = dict(n_shots=n_shots, tokenizer=low.tokenizer, seed=seed, n_test=n_questions)
    per_question = tasks.load(f"mmlu:{subject}", **kw)
    task = tasks.load(f"mmlu:{subject}", **kw, exemplars="shared")
    tok = low.tokenizer
    own_ids = [tok(q.prompt)["input_ids"] for q in per_question.test]
    ids = [tok(q.prompt)["input_ids"] for q in task.test]
    n_prefix = common_prefix_length(ids)
    auto = build(low, task, layer_players([low.n_layers - 1], low.n_heads), None).prefix is not None
    out: dict[str, Any] = {
        "model": low.name, "dtype": "bfloat16", "threads": torch.get_num_threads(),
        "task": {"name": f"mmlu:{subject}", "n_shots": n_shots, "split": "test", "n_questions": len(ids),
                 "exemplars": task.info["exemplar_policy"], "prefix_cache_chosen_automatically": auto,
                 "prompt_tokens_mean": float(np.mean([len(x) for x in ids])), "prompt_tokens_max": max(len(x) for x in ids),
                 "prefix_tokens": n_prefix, "token_saving": token_saving([len(x) for x in ids], n_prefix),
                 "per_question_exemplars_common_prefix": common_prefix_length(own_ids)},
        "ranges": []}
    for layers in parse_layer_ranges(ranges, low.n_layers, low.n_heads):
        players = layer_players(layers, low.n_heads)
        masks = sample_masks(n_masks, len(players), seed=seed)
        row: dict[str, Any] = {"layers": format_layer_range(layers), "n_players": len(players), "n_masks": n_masks}
        row |= time_pair(build(low, task, players, False), build(low, task, players, True), masks, repeats)
        row |= agreement(fp32, task, players, masks[:n_check])
        print(json.dumps(row), file=sys.stderr)
        out["ranges"].append(row)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m benchmarks.prefix", description=__doc__.split("\n")[0])
    p.add_argument("--subject", default="high_school_geography", help="MMLU subject (default: high_school_geography)")
    p.add_argument("--shots", type=int, default=5, help="few-shot exemplars (default: 5)")
    p.add_argument("--questions", type=int, default=16, help="test questions scored per mask (default: 16)")
    p.add_argument("--layers", default="middle,all", help="layer ranges, 1-based or presets (default: middle,all)")
    p.add_argument("--masks", type=int, default=4, help="masks timed per path and round (default: 4)")
    p.add_argument("--check-masks", type=int, default=2, help="masks for the float32 agreement (default: 2)")
    p.add_argument("--repeats", type=int, default=2, help="alternating timing rounds, best kept (default: 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch threads (default: torch's; 1 is steadier on a busy machine)")
    p.add_argument("--json", metavar="PATH", help="also write the JSON there")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    result = provenance(argv, module="benchmarks.prefix") | run(
        subject=a.subject, n_shots=a.shots, n_questions=a.questions, ranges=a.layers, n_masks=a.masks,
        n_check=a.check_masks, repeats=a.repeats, seed=a.seed)
    emit_json(result, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
