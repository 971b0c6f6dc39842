"""Evaluate a mask sweep on Ray actors (``pip install 'headspex[ray]'``); used by ``evaluate_masks(executor="ray")``.

One actor per device (a GPU, or ``cpus_per_worker`` CPUs). Each actor loads the model itself from its
spec (weights never go through the object store) and builds one :class:`MaskEvaluator`. The driver
cuts the masks into the same chunks as the single-process loop, keeps ``IN_FLIGHT`` chunks queued on
each actor and hands the next chunk to whichever actor finishes first, so faster workers take more.
Finished chunks are passed to ``on_chunk`` (which writes the store) on the driver as they arrive. A
chunk whose actor dies is re-queued, a replacement actor is started (up to ``n_workers`` times) and
each chunk is delivered exactly once. Ray is imported only inside :func:`run_on_ray`.
"""

from __future__ import annotations

import collections
from typing import Any, Callable, Sequence

import numpy as np
import torch

RAY_INSTALL = "pip install 'headspex[ray]'"
IN_FLIGHT = 2  # chunks queued per actor: one running, one waiting, so an actor never idles on the driver
MAX_CHUNK = 64  # as in the single-process loop (engine._run)

# Test hook: if set, called on the driver as ``_on_dispatch(actor, chunk_id, masks)`` after each chunk is
# handed to an actor (tests use it to ``ray.kill`` an actor mid-sweep). Not part of the API.
_on_dispatch: Callable[[Any, int, np.ndarray], None] | None = None


class RayNotInstalledError(ImportError):
    """executor="ray" was asked for but Ray is not importable; the message names the install command."""


class MaskWorker:
    """Actor body: one model and one MaskEvaluator for a task split; scores chunks of masks (1 = keep)."""

    def __init__(self, model_spec: dict, task: Any, split: str, players: Sequence[tuple[int, int]], ablation: str,
                 means: torch.Tensor | None, backend: str, max_batch_tokens: int | None, n_threads: int | None) -> None:
        from .evaluator import MaskEvaluator
        from .models import load_model

        if n_threads:
            torch.set_num_threads(n_threads)
        device = model_spec.get("device", "cpu")
        if str(device).startswith("cuda"):
            device = "cuda"  # Ray exposes this actor's GPU as the only visible one
        model = load_model(model_spec["spec"], dtype=model_spec.get("dtype"), device=device)
        questions = task.split(split)
        self.evaluator = MaskEvaluator(model, [q.prompt for q in questions], task.choice_token_ids(model.tokenizer, split),
                                       task.answers(split), players=players, ablation=ablation, means=means,
                                       backend=backend, max_batch_tokens=max_batch_tokens)

    def masks_per_step(self) -> int:
        return self.evaluator.masks_per_step()

    def scores(self, chunk_id: int, masks: np.ndarray) -> tuple[int, dict[str, np.ndarray]]:
        """(chunk_id, {metric: [n_masks]}) for masks [n_masks, n_players]."""
        return chunk_id, self.evaluator.scores(masks)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise RayNotInstalledError(f"executor='ray' needs Ray, which is not installed: run `{RAY_INSTALL}`") from err
    return ray


