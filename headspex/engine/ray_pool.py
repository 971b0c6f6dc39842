"""Evaluate a mask sweep on Ray actors (``pip install 'headspex[ray]'``): :class:`RayExecutor` and its actor pool.

One actor per device (a GPU, or ``cpus_per_worker`` CPUs). Each actor loads the model itself from the
job's model spec (weights never go through the object store: the job shipped to actors has no model)
and builds one :class:`MaskEvaluator`. The driver cuts the masks into chunks, keeps ``IN_FLIGHT``
chunks queued on each actor and hands the next chunk to whichever actor finishes first, so faster
workers take more. Finished chunks are passed to ``on_chunk`` (which writes the store) on the driver
as they arrive. A chunk whose actor dies is re-queued, a replacement actor is started (up to
``n_workers`` times) and each chunk is delivered exactly once. Ray is imported only inside functions.
"""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from headspex.engine.jobs import MAX_CHUNK, EvaluationJob, OnChunk, build_evaluator

RAY_INSTALL = "pip install 'headspex[ray]'"
IN_FLIGHT = 2  # chunks queued per actor: one running, one waiting, so an actor never idles on the driver


@dataclass
class RayExecutor:
    """Ray actors, one per GPU or per ``cpus_per_worker`` CPUs, each loading the model from its spec
    (an :class:`~headspex.engine.executors.Executor`; also importable from :mod:`headspex.engine.executors`).

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
        run_on_ray(job, todo, on_chunk, self, progress=progress)


class RayNotInstalledError(ImportError):
    """executor="ray" was asked for but Ray is not importable; the message names the install command."""


class MaskWorker:
    """Actor body: one model and one MaskEvaluator for a job; scores chunks of masks (1 = keep).

    Args:
        job: the job without its model (and without its means, passed separately through the object store).
        model_spec: ``EvaluationJob.model_spec()``: {"spec", "dtype", "device"}, for ``load_model``.
        means: head means for mean ablation, or None.
        n_threads: torch threads for this actor (None: leave torch's default).
    """

    def __init__(self, job: EvaluationJob, model_spec: dict, means: torch.Tensor | None,
                 n_threads: int | None) -> None:
        from headspex.engine.models import load_model

        if n_threads:
            torch.set_num_threads(n_threads)
        device = model_spec.get("device", "cpu")
        if str(device).startswith("cuda"):
            device = "cuda"  # Ray exposes this actor's GPU as the only visible one
        model = load_model(model_spec["spec"], dtype=model_spec.get("dtype"), device=device)
        self.evaluator = build_evaluator(model, job.task, job.split, job.players, job.ablation, means,
                                         job.backend, job.max_batch_tokens)

    def masks_per_step(self) -> int:
        return self.evaluator.masks_per_step()

    def scores(self, chunk_id: int, masks: np.ndarray) -> tuple[int, dict[str, np.ndarray]]:
        """(chunk_id, {metric: [n_masks]}) for masks [n_masks, n_players]."""
        return chunk_id, self.evaluator.scores(masks)


def run_on_ray(job: EvaluationJob, todo: np.ndarray, on_chunk: OnChunk, executor: RayExecutor, *,
               progress: bool = False) -> None:
    """Score every row of ``todo`` [n_todo, n_players] (uint8, 1 = keep) of ``job`` on Ray actors.

    Each actor loads the model from ``job.model_spec()``; on "cuda" each gets one GPU, else
    ``executor.cpus_per_worker`` CPUs. ``on_chunk(masks [m, n_players], {metric: [m]})`` is called on
    this process once per finished chunk. ``executor.address`` names a running cluster to join (this
    process stays connected; the cluster is never shut down); None starts a local Ray instance, shut
    down at the end. A Ray already initialised in this process is reused as is and left running.
    """
    ray = _import_ray()
    todo = np.asarray(todo, dtype=np.uint8)
    if todo.ndim != 2 or len(todo) == 0:
        raise ValueError(f"todo must be [n_todo >= 1, n_players] masks; got shape {todo.shape}")
    model_spec = job.model_spec()  # fails before Ray starts if the model cannot be reloaded by workers
    started = not ray.is_initialized() and executor.address is None  # a local instance of our own, ours to stop
    if not ray.is_initialized():
        ray.init(address=executor.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    pool = None
    try:
        pool = _ActorPool(ray, job, model_spec, todo, executor)
        _drive(pool, on_chunk, progress)
    finally:
        if pool is not None:
            pool.close()
        if started:
            ray.shutdown()


def _drive(pool: _ActorPool, on_chunk: OnChunk, progress: bool) -> None:
    """The driver loop: top up actors, wait for one result, deliver finished chunks until all are done."""
    from tqdm.auto import tqdm

    with tqdm(total=len(pool.todo), unit="mask", disable=not progress, desc=f"masks (ray x{pool.n_workers})",
              smoothing=0.1) as bar:
        while not pool.finished():
            pool.dispatch()
            ref = pool.wait()
            if ref in pool.starting:
                pool.ready(ref)
                continue
            got = pool.collect(ref)
            if got is not None:
                on_chunk(*got)
                bar.update(len(got[0]))


class _ActorPool:
    """The actors of one sweep and the chunks' bookkeeping: queued, in flight (per actor) and done."""

    def __init__(self, ray: Any, job: EvaluationJob, model_spec: dict, todo: np.ndarray,
                 executor: RayExecutor) -> None:
        self.ray, self.todo, self.executor = ray, todo, executor
        gpu = str(model_spec.get("device", "cpu")).startswith("cuda")
        options, self.n_workers, n_threads = _placement(ray.cluster_resources(), gpu, executor.n_workers,
                                                        executor.cpus_per_worker)
        self._worker = ray.remote(MaskWorker).options(max_restarts=0, max_task_retries=0, **options)
        shipped = dataclasses.replace(job, model=None, means=None, _evaluator=None)  # no weights to the actors
        self._args = (shipped, model_spec, ray.put(job.means), n_threads)
        self.actors: list[Any] = []  # every actor started (all killed at the end)
        self.starting: dict[Any, Any] = {}  # ready-probe ref -> actor not yet known to be up
        self.up: list[Any] = []  # actors up and taking chunks
        self.busy: collections.Counter = collections.Counter()  # actor -> chunks in flight
        self.in_flight: dict[Any, tuple[int, Any]] = {}  # result ref -> (chunk id, actor)
        self.queue: collections.deque[int] = collections.deque()
        self.bounds: list[tuple[int, int]] = []  # chunk id -> rows [start, stop) of todo; set by the first actor up
        self.done: set[int] = set()
        self.replacements, self.last_error = self.n_workers, None
        for _ in range(self.n_workers):
            self.start()

    def start(self) -> None:
        """Start one actor; its ready probe (masks_per_step) goes into ``starting``."""
        actor = self._worker.remote(*self._args)
        self.actors.append(actor)
        self.starting[actor.masks_per_step.remote()] = actor

    def replace(self, err: Exception) -> None:
        """An actor died with ``err``: start a replacement while the budget (``n_workers``) allows."""
        self.last_error = err
        if self.replacements > 0:
            self.start()
        self.replacements -= 1

    def finished(self) -> bool:
        return bool(self.bounds) and len(self.done) == len(self.bounds)

    def chunk(self, cid: int) -> np.ndarray:
        return self.todo[slice(*self.bounds[cid])]

    def ready(self, ref: Any) -> None:
        """A ready probe returned: the actor takes chunks (the first one up fixes the chunking), or it died."""
        from ray.exceptions import RayActorError

        actor = self.starting.pop(ref)
        try:
            per_step = self.ray.get(ref)
        except RayActorError as err:
            self.replace(err)
            return
        if not self.bounds:  # as in the single-process loop
            step = self.executor.chunk_size or min(MAX_CHUNK, per_step)
            self.bounds = [(s, min(s + step, len(self.todo))) for s in range(0, len(self.todo), step)]
            self.queue.extend(range(len(self.bounds)))
        self.up.append(actor)

    def dispatch(self) -> None:
        """Top up every live actor to ``IN_FLIGHT`` chunks from the queue."""
        hook = self.executor.on_dispatch
        for actor in self.up:
            while self.queue and self.busy[actor] < IN_FLIGHT:
                cid = self.queue.popleft()
                masks = self.chunk(cid)
                self.in_flight[actor.scores.remote(cid, masks)] = (cid, actor)
                self.busy[actor] += 1
                if hook is not None:
                    hook(actor, cid, masks)

    def wait(self) -> Any:
        """The next ref to complete, a result or a ready probe; raises if every actor is gone."""
        if not self.in_flight and not self.starting:
            left = len(self.bounds) - len(self.done) if self.bounds else len(self.todo)
            raise RuntimeError(f"all Ray workers died with {left} {'chunks' if self.bounds else 'masks'} left; "
                               f"last error: {self.last_error}") from self.last_error
        (ref,), _ = self.ray.wait(list(self.in_flight) + list(self.starting), num_returns=1)
        return ref

    def collect(self, ref: Any) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """(masks, scores) of a finished chunk, or None if its actor died (the chunk is re-queued first)."""
        from ray.exceptions import RayActorError

        cid, actor = self.in_flight.pop(ref)
        self.busy[actor] -= 1
        try:
            got, scores = self.ray.get(ref)
        except RayActorError as err:
            self.queue.appendleft(cid)
            if actor in self.up:  # its other chunks in flight fail too: replace it once
                self.up.remove(actor)
                self.replace(err)
            return None
        if got != cid or cid in self.done:
            return None
        self.done.add(cid)
        return self.chunk(cid), scores

    def close(self) -> None:
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # already dead or Ray going down
                pass


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise RayNotInstalledError(f"executor='ray' needs Ray, which is not installed: run `{RAY_INSTALL}`") from err
    return ray


def _placement(resources: dict, gpu: bool, n_workers: int | None, cpus_per_worker: float) -> tuple[dict, int, int | None]:
    """(actor options, number of actors, torch threads per actor) for the cluster's resources."""
    if n_workers is not None and n_workers < 1:
        raise ValueError(f"n_workers must be >= 1; got {n_workers}")
    if cpus_per_worker <= 0:
        raise ValueError(f"cpus_per_worker must be > 0; got {cpus_per_worker}")
    if gpu:
        n_gpus = int(resources.get("GPU", 0))
        if n_gpus < 1:
            raise ValueError("the model is on CUDA but the Ray cluster has no GPUs; load it on CPU or add GPU nodes")
        return {"num_gpus": 1, "num_cpus": 1}, n_workers or n_gpus, None
    total = float(resources.get("CPU", 1))
    n = n_workers or max(1, int(total // cpus_per_worker))
    cpus = min(cpus_per_worker, total / n)
    cpus = float(int(cpus)) if cpus >= 1 else round(cpus, 4)  # Ray wants whole numbers above 1
    return {"num_cpus": cpus}, n, max(1, int(cpus))
