"""One experiment: a set of players (a layer range or the whole model), keep levels and methods.

``run_experiment`` scores the random baseline (the pilot), asks every method for its kept set at every level,
measures each set's true training value (every metric, stored) and its per-question test scores, and counts
what each method cost. The layer-range study (:mod:`headspex.experiments.ranges`) is one experiment per range plus
its diagnostics; a whole-model curve (:mod:`headspex.experiments.whole_model`) is one experiment over a sweep of levels.

The configuration base :class:`ExperimentConfig` has one meaning of ``keep``: fractions of the players kept;
``head_counts`` gives levels as head counts instead.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from headspex._io import atomic_write_text
from headspex.engine.game import MaskGame
from headspex.engine.sampling import sample_k_masks
from headspex.records.config import ExperimentConfig
from headspex.selection.context import SelectionContext
from headspex.selection.methods import METHODS
from headspex.selection.registry import BASELINE, MethodRun
from headspex.selection.select import Selection

TEST_METRICS = ("accuracy", "logprob")


@dataclass
class ExperimentResult:
    """One experiment, one seed. levels: sampling level -> k. random: k -> {metric: [n_random]} test scores of
    random k-head masks. runs: method -> MethodRun. train: (k, method) -> {metric: value}. test: (k, method) ->
    {metric: [n_test]} float32 per-question test scores; validation: the same on the validation game, if any."""

    players: list
    levels: dict[float, int]
    random: dict[int, dict[str, np.ndarray]]
    runs: dict[str, MethodRun] = field(default_factory=dict)
    train: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)
    test: dict[tuple[int, str], dict[str, np.ndarray]] = field(default_factory=dict)
    validation: dict[tuple[int, str], dict[str, np.ndarray]] = field(default_factory=dict)
    context: SelectionContext | None = field(default=None, repr=False)


def open_game(model: Any, task: Any, players: list, config: ExperimentConfig, split: str, store: Path | None, *,
              name: str | None = None, progress: bool = False, executor: Any = None, repair: bool = False,
              log: Callable[[str], None] = print, quiet: bool = False) -> MaskGame:
    """The one way an experiment opens a game: ``players`` of ``model`` on ``split`` of ``task``, with the
    configuration's metric and ablation, stored under ``store/<name or split>-<dtype>`` (no store: in memory).
    Says when stored values are reused, unless ``quiet`` (a second game on a store already announced)."""
    dtype = str(model.dtype).replace("torch.", "")
    where = None if store is None else Path(store) / f"{name or split}-{dtype}"
    game = MaskGame(model, task, players, split=split, metric=config.metric, ablation=config.ablation, store=where,
                    executor=executor, progress=progress, repair=repair)
    if game.n_stored and not quiet:
        log(f"resuming {where}: {game.n_stored} stored mask values are reused, not recomputed")
    return game


@dataclass
class Games:
    """The three games of an experiment: training values (model dtype), test scores (test dtype) and the
    random baseline's test scores (model dtype)."""

    train: Any
    test: Any
    test_fast: Any
    validation: Any = None  # optional: a game on held-out training-split questions, for choosing rules


def random_baseline(test_fast: Any, ks: list[int], n_random: int, seed: int) -> dict[int, dict[str, np.ndarray]]:
    """Test scores of ``n_random`` random k-head masks per level, one batched, stored call."""
    batches = {k: sample_k_masks(n_random, test_fast.n_players, k, seed=seed + 1000 + i) for i, k in enumerate(ks)}
    scores = test_fast.scores(np.concatenate(list(batches.values())))
    out, start = {}, 0
    for k, masks in batches.items():
        out[k] = {m: scores[m][start:start + len(masks)] for m in TEST_METRICS}
        start += len(masks)
    return out


def run_experiment(games: Games, levels: dict[float, int], config: ExperimentConfig, *, baseline_seed: int,
                   grad_model: Any = None, task: Any = None, cache: "MethodCache | None" = None,
                   log: Callable[[str], None] = print, context: SelectionContext | None = None) -> ExperimentResult:
    """Baseline, every method's selections at every level, their training values, test scores and costs.

    ``baseline_seed``: the random baseline's seed (the split's: shared by every study seed). ``context``: a
    selection context to reuse (its proxy already fitted, say); by default one is built from ``config``.
    """
    ks = list(levels.values())
    result = ExperimentResult(list(games.train.players), dict(levels),
                              random_baseline(games.test_fast, ks, config.n_random, baseline_seed))
    ctx = context or config.selection_context(games.train, tuple(levels), grad_model=grad_model, task=task)
    result.context = ctx
    todo = [m for m in config.methods if m != BASELINE]
    t0 = time.perf_counter()
    for i, method in enumerate(todo, start=1):
        saved = cache.load(method) if cache is not None else None
        result.runs[method] = saved or _select(method, ctx, ks, log)
        if cache is not None and saved is None:
            cache.save(method, result.runs[method])
        log(_progress(method, i, len(todo), time.perf_counter() - t0))
    _score(result, games, ks, config.metric)
    return result


