"""The inputs of :func:`headspex.roles.head_roles`: seeded random token sequences and located IOI prompts.

Random tokens are drawn uniformly from the tokenizer's vocabulary without its special and added tokens (ids below
the model's embedding size), distinct within a sequence so that every token of the second copy has exactly one
earlier copy. The tokenizer's own prefix (what it puts before any text, e.g. ``<bos>``) starts every sequence, as
it starts every prompt the engine scores.

IOI prompts come from ``tasks.load("ioi", ...)``, tokenized as the engine tokenizes prompts; the names are found
by their token id (each name must be one token after a space). A prompt is skipped when the indirect object does
not appear exactly once or the subject exactly twice among its tokens (a name merged with its neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from headspex.errors import InputError

__all__ = ["IOIPrompt", "ioi_prompts", "prefix_ids", "random_sequences", "token_pool"]


@dataclass(frozen=True)
class IOIPrompt:
    """One tokenized IOI prompt: its ids, the IO's position and the subject's two positions (0-based)."""

    ids: tuple[int, ...]
    io_position: int
    subject_positions: tuple[int, int]


def prefix_ids(tokenizer: Any) -> list[int]:
    """The ids the tokenizer puts before any text when it adds its special tokens (``[]`` for GPT-2)."""
    plain = list(tokenizer("hello world", add_special_tokens=False)["input_ids"])
    full = list(tokenizer("hello world")["input_ids"])
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            return full[:start]
    return []


def token_pool(tokenizer: Any, vocab_size: int) -> torch.Tensor:
    """Ids ``< min(len(tokenizer), vocab_size)`` that are neither special nor added tokens: ``[n_ids]`` int64."""
    size = min(len(tokenizer), int(vocab_size))
    excluded = set(getattr(tokenizer, "all_special_ids", []) or [])
    excluded |= set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    keep = torch.ones(size, dtype=torch.bool)
    for i in excluded:
        if 0 <= int(i) < size:
            keep[int(i)] = False
    return torch.nonzero(keep).flatten()


def random_sequences(pool: torch.Tensor, n_sequences: int, seq_len: int, seed: int) -> torch.Tensor:
    """``[n_sequences, seq_len]`` ids from ``pool``, distinct within each row, fixed by ``seed``."""
    if seq_len > pool.numel():
        raise InputError(f"seq_len={seq_len} needs that many distinct ordinary tokens; this tokenizer has "
                         f"{pool.numel()}: use a smaller seq_len")
    gen = torch.Generator().manual_seed(int(seed))
    rows = [pool[torch.randperm(pool.numel(), generator=gen)[:seq_len]] for _ in range(n_sequences)]
    return torch.stack(rows)


def _one_token(tokenizer: Any, name: str) -> int | None:
    ids = tokenizer(" " + name, add_special_tokens=False)["input_ids"]
    return int(ids[0]) if len(ids) == 1 else None


def ioi_prompts(tokenizer: Any, n_prompts: int, seed: int) -> tuple[list[IOIPrompt], int]:
    """(located prompts, number skipped) of the first ``n_prompts`` IOI test questions of ``seed``.

    Raises InputError when the tokenizer has fewer than two names that are one token (pass ``n_ioi=0``)."""
    import tasks

    try:
        task = tasks.load("ioi", seed=seed, tokenizer=tokenizer, n_train=0, n_test=n_prompts)
    except InputError as err:
        raise InputError(f"IOI scores need names that are single tokens ({err}); pass n_ioi=0 (--n-ioi 0) to skip "
                         "them") from err
    located, skipped = [], 0
    for q in task.test[:n_prompts]:
        io, subject = q.choices[q.answer].strip(), q.choices[1 - q.answer].strip()
        io_id, s_id = _one_token(tokenizer, io), _one_token(tokenizer, subject)
        ids = [int(t) for t in tokenizer(q.prompt)["input_ids"]]
        io_at = [p for p, t in enumerate(ids) if t == io_id]
        s_at = [p for p, t in enumerate(ids) if t == s_id]
        if io_id is None or s_id is None or len(io_at) != 1 or len(s_at) != 2:
            skipped += 1
            continue
        located.append(IOIPrompt(tuple(ids), io_at[0], (s_at[0], s_at[1])))
    return located, skipped
