"""Export one method's kept set from a run (a range of a study, or a curve) as a real pruned checkpoint, and check it.

``export.json`` beside the curve gives the checkpoint's parameter count against the unpruned model's, its
forward latency against an export that keeps every head (the same code, nothing deleted; timed
interleaved on the test prompts), and its agreement with the masked model: the largest difference of the
answer logits over the test questions, and both test accuracies.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headspex._io import atomic_write_text
from headspex.errors import InputError
from hooks import tokenize_left_padded


def export_selection(players: list, selection: Any, model: Any, task: Any, path: str | Path, out: str | Path, *,
                     ablation: str = "zero", repeats: int = 10, overwrite: bool = False) -> dict:
    """Export ``selection`` (a kept set over ``players``; every other head kept) to ``path`` and check it.

    ``model``: the float32 model the test split is scored with. Writes and returns ``out/export.json``.
    ``path`` must be new, an empty directory, or (with ``overwrite``) a checkpoint exported before; it may not
    be ``out``, contain it, or lie inside it at a name the run writes. That is checked before any work.
    """
    from headspex.engine.game import MaskGame
    from headspex.engine.models import load_model
    from headspex.export.checkpoint import export_pruned
    from headspex.export.latency import compare_latency
    from headspex.export.safety import check_export_target

    check_export_target(path, overwrite=overwrite, out=out)  # before anything is loaded or scored
    with MaskGame(model, task, players, split="test", ablation=ablation) as game:
        masked = game.choice_logits(selection.mask[None])[0]  # [n_test, n_choices]
        means = game.head_means
    summary = export_pruned(model, selection.mask, path, players=players, ablation=ablation, means=means,
                            overwrite=overwrite)  # heads outside the curve's players are kept
    pruned = load_model(str(path), dtype="float32", device=str(model.device))
    prompts = [q.prompt for q in task.split("test")]
    ids, am = tokenize_left_padded(model.tokenizer, prompts, model.device)
    choice_ids = task.choice_token_ids(model.tokenizer, "test").to(model.device)
    with torch.inference_mode():
        last = pruned.hf_model(input_ids=ids, attention_mask=am, logits_to_keep=1).logits[:, -1].float()
    got = torch.gather(last, 1, choice_ids)
    answers = task.answers("test").to(model.device)
    with tempfile.TemporaryDirectory() as tmp:  # the unpruned baseline: every head kept, the same code path
        export_pruned(model, np.ones((model.n_layers, model.n_heads)), Path(tmp) / "full", ablation=ablation, means=means)
        full = load_model(str(Path(tmp) / "full"), dtype="float32", device=str(model.device))
        latency = compare_latency({"unpruned": full.hf_model, "pruned": pruned.hf_model}, ids, am, repeats=repeats)
    report = dict(method=selection.method, k=selection.k, kept_fraction=selection.k / len(players), ablation=ablation,
                  path=str(path), parameters_unpruned=summary.parameters_before,
                  parameters_pruned=summary.parameters_after,
                  parameter_fraction=summary.parameters_after / summary.parameters_before,
                  kv_heads=[summary.n_kv_heads_before, summary.n_kv_heads_after],
                  max_abs_logit_diff=float((got - masked.to(got.device)).abs().max()),
                  accuracy_pruned=_accuracy(got.cpu(), answers.cpu()), accuracy_masked=_accuracy(masked.cpu(), answers.cpu()),
                  latency_unpruned_s=latency["unpruned"]["median_s"], latency_pruned_s=latency["pruned"]["median_s"],
                  latency_speedup=latency["unpruned"]["median_s"] / latency["pruned"]["median_s"],
                  latency_batch=list(ids.shape), latency_repeats=repeats, device=str(model.device))
    atomic_write_text(Path(out, "export.json"), json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


def _accuracy(choice_logits: torch.Tensor, answers: torch.Tensor) -> float:
    from tasks import per_question_scores

    return float(per_question_scores(choice_logits, answers)["accuracy"].mean())


def pick_selection(result: Any, method: str, keep: float, layers: str | None = None) -> tuple[list, Any, str]:
    """``(players, selection, ablation)`` of ``method`` at level ``keep`` (a fraction, or a head count of a
    curve) in a study result (range ``layers``, 1-based as in ``--layers``; default the first) or a curve."""
    from headspex.players import format_layer_range

    if hasattr(result, "ranges"):  # a layer-range study
        labels = [format_layer_range(r.layers) for r in result.ranges]
        if layers is not None and layers not in labels:
            raise InputError(f"--export-range {layers!r} is not a studied range; choose from {', '.join(labels)}")
        run = result.ranges[labels.index(layers) if layers is not None else 0]
        if (keep, method) not in run.selections:
            raise InputError(f"no {method!r} selection at keep {keep} in layers {format_layer_range(run.layers)}; "
                             f"methods {sorted({m for _, m in run.selections})}, keep {sorted(run.keep_k)}")
        return list(run.players), run.selections[(keep, method)], result.config.ablation
    if method not in result.runs:
        raise InputError(f"--export-method {method!r} was not run; choose from {', '.join(result.runs)}")
    n = len(result.players)
    k = int(keep) if keep >= 1 else int(round(keep * n))
    if k not in result.runs[method].selections:
        raise InputError(f"--export-keep {keep} gives {k} heads, not a level of the sweep {sorted(result.ks)}")
    return list(result.players), result.runs[method].selections[k], result.config.ablation
