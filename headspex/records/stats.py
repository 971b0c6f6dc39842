"""Uncertainty for pruning comparisons: paired bootstrap, seed-level t intervals, McNemar.

Pure numpy/scipy. Every function returns an :class:`Interval` (or a p-value) and raises one
``ValueError`` that says what was expected when its input is malformed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

from headspex._checks import check_count

__all__ = ["Interval", "bootstrap_indices", "paired_bootstrap", "paired_bootstrap_test", "holm_signs", "mean_ci", "bootstrap_ci",
           "mcnemar_p", "count_significant"]

_BLOCK_ELEMENTS = 1 << 22  # bootstrap index matrix is drawn in blocks of at most ~4M int64 entries (32 MiB)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval ``[low, high]`` at ``level``; ``n`` replicates."""

    estimate: float
    low: float
    high: float
    level: float
    n: int

    @property
    def significant(self) -> bool:
        """True when the interval excludes 0 (False when a bound is NaN)."""
        return bool(self.low > 0 or self.high < 0)

    @property
    def sign(self) -> int:
        """+1 if the interval lies above 0, -1 if below, 0 if it contains 0 (or is undefined)."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    def to_dict(self) -> dict[str, Any]:
        """Fields plus ``significant`` and ``sign``, as plain Python values (JSON-ready except NaN)."""
        return {**asdict(self), "significant": self.significant, "sign": self.sign}

    def format(self, digits: int = 3) -> str:
        """E.g. ``"+0.045 [+0.010, +0.080]"``."""
        d = check_count(digits, "digits", 0, 15)
        fmt = lambda x: "nan" if math.isnan(x) else f"{x:+.{d}f}"  # noqa: E731
        return f"{fmt(self.estimate)} [{fmt(self.low)}, {fmt(self.high)}]"

    def __str__(self) -> str:
        return self.format()


def _check_level(level: Any) -> float:
    """A confidence level strictly inside (0, 1)."""
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise ValueError(f"level must be a number in (0, 1); got {level!r}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1 (e.g. 0.95); got {level}")
    return float(level)


def _check_vector(values: Any, name: str, *, min_len: int = 1) -> np.ndarray:
    """A finite 1-D float vector with at least ``min_len`` entries, as ``float64 [n]``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D array of numbers; could not convert: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if arr.shape[0] < min_len:
        noun = "entry" if min_len == 1 else "entries"
        raise ValueError(f"{name} must have at least {min_len} {noun}; got {arr.shape[0]}")
    if not np.isfinite(arr).all():
        bad = np.nonzero(~np.isfinite(arr))[0][:5].tolist()
        raise ValueError(f"{name} must be finite; NaN/inf at positions {bad}")
    return arr


