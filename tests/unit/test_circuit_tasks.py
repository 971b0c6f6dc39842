"""Circuit tasks (ioi, induction), the pooled `facts` task and JSONL question files: structure, seeds, errors."""

from __future__ import annotations

import json
import re

import pytest

import tasks
from tasks.induction import MAX_LEN, MIN_LEN, WORDS
from tasks.ioi import NAMES, OBJECTS, PLACES, ioi_names
from tasks.sources import quiz_dir
from tests.conftest import word_tokenizer

needs_quiz = pytest.mark.skipif(not (quiz_dir() / "europe").is_file(),
                                reason="bsdgames quiz files absent (bash scripts/setup.sh installs them)")


def test_new_tasks_are_registered():
    names = tasks.list_tasks()
    assert {"ioi", "induction", "facts"} <= set(names)
    assert "Wang" in tasks.describe("ioi") and ".jsonl" in tasks.load.__doc__


# --- ioi ------------------------------------------------------------------------------------------

def _ioi_parts(prompt: str) -> tuple[str, str, str]:
    """(first name, second name, repeated subject) of an IOI prompt."""
    found = [w for w in re.findall(r"[A-Z][a-z]+", prompt) if w in NAMES]
    assert len(found) == 3, prompt
    return found[0], found[1], found[2]


def test_ioi_default_sizes_and_answer_is_the_indirect_object():
    t = tasks.load("ioi")
    assert len(t.train) + len(t.test) == 1000 and 450 < len(t.test) < 550 and t.n_choices == 2  # by role, ~half
    orders = {"ABBA": 0, "BABA": 0}
    for q in t.split("all"):
        a, b, s = _ioi_parts(q.prompt)
        assert s in (a, b) and a != b
        io = b if s == a else a
        assert q.answer_text == " " + io and set(q.choices) == {" " + a, " " + b}
        orders["ABBA" if a == io else "BABA"] += 1
        assert q.prompt.endswith(" to") and q.id.startswith("ioi:")
    assert orders == t.info["orders"] and min(orders.values()) > 400
    answers = t.answers("test")
    assert 0.35 < answers.float().mean() < 0.65  # the answer is not always the first choice
    assert len({q.prompt for q in t.split("all")}) == 1000
    fillers = set(NAMES) | set(PLACES) | set(OBJECTS)
    skeletons = {" ".join(w for w in re.findall(r"\w+", q.prompt) if w not in fillers) for q in t.test}
    assert len(skeletons) >= 8  # several templates


def test_ioi_is_deterministic_per_seed_and_honours_sizes():
    a, b, c = tasks.load("ioi", seed=3), tasks.load("ioi", seed=3), tasks.load("ioi", seed=4)
    assert a.train == b.train and a.test == b.test
    assert [q.prompt for q in a.test] != [q.prompt for q in c.test]
    t = tasks.load("ioi", n_train=40, n_test=30)
    assert (len(t.train), len(t.test)) == (40, 30)
    big = tasks.load("ioi", n_train=700, n_test=600)
    assert (len(big.train), len(big.test)) == (700, 600)


def test_ioi_names_are_single_distinct_tokens_for_the_tokenizer():
    assert ioi_names() == list(NAMES)
    kept = NAMES[:20]
    tok = word_tokenizer(kept)
    assert ioi_names(tok) == list(kept)  # unknown names map to [UNK] and are dropped
    t = tasks.load("ioi", tokenizer=tok, n_train=10, n_test=50)
    ids = t.choice_token_ids(tok, "test")
    assert ids.shape == (50, 2) and (ids[:, 0] != ids[:, 1]).all()
    assert all(c.strip() in kept for q in t.split("all") for c in q.choices)
    with pytest.raises(ValueError, match="at least 2 names"):
        tasks.load("ioi", tokenizer=word_tokenizer())


def test_ioi_few_shot_exemplars_are_full_sentences_from_train():
    t = tasks.load("ioi", n_shots=2, n_train=20, n_test=5)
    train_sentences = {q.prompt.split("\n")[-1] + q.answer_text + "." for q in t.train}
    for q in t.test:
        *shots, last = q.prompt.split("\n")
        assert len(shots) == 2 and all(s in train_sentences for s in shots)


