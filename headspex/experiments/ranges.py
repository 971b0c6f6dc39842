"""The layer-range pruning study: per range, pilot -> sample -> evaluate -> fit -> select -> test.

Each analysed range is studied on its own: its heads are the players, every other head stays intact.
For every keep fraction, each method picks k = round(keep * n_players) heads of the range to keep, and
the model with only those heads of the range kept is scored on the test split in float32.

The pilot (random k-head masks) and the held-out masks are drawn with the split's seed, so every study
seed shares them (they describe the range and the proxy's test set, not a method, and they cost a third
of a CPU run); training masks, CV folds, Best-of-N candidates and refits change with the study seed.

The protocol (defaults) is built to tell methods apart: a pilot of random k-head masks per keep level
(also the random baseline), training masks sampled where selection happens, matched budgets
(Best-of-N gets as many true evaluations as the proxy was trained on), the proxy's held-out R^2 on
fixed-k masks, both value functions from one store, paired bootstrap intervals per cell, and energy
shares with bootstrap intervals. Each range is one :func:`headspex.experiments.core.run_experiment`; methods come from :mod:`headspex.selection`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from headspex._io import atomic_write_text
from headspex.engine.executors import Executor
from headspex.engine.game import MaskGame
from headspex.engine.random_models import refuse_random
from headspex.experiments.core import Games, open_game, run_experiment
from headspex.experiments.energy import energy_shares
from headspex.experiments.heldout import heldout_r2
from headspex.players import format_layer_range, layer_players
from headspex.records.config import StudyConfig
from headspex.records.range_run import CEILING_DROP, RangeRun
from headspex.records.study_result import StudyResult
from headspex.spectrum.attributions import head_attributions


def run_study(model: Any, task: Any, config: StudyConfig, *, out: str | Path | None = None, progress: bool = True,
              log: Callable[[str], None] = print, executor: Executor | str | None = None,
              test_model: Any = None, repair: bool = False) -> StudyResult:
    """Run the study; with ``out`` every evaluated mask is stored there and a rerun resumes.

    ``executor``: where masks are evaluated (None: this process; "ray" or a ``RayExecutor``).
    ``test_model``: the model for the test split (default: ``model`` reloaded in ``config.test_dtype``).
    ``repair``: move corrupt lines of the value stores to ``values.rejected.jsonl`` and recompute their masks.
    """
    t0 = time.perf_counter()
    refuse_random(model)
    out_dir = Path(out) if out is not None else None
    test_model = test_model or test_model_for(model, config.test_dtype)
    clean = clean_scores(model, test_model, task, out_dir)
    log(f"unpruned model: test accuracy {clean['test']['accuracy']:.3f}, train {config.metric} "
        f"{clean['train'][config.metric]:.4f}")
    runs = []
    for i, layers in enumerate(config.ranges, start=1):
        store = None if out_dir is None else out_dir / f"layers-{format_layer_range(layers)}"
        ctx = RangeSetup(model, test_model, task, config, tuple(layers), store, progress, log, executor, repair)
        runs.append(_study_range(ctx, clean["test_model_dtype"]["accuracy"]))  # the pilot runs in the model dtype
        elapsed = time.perf_counter() - t0
        log(f"range {i}/{len(config.ranges)} done, {elapsed:.0f} s so far"
            + (f"; about {elapsed / i * (len(config.ranges) - i):.0f} s left for this seed" if i < len(config.ranges)
               else ""))
    return StudyResult(config, clean, runs, time.perf_counter() - t0)


@dataclass
class RangeSetup:
    """What one range's games need; :meth:`game` opens a stored game of the range on a split."""

    model: Any
    test_model: Any
    task: Any
    config: StudyConfig
    layers: tuple[int, ...]
    store: Path | None
    progress: bool
    log: Callable[[str], None]
    executor: Any
    repair: bool = False

    def game(self, split: str, model: Any, *, task: Any = None, name: str | None = None,
             quiet: bool = False) -> MaskGame:
        """A game on ``split`` of ``task`` (default: the study's) with ``model``, stored under
        ``<range>/<name or split>-<dtype>``."""
        return open_game(model, task or self.task, layer_players(self.layers, model.n_heads), self.config, split,
                         self.store, name=name, progress=self.progress, executor=self.executor, repair=self.repair,
                         log=self.log, quiet=quiet)


