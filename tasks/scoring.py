"""Scores from the last-position logits of each question's answer-choice tokens.

Shapes: `choice_logits` is [..., n_questions, n_choices] (any leading dims, e.g. masks), `answers` is
[n_questions]. Everything is computed in float64.
"""

from __future__ import annotations

import torch
from torch import Tensor

from headspex.errors import InputError

__all__ = ["METRICS", "mean_scores", "per_question_scores"]

METRICS = ("accuracy", "logprob", "margin")


def _check(choice_logits: Tensor, answers: Tensor) -> tuple[Tensor, Tensor]:
    logits = torch.as_tensor(choice_logits)
    answers = torch.as_tensor(answers)
    if logits.dim() < 2:
        raise InputError(
            f"choice_logits must be [..., n_questions, n_choices]; got shape {tuple(logits.shape)}"
        )
    if logits.dtype == torch.bool or logits.is_complex():
        raise InputError(f"choice_logits must be real numbers; got dtype {logits.dtype}")
    n_q, n_c = logits.shape[-2:]
    if n_c < 2:
        raise InputError(f"choice_logits needs at least 2 choices (last dim); got {n_c}")
    if answers.dim() != 1 or answers.shape[0] != n_q:
        raise InputError(
            f"answers must be [n_questions] = [{n_q}] to match choice_logits {tuple(logits.shape)}; "
            f"got shape {tuple(answers.shape)}"
        )
    if answers.is_floating_point() or answers.dtype == torch.bool or answers.is_complex():
        raise InputError(f"answers must be integer choice indices; got dtype {answers.dtype}")
    if n_q and (int(answers.min()) < 0 or int(answers.max()) >= n_c):
        raise InputError(f"answers must lie in [0, {n_c}); got values in [{int(answers.min())}, {int(answers.max())}]")
    return logits.to(torch.float64), answers.to(device=logits.device, dtype=torch.long)


def per_question_scores(choice_logits: Tensor, answers: Tensor) -> dict[str, Tensor]:
    """Per-question scores, each [..., n_questions] float64.

    accuracy: 1.0 when the correct choice's logit is strictly above every other choice's (margin > 0;
              ties count as wrong), else 0.0
    logprob:  log-softmax over the choices (not the vocabulary), taken at the correct choice
    margin:   correct logit minus the best wrong logit
    """
    logits, answers = _check(choice_logits, answers)
    index = answers.view(*([1] * (logits.dim() - 2)), -1, 1).expand(*logits.shape[:-1], 1)
    correct = logits.gather(-1, index).squeeze(-1)
    wrong = logits.scatter(-1, index, float("-inf"))
    margin = correct - wrong.amax(dim=-1)
    logprob = torch.log_softmax(logits, dim=-1).gather(-1, index).squeeze(-1)
    return {"accuracy": (margin > 0).to(torch.float64), "logprob": logprob, "margin": margin}


def mean_scores(choice_logits: Tensor, answers: Tensor) -> dict[str, Tensor]:
    """`per_question_scores` averaged over questions: each [...] float64 (NaN if no questions)."""
    return {k: v.mean(dim=-1) for k, v in per_question_scores(choice_logits, answers).items()}
