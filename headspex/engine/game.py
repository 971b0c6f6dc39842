"""``MaskGame``: the value function f(mask) of one split of a task, as an object (after shapiq's Game).

Built once, a game opens its store once, owns the head means, and keeps one evaluator (with its
tokenised questions and prefix cache) across calls. Called on a ``[n_masks, n_players]`` boolean
coalition matrix it returns one value per row, so shapiq's approximators run on heads directly::

    game = MaskGame(model, task, players, metric="logprob", store="runs/x/train")
    values = game(masks)                                   # [n_masks] float64
    shapiq.KernelSHAP(n=game.n_players).approximate(budget, game)
"""

from __future__ import annotations

import copy
import hashlib
import platform
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from headspex._checks import check_choice, check_masks
from headspex._io import atomic_write_with
from headspex.engine.dtype_choice import warn_if_slow
from headspex.engine.executors import EvaluationJob, Executor, make_executor
from headspex.engine.fingerprint import prompts_fingerprint, weights_fingerprint
from headspex.engine.sampling import unique_rows
from headspex.engine.store import METRIC_NAMES, ValueStore, mask_key
from hooks import ABLATION_MODES, compute_head_means, validate_players


class MaskGame:
    """f(m): the mean task score on ``split`` with only the kept players of ``m`` active.

    Args:
        model: a :class:`headspex.LoadedModel`.
        task: a :class:`tasks.Task`.
        players: (layer, head) pairs, 0-based; column j of a mask is ``players[j]``; other heads stay intact.
        split: the task split whose questions are scored.
        metric: the value returned by calls: "accuracy", "logprob" (log-softmax over the choices, at
            the correct one) or "margin" (correct logit minus best wrong). All three are stored.
        ablation: "zero", or "mean" (head means over all non-pad tokens of ``reference_split``).
        store: a directory; values are written there as produced, and a rerun resumes from it. The
            game holds the store's lock until :meth:`close`.
        backend: "auto" (the model's forward path: fast on Llama-family models, generic on any other),
            "fast", "generic" or "bridge" (TransformerLens hooks).
        executor: None/"local" (this process), "ray", or an :class:`~headspex.engine.executors.Executor`.
        means: head means [n_layers, n_heads, d_head] to use for mean ablation (default: computed, or
            read from the store).
        wait: queue behind another process holding the store's lock instead of refusing.
        repair: move bad lines of the store's ``values.jsonl`` to ``values.rejected.jsonl`` (their masks are
            recomputed) instead of refusing the store.
    """

    def __init__(self, model: Any, task: Any, players: Sequence[tuple[int, int]], *, split: str = "train",
                 metric: str = "logprob", ablation: str = "zero", reference_split: str = "train",
                 store: str | Path | None = None, backend: str = "auto", executor: Executor | str | None = None,
                 max_batch_tokens: int | None = None, progress: bool = False,
                 means: torch.Tensor | None = None, wait: bool = False, repair: bool = False) -> None:
        self.metric = check_choice(metric, "metric", METRIC_NAMES)
        self.ablation = check_choice(ablation, "ablation", ABLATION_MODES)
        self.players = validate_players(players, n_layers=model.n_layers, n_heads=model.n_heads)
        self.model, self.task, self.split, self.reference_split = model, task, split, reference_split
        warn_if_slow(model)  # bfloat16 on a CPU without bf16 units: say so, once
        self.executor = make_executor(executor)
        self.progress = progress
        self.n_evaluated = 0  # masks this game sent through the model (not read from the store)
        self._store = None
        if store:
            identity = run_identity(model, task, split, self.players, ablation, reference_split)
            self._store = ValueStore.open(store, identity=identity, info=run_info(backend), wait=wait, repair=repair)
        self._records: dict[str, dict[str, float]] = {}
        means = self._head_means(means) if ablation == "mean" else None
        self._job = EvaluationJob(model, task, split, self.players, ablation, means, backend, max_batch_tokens)

    # -- the Game contract ------------------------------------------------------------------

    @property
    def n_players(self) -> int:
        return len(self.players)

    @property
    def n_stored(self) -> int:
        """Mask values already in the store when it was opened or since (0 without a store)."""
        return len(self._store) if self._store is not None else 0

    def __call__(self, coalitions: Any) -> np.ndarray:
        """Values of ``coalitions`` [n_masks, n_players] (bool or 0/1, 1 = keep) -> [n_masks] float64."""
        return self.scores(coalitions)[self.metric]

    value_function = __call__

    @property
    def backend(self) -> str:
        """The backend that runs the masks: "fast", "generic" or "bridge" (resolved from "auto")."""
        return self._job.evaluator().backend

    @property
    def head_means(self) -> torch.Tensor | None:
        """[n_layers, n_heads, d_head] means used for mean ablation (None for zero ablation)."""
        return self._job.means

    def scores(self, masks: Any) -> dict[str, np.ndarray]:
        """Every metric for each mask row -> {metric: [n_masks] float64}. Duplicates are evaluated once,
        stored masks not at all."""
        masks = check_masks(masks, n_players=self.n_players, min_rows=1)
        unique, inverse = unique_rows(masks)
        todo = [row for row in unique if self._lookup(mask_key(row)) is None]
        if todo:
            self.executor.run(self._job, np.stack(todo), self._record, progress=self.progress)
            self.n_evaluated += len(todo)
        recs = [self._lookup(mask_key(row)) for row in unique]
        return {name: np.array([r[name] for r in recs], dtype=np.float64)[inverse] for name in METRIC_NAMES}

    def with_metric(self, metric: str) -> "MaskGame":
        """The same game (same store, evaluator and cache) returning another metric."""
        other = copy.copy(self)
        other.metric = check_choice(metric, "metric", METRIC_NAMES)
        return other

    def choice_logits(self, masks: Any) -> torch.Tensor:
        """Answer-choice logits, not stored: [n_masks, n_questions, n_choices] float32 in the split's order."""
        return self._job.evaluator().choice_logits(check_masks(masks, n_players=self.n_players, min_rows=1))

    def per_question(self, masks: Any) -> dict[str, np.ndarray]:
        """Per-question scores, not stored: {metric: [n_masks, n_questions]} in the split's order."""
        from tasks import per_question_scores

        per_q = per_question_scores(self.choice_logits(masks), self.task.answers(self.split))
        return {name: per_q[name].double().numpy() for name in METRIC_NAMES}

    def evaluated(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Everything stored so far: (masks [n, n_players] uint8, {metric: [n]}), in write order."""
        if self._store is not None:
            masks, _ = self._store.arrays()
            return masks, {m: self._store.arrays(m)[1] for m in METRIC_NAMES}
        from headspex.engine.store import key_to_mask

        keys = list(self._records)
        masks = np.stack([key_to_mask(k, self.n_players) for k in keys]) if keys else np.zeros((0, self.n_players))
        return masks.astype(np.uint8), {m: np.array([self._records[k][m] for k in keys]) for m in METRIC_NAMES}

    def close(self) -> None:
        """Release the store's lock (values are on disk already)."""
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> "MaskGame":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f", store={str(self._store.path)!r}" if self._store is not None else ""
        return (f"MaskGame({self.model.name!r}, {self.task.name!r}, split={self.split!r}, {self.n_players} players, "
                f"metric={self.metric!r}, ablation={self.ablation!r}{where})")

    # -- internals ----------------------------------------------------------------------------

    def _lookup(self, key: str) -> dict[str, float] | None:
        rec = self._records.get(key)
        if rec is None and self._store is not None:
            rec = self._store.get(key)
        return rec

    def _record(self, chunk: np.ndarray, scores: dict[str, np.ndarray]) -> None:
        """A finished chunk [m, n_players]: durably to the store if open, else into memory."""
        if self._store is not None:
            self._store.append(chunk, scores)
            return
        for i, row in enumerate(chunk):
            self._records[mask_key(row)] = {name: float(scores[name][i]) for name in METRIC_NAMES}

    def _head_means(self, given: torch.Tensor | None) -> torch.Tensor:
        """Head means: given, else from the store, else computed (and saved to the store)."""
        path = self._store.path / "means.pt" if self._store is not None else None
        if given is None and path is not None and path.exists():
            return torch.load(path)
        means = given if given is not None else compute_head_means(
            self.model, [q.prompt for q in self.task.split(self.reference_split)])
        if path is not None and not path.exists():
            atomic_write_with(path, lambda tmp: torch.save(means, tmp))
        return means


def run_identity(model: Any, task: Any, split: str, players: Sequence[tuple[int, int]], ablation: str,
                 reference_split: str) -> dict:
    """What makes stored values comparable: a store refuses to mix runs that differ in any of it. Beside the
    names, ``weights`` fingerprints the weights themselves and ``prompts`` the split's exact prompt text,
    choices and answers (:mod:`headspex.engine.fingerprint`)."""
    ids = "\n".join(q.id for q in task.split(split))
    return {
        "model": model.name,
        "weights": weights_fingerprint(model),
        "architecture": model.architecture,
        "geometry": [model.n_layers, model.n_heads, model.d_head],
        "dtype": str(model.dtype).replace("torch.", ""),
        "task": task.name,
        "task_options": {k: task.info.get(k) for k in ("seed", "n_shots", "source")}
        | ({"sha256": task.info["sha256"]} if "sha256" in task.info else {})  # a user's file: its content
        | ({"exemplars": "shared"} if "shared_exemplars" in task.info else {}),  # same ids, other prompts
        "split": split,
        "questions_sha1": hashlib.sha1(ids.encode()).hexdigest(),
        "prompts": prompts_fingerprint(task, split),
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
