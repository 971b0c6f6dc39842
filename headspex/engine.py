"""``evaluate_masks``: the value of many head masks on a task, batched, deduplicated and resumable."""

from __future__ import annotations

import hashlib
import platform
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from hooks import compute_head_means, validate_players

from .evaluator import MaskEvaluator
from .sampling import unique_rows
from .spectrum import check_masks as check_binary_masks
from .store import METRIC_NAMES, ValueStore, mask_key

ABLATIONS = ("zero", "mean")


def evaluate_masks(model: Any, task: Any, masks: Any, *, players: Sequence[tuple[int, int]], metric: str = "logprob",
                   ablation: str = "zero", split: str = "train", store: str | Path | None = None,
                   backend: str = "auto", reference_split: str = "train", max_batch_tokens: int | None = None,
                   progress: bool = True, executor: str | None = None, ray_address: str | None = None,
                   n_workers: int | None = None) -> np.ndarray:
    """Value of each mask row: the mean task score with only the kept players active.

    Args:
        model: a :class:`headspex.LoadedModel`.
        task: a :class:`tasks.Task` (``tasks.load(name)``).
        masks: [n_masks, n_players] binary, 1 = keep; column j is ``players[j]``.
        players: (layer, head) pairs, 0-based; heads not listed stay intact.
        metric: "accuracy", "logprob" (log-softmax over the choices, at the correct one) or "margin"
            (correct logit minus best wrong).
        ablation: "zero", or "mean" (head means over all non-pad tokens of ``reference_split``).
        store: a directory; values are written there as produced, and a rerun resumes from it.
        backend: "auto" (fast on Llama-family models), "fast" or "bridge" (TransformerLens hooks).
        executor: None (this process) or "ray": Ray actors, one per worker, each loading the model from
            its spec (``pip install headspex[ray]``); ``ray_address`` joins a running cluster (None
            starts a local one), ``n_workers`` actors (None: one per GPU, else one per 2 CPUs).

    Returns:
        [n_masks] float64. Duplicate rows are evaluated once.
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {METRIC_NAMES}; got {metric!r}")
    if ablation not in ABLATIONS:
        raise ValueError(f"ablation must be one of {ABLATIONS}; got {ablation!r}")
    players = validate_players(players, n_layers=model.n_layers, n_heads=model.n_heads)
    masks = check_masks(masks, len(players))
    unique, inverse = unique_rows(masks)
    questions = task.split(split)
    vstore = ValueStore.open(store, identity=run_identity(model, task, split, players, ablation, reference_split),
                             info=run_info(backend)) if store is not None else None
    means = _means(model, task, reference_split, vstore) if ablation == "mean" else None
    done: dict[str, dict[str, float]] = {}
    todo = []
    for row in unique:
        key = mask_key(row)
        rec = vstore.get(key) if vstore is not None else None
        if rec is None:
            todo.append(row)
        else:
            done[key] = rec
    if todo and executor is not None:
        _run_distributed(model, task, split, players, ablation, means, backend, max_batch_tokens, np.stack(todo),
                         vstore, done, progress, executor, ray_address, n_workers)
    elif todo:
        evaluator = MaskEvaluator(model, [q.prompt for q in questions], task.choice_token_ids(model.tokenizer, split),
                                  task.answers(split), players=players, ablation=ablation, means=means,
                                  backend=backend, max_batch_tokens=max_batch_tokens)
        _run(evaluator, np.stack(todo), vstore, done, progress)
    values = np.array([done[mask_key(row)][metric] for row in unique], dtype=np.float64)
    return values[inverse]


def evaluate_clean(model: Any, task: Any, *, split: str = "test", backend: str = "auto") -> dict[str, float]:
    """Scores of the unablated model on a split: {"accuracy", "logprob", "margin"}."""
    questions = task.split(split)
    evaluator = MaskEvaluator(model, [q.prompt for q in questions], task.choice_token_ids(model.tokenizer, split),
                              task.answers(split), players=[(0, 0)], backend=backend)
    scores = evaluator.scores(np.ones((1, 1), dtype=np.uint8))
    return {k: float(v[0]) for k, v in scores.items()}


def check_masks(masks: Any, n_players: int) -> np.ndarray:
    """Validate a non-empty [n_masks, n_players] binary mask array (numpy or torch); return it as uint8."""
    m = check_binary_masks(masks.detach().cpu() if isinstance(masks, torch.Tensor) else masks, n_players=n_players)
    if m.shape[0] == 0:
        raise ValueError(f"masks must have at least one row [n_masks >= 1, n_players={n_players}]; got {m.shape}")
    return m


def run_identity(model: Any, task: Any, split: str, players: Sequence[tuple[int, int]], ablation: str,
                 reference_split: str) -> dict:
    """What makes stored values comparable: a store refuses to mix runs that differ in any of it."""
    ids = "\n".join(q.id for q in task.split(split))
    return {
        "model": model.name,
        "architecture": model.architecture,
        "geometry": [model.n_layers, model.n_heads, model.d_head],
        "dtype": str(model.dtype).replace("torch.", ""),
        "task": task.name,
        "task_options": {k: task.info.get(k) for k in ("seed", "n_shots", "source")},
        "split": split,
        "questions_sha1": hashlib.sha1(ids.encode()).hexdigest(),
        "n_questions": len(task.split(split)),
        "players": [list(p) for p in players],
        "ablation": ablation,
        "mean_reference": reference_split if ablation == "mean" else None,
    }


def run_info(backend: str) -> dict:
    """Recorded beside the values, not checked on resume."""
    import transformers

    return {
        "backend": backend,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": platform.python_version()},
    }


def _means(model: Any, task: Any, reference_split: str, vstore: ValueStore | None) -> torch.Tensor:
    """Head means for mean ablation: from the store if it has them, else cached on the model, else computed."""
    path = vstore.path / "means.pt" if vstore is not None else None
    if path is not None and path.exists():
        return torch.load(path)
    cache = model.info.setdefault("means_cache", {})
    key = (task.name, task.info.get("seed"), reference_split)
    if key not in cache:
        cache[key] = compute_head_means(model, [q.prompt for q in task.split(reference_split)])
    if path is not None:
        tmp = path.with_suffix(".tmp")
        torch.save(cache[key], tmp)
        tmp.replace(path)
    return cache[key]


def _run_distributed(model: Any, task: Any, split: str, players: list, ablation: str, means: Any, backend: str,
                     max_batch_tokens: int | None, todo: np.ndarray, vstore: ValueStore | None, done: dict,
                     progress: bool, executor: str, address: str | None, n_workers: int | None) -> None:
    """Evaluate ``todo`` on Ray actors; each finished chunk is stored by this (driver) process as it arrives."""
    if executor != "ray":
        raise ValueError(f"executor must be None or 'ray'; got {executor!r}")
    spec = model.info.get("spec")
    if spec is None:
        raise ValueError("executor='ray' needs a model loaded with headspex.load_model(spec) (actors reload it from "
                         "the spec); this model was wrapped in memory")
    from .ray_executor import run_on_ray

    def on_chunk(chunk: np.ndarray, scores: dict[str, np.ndarray]) -> None:
        _record(chunk, scores, vstore, done)

    run_on_ray(model_spec={"spec": spec, "dtype": str(model.dtype).replace("torch.", ""), "device": str(model.device)},
               task=task, split=split, players=players, ablation=ablation, means=means, backend=backend,
               max_batch_tokens=max_batch_tokens, todo=todo, on_chunk=on_chunk, progress=progress,
               address=address, n_workers=n_workers)


def _run(evaluator: MaskEvaluator, todo: np.ndarray, vstore: ValueStore | None, done: dict, progress: bool) -> None:
    from tqdm.auto import tqdm

    step = min(64, evaluator.masks_per_step())
    with tqdm(total=len(todo), unit="mask", disable=not progress, desc="masks", smoothing=0.1) as bar:
        for start in range(0, len(todo), step):
            chunk = todo[start:start + step]
            _record(chunk, evaluator.scores(chunk), vstore, done)
            bar.update(len(chunk))


def _record(chunk: np.ndarray, scores: dict[str, np.ndarray], vstore: ValueStore | None, done: dict) -> None:
    """Store finished masks [m, n_players] durably (if a store is open) and keep their scores in ``done``."""
    if vstore is not None:
        vstore.append(chunk, scores)
    for i, row in enumerate(chunk):
        done[mask_key(row)] = {name: float(scores[name][i]) for name in METRIC_NAMES}
