"""Write the cost model's figures: ``cost_model.json`` (everything) and ``cost_model.md`` (the summary)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.common import dtype_line
from benchmarks.cost_fit import GPU_PEAKS_TFLOPS, STATED_UTILISATION


def assumptions(result: dict[str, Any]) -> str:
    """The paragraph of assumptions behind the predicted times (for the README)."""
    study, cost = result["study"], result["study"]["cost"]
    peaks = ", ".join(f"{k} {v:.0f}" for k, v in GPU_PEAKS_TFLOPS.items())
    return (
        f"Assumptions: the engine's cost is linear in token-layers (one question token through one decoder layer "
        f"for one mask) plus the attention square; it was measured on random-weight models with the real shapes "
        f"({', '.join(result['models'])}) in {result['dtype']} on {result['machine']}, and the rate of "
        f"{study['rate_from']} is used. The study is {cost['n_masks']:,} masks per range x {len(cost['lengths'])} "
        f"training questions, zero-shot full prompts of {min(study['raw_lengths'])}-{max(study['raw_lengths'])} tokens "
        f"(mean {sum(study['raw_lengths']) / len(study['raw_lengths']):.0f}) counted with the "
        f"{study['lengths_counted_by']} tokenizer and padded as the engine batches them; Llama 3's tokenizer gives "
        f"somewhat fewer tokens for English, so the times are a slight over-estimate. Ranges "
        f"{', '.join(cost['ranges'])} run {', '.join(map(str, cost['layers_run']))} layers per mask (the layers below a "
        f"range run once per question, not counted). The GPU figures divide the study's FLOPs by the dense bf16 peak "
        f"({peaks} TFLOP/s) times either the fraction of peak the engine achieved here "
        f"({study['achieved_fraction']:.0%}: an assumption, GPUs may do better or worse) or a stated "
        f"{STATED_UTILISATION:.0%}; they leave out model loading, the pilot and test-split evaluations (a few hundred "
        f"masks more per range) and the proxy fits."
    )


def markdown(result: dict[str, Any]) -> str:
    """The summary table: fits, the study's size and its predicted times."""
    study, cost = result["study"], result["study"]["cost"]
    lines = [
        "# Cost model of mask evaluation", "",
        f"`{result['command']}` at commit `{result['commit']}`, {result['time']}; {result['machine']}, "
        f"{result['dtype']}, matmul peak {result['matmul_tflops']:.2f} TFLOP/s (best of measurements before and "
        "after the timings).", "",
        *([f"Each dtype on this machine: {dtype_line(result['dtypes'])}.", ""] if "dtypes" in result else []),
        "Per model, least squares of the measured seconds on [1, token-layers] and on [1, FLOPs] (the intercept: "
        "seconds per call); residuals of the FLOP fit.", "",
        "| model | s per token-layer | R^2 | achieved TFLOP/s | R^2 | largest residual | median relative residual |",
        "|---|---|---|---|---|---|---|",
    ]
    if "repriced" in result:  # above the table: a line between its header and its separator breaks it
        rp = result["repriced"]
        lines[-2:-2] = [f"The study was priced again from the stored fits by `{rp['command']}` at commit "
                        f"`{rp['commit']}`, {rp['time']}.", ""]
    for f in result["fits"]:
        lines.append(f"| {f['model']} | {f['seconds_per_token_layer']:.3e} | {f['token_layer_fit']['r2']:.3f} | "
                     f"{f['flops_per_second'] / 1e12:.3f} | {f['flop_fit']['r2']:.3f} | {_residuals(f['flop_fit'])} |")
    pooled = result["pooled_flop_fit"]
    lines += [f"| pooled (FLOPs) | | | {1 / pooled['coef'][1] / 1e12:.3f} | {pooled['r2']:.3f} | {_residuals(pooled)} |",
              ""]
    for spec, why in result["skipped"].items():
        lines.append(f"Skipped {spec}: {why}")
    lines += [
        "", f"## The paper's study: {cost['model']}, MMLU high_school_us_history", "",
        f"{len(cost['lengths'])} training questions, ranges {', '.join(cost['ranges'])} (layers run per mask "
        f"{', '.join(map(str, cost['layers_run']))}), {cost['n_masks']:,} masks each: {cost['token_layers']:.3e} "
        f"token-layers, {cost['flops']:.3e} FLOPs. Rate from {study['rate_from']}: "
        f"{study['flops_per_second'] / 1e12:.3f} TFLOP/s = {study['achieved_fraction']:.0%} of this machine's peak.", "",
        "| where | predicted time |", "|---|---|",
    ]
    lines += [f"| {how} | {_duration(s)} |" for how, s in cost["predictions_s"].items()]
    share = ", ".join(f"{r} {f / cost['flops']:.0%}" for r, f in zip(cost["ranges"], cost.get("range_flops", [])))
    if share:
        lines += ["", f"Share of the work per range (the layers from the range's first layer up run per mask): {share}."]
    lines += ["", assumptions(result), ""]
    return "\n".join(lines)


def _residuals(fit: dict[str, Any]) -> str:
    """'largest |residual| in seconds | median |relative residual|' of a fit."""
    res = sorted(abs(x) for x in fit["residuals"])
    rel = sorted(abs(x) for x in fit["relative_residuals"])
    return f"{res[-1]:.3f} s | {rel[len(rel) // 2]:.0%}"


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min"


def write_outputs(result: dict[str, Any], out: Path) -> str:
    """Write ``out``/cost_model.json and ``out``/cost_model.md; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    result = {**result, "assumptions": assumptions(result)}
    (out / "cost_model.json").write_text(json.dumps(result, indent=2))
    md = markdown(result)
    (out / "cost_model.md").write_text(md)
    return md
