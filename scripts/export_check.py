"""Export SmolLM2 with ~50% of its heads deleted and print, as JSON: parameter counts, the largest logit
difference from the masked original, and the forward latency of pruned vs unpruned (interleaved).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/export_check.py [--ablation zero] [--keep 0.5] [--repeats 20]

The keep mask is seeded and random, and always removes one whole layer and one whole KV group. The
masked original is a plain Hugging Face copy of the model with the removed heads zeroed (or set to
their means) at the input of o_proj. Logit differences are given in float32 and, with both models cast
to float64, in float64; in float32 the pruned model's o_proj sums over fewer inputs, in another order,
so its rounding differs from the masked model's (compare each one's float32-vs-float64 error).
Latency: the plain copy without hooks (SDPA attention, like the pruned model), an export that keeps
every head (the pruned model's code path, nothing removed) and the pruned model, timed interleaved.
Prompts: the 16 IOI prompts of ``tasks.load("ioi", n_train=8, n_test=8)`` (~14-19 tokens).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from headspex.export.reference import masked_logits  # noqa: E402


def random_keep_mask(n_layers: int, n_heads: int, n_kv: int, keep: float, seed: int, *,
                     whole_layer: int, kv_group: tuple[int, int]) -> np.ndarray:
    """[n_layers, n_heads] 0/1 with round(keep * n_layers * n_heads) heads kept at random, none of layer
    ``whole_layer`` and none of KV group ``kv_group = (layer, group)``."""
    rng = np.random.default_rng(seed)
    group = n_heads // n_kv
    forced = np.zeros((n_layers, n_heads), dtype=bool)
    forced[whole_layer] = True
    forced[kv_group[0], kv_group[1] * group:(kv_group[1] + 1) * group] = True
    free = np.flatnonzero(~forced.ravel())
    mask = np.zeros(n_layers * n_heads, dtype=np.int64)
    mask[rng.choice(free, size=int(round(keep * n_layers * n_heads)), replace=False)] = 1
    return mask.reshape(n_layers, n_heads)


@torch.no_grad()
def logit_differences(plain, pruned, keep: np.ndarray, ids: torch.Tensor, am: torch.Tensor, ablation: str,
                      means: torch.Tensor | None, pruned64) -> dict[str, float]:
    """Max abs logit differences, every position: pruned vs masked original in float32, and in float64
    (``pruned64``: a float64 export of the float64 model), and each float32 model vs the float64 masked
    original (the float32 rounding error of each)."""
    ref32 = masked_logits(plain, keep, ids, am, ablation=ablation, means=means)
    got32 = pruned(input_ids=ids, attention_mask=am).logits.float()
    plain.double()
    try:
        ref64 = masked_logits(plain, keep, ids, am, ablation=ablation, means=means)
    finally:
        plain.float()
    got64 = pruned64(input_ids=ids, attention_mask=am).logits
    return {"float32": (got32 - ref32).abs().max().item(), "float64": (got64 - ref64).abs().max().item(),
            "masked_float32_vs_float64": (ref32.double() - ref64).abs().max().item(),
            "pruned_float32_vs_float64": (got32.double() - ref64).abs().max().item(),
            "logit_abs_max": ref32.abs().max().item(),
            "same_argmax_real_positions": bool((ref32.argmax(-1) == got32.argmax(-1))[am.bool()].all())}


def export_float64(keep: np.ndarray, ablation: str, means: torch.Tensor | None, path: Path):
    """The same export from the float64 model, loaded in float64."""
    from headspex.engine.models import load_model
    from headspex.export.checkpoint import export_pruned

    model64 = load_model("smollm2", dtype=torch.float64, device="cpu")
    export_pruned(model64, keep, path, ablation=ablation, means=means)
    del model64
    return load_model(str(path), dtype=torch.float64, device="cpu").hf_model


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ablation", choices=("zero", "mean"), default="zero")
    ap.add_argument("--keep", type=float, default=0.5, help="fraction of heads kept (0.5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=20, help="timed forward passes per model (20)")
    ap.add_argument("--out", default=None, help="checkpoint directory (default: a temporary one, deleted)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads for the timing (torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    import tasks
    from headspex.engine.models import load_model
    from headspex.engine.sources.embedded import load_embedded
    from headspex.export.checkpoint import export_pruned
    from headspex.export.latency import compare_latency, count_parameters
    from hooks import compute_head_means, tokenize_left_padded

    model = load_model("smollm2", dtype="float32", device="cpu")
    task = tasks.load("ioi", n_train=8, n_test=8, tokenizer=model.tokenizer)
    prompts = [q.prompt for q in (*task.train, *task.test)]
    ids, am = tokenize_left_padded(model.tokenizer, prompts)
    keep = random_keep_mask(model.n_layers, model.n_heads, model.n_kv_heads, args.keep, args.seed,
                            whole_layer=model.n_layers // 2, kv_group=(3, 1))
    means = compute_head_means(model, prompts) if args.ablation == "mean" else None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.out) if args.out else Path(tmp) / "smollm2-pruned"
        summary = export_pruned(model, keep, path, ablation=args.ablation, means=means, overwrite=True)
        export_pruned(model, np.ones_like(keep), Path(tmp) / "all-kept")  # control: same code path, nothing removed
        del model
        pruned = load_model(str(path), dtype="float32", device="cpu").hf_model
        all_kept = load_model(str(Path(tmp) / "all-kept"), dtype="float32", device="cpu").hf_model
        plain = load_embedded(torch.float32)[0].eval()
        pruned64 = export_float64(keep, args.ablation, means, Path(tmp) / "pruned-float64")
        diffs = logit_differences(plain, pruned, keep, ids, am, args.ablation, means, pruned64)
        del pruned64
        latency = compare_latency({"unpruned": plain, "all_kept_export": all_kept, "pruned": pruned}, ids, am,
                                  repeats=args.repeats)
    out = {
        "model": "smollm2 (SmolLM2-135M-Instruct), float32, cpu", "ablation": args.ablation, "seed": args.seed,
        "heads_kept": summary.n_heads_after, "heads_total": summary.n_heads_before,
        "kv_heads_kept": summary.n_kv_heads_after, "kv_heads_total": summary.n_kv_heads_before,
        "layers_without_heads": [i for i, h in enumerate(summary.kept_heads) if not h],
        "parameters_before": summary.parameters_before, "parameters_after": summary.parameters_after,
        "parameters_after_loaded": count_parameters(pruned),
        "parameters_removed_fraction": round(1 - summary.parameters_after / summary.parameters_before, 4),
        "max_abs_logit_diff_vs_masked": diffs, "batch": list(ids.shape), "latency": latency,
        "speedup_min_vs_unpruned": latency["unpruned"]["min_s"] / latency["pruned"]["min_s"],
        "speedup_median_vs_unpruned": latency["unpruned"]["median_s"] / latency["pruned"]["median_s"],
        "speedup_median_vs_all_kept_export": latency["all_kept_export"]["median_s"] / latency["pruned"]["median_s"],
        "torch_threads": torch.get_num_threads(), "load_average": list(os.getloadavg()),
        "export_seconds": summary.seconds,
    }
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
