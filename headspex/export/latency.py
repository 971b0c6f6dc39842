"""Size and speed of a Hugging Face causal LM: parameter count and median forward latency.

``compare_latency`` times several models side by side, interleaved (model A, model B, model A, ...),
so that a drift in machine load affects all of them alike.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch


def count_parameters(hf_model: Any) -> int:
    """Number of distinct parameters (tied embeddings counted once)."""
    return int(sum(p.numel() for p in hf_model.parameters()))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def _forward_seconds(hf_model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> float:
    """Seconds of one full forward pass (logits at every position, no cache)."""
    _sync(input_ids.device)
    t0 = time.perf_counter()
    hf_model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    _sync(input_ids.device)
    return time.perf_counter() - t0


def _summary(times: list[float], warmup: int) -> dict[str, Any]:
    return {"median_s": statistics.median(times), "min_s": min(times), "mean_s": statistics.fmean(times),
            "repeats": len(times), "warmup": warmup}


def compare_latency(models: dict[str, Any], input_ids: torch.Tensor, attention_mask: torch.Tensor, *,
                    repeats: int = 20, warmup: int = 3) -> dict[str, dict[str, Any]]:
    """Forward latency of each model on the same batch, measured interleaved.

    Args:
        models: name -> Hugging Face causal LM, on the device of ``input_ids``.
        input_ids, attention_mask: [batch, pos] (left-padded batches are fine).
        repeats: timed rounds; each round runs every model once, in a rotating order.
        warmup: untimed rounds first.

    Returns:
        name -> {"median_s", "min_s", "mean_s", "repeats", "warmup"} (seconds per forward pass).
    """
    if not models:
        raise ValueError("models must name at least one model")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0; got repeats={repeats}, warmup={warmup}")
    if input_ids.ndim != 2 or tuple(attention_mask.shape) != tuple(input_ids.shape):
        raise ValueError(f"input_ids and attention_mask must both be [batch, pos]; got {tuple(input_ids.shape)} "
                         f"and {tuple(attention_mask.shape)}")
    names = list(models)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            t = _forward_seconds(models[n], input_ids, attention_mask)
            if r >= warmup:
                times[n].append(t)
    return {n: _summary(times[n], warmup) for n in names}


def measure_latency(hf_model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, *, repeats: int = 20,
                    warmup: int = 3) -> dict[str, Any]:
    """Median (and min, mean) seconds of a forward pass of ``hf_model`` on a [batch, pos] batch, after warm-up."""
    return compare_latency({"model": hf_model}, input_ids, attention_mask, repeats=repeats, warmup=warmup)["model"]
