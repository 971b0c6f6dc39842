"""Circuit tasks and `facts` with the real SmolLM2 tokenizer: one-token names and words, distinct choices."""

from __future__ import annotations

import pytest

import tasks
from tasks.induction import WORDS, induction_words
from tasks.ioi import NAMES, ioi_names
from tasks.sources import quiz_dir

pytestmark = [pytest.mark.embedded, pytest.mark.slow]


def _n_tokens(tok, text: str) -> int:
    return len(tok(text, add_special_tokens=False)["input_ids"])


def _single_token_task(tok, name: str, kept: list, pool, at_least: int):
    """The kept words are one token each, a subset of the pool; the task loads with >= 400 test items."""
    assert len(kept) >= at_least and set(kept) <= set(pool)
    assert all(_n_tokens(tok, " " + w) == 1 for w in kept)
    t = tasks.load(name, tokenizer=tok)
    assert len(t.test) >= 400
    return t


def test_ioi_names_are_single_tokens(embedded):
    tok = embedded.tokenizer
    names = ioi_names(tok)
    t = _single_token_task(tok, "ioi", names, NAMES, 80)
    assert t.info["names"] == names
    ids = t.choice_token_ids(tok, "all")
    assert (ids[:, 0] != ids[:, 1]).all()
    assert all(_n_tokens(tok, c) == 1 for q in t.test for c in q.choices)


def test_induction_words_are_single_tokens(embedded):
    tok = embedded.tokenizer
    t = _single_token_task(tok, "induction", induction_words(tok), WORDS, 100)
    ids = t.choice_token_ids(tok, "all")
    assert all(len(set(row.tolist())) == t.n_choices for row in ids)
    q = t.test[0]
    # one token per word after a space (the prompt's first word has none and may take more)
    assert _n_tokens(tok, " " + q.prompt) == len(q.prompt.split(" "))


@pytest.mark.skipif(not (quiz_dir() / "europe").is_file(), reason="bsdgames quiz files absent")
def test_facts_choices_have_distinct_first_tokens(embedded):
    tok = embedded.tokenizer
    t = tasks.load("facts", tokenizer=tok)
    assert 150 < len(t.test) <= 300  # every test-role question (about half), at most 300
    ids = t.choice_token_ids(tok, "all")  # raises on a shared first token
    assert ids.shape == (len(t.train) + len(t.test), 4)
