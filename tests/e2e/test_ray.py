"""RayExecutor: same values as one process, survives a killed actor, resumes, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

ray = pytest.importorskip("ray")

from headspex.engine import evaluate_masks, load_model, load_store, sample_masks  # noqa: E402
from headspex.engine.executors import EvaluationJob, RayExecutor  # noqa: E402
from headspex.engine.ray_pool import run_on_ray  # noqa: E402
from headspex.engine.store import ValueStore, mask_key  # noqa: E402
from tests.helpers import players_of, tiny_task  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KW = dict(max_batch_tokens=64, progress=False)  # 64 tokens -> a few masks per chunk, so a sweep has many chunks


@pytest.fixture(scope="module")
def local_ray():
    """One 2-CPU Ray instance for the module; run_on_ray reuses it and leaves it running."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny random Llama saved as a checkpoint directory (actors load it from its path) and loaded here."""
    from tests.conftest import save_tiny_llama

    path = save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
    return load_model(str(path), dtype="float32", device="cpu")


def single_process(*args, **kw) -> np.ndarray:
    """evaluate_masks in this process with one torch thread, as each 1-CPU actor runs (CPU matmuls reduce in a
    thread-count-dependent order: 2 threads vs 1 differ by ~4e-8)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return evaluate_masks(*args, **kw)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def dispatched():
    """Rows, chunk ids and actors handed out, via RayExecutor's dispatch hook (``log["executor"]``, 2 workers);
    tests may add a ``kill(actor, chunk_id)`` callback."""
    log: dict = {"masks": [], "chunks": [], "actors": [], "kill": None}

    def hook(actor, cid, masks):
        log["masks"].extend(mask_key(m) for m in masks)
        log["chunks"].append(cid)
        log["actors"].append(actor)
        if log["kill"] is not None:
            log["kill"](actor, cid)

    log["executor"] = RayExecutor(n_workers=2, on_dispatch=hook)
    return log


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_two_actors_equal_single_process_in_order(local_ray, tiny, dispatched, ablation):
    task, players = tiny_task(), players_of([1, 2], tiny.n_heads)
    base = sample_masks(20, len(players), seed=7)
    masks = np.concatenate([base, base[:3]])  # duplicates come back in place too
    single = single_process(tiny, task, masks, players=players, ablation=ablation, **KW)
    dist = evaluate_masks(tiny, task, masks, players=players, ablation=ablation, executor=dispatched["executor"],
                          **KW)
    np.testing.assert_array_equal(dist, single)
    chunks = dispatched["chunks"]
    assert len(chunks) > 2 and sorted(chunks) == list(range(len(chunks)))  # every chunk sent once, none lost
    assert Counter(dispatched["masks"]) == Counter(mask_key(m) for m in np.unique(base, axis=0))


def test_killed_actor_chunk_is_requeued_and_every_value_arrives_once(local_ray, tiny, dispatched):
    task, players = tiny_task(), players_of([2, 3], tiny.n_heads)
    todo = np.unique(sample_masks(24, len(players), seed=8), axis=0)
    killed: list = []

    def kill(actor, cid):
        if cid == 3 and not killed:
            killed.append(actor)
            ray.kill(actor)

    dispatched["kill"] = kill
    got: Counter = Counter()
    values: dict = {}

    def on_chunk(chunk, scores):
        for i, row in enumerate(chunk):
            got[mask_key(row)] += 1
            values[mask_key(row)] = scores["logprob"][i]

    run_on_ray(EvaluationJob(tiny, task, "train", players, max_batch_tokens=64), todo, on_chunk,
               dispatched["executor"])
    assert killed and ray.is_initialized()  # a Ray we did not start is left running
    assert set(got) == {mask_key(m) for m in todo} and set(got.values()) == {1}  # each value delivered once
    chunks, actors = dispatched["chunks"], dispatched["actors"]
    assert set(chunks) == set(range(max(chunks) + 1)) and 3 in chunks
    again = {cid for cid, n in Counter(chunks).items() if n > 1}
    assert again and len(dispatched["masks"]) > len(todo)  # chunk(s) the killed actor had not finished went out again
    for cid in again:  # ... and only those: each first went to the killed actor, then to another one
        sent_to = [a for a, c in zip(actors, chunks) if c == cid]
        assert sent_to[0] == killed[0] and all(a != killed[0] for a in sent_to[1:])
    single = single_process(tiny, task, todo, players=players, **KW)
    np.testing.assert_array_equal([values[mask_key(m)] for m in todo], single)


def kill_and_wait(actor) -> None:
    """ray.kill is asynchronous: return once the actor is known dead (a probe call fails)."""
    ray.kill(actor)
    for _ in range(200):
        try:
            ray.get(actor.masks_per_step.remote(), timeout=30)
        except ray.exceptions.RayActorError:
            return
        time.sleep(0.05)
    raise AssertionError("the killed actor is still up")


def test_when_every_actor_dies_replacements_are_bounded_and_the_error_is_clear(local_ray, tiny):
    task, players = tiny_task(), players_of([2], tiny.n_heads)
    victims: list = []

    def kill_all(actor, cid, masks):
        if actor not in victims:
            victims.append(actor)
            kill_and_wait(actor)  # the chunk just sent may finish first; later ones to this actor fail

    delivered: list = []
    with pytest.raises(RuntimeError, match="all Ray workers died") as err:
        run_on_ray(EvaluationJob(tiny, task, "train", players, max_batch_tokens=64),
                   np.unique(sample_masks(24, len(players), seed=3), axis=0), lambda c, s: delivered.append(c),
                   RayExecutor(n_workers=1, chunk_size=2, on_dispatch=kill_all))
    assert len(victims) == 2  # the worker and its one replacement (budget: n_workers), no more
    assert len(delivered) <= 2 and all(len(c) == 2 for c in delivered)  # at most one chunk per doomed actor
    assert isinstance(err.value.__cause__, ray.exceptions.RayActorError) and ray.is_initialized()


def test_interrupted_driver_resumes_without_recomputing(local_ray, tiny, dispatched, tmp_path, monkeypatch):
    task, players = tiny_task(), players_of([1, 3], tiny.n_heads)
    masks = sample_masks(24, len(players), seed=9)
    real, calls = ValueStore.append, []

    def crashing_append(self, chunk, scores):
        real(self, chunk, scores)
        calls.append(len(chunk))
        if len(calls) == 2:
            raise KeyboardInterrupt("driver stopped after two chunks")

    monkeypatch.setattr(ValueStore, "append", crashing_append)
    with pytest.raises(KeyboardInterrupt):
        evaluate_masks(tiny, task, masks, players=players, store=tmp_path, executor=dispatched["executor"], **KW)
    monkeypatch.setattr(ValueStore, "append", real)
    finished = set(load_store(tmp_path)._records)
    assert 0 < len(finished) == sum(calls) < len(masks)
    dispatched["masks"].clear()
    resumed = evaluate_masks(tiny, task, masks, players=players, store=tmp_path, executor=dispatched["executor"],
                             **KW)
    assert not finished & set(dispatched["masks"])  # nothing finished went out again
    assert Counter(dispatched["masks"]) == Counter(set(map(mask_key, masks)) - finished)  # the rest, once each
    np.testing.assert_array_equal(resumed, single_process(tiny, task, masks, players=players, **KW))
    assert len(load_store(tmp_path)) == len(np.unique(masks, axis=0))


def test_without_ray_installed_the_error_names_the_extra(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    players = players_of([3], tiny.n_heads)
    for executor in ("ray", RayExecutor(n_workers=1)):
        with pytest.raises(ImportError, match=r"pip install 'headspex\[ray\]'"):
            evaluate_masks(tiny, tiny_task(), np.ones((2, 4)), players=players, executor=executor, progress=False)


def test_bad_executor_workers_model_and_masks(local_ray, tiny):
    from tests.conftest import tiny_llama_model

    players = players_of([3], tiny.n_heads)
    with pytest.raises(ValueError, match="executor"):
        evaluate_masks(tiny, tiny_task(), np.ones((1, 4)), players=players, executor="dask", progress=False)
    with pytest.raises(ValueError, match="n_workers"):
        evaluate_masks(tiny, tiny_task(), np.ones((1, 4)), players=players, executor="ray", n_workers=0,
                       progress=False)
    with pytest.raises(ValueError, match="cpus_per_worker"):
        evaluate_masks(tiny, tiny_task(), np.ones((1, 4)), players=players, progress=False,
                       executor=RayExecutor(cpus_per_worker=0))
    with pytest.raises(ValueError, match="load_model"):  # wrapped in memory: workers could not reload it
        evaluate_masks(tiny_llama_model(), tiny_task(), np.ones((1, 4)), players=players, progress=False,
                       executor=RayExecutor(n_workers=1))
    with pytest.raises(ValueError, match="todo must be"):
        run_on_ray(EvaluationJob(tiny, tiny_task(), "train", players), np.ones(4), lambda c, s: None,
                   RayExecutor(n_workers=1))


def test_single_process_path_never_imports_ray(tiny):
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import numpy as np\n"
            "from tests.conftest import tiny_llama_model\nfrom tests.helpers import tiny_task\n"
            "from headspex.engine import evaluate_masks\nm = tiny_llama_model()\n"
            "evaluate_masks(m, tiny_task(), np.ones((2, 4)), players=[(3, h) for h in range(4)], progress=False)\n"
            "assert 'ray' not in sys.modules, 'ray was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


OWN_RAY = """
import sys, numpy as np, torch, ray
sys.path.insert(0, {root!r})
from tests.conftest import tiny_llama_hf, word_tokenizer
from tests.helpers import tiny_task
from headspex.engine import evaluate_masks, load_model, sample_masks
tiny_llama_hf().save_pretrained({path!r}); word_tokenizer().save_pretrained({path!r})
m = load_model({path!r}, dtype='float32', device='cpu')
p, masks = [(3, h) for h in range(4)], sample_masks(6, 4, seed=1)
assert not ray.is_initialized()
got = evaluate_masks(m, tiny_task(), masks, players=p, executor='ray', progress=False, max_batch_tokens=64)
assert not ray.is_initialized(), 'the local Ray instance was left running'
torch.set_num_threads(2)
np.testing.assert_array_equal(got, evaluate_masks(m, tiny_task(), masks, players=p, progress=False, max_batch_tokens=64))
"""


def test_starts_and_stops_its_own_local_ray(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    code = OWN_RAY.format(root=str(ROOT), path=str(tmp_path / "m"))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