# --- induction ------------------------------------------------------------------------------------

def test_induction_answer_is_the_next_word_of_the_repeated_list():
    t = tasks.load("induction")
    assert len(t.train) + len(t.test) == 1000 and 450 < len(t.test) < 550 and t.n_choices == 4  # by role, ~half
    for q in t.split("all"):
        words = q.prompt.split(" ")
        first = words[: len(dict.fromkeys(words))]
        n, cut = len(first), len(words) - len(first)
        assert MIN_LEN <= n <= MAX_LEN and (n + 1) // 2 <= cut <= n - 1
        assert words[n:] == first[:cut]
        assert q.answer_text == " " + first[cut]
        assert all(c.strip() in first for c in q.choices) and len(set(q.choices)) == 4
    assert len({int(a) for a in t.answers("all")}) == 4


def test_induction_is_deterministic_and_uses_single_token_words():
    a, b, c = tasks.load("induction", seed=1), tasks.load("induction", seed=1), tasks.load("induction", seed=2)
    assert a.test == b.test and a.test != c.test
    kept = WORDS[:30]
    tok = word_tokenizer(kept)
    t = tasks.load("induction", tokenizer=tok, n_train=0, n_test=40)
    assert set(t.info["words"]) == set(kept)
    assert all(w in kept for q in t.test for w in q.prompt.split(" "))
    ids = t.choice_token_ids(tok, "test")
    assert all(len(set(row.tolist())) == 4 for row in ids)
    with pytest.raises(ValueError, match="at least 12 words"):
        tasks.load("induction", tokenizer=word_tokenizer(WORDS[:5]))


# --- facts ----------------------------------------------------------------------------------------

@needs_quiz
def test_facts_pools_three_tasks_with_every_test_role_question_in_test():
    t = tasks.load("facts", seed=0)
    parts = t.info["parts"]
    assert set(parts) == {"capitals", "us-state-capitals", "elements"}
    assert len(t.train) + len(t.test) == sum(parts.values()) and 150 < len(t.test) <= 300  # the test role, ~half
    prefixes = {q.id.split(":", 1)[0] for q in t.test}
    assert prefixes == {"capitals", "us-state-capitals", "elements"}
    cap = {q.id: q for q in tasks.load("capitals", seed=0).split("all")}
    for q in t.split("all"):
        if q.id in cap:
            assert q == cap[q.id]  # the same question as in `capitals`
    assert tasks.load("facts", seed=0).test == t.test and tasks.load("facts", seed=1).test != t.test
    small = tasks.load("facts", n_train=50, n_test=60)
    assert (len(small.train), len(small.test)) == (50, 60)


@needs_quiz
def test_facts_few_shot_exemplars_come_from_the_same_part():
    t = tasks.load("facts", n_shots=1, n_train=60, n_test=30)
    for q in t.test:
        shot, last = q.prompt.split("\n")
        assert shot.endswith(".") and not last.endswith(".")
        for marker in ("US state", "chemical symbol"):
            assert (marker in shot) == (marker in last), q.prompt


# --- JSONL files ----------------------------------------------------------------------------------

def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def _row(i, answer=1, **extra):
    return {"prompt": f"Question {i}: the answer is", "choices": [" A", " B", " C", " D"], "answer": answer, **extra}


def test_jsonl_loads_through_load_with_ids_and_seeded_split(tmp_path):
    rows = [_row(i) for i in range(9)] + [""] + [_row(9, answer=3, id="last", extra="ignored")]
    path = _write(tmp_path / "questions.jsonl", rows)
    t = tasks.load(str(path))
    assert len(t.train) + len(t.test) == 10 and t.name == str(path)
    ids = {q.id for q in t.split("all")}
    assert ids == {f"questions:{n}" for n in range(1, 10)} | {"last"}
    last = next(q for q in t.split("all") if q.id == "last")
    assert last.answer == 3 and last.answer_text == " D" and last.prompt == "Question 9: the answer is"
    assert tasks.load(str(path), seed=0) == t and tasks.load(str(path), seed=5).test != t.test
    t2 = tasks.load_jsonl(path, n_train=1, n_test=2, seed=2)
    assert (len(t2.train), len(t2.test)) == (1, 2)
    assert t.info["sha256"] and "JSONL" in tasks.describe(str(path))


