"""Questions tokenized together: the unit both forward paths of
:class:`~headspex.engine.evaluator.MaskEvaluator` run on (whole prompts, or with
:mod:`headspex.engine.prefix_cache` each question's own tokens behind the shared prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

MIN_CHUNK_QUESTIONS = 8  # below this, prompts of the next length join the chunk (padding beats tiny batches)


@dataclass
class QuestionChunk:
    """Questions tokenized together (left-padded). input_ids/attention_mask: [n_q, pos]."""

    index: torch.Tensor  # positions of these questions in the split, [n_q]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    choice_ids: torch.Tensor  # [n_q, n_choices]
    answers: torch.Tensor  # [n_q]
    prep: Any = None  # fast backend: rotary tables and attention mask
    prefix: torch.Tensor | None = None  # fast backend: residual stream entering the first analysed layer

    @property
    def n_tokens(self) -> int:
        return int(self.input_ids.numel())


def group_by_length(lengths: Sequence[int], max_batch_tokens: int) -> list[list[int]]:
    """Question indices in chunks of one length (no padding) unless that leaves a chunk tiny, each chunk's
    padded tokens within ``max_batch_tokens``; shortest first."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    chunks: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longer = bool(current) and lengths[i] > lengths[current[0]]
        if current and ((len(current) + 1) * lengths[i] > max_batch_tokens
                        or (longer and len(current) >= MIN_CHUNK_QUESTIONS)):
            chunks.append(current)
            current = []
        current.append(i)
    chunks.append(current)
    return chunks
