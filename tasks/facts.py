"""`facts`: world capitals (all regions), US state capitals and chemical symbols in one task.

The questions are exactly those of the tasks `capitals`, `us-state-capitals` and `elements` (same
prompts, same seeded distractors, which come from the question's own part: a capital's distractors
are capitals, a symbol's are symbols). They are pooled and split with the seed; ids keep their
part's prefix ("capitals:France", "us-state-capitals:Georgia", "elements:Iron"), so they stay unique.
By default the test split holds every test-role question (about half of the pool, at most 300) and the train
split every training-role one (see `tasks.splits`).
"""

from __future__ import annotations

from typing import Any

from .base import LoadOptions, Question, Task
from .capitals import REGIONS, load_capitals, load_state_capitals
from .elements import load_elements
from .factual import tokenizer_name
from .prepared import build_question_task
from .sources import require_quiz_source

__all__ = ["PARTS", "TEST_DEFAULT", "load_facts"]

PARTS = ("capitals", "us-state-capitals", "elements")
TEST_DEFAULT = 300


def _part(part: str, opts: LoadOptions) -> Task:
    """All questions of one part, zero-shot, in its train split (its own split is not used)."""
    sub = LoadOptions(seed=opts.seed, tokenizer=opts.tokenizer, n_shots=0, source=opts.source, unsplit=True)
    if part == "capitals":
        return load_capitals(part, sub, regions=REGIONS)
    if part == "us-state-capitals":
        return load_state_capitals(part, sub)
    return load_elements(part, sub)


def load_facts(name: str, opts: LoadOptions) -> Task:
    """Capitals, US state capitals and elements pooled; four choices; seeded split (see module docstring)."""
    require_quiz_source(opts.source, name)
    questions: list[Question] = []
    counts: dict[str, int] = {}
    dropped: list[dict[str, str]] = []
    sources: list[str] = []
    for part in PARTS:
        task = _part(part, opts)
        questions += task.split("all")
        counts[part] = len(task.split("all"))
        dropped += task.info.get("dropped", [])
        sources.append(str(task.info.get("source")))
    info: dict[str, Any] = {
        "source": "; ".join(sources),
        "parts": counts,
        "tokenizer": tokenizer_name(opts.tokenizer),
        "prompt_templates": "those of capitals, us-state-capitals and elements",
        "dropped": dropped,
        "n_dropped": len(dropped),
    }
    return build_question_task(
        name, questions, opts, n_train=opts.n_train, n_test=opts.n_test, shot_suffix=".",
        group_of=lambda qid: qid.split(":", 1)[0], info=info, test_cap=TEST_DEFAULT,
        split_defaults=f"n_test = min({TEST_DEFAULT}, the test-role questions); n_train = every training-role one",
    )
