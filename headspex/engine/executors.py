"""Where masks are evaluated: small executor objects behind one protocol (after nnsight's backends).

An :class:`~headspex.engine.jobs.EvaluationJob` says *what* to evaluate (model, questions, players,
ablation); an executor says *where*. ``LocalExecutor`` runs the masks in this process; ``RayExecutor``
(defined in :mod:`headspex.engine.ray_pool`, importable from here) on Ray actors that each load the
model from its spec. Both hand every finished chunk of masks to ``on_chunk`` on this
process, which is where the value store is written.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from headspex.engine.jobs import MAX_CHUNK, EvaluationJob, OnChunk, build_evaluator
from headspex.engine.ray_pool import RayExecutor

__all__ = ["MAX_CHUNK", "EvaluationJob", "Executor", "LocalExecutor", "OnChunk", "RayExecutor", "build_evaluator",
           "make_executor"]


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
