"""Prompts that do not fit the model: `check_prompt_lengths`, behind `tasks.load(..., max_tokens=)`.

A prompt longer than the model's context is refused when the task loads, naming the question, its token
count and the limit, instead of running (slowly, or wrongly) past the positions the model was trained on.
Prompts are counted as the engine tokenizes them (`tokenizer(prompts)`, special tokens included), few-shot
exemplars included, in batched tokenizer calls over the distinct prompts of every split. A prompt whose
size bounds its tokens well below the limit (every token covers at least one character or byte) is not
tokenized at all, so checking a long task against a long context costs little.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from headspex.errors import InputError

from .base import Task
from .splits import check_int

__all__ = ["check_max_tokens", "check_prompt_lengths", "token_counts"]

_CHUNK = 1024  # prompts per tokenizer call (bounds the memory of the token lists)
_SLACK = 8  # tokens beyond the bound of `_most_tokens` and the added special tokens (a word-start piece, ...)


def check_max_tokens(max_tokens: int | None, tokenizer: Any) -> None:
    """Refuse a `max_tokens` that is not a positive int, or one given without a tokenizer to count with."""
    if max_tokens is None:
        return
    check_int("max_tokens", max_tokens, minimum=1)
    if tokenizer is None:
        raise InputError("max_tokens needs tokenizer= (the model's tokenizer) to count prompt tokens; pass both, "
                         "e.g. tasks.load(name, tokenizer=model.tokenizer, max_tokens=model.context_length)")


def token_counts(tokenizer: Any, prompts: Sequence[str]) -> list[int]:
    """Tokens per prompt as the engine counts them (special tokens included), in batched tokenizer calls."""
    counts: list[int] = []
    for start in range(0, len(prompts), _CHUNK):
        chunk = list(prompts[start : start + _CHUNK])
        enc = tokenizer(chunk, add_special_tokens=True, return_attention_mask=False, verbose=False)
        counts.extend(len(ids) for ids in enc["input_ids"])
    return counts


def _most_tokens(prompt: str) -> int:
    """An upper bound on the tokens of ``prompt`` without special tokens, for any subword tokenizer.

    Every token covers at least one character (byte-level BPE: at least one UTF-8 byte) of the normalized
    text: ASCII text normalizes to at most itself; other text is bounded by twice the UTF-8 bytes of its
    NFKC form (the widest normalization, with room for case mapping that grows a few characters).
    """
    if prompt.isascii():
        return len(prompt)
    return 2 * len(unicodedata.normalize("NFKC", prompt).encode("utf-8"))


def check_prompt_lengths(task: Task, tokenizer: Any, max_tokens: int) -> None:
    """InputError naming the longest prompt of any split when one is longer than `max_tokens` tokens."""
    check_max_tokens(max_tokens, tokenizer)
    labelled = [(split, q) for split in ("train", "test") for q in task.split(split)]
    short = max_tokens - token_counts(tokenizer, [""])[0] - _SLACK  # room left by the added special tokens
    prompts = [p for p in dict.fromkeys(q.prompt for _, q in labelled) if _most_tokens(p) > short]
    length = dict(zip(prompts, token_counts(tokenizer, prompts)))
    over = [(length[q.prompt], split, q.id) for split, q in labelled if length.get(q.prompt, 0) > max_tokens]
    if not over:
        return
    n, split, qid = max(over, key=lambda o: o[0])
    others = f"; {len(over) - 1:,} other prompt(s) are too long as well" if len(over) > 1 else ""
    n_shots = int(task.info.get("n_shots") or 0)
    shots = f", lower n_shots (now {n_shots})" if n_shots else ""
    raise InputError(
        f"question {qid!r} ({split} split) of task {task.name!r} is {n:,} tokens long, but the model's context "
        f"holds at most {max_tokens:,} tokens{others}; shorten or remove the question{shots}, or use a model "
        "with a longer context"
    )
