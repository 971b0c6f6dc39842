"""Choose the model dtype for masked forwards by measuring the machine, not by assumption.

bfloat16 is about 4x faster than float32 on CPUs with bfloat16 units (AVX512-BF16 or AMX) and on GPUs; on a
CPU without them (AVX2 only) PyTorch falls back to slow kernels and bfloat16 runs 5-50x SLOWER than float32.
:func:`choose_dtype` resolves ``dtype="auto"``:

- on CUDA, bfloat16 where the device supports it, else float32;
- on CPU, a short probe (a matrix product, SiLU and softmax at a transformer layer's width, best of a few
  repeats, a few hundred milliseconds in all) times each candidate dtype; bfloat16 is kept when the CPU has
  bfloat16 units and the probe does not find it slower, or when the probe finds it clearly faster without them.

The answer is a :class:`DtypeChoice`: the dtype, the measured seconds and ratio, the CPU capability, and one
line that says why (``choice.line()``), which the CLI prints and records in ``config.json``. The probe runs
once per process and device (cached). Whether the chosen dtype's answers agree with float32 on the run's own
questions is the caller's check (:func:`headspex.experiments.run_dtype.answers_agree`), since it needs the model
and the task.
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import torch

__all__ = ["DtypeChoice", "bf16_units", "choose_dtype", "cpu_capability", "probe_seconds",
           "slowdown_line", "warn_if_slow"]

CANDIDATES = ("float32", "bfloat16")
# bfloat16 is kept without bf16 units only when the probe finds it this much faster (never seen; exact float32
# is the safe side of a near tie), and refused with them when the probe finds it slower than float32.
FASTER_WITHOUT_UNITS = 1.5
AGREEMENT_FLOOR = 0.9  # share of clean-model answers that must match float32's for a low-precision dtype to be kept


@dataclass(frozen=True)
class DtypeChoice:
    """How ``dtype="auto"`` was resolved on this machine.

    Attributes:
        dtype: the chosen dtype's name ("float32" or "bfloat16").
        device: "cpu" or "cuda[:N]".
        capability: ``torch.backends.cpu.get_cpu_capability()`` on CPU ("AVX2", "AVX512", ...), the GPU's name on CUDA.
        bf16_units: whether the CPU has bfloat16 units (AVX512-BF16 or AMX-BF16), or the GPU supports bfloat16.
        seconds: probe seconds per candidate dtype (empty when nothing was timed, e.g. on CUDA).
        requested: what was asked for: "auto", or an explicit dtype (then nothing was chosen).
        agreement: share of the clean model's answers equal to float32's, when the caller checked it.
        reason: one line: why this dtype.
    """

    dtype: str
    device: str
    capability: str
    bf16_units: bool
    seconds: dict[str, float] = field(default_factory=dict)
    requested: str = "auto"
    agreement: float | None = None
    reason: str = ""

    @property
    def bf16_slowdown(self) -> float | None:
        """bfloat16's probe time over float32's (> 1: bfloat16 is slower), when both were timed."""
        if {"float32", "bfloat16"} <= set(self.seconds) and self.seconds["float32"] > 0:
            return self.seconds["bfloat16"] / self.seconds["float32"]
        return None

    def line(self) -> str:
        """The one line the CLI prints, e.g. "training masks in float32: bfloat16 is 54x slower on this CPU (...)"."""
        return f"training masks in {self.dtype}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the measured ratio (``bf16_slowdown``) spelled out."""
        return {**asdict(self), "bf16_slowdown": self.bf16_slowdown}


