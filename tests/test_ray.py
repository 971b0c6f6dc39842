"""evaluate_masks(executor="ray"): same values as one process, survives a killed actor, resumes, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

ray = pytest.importorskip("ray")

from headspex import evaluate_masks, load_model, load_store, sample_masks  # noqa: E402
from headspex import ray_executor  # noqa: E402
from headspex.store import ValueStore, mask_key  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_engine import players_of, tiny_task  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
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
    from tests.conftest import tiny_llama_hf, word_tokenizer

    path = tmp_path_factory.mktemp("tiny-llama")
    tiny_llama_hf().save_pretrained(path)
    word_tokenizer().save_pretrained(path)
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
def dispatched(monkeypatch):
    """Rows handed to actors, via the dispatch hook; tests may add a ``kill`` callback."""
    log: dict = {"masks": [], "chunks": [], "kill": None}

    def hook(actor, cid, masks):
        log["masks"].extend(mask_key(m) for m in masks)
        log["chunks"].append(cid)
        if log["kill"] is not None:
            log["kill"](actor, cid)

    monkeypatch.setattr(ray_executor, "_on_dispatch", hook)
    return log


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_two_actors_equal_single_process_in_order(local_ray, tiny, dispatched, ablation):
    task, players = tiny_task(), players_of([1, 2], tiny.n_heads)
    base = sample_masks(20, len(players), seed=7)
    masks = np.concatenate([base, base[:3]])  # duplicates come back in place too
    single = single_process(tiny, task, masks, players=players, ablation=ablation, **KW)
    dist = evaluate_masks(tiny, task, masks, players=players, ablation=ablation, executor="ray", n_workers=2, **KW)
    np.testing.assert_array_equal(dist, single)
    assert len(set(dispatched["chunks"])) > 2 and len(dispatched["masks"]) == len(np.unique(base, axis=0))


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

    spec = {"spec": tiny.info["spec"], "dtype": "float32", "device": "cpu"}
    ray_executor.run_on_ray(model_spec=spec, task=task, split="train", players=players, ablation="zero", means=None,
                            backend="auto", max_batch_tokens=64, todo=todo, on_chunk=on_chunk, progress=False,
                            n_workers=2)
    assert killed and ray.is_initialized()
    assert set(got) == {mask_key(m) for m in todo} and set(got.values()) == {1}
    assert len(dispatched["masks"]) > len(todo)  # the killed actor's chunk(s) went out again
    single = single_process(tiny, task, todo, players=players, **KW)
    np.testing.assert_array_equal([values[mask_key(m)] for m in todo], single)


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
        evaluate_masks(tiny, task, masks, players=players, store=tmp_path, executor="ray", n_workers=2, **KW)
    monkeypatch.setattr(ValueStore, "append", real)
    finished = set(load_store(tmp_path)._records)
    assert 0 < len(finished) == sum(calls) < len(masks)
    dispatched["masks"].clear()
    resumed = evaluate_masks(tiny, task, masks, players=players, store=tmp_path, executor="ray", n_workers=2, **KW)
    assert not finished & set(dispatched["masks"])  # nothing finished went out again
    assert len(dispatched["masks"]) == len(np.unique(masks, axis=0)) - len(finished)
    np.testing.assert_array_equal(resumed, single_process(tiny, task, masks, players=players, **KW))
    assert len(load_store(tmp_path)) == len(np.unique(masks, axis=0))


def test_without_ray_installed_the_error_names_the_extra(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    players = players_of([3], tiny.n_heads)
    with pytest.raises(ImportError, match=r"pip install 'headspex\[ray\]'"):
        evaluate_masks(tiny, tiny_task(), np.ones((2, 4)), players=players, executor="ray", progress=False)


def test_bad_executor_and_workers(local_ray, tiny):
    players = players_of([3], tiny.n_heads)
    with pytest.raises(ValueError, match="executor"):
        evaluate_masks(tiny, tiny_task(), np.ones((1, 4)), players=players, executor="dask", progress=False)
    with pytest.raises(ValueError, match="n_workers"):
        evaluate_masks(tiny, tiny_task(), np.ones((1, 4)), players=players, executor="ray", n_workers=0,
                       progress=False)


def test_single_process_path_never_imports_ray(tiny):
    code = ("import sys; sys.path.insert(0, 'tests'); import numpy as np\n"
            "from conftest import tiny_llama_model\nfrom test_engine import tiny_task\n"
            "from headspex import evaluate_masks\nm = tiny_llama_model()\n"
            "evaluate_masks(m, tiny_task(), np.ones((2, 4)), players=[(3, h) for h in range(4)], progress=False)\n"
            "assert 'ray' not in sys.modules, 'ray was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


OWN_RAY = """
import sys, numpy as np, torch, ray
sys.path.insert(0, 'tests')
from conftest import tiny_llama_hf, word_tokenizer
from test_engine import tiny_task
from headspex import evaluate_masks, load_model, sample_masks
tiny_llama_hf().save_pretrained({path!r}); word_tokenizer().save_pretrained({path!r})
m = load_model({path!r}, dtype='float32', device='cpu')
p, masks = [(3, h) for h in range(4)], sample_masks(6, 4, seed=1)
got = evaluate_masks(m, tiny_task(), masks, players=p, executor='ray', progress=False, max_batch_tokens=64)
assert not ray.is_initialized(), 'the local Ray instance was left running'
torch.set_num_threads(2)
np.testing.assert_array_equal(got, evaluate_masks(m, tiny_task(), masks, players=p, progress=False, max_batch_tokens=64))
"""


def test_starts_and_stops_its_own_local_ray(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.run([sys.executable, "-c", OWN_RAY.format(path=str(tmp_path / "m"))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
