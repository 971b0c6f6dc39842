"""The protocol of :func:`headspex.roles.head_roles`: every size, seed and definition it runs under.

:class:`RoleProtocol` holds the defaults and checks a caller's values (one InputError naming the bad one);
``SCORES`` says in one line what each score column measures, and is written into the CLI's
``protocol.json`` beside the numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from headspex._checks import is_integer
from headspex.errors import InputError

__all__ = ["IOI_SCORES", "REPEAT_SCORES", "SCORES", "RoleProtocol"]

REPEAT_SCORES = ("previous_token", "induction", "duplicate_token")  # from the repeated random sequences
IOI_SCORES = ("ioi_io", "ioi_subject")  # from IOI prompts, at the final position
SCORES: dict[str, str] = {
    "previous_token": "mean attention from position i to i-1, over the first (not yet repeated) copy of a random "
                      "token sequence (queries from its second token on)",
    "induction": "random sequence r repeated (r r): mean attention from each token of the second copy to the token "
                 "after its first occurrence (r[j] in the second copy -> r[j+1] in the first; the last one -> the "
                 "second copy's first token)",
    "duplicate_token": "same sequences: mean attention from each token of the second copy to its earlier copy",
    "ioi_io": "IOI prompts: attention from the final position to the indirect object's name token",
    "ioi_subject": "IOI prompts: attention from the final position to the subject's name tokens, summed over both "
                   "occurrences (S1 in the introduction and S2, the repeated name)",
}


@dataclass(frozen=True)
class RoleProtocol:
    """The sizes and seed of one :func:`head_roles` run (the defaults are the CLI's).

    Attributes:
        n_sequences: random token sequences (each repeated once: ``r r``) for the first three scores.
        seq_len: tokens per copy; a sequence is ``prefix + r + r``, ``2 * seq_len`` tokens after the
            tokenizer's own prefix (e.g. BOS), distinct tokens within ``r``.
        n_ioi: IOI prompts drawn (``tasks.load("ioi", seed=seed, n_test=n_ioi)``, its test split); prompts whose
            names are not single tokens in the prompt are skipped (0: no IOI scores, their columns are NaN).
        seed: seeds the random tokens and the IOI prompts.
        batch_size: sequences (or same-length IOI prompts) per forward pass.
    """

    n_sequences: int = 64
    seq_len: int = 40
    n_ioi: int = 100
    seed: int = 0
    batch_size: int = 8

    def __post_init__(self) -> None:
        for name, low in (("n_sequences", 1), ("seq_len", 2), ("n_ioi", 0), ("seed", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if not is_integer(value) or int(value) < low:
                raise InputError(f"{name} must be an integer >= {low}; got {value!r}")
            object.__setattr__(self, name, int(value))

    def to_dict(self) -> dict[str, Any]:
        """The fields plus the score definitions, JSON-ready."""
        return {**asdict(self), "scores": dict(SCORES), "attention": "eager kernel, output_attentions=True, float32 "
                "reductions; random tokens exclude special and added tokens"}
