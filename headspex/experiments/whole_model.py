"""Whole-model pruning curves: at every head count of a sweep, each method's kept set, scored on the test split.

Players are every head of the analysed layers (all layers by default: 270 on SmolLM2), one game. The
proxy's masks, Best-of-N's candidates and the single-head sweep run on the training split in the study
dtype; each selected set is scored per question on the test split in float32; the random baseline is
``n_random`` random k-head masks per level on the test split (study dtype, float32 answer logits).

Long work loses nothing: every mask's value is stored as it is produced, and each finished method is saved
under ``out/`` (deterministic methods once, seeded ones per seed), so a rerun resumes where it stopped.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from headspex.engine.game import MaskGame
from headspex.engine.random_models import refuse_random
from headspex.experiments.core import Games, MethodCache, open_game, run_experiment
from headspex.experiments.ranges import clean_key, clean_scores, test_model_for
from headspex.players import layer_players
from headspex.records.config import CurveConfig
from headspex.records.curve_result import CurveResult
from headspex.selection.registry import SEEDLESS


def run_curves(model: Any, task: Any, config: CurveConfig, *, out: str | Path | None = None,
               test_model: Any = None, log: Callable[[str], None] = print, progress: bool = False,
               repair: bool = False, executor: Any = None) -> CurveResult:
    """Every method's curve for one seed; with ``out`` values and finished methods are stored and resumed.
    ``repair``: move corrupt lines of the value stores to ``values.rejected.jsonl`` and recompute their masks.
    ``executor``: where masks are evaluated (None: this process; "ray" or a ``RayExecutor``)."""
    t0 = time.perf_counter()
    refuse_random(model)
    out_dir = Path(out) if out is not None else None
    test_model = test_model or test_model_for(model, config.test_dtype)
    players = layer_players(config.layers, model.n_heads)
    ks = config.ks(len(players))
    clean = clean_scores(model, test_model, task, out_dir)
    log(f"unpruned model: test accuracy {clean['test']['accuracy']:.3f}; {len(players)} heads, keep {ks}")
    cache = None
    if out_dir is not None:
        models_key = clean_key(model, test_model, task)
        cache = MethodCache(out_dir / "methods", lambda m: method_key(m, config, players, ks, models_key), log)
    with _games(model, test_model, task, players, config, out_dir, progress, repair, executor, log) as games:
        exp = run_experiment(games, {k / len(players): k for k in ks}, config,
                             baseline_seed=int(task.info.get("seed") or 0), grad_model=test_model, task=task,
                             cache=cache, log=log)
    test = {m: {k: exp.test[(k, m)] for k in ks} for m in exp.runs}
    for m, run in exp.runs.items():
        log(f"{m}: {run.seconds:.0f} s, {run.forward} forward / {run.backward} backward passes; test accuracy "
            + " ".join(f"{test[m][k]['accuracy'].mean():.2f}" for k in ks) + (f" ({run.notes})" if run.notes else ""))
    return CurveResult(config, players, ks, clean, exp.runs, test, {k: r["accuracy"] for k, r in exp.random.items()},
                       n_train=len(task.train), n_test=len(task.test), seconds=time.perf_counter() - t0,
                       model_name=model.name, task_name=task.name)


@contextmanager
def _games(model: Any, test_model: Any, task: Any, players: list, config: CurveConfig, out_dir: Path | None,
           progress: bool, repair: bool = False, executor: Any = None,
           log: Callable[[str], None] = print) -> Iterator[Games]:
    """The curve's games: train (study dtype), test (float32), test (study dtype), each with its store."""
    def game(split: str, m: Any, quiet: bool = False) -> MaskGame:
        return open_game(m, task, players, config, split, out_dir, progress=progress, executor=executor,
                         repair=repair, log=log, quiet=quiet)

    same_store = model.dtype == test_model.dtype  # the study dtype's test game shares the float32 one's store
    with game("train", model) as train, game("test", test_model) as test, \
            game("test", model, quiet=same_store) as test_fast:
        yield Games(train, test, test_fast)


def method_key(method: str, config: CurveConfig, players: list, ks: list[int], models_key: dict) -> str:
    """A short hash of every setting a method's saved selections depend on: the method, the curve's
    configuration (the seed only for seeded methods), players, head counts, both models' weights and dtypes,
    and the exact prompts. A saved method is reused only under the same key."""
    import hashlib
    import json
    from dataclasses import asdict

    settings = {k: v for k, v in asdict(config).items() if k not in ("methods", "n_random", "keep", "head_counts")}
    if method in SEEDLESS:
        settings.pop("seed")
    if method != "proxyspex":
        settings.pop("proxyspex_rule")  # only "proxyspex" runs the configured rule
    record = {"method": method, "config": settings, "players": [list(p) for p in players], "ks": list(ks),
              "models": models_key}
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:16]
