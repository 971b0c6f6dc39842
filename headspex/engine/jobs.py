"""What to evaluate, apart from where: an :class:`EvaluationJob` (model, questions, players, ablation).

The executors (:mod:`headspex.engine.executors`: in this process; :mod:`headspex.engine.ray_pool`: on Ray
actors) take a job and the masks to score, and hand each finished chunk of masks to an :data:`OnChunk`
callback on this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from headspex.engine.evaluator import MaskEvaluator

MAX_CHUNK = 64  # masks per chunk handed to on_chunk (and stored durably at once)

OnChunk = Callable[[np.ndarray, dict[str, np.ndarray]], None]


@dataclass(eq=False)
class EvaluationJob:
    """What to evaluate: one model on one split of a task, with one set of players and one ablation.

    ``means``: [n_layers, n_heads, d_head] head means for mean ablation (None for zero ablation).
    The evaluator (tokenised questions, prefix cache) is built on first use and kept.
    """

    model: Any
    task: Any
    split: str
    players: Sequence[tuple[int, int]]
    ablation: str = "zero"
    means: torch.Tensor | None = None
    backend: str = "auto"
    max_batch_tokens: int | None = None
    _evaluator: MaskEvaluator | None = field(default=None, repr=False)

    def evaluator(self) -> MaskEvaluator:
        """The job's one :class:`MaskEvaluator` (built once, then reused with its prefix cache)."""
        if self._evaluator is None:
            self._evaluator = build_evaluator(self.model, self.task, self.split, self.players, self.ablation,
                                              self.means, self.backend, self.max_batch_tokens)
        return self._evaluator

    def model_spec(self) -> dict:
        """How a worker process reloads the model: ``load_model(spec, dtype=..., device=...)``."""
        spec = getattr(self.model, "spec", None)
        if spec is None:
            raise ValueError("a remote executor needs a model loaded with headspex.load_model(spec) (workers "
                             "reload it from the spec); this model was wrapped in memory")
        return {"spec": spec, "dtype": str(self.model.dtype).replace("torch.", ""), "device": str(self.model.device)}


def build_evaluator(model: Any, task: Any, split: str, players: Sequence[tuple[int, int]], ablation: str,
                    means: torch.Tensor | None, backend: str, max_batch_tokens: int | None) -> MaskEvaluator:
    """A :class:`MaskEvaluator` over the questions of ``task``'s ``split``."""
    prompts = [q.prompt for q in task.split(split)]
    return MaskEvaluator(model, prompts, task.choice_token_ids(model.tokenizer, split), task.answers(split),
                         players=players, ablation=ablation, means=means, backend=backend,
                         max_batch_tokens=max_batch_tokens)
