"""Function-style entry points over :class:`~headspex.engine.game.MaskGame`, kept for scripts and old code."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from headspex.engine.evaluator import MaskEvaluator
from headspex.engine.executors import make_executor
from headspex.engine.game import MaskGame


def evaluate_masks(model: Any, task: Any, masks: Any, *, players: Sequence[tuple[int, int]],
                   metric: str = "logprob", executor: Any = None, ray_address: str | None = None,
                   n_workers: int | None = None, **game_options: Any) -> np.ndarray:
    """Value of each mask row [n_masks, n_players] (1 = keep): ``MaskGame(...)(masks)``, then the game is closed.

    ``game_options`` are :class:`MaskGame`'s (split, ablation, reference_split, store, backend,
    max_batch_tokens, progress). ``executor="ray"`` with ``ray_address`` / ``n_workers`` builds a
    :class:`~headspex.engine.executors.RayExecutor`. Returns [n_masks] float64.
    """
    game_options.setdefault("progress", True)
    runner = make_executor(executor, ray_address=ray_address, n_workers=n_workers)
    with MaskGame(model, task, players, metric=metric, executor=runner, **game_options) as game:
        return game(masks)


def evaluate_clean(model: Any, task: Any, *, split: str = "test", backend: str = "auto") -> dict[str, float]:
    """Scores of the unablated model on a split: {"accuracy", "logprob", "margin"}."""
    questions = task.split(split)
    evaluator = MaskEvaluator(model, [q.prompt for q in questions], task.choice_token_ids(model.tokenizer, split),
                              task.answers(split), players=[(0, 0)], backend=backend)
    scores = evaluator.scores(np.ones((1, 1), dtype=np.uint8))
    return {k: float(v[0]) for k, v in scores.items()}
