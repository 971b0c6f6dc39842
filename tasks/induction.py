"""Induction: a list of random words, then the same list again, cut off; the model names the next word.

"apple river stone chair lamp door ... apple river stone chair" -> " lamp". The list has 8 to 12
distinct common words; the repeat stops in its second half, after ceil(len/2) to len-1 words, so the
answer is always in the list and only the first pass tells which word comes next. (Cut earlier, the
task gets much harder for small models: SmolLM2-135M is at 0.11 after one repeated word, 0.38 after
two, ~0.8 from four on.) The choices are the next word and three other words of the
list. The prompt is just the words separated by spaces.

Words are those of `WORDS` that the tokenizer encodes as one distinct token after a space (with no
tokenizer: the whole list), so every choice is one token. Items and the split are fixed by the seed.
"""

from __future__ import annotations

import random
from typing import Any

from headspex.errors import InputError

from .base import LoadOptions, Question, Task
from .factual import tokenizer_name
from .prepared import build_question_task, require_words, single_token_words
from .splits import check_int, items_needed

__all__ = ["MAX_LEN", "MIN_LEN", "N_CHOICES", "N_ITEMS", "WORDS", "induction_words", "load_induction"]

N_ITEMS = 1000
MIN_LEN, MAX_LEN = 8, 12
N_CHOICES = 4
WORDS = (
    "apple", "river", "stone", "chair", "table", "window", "garden", "bottle", "pencil", "cloud", "mountain",
    "flower", "paper", "bread", "water", "house", "horse", "shirt", "candle", "bridge", "forest", "island",
    "mirror", "letter", "piano", "rabbit", "tiger", "pocket", "engine", "ladder", "hammer", "basket", "blanket",
    "butter", "carpet", "castle", "cheese", "circle", "coffee", "cotton", "doctor", "dragon", "eagle", "finger",
    "glass", "honey", "jacket", "kitten", "lemon", "market", "monkey", "needle", "ocean", "orange", "pepper",
    "planet", "rocket", "silver", "spoon", "summer", "sugar", "ticket", "tomato", "tower", "valley", "wallet",
    "winter", "yellow", "camera", "desk", "lamp", "door", "tree", "bird", "fish", "boat", "car", "train", "ship",
    "book", "pen", "cup", "plate", "knife", "fork", "bowl", "shoe", "hat", "coat", "ring", "box", "bag", "bell",
    "bed", "wall", "floor", "roof", "road", "street", "city", "town", "village", "farm", "field", "hill", "lake",
    "sea", "beach", "sand", "rock", "leaf", "grass", "seed", "root", "wheel", "rope", "chain", "key", "lock",
    "coin", "card", "game", "ball", "toy", "doll", "kite", "drum", "song", "music", "dance", "story", "dream",
    "king", "queen", "prince", "child", "friend", "teacher", "student", "moon", "star", "sun", "rain", "snow",
    "wind", "fire", "ice", "storm", "night", "morning", "evening",
)


def induction_words(tokenizer: Any = None) -> list[str]:
    """The words used: those of `WORDS` that are one distinct token after a space (all without a tokenizer)."""
    return single_token_words(WORDS, tokenizer)


def load_induction(name: str, opts: LoadOptions, *, n_items: int = N_ITEMS) -> Task:
    """`n_items` seeded induction questions (more if n_train + n_test ask for more), four choices.

    Prompts are distinct (a repeated draw is redrawn). The choice order is seeded per item. Split
    by role (about half each of 1,000 items; tasks.splits).
    """
    seed = check_int("seed", opts.seed)
    check_int("n_items", n_items, minimum=1)
    words = induction_words(opts.tokenizer)
    require_words("induction", "words", words, MAX_LEN, len(WORDS))
    n_total = items_needed(lambda k: f"induction:{k}", seed, n_items, opts.n_train, opts.n_test)
    questions: list[Question] = []
    seen: set[str] = set()
    for k in range(n_total):
        for attempt in range(100):
            rng = random.Random(f"{seed}|induction|{k}|{attempt}")
            seq = rng.sample(words, rng.randint(MIN_LEN, MAX_LEN))
            cut = rng.randint((len(seq) + 1) // 2, len(seq) - 1)
            prompt = " ".join(seq + seq[:cut])
            if prompt not in seen:
                break
        else:
            raise InputError(f"induction: could not draw {n_total} distinct prompts; ask for fewer items")
        seen.add(prompt)
        answer = seq[cut]
        options = [answer, *rng.sample([w for w in seq if w != answer], N_CHOICES - 1)]
        rng.shuffle(options)
        choices = tuple(" " + w for w in options)
        questions.append(Question(prompt=prompt, choices=choices, answer=options.index(answer), id=f"induction:{k}"))
    info = {
        "source": "generated (tasks.induction)",
        "list_length": [MIN_LEN, MAX_LEN],
        "cut": "the repeat stops after ceil(length / 2) .. length-1 words",
        "words": words,
        "n_words": len(words),
        "tokenizer": tokenizer_name(opts.tokenizer),
        "choices": f"the next word and {N_CHOICES - 1} other words of the list, order seeded per item",
    }
    return build_question_task(
        name, questions, opts, n_train=opts.n_train, n_test=opts.n_test, shot_suffix="", info=info,
        split_defaults=f"every test-role / training-role item of {n_total} generated (at least {n_items}, more when "
                       "n_train or n_test ask for more)",
    )