def cpu_capability() -> str:
    """PyTorch's vector capability of this CPU: "AVX2", "AVX512", "DEFAULT", ..."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # very old or unusual builds
        return "unknown"


def bf16_units() -> bool:
    """Whether this CPU has bfloat16 arithmetic units (AVX512-BF16 or AMX-BF16), as PyTorch sees it."""
    try:
        caps = torch.cpu.get_capabilities()
        return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))
    except Exception:
        try:
            return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
        except Exception:
            return False


def probe_seconds(dtype: str, *, width: int = 576, rows: int = 256, repeats: int = 3, budget_s: float = 0.5) -> float:
    """Best-of-``repeats`` seconds of one transformer-layer-shaped step in ``dtype`` on CPU: ``[rows, width]`` times
    ``[width, 4 * width]``, SiLU, softmax over the last axis. Stops repeating once one try exceeds ``budget_s``
    (a slow dtype is plainly slow after one try)."""
    gen = torch.Generator().manual_seed(0)
    dt = getattr(torch, dtype)
    x = torch.randn(rows, width, generator=gen).to(dt)
    w = torch.randn(width, 4 * width, generator=gen).to(dt)
    with torch.inference_mode():
        torch.softmax(torch.nn.functional.silu(x[:8] @ w), -1)  # warm the kernels
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            torch.softmax(torch.nn.functional.silu(x @ w), -1)
            best = min(best, time.perf_counter() - t0)
            if best > budget_s:
                break
    return best


@functools.lru_cache(maxsize=8)
def _measured(candidates: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    return tuple((dt, probe_seconds(dt)) for dt in candidates)


def choose_dtype(device: str | torch.device = "cpu", *, probe: Callable[[str], float] | None = None,
                 capability: str | None = None, units: bool | None = None) -> DtypeChoice:
    """Resolve ``dtype="auto"`` on ``device`` (see the module docstring). ``probe``, ``capability`` and ``units``
    replace the measurement and the CPU's self-description (for tests)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
        ok = bool(torch.cuda.is_bf16_supported())
        return DtypeChoice("bfloat16" if ok else "float32", str(dev), name, ok,
                           reason=f"{'bfloat16 is supported' if ok else 'no bfloat16 support'} on {name}")
    cap = capability if capability is not None else cpu_capability()
    has_units = units if units is not None else bf16_units()
    seconds = dict(_measured(CANDIDATES)) if probe is None else {dt: float(probe(dt)) for dt in CANDIDATES}
    ratio = seconds["bfloat16"] / max(seconds["float32"], 1e-12)
    where = f"on this CPU ({cap}, {'with' if has_units else 'no'} bf16 units)"
    keep_bf16 = ratio <= 1.0 if has_units else ratio * FASTER_WITHOUT_UNITS <= 1.0
    if keep_bf16:
        reason = f"bfloat16 is {1 / ratio:.1f}x faster than float32 {where}"
    elif ratio >= 1.0:
        reason = f"bfloat16 is {ratio:.1f}x slower {where}"
    else:
        reason = f"bfloat16 is only {1 / ratio:.2f}x faster {where}; float32 is exact"
    return DtypeChoice("bfloat16" if keep_bf16 else "float32", "cpu", cap, has_units,
                       {k: round(v, 6) for k, v in seconds.items()}, reason=reason)


def explicit(dtype: str, device: str | torch.device = "cpu") -> DtypeChoice:
    """The record of an explicitly asked dtype (nothing measured, nothing chosen)."""
    dev = torch.device(device)
    cap = torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_capability()
    units = bool(torch.cuda.is_bf16_supported()) if dev.type == "cuda" else bf16_units()
    return DtypeChoice(dtype, str(dev), cap, units, requested=dtype, reason="asked for with --dtype")


def slowdown_line(dtype: str, choice: DtypeChoice, *, factor: float = 2.0) -> str | None:
    """"{dtype} is Nx slower than {choice.dtype} on this machine (...)" when ``dtype`` is over ``factor`` times slower
    here than the dtype ``choice`` picked, else None."""
    ratio = choice.bf16_slowdown
    if ratio is None or dtype == choice.dtype or dtype not in CANDIDATES:
        return None
    slower = ratio if dtype == "bfloat16" else 1 / ratio
    if slower <= factor:
        return None
    return f"{dtype} is {slower:.1f}x slower than {choice.dtype} on this machine ({choice.capability})"


def warn_if_slow(model: Any) -> None:
    """Warn once per process and dtype when a CPU ``model`` runs in a dtype this CPU is slow at (e.g. bfloat16
    without bf16 units), naming ``dtype="auto"``; not for a model whose dtype was already chosen knowingly
    (``model.dtype_choice`` set: by ``dtype="auto"``, or by the CLI resuming a run in its recorded dtype)."""
    dtype = str(getattr(model, "dtype", "")).replace("torch.", "")
    if getattr(model, "dtype_choice", None) is not None or dtype != "bfloat16" or torch.device(getattr(model, "device", "cpu")).type != "cpu":
        return
    _warn_once(dtype)


@functools.lru_cache(maxsize=4)
def _warn_once(dtype: str) -> None:
    line = slowdown_line(dtype, choose_dtype("cpu"))
    if line:
        warnings.warn(f"{line}: load the model with load_model(..., dtype='auto') to train masks in the faster dtype",
                      RuntimeWarning, stacklevel=4)


def with_agreement(choice: DtypeChoice, agreement: float) -> DtypeChoice:
    """``choice`` after the agreement check: float32 when fewer than AGREEMENT_FLOOR of the answers agree."""
    if agreement >= AGREEMENT_FLOOR or choice.dtype == "float32":
        return replace(choice, agreement=agreement)
    return replace(choice, dtype="float32", agreement=agreement,
                   reason=f"{choice.dtype}'s clean answers agree with float32's on only {agreement:.0%} of the "
                          f"training questions (< {AGREEMENT_FLOOR:.0%}), though it is faster")
