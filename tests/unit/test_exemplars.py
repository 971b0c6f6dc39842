"""Few-shot exemplar policies: per question (default) and one shared set (tasks.exemplars)."""

from __future__ import annotations

import os

import pytest

import tasks
from tasks.exemplars import plan_exemplars


def test_per_question_plan_keeps_train_and_never_shows_a_question_its_own_answer():
    train = [f"t{i}" for i in range(10)]
    plan = plan_exemplars(train + ["x0", "x1"], range(10), 3, seed=0)
    assert plan.train_idx == list(range(10)) and plan.shared == {}
    for q in train + ["x0"]:
        shots = plan.shots_of(q)
        assert len(shots) == 3 and q not in shots and set(shots) <= set(train)
    assert len({tuple(plan.shots_of(q)) for q in train}) > 1  # they differ between questions


def test_shared_plan_gives_one_set_per_group_and_removes_it_from_train():
    group = {f"a{i}": "a" for i in range(6)} | {f"b{i}": "b" for i in range(6)} | {"c0": "c"}
    train = sorted(group)
    every = range(len(train))
    plan = plan_exemplars(train, every, 2, seed=3, policy="shared", group_of=group.get)
    kept = [train[i] for i in plan.train_idx]
    assert set(plan.shared) == {"a", "b", "c"}
    assert all(group[s] == "a" for s in plan.shared["a"]) and all(group[s] == "b" for s in plan.shared["b"])
    assert "c0" in plan.shared["c"] and len(plan.shared["c"]) == 2  # c has one: filled from the others
    assert all(plan.shots_of(q) == plan.shared[group[q]] for q in train)
    used = {s for shots in plan.shared.values() for s in shots}
    assert not used & set(kept) and set(kept) | used == set(train)
    again = plan_exemplars(train, every, 2, seed=3, policy="shared", group_of=group.get)
    assert again.shared == plan.shared  # seeded
    assert plan_exemplars(train, every, 2, seed=4, policy="shared", group_of=group.get).shared != plan.shared


@pytest.mark.parametrize("kwargs, match", [
    (dict(policy="fixed"), "exemplars must be one of 'per-question', 'shared'"),
    (dict(policy="shared", n=4), "leaves none to train on"),
    (dict(policy="shared", n=5), "needs at least 5 train questions"),
])
def test_bad_exemplar_requests_say_what_was_expected(kwargs, match):
    train = ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match=match):
        plan_exemplars(train, range(4), kwargs.get("n", 2), seed=0, policy=kwargs["policy"])


def test_tasks_load_refuses_an_unknown_policy():
    with pytest.raises(ValueError, match="exemplars must be one of"):
        tasks.load("ioi", n_shots=2, exemplars="same")


def test_shared_ioi_prompts_start_with_one_exemplar_block_and_train_loses_it():
    per = tasks.load("ioi", n_shots=3, n_train=40, n_test=20)
    shared = tasks.load("ioi", n_shots=3, n_train=40, n_test=20, exemplars="shared")
    assert [q.id for q in shared.test] == [q.id for q in per.test]
    assert len(shared.train) == 37 and {q.id for q in shared.train} < {q.id for q in per.train}
    shots = shared.info["shared_exemplars"][""]
    assert not set(shots) & {q.id for q in shared.train}
    prompts = [q.prompt for q in shared.train + shared.test]
    block = os.path.commonprefix(prompts)
    assert block.count("\n") >= 3  # the three exemplar lines are common to every prompt
    assert len(os.path.commonprefix([q.prompt for q in per.test])) < len(block)
    assert shared.info["exemplar_policy"].startswith("shared")


@pytest.mark.needs_mmlu
def test_shared_mmlu_matches_the_original_protocol_shape():
    t = tasks.load("mmlu:high_school_us_history", n_shots=5, n_train=30, n_test=10, exemplars="shared")
    prompts = [q.prompt for q in t.train + t.test]
    common = os.path.commonprefix(prompts)
    assert common.count("\nAnswer: ") == 5 and common.startswith("The following are multiple choice")
    assert len(t.train) == 25 and t.info["exemplar_policy"].endswith("(same subject first)")
