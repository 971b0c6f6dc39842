"""Where masks are evaluated: small executor objects behind one protocol (after nnsight's backends).

An :class:`EvaluationJob` says *what* to evaluate (model, questions, players, ablation); an executor
says *where*. ``LocalExecutor`` runs the masks in this process; ``RayExecutor`` on Ray actors that
each load the model from its spec. Both hand every finished chunk of masks to ``on_chunk`` on this
process, which is where the value store is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np
import torch

from headspex.engine.evaluator import MaskEvaluator

MAX_CHUNK = 64  # masks per chunk handed to on_chunk (and stored durably at once)

OnChunk = Callable[[np.ndarray, dict[str, np.ndarray]], None]


@dataclass(eq=False)
class EvaluationJob:
    """What to evaluate: one model on one split of a task, with one set of players and one ablation.

    ``means``: [n_layers, n_heads, d_head] head means for mean ablation (None for zero ablation).
    The evaluator (tokenised questions, prefix cache) is built on first use and kept.
    """

    model: Any
    task: Any
    split: str
    players: Sequence[tuple[int, int]]
    ablation: str = "zero"
    means: torch.Tensor | None = None
    backend: str = "auto"
    max_batch_tokens: int | None = None
    _evaluator: MaskEvaluator | None = field(default=None, repr=False)

    def evaluator(self) -> MaskEvaluator:
        """The job's one :class:`MaskEvaluator` (built once, then reused with its prefix cache)."""
        if self._evaluator is None:
            self._evaluator = build_evaluator(self.model, self.task, self.split, self.players, self.ablation,
                                              self.means, self.backend, self.max_batch_tokens)
        return self._evaluator

    def model_spec(self) -> dict:
        """How a worker process reloads the model: ``load_model(spec, dtype=..., device=...)``."""
        spec = getattr(self.model, "spec", None)
        if spec is None:
            raise ValueError("a remote executor needs a model loaded with headspex.load_model(spec) (workers "
                             "reload it from the spec); this model was wrapped in memory")
        return {"spec": spec, "dtype": str(self.model.dtype).replace("torch.", ""), "device": str(self.model.device)}


def build_evaluator(model: Any, task: Any, split: str, players: Sequence[tuple[int, int]], ablation: str,
                    means: torch.Tensor | None, backend: str, max_batch_tokens: int | None) -> MaskEvaluator:
    """A :class:`MaskEvaluator` over the questions of ``task``'s ``split``."""
    prompts = [q.prompt for q in task.split(split)]
    return MaskEvaluator(model, prompts, task.choice_token_ids(model.tokenizer, split), task.answers(split),
                         players=players, ablation=ablation, means=means, backend=backend,
                         max_batch_tokens=max_batch_tokens)


@runtime_checkable
class Executor(Protocol):
    """Evaluates ``todo`` [n_todo, n_players] (uint8, 1 = keep) and calls ``on_chunk`` per finished chunk."""

    name: str

    def run(self, job: EvaluationJob, todo: np.ndarray, on_chunk: OnChunk, *, progress: bool = False) -> None:
        ...


class LocalExecutor:
    """This process: chunks of masks through the job's evaluator, one after another."""

    name = "local"

    def run(self, job: EvaluationJob, todo: np.ndarray, on_chunk: OnChunk, *, progress: bool = False) -> None:
        from tqdm.auto import tqdm

        evaluator = job.evaluator()
        step = min(MAX_CHUNK, evaluator.masks_per_step())
        with tqdm(total=len(todo), unit="mask", disable=not progress, desc="masks", smoothing=0.1) as bar:
            for start in range(0, len(todo), step):
                chunk = todo[start:start + step]
                on_chunk(chunk, evaluator.scores(chunk))
                bar.update(len(chunk))


@dataclass
class RayExecutor:
    """Ray actors, one per GPU or per ``cpus_per_worker`` CPUs, each loading the model from its spec.

    Args:
        address: a running cluster to join; None starts a local Ray instance for each run.
        n_workers: actors (None: one per GPU, else one per ``cpus_per_worker`` CPUs).
        chunk_size: masks per chunk (None: as the local loop).
        on_dispatch: test seam, called on the driver as ``on_dispatch(actor, chunk_id, masks)`` after each
            chunk is handed to an actor.
    """

    address: str | None = None
    n_workers: int | None = None
    cpus_per_worker: float = 2
    chunk_size: int | None = None
    on_dispatch: Callable[[Any, int, np.ndarray], None] | None = None
    name = "ray"

    def run(self, job: EvaluationJob, todo: np.ndarray, on_chunk: OnChunk, *, progress: bool = False) -> None:
        from headspex.engine.ray_pool import run_on_ray

        run_on_ray(job, todo, on_chunk, self, progress=progress)


def make_executor(executor: Executor | str | None = None, *, ray_address: str | None = None,
                  n_workers: int | None = None) -> Executor:
    """An executor object from an object, ``None``/"local" or "ray" (with its address and workers)."""
    if executor is None or executor == "local":
        return LocalExecutor()
    if executor == "ray":
        return RayExecutor(address=ray_address, n_workers=n_workers)
    if isinstance(executor, Executor):
        return executor
    raise ValueError(f"executor must be None, 'local', 'ray' or an Executor object; got {executor!r}")
