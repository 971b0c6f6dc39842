"""Tasks from ready-made questions (generated, pooled from other tasks, or read from a file).

`build_question_task` gives such questions the same seeded split as every other task
(`tasks.splits`) and, with `n_shots`, prepends exemplars taken from the train split only: each
exemplar is a train question's prompt, its correct answer and `shot_suffix`, one per line.

`single_token_words` keeps the words that a tokenizer encodes as one token after a space, for
generated tasks whose names or words must each be one token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from headspex.errors import InputError

from .base import LoadOptions, Question, Task
from .exemplars import plan_exemplars
from .splits import SPLIT_METHOD, check_int, split_task

__all__ = ["build_question_task", "require_words", "single_token_words"]


def single_token_words(words: Sequence[str], tokenizer: Any) -> list[str]:
    """The words of `words` that `tokenizer` encodes as exactly one token with a leading space.

    Words whose token is the tokenizer's unknown token, or repeats the token of an earlier word, are
    dropped too, so the kept words are told apart by their token. Without a tokenizer, every word
    (first occurrence) is kept. Order is preserved.
    """
    words = list(dict.fromkeys(words))
    if tokenizer is None:
        return words
    unk = getattr(tokenizer, "unk_token_id", None)
    kept: list[str] = []
    seen: set[int] = set()
    for w in words:
        ids = tokenizer(" " + w, add_special_tokens=False)["input_ids"]
        if len(ids) != 1 or ids[0] == unk or ids[0] in seen:
            continue
        seen.add(int(ids[0]))
        kept.append(w)
    return kept


def require_words(task: str, kind: str, words: Sequence[str], need: int, of: int) -> None:
    """A generated task needs ``need`` one-token ``kind`` (names, words) for this tokenizer; ``of`` were tried."""
    if len(words) < need:
        raise InputError(f"{task} needs at least {need} {kind} that are one token after a space for this "
                         f"tokenizer; found {len(words)} of {of}")


def build_question_task(
    name: str,
    questions: Sequence[Question],
    opts: LoadOptions,
    *,
    n_train: int | None,
    n_test: int | None,
    split_defaults: str,
    shot_suffix: str = "",
    group_of: Callable[[str], str] | None = None,
    info: dict[str, Any] | None = None,
    test_cap: int | None = None,
    what: str | None = None,
) -> Task:
    """Split zero-shot `questions` (ids unique) with the seed and add few-shot exemplars.

    n_train, n_test: split sizes asked for (None: every question of the role, the test split capped by
                     `test_cap`; see `tasks.splits.split_task`); `split_defaults` says in words how the
                     defaults are chosen, for `task.info`; `what` names the source in errors
    shot_suffix:     text after an exemplar's answer ("." for a sentence, "" for none)
    group_of:        question id -> group; exemplars of the question's own group come first
    """
    seed, n_shots = check_int("seed", opts.seed), check_int("n_shots", opts.n_shots)
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(f"task {name!r}: question ids must be unique; repeated: {repeated[:5]}")
    train_idx, test_idx = split_task(ids, seed, n_train, n_test, test_cap=test_cap, what=what or f"task {name!r}")
    plan = plan_exemplars(ids, train_idx, n_shots, seed, policy=opts.exemplars, group_of=group_of)
    train_idx = plan.train_idx
    by_id = {q.id: q for q in questions}
    exemplars: dict[str, list[str]] = {}

    def with_shots(q: Question) -> Question:
        if not n_shots:
            return q
        shots = plan.shots_of(q.id)
        exemplars[q.id] = shots
        prefix = "".join(by_id[s].prompt + by_id[s].answer_text + shot_suffix + "\n" for s in shots)
        return Question(prompt=prefix + q.prompt, choices=q.choices, answer=q.answer, id=q.id)

    train = tuple(with_shots(questions[i]) for i in train_idx)
    test = tuple(with_shots(questions[i]) for i in test_idx)
    meta: dict[str, Any] = dict(info or {})
    meta.update(
        task=name,
        seed=seed,
        n_shots=n_shots,
        shot_format=f"prompt + answer + {shot_suffix!r}, one exemplar per line" if n_shots else None,
        split={
            "n_items": len(questions),
            "n_train": len(train),
            "n_test": len(test),
            "defaults": split_defaults,
            "method": SPLIT_METHOD,
        },
    )
    if n_shots:
        meta.update(plan.info(), exemplars=exemplars)
    return Task(name=name, train=train, test=test, info=meta)
