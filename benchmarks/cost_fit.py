"""The cost model's arithmetic (no model, no timing): least-squares fits and the study's predicted time.

Units: a *token-layer* is one question token through one decoder layer for one mask; the engine runs,
per mask and question of T tokens with players from layer s of an L-layer model, (L - s - 1) layers on
all T tokens and the last layer on the last position only: ``T * (L - s - 1) + 1`` token-layers.
FLOPs add the attention scores (QK^T and AV, the full square) and the answer-token logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

# Dense bf16 tensor-core peaks, from the vendors' data sheets (without sparsity)
GPU_PEAKS_TFLOPS = {"H100 SXM": 989.0, "A100": 312.0}
STATED_UTILISATION = 0.40


@dataclass
class LinearFit:
    """y ~ X @ coef by least squares; r2 and residuals (y - prediction) on the fitted points."""

    names: list[str]
    coef: list[float]
    r2: float
    residuals: list[float]
    relative_residuals: list[float]  # residual / y

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x [n, n_features] -> [n]."""
        return np.asarray(x, dtype=float) @ np.asarray(self.coef)


def fit_linear(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> LinearFit:
    """Least squares of y [n] on the columns of x [n, k] (add a ones column for an intercept).

    R^2 = 1 - SS_res / SS_tot about the mean of y. Raises ValueError with fewer points than columns.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[1] != len(names):
        raise ValueError(f"need x [n, {len(names)}] and y [n]; got {x.shape} and {y.shape}")
    if x.shape[0] < x.shape[1]:
        raise ValueError(f"{x.shape[0]} points cannot fit {x.shape[1]} coefficients")
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    res = y - x @ coef
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((res**2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return LinearFit(list(names), coef.tolist(), r2, res.tolist(), (res / y).tolist())


def layer_flops_per_token(cfg: Any) -> float:
    """q, k, v, o and gated-MLP matmul FLOPs of one layer per token (2 per multiply-add)."""
    d, ff, n_h = cfg.hidden_size, cfg.intermediate_size, cfg.num_attention_heads
    n_kv = getattr(cfg, "num_key_value_heads", None) or n_h
    dh = getattr(cfg, "head_dim", None) or d // n_h
    return 2.0 * (d * n_h * dh + 2 * d * n_kv * dh + n_h * dh * d + 3 * d * ff)


def _attn_width(cfg: Any) -> int:
    n_h = cfg.num_attention_heads
    return n_h * (getattr(cfg, "head_dim", None) or cfg.hidden_size // n_h)


def token_layers(lengths: Sequence[int], layers_run: int) -> float:
    """Token-layers per mask for questions of ``lengths`` tokens when ``layers_run`` layers run per mask."""
    if layers_run < 1:
        raise ValueError(f"layers_run must be >= 1; got {layers_run}")
    t = np.asarray(lengths, dtype=float)
    return float((t * (layers_run - 1) + 1).sum())


def mask_flops(cfg: Any, lengths: Sequence[int], layers_run: int, n_choices: int = 4) -> float:
    """FLOPs per mask on the engine's path: matmuls on every token-layer, attention (T^2 per full layer,
    T for the last layer's last position), the answer logits."""
    t = np.asarray(lengths, dtype=float)
    w = _attn_width(cfg)
    attn = 4.0 * w * (t * t * (layers_run - 1) + t)
    logits = 2.0 * cfg.hidden_size * n_choices * len(t)
    return layer_flops_per_token(cfg) * token_layers(lengths, layers_run) + float(attn.sum()) + logits


@dataclass
class StudyCost:
    """The paper's study: for each range (first layer, layers run per mask), masks x questions."""

    model: str
    n_layers: int
    ranges: list[str]  # 1-based labels
    layers_run: list[int]  # per range: layers from the range's first layer to the end
    n_masks: int
    lengths: list[int]  # tokens per question (padded as the engine batches them)
    token_layers: float  # over the whole study
    flops: float
    range_flops: list[float] = field(default_factory=list)  # per range
    predictions_s: dict[str, float] = field(default_factory=dict)  # how -> seconds


def study_cost(cfg: Any, model: str, ranges: Sequence[Sequence[int]], lengths: Sequence[int], n_masks: int,
               n_choices: int = 4) -> StudyCost:
    """Token-layers and FLOPs of ``n_masks`` masks per range (0-based layer lists) on questions of ``lengths``."""
    n = int(cfg.num_hidden_layers)
    runs = [n - min(r) for r in ranges]
    labels = [f"{min(r) + 1}-{max(r) + 1}" for r in ranges]
    tl = sum(token_layers(lengths, k) for k in runs) * n_masks
    per_range = [mask_flops(cfg, lengths, k, n_choices) * n_masks for k in runs]
    return StudyCost(model, n, labels, runs, n_masks, [int(x) for x in lengths], tl, sum(per_range), per_range)


def predict(cost: StudyCost, *, seconds_per_token_layer: float | None, flops_per_second: float,
            achieved_fraction: float, machine: str) -> dict[str, float]:
    """Predicted seconds: on ``machine`` (per-token-layer rate when measured on this model's layer shapes,
    and the FLOP rate), and on each GPU of :data:`GPU_PEAKS_TFLOPS` at ``achieved_fraction`` of its peak
    (the fraction measured on ``machine``: an assumption) and at :data:`STATED_UTILISATION`."""
    out: dict[str, float] = {}
    if seconds_per_token_layer is not None:
        out[f"{machine}, measured s per token-layer"] = cost.token_layers * seconds_per_token_layer
    out[f"{machine}, measured FLOP rate"] = cost.flops / flops_per_second
    for gpu, peak in GPU_PEAKS_TFLOPS.items():
        out[f"{gpu} at the fraction of peak achieved on {machine} ({achieved_fraction:.0%})"] = (
            cost.flops / (peak * 1e12 * achieved_fraction))
        out[f"{gpu} at {STATED_UTILISATION:.0%} of peak"] = cost.flops / (peak * 1e12 * STATED_UTILISATION)
    return out



def padded_lengths(lengths: Sequence[int], max_batch_tokens: int = 65536) -> list[int]:
    """Each question's length once padded as the engine batches it (:func:`group_by_length`: by length,
    short chunks merged; ``max_batch_tokens`` as on a large GPU), in ascending order."""
    from headspex.engine.evaluator import group_by_length

    lengths = [int(x) for x in lengths]
    out: list[int] = []
    for chunk in group_by_length(lengths, max_batch_tokens):
        out.extend([max(lengths[i] for i in chunk)] * len(chunk))
    return sorted(out)
