"""Each question once: duplicates (the same prompt, choices and answer) are refused, or collapsed when asked.

A question that appears twice could land in both splits, and a report would count its copies as separate test
questions. A JSONL file's duplicates are refused, naming both line numbers, unless ``duplicates="collapse"``
(CLI: ``--duplicates collapse``) keeps the first copy of each with a warning that gives the count. Built-in
sources with known duplicates (MMLU's test split repeats 27 questions) are collapsed, and ``task.info`` records
how many (``duplicates_collapsed``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from headspex._checks import check_choice

__all__ = ["DUPLICATE_POLICIES", "check_duplicates", "first_copies", "question_key"]

DUPLICATE_POLICIES = ("refuse", "collapse")


def check_duplicates(policy: object) -> str:
    """``policy`` if it is one of DUPLICATE_POLICIES, else InputError."""
    return check_choice(policy, "duplicates", DUPLICATE_POLICIES)


def question_key(prompt: str, choices: Sequence[str], answer: int) -> tuple:
    """What makes two questions the same: the prompt, the choices (in order) and the answer."""
    return (prompt, tuple(choices), int(answer))


def first_copies(keys: Sequence[Hashable]) -> tuple[list[int], list[tuple[int, int]]]:
    """(indices of the first copy of each key, in order; (index of a repeat, index of its first copy) pairs)."""
    first: dict[Hashable, int] = {}
    kept, repeats = [], []
    for i, key in enumerate(keys):
        if key in first:
            repeats.append((i, first[key]))
        else:
            first[key] = i
            kept.append(i)
    return kept, repeats
