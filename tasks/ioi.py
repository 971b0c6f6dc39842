"""Indirect-object identification (IOI), in the style of Wang et al. (2022), generated with a seed.

"When Mary and John went to the store, John gave a drink to" -> " Mary" (the indirect object, IO);
the other choice is the subject " John" (S). Two people are introduced, one of them (S) is named
again and gives something; the model must name the other one. The introduction lists them in order
IO, S ("ABBA") or S, IO ("BABA"), half of each in expectation. Templates, places and objects vary.

Names are common first names that the tokenizer encodes as one token after a space (with no
tokenizer: the whole list), so the two choices differ in their only token. Items, their choice
order and the split are all fixed by the seed.
"""

from __future__ import annotations

import random
from typing import Any

from headspex.errors import InputError

from .base import LoadOptions, Question, Task
from .factual import tokenizer_name
from .prepared import build_question_task, require_words, single_token_words
from .splits import check_int, items_needed

__all__ = ["N_ITEMS", "NAMES", "OBJECTS", "PLACES", "TEMPLATES", "ioi_names", "load_ioi"]

N_ITEMS = 1000

# {A} and {B} are introduced in that order; {S} is the subject named again, the prompt ends before the IO.
TEMPLATES = (
    "When {A} and {B} went to the {place}, {S} gave a {object} to",
    "Then, {A} and {B} went to the {place}. {S} gave a {object} to",
    "After {A} and {B} went to the {place}, {S} handed a {object} to",
    "While {A} and {B} were working at the {place}, {S} gave a {object} to",
    "When {A} and {B} got a {object} at the {place}, {S} decided to give it to",
    "Then, {A} and {B} had a lot of fun at the {place}. {S} gave a {object} to",
    "Friends {A} and {B} found a {object} at the {place}. {S} gave it to",
    "Afterwards, {A} and {B} went to the {place}. {S} brought a {object} to",
    "Then, {A} and {B} were thinking about going to the {place}. {S} wanted to give a {object} to",
    "While {A} and {B} were commuting to the {place}, {S} gave a {object} to",
    "The {place} that {A} and {B} went to had a {object}. {S} gave it to",
    "Then, {A} and {B} had a long argument at the {place}. Afterwards, {S} said to",
)
PLACES = ("store", "garden", "restaurant", "school", "hospital", "office", "station", "park", "library",
          "market", "house", "beach", "museum", "cafe", "airport", "church")
OBJECTS = ("drink", "ring", "book", "snack", "basketball", "necklace", "computer", "bone", "flower",
           "letter", "present", "key", "bottle", "sandwich", "ticket", "pen")
NAMES = (
    "Mary", "John", "Tom", "James", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Paul", "Steven", "Andrew", "Kevin", "Brian", "George",
    "Edward", "Ronald", "Timothy", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
    "Stephen", "Larry", "Justin", "Scott", "Frank", "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander",
    "Patrick", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "Henry", "Adam", "Peter", "Nathan", "Zachary",
    "Kyle", "Walter", "Harold", "Carl", "Arthur", "Sean", "Roger", "Alan", "Luke", "Sam", "Max", "Dan", "Alex",
    "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen", "Lisa",
    "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly", "Emily", "Donna", "Michelle", "Carol",
    "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Laura", "Sharon", "Cynthia", "Kathleen", "Amy",
    "Angela", "Anna", "Emma", "Helen", "Rachel", "Ruth", "Julie", "Kate", "Grace", "Alice", "Rose", "Jane",
    "Lucy", "Sophie", "Victoria", "Maria", "Martha", "Diana", "Claire", "Sara", "Lily",
)


def ioi_names(tokenizer: Any = None) -> list[str]:
    """The names used: those of `NAMES` that are one distinct token after a space (all without a tokenizer)."""
    return single_token_words(NAMES, tokenizer)


def _item(k: int, seed: int, names: list[str], attempt: int) -> tuple[str, str, str, str, int]:
    """(prompt, IO, S, order, template index) of item k."""
    rng = random.Random(f"{seed}|ioi|{k}|{attempt}")
    t = rng.randrange(len(TEMPLATES))
    io, s = rng.sample(names, 2)
    order = rng.choice(("ABBA", "BABA"))
    a, b = (io, s) if order == "ABBA" else (s, io)
    prompt = TEMPLATES[t].format(A=a, B=b, S=s, place=rng.choice(PLACES), object=rng.choice(OBJECTS))
    return prompt, io, s, order, t


def load_ioi(name: str, opts: LoadOptions, *, n_items: int = N_ITEMS) -> Task:
    """`n_items` seeded IOI questions (more if n_train + n_test ask for more), two choices (IO, S).

    Prompts are distinct (a repeated draw is redrawn). The choice order is seeded per item, so the
    answer index is 0 or 1. Split by role (about half each of 1,000 items; tasks.splits).
    """
    seed = check_int("seed", opts.seed)
    check_int("n_items", n_items, minimum=1)
    names = ioi_names(opts.tokenizer)
    require_words("ioi", "names", names, 2, len(NAMES))
    n_total = items_needed(lambda k: f"ioi:{k}", seed, n_items, opts.n_train, opts.n_test)
    questions: list[Question] = []
    seen: set[str] = set()
    orders = {"ABBA": 0, "BABA": 0}
    for k in range(n_total):
        for attempt in range(100):
            prompt, io, s, order, _ = _item(k, seed, names, attempt)
            if prompt not in seen:
                break
        else:
            raise InputError(
                f"ioi: could not draw {n_total} distinct prompts from {len(names)} names; ask for fewer items"
            )
        seen.add(prompt)
        orders[order] += 1
        choices = [" " + io, " " + s]
        random.Random(f"{seed}|ioi-order|{k}").shuffle(choices)
        answer = choices.index(" " + io)
        questions.append(Question(prompt=prompt, choices=tuple(choices), answer=answer, id=f"ioi:{k}"))
    info = {
        "source": "generated (tasks.ioi), after Wang et al. 2022, 'Interpretability in the Wild'",
        "templates": list(TEMPLATES),
        "names": names,
        "n_names": len(names),
        "tokenizer": tokenizer_name(opts.tokenizer),
        "orders": orders,
        "choices": "the indirect object (answer) and the subject, order seeded per item",
    }
    return build_question_task(
        name, questions, opts, n_train=opts.n_train, n_test=opts.n_test, shot_suffix=".", info=info,
        split_defaults=f"every test-role / training-role item of {n_total} generated (at least {n_items}, more when "
                       "n_train or n_test ask for more)",
    )
