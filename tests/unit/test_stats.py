"""Statistics for pruning comparisons: paired bootstrap, t intervals, McNemar, counting."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st
from scipy.special import comb

from headspex.records.stats import Interval, bootstrap_ci, count_significant, mcnemar_p, mean_ci, paired_bootstrap


# ---------------------------------------------------------------- paired_bootstrap

def test_planted_shift_is_significant_and_covered():
    rng = np.random.default_rng(1)
    b = rng.normal(size=300)
    a = b + 0.2 + 0.3 * rng.normal(size=300)  # paired: a tracks b, shifted by 0.2 plus noise
    iv = paired_bootstrap(a, b, n_boot=2000, seed=3)
    assert iv.n == 300 and iv.level == 0.95
    assert iv.estimate == pytest.approx(a.mean() - b.mean())
    assert iv.low < 0.2 < iv.high
    assert iv.significant and iv.sign == 1
    flipped = paired_bootstrap(b, a, n_boot=2000, seed=3)
    assert flipped.sign == -1 and flipped.significant
    assert flipped.low == pytest.approx(-iv.high) and flipped.high == pytest.approx(-iv.low)


def test_identical_vectors_give_zero_not_significant():
    a = np.random.default_rng(0).integers(0, 2, size=100)
    iv = paired_bootstrap(a, a.copy())
    assert iv.estimate == 0.0 and iv.low == 0.0 and iv.high == 0.0
    assert not iv.significant and iv.sign == 0


def test_pairing_narrows_interval_versus_unpaired_noise():
    # a large shared per-question component cancels in the paired difference
    rng = np.random.default_rng(2)
    base = 5.0 * rng.normal(size=200)
    a, b = base + 0.1 + 0.05 * rng.normal(size=200), base + 0.05 * rng.normal(size=200)
    iv = paired_bootstrap(a, b, n_boot=1000)
    assert iv.high - iv.low < 0.05 and iv.significant


def test_seed_reproducible_and_blocks_do_not_change_distribution(monkeypatch):
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert paired_bootstrap(a, b, seed=7) == paired_bootstrap(a, b, seed=7)
    import headspex.records.stats as mod
    monkeypatch.setattr(mod, "_BLOCK_ELEMENTS", 50 * 37)  # blocks of 37 rows, last one partial
    small = paired_bootstrap(a, b, n_boot=4000, seed=8)
    monkeypatch.undo()
    big = paired_bootstrap(a, b, n_boot=4000, seed=9)
    assert small.low == pytest.approx(big.low, abs=0.05) and small.high == pytest.approx(big.high, abs=0.05)


def test_bootstrap_coverage_by_simulation():
    """200 reps of n=200 Bernoulli pairs, true difference 0.1: the 95% interval covers it 88-99%, the 80% one 70-88%."""
    rng = np.random.default_rng(123)
    p_a, p_b, n, reps = 0.6, 0.5, 200, 200
    covered = covered80 = 0
    for r in range(reps):
        u = rng.random(n)  # correlated pairs via a shared uniform
        a, b = (u < p_a).astype(float), (u < p_b).astype(float)
        flip = rng.random(n) < 0.3  # decorrelate some pairs, keeping the marginals
        b[flip] = (rng.random(flip.sum()) < p_b).astype(float)
        iv = paired_bootstrap(a, b, n_boot=500, seed=r)
        covered += iv.low <= p_a - p_b <= iv.high
        iv80 = paired_bootstrap(a, b, n_boot=500, seed=r, level=0.8)
        covered80 += iv80.low <= p_a - p_b <= iv80.high
    assert 0.88 * reps <= covered <= 0.99 * reps, covered
    assert 0.70 * reps <= covered80 <= 0.88 * reps, covered80  # the level is honoured, not just "wide"


# ---------------------------------------------------------------- mean_ci / bootstrap_ci

def test_mean_ci_matches_t_by_hand():
    v = np.array([0.61, 0.58, 0.66, 0.63, 0.55])
    iv = mean_ci(v, level=0.9)
    m, s, n = v.mean(), v.std(ddof=1), len(v)
    half = st.t.ppf(0.95, df=n - 1) * s / math.sqrt(n)
    assert iv.estimate == pytest.approx(m)
    assert (iv.low, iv.high) == (pytest.approx(m - half), pytest.approx(m + half))
    lo, hi = st.t.interval(0.9, df=n - 1, loc=m, scale=st.sem(v))
    assert (iv.low, iv.high) == (pytest.approx(lo), pytest.approx(hi))
    assert iv.n == 5 and iv.significant and iv.sign == 1


def test_mean_ci_single_value_has_nan_bounds():
    iv = mean_ci([0.3])
    assert iv.estimate == 0.3 and math.isnan(iv.low) and math.isnan(iv.high)
    assert not iv.significant and iv.sign == 0
    assert iv.format() == "+0.300 [nan, nan]"


def test_mean_ci_straddling_zero_not_significant():
    iv = mean_ci([-0.02, 0.01, 0.03, -0.01])
    assert iv.low < 0 < iv.high and not iv.significant


def test_bootstrap_ci_percentiles_and_point():
    samples = np.arange(1, 1002, dtype=float) / 1000.0  # 0.001 .. 1.001
    iv = bootstrap_ci(samples, level=0.9)
    assert iv.estimate == pytest.approx(samples.mean())
    assert iv.low == pytest.approx(np.quantile(samples, 0.05)) and iv.high == pytest.approx(np.quantile(samples, 0.95))
    assert iv.n == 1001
    assert bootstrap_ci(samples, point=0.42).estimate == 0.42


# ---------------------------------------------------------------- mcnemar_p

def _brute_mcnemar(a, b) -> float:
    n10 = sum(1 for x, y in zip(a, b) if x == 1 and y == 0)
    n01 = sum(1 for x, y in zip(a, b) if x == 0 and y == 1)
    n = n10 + n01
    if n == 0:
        return 1.0
    k = min(n10, n01)
    tail = sum(comb(n, i, exact=True) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize("seed", range(8))
def test_mcnemar_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    a = rng.integers(0, 2, size=n)
    b = np.where(rng.random(n) < 0.7, a, rng.integers(0, 2, size=n))
    assert mcnemar_p(a, b) == pytest.approx(_brute_mcnemar(a.tolist(), b.tolist()), rel=1e-12)


def test_mcnemar_known_values():
    assert mcnemar_p([1, 1, 0], [1, 1, 0]) == 1.0  # no discordant pairs
    # 10 discordant, all one way: p = 2 / 2**10
    assert mcnemar_p([1] * 10 + [0] * 5, [0] * 10 + [0] * 5) == pytest.approx(2 / 1024)
    assert mcnemar_p([True, False], [False, True]) == 1.0
    assert mcnemar_p([1, 0, 1], [0, 1, 0]) == 1.0  # 2 vs 1: capped at 1


# ---------------------------------------------------------------- Interval helpers

def test_count_significant_and_format():
    ivs = [Interval(0.1, 0.05, 0.15, 0.95, 10), Interval(-0.1, -0.2, -0.01, 0.95, 10),
           Interval(0.0, -0.1, 0.1, 0.95, 10), Interval(0.02, 0.0, 0.04, 0.95, 10)]  # low == 0 is not > 0
    assert count_significant(ivs) == {"better": 1, "worse": 1, "within_noise": 2}
    assert count_significant(iter(ivs)) == {"better": 1, "worse": 1, "within_noise": 2}
    assert count_significant([]) == {"better": 0, "worse": 0, "within_noise": 0}
    assert Interval(0.045, 0.010, 0.080, 0.95, 100).format() == "+0.045 [+0.010, +0.080]"
    assert Interval(-0.5, -1.0, 0.25, 0.9, 3).format(digits=1) == "-0.5 [-1.0, +0.2]"
    d = ivs[1].to_dict()
    assert d == {"estimate": -0.1, "low": -0.2, "high": -0.01, "level": 0.95, "n": 10,
                 "significant": True, "sign": -1}
    with pytest.raises(ValueError, match="Interval"):
        count_significant([ivs[0], (0.1, 0.0, 0.2)])
    with pytest.raises(AttributeError):
        ivs[0].low = 0.0  # frozen


# ---------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("call, match", [
    (lambda: paired_bootstrap([1, 0, 1], [1, 0]), "lengths"),
    (lambda: paired_bootstrap([], []), "at least"),
    (lambda: paired_bootstrap([1.0], [0.0]), "at least 2"),
    (lambda: paired_bootstrap([1.0, np.nan], [0.0, 1.0]), "finite"),
    (lambda: paired_bootstrap([1.0, 2.0], [0.0, np.inf]), "finite"),
    (lambda: paired_bootstrap([[1.0, 2.0]], [[0.0, 1.0]]), "1-D"),
    (lambda: paired_bootstrap([1, 0], [0, 1], level=1.0), "level"),
    (lambda: paired_bootstrap([1, 0], [0, 1], level=0.0), "level"),
    (lambda: paired_bootstrap([1, 0], [0, 1], level=95), "level"),
    (lambda: paired_bootstrap([1, 0], [0, 1], n_boot=0), "n_boot"),
    (lambda: paired_bootstrap(["x", "y"], [0, 1]), "numbers"),
    (lambda: mean_ci([]), "at least"),
    (lambda: mean_ci([0.1, math.inf]), "finite"),
    (lambda: mean_ci([0.1, 0.2], level=-0.5), "level"),
    (lambda: mean_ci([0.1, 0.2], level=True), "level"),
    (lambda: bootstrap_ci([]), "at least"),
    (lambda: bootstrap_ci([0.1, np.nan]), "finite"),
    (lambda: bootstrap_ci([0.1, 0.2], level=1.5), "level"),
    (lambda: bootstrap_ci([0.1, 0.2], point=math.nan), "finite"),
    (lambda: mcnemar_p([1, 0], [1]), "lengths"),
    (lambda: mcnemar_p([], []), "at least"),
    (lambda: mcnemar_p([1, 0.5], [1, 0]), "binary"),
    (lambda: mcnemar_p([1, 0], [2, 0]), "binary"),
    (lambda: mcnemar_p([1, np.nan], [1, 0]), "finite"),
    (lambda: Interval(0.1, 0.0, 0.2, 0.95, 5).format(digits=-1), "digits"),
])
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
