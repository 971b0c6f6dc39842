"""Seeded, library-independent train/test splits that cannot leak, and few-shot exemplar choice.

Each question has a ROLE fixed by the seed and its stable id alone: with h = sha256(f"{seed}:{id}"), it is a test
question when the first 8 hex digits of h, read as a fraction of 16^8, fall below TEST_SHARE (one half), else a
training question. The test split is the first `n_test` test-role questions in order of h, the train split the
first `n_train` training-role ones, and a validation split (the sweeps' `--validation`) the training-role questions
after those. So no split size, and no other question, can move a question from one role to the other: two runs with
different `n_test` never train on each other's test questions, and nothing chosen on validation questions is ever
tested on them. The order does not depend on the data source's row order or the Python/NumPy version.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence

from headspex.errors import InputError

__all__ = ["SPLIT_METHOD", "TEST_SHARE", "check_int", "items_needed", "pick_exemplars", "resolve_sizes", "role_of", "role_orders",
           "seeded_order", "split_ids", "split_task"]

TEST_SHARE = 0.5
SPLIT_METHOD = ("role by sha256(f'{seed}:{id}'): test when its first 8 hex digits / 16^8 < 0.5, else train; "
                "test = the first n_test test-role items in hash order, train = the first n_train train-role items")


def check_int(name: str, value: object, *, minimum: int = 0) -> int:
    """Return `value` if it is an int >= minimum (bools refused), else raise InputError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return value


def _hash(seed: int, item_id: str) -> str:
    return hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()


def seeded_order(ids: Sequence[str], seed: int) -> list[int]:
    """Indices of `ids` in seeded order (ties impossible unless ids repeat, which is refused)."""
    if len(set(ids)) != len(ids):
        raise InputError("item ids must be unique")
    keys = [_hash(seed, i) for i in ids]
    return sorted(range(len(ids)), key=keys.__getitem__)


def role_of(item_id: str, seed: int) -> str:
    """"test" or "train": the question's role for `seed`, fixed by its id alone."""
    return "test" if int(_hash(seed, item_id)[:8], 16) < TEST_SHARE * 16**8 else "train"


def role_orders(ids: Sequence[str], seed: int) -> tuple[list[int], list[int]]:
    """(training-role indices, test-role indices) into `ids`, each in seeded order; repeated ids are refused."""
    order = seeded_order(ids, seed)
    roles = [role_of(ids[i], seed) for i in order]
    return [i for i, r in zip(order, roles) if r == "train"], [i for i, r in zip(order, roles) if r == "test"]


def items_needed(id_of: Callable[[int], str], seed: int, n_items: int, n_train: int | None,
                 n_test: int | None) -> int:
    """How many generated items (ids ``id_of(0)``, ``id_of(1)``, ...) a generator must make: at least `n_items`, and
    enough that the training-role and test-role pools hold `n_train` and `n_test` questions."""
    have = {"train": 0, "test": 0}
    k = 0
    while k < n_items or have["train"] < (n_train or 0) or have["test"] < (n_test or 0):
        have[role_of(id_of(k), seed)] += 1
        k += 1
    return k


def split_task(ids: Sequence[str], seed: int, n_train: int | None, n_test: int | None, *,
               train_cap: int | None = None, test_cap: int | None = None,
               what: str = "this task") -> tuple[list[int], list[int]]:
    """(train indices, test indices) into `ids`: the first `n_train` training-role and `n_test` test-role items in
    seeded order (see the module docstring). Sizes as :func:`resolve_sizes` resolves them."""
    train_pool, test_pool = role_orders(ids, seed)
    n_tr, n_te = resolve_sizes((len(train_pool), len(test_pool)), n_train, n_test, train_cap=train_cap,
                               test_cap=test_cap, what=what)
    return train_pool[:n_tr], test_pool[:n_te]


def split_ids(ids: Sequence[str], seed: int, n_train: int, n_test: int) -> tuple[list[int], list[int]]:
    """(train indices, test indices) into `ids` for sizes already resolved; see :func:`split_task`."""
    return split_task(ids, seed, n_train, n_test)


def resolve_sizes(
    pools: tuple[int, int],
    n_train: int | None,
    n_test: int | None,
    *,
    train_cap: int | None = None,
    test_cap: int | None = None,
    what: str = "this task",
) -> tuple[int, int]:
    """Split sizes (n_train, n_test) from the role pools (training-role, test-role item counts).

    Defaults: every item of the role, capped by `train_cap` / `test_cap`. An explicit size must fit its pool, else
    InputError naming the pool. A split left EMPTY by a default (too few items) is refused too, naming `what`; an
    explicit 0 is taken as asked.
    """
    train_pool, test_pool = pools
    asked_train, asked_test = n_train, n_test
    for name, asked, pool in (("n_train", n_train, train_pool), ("n_test", n_test, test_pool)):
        if asked is None:
            continue
        check_int(name, asked)
        if asked > pool:
            role = "test" if name == "n_test" else "training"
            raise InputError(
                f"{name}={asked} exceeds the {pool} {role}-role questions of {what} (a question's role is fixed by "
                f"the seed and its id, about half of the {train_pool + test_pool} questions each, so that no split "
                f"size can move a question between training and test); ask for at most {pool}"
            )
    if n_test is None:
        n_test = test_pool if test_cap is None else min(test_cap, test_pool)
    if n_train is None:
        n_train = train_pool if train_cap is None else min(train_cap, train_pool)
    sizes = (("train", n_train, asked_train), ("test", n_test, asked_test))
    empty = [split for split, n, asked in sizes if not n and asked is None]
    if empty:
        n_items = train_pool + test_pool
        given = ", ".join(f"{k}={v}" for k, v in (("n_train", asked_train), ("n_test", asked_test)) if v is not None)
        raise InputError(
            f"{what} has {n_items} usable question{'s' if n_items != 1 else ''}, but a task needs at least 1 train "
            f"and 1 test question; the default split sizes{f' with {given}' if given else ''} leave the "
            f"{' and '.join(empty)} split empty: add questions or give both n_train and n_test"
        )
    return n_train, n_test


def pick_exemplars(
    question_id: str,
    pool: Sequence[str],
    n_shots: int,
    seed: int,
    *,
    group_of: Callable[[str], str] | None = None,
) -> list[str]:
    """`n_shots` exemplar ids for one question, drawn from `pool` (the train split) without it.

    Seeded per question (same seed and id -> same exemplars). With `group_of`, exemplars of the
    question's own group (e.g. MMLU subject) come first; others fill in only if too few.
    """
    candidates = sorted(p for p in pool if p != question_id)
    if len(candidates) < n_shots:
        raise InputError(
            f"n_shots={n_shots} needs at least {n_shots} train questions besides {question_id!r}; "
            f"the train split offers {len(candidates)} (raise n_train or lower n_shots)"
        )
    rng = random.Random(f"{seed}|shots|{question_id}")
    if group_of is None:
        return rng.sample(candidates, n_shots)
    group = group_of(question_id)
    same = [c for c in candidates if group_of(c) == group]
    other = [c for c in candidates if group_of(c) != group]
    chosen = rng.sample(same, min(n_shots, len(same)))
    return chosen + rng.sample(other, n_shots - len(chosen))
