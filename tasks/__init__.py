"""QA tasks for head-ablation studies: MMLU (per subject and all), short factual tasks, circuit tasks, your own.

    mmlu, mmlu:<subject>                     MMLU multiple choice (" A".." D")
    capitals[:region], us-state-capitals,    factual one-liners from the bsdgames quiz files
    elements, facts                          (`facts` pools capitals, US state capitals, elements)
    ioi                                      indirect-object identification (Wang et al. 2022 style)
    induction                                a repeated random word list: name the next word
    PATH.jsonl                               your own questions, one JSON object per line (tasks.jsonl)

    import tasks
    task = tasks.load("capitals", seed=0, tokenizer=tok)     # Task with .train / .test Questions
    task = tasks.load("q.jsonl", tokenizer=model.tokenizer, max_tokens=model.context_length)  # refuse long prompts
    ids = task.choice_token_ids(tok, "test")                  # [n_questions, n_choices]
    scores = tasks.mean_scores(choice_logits, task.answers("test"))

Importing this package reads no data; `load` does.
"""

from .base import Question, Task
from .exemplars import EXEMPLAR_POLICIES
from .jsonl import load_jsonl
from .lengths import check_prompt_lengths
from .registry import describe, list_tasks, load
from .scoring import METRICS, mean_scores, per_question_scores
from .sources import TaskSourceError

__headspex__ = True  # marks the project's own package (headspex._packages tells it from a shadowing tasks/ folder)

__all__ = [
    "EXEMPLAR_POLICIES",
    "METRICS",
    "Question",
    "Task",
    "TaskSourceError",
    "check_prompt_lengths",
    "describe",
    "list_tasks",
    "load",
    "load_jsonl",
    "mean_scores",
    "per_question_scores",
]
