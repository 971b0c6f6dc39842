"""Export one method's kept set from a curve as a real pruned checkpoint, and check it.

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

from hooks import tokenize_left_padded


def export_selection(result: Any, model: Any, task: Any, method: str, keep: float, path: str | Path,
                     out: str | Path, *, ablation: str | None = None, repeats: int = 10,
                     overwrite: bool = False) -> dict:
    """Export ``method``'s kept set at level ``keep`` (a sweep fraction or a head count) of ``result`` to ``path``.

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
    selection = _selection(result, method, keep)
    ablation = ablation or result.config.ablation
    with MaskGame(model, task, result.players, split="test", ablation=ablation) as game:
        masked = game.choice_logits(selection.mask[None])[0]  # [n_test, n_choices]
        means = game.head_means
    summary = export_pruned(model, selection.mask, path, players=result.players, ablation=ablation, means=means,
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
    report = dict(method=method, k=selection.k, kept_fraction=selection.k / len(result.players), ablation=ablation,
                  path=str(path), parameters_unpruned=summary.parameters_before,
                  parameters_pruned=summary.parameters_after,
                  parameter_fraction=summary.parameters_after / summary.parameters_before,
                  kv_heads=[summary.n_kv_heads_before, summary.n_kv_heads_after],
                  max_abs_logit_diff=float((got - masked.to(got.device)).abs().max()),
                  accuracy_pruned=_accuracy(got.cpu(), answers.cpu()), accuracy_masked=_accuracy(masked.cpu(), answers.cpu()),
                  latency_unpruned_s=latency["unpruned"]["median_s"], latency_pruned_s=latency["pruned"]["median_s"],
                  latency_speedup=latency["unpruned"]["median_s"] / latency["pruned"]["median_s"],
                  latency_batch=list(ids.shape), latency_repeats=repeats, device=str(model.device))
    Path(out, "export.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


def _accuracy(choice_logits: torch.Tensor, answers: torch.Tensor) -> float:
    from tasks import per_question_scores

    return float(per_question_scores(choice_logits, answers)["accuracy"].mean())


def _selection(result: Any, method: str, keep: float) -> Any:
    if method not in result.runs:
        raise ValueError(f"--export-method {method!r} was not run; choose from {', '.join(result.runs)}")
    n = len(result.players)
    k = int(keep) if keep >= 1 else int(round(keep * n))
    if k not in result.runs[method].selections:
        raise ValueError(f"--export-keep {keep} gives {k} heads, not a level of the sweep {sorted(result.ks)}")
    return result.runs[method].selections[k]
