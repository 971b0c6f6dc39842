"""Counting honestly: Holm's step-down correction against a brute-force reading of its definition, the paired
bootstrap's p-value, and the significance counts (Holm first, uncorrected beside, per-seed agreement)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from headspex.records.stats import holm_signs, paired_bootstrap, paired_bootstrap_test
from headspex.records.summary import count_table


def brute_holm(p: np.ndarray, alpha: float) -> np.ndarray:
    """Reject H_(i) iff p_(j) <= alpha / (m - j + 1) for every j <= i (sorted ascending, 1-based)."""
    order = np.argsort(p, kind="stable")
    reject = np.zeros(p.size, bool)
    for rank, i in enumerate(order):
        if all(p[order[j]] <= alpha / (p.size - j) for j in range(rank + 1)):
            reject[i] = True
    return reject


@pytest.mark.parametrize("seed", range(20))
def test_holm_matches_its_definition(seed):
    rng = np.random.default_rng(seed)
    p = rng.choice([0.001, 0.004, 0.01, 0.02, 0.03, 0.2, 0.6], size=rng.integers(1, 12))
    est = rng.normal(size=p.size)
    signs = holm_signs(est, p, alpha=0.05)
    assert np.array_equal(signs != 0, brute_holm(p, 0.05))
    assert np.array_equal(signs[signs != 0], np.sign(est[signs != 0]).astype(int))


def test_holm_is_stricter_than_no_correction():
    p = np.array([0.01, 0.02, 0.03, 0.04])
    assert (holm_signs(np.ones(4), p) != 0).sum() == 1  # 0.01 <= 0.05/4; 0.02 > 0.05/3 stops the rest


def test_the_bootstrap_p_value_agrees_with_its_interval():
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    shifted, same = a + 0.5 + rng.normal(scale=0.1, size=200), a + rng.normal(scale=1.0, size=200)
    iv, p = paired_bootstrap_test(shifted, a, n_boot=2000, seed=0)
    assert iv.sign == 1 and p < 0.01
    iv2, p2 = paired_bootstrap_test(same, a, n_boot=2000, seed=0)
    assert (iv2.sign == 0) == (p2 > 0.05)
    assert paired_bootstrap(shifted, a, n_boot=2000, seed=0) == iv  # the same draws as before


def test_the_counts_put_holm_first_and_count_seed_agreement():
    sig = pd.DataFrame(dict(baseline="lasso", metric="accuracy", estimate=[0.1, 0.05, -0.02, 0.01],
                            sign=[1, 1, -1, 0], holm_sign=[1, 0, 0, 0], seeds_agree=[3, 3, 3, 1], n_seeds=3))
    row = count_table(sig).iloc[0].to_dict()
    assert list(count_table(sig).columns[2:5]) == ["holm_better", "holm_worse", "holm_within_noise"]
    assert (row["holm_better"], row["holm_worse"], row["better"], row["worse"]) == (1, 0, 2, 1)
    assert (row["better_every_seed"], row["worse_every_seed"], row["cells"]) == (2, 1, 4)