def _progress(method: str, done: int, total: int, elapsed: float) -> str:
    """``"  lasso done (3/6 methods, 40 s so far; about 55 s left at this pace)"``."""
    left = elapsed / done * (total - done)
    return (f"  {method} done ({done}/{total} methods, {elapsed:.0f} s so far"
            + (f"; about {left:.0f} s left at this pace)" if done < total else ")"))


def _select(method: str, ctx: SelectionContext, ks: list[int], log: Callable[[str], None]) -> MethodRun:
    t0 = time.perf_counter()
    run = METHODS[method](ctx, ks)
    run.seconds = time.perf_counter() - t0
    fallback = [s for s in run.selections.values() if "fallback_reason" in s.details]
    for sel in fallback:
        log(f"  {method}, {sel.k} heads: {sel.method} ({sel.details.get('fallback_reason', '')})")
    return run


def _score(result: ExperimentResult, games: Games, ks: list[int], metric: str) -> None:
    """True training values (all metrics) and float32 per-question test scores of every selection, in one
    batched call each (level by level, methods in order)."""
    keys = [(k, m) for k in ks for m in result.runs]
    if not keys:
        return
    masks = np.stack([result.runs[m].selections[k].mask for k, m in keys])
    train, test = games.train.scores(masks), games.test.per_question(masks)
    for i, (k, m) in enumerate(keys):
        result.train[(k, m)] = {name: float(v[i]) for name, v in train.items()}
        result.test[(k, m)] = {name: test[name][i] for name in TEST_METRICS}
        result.runs[m].train_values[k] = result.train[(k, m)][metric]
    if games.validation is not None:
        val = games.validation.per_question(masks)
        for i, key in enumerate(keys):
            result.validation[key] = {name: val[name][i] for name in TEST_METRICS}


class MethodCache:
    """Finished methods saved as JSON under ``directory/<method>-<key>.json`` (a resume cache, not the stored
    truth: reused only under the same key, a hash of every setting the method's selections depend on)."""

    def __init__(self, directory: str | Path, key_of: Callable[[str], str],
                 log: Callable[[str], None] = print) -> None:
        self.directory, self.key_of, self.log = Path(directory), key_of, log

    def path(self, method: str) -> Path:
        return self.directory / f"{method}-{self.key_of(method)}.json"

    def load(self, method: str) -> MethodRun | None:
        path = self.path(method)
        if not path.is_file():
            return None
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # a damaged cache entry is recomputed
        if saved.get("key") != self.key_of(method):
            return None
        self.log(f"{method}: loaded from {path}")
        return _run_from_json(saved)

    def save(self, method: str, run: MethodRun) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {"key": self.key_of(method), "forward": run.forward, "backward": run.backward,
                  "seconds": run.seconds, "notes": run.notes,
                  "selections": [_selection_json(s) for s in run.selections.values()]}
        atomic_write_text(self.path(method), json.dumps(record, default=_plain))


def _selection_json(sel: Selection) -> dict:
    return {"k": sel.k, "mask": np.packbits(sel.mask).tobytes().hex(), "n": int(sel.mask.size),
            "method": sel.method, "objective": sel.objective, "optimal": sel.optimal, "seconds": sel.seconds,
            "details": sel.details}


def _run_from_json(saved: dict) -> MethodRun:
    selections = {}
    for s in saved["selections"]:
        mask = np.unpackbits(np.frombuffer(bytes.fromhex(s["mask"]), dtype=np.uint8))[:s["n"]]
        selections[s["k"]] = Selection(mask, s["k"], s["method"], s["objective"], s["optimal"], s["seconds"],
                                       s["details"])
    return MethodRun(selections, saved["forward"], saved["backward"], saved["seconds"], saved["notes"])


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON values."""
    return value.tolist() if hasattr(value, "tolist") else str(value)