def _check_pair(a: Any, b: Any, *, min_len: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Two finite 1-D vectors of the same length (paired scores on the same questions)."""
    x, y = _check_vector(a, "a", min_len=min_len), _check_vector(b, "b", min_len=min_len)
    if x.shape != y.shape:
        raise ValueError(f"a and b must be paired scores on the same questions: lengths {x.shape[0]} != {y.shape[0]}")
    return x, y


def _percentiles(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Equal-tailed percentile bounds of ``samples [n]`` at ``level``."""
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_indices(n: int, n_boot: int, seed: int | None = 0) -> Iterator[tuple[int, np.ndarray]]:
    """The one bootstrap draw of headspex: ``(start, idx [block, n])`` blocks of ``n_boot`` resamples of ``n``
    questions with replacement from ``default_rng(seed)``, in blocks of at most ~4M indices (one block for any
    test split up to 2,097 questions at 2,000 resamples)."""
    rng = np.random.default_rng(seed)
    block = max(1, min(n_boot, _BLOCK_ELEMENTS // max(1, n)))
    for start in range(0, n_boot, block):
        yield start, rng.integers(0, n, size=(min(n_boot, start + block) - start, n))


def paired_bootstrap(a: Any, b: Any, *, n_boot: int = 2000, seed: int | None = 0, level: float = 0.95) -> Interval:
    """Paired percentile bootstrap of ``mean(a) - mean(b)``.

    ``a``, ``b``: per-question scores ``[n_questions]`` of two methods on the same questions (e.g. 0/1
    correctness or log-probs). Question indices are resampled with replacement (the same draw for both
    methods); the index matrix ``[block, n_questions]`` is drawn in blocks to bound memory.
    Returns ``Interval(estimate=mean(a) - mean(b), low, high, level, n=n_questions)``.
    """
    return paired_bootstrap_test(a, b, n_boot=n_boot, seed=seed, level=level)[0]


def paired_bootstrap_test(a: Any, b: Any, *, n_boot: int = 2000, seed: int | None = 0,
                          level: float = 0.95) -> tuple[Interval, float]:
    """:func:`paired_bootstrap`'s interval and its two-sided bootstrap p-value for ``mean(a) - mean(b) = 0``:
    ``min(1, 2 * (1 + #{boot on the far side of 0}) / (1 + n_boot))`` (the same draws as the interval)."""
    x, y = _check_pair(a, b, min_len=2)
    n_boot = check_count(n_boot, "n_boot", 1)
    level = _check_level(level)
    diff = x - y
    n = diff.shape[0]
    boots = np.empty(n_boot, dtype=np.float64)
    for start, idx in bootstrap_indices(n, n_boot, seed):
        boots[start:start + len(idx)] = diff[idx].mean(axis=1)
    low, high = _percentiles(boots, level)
    far = min(int((boots <= 0).sum()), int((boots >= 0).sum()))
    p = min(1.0, 2.0 * (1 + far) / (1 + n_boot))
    return Interval(float(diff.mean()), low, high, level, n), p


def holm_signs(estimates: Any, p_values: Any, *, alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down correction over a family of tests: per test, the sign of its estimate (+1 / -1) where the
    hypothesis of no difference is rejected at family-wise ``alpha``, else 0. ``estimates``, ``p_values``: [m]."""
    est, p = np.asarray(estimates, dtype=np.float64), np.asarray(p_values, dtype=np.float64)
    if est.shape != p.shape or est.ndim != 1:
        raise ValueError(f"estimates and p_values must be 1-D of one length; got {est.shape} and {p.shape}")
    m, out = p.size, np.zeros(p.size, dtype=int)
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        if not p[i] <= alpha / (m - rank):
            break  # step-down: every larger p-value is kept too
        out[i] = int(np.sign(est[i]))
    return out


def mean_ci(values: Any, *, level: float = 0.95) -> Interval:
    """Mean of replicates ``values [n]`` (e.g. one score per seed) with a Student-t interval (df = n - 1).

    With ``n == 1`` the bounds are NaN (no spread to estimate), so the interval is never significant.
    """
    v = _check_vector(values, "values")
    level = _check_level(level)
    n = v.shape[0]
    mean = float(v.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, level, 1)
    half = float(_st.t.ppf(0.5 + level / 2.0, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, level, n)


def bootstrap_ci(samples: Any, *, point: float | None = None, level: float = 0.95) -> Interval:
    """Percentile interval of an already-bootstrapped statistic ``samples [n_boot]``.

    ``estimate`` is ``point`` (e.g. the statistic on the full data) when given, else ``mean(samples)``.
    """
    s = _check_vector(samples, "samples")
    level = _check_level(level)
    if point is None:
        est = float(s.mean())
    else:
        est = float(_check_vector([point], "point")[0])
    low, high = _percentiles(s, level)
    return Interval(est, low, high, level, s.shape[0])


def mcnemar_p(a: Any, b: Any) -> float:
    """Exact two-sided McNemar p-value for paired 0/1 vectors ``a``, ``b`` ``[n_questions]``.

    Binomial(n_discordant, 1/2) test on the discordant pairs: ``min(1, 2 * P(X <= min(n10, n01)))``;
    1.0 when there are no discordant pairs.
    """
    x, y = _check_pair(a, b)
    for name, arr in (("a", x), ("b", y)):
        if not np.isin(arr, (0.0, 1.0)).all():
            bad = arr[~np.isin(arr, (0.0, 1.0))][:3].tolist()
            raise ValueError(f"{name} must be binary 0/1 (e.g. correctness); found values such as {bad}")
    n10 = int(np.sum((x == 1) & (y == 0)))
    n01 = int(np.sum((x == 0) & (y == 1)))
    if n10 + n01 == 0:
        return 1.0
    return float(min(1.0, 2.0 * _st.binom.cdf(min(n10, n01), n10 + n01, 0.5)))


def count_significant(intervals: Iterable[Interval]) -> dict[str, int]:
    """Count intervals by sign: ``{"better": #above 0, "worse": #below 0, "within_noise": #containing 0}``."""
    counts = {"better": 0, "worse": 0, "within_noise": 0}
    for i, iv in enumerate(intervals):
        if not isinstance(iv, Interval):
            raise ValueError(f"intervals must contain Interval objects; item {i} is {type(iv).__name__}")
        counts[{1: "better", -1: "worse", 0: "within_noise"}[iv.sign]] += 1
    return counts