def _study_range(s: RangeSetup, clean_test: float) -> RangeRun:
    """One range: the experiment (pilot, selections, scores, costs), then the proxy's diagnostics."""
    cfg, label = s.config, format_layer_range(s.layers)
    with s.game("train", s.model) as train, s.game("test", s.test_model) as test, \
            s.game("test", s.model, quiet=s.model.dtype == s.test_model.dtype) as test_fast:
        n = train.n_players
        cfg.check_budget(n)
        keep_k = {keep: int(round(keep * n)) for keep in cfg.keep}
        fixed = int(s.task.info.get("seed") or 0)  # the split's seed: pilot and held-out masks shared by all seeds
        s.log(f"layers {label}: {n} heads, {cfg.budget} {cfg.sampling} masks on {len(s.task.train)} training questions")
        exp = run_experiment(Games(train, test, test_fast), keep_k, cfg, baseline_seed=fixed, grad_model=s.test_model,
                             task=s.task, log=s.log)
        ctx = exp.context
        proxy, spectrum = ctx.proxy(), ctx.spectrum()
        masks, values = ctx.training_set()
        random = {keep: exp.random[k] for keep, k in keep_k.items()}
        _warn_if_at_ceiling(random, clean_test, label, s.log)
        summary = proxy.summary() | {"max_train_value": float(values.max())}  # to see the optimum's extrapolation
        run = RangeRun(s.layers, train.players, keep_k, summary, _heads_table(spectrum, train.players))
        run.random = random
        run.heldout = heldout_r2(spectrum, train, keep_k, cfg.n_heldout, fixed)
        s.log(f"layers {label}: proxy CV R^2 {proxy.cv_r2_:.3f}; held-out R^2 "
              + ", ".join(f"{k if k == 'uniform' else f'{k:.0%}'} {v['r2']:.2f}" for k, v in run.heldout.items()))
        for keep, k in keep_k.items():
            for method in exp.runs:
                run.selections[(keep, method)] = exp.runs[method].selections[k]
                run.train[(keep, method)] = exp.train[(k, method)]
                run.test[(keep, method)] = exp.test[(k, method)]
        n_q = ctx.n_questions
        run.evaluations = {m: (exp.runs[m].evaluations(n_q) if m in exp.runs else 0) for m in cfg.methods}
        run.energy = energy_shares(proxy, masks, values, train.players, n_boot=cfg.energy_boot, seed=cfg.seed)
        run.top_interactions = _top_interactions(spectrum, train.players)
    return run


def _warn_if_at_ceiling(random: dict, clean_test: float, label: str, log: Callable[[str], None]) -> None:
    drops = {keep: clean_test - float(np.mean(r["accuracy"])) for keep, r in random.items()}
    log(f"layers {label}: pilot, test accuracy drop of random masks "
        + ", ".join(f"{keep:.0%} kept {d:+.3f}" for keep, d in drops.items()))
    if max(drops.values()) < CEILING_DROP:
        log(f"WARNING: layers {label} are at ceiling (random masks lose < 5 points): methods cannot differ here")


def _heads_table(spectrum: Any, players: list) -> Any:
    heads = head_attributions(spectrum, players).to_dataframe()
    heads["interaction_involvement"] = _involvement(spectrum, len(players))
    return heads


def _top_interactions(spectrum: Any, players: list, top: int = 50) -> pd.DataFrame:
    """The ``top`` largest Moebius interactions a(S) of order >= 2: members, order, value, within a layer."""
    terms = [(sup, a) for sup, a in spectrum.to_moebius() if len(sup) >= 2]
    terms.sort(key=lambda t: -abs(t[1]))
    return pd.DataFrame([dict(members=" ".join(f"L{players[i][0]}H{players[i][1]}" for i in sup), order=len(sup),
                              value=float(a), within_layer=len({players[i][0] for i in sup}) == 1)
                         for sup, a in terms[:top]], columns=["members", "order", "value", "within_layer"])


def test_model_for(model: Any, dtype: str) -> Any:
    """``model`` in ``dtype`` for the test split: itself when it already is, else reloaded from its spec."""
    if str(model.dtype).replace("torch.", "") == dtype:
        return model
    if getattr(model, "spec", None) is None:
        raise ValueError(f"test_dtype={dtype!r} needs a model loaded with headspex.load_model (to reload it in "
                         f"{dtype}), or pass test_model=")
    from headspex.engine.models import load_model

    return load_model(model.spec, dtype=dtype, device=str(model.device))


def clean_scores(model: Any, test_model: Any, task: Any, out_dir: Path | None) -> dict:
    """Unpruned scores: train in the study dtype, test per question in the test dtype (cached in clean.json)."""
    path = None if out_dir is None else out_dir / "clean.json"
    key = clean_key(model, test_model, task)
    if path is not None and path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("key") == key:
            return saved["scores"]
    with MaskGame(test_model, task, [(0, 0)], split="test") as test, MaskGame(model, task, [(0, 0)]) as train, \
            MaskGame(model, task, [(0, 0)], split="test") as test_fast:
        full = np.ones((1, 1), np.uint8)
        per_q = test.per_question(full)
        scores = {"train": {m: float(v[0]) for m, v in train.scores(full).items()},
                  "test": {m: float(v[0].mean()) for m, v in per_q.items()},
                  "test_model_dtype": {m: float(v[0]) for m, v in test_fast.scores(full).items()},
                  "test_per_question": {m: v[0].tolist() for m, v in per_q.items()}}
    if path is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"key": key, "scores": scores}))
    return scores


def clean_key(model: Any, test_model: Any, task: Any) -> dict:
    """What the unpruned scores depend on: both models' weights and dtypes, the task and its exact prompts."""
    from headspex.engine.fingerprint import prompts_fingerprint, weights_fingerprint

    return json.loads(json.dumps({
        "model": model.name, "weights": weights_fingerprint(model), "dtype": str(model.dtype),
        "test_weights": weights_fingerprint(test_model), "test_dtype": str(test_model.dtype), "task": task.name,
        "questions": [len(task.train), len(task.test)], "prompts": [prompts_fingerprint(task, s) for s in ("train", "test")],
        "task_options": {k: task.info.get(k) for k in ("seed", "n_shots", "exemplars", "sha256")},
    }, default=str))


def _involvement(spectrum: Any, n: int) -> np.ndarray:
    """Per player: sum of |Fourier coefficient| over the interaction terms (order >= 2) it is in."""
    out = np.zeros(n)
    for support, coef in spectrum:
        if len(support) >= 2:
            out[list(support)] += abs(coef)
    return out
