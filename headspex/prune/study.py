"""The layer-range pruning study: per range, sample -> evaluate -> fit -> select -> test.

Each analysed range is studied on its own: its heads are the players, every other head stays intact.
For every keep fraction, each method picks k = round(keep * n_players) heads of the range to keep,
and the model with only those heads of the range kept is scored on the test split.

Methods: ``proxyspex`` (maximise the CatBoost proxy over masks with exactly k heads, exact MILP when
it is small enough), ``lasso`` (top k by linear coefficient, the paper's baseline), ``best-of-n``
(best of N random k-head masks on the training value), ``single-head`` (keep the k heads whose
single ablation hurts most) and ``random``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from headspex.engine.evaluate import evaluate_clean
from headspex.engine.executors import Executor
from headspex.engine.game import MaskGame
from headspex.engine.sampling import sample_masks
from headspex.players import format_layer_range, layer_players
from headspex.prune.methods import METHODS, SELECTORS, SelectionContext, check_methods
from headspex.prune.select import Selection
from headspex.spectrum.attributions import head_attributions
from headspex.spectrum.proxy import Proxy
from headspex.spectrum.structure import structure_summary


@dataclass(frozen=True)
class StudyConfig:
    """What a study runs; written to ``config.json`` beside its results.

    ranges: 0-based layer lists, each analysed on its own. keep: fractions of a range's heads kept.
    budget: masks sampled per range (i.i.d. uniform, the paper's). best_of_n: random k-head masks per
    keep level for Best-of-N (None: the budget). metric: the training value f(m).
    """

    ranges: tuple[tuple[int, ...], ...]
    keep: tuple[float, ...] = (0.5, 0.66, 0.83)
    budget: int = 256
    best_of_n: int | None = None
    metric: str = "logprob"
    ablation: str = "zero"
    seed: int = 0
    methods: tuple[str, ...] = METHODS
    milp_time_limit: float = 60.0

    def __post_init__(self) -> None:
        if not self.ranges:
            raise ValueError("at least one layer range is needed")
        check_keep(self.keep)
        methods_used(self.methods)
        if self.best_of_n is not None and self.best_of_n < 1:
            raise ValueError(f"best_of_n must be >= 1; got {self.best_of_n}")

    def check_budget(self, n_players: int, cv_folds: int = 5) -> None:
        """The proxy needs enough masks for its cross-validation and more than a handful per player."""
        need = max(4 * cv_folds, n_players // 2)
        if self.budget < need:
            raise ValueError(f"budget {self.budget} is too small for {n_players} players: use at least {need} masks")


@dataclass
class RangeResult:
    """One analysed range: its selections per keep fraction, proxy fit and structure."""

    layers: tuple[int, ...]
    players: list[tuple[int, int]]
    cv_r2: float
    structure: dict[str, float]
    order_share: dict[int, float]
    heads: pd.DataFrame  # per-head ranking table
    selections: dict[tuple[float, str], Selection] = field(default_factory=dict)
    test_accuracy: dict[tuple[float, str], float] = field(default_factory=dict)
    train_value: dict[tuple[float, str], float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return format_layer_range(self.layers)


@dataclass
class StudyResult:
    """All ranges of a study, the unpruned test accuracy, and timings."""

    config: StudyConfig
    clean_test_accuracy: float
    clean_train_value: float
    ranges: list[RangeResult]
    seconds: float

    def accuracy_table(self) -> pd.DataFrame:
        """Rows (layers, keep, method) with k, test accuracy, training value and selection details."""
        rows = []
        for r in self.ranges:
            for (keep, method), sel in r.selections.items():
                rows.append(dict(layers=r.label, keep=keep, k=sel.k, method=method,
                                 test_accuracy=r.test_accuracy[(keep, method)],
                                 train_value=r.train_value[(keep, method)], how=sel.method))
        return pd.DataFrame(rows)

    def energy_table(self) -> pd.DataFrame:
        """Per range: proxy CV R^2 and the percent of non-constant spectral energy that is linear,
        within-layer and across-layer (the paper's second table)."""
        return pd.DataFrame([dict(layers=r.label, cv_r2=r.cv_r2, **r.structure) for r in self.ranges])


def run_study(model: Any, task: Any, config: StudyConfig, *, out: str | Path | None = None, progress: bool = True,
              log: Callable[[str], None] = print, executor: Executor | str | None = None) -> StudyResult:
    """Run the study; with ``out`` every evaluated mask is stored there and a rerun resumes.

    ``executor``: where masks are evaluated (None: this process; "ray" or a
    :class:`~headspex.engine.executors.RayExecutor`).
    """
    t0 = time.perf_counter()
    out_dir = Path(out) if out is not None else None
    clean = _clean_scores(model, task, out_dir)
    clean_test, clean_train = clean["test"]["accuracy"], clean["train"][config.metric]
    log(f"unpruned model: test accuracy {clean_test:.3f}, train {config.metric} {clean_train:.4f}")
    results = []
    for layers in config.ranges:
        store = None if out_dir is None else out_dir / f"layers-{format_layer_range(layers)}"
        results.append(_study_range(model, task, config, tuple(layers), store, progress, log, executor))
    return StudyResult(config, clean_test, clean_train, results, time.perf_counter() - t0)


def _clean_scores(model: Any, task: Any, out_dir: Path | None) -> dict[str, dict[str, float]]:
    """Unpruned scores on both splits; kept in ``clean.json`` so that a rerun does not recompute them."""
    path = None if out_dir is None else out_dir / "clean.json"
    key = {"model": model.name, "dtype": str(model.dtype), "task": task.name,
           "questions": [len(task.train), len(task.test)], "seed": task.info.get("seed")}
    if path is not None and path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("key") == key:
            return saved["scores"]
    scores = {split: evaluate_clean(model, task, split=split) for split in ("train", "test")}
    if path is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"key": key, "scores": scores}, indent=2))
    return scores


