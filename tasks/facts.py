"""`facts`: world capitals (all regions), US state capitals and chemical symbols in one task.

The questions are exactly those of the tasks `capitals`, `us-state-capitals` and `elements` (same
prompts, same seeded distractors, which come from the question's own part: a capital's distractors
are capitals, a symbol's are symbols). They are pooled and split with the seed; ids keep their
part's prefix ("capitals:France", "us-state-capitals:Georgia", "elements:Iron"), so they stay unique.
The default split puts most questions in test (at least 300 when the pool has 350 or more).
"""

from __future__ import annotations

from typing import Any

from .base import LoadOptions, Question, Task
from .capitals import REGIONS, load_capitals, load_state_capitals
from .elements import load_elements
from .factual import tokenizer_name
from .prepared import build_question_task
from .sources import require_quiz_source
from .splits import check_int, resolve_sizes

__all__ = ["PARTS", "TEST_DEFAULT", "load_facts", "split_sizes"]

PARTS = ("capitals", "us-state-capitals", "elements")
TEST_DEFAULT = 300


def _part(part: str, opts: LoadOptions) -> Task:
    """All questions of one part, zero-shot, in its train split (its own split is not used)."""
    sub = LoadOptions(seed=opts.seed, tokenizer=opts.tokenizer, n_shots=0, n_train=None, n_test=0, source=opts.source)
    if part == "capitals":
        return load_capitals(part, sub, regions=REGIONS)
    if part == "us-state-capitals":
        return load_state_capitals(part, sub)
    return load_elements(part, sub)


def split_sizes(n_items: int, n_train: int | None, n_test: int | None) -> tuple[int, int]:
    """(n_train, n_test). Default n_test: 300 when n_items >= 350, else n_items // 2, lowered to fit a
    given n_train; default n_train: the rest."""
    if n_test is None:
        n_test = TEST_DEFAULT if n_items >= TEST_DEFAULT + 50 else n_items // 2
        if n_train is not None:
            check_int("n_train", n_train)
            n_test = max(0, min(n_test, n_items - n_train))
    return resolve_sizes(n_items, n_train, n_test)


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
    n_train, n_test = split_sizes(len(questions), opts.n_train, opts.n_test)
    info: dict[str, Any] = {
        "source": "; ".join(sources),
        "parts": counts,
        "tokenizer": tokenizer_name(opts.tokenizer),
        "prompt_templates": "those of capitals, us-state-capitals and elements",
        "dropped": dropped,
        "n_dropped": len(dropped),
    }
    return build_question_task(
        name, questions, opts, n_train=n_train, n_test=n_test, shot_suffix=".",
        group_of=lambda qid: qid.split(":", 1)[0], info=info,
        split_defaults=(f"n_test = {TEST_DEFAULT} (N // 2 when N < {TEST_DEFAULT + 50}), lowered to fit a given "
                        "n_train; n_train = N - n_test"),
    )
