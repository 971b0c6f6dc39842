"""Pieces the benchmarks share: the machine's matmul rate, FLOP counts, timing, the naive loop, provenance."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
import torch

from benchmarks.cost_fit import mask_flops
from hooks import HeadAblation, tokenize_left_padded

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def synchronize(device: torch.device | str) -> None:
    """Wait for queued GPU work (no-op on CPU), so wall-clock timings are complete."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], T], device: torch.device | str) -> tuple[T, float]:
    """(fn(), seconds), the device synchronised before and after."""
    synchronize(device)
    t0 = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, time.perf_counter() - t0


def matmul_tflops(dtype: torch.dtype, n: int | None = None, repeats: int = 5, device: str | torch.device = "cpu") -> float:
    """This machine's dense matrix-multiply rate for ``dtype`` in TFLOP/s (best of ``repeats``), n x n products
    (n = 2048 on CPU, 8192 on GPU)."""
    dev = torch.device(device)
    n = n or (8192 if dev.type == "cuda" else 2048)
    a, b = torch.randn(n, n, dtype=dtype, device=dev), torch.randn(n, n, dtype=dtype, device=dev)
    a @ b
    best = min(timed(lambda: a @ b, dev)[1] for _ in range(repeats))
    return 2 * n**3 / best / 1e12


def dtype_report(device: str | torch.device = "cpu") -> dict[str, Any]:
    """What each candidate dtype does on this machine: its matmul rate (1024-square products on CPU, 4096 on GPU,
    best of 3: small enough that a dtype without fast kernels costs seconds, not minutes), the CPU capability and
    bf16 units, and the dtype a study would use here (``dtype="auto"``, with its probe)."""
    from headspex.engine.dtype_choice import CANDIDATES, choose_dtype

    choice = choose_dtype(device)
    n = 4096 if torch.device(device).type == "cuda" else 1024
    rates = {dt: matmul_tflops(getattr(torch, dt), n=n, repeats=3, device=device) for dt in CANDIDATES}
    return {"capability": choice.capability, "bf16_units": choice.bf16_units, "matmul_tflops_by_dtype": rates,
            "study_dtype": choice.dtype, "choice": choice.to_dict()}


def dtype_line(report: dict[str, Any]) -> str:
    """One line of :func:`dtype_report`, e.g. "AVX2 (no bf16 units): matmul float32 0.31, bfloat16 0.006 TFLOP/s;
    a study here trains in float32"."""
    rates = ", ".join(f"{dt} {r:.3g}" for dt, r in report["matmul_tflops_by_dtype"].items())
    units = "with" if report["bf16_units"] else "no"
    return (f"{report['capability']} ({units} bf16 units): matmul {rates} TFLOP/s; a study here trains in "
            f"{report['study_dtype']} ({report['choice']['reason']})")


def resolve_dtype(name: str, device: str | torch.device = "cpu") -> str:
    """``name``, with "auto" resolved as a study would resolve it on this machine."""
    if name != "auto":
        return name
    from headspex.engine.dtype_choice import choose_dtype

    return choose_dtype(device).dtype


def emit_json(result: dict[str, Any], path: str | None) -> None:
    """Print ``result`` as indented JSON, and write it to ``path`` too when given."""
    text = json.dumps(result, indent=2)
    print(text)
    if path:
        Path(path).write_text(text + "\n")


def peak_tflops(dtype: torch.dtype, device: str | torch.device = "cpu") -> float:
    """The machine's matmul rate: best over square sizes (1024-4096 on CPU, 4096-16384 on GPU), 10 repeats each."""
    sizes = (4096, 8192, 16384) if torch.device(device).type == "cuda" else (1024, 2048, 4096)
    return max(matmul_tflops(dtype, n=n, repeats=10, device=device) for n in sizes)


def flops_per_mask(model: Any, task: Any, split: str, start_layer: int) -> float:
    """Matrix-multiply FLOPs the fast path spends per mask: layers start.. on every token (the last
    layer on the last position only), attention scores, and answer-token logits."""
    cfg = model.hf_model.config
    lengths = [len(model.tokenizer(q.prompt)["input_ids"]) for q in task.split(split)]
    return mask_flops(cfg, lengths, model.n_layers - start_layer, task.n_choices)


def naive_values(model: Any, task: Any, masks: np.ndarray, players: Sequence[tuple[int, int]], split: str) -> np.ndarray:
    """Mean correct-choice log-probability per mask, one TransformerLens forward pass per mask."""
    questions = task.split(split)
    ids, am = tokenize_left_padded(model.tokenizer, [q.prompt for q in questions], model.device)
    choice = task.choice_token_ids(model.tokenizer, split).to(model.device)
    answers = task.answers(split).to(model.device)
    out = []
    with torch.inference_mode():
        for mask in masks:
            rows = torch.as_tensor(mask, dtype=torch.float32)[None].expand(len(questions), -1)
            ablation = HeadAblation(rows, n_layers=model.n_layers, n_heads=model.n_heads, players=players)
            logits = model.bridge.run_with_hooks(ids, fwd_hooks=ablation.fwd_hooks(), attention_mask=am)
            picked = logits[:, -1].float().gather(1, choice)
            out.append(float(torch.log_softmax(picked, -1)[torch.arange(len(questions)), answers].mean()))
    return np.array(out)


def provenance(argv: Sequence[str] | None = None, module: str = "benchmarks.engine") -> dict[str, str]:
    """The command line (``python -m MODULE ARGV``), the checkout's commit (``+dirty`` with uncommitted
    changes) and the time (UTC)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    args = list(sys.argv[1:] if argv is None else argv)
    return {"command": " ".join([f"python -m {module}", *args]), "commit": commit,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
