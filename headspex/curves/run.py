"""Whole-model pruning curves: at every head count of a sweep, each method's kept set, scored on the test split.

Players are every head of the analysed layers (all layers by default: 270 on SmolLM2), one game. The
proxy's masks, Best-of-N's candidates and the single-head sweep run on the training split in the study
dtype; each selected set is scored per question on the test split in float32; the random baseline is
``n_random`` random k-head masks per level on the test split (study dtype, float32 answer logits).

Long work loses nothing: every mask's value is stored as it is produced, and each finished method is saved
under ``out/`` (deterministic methods once, seeded ones per seed), so a rerun resumes where it stopped.
"""

from __future__ import annotations

import pickle
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from headspex._io import atomic_write_bytes
from headspex.curves.methods import CURVE_METHODS, DETERMINISTIC, CurveContext, MethodRun
from headspex.curves.results import CurveResult
from headspex.engine.game import MaskGame
from headspex.engine.random_models import refuse_random
from headspex.engine.sampling import sample_k_masks
from headspex.players import layer_players
from headspex.prune.study import clean_scores, test_model_for

SWEEP = tuple(round(0.1 * i, 1) for i in range(1, 10))  # keep 10%, 20%, ..., 90% of the heads
METHODS = ("proxyspex", "proxyspex-trust", "iterative-proxyspex", "lasso", "gradient", "iterative-gradient", "attribution-patching",
           "single-head", "best-of-n")


