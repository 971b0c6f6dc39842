"""Seeded, library-independent train/test splits and few-shot exemplar choice.

Items are ordered by sha256(f"{seed}:{item_id}"): the order depends only on the seed and the item's
stable id, not on the data source's row order, the Python/NumPy version, or the other items. The test
split is the first `n_test` items of that order and the train split the next `n_train`, so for one seed
the test split does not change when `n_train` does, and the two never overlap.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence

from headspex.errors import InputError

__all__ = ["SPLIT_METHOD", "check_int", "pick_exemplars", "resolve_sizes", "seeded_order", "split_ids"]

SPLIT_METHOD = "items ordered by sha256(f'{seed}:{id}'); test = first n_test, train = next n_train"


def check_int(name: str, value: object, *, minimum: int = 0) -> int:
    """Return `value` if it is an int >= minimum (bools refused), else raise InputError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return value


def seeded_order(ids: Sequence[str], seed: int) -> list[int]:
    """Indices of `ids` in seeded order (ties impossible unless ids repeat, which is refused)."""
    if len(set(ids)) != len(ids):
        raise InputError("item ids must be unique")
    keys = [hashlib.sha256(f"{seed}:{i}".encode()).hexdigest() for i in ids]
    return sorted(range(len(ids)), key=keys.__getitem__)


def resolve_sizes(
    n_items: int,
    n_train: int | None,
    n_test: int | None,
    *,
    train_cap: int | None = None,
    test_cap: int | None = None,
    what: str = "this task",
) -> tuple[int, int]:
    """Split sizes (n_train, n_test) for `n_items` usable items.

    Defaults: n_test = min(test_cap, n_items // 2, n_items - n_train); n_train = min(train_cap,
    n_items - n_test). With no caps that is half/half (the odd item goes to train). Explicit sizes must
    fit: n_train + n_test <= n_items, else InputError. A split left EMPTY by a default (too few items) is
    refused too, naming `what` (e.g. the task file); an explicit 0 is taken as asked.
    """
    asked_train, asked_test = n_train, n_test
    if n_train is not None:
        check_int("n_train", n_train)
    if n_test is not None:
        check_int("n_test", n_test)
    if n_test is None:
        n_test = n_items // 2 if test_cap is None else min(test_cap, n_items // 2)
        if n_train is not None:
            n_test = max(0, min(n_test, n_items - n_train))
    if n_train is None:
        n_train = max(0, n_items - n_test)
        if train_cap is not None:
            n_train = min(train_cap, n_train)
    if n_train + n_test > n_items:
        raise InputError(
            f"n_train={n_train} + n_test={n_test} exceeds the {n_items} usable items of {what}; ask for fewer"
        )
    sizes = (("train", n_train, asked_train), ("test", n_test, asked_test))
    empty = [split for split, n, asked in sizes if not n and asked is None]
    if empty:
        given = ", ".join(f"{k}={v}" for k, v in (("n_train", asked_train), ("n_test", asked_test)) if v is not None)
        raise InputError(
            f"{what} has {n_items} usable question{'s' if n_items != 1 else ''}, but a task needs at least 1 train "
            f"and 1 test question (2 in all); the default split sizes{f' with {given}' if given else ''} leave the "
            f"{' and '.join(empty)} split empty: add questions or give both n_train and n_test"
        )
    return n_train, n_test


def split_ids(ids: Sequence[str], seed: int, n_train: int, n_test: int) -> tuple[list[int], list[int]]:
    """(train indices, test indices) into `ids`, each in seeded order; see the module docstring."""
    order = seeded_order(ids, seed)
    return order[n_test : n_test + n_train], order[:n_test]


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
