"""Task names and `load`: the one entry point from a name to a `Task`."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import partial
from typing import Any

from headspex.errors import InputError

from .base import LoadOptions, Task
from .duplicates import check_duplicates
from .capitals import REGIONS, load_capitals, load_state_capitals
from .elements import load_elements
from .facts import load_facts
from .induction import load_induction
from .ioi import load_ioi
from .jsonl import check_task_file, load_jsonl_task
from .lengths import check_max_tokens, check_prompt_lengths
from .mmlu import MMLU_SUBJECTS, load_mmlu
from .exemplars import check_exemplars
from .sources import check_source
from .splits import check_int

__all__ = ["describe", "list_tasks", "load"]

_Loader = Callable[..., Task]


def _registry() -> dict[str, tuple[_Loader, str]]:
    """name -> (loader taking name + keyword options, one-line description). Built on demand."""
    reg: dict[str, tuple[_Loader, str]] = {
        "mmlu": (partial(load_mmlu, subject=None), "MMLU, all 57 subjects (default split: 200 train / 500 test)"),
        "capitals": (partial(load_capitals, regions=REGIONS), "capitals of the world (bsdgames quiz: Europe, Asia, Africa, America)"),
        "us-state-capitals": (load_state_capitals, "capitals of the 50 US states (bsdgames quiz)"),
        "elements": (load_elements, "chemical symbols of the elements (bsdgames quiz)"),
        "facts": (load_facts, "capitals, US state capitals and elements pooled (default split: rest train / 300 test)"),
        "ioi": (load_ioi, "indirect-object identification, Wang et al. 2022 style (1,000 generated, half/half)"),
        "induction": (load_induction, "repeated random word list, name the next word (1,000 generated, half/half)"),
    }
    for s in MMLU_SUBJECTS:
        reg[f"mmlu:{s}"] = (partial(load_mmlu, subject=s), f"MMLU {s.replace('_', ' ')} (half/half split)")
    for r in REGIONS:
        reg[f"capitals:{r}"] = (partial(load_capitals, regions=(r,)), f"capitals in the bsdgames {r} quiz file")
    return reg


def list_tasks() -> list[str]:
    """All registered task names, sorted."""
    return sorted(_registry())


def describe(name: str) -> str:
    """One-line description of a registered task."""
    return _lookup(name)[1]


def _is_jsonl(name: object) -> bool:
    return isinstance(name, str) and name.strip().lower().endswith(".jsonl")


def _lookup(name: str) -> tuple[_Loader, str]:
    if not isinstance(name, str):
        raise InputError(f"task name must be a string, got {name!r}")
    if _is_jsonl(name):
        check_task_file(name)
        return load_jsonl_task, f"multiple-choice questions from the JSONL file {name}"
    reg = _registry()
    if name in reg:
        return reg[name]
    key = name.strip().lower().replace(" ", "_")
    close = difflib.get_close_matches(key, reg, n=5, cutoff=0.6)
    close += [n for n in sorted(reg) if key and key in n and n not in close][: max(0, 5 - len(close))]
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise InputError(f"unknown task {name!r}{hint} (tasks.list_tasks() shows all {len(reg)} tasks)")


def load(
    name: str,
    *,
    seed: int = 0,
    tokenizer: Any = None,
    n_shots: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    source: str = "auto",
    exemplars: str = "per-question",
    max_tokens: int | None = None,
    duplicates: str = "refuse",
) -> Task:
    """Load a task by name (see `list_tasks()`) or JSONL file path, with a seeded train/test split.

    A name ending in ".jsonl" that is an existing file is read as the user's own questions (one JSON
    object per line with "prompt", "choices", "answer" and optional "id"; see `tasks.jsonl`).

    seed:      split, distractor and exemplar seed; same seed -> identical task
    tokenizer: the model's tokenizer; factual tasks then pick distractors whose first tokens differ
               from each other and from the answer (recommended); MMLU checks its " A".." D"
    n_shots:   few-shot exemplars per prompt, taken from the train split only (0 = zero-shot)
    n_train, n_test: split sizes. Each question's role (test, or training/validation) is fixed by the seed and
               its id alone (`tasks.splits`), about half each; test = the first n_test test-role questions,
               train = the first n_train training-role ones, so no size moves a question between them and
               train and test never overlap. Defaults: every question of the role, except all of MMLU
               (`mmlu`: n_test = 500, n_train = 200) and `facts` (n_test at most 300); `ioi`, `induction`
               generate 1,000 items, more when n_train or n_test ask for more. A size over its role's pool
               is refused, naming the pool.
    source:    "auto" (offline package / Debian file when installed, else the Hugging Face hub copy
               unless HF_HUB_OFFLINE is set), "offline", or "hub" (MMLU only). A missing source
               raises TaskSourceError naming the install command.
    exemplars: "per-question" (each question its own seeded exemplars) or "shared" (one seeded set before
               every question of a subject/task, as in the original MMLU protocol; those train questions
               leave the train split). Shared exemplars make every prompt start with the same tokens, which
               the engine then computes once per mask (see `tasks.exemplars`).
    max_tokens: the model's context length (`LoadedModel.context_length`; needs `tokenizer`): a prompt of
               any split, exemplars included, with more tokens is refused with an InputError naming it.
    duplicates: "refuse" (a JSONL file's repeated question, the same prompt, choices and answer, raises an
               InputError naming both lines) or "collapse" (the first copy of each is kept, with a warning
               giving the count); built-in sources with known duplicates (MMLU) are always collapsed.
    Everything used is recorded in `task.info`.
    """
    loader, _ = _lookup(name)
    check_int("seed", seed)
    check_int("n_shots", n_shots)
    check_source(source)
    check_exemplars(exemplars)
    check_max_tokens(max_tokens, tokenizer)
    check_duplicates(duplicates)
    task = loader(name, LoadOptions(seed, tokenizer, n_shots, n_train, n_test, source, exemplars, duplicates))
    if max_tokens is not None:
        check_prompt_lengths(task, tokenizer, max_tokens)
    return task