@dataclass(frozen=True)
class CurveConfig:
    """What a curve runs (written to ``config.json``).

    layers: 0-based analysed layers (their heads are the players). keep: fractions in (0, 1) or head counts
    (integers >= 1). budget: proxy training masks (Best-of-N and iterative ProxySPEX get the same).
    n_random: random masks per level. iterative_fraction: share of kept heads removed per iterative round.
    """

    layers: tuple[int, ...]
    keep: tuple[float, ...] = SWEEP
    budget: int = 400
    n_random: int = 100
    methods: tuple[str, ...] = METHODS
    metric: str = "logprob"
    ablation: str = "zero"
    seed: int = 0
    milp_time_limit: float = 10.0
    max_terms: int = 5000
    iterative_fraction: float = 0.1
    test_dtype: str = "float32"

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("at least one layer is needed")
        bad = [m for m in self.methods if m not in CURVE_METHODS]
        if bad or not self.methods:
            raise ValueError(f"unknown or no methods {bad}; choose from {', '.join(CURVE_METHODS)}")
        if not self.keep or any(v <= 0 for v in self.keep):
            raise ValueError(f"keep must list fractions in (0, 1) or head counts >= 1; got {self.keep}")
        for name in ("budget", "n_random"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")

    def head_counts(self, n_players: int) -> list[int]:
        """The sweep as head counts, descending: fractions (all < 1) are rounded, integers taken as counts."""
        fractions = all(v < 1 for v in self.keep)
        ks = sorted({int(round(v * n_players)) if fractions else int(v) for v in self.keep}, reverse=True)
        if ks[-1] < 1 or ks[0] >= n_players:
            raise ValueError(f"keep {self.keep} gives head counts {ks}: each must lie in 1..{n_players - 1}")
        return ks


def run_curves(model: Any, task: Any, config: CurveConfig, *, out: str | Path | None = None,
               test_model: Any = None, log: Callable[[str], None] = print, progress: bool = False,
               repair: bool = False) -> CurveResult:
    """Every method's curve for one seed; with ``out`` values and finished methods are stored and resumed.
    ``repair``: move corrupt lines of the value stores to ``values.rejected.jsonl`` and recompute their masks."""
    t0 = time.perf_counter()
    refuse_random(model)
    out_dir = Path(out) if out is not None else None
    test_model = test_model or test_model_for(model, config.test_dtype)
    players = layer_players(config.layers, model.n_heads)
    ks = config.head_counts(len(players))
    clean = clean_scores(model, test_model, task, out_dir)
    log(f"unpruned model: test accuracy {clean['test']['accuracy']:.3f}; {len(players)} heads, keep {ks}")
    with _games(model, test_model, task, players, config, out_dir, progress, repair) as (train, test, test_fast):
        random = _random_baseline(test_fast, ks, config.n_random, int(task.info.get("seed") or 0))
        ctx = CurveContext(train, test_model, task, tuple(k / len(players) for k in ks), config.budget, config.seed,
                           config.milp_time_limit, config.max_terms, config.iterative_fraction)
        runs, test_scores = {}, {}
        for method in config.methods:
            key = method_key(method, config, players, ks, model, test_model, task)
            runs[method], test_scores[method] = _run_method(method, ctx, ks, test, out_dir, key, log)
    return CurveResult(config, players, ks, clean, runs, test_scores, random,
                       n_train=len(task.train), n_test=len(task.test), seconds=time.perf_counter() - t0,
                       model_name=model.name, task_name=task.name)


@contextmanager
def _games(model: Any, test_model: Any, task: Any, players: list, config: CurveConfig, out_dir: Path | None,
           progress: bool, repair: bool = False) -> Iterator[tuple[MaskGame, MaskGame, MaskGame]]:
    """The curve's games: train (study dtype), test (float32), test (study dtype), each with its store."""
    def game(split: str, m: Any) -> MaskGame:
        dtype = str(m.dtype).replace("torch.", "")
        where = None if out_dir is None else out_dir / f"{split}-{dtype}"
        return MaskGame(m, task, players, split=split, metric=config.metric, ablation=config.ablation,
                        store=where, progress=progress, repair=repair)

    with game("train", model) as train, game("test", test_model) as test, game("test", model) as test_fast:
        yield train, test, test_fast


def _random_baseline(test_fast: MaskGame, ks: list[int], n_random: int, seed: int) -> dict[int, np.ndarray]:
    """Test accuracy of ``n_random`` random k-head masks per level -> {k: [n_random]} (one batched, stored call)."""
    batches = {k: sample_k_masks(n_random, test_fast.n_players, k, seed=seed + 1000 + i) for i, k in enumerate(ks)}
    scores = test_fast.scores(np.concatenate(list(batches.values())))["accuracy"]
    out, start = {}, 0
    for k, masks in batches.items():
        out[k] = scores[start:start + len(masks)]
        start += len(masks)
    return out


def method_key(method: str, config: CurveConfig, players: list, ks: list[int], model: Any, test_model: Any,
               task: Any) -> str:
    """A short hash of every setting a method's saved selections and test scores depend on: the method, the
    curve's configuration (the seed only for seeded methods), players, head counts, both models' weights and
    dtypes, and the exact prompts. A saved method is reused only under the same key."""
    import hashlib
    import json
    from dataclasses import asdict

    from headspex.prune.study import clean_key

    settings = {k: v for k, v in asdict(config).items() if k not in ("methods", "n_random", "keep")}
    if method in DETERMINISTIC:
        settings.pop("seed")
    record = {"method": method, "config": settings, "players": [list(p) for p in players], "ks": list(ks),
              "models": clean_key(model, test_model, task)}
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _run_method(method: str, ctx: CurveContext, ks: list[int], test: MaskGame, out_dir: Path | None, key: str,
                log: Callable[[str], None]) -> tuple[MethodRun, dict[int, dict[str, np.ndarray]]]:
    """One method's selections and their float32 per-question test scores (loaded when saved under ``key``)."""
    where = None
    if out_dir is not None:
        where = out_dir / "methods" / f"{method}-{key}.pkl"
        if where.is_file():
            saved = pickle.loads(where.read_bytes())
            if saved.get("key") == key and saved["ks"] == ks and saved["players"] == list(ctx.game.players):
                log(f"{method}: loaded from {where}")
                return _with_train_values(saved["run"], ctx, ks), saved["test"]
    t0 = time.perf_counter()
    run = CURVE_METHODS[method](ctx, ks)
    run.seconds = time.perf_counter() - t0
    _with_train_values(run, ctx, ks)
    masks = np.stack([run.selections[k].mask for k in ks])
    per_q = test.per_question(masks)
    test_scores = {k: {m: per_q[m][i] for m in ("accuracy", "logprob")} for i, k in enumerate(ks)}
    log(f"{method}: {run.seconds:.0f} s, {run.forward} forward / {run.backward} backward passes; test accuracy "
        + " ".join(f"{test_scores[k]['accuracy'].mean():.2f}" for k in ks) + (f" ({run.notes})" if run.notes else ""))
    if where is not None:
        where.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(where, pickle.dumps({"key": key, "ks": ks, "players": list(ctx.game.players), "run": run,
                                                "test": test_scores}))
    return run, test_scores


def _with_train_values(run: MethodRun, ctx: CurveContext, ks: list[int]) -> MethodRun:
    """The true training value of each selected set (stored; beside the proxy's prediction it shows extrapolation)."""
    values = ctx.game(np.stack([run.selections[k].mask for k in ks]))
    run.train_values = {k: float(v) for k, v in zip(ks, values)}
    return run