def run_on_ray(*, model_spec: dict, task: Any, split: str, players: Sequence[tuple[int, int]], ablation: str,
               means: torch.Tensor | None, backend: str, max_batch_tokens: int | None, todo: np.ndarray,
               on_chunk: Callable[[np.ndarray, dict[str, np.ndarray]], None], progress: bool = True,
               address: str | None = None, n_workers: int | None = None, cpus_per_worker: float = 2,
               chunk_size: int | None = None) -> None:
    """Score every row of ``todo`` [n_todo, n_players] (uint8, 1 = keep) on Ray actors.

    Args:
        model_spec: {"spec": load_model spec, "dtype": "float32"|..., "device": "cpu"|"cuda:0"}; each actor
            loads the model from it. On "cuda" each actor gets one GPU, else ``cpus_per_worker`` CPUs.
        on_chunk: called on the driver once per finished chunk with (masks [m, n_players], {metric: [m]}).
        address: a running cluster to join (this process stays connected for later calls; the cluster is
            never shut down); None starts a local Ray instance, shut down at the end. A Ray already
            initialised in this process is reused as is and left running.
        n_workers: actors (None: one per GPU, or one per ``cpus_per_worker`` CPUs; at least 1).
        chunk_size: masks per chunk (None: as the single-process loop, min(64, masks per forward pass)).
    """
    ray = _import_ray()
    from ray.exceptions import RayActorError
    from tqdm.auto import tqdm

    todo = np.asarray(todo, dtype=np.uint8)
    if todo.ndim != 2 or len(todo) == 0:
        raise ValueError(f"todo must be [n_todo >= 1, n_players] masks; got shape {todo.shape}")
    started = not ray.is_initialized() and address is None  # a local instance of our own, ours to stop
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    actors: list[Any] = []
    try:
        gpu = str(model_spec.get("device", "cpu")).startswith("cuda")
        options, n_workers, n_threads = _placement(ray.cluster_resources(), gpu, n_workers, cpus_per_worker)
        worker_cls = ray.remote(MaskWorker).options(max_restarts=0, max_task_retries=0, **options)
        args = (model_spec, task, split, list(players), ablation, ray.put(means), backend, max_batch_tokens, n_threads)

        def start() -> Any:
            actor = worker_cls.remote(*args)
            actors.append(actor)
            starting[actor.masks_per_step.remote()] = actor
            return actor

        starting: dict[Any, Any] = {}  # ready-probe ref -> actor not yet known to be up
        ready: list[Any] = []  # actors up and taking chunks
        busy: collections.Counter = collections.Counter()  # actor -> chunks in flight
        in_flight: dict[Any, tuple[int, Any]] = {}  # ref -> (chunk id, actor)
        queue: collections.deque[int] = collections.deque()
        bounds: list[tuple[int, int]] = []
        done: set[int] = set()
        replacements, last_error = n_workers, None
        for _ in range(n_workers):
            start()
        with tqdm(total=len(todo), unit="mask", disable=not progress, desc=f"masks (ray x{n_workers})",
                  smoothing=0.1) as bar:
            while not bounds or len(done) < len(bounds):
                for actor in ready:  # top up every live actor to IN_FLIGHT chunks
                    while queue and busy[actor] < IN_FLIGHT:
                        cid = queue.popleft()
                        ref = actor.scores.remote(cid, todo[slice(*bounds[cid])])
                        in_flight[ref] = (cid, actor)
                        busy[actor] += 1
                        if _on_dispatch is not None:
                            _on_dispatch(actor, cid, todo[slice(*bounds[cid])])
                if not in_flight and not starting:
                    raise RuntimeError(f"all Ray workers died with {len(bounds) - len(done)} chunks left; "
                                       f"last error: {last_error}") from last_error
                (ref,), _ = ray.wait(list(in_flight) + list(starting), num_returns=1)
                if ref in starting:
                    actor = starting.pop(ref)
                    try:
                        per_step = ray.get(ref)
                    except RayActorError as err:
                        last_error = err
                        replacements = _replace(replacements, start)
                        continue
                    if not bounds:  # the first actor up fixes the chunking, as in the single-process loop
                        step = chunk_size or min(MAX_CHUNK, per_step)
                        bounds = [(s, min(s + step, len(todo))) for s in range(0, len(todo), step)]
                        queue.extend(range(len(bounds)))
                    ready.append(actor)
                    continue
                cid, actor = in_flight.pop(ref)
                busy[actor] -= 1
                try:
                    got, scores = ray.get(ref)
                except RayActorError as err:  # the actor died: re-queue its chunk first, replace it if allowed
                    last_error = err
                    queue.appendleft(cid)
                    if actor in ready:
                        ready.remove(actor)
                        replacements = _replace(replacements, start)
                    continue
                if got != cid or cid in done:
                    continue
                done.add(cid)
                on_chunk(todo[slice(*bounds[cid])], scores)
                bar.update(bounds[cid][1] - bounds[cid][0])
    finally:
        for actor in actors:
            try:
                ray.kill(actor)
            except Exception:  # already dead or Ray going down
                pass
        if started:
            ray.shutdown()


def _replace(budget: int, start: Callable[[], Any]) -> int:
    """Start a replacement actor if the budget allows; return the remaining budget."""
    if budget > 0:
        start()
    return budget - 1


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
