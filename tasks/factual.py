"""Short factual tasks ("The capital of France is" -> " Paris") with seeded distractors.

A `Fact` is one subject with its correct answer. Each question gets `n_choices - 1` distractors drawn
from the other facts' answers, seeded per question. With a tokenizer, the answer and its distractors all
have different first tokens (the model is scored on first-token logits); without one, they all start
with different letters (accents and case ignored), which gives different first tokens under any
tokenizer whose first token of " Word" holds the space and at least the first letter (BPE tokenizers
such as GPT-2's, Llama 3's, SmolLM2's); `Task.choice_token_ids` checks. Facts for which no such set
exists are dropped and recorded.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .base import LoadOptions, Question, Task
from .exemplars import plan_exemplars
from .splits import SPLIT_METHOD, check_int, seeded_order, split_task

__all__ = ["Fact", "build_fact_task", "tokenizer_name"]

@dataclass(frozen=True)
class Fact:
    """One item: `subject` as it goes into the prompt, the `answer` text, and all accepted spellings."""

    id: str
    subject: str
    answer: str
    accepted: frozenset[str]


def tokenizer_name(tokenizer: Any) -> str | None:
    """A readable name for a tokenizer (for `Task.info`), or None."""
    if tokenizer is None:
        return None
    return str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)


def _first_letter_key(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.strip()) if not unicodedata.combining(c))
    return plain[:1].casefold()


def _first_token_key(tokenizer: Any) -> Callable[[str], object]:
    cache: dict[str, object] = {}

    def key(text: str) -> object:
        if text not in cache:
            ids = tokenizer.encode(" " + text, add_special_tokens=False)
            cache[text] = int(ids[0]) if len(ids) else None
        return cache[text]

    return key


def _distractors(fact: Fact, pool: Sequence[str], k: int, key: Callable[[str], object], seed: int) -> list[str] | None:
    """k distractors whose keys differ from each other and from the answer's, or None."""
    accepted = {a.casefold() for a in fact.accepted | {fact.answer}}
    candidates = [p for p in pool if p.casefold() not in accepted]
    random.Random(f"{seed}|distractors|{fact.id}").shuffle(candidates)
    answer_key = key(fact.answer)
    if answer_key is None:
        return None
    used, chosen = {answer_key}, []
    for c in candidates:
        ck = key(c)
        if ck is not None and ck not in used:
            used.add(ck)
            chosen.append(c)
            if len(chosen) == k:
                return chosen
    return None


def build_fact_task(
    name: str,
    facts: Sequence[Fact],
    opts: LoadOptions,
    *,
    template: str,
    shot_template: str,
    n_choices: int = 4,
    info: dict[str, Any] | None = None,
    dropped: Sequence[dict[str, str]] = (),
) -> Task:
    """Build a Task from facts: distractors, seeded split (half/half by default), prompts.

    template:      zero-shot prompt, e.g. "The capital of {subject} is"
    shot_template: one exemplar line, e.g. "The capital of {subject} is {answer}." (exemplars are
                   joined by newlines before the question; they come from the train split only)
    """
    seed, tokenizer, n_shots = check_int("seed", opts.seed), opts.tokenizer, check_int("n_shots", opts.n_shots)
    usable, dropped = _usable_facts(facts, n_choices, tokenizer, seed, list(dropped))
    ids = [f.id for f, _ in usable]
    if opts.unsplit:  # pooled by tasks.facts, which splits the pool once
        train_idx, test_idx = seeded_order(ids, seed), []
    else:
        train_idx, test_idx = split_task(ids, seed, opts.n_train, opts.n_test, what=name)
    plan = plan_exemplars(ids, train_idx, n_shots, seed, policy=opts.exemplars)
    train_idx = plan.train_idx
    by_id = {f.id: f for f, _ in usable}
    exemplars: dict[str, list[str]] = {}

    def question(i: int) -> Question:
        fact, distractors = usable[i]
        prefix = ""
        if n_shots:
            shots = plan.shots_of(fact.id)
            exemplars[fact.id] = shots
            prefix = "".join(
                shot_template.format(subject=by_id[s].subject, answer=by_id[s].answer) + "\n" for s in shots
            )
        options = [fact.answer, *distractors]
        random.Random(f"{seed}|order|{fact.id}").shuffle(options)
        return Question(
            prompt=prefix + template.format(subject=fact.subject),
            choices=tuple(" " + o for o in options),
            answer=options.index(fact.answer),
            id=fact.id,
        )

    train = tuple(question(i) for i in train_idx)
    test = tuple(question(i) for i in test_idx)
    meta = _fact_info(name, info, seed, n_shots, template, shot_template, n_choices, tokenizer,
                      (len(usable), len(train), len(test)), dropped)
    if n_shots:
        meta.update(plan.info(), exemplars=exemplars)
    return Task(name=name, train=train, test=test, info=meta)


def _usable_facts(facts: Sequence[Fact], n_choices: int, tokenizer: Any, seed: int,
                  dropped: list[dict[str, str]]) -> tuple[list[tuple[Fact, list[str]]], list[dict[str, str]]]:
    """(fact, distractors) for every fact that has enough distractors; the others go to ``dropped``."""
    pool = sorted({f.answer for f in facts})
    key = _first_token_key(tokenizer) if tokenizer is not None else _first_letter_key
    usable: list[tuple[Fact, list[str]]] = []
    for fact in facts:
        d = _distractors(fact, pool, n_choices - 1, key, seed)
        if d is None:
            why = "distinct first tokens" if tokenizer is not None else "distinct first letters"
            dropped.append({"id": fact.id, "reason": f"fewer than {n_choices - 1} distractors with {why}"})
        else:
            usable.append((fact, d))
    return usable, dropped


def _fact_info(name: str, info: dict[str, Any] | None, seed: int, n_shots: int, template: str, shot_template: str,
               n_choices: int, tokenizer: Any, sizes: tuple[int, int, int], dropped: list) -> dict[str, Any]:
    """``task.info`` of a fact task: prompts, distractors, tokenizer, split sizes, dropped facts."""
    meta: dict[str, Any] = dict(info or {})
    meta.update(
        task=name,
        seed=seed,
        n_shots=n_shots,
        prompt_template=template,
        shot_template=shot_template if n_shots else None,
        n_choices=n_choices,
        distractors=(
            f"{n_choices - 1} other answers of this task, seeded per question, first tokens distinct "
            "(tokenizer: " + str(tokenizer_name(tokenizer)) + ")"
            if tokenizer is not None
            else f"{n_choices - 1} other answers of this task, seeded per question, first letters distinct "
            "(no tokenizer given: choice_token_ids checks first tokens later)"
        ),
        tokenizer=tokenizer_name(tokenizer),
        split={
            "n_items": sizes[0],
            "n_train": sizes[1],
            "n_test": sizes[2],
            "defaults": "by role: every test-role / training-role question (about half each; tasks.splits)",
            "method": SPLIT_METHOD,
        },
        dropped=dropped,
        n_dropped=len(dropped),
    )
    return meta
