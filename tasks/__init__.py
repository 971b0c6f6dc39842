"""QA tasks for head-ablation studies: MMLU (per subject and all) and short factual tasks.

    import tasks
    task = tasks.load("capitals", seed=0, tokenizer=tok)     # Task with .train / .test Questions
    ids = task.choice_token_ids(tok, "test")                  # [n_questions, n_choices]
    scores = tasks.mean_scores(choice_logits, task.answers("test"))

Importing this package reads no data; `load` does.
"""

from .base import Question, Task
from .registry import describe, list_tasks, load
from .scoring import METRICS, mean_scores, per_question_scores
from .sources import TaskSourceError

__all__ = [
    "METRICS",
    "Question",
    "Task",
    "TaskSourceError",
    "describe",
    "list_tasks",
    "load",
    "mean_scores",
    "per_question_scores",
]