def _study_range(model: Any, task: Any, cfg: StudyConfig, layers: tuple[int, ...], store: Path | None,
                 progress: bool, log: Callable[[str], None], executor: Any) -> RangeResult:
    players = layer_players(layers, model.n_heads)
    n = len(players)
    cfg.check_budget(n)
    label = format_layer_range(layers)
    log(f"layers {label}: {n} heads, {cfg.budget} masks on {len(task.train)} training questions")
    kw = dict(ablation=cfg.ablation, executor=executor, progress=progress)
    with MaskGame(model, task, players, metric=cfg.metric, store=store and store / "train", **kw) as train:
        masks = sample_masks(cfg.budget, n, seed=cfg.seed)
        values = train(masks)
        proxy = Proxy(seed=cfg.seed, players=players).fit(masks, values)
        result = _describe_range(layers, players, proxy, log)
        ctx = SelectionContext(train, masks, values, proxy.spectrum(), cfg.seed, cfg.best_of_n or cfg.budget,
                               cfg.milp_time_limit)
        for keep in cfg.keep:
            k = int(round(keep * n))
            for method in cfg.methods:
                result.selections[(keep, method)] = SELECTORS[method](ctx, k)
        chosen = np.stack([s.mask for s in result.selections.values()])
        train_val = train(chosen)
        with MaskGame(model, task, players, split="test", metric="accuracy", store=store and store / "test",
                      means=train.head_means, **kw) as test:
            test_acc = test(chosen)
    for i, key in enumerate(result.selections):
        result.test_accuracy[key] = float(test_acc[i])
        result.train_value[key] = float(train_val[i])
    return result


def _describe_range(layers: tuple[int, ...], players: list, proxy: Proxy, log: Callable[[str], None]) -> RangeResult:
    """The range's proxy fit, spectral structure and per-head table (selections come later)."""
    spectrum = proxy.spectrum()
    summary = structure_summary(spectrum, players)
    heads = head_attributions(spectrum, players).to_dataframe()
    heads["interaction_involvement"] = _involvement(spectrum, len(players))
    log(f"layers {format_layer_range(layers)}: proxy CV R^2 {proxy.cv_r2_:.3f}; energy linear/within/across "
        + "/".join(f"{v:.0f}%" for v in summary.table_row().values()))
    return RangeResult(layers, players, proxy.cv_r2_, summary.table_row(), summary.order_share, heads)


def _involvement(spectrum: Any, n: int) -> np.ndarray:
    """Per player: sum of |Fourier coefficient| over the interaction terms (order >= 2) it is in."""
    out = np.zeros(n)
    for support, coef in spectrum:
        if len(support) >= 2:
            out[list(support)] += abs(coef)
    return out


def write_config(path: Path, config: StudyConfig, extra: dict) -> None:
    """Write ``config.json`` (the study configuration plus model/task/versions in ``extra``)."""
    path.write_text(json.dumps({"study": asdict(config), **extra}, indent=2, default=str))


def parse_keep(text: str) -> tuple[float, ...]:
    """``"0.5,0.66,0.83"`` -> (0.5, 0.66, 0.83); ValueError naming the bad part."""
    vals = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            vals.append(float(part))
        except ValueError:
            raise ValueError(f"--keep expects fractions such as 0.5,0.66; got {part!r}") from None
    return check_keep(vals)


def check_keep(values: Sequence[float]) -> tuple[float, ...]:
    """At least one keep fraction, each in (0, 1]; ValueError naming the bad one."""
    if not values:
        raise ValueError("at least one keep fraction is needed")
    for v in values:
        if not 0.0 < float(v) <= 1.0:
            raise ValueError(f"keep fractions must lie in (0, 1]; got {v}")
    return tuple(float(v) for v in values)


def methods_used(sequence: Sequence[str]) -> tuple[str, ...]:
    """Validate a method list (keeps the given order); see :func:`headspex.prune.methods.check_methods`."""
    return check_methods(sequence)
