"""The two data types every task produces: `Question` and `Task`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from headspex.errors import InputError

__all__ = ["SPLITS", "LoadOptions", "Question", "Task"]

SPLITS = ("train", "test", "all")


@dataclass(frozen=True)
class LoadOptions:
    """The options every task loader takes (see `tasks.load` for their meaning)."""

    seed: int = 0
    tokenizer: Any = None
    n_shots: int = 0
    n_train: int | None = None
    n_test: int | None = None
    source: str = "auto"
    exemplars: str = "per-question"
    duplicates: str = "refuse"
    unsplit: bool = False  # internal (tasks.facts pools parts): every question in `train`, none in `test`


@dataclass(frozen=True)
class Question:
    """One multiple-choice question scored by the first token of each choice.

    prompt:  full prompt text, ending right before the answer (no trailing whitespace)
    choices: continuations, each starting with a space (" A", " Paris")
    answer:  index of the correct choice
    id:      stable id, e.g. "mmlu:high_school_us_history/17" or "capitals:France"
    """

    prompt: str
    choices: tuple[str, ...]
    answer: int
    id: str

    def __post_init__(self) -> None:
        if not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))
        if not isinstance(self.prompt, str) or not self.prompt or self.prompt != self.prompt.rstrip():
            raise InputError(f"question {self.id!r}: prompt must be non-empty text with no trailing whitespace")
        if len(self.choices) < 2:
            raise InputError(f"question {self.id!r}: needs at least 2 choices, got {len(self.choices)}")
        for c in self.choices:
            if not isinstance(c, str) or len(c) < 2 or not c.startswith(" ") or c[1].isspace():
                raise InputError(f"question {self.id!r}: each choice must be ' ' + text, got {c!r}")
        if len(set(self.choices)) != len(self.choices):
            raise InputError(f"question {self.id!r}: choices repeat: {self.choices}")
        if isinstance(self.answer, bool) or not isinstance(self.answer, int) or not 0 <= self.answer < len(self.choices):
            raise InputError(
                f"question {self.id!r}: answer must be an index in [0, {len(self.choices)}), got {self.answer!r}"
            )

    @property
    def answer_text(self) -> str:
        """The correct continuation, e.g. " Paris"."""
        return self.choices[self.answer]


@dataclass(frozen=True)
class Task:
    """A named QA task with a fixed train/test split.

    `info` records how it was made (source, seed, n_shots, prompt template, split sizes, dropped items
    and why); it is JSON-serialisable so it can be written beside results.
    """

    name: str
    train: tuple[Question, ...]
    test: tuple[Question, ...]
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "train", tuple(self.train))
        object.__setattr__(self, "test", tuple(self.test))
        questions = self.train + self.test
        widths = {len(q.choices) for q in questions}
        if len(widths) > 1:
            raise InputError(f"task {self.name!r}: questions have different numbers of choices {sorted(widths)}")
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            train_ids = {q.id for q in self.train}
            both = sorted(train_ids.intersection(q.id for q in self.test))
            what = f"train and test share {both[:5]}" if both else "question ids repeat"
            raise InputError(f"task {self.name!r}: {what}")

    def __repr__(self) -> str:
        return f"Task({self.name!r}, n_train={len(self.train)}, n_test={len(self.test)}, n_choices={self.n_choices})"

    @property
    def n_choices(self) -> int:
        """Number of choices per question (0 for an empty task)."""
        questions = self.train + self.test
        return len(questions[0].choices) if questions else 0

    def split(self, name: str) -> tuple[Question, ...]:
        """Questions of split "train", "test" or "all" (train then test)."""
        if name == "train":
            return self.train
        if name == "test":
            return self.test
        if name == "all":
            return self.train + self.test
        raise InputError(f"unknown split {name!r}; choose one of {', '.join(map(repr, SPLITS))}")

    def answers(self, split: str) -> torch.LongTensor:
        """Correct-choice indices, [n_questions] int64."""
        return torch.tensor([q.answer for q in self.split(split)], dtype=torch.long)

    def choice_token_ids(self, tokenizer: Any, split: str) -> torch.LongTensor:
        """First token id of each choice, [n_questions, n_choices] int64.

        Uses `tokenizer.encode(choice, add_special_tokens=False)[0]`. Raises InputError naming the
        question when two of its choices share a first token (they could not be told apart by the
        last-position logits); load the task with `tokenizer=` to pick distinguishable distractors.
        """
        questions = self.split(split)
        cache: dict[str, int] = {}
        rows: list[list[int]] = []
        for q in questions:
            row = []
            for c in q.choices:
                if c not in cache:
                    ids = tokenizer.encode(c, add_special_tokens=False)
                    if len(ids) == 0:
                        raise InputError(f"question {q.id!r}: choice {c!r} encodes to no tokens")
                    cache[c] = int(ids[0])
                row.append(cache[c])
            if len(set(row)) != len(row):
                first: dict[int, str] = {}
                for c, t in zip(q.choices, row):
                    if t in first:
                        raise InputError(
                            f"question {q.id!r}: choices {first[t]!r} and {c!r} share the first token {t} "
                            f"({_decode(tokenizer, t)!r}); load the task with tokenizer= to choose "
                            f"distractors with distinct first tokens"
                        )
                    first[t] = c
            rows.append(row)
        return torch.tensor(rows, dtype=torch.long).reshape(len(questions), self.n_choices)


def _decode(tokenizer: Any, token_id: int) -> str:
    try:
        return str(tokenizer.decode([token_id]))
    except Exception:  # a decoding failure must not hide the real error
        return "?"
