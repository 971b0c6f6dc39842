"""head_roles' reductions on planted attention patterns (exact values by hand), its protocol and inputs."""

from __future__ import annotations

import pytest
import torch

from headspex.errors import InputError
from headspex.roles.inputs import random_sequences
from headspex.roles.protocol import SCORES, RoleProtocol
from headspex.roles.scores import ioi_scores, scores_from_patterns


def _patterns(pos: int, rows_of: dict[tuple[int, int], dict[int, dict[int, float]]], n_layers: int = 2,
              n_heads: int = 3, batch: int = 2) -> torch.Tensor:
    """[batch, n_layers, n_heads, pos, pos]: every head attends to position 0 unless ``rows_of[(l, h)][q]`` says
    ``{key: weight}`` for query q."""
    p = torch.zeros(batch, n_layers, n_heads, pos, pos)
    p[..., 0] = 1.0
    for (layer, head), rows in rows_of.items():
        for q, weights in rows.items():
            p[:, layer, head, q] = 0.0
            for k, w in weights.items():
                p[:, layer, head, q, k] = w
    return p


def test_planted_previous_induction_and_duplicate_heads_score_exactly():
    seq_len, offset = 4, 1  # [BOS] r0 r1 r2 r3 r0 r1 r2 r3: positions 1..4 and 5..8
    pos = offset + 2 * seq_len
    prev = {q: {q - 1: 1.0} for q in range(1, pos)}
    induction = {q: {q - seq_len + 1: 1.0} for q in range(offset + seq_len, pos)}
    duplicate = {q: {q - seq_len: 0.5, q: 0.5} for q in range(offset + seq_len, pos)}  # half on its copy
    scores = scores_from_patterns(_patterns(pos, {(0, 1): prev, (1, 0): induction, (1, 2): duplicate}),
                                  seq_len=seq_len, offset=offset)
    assert set(scores) == {"previous_token", "induction", "duplicate_token"}
    for name in scores:
        assert scores[name].shape == (2, 2, 3)
    assert scores["previous_token"][0].tolist() == [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    assert scores["induction"][0].tolist() == [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    assert scores["duplicate_token"][0].tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.5]]
    # a previous-token head scores 0 on induction (seq_len >= 3 keeps the two keys apart)
    assert scores["induction"][0, 0, 1] == 0.0


def test_previous_token_reads_only_the_first_copy_and_skips_the_bos_query():
    seq_len, offset = 3, 1
    pos = offset + 2 * seq_len
    # previous-token only on the first copy's queries 2..3 (positions 2, 3); the BOS query row 1 -> 0 ignored
    half = {2: {1: 1.0}, 3: {2: 0.5, 3: 0.5}}
    scores = scores_from_patterns(_patterns(pos, {(0, 0): half}, batch=1), seq_len=seq_len, offset=offset)
    assert scores["previous_token"][0, 0, 0].item() == pytest.approx(0.75)  # mean of 1.0 and 0.5


def test_scores_refuse_a_wrong_shape():
    with pytest.raises(InputError, match=r"\[\.\.\., 9, 9\]"):
        scores_from_patterns(torch.zeros(1, 1, 1, 8, 8), seq_len=4, offset=1)
    with pytest.raises(InputError, match="5-D"):
        scores_from_patterns(torch.zeros(1, 8, 8), seq_len=4)
    with pytest.raises(InputError, match="seq_len >= 2"):
        scores_from_patterns(torch.zeros(1, 1, 1, 2, 2), seq_len=1)


def test_ioi_scores_read_the_io_and_both_subject_positions():
    rows = torch.zeros(2, 1, 2, 6)  # [batch, n_layers, n_heads, pos]
    rows[0, 0, 0, 1], rows[0, 0, 0, 3], rows[0, 0, 0, 4] = 0.5, 0.125, 0.25  # IO at 1, subject at 3 and 4
    rows[1, 0, 1, 2], rows[1, 0, 1, 5] = 0.25, 0.75  # IO at 2, subject at 0 and 5
    out = ioi_scores(rows, [1, 2], [(3, 4), (0, 5)])
    assert out["ioi_io"][:, 0].tolist() == [[0.5, 0.0], [0.0, 0.25]]
    assert out["ioi_subject"][0, 0, 0].item() == 0.375
    assert out["ioi_subject"][1, 0, 1].item() == pytest.approx(0.75)
    with pytest.raises(InputError, match="outside"):
        ioi_scores(rows, [1, 6], [(3, 4), (0, 5)])
    with pytest.raises(InputError, match="one IO position"):
        ioi_scores(rows, [1], [(3, 4)])


def test_protocol_checks_and_records_every_definition():
    assert RoleProtocol().to_dict()["scores"] == SCORES
    assert RoleProtocol(n_ioi=0).n_ioi == 0
    for bad in (dict(seq_len=1), dict(n_sequences=0), dict(batch_size=True), dict(seed=-1), dict(n_ioi=2.0)):
        with pytest.raises(InputError):
            RoleProtocol(**bad)


def test_random_sequences_are_seeded_and_distinct_within_a_row():
    pool = torch.arange(10, 60)
    a, b = random_sequences(pool, 5, 20, seed=3), random_sequences(pool, 5, 20, seed=3)
    assert torch.equal(a, b) and a.shape == (5, 20)
    assert not torch.equal(a, random_sequences(pool, 5, 20, seed=4))
    assert all(len(set(row.tolist())) == 20 for row in a) and bool(((a >= 10) & (a < 60)).all())
    with pytest.raises(InputError, match="seq_len=51"):
        random_sequences(pool, 1, 51, seed=0)
