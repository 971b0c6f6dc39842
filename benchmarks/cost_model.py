"""``python -m benchmarks.engine --cost-model``: a measured cost model of mask evaluation, and the paper's study priced.

It times the engine (:class:`headspex.engine.evaluator.MaskEvaluator`, fast backend, shared-prefix cache
off) on random-weight models (``random:NAME``: the real shapes) for a few masks and questions at several
prompt lengths and depths (layers run per mask), fits seconds per token-layer (one question token
through one layer for one mask) and an achieved FLOP rate by least squares (R^2 and residuals
reported), and prices the paper's study: Llama-3.1-8B-Instruct, MMLU high_school_us_history, its 102
training questions at their real lengths, the presets initial / middle / final (3 layers of 32 heads
each), 2,000 masks per range. The engine computes the layers below a range once per question, so a
range costs, per mask, the layers from its first layer to the end. Figures go to
``--out``/cost_model.{json,md} with the command, the commit and the time.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from benchmarks.common import dtype_line, dtype_report, peak_tflops, provenance, resolve_dtype, timed
from benchmarks.cost_fit import LinearFit, fit_linear, mask_flops, padded_lengths, predict, study_cost, token_layers
from benchmarks.cost_write import write_outputs

DEFAULT_MODELS = "random:smollm2,random:llama-3.2-1b,random:llama-3.1-8b@4"
STUDY_TASK, STUDY_MODEL, STUDY_MASKS = "mmlu:high_school_us_history", "llama-3.1-8b", 2000
STUDY_RANGES = "1-3,14-16,30-32"  # the paper's literal ranges (1-based, inclusive)
WORDS = ("the of and to in is was for on that with as by at from his her an which were are this be had not they "
         "war state states nation president congress government people new american united colonies law act "
         "power party policy movement north south west british french trade century during after").split()


@dataclass
class Sample:
    """One timing: ``n_masks`` masks x ``n_questions`` prompts of ``length`` tokens (padded), ``layers_run``
    layers per mask. token_layers and flops are totals over the masks."""

    model: str
    layers_run: int
    length: float
    n_masks: int
    n_questions: int
    seconds: float
    token_layers: float
    flops: float


def synthetic_prompts(tokenizer: Any, n: int, length: int, seed: int = 0) -> list[str]:
    """``n`` prompts of random words, each about ``length`` tokens (cut at ``length`` and decoded), all
    starting differently (no shared prefix)."""
    rng = random.Random(seed * 7919 + length)
    out = []
    for i in range(n):
        words = [f"Q{i}"] + [rng.choice(WORDS) for _ in range(length)]
        ids = tokenizer(" ".join(words))["input_ids"][:length]
        out.append(tokenizer.decode(ids))
    return out


def measure_model(spec: str, *, lengths: Sequence[int], depths: Sequence[int], n_masks: int, n_questions: int,
                  repeats: int, dtype: torch.dtype, device: str) -> tuple[list[Sample], Any]:
    """Timings of ``spec`` on the grid lengths x depths (depths beyond the model's layers dropped); (samples, config)."""
    from headspex.engine.evaluator import MaskEvaluator
    from headspex.engine.models import load_model
    from headspex.engine.sampling import sample_masks

    model = load_model(spec, dtype=dtype, device=device)
    cfg, tok = model.hf_model.config, model.tokenizer
    choice = torch.tensor([[tok(c)["input_ids"][0] for c in (" A", " B", " C", " D")]] * n_questions)
    answers = torch.zeros(n_questions, dtype=torch.long)
    samples = []
    for k in [d for d in depths if d <= model.n_layers]:
        players = [(model.n_layers - k, h) for h in range(model.n_heads)]
        masks = sample_masks(n_masks, len(players), seed=k)
        for length in lengths:
            ev = MaskEvaluator(model, synthetic_prompts(tok, n_questions, length), choice, answers, players=players,
                               backend="fast", prefix_cache=False)
            ev.scores(masks[:1])  # warm-up: the prefix below the range, the allocator
            best = min(timed(lambda: ev.scores(masks), model.device)[1] for _ in range(repeats))
            per_q = [int(c.input_ids.shape[1]) for c in ev.chunks for _ in range(len(c.index))]
            samples.append(Sample(spec, k, float(np.mean(per_q)), n_masks, n_questions, best,
                                  n_masks * token_layers(per_q, k), n_masks * mask_flops(cfg, per_q, k)))
            print(f"  {spec}: {k} layers x {np.mean(per_q):.0f} tokens x {n_questions} questions x {n_masks} masks: "
                  f"{best:.3f} s", flush=True)
    del model
    return samples, cfg


@dataclass
class ModelFit:
    """Per model: seconds ~ a + b * token_layers, and seconds ~ a + flops / rate."""

    model: str
    seconds_per_token_layer: float
    token_layer_fit: LinearFit
    flops_per_second: float
    flop_fit: LinearFit


def fit_samples(samples: Sequence[Sample]) -> tuple[list[ModelFit], LinearFit]:
    """Per-model fits, and one pooled FLOP fit over every sample (seconds ~ a + flops / rate)."""
    fits = []
    for name in dict.fromkeys(s.model for s in samples):
        rows = [s for s in samples if s.model == name]
        y = np.array([s.seconds for s in rows])
        tl = fit_linear(np.array([[1.0, s.token_layers] for s in rows]), y, ["seconds per call", "s per token-layer"])
        fl = fit_linear(np.array([[1.0, s.flops] for s in rows]), y, ["seconds per call", "s per FLOP"])
        fits.append(ModelFit(name, tl.coef[1], tl, 1.0 / fl.coef[1], fl))
    y = np.array([s.seconds for s in samples])
    pooled = fit_linear(np.array([[1.0, s.flops] for s in samples]), y, ["seconds per call", "s per FLOP"])
    return fits, pooled


def study_lengths(seed: int = 0) -> tuple[list[int], str]:
    """Token counts of the study's 102 training prompts (zero-shot, full length), and which tokenizer counted
    them: SmolLM2's as a stand-in (Llama 3's is not available offline)."""
    import tasks

    from headspex.engine.random_models import smollm2_tokenizer

    tok = smollm2_tokenizer()
    task = tasks.load(STUDY_TASK, tokenizer=tok, seed=seed)
    return [len(tok(q.prompt)["input_ids"]) for q in task.split("train")], "SmolLM2 (stand-in for Llama 3's)"


def price_study(fits: Sequence[ModelFit], pooled: LinearFit, peak: float, machine: str) -> dict[str, Any]:
    """The study's cost and predicted times, from the 8B-shaped model's fit when measured, else the pooled one."""
    from headspex.engine.random_models import random_config
    from headspex.players import parse_layer_ranges

    cfg = random_config(STUDY_MODEL)
    raw, counted_by = study_lengths()
    ranges = parse_layer_ranges(STUDY_RANGES, cfg.num_hidden_layers, cfg.num_attention_heads)
    cost = study_cost(cfg, "Llama-3.1-8B-Instruct", ranges, padded_lengths(raw), STUDY_MASKS)
    own = next((f for f in fits if f.model.split(":", 1)[-1].split("@")[0] in (STUDY_MODEL, "llama")
                and f.flops_per_second > 0 and f.seconds_per_token_layer > 0), None)
    rate = own.flops_per_second if own else 1.0 / pooled.coef[1]
    if not rate > 0:
        raise RuntimeError("the timings are too noisy to fit (time does not grow with the work): rerun with more "
                           "--masks, --questions or longer --lengths, on a quieter machine")
    fraction = min(1.0, rate / (peak * 1e12))  # above 1 only when the peak was measured in a slow moment
    cost.predictions_s = predict(cost, seconds_per_token_layer=own.seconds_per_token_layer if own else None,
                                 flops_per_second=rate, achieved_fraction=fraction, machine=machine)
    return {"cost": asdict(cost), "raw_lengths": raw, "lengths_counted_by": counted_by,
            "rate_from": own.model if own else "pooled fit over all models", "flops_per_second": rate,
            "achieved_fraction": fraction, "achieved_fraction_uncapped": rate / (peak * 1e12)}


def run(models: Sequence[str], *, lengths: Sequence[int], depths: Sequence[int], n_masks: int, n_questions: int,
        repeats: int, dtype: torch.dtype, device: str) -> dict[str, Any]:
    """Measure, fit and price; returns the JSON-able result."""
    from headspex.engine.models import ModelNotAvailableError

    dtypes = dtype_report(device)
    print(dtype_line(dtypes), flush=True)
    peak = peak_tflops(dtype, device)
    machine = torch.cuda.get_device_name(device) if device == "cuda" else f"this CPU ({torch.get_num_threads()} threads)"
    print(f"{machine}: matmul peak {peak:.2f} TFLOP/s ({str(dtype).replace('torch.', '')})", flush=True)
    samples, skipped, configs = [], {}, {}
    for spec in models:
        try:
            got, cfg = measure_model(spec, lengths=lengths, depths=depths, n_masks=n_masks, n_questions=n_questions,
                                     repeats=repeats, dtype=dtype, device=device)
        except (MemoryError, torch.OutOfMemoryError, ModelNotAvailableError) as err:
            skipped[spec] = f"{type(err).__name__}: {err}"
            print(f"  {spec}: skipped ({skipped[spec]})", flush=True)
            continue
        samples += got
        configs[spec] = {"hidden": cfg.hidden_size, "intermediate": cfg.intermediate_size, "layers": cfg.num_hidden_layers,
                         "heads": cfg.num_attention_heads, "kv_heads": cfg.num_key_value_heads, "vocab": cfg.vocab_size}
    if not samples:
        raise RuntimeError(f"no model could be measured: {skipped}")
    fits, pooled = fit_samples(samples)
    peak = max(peak, peak_tflops(dtype, device))  # again after the timings: the best of both
    return {"machine": machine, "device": device, "dtype": str(dtype).replace("torch.", ""), "matmul_tflops": peak,
            "dtypes": dtypes,
            "threads": torch.get_num_threads(), "grid": {"lengths": list(lengths), "depths": list(depths),
                                                         "masks": n_masks, "questions": n_questions, "repeats": repeats},
            "models": configs, "skipped": skipped, "samples": [asdict(s) for s in samples],
            "fits": [asdict(f) for f in fits], "pooled_flop_fit": asdict(pooled),
            "study": price_study(fits, pooled, peak, machine)}


def reprice(path: Path) -> dict[str, Any]:
    """A stored cost_model.json with the study priced again from its stored fits (no timing runs)."""
    stored = json.loads(Path(path).read_text())
    fits = [ModelFit(f["model"], f["seconds_per_token_layer"], LinearFit(**f["token_layer_fit"]),
                     f["flops_per_second"], LinearFit(**f["flop_fit"])) for f in stored["fits"]]
    study = price_study(fits, LinearFit(**stored["pooled_flop_fit"]), stored["matmul_tflops"], stored["machine"])
    return {**stored, "study": study}


def _ints(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers; got {text!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers; got {text!r}")
    return vals


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.engine --cost-model", description=__doc__.split("\n")[0])
    p.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated specs (default: {DEFAULT_MODELS}); a "
                   "model that does not fit in memory is skipped and listed")
    p.add_argument("--lengths", type=_ints, default=[32, 128, 384], help="prompt lengths in tokens (default: 32,128,384)")
    p.add_argument("--depths", type=_ints, default=[1, 2, 4], help="layers run per mask (default: 1,2,4)")
    p.add_argument("--masks", type=int, default=2, help="masks per timing (default: 2)")
    p.add_argument("--questions", type=int, default=2, help="prompts per timing (default: 2)")
    p.add_argument("--repeats", type=int, default=2, help="timings per point, best kept (default: 2)")
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32", "float16"],
                   help="dtype of the timed models (default: auto, the dtype a study would use on this machine)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--out", default="results/benchmarks",
                   help="folder for cost_model.json and .md (default: results/benchmarks)")
    p.add_argument("--reprice", metavar="JSON", help="price the study again from a stored cost_model.json's fits "
                   "(no timings); writes to --out")
    a = p.parse_args(argv)
    if a.reprice:
        result = reprice(Path(a.reprice))
        result["repriced"] = provenance(["--cost-model", *(sys.argv[1:] if argv is None else argv)])
        print(write_outputs(result, Path(a.out)))
        return 0
    if min(a.masks, a.questions, a.repeats) < 1:
        p.error("--masks, --questions and --repeats must be >= 1")
    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is visible to PyTorch here")
    result = run([m.strip() for m in a.models.split(",") if m.strip()], lengths=a.lengths, depths=a.depths,
                 n_masks=a.masks, n_questions=a.questions, repeats=a.repeats, dtype=getattr(torch, resolve_dtype(a.dtype, a.device)),
                 device=a.device)
    result = {**provenance(["--cost-model", *(sys.argv[1:] if argv is None else argv)]), **result}
    md = write_outputs(result, Path(a.out))
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