def test_jsonl_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        tasks.load(str(tmp_path / "nope.jsonl"))


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("{not json", r"line 2: not valid JSON"),
        ("[1, 2]", r"line 2: expected a JSON object .* got array"),
        ({"choices": [" A", " B"], "answer": 0}, r"line 2: missing field 'prompt'"),
        ({"prompt": "Q", "answer": 0}, r"line 2: missing field 'choices'"),
        ({"prompt": "Q", "choices": [" A", " B"]}, r"line 2: missing field 'answer'"),
        ({"prompt": "", "choices": [" A", " B"], "answer": 0}, r"line 2: 'prompt' must be non-empty"),
        ({"prompt": "Q: ", "choices": [" A", " B"], "answer": 0}, r"line 2: 'prompt' must not end with whitespace"),
        ({"prompt": "Q", "choices": " A", "answer": 0}, r"line 2: 'choices' must be a list"),
        ({"prompt": "Q", "choices": [" A"], "answer": 0}, r"line 2: 'choices' must be a list of at least 2"),
        ({"prompt": "Q", "choices": ["A", " B"], "answer": 0}, r"line 2: each of 'choices' must be a space then text"),
        ({"prompt": "Q", "choices": [" A", " A"], "answer": 0}, r"line 2: 'choices' repeat"),
        ({"prompt": "Q", "choices": [" A", " B", " C", " D"], "answer": "B"},
         r"questions\.jsonl line 2: 'answer' must be an integer index into 'choices' \(0\.\.3\); got 'B'"),
        ({"prompt": "Q", "choices": [" A", " B", " C", " D"], "answer": 4}, r"line 2: 'answer' .*got 4"),
        ({"prompt": "Q", "choices": [" A", " B", " C", " D"], "answer": True}, r"line 2: 'answer' .*got True"),
        ({"prompt": "Q", "choices": [" A", " B", " C", " D"], "answer": 0, "id": 7}, r"line 2: 'id' must be"),
        ({"prompt": "Q", "choices": [" A", " B", " C", " D"], "answer": 0, "id": "x"},
         r"line 2: 'id' 'x' already used on line 1"),
        ({"prompt": "Q", "choices": [" A", " B", " C"], "answer": 0},
         r"line 2: 'choices' has 3 entries but line 1 has 4"),
    ],
)
def test_jsonl_bad_line_names_file_line_and_field(tmp_path, line, match):
    path = _write(tmp_path / "questions.jsonl", [_row(0, id="x"), line])
    with pytest.raises(ValueError, match=match):
        tasks.load(str(path))


def test_jsonl_empty_file_and_shared_first_tokens(tmp_path):
    with pytest.raises(ValueError, match="no questions"):
        tasks.load(str(_write(tmp_path / "empty.jsonl", [""])))
    tok = word_tokenizer()
    row = {"prompt": "The capital of France is", "choices": [" Paris", " Paris London"], "answer": 0}
    path = _write(tmp_path / "q.jsonl", [row])
    with pytest.raises(ValueError, match="q.jsonl line 1: 'choices' ' Paris' and ' Paris London' share"):
        tasks.load(str(path), tokenizer=tok)
    assert len(tasks.load(str(path), n_train=0, n_test=0).split("all")) == 0  # without a tokenizer it loads
    many = _write(tmp_path / "many.jsonl", [{**row, "prompt": f"The capital of France is {i}"} for i in range(8)])
    assert len(tasks.load(str(many)).split("all")) == 8


def test_jsonl_few_shot_uses_train_questions(tmp_path):
    path = _write(tmp_path / "q.jsonl", [_row(i, answer=i % 4) for i in range(12)])
    t = tasks.load(str(path), n_shots=2)
    train = {q.prompt.split("\n")[-1] + q.answer_text for q in t.train}
    assert all(s in train for q in t.test for s in q.prompt.split("\n")[:2])
